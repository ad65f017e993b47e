"""Properties of unknown results (docs/semantics.md: a result is unknown when it depends on a missing fact).

Soundness: a decided result never changes when missing facts are filled in, with any values — except that
`pending` ("not due yet, not shown met") may become `satisfied` once a fact shows the duty met; it never
becomes anything else. It holds for
every rule that does not ask about missing facts itself: `x is known`/`x is unknown` and `coalesce` (the
first *known* value) read absence on purpose, so rules using them (directly, through definitions or through
the rules they read) are left out.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from columnar.strategies import enterprise
from safetyrules import FactError, load_policy
from safetyrules.api import fact_record
from safetyrules.check.checker import CheckedPolicy
from safetyrules.engine.interpreter import Interpreter
from safetyrules.engine.params import ParamTable
from safetyrules.engine.results import Outcome
from safetyrules.facts.as_of import as_of_view
from safetyrules.syntax import ast
from safetyrules.syntax.formatter import format_expr
from safetyrules.syntax.walk import children, free_names

POLICY = load_policy()
DAYS = st.dates(dt.date(2020, 1, 1), dt.date(2024, 12, 31))


def _reads_absence(e: ast.Expr) -> bool:
    stack = [e]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.IsTest) and node.test in ("known", "unknown"):
            return True
        if isinstance(node, ast.Call) and node.func == "coalesce":
            return True
        stack.extend(children(node))
    return False


def _absence_readers(policy: CheckedPolicy) -> set[str]:
    defines = {n for n, d in policy.defines.items() if _reads_absence(d.value)}
    changed = True
    while changed:  # through definitions that read such definitions
        more = {n for n, d in policy.defines.items() if set(free_names(d.value)) & defines}
        changed = bool(more - defines)
        defines |= more
    rules: set[str] = set()
    for r in policy.rules:
        exprs = [x for item in r.items for x in _expressions(item)]
        if any(_reads_absence(x) or set(free_names(x)) & defines for x in exprs):
            rules.add(r.name)
    changed = True
    while changed:  # through `violated(…)`/`triggered(…)` of such rules
        more = {n for n, deps in policy.rule_deps.items() if deps & rules}
        changed = bool(more - rules)
        rules |= more
    return rules


def _expressions(item: object) -> list[ast.Expr]:
    return [v for v in vars(item).values() if isinstance(v, ast.Expr)] if hasattr(item, "__dict__") else \
        [getattr(item, f) for f in getattr(item, "__slots__", ()) if isinstance(getattr(item, f, None), ast.Expr)]


EXCLUDED = _absence_readers(POLICY.checked)



def _fill(record: Any, other: Any) -> None:
    """Give `record` the values `other` has where `record` has none (absent keys), recursively."""
    if isinstance(record, dict) and isinstance(other, dict):
        for key, value in other.items():
            if key not in record:
                record[key] = copy.deepcopy(value)
            else:
                _fill(record[key], value)
    elif isinstance(record, list) and isinstance(other, list):
        for mine, theirs in zip(record, other, strict=False):
            _fill(mine, theirs)


def test_the_excluded_rules_are_few_and_named() -> None:
    assert EXCLUDED  # the seed policy has some (`coalesce(year(established_on), …)`, `s.role is unknown`)
    assert len(EXCLUDED) <= len(POLICY.checked.rules) // 3


@settings(max_examples=int(os.environ.get("SAFETYRULES_UNKNOWN_EXAMPLES", "150")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(partial=enterprise("E1"), other=enterprise("E1"), as_of=DAYS)
def test_a_decided_result_does_not_change_when_missing_facts_are_filled(
        partial: dict[str, Any], other: dict[str, Any], as_of: dt.date) -> None:
    try:
        before = {r.rule: r for r in POLICY.evaluate_record(fact_record(partial), as_of).results}
        filled = copy.deepcopy(partial)
        _fill(filled, other)
        record = fact_record(filled)
    except FactError:
        assume(False)  # the filled record breaks a date order (remediated before found …): not a record
        return
    after = {r.rule: r for r in POLICY.evaluate_record(record, as_of).results}
    for name, result in before.items():
        if name in EXCLUDED or result.outcome is Outcome.UNKNOWN:
            continue
        allowed = {result.outcome, Outcome.SATISFIED} if result.outcome is Outcome.PENDING else {result.outcome}
        assert after[name].outcome in allowed, (name, result.outcome, after[name].outcome)


def _finite_leaves(record: dict[str, Any], prefix: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], list[Any]]]:
    """Paths of the yes/no and code fields present in `record` (list items included), with every value each
    could take (null included)."""
    from safetyrules.facts._shapes import field_shapes
    from safetyrules.facts.models import Enterprise

    out: list[tuple[tuple[Any, ...], list[Any]]] = []

    def walk(value: Any, model: Any, path: tuple[Any, ...]) -> None:
        if not isinstance(value, dict):
            return
        for name, shape in field_shapes(model).items():
            if name not in value:
                continue
            here = (*path, name)
            if shape.kind == "scalar" and shape.scalar == "bool":
                out.append((here, [True, False, None]))
            elif shape.kind == "scalar" and shape.enum is not None:
                out.append((here, [m.value for m in shape.enum] + [None]))
            elif shape.kind == "object":
                walk(value[name], shape.model, here)
            elif shape.kind == "list" and shape.item is not None and shape.item.model is not None:
                for i, item in enumerate(value[name] or []):
                    walk(item, shape.item.model, (*here, i))

    walk(record, Enterprise, prefix)
    return out


def _with(record: dict[str, Any], path: tuple[Any, ...], value: Any, absent: bool = False) -> dict[str, Any]:
    out = copy.deepcopy(record)
    holder: Any = out
    for key in path[:-1]:
        holder = holder[key]
    if absent:
        del holder[path[-1]]
    else:
        holder[path[-1]] = value
    return out


def _aggregates(policy: CheckedPolicy) -> list[ast.Expr]:
    """Every quantifier and pick of the policy's rules and definitions that reads only the record, params and
    definitions (no variable bound outside it)."""
    found: list[ast.Expr] = []
    known = set(policy.params) | set(policy.defines) | set(policy.contract.model.model_fields)
    stack: list[ast.Expr] = [d.value for d in policy.defines.values()]
    for r in policy.rules:
        for item in r.items:
            stack.extend(_expressions(item))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Quantifier | ast.OrderPick) and set(free_names(node)) <= known \
                and not _reads_absence(node):
            found.append(node)
        stack.extend(children(node))
    return found


AGGREGATES = _aggregates(POLICY.checked)
PARAMS = ParamTable(POLICY.program)


def _values(record: dict[str, Any], as_of: dt.date) -> list[Any]:
    view = as_of_view(fact_record(record), as_of)
    interp = Interpreter(view, as_of, PARAMS.value, POLICY.checked.defines, lambda _: "unknown")
    return [interp.eval(e, {}) for e in AGGREGATES]


def test_there_are_aggregates_to_check() -> None:
    assert len(AGGREGATES) >= 10


@settings(max_examples=int(os.environ.get("SAFETYRULES_UNKNOWN_EXAMPLES", "100")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(record=enterprise("E1"), as_of=DAYS, data=st.data())
def test_one_missing_yes_no_or_code_that_cannot_change_an_aggregate_leaves_it_known(
        record: dict[str, Any], as_of: dt.date, data: st.DataObject) -> None:
    """Precision, per operation: with one yes/no or code fact missing, when every value it could have gives an
    aggregate (`any`, `all`, `count`, `max`, `min`, `sum`, `find`, `latest`, `earliest`) the same value, the
    aggregate has that value. (A rule's outcome can still be unknown when two unknown parts would cancel out
    — `last` of a periodic duty unknown between two dates that are both too old — since the engines do not
    split cases over a missing fact's values: docs/semantics.md.)"""
    leaves = _finite_leaves(record)
    assume(leaves)
    path, domain = data.draw(st.sampled_from(leaves))
    try:
        missing = _values(_with(record, path, None, absent=True), as_of)
        filled = [_values(_with(record, path, v), as_of) for v in domain]
    except FactError:
        assume(False)
        return
    for i, value in enumerate(missing):
        candidates = {repr(f[i]) for f in filled}
        if len(candidates) == 1:
            assert repr(value) in candidates, (format_expr(AGGREGATES[i]), path, candidates, value)
