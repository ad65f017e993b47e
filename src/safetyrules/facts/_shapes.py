"""Introspection of the fact models' plain annotations (``X | None``, ``list[X] | None``, nested models).

Shared by the models' own date checks and by the CSV/Excel loaders, which convert text cells by the
type of the field they fill.
"""

from __future__ import annotations

import datetime as dt
import decimal
import types
import typing
from dataclasses import dataclass
from enum import Enum, StrEnum
from functools import cache
from typing import Literal

from pydantic import BaseModel

ScalarKind = Literal["str", "bool", "int", "decimal", "date", "datetime", "enum"]


@dataclass(frozen=True, slots=True)
class Shape:
    """The shape of one field: a scalar, a nested model, or a list of either."""

    kind: Literal["scalar", "object", "list"]
    scalar: ScalarKind | None = None
    model: type[BaseModel] | None = None
    item: Shape | None = None
    enum: type[Enum] | None = None


def _strip_none(annotation: object) -> object:
    """``X | None`` -> ``X``, ``Annotated[X, …]`` -> ``X``; anything else unchanged."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            annotation = args[0]
    if typing.get_origin(annotation) is typing.Annotated:
        return typing.get_args(annotation)[0]
    return annotation


def shape_of(annotation: object) -> Shape:
    """Classify a field annotation of the fact models."""
    ann = _strip_none(annotation)
    if typing.get_origin(ann) is list:
        (item,) = typing.get_args(ann)
        return Shape("list", item=shape_of(item))
    if isinstance(ann, type):
        if issubclass(ann, BaseModel):
            return Shape("object", model=ann)
        if issubclass(ann, StrEnum):
            return Shape("scalar", scalar="enum", enum=ann)
        if issubclass(ann, bool):
            return Shape("scalar", scalar="bool")
        if issubclass(ann, int):
            return Shape("scalar", scalar="int")
        if issubclass(ann, decimal.Decimal):
            return Shape("scalar", scalar="decimal")
        if issubclass(ann, dt.datetime):
            return Shape("scalar", scalar="datetime")
        if issubclass(ann, dt.date):
            return Shape("scalar", scalar="date")
        if issubclass(ann, str):
            return Shape("scalar", scalar="str")
    raise TypeError(f"unsupported annotation in the fact models: {annotation!r}")


@cache
def field_shapes(model: type[BaseModel]) -> dict[str, Shape]:
    """Shapes of all declared fields of ``model`` (cached per class)."""
    return {name: shape_of(info.annotation) for name, info in model.model_fields.items()}
