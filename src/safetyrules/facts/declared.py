"""Pydantic models built at load time from a declared :class:`~.schema.FactSchema`.

The models follow the conventions of the fact contract (see `models.py`): every field but the subject's key
is optional (absent = unknown, ``null`` = known not to exist), extra fields are kept, booleans and integers are
strict, dates and instants are parsed strictly, integers stay within ``Limits.max_int``, and a `>= other`
date order is checked with a positioned error. Enumerations become ``StrEnum`` classes whose codes are the
declared codes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import warnings
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, Strict, ValidationInfo, create_model, field_validator
from pydantic_core import PydanticCustomError

from .models import (
    LOCAL_TIMEZONE,
    BoundedInt,
    FactModel,
    _date_list_or_none,
    _date_or_none,
    _not_before,
    json_schema_bounds,
    parse_datetime,
    parse_items,
)
from .schema import FactSchema, FieldSpec, Label

_SCALAR_TYPES: dict[str, Any] = {
    "text": str,
    "int": BoundedInt,
    "decimal": decimal.Decimal,
    "bool": bool,
    "date": dt.date,
    "datetime": dt.datetime,
}


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) or name


def _description(label: Label | None, doc: tuple[str, ...]) -> str | None:
    if doc:
        return " ".join(doc)
    return f"{label.zh} / {label.en}" if label is not None else None


def _instants_in(timezone: dt.timezone) -> Any:
    """Parse an instant strictly and convert it to the schema's local time (so its date is the local day)."""
    def parse(value: object) -> object:
        if value is None:
            return value
        instant = parse_datetime(value)
        try:
            return instant.astimezone(timezone)
        except OverflowError:  # at the calendar's very ends local time is past 9999-12-31: keep its own offset
            return instant

    return parse


ENUM_NAME = "__safetyrules_name__"
"""Attribute of a declared enumeration's class: its name in the policy language (`fire_class`)."""
ORDERS = "__safetyrules_orders__"
"""Attribute of a declared record's model: its date orders, ``((later, earlier), …)``, for table validation."""
ENUM_LABELS = "__safetyrules_labels__"
"""Attribute of a declared enumeration's class: each code's label, ``{code: (zh, en)}``, for explanations."""


def _order_first(fields: dict[str, FieldSpec]) -> list[FieldSpec]:
    """The fields with each date that another must not precede (`>= other`) placed before it: pydantic checks
    a field against the fields validated before it only."""
    placed: dict[str, FieldSpec] = {}

    def place(f: FieldSpec, seen: frozenset[str]) -> None:
        if f.name in placed or f.name in seen:
            return
        if f.not_before is not None and f.not_before in fields:
            place(fields[f.not_before], seen | {f.name})
        placed[f.name] = f

    for f in fields.values():
        place(f, frozenset())
    return list(placed.values())


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("empty_id", "the id is empty")
    return value


@dataclass(frozen=True, slots=True)
class DeclaredModels:
    """The models of one schema: the subject's model, and every record's and enumeration's class by name."""

    subject: type[BaseModel]
    records: dict[str, type[BaseModel]]
    enums: dict[str, type[StrEnum]]


def build_models(schema: FactSchema) -> DeclaredModels:
    """Pydantic models for ``schema`` (records are built after the records they contain; there are no cycles)."""
    enums: dict[str, type[StrEnum]] = {}
    for name, spec in schema.enums.items():
        # the functional API: mypy reads StrEnum(...) as an instance, it is a new class
        enums[name] = StrEnum(_camel(name), {code.upper(): code for code in spec.codes})  # type: ignore[assignment]
    for name, cls in enums.items():
        spec = schema.enums[name]
        cls.__doc__ = _description(spec.label, spec.doc)
        setattr(cls, ENUM_NAME, name)
        setattr(cls, ENUM_LABELS, {code: (label.zh, label.en) for code, label in spec.codes.items()})
    timezone = schema.root.timezone or LOCAL_TIMEZONE
    records: dict[str, type[BaseModel]] = {}

    def annotation(f: FieldSpec) -> Any:
        if f.type in _SCALAR_TYPES:
            item: Any = _SCALAR_TYPES[f.type]
        elif f.type in enums:
            item = enums[f.type]
        else:
            item = build(f.type)
        if f.kind in ("list", "set"):
            if f.type in ("int", "bool"):  # as strict as a single value: "5" is not a number, 1 not a yes
                item = Annotated[item, Strict()]
            return list[item]
        return item

    def build(name: str) -> type[BaseModel]:
        if name in records:
            return records[name]
        spec = schema.records[name]
        fields: dict[str, Any] = {}
        validators: dict[str, Any] = {}
        for f in _order_first(spec.fields):
            strict = f.kind == "simple" and f.type in ("bool", "int")
            bounds: dict[str, Any] = {k: v for k, v in (("ge", f.minimum), ("le", f.maximum)) if v is not None}
            if f.name == spec.key:
                fields[f.name] = (annotation(f), Field(description=_description(f.label, f.doc)))
                validators[f"_{f.name}_not_blank"] = field_validator(f.name)(_not_blank)
                continue
            info = Field(default=None, description=_description(f.label, f.doc), strict=strict or None, **bounds)
            fields[f.name] = (annotation(f) | None, info)
            if f.type in ("date", "datetime"):
                parse = _date_or_none if f.type == "date" else _instants_in(timezone)
                if f.kind != "simple":
                    parse = _date_list_or_none if f.type == "date" else parse_items(_instants_in(timezone))
                validators[f"_{f.name}_strict"] = field_validator(f.name, mode="before")(parse)
            if f.not_before is not None:
                validators[f"_{f.name}_order"] = field_validator(f.name)(_order(f.name, f.not_before))
        with warnings.catch_warnings():  # a field named `copy`, `json`, `schema`…: the field wins, as it should
            warnings.filterwarnings("ignore", message=".*shadows an attribute in parent", category=UserWarning)
            model: type[BaseModel] = create_model(
                _camel(name), __base__=FactModel, __doc__=_description(spec.label, spec.doc),
                __validators__=validators, **fields)
        setattr(model, ORDERS, tuple((f.name, f.not_before) for f in spec.fields.values() if f.not_before))
        records[name] = model
        return model

    for name in schema.records:
        build(name)
    return DeclaredModels(records[schema.subject], records, enums)


def is_declared(model: type[BaseModel]) -> bool:
    """Whether `model` was built from a declared schema (not one of the hand-written 附件4 models)."""
    return ORDERS in model.__dict__


def date_orders(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """A declared record's date orders: ``(field, the field it is never before)``."""
    orders: tuple[tuple[str, str], ...] = model.__dict__.get(ORDERS, ())
    return orders


def _order(name: str, earlier: str) -> Any:
    def check(cls: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
        return _not_before(value, info, earlier, "date_order",
                           f"{name} is {{value}}, before {earlier} ({{earlier}})")

    return classmethod(check)


def differences(declared: type[BaseModel], builtin: type[BaseModel], path: str = "") -> list[str]:
    """Where two fact models differ in what they accept: field names, shapes, enumeration codes, bounds and
    whether a field is required (descriptions aside). Empty when they accept the same records."""
    from ._shapes import Shape, field_shapes

    found: list[str] = []
    ours, theirs = field_shapes(declared), field_shapes(builtin)
    for name in sorted(set(ours) ^ set(theirs)):
        found.append(f"{path}{name}: only in the {'declared' if name in ours else 'built-in'} schema")

    def compare(a: Shape, b: Shape, where: str) -> None:
        if (a.kind, a.scalar) != (b.kind, b.scalar):
            found.append(f"{where}: {a.kind} {a.scalar or ''} against {b.kind} {b.scalar or ''}".rstrip())
        elif a.kind == "list" and a.item is not None and b.item is not None:
            compare(a.item, b.item, where + "[]")
        elif a.kind == "object" and a.model is not None and b.model is not None:
            found.extend(differences(a.model, b.model, where + "."))
        elif a.enum is not None and b.enum is not None and [m.value for m in a.enum] != [m.value for m in b.enum]:
            found.append(f"{where}: codes {[m.value for m in a.enum]} against {[m.value for m in b.enum]}")

    for name in sorted(set(ours) & set(theirs)):
        compare(ours[name], theirs[name], path + name)
        mine, other = declared.model_fields[name], builtin.model_fields[name]
        if mine.is_required() != other.is_required():
            found.append(f"{path}{name}: required in one schema only")
        bounds = [sorted((type(m).__name__, str(m)) for m in f.metadata if hasattr(m, "ge") or hasattr(m, "le"))
                  for f in (mine, other)]
        if bounds[0] != bounds[1]:
            found.append(f"{path}{name}: bounds {bounds[0]} against {bounds[1]}")
    return found


def json_schema(schema: FactSchema) -> dict[str, Any]:
    """JSON Schema of one subject record; enumerations carry their labels (``x-labels-zh``, ``x-labels-en``),
    like the built-in contract's."""
    models = build_models(schema)
    result = models.subject.model_json_schema()
    json_schema_bounds(result)
    defs: dict[str, Any] = result.get("$defs", {})
    for name, spec in schema.enums.items():
        entry = defs.get(_camel(name))
        if entry is not None:
            entry["x-labels-zh"] = {code: label.zh for code, label in spec.codes.items()}
            entry["x-labels-en"] = {code: label.en for code, label in spec.codes.items()}
            entry["description"] = "; ".join(f"{code} {label.zh}" for code, label in spec.codes.items())
    return result


def _type_text(f: FieldSpec) -> str:
    return f.type if f.kind == "simple" else f"{f.kind}<{f.type}>"


def _fields(schema: FactSchema) -> dict[str, tuple[FieldSpec, str]]:
    """Every field of the subject and of the records under it, by path (``hazards[].found_on``), with the
    record that holds it."""
    found: dict[str, tuple[FieldSpec, str]] = {}
    stack = [(schema.subject, "")]
    while stack:
        name, prefix = stack.pop()
        for f in schema.records[name].fields.values():
            path = prefix + f.name
            found[path] = (f, name)
            if f.type in schema.records:
                stack.append((f.type, f"{path}[]." if f.kind == "list" else f"{path}."))
    return found


@dataclass(frozen=True, slots=True)
class SchemaChange:
    """One difference between two versions of a schema, and what it means for records already stored."""

    kind: Literal["added", "removed", "changed"]
    path: str
    what: str
    compatible: bool  # records valid under the old schema are still valid under the new one

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "what": self.what, "compatible": self.compatible}

    def __str__(self) -> str:
        sign = {"added": "+", "removed": "-", "changed": "~"}[self.kind]
        note = "" if self.compatible else "  (old records may no longer load)"
        return f"{sign} {self.path}: {self.what}{note}"


def schema_diff(old: FactSchema, new: FactSchema) -> list[SchemaChange]:
    """What changed from ``old`` to ``new``, field by field (paths from the subject), for integrators: an added
    field is compatible (old records lack it: unknown); a removed one leaves old values as unknown extra fields;
    a changed type, fewer enumeration codes, a tighter bound or a new date order may reject old records."""
    changes: list[SchemaChange] = []
    before, after = _fields(old), _fields(new)
    for path in sorted(set(after) - set(before)):
        f, _ = after[path]
        changes.append(SchemaChange("added", path, f"new field, {_type_text(f)} (absent in old records: unknown)",
                                    True))
    for path in sorted(set(before) - set(after)):
        f, _ = before[path]
        changes.append(SchemaChange("removed", path, f"{_type_text(f)}; in old records now an unknown extra field, "
                                    "kept and ignored by the rules", True))
    for path in sorted(set(before) & set(after)):
        (a, _), (b, _) = before[path], after[path]
        if _type_text(a) != _type_text(b) and not (a.type in old.records and b.type in new.records
                                                   and a.kind == b.kind):
            changes.append(SchemaChange("changed", path, f"type {_type_text(a)} → {_type_text(b)}", False))
            continue
        if a.type in old.enums and b.type in new.enums:
            codes_a, codes_b = set(old.enums[a.type].codes), set(new.enums[b.type].codes)
            if codes_b - codes_a:
                changes.append(SchemaChange("changed", path, f"new codes {', '.join(sorted(codes_b - codes_a))}",
                                            True))
            if codes_a - codes_b:
                changes.append(SchemaChange("changed", path,
                                            f"codes removed {', '.join(sorted(codes_a - codes_b))}", False))
        if a.minimum != b.minimum:
            looser = b.minimum is None or (a.minimum is not None and b.minimum < a.minimum)
            changes.append(SchemaChange("changed", path, f"least value {a.minimum} → {b.minimum}", looser))
        if a.maximum != b.maximum:
            looser = b.maximum is None or (a.maximum is not None and b.maximum > a.maximum)
            changes.append(SchemaChange("changed", path, f"greatest value {a.maximum} → {b.maximum}", looser))
        if a.not_before != b.not_before:
            changes.append(SchemaChange("changed", path, f"never before {a.not_before} → {b.not_before}",
                                        b.not_before is None))
        if a.kept != b.kept or a.dated != b.dated:
            changes.append(SchemaChange("changed", path, "its role as of a date (kept or dated) changed", True))
    if old.subject != new.subject:
        changes.insert(0, SchemaChange("changed", "", f"subject {old.subject} → {new.subject}", True))
    return changes
