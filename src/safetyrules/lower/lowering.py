"""Lowering: a checked policy → the `Program` every engine runs (no data involved, done once per policy)."""

from __future__ import annotations

from typing import TypeVar

from safetyrules.check.checker import CheckedPolicy, reserved_params_of
from safetyrules.check.types import BOOL, set_type
from safetyrules.lower.program import Program, RuleIR
from safetyrules.syntax import ast
from safetyrules.syntax.revision import canonical

_P = TypeVar("_P")


def lower(policy: CheckedPolicy) -> Program:
    """The program of a checked policy."""
    header = policy.header
    declared = [d.name for m in policy.modules for d in m.decls if isinstance(d, ast.RuleDecl)]
    position = {name: i for i, name in enumerate(declared)}
    rules = tuple(_rule(r, position.get(r.name, len(position)), policy) for r in policy.rules)
    return Program(
        name=header.name,
        title=t.text if (t := _first(header.items, ast.Title)) is not None else None,
        document=d.name if (d := _first(header.items, ast.Document)) is not None else "",
        period=_first(header.items, ast.Period),
        catalogue=policy.catalogue,
        rules=rules,
        params=policy.params,
        param_types=policy.param_types,
        defines=policy.defines,
        define_types=policy.define_types,
        contract=policy.contract,
        schema=policy.schema,
        builtin_params=policy.builtin_params,
    )


def _rule(decl: ast.RuleDecl, position: int, policy: CheckedPolicy) -> RuleIR:
    # The form every engine runs: a `candidate` as its obligation, a deadline without the param name its text
    # gives (the engines read the reserved param by name). Equal to the rule written in the earlier revision.
    r = canonical(decl)
    for require in r.all(ast.Require):
        if require.cond.checked_type is None:  # the `not C` of a candidate's `when C`
            set_type(require.cond, BOOL)
    title = r.first(ast.Title)
    severity = r.first(ast.SeverityItem)
    effect = r.first(ast.Effect)
    remedy = r.first(ast.Remedy)
    effective = r.first(ast.Effective)
    applies = r.first(ast.Applies)
    trigger_on = r.first(ast.TriggerOn)
    listing = r.first(ast.Listing)
    return RuleIR(
        name=r.name,
        kind=r.kind,
        position=position,
        decl=r,
        implements=r.implements,
        title=title.text if title is not None else None,
        sources=tuple(r.all(ast.Source)),
        severity=severity.level if severity is not None else None,
        effect=effect.text if effect is not None else None,
        remedy=remedy.text if remedy is not None else None,
        effective=effective.start if effective is not None else None,
        applies=applies.cond if applies is not None else None,
        unless=tuple(r.all(ast.Unless)),
        each=r.first(ast.Each),
        requires=tuple(q.cond for q in r.all(ast.Require)),
        deadline=r.due,
        trigger_on=trigger_on.date if trigger_on is not None else None,
        listing=listing.duration if listing is not None else None,
        params_read=frozenset(policy.params_used.get(r.name, set())),
        reserved_read=frozenset(reserved_params_of(r, policy.contract)),
        defines_read=frozenset(policy.defines_used.get(r.name, set())),
        rules_read=frozenset(policy.rule_deps.get(r.name, set())),
        candidate=decl.kind == "candidate",
    )


def _first(items: tuple[ast.PolicyItem, ...], kind: type[_P]) -> _P | None:
    return next((i for i in items if isinstance(i, kind)), None)
