"""Streaming loaders of fact files (JSON Lines, JSON, CSV, Excel) with positioned errors.

Every record comes out as :class:`Loaded` (a valid :class:`~.models.Enterprise`) or :class:`Rejected` (the
reasons, each with its field path); nothing is dropped silently. A :class:`LoadReport` counts both and
collects warnings (unknown extra fields, once per field path; ignored rows and sheets)::

    source = FactSource("town.jsonl")
    for item in source:
        ...
    print(source.report.summary())

JSON Lines are read line by line, so memory does not grow with the file. A ``.json`` file (an array of
objects or one object) is read whole. CSV/Excel main tables are streamed; their child tables (list fields)
are grouped in memory by ``enterprise_id``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from . import _tabular
from ._shapes import field_shapes
from .errors import FactsFileError, FieldError, Position, field_errors, zh_field
from .models import Enterprise

SUFFIXES: dict[str, str] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".xlsx": "xlsx",
}
"""File name suffixes the loaders understand, and the format each stands for."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """A valid record: its position, the model, and ``model.model_dump(exclude_unset=True)``."""

    position: Position
    model: Enterprise
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that breaks the contract, with every reason found."""

    position: Position
    errors: list[FieldError]

    def __str__(self) -> str:
        return f"{self.position}: " + "; ".join(str(error) for error in self.errors)


@dataclass(slots=True)
class UnknownField:
    """An extra field not in the contract: kept on the records, ignored by the rules."""

    path: str
    first: Position
    count: int = 1


@dataclass
class LoadReport:
    """Counts and warnings of one or more loads.

    Pass the same report to several :class:`FactSource`\\ s to count them together and to detect ``id``\\ s
    duplicated across files.
    """

    loaded: int = 0
    rejected: int = 0
    warnings: list[str] = field(default_factory=list)
    unknown_fields: dict[str, UnknownField] = field(default_factory=dict)
    seen_ids: dict[str, Position] = field(default_factory=dict, repr=False)

    @property
    def total(self) -> int:
        """Records read, loaded or rejected."""
        return self.loaded + self.rejected

    def summary(self) -> str:
        """One line: ``loaded 99000, rejected 1000, 2 warnings``."""
        return f"loaded {self.loaded}, rejected {self.rejected}, {len(self.warnings)} warnings"

    def note_unknown_field(self, path: str, position: Position) -> None:
        """Count an extra field; the first sighting of each path adds one warning."""
        known = self.unknown_fields.get(path)
        if known is not None:
            known.count += 1
            return
        self.unknown_fields[path] = UnknownField(path, position)
        self.warnings.append(f"unknown field {path!r} (first at {position}): kept, ignored by the rules")


@cache
def _nested_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """Fields of ``model`` holding a model or a list of models."""
    return tuple(
        name
        for name, shape in field_shapes(model).items()
        if shape.kind == "object" or (shape.item is not None and shape.item.kind == "object")
    )


def _extra_paths(model: BaseModel, found: dict[str, None], prefix: str = "") -> None:
    """Add the paths of the extra fields of ``model`` and its nested models (list items as ``[]``), in
    the order met."""
    if model.__pydantic_extra__:
        found.update(dict.fromkeys(prefix + name for name in model.__pydantic_extra__))
    for name in _nested_fields(type(model)):
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            _extra_paths(value, found, f"{prefix}{name}.")
        elif value:
            for item in value:
                _extra_paths(item, found, f"{prefix}{name}[].")


def _record_error(code: str, message: str, zh: str) -> FieldError:
    return FieldError("", message, zh, code)


def _json_error(exc: json.JSONDecodeError, *, with_line: bool, rest_lost: bool = False) -> FieldError:
    where = f"line {exc.lineno} column {exc.colno}" if with_line else f"column {exc.colno}"
    where_zh = f"第 {exc.lineno} 行第 {exc.colno} 列" if with_line else f"第 {exc.colno} 列"
    tail, tail_zh = (
        ("; the rest of the file could not be read", "；文件其余部分无法读取") if rest_lost else ("", "")
    )
    return _record_error(
        "json_invalid",
        f"invalid JSON at {where}: {exc.msg}{tail}",
        f"JSON 格式错误（{where_zh}：{exc.msg}）{tail_zh}",
    )


class FactSource:
    """The records of one fact file, read lazily; iterate once, then read :attr:`report`.

    The format is chosen by the suffix (see :data:`SUFFIXES`). Raises :class:`FactsFileError` at once for
    a missing file or an unknown suffix, and during iteration for a file that turns out unreadable.
    ``encoding`` applies to CSV files (e.g. ``"gb18030"`` for files saved by a Chinese Excel).
    """

    def __init__(self, path: Path | str, report: LoadReport | None = None, *, encoding: str = "utf-8-sig"):
        self.path = Path(path)
        self.format = SUFFIXES.get(self.path.suffix.lower(), "")
        if not self.format:
            known = ", ".join(SUFFIXES)
            raise FactsFileError(
                f"{self.path}: unknown file type {self.path.suffix!r}; expected one of {known}"
            )
        if not self.path.exists():
            raise FactsFileError(f"{self.path}: no such file")
        if not self.path.is_file():
            raise FactsFileError(f"{self.path}: not a file")
        self.report = report if report is not None else LoadReport()
        self.encoding = encoding
        self._started = False

    def __iter__(self) -> Iterator[Loaded | Rejected]:
        if self._started:
            raise RuntimeError("a FactSource is read once; create a new one to read the file again")
        self._started = True
        return self._read()

    def _read(self) -> Iterator[Loaded | Rejected]:
        try:
            if self.format == "jsonl":
                yield from self._read_jsonl()
            elif self.format == "json":
                yield from self._read_json()
            else:
                yield from _tabular.read_tables(self)
        except OSError as exc:
            raise FactsFileError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc

    # -- records --------------------------------------------------------------------------------------

    def reject(self, position: Position, errors: list[FieldError]) -> Rejected:
        """Count and return a rejection."""
        self.report.rejected += 1
        return Rejected(position, errors)

    def accept(
        self,
        raw: object,
        position: Position,
        *,
        sources: Mapping[str, Position] | None = None,
        errors: Iterable[FieldError] = (),
    ) -> Loaded | Rejected:
        """Validate one raw record; ``errors`` are problems already found while reading it."""
        found = list(errors)
        if not isinstance(raw, dict):
            kind = "array" if isinstance(raw, list) else type(raw).__name__
            found.append(
                _record_error(
                    "not_object", f"expected a JSON object, got {kind}", f"记录应为 JSON 对象，实为 {kind}"
                )
            )
            return self.reject(position, found)
        record_id = raw.get("id")
        if isinstance(record_id, str):
            first = self.report.seen_ids.get(record_id)
            if first is None:
                self.report.seen_ids[record_id] = position
            else:
                found.insert(
                    0,
                    FieldError(
                        "id",
                        f"duplicate id {record_id!r}: first at {first}, again at {position}",
                        zh_field("id", f"企业 id {record_id} 重复（首次在 {first}，再次在 {position}）"),
                        "duplicate_id",
                    ),
                )
        try:
            model = Enterprise.model_validate(raw)
        except ValidationError as exc:
            found.extend(field_errors(exc, sources))
            return self.reject(position, found)
        if found:
            return self.reject(position, found)
        extras: dict[str, None] = {}
        _extra_paths(model, extras)
        for path in extras:
            self.report.note_unknown_field(path, position)
        self.report.loaded += 1
        return Loaded(position, model, model.model_dump(exclude_unset=True))

    # -- JSON Lines -----------------------------------------------------------------------------------

    def _read_jsonl(self) -> Iterator[Loaded | Rejected]:
        name = str(self.path)
        with self.path.open("rb") as lines:
            for number, raw_line in enumerate(lines, start=1):
                line = raw_line.removeprefix(b"\xef\xbb\xbf") if number == 1 else raw_line
                if not line.strip():
                    continue
                position = Position(name, line=number)
                try:
                    text = line.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError as exc:
                    yield self.reject(
                        position,
                        [
                            _record_error(
                                "encoding",
                                f"not valid UTF-8 at byte {exc.start + 1}",
                                f"不是有效的 UTF-8 编码（第 {exc.start + 1} 字节）",
                            )
                        ],
                    )
                    continue
                try:
                    raw = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield self.reject(position, [_json_error(exc, with_line=False)])
                    continue
                yield self.accept(raw, position)

    # -- JSON -----------------------------------------------------------------------------------------

    def _read_json(self) -> Iterator[Loaded | Rejected]:
        name = str(self.path)
        try:
            text = self.path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FactsFileError(f"{self.path}: not valid UTF-8 (byte {exc.start + 1})") from exc
        decoder = json.JSONDecoder()
        end = len(text)

        def skip(index: int) -> int:
            while index < end and text[index] in " \t\r\n":
                index += 1
            return index

        def line_of(index: int) -> int:
            return text.count("\n", 0, index) + 1

        index = skip(0)
        if index == end:
            self.report.warnings.append(f"{name}: empty file, no records")
            return
        if text[index] != "[":
            try:
                raw, after = decoder.raw_decode(text, index)
            except json.JSONDecodeError as exc:
                yield self.reject(Position(name, exc.lineno, 1), [_json_error(exc, with_line=True)])
                return
            if skip(after) != end:
                yield self.reject(
                    Position(name, line_of(after), 1),
                    [
                        _record_error(
                            "json_invalid",
                            "unexpected data after the JSON object",
                            "JSON 对象之后还有多余内容",
                        )
                    ],
                )
                return
            yield self.accept(raw, Position(name, line_of(index), 1))
            return
        index, number, line, counted_to = skip(index + 1), 0, line_of(index), index
        if index < end and text[index] == "]":
            index = end
        while index < end:
            number += 1
            line += text.count("\n", counted_to, index)
            counted_to = index
            try:
                raw, index = decoder.raw_decode(text, index)
            except json.JSONDecodeError as exc:
                yield self.reject(
                    Position(name, exc.lineno, number), [_json_error(exc, with_line=True, rest_lost=True)]
                )
                return
            yield self.accept(raw, Position(name, line, number))
            index = skip(index)
            if index < end and text[index] == ",":
                index = skip(index + 1)
                continue
            if index < end and text[index] == "]" and skip(index + 1) == end:
                return
            yield self.reject(
                Position(name, line_of(index), number + 1),
                [
                    _record_error(
                        "json_invalid",
                        f"expected ',' or a final ']' after record {number}; "
                        "the rest of the file could not be read",
                        f"第 {number} 条记录之后应为 ',' 或结尾的 ']'；文件其余部分无法读取",
                    )
                ],
            )
            return


def load(path: Path | str, report: LoadReport | None = None) -> Iterator[Loaded | Rejected]:
    """Records of a fact file, lazily; counts go to ``report`` when given (see :class:`FactSource`)."""
    return iter(FactSource(path, report))


def _json_default(value: object) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {value!r}")


def write_jsonl(records: Iterable[Enterprise | Mapping[str, Any]], path: Path | str) -> int:
    """Write records (models, or dicts such as :attr:`Loaded.record`) as JSON Lines; returns the count.

    Models are written with ``exclude_unset=True``, so explicit nulls stay and absent fields stay absent.
    """
    count = 0
    with Path(path).open("w", encoding="utf-8", newline="\n") as out:
        for record in records:
            if isinstance(record, BaseModel):
                line = record.model_dump_json(exclude_unset=True)
            else:
                line = json.dumps(record, ensure_ascii=False, default=_json_default)
            out.write(line + "\n")
            count += 1
    return count
