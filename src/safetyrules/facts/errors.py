"""Positions in fact files and field errors with English and Chinese messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from safetyrules.errors import InputError


class FactsFileError(InputError):
    """A fact file cannot be read at all: missing, unreadable, unknown type, or unusable layout."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where a record (or a row of it) is: ``town.jsonl:17``, ``town.json:12 (record 3)``,
    ``town.xlsx[enterprises]:row 5``."""

    file: str
    line: int | None = None
    record: int | None = None
    sheet: str | None = None

    def __str__(self) -> str:
        if self.sheet is not None:
            return f"{self.file}[{self.sheet}]:row {self.line}"
        if self.line is not None and self.record is not None:
            return f"{self.file}:{self.line} (record {self.record})"
        if self.line is not None:
            return f"{self.file}:{self.line}"
        if self.record is not None:
            return f"{self.file} (record {self.record})"
        return self.file


@dataclass(frozen=True, slots=True)
class FieldError:
    """One reason a record was rejected.

    ``path`` is the field path (``hazards[0].remediated_on``; empty for the record as a whole), ``code`` a
    stable machine-readable error type, ``source`` the row the value came from when it is not the record's
    own position (the child table row of a CSV/Excel list item).
    """

    path: str
    message: str
    message_zh: str
    code: str = "invalid"
    source: Position | None = None

    def __str__(self) -> str:
        where = f" (from {self.source})" if self.source is not None else ""
        return f"{self.path}: {self.message}{where}" if self.path else f"{self.message}{where}"


def zh_field(path: str, reason: str) -> str:
    """``字段 hazards[0].remediated_on：整改日期早于发现日期`` (just the reason for record-level errors)."""
    return f"字段 {path}：{reason}" if path else reason


# Chinese reasons by pydantic (or our own) error type; ``{name}`` is filled from the error's context.
_ZH: dict[str, str] = {
    "missing": "缺少该字段",
    "string_type": "应为文本",
    "bool_type": "应为布尔值 true 或 false",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "enum": "不是允许的代码（允许：{expected}）",
    "list_type": "应为列表",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "dict_type": "应为对象",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_format": "日期格式应为 YYYY-MM-DD",
    "date_value": "日期不存在（{reason}）",
    "datetime_type": "应为带时区的时间（如 2021-08-09T10:20:00+08:00）",
    "datetime_value": "时间无效（{reason}）",
    "timezone_aware": "时间须带时区偏移（如 +08:00）",
    "remediated_before_found": "整改日期早于发现日期",
    "verified_before_found": "验收日期早于发现日期",
    "informed_before_occurred": "主要负责人接报时间早于事故发生时间",
    "reported_before_occurred": "报告时间早于事故发生时间",
    "ends_before_starts": "保险止期早于起期",
    "int_limit": "超出整数范围 ±{limit}",
    "empty_id": "企业 id 为空",
}

# Error types whose message already names the values involved.
_SELF_EXPLAINING = {
    "missing",
    "remediated_before_found",
    "verified_before_found",
    "informed_before_occurred",
    "reported_before_occurred",
    "ends_before_starts",
    "empty_id",
}


def loc_to_path(loc: tuple[int | str, ...]) -> str:
    """``("hazards", 0, "plan", "made_on")`` -> ``hazards[0].plan.made_on``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _short_repr(value: object, limit: int = 60) -> str:
    if isinstance(value, int) and value.bit_length() > 200:  # repr() refuses ints of more than 4,300 digits
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _zh_reason(error_type: str, ctx: Mapping[str, Any], english: str) -> str:
    template = _ZH.get(error_type)
    if template is None:
        return f"值不符合要求（{english}）"
    try:
        return template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        return template


def field_errors(exc: ValidationError, sources: Mapping[str, Position] | None = None) -> list[FieldError]:
    """Turn a pydantic ``ValidationError`` into readable :class:`FieldError`\\ s.

    ``sources`` maps list-item prefixes such as ``hazards[0]`` to the row the item came from.
    """
    result: list[FieldError] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        path = loc_to_path(loc)
        error_type = error["type"]
        message = error["msg"]
        value = error.get("input")
        if error_type not in _SELF_EXPLAINING and not isinstance(value, dict | list):
            message = f"{message} (got {_short_repr(value)})"
        source = None
        if sources and len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
            source = sources.get(f"{loc[0]}[{loc[1]}]")
        ctx = error.get("ctx") or {}
        result.append(
            FieldError(
                path, message, zh_field(path, _zh_reason(error_type, ctx, error["msg"])), error_type, source
            )
        )
    return result
