"""One batch in, results and rejections out, in plain Arrow types: the entry a distributed engine calls.

    from safetyrules.columnar.arrow import evaluate_arrow, result_schema, long_results
    results, rejected = evaluate_arrow(program, batch, "2022-06-30")   # batch: nested rows (columnar.nested)
    long = long_results(results, program)                                # one row per (enterprise, rule)

`evaluate_arrow` validates the nested rows (`columnar.validate.validate_frames`, the checks the CLI applies to
Parquet tables), runs the accepted enterprises through the kernel (`ColumnarProgram.evaluate`) and returns two
Arrow tables:

- **results**, the compact form (schema `result_schema(program)`, known before running): one row per accepted
  enterprise, in the batch's order — `enterprise` (its key) and one column per rule, named by the rule, a
  struct of `outcome` (string), `due_on` (date32), `days_overdue`, `days_remaining`, `delay_days` (int64) and
  `listed_until` (date32), exactly the fields of the long result (`ColumnarProgram.run`). Measured over 100,000
  generated enterprises and the seed policy's 41 rules: 4.3 MB of Parquet written in 0.8 s, against 46.7 MB
  in 5.6 s for the long form (41 rows per enterprise); an outcome-only form is 2.1 MB but loses the dates.
  `long_results` gives the long form back.
- **rejected** (`REJECTED_SCHEMA`): one row per problem — `enterprise`, `row` (the enterprise's row in the
  batch, plus `first_row`), `field` (`industry`, or `hazards[2].remediated_on` for an item of a list), `code`
  and `message`. A rejected enterprise has no results row; none is dropped silently.

Only plain types come out (string, date32, int64, list<string>, struct): no dictionary, categorical or
enumeration types, and no dotted names, so that Spark, DuckDB or any Arrow reader takes them as they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from safetyrules.columnar.exprs import OUTCOME_NAMES, PENDING, VIOLATED
from safetyrules.columnar.kernel import RESULT_COLUMNS, ColumnarProgram
from safetyrules.columnar.nested import nested_frames
from safetyrules.columnar.tables import ELEM, IDX, ROOT_FILE, FactTables
from safetyrules.columnar.validate import validate_frames
from safetyrules.limits import DEFAULT, Limits

ENTERPRISE = "enterprise"
OUTCOME_FIELDS = pa.struct([
    ("outcome", pa.string()), ("due_on", pa.date32()), ("days_overdue", pa.int64()),
    ("days_remaining", pa.int64()), ("delay_days", pa.int64()), ("listed_until", pa.date32()),
])
REJECTED_SCHEMA = pa.schema([(ENTERPRISE, pa.string()), ("row", pa.int64()), ("field", pa.string()),
                             ("code", pa.string()), ("message", pa.string())])
LONG_SCHEMA = pa.schema([(ENTERPRISE, pa.string()), ("rule", pa.string()), ("implements", pa.list_(pa.string())),
                         ("outcome", pa.string()), ("due_on", pa.date32()), ("days_overdue", pa.int64()),
                         ("days_remaining", pa.int64()), ("delay_days", pa.int64()), ("listed_until", pa.date32())])
assert tuple(LONG_SCHEMA.names) == RESULT_COLUMNS

_ROW = "_row"
_NAMES = pl.Series([OUTCOME_NAMES.get(c) for c in range(max(OUTCOME_NAMES) + 1)], dtype=pl.String)  # by code
_NULL_INT = pl.Series([None], dtype=pl.Int64)
_REJECTED_FRAME = {ENTERPRISE: pl.String, "row": pl.Int64, "field": pl.String, "code": pl.String, "message": pl.String}


def result_schema(program: ColumnarProgram) -> pa.Schema:
    """The schema of `evaluate_arrow`'s results for `program`: `enterprise`, then one struct per rule in the
    declared order (available before anything runs: Spark's `mapInArrow` needs it up front)."""
    names = [r.name for r in program.declared]
    bad = [n for n in names if "." in n or n == ENTERPRISE]
    if bad:
        raise ValueError(f"rule names that cannot be column names: {', '.join(bad)}")
    return pa.schema([(ENTERPRISE, pa.string()), *((n, OUTCOME_FIELDS) for n in names)])


def _day(as_of: dt.date | str) -> dt.date:
    return as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(as_of)


def evaluate_arrow(program: ColumnarProgram, batch: pa.RecordBatch | pa.Table, as_of: dt.date | str, *,
                   limits: Limits = DEFAULT, first_row: int = 0,
                   first_rows: Mapping[str, int] | None = None) -> tuple[pa.Table, pa.Table]:
    """(results, rejected) of a batch of nested rows (`columnar.nested`) on `as_of` (see the module docstring).

    `first_row`: the row number of the batch's first row in its whole input (rejections are numbered from it).
    `first_rows`: for keys known to repeat across the whole input (a global check, `safetyrules.spark`), the row
    of their first occurrence: every other row with that key is rejected as a duplicate, as the loaders keep the
    first record of a key. Keys repeated within the batch are checked here either way.
    """
    day = _day(as_of)
    prepared = prepare_arrow(program, batch, limits=limits, first_row=first_row, first_rows=first_rows)
    evaluation = program.evaluate(prepared.tables, day)
    return _compact(program, evaluation.ids, evaluation.outputs, day), prepared.rejected


@dataclass(slots=True)
class Prepared:
    """A batch validated once: the accepted enterprises as tables, and the rejections (nothing dropped)."""

    tables: FactTables
    rejected: pa.Table  # REJECTED_SCHEMA
    rows: pl.Series  # the accepted enterprises' row numbers in the whole input

    @property
    def evaluated(self) -> int:
        return len(self.tables)


def prepare_arrow(program: ColumnarProgram, batch: pa.RecordBatch | pa.Table, *, limits: Limits = DEFAULT,
                  first_row: int = 0, first_rows: Mapping[str, int] | None = None) -> Prepared:
    """The day-independent half of `evaluate_arrow`: keys, validation, rejections."""
    key = program.policy.contract.key
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    n = frame.height
    frame = frame.with_columns(pl.int_range(first_row, first_row + n, dtype=pl.Int64).alias(_ROW))
    frame, duplicates = _duplicates(frame, key, first_rows or {})
    frames = nested_frames(frame.drop(_ROW), program.layout)
    checked = validate_frames(frames, limits, program.policy.contract)
    rows = frame.get_column(_ROW)
    rejected = _rejections(checked.rejected, frames, rows, frame, key, duplicates)
    bad = set(rejected.column("row").to_pylist())
    accepted = rows.filter(~rows.is_in(list(bad))) if bad else rows
    return Prepared(checked.tables, rejected, accepted)



def _duplicates(frame: pl.DataFrame, key: str, first_rows: Mapping[str, int]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows whose key an earlier row has (within the batch, or before it per `first_rows`), as rejections,
    and the other rows."""
    empty = pl.DataFrame(schema=_REJECTED_FRAME)
    if key not in frame.columns or frame.height == 0:
        return frame, empty
    ids = pl.col(key).cast(pl.String, strict=False)
    usable = ids.is_not_null() & (ids.str.strip_chars() != "")
    known = pl.DataFrame({"_k": list(first_rows), "_first": list(first_rows.values())},
                         schema={"_k": pl.String, "_first": pl.Int64})
    marked = frame.with_columns(ids.alias("_k")).join(known, on="_k", how="left", maintain_order="left") \
        .with_columns(pl.coalesce(pl.col("_first"), pl.col(_ROW).first().over("_k")).alias("_first"))
    repeated = usable & (pl.col(_ROW) != pl.col("_first"))
    bad = marked.filter(repeated)
    if bad.height == 0:
        return frame, empty
    found = bad.select(pl.col("_k").alias(ENTERPRISE), pl.col(_ROW).alias("row"), pl.lit(key).alias("field"),
                       pl.lit("duplicate_id").alias("code"),
                       pl.format(f"duplicate {key} {{}}: first at row {{}}", pl.col("_k"), pl.col("_first"))
                       .alias("message"))
    return marked.filter(~repeated).drop("_k", "_first"), found


def _rejections(problems: pl.DataFrame, frames: dict[str, pl.DataFrame], rows: pl.Series, frame: pl.DataFrame,
                key: str, duplicates: pl.DataFrame) -> pa.Table:
    """Validation's problems (numbered by flat table rows) in the batch's terms: the enterprise's row, and the
    item's position in its list in the field's name."""
    parts = [duplicates] if duplicates.height else []
    ids = frame.get_column(key).cast(pl.String, strict=False) if key in frame.columns \
        else pl.repeat(None, frame.height, dtype=pl.String, eager=True)
    if problems.height:
        for (table,), group in problems.group_by("table", maintain_order=True):
            if table == ROOT_FILE:
                idx = group.get_column("row").cast(pl.Int64)
                fld = group.get_column("field")
            else:
                child = frames[str(table)]
                at = group.get_column("row").cast(pl.Int64)
                idx = child.get_column(IDX).cast(pl.Int64).gather(at)
                elem = child.get_column(ELEM).cast(pl.String).gather(at)
                fld = pl.select(pl.format(f"{table}[{{}}].{{}}", elem, group.get_column("field"))).to_series()
            parts.append(pl.DataFrame({
                ENTERPRISE: ids.gather(idx), "row": rows.gather(idx), "field": fld,
                "code": group.get_column("code"), "message": group.get_column("reason"),
            }))
    if not parts:
        return REJECTED_SCHEMA.empty_table()
    out = pl.concat(parts, how="vertical_relaxed").sort("row", maintain_order=True)
    return out.to_arrow().cast(REJECTED_SCHEMA)


def _compact(program: ColumnarProgram, ids: pl.Series, outputs: Mapping[str, pl.DataFrame], day: dt.date) -> pa.Table:
    schema = result_schema(program)
    today = day.toordinal() - dt.date(1970, 1, 1).toordinal()
    columns = [ids.cast(pl.String).alias(ENTERPRISE)]
    for rule in program.declared:
        frame = outputs[rule.name]
        code, due = frame.get_column("code"), frame.get_column("due")
        due_days = due.to_physical().cast(pl.Int64)
        columns.append(pl.DataFrame({
            "outcome": _NAMES.gather(code),
            "due_on": due,
            "days_overdue": (today - due_days).zip_with((code == VIOLATED) & (due_days < today).fill_null(False),
                                                        _NULL_INT),
            "days_remaining": (due_days - today).zip_with(code == PENDING, _NULL_INT),
            "delay_days": frame.get_column("delay"),
            "listed_until": frame.get_column("listed"),
        }).to_struct(rule.name))
    return pl.DataFrame(columns).to_arrow().cast(schema)


def long_results(results: pa.Table | pa.RecordBatch, program: ColumnarProgram) -> pa.Table:
    """The long form (`LONG_SCHEMA`: one row per enterprise and rule, rules in declared order, enterprises in
    the results' order within each rule — the rows of `ColumnarProgram.run`) of compact results."""
    frame = pl.from_arrow(results)
    assert isinstance(frame, pl.DataFrame)
    parts = []
    for rule in program.declared:
        parts.append(frame.select(
            ENTERPRISE, pl.lit(rule.name).alias("rule"),
            pl.lit(pl.Series([list(rule.implements)], dtype=pl.List(pl.String))).first().alias("implements"),
            pl.col(rule.name).struct.unnest()))
    if not parts:
        return LONG_SCHEMA.empty_table()
    return pl.concat(parts).to_arrow().cast(LONG_SCHEMA)


def plain_long(frame: pl.DataFrame) -> pa.Table:
    """`ColumnarProgram.run`'s long frame in plain Arrow types (`LONG_SCHEMA`: enumerations as strings)."""
    return frame.with_columns(pl.col("enterprise").cast(pl.String), pl.col("rule").cast(pl.String),
                              pl.col("implements").cast(pl.List(pl.String)), pl.col("outcome").cast(pl.String)) \
        .to_arrow().cast(LONG_SCHEMA)


__all__ = ["ENTERPRISE", "LONG_SCHEMA", "OUTCOME_FIELDS", "REJECTED_SCHEMA", "evaluate_arrow", "long_results",
           "plain_long", "result_schema"]
