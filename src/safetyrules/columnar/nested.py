"""The nested layout: one row per enterprise, lists as `list<struct>` columns (for Spark, Arrow, Parquet).

The flat layout of `columnar.tables` (one table per list field, joined by `_idx`) is what the kernel runs on;
a distributed engine needs every enterprise's facts in one row, so that any partition of the rows is a
population the kernel can run on by itself. This module converts between the two, column by column.

Layout (Arrow types; the Spark types in brackets), derived from the policy's fact declarations:
- one column per top-level field of the subject, named by the field (no dots anywhere in a column or field
  name: Spark reads `a.b` as a struct access);
- scalar fields: text and enumeration codes `string`, flags `bool`, integers `int64`, dates `date32` [date],
  decimals their exact text as `string`; an instant is `timestamp[us, tz=UTC]` [timestamp] plus, beside it, its
  UTC offset in seconds as `int32` in the field `<name>#off` (optional: without it the offset of the column's
  time zone is taken; the rules read the local day in the facts' own time zone anyway);
- an object (`principal`) is a `struct` of its fields; a list of records (`hazards`) is a `list<struct>`, a
  list of plain values (`internal_assessments`, `risk_control.levels`) a `list<date32>` or `list<string>`;
- **null, empty and absent stay distinct**: a null struct or list is an explicit `null` (known: the thing does
  not exist); an empty list is `[]`; a fact that is *absent* (unknown) is named in the row's `_absent` column,
  a `string` of field paths relative to the row separated by commas (`"principal.name,hazards"`), its value
  null. Each list item's struct has its own `_absent` (`"plan.time_limit"`). Only the outermost absent path is
  written (the fields of an absent object are absent too); a null, empty or missing `_absent` means nothing is
  absent. A field missing from the data's schema altogether is absent in every row. (`_absent` is read as a
  `list<string>` of paths too; it is written as text because Spark's Arrow transfer of a list inside the
  structs of a list is more than ten times slower: docs/distributed.md.)

    from safetyrules.columnar.nested import to_nested, from_nested, write_nested_parquet, read_nested_parquet
    table = to_nested(FactTables.from_records(records))   # pa.Table, one row per enterprise
    tables = from_nested(table)                             # back to the flat FactTables (trusted input)
    frames = nested_frames(table)                           # raw flat frames, for `validate.validate_frames`
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from pydantic import BaseModel

from safetyrules.columnar.tables import (
    ELEM,
    IDX,
    LOCAL,
    OFF,
    ROOT,
    UNK,
    VALUE,
    FactTables,
    Schema,
    _conform,
    schema,
)
from safetyrules.facts._shapes import Shape, field_shapes
from safetyrules.facts.errors import FactsFileError

ABSENT = "_absent"  # the per-row (and per-item) absent field paths, separated by commas
_LIST = "_list"  # scratch: one exploded list element

_ARROW: dict[str, pa.DataType] = {
    "bool": pa.bool_(), "int": pa.int64(), "str": pa.string(), "enum": pa.string(), "date": pa.date32(),
    "decimal": pa.string(), "datetime": pa.timestamp("us", tz="UTC"),
}


@dataclass(frozen=True, slots=True)
class Node:
    """One field of a row or item: its path in the row (dotted), its kind, and what it holds."""

    name: str
    path: str
    kind: str  # "scalar" | "object" | "list"
    scalar: str | None = None  # the scalar kind of a scalar, or of a list's plain items
    fields: tuple[Node, ...] = ()  # an object's fields, or a list's item fields (empty: plain items)


def _nodes(model: type[BaseModel], prefix: str = "") -> tuple[Node, ...]:
    out = []
    for name, shape in field_shapes(model).items():
        out.append(_node(name, prefix + name, shape))
    return tuple(out)


def _node(name: str, path: str, shape: Shape) -> Node:
    if shape.kind == "scalar":
        return Node(name, path, "scalar", str(shape.scalar))
    if shape.kind == "object":
        assert shape.model is not None
        return Node(name, path, "object", fields=_nodes(shape.model, path + "."))
    item = shape.item
    assert item is not None
    if item.kind == "scalar":
        return Node(name, path, "list", str(item.scalar))
    if item.kind != "object" or item.model is None:
        raise TypeError(f"lists inside list items are not supported: {path}")
    return Node(name, path, "list", fields=_nodes(item.model))


def _row_nodes(layout: Schema) -> tuple[Node, ...]:
    return _nodes(layout.model)


# ------------------------------------------------------------------------------------------ schema

def _arrow_fields(nodes: tuple[Node, ...]) -> list[pa.Field]:
    out: list[pa.Field] = []
    for node in nodes:
        if node.kind == "scalar":
            assert node.scalar is not None
            out.append(pa.field(node.name, _ARROW[node.scalar]))
            if node.scalar == "datetime":
                out.append(pa.field(node.name + OFF, pa.int32()))
        elif node.kind == "object":
            out.append(pa.field(node.name, pa.struct(_arrow_fields(node.fields))))
        elif node.fields:
            item = pa.struct([*_arrow_fields(node.fields), pa.field(ABSENT, pa.string())])
            out.append(pa.field(node.name, pa.list_(item)))
        else:
            assert node.scalar is not None
            out.append(pa.field(node.name, pa.list_(_ARROW[node.scalar])))
    return out


def nested_schema(layout: Schema | None = None) -> pa.Schema:
    """The Arrow schema of the nested layout for a subject's model (default: the built-in 附件4 enterprise;
    `layout_for(policy.contract)` for a declared one)."""
    sch = layout or schema()
    return pa.schema([*_arrow_fields(_row_nodes(sch)), pa.field(ABSENT, pa.string())])


# ------------------------------------------------------------------------------------------ flat → nested

def _parent_unk(path: str, objects: set[str]) -> str | None:
    """The `#unk` column of the object holding `path`, if `path` is inside one (in the same table)."""
    parent = path.rpartition(".")[0]
    return parent + UNK if parent in objects else None


def _absent_expr(paths: list[str], objects: set[str]) -> pl.Expr:
    """The row's outermost absent paths, separated by commas (null when none)."""
    if not paths:
        return pl.lit(None, dtype=pl.String).alias(ABSENT)
    parts = []
    for p in paths:
        cond = pl.col(p + UNK)
        parent = _parent_unk(p, objects)
        if parent is not None:
            cond = cond & ~pl.col(parent)
        parts.append(pl.when(cond).then(pl.lit(p)))
    listed = pl.concat_str(parts, separator=",", ignore_nulls=True)
    return pl.when(listed != "").then(listed).alias(ABSENT)


def _value_exprs(nodes: tuple[Node, ...], lists: dict[str, str]) -> list[pl.Expr]:
    """The nested columns (or struct fields) of a flat row: scalars, objects as structs, lists from `lists`
    (list path → the column holding the gathered items)."""
    out: list[pl.Expr] = []
    for node in nodes:
        if node.kind == "scalar":
            col = pl.col(node.path)
            if node.scalar == "enum":
                out.append(col.cast(pl.String).alias(node.name))
            elif node.scalar == "datetime":
                out.append(col.dt.replace_time_zone("UTC").alias(node.name))
                out.append(pl.col(node.path + OFF).alias(node.name + OFF))
            else:
                out.append(col.alias(node.name))
        elif node.kind == "object":
            out.append(pl.when(pl.col(node.path)).then(pl.struct(_value_exprs(node.fields, lists)))
                       .alias(node.name))
        else:
            out.append(pl.when(pl.col(node.path)).then(pl.col(lists[node.path])).alias(node.name))
    return out


def _paths(nodes: tuple[Node, ...], objects: list[str], all_paths: list[str]) -> None:
    for node in nodes:
        all_paths.append(node.path)
        if node.kind == "object":
            objects.append(node.path)
            _paths(node.fields, objects, all_paths)


def _nest_table(frame: pl.DataFrame, nodes: tuple[Node, ...], lists: dict[str, str]) -> pl.DataFrame:
    objects: list[str] = []
    paths: list[str] = []
    _paths(nodes, objects, paths)
    return frame.select(*_value_exprs(nodes, lists), _absent_expr(paths, set(objects)))


def to_nested(tables: FactTables) -> pa.Table:
    """The nested layout of flat fact tables: one row per enterprise, in the enterprise table's order."""
    layout = tables.layout
    nodes = _row_nodes(layout)
    target = nested_schema(layout)
    root = tables.enterprises
    lists: dict[str, str] = {}
    joined = [root]
    for node in _list_nodes(nodes):
        column = f"{_LIST}:{node.path}"
        lists[node.path] = column
        child = tables.children[node.path]
        if node.fields:
            item = _nest_table(child, node.fields, {}).select(pl.struct(pl.all()).alias(column))
        else:
            item = child.select(_value_exprs((Node(VALUE, VALUE, "scalar", node.scalar),), {})[0].alias(column))
        gathered = pl.concat([child.select(IDX), item], how="horizontal").group_by(IDX, maintain_order=True) \
            .agg(pl.col(column))
        empty = pl.lit([], dtype=gathered.schema[column])
        lists_frame = root.select(IDX).join(gathered, on=IDX, how="left", maintain_order="left") \
            .select(pl.col(column).fill_null(empty))
        joined.append(lists_frame)
    frame = pl.concat(joined, how="horizontal") if len(joined) > 1 else root
    out = _nest_table(frame, nodes, lists).to_arrow()
    return out.cast(target)


def _list_nodes(nodes: tuple[Node, ...]) -> Iterator[Node]:
    for node in nodes:
        if node.kind == "list":
            yield node
        elif node.kind == "object":
            yield from _list_nodes(node.fields)


# ------------------------------------------------------------------------------------------ nested → flat

def _field(expr: pl.Expr | None, dtype: pl.DataType | None, name: str) -> tuple[pl.Expr | None, pl.DataType | None]:
    """A struct field of `expr` (of type `dtype`), or (None, None) when the struct has no such field."""
    if expr is None or not isinstance(dtype, pl.Struct):
        return None, None
    for f in dtype.fields:
        if f.name == name:
            return expr.struct.field(name), _as_type(f.dtype)
    return None, None


def _as_type(dtype: Any) -> pl.DataType:
    return dtype if isinstance(dtype, pl.DataType) else dtype()


_POLARS: dict[str, pl.DataType] = {
    "bool": pl.Boolean(), "int": pl.Int64(), "str": pl.String(), "enum": pl.String(), "date": pl.Date(),
    "decimal": pl.String(), "datetime": pl.Datetime("us"),
}

Lookup = Callable[[str], tuple["pl.Expr | None", "pl.DataType | None"]]


def _in_struct(expr: pl.Expr | None, dtype: pl.DataType | None) -> Lookup:
    return lambda name: _field(expr, dtype, name)


class _Flattener:
    """The flat columns of one nested row or list item: value, `#unk` and presence columns; and the list
    fields met (node, getter, type, unknown) for the child tables."""

    def __init__(self, absent: dict[str, str]) -> None:
        self.absent = absent  # path → the Boolean column saying where `_absent` names it
        self.exprs: list[pl.Expr] = []
        self.lists: list[tuple[Node, pl.Expr | None, pl.DataType | None, pl.Expr]] = []

    def listed(self, path: str) -> pl.Expr:
        """Whether the row's (or item's) `_absent` names `path`."""
        column = self.absent.get(path)
        return pl.lit(False) if column is None else pl.col(column)

    def fields(self, nodes: tuple[Node, ...], lookup: Lookup, parent_unk: pl.Expr, lists: bool) -> None:
        for node in nodes:
            expr, ftype = lookup(node.name)
            unk = (parent_unk | self.listed(node.path)) if expr is not None else pl.lit(True)
            if node.kind == "scalar":
                self.scalar(node, expr, ftype, unk, lookup)
                continue
            if node.kind == "list" and not lists:
                raise TypeError(f"lists inside list items are not supported: {node.path}")
            _check_shape(node, ftype)
            present = pl.when(~unk & expr.is_not_null()).then(True) if expr is not None \
                else pl.lit(None, dtype=pl.Boolean)
            self.exprs += [present.alias(node.path), unk.alias(node.path + UNK)]
            if node.kind == "object":
                self.fields(node.fields, _in_struct(expr, ftype), unk, lists)
            else:
                self.lists.append((node, expr, ftype, unk))

    def scalar(self, node: Node, expr: pl.Expr | None, ftype: pl.DataType | None, unk: pl.Expr,
               lookup: Lookup) -> None:
        path = node.path
        assert node.scalar is not None
        if expr is None:  # not in the data at all: unknown
            self.exprs += [pl.lit(None, dtype=_POLARS[node.scalar]).alias(path), unk.alias(path + UNK)]
            if node.scalar == "datetime":
                self.exprs += [pl.lit(None, dtype=pl.Int32).alias(path + OFF),
                               pl.lit(None, dtype=pl.Date).alias(path + LOCAL)]
            return
        known = ~unk
        if node.scalar == "datetime" and isinstance(ftype, pl.Datetime):
            off_expr, _ = lookup(node.name + OFF)
            if ftype.time_zone is not None:  # the offset of the column's zone where `#off` does not say
                utc = expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None).dt.cast_time_unit("us")
                wall = expr.dt.replace_time_zone(None).dt.cast_time_unit("us")
                zone = (wall - utc).dt.total_seconds().cast(pl.Int32)
                off = off_expr.cast(pl.Int32, strict=False).fill_null(zone) if off_expr is not None else zone
            else:  # naive: UTC, with its `#off` (validation rejects an instant without one)
                utc = expr.dt.cast_time_unit("us")
                off = off_expr.cast(pl.Int32, strict=False) if off_expr is not None else pl.lit(None, dtype=pl.Int32)
            value = pl.when(known).then(utc)
            offset = pl.when(known & value.is_not_null()).then(off)
            self.exprs += [value.alias(path), unk.alias(path + UNK), offset.alias(path + OFF),
                           (value + pl.duration(seconds=offset)).dt.date().alias(path + LOCAL)]
            return
        self.exprs += [pl.when(known).then(expr).alias(path), unk.alias(path + UNK)]


def _check_shape(node: Node, dtype: pl.DataType | None) -> None:
    """An object must be a struct, a list a list (of structs for a list of records): a column of another
    shape is a mistake in the data's schema, not in one row."""
    if dtype is None or isinstance(dtype, pl.Null):
        return
    if node.kind == "object":
        ok = isinstance(dtype, pl.Struct)
    else:
        ok = isinstance(dtype, pl.List) and (not node.fields or isinstance(dtype.inner, (pl.Struct, pl.Null)))
    if not ok:
        want = "a struct" if node.kind == "object" else "a list of structs" if node.fields else "a list"
        raise FactsFileError(f"`{node.path}` is a column of {dtype}, expected {want} (the nested layout: "
                             "safetyrules.columnar.nested)")


_MASK = "#absent:"


def _absent_masks(frame: pl.DataFrame, absent: pl.Expr | None, dtype: pl.DataType | None,
                  ) -> tuple[pl.DataFrame, dict[str, str]]:
    """One Boolean column per path some row's `_absent` names (text separated by commas, or a list), true in
    those rows: each path is then read as a column, not searched for in every row's text."""
    if absent is None or not isinstance(dtype, (pl.String, pl.List)):
        return frame, {}
    paths = absent.str.split(",") if isinstance(dtype, pl.String) else absent.cast(pl.List(pl.String))
    pairs = frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_r"), paths.alias("_p")).explode("_p") \
        .with_columns(pl.col("_p").str.strip_chars()).filter(pl.col("_p").is_not_null() & (pl.col("_p") != ""))
    if pairs.height == 0:
        return frame, {}
    masks, names = [], {}
    for (path,), group in pairs.group_by("_p"):
        names[str(path)] = name = _MASK + str(path)
        masks.append(pl.repeat(False, frame.height, dtype=pl.Boolean, eager=True)
                     .scatter(group.get_column("_r"), True).alias(name))
    return frame.with_columns(masks), names


def nested_frames(data: pa.Table | pa.RecordBatch | pl.DataFrame, layout: Schema | None = None,
                  ) -> dict[str, pl.DataFrame]:
    """Raw flat frames (table name → frame; the enterprise table is "") of nested rows, in the flat layout's
    column names, the values in the types the data has: `validate.validate_frames` checks and converts them,
    `from_nested` casts them as trusted. Enterprise rows are numbered `_idx` = 0 … n-1 in the data's order; a
    child row's `_i` is its item's position in the list. Columns the layout does not know are ignored."""
    sch = layout or schema()
    nodes = _row_nodes(sch)
    frame = data if isinstance(data, pl.DataFrame) else pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.with_row_index(IDX)
    columns = dict(frame.schema)

    def top(name: str) -> tuple[pl.Expr | None, pl.DataType | None]:
        dtype = columns.get(name)
        return (pl.col(name), _as_type(dtype)) if dtype is not None and name != IDX else (None, None)

    frame, masks = _absent_masks(frame, *top(ABSENT))
    flat = _Flattener(masks)
    flat.fields(nodes, top, pl.lit(False), lists=True)
    # lazily: the common parts (an object's unknown state under each of its fields, the `_absent` text) once
    out = {ROOT: frame.lazy().select(IDX, *flat.exprs).collect()}
    for node, getter, ftype, unk in flat.lists:
        if getter is None or not isinstance(ftype, pl.List):  # not in the data: unknown, no rows
            out[node.path] = pl.DataFrame(schema=sch.tables[node.path].schema())
            continue
        items = frame.select(IDX, pl.when(~unk).then(getter).alias(_LIST)) \
            .with_columns(pl.int_ranges(0, pl.col(_LIST).list.len(), dtype=pl.UInt32).alias(ELEM)) \
            .explode(_LIST, ELEM)
        items = items.filter(pl.col(ELEM).is_not_null())  # an empty or null list explodes to one null row
        inner = _as_type(ftype.inner)
        if node.fields:
            item = pl.col(_LIST)
            items, masks = _absent_masks(items, *_field(item, inner, ABSENT))
            item_flat = _Flattener(masks)
            item_flat.fields(node.fields, _in_struct(item, inner), pl.lit(False), lists=False)
            out[node.path] = items.lazy().select(IDX, ELEM, *item_flat.exprs).collect()
        else:
            out[node.path] = items.select(IDX, ELEM, pl.col(_LIST).alias(VALUE), pl.lit(False).alias(VALUE + UNK))
    return out


def from_nested(data: pa.Table | pa.RecordBatch | pl.DataFrame, layout: Schema | None = None) -> FactTables:
    """Flat fact tables of nested rows known to be good (as `to_nested` writes them): values are cast to the
    layout's types, and one that does not cast raises. For data from elsewhere, validate instead
    (`columnar.arrow.evaluate_arrow` does: bad rows are rejected with their reasons, the rest evaluated)."""
    sch = layout or schema()
    frames = nested_frames(data, sch)
    root = _conform(frames[ROOT], sch.tables[ROOT])
    children = {name: _conform(frames[name], sch.tables[name]) for name in sch.child_names()}
    return FactTables(root, children, sch)


# ------------------------------------------------------------------------------------------ files

def write_nested_parquet(data: FactTables | pa.Table, path: str | Path, rows_per_group: int = 50_000,
                         **options: Any) -> None:
    """One Parquet file of nested rows; flat tables are converted `rows_per_group` enterprises at a time (one
    row group each), so that memory holds one group's nested rows. `options` go to `pq.ParquetWriter`."""
    if isinstance(data, pa.Table):
        pq.write_table(data, str(path), row_group_size=rows_per_group, **options)
        return
    with pq.ParquetWriter(str(path), nested_schema(data.layout), **options) as writer:
        for offset in range(0, max(len(data), 1), rows_per_group):
            writer.write_table(to_nested(data.slice(offset, rows_per_group) if len(data) > rows_per_group
                                         else data))


def read_nested_parquet(path: str | Path, layout: Schema | None = None) -> FactTables:
    """Flat fact tables from a Parquet file (or a folder of them) of nested rows known to be good."""
    return from_nested(pq.read_table(str(path)), layout)


def flat_to_nested(folder: str | Path, path: str | Path, layout: Schema | None = None,
                   rows_per_group: int = 50_000) -> None:
    """Convert a folder of flat Parquet tables (`FactTables.write_parquet`) to one Parquet file of nested rows."""
    write_nested_parquet(FactTables.read_parquet(folder, layout), path, rows_per_group)


def nested_to_flat(path: str | Path, folder: str | Path, layout: Schema | None = None) -> None:
    """Convert a Parquet file (or folder) of nested rows to a folder of flat tables (`FactTables.write_parquet`)."""
    read_nested_parquet(path, layout).write_parquet(folder)


def records_to_nested(records: Iterable[Mapping[str, Any]], layout: Schema | None = None) -> pa.Table:
    """The nested rows of records (as `Enterprise.model_dump(exclude_unset=True)` gives them)."""
    return to_nested(FactTables.from_records(records, layout))


__all__ = ["ABSENT", "flat_to_nested", "from_nested", "nested_frames", "nested_schema", "nested_to_flat",
           "read_nested_parquet", "records_to_nested", "to_nested", "write_nested_parquet"]
