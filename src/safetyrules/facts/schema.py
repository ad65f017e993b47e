"""A declared fact schema as plain data: what a policy's `enum`, `record` and `subject` declarations say.

`check/schema.py` builds a :class:`FactSchema` from the checked declarations; `facts/declared.py` turns it
into pydantic models. Every type name is resolved already: a field's ``type`` is a builtin scalar
(:data:`SCALARS`), an enumeration or a record of the same schema.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

SCALARS: dict[str, tuple[str, str]] = {
    "text": ("文本", "text"),
    "int": ("整数", "whole number"),
    "decimal": ("小数", "decimal number"),
    "bool": ("是/否", "yes/no"),
    "date": ("日期", "date (YYYY-MM-DD)"),
    "datetime": ("时刻", "date and time with an offset (ISO 8601)"),
}
"""The builtin field types, with what a person calls them (zh, en)."""

DATE_SCALARS = ("date", "datetime")
NUMBER_SCALARS = ("int", "decimal")


@dataclass(frozen=True, slots=True)
class Label:
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class EnumSpec:
    name: str
    codes: dict[str, Label]
    label: Label | None = None
    doc: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field: ``kind`` says whether it holds one value, a list or a set of ``type``."""

    name: str
    kind: Literal["simple", "list", "set"]
    type: str
    label: Label | None = None
    doc: tuple[str, ...] = ()
    kept: bool = False
    """A date that is not an event (an expiry date, a deadline): the as-of view keeps it."""
    dated: bool = False
    """A ``list<date>`` whose dates are its items' own dates: later items are not on record yet."""
    minimum: int | None = None
    maximum: int | None = None
    not_before: str | None = None
    """Another date field of the same record that this one is never before."""


@dataclass(frozen=True, slots=True)
class RecordSpec:
    name: str
    fields: dict[str, FieldSpec]
    subject: bool = False
    label: Label | None = None
    doc: tuple[str, ...] = ()
    key: str | None = None
    timezone: dt.timezone | None = None
    dated: str | None = None
    """The field whose date is the record's own: a later list item is not on record yet, a later object null."""


@dataclass(frozen=True, slots=True)
class FactSchema:
    enums: dict[str, EnumSpec]
    records: dict[str, RecordSpec]
    subject: str
    references: dict[str, list[tuple[str, str]]] = field(default_factory=dict, compare=False)
    """For each enum or record, the (record, field) pairs whose type names it."""

    @property
    def root(self) -> RecordSpec:
        return self.records[self.subject]

    def type_kind(self, name: str) -> Literal["scalar", "enum", "record"]:
        if name in SCALARS:
            return "scalar"
        return "enum" if name in self.enums else "record"
