"""Every outcome kind and every date rule of docs/semantics.md, at the boundary days, on small inline policies.

Each test writes the smallest policy that exercises one construct and evaluates it on hand-made records.
Dates are chosen so that the last compliant day and the first late day are both checked.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from typing import Any

import pytest

from safetyrules.api import Policy, load_policy_text
from safetyrules.engine.params import ParamError
from safetyrules.engine.results import Outcome, RuleResult
from safetyrules.engine.values import Duration

D = dt.date
Oc = Outcome  # short alias for the many expected outcomes


HEADER = """policy p {
  title zh "测试" en "Test"
  period 2020-04-01 .. 2022-12-31
}
"""


def rule_text(items: str, kind: str = "obligation", name: str = "r") -> str:
    return f"""
{kind} {name} {{
  implements "{name}"
  title zh "规则 {name}" en "Rule {name}"
  source "s" "q"
  {items}
}}
"""


@cache
def compiled(text: str) -> Policy:
    return load_policy_text(text)


def policy(items: str, extra: str = "", kind: str = "obligation") -> Policy:
    return compiled(HEADER + extra + rule_text(items, kind))


def run(items: str, record: dict[str, Any], as_of: str, *, extra: str = "", kind: str = "obligation",
        params: dict[str, Any] | None = None, rule: str = "r") -> RuleResult:
    result = policy(items, extra, kind).evaluate({"id": "E", **record}, as_of, params=params)
    r = result.by_rule(rule)
    json.dumps(r.to_json())  # every result is JSON-ready
    return r


def outcome(items: str, record: dict[str, Any], as_of: str = "2022-06-30", **kw: Any) -> Outcome:
    return run(items, record, as_of, **kw).outcome


# ============================================================================ due continuous

CONTINUOUS = "require obsolete_equipment_in_use == 0\n  due continuous"


@pytest.mark.parametrize(("value", "expected"), [(0, Oc.SATISFIED), (2, Oc.VIOLATED), (None, Oc.VIOLATED)])
def test_continuous(value: int | None, expected: Outcome) -> None:
    r = run(CONTINUOUS, {"obsolete_equipment_in_use": value}, "2022-06-30")
    assert r.outcome is expected
    assert r.due_on is None
    assert r.days_overdue is None
    assert r.missing == ()


def test_continuous_unknown_names_missing_fact() -> None:
    r = run(CONTINUOUS, {}, "2022-06-30")
    assert r.outcome is Oc.UNKNOWN
    assert r.missing == ("obsolete_equipment_in_use",)


# ============================================================================ due by D

DUE_BY = "require obsolete_equipment_in_use == 0\n  due by 2021-12-31"
DUE_BY_MET = "require hazard_system.established_on is not null\n  due by 2021-12-31 met hazard_system.established_on"


def test_due_by_deadline_day_is_pending() -> None:
    r = run(DUE_BY, {"obsolete_equipment_in_use": 1}, "2021-12-31")
    assert (r.outcome, r.due_on, r.days_remaining, r.days_overdue) == (Oc.PENDING, D(2021, 12, 31), 0, None)


OLD = {"established_on": "2012-05-18"}  # established long before the deadlines: no new-entrant grace


def test_due_by_day_after_deadline_is_violated() -> None:
    r = run(DUE_BY, {"obsolete_equipment_in_use": 1, **OLD}, "2022-01-01")
    assert (r.outcome, r.due_on, r.days_overdue, r.days_remaining) == (Oc.VIOLATED, D(2021, 12, 31), 1, None)


def test_due_by_after_the_deadline_depends_on_an_absent_establishment_date() -> None:
    # established after the deadline, the enterprise would still be within its new-entrant grace: unknown
    r = run(DUE_BY, {"obsolete_equipment_in_use": 1}, "2022-01-01")
    assert (r.outcome, r.due_on, r.days_overdue, r.missing) == (Oc.UNKNOWN, D(2021, 12, 31), None,
                                                                ("established_on",))
    assert run(DUE_BY, {"obsolete_equipment_in_use": 1}, "2021-12-31").outcome is Oc.PENDING  # grace or not
    assert run(DUE_BY, {"obsolete_equipment_in_use": 0}, "2022-01-01").outcome is Oc.SATISFIED


def test_due_by_far_before_deadline_counts_days_remaining() -> None:
    r = run(DUE_BY, {"obsolete_equipment_in_use": 1}, "2021-01-01")
    assert (r.outcome, r.days_remaining) == (Oc.PENDING, 364)


def test_due_by_met_is_satisfied_before_and_after_the_deadline() -> None:
    for as_of in ("2021-06-01", "2021-12-31", "2022-01-01", "2025-01-01"):
        r = run(DUE_BY, {"obsolete_equipment_in_use": 0}, as_of)
        assert (r.outcome, r.due_on, r.delay_days) == (Oc.SATISFIED, D(2021, 12, 31), None)


def test_due_by_unknown_requirement_is_pending_then_unknown() -> None:
    assert outcome(DUE_BY, {}, "2021-12-31") is Oc.PENDING
    r = run(DUE_BY, {**OLD}, "2022-01-01")
    assert (r.outcome, r.due_on) == (Oc.UNKNOWN, D(2021, 12, 31))
    assert r.missing == ("obsolete_equipment_in_use",)


def test_due_by_met_on_the_deadline_has_no_delay() -> None:
    r = run(DUE_BY_MET, {"hazard_system": {"established_on": "2021-12-31"}}, "2022-06-30")
    assert (r.outcome, r.delay_days, r.last_event_on) == (Oc.SATISFIED, None, D(2021, 12, 31))


def test_due_by_met_late_is_violated_until_met_then_satisfied_with_delay() -> None:
    record = {"hazard_system": {"established_on": "2022-01-10"}, **OLD}
    before = run(DUE_BY_MET, record, "2022-01-09")  # the as-of view hides the later establishment
    assert (before.outcome, before.days_overdue) == (Oc.VIOLATED, 9)
    on = run(DUE_BY_MET, record, "2022-01-10")
    assert (on.outcome, on.due_on, on.delay_days) == (Oc.SATISFIED, D(2021, 12, 31), 10)
    later = run(DUE_BY_MET, record, "2023-06-30")
    assert (later.outcome, later.delay_days) == (Oc.SATISFIED, 10)


def test_due_by_null_system_is_violated_after_deadline() -> None:
    r = run(DUE_BY_MET, {"hazard_system": {"established_on": None}, **OLD}, "2022-01-01")
    assert (r.outcome, r.days_overdue) == (Oc.VIOLATED, 1)
    r = run(DUE_BY_MET, {"hazard_system": None, **OLD}, "2022-01-01")
    assert (r.outcome, r.days_overdue) == (Oc.VIOLATED, 1)


@pytest.mark.parametrize(
    ("established", "due"),
    [
        ("2012-05-18", D(2021, 12, 31)),
        ("2021-12-31", D(2021, 12, 31)),  # established on the deadline: not a new entrant
        ("2022-01-01", D(2022, 4, 1)),  # + 90 days
        ("2022-02-01", D(2022, 5, 2)),
    ],
)
def test_due_by_new_entrant_grace(established: str, due: dt.date) -> None:
    record = {"established_on": established, "obsolete_equipment_in_use": 3}
    on_due = run(DUE_BY, record, due.isoformat())
    assert (on_due.outcome, on_due.due_on, on_due.days_remaining) == (Oc.PENDING, due, 0)
    after = run(DUE_BY, record, (due + dt.timedelta(days=1)).isoformat())
    assert (after.outcome, after.due_on, after.days_overdue) == (Oc.VIOLATED, due, 1)


GRACE_PARAM = """
param new_entrant_grace: duration {
  default 60 days
  source "二" "新设企业的合理期限"
}
"""


def test_due_by_new_entrant_grace_declared_param_and_override() -> None:
    record = {"established_on": "2022-02-01", "obsolete_equipment_in_use": 3}
    declared = run(DUE_BY, record, "2022-04-02", extra=GRACE_PARAM)
    assert (declared.outcome, declared.due_on) == (Oc.PENDING, D(2022, 4, 2))
    assert [(p.name, p.value, p.overridden) for p in declared.params] == [
        ("new_entrant_grace", Duration(days=60), False)]
    late = run(DUE_BY, record, "2022-04-03", extra=GRACE_PARAM)
    assert (late.outcome, late.days_overdue) == (Oc.VIOLATED, 1)
    over = run(DUE_BY, record, "2022-04-03", extra=GRACE_PARAM, params={"new_entrant_grace": "6 months"})
    assert (over.outcome, over.due_on, over.days_remaining) == (Oc.PENDING, D(2022, 8, 1), 120)
    assert [(p.name, p.overridden) for p in over.params] == [("new_entrant_grace", True)]


def test_due_by_not_a_new_entrant_does_not_list_the_grace_param() -> None:
    r = run(DUE_BY, {"established_on": "2010-01-01", "obsolete_equipment_in_use": 3}, "2022-01-01",
            extra=GRACE_PARAM)
    assert r.params == ()


# ============================================================================ due every P last E

EVERY = "due every 1 year\n    last max(a in risk_assessments where a.comprehensive: a.date)"
ANCHOR_PARAM = """
param periodic_first_due_anchor: date {
  default 2020-04-01
  source "三" "从2020年4月至2022年12月"
}
"""


def assessments(*dates: str, comprehensive: bool = True) -> dict[str, Any]:
    return {"risk_assessments": [{"date": d, "comprehensive": comprehensive} for d in dates]}


def test_every_exactly_one_period_later_is_satisfied() -> None:
    r = run(EVERY, assessments("2021-03-15"), "2022-03-15")
    assert (r.outcome, r.due_on, r.last_event_on) == (Oc.SATISFIED, D(2022, 3, 15), D(2021, 3, 15))
    assert r.period == Duration(months=12)  # a value; report/ writes it as "1 year"
    assert r.days_remaining is None  # satisfied results carry no countdown


def test_every_the_day_after_is_violated() -> None:
    r = run(EVERY, assessments("2021-03-15"), "2022-03-16")
    assert (r.outcome, r.due_on, r.days_overdue) == (Oc.VIOLATED, D(2022, 3, 15), 1)


@pytest.mark.parametrize(("as_of", "expected"), [("2021-02-28", Oc.SATISFIED), ("2021-03-01", Oc.VIOLATED)])
def test_every_from_a_leap_day(as_of: str, expected: Outcome) -> None:
    r = run(EVERY, assessments("2020-02-29"), as_of)
    assert (r.outcome, r.due_on) == (expected, D(2021, 2, 28))


def test_every_leap_day_to_leap_year_with_four_years() -> None:
    items = "due every 4 years\n    last max(a in risk_assessments: a.date)"
    assert run(items, assessments("2020-02-29"), "2024-02-29").outcome is Oc.SATISFIED
    assert run(items, assessments("2020-02-29"), "2024-03-01").outcome is Oc.VIOLATED


def test_every_uses_the_latest_event_on_or_before_as_of() -> None:
    record = assessments("2021-03-15", "2022-03-10", "2019-01-01")
    early = run(EVERY, record, "2022-03-09")  # 2022-03-10 is hidden
    assert (early.outcome, early.last_event_on, early.due_on) == (Oc.SATISFIED, D(2021, 3, 15), D(2022, 3, 15))
    later = run(EVERY, record, "2022-03-16")
    assert (later.outcome, later.last_event_on, later.due_on) == (Oc.SATISFIED, D(2022, 3, 10), D(2023, 3, 10))


def test_every_events_before_the_policy_period_count() -> None:
    r = run(EVERY, assessments("2019-12-01"), "2020-12-01")
    assert (r.outcome, r.due_on) == (Oc.SATISFIED, D(2020, 12, 1))


def test_every_non_qualifying_events_are_ignored() -> None:
    record = {"established_on": "2010-01-01", **assessments("2022-01-01", comprehensive=False)}
    r = run(EVERY, record, "2021-04-02")
    assert (r.outcome, r.due_on, r.last_event_on) == (Oc.VIOLATED, D(2021, 4, 1), None)


@pytest.mark.parametrize(
    ("established", "due"),
    [
        ("2010-01-01", D(2021, 4, 1)),  # the anchor (policy period start) + 1 year
        ("2020-04-01", D(2021, 4, 1)),
        ("2020-09-15", D(2021, 9, 15)),  # the later establishment + 1 year
        (None, D(2021, 4, 1)),  # known not to exist: the anchor
    ],
)
def test_every_no_event_first_due_one_period_after_anchor_or_establishment(established: str | None,
                                                                           due: dt.date) -> None:
    record = {"established_on": established, "risk_assessments": []}
    on = run(EVERY, record, due.isoformat())
    assert (on.outcome, on.due_on, on.days_remaining, on.last_event_on) == (Oc.PENDING, due, 0, None)
    after = run(EVERY, record, (due + dt.timedelta(days=1)).isoformat())
    assert (after.outcome, after.due_on, after.days_overdue) == (Oc.VIOLATED, due, 1)


def test_every_null_list_counts_as_no_event() -> None:
    r = run(EVERY, {"established_on": "2010-01-01", "risk_assessments": None}, "2021-04-02")
    assert (r.outcome, r.due_on) == (Oc.VIOLATED, D(2021, 4, 1))


def test_every_no_event_unknown_establishment_pending_then_unknown() -> None:
    record = {"risk_assessments": []}
    on = run(EVERY, record, "2021-04-01")
    assert (on.outcome, on.due_on, on.days_remaining) == (Oc.PENDING, D(2021, 4, 1), 0)
    after = run(EVERY, record, "2021-04-02")
    assert after.outcome is Oc.UNKNOWN
    assert after.missing == ("established_on",)
    assert after.days_overdue is None


def test_every_unknown_event_list_is_unknown() -> None:
    r = run(EVERY, {"established_on": "2010-01-01"}, "2020-06-01")
    assert r.outcome is Oc.UNKNOWN
    assert r.missing == ("risk_assessments",)


def test_every_event_with_unknown_qualification_is_unknown() -> None:
    record = {"established_on": "2010-01-01", "risk_assessments": [{"date": "2022-01-01"}]}
    r = run(EVERY, record, "2022-06-30")
    assert r.outcome is Oc.UNKNOWN
    assert r.missing == ("risk_assessments[2022-01-01].comprehensive",)


def test_every_first_clause_sets_the_first_due_date() -> None:
    items = EVERY + "\n    first 2020-12-31"
    record = {"established_on": "2010-01-01", "risk_assessments": []}
    on = run(items, record, "2020-12-31")
    assert (on.outcome, on.due_on, on.days_remaining) == (Oc.PENDING, D(2020, 12, 31), 0)
    r = run(items, record, "2021-01-01")
    assert (r.outcome, r.due_on, r.days_overdue) == (Oc.VIOLATED, D(2020, 12, 31), 1)
    # an event after the first due date decides as usual
    assert run(items, assessments("2021-06-01"), "2022-06-01").due_on == D(2022, 6, 1)
    assert run(items, assessments("2021-06-01"), "2022-06-02").outcome is Oc.VIOLATED


def test_every_first_clause_without_event_depends_on_establishment() -> None:
    """`first F`: first due on F, or one period after establishment if later (docs/semantics.md)."""
    items = EVERY + "\n    first 2020-12-31"
    before = run(items, {"risk_assessments": []}, "2020-12-31")  # establishment unknown, F not passed
    assert (before.outcome, before.due_on) == (Oc.PENDING, D(2020, 12, 31))
    after = run(items, {"risk_assessments": []}, "2021-01-01")  # F passed: depends on the establishment
    assert after.outcome is Oc.UNKNOWN and "established_on" in after.missing
    old = run(items, {"established_on": "2010-01-01", "risk_assessments": []}, "2021-01-01")
    assert (old.outcome, old.due_on) == (Oc.VIOLATED, D(2020, 12, 31))
    new = run(items, {"established_on": "2020-06-15", "risk_assessments": []}, "2021-01-01")
    assert (new.outcome, new.due_on) == (Oc.PENDING, D(2021, 6, 15))


def test_every_first_clause_is_a_floor_for_earlier_events() -> None:
    """An event before F: satisfied for one period after it, then pending until F, violated after F."""
    items = EVERY + "\n    first 2020-12-31"
    record = {"established_on": "2010-01-01", **assessments("2019-06-01")}
    assert run(items, record, "2020-06-01").outcome is Oc.SATISFIED
    r = run(items, record, "2020-10-01")
    assert (r.outcome, r.due_on, r.days_remaining) == (Oc.PENDING, D(2020, 12, 31), 91)
    late = run(items, record, "2021-01-01")
    assert (late.outcome, late.days_overdue) == (Oc.VIOLATED, 1)


def test_every_anchor_param_declared_and_overridden() -> None:
    record = {"established_on": "2010-01-01", "risk_assessments": []}
    declared = run(EVERY, record, "2021-04-02", extra=ANCHOR_PARAM)
    assert (declared.outcome, declared.due_on) == (Oc.VIOLATED, D(2021, 4, 1))
    assert [(p.name, p.value, p.overridden) for p in declared.params] == [
        ("periodic_first_due_anchor", D(2020, 4, 1), False)]
    over = run(EVERY, record, "2021-04-02", extra=ANCHOR_PARAM, params={"periodic_first_due_anchor": "2021-01-01"})
    assert (over.outcome, over.due_on, over.days_remaining) == (Oc.PENDING, D(2022, 1, 1), 274)
    assert [(p.name, p.overridden) for p in over.params] == [("periodic_first_due_anchor", True)]


def test_every_with_requirement_takes_the_worse_outcome() -> None:
    items = "require obsolete_equipment_in_use == 0\n  " + EVERY
    record = assessments("2022-01-01")
    assert run(items, {**record, "obsolete_equipment_in_use": 0}, "2022-06-30").outcome is Oc.SATISFIED
    assert run(items, {**record, "obsolete_equipment_in_use": 1}, "2022-06-30").outcome is Oc.VIOLATED
    assert run(items, record, "2022-06-30").outcome is Oc.UNKNOWN


# ============================================================================ due within W after S done A

WITHIN = """each c in changes where c.major
  due within 30 days after c.date
      done min(a in risk_assessments where a.date >= c.date: a.date)"""
LATE_MEMORY = """
param late_act_memory: duration {
  default 1 year
  source "二（四）2" "闭环管理"
}
"""


def change(on: str = "2022-03-01", major: bool = True, **more: Any) -> dict[str, Any]:
    return {"date": on, "kind": "equipment", "major": major, **more}


def test_within_act_on_the_last_day_is_satisfied() -> None:
    record = {"changes": [change()], **assessments("2022-03-31")}
    r = run(WITHIN, record, "2022-06-30")
    assert (r.outcome, r.due_on, r.delay_days) == (Oc.SATISFIED, D(2022, 3, 31), None)
    [ev] = r.events
    assert (ev.path, ev.outcome, ev.event_on, ev.due_on, ev.done_on, ev.delay_days) == (
        "changes[2022-03-01]", Oc.SATISFIED, D(2022, 3, 1), D(2022, 3, 31), D(2022, 3, 31), None)


def test_within_act_before_the_event_does_not_count() -> None:
    record = {"changes": [change()], **assessments("2022-02-28")}
    r = run(WITHIN, record, "2022-04-01")
    assert (r.outcome, r.days_overdue) == (Oc.VIOLATED, 1)


def test_within_act_a_day_late_is_violated_with_delay_then_satisfied_after_memory() -> None:
    record = {"changes": [change()], **assessments("2022-04-01")}
    on_act = run(WITHIN, record, "2022-04-01")
    assert (on_act.outcome, on_act.due_on, on_act.delay_days, on_act.days_overdue) == (
        Oc.VIOLATED, D(2022, 3, 31), 1, 1)
    assert on_act.events[0].done_on == D(2022, 4, 1)
    last_day = run(WITHIN, record, "2023-04-01")  # act + late_act_memory (1 year), inclusive
    assert (last_day.outcome, last_day.delay_days) == (Oc.VIOLATED, 1)
    after = run(WITHIN, record, "2023-04-02")
    assert (after.outcome, after.delay_days, after.days_overdue) == (Oc.SATISFIED, 1, None)
    assert after.events[0].delay_days == 1


def test_within_late_act_memory_param_override() -> None:
    record = {"changes": [change()], **assessments("2022-04-01")}
    assert run(WITHIN, record, "2022-10-01", extra=LATE_MEMORY).outcome is Oc.VIOLATED
    short = run(WITHIN, record, "2022-05-02", extra=LATE_MEMORY, params={"late_act_memory": "1 month"})
    assert (short.outcome, short.delay_days) == (Oc.SATISFIED, 1)
    assert [(p.name, p.overridden) for p in short.params] == [("late_act_memory", True)]
    assert run(WITHIN, record, "2022-05-01", extra=LATE_MEMORY, params={"late_act_memory": "1 month"}).outcome \
        is Oc.VIOLATED


def test_within_not_done_pending_through_due_day_then_violated() -> None:
    record = {"changes": [change()], "risk_assessments": []}
    on = run(WITHIN, record, "2022-03-31")
    assert (on.outcome, on.due_on, on.days_remaining) == (Oc.PENDING, D(2022, 3, 31), 0)
    after = run(WITHIN, record, "2022-04-01")
    assert (after.outcome, after.due_on, after.days_overdue, after.delay_days) == (
        Oc.VIOLATED, D(2022, 3, 31), 1, None)
    assert after.events[0].done_on is None


def test_within_unknown_act_pending_then_unknown() -> None:
    record = {"changes": [change()]}  # risk_assessments absent
    assert run(WITHIN, record, "2022-03-31").outcome is Oc.PENDING
    r = run(WITHIN, record, "2022-04-01")
    assert r.outcome is Oc.UNKNOWN
    assert r.missing == ("risk_assessments",)
    assert r.events[0].missing == ("risk_assessments",)


@pytest.mark.parametrize("changes", [[], [change(major=False)], None])
def test_within_no_events_is_not_applicable(changes: list[dict[str, Any]] | None) -> None:
    r = run(WITHIN, {"changes": changes, "risk_assessments": []}, "2022-06-30")
    assert r.outcome is Oc.NOT_APPLICABLE
    assert r.reason is not None
    assert (r.reason.zh, r.reason.en) == ("没有相关事件", "no such events")
    assert r.events == []


def test_within_unknown_event_list_is_unknown() -> None:
    r = run(WITHIN, {"risk_assessments": []}, "2022-06-30")
    assert (r.outcome, r.missing) == (Oc.UNKNOWN, ("changes",))


def test_within_event_with_unknown_filter_is_unknown() -> None:
    record = {"changes": [{"date": "2022-03-01", "kind": "equipment"}], "risk_assessments": []}
    r = run(WITHIN, record, "2022-06-30")
    assert r.outcome is Oc.UNKNOWN
    assert r.events[0].outcome is Oc.UNKNOWN


def test_within_worst_event_decides() -> None:
    record = {
        "changes": [change("2022-01-01"), change("2022-03-01"), change("2022-06-20")],
        **assessments("2022-01-15"),
    }
    # 2022-01-01 satisfied by 01-15; 2022-03-01 not done, due 03-31 → violated; 06-20 due 07-20 → pending
    r = run(WITHIN, record, "2022-06-30")
    assert r.outcome is Oc.VIOLATED
    assert (r.due_on, r.days_overdue) == (D(2022, 3, 31), 91)
    assert [(e.path, e.outcome) for e in r.events] == [
        ("changes[2022-01-01]", Oc.SATISFIED), ("changes[2022-03-01]", Oc.VIOLATED),
        ("changes[2022-06-20]", Oc.PENDING)]


def test_within_pending_and_satisfied_is_pending_with_earliest_due() -> None:
    record = {"changes": [change("2022-01-01"), change("2022-06-20"), change("2022-06-25")],
              **assessments("2022-01-15")}
    r = run(WITHIN, record, "2022-06-30")
    assert (r.outcome, r.due_on, r.days_remaining) == (Oc.PENDING, D(2022, 7, 20), 20)


def test_within_unknown_beats_pending_but_not_violated() -> None:
    record = {"changes": [change("2022-06-20"), {"date": "2022-01-01", "kind": "equipment"}],
              "risk_assessments": []}
    assert run(WITHIN, record, "2022-06-30").outcome is Oc.UNKNOWN
    record["changes"].append(change("2022-03-01"))
    assert run(WITHIN, record, "2022-06-30").outcome is Oc.VIOLATED


# ============================================================================ due on D done A

DUE_ON = """each h in hazards where h.major
  due on h.plan.time_limit
      done greatest(h.remediated_on, h.verified_on)"""


def hazard(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "H1", "major": True, "found_on": "2022-05-03",
                            "plan": {"time_limit": "2022-07-31"}, "remediated_on": None, "verified_on": None}
    base.update(kw)
    return base


@pytest.mark.parametrize("plan", [{"time_limit": None}, None])
def test_due_on_null_deadline_is_unknown(plan: dict[str, Any] | None) -> None:
    r = run(DUE_ON, {"hazards": [hazard(plan=plan)]}, "2022-06-30")
    assert r.outcome is Oc.UNKNOWN
    assert r.events[0].outcome is Oc.UNKNOWN
    assert r.events[0].due_on is None


def test_due_on_unknown_deadline_is_unknown() -> None:
    r = run(DUE_ON, {"hazards": [hazard(plan={})]}, "2022-06-30")
    assert r.outcome is Oc.UNKNOWN
    assert r.missing == ("hazards[H1].plan.time_limit",)


def test_due_on_open_pending_through_deadline_then_violated() -> None:
    on = run(DUE_ON, {"hazards": [hazard()]}, "2022-07-31")
    assert (on.outcome, on.due_on, on.days_remaining) == (Oc.PENDING, D(2022, 7, 31), 0)
    after = run(DUE_ON, {"hazards": [hazard()]}, "2022-08-01")
    assert (after.outcome, after.days_overdue) == (Oc.VIOLATED, 1)


def test_due_on_closed_on_the_deadline_is_satisfied() -> None:
    r = run(DUE_ON, {"hazards": [hazard(remediated_on="2022-07-20", verified_on="2022-07-31")]}, "2022-08-01")
    assert (r.outcome, r.events[0].done_on) == (Oc.SATISFIED, D(2022, 7, 31))


def test_due_on_remediated_but_not_verified_is_not_done() -> None:
    r = run(DUE_ON, {"hazards": [hazard(remediated_on="2022-07-20")]}, "2022-08-01")
    assert (r.outcome, r.events[0].done_on) == (Oc.VIOLATED, None)


def test_due_on_verified_after_as_of_is_hidden() -> None:
    record = {"hazards": [hazard(remediated_on="2022-07-20", verified_on="2022-08-05")]}
    assert run(DUE_ON, record, "2022-08-04").outcome is Oc.VIOLATED
    r = run(DUE_ON, record, "2022-08-05")
    assert (r.outcome, r.delay_days) == (Oc.VIOLATED, 5)


# ============================================================================ each with due continuous / due by

EACH_CONTINUOUS = """each s in staff where s.on_duty
  require s.safety_training_passed_on is not null
  due continuous"""


def test_each_continuous_vacuously_true() -> None:
    assert outcome(EACH_CONTINUOUS, {"staff": []}) is Oc.SATISFIED
    assert outcome(EACH_CONTINUOUS, {"staff": [{"id": "S1", "on_duty": False}]}) is Oc.SATISFIED
    assert outcome(EACH_CONTINUOUS, {"staff": None}) is Oc.SATISFIED


def test_each_continuous_every_element_must_hold() -> None:
    ok = {"id": "S1", "on_duty": True, "safety_training_passed_on": "2021-01-01"}
    bad = {"id": "S2", "on_duty": True, "safety_training_passed_on": None}
    unknown = {"id": "S3", "on_duty": True}
    assert outcome(EACH_CONTINUOUS, {"staff": [ok]}) is Oc.SATISFIED
    assert outcome(EACH_CONTINUOUS, {"staff": [ok, bad]}) is Oc.VIOLATED
    assert outcome(EACH_CONTINUOUS, {"staff": [ok, unknown]}) is Oc.UNKNOWN
    assert outcome(EACH_CONTINUOUS, {"staff": [unknown, bad]}) is Oc.VIOLATED
    assert outcome(EACH_CONTINUOUS, {"staff": [{"id": "S4"}, ok]}) is Oc.UNKNOWN  # unknown filter
    assert outcome(EACH_CONTINUOUS, {}) is Oc.UNKNOWN


def test_each_with_due_by() -> None:
    items = EACH_CONTINUOUS.replace("due continuous", "due by 2021-12-31")
    bad = {"staff": [{"id": "S2", "on_duty": True, "safety_training_passed_on": None}], **OLD}
    assert outcome(items, bad, "2021-12-31") is Oc.PENDING
    assert outcome(items, bad, "2022-01-01") is Oc.VIOLATED
    assert outcome(items, {"staff": []}, "2020-01-01") is Oc.SATISFIED


# ============================================================================ applicability

def test_effective_date() -> None:
    items = "effective 2021-09-01\n  " + CONTINUOUS
    before = run(items, {"obsolete_equipment_in_use": 1}, "2021-08-31")
    assert before.outcome is Oc.NOT_APPLICABLE
    assert before.reason is not None
    assert (before.reason.zh, before.reason.en) == ("自 2021-09-01 起施行", "in force from 2021-09-01")
    assert outcome(items, {"obsolete_equipment_in_use": 1}, "2021-09-01") is Oc.VIOLATED
    assert outcome(items, {}, "2021-08-31") is Oc.NOT_APPLICABLE  # nothing is needed before it


APPLIES = 'applies industry in {"construction", "mining"}\n  ' + CONTINUOUS


def test_applies_false_is_not_applicable_with_reason() -> None:
    r = run(APPLIES, {"industry": "retail", "obsolete_equipment_in_use": 1}, "2022-06-30")
    assert r.outcome is Oc.NOT_APPLICABLE
    assert r.reason is not None
    assert r.reason.en == 'the rule applies only when industry in {"construction", "mining"}'
    assert r.reason.zh == '适用条件不成立：industry in {"construction", "mining"}'


def test_applies_null_is_false() -> None:
    assert outcome(APPLIES, {"industry": None, "obsolete_equipment_in_use": 1}) is Oc.NOT_APPLICABLE


def test_applies_true_evaluates_the_rule() -> None:
    assert outcome(APPLIES, {"industry": "mining", "obsolete_equipment_in_use": 1}) is Oc.VIOLATED
    assert outcome(APPLIES, {"industry": "mining", "obsolete_equipment_in_use": 0}) is Oc.SATISFIED


@pytest.mark.parametrize("value", [0, 1, None])
def test_applies_unknown_is_unknown(value: int | None) -> None:
    r = run(APPLIES, {"obsolete_equipment_in_use": value}, "2022-06-30")
    assert r.outcome is Oc.UNKNOWN
    assert "industry" in r.missing
    assert r.reason is not None
    assert r.reason.en == "whether the rule applies is unknown"


def test_applies_unknown_but_not_applicable_anyway() -> None:
    items = 'effective 2023-01-01\n  ' + APPLIES
    assert outcome(items, {}, "2022-06-30") is Oc.NOT_APPLICABLE
    items = 'applies industry in {"mining"}\n  unless small source "s" "q" when employee_count < 10\n  ' + CONTINUOUS
    r = run(items, {"employee_count": 3, "obsolete_equipment_in_use": 1}, "2022-06-30")
    assert (r.outcome, r.exception) == (Oc.NOT_APPLICABLE, "small")


UNLESS = 'unless small source "例外条款" "小微企业" when employee_count < 10\n  ' + CONTINUOUS


def test_unless_true_is_not_applicable_naming_the_exception() -> None:
    r = run(UNLESS, {"employee_count": 9, "obsolete_equipment_in_use": 1}, "2022-06-30")
    assert (r.outcome, r.exception) == (Oc.NOT_APPLICABLE, "small")
    assert r.reason is not None
    assert r.reason.en == "exception `small` (例外条款)"


def test_unless_false_evaluates_the_rule() -> None:
    r = run(UNLESS, {"employee_count": 10, "obsolete_equipment_in_use": 1}, "2022-06-30")
    assert (r.outcome, r.exception) == (Oc.VIOLATED, None)


def test_unless_unknown_is_unknown_unless_satisfied_anyway() -> None:
    r = run(UNLESS, {"obsolete_equipment_in_use": 1}, "2022-06-30")
    assert r.outcome is Oc.UNKNOWN
    assert r.reason is not None
    assert r.reason.en == "whether exception `small` applies is unknown"
    assert "employee_count" in r.missing
    assert outcome(UNLESS, {"obsolete_equipment_in_use": 0}) is Oc.SATISFIED


def test_unless_unknown_with_pending_is_unknown() -> None:
    items = UNLESS.replace("due continuous", "due by 2022-12-31")
    assert outcome(items, {"obsolete_equipment_in_use": 1}, "2022-06-30") is Oc.UNKNOWN


def test_second_exception_holds_even_when_first_is_unknown() -> None:
    items = ('unless small source "s" "q" when employee_count < 10\n'
             '  unless retail source "s" "q" when industry == "retail"\n  ' + CONTINUOUS)
    r = run(items, {"industry": "retail", "obsolete_equipment_in_use": 1}, "2022-06-30")
    assert (r.outcome, r.exception) == (Oc.NOT_APPLICABLE, "retail")


# ============================================================================ triggers

TRIGGER = """each f in inspection_findings where f.kind == "evasion"
  on f.date
  listing 1 year
  effect zh "纳入信用记录" en "entered in the credit record\""""


def finding(on: str, kind: str = "evasion") -> dict[str, Any]:
    return {"date": on, "kind": kind}


def test_trigger_active_through_the_listing_period_then_expired() -> None:
    record = {"inspection_findings": [finding("2022-02-11")]}
    on_day = run(TRIGGER, record, "2022-02-11", kind="trigger")
    assert (on_day.outcome, on_day.listed_until, on_day.last_event_on) == (
        Oc.TRIGGERED, D(2023, 2, 11), D(2022, 2, 11))
    assert on_day.effect is not None and on_day.effect.en == "entered in the credit record"
    last = run(TRIGGER, record, "2023-02-11", kind="trigger")
    assert (last.outcome, last.listed_until) == (Oc.TRIGGERED, D(2023, 2, 11))
    after = run(TRIGGER, record, "2023-02-12", kind="trigger")
    assert (after.outcome, after.listed_until) == (Oc.EXPIRED, D(2023, 2, 11))
    assert after.events[0].outcome is Oc.EXPIRED


def test_trigger_before_the_behaviour_is_not_triggered() -> None:
    record = {"inspection_findings": [finding("2022-02-11")]}
    r = run(TRIGGER, record, "2022-02-10", kind="trigger")
    assert (r.outcome, r.events) == (Oc.NOT_TRIGGERED, [])


@pytest.mark.parametrize("findings", [[], [finding("2022-02-11", "other")], None])
def test_trigger_not_triggered(findings: list[dict[str, Any]] | None) -> None:
    r = run(TRIGGER, {"inspection_findings": findings}, "2022-06-30", kind="trigger")
    assert r.outcome is Oc.NOT_TRIGGERED
    assert r.listed_until is None


def test_trigger_unknown_list_or_filter() -> None:
    assert run(TRIGGER, {}, "2022-06-30", kind="trigger").outcome is Oc.UNKNOWN
    r = run(TRIGGER, {"inspection_findings": [{"date": "2022-02-11"}]}, "2022-06-30", kind="trigger")
    assert r.outcome is Oc.UNKNOWN
    assert r.missing == ("inspection_findings[2022-02-11].kind",)


def test_trigger_combination_order() -> None:
    expired, active, unknown = finding("2020-01-01"), finding("2022-02-11"), {"date": "2021-05-05"}
    as_of = "2022-06-30"
    assert run(TRIGGER, {"inspection_findings": [expired, active, unknown]}, as_of, kind="trigger").outcome \
        is Oc.TRIGGERED
    assert run(TRIGGER, {"inspection_findings": [expired, unknown]}, as_of, kind="trigger").outcome is Oc.UNKNOWN
    r = run(TRIGGER, {"inspection_findings": [expired, finding("2020-06-01")]}, as_of, kind="trigger")
    assert (r.outcome, r.listed_until) == (Oc.EXPIRED, D(2021, 6, 1))


def test_trigger_listed_until_is_the_latest_active_event() -> None:
    record = {"inspection_findings": [finding("2022-02-11"), finding("2022-05-01"), finding("2020-01-01")]}
    r = run(TRIGGER, record, "2022-06-30", kind="trigger")
    assert (r.outcome, r.listed_until, r.last_event_on) == (Oc.TRIGGERED, D(2023, 5, 1), D(2022, 5, 1))
    assert [e.outcome for e in r.events] == [Oc.TRIGGERED, Oc.TRIGGERED, Oc.EXPIRED]


def test_trigger_is_never_unknown_because_of_applies_when_not_applicable() -> None:
    items = 'applies industry == "mining"\n  ' + TRIGGER
    r = run(items, {"industry": "retail", "inspection_findings": [finding("2022-02-11")]}, "2022-06-30",
            kind="trigger")
    assert r.outcome is Oc.NOT_APPLICABLE


# ============================================================================ dated params

LISTING_PARAM = """
param credit_listing_period: duration {
  default 1 year
  from 2023-10-01 3 years
  source "二（五）2" "纳入信用记录"
}
"""
DATED_TRIGGER = TRIGGER.replace("listing 1 year", "listing credit_listing_period at f.date")
PLAIN_TRIGGER = TRIGGER.replace("listing 1 year", "listing credit_listing_period")


@pytest.mark.parametrize(
    ("behaviour", "listed_until"),
    [
        ("2023-09-30", D(2024, 9, 30)),  # the day before the change: 1 year
        ("2023-10-01", D(2026, 10, 1)),  # from the change: 3 years
        ("2021-02-28", D(2022, 2, 28)),
    ],
)
def test_dated_param_at_the_behaviour_date(behaviour: str, listed_until: dt.date) -> None:
    record = {"inspection_findings": [finding(behaviour)]}
    r = run(DATED_TRIGGER, record, "2024-06-01", kind="trigger", extra=LISTING_PARAM)
    assert r.events[0].listed_until == listed_until
    assert run(DATED_TRIGGER, record, listed_until.isoformat(), kind="trigger", extra=LISTING_PARAM).outcome \
        is Oc.TRIGGERED
    after = (listed_until + dt.timedelta(days=1)).isoformat()
    assert run(DATED_TRIGGER, record, after, kind="trigger", extra=LISTING_PARAM).outcome is Oc.EXPIRED


def test_dated_param_plain_reference_reads_the_value_on_as_of() -> None:
    record = {"inspection_findings": [finding("2023-09-30")]}
    before = run(PLAIN_TRIGGER, record, "2023-09-30", kind="trigger", extra=LISTING_PARAM)
    assert before.listed_until == D(2024, 9, 30)
    after = run(PLAIN_TRIGGER, record, "2023-10-01", kind="trigger", extra=LISTING_PARAM)
    assert after.listed_until == D(2026, 9, 30)


def test_dated_param_override_replaces_the_whole_schedule() -> None:
    record = {"inspection_findings": [finding("2020-01-01"), finding("2024-01-01")]}
    r = run(DATED_TRIGGER, record, "2024-06-01", kind="trigger", extra=LISTING_PARAM,
            params={"credit_listing_period": "2 years"})
    assert [e.listed_until for e in r.events] == [D(2022, 1, 1), D(2026, 1, 1)]
    assert [(p.name, p.overridden) for p in r.params] == [("credit_listing_period", True)]


def test_dated_param_in_an_expression() -> None:
    items = "require as_of + (credit_listing_period at 2023-10-01) == 2025-06-01\n  due continuous"
    assert outcome(items, {}, "2022-06-01", extra=LISTING_PARAM) is Oc.SATISFIED
    items = "require as_of + credit_listing_period == 2023-06-01\n  due continuous"
    assert outcome(items, {}, "2022-06-01", extra=LISTING_PARAM) is Oc.SATISFIED
    items = "require as_of + credit_listing_period == 2026-10-01\n  due continuous"
    assert outcome(items, {}, "2023-10-01", extra=LISTING_PARAM) is Oc.SATISFIED


def test_param_override_errors() -> None:
    pol = policy(CONTINUOUS, extra=LISTING_PARAM)
    with pytest.raises(ParamError, match="no param named `nope`"):
        pol.evaluate({"id": "E"}, "2022-01-01", params={"nope": "1 year"})
    with pytest.raises(ParamError):
        pol.evaluate({"id": "E"}, "2022-01-01", params={"credit_listing_period": "banana"})


# ============================================================================ rules over rules

BASE_RULES = """
obligation a {
  implements "a"
  title zh "甲" en "A"
  source "s" "q"
  require obsolete_equipment_in_use == 0
  due continuous
}

obligation b {
  implements "b"
  title zh "乙" en "B"
  source "s" "q"
  applies industry == "mining"
  require ppe.worn
  due continuous
}
"""
ENFORCEMENT = "require not (violated(a) or violated(b))\n  due continuous"


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"obsolete_equipment_in_use": 1, "industry": "retail"}, Oc.VIOLATED),
        ({"obsolete_equipment_in_use": 1}, Oc.VIOLATED),  # b unknown, a violated: violated
        ({"obsolete_equipment_in_use": 0, "industry": "mining", "ppe": {"worn": False}}, Oc.VIOLATED),
        ({"obsolete_equipment_in_use": 0, "industry": "retail"}, Oc.SATISFIED),  # b not applicable
        ({"obsolete_equipment_in_use": 0, "industry": "mining", "ppe": {"worn": True}}, Oc.SATISFIED),
        ({"obsolete_equipment_in_use": 0}, Oc.UNKNOWN),  # b unknown
        ({"industry": "retail"}, Oc.UNKNOWN),  # a unknown
    ],
)
def test_violated_is_three_valued(record: dict[str, Any], expected: Outcome) -> None:
    r = run(ENFORCEMENT, record, "2022-06-30", extra=BASE_RULES)
    assert r.outcome is expected
    assert r.rules_used == ("a", "b")


def test_enforcement_message_lists_the_violated_rules() -> None:
    r = run(ENFORCEMENT, {"obsolete_equipment_in_use": 1, "industry": "mining", "ppe": {"worn": False}},
            "2022-06-30", extra=BASE_RULES)
    assert r.message is not None
    assert "违反的规则：「甲」、「乙」" in r.message.zh  # the rules by their titles
    assert "violated rules: “A”, “B”" in r.message.en


def test_rule_declared_after_its_user_is_evaluated_first() -> None:
    text = HEADER + rule_text(ENFORCEMENT) + BASE_RULES
    res = compiled(text).evaluate({"id": "E", "obsolete_equipment_in_use": 1, "industry": "retail"}, "2022-06-30")
    assert [r.rule for r in res.results] == ["r", "a", "b"]  # reported in declaration order
    assert res.by_rule("r").outcome is Oc.VIOLATED


def test_triggered_of_a_trigger() -> None:
    extra = "\ntrigger t {\n  implements \"t\"\n  title zh \"触发\" en \"T\"\n  source \"s\" \"q\"\n  " \
            + TRIGGER + "\n}\n"
    items = "require not triggered(t)\n  due continuous"
    assert outcome(items, {"inspection_findings": [finding("2022-02-11")]}, extra=extra) is Oc.VIOLATED
    assert outcome(items, {"inspection_findings": [finding("2020-02-11")]}, extra=extra) is Oc.SATISFIED
    assert outcome(items, {"inspection_findings": []}, extra=extra) is Oc.SATISFIED
    assert outcome(items, {}, extra=extra) is Oc.UNKNOWN


# ============================================================================ three-valued logic

def holds(cond: str, record: dict[str, Any], as_of: str = "2022-06-30", extra: str = "") -> bool | None:
    """The value of a condition: True (satisfied), False (violated) or None (unknown)."""
    o = outcome(f"require {cond}\n  due continuous", record, as_of, extra=extra)
    return {Oc.SATISFIED: True, Oc.VIOLATED: False, Oc.UNKNOWN: None}[o]


@pytest.mark.parametrize(
    ("record", "is_null", "is_known", "is_unknown"),
    [
        ({"standardization_self_assessed_on": None}, True, True, False),
        ({"standardization_self_assessed_on": "2022-01-01"}, False, True, False),
        ({}, None, False, True),
    ],
)
def test_is_null_known_unknown(record: dict[str, Any], is_null: bool | None, is_known: bool,
                               is_unknown: bool) -> None:
    x = "standardization_self_assessed_on"
    assert holds(f"{x} is null", record) is is_null
    assert holds(f"{x} is not null", record) is (None if is_null is None else not is_null)
    assert holds(f"{x} is known", record) is is_known
    assert holds(f"{x} is unknown", record) is is_unknown


def test_field_of_null_record_is_null_of_unknown_record_is_unknown() -> None:
    x = "principal.safety_training_passed_on"
    assert holds(f"{x} is null", {"principal": None}) is True
    assert holds(f"{x} is null", {}) is None
    assert holds(f"{x} is null", {"principal": {}}) is None
    assert holds(f"{x} is null", {"principal": {"safety_training_passed_on": None}}) is True


@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
def test_ordering_comparison_with_null_is_false(op: str) -> None:
    x = "standardization_self_assessed_on"
    assert holds(f"{x} {op} 2022-01-01", {x: None}) is False
    assert holds(f"2022-01-01 {op} {x}", {x: None}) is False
    assert holds(f"not ({x} {op} 2022-01-01)", {x: None}) is True


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_comparison_with_unknown_is_unknown(op: str) -> None:
    assert holds(f"standardization_self_assessed_on {op} 2022-01-01", {}) is None


def test_equality_comparison_with_null_is_false() -> None:
    x = "obsolete_equipment_in_use"
    assert holds(f"{x} != 0", {x: None}) is False
    assert holds(f"{x} == null", {x: None}) is False


def test_equality_with_null_current_behaviour() -> None:
    """== and != with null are false, as every comparison with null (docs/semantics.md)."""
    x = "obsolete_equipment_in_use"
    assert holds(f"{x} == 0", {x: None}) is False
    assert holds(f"{x} != 0", {x: None}) is False  # a comparison with null is false


def test_comparison_of_two_dates_and_instants() -> None:
    assert holds("standardization_self_assessed_on <= as_of", {"standardization_self_assessed_on": "2022-06-30"})
    assert holds("standardization_self_assessed_on < as_of", {"standardization_self_assessed_on": "2022-06-30"}) \
        is False
    assert holds("as_of - standardization_self_assessed_on == 365",
                 {"standardization_self_assessed_on": "2021-06-30"}) is True
    assert holds("days_between(2020-02-28, 2020-03-01) == 2", {}) is True


def test_arithmetic_with_null_is_null_with_unknown_is_unknown() -> None:
    x = "standardization_self_assessed_on"
    assert holds(f"({x} + 1 day) is null", {x: None}) is True
    assert holds(f"({x} + 1 day) is null", {x: "2022-01-01"}) is False
    assert holds(f"({x} + 1 day) is unknown", {}) is True
    assert holds("(employee_count + 1) is null", {"employee_count": None}) is True


def test_date_arithmetic_in_the_language() -> None:
    assert holds("2020-02-29 + 1 year == 2021-02-28", {}) is True
    assert holds("2021-01-31 + 1 month == 2021-02-28", {}) is True
    assert holds("2021-03-15 + 1 year == 2022-03-15", {}) is True
    assert holds("2022-03-15 - 1 year == 2021-03-15", {}) is True
    assert holds("date(2021-08-09T23:30:00+08:00 + 1 hour) == 2021-08-10", {}) is True
    assert holds("2021-08-09T23:30:00+08:00 + 60 minutes > 2021-08-10T00:29:00+08:00", {}) is True


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        ("false and employee_count > 1", False),
        ("employee_count > 1 and false", False),
        ("true and employee_count > 1", None),
        ("true or employee_count > 1", True),
        ("employee_count > 1 or true", True),
        ("false or employee_count > 1", None),
        ("not (employee_count > 1)", None),
        ("false implies employee_count > 1", True),
        ("employee_count > 1 implies true", True),
        ("true implies employee_count > 1", None),
        ("employee_count > 1 implies false", None),
        ("true implies false", False),
        ("if employee_count > 1 then true else true", True),
        ("if employee_count > 1 then true else false", None),
    ],
)
def test_kleene_logic(cond: str, expected: bool | None) -> None:
    assert holds(cond, {}) is expected


def test_null_counts_as_false_in_a_condition() -> None:
    assert holds("above_designated_size", {"above_designated_size": None}) is False
    assert holds("not above_designated_size", {"above_designated_size": None}) is True
    assert holds("above_designated_size or true", {"above_designated_size": None}) is True


def test_find_of_nothing_is_unknown() -> None:
    cond = "find(c in safety_costs where c.year == 2020).extracted >= 0"
    assert holds(cond, {"safety_costs": []}) is None
    assert holds(cond, {"safety_costs": [{"year": 2021, "extracted": 5}]}) is None
    assert holds(cond, {"safety_costs": [{"year": 2020, "extracted": 5}]}) is True
    r = run(f"require {cond}\n  due continuous", {"safety_costs": []}, "2022-06-30")
    assert r.missing == ("safety_costs[c.year == 2020]",)


def test_max_min_latest_earliest_of_nothing_is_null() -> None:
    empty = {"risk_assessments": []}
    assert holds("max(a in risk_assessments: a.date) is null", empty) is True
    assert holds("min(a in risk_assessments: a.date) is null", empty) is True
    assert holds("latest(a in risk_assessments by a.date) is null", empty) is True
    assert holds("earliest(a in risk_assessments by a.date) is null", empty) is True
    assert holds("max(a in risk_assessments: a.date) is null", {"risk_assessments": None}) is True
    assert holds("max(a in risk_assessments: a.date) is null", {}) is None
    assert holds("max(a in risk_assessments: a.date) is unknown", {}) is True


def test_max_min_latest_pick() -> None:
    record = assessments("2021-01-01", "2022-01-01", "2020-06-01")
    assert holds("max(a in risk_assessments: a.date) == 2022-01-01", record) is True
    assert holds("min(a in risk_assessments: a.date) == 2020-06-01", record) is True
    record["risk_assessments"][0]["risk_list_updated"] = True
    record["risk_assessments"][1]["risk_list_updated"] = False
    assert holds("latest(a in risk_assessments by a.date).risk_list_updated", record) is False
    assert holds("earliest(a in risk_assessments by a.date).comprehensive", record) is True


def test_max_with_an_unknown_element_is_unknown() -> None:
    record = {"risk_assessments": [{"date": "2021-01-01", "comprehensive": True}, {"comprehensive": True}]}
    assert holds("max(a in risk_assessments: a.date) is unknown", record) is True


def test_max_ignores_null_values() -> None:
    record = {"risk_assessments": [{"date": "2021-01-01"}, {"date": None}]}
    assert holds("max(a in risk_assessments: a.date) == 2021-01-01", record) is True


STAFF_ON = [{"id": "S1", "on_duty": True}]
STAFF_OFF = [{"id": "S2", "on_duty": False}]
STAFF_UNKNOWN = [{"id": "S3"}]


@pytest.mark.parametrize(
    ("staff", "any_", "all_"),
    [
        ([], False, True),
        (None, False, True),
        (STAFF_ON, True, True),
        (STAFF_OFF, False, False),
        (STAFF_ON + STAFF_UNKNOWN, True, None),
        (STAFF_OFF + STAFF_UNKNOWN, None, False),
        (STAFF_UNKNOWN, None, None),
        (STAFF_ON + STAFF_OFF + STAFF_UNKNOWN, True, False),
    ],
)
def test_any_all_with_unknown_elements(staff: list[dict[str, Any]] | None, any_: bool | None,
                                       all_: bool | None) -> None:
    assert holds("any(s in staff: s.on_duty)", {"staff": staff}) is any_
    assert holds("all(s in staff: s.on_duty)", {"staff": staff}) is all_


def test_quantifiers_over_unknown_list_are_unknown() -> None:
    for q in ("any(s in staff: s.on_duty)", "all(s in staff: s.on_duty)", "count(s in staff) == 0",
              "sum(c in safety_costs: c.extracted) == 0"):
        assert holds(q, {}) is None, q


def test_any_all_with_unknown_filter() -> None:
    staff = [{"id": "S1", "on_duty": True}, {"id": "S2", "role": "general"}]
    assert holds('any(s in staff where s.role == "general": s.on_duty)', {"staff": staff}) is None
    # S1's role is unknown but S1 is on duty: whether or not S1 is a safety manager, it cannot fail `all` —
    # the result is exact (docs/semantics.md: unknown only when it depends on a missing fact)
    assert holds('all(s in staff where s.role == "safety_manager": s.on_duty)', {"staff": staff}) is True
    staff = [{"id": "S1", "on_duty": False}, {"id": "S2", "role": "general", "on_duty": False}]
    assert holds('all(s in staff where s.role == "safety_manager": s.on_duty)', {"staff": staff}) is None
    staff[0]["role"] = "general"
    assert holds('all(s in staff where s.role == "safety_manager": s.on_duty)', {"staff": staff}) is True


def test_count_and_sum() -> None:
    costs = [{"year": 2020, "extracted": 5}, {"year": 2021, "extracted": 7}]
    assert holds("sum(c in safety_costs: c.extracted) == 12", {"safety_costs": costs}) is True
    assert holds("count(c in safety_costs where c.year > 2020) == 1", {"safety_costs": costs}) is True
    assert holds("sum(c in safety_costs: c.extracted) == 0", {"safety_costs": []}) is True
    unknown = [*costs, {"year": 2022}]
    assert holds("sum(c in safety_costs: c.extracted) >= 0", {"safety_costs": unknown}) is None
    assert holds("count(c in safety_costs: c.extracted > 1) >= 0", {"safety_costs": unknown}) is None


def test_coalesce_greatest_least() -> None:
    x, y = "principal.safety_training_passed_on", "standardization_self_assessed_on"
    record = {"principal": {"safety_training_passed_on": None}, y: "2022-01-01"}
    assert holds(f"coalesce({x}, {y}) == 2022-01-01", record) is True
    assert holds(f"coalesce({x}, {y}) == 2022-01-01", {y: "2022-01-01"}) is True  # unknown is skipped
    assert holds(f"coalesce({x}, {y}) is null", {"principal": None, y: None}) is True
    assert holds(f"coalesce({x}, {y}) is unknown", {y: None}) is True
    assert holds(f"greatest({x}, {y}) is null", record) is True
    assert holds(f"least({x}, {y}) is null", record) is True
    assert holds(f"greatest({x}, {y}) is unknown", {y: "2022-01-01"}) is True
    assert holds("greatest(2021-01-01, 2022-01-01, 2020-01-01) == 2022-01-01", {}) is True
    assert holds("least(2021-01-01, 2022-01-01, 2020-01-01) == 2020-01-01", {}) is True


def test_set_membership() -> None:
    assert holds('industry in {"mining", "construction"}', {"industry": "mining"}) is True
    assert holds('industry not in {"mining", "construction"}', {"industry": "mining"}) is False
    assert holds('industry in {"mining", "construction"}', {}) is None
    assert holds('"post" in risk_control.levels', {"risk_control": {"levels": ["post"]}}) is True


def test_integer_ranges_are_inclusive_and_bounded() -> None:
    assert holds("count(y in 2020 .. 2022) == 3", {}) is True
    assert holds("count(y in 2022 .. 2021) == 0", {}) is True
    assert holds("count(y in 0 .. 10000) == 10001", {}) is True
    assert holds("count(y in 0 .. 10001) >= 0", {}) is None  # refused beyond 10,000 elements
    assert holds("all(y in 2020 .. year(as_of) - 1: y < 2022)", {}, as_of="2022-06-30") is True


def test_year_and_date_functions() -> None:
    assert holds("year(established_on) == 2012", {"established_on": "2012-05-18"}) is True
    assert holds("date(2021, 2, 29) is unknown", {}) is True
    assert holds("date(2020, 2, 29) == 2020-02-29", {}) is True


def test_unknown_field_of_a_picked_element_is_named_missing() -> None:
    items = "require latest(a in risk_assessments by a.date).risk_list_updated\n  due continuous"
    r = run(items, {"risk_assessments": [{"date": "2021-01-01"}]}, "2022-06-30")
    assert r.outcome is Oc.UNKNOWN
    assert r.missing != ()


def test_several_requires_are_one_conjunction() -> None:
    items = "require obsolete_equipment_in_use == 0\n  require ppe.worn\n  due continuous"
    assert outcome(items, {"obsolete_equipment_in_use": 0, "ppe": {"worn": True}}) is Oc.SATISFIED
    assert outcome(items, {"obsolete_equipment_in_use": 1, "ppe": {}}) is Oc.VIOLATED
    assert outcome(items, {"obsolete_equipment_in_use": 0, "ppe": {}}) is Oc.UNKNOWN
    assert outcome(items, {"obsolete_equipment_in_use": 0, "ppe": {"worn": False}}) is Oc.VIOLATED
