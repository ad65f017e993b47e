"""Types of the policy language, and the fact schema read from the pydantic models.

The checker never hard-codes the contract: field names, their types and the enumeration codes all come from
the subject's pydantic model — the one built from the policy's declared schema (`facts/contract.py`), or the
built-in `safetyrules.facts.models.Enterprise` — so a field declared in a policy is usable in its rules at once.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import re
import types
import typing
from dataclasses import dataclass
from functools import cache

from pydantic import BaseModel


@dataclass(frozen=True, slots=True)
class Type:
    """A scalar type: bool, number, date, instant, duration, string; `null` and `any` for inference."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class EnumType:
    name: str
    codes: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class SetType:
    elem: LangType

    def __str__(self) -> str:
        return f"set<{self.elem}>"


@dataclass(frozen=True, slots=True)
class ListType:
    elem: LangType

    def __str__(self) -> str:
        return f"list<{self.elem}>"


@dataclass(frozen=True, slots=True)
class RecordType:
    model: type[BaseModel]

    @property
    def name(self) -> str:
        return self.model.__name__

    def __str__(self) -> str:
        return f"record {self.model.__name__}"


@dataclass(frozen=True, slots=True)
class RuleType:
    """The type of a rule's name: usable only as the argument of `violated(…)`/`triggered(…)`."""

    kind: str

    def __str__(self) -> str:
        return self.kind


LangType = Type | EnumType | SetType | ListType | RecordType | RuleType

BOOL = Type("bool")
NUMBER = Type("number")
DATE = Type("date")
INSTANT = Type("instant")
DURATION = Type("duration")
STRING = Type("string")
NULL = Type("null")
ANY = Type("any")  # after an error: accepted everywhere so that one mistake is reported once

SCALARS = {"bool": BOOL, "number": NUMBER, "int": NUMBER, "date": DATE, "instant": INSTANT,
           "duration": DURATION, "string": STRING}
ORDERED = (NUMBER, DATE, INSTANT)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def enum_type(cls: type[enum.Enum]) -> EnumType:
    declared = getattr(cls, "__safetyrules_name__", None)  # an enumeration a policy declares: its own name
    name = declared if isinstance(declared, str) else snake(cls.__name__)
    return EnumType(name, tuple(str(m.value) for m in cls))


def python_type(annotation: object) -> LangType:
    """Map a pydantic field annotation (`date | None`, `list[Hazard] | None`, …) to a language type."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return python_type(args[0])
        if set(args) <= {int, float, decimal.Decimal}:
            return NUMBER
        return ANY
    if origin is list:
        (arg,) = typing.get_args(annotation)
        return ListType(python_type(arg))
    if origin is typing.Annotated:
        return python_type(typing.get_args(annotation)[0])
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return RecordType(annotation)
        if issubclass(annotation, enum.Enum):
            return enum_type(annotation)
        if issubclass(annotation, bool):
            return BOOL
        if issubclass(annotation, int | float | decimal.Decimal):
            return NUMBER
        if issubclass(annotation, dt.datetime):
            return INSTANT
        if issubclass(annotation, dt.date):
            return DATE
        if issubclass(annotation, str):
            return STRING
    return ANY


@cache
def record_fields(model: type[BaseModel]) -> dict[str, LangType]:
    return {name: python_type(f.annotation) for name, f in model.model_fields.items()}


@cache
def enterprise_type() -> RecordType:
    from safetyrules.facts.models import Enterprise

    return RecordType(Enterprise)


@cache
def named_enums(root: type[BaseModel] | None = None) -> dict[str, EnumType]:
    """Every enumeration reachable from the subject's model (default: the built-in enterprise), by its name in
    the language (`industry`, …)."""
    found: dict[str, EnumType] = {}
    stack: list[type[BaseModel]] = [root or enterprise_type().model]
    seen: set[type[BaseModel]] = set()
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        for t in record_fields(model).values():
            while isinstance(t, ListType | SetType):
                t = t.elem
            if isinstance(t, EnumType):
                found[t.name] = t
            elif isinstance(t, RecordType):
                stack.append(t.model)
    return found


def type_from_name(name: str, is_set: bool, root: type[BaseModel] | None = None) -> LangType | None:
    base: LangType | None = SCALARS.get(name) or named_enums(root).get(name)
    if base is None:
        return None
    return SetType(base) if is_set else base


def type_names(root: type[BaseModel] | None = None) -> list[str]:
    return sorted({*SCALARS, *named_enums(root)})


def compatible(actual: LangType, expected: LangType) -> bool:
    """Whether a value of `actual` may stand where `expected` is needed."""
    if actual in (expected, NULL) or ANY in (actual, expected) or expected == NULL:
        return True
    if isinstance(actual, EnumType) and expected == STRING:
        return True
    if isinstance(actual, SetType | ListType) and isinstance(expected, SetType | ListType):
        return compatible(actual.elem, expected.elem)
    return False


def unify(a: LangType, b: LangType) -> LangType:
    if a in (NULL, ANY):
        return b
    if b in (NULL, ANY):
        return a
    if isinstance(a, EnumType) and b == STRING:
        return a
    if isinstance(b, EnumType) and a == STRING:
        return b
    return a


def type_of(e: object) -> LangType | None:
    """The type the checker gave an expression node (None for a node it has not checked)."""
    t = getattr(e, "checked_type", None)
    return t if isinstance(t, Type | EnumType | SetType | ListType | RecordType | RuleType) else None


def set_type(e: object, t: LangType) -> None:
    """Record the checker's type on an expression node (frozen: written once per check, by the checker only)."""
    object.__setattr__(e, "checked_type", t)
