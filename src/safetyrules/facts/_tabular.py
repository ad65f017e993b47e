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

import csv
import datetime as dt
import glob
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ._shapes import Shape, field_shapes
from .errors import FactsFileError, FieldError, Position, zh_field
from .models import Enterprise

if TYPE_CHECKING:
    from .loaders import FactSource, Loaded, Rejected

MAIN_SHEET = "enterprises"
ID_COLUMN = "id"
PARENT_COLUMN = "enterprise_id"
NULL = "null"
UNKNOWN = "unknown"
LIST_FIELDS: dict[str, Shape] = {
    name: shape for name, shape in field_shapes(Enterprise).items() if shape.kind == "list"
}

_SPLIT = re.compile(r"[,;|，；、]")
_INT = re.compile(r"[+-]?\d+")

Row = tuple[Position, Sequence[object]]


class _Absent:
    """Marker of an empty cell."""


ABSENT = _Absent()


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
    if _is_empty(cell):
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


def plan_columns(header: Sequence[str], model: type[BaseModel], label: str, *, main: bool) -> list[Column]:
    """Resolve every named column against ``model``; structural mistakes are file errors."""
    columns: list[Column] = []
    seen: set[str] = set()
    for index, name in enumerate(header):
        if not name or (not main and name == PARENT_COLUMN):
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
    stray = [i for i, cell in enumerate(cells) if (i >= len(header) or not header[i]) and not _is_empty(cell)]
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


def _header(rows: Iterator[Row]) -> tuple[Position | None, list[str]]:
    """The first non-empty row, as column names; later rows stay in ``rows``."""
    for position, cells in rows:
        if not all(_is_empty(cell) for cell in cells):
            return position, [_id_text(cell) for cell in cells]
    return None, []


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


def read_child(name: str, label: str, rows: Iterator[Row], source: FactSource) -> ChildTable:
    """Read a whole child table into memory."""
    shape = LIST_FIELDS[name]
    assert shape.item is not None
    table = ChildTable(name, label)
    _, header = _header(rows)
    if PARENT_COLUMN not in header:
        raise FactsFileError(f"{label}: no {PARENT_COLUMN!r} column")
    parent = header.index(PARENT_COLUMN)
    scalar_index = -1
    columns: list[Column] = []
    if shape.item.kind == "scalar":
        values = [i for i, column in enumerate(header) if column and column != PARENT_COLUMN]
        if len(values) != 1:
            raise FactsFileError(f"{label}: needs exactly one column besides {PARENT_COLUMN!r} (e.g. 'date')")
        scalar_index = values[0]
    else:
        assert shape.item.model is not None
        columns = plan_columns(header, shape.item.model, label, main=False)
    orphans = 0
    first_orphan: Position | None = None
    for position, cells in rows:
        if all(_is_empty(cell) for cell in cells):
            continue
        owner = _id_text(cells[parent]) if parent < len(cells) else ""
        if not owner:
            orphans += 1
            first_orphan = first_orphan or position
            continue
        items = table.groups.setdefault(owner, [])
        prefix = f"{name}[{len(items)}]"
        if scalar_index >= 0:
            cell = cells[scalar_index] if scalar_index < len(cells) else None
            # an empty cell is handed on as "" so that validation names the item
            value = (
                ""
                if _is_empty(cell)
                else _scalar(cell.strip() if isinstance(cell, str) else cell, shape.item)
            )
            items.append(_Item(position, value, []))
        else:
            value, _, errors = row_to_dict(columns, header, cells, prefix + ".", position)
            items.append(_Item(position, value, errors))
    if orphans:
        source.report.warnings.append(
            f"{label}: {_rows(orphans)} without {PARENT_COLUMN} ignored (first at {first_orphan})"
        )
    return table


def assemble(
    source: FactSource, main_label: str, rows: Iterator[Row], children: dict[str, ChildTable]
) -> Iterator[Loaded | Rejected]:
    """Stream the main table, attaching each enterprise's child rows."""
    _, header = _header(rows)
    if ID_COLUMN not in header:
        raise FactsFileError(f"{main_label}: no {ID_COLUMN!r} column")
    columns = plan_columns(header, Enterprise, main_label, main=True)
    for position, cells in rows:
        if all(_is_empty(cell) for cell in cells):
            continue
        record, overrides, errors = row_to_dict(columns, header, cells, "", None)
        record_id = record.get(ID_COLUMN)
        owner = record_id if isinstance(record_id, str) else None
        sources: dict[str, Position] = {}
        for name in LIST_FIELDS:
            override = overrides.get(name, ABSENT)
            child = children.get(name)
            items = child.groups.get(owner, []) if child is not None and owner is not None else []
            if child is not None and owner is not None:
                child.used.add(owner)
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
        yield source.accept(record, position, sources=sources, errors=errors)
    for child in children.values():
        unused = [owner for owner in child.groups if owner not in child.used]
        if unused:
            first = child.groups[unused[0]][0].position
            rows_count = sum(len(child.groups[owner]) for owner in unused)
            source.report.warnings.append(
                f"{child.label}: {_rows(rows_count)} naming enterprises not in the main table "
                f"(first at {first}, {PARENT_COLUMN} {unused[0]!r}); ignored"
            )


# -- CSV -----------------------------------------------------------------------------------------------


def _csv_rows(path: Path, encoding: str) -> Iterator[Row]:
    name = str(path)
    with path.open(newline="", encoding=encoding) as stream:
        reader = csv.reader(stream)
        start = 1
        try:
            for cells in reader:
                yield Position(name, line=start), cells
                start = reader.line_num + 1
        except UnicodeDecodeError as exc:
            raise FactsFileError(
                f"{path}: not {encoding} text (byte {exc.start + 1}); pass the file's encoding, e.g. gb18030"
            ) from exc
        except csv.Error as exc:
            raise FactsFileError(f"{path}:{reader.line_num}: {exc}") from exc


def read_csv(source: FactSource) -> Iterator[Loaded | Rejected]:
    """The enterprises of a CSV main file and its child files ``<stem>.<field>.csv``."""
    path = source.path
    stem = path.name[: -len(path.suffix)]
    children: dict[str, ChildTable] = {}
    for candidate in sorted(path.parent.glob(glob.escape(stem) + ".*" + path.suffix)):
        name = candidate.name[len(stem) + 1 : -len(path.suffix)]
        if name in LIST_FIELDS:
            children[name] = read_child(name, str(candidate), _csv_rows(candidate, source.encoding), source)
        else:
            source.report.warnings.append(
                f"{candidate}: ignored, {name!r} is not a list field of the contract"
            )
    yield from assemble(source, str(path), _csv_rows(path, source.encoding), children)


# -- Excel ---------------------------------------------------------------------------------------------


def _sheet_rows(path: Path, sheet: Any, title: str) -> Iterator[Row]:
    name = str(path)
    sheet.reset_dimensions()  # some writers store a wrong sheet size, which would cut rows off
    for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
        yield Position(name, line=number, sheet=title), cells


def read_xlsx(source: FactSource) -> Iterator[Loaded | Rejected]:
    """The enterprises of an Excel workbook: sheet ``enterprises`` plus one sheet per list field."""
    import openpyxl  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped, unused-ignore]

    path = source.path
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        raise FactsFileError(f"{path}: not a readable .xlsx workbook ({exc})") from exc
    try:
        titles: list[str] = list(workbook.sheetnames)
        if MAIN_SHEET not in titles:
            raise FactsFileError(f"{path}: no sheet {MAIN_SHEET!r} (sheets: {', '.join(titles)})")
        children: dict[str, ChildTable] = {}
        for title in titles:
            if title in LIST_FIELDS:
                label = f"{path}[{title}]"
                children[title] = read_child(title, label, _sheet_rows(path, workbook[title], title), source)
            elif title != MAIN_SHEET:
                source.report.warnings.append(
                    f"{path}[{title}]: sheet ignored, not a list field of the contract"
                )
        yield from assemble(
            source, f"{path}[{MAIN_SHEET}]", _sheet_rows(path, workbook[MAIN_SHEET], MAIN_SHEET), children
        )
    finally:
        workbook.close()


def read_tables(source: FactSource) -> Iterator[Loaded | Rejected]:
    """Dispatch on the source's format (``csv`` or ``xlsx``)."""
    if source.format == "csv":
        return read_csv(source)
    return read_xlsx(source)
