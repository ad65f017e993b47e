"""Checks of one raw record, the same whichever way it arrives (a file loader or the library API).

:func:`validate_record` is the one entry point: it bounds the record's shape (nesting, list sizes, numbers
the engines cannot hold, duplicate JSON keys, text that is not Unicode) *iteratively*, then validates it
against the contract with the run's :class:`~safetyrules.limits.Limits`. Every problem is a
:class:`~.errors.FieldError` naming the field, in English and Chinese.

JSON text is decoded with a :class:`RecordDecoder`, which raises nothing but ``json.JSONDecodeError`` and
``RecursionError`` (the loaders turn both into a positioned rejection): integers too long to convert,
``NaN``/``Infinity`` and repeated keys become markers that :func:`validate_record` reports at their path,
and the decoder says when it made one, so that the common record is checked without a walk over every value.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from safetyrules.limits import DEFAULT, Limits

from ._shapes import field_shapes
from .errors import FieldError, Position, field_errors, zh_field
from .models import Enterprise

MAX_ERRORS = 50
"""Problems kept per record; the rest are counted in one last error (a 100,000-item list of bad items
would otherwise print 100,000 lines for one record)."""

_MAX_DIGITS = 4000  # Python refuses int() of more than 4300 digits; longer integers become a marker


# -- decoding ------------------------------------------------------------------------------------------


class BadValue:
    """A JSON value the record cannot keep (an integer too long to convert, ``NaN``), reported at its path."""

    __slots__ = ("code", "message", "zh")

    def __init__(self, code: str, message: str, zh: str) -> None:
        self.code, self.message, self.zh = code, message, zh

    def __repr__(self) -> str:
        return f"<{self.message}>"


class DuplicateKeys(dict[str, Any]):
    """A JSON object that gave some keys more than once (the last value kept, the record rejected)."""

    duplicates: tuple[str, ...] = ()


# a \uD800-\uDFFF escape: the only way JSON text can put an unpaired surrogate into a string
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class RecordDecoder:
    """A JSON decoder for records; :attr:`suspect` tells whether the last text decoded needs the thorough
    walk of :func:`validate_record` (it made a marker or may hold an unpaired surrogate). One per reader:
    the flag is state."""

    def __init__(self) -> None:
        self.suspect = False
        self._decoder = json.JSONDecoder(
            object_pairs_hook=self._object, parse_int=self._int, parse_constant=self._constant
        )

    def decode(self, text: str) -> Any:
        """The value of a whole text (JSON Lines: one line)."""
        self.suspect = _SURROGATE_ESCAPE.search(text) is not None
        return self._decoder.decode(text)

    def raw_decode(self, text: str, index: int) -> tuple[Any, int]:
        """The value starting at ``index`` and the index after it."""
        self.suspect = False
        value, end = self._decoder.raw_decode(text, index)
        self.suspect = self.suspect or _SURROGATE_ESCAPE.search(text, index, end) is not None
        return value, end

    def _int(self, text: str) -> int | BadValue:
        digits = len(text.lstrip("-"))
        if digits > _MAX_DIGITS:
            self.suspect = True
            message = f"an integer of {digits} digits is beyond any integer limit"
            return BadValue("int_limit", message, f"整数有 {digits} 位，超出范围")
        return int(text)

    def _constant(self, name: str) -> BadValue:
        self.suspect = True
        return BadValue("json_invalid", f"{name} is not a JSON number", f"{name} 不是 JSON 数值")

    def _object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) == len(pairs):
            return result
        self.suspect = True
        seen: set[str] = set()
        repeated: dict[str, None] = {}
        for key, _ in pairs:
            if key in seen:
                repeated[key] = None
            seen.add(key)
        marked = DuplicateKeys(result)
        marked.duplicates = tuple(repeated)
        return marked


# -- the shape walk ------------------------------------------------------------------------------------


def _record_error(code: str, message: str, zh: str, path: str = "") -> FieldError:
    return FieldError(path, message, zh_field(path, zh), code)


def nesting_error(limits: Limits, path: str = "") -> FieldError:
    """The rejection of a value nested deeper than ``limits.max_nesting`` (also used when the JSON decoder
    itself runs out of depth)."""
    n = limits.max_nesting
    return _record_error("nesting_limit", f"nested deeper than {n} levels", f"嵌套超过 {n} 层", path)


def list_error(size: int, limits: Limits, path: str) -> FieldError:
    """The rejection of a list longer than ``limits.max_list_items``."""
    n = limits.max_list_items
    return _record_error(
        "list_limit",
        f"a list of {size} items is longer than the limit of {n}",
        f"列表有 {size} 项，超过上限 {n} 项",
        path,
    )


Trail = tuple[Any, str | int] | None  # (parent trail, key): a path built only when a problem needs it


def _trail(keys: Iterable[str | int]) -> Trail:
    trail: Trail = None
    for key in keys:
        trail = (trail, key)
    return trail


def _keys(trail: Trail) -> list[str | int]:
    """The keys of a trail, from the record down."""
    keys: list[str | int] = []
    while trail is not None:
        trail, key = trail
        keys.append(key)
    return keys[::-1]


def _path(trail: Trail) -> str:
    path = ""
    for key in _keys(trail):
        path = _child(path, key)
    return path if len(path) <= 120 else path[:117] + "..."  # a path 60 levels deep is mostly "[0]"


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if len(key) > 40 or not key.isidentifier():  # a hostile key must not make the message huge or unreadable
        key = repr(key if len(key) <= 40 else key[:37] + "...")
    return f"{path}.{key}" if path else key


def _unpaired(text: str) -> bool:
    """Whether ``text`` holds an unpaired surrogate (JSON ``"\\ud800"``), which no output can encode."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _text_error(trail: Trail) -> FieldError:
    return _record_error(
        "text_invalid",
        "text holds an unpaired surrogate (\\ud800-\\udfff), which is not a character",
        "文本含有不成对的代理码位（\\ud800-\\udfff），不是有效字符",
        _path(trail),
    )


_WALKED = (dict, list, DuplicateKeys, BadValue)


def _walk(stack: list[tuple[object, int, Trail]], limits: Limits, errors: list[FieldError]) -> None:
    """Walk values with an explicit stack (any depth is safe), appending problems to ``errors``."""
    walked = _WALKED
    max_nesting, max_items = limits.max_nesting, limits.max_list_items
    while stack and len(errors) < MAX_ERRORS:
        value, depth, trail = stack.pop()
        if isinstance(value, BadValue):
            errors.append(_record_error(value.code, value.message, value.zh, _path(trail)))
            continue
        if depth > max_nesting:
            errors.append(nesting_error(limits, _path(trail)))
            continue
        children: list[tuple[object, int, Trail]] = []
        if isinstance(value, list):
            if len(value) > max_items:
                errors.append(list_error(len(value), limits, _path(trail)))
                continue
            for i, item in enumerate(value):
                kind = type(item)
                if kind is str:  # `isascii` inline: almost every text is ASCII, and a call per text shows
                    if not item.isascii() and _unpaired(item):
                        errors.append(_text_error((trail, i)))
                elif kind in walked:
                    children.append((item, depth + 1, (trail, i)))
        elif isinstance(value, dict):
            if isinstance(value, DuplicateKeys):
                for key in value.duplicates:
                    errors.append(
                        _record_error(
                            "duplicate_key",
                            f"the key {key[:40]!r} is given more than once in one object",
                            f"同一对象中键 {key[:40]} 出现多次",
                            _path((trail, key)),
                        )
                    )
            for key, item in value.items():
                kind = type(item)
                if kind is str:
                    if not item.isascii() and _unpaired(item):
                        errors.append(_text_error((trail, key)))
                elif kind in walked:
                    children.append((item, depth + 1, (trail, key)))
                if type(key) is str and not key.isascii() and _unpaired(key):
                    errors.append(_text_error((trail, key)))
        stack.extend(reversed(children))  # in document order


def shape_errors(raw: object, limits: Limits = DEFAULT) -> list[FieldError]:
    """Nesting beyond ``max_nesting`` (the record itself is level 1), lists longer than ``max_list_items``,
    :class:`BadValue`\\ s, repeated keys and text holding unpaired surrogates, each at its path. At most
    :data:`MAX_ERRORS`."""
    errors: list[FieldError] = []
    _walk([(raw, 1, None)], limits, errors)
    return errors[:MAX_ERRORS]


# The list fields of the contract by path (lists of objects hold no lists: see columnar.tables)
def _list_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for name, shape in field_shapes(model).items():
        if shape.kind == "list":
            out.append((*prefix, name))
        elif shape.kind == "object" and shape.model is not None:
            out.extend(_list_paths(shape.model, (*prefix, name)))
    return out


@cache
def _model_list_paths(model: type[BaseModel]) -> tuple[tuple[str, ...], ...]:
    return tuple(_list_paths(model))


def _list_sizes(raw: dict[str, Any], limits: Limits, model: type[BaseModel] = Enterprise) -> list[FieldError]:
    """Contract lists longer than ``max_list_items``, found before validation spends time on their items."""
    errors = []
    for path in _model_list_paths(model):
        value: Any = raw
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, list) and len(value) > limits.max_list_items:
            errors.append(list_error(len(value), limits, ".".join(path)))
    return errors


def _extra_nodes(
    model: BaseModel, trail: Trail = None, out: list[tuple[BaseModel, Trail]] | None = None
) -> list[tuple[BaseModel, Trail]]:
    """The models of a validated record that hold extra fields, with their trails, in document order
    (recursive: the contract's models nest four deep at most)."""
    if out is None:
        out = []
    if model.__pydantic_extra__:
        out.append((model, trail))
    for name in _nested_fields(type(model)):
        value = getattr(model, name)
        if value is None:
            continue
        if isinstance(value, BaseModel):
            _extra_nodes(value, (trail, name), out)
        else:
            here = (trail, name)
            for i, item in enumerate(value):
                _extra_nodes(item, (here, i), out)
    return out


def _depth(trail: Trail) -> int:
    depth = 1  # the record is level 1; each object, list and list item one more
    while trail is not None:
        trail = trail[0]
        depth += 1
    return depth


def _extra_errors(nodes: list[tuple[BaseModel, Trail]], limits: Limits) -> list[FieldError]:
    """The shape walk over the extra fields only: the contract's own fields have the contract's depth."""
    errors: list[FieldError] = []
    for node, trail in nodes:
        assert node.__pydantic_extra__ is not None
        depth = _depth(trail)
        stack = [(value, depth + 1, (trail, name)) for name, value in node.__pydantic_extra__.items()
                 if type(value) in _WALKED]
        _walk(list(reversed(stack)), limits, errors)
    return errors[:MAX_ERRORS]


def capped(errors: list[FieldError]) -> list[FieldError]:
    """``errors`` with at most :data:`MAX_ERRORS` kept and the others counted in a last one."""
    if len(errors) <= MAX_ERRORS:
        return errors
    more = len(errors) - MAX_ERRORS
    return [
        *errors[:MAX_ERRORS],
        _record_error("more_errors", f"… and {more} more problems", f"……另有 {more} 个问题"),
    ]


@dataclass(frozen=True, slots=True)
class RecordCheck:
    """What :func:`validate_record` found: the model (``None`` when rejected), the problems, and the extra
    fields of a valid record (path, as in :func:`unknown_fields`, with the contract field its name is
    closest to)."""

    model: BaseModel | None  # an `Enterprise`, or the subject model of a declared schema
    errors: list[FieldError]
    unknown_fields: dict[str, str | None] = field(default_factory=dict)


def validate_record(
    raw: object,
    limits: Limits = DEFAULT,
    *,
    sources: Mapping[str, Position] | None = None,
    thorough: bool = True,
    model: type[BaseModel] = Enterprise,
) -> RecordCheck:
    """Validate one record as every loader does.

    ``raw`` is a decoded record (a dict from a :class:`RecordDecoder`, given to the API, or built from a
    CSV/Excel row); ``sources`` maps list items (``hazards[0]``) to the rows they came from. ``thorough``
    walks every value (required for a dict from anywhere); a reader passes ``False`` when it knows there is
    no marker and no unpaired surrogate to find (its :class:`RecordDecoder` was not :attr:`suspect`), which
    checks the same but walks only list sizes and the extra fields. What only a file can break (its
    encoding, its syntax, an ``id`` repeated across records) is the loaders' own business. ``model`` is the
    subject's model (a policy's `FactContract.model`; default: the built-in 附件4 `Enterprise`).
    """
    if not isinstance(raw, dict):
        kind = "array" if isinstance(raw, list) else type(raw).__name__
        return RecordCheck(
            None,
            [_record_error("not_object", f"expected a JSON object, got {kind}", f"记录应为 JSON 对象，实为 {kind}")],
        )
    # refused before validation: validating a record this deep or large could exhaust the stack or take minutes
    errors = shape_errors(raw, limits) if thorough else _list_sizes(raw, limits, model)
    if errors:
        return RecordCheck(None, errors)
    try:
        valid = model.model_validate(raw, context={"limits": limits})
    except ValidationError as exc:
        return RecordCheck(None, capped(field_errors(exc, sources)))
    nodes = _extra_nodes(valid)
    if not nodes:
        return RecordCheck(valid, [])
    if not thorough:
        errors = _extra_errors(nodes, limits)
        if errors:
            return RecordCheck(None, errors)
    return RecordCheck(valid, [], _unknown(nodes))


# -- unknown fields ------------------------------------------------------------------------------------


@cache
def _nested_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """Fields of ``model`` holding a model or a list of models."""
    return tuple(
        name
        for name, shape in field_shapes(model).items()
        if shape.kind == "object" or (shape.item is not None and shape.item.kind == "object")
    )


@cache
def _suggestion(model: type[BaseModel], name: str) -> str | None:
    close = difflib.get_close_matches(name, list(model.model_fields), n=1, cutoff=0.75)
    return close[0] if close else None


def _unknown(nodes: list[tuple[BaseModel, Trail]]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for node, trail in nodes:
        prefix = ""
        for key in _keys(trail):
            prefix += "[]" if isinstance(key, int) else (f".{key}" if prefix else key)
        prefix += "." if prefix else ""
        assert node.__pydantic_extra__ is not None
        for name in node.__pydantic_extra__:
            found.setdefault(prefix + name, _suggestion(type(node), name))
    return found


def unknown_fields(model: BaseModel) -> dict[str, str | None]:
    """The extra fields of a validated record and of its nested objects (list items as ``name[]``), in the
    order met, each with the contract field its name is closest to (a likely misspelling), if any."""
    return _unknown(_extra_nodes(model))
