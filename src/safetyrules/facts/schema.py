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


AsOfEffect = Literal["drop_item", "not_yet", "drop_object"]


def as_of_rules(schema: FactSchema) -> tuple[dict[str, AsOfEffect], list[str]]:
    """What the as-of view does with each date of the schema, as paths (``hazards[].found_on``): the event
    dates with their effect, and the dates that are kept (not events). A list item whose record is ``dated``
    by a later date is dropped; a ``dated`` object becomes null; a ``dated`` list of dates drops later dates;
    any other date that is not ``kept`` becomes null ("not yet") when later; the subject's key is never a date.
    Year fields (``dated year`` with an ``int``) compare with the as-of year."""
    events: dict[str, AsOfEffect] = {}
    kept: list[str] = []
    # records in the order of their first use from the subject, each walked once per path (no cycles)
    stack: list[tuple[str, str, str | None]] = [(schema.subject, "", None)]  # record, path prefix, held as
    while stack:
        name, prefix, held = stack.pop(0)
        record = schema.records[name]
        for f in record.fields.values():
            path = f"{prefix}{f.name}"
            if f.type in schema.records:
                inner = f"{path}[]." if f.kind == "list" else f"{path}."
                stack.append((f.type, inner, "list" if f.kind == "list" else "object"))
                continue
            if f.name == record.dated and held is not None:
                events[path] = "drop_item" if held == "list" else "drop_object"
            elif f.type in DATE_SCALARS:
                if f.kind == "list":
                    if f.dated:
                        events[f"{path}[]"] = "drop_item"
                    else:
                        kept.append(path)
                elif f.kept:
                    kept.append(path)
                else:
                    events[path] = "not_yet"
    return events, kept
