"""A quick way to the engine's dict of a common record, with the same result as the full checks.

:func:`~.checks.validate_record` walks the whole record (shape, surrogates), validates it into pydantic models,
and the API dumps them back into a dict (``model_dump(exclude_unset=True)``): about 185 µs for a generated
enterprise, of which the walk is 45, pydantic 90 (one Python date parser per date) and the dump 28. For a record
of the contract's fields, with dates as ``YYYY-MM-DD`` text or ``date`` objects, one pydantic-core validator
builds that same dict directly in about 35 µs: the contract's models become typed dicts of the same fields (in
the same order, with no defaults, so that an absent field stays absent), unknown fields are refused, dates are
parsed natively, the integer limits and list sizes of the run's :class:`~safetyrules.limits.Limits` become
native bounds, and text must be valid Unicode. A record with unknown fields is validated by a twin that keeps
them; one walk then finds them (paths and suggestions as :func:`~.checks.unknown_fields` gives them) and checks
and copies their values as the full checks and the dump would.

The quick validator *only accepts less*: whatever it accepts, the full checks accept with the same dict (same
values, same key order, same warnings). Anything else — a bad value, a date as a ``datetime``, a nested model
instance, a repeated JSON key, a record nested deeper than the limit allows, an unknown field's value that is
not plain JSON — is refused by it, and the caller goes the full way, which finds the problems and words them as
always (a refused record costs that way about 40 µs more than before). Only the contract's own validators are
kept (pure functions of their value and of the fields before them); a schema holding anything else gets no
quick validator. tests/facts/test_quick_validation.py compares both ways on the town and on spoiled records.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_core import SchemaError, SchemaValidator, core_schema

from safetyrules.limits import Limits

from . import models
from .checks import _suggestion, _unpaired, _walk

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
    def __init__(self, max_int: int, max_items: int, extra: Literal["forbid", "allow"] = "forbid") -> None:
        self.max_int, self.max_items, self.extra = max_int, max_items, extra
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
                nested.append((name, is_list, self.objects.setdefault(id(model), _Objects(model))))
        objects = self.objects.setdefault(id(s["cls"]), _Objects(s["cls"]))
        objects.fields[:] = nested
        objects.names = frozenset(fields)
        return core_schema.typed_dict_schema(fields, extra_behavior=self.extra)


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
    fields: list[tuple[str, bool, _Objects]] = field(default_factory=list)  # (field, a list?, its objects)
    names: frozenset[str] = frozenset()  # all the model's fields


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


_JSON_SCALARS = (str, int, float, bool, type(None))
_NO_UNKNOWN: dict[str, str | None] = {}


def _plain_copy(value: Any) -> Any:
    """A copy of a JSON-like value made of plain ``dict``\\ s (text keys), ``list``\\ s and JSON scalars — what
    ``model_dump`` makes of an unknown field's value — or ``_NOT_PLAIN``."""
    kind = type(value)
    if kind is list:
        items = [_plain_copy(item) for item in value]
        return _NOT_PLAIN if _NOT_PLAIN in items else items
    if kind is dict:
        copy = {}
        for key, item in value.items():
            if type(key) is not str:
                return _NOT_PLAIN
            copy[key] = _plain_copy(item)
            if copy[key] is _NOT_PLAIN:
                return _NOT_PLAIN
        return copy
    return value if kind in _JSON_SCALARS else _NOT_PLAIN


_NOT_PLAIN: Any = object()


def _unknown_fields(raw: dict[str, Any], record: dict[str, Any], objects: _Objects,
                    limits: Limits) -> dict[str, str | None] | None:
    """The unknown fields of a record the quick validator accepted with them, as
    :func:`~.checks.unknown_fields` finds them (paths in document order, each with its likely meant field);
    their values in ``record`` replaced by what ``model_dump`` makes of them. None (the full checks) when a value
    is not plain JSON or holds what the shape walk refuses, or an object is not a plain ``dict``."""
    found: dict[str, str | None] = {}

    def visit(value: Any, out: dict[str, Any], spec: _Objects, prefix: str, level: int) -> bool:
        if type(value) is not dict:
            return False
        if not value.keys() <= spec.names:
            for key, item in value.items():
                if key in spec.names:
                    continue
                if type(key) is not str or (not key.isascii() and _unpaired(key)):
                    return False
                if type(item) is str:
                    if not item.isascii() and _unpaired(item):
                        return False
                elif type(item) in (dict, list):
                    errors: list[Any] = []
                    _walk([(item, level + 1, None)], limits, errors)
                    if errors:
                        return False
                copy = _plain_copy(item)
                if copy is _NOT_PLAIN:
                    return False
                out[key] = copy
                found.setdefault(prefix + key, _suggestion(spec.model, key))
        for name, is_list, inner in spec.fields:
            child = value.get(name)
            if child is None:
                continue
            path = prefix + name
            if not is_list:
                if not visit(child, out[name], inner, path + ".", level + 1):
                    return False
            elif type(child) is not list:
                return False
            else:
                for item, item_out in zip(child, out[name], strict=True):
                    if not visit(item, item_out, inner, path + "[].", level + 2):
                        return False
        return True

    return found if visit(raw, record, objects, "", 1) else None


def _only_unknown_fields(exc: ValidationError) -> bool:
    return all(e["type"] == "extra_forbidden"
               for e in exc.errors(include_url=False, include_context=False, include_input=False))


@dataclass(frozen=True, slots=True)
class QuickValidator:
    validator: SchemaValidator
    allowing: SchemaValidator  # the same, taking unknown fields
    depth: int
    objects: _Objects

    def record(self, raw: dict[str, Any], limits: Limits) -> tuple[dict[str, Any], dict[str, str | None]] | None:
        """The engine's dict of ``raw`` and its unknown fields (path: the field it may mean), or None when it
        takes the full checks (not necessarily a bad record). The unknown fields are shared: not to be changed."""
        if self.depth > limits.max_nesting or type(raw) is not dict:
            return None
        if raw.keys() <= self.objects.names:
            try:
                record: dict[str, Any] = self.validator.validate_python(raw)
            except ValidationError as exc:
                if not _only_unknown_fields(exc):  # a bad record: the full checks say why
                    return None
            else:
                if self.objects.fields and _repeated_keys(raw, self.objects):
                    return None
                return record, _NO_UNKNOWN
        # unknown fields (seen here at the top, or refused in an object below): taken, then checked and copied
        try:
            record = self.allowing.validate_python(raw)
        except ValidationError:
            return None
        unknown = _unknown_fields(raw, record, self.objects, limits)
        return None if unknown is None else (record, unknown)


@lru_cache(maxsize=64)  # declared models come and go with their policies
def quick_validator(model: type[BaseModel], max_int: int, max_items: int) -> QuickValidator | None:
    """The quick validator of ``model`` under these limits, or None when its schema holds something unknown."""
    builder = _Builder(max_int, max_items)
    try:
        schema = builder.schema(model.__pydantic_core_schema__, 1)
        validator = SchemaValidator(schema)
        allowing = SchemaValidator(_Builder(max_int, max_items, "allow").schema(model.__pydantic_core_schema__, 1))
    except (Unsupported, KeyError, TypeError, AttributeError, SchemaError):
        return None
    objects = builder.objects.get(id(model))
    if objects is None:
        return None
    return QuickValidator(validator, allowing, builder.depth, objects)
