"""Param values: defaults, dated values (as OpenFisca parameters), and what-if overrides.

An override replaces a param's whole schedule with one value. Overrides given as text (`--param
name=value` on the command line) are parsed with the policy grammar and type-checked like a default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from safetyrules.check.checker import CheckedPolicy, Checker
from safetyrules.check.types import STRING, LangType, SetType
from safetyrules.engine.values import Duration
from safetyrules.errors import InputError
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
    def __init__(self, policy: CheckedPolicy, overrides: Mapping[str, Any] | None = None) -> None:
        self.policy = policy
        self.schedules: dict[str, Schedule] = {}
        for name, decl in policy.params.items():
            entries: list[tuple[dt.date | None, Any]] = []
            for item in decl.items:
                if isinstance(item, ast.ParamDefault):
                    entries.insert(0, (None, literal_value(item.value)))
                elif isinstance(item, ast.ParamFrom):
                    entries.append((item.start, literal_value(item.value)))
            self.schedules[name] = Schedule(tuple(entries))
        for name, value in (overrides or {}).items():
            self.schedules[name] = Schedule(((None, self.coerce(name, value)),), overridden=True)

    def value(self, name: str, day: dt.date) -> Any:
        """The param's value in force on `day` (KeyError when `name` is not a param)."""
        return self.schedules[name].at(day)

    def is_overridden(self, name: str) -> bool:
        return self.schedules[name].overridden

    def coerce(self, name: str, value: Any) -> Any:
        if name not in self.policy.params:
            known = ", ".join(sorted(self.policy.params))
            raise ParamError(f"no param named `{name}` (the params are: {known})")
        t = self.policy.param_types[name]
        if isinstance(value, str) and t != STRING:
            return parse_value(value, t, name)
        if isinstance(t, SetType) and isinstance(value, list | tuple | set | frozenset):
            return frozenset(value)
        return value


def parse_value(text: str, t: LangType, name: str = "value") -> Any:
    """Parse `1 year`, `2021-12-31`, `{"construction", "mining"}`, `true`, `90` as a value of type `t`."""
    result = parse(f"define {name} = {text}", "<override>")
    if not result.ok or not result.module.decls:
        raise ParamError(f"cannot read `{text}` as a value for `{name}`: " + "; ".join(
            d.message for d in result.diagnostics))
    decl = result.module.decls[0]
    assert isinstance(decl, ast.DefineDecl)
    checker = Checker([])
    checker._constant(decl.value, t)
    if checker.sink.items:
        raise ParamError(f"`{text}` does not fit `{name}`: " + "; ".join(d.message for d in checker.sink.items))
    return literal_value(decl.value)

