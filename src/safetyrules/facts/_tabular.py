"""CSV and Excel fact files: a main table of enterprises plus one child table per list field.

Layout (the same for both; CSV child tables are files ``<stem>.<field>.csv`` next to the main file, Excel
child tables are sheets named after the field next to the sheet ``enterprises``):

* main table: one row per enterprise, an ``id`` column, nested objects as dotted columns
  (``principal.name``); a list of codes inside an object (``risk_control.levels``) as one cell separated by
  ``,`` ``;`` or ``|`` (``[]`` for an empty list);
* child table: an ``enterprise_id`` column, then the item's fields (dotted for nested objects, e.g.
  ``plan.time_limit``); for a list of plain values (``internal_assessments``) exactly one value column
  (``date``). Rows keep their order within an enterprise;
* cells: empty = absent (unknown), ``null`` = explicit null, booleans ``true``/``false`` (any case);
* a list field whose child table exists is ``[]`` for an enterprise without rows in it; a main-table column
  named after the list field may say ``null`` (known: none) or ``unknown`` (absent) for one enterprise.
  Without a child table the field is absent.

Child tables are grouped in memory by ``enterprise_id``; the main table is streamed.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import glob
import re
import warnings
import zipfile
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from safetyrules.limits import Limits

from ._shapes import Shape, field_shapes
from .errors import FactsFileError, FieldError, Position, zh_field
from .loaded import Loaded, LoadReport, Rejected
from .models import Enterprise


class FactSource(Protocol):
    """What the table readers need of the source they read for (`loaders.FactSource` is one)."""

    path: Path
    format: str
    encoding: str
    limits: Limits
    model: type[BaseModel]
    key: str
    main_sheet: str
    parent_column: str
    report: LoadReport

    def accept(self, raw: object, position: Position, *, sources: Mapping[str, Position] | None = None,
               errors: Iterable[FieldError] = (), thorough: bool = True) -> Loaded | Rejected: ...

    def reject(self, position: Position, errors: list[FieldError]) -> Rejected: ...

MAIN_SHEET = "enterprises"
ID_COLUMN = "id"
PARENT_COLUMN = "enterprise_id"
NULL = "null"
UNKNOWN = "unknown"
@cache
def list_fields(model: type[BaseModel]) -> dict[str, Shape]:
    """The list fields of a subject's model: each may come as its own sheet or file."""
    return {name: shape for name, shape in field_shapes(model).items() if shape.kind == "list"}


LIST_FIELDS = list_fields(Enterprise)

_SPLIT = re.compile(r"[,;|，；、]")
_INT = re.compile(r"[+-]?\d+")

class BadCell:
    """A cell whose value cannot be read (an Excel formula without a saved value, a cell covered by a merged
    range): its row is rejected naming the cell, never read as unknown."""

    __slots__ = ("message", "zh")

    def __init__(self, message: str, zh: str) -> None:
        self.message, self.zh = message, zh


class BadRow:
    """A row that could not be read at all (broken CSV quoting, an over-long line); ``cells`` are its first
    line read leniently, to name the record it belongs to."""

    __slots__ = ("cells", "message", "zh")

    def __init__(self, message: str, zh: str, cells: Sequence[object] = ()) -> None:
        self.message, self.zh, self.cells = message, zh, cells


Row = tuple[Position, Sequence[object] | BadRow]


class _Absent:
    """Marker of an empty cell."""


ABSENT = _Absent()

_MAX_INT_DIGITS = 30  # far beyond any integer limit, far below Python's 4300-digit conversion limit


class _CellError(Exception):
    def __init__(self, message: str, zh: str) -> None:
        super().__init__(message)
        self.message = message
        self.zh = zh


# -- cells ---------------------------------------------------------------------------------------------


def _is_empty(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _scalar(value: object, shape: Shape) -> object:
    """Convert a non-empty cell to the field's type where the text is unambiguous; otherwise hand the
    value on unchanged so that validation reports it."""
    kind = shape.scalar
    if kind == "bool" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind == "int" and isinstance(value, str) and _INT.fullmatch(value):
        if len(value.lstrip("+-")) > _MAX_INT_DIGITS:
            raise _CellError(
                f"an integer of {len(value.lstrip('+-'))} digits is beyond the integer limit",
                f"整数有 {len(value.lstrip('+-'))} 位，超出整数范围",
            )
        return int(value)
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "date" and isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    if kind in ("str", "enum") and isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return value


def convert_cell(cell: object, shape: Shape | None) -> object:
    """One cell -> a JSON-like value, :data:`ABSENT` for an empty cell, ``None`` for ``null``."""
    if isinstance(cell, BadCell):
        raise _CellError(cell.message, cell.zh)
    if _is_empty(cell):
        return ABSENT
    if isinstance(cell, str):
        cell = cell.strip()
        if cell == NULL:
            return None
    if shape is None:
        return cell
    if shape.kind == "object":
        raise _CellError(
            "only 'null' may stand in this column; give the object's fields as columns '<name>.<field>'",
            "此列只能填 null；对象的字段请用“名称.字段”列",
        )
    if shape.kind == "list":
        assert shape.item is not None
        if not isinstance(cell, str):
            return [_scalar(cell, shape.item)]
        if cell == "[]":
            return []
        return [_scalar(part.strip(), shape.item) for part in _SPLIT.split(cell) if part.strip()]
    return _scalar(cell, shape)


def _id_text(cell: object) -> str:
    if _is_empty(cell) or isinstance(cell, BadCell):
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


# -- columns -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """A planned column: where its cells go and how they convert (``shape`` None: an extra field)."""

    index: int
    name: str
    parts: tuple[str, ...]
    shape: Shape | None
    list_override: bool = False


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def _describe(shape: Shape) -> str:
    return {"scalar": f"{shape.scalar} field", "list": "list field", "object": "object"}[shape.kind]


def plan_columns(header: Sequence[str], model: type[BaseModel], label: str, *, main: bool,
                 parent: str = PARENT_COLUMN) -> list[Column]:
    """Resolve every named column against ``model``; structural mistakes are file errors."""
    columns: list[Column] = []
    seen: set[str] = set()
    for index, name in enumerate(header):
        if not name or (not main and name == parent):
            continue
        if name in seen:
            raise FactsFileError(f"{label}: column {name!r} appears twice")
        seen.add(name)
        parts = tuple(name.split("."))
        if not all(parts):
            raise FactsFileError(f"{label}: column {name!r} is not a field path")
        current: type[BaseModel] | None = model
        for depth, part in enumerate(parts[:-1]):
            shape = field_shapes(current).get(part) if current is not None else None
            if shape is None:
                current = None
            elif shape.kind == "object":
                current = shape.model
            else:
                where = ".".join(parts[: depth + 1])
                hint = (
                    f"; its items go in the {part!r} table"
                    if shape.kind == "list" and depth == 0 and main
                    else ""
                )
                raise FactsFileError(f"{label}: column {name!r}: {where!r} is a {_describe(shape)}{hint}")
        leaf = field_shapes(current).get(parts[-1]) if current is not None else None
        override = False
        if leaf is not None and leaf.kind == "list" and main and len(parts) == 1 and name in LIST_FIELDS:
            override = True
        elif (
            leaf is not None and leaf.kind == "list" and leaf.item is not None and leaf.item.kind != "scalar"
        ):
            raise FactsFileError(
                f"{label}: column {name!r} is a list of objects, which needs a table of its own"
            )
        columns.append(Column(index, name, parts, leaf, override))
    return columns


def _put(target: dict[str, Any], column: Column, value: object) -> None:
    node = target
    for part in column.parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise _CellError(
                f"{part!r} is null, but column {column.name!r} gives it a value",
                f"{part} 为 null，但 {column.name} 列有值",
            )
        node = child
    if column.parts[-1] in node:
        raise _CellError(
            f"column {column.name!r} is null, but other columns give its fields",
            f"{column.name} 为 null，但其字段列有值",
        )
    node[column.parts[-1]] = value


def row_to_dict(
    columns: Sequence[Column],
    header: Sequence[str],
    cells: Sequence[object],
    prefix: str,
    source: Position | None,
) -> tuple[dict[str, Any], dict[str, object], list[FieldError]]:
    """Cells of one row -> (nested dict, list-field overrides, errors)."""
    target: dict[str, Any] = {}
    overrides: dict[str, object] = {}
    errors: list[FieldError] = []
    stray = [
        i
        for i, cell in enumerate(cells)
        if (i >= len(header) or not header[i]) and not _is_empty(cell) and not isinstance(cell, BadCell)
    ]
    if stray:
        errors.append(_stray_error(stray, len(header), prefix, source))
    for column in columns:
        cell = cells[column.index] if column.index < len(cells) else None
        path = prefix + column.name
        try:
            if column.list_override:
                value = _override(cell)
                if value is not ABSENT:
                    overrides[column.name] = value
                continue
            value = convert_cell(cell, column.shape)
            if value is not ABSENT:
                _put(target, column, value)
        except _CellError as exc:
            errors.append(FieldError(path, exc.message, zh_field(path, exc.zh), "cell", source))
    return target, overrides, errors


def _stray_error(stray: list[int], width: int, prefix: str, source: Position | None) -> FieldError:
    numbers = ", ".join(str(i + 1) for i in stray)
    return FieldError(
        prefix.rstrip("."),
        f"cells in columns without a name ({numbers}; the header names {width} columns)",
        zh_field(prefix.rstrip("."), f"第 {numbers} 列没有列名却有值"),
        "cell",
        source,
    )


def _override(cell: object) -> object:
    if isinstance(cell, BadCell):
        raise _CellError(cell.message, cell.zh)
    text = cell.strip() if isinstance(cell, str) else cell
    if _is_empty(text):
        return ABSENT
    if text == NULL:
        return None
    if text == UNKNOWN:
        return UNKNOWN
    raise _CellError(
        "a list field's column in the main table may only say 'null' or 'unknown'; "
        "its items go in a child table",
        "主表中列表字段的列只能填 null 或 unknown；列表项请填在子表中",
    )


# -- tables --------------------------------------------------------------------------------------------


def _header(rows: Iterator[Row], label: str) -> tuple[Position | None, list[str]]:
    """The first non-empty row, as column names; later rows stay in ``rows``."""
    for position, cells in rows:
        if isinstance(cells, BadRow):
            raise FactsFileError(f"{label}: the header row ({position}) cannot be read: {cells.message}")
        if not all(_is_empty(cell) for cell in cells):
            bad = [cell for cell in cells if isinstance(cell, BadCell)]
            if bad:
                raise FactsFileError(f"{label}: the header row ({position}): {bad[0].message}")
            return position, [_id_text(cell) for cell in cells]
    return None, []


def _row_error(path: str, message: str, zh: str, source: Position | None = None) -> FieldError:
    return FieldError(path, message, zh_field(path, zh), "row", source)


@dataclass(slots=True)
class _Item:
    position: Position
    value: object
    errors: list[FieldError]


@dataclass(slots=True)
class ChildTable:
    """A list field's rows, grouped by ``enterprise_id``."""

    name: str
    label: str
    groups: dict[str, list[_Item]] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    broken: dict[str, list[FieldError]] = field(default_factory=dict)  # unreadable rows, by enterprise
    orphans: list[tuple[Position, FieldError]] = field(default_factory=list)  # rows of no enterprise


def read_child(name: str, label: str, rows: Iterator[Row], source: FactSource) -> ChildTable:
    """Read a whole child table into memory."""
    shape = list_fields(source.model)[name]
    assert shape.item is not None
    table = ChildTable(name, label)
    _, header = _header(rows, label)
    if source.parent_column not in header:
        raise FactsFileError(f"{label}: no {source.parent_column!r} column")
    parent = header.index(source.parent_column)
    scalar_index = -1
    columns: list[Column] = []
    if shape.item.kind == "scalar":
        values = [i for i, column in enumerate(header) if column and column != source.parent_column]
        if len(values) != 1:
            raise FactsFileError(f"{label}: needs exactly one column besides {source.parent_column!r} (e.g. 'date')")
        scalar_index = values[0]
    else:
        assert shape.item.model is not None
        columns = plan_columns(header, shape.item.model, label, main=False, parent=source.parent_column)
    for position, cells in rows:
        if isinstance(cells, BadRow):
            # the enterprise it names (read leniently) is rejected: evaluating it without the row would
            # give another answer than its facts
            owner = _id_text(cells.cells[parent]) if parent < len(cells.cells) else ""
            error = _row_error(name, f"a row of {label} cannot be read: {cells.message}",
                               f"{label} 中的一行无法读取：{cells.zh}", position)
            if owner:
                table.broken.setdefault(owner, []).append(error)
            else:
                table.orphans.append((position, error))
            continue
        if all(_is_empty(cell) for cell in cells):
            continue
        owner_cell = cells[parent] if parent < len(cells) else None
        owner = _id_text(owner_cell)
        if not owner:
            reason = f"no {source.parent_column}: the row belongs to no enterprise"
            reason_zh = f"缺少 {source.parent_column}，不属于任何企业"
            if isinstance(owner_cell, BadCell):
                reason, reason_zh = owner_cell.message, owner_cell.zh
            table.orphans.append((position, _row_error(source.parent_column, reason, reason_zh)))
            continue
        items = table.groups.setdefault(owner, [])
        prefix = f"{name}[{len(items)}]"
        if scalar_index >= 0:
            cell = cells[scalar_index] if scalar_index < len(cells) else None
            try:
                # an empty cell is handed on as "" so that validation names the item
                value = (
                    ""
                    if _is_empty(cell)
                    else convert_cell(cell, shape.item)
                )
            except _CellError as exc:
                items.append(_Item(position, "", [FieldError(prefix, exc.message, zh_field(prefix, exc.zh),
                                                             "cell", position)]))
                continue
            items.append(_Item(position, value, []))
        else:
            value, _, errors = row_to_dict(columns, header, cells, prefix + ".", position)
            items.append(_Item(position, value, errors))
    return table


def assemble(
    source: FactSource, main_label: str, rows: Iterator[Row], children: dict[str, ChildTable]
) -> Iterator[Loaded | Rejected]:
    """Stream the main table, attaching each enterprise's child rows; child rows of no enterprise of the
    main table are rejected at the end, each with its position."""
    _, header = _header(rows, main_label)
    if source.key not in header:
        raise FactsFileError(f"{main_label}: no {source.key!r} column")
    columns = plan_columns(header, source.model, main_label, main=True)
    for position, cells in rows:
        if isinstance(cells, BadRow):
            yield source.reject(position, [_row_error("", f"the row cannot be read: {cells.message}",
                                                      f"此行无法读取：{cells.zh}")])
            continue
        if all(_is_empty(cell) for cell in cells):
            continue
        record, overrides, errors = row_to_dict(columns, header, cells, "", None)
        record_id = record.get(source.key)
        owner = record_id if isinstance(record_id, str) else None
        sources: dict[str, Position] = {}
        for name in list_fields(source.model):
            override = overrides.get(name, ABSENT)
            child = children.get(name)
            items = child.groups.get(owner, []) if child is not None and owner is not None else []
            if child is not None and owner is not None:
                child.used.add(owner)
                errors.extend(child.broken.get(owner, ()))
            if override is not ABSENT:
                if items:
                    said = NULL if override is None else UNKNOWN
                    errors.append(
                        FieldError(
                            name,
                            f"the main table says {said}, "
                            f"but {child.label if child else 'a child table'} has {len(items)} rows for it",
                            zh_field(name, f"主表填 {said}，但子表有 {len(items)} 行"),
                            "cell",
                        )
                    )
                if override is None:
                    record[name] = None
                continue
            if child is None:
                continue
            record[name] = [item.value for item in items]
            for index, item in enumerate(items):
                sources[f"{name}[{index}]"] = item.position
                errors.extend(item.errors)
        yield source.accept(record, position, sources=sources, errors=errors, thorough=False)
    # a child row no enterprise takes is input lost: rejected (so the run says so), each with its position
    for child in children.values():
        lost = list(child.orphans)
        for owner, items in child.groups.items():
            if owner not in child.used:
                error = _row_error(
                    source.parent_column,
                    f"no enterprise {owner!r} in the main table {main_label}",
                    f"主表 {main_label} 中没有企业 {owner}",
                )
                lost.extend((item.position, error) for item in items)
        for owner, errors in child.broken.items():
            if owner not in child.used:
                lost.extend((error.source, error) for error in errors if error.source is not None)
        for position, error in sorted(lost, key=lambda entry: entry[0].line or 0):  # in the table's order
            yield source.reject(position, [error])


# -- CSV -----------------------------------------------------------------------------------------------


class _Lines:
    """The lines of a CSV text stream for ``csv.reader``, each read at most ``limit`` characters at a time,
    remembering the lines of the row being read: when a quoted cell turns out never to close, the lines it
    swallowed are handed out again as rows."""

    def __init__(self, stream: Any, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.number = 0  # lines handed out so far
        self.pending: deque[str] = deque()  # lines to hand out again
        self.row: list[str] = []  # lines of the current row
        self.row_size = 0
        self.long_line: int | None = None  # size of an over-long line of the current row (handed out empty)
        self.cut = False  # the current row outgrew ``limit``: reading stopped as if at the end of the file

    def start_row(self) -> None:
        self.row, self.row_size, self.long_line, self.cut = [], 0, None, False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.row_size > self.limit:
            self.cut = True
            raise StopIteration
        if self.pending:
            line = self.pending.popleft()
        else:
            line = self.stream.readline(self.limit + 1)
            if not line:
                raise StopIteration
            if len(line) > self.limit and not line.endswith(("\n", "\r")):
                size = len(line)
                while line and not line.endswith(("\n", "\r")):  # skip it, a bounded piece at a time
                    line = self.stream.readline(1 << 20)
                    size += len(line)
                self.long_line = size
                line = "\n"
        self.number += 1
        self.row.append(line)
        self.row_size += len(line)
        return line


def _lenient_cells(line: str) -> list[str]:
    """The cells of one physical line read without strictness (only to name the enterprise of a broken row)."""
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return []


def _csv_rows(path: Path, encoding: str, limits: Limits) -> Iterator[Row]:
    """Rows of a CSV file, each with its first line; a row that cannot be read is a :class:`BadRow`, and
    reading goes on after it."""
    name = str(path)
    limit = limits.max_record_bytes
    with path.open(newline="", encoding=encoding) as stream:
        lines = _Lines(stream, limit)
        reader = csv.reader(lines, strict=True)
        while True:
            lines.start_row()
            start = lines.number + 1
            position = Position(name, line=start)
            try:
                cells = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise FactsFileError(
                    f"{path}: not {encoding} text (byte {exc.start + 1}); pass the file's encoding, e.g. gb18030"
                ) from exc
            except csv.Error as exc:
                first = lines.row[0] if lines.row else ""
                shown = first.strip()[:40]
                end, message = lines.number, str(exc)
                if len(lines.row) > 1:
                    # a quote opened in this row and ran over line ends to a quote it does not match (or to the
                    # end): the lines it swallowed are read again as rows of their own, never lost
                    lines.pending.extendleft(reversed(lines.row[1:]))
                    lines.number = start
                    until, until_zh = (f"the end of the file ({message})", "文件末尾") if message.startswith(
                        "unexpected end of data") or lines.cut else (f"line {end} ({message})", f"第 {end} 行")
                    yield position, BadRow(
                        f"a quoted cell opened on line {start} (\"{shown}\") runs to {until}: the row is rejected "
                        "and the lines after it are read again",
                        f"第 {start} 行（“{shown}”）的引号未正确闭合，一直延续到{until_zh}："
                        "此行被拒绝，其后各行重新读取",
                        _lenient_cells(first),
                    )
                else:
                    lenient = _lenient_cells(first)
                    if message.startswith("unexpected end of data"):
                        message = f"a quoted cell opened on line {start} (\"{shown}\") is not closed"
                        yield position, BadRow(message, f"第 {start} 行（“{shown}”）的引号未闭合", lenient)
                    else:
                        yield position, BadRow(f"line {start}: {message}", f"第 {start} 行：{message}", lenient)
                continue
            if lines.long_line is not None:
                yield position, BadRow(
                    f"a line of {lines.long_line} characters is longer than the limit of {limit}",
                    f"一行有 {lines.long_line} 个字符，超过上限 {limit}",
                    _lenient_cells(lines.row[0][:1000]) if lines.row else [],
                )
                continue
            yield position, cells


def _held_in_memory(path: Path, what: str, source: FactSource) -> None:
    """Refuse a file that would be held in memory whole (a child table, a workbook) when it is larger than
    ``max_document_bytes``: memory stays bounded by the limit, not by the file."""
    size = path.stat().st_size
    limit = source.limits.max_document_bytes
    if size > limit:
        raise FactsFileError(
            f"{path}: {size} bytes, more than the limit of {limit} bytes for {what}, which is held in memory; "
            "write large populations as JSON Lines or Parquet tables, or raise --limit max_document_bytes"
        )


def read_csv(source: FactSource) -> Iterator[Loaded | Rejected]:
    """The enterprises of a CSV main file (streamed) and its child files ``<stem>.<field>.csv`` (held in
    memory, grouped by enterprise, within ``max_document_bytes`` each)."""
    path = source.path
    stem = path.name[: -len(path.suffix)]
    children: dict[str, ChildTable] = {}
    for candidate in sorted(path.parent.glob(glob.escape(stem) + ".*" + path.suffix)):
        name = candidate.name[len(stem) + 1 : -len(path.suffix)]
        if name in list_fields(source.model):
            _held_in_memory(candidate, "a child table", source)
            children[name] = read_child(
                name, str(candidate), _csv_rows(candidate, source.encoding, source.limits), source
            )
        else:
            source.report.warnings.append(
                f"{candidate}: ignored, {name!r} is not a list field of the contract / "
                f"已忽略：{name} 不是事实契约中的列表字段"
            )
    yield from assemble(source, str(path), _csv_rows(path, source.encoding, source.limits), children)


# -- Excel ---------------------------------------------------------------------------------------------


# openpyxl warns on stderr of a date cell out of range and reads it as "#VALUE!", which the row's validation
# reports with its position: the warning would only repeat it without one
warnings.filterwarnings("ignore", message=r"Cell .* is marked as a date", module="openpyxl")

_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_MERGED_WIDTH = 1024  # columns of a merged range looked at: a range across the whole sheet must not cost 16,384
_MARKED = re.compile(rb"<(?:\w+:)?(?:f|mergeCell)[\s>/]|\st=\"e\"")  # formulas, merged ranges, error cells


@dataclass(slots=True)
class _SheetMarks:
    """Cells of a sheet that cannot be read as their value says (see :class:`BadCell`)."""

    cells: dict[int, dict[int, BadCell]] = field(default_factory=dict)  # row -> column -> mark, 1-based
    merged: list[tuple[int, int, int, int, str]] = field(default_factory=list)  # min row, col, max row, col, ref

    def mark(self, rows: Iterator[tuple[object, ...]]) -> Iterator[Sequence[object]]:
        """The rows (numbered from 1) with the marked cells replaced by their :class:`BadCell`."""
        pending = sorted(self.merged, reverse=True)  # by first row; the next to open is last
        active: list[tuple[int, int, int, int, str]] = []
        for number, cells in enumerate(rows, start=1):
            while pending and pending[-1][0] <= number:
                active.append(pending.pop())
            active = [entry for entry in active if entry[2] >= number]
            marks = self.cells.get(number)
            if not marks and not active:
                yield cells
                continue
            row = list(cells)
            widest = max((min(entry[3], _MERGED_WIDTH) for entry in active), default=0)
            row.extend([None] * (widest - len(row)))  # a writer may leave covered cells out of the row
            for column, mark in (marks or {}).items():
                if column <= len(row):
                    row[column - 1] = mark
            for min_row, min_col, _, max_col, ref in active:
                for column in range(min_col, min(max_col, len(row)) + 1):
                    if (number, column) != (min_row, min_col):
                        cell = _coordinate(number, column)
                        row[column - 1] = BadCell(
                            f"cell {cell} is covered by the merged range {ref}, whose value is only in its first "
                            "cell; unmerge the range and fill every cell",
                            f"单元格 {cell} 属于合并单元格 {ref}，值只在其首个单元格中；请取消合并并逐格填写",
                        )
            yield row


def _coordinate(row: int, column: int) -> str:
    from openpyxl.utils.cell import get_column_letter  # type: ignore[import-untyped, unused-ignore]

    return f"{get_column_letter(column)}{row}"


def _has_marks(sheet: Any) -> bool:
    """Whether the sheet's XML mentions a formula, a merged range or an error cell (a fast byte scan that
    spares the full parse for plain sheets)."""
    tail = b""
    with sheet._get_source() as src:
        while chunk := src.read(1 << 20):
            if _MARKED.search(tail + chunk):
                return True
            tail = chunk[-32:]
    return False


def _sheet_marks(sheet: Any) -> _SheetMarks:
    """Formula cells without a saved value, error cells and merged ranges of a read-only sheet."""
    from openpyxl.utils.cell import (
        coordinate_to_tuple,  # type: ignore[import-untyped, unused-ignore]
        range_boundaries,  # type: ignore[import-untyped, unused-ignore]
    )
    from openpyxl.xml.functions import iterparse  # type: ignore[import-untyped, unused-ignore]

    marks = _SheetMarks()
    if not _has_marks(sheet):
        return marks
    with sheet._get_source() as src:
        for _, element in iterparse(src, events=("end",)):
            tag = element.tag
            if tag == _SHEET_NS + "c":
                ref = element.get("r")
                formula = element.find(_SHEET_NS + "f")
                value = element.find(_SHEET_NS + "v")
                kind = element.get("t")
                mark = None
                if formula is not None and (value is None or (not value.text and kind not in ("str", "s"))):
                    mark = BadCell(
                        f"cell {ref} holds a formula without a saved value; open and save the workbook in "
                        "Excel (or write the value) so that its value is stored",
                        f"单元格 {ref} 是未保存计算结果的公式；请用 Excel 打开并保存工作簿，或直接填写数值",
                    )
                elif kind == "e":
                    mark = BadCell(
                        f"cell {ref} holds the error value {value.text if value is not None else '?'}",
                        f"单元格 {ref} 为错误值 {value.text if value is not None else '?'}",
                    )
                if mark is not None and ref:
                    with contextlib.suppress(ValueError):
                        row, column = coordinate_to_tuple(ref)
                        marks.cells.setdefault(row, {})[column] = mark
                element.clear()
            elif tag == _SHEET_NS + "row":
                element.clear()
            elif tag == _SHEET_NS + "mergeCell":
                ref = element.get("ref") or ""
                try:
                    bounds = range_boundaries(ref)
                except (ValueError, TypeError):
                    continue
                min_col, min_row, max_col, max_row = bounds
                if min_col and min_row and max_col and max_row:
                    marks.merged.append((min_row, min_col, max_row, max_col, ref))
    return marks


def _sheet_rows(path: Path, sheet: Any, title: str) -> Iterator[Row]:
    name = str(path)
    number = 0
    try:
        marks = _sheet_marks(sheet)
        sheet.reset_dimensions()  # some writers store a wrong sheet size, which would cut rows off
        rows = sheet.iter_rows(values_only=True)
        for number, cells in enumerate(marks.mark(rows) if marks.cells or marks.merged else rows, start=1):
            yield Position(name, line=number, sheet=title), cells
    except Exception as exc:  # openpyxl's parser on a damaged sheet (malformed XML, impossible values)
        raise FactsFileError(f"{path}[{title}]: the sheet cannot be read after row {number} ({exc})") from exc


def read_xlsx(source: FactSource) -> Iterator[Loaded | Rejected]:
    """The enterprises of an Excel workbook: sheet ``enterprises`` plus one sheet per list field."""
    import openpyxl  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped, unused-ignore]

    path = source.path
    _held_in_memory(path, "an Excel workbook (its list sheets)", source)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        raise FactsFileError(f"{path}: not a readable .xlsx workbook ({exc})") from exc
    try:
        titles: list[str] = list(workbook.sheetnames)
        if source.main_sheet not in titles:
            raise FactsFileError(f"{path}: no sheet {source.main_sheet!r} (sheets: {', '.join(titles)})")
        children: dict[str, ChildTable] = {}
        for title in titles:
            if title in list_fields(source.model):
                label = f"{path}[{title}]"
                children[title] = read_child(title, label, _sheet_rows(path, workbook[title], title), source)
            elif title != source.main_sheet:
                source.report.warnings.append(
                    f"{path}[{title}]: sheet ignored, not a list field of the contract / "
                    "已忽略该工作表：不是事实契约中的列表字段"
                )
        yield from assemble(
            source, f"{path}[{source.main_sheet}]", _sheet_rows(path, workbook[source.main_sheet], source.main_sheet),
            children,
        )
    finally:
        workbook.close()


def read_tables(source: FactSource) -> Iterator[Loaded | Rejected]:
    """Dispatch on the source's format (``csv`` or ``xlsx``)."""
    if source.format == "csv":
        return read_csv(source)
    return read_xlsx(source)
