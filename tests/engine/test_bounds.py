"""Bounded evaluation: what `check` accepts evaluates without exhausting the stack, however its definitions
chain; what would cost too much is refused by `check`; a range quantifier costs what its facts cost, not
what its length costs (`all(y in first .. year(as_of) - 1: …)` as of 9999-12-31)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import safetyrules.engine.interpreter as interpreter
from safetyrules.api import load_policy_text
from safetyrules.check.pipeline import compile_sources
from safetyrules.engine.results import Outcome
from safetyrules.limits import DEFAULT

HEADER = 'policy p {\n  title zh "测试" en "Test"\n}\n'


def rule(require: str, name: str = "r") -> str:
    return (f'obligation {name} {{\n  implements "{name}"\n  title zh "规则" en "Rule"\n  source "s" "q"\n'
            f"  require {require}\n  due continuous\n}}\n")


def codes(text: str) -> list[str]:
    return [d.code for d in compile_sources({"t.policy": text}).diagnostics if d.is_error]


# ------------------------------------------------------------------------------------------ the stack

SHAPES = {  # an expression around `inner`, nested one more level
    "not": lambda inner: f"not {inner}",
    "and": lambda inner: f"(true and {inner})",
    "arith": lambda inner: f"(1 + {inner})",
    "if": lambda inner: f"(if employee_count > 0 then {inner} else 0)",
    "any": lambda inner: f"any(h in hazards: {inner})",
}
LEAF = {"not": "employee_count > 3", "and": "employee_count > 3", "arith": "employee_count",
        "if": "employee_count", "any": "h.major"}


@cache
def deepest_count(shape: str, inner: str, in_rule: bool) -> int:
    """How many times `inner` can be wrapped in `shape` before the parser refuses it (binary search)."""
    def accepted(n: int) -> bool:
        body = inner
        for _ in range(n):
            body = SHAPES[shape](body)
        text = HEADER + rule(body) if in_rule else HEADER + f"define probe = {body}\n" + rule("probe is known")
        return "too-deep" not in codes(text)

    low, high = 0, 400
    assert not accepted(high)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if accepted(mid) else (low, mid)
    return low


def deepest(shape: str, inner: str, in_rule: bool = False) -> str:
    """`inner` wrapped in `shape` as deep as the parser accepts (in a definition, or a rule's `require`)."""
    body = inner
    for _ in range(deepest_count(shape, inner if in_rule else _shape_of(inner), in_rule)):
        body = SHAPES[shape](body)
    return body


def _shape_of(inner: str) -> str:
    """The same text with the definition's number fixed (`d7` → `d0`): its depth, without its name."""
    import re

    return re.sub(r"\bd\d+\b", "d0", inner)


def _chain(shape: str, length: int, nesting: int | None) -> str:
    """`length` definitions, each reading the one before, nested `nesting` deep (None: as deep as accepted),
    and a rule reading the last one (itself nested as deep as accepted for `not` and `and`)."""
    defs, prev = [], LEAF[shape]
    for i in range(length):
        if nesting is None:
            body = deepest(shape, prev)
        else:
            body = prev
            for _ in range(nesting):
                body = SHAPES[shape](body)
        defs.append(f"define d{i} = {body}\n")
        prev = f"(h.major or d{i})" if shape == "any" else f"d{i}"
    require = f"d{length - 1} is known"
    return HEADER + "".join(defs) + rule(deepest(shape, require, in_rule=True) if shape in ("not", "and") else require)


def _evaluates(text: str) -> None:
    from safetyrules.columnar import FactTables, compile_policy

    policy = load_policy_text(text)
    record = {"id": "E", "employee_count": 5, "hazards": [{"id": "H1", "major": False}]}
    outcomes = {policy.evaluate(record, "2022-06-30", explain=explain).by_rule("r").outcome for explain in (0, 1)}
    assert len(outcomes) == 1 and outcomes <= {Outcome.SATISFIED, Outcome.VIOLATED}
    out = compile_policy(policy.program).run(FactTables.from_records([record]), dt.date(2022, 6, 30))
    assert out.get_column("outcome").to_list() == [str(outcomes.pop())]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_deepest_definitions_in_the_deepest_rule_evaluate(shape: str) -> None:
    """Definitions nested as deep as the parser accepts, read from a rule nested as deep: both engines
    evaluate them, with and without explanations (two such levels overflowed Python's stack)."""
    _evaluates(_chain(shape, 3, None))


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_longest_accepted_chain_evaluates(shape: str) -> None:
    """64 definitions each reading the one before (150 raised RecursionError): `check` accepts them and
    both engines evaluate them, since a definition is evaluated after those it reads (one at a time on the
    stack) its depth does not add up along the chain."""
    _evaluates(_chain(shape, DEFAULT.max_definition_depth, 8))


def test_a_chain_one_longer_is_refused() -> None:
    n = DEFAULT.max_definition_depth + 1
    defs = "define d0 = employee_count\n" + "".join(f"define d{i} = d{i - 1} + 1\n" for i in range(1, n))
    assert codes(HEADER + defs + rule(f"d{n - 1} > 0")) == ["definition-chain-too-deep"]
    longer = defs + "".join(f"define d{i} = d{i - 1} + 1\n" for i in range(n, 150))
    assert codes(HEADER + longer + rule("d149 > 0")) == ["definition-chain-too-deep"]
    assert codes(HEADER + defs.replace(f"define d{n - 1} = d{n - 2} + 1\n", "") + rule(f"d{n - 2} > 0")) == []


# ------------------------------------------------------------------------------------------ work

@pytest.mark.parametrize(("require", "refused"), [
    ("all(y in 1 .. 10000: all(z in 1 .. 10000: y + z > employee_count))", True),  # 10^8 iterations
    ("all(y in 1 .. employee_count: all(z in 1 .. employee_count: y != z))", True),  # bounds unknown: 10,001 each
    ("all(y in 1 .. 10000: y > employee_count)", False),
    ("all(y in 1 .. 300: all(z in 1 .. 300: y + z > employee_count))", False),  # 90,000
    ("all(y in 1 .. 3000: all(z in 1 .. 3000: y + z > employee_count))", True),  # 9,000,000 × the body
    ("all(y in 1 .. 10000: all(h in hazards: all(s in staff: h.major)))", False),  # lists: one step per item
    ("all(y in 1 .. 100000: y > 0)", False),  # longer than a range may be: unknown at run time, no work
])
def test_nested_ranges_multiply(require: str, refused: bool) -> None:
    assert codes(HEADER + rule(require)) == (["too-costly"] if refused else [])


def test_definitions_count_once_and_their_own_cost() -> None:
    costly = "define pairs = count(y in 1 .. 5000: any(z in 1 .. 5000: y == z + employee_count))\n"
    assert codes(HEADER + costly + rule("pairs > 0")) == ["too-costly"]
    cheap = "define years = count(y in 1 .. 5000: y > employee_count)\n"
    rules = "".join(rule(f"years > {i}", f"r{i}") for i in range(50))  # read 50 times, evaluated once
    assert codes(HEADER + cheap + rules) == []


def test_an_accepted_range_of_the_longest_length_is_quick_to_evaluate() -> None:
    policy = load_policy_text(HEADER + rule(
        "all(y in year(as_of) - 10000 .. year(as_of): any(c in safety_costs where c.year == y: c.required >= 0)"
        " or y < 2020 or y > 2022)"))
    record = {"id": "E", "safety_costs": [{"year": 2020, "required": 1}, {"year": 2021, "required": 1},
                                          {"year": 2022, "required": 1}]}
    assert policy.evaluate(record, "9999-12-31").by_rule("r").outcome is Outcome.SATISFIED
    record["safety_costs"].pop()
    result = policy.evaluate(record, "9999-12-31").by_rule("r")
    assert result.outcome is Outcome.VIOLATED


# ------------------------------------------------------------------------------------------ range blocks

COMPARISONS = ["c.year == y", "c.year != y", "c.year < y", "y <= c.required", "y > c.required",
               "c.required >= y", "y == 2021", "y > employee_count", "y < employee_count + 3"]
KINDS = ["all(y in {r}: {b})", "any(y in {r}: {b})", "count(y in {r}: {b})", "sum(y in {r} where {b}: 1)",
         "find(y in {r} where {b})", "count(y in {r} where {b}: any(c in safety_costs: c.year == y))"]


@st.composite
def range_case(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    body = draw(st.sampled_from(COMPARISONS))
    inner = (f"any(c in safety_costs: {body})" if "c." in body else body)
    if draw(st.booleans()):
        inner = f"({inner} and {draw(st.sampled_from(['employee_count > 2', 'y != employee_count']))})"
    lo = draw(st.integers(1990, 2030))
    hi = lo + draw(st.integers(0, 120))
    expr = draw(st.sampled_from(KINDS)).format(r=f"{lo} .. {hi}", b=inner)
    costs = draw(st.lists(st.fixed_dictionaries({}, optional={
        "year": st.integers(1985, 2160), "required": st.integers(1985, 2160)}), max_size=4))
    record = {"id": "E", "safety_costs": costs}
    if draw(st.booleans()):
        record["employee_count"] = draw(st.integers(1985, 2160))
    return expr, record


@settings(max_examples=150, deadline=None)
@given(range_case())
def test_range_blocks_equal_element_by_element(case: tuple[str, dict[str, Any]]) -> None:
    """Evaluating a range quantifier's body once per block of alike numbers gives exactly what evaluating it
    for every number gives: value, missing facts (a block names its numbers) and outcome."""
    expr, record = case
    policy = load_policy_text(HEADER + "define v = " + expr + "\n" + rule("v is known or v is unknown"))
    engine = policy.engine()
    from safetyrules.engine.interpreter import Interpreter

    def value(block_min: int) -> Any:
        saved = interpreter.BLOCK_MIN
        interpreter.BLOCK_MIN = block_min
        try:
            interp = Interpreter(record, dt.date(2022, 6, 30), engine.params.value, policy.checked.defines,
                                 lambda name: "unknown")
            return interp.eval(policy.checked.defines["v"].value, {}), interp.missing
        finally:
            interpreter.BLOCK_MIN = saved

    blocked, one_by_one = value(0), value(10**9)
    assert blocked[0] == one_by_one[0] and type(blocked[0]) is type(one_by_one[0])
    assert _numbers(blocked[1]) == _numbers(one_by_one[1])


def _numbers(missing: set[str]) -> set[str]:
    """Missing facts with blocks (`y=2023..2025`) spelled out number by number."""
    import re

    out = set()
    for m in missing:
        hit = re.search(r"y=(\d+)\.\.(\d+)", m)
        if hit is None:
            out.add(m)
            continue
        out |= {m[:hit.start()] + f"y={n}" + m[hit.end():] for n in range(int(hit[1]), int(hit[2]) + 1)}
    return out
