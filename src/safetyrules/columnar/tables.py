"""A population of enterprise records as polars tables: one row per enterprise plus one table per list.

Why this layout: every per-row operation of the columnar engine is a polars expression over flat columns,
and every quantifier is a join or gather between a scope and a child table keyed by `_idx`.

Encoding (the reference semantics distinguish *absent* = unknown from *null* = known not to exist):
- every scalar field path (`principal.competence_certificate_expires_on`) has a value column, null unless a
  value, and a Boolean column `<path>#unk`, true when the fact is absent (unknown);
- every object and list field has a Boolean presence column at its own path (true when present, null
  when null or absent) and its `#unk` column;
- a leaf already carries the state of the objects above it (a field of a null object is null, of an
  absent one unknown), so a leaf can be read without looking at its parents;
- enumeration codes are `pl.Enum` columns (comparisons are integer comparisons);
- instants are stored as naive UTC `Datetime("us")` at `<path>`, their offset in seconds at `<path>#off`
  and their local date (what `date(instant)` returns) at `<path>#date`;
- a child table has `_idx` (the enterprise's row), `_i` (the element's index in the original list) and the
  element's flattened fields; a list of plain values has one field, `value`.
Child tables are sorted by (`_idx`, `_i`); enterprise rows are numbered `_idx` = 0 … n-1.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel

from safetyrules.facts._shapes import Shape, field_shapes
from safetyrules.facts.contract import FactContract
from safetyrules.facts.errors import FactsFileError
from safetyrules.facts.models import Enterprise

ROOT = ""  # the name of the enterprise table
ROOT_FILE = "enterprises"
IDX = "_idx"
ELEM = "_i"
UNK = "#unk"
OFF = "#off"
LOCAL = "#date"
VALUE = "value"
_EPOCH = dt.datetime(1970, 1, 1)

_DTYPES: dict[str, pl.DataType] = {
    "bool": pl.Boolean(), "int": pl.Int64(), "str": pl.String(), "enum": pl.String(), "date": pl.Date(),
    "decimal": pl.String(),  # exact: a decimal's text (rules reading one run on the reference engine)
    "datetime": pl.Datetime("us"),
}


@dataclass(frozen=True, slots=True)
class Leaf:
    """One scalar field of a table: its dotted path inside the row and its scalar kind."""

    path: str
    kind: str  # "bool" | "int" | "decimal" | "str" | "enum" | "date" | "datetime"
    codes: tuple[str, ...] = ()  # enumeration codes


@dataclass(frozen=True, slots=True)
class TableSpec:
    """The columns of one table: scalar leaves, object and list presence columns, and its model."""

    name: str  # ROOT, or the dotted path of the list field (`staff`, `risk_control.levels`)
    model: type[BaseModel] | None  # None for a list of plain values
    leaves: tuple[Leaf, ...]
    objects: tuple[str, ...]  # object paths inside a row (`principal`, `plan`)
    lists: tuple[str, ...]  # list fields of the row (full table names)

    def schema(self) -> dict[str, pl.DataType]:
        out: dict[str, pl.DataType] = {}
        if self.name != ROOT:
            out[IDX] = pl.UInt32()
            out[ELEM] = pl.UInt32()
        else:
            out[IDX] = pl.UInt32()
        for path in (*self.objects, *self.lists_in_row()):
            out[path] = pl.Boolean()
            out[path + UNK] = pl.Boolean()
        for leaf in self.leaves:
            out[leaf.path] = pl.Enum(list(leaf.codes)) if leaf.kind == "enum" else _DTYPES[leaf.kind]
            out[leaf.path + UNK] = pl.Boolean()
            if leaf.kind == "datetime":
                out[leaf.path + OFF] = pl.Int32()
                out[leaf.path + LOCAL] = pl.Date()
        return out

    def lists_in_row(self) -> tuple[str, ...]:
        """List presence columns of this table (paths relative to the row)."""
        return tuple(name if self.name == ROOT else name[len(self.name) + 1:] for name in self.lists)


@dataclass(frozen=True, slots=True, eq=False)
class Schema:
    """The table layout of one subject's model: its own table (`ROOT`) and one per list field."""

    tables: dict[str, TableSpec]

    @property
    def model(self) -> type[BaseModel]:
        model = self.tables[ROOT].model
        assert model is not None
        return model

    def child_names(self) -> list[str]:
        return [n for n in self.tables if n != ROOT]


def _walk(model: type[BaseModel], prefix: str, table: str, leaves: list[Leaf], objects: list[str],
          lists: list[str], children: dict[str, TableSpec]) -> None:
    for name, shape in field_shapes(model).items():
        path = prefix + name
        if shape.kind == "scalar":
            codes = tuple(str(m.value) for m in shape.enum) if shape.enum is not None else ()
            leaves.append(Leaf(path, str(shape.scalar), codes))
        elif shape.kind == "object":
            assert shape.model is not None
            objects.append(path)
            _walk(shape.model, path + ".", table, leaves, objects, lists, children)
        else:
            child_name = path if table == ROOT else f"{table}.{path}"
            if table != ROOT:
                raise TypeError(f"lists inside list items are not supported: {child_name}")
            lists.append(child_name)
            children[child_name] = _child_spec(child_name, shape)


def _child_spec(name: str, shape: Shape) -> TableSpec:
    item = shape.item
    assert item is not None
    if item.kind == "scalar":
        codes = tuple(str(m.value) for m in item.enum) if item.enum is not None else ()
        return TableSpec(name, None, (Leaf(VALUE, str(item.scalar), codes),), (), ())
    assert item.model is not None
    leaves: list[Leaf] = []
    objects: list[str] = []
    lists: list[str] = []
    nested: dict[str, TableSpec] = {}
    _walk(item.model, "", name, leaves, objects, lists, nested)
    return TableSpec(name, item.model, tuple(leaves), tuple(objects), ())


@cache
def schema(model: type[BaseModel] = Enterprise) -> Schema:
    """The table layout of a subject's model (default: the built-in 附件4 enterprise), derived from the
    pydantic model (never hard-coded)."""
    leaves: list[Leaf] = []
    objects: list[str] = []
    lists: list[str] = []
    children: dict[str, TableSpec] = {}
    _walk(model, "", ROOT, leaves, objects, lists, children)
    root = TableSpec(ROOT, model, tuple(leaves), tuple(objects), tuple(lists))
    return Schema({ROOT: root, **children})


def layout_for(contract: FactContract) -> Schema:
    """The table layout of a policy's facts."""
    return schema(contract.model)


# ------------------------------------------------------------------------------------------ from records

class _Absent:
    pass


_ABSENT = _Absent()


def _get(obj: Any, key: str) -> Any:
    """`obj[key]` with absence kept: an absent object gives absent, a null object null."""
    if obj is _ABSENT or obj is None:
        return obj
    return obj.get(key, _ABSENT) if isinstance(obj, Mapping) else _ABSENT


def _resolve(row: Any, path: str) -> Any:
    value = row
    for part in path.split("."):
        value = _get(value, part)
    return value


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _as_instant(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


class _Builder:
    """Column lists for one table, filled row by row (only `from_records` uses Python per row)."""

    def __init__(self, spec: TableSpec) -> None:
        self.spec = spec
        self.cols: dict[str, list[Any]] = {name: [] for name in spec.schema()}

    def add(self, row: Any, idx: int, elem: int | None) -> None:
        cols = self.cols
        cols[IDX].append(idx)
        if elem is not None:
            cols[ELEM].append(elem)
        for path in (*self.spec.objects, *self.spec.lists_in_row()):
            v = _resolve(row, path)
            cols[path].append(None if v is _ABSENT or v is None else True)
            cols[path + UNK].append(v is _ABSENT)
        for leaf in self.spec.leaves:
            v = row if leaf.path == VALUE and self.spec.model is None else _resolve(row, leaf.path)
            unknown = v is _ABSENT
            v = None if unknown else v
            cols[leaf.path + UNK].append(unknown)
            if leaf.kind == "datetime":
                if v is None:
                    cols[leaf.path].append(None)
                    cols[leaf.path + OFF].append(None)
                    cols[leaf.path + LOCAL].append(None)
                else:
                    t = _as_instant(v)
                    off = t.utcoffset()
                    offset = int(off.total_seconds()) if off is not None else 0
                    # microseconds since the epoch, in UTC: at the calendar's first day a local instant east of
                    # UTC falls before year 1, which Python cannot hold but polars can
                    local = (t.replace(tzinfo=None) - _EPOCH) // dt.timedelta(microseconds=1)
                    cols[leaf.path].append(local - offset * 1_000_000)
                    cols[leaf.path + OFF].append(offset)
                    cols[leaf.path + LOCAL].append(t.date())
            elif leaf.kind == "date":
                cols[leaf.path].append(None if v is None else _as_date(v))
            elif leaf.kind in ("str", "enum", "decimal"):
                cols[leaf.path].append(None if v is None else str(v))
            else:
                cols[leaf.path].append(v)

    def frame(self) -> pl.DataFrame:
        schema = self.spec.schema()
        instants = [leaf.path for leaf in self.spec.leaves if leaf.kind == "datetime"]
        as_numbers = {name: (pl.Int64() if name in instants else dtype) for name, dtype in schema.items()}
        frame = pl.DataFrame(self.cols, schema=as_numbers)
        return frame.with_columns(pl.col(name).cast(schema[name]) for name in instants) if instants else frame


@dataclass(slots=True)
class FactTables:
    """The enterprise table and one child table per list field (see the module docstring)."""

    enterprises: pl.DataFrame
    children: dict[str, pl.DataFrame] = field(default_factory=dict)
    layout: Schema = field(default_factory=schema)  # the subject model the tables hold

    def __len__(self) -> int:
        return self.enterprises.height

    def table(self, name: str) -> pl.DataFrame:
        return self.enterprises if name == ROOT else self.children[name]

    # ---------------------------------------------------------------- builders
    @staticmethod
    def from_records(records: Iterable[Mapping[str, Any]], layout: Schema | None = None) -> FactTables:
        """Tables from records as `Enterprise.model_dump(exclude_unset=True)` produces them (`layout`: the
        tables of another subject model, `layout_for(policy.contract)`)."""
        sch = layout or schema()
        root = _Builder(sch.tables[ROOT])
        builders = {name: _Builder(sch.tables[name]) for name in sch.child_names()}
        for idx, record in enumerate(records):
            root.add(record, idx, None)
            for name, builder in builders.items():
                items = _resolve(record, name)
                if isinstance(items, list):
                    for i, item in enumerate(items):
                        builder.add(item, idx, i)
        return FactTables(root.frame(), {name: b.frame() for name, b in builders.items()}, sch)

    @staticmethod
    def empty(layout: Schema | None = None) -> FactTables:
        return FactTables.from_records([], layout)

    def write_parquet(self, folder: str | Path) -> None:
        """One Parquet file per table: `enterprises.parquet` and `<list path>.parquet`."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        self.enterprises.write_parquet(out / f"{ROOT_FILE}.parquet")
        for name, frame in self.children.items():
            frame.write_parquet(out / f"{name}.parquet")

    @staticmethod
    def read_parquet(folder: str | Path, layout: Schema | None = None) -> FactTables:
        """Read a folder written by `write_parquet` (or by any tool following the same layout).

        Columns are cast to the contract's types; a missing value column is all unknown (a missing `#unk`
        column: known where the value column exists), a missing child table empty, missing `_idx`/`_i`
        numbered in file order. Rows are renumbered so that `_idx` is 0 … n-1 in the enterprise table's order.

        For tables known to be good (written by `write_parquet`): a value that does not cast, or an `_idx`
        shared by two enterprise rows, raises `FactsFileError`. `columnar.validate.read_parquet_validated`
        rejects the bad rows with their reasons and keeps the rest.
        """
        src = Path(folder)
        sch = layout or schema()
        tables: dict[str, pl.DataFrame] = {}
        for name in (ROOT, *sch.child_names()):
            path = src / f"{ROOT_FILE if name == ROOT else name}.parquet"
            spec = sch.tables[name]
            frame = pl.read_parquet(path) if name == ROOT or path.exists() else pl.DataFrame(schema=spec.schema())
            try:
                tables[name] = _conform(frame, spec)
            except pl.exceptions.PolarsError as e:
                raise FactsFileError(f"{path}: {e} (read_parquet_validated rejects bad rows and keeps the rest)") \
                    from None
        root = tables.pop(ROOT)
        if root.get_column(IDX).is_duplicated().any():  # rows sharing a key would share their list rows
            raise FactsFileError(f"{src / ROOT_FILE}.parquet: `_idx` is given to more than one enterprise row")
        return FactTables(root, tables, sch).renumbered()

    def renumbered(self) -> FactTables:
        """`_idx` = row number of the enterprise table; child rows follow, sorted by (`_idx`, `_i`)."""
        old = self.enterprises[IDX]
        if old.equals(pl.int_range(0, len(old), dtype=pl.UInt32, eager=True).alias(IDX)):
            children = {n: c if _is_sorted(c) else c.sort(IDX, ELEM) for n, c in self.children.items()}
            return FactTables(self.enterprises, children, self.layout)
        mapping = pl.DataFrame({"_old": old, "_new": pl.int_range(0, len(old), dtype=pl.UInt32, eager=True)})
        root = self.enterprises.with_columns(mapping["_new"].alias(IDX))
        children = {}
        for name, frame in self.children.items():
            children[name] = (frame.join(mapping, left_on=IDX, right_on="_old", how="inner")
                              .with_columns(pl.col("_new").alias(IDX)).drop("_new").sort(IDX, ELEM))
        return FactTables(root, children, self.layout)

    def slice(self, offset: int, length: int) -> FactTables:
        """A batch of consecutive enterprises (renumbered from 0): the unit a distributed engine maps over."""
        root = self.enterprises.slice(offset, length)
        lo, hi = offset, offset + root.height
        children = {n: c.filter(pl.col(IDX).is_between(lo, hi - 1)).with_columns(pl.col(IDX) - lo)
                    for n, c in self.children.items()}
        return FactTables(root.with_columns(pl.col(IDX) - lo), children, self.layout)

    @staticmethod
    def concat(parts: list[FactTables]) -> FactTables:
        """Several batches as one population (enterprise rows renumbered in order)."""
        offset = 0
        layout = parts[0].layout if parts else schema()
        roots, kids = [], {n: [] for n in layout.child_names()}  # type: ignore[var-annotated]
        for part in parts:
            roots.append(part.enterprises.with_columns(pl.col(IDX) + offset))
            for n in kids:
                kids[n].append(part.children[n].with_columns(pl.col(IDX) + offset))
            offset += len(part)
        return FactTables(pl.concat(roots), {n: pl.concat(v) for n, v in kids.items()}, layout)

    # ---------------------------------------------------------------- back to records
    def to_records(self) -> Iterator[dict[str, Any]]:
        """The records again (absent keys stay absent): for the reference-engine fallback and tests."""
        sch = self.layout
        grouped: dict[str, dict[int, list[Any]]] = {}
        for name in sch.child_names():
            spec = sch.tables[name]
            by_idx: dict[int, list[Any]] = {}
            for row in self.children[name].iter_rows(named=True):
                item = _row_to_dict(row, spec)
                by_idx.setdefault(row[IDX], []).append(item if spec.model is not None else item[VALUE])
            grouped[name] = by_idx
        root_spec = sch.tables[ROOT]
        for row in self.enterprises.iter_rows(named=True):
            record = _row_to_dict(row, root_spec)
            for name in sch.child_names():
                parent, _, key = name.rpartition(".")
                holder: Any = record
                if parent:
                    holder = record.get(parent, _ABSENT)
                if isinstance(holder, dict) and row[name] is True:
                    holder[key] = grouped[name].get(row[IDX], [])
            yield record


def _is_sorted(frame: pl.DataFrame) -> bool:
    if frame.height < 2:
        return True
    return bool(frame.select(((pl.col(IDX).diff() > 0) | ((pl.col(IDX).diff() == 0) & (pl.col(ELEM).diff() > 0)))
                             .slice(1).all()).item())


def _set(record: dict[str, Any], path: str, value: Any) -> None:
    *parents, key = path.split(".")
    holder = record
    for p in parents:
        nxt = holder.get(p)
        if not isinstance(nxt, dict):
            return
        holder = nxt
    holder[key] = value


def _row_to_dict(row: Mapping[str, Any], spec: TableSpec) -> dict[str, Any]:
    """One row back to a nested dict; objects first (outermost first) so that leaves find their holder."""
    out: dict[str, Any] = {}
    for path in sorted((*spec.objects, *spec.lists_in_row()), key=lambda p: p.count(".")):
        if row[path + UNK]:
            continue
        _set(out, path, {} if row[path] and path in spec.objects else None if not row[path] else [])
    for leaf in spec.leaves:
        if row[leaf.path + UNK]:
            continue
        value = row[leaf.path]
        if leaf.kind == "datetime" and value is not None:
            offset = row[leaf.path + OFF]
            tz = dt.timezone(dt.timedelta(seconds=offset))
            value = (value + dt.timedelta(seconds=offset)).replace(tzinfo=tz)
        elif leaf.kind == "decimal" and value is not None:
            value = decimal.Decimal(value)
        if spec.model is None:
            out[VALUE] = value
        else:
            _set(out, leaf.path, value)
    return out


def _conform(frame: pl.DataFrame, spec: TableSpec) -> pl.DataFrame:
    """Cast to the layout's types; columns the file lacks are unknown (leaves) or absent (presence)."""
    exprs: list[pl.Expr] = []
    for name, dtype in spec.schema().items():
        if name in frame.columns:
            exprs.append(pl.col(name).cast(dtype))
        elif name == IDX:  # an enterprise table without row keys: its order numbers the rows
            exprs.append(pl.int_range(pl.len(), dtype=pl.UInt32).alias(IDX))
        elif name == ELEM:  # a child table without element indexes: its order within each enterprise
            exprs.append(pl.int_range(pl.len(), dtype=pl.UInt32).over(IDX).alias(ELEM))
        elif name.endswith(UNK):  # known where the file has the value column, else unknown
            exprs.append(pl.lit(name[: -len(UNK)] not in frame.columns).alias(name))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(exprs)
