"""Columnar validation of fact tables read from Parquet: the fact contract's rules as polars expressions.

    from safetyrules.columnar.validate import read_parquet_validated
    checked = read_parquet_validated("town/")       # a folder written by `FactTables.write_parquet`
    checked.rejected                                  # table, row, enterprise, field, code, reason
    program.run(checked.tables, as_of)                # the accepted enterprises only

What is checked (the same rules `safetyrules.facts.models` applies record by record):
- types: a value that does not convert to its field's type (a date that is not `YYYY-MM-DD`, a number
  for a flag, text for a count…) — booleans and integers are strict, as in the models;
- enumeration codes: a code that is not one of the enumeration's (`industry`, `hazards.cause`, …);
- bounds: counts are ≥ 0, a safety cost's year is within 1 … 9999 (read from the models' constraints);
- order of dates: a hazard remediated or verified before it was found, an accident reported or its
  principal informed before it occurred, insurance ending before it starts;
- limits (`safetyrules.limits.Limits`): integers within `±max_int`, dates and instants within
  `min_date … max_date` (Parquet holds years a Python date cannot);
- instants need their offset (`<field>#off`); ids: every enterprise has one, not blank, and it is unique
  (the first row with an id is kept, later ones are rejected, as the record loaders do);
- row keys: each enterprise row has its own `_idx` (rows sharing one are all rejected: whose list rows are
  whose cannot be told); each child row belongs to an enterprise of the enterprise table (`_idx`; a row of
  no enterprise is rejected and counted in `rows_rejected`) and has its own position (`_i`) there; a field
  cannot have a value under an object that is null or unknown.

A rejected child row rejects its enterprise, as one bad item rejects a whole record in the record loaders:
evaluating the enterprise without the item would give another answer than its facts. Each problem is one
row of `rejected` (rows are numbered from 0 in the file's order); an enterprise rejected only because of a
child row also gets a row (code `rejected_item`), so that every rejected enterprise is listed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types
import polars as pl
from pydantic import BaseModel

from safetyrules.columnar.tables import (
    ELEM,
    IDX,
    LOCAL,
    OFF,
    ROOT,
    ROOT_FILE,
    UNK,
    FactTables,
    Leaf,
    TableSpec,
    layout_for,
)
from safetyrules.facts._shapes import field_shapes
from safetyrules.facts.contract import FactContract, builtin_contract
from safetyrules.facts.declared import date_orders, is_declared
from safetyrules.limits import DEFAULT, Limits

ROW = "_row"
REJECTED_SCHEMA = {"table": pl.String, "row": pl.UInt32, "enterprise": pl.String, "field": pl.String,
                   "code": pl.String, "reason": pl.String}

# (table, later field, earlier field, code, what the later date is): the models' `_not_before` validators
NOT_BEFORE: tuple[tuple[str, str, str, str, str], ...] = (
    ("hazards", "remediated_on", "found_on", "remediated_before_found", "remediated"),
    ("hazards", "verified_on", "found_on", "verified_before_found", "verified"),
    ("accidents", "principal_informed_at", "occurred_at", "informed_before_occurred", "principal informed"),
    ("accidents", "reported_at", "occurred_at", "reported_before_occurred", "reported"),
    ("insurance", "ends_on", "starts_on", "ends_before_starts", "cover ends"),
)

_INTEGER = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
_TEXT = (pl.String, pl.Categorical, pl.Enum)


@dataclass(slots=True)
class Validated:
    """Accepted tables (renumbered, ready to evaluate) and the problems found, one row each."""

    tables: FactTables
    rejected: pl.DataFrame  # REJECTED_SCHEMA
    enterprises_read: int
    rows_rejected: int = 0  # child rows of no enterprise: rejected input that no enterprise count shows

    @property
    def enterprises_rejected(self) -> int:
        return self.enterprises_read - len(self.tables)

    @property
    def inputs_rejected(self) -> int:
        """Enterprises rejected plus child rows of no enterprise: non-zero whenever input was refused (what a
        command's exit status should follow)."""
        return self.enterprises_rejected + self.rows_rejected

    def summary(self) -> str:
        orphans = f" and {self.rows_rejected} rows of no enterprise" if self.rows_rejected else ""
        return (f"loaded {len(self.tables)}, rejected {self.enterprises_rejected} enterprises{orphans} "
                f"({self.rejected.height} problems)")


def read_parquet_validated(folder: str | Path, limits: Limits = DEFAULT,
                           contract: FactContract | None = None) -> Validated:
    """Read a folder of Parquet tables (the layout of `FactTables.write_parquet`) and validate it (records of
    `contract`, a policy's facts; default: the built-in contract)."""
    src = Path(folder)
    sch = layout_for(contract or builtin_contract())
    raw = {ROOT: pl.read_parquet(src / f"{ROOT_FILE}.parquet")}
    for name in sch.child_names():
        path = src / f"{name}.parquet"
        if path.exists():
            raw[name] = pl.read_parquet(path)
    return validate_frames(raw, limits, contract)


def validate_tables(tables: FactTables, limits: Limits = DEFAULT, contract: FactContract | None = None) -> Validated:
    """Validate tables already in the contract's types (e.g. built by `FactTables.from_records`)."""
    return validate_frames({ROOT: tables.enterprises, **tables.children}, limits, contract)


def validate_frames(raw: dict[str, pl.DataFrame], limits: Limits = DEFAULT,
                    contract: FactContract | None = None) -> Validated:
    """Validate raw frames (table name → frame; the enterprise table is named ""; a missing child table is
    empty), keep what passes. `contract`: what the records are (default: the built-in contract)."""
    contract = contract or builtin_contract()
    sch = layout_for(contract)
    key = contract.key
    problems: list[pl.DataFrame] = []
    frames: dict[str, pl.DataFrame] = {}
    bad_rows: dict[str, pl.Series] = {}
    for name, spec in sch.tables.items():
        frame = raw.get(name, pl.DataFrame(schema=spec.schema())).with_row_index(ROW)
        typed, type_problems = _conform(frame, spec, contract.timezone)
        checks = [*type_problems, *_checks(typed, spec, limits)]
        found, bad = _collect(typed, name, checks, key)
        problems.extend(found)
        frames[name] = typed.select(ROW, *spec.schema())
        del typed
        bad_rows[name] = bad
    root = frames[ROOT]
    lists = [p for p in sch.tables[ROOT].lists_in_row() if p not in raw.get(ROOT, root).columns and p in raw]
    if lists:  # a list whose table exists but that the enterprise table does not mention: [] when no rows
        root = root.with_columns(*(pl.lit(True).alias(p) for p in lists), *(pl.lit(False).alias(p + UNK)
                                                                          for p in lists))
        frames[ROOT] = root
    id_problems, id_bad = _ids(root, key)
    problems.extend(id_problems)
    key_problems, key_bad = _row_keys(root)
    problems.extend(key_problems)
    root_bad = bad_rows[ROOT] | id_bad | key_bad
    # child rows of unknown enterprises, and repeated positions
    n = root.height
    rejected_owners: list[pl.Series] = [root.filter(root_bad).get_column(IDX)]
    item_owners: list[pl.Series] = []
    numbered = root.get_column(IDX).equals(pl.int_range(0, n, dtype=pl.UInt32, eager=True).alias(IDX))
    orphans = 0
    for name in sch.child_names():
        child = frames[name]
        idx = child.get_column(IDX)
        orphan = ((idx >= n) if numbered else ~idx.is_in(root.get_column(IDX).implode())).fill_null(True)
        repeated = _repeated_positions(child) & ~orphan
        for mask, code, reason in ((orphan, "orphan_row", "no enterprise with this `_idx` in the enterprise table"),
                                   (repeated, "repeated_position",
                                    "another row of the same enterprise has the same position `_i`")):
            if mask.any():
                rows = child.filter(mask)
                problems.append(_problem_frame(rows, name, pl.lit(IDX if code == "orphan_row" else ELEM), code,
                                               pl.lit(reason), root, key))
        orphans += int(orphan.sum())
        bad = bad_rows[name] | repeated
        item_owners.append(child.filter(bad & ~orphan).get_column(IDX))
        bad_rows[name] = bad | orphan
    owners = pl.concat(item_owners) if item_owners else pl.Series(IDX, [], dtype=pl.UInt32)
    by_item = root.filter(root.get_column(IDX).is_in(owners.implode()) & ~root_bad)
    if by_item.height:
        problems.append(_problem_frame(by_item, ROOT, pl.lit(None, dtype=pl.String), "rejected_item",
                                       pl.lit("a row of one of its lists was rejected (see that table)"), root,
                                       key))
    rejected_owners.append(owners)
    dropped = pl.concat(rejected_owners).drop_nulls().unique()
    accepted_root = (root.filter(~root.get_column(IDX).is_in(dropped.implode())) if dropped.len() else root).drop(ROW)
    children = {}
    for name in sch.child_names():
        child = frames[name]
        keep = ~bad_rows[name]
        if dropped.len():
            keep = keep & ~child.get_column(IDX).is_in(dropped.implode()).fill_null(True)
        children[name] = child.filter(keep).drop(ROW) if not keep.all() else child.drop(ROW)
    rejected = pl.concat(problems) if problems else pl.DataFrame(schema=REJECTED_SCHEMA)
    rejected = rejected.sort("table", "row", "code", maintain_order=True)
    return Validated(FactTables(accepted_root, children, sch).renumbered(), rejected, n, orphans)


# ------------------------------------------------------------------------------------------ conforming

Check = tuple[str, str, "pl.Expr | pl.Series", pl.Expr]  # (field, code, failing rows, reason)


def _conform(frame: pl.DataFrame, spec: TableSpec, timezone: dt.timezone) -> tuple[pl.DataFrame, list[Check]]:
    """Cast every column to the contract's type without raising; a value lost in the cast is a problem."""
    problems: list[Check] = []
    exprs: list[pl.Expr] = [pl.col(ROW)]
    columns = set(frame.columns)
    target = spec.schema()
    for leaf in spec.leaves:
        exprs.extend(_leaf(frame, leaf, target, problems, timezone))
    for path in (*spec.objects, *spec.lists_in_row()):
        exprs.extend(_presence(frame, spec, path, columns))
    if IDX in columns:
        exprs.append(pl.col(IDX).cast(pl.UInt32, strict=False))
    else:  # numbered in file order
        exprs.append(pl.int_range(pl.len(), dtype=pl.UInt32).alias(IDX))
    if spec.name != ROOT:
        exprs.append(pl.col(ELEM).cast(pl.UInt32, strict=False) if ELEM in columns
                     else pl.int_range(pl.len(), dtype=pl.UInt32).over(IDX).alias(ELEM))
    # the type checks read the raw columns: their masks are evaluated now, their reasons only on the rows
    # that fail (formatting a reason for every row would cost more than the whole check)
    masks = frame.select([mask.alias(f"_tc{i}") for i, (_, _, mask, _) in enumerate(problems)])
    typed = frame.select(exprs)
    checks: list[Check] = []
    hit = masks.select(pl.all().any()).row(0) if masks.width else ()
    for i, (fld, code, _, reason) in enumerate(problems):
        if hit[i]:
            failing = frame.filter(masks.get_column(f"_tc{i}").fill_null(False))
            reasons = failing.select(ROW, _r=reason)
            typed = typed.join(reasons.rename({"_r": f"_tr{i}"}), on=ROW, how="left", maintain_order="left")
            checks.append((fld, code, masks.get_column(f"_tc{i}").fill_null(False), pl.col(f"_tr{i}")))
    return typed, checks


def _leaf(frame: pl.DataFrame, leaf: Leaf, target: dict[str, pl.DataType], problems: list[Check],
          timezone: dt.timezone) -> list[pl.Expr]:
    path = leaf.path
    dtype = target[path]
    if path not in frame.columns:  # all unknown
        out = [pl.lit(None, dtype=dtype).alias(path), pl.lit(True).alias(path + UNK)]
        if leaf.kind == "datetime":
            out += [pl.lit(None, dtype=pl.Int32).alias(path + OFF), pl.lit(None, dtype=pl.Date).alias(path + LOCAL)]
        return out
    raw = frame.schema[path]
    col = pl.col(path)
    unk = pl.col(path + UNK).cast(pl.Boolean, strict=False).fill_null(False) if path + UNK in frame.columns \
        else pl.lit(False)
    if raw == dtype and leaf.kind != "datetime":  # already the contract's type: nothing to convert or lose
        return [col, unk.alias(path + UNK)]
    if leaf.kind == "datetime":
        return _instant(frame, path, raw, unk, problems, timezone)
    if leaf.kind == "enum":
        text = col.cast(pl.String, strict=False) if isinstance(raw, _TEXT) else None
        value = text.cast(dtype, strict=False) if text is not None else pl.lit(None, dtype=dtype)
        lost = col.is_not_null() & value.is_null()
        codes = ", ".join(leaf.codes)
        reason = pl.format("`{}` is not one of the codes ({})", col.cast(pl.String, strict=False), pl.lit(codes)) \
            if text is not None else pl.lit(f"expected a code ({codes}), got {raw}")
        problems.append((path, "enum_code", lost, reason))
        return [value.alias(path), unk.alias(path + UNK)]
    ok_type = _accepts(leaf.kind, raw)
    value = col.cast(dtype, strict=False) if ok_type else pl.lit(None, dtype=dtype)
    if leaf.kind == "date" and raw == pl.String:
        value = col.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        ok_text = col.str.contains(r"^\d{4}-\d{2}-\d{2}$")
        value = pl.when(ok_text).then(value)
    lost = col.is_not_null() & value.is_null()
    if leaf.kind == "decimal" and ok_type:  # kept as exact text: a decimal number, as the record loaders accept
        value = pl.when(col.cast(pl.String).str.contains(r"^[+-]?(\d+\.?\d*|\.\d+)$")).then(col.cast(pl.String))
    what = {"bool": "true or false", "int": "an integer", "str": "text", "date": "a date (YYYY-MM-DD)",
            "decimal": "a decimal number"}[leaf.kind]
    reason = pl.format("expected {}, got `{}`", pl.lit(what), col.cast(pl.String, strict=False)) if ok_type \
        else pl.lit(f"expected {what}, got a column of {raw}")
    problems.append((path, "type", lost, reason))
    return [value.alias(path), unk.alias(path + UNK)]


def _accepts(kind: str, raw: pl.DataType) -> bool:
    """Whether a column of type `raw` can hold the field's values (strict for flags and integers)."""
    if kind == "bool":
        return raw == pl.Boolean
    if kind == "int":
        return isinstance(raw, _INTEGER)
    if kind == "str":
        return isinstance(raw, _TEXT)
    if kind == "date":
        return raw in (pl.Date, pl.String)
    if kind == "decimal":
        return isinstance(raw, (*_INTEGER, *_TEXT)) or raw.is_decimal()
    return False


def _instant(frame: pl.DataFrame, path: str, raw: pl.DataType, unk: pl.Expr,
             problems: list[Check], timezone: dt.timezone) -> list[pl.Expr]:
    """An instant: naive UTC with its offset column, or zone-aware (offset from the zone)."""
    col = pl.col(path)
    if isinstance(raw, pl.Datetime) and raw.time_zone is not None:
        utc = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None).dt.cast_time_unit("us")
        wall = col.dt.replace_time_zone(None).dt.cast_time_unit("us")
        off = ((wall - utc).dt.total_seconds()).cast(pl.Int32)
    elif isinstance(raw, pl.Datetime):
        utc = col.dt.cast_time_unit("us")
        off = pl.col(path + OFF).cast(pl.Int32, strict=False) if path + OFF in frame.columns \
            else pl.lit(None, dtype=pl.Int32)
    else:
        problems.append((path, "type", col.is_not_null(), pl.lit(f"expected an instant, got a column of {raw}")))
        utc, off = pl.lit(None, dtype=pl.Datetime("us")), pl.lit(None, dtype=pl.Int32)
    missing = col.is_not_null() & off.is_null()
    problems.append((path, "timezone_aware", missing, pl.lit("an instant needs its offset (`#off` column)")))
    keep = ~missing
    value = pl.when(keep).then(utc)
    # converted to the facts' local time, as the record loaders do (the date is the local day), except where local
    # time would be past the calendar's last instant: there the instant keeps its own offset
    local_offset = int(timezone.utcoffset(None).total_seconds())
    last = dt.datetime(9999, 12, 31, 23, 59, 59, 999999) - dt.timedelta(seconds=local_offset)
    offset = pl.when(keep & col.is_not_null()).then(  # no offset for no instant (as the record path builds it)
        pl.when(utc > last).then(off).otherwise(pl.lit(local_offset, dtype=pl.Int32)))
    local = (value + pl.duration(seconds=offset)).dt.date()
    return [value.alias(path), unk.alias(path + UNK), offset.alias(path + OFF), local.alias(path + LOCAL)]


def _presence(frame: pl.DataFrame, spec: TableSpec, path: str, columns: set[str]) -> list[pl.Expr]:
    """An object's or list's presence; when the file lacks it, an object is present where a field under it
    is known, else unknown (a list without its column is unknown)."""
    if path in columns:
        unk = pl.col(path + UNK).cast(pl.Boolean, strict=False).fill_null(False) if path + UNK in columns \
            else pl.lit(False)
        return [pl.col(path).cast(pl.Boolean, strict=False).alias(path), unk.alias(path + UNK)]
    under = [leaf.path for leaf in spec.leaves if leaf.path.startswith(path + ".") and leaf.path in columns]
    if path in spec.objects and under:
        known = pl.any_horizontal(~pl.col(p + UNK).cast(pl.Boolean, strict=False).fill_null(False)
                                  if p + UNK in columns else pl.lit(True) for p in under)
        return [pl.when(known).then(True).alias(path), (~known).alias(path + UNK)]
    return [pl.lit(None, dtype=pl.Boolean).alias(path), pl.lit(True).alias(path + UNK)]


# ------------------------------------------------------------------------------------------ checks

def _checks(frame: pl.DataFrame, spec: TableSpec, limits: Limits = DEFAULT) -> list[Check]:
    """The contract's rules on typed rows (types were checked while conforming)."""
    out: list[Check] = []
    for leaf in spec.leaves:
        col = pl.col(leaf.path)
        if leaf.kind == "int":  # the models' BoundedInt: beyond it the engine's sums wrap (not abs(): -2**63)
            out.append((leaf.path, "int_limit", ((col > limits.max_int) | (col < -limits.max_int)).fill_null(False),
                        pl.format("{} is beyond the integer limit ±{}", col, pl.lit(limits.max_int))))
        elif leaf.kind in ("date", "datetime"):  # Parquet holds years a Python date cannot
            day = col if leaf.kind == "date" else col.dt.date()
            outside = (day < limits.min_date) | (day > limits.max_date)
            out.append((leaf.path, "date_range", outside.fill_null(False),
                        pl.format("{} is outside the calendar {} … {}", col.cast(pl.String),
                                  pl.lit(limits.min_date.isoformat()), pl.lit(limits.max_date.isoformat()))))
        for lo, hi in _bounds(spec, leaf):
            # a decimal is held as its text: compared as a number (18 decimal places, as many whole digits)
            col = pl.col(leaf.path).str.to_decimal(scale=18) if leaf.kind == "decimal" else pl.col(leaf.path)
            if lo is not None:
                out.append((leaf.path, "out_of_range", (col < lo).fill_null(False),
                            pl.format("{} is below the least allowed value {}", col, pl.lit(lo))))
            if hi is not None:
                out.append((leaf.path, "out_of_range", (col > hi).fill_null(False),
                            pl.format("{} is above the greatest allowed value {}", col, pl.lit(hi))))
    for later, earlier, code, what in _orders(spec):
        a, b = pl.col(later), pl.col(earlier)
        out.append((later, code, (a < b).fill_null(False),
                    pl.format("{} on {}, before {} on {}", pl.lit(what), a.cast(pl.String), pl.lit(earlier),
                              b.cast(pl.String))))
    # a value under a null or unknown object
    for obj in spec.objects:
        absent = pl.col(obj).is_null()
        for leaf in spec.leaves:
            if leaf.path.startswith(obj + "."):
                value = pl.col(leaf.path).is_not_null()
                out.append((leaf.path, "value_under_null_object", absent & value,
                            pl.lit(f"a value for `{leaf.path}` while `{obj}` is null or unknown")))
    return out


def _orders(spec: TableSpec) -> list[tuple[str, str, str, str]]:
    """(later path, earlier path, code, what the later date is) of every date order in a table's rows: the
    built-in contract's (`NOT_BEFORE`, with their own codes) or a declared schema's (`>= other`)."""
    if spec.model is None:
        return []
    if not is_declared(spec.model):
        return [(later, earlier, code, what) for table, later, earlier, code, what in NOT_BEFORE
                if table == spec.name]
    out: list[tuple[str, str, str, str]] = []
    stack: list[tuple[type[BaseModel], str]] = [(spec.model, "")]
    while stack:  # the row's own fields and those of the objects in it
        model, prefix = stack.pop()
        out.extend((prefix + later, prefix + earlier, "date_order", later) for later, earlier in date_orders(model))
        stack.extend((shape.model, f"{prefix}{name}.") for name, shape in field_shapes(model).items()
                     if shape.kind == "object" and shape.model is not None)
    return out


def _bounds(spec: TableSpec, leaf: Leaf) -> Iterator[tuple[Any, Any]]:
    """The `ge`/`le`/`gt`/`lt` constraints of the model field behind `leaf`."""
    info = _field_info(spec.model, leaf.path) if spec.model is not None else None
    if info is None:
        return
    for m in info.metadata:
        if isinstance(m, annotated_types.Ge):
            yield m.ge, None
        elif isinstance(m, annotated_types.Gt):
            yield m.gt + 1, None  # type: ignore[operator]
        elif isinstance(m, annotated_types.Le):
            yield None, m.le
        elif isinstance(m, annotated_types.Lt):
            yield None, m.lt - 1  # type: ignore[operator]


def _field_info(model: type[BaseModel], path: str) -> Any:
    *parents, name = path.split(".")
    for part in parents:
        shape = field_shapes(model).get(part)
        if shape is None or shape.model is None:
            return None
        model = shape.model
    return model.model_fields.get(name)


def _collect(frame: pl.DataFrame, table: str, checks: list[Check], key: str) -> tuple[list[pl.DataFrame], pl.Series]:
    """Evaluate every check in one pass; the failing rows as problem rows, and which rows failed any."""
    if not checks:
        return [], pl.repeat(False, frame.height, dtype=pl.Boolean, eager=True)
    masks = frame.select([(mask if isinstance(mask, pl.Expr) else pl.lit(mask)).alias(f"c{i}")
                          for i, (_, _, mask, _) in enumerate(checks)])
    failing = masks.select(pl.any_horizontal(pl.all())).to_series() if masks.width else \
        pl.repeat(False, frame.height, dtype=pl.Boolean, eager=True)
    out = []
    if failing.any():
        hit = masks.select(pl.all().any()).row(0)
        for i, (fld, code, _mask, reason) in enumerate(checks):
            if hit[i]:
                rows = frame.filter(masks.get_column(f"c{i}").fill_null(False)).with_columns(_reason=reason)
                out.append(_problem_frame(rows, table, pl.lit(fld), code, pl.col("_reason"), key=key))
    return out, failing.fill_null(False)


def _problem_frame(rows: pl.DataFrame, table: str, fld: pl.Expr, code: str, reason: pl.Expr,
                   root: pl.DataFrame | None = None, key: str = "id") -> pl.DataFrame:
    if table == ROOT:
        enterprise: pl.Expr = pl.col(key)
    elif root is not None:
        ids = root.select(IDX, pl.col(key).alias("_id")).unique(IDX, keep="first")  # one row per key
        rows = rows.join(ids, on=IDX, how="left")
        enterprise = pl.col("_id")
    else:
        enterprise = pl.lit(None, dtype=pl.String)
    return rows.select(table=pl.lit(table or ROOT_FILE), row=pl.col(ROW).cast(pl.UInt32),
                       enterprise=enterprise.cast(pl.String), field=fld.cast(pl.String), code=pl.lit(code),
                       reason=reason.cast(pl.String))


def _ids(root: pl.DataFrame, key: str = "id") -> tuple[list[pl.DataFrame], pl.Series]:
    """Every enterprise needs an id (its `key`); a repeated id rejects the later rows (the first is kept)."""
    ids = root.get_column(key)
    missing = (ids.is_null() | ids.str.strip_chars().eq("")).fill_null(True) | root.get_column(key + UNK)
    repeated = root.select(pl.col(key).is_duplicated() & ~pl.col(key).is_first_distinct()).to_series() \
        .fill_null(False) & ~missing
    out = []
    if missing.any():
        out.append(_problem_frame(root.filter(missing), ROOT, pl.lit(key), "missing_id",
                                  pl.lit(f"every record needs its {key}"), key=key))
    if repeated.any():
        first = root.filter(pl.col(key).is_first_distinct()).select(key, pl.col(ROW).alias("_first"))
        rows = root.filter(repeated).join(first, on=key, how="left")
        out.append(_problem_frame(rows, ROOT, pl.lit(key), "duplicate_id",
                                  pl.format(f"duplicate {key} {{}}: first at row {{}}", pl.col(key), pl.col("_first")),
                                  key=key))
    return out, missing | repeated


def _row_keys(root: pl.DataFrame) -> tuple[list[pl.DataFrame], pl.Series]:
    """Every enterprise row needs its own `_idx`: rows sharing one (or without one) are all rejected, with the
    child rows that name it, since whose list rows are whose cannot be told."""
    idx = root.get_column(IDX)
    bad = idx.is_null() | idx.is_duplicated()
    if not bad.any():
        return [], bad
    rows = root.filter(bad)
    reason = pl.when(pl.col(IDX).is_null()).then(pl.lit("no usable row key `_idx`")).otherwise(
        pl.format("`_idx` {} is given to more than one enterprise row", pl.col(IDX).cast(pl.String)))
    return [_problem_frame(rows, ROOT, pl.lit(IDX), "duplicate_idx", reason)], bad


def _repeated_positions(child: pl.DataFrame) -> pl.Series:
    """Rows whose (`_idx`, `_i`) another row has too (adjacent ones when the table is sorted, as written)."""
    idx, elem = pl.col(IDX), pl.col(ELEM)
    ordered = child.select(((idx.diff() > 0) | ((idx.diff() == 0) & (elem.diff() >= 0))).slice(1).all()).item() \
        if child.height > 1 else True
    if not ordered:
        return child.select(pl.struct(IDX, ELEM).is_duplicated()).to_series().fill_null(False)
    same = (idx == idx.shift(1)) & (elem == elem.shift(1))
    return child.select((same | same.shift(-1)).fill_null(False)).to_series()


def write_rejected(validated: Validated, path: str | Path) -> None:
    """The problems as a Parquet (or, for a `.csv` path, CSV) file."""
    out = Path(path)
    if out.suffix == ".csv":
        validated.rejected.write_csv(out)
    else:
        validated.rejected.write_parquet(out)


__all__ = ["NOT_BEFORE", "REJECTED_SCHEMA", "Validated", "read_parquet_validated", "validate_frames",
           "validate_tables", "write_rejected"]

