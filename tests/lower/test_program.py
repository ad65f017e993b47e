"""The lowered program: each rule's static part, conditions and deadline as the engines read them, and the
types the checker leaves on the expression nodes."""

from __future__ import annotations

import dataclasses

import pytest

from safetyrules import load_policy
from safetyrules.api import Policy, load_policy_text
from safetyrules.check.types import BOOL, DATE, DURATION, type_of
from safetyrules.lower import Program, RuleIR, lower
from safetyrules.syntax import ast
from safetyrules.syntax.walk import chain, children, free_names, nodes

HEADER = """policy demo {
  title zh "演示" en "Demo"
  document "doc"
  period 2020-04-01 .. 2022-12-31
  catalogue { "a", "b", "c", "d" }
}
param window: duration {
  default 30 days
  source "s" quote "q"
}
define big = employee_count >= 100
"""

RULES = """
obligation plan_by_date {
  implements "a"
  title zh "按期制定" en "Plan by date"
  source "一" quote "条文一"
  source "二" quote "条文二"
  severity high
  effective 2021-01-01
  applies big
  require responsibility_system is not null
  require employee_count > 0
  unless tiny source "三" quote "例外" when employee_count < 5
  due by 2021-12-31 grace new_entrant_grace
  remedy zh "制定" en "Make it"
}

obligation fix_hazards {
  implements "b"
  title zh "整改" en "Fix"
  source "四" quote "条文四"
  each h in hazards where h.major
  due within window after h.found_on done h.remediated_on late for late_act_memory
}

obligation assess {
  implements "c"
  title zh "评估" en "Assess"
  source "五" quote "条文五"
  applies not violated(plan_by_date)
  due every 1 year from periodic_first_due_anchor last done max(a in risk_assessments: a.date)
}

trigger concealed {
  implements "d"
  title zh "瞒报" en "Concealed"
  source "六" quote "条文六"
  effect zh "列入" en "Listed"
  each x in accidents where x.report_false
  on date(x.occurred_at)
  listing 1 year
}
"""


@pytest.fixture(scope="module")
def demo() -> Policy:
    return load_policy_text(HEADER + RULES)


def test_the_header_is_lowered(demo: Policy) -> None:
    program = demo.program
    assert isinstance(program, Program)
    assert program.name == "demo"
    assert program.title is not None and program.title.en == "Demo"
    assert program.document == "doc"
    assert program.period_start is not None and program.period_start.isoformat() == "2020-04-01"
    assert program.catalogue == ("a", "b", "c", "d")
    assert [r.name for r in program.declared] == ["plan_by_date", "fix_hazards", "assess", "concealed"]
    # evaluation order: a rule after the rules it reads
    order = [r.name for r in program.rules]
    assert order.index("plan_by_date") < order.index("assess")


def test_a_rule_with_every_kind_of_condition(demo: Policy) -> None:
    r = demo.program.rule("plan_by_date")
    assert isinstance(r, RuleIR)
    assert (r.kind, r.implements, r.severity) == ("obligation", ("a",), "high")
    assert [s.section for s in r.sources] == ["一", "二"]
    assert r.effective is not None and r.effective.isoformat() == "2021-01-01"
    assert isinstance(r.applies, ast.Name) and r.applies.id == "big"
    assert len(r.requires) == 2  # every `require`, in order
    assert [u.name for u in r.unless] == ["tiny"]
    assert isinstance(r.deadline, ast.DueBy)
    assert r.remedy is not None and r.remedy.en == "Make it"
    assert r.each is None and r.trigger_on is None and r.listing is None
    assert r.defines_read == {"big"}
    # the engine-read param of a `due by` with an establishment date is among the params it depends on
    assert r.reserved_read == {"new_entrant_grace"}
    assert "new_entrant_grace" in r.params_read
    assert r.decl.name == "plan_by_date" and r.decl.span.line > 0


def test_every_kind_of_deadline_names_its_engine_read_params(demo: Policy) -> None:
    events = demo.program.rule("fix_hazards")
    assert isinstance(events.deadline, ast.DueWithin)
    assert events.each is not None and events.each.var == "h"
    assert events.reserved_read == {"late_act_memory"}
    assert events.params_read >= {"window", "late_act_memory"}
    periodic = demo.program.rule("assess")
    assert isinstance(periodic.deadline, ast.DueEvery)
    assert periodic.reserved_read == {"periodic_first_due_anchor"}
    assert periodic.rules_read == {"plan_by_date"}
    assert demo.program.readers() == {"plan_by_date": {"assess"}}
    trigger = demo.program.rule("concealed")
    assert trigger.is_trigger and trigger.deadline is None
    assert trigger.trigger_on is not None and trigger.listing is not None
    assert trigger.effect is not None and trigger.effect.en == "Listed"
    assert trigger.reserved_read == frozenset()


def test_inspect_and_the_library_list_the_same_params_as_the_program(demo: Policy) -> None:
    for info in demo.rules():
        assert set(info.params) == set(demo.program.rule(info.name).params_read)


def test_every_seed_expression_carries_its_type() -> None:
    program = load_policy().program
    untyped = []
    for rule in program.rules:
        for node in nodes(rule.decl):
            if isinstance(node, ast.Expr) and type_of(node) is None:
                untyped.append((rule.name, node))
    for define in program.defines.values():
        for node in nodes(define.value):
            if isinstance(node, ast.Expr) and type_of(node) is None:
                untyped.append((define.name, node))
    assert untyped == []


def test_types_on_nodes_are_the_checker_s(demo: Policy) -> None:
    r = demo.program.rule("plan_by_date")
    assert type_of(r.applies) == BOOL
    assert all(type_of(e) == BOOL for e in r.requires)
    assert isinstance(r.deadline, ast.DueBy) and type_of(r.deadline.deadline) == DATE
    events = demo.program.rule("fix_hazards")
    assert isinstance(events.deadline, ast.DueWithin) and type_of(events.deadline.window) == DURATION
    # the annotation is not part of a node's identity: a re-parsed, unchecked tree is equal
    fresh = dataclasses.replace(r.applies, checked_type=None)
    assert fresh == r.applies and type_of(fresh) is None


def test_lowering_is_a_pure_function_of_the_checked_policy(demo: Policy) -> None:
    again = lower(demo.checked)
    assert [r.name for r in again.rules] == [r.name for r in demo.program.rules]
    assert all(a == b for a, b in zip(again.rules, demo.program.rules, strict=True))


def test_walks() -> None:
    policy = load_policy_text(HEADER + 'define d = any(x in hazards: x.major) and big and true\n'
                              + RULES)
    value = policy.program.defines["d"].value
    assert [type(p).__name__ for p in chain(value, "and")] == ["Quantifier", "Name", "BoolLit"]
    assert set(free_names(value)) == {"hazards", "big"}  # `x` is bound
    assert len(children(value)) == 2
    assert sum(isinstance(n, ast.Quantifier) for n in nodes(value)) == 1
