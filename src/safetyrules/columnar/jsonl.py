"""JSON Lines straight into the columnar tables, validated in bulk, rejected rows reported as the row path does.

    source = FactSource("town.jsonl", contract=policy.contract)
    for batch in read_jsonl_batches(source, layout_for(policy.contract)):
        batch.rejected                       # `Rejected` (file, line, field, reason), in line order
        program.run(batch.tables, as_of)     # the accepted enterprises of the batch, in file order

The record path validates every record with the contract's pydantic models and builds the tables row by row
(about 2,000 records/s). Here each line is only decoded (the same decoder, so the same syntax errors and
markers) and its structure checked against the contract in a short walk: which objects, lists and items are
there, which fields are absent (the nested layout's `_absent`), no unknown field. Then the batch becomes one
Arrow table of nested rows, `nested.nested_frames` flattens it, and `validate.validate_frames` checks the
values column by column (types, codes, bounds, date orders, limits, ids).

Every line the fast path cannot vouch for goes through the record path (`FactSource.accept`), which gives the
positioned messages of today: a line the decoder marked (`suspect`), with a float, an unknown field, a
structure other than the contract's, a bad or repeated id, an instant that is not plain ISO 8601 with an
offset, values Arrow refuses for their type, and every enterprise the columnar validation rejects. A record
the record path accepts after all (the columnar checks are the models' rules, so only in a corner such as an
unusual but valid instant, or with an unknown field) is evaluated too, in its place in the file's order.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from safetyrules.columnar.nested import ABSENT, Node, _row_nodes, nested_frames
from safetyrules.columnar.tables import FactTables, Schema
from safetyrules.columnar.validate import validate_frames
from safetyrules.facts.errors import Position
from safetyrules.facts.loaded import Loaded, Rejected
from safetyrules.facts.loaders import FactSource
from safetyrules.facts.models import parse_datetime

BATCH = 50_000  # records per batch

# an escape of a UTF-16 surrogate: the record decoder checks such text for unpaired surrogates
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def _no_float(text: str) -> Any:
    """The fast decoder's `parse_float` and `parse_constant`: Arrow would take 5.0 for an integer, the models
    refuse it (a decimal field takes it: such records take the record path too)."""
    raise _Slow


_ARROW = {"bool": pa.bool_(), "int": pa.int64(), "str": pa.string(), "enum": pa.string(), "date": pa.string(),
          "decimal": pa.string(), "datetime": pa.timestamp("us", tz="UTC")}


_Where = tuple[Position, str]  # a fast record's position and its line


class _Slow(Exception):
    """The record needs the record path."""


@dataclass(slots=True)
class JsonlBatch:
    """The accepted enterprises of a run of lines (file order) and the lines rejected there (line order)."""

    tables: FactTables
    rejected: list[Rejected] = field(default_factory=list)


def _arrow_fields(nodes: tuple[Node, ...]) -> list[pa.Field]:
    """The nested layout's Arrow fields as JSON gives the values: dates as text (validated in bulk)."""
    out: list[pa.Field] = []
    for node in nodes:
        if node.kind == "scalar":
            assert node.scalar is not None
            out.append(pa.field(node.name, _ARROW[node.scalar]))
        elif node.kind == "object":
            out.append(pa.field(node.name, pa.struct(_arrow_fields(node.fields))))
        elif node.fields:
            out.append(pa.field(node.name, pa.list_(pa.struct([*_arrow_fields(node.fields),
                                                               pa.field(ABSENT, pa.string())]))))
        else:
            assert node.scalar is not None
            out.append(pa.field(node.name, pa.list_(_ARROW[node.scalar])))
    return out


@dataclass(frozen=True, slots=True)
class _Fields:
    """The fields of one object or list item of the contract."""

    names: frozenset[str]
    order: tuple[str, ...]
    complex: tuple[Node, ...]  # the fields the walk must look into: objects, lists and instants


class _Shape:
    """The contract's structure, for the walk over each decoded record."""

    def __init__(self, layout: Schema, max_items: int) -> None:
        self.nodes = _row_nodes(layout)
        self.max_items = max_items
        self.schema = pa.schema([*_arrow_fields(self.nodes), pa.field(ABSENT, pa.string())])
        self.fields = {id(nodes): _Fields(frozenset(n.name for n in nodes), tuple(n.name for n in nodes),
                                          tuple(n for n in nodes if n.kind != "scalar" or n.scalar == "datetime"))
                       for nodes in self._all(self.nodes)}

    def _all(self, nodes: tuple[Node, ...]) -> Iterator[tuple[Node, ...]]:
        yield nodes
        for node in nodes:
            if node.fields:
                yield from self._all(node.fields)

    def check(self, record: dict[str, Any]) -> int:
        """Check `record`'s structure (raise `_Slow` when the record path must see it), note its absent fields
        in `_absent` (the record's and each list item's), turn its instants into aware datetimes; the number of
        keys of the objects seen (that many keys in the text: none repeated)."""
        absent: list[str] = []
        keys = self._fields(record, self.nodes, absent, "")
        if absent:
            record[ABSENT] = ",".join(absent)
        return keys

    def _fields(self, obj: dict[str, Any], nodes: tuple[Node, ...], absent: list[str], prefix: str) -> int:
        spec = self.fields[id(nodes)]
        keys = len(obj)
        if obj.keys() != spec.names:
            if not obj.keys() <= spec.names:
                raise _Slow  # an unknown field (a warning), or an `_absent` of the file's own
            absent.extend(prefix + name for name in spec.order if name not in obj)
        for node in spec.complex:
            value = obj.get(node.name)
            if value is None:
                continue
            if node.kind == "scalar":  # an instant
                obj[node.name] = _instant(value)
            elif node.kind == "object":
                if type(value) is not dict:
                    raise _Slow
                keys += self._fields(value, node.fields, absent, prefix + node.name + ".")
            elif type(value) is not list or len(value) > self.max_items:
                raise _Slow
            elif node.fields:
                inner = self.fields[id(node.fields)]
                plain = not inner.complex
                for item in value:
                    if type(item) is not dict:
                        raise _Slow
                    if plain and item.keys() == inner.names:
                        keys += len(item)
                        continue
                    missing: list[str] = []
                    keys += self._fields(item, node.fields, missing, "")
                    if missing:
                        item[ABSENT] = ",".join(missing)
            elif node.scalar == "datetime":
                obj[node.name] = [None if v is None else _instant(v) for v in value]
        return keys


def _instant(value: object) -> dt.datetime:
    """An instant as the models read it (ISO 8601 with an offset), else the record path says why not."""
    try:
        return parse_datetime(value)
    except ValueError as exc:  # PydanticCustomError
        raise _Slow from exc


def _refused(records: list[dict[str, Any]], schema: pa.Schema) -> list[int]:
    """The positions of the records Arrow refuses (values not of their type): halves until found, log2(n)
    rounds for one bad record."""
    try:
        pa.Table.from_pylist(records, schema=schema)
        return []
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        if len(records) == 1:
            return [0]
    half = len(records) // 2
    return [*_refused(records[:half], schema), *(half + i for i in _refused(records[half:], schema))]


def _to_arrow(records: list[dict[str, Any]], schema: pa.Schema) -> tuple[pa.Table, list[int]]:
    """The records as one Arrow table, and the positions of those left out (Arrow refuses their values)."""
    try:
        return pa.Table.from_pylist(records, schema=schema), []
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        refused = _refused(records, schema)
    out = set(refused)
    return pa.Table.from_pylist([r for i, r in enumerate(records) if i not in out], schema=schema), refused


def read_jsonl_batches(source: FactSource, layout: Schema, batch: int = BATCH) -> Iterator[JsonlBatch]:
    """The records of a JSON Lines `source` in batches of at most `batch` lines; its report counts them as
    the record path would (loaded, rejected, unknown fields, ids seen)."""
    shape = _Shape(layout, source.limits.max_list_items)
    key = source.key
    lines = source.jsonl_lines()
    while True:
        fast: list[dict[str, Any]] = []
        where: list[_Where] = []
        rejected: list[Rejected] = []
        late: list[tuple[int, dict[str, Any]]] = []  # (line, record) accepted by the record path
        count = 0
        for item in lines:
            count += 1
            if isinstance(item, Rejected):
                rejected.append(item)
            else:
                position, text = item
                taken = _fast(text, key, source, shape, position)
                if taken is None:
                    _verdict(source.accept_text(position, text), rejected, late)
                else:
                    fast.append(taken)
                    where.append((position, text))
            if count >= batch:
                break
        if not count:
            return
        yield _validated(source, shape, layout, fast, where, rejected, late)


def _fast(text: str, key: str, source: FactSource, shape: _Shape, position: Position,
          ) -> dict[str, Any] | None:
    """The record of a line when the fast path can take it (its id noted as seen), else None."""
    if "\\u" in text and _SURROGATE.search(text):
        return None
    try:
        raw = json.loads(text, parse_float=_no_float, parse_constant=_no_float)
    except (ValueError, RecursionError, _Slow):  # not JSON, a float, NaN, Infinity, an integer of over 4,300
        return None                               # digits: the record path says what
    if type(raw) is not dict:
        return None
    record_id = raw.get(key)
    if type(record_id) is not str or not record_id.strip() or record_id in source.report.seen_ids:
        return None
    try:
        keys = shape.check(raw)
    except _Slow:
        return None
    if keys != text.count('":'):  # a repeated key (the last one won), an object the walk did not see, or text
        return None               # holding `":` (a false alarm)
    source.report.seen_ids[record_id] = position
    return raw


def _verdict(result: Loaded | Rejected, rejected: list[Rejected], late: list[tuple[int, dict[str, Any]]]) -> None:
    if isinstance(result, Rejected):
        rejected.append(result)
    else:
        late.append((result.position.line or 0, result.record))


def _validated(source: FactSource, shape: _Shape, layout: Schema, fast: list[dict[str, Any]], where: list[_Where],
               rejected: list[Rejected], late: list[tuple[int, dict[str, Any]]]) -> JsonlBatch:
    key = source.key
    table, refused = _to_arrow(fast, shape.schema)
    again = set(refused)
    kept = [i for i in range(len(fast)) if i not in again]
    checked = validate_frames(nested_frames(table, layout), source.limits, source.contract)
    if len(checked.tables) < len(kept):  # the ids are unique here: an id not among the accepted was rejected
        accepted = set(checked.tables.enterprises.get_column(key).to_list())
        again.update(i for i in kept if fast[i][key] not in accepted)
    source.report.loaded += len(checked.tables)
    for i in sorted(again):  # the record path's verdict and messages, from the line itself
        record_id = fast[i][key]
        position, text = where[i]
        if source.report.seen_ids.get(record_id) == position:
            del source.report.seen_ids[record_id]  # `accept` notes it again
        _verdict(source.accept_text(position, text), rejected, late)
    tables = checked.tables
    if late:  # in file order among the others
        lines = [where[i][0].line or 0 for i in range(len(fast)) if i not in again] + [line for line, _ in late]
        tables = FactTables.concat([tables, FactTables.from_records([r for _, r in late], layout)])
        order = pl.Series(lines).arg_sort()
        tables = FactTables(tables.enterprises[order], tables.children, layout).renumbered()
    rejected.sort(key=lambda r: (r.position.line or 0))
    return JsonlBatch(tables, rejected)


__all__ = ["BATCH", "JsonlBatch", "read_jsonl_batches"]
