"""Param values: defaults, dated values (as OpenFisca parameters), and what-if overrides.

An override replaces a param's whole schedule with one value. Every override, wherever it comes from, passes
`check_override`: text — `--param NAME=VALUE`, a scalar of a scenario's or a policy test's `params:` as it is
written in the YAML file (`2 years`, `[construction, mining]`, `{construction, mining}`, `construction, mining`,
`2021-12-31`, `true`, `90`, a code bare or quoted), all read by one function, `read_text` — and typed Python
values from TOML or the library (`["construction"]`, `3`, a `date`) are checked against the param's declared
type, within the limits, and a misfit is a `ParamError` naming the param, the value and what was expected, in
English and Chinese. The syntax is documented once, in docs/cli.md ("Param values").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from safetyrules.check.checker import Checker
from safetyrules.check.common import suggest
from safetyrules.check.types import (
    ANY,
    BOOL,
    DATE,
    DURATION,
    INSTANT,
    NUMBER,
    STRING,
    EnumType,
    LangType,
    SetType,
)
from safetyrules.engine.values import Duration
from safetyrules.errors import InputError
from safetyrules.limits import DEFAULT, Limits
from safetyrules.lower.program import Program
from safetyrules.syntax import ast
from safetyrules.syntax.parser import parse


class ParamError(InputError):
    """An override names no param, or its value does not fit the param's type."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """A param's values over time: `(start, value)` pairs, start None for the default."""

    entries: tuple[tuple[dt.date | None, Any], ...]
    overridden: bool = False

    def at(self, day: dt.date) -> Any:
        value = self.entries[0][1]
        for start, v in self.entries[1:]:
            if start is not None and start <= day:
                value = v
        return value


def literal_value(e: ast.Expr) -> Any:
    match e:
        case ast.IntLit(value=v) | ast.StringLit(value=v) | ast.DateLit(value=v) | ast.InstantLit(value=v) \
                | ast.BoolLit(value=v):
            return v
        case ast.DurationLit(amount=n, unit=u):
            return Duration.of(n, u)
        case ast.SetLit(items=items):
            return frozenset(literal_value(i) for i in items)
        case ast.NullLit():
            return None
    raise ParamError(f"not a literal: {e!r}")


class ParamTable:
    """Every param's schedule for one run, with its overrides.

    A definition (`define`) may be overridden like a param (`--param key_industries=[construction]`): its value
    is then that constant for the run, checked against the definition's type. It gets a schedule like an
    overridden param (so `value`, `is_overridden` and the results' params report it) and is listed in
    `define_overrides`; the engines read definitions from `definitions`, which leaves it out, so that its name
    reads as a param (see `definitions`).
    """

    def __init__(self, policy: Program, overrides: Mapping[str, Any] | None = None,
                 limits: Limits = DEFAULT) -> None:
        self.policy = policy
        self.limits = limits
        self.schedules: dict[str, Schedule] = {}
        self.overrides: dict[str, Any] = {}  # every override, checked: name → value (params and definitions)
        self.define_overrides: dict[str, Any] = {}  # the overridden definitions: name → value
        for name, decl in policy.params.items():
            entries: list[tuple[dt.date | None, Any]] = []
            for item in decl.items:
                if isinstance(item, ast.ParamDefault):
                    entries.insert(0, (None, literal_value(item.value)))
                elif isinstance(item, ast.ParamFrom):
                    entries.append((item.start, literal_value(item.value)))
            self.schedules[name] = Schedule(tuple(entries))
        if overrides is not None and not isinstance(overrides, Mapping):
            raise ParamError(f"params must be a mapping of param names to values, not {_kind(overrides)}")
        for name, value in (overrides or {}).items():
            checked = self.coerce(name, value)
            self.overrides[name] = checked
            self.schedules[name] = Schedule(((None, checked),), overridden=True)
            if name in policy.defines:
                self.define_overrides[name] = checked
        self._definitions: Mapping[str, ast.DefineDecl] = policy.defines if not self.define_overrides else {
            n: d for n, d in policy.defines.items() if n not in self.define_overrides}

    @property
    def definitions(self) -> Mapping[str, ast.DefineDecl]:
        """The definitions the engines evaluate in this run: the policy's, less the overridden ones, whose names
        then read as params (`value`) — an engine that looks a name up among these definitions first and among
        the params next gives an override precedence. The same mapping object on every call (the interpreter
        caches definition chains per mapping); the policy's own when nothing is overridden."""
        return self._definitions

    def value(self, name: str, day: dt.date) -> Any:
        """The param's value in force on `day`, or an overridden definition's value (KeyError when `name` is
        neither a param nor an overridden definition)."""
        return self.schedules[name].at(day)

    def is_overridden(self, name: str) -> bool:
        return self.schedules[name].overridden

    def coerce(self, name: str, value: Any) -> Any:
        """`value` as a value of the param or definition `name` (see `check_override`)."""
        return check_override(self.policy, name, value, self.limits)


def check_override(policy: Program, name: object, value: Any, limits: Limits = DEFAULT) -> Any:
    """The one gate of every override: `value` (text, or a typed Python value) as a runtime value of the
    param's declared type — or of a definition's type (declared, else the type of its expression) — or
    `ParamError` naming the param, the value and what was expected."""
    if not isinstance(name, str) or (name not in policy.params and name not in policy.defines):
        hint = suggest(name, [*policy.params, *policy.defines]) if isinstance(name, str) else None
        defines = f"; the definitions: {', '.join(sorted(policy.defines))}" if policy.defines else ""
        raise ParamError(f"no param named `{_show(name)}`" + (f"; {hint}" if hint else "")
                         + f" (the params are: {', '.join(sorted(policy.params))}{defines}) / "
                         f"没有名为 `{_show(name)}` 的参数或定义")
    is_param = name in policy.params
    t = policy.param_types[name] if is_param else policy.define_types[name]
    try:
        if t == ANY:
            raise _Misfit("the definition's type is not known")
        return _typed(value, t, limits)
    except _Misfit as e:
        raise ParamError(f"`{_show(value)}` does not fit `{name}`: {e}; expected {expected(t, limits)} / "
                         f"{'参数' if is_param else '定义'} `{name}` 的取值 `{_show(value)}` 不符合其类型，"
                         f"应为{expected_zh(t)}") from None


def read_text(text: str, t: LangType, limits: Limits = DEFAULT) -> Any:
    """The one reading of a param value written as text, whatever wrote it (the command line, a YAML scalar as
    written in the file): a set as `[a, b]`, `{a, b}` or `a, b` (`[]`: empty), a duration `2 years`, a date
    `YYYY-MM-DD`, `true`/`false`, a whole number, an instant, a code bare or quoted; a scalar wholly in quotes
    is read without them. Raises `ParamError` (not naming a param: `check_override` does)."""
    try:
        return _typed(text, t, limits)
    except _Misfit as e:
        raise ParamError(f"`{_show(text)}`: {e}; expected {expected(t, limits)} / 取值 `{_show(text)}` 不符合"
                         f"类型，应为{expected_zh(t)}") from None


class _Misfit(Exception):
    """Why a value does not fit a type (turned into a ParamError naming the param)."""


def expected(t: LangType, limits: Limits = DEFAULT) -> str:
    """What a value of type `t` looks like, for messages."""
    if isinstance(t, SetType):
        if isinstance(t.elem, EnumType):
            return f"a set of {t.elem.name} codes such as [{', '.join(t.elem.codes[:2])}] " \
                   f"(the codes: {', '.join(t.elem.codes)})"
        return f"a set of {expected(t.elem, limits)}, such as [a, b]"
    if isinstance(t, EnumType):
        return f"{_article(t.name)} {t.name} code ({', '.join(t.codes)})"
    shapes: dict[LangType, str] = {
        DURATION: "a duration such as `2 years`, `6 months` or `90 days`",
        DATE: f"a date YYYY-MM-DD between {limits.min_date} and {limits.max_date}",
        INSTANT: "an instant such as 2022-01-01T08:00:00+08:00",
        NUMBER: f"a whole number between -{limits.max_int:,} and {limits.max_int:,}",
        BOOL: "true or false",
        STRING: "text",
    }
    return shapes.get(t, str(t))


def expected_zh(t: LangType) -> str:
    """`expected(t)` in Chinese, for the Chinese half of messages."""
    if isinstance(t, SetType):
        if isinstance(t.elem, EnumType):
            return f"一组 {t.elem.name} 代码，如 [{', '.join(t.elem.codes[:2])}]"
        return f"一组{expected_zh(t.elem)}，如 [a, b]"
    if isinstance(t, EnumType):
        return f"一个 {t.name} 代码（{', '.join(t.codes)}）"
    shapes: dict[LangType, str] = {
        DURATION: "期限，如 `2 years`、`6 months`、`90 days`",
        DATE: "日期 YYYY-MM-DD",
        INSTANT: "时刻，如 2022-01-01T08:00:00+08:00",
        NUMBER: "整数",
        BOOL: "true 或 false",
        STRING: "文本",
    }
    return shapes.get(t, str(t))


_INT = re.compile(r"[+-]?[0-9]{1,40}")
_DURATION = re.compile(r"([0-9]{1,40})\s*(year|month|week|day|hour|minute)s?")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')


def _typed(value: Any, t: LangType, limits: Limits) -> Any:
    if value is None:
        raise _Misfit("no value given")
    if isinstance(t, SetType):
        if isinstance(value, str):
            value = _split(value)
        elif isinstance(value, dict) and value and all(v is None for v in value.values()):
            value = list(value)  # YAML's way to write a set: `{construction, mining}` (keys with no values)
        if not isinstance(value, list | tuple | set | frozenset):
            raise _Misfit(f"{_kind(value)} is not a set")
        if len(value) > limits.max_list_items:
            raise _Misfit(f"{len(value):,} items: more than {limits.max_list_items:,} (max_list_items)")
        return frozenset(_typed(item, t.elem, limits) for item in value)
    if isinstance(value, str):
        if t == STRING:  # text is kept as given, but for the quotes around it
            return _unquote(value.strip()) if _unquote(value.strip()) != value.strip() else value
        return _from_text(_unquote(value.strip()), t, limits)
    if isinstance(t, EnumType) or t == STRING:
        if not isinstance(value, str):
            raise _Misfit(f"{_kind(value)} is not text")
        return _code(value, t) if isinstance(t, EnumType) else value
    if t == BOOL:
        if not isinstance(value, bool):
            raise _Misfit(f"{_kind(value)} is not true or false")
        return value
    if t == NUMBER:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise _Misfit(f"{_kind(value)} is not a whole number")
        if not limits.check_int(value):
            raise _Misfit(f"outside ±{limits.max_int:,} (max_int)")
        return value
    if t == DATE:
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise _Misfit(f"{_kind(value)} is not a date")
        if not limits.min_date <= value <= limits.max_date:
            raise _Misfit("outside the calendar the engines compute in")
        return value
    if t == INSTANT:
        if not isinstance(value, dt.datetime):
            raise _Misfit(f"{_kind(value)} is not an instant")
        return value
    if t == DURATION:
        if isinstance(value, dt.timedelta):
            value = Duration(days=value.days, seconds=value.seconds)
        if not isinstance(value, Duration):
            raise _Misfit(f"{_kind(value)} is not a duration")
        if not all(limits.check_int(n) for n in (value.months, value.days, value.seconds)):
            raise _Misfit(f"longer than {limits.max_int:,} units (max_int)")
        return value
    raise _Misfit(f"a param of type {t} cannot be overridden")


def _from_text(text: str, t: LangType, limits: Limits) -> Any:
    """A scalar written as text (its quotes, if any, already taken off): codes, dates, numbers, true/false,
    durations and instants as policy literals."""
    if isinstance(t, EnumType):
        return _code(text, t)
    if t == BOOL:
        if text.lower() not in ("true", "false"):
            raise _Misfit("not true or false")
        return text.lower() == "true"
    if t == NUMBER:
        if not _INT.fullmatch(text):
            raise _Misfit("not a whole number")
        return _typed(int(text), t, limits)
    if t == DATE:
        day = text
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", day):
            raise _Misfit("not a date YYYY-MM-DD")
        try:
            return _typed(dt.date.fromisoformat(day), t, limits)
        except ValueError:
            raise _Misfit("not a calendar date") from None
    if t == DURATION:
        m = _DURATION.fullmatch(text)
        if not m:
            raise _Misfit("not a duration")
        return _typed(Duration.of(int(m[1]), m[2]), t, limits)
    if len(text) > 100:  # no instant is this long: do not parse a document
        raise _Misfit("too long")
    return _typed(parse_value(text, t), t, limits)


def _code(text: str, t: EnumType) -> str:
    if text in t.codes:
        return text
    hint = suggest(text, t.codes)
    raise _Misfit(f"`{_show(text)}` is not {_article(t.name)} {t.name} code" + (f" ({hint})" if hint else ""))


def _article(word: str) -> str:
    return "an" if word[:1] in tuple("aeiou") else "a"


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _split(text: str) -> list[str]:
    """The items of a set written as text: `[a, b]`, `{"a", "b"}` or `a, b` (empty brackets: no item)."""
    text = text.strip()
    if text[:1] in ("[", "{"):
        if text[-1:] != {"[": "]", "{": "}"}[text[0]]:
            raise _Misfit(f"`{text[0]}` is not closed")
        text = text[1:-1].strip()
    if not text:
        return []
    items: list[str] = []
    pos = 0
    while True:
        quoted = _QUOTED.match(text, pos)
        end = text.find(",", quoted.end() if quoted else pos)
        item = text[pos:] if end < 0 else text[pos:end]
        if not item.strip():
            raise _Misfit("an empty item")
        items.append(item.strip())
        if end < 0:
            return items
        pos = end + 1
        while pos < len(text) and text[pos].isspace():
            pos += 1


def _kind(value: object) -> str:
    kinds = {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", tuple: "a list",
             dict: "a mapping", dt.date: "a date", dt.datetime: "an instant"}
    return kinds.get(type(value), f"a {type(value).__name__}")


def _show(value: object, width: int = 60) -> str:
    """A value as the user wrote it, shortened (a 5000-digit number is not printed in full)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"a number of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    if isinstance(value, list | tuple | set | frozenset):
        text = "[" + ", ".join(_show(v, width) for v in list(value)[:10]) + (", …" if len(value) > 10 else "") + "]"
    elif isinstance(value, Duration):
        text = value.text()
    elif isinstance(value, dt.date):
        text = value.isoformat()
    else:
        text = str(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def parse_value(text: str, t: LangType, name: str = "value") -> Any:
    """Parse `1 year`, `2021-12-31`, `{"construction", "mining"}`, `true`, `90` as a policy literal of type `t`."""
    result = parse(f"define {name} = {text}", "<override>")
    if not result.ok or len(result.module.decls) != 1:
        raise _Misfit("cannot read it: " + "; ".join(d.message for d in result.diagnostics[:3]))
    decl = result.module.decls[0]
    if not isinstance(decl, ast.DefineDecl):
        raise _Misfit("cannot read it")
    checker = Checker([])
    checker._constant(decl.value, t)
    if checker.sink.items:
        raise _Misfit("; ".join(d.message for d in checker.sink.items))
    return literal_value(decl.value)
