"""The bundled seed policy (附件4) on hand-made enterprises, at the boundary days of each catalogue id.

The expectations come from the catalogue in ../shared/guide/obligations.md and from docs/semantics.md, not
from running the engine.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from safetyrules.api import Policy, load_policy
from safetyrules.engine.results import Outcome, RuleResult

D = dt.date
Oc = Outcome  # short alias for the many expected outcomes


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def evaluate(policy: Policy, record: dict[str, Any], as_of: str, cid: str,
             params: dict[str, Any] | None = None) -> RuleResult:
    results = policy.evaluate({"id": "91350525MA31XXXX0K", **record}, as_of, params=params).by_catalogue_id(cid)
    assert len(results) == 1, cid
    return results[0]


def day_after(day: str) -> str:
    return (D.fromisoformat(day) + dt.timedelta(days=1)).isoformat()


# A compliant construction firm on 2022-06-30 (the fact contract's example, without its unanswered change).
GOOD: dict[str, Any] = {
    "name": "永春县某建筑工程有限公司",
    "industry": "construction",
    "above_designated_size": False,
    "established_on": "2012-05-18",
    "employee_count": 130,
    "responsibility_system": {"established_on": "2020-09-01", "covers_all_positions": True,
                              "one_post_dual_duty": True, "assessment_results_published": True},
    "internal_assessments": ["2021-01-15", "2022-01-14"],
    "risk_assessments": [{"date": "2021-11-02", "comprehensive": True, "risk_list_updated": True}],
    "changes": [],
    "reports": [{"kind": "risk_list", "channel": "platform", "date": "2022-04-08"},
                {"kind": "dual_report", "channel": "platform", "date": "2022-06-05"},
                {"kind": "dual_report", "channel": "workers_congress", "date": "2022-06-10"}],
    "hazards": [],
    "commitments": [{"published_on": "2022-01-05", "to_public": True, "to_staff": True}],
    "accidents": [],
    "insurance": [{"kind": "safety_liability", "starts_on": "2022-01-01", "ends_on": "2022-12-31"}],
}


def good(**changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(GOOD)
    record.update(changes)
    return record


# ============================================================================ 3.1-a

ISSUE_EXAMPLE = {"industry": "construction", "risk_assessments": [{"date": "2020-11-03", "comprehensive": True}]}


def test_3_1_a_issue_example(policy: Policy) -> None:
    r = evaluate(policy, ISSUE_EXAMPLE, "2022-06-30", "3.1-a")
    assert r.rule == "risk_assessment_high_risk"
    assert (r.outcome, r.due_on, r.days_overdue, r.last_event_on, r.period and r.period.text()) == (
        Oc.VIOLATED, D(2021, 11, 3), 239, D(2020, 11, 3), "1 year")
    assert r.message is not None
    assert "逾期 239 天" in r.message.zh
    assert r.message.zh == (
        "违反 3.1-a（附件4 二（三）1）：高危行业企业每年至少开展一次全面的安全风险辨识评估。"
        "行业领域：建筑施工；最近一次 2020-11-03，周期 1 年，应于 2021-11-03 前再次履行；"
        "截至 2022-06-30 已逾期 239 天。")
    assert r.message.en == (
        "Violated 3.1-a (附件4 二（三）1): High-risk enterprises assess their risks comprehensively at least once "
        "a year. industry: construction; latest on 2020-11-03, every 1 year: next due 2021-11-03; "
        "as of 2022-06-30, 239 days overdue.")
    assert [(p.name, p.overridden) for p in r.params] == [
        ("high_risk_assessment_period", False), ("high_risk_industries", False)]


@pytest.mark.parametrize(("as_of", "expected", "overdue"),
                         [("2021-11-03", Oc.SATISFIED, None), ("2021-11-04", Oc.VIOLATED, 1)])
def test_3_1_a_boundary(policy: Policy, as_of: str, expected: Outcome, overdue: int | None) -> None:
    r = evaluate(policy, ISSUE_EXAMPLE, as_of, "3.1-a")
    assert (r.outcome, r.due_on, r.days_overdue) == (expected, D(2021, 11, 3), overdue)


def test_3_1_a_non_comprehensive_assessment_does_not_count(policy: Policy) -> None:
    record = {"industry": "mining", "established_on": "2010-01-01",
              "risk_assessments": [{"date": "2020-11-03", "comprehensive": True},
                                   {"date": "2021-10-01", "comprehensive": False}]}
    r = evaluate(policy, record, "2021-11-04", "3.1-a")
    assert (r.outcome, r.last_event_on) == (Oc.VIOLATED, D(2020, 11, 3))


def test_3_1_a_no_assessment_first_due_a_year_after_the_action_start(policy: Policy) -> None:
    record = {"industry": "construction", "established_on": "2012-05-18", "risk_assessments": []}
    assert evaluate(policy, record, "2021-04-01", "3.1-a").outcome is Oc.PENDING
    r = evaluate(policy, record, "2021-04-02", "3.1-a")
    assert (r.outcome, r.due_on, r.days_overdue) == (Oc.VIOLATED, D(2021, 4, 1), 1)


@pytest.mark.parametrize(("industry", "a", "b"), [
    ("construction", Oc.VIOLATED, Oc.NOT_APPLICABLE),
    ("hazardous_goods_storage", Oc.VIOLATED, Oc.NOT_APPLICABLE),
    ("retail", Oc.NOT_APPLICABLE, Oc.SATISFIED),
    ("industry_trade", Oc.NOT_APPLICABLE, Oc.SATISFIED),
    (None, Oc.NOT_APPLICABLE, Oc.SATISFIED),  # an industry known not to exist is not high-risk
])
def test_3_1_a_and_b_split_by_industry(policy: Policy, industry: str | None, a: Outcome, b: Outcome) -> None:
    record = {"industry": industry, "risk_assessments": [{"date": "2020-11-03", "comprehensive": True}]}
    assert evaluate(policy, record, "2022-06-30", "3.1-a").outcome is a
    assert evaluate(policy, record, "2022-06-30", "3.1-b").outcome is b


def test_3_1_a_and_b_unknown_industry(policy: Policy) -> None:
    record = {"risk_assessments": [{"date": "2020-11-03", "comprehensive": True}]}
    for cid in ("3.1-a", "3.1-b"):
        r = evaluate(policy, record, "2022-06-30", cid)
        assert r.outcome is Oc.UNKNOWN
        assert "industry" in r.missing


# ============================================================================ 3.1-b

RETAIL = {"industry": "retail", "risk_assessments": [{"date": "2020-11-03", "comprehensive": True}]}


@pytest.mark.parametrize(("as_of", "expected"), [("2023-11-03", Oc.SATISFIED), ("2023-11-04", Oc.VIOLATED)])
def test_3_1_b_three_years(policy: Policy, as_of: str, expected: Outcome) -> None:
    r = evaluate(policy, RETAIL, as_of, "3.1-b")
    assert (r.outcome, r.due_on, r.period and r.period.text()) == (expected, D(2023, 11, 3), "3 years")


def test_3_1_b_param_override_changes_the_outcome(policy: Policy) -> None:
    assert evaluate(policy, RETAIL, "2022-11-04", "3.1-b").outcome is Oc.SATISFIED
    r = evaluate(policy, RETAIL, "2022-11-04", "3.1-b", params={"other_assessment_period": "2 years"})
    assert (r.outcome, r.due_on, r.days_overdue) == (Oc.VIOLATED, D(2022, 11, 3), 1)
    assert ("other_assessment_period", True) in [(p.name, p.overridden) for p in r.params]


@pytest.mark.parametrize(("established", "due"), [
    ("2012-05-18", D(2023, 4, 1)),
    ("2021-06-01", D(2024, 6, 1)),
])
def test_3_1_b_no_assessment_first_due(policy: Policy, established: str, due: dt.date) -> None:
    record = {"industry": "catering", "established_on": established, "risk_assessments": []}
    on = evaluate(policy, record, due.isoformat(), "3.1-b")
    assert (on.outcome, on.due_on, on.days_remaining) == (Oc.PENDING, due, 0)
    after = evaluate(policy, record, day_after(due.isoformat()), "3.1-b")
    assert (after.outcome, after.days_overdue) == (Oc.VIOLATED, 1)


def test_3_1_b_no_assessment_unknown_establishment(policy: Policy) -> None:
    record = {"industry": "catering", "risk_assessments": []}
    assert evaluate(policy, record, "2023-04-01", "3.1-b").outcome is Oc.PENDING
    r = evaluate(policy, record, "2023-04-02", "3.1-b")
    assert (r.outcome, r.missing) == (Oc.UNKNOWN, ("established_on",))


# ============================================================================ 3.1-c

def test_3_1_c_reassessment_on_the_30th_day(policy: Policy) -> None:
    record = {"changes": [{"date": "2022-03-01", "kind": "process", "major": True, "authorized": True}],
              "risk_assessments": [{"date": "2022-03-31", "comprehensive": False}]}
    r = evaluate(policy, record, "2022-06-30", "3.1-c")
    assert (r.outcome, r.due_on) == (Oc.SATISFIED, D(2022, 3, 31))
    assert [(e.path, e.due_on, e.done_on) for e in r.events] == [
        ("changes[2022-03-01]", D(2022, 3, 31), D(2022, 3, 31))]


def test_3_1_c_a_day_late(policy: Policy) -> None:
    record = {"changes": [{"date": "2022-03-01", "kind": "process", "major": True}],
              "risk_assessments": [{"date": "2022-04-01", "comprehensive": False}]}
    r = evaluate(policy, record, "2022-06-30", "3.1-c")
    assert (r.outcome, r.delay_days, r.due_on) == (Oc.VIOLATED, 1, D(2022, 3, 31))
    later = evaluate(policy, record, "2023-04-02", "3.1-c")
    assert (later.outcome, later.delay_days) == (Oc.SATISFIED, 1)


def test_3_1_c_not_done(policy: Policy) -> None:
    record = {"changes": [{"date": "2022-03-01", "kind": "process", "major": True}],
              "risk_assessments": [{"date": "2022-02-01", "comprehensive": True}]}
    assert evaluate(policy, record, "2022-03-31", "3.1-c").outcome is Oc.PENDING
    r = evaluate(policy, record, "2022-04-01", "3.1-c")
    assert (r.outcome, r.days_overdue) == (Oc.VIOLATED, 1)


def test_3_1_c_no_major_change(policy: Policy) -> None:
    record = {"changes": [{"date": "2022-03-01", "kind": "process", "major": False}], "risk_assessments": []}
    r = evaluate(policy, record, "2022-06-30", "3.1-c")
    assert r.outcome is Oc.NOT_APPLICABLE
    assert r.reason is not None and r.reason.en == "no such events"


def test_3_1_c_param_override(policy: Policy) -> None:
    record = {"changes": [{"date": "2022-03-01", "kind": "process", "major": True}],
              "risk_assessments": [{"date": "2022-03-20", "comprehensive": False}]}
    r = evaluate(policy, record, "2022-06-30", "3.1-c", params={"reassessment_after_change": "2 weeks"})
    assert (r.outcome, r.due_on, r.delay_days) == (Oc.VIOLATED, D(2022, 3, 15), 5)


# ============================================================================ 4.2-a / 4.2-b / 4.2-c

def major_hazard(**kw: Any) -> dict[str, Any]:
    h: dict[str, Any] = {"id": "H-2022-007", "major": True, "found_on": "2022-05-03", "reported_on": "2022-05-03",
                         "cause": "equipment_failure",
                         "plan": {"responsibility": True, "measures": True, "funds": True,
                                  "time_limit": "2022-07-31", "contingency": True, "made_on": "2022-05-05"},
                         "remediated_on": None, "verified_on": None}
    h.update(kw)
    return h


@pytest.mark.parametrize(("reported", "as_of", "expected", "delay"), [
    ("2022-05-04", "2022-06-30", Oc.SATISFIED, None),  # within 1 day
    ("2022-05-05", "2022-05-05", Oc.VIOLATED, 1),
    ("2022-05-05", "2023-05-05", Oc.VIOLATED, 1),  # late act remembered for 1 year
    ("2022-05-05", "2023-05-06", Oc.SATISFIED, 1),
    (None, "2022-05-04", Oc.PENDING, None),
    (None, "2022-05-05", Oc.VIOLATED, None),
])
def test_4_2_a(policy: Policy, reported: str | None, as_of: str, expected: Outcome, delay: int | None) -> None:
    r = evaluate(policy, {"hazards": [major_hazard(reported_on=reported)]}, as_of, "4.2-a")
    assert (r.outcome, r.due_on, r.delay_days) == (expected, D(2022, 5, 4), delay)
    assert r.events[0].path == "hazards[H-2022-007]"


def test_4_2_a_report_after_as_of_is_not_yet_made(policy: Policy) -> None:
    r = evaluate(policy, {"hazards": [major_hazard(reported_on="2022-05-20")]}, "2022-05-10", "4.2-a")
    assert (r.outcome, r.days_overdue, r.events[0].done_on) == (Oc.VIOLATED, 6, None)


def test_4_2_a_unknown_report(policy: Policy) -> None:
    h = major_hazard()
    del h["reported_on"]
    assert evaluate(policy, {"hazards": [h]}, "2022-05-04", "4.2-a").outcome is Oc.PENDING
    r = evaluate(policy, {"hazards": [h]}, "2022-05-05", "4.2-a")
    assert r.outcome is Oc.UNKNOWN
    assert r.missing == ("hazards[H-2022-007].reported_on",)


def test_4_2_a_minor_hazards_do_not_count(policy: Policy) -> None:
    r = evaluate(policy, {"hazards": [major_hazard(major=False, reported_on=None)]}, "2022-06-30", "4.2-a")
    assert r.outcome is Oc.NOT_APPLICABLE


@pytest.mark.parametrize(("plan", "as_of", "expected"), [
    ({"made_on": "2022-05-10"}, "2022-06-30", Oc.SATISFIED),  # found 05-03 + 7 days
    ({"made_on": "2022-05-11"}, "2022-06-30", Oc.VIOLATED),
    ({"funds": False}, "2022-05-10", Oc.PENDING),  # a plan without funds is no plan
    ({"funds": False}, "2022-05-11", Oc.VIOLATED),
    ({"time_limit": None}, "2022-05-11", Oc.VIOLATED),  # nor one without a time limit
    ({"made_on": "2022-05-12"}, "2022-05-11", Oc.VIOLATED),  # the plan does not exist yet
])
def test_4_2_b(policy: Policy, plan: dict[str, Any], as_of: str, expected: Outcome) -> None:
    h = major_hazard()
    h["plan"].update(plan)
    r = evaluate(policy, {"hazards": [h]}, as_of, "4.2-b")
    assert (r.outcome, r.due_on) == (expected, D(2022, 5, 10))


def test_4_2_b_late_plan_delay(policy: Policy) -> None:
    h = major_hazard()
    h["plan"]["made_on"] = "2022-05-13"
    r = evaluate(policy, {"hazards": [h]}, "2022-06-30", "4.2-b")
    assert (r.outcome, r.delay_days, r.events[0].done_on) == (Oc.VIOLATED, 3, D(2022, 5, 13))


def test_4_2_b_no_plan_at_all(policy: Policy) -> None:
    r = evaluate(policy, {"hazards": [major_hazard(plan=None)]}, "2022-05-11", "4.2-b")
    assert (r.outcome, r.days_overdue) == (Oc.VIOLATED, 1)


def test_4_2_b_unknown_plan_item(policy: Policy) -> None:
    h = major_hazard()
    del h["plan"]["funds"]
    assert evaluate(policy, {"hazards": [h]}, "2022-05-10", "4.2-b").outcome is Oc.PENDING
    r = evaluate(policy, {"hazards": [h]}, "2022-05-11", "4.2-b")
    assert r.outcome is Oc.UNKNOWN
    assert "hazards[H-2022-007].plan.funds" in r.missing


@pytest.mark.parametrize(("remediated", "verified", "as_of", "expected"), [
    (None, None, "2022-07-31", Oc.PENDING),
    (None, None, "2022-08-01", Oc.VIOLATED),
    ("2022-07-20", "2022-07-31", "2022-08-01", Oc.SATISFIED),
    ("2022-07-20", None, "2022-08-01", Oc.VIOLATED),  # not verified: not closed
    ("2022-07-20", "2022-08-02", "2022-08-02", Oc.VIOLATED),  # verified 2 days late
    ("2022-07-20", "2022-08-02", "2022-08-01", Oc.VIOLATED),  # verification not yet on record
])
def test_4_2_c(policy: Policy, remediated: str | None, verified: str | None, as_of: str,
               expected: Outcome) -> None:
    r = evaluate(policy, {"hazards": [major_hazard(remediated_on=remediated, verified_on=verified)]}, as_of,
                 "4.2-c")
    assert (r.outcome, r.due_on) == (expected, D(2022, 7, 31))


def test_4_2_c_without_time_limit_is_unknown(policy: Policy) -> None:
    h = major_hazard()
    h["plan"]["time_limit"] = None
    r = evaluate(policy, {"hazards": [h]}, "2022-08-01", "4.2-c")
    assert r.outcome is Oc.UNKNOWN
    assert r.events[0].path == "hazards[H-2022-007]"


# ============================================================================ 5.2-t5 / 5.2-t7

def accident(**kw: Any) -> dict[str, Any]:
    a: dict[str, Any] = {"id": "A-2021-01", "occurred_at": "2021-08-09T10:20:00+08:00",
                         "principal_informed_at": "2021-08-09T10:25:00+08:00",
                         "reported_at": "2021-08-09T10:55:00+08:00", "report_false": False, "severity": "general"}
    a.update(kw)
    return a


def test_5_2_t5_concealed_accident_is_triggered_then_expires(policy: Policy) -> None:
    record = {"accidents": [accident(reported_at=None)]}
    r = evaluate(policy, record, "2022-08-09", "5.2-t5")
    assert (r.outcome, r.listed_until, r.last_event_on) == (Oc.TRIGGERED, D(2022, 8, 9), D(2021, 8, 9))
    assert r.effect is not None and "信用记录" in r.effect.zh
    assert evaluate(policy, record, "2022-08-10", "5.2-t5").outcome is Oc.EXPIRED
    assert evaluate(policy, record, "2021-08-08", "5.2-t5").outcome is Oc.NOT_TRIGGERED


def test_5_2_t5_absent_report_is_unknown(policy: Policy) -> None:
    a = accident()
    del a["reported_at"]
    r = evaluate(policy, {"accidents": [a]}, "2022-06-30", "5.2-t5")
    assert r.outcome is Oc.UNKNOWN
    assert r.missing == ("accidents[A-2021-01].reported_at",)


def test_5_2_t5_reported_accident_is_not_triggered(policy: Policy) -> None:
    assert evaluate(policy, {"accidents": [accident()]}, "2022-06-30", "5.2-t5").outcome is Oc.NOT_TRIGGERED


def test_5_2_t5_dated_listing_period(policy: Policy) -> None:
    record = {"accidents": [accident(occurred_at="2023-10-01T08:00:00+08:00", principal_informed_at=None,
                                     reported_at=None)]}
    r = evaluate(policy, record, "2024-06-30", "5.2-t5")
    assert (r.outcome, r.listed_until) == (Oc.TRIGGERED, D(2026, 10, 1))
    record["accidents"][0]["occurred_at"] = "2023-09-30T08:00:00+08:00"
    r = evaluate(policy, record, "2024-06-30", "5.2-t5")
    assert (r.outcome, r.listed_until) == (Oc.TRIGGERED, D(2024, 9, 30))


@pytest.mark.parametrize(("informed", "reported", "expected"), [
    ("2021-08-09T10:25:00+08:00", "2021-08-09T11:25:00+08:00", Oc.NOT_TRIGGERED),  # exactly 60 minutes
    ("2021-08-09T10:25:00+08:00", "2021-08-09T11:26:00+08:00", Oc.TRIGGERED),  # 61 minutes
    ("2021-08-09T10:25:00+08:00", "2021-08-09T03:26:00+00:00", Oc.TRIGGERED),  # 61 minutes, another offset
    ("2021-08-09T10:25:00+08:00", "2021-08-09T03:25:00+00:00", Oc.NOT_TRIGGERED),
    (None, "2021-08-09T11:20:00+08:00", Oc.NOT_TRIGGERED),  # null: measured from occurred_at
    (None, "2021-08-09T11:21:00+08:00", Oc.TRIGGERED),
])
def test_5_2_t7_late_report(policy: Policy, informed: str | None, reported: str, expected: Outcome) -> None:
    r = evaluate(policy, {"accidents": [accident(principal_informed_at=informed, reported_at=reported)]},
                 "2022-06-30", "5.2-t7")
    assert r.outcome is expected


@pytest.mark.parametrize(("reported", "expected"), [
    ("2021-08-09T11:20:00+08:00", Oc.NOT_TRIGGERED), ("2021-08-09T11:21:00+08:00", Oc.TRIGGERED)])
def test_5_2_t7_absent_principal_informed_at_measures_from_occurred_at(policy: Policy, reported: str,
                                                                      expected: Outcome) -> None:
    a = accident(reported_at=reported)
    del a["principal_informed_at"]
    r = evaluate(policy, {"accidents": [a]}, "2022-06-30", "5.2-t7")
    assert r.outcome is expected


def test_5_2_t7_late_report_listing(policy: Policy) -> None:
    record = {"accidents": [accident(reported_at="2021-08-09T12:00:00+08:00")]}
    assert evaluate(policy, record, "2022-08-09", "5.2-t7").listed_until == D(2022, 8, 9)
    assert evaluate(policy, record, "2022-08-10", "5.2-t7").outcome is Oc.EXPIRED


def test_5_2_t7_concealed_accident_is_t5_not_t7(policy: Policy) -> None:
    record = {"accidents": [accident(reported_at=None)]}
    assert evaluate(policy, record, "2022-06-30", "5.2-t7").outcome is Oc.NOT_TRIGGERED
    assert evaluate(policy, record, "2022-06-30", "5.2-t5").outcome is Oc.TRIGGERED


def test_5_2_t7_param_override(policy: Policy) -> None:
    record = {"accidents": [accident(reported_at="2021-08-09T11:26:00+08:00")]}
    r = evaluate(policy, record, "2022-06-30", "5.2-t7", params={"accident_report_hours": "2 hours"})
    assert r.outcome is Oc.NOT_TRIGGERED


# ============================================================================ 5.4-a

@pytest.mark.parametrize(("as_of", "insurance", "expected"), [
    ("2021-08-31", [], Oc.NOT_APPLICABLE),  # before the revised law takes effect
    ("2021-09-01", [], Oc.VIOLATED),
    ("2021-09-01", [{"kind": "safety_liability", "starts_on": "2021-01-01", "ends_on": "2021-12-31"}], Oc.SATISFIED),
    ("2021-12-31", [{"kind": "safety_liability", "starts_on": "2021-01-01", "ends_on": "2021-12-31"}], Oc.SATISFIED),
    ("2022-01-01", [{"kind": "safety_liability", "starts_on": "2021-01-01", "ends_on": "2021-12-31"}], Oc.VIOLATED),
    ("2021-09-30", [{"kind": "safety_liability", "starts_on": "2021-10-01", "ends_on": "2022-09-30"}], Oc.VIOLATED),
    ("2021-10-01", [{"kind": "safety_liability", "starts_on": "2021-10-01", "ends_on": "2022-09-30"}], Oc.SATISFIED),
    ("2022-06-30", [{"kind": "employer_liability", "starts_on": "2022-01-01", "ends_on": "2022-12-31"}], Oc.VIOLATED),
])
def test_5_4_a(policy: Policy, as_of: str, insurance: list[dict[str, Any]], expected: Outcome) -> None:
    r = evaluate(policy, {"industry": "construction", "insurance": insurance}, as_of, "5.4-a")
    assert r.outcome is expected


def test_5_4_a_reasons(policy: Policy) -> None:
    before = evaluate(policy, {"industry": "construction"}, "2021-08-31", "5.4-a")
    assert before.reason is not None and before.reason.en == "in force from 2021-09-01"
    retail = evaluate(policy, {"industry": "retail", "insurance": []}, "2022-06-30", "5.4-a")
    assert retail.outcome is Oc.NOT_APPLICABLE
    unknown = evaluate(policy, {"industry": "construction"}, "2022-06-30", "5.4-a")
    assert (unknown.outcome, unknown.missing) == (Oc.UNKNOWN, ("insurance",))


# ============================================================================ 1.1-b

def test_1_1_b_first_due_end_of_2020(policy: Policy) -> None:
    record = {"established_on": "2012-05-18", "internal_assessments": []}
    on = evaluate(policy, record, "2020-12-31", "1.1-b")
    assert (on.outcome, on.due_on, on.days_remaining) == (Oc.PENDING, D(2020, 12, 31), 0)
    after = evaluate(policy, record, "2021-01-01", "1.1-b")
    assert (after.outcome, after.due_on, after.days_overdue) == (Oc.VIOLATED, D(2020, 12, 31), 1)


def test_1_1_b_new_enterprise_first_due_a_year_after_establishment(policy: Policy) -> None:
    record = {"established_on": "2020-06-15", "internal_assessments": []}
    assert evaluate(policy, record, "2021-06-15", "1.1-b").outcome is Oc.PENDING
    r = evaluate(policy, record, "2021-06-16", "1.1-b")
    assert (r.outcome, r.due_on) == (Oc.VIOLATED, D(2021, 6, 15))


def test_1_1_b_yearly_after_an_assessment(policy: Policy) -> None:
    record = {"established_on": "2012-05-18", "internal_assessments": ["2021-01-15"]}
    assert evaluate(policy, record, "2022-01-15", "1.1-b").outcome is Oc.SATISFIED
    r = evaluate(policy, record, "2022-01-16", "1.1-b")
    assert (r.outcome, r.due_on, r.days_overdue) == (Oc.VIOLATED, D(2022, 1, 15), 1)
    # an assessment later than as_of is hidden: as of 2021-01-14 nothing is on record, and 2020-12-31 passed
    assert evaluate(policy, record, "2021-01-14", "1.1-b").outcome is Oc.VIOLATED


def test_1_1_b_no_assessment_unknown_establishment_after_first_due(policy: Policy) -> None:
    r = evaluate(policy, {"internal_assessments": []}, "2021-01-01", "1.1-b")
    assert r.outcome is Oc.UNKNOWN
    assert "established_on" in r.missing


# ============================================================================ 2.2-a

COSTS_OK = {"required": 100, "extracted": 100, "misappropriated": 0, "internal_audit": True,
            "external_audit": True}


def test_2_2_a_missing_year_is_unknown(policy: Policy) -> None:
    record = {"industry": "construction", "established_on": "2012-05-18",
              "safety_costs": [{"year": 2021, **COSTS_OK}]}
    r = evaluate(policy, record, "2022-06-30", "2.2-a")
    assert r.outcome is Oc.UNKNOWN
    assert r.missing == ("safety_costs[c.year == y; y=2020]",)
    assert r.remedy is not None and "the item of safety costs, per year whose calendar year is" in r.remedy.en


def test_2_2_a_every_closed_year_on_record(policy: Policy) -> None:
    record = {"industry": "construction", "established_on": "2012-05-18",
              "safety_costs": [{"year": 2020, **COSTS_OK}, {"year": 2021, **COSTS_OK}]}
    assert evaluate(policy, record, "2022-06-30", "2.2-a").outcome is Oc.SATISFIED
    record["safety_costs"][0]["extracted"] = 99
    assert evaluate(policy, record, "2022-06-30", "2.2-a").outcome is Oc.VIOLATED
    record["safety_costs"][0].update(extracted=100, misappropriated=1)
    assert evaluate(policy, record, "2022-06-30", "2.2-a").outcome is Oc.VIOLATED


def test_2_2_a_only_closed_years_since_2020_or_establishment(policy: Policy) -> None:
    only_2020 = {"industry": "mining", "established_on": "2012-05-18", "safety_costs": [{"year": 2020, **COSTS_OK}]}
    assert evaluate(policy, only_2020, "2021-12-31", "2.2-a").outcome is Oc.SATISFIED
    assert evaluate(policy, only_2020, "2022-01-01", "2.2-a").outcome is Oc.UNKNOWN
    young = {"industry": "mining", "established_on": "2021-03-01", "safety_costs": [{"year": 2021, **COSTS_OK}]}
    assert evaluate(policy, young, "2022-06-30", "2.2-a").outcome is Oc.SATISFIED
    # as of 2020 no year is closed yet: vacuously satisfied
    assert evaluate(policy, {"industry": "mining", "established_on": "2012-05-18", "safety_costs": []},
                    "2020-06-30", "2.2-a").outcome is Oc.SATISFIED


def test_2_2_a_not_applicable_outside_cost_industries(policy: Policy) -> None:
    assert evaluate(policy, {"industry": "retail"}, "2022-06-30", "2.2-a").outcome is Oc.NOT_APPLICABLE


# ============================================================================ 1.1-a

def test_1_1_a_deadline_and_met_late(policy: Policy) -> None:
    none = {"responsibility_system": {"established_on": None, "covers_all_positions": True},
            "established_on": "2012-05-18"}
    assert evaluate(policy, none, "2020-12-31", "1.1-a").outcome is Oc.PENDING
    assert evaluate(policy, none, "2021-01-01", "1.1-a").outcome is Oc.VIOLATED
    late = {"responsibility_system": {"established_on": "2021-02-01", "covers_all_positions": True}}
    r = evaluate(policy, late, "2021-06-30", "1.1-a")
    assert (r.outcome, r.delay_days) == (Oc.SATISFIED, 32)


def test_1_1_a_new_entrant(policy: Policy) -> None:
    record = {"established_on": "2021-03-01", "responsibility_system": None}
    assert evaluate(policy, record, "2021-05-30", "1.1-a").outcome is Oc.PENDING
    r = evaluate(policy, record, "2021-05-31", "1.1-a")
    assert (r.outcome, r.due_on) == (Oc.VIOLATED, D(2021, 5, 30))


# ============================================================================ enforcement

def test_good_record_is_compliant(policy: Policy) -> None:
    res = policy.evaluate({"id": "G", **GOOD}, "2022-06-30")
    enforcement_parts = {"1.1-a", "3.3-c", "4.1-b", "5.1-a", "3.1-a", "3.1-b", "3.1-c", "4.2-a", "4.2-b", "4.2-c"}
    got = {r.implements[0]: r.outcome for r in res.results if r.implements[0] in enforcement_parts}
    assert got == {"1.1-a": Oc.SATISFIED, "3.3-c": Oc.SATISFIED, "4.1-b": Oc.SATISFIED, "5.1-a": Oc.SATISFIED,
                   "3.1-a": Oc.SATISFIED, "3.1-b": Oc.NOT_APPLICABLE, "3.1-c": Oc.NOT_APPLICABLE,
                   "4.2-a": Oc.NOT_APPLICABLE, "4.2-b": Oc.NOT_APPLICABLE, "4.2-c": Oc.NOT_APPLICABLE}
    r = res.by_catalogue_id("enforcement")[0]
    assert r.outcome is Oc.SATISFIED
    assert r.rules_used == ("dual_report", "major_hazard_closed", "major_hazard_plan", "major_hazard_reported",
                            "reassessment_after_major_change", "responsibility_system_in_place",
                            "risk_assessment_high_risk", "risk_assessment_other", "risk_list_reporting",
                            "safety_commitment")


def test_enforcement_violated_lists_the_rules(policy: Policy) -> None:
    record = good(risk_assessments=[{"date": "2020-11-03", "comprehensive": True, "risk_list_updated": True}],
                  commitments=[])
    r = evaluate(policy, record, "2022-06-30", "enforcement")
    assert r.outcome is Oc.VIOLATED
    assert r.message is not None
    assert ("违反的规则：「高危行业企业每年至少开展一次全面的安全风险辨识评估」、"
            "「主要负责人每年向社会和全体员工公开安全承诺」") in r.message.zh  # the rules by their titles
    assert "risk_assessment_high_risk" not in r.message.en and "violated rules: “" in r.message.en
    assert r.remedy is not None
    assert r.remedy.en.startswith("remedy the violated rules: “High-risk enterprises assess their risks")
    assert "safety_commitment" not in r.remedy.en


def test_enforcement_unknown_when_a_component_is_unknown(policy: Policy) -> None:
    record = good()
    del record["commitments"]
    assert evaluate(policy, record, "2022-06-30", "5.1-a").outcome is Oc.UNKNOWN
    assert evaluate(policy, record, "2022-06-30", "enforcement").outcome is Oc.UNKNOWN


def test_enforcement_violated_even_with_unknown_components(policy: Policy) -> None:
    record = good(risk_assessments=[{"date": "2020-11-03", "comprehensive": True}])
    del record["commitments"]
    assert evaluate(policy, record, "2022-06-30", "enforcement").outcome is Oc.VIOLATED


def test_enforcement_ignores_rules_outside_its_list(policy: Policy) -> None:
    record = good(obsolete_equipment_in_use=3)
    assert evaluate(policy, record, "2022-06-30", "2.2-c").outcome is Oc.VIOLATED
    assert evaluate(policy, record, "2022-06-30", "enforcement").outcome is Oc.SATISFIED


# ============================================================================ other catalogue ids at a boundary

def test_3_3_c_quarterly_risk_list_report(policy: Policy) -> None:
    assert evaluate(policy, GOOD, "2022-07-08", "3.3-c").outcome is Oc.SATISFIED
    r = evaluate(policy, GOOD, "2022-07-09", "3.3-c")
    assert (r.outcome, r.due_on, r.days_overdue) == (Oc.VIOLATED, D(2022, 7, 8), 1)


def test_4_1_b_dual_report_needs_both_channels(policy: Policy) -> None:
    r = evaluate(policy, GOOD, "2022-07-05", "4.1-b")  # platform 06-05 is the older channel
    assert (r.outcome, r.due_on) == (Oc.SATISFIED, D(2022, 7, 5))
    assert evaluate(policy, GOOD, "2022-07-06", "4.1-b").outcome is Oc.VIOLATED


def test_5_1_a_commitment_yearly(policy: Policy) -> None:
    assert evaluate(policy, GOOD, "2023-01-05", "5.1-a").outcome is Oc.SATISFIED
    assert evaluate(policy, GOOD, "2023-01-06", "5.1-a").outcome is Oc.VIOLATED
    staff_only = good(commitments=[{"published_on": "2022-01-05", "to_public": False, "to_staff": True}])
    r = evaluate(policy, staff_only, "2022-06-30", "5.1-a")
    assert (r.outcome, r.due_on) == (Oc.VIOLATED, D(2020, 12, 31))


def test_3_1_d_unknown_names_the_missing_fact(policy: Policy) -> None:
    r = evaluate(policy, ISSUE_EXAMPLE, "2022-06-30", "3.1-d")
    assert r.outcome is Oc.UNKNOWN
    assert r.missing == ("risk_assessments[2020-11-03].risk_list_updated",)


def test_3_1_d_outcomes(policy: Policy) -> None:
    record = {"risk_assessments": [{"date": "2020-11-03", "risk_list_updated": False},
                                   {"date": "2021-11-03", "risk_list_updated": True}]}
    assert evaluate(policy, record, "2021-11-03", "3.1-d").outcome is Oc.SATISFIED
    assert evaluate(policy, record, "2021-11-02", "3.1-d").outcome is Oc.VIOLATED
    assert evaluate(policy, {"risk_assessments": []}, "2021-11-02", "3.1-d").outcome is Oc.NOT_APPLICABLE
    assert evaluate(policy, ISSUE_EXAMPLE, "2022-06-30", "3.1-d").outcome is Oc.UNKNOWN
