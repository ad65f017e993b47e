"""A quick way to the engine's dict of a common record, with the same result as the full checks.

:func:`~.checks.validate_record` walks the whole record (shape, surrogates), validates it into pydantic models,
and the API dumps them back into a dict (``model_dump(exclude_unset=True)``). For a record that holds only the
contract's fields, with dates as ``YYYY-MM-DD`` text or ``date`` objects, one pydantic-core validator can build
that same dict directly: the contract's models become typed dicts of the same fields (in the same order, with
no defaults, so that an absent field stays absent), unknown fields are refused, dates are parsed natively, the
integer limits and list sizes of the run's :class:`~safetyrules.limits.Limits` become native bounds, and text
must be valid Unicode.

The quick validator *only accepts less*: whatever it accepts, the full checks accept with the same dict (same
values, same key order, no warning). Anything else — an unknown field, a bad value, a date as a ``datetime``,
a nested model instance, a repeated JSON key, a record nested deeper than the limit allows — is refused by it,
and the caller goes the full way, which finds the problems and words them as always. Only the contract's own
validators are kept (pure functions of their value and of the fields before them); a schema holding anything
else gets no quick validator.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import SchemaError, SchemaValidator, core_schema

from . import models

_DATE_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# A date, natively: `YYYY-MM-DD` text (a `str` of ASCII digits, not bytes) parsed by pydantic-core, which
# accepts such text exactly when `date.fromisoformat` does, with the same date; or a `date` (not a `datetime`)
# as is. Text first: it is what a JSON record holds (the other order costs a JSON record 4 µs more, and a
# validated dict 3 µs less).
_FAST_DATE: Any = core_schema.union_schema(
    [core_schema.chain_schema([core_schema.str_schema(pattern=_DATE_TEXT, strict=True), core_schema.date_schema()]),
     core_schema.date_schema(strict=True)],
    mode="left_to_right",
)

# pydantic's own checks of `ge`/`le` beside a type with its own validator (`BoundedInt`), by name
_BOUNDS = {"greater_than_or_equal_validator": "ge", "less_than_or_equal_validator": "le"}


def _bound(function: object) -> str | None:
    """``"ge"``/``"le"`` when ``function`` is pydantic's check of that bound (a partial giving the bound)."""
    if not isinstance(function, functools.partial) or function.args:
        return None
    inner = function.func
    if getattr(inner, "__module__", None) != "pydantic._internal._validators":
        return None
    name = _BOUNDS.get(getattr(inner, "__name__", ""))
    return name if name is not None and set(function.keywords) == {name} else None


class Unsupported(Exception):
    """A schema the quick validator does not know to be equivalent."""


def _ours(function: object) -> bool:
    """Whether a validator is one of the contract's own (pure: its value and the fields validated before it)."""
    inner = getattr(function, "__func__", function)
    module = getattr(inner, "__module__", "")
    return module in (models.__name__, f"{__package__}.declared")


class _Builder:
    def __init__(self, max_int: int, max_items: int) -> None:
        self.max_int, self.max_items = max_int, max_items
        self.depth = 1  # deepest object or list (the record is level 1), as the shape walk counts
        # how to find the objects of a record (for repeated keys): per object schema, its fields holding objects
        self.objects: dict[int, _Objects] = {}

    def schema(self, s: Any, level: int, dates: bool = False) -> Any:
        """The quick schema of ``s``, validating a value at nesting ``level``; ``dates``: parse dates natively."""
        kind = s.get("type")
        if kind == "model":
            return self.model(s, level)
        if "serialization" in s or ("ref" in s and kind != "enum"):
            raise Unsupported(kind)
        if kind == "nullable":
            return core_schema.nullable_schema(self.schema(s["schema"], level, dates))
        if kind == "list":
            if set(s) - {"type", "items_schema", "strict", "min_length", "max_length"}:
                raise Unsupported(kind)
            self.depth = max(self.depth, level)
            longest = min(s.get("max_length", self.max_items), self.max_items)
            return core_schema.list_schema(self.schema(s["items_schema"], level + 1, dates), strict=True,
                                           min_length=s.get("min_length"), max_length=longest)
        if kind == "date":
            if not dates or set(s) != {"type"}:
                raise Unsupported(kind)
            return _FAST_DATE
        if kind == "str":
            if set(s) - {"type", "strict"}:
                raise Unsupported(kind)
            # the pattern makes pydantic-core read the text as UTF-8: an unpaired surrogate is refused
            return core_schema.str_schema(pattern="^", strict=s.get("strict"))
        if kind in ("bool", "int", "enum", "datetime", "decimal"):
            return s  # the same validator as the model's
        if kind == "function-before":
            function = s["function"]["function"]
            if function is models._date_or_none or function is models._date_list_or_none:
                return self.schema(s["schema"], level, dates=True)
            if _ours(function):  # instants: the same parsing, to the same local time
                return {**s, "schema": self.schema(s["schema"], level, dates)}
            raise Unsupported(kind)
        if kind == "function-after":
            function = s["function"]["function"]
            inner = self.schema(s["schema"], level, dates)
            if function is models._within_int_limit and inner.get("type") == "int":
                return {**inner, "ge": max(inner.get("ge", -self.max_int), -self.max_int),
                        "le": min(inner.get("le", self.max_int), self.max_int)}
            name = _bound(function)
            if name is not None and inner.get("type") == "int":
                (bound,) = function.keywords.values()
                if type(bound) is not int:
                    raise Unsupported(kind)
                old = inner.get(name)
                tighter = bound if old is None else (max(old, bound) if name == "ge" else min(old, bound))
                return {**inner, name: tighter}
            if _ours(function):
                return {**s, "schema": inner}
            raise Unsupported(kind)
        raise Unsupported(kind)

    def model(self, s: Any, level: int) -> Any:
        fields_schema = s["schema"]
        if ("serialization" in s or s.get("root_model") or s.get("custom_init") or s.get("post_init")
                or set(s.get("config", {})) - {"extra_fields_behavior", "title"}
                or fields_schema.get("type") != "model-fields" or fields_schema.get("computed_fields")
                or set(fields_schema) - {"type", "fields", "model_name", "computed_fields"}):
            raise Unsupported("model")
        self.depth = max(self.depth, level)
        fields: dict[str, Any] = {}
        nested: list[tuple[str, bool, _Objects]] = []
        for name, f in fields_schema["fields"].items():
            if set(f) - {"type", "schema", "metadata"}:
                raise Unsupported("model-field")
            inner, required = f["schema"], True
            if inner.get("type") == "default":
                if set(inner) - {"type", "schema", "default"}:
                    raise Unsupported("default")
                inner, required = inner["schema"], False
            fields[name] = core_schema.typed_dict_field(self.schema(inner, level + 1), required=required)
            found = _nested(inner)
            if found is not None:
                is_list, model = found
                nested.append((name, is_list, self.objects.setdefault(id(model), _Objects(model, []))))
        self.objects.setdefault(id(s["cls"]), _Objects(s["cls"], [])).fields[:] = nested
        return core_schema.typed_dict_schema(fields, extra_behavior="forbid")


def _nested(s: Any) -> tuple[bool, type[BaseModel]] | None:
    """(a list?, the model) when ``s`` validates a model or a list of models."""
    is_list = False
    while True:
        kind = s.get("type")
        if kind == "model":
            return is_list, s["cls"]
        if kind == "list":
            is_list = True
            s = s["items_schema"]
        elif kind in ("nullable", "function-before", "function-after", "default"):
            s = s["schema"]
        else:
            return None


@dataclass(slots=True)
class _Objects:
    model: type[BaseModel]
    fields: list[tuple[str, bool, _Objects]]  # (field, a list of objects?, their fields)


def _repeated_keys(record: dict[str, Any], objects: _Objects) -> bool:
    """Whether an object of an accepted record came from JSON text that repeated a key (a
    :class:`~.checks.DuplicateKeys`: a dict the quick validator takes like any other)."""
    stack = [(record, objects)]
    while stack:
        value, spec = stack.pop()
        for name, is_list, inner in spec.fields:
            child = value.get(name)
            if child is None:
                continue
            if is_list:
                for item in child:
                    if type(item) is not dict:
                        return True
                    if inner.fields:
                        stack.append((item, inner))
            else:
                if type(child) is not dict:
                    return True
                if inner.fields:
                    stack.append((child, inner))
    return False


@dataclass(frozen=True, slots=True)
class QuickValidator:
    validator: SchemaValidator
    depth: int
    objects: _Objects

    def record(self, raw: dict[str, Any], max_nesting: int) -> dict[str, Any] | None:
        """The engine's dict of ``raw``, or None when it takes the full checks (not necessarily a bad record)."""
        if self.depth > max_nesting or type(raw) is not dict:
            return None
        try:
            record: dict[str, Any] = self.validator.validate_python(raw)
        except ValidationError:
            return None
        if self.objects.fields and _repeated_keys(raw, self.objects):
            return None
        return record


@lru_cache(maxsize=64)  # declared models come and go with their policies
def quick_validator(model: type[BaseModel], max_int: int, max_items: int) -> QuickValidator | None:
    """The quick validator of ``model`` under these limits, or None when its schema holds something unknown."""
    builder = _Builder(max_int, max_items)
    try:
        schema = builder.schema(model.__pydantic_core_schema__, 1)
        validator = SchemaValidator(schema)
    except (Unsupported, KeyError, TypeError, AttributeError, SchemaError):
        return None
    objects = builder.objects.get(id(model))
    if objects is None:
        return None
    return QuickValidator(validator, builder.depth, objects)
