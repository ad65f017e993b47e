"""Streaming loaders of fact files (JSON Lines, JSON, CSV, Excel) with positioned errors.

Every record comes out as :class:`Loaded` (a valid :class:`~.models.Enterprise`) or :class:`Rejected` (the
reasons, each with its field path); nothing is dropped silently. A :class:`LoadReport` counts both and
collects warnings (unknown extra fields, once per field path; ignored rows and sheets)::

    source = FactSource("town.jsonl")
    for item in source:
        ...
    print(source.report.summary())

JSON Lines are read line by line, a line at most ``Limits.max_record_bytes`` at a time, so memory does not
grow with the file. A ``.json`` file (an array of objects or one object) is read whole, up to
``Limits.max_document_bytes``; a record of it that does not parse is rejected and reading resumes after it.
CSV/Excel main tables are streamed; their child tables (list fields) are grouped in memory by
``enterprise_id``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel

from safetyrules.limits import DEFAULT, Limits

from . import _tabular
from .checks import RecordDecoder, capped, nesting_error, validate_record
from .contract import FactContract, builtin_contract
from .errors import FactsFileError, FieldError, Position, zh_field
from .loaded import Loaded, LoadReport, Rejected, UnknownField
from .models import Enterprise

__all__ = ["SUFFIXES", "FactSource", "LoadReport", "Loaded", "Rejected", "UnknownField", "load", "write_jsonl"]

SUFFIXES: dict[str, str] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".xlsx": "xlsx",
}
"""File name suffixes the loaders understand, and the format each stands for."""


def _record_error(code: str, message: str, zh: str) -> FieldError:
    return FieldError("", message, zh, code)


def _too_long(size: int, limit: int) -> FieldError:
    return _record_error(
        "record_limit",
        f"a record of {size} bytes is longer than the limit of {limit} bytes",
        f"记录有 {size} 字节，超过上限 {limit} 字节",
    )


def _bounded_lines(stream: IO[bytes], limit: int) -> Iterator[tuple[int, bytes | None, int]]:
    """``(line number, line, size)`` of a binary stream, reading at most ``limit`` + 1 bytes at a time: a
    longer line is skipped to its newline and given as ``None`` with its size, never held in memory."""
    number = 0
    chunk = 1 << 20
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) <= limit or line.endswith(b"\n"):
            yield number, line, len(line)
            continue
        size = len(line)
        while not line.endswith(b"\n"):
            line = stream.readline(chunk)
            if not line:
                break
            size += len(line)
        yield number, None, size - (1 if line.endswith(b"\n") else 0)


# Where a value ends in a JSON text when it does not parse: strings (ended at the end of their line, so that
# an unterminated one does not swallow the next records), brackets and commas.
_TOKENS = re.compile(r'"(?:[^"\\\n]|\\[^\n])*"?|[\[\]{},]')
_CLOSED_STRING = re.compile(r'"(?:[^"\\\n]|\\[^\n])*"')


def _value_end(text: str, start: int) -> int:
    """The index just after the (possibly malformed) JSON value starting at ``start``: the bracket closing
    its first bracket, or, for a bare value, the next ``,`` or closing bracket at its own level. Iterative:
    any depth is safe."""
    depth = 0
    for match in _TOKENS.finditer(text, start):
        token = match.group()
        if token[0] == '"':
            if not _CLOSED_STRING.fullmatch(token):
                return match.end()  # a string cannot span lines: the value is broken at the end of this line
            continue
        if token in "[{":
            depth += 1
        elif token in "]}":
            if depth == 0:
                return match.start()
            depth -= 1
            if depth == 0:
                return match.end()
        elif token == "," and depth == 0:
            return match.start()
    return len(text)


def _decode_error(exc: json.JSONDecodeError | RecursionError, limits: Limits, *, with_line: bool) -> FieldError:
    if isinstance(exc, RecursionError):  # the decoder recurses once per level: this is far past the limit
        return nesting_error(limits)
    return _json_error(exc, with_line=with_line)


def _json_error(exc: json.JSONDecodeError, *, with_line: bool) -> FieldError:
    where = f"line {exc.lineno} column {exc.colno}" if with_line else f"column {exc.colno}"
    where_zh = f"第 {exc.lineno} 行第 {exc.colno} 列" if with_line else f"第 {exc.colno} 列"
    return _record_error(
        "json_invalid", f"invalid JSON at {where}: {exc.msg}", f"JSON 格式错误（{where_zh}：{exc.msg}）"
    )


class FactSource:
    """The records of one fact file, read lazily; iterate once, then read :attr:`report`.

    The format is chosen by the suffix (see :data:`SUFFIXES`). Raises :class:`FactsFileError` at once for
    a missing file or an unknown suffix, and during iteration for a file that turns out unreadable.
    ``encoding`` applies to CSV files (e.g. ``"gb18030"`` for files saved by a Chinese Excel). ``limits``
    bounds each record (nesting, list items, integers, bytes) and a ``.json`` file as a whole; a record
    beyond one is rejected with its position and the reading goes on. ``contract`` says what a record is
    (a policy's `FactContract`: its model, its key, its sheet names; default: the built-in 附件4 enterprise).
    """

    def __init__(
        self,
        path: Path | str,
        report: LoadReport | None = None,
        *,
        encoding: str = "utf-8-sig",
        limits: Limits = DEFAULT,
        contract: FactContract | None = None,
    ):
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
        self.limits = limits
        self.contract = contract if contract is not None else builtin_contract()
        self.model = self.contract.model
        self.key = self.contract.key
        # CSV/Excel layout: the main sheet, and the column of a list's sheet naming its subject
        self.main_sheet = "enterprises" if self.contract.builtin else self.contract.subject
        self.parent_column = f"{self.contract.subject}_{self.key}"
        self.decoder = RecordDecoder()
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
        thorough: bool = True,
    ) -> Loaded | Rejected:
        """Validate one raw record (see :func:`~.checks.validate_record`); ``errors`` are problems already found
        while reading it. ``thorough=False`` when the reader knows that the record holds no marker and no unpaired
        surrogate (see :func:`~.checks.validate_record`)."""
        found = list(errors)
        record_id = raw.get(self.key) if isinstance(raw, dict) else None
        if isinstance(record_id, str) and record_id.strip():
            first = self.report.seen_ids.get(record_id)
            if first is None:
                self.report.seen_ids[record_id] = position
            else:
                who = "企业 id" if self.key == "id" and self.model is Enterprise else self.key
                found.insert(
                    0,
                    FieldError(
                        self.key,
                        f"duplicate {self.key} {record_id!r}: first at {first}, again at {position}",
                        zh_field(self.key, f"{who} {record_id} 重复（首次在 {first}，再次在 {position}）"),
                        "duplicate_id",
                    ),
                )
        check = validate_record(raw, self.limits, sources=sources, thorough=thorough, model=self.model)
        model = check.model
        found.extend(check.errors)
        if found or model is None:
            return self.reject(position, capped(found))
        for path, suggestion in check.unknown_fields.items():
            self.report.note_unknown_field(path, position, suggestion)
        self.report.loaded += 1
        return Loaded(position, model, model.model_dump(exclude_unset=True))

    # -- JSON Lines -----------------------------------------------------------------------------------

    def _read_jsonl(self) -> Iterator[Loaded | Rejected]:
        for item in self.jsonl_lines():
            yield item if isinstance(item, Rejected) else self.accept_text(*item)

    def jsonl_lines(self) -> Iterator[Rejected | tuple[Position, str]]:
        """A JSON Lines file's lines as text, not decoded yet: per line, a rejection (too long, not UTF-8) or
        (position, text); blank lines are skipped. Give each to :meth:`accept_text`, or decode and validate
        them in bulk (``safetyrules.columnar.jsonl``). Raises ``OSError`` where iterating would raise
        :class:`FactsFileError`."""
        name = str(self.path)
        limit = self.limits.max_record_bytes
        with self.path.open("rb") as stream:
            for number, raw_line, size in _bounded_lines(stream, limit):
                position = Position(name, line=number)
                if raw_line is None:
                    yield self.reject(position, [_too_long(size, limit)])
                    continue
                line = raw_line.removeprefix(b"\xef\xbb\xbf") if number == 1 else raw_line
                if not line.strip():
                    continue
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
                yield position, text

    def accept_text(self, position: Position, text: str) -> Loaded | Rejected:
        """Decode and validate the record of one JSON Lines line (see :meth:`accept`)."""
        try:
            raw = self.decoder.decode(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            return self.reject(position, [_decode_error(exc, self.limits, with_line=False)])
        return self.accept(raw, position, thorough=self.decoder.suspect)

    # -- JSON -----------------------------------------------------------------------------------------

    def _read_json(self) -> Iterator[Loaded | Rejected]:
        name = str(self.path)
        limit = self.limits.max_document_bytes
        size = self.path.stat().st_size
        if size > limit:
            raise FactsFileError(
                f"{self.path}: {size} bytes, more than the limit of {limit} bytes for a JSON file read whole; "
                "write large populations as JSON Lines (one record a line), which is streamed"
            )
        try:
            text = self.path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FactsFileError(f"{self.path}: not valid UTF-8 (byte {exc.start + 1})") from exc
        end = len(text)

        def skip(index: int) -> int:
            while index < end and text[index] in " \t\r\n":
                index += 1
            return index

        def line_of(index: int) -> int:
            return text.count("\n", 0, index) + 1

        index = skip(0)
        if index == end:
            self.report.warnings.append(f"{name}: empty file, no records / 空文件，没有记录")
            return
        if text[index] != "[":
            try:
                raw, after = self.decoder.raw_decode(text, index)
            except (json.JSONDecodeError, RecursionError) as exc:
                line = exc.lineno if isinstance(exc, json.JSONDecodeError) else line_of(index)
                yield self.reject(Position(name, line, 1), [_decode_error(exc, self.limits, with_line=True)])
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
            yield self.accept(raw, Position(name, line_of(index), 1), thorough=self.decoder.suspect)
            return
        index, number, line, counted_to = skip(index + 1), 0, line_of(index), index
        if index < end and text[index] == "]":
            index = end
        pending: list[FieldError] = []  # a missing ',' is an error of the record after it
        while index < end:
            number += 1
            line += text.count("\n", counted_to, index)
            counted_to = index
            position = Position(name, line, number)
            try:
                raw, index = self.decoder.raw_decode(text, index)
            except (json.JSONDecodeError, RecursionError) as exc:
                # reject this record and go on after it: where it ends is found by its brackets
                yield self.reject(position, [*pending, _decode_error(exc, self.limits, with_line=True)])
                start, index = index, _value_end(text, index)
                if isinstance(exc, json.JSONDecodeError) and start < exc.pos < index and text[exc.pos] == "{":
                    # an object began where a key or a ',' was due: the record lost its '}', and the next one
                    # starts here (by its brackets the broken record would swallow every record after it)
                    index = exc.pos
                if index == counted_to and text[index] not in "],":  # no value at all: step over a character
                    index += 1
                index = skip(index)
                if index < end and text[index] in "[{":  # the broken record ended early: no ',' to expect
                    pending = []
                    continue
            else:
                yield self.accept(raw, position, errors=pending, thorough=self.decoder.suspect)
            pending = []
            index = skip(index)
            while True:  # the separator
                if index < end and text[index] == ",":
                    index = skip(index + 1)
                    break
                if index < end and text[index] == "]" and skip(index + 1) == end:
                    return
                if index >= end:
                    self.report.warnings.append(
                        f"{name}: the array is not closed by ']' after record {number}; the file may be cut short / "
                        f"第 {number} 条记录之后数组没有以 ']' 结束，文件可能不完整"
                    )
                    return
                pending = [
                    _record_error(
                        "json_invalid",
                        f"expected ',' or a final ']' before this record (line {line_of(index)})",
                        f"此记录之前（第 {line_of(index)} 行）应为 ',' 或结尾的 ']'",
                    )
                ]
                if text[index] not in "]}":
                    break
                index = skip(index + 1)  # a stray closing bracket


def load(
    path: Path | str, report: LoadReport | None = None, *, limits: Limits = DEFAULT,
    contract: FactContract | None = None,
) -> Iterator[Loaded | Rejected]:
    """Records of a fact file, lazily; counts go to ``report`` when given (see :class:`FactSource`)."""
    return iter(FactSource(path, report, limits=limits, contract=contract))


def _json_default(value: object) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {value!r}")


def write_jsonl(records: Iterable[BaseModel | Mapping[str, Any]], path: Path | str) -> int:
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
