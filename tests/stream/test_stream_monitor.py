"""The monitor: alerts of every kind, on the right day, and its handling of time, order and duplicates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from safetyrules.api import Policy
from safetyrules.engine.results import Outcome
from safetyrules.stream.analysis import SubsetEvaluator
from safetyrules.stream.events import Status
from safetyrules.stream.monitor import Alert, AlertKind, Monitor

from .conftest import ev, needs_durable, reference_outcomes

D = dt.date
BACKENDS = ["reference", pytest.param("rete", marks=needs_durable)]

# a construction firm registered with its lists known (and empty)
REGISTRATION = {"industry": "construction", "established_on": "2010-01-01", "hazards": [], "changes": [],
                "accidents": [], "inspection_findings": [], "reports": [], "risk_assessments": []}


def registered(monitor: Monitor, day: str = "2022-01-03", **fields: Any) -> None:
    monitor.post(ev("E1", "enterprise_updated", day, {**REGISTRATION, **fields}))


def alerts_of(monitor: Monitor, rule: str, kind: AlertKind | None = None) -> list[Alert]:
    return [a for a in monitor.alerts() if a.rule == rule and (kind is None or a.kind is kind)]


@pytest.fixture(params=BACKENDS)
def monitor(request: pytest.FixtureRequest, policy: Policy) -> Monitor:
    return Monitor(policy, backend=request.param)


@pytest.mark.timeout(60)
def test_becomes_violated_on_the_day_after_the_deadline(monitor: Monitor) -> None:
    registered(monitor)
    monitor.post(ev("E1", "hazard_found", "2022-03-01", {"id": "H1", "major": True, "cause": "management"}))
    monitor.advance_to(D(2022, 3, 10))
    (alert,) = alerts_of(monitor, "major_hazard_reported", AlertKind.VIOLATED)
    assert alert.day == D(2022, 3, 3)  # due 2022-03-02 (found + 1 day), violated from the day after
    assert alert.implements == ("4.2-a",) and alert.outcome is Outcome.VIOLATED
    assert alert.message.zh.startswith("违反 4.2-a") and alert.message.en.startswith("Violated 4.2-a")
    assert ("E1", "major_hazard_reported") in monitor.findings()
    assert any(a.rule == "enforcement_candidate" and a.kind is AlertKind.VIOLATED for a in monitor.alerts())


@pytest.mark.timeout(60)
def test_becomes_compliant_again(monitor: Monitor) -> None:
    registered(monitor, responsibility_system={"established_on": "2020-06-01", "covers_all_positions": False})
    assert alerts_of(monitor, "responsibility_system_in_place", AlertKind.VIOLATED)
    fixed = {"responsibility_system": {"covers_all_positions": True}}
    monitor.post(ev("E1", "enterprise_updated", "2022-02-01", fixed))
    (alert,) = alerts_of(monitor, "responsibility_system_in_place", AlertKind.COMPLIANT)
    assert alert.day == D(2022, 2, 1) and alert.previous is Outcome.VIOLATED and alert.outcome is Outcome.SATISFIED
    assert ("E1", "responsibility_system_in_place") not in monitor.findings()


@pytest.mark.timeout(60)
def test_a_violation_that_becomes_unknown_is_withdrawn(monitor: Monitor) -> None:
    registered(monitor)  # no risk list on record: reporting it is overdue
    assert alerts_of(monitor, "risk_list_reporting", AlertKind.VIOLATED)
    # a risk-list report whose channel is not known: whether it counts is unknown
    monitor.post(ev("E1", "report_filed", "2022-02-01", {"kind": "risk_list"}))
    (alert,) = alerts_of(monitor, "risk_list_reporting", AlertKind.WITHDRAWN)
    assert alert.outcome is Outcome.UNKNOWN and alert.previous is Outcome.VIOLATED


@pytest.mark.timeout(60)
def test_trigger_fires_and_expires(monitor: Monitor) -> None:
    registered(monitor)
    monitor.post(ev("E1", "finding_recorded", "2022-03-01", {"kind": "evasion"}))
    monitor.post(ev("E1", "finding_recorded", "2022-06-01", {"kind": "evasion", "record": "B"}))
    fired = alerts_of(monitor, "evading_supervision", AlertKind.TRIGGERED)
    assert [(a.day, a.event) for a in fired] == [(D(2022, 3, 1), "inspection_findings[2022-03-01]"),
                                                 (D(2022, 6, 1), "inspection_findings[2022-06-01]")]
    assert fired[0].due_on == D(2023, 3, 1)  # listed for 1 year (behaviour before 2023-10-01)
    monitor.advance_to(D(2023, 12, 31))
    expired = alerts_of(monitor, "evading_supervision", AlertKind.EXPIRED)
    assert [a.day for a in expired] == [D(2023, 3, 2), D(2023, 6, 2)]
    assert expired[-1].outcome is Outcome.EXPIRED
    assert ("E1", "evading_supervision") not in monitor.findings()


@pytest.mark.timeout(60)
def test_due_within_n_days(policy: Policy) -> None:
    monitor = Monitor(policy, alert_days=30)
    registered(monitor)
    monitor.post(ev("E1", "report_filed", "2022-01-10", {"kind": "risk_list", "channel": "platform"}))
    monitor.advance_to(D(2022, 5, 1))
    soon = alerts_of(monitor, "risk_list_reporting", AlertKind.DUE_SOON)
    assert [(a.day, a.due_on) for a in soon] == [(D(2022, 3, 11), D(2022, 4, 10))]  # 30 days before the due date
    assert alerts_of(monitor, "risk_list_reporting", AlertKind.VIOLATED)[-1].day == D(2022, 4, 11)


@pytest.mark.timeout(60)
def test_due_soon_for_each_pending_event(monitor: Monitor) -> None:
    registered(monitor)
    monitor.post(ev("E1", "change_made", "2022-03-01", {"kind": "equipment", "major": True, "authorized": True}))
    (alert,) = alerts_of(monitor, "reassessment_after_major_change", AlertKind.DUE_SOON)
    assert (alert.day, alert.due_on, alert.event) == (D(2022, 3, 1), D(2022, 3, 31), "changes[2022-03-01]")
    monitor.post(ev("E1", "assessment_filed", "2022-03-20", {"comprehensive": False, "risk_list_updated": True}))
    monitor.advance_to(D(2022, 6, 1))
    assert not alerts_of(monitor, "reassessment_after_major_change", AlertKind.VIOLATED)


def test_alert_days_zero_and_kind_filter(policy: Policy) -> None:
    seen: list[Alert] = []
    monitor = Monitor(policy, alert_days=0, on_alert=seen.append, kinds={AlertKind.DUE_SOON})
    registered(monitor)
    monitor.post(ev("E1", "report_filed", "2022-01-10", {"kind": "risk_list", "channel": "platform"}))
    monitor.advance_to(D(2022, 5, 1))
    assert seen == monitor.alerts()
    assert {a.kind for a in seen} == {AlertKind.DUE_SOON}
    assert [a.day for a in seen if a.rule == "risk_list_reporting"] == [D(2022, 4, 10)]
    assert monitor.pop_alerts() == seen and monitor.pop_alerts() == []


def test_out_of_order_duplicates_and_rejections(policy: Policy) -> None:
    monitor = Monitor(policy)
    registered(monitor)
    reported = ev("E1", "hazard_reported", "2022-03-03", {"hazard_id": "H1"})
    found = ev("E1", "hazard_found", "2022-03-01", {"id": "H1", "major": True})
    assert monitor.post(reported).status is Status.REJECTED
    assert monitor.post(found).status is Status.APPLIED  # late: the record is rebuilt, the report now fits
    assert monitor.post(dict(found)).status is Status.DUPLICATE
    assert monitor.post({"type": "report_filed"}).status is Status.REJECTED  # malformed
    assert monitor.record("E1")["hazards"][0]["reported_on"] == D(2022, 3, 3)
    # the report was rejected on arrival, but the late `hazard_found` made it fit: it is no longer refused
    assert monitor.stats.duplicates == 1 and monitor.stats.invalid == 1 and monitor.stats.rejected == 0
    (refusal,) = monitor.refusals()
    assert refusal.status == "invalid" and refusal.ref == 4 and refusal.final  # the 5th posted
    monitor.advance_to(D(2022, 4, 1))
    assert monitor.outcomes("E1")[("E1", "major_hazard_reported")] is Outcome.VIOLATED  # reported a day late


def test_time_never_goes_back_and_late_events_count_today(policy: Policy) -> None:
    monitor = Monitor(policy)
    registered(monitor)
    monitor.advance_to(D(2022, 6, 1))
    monitor.advance_to(D(2022, 5, 1))
    assert monitor.today == D(2022, 6, 1)
    monitor.post(ev("E1", "finding_recorded", "2022-02-01", {"kind": "evasion"}))
    (alert,) = alerts_of(monitor, "evading_supervision", AlertKind.TRIGGERED)
    assert alert.day == D(2022, 6, 1)  # the monitor saw it today; history is not rewritten


def test_an_event_moves_the_clock(policy: Policy) -> None:
    monitor = Monitor(policy, start=D(2021, 12, 1))
    registered(monitor, "2022-01-03")
    assert monitor.today == D(2022, 1, 3)
    monitor.post(ev(None, "clock", "2022-02-01"))
    assert monitor.today == D(2022, 2, 1)


def test_next_check_and_fresh_results(policy: Policy) -> None:
    monitor = Monitor(policy)
    registered(monitor)
    monitor.post(ev("E1", "hazard_found", "2022-03-01", {"id": "H1", "major": True}))
    wake = monitor.next_check("E1")
    assert wake is not None and D(2022, 3, 1) < wake <= D(2022, 3, 3)
    fresh = monitor.results("E1")
    assert fresh.as_of == D(2022, 3, 1)
    assert {r.rule: r.outcome for r in fresh.results} == {k[1]: v for k, v in monitor.outcomes("E1").items()}


def test_flush_modes_agree(policy: Policy) -> None:
    events = [ev("E1", "enterprise_updated", "2022-01-03", REGISTRATION),
              ev("E1", "accident_occurred", "2022-03-01T10:00:00+08:00", {"id": "A1"}),
              ev("E1", "accident_reported", "2022-03-01T10:30:00+08:00", {"accident_id": "A1"})]
    by_day, by_event = Monitor(policy), Monitor(policy, flush="event")
    for e in events:
        by_day.post(e)
        by_event.post(e)
    assert by_day.outcomes() == by_event.outcomes() == reference_outcomes(policy, events, D(2022, 3, 1))
    # the accident was "concealed" only between two events of the same day: only per-event flushing sees it
    assert not alerts_of(by_day, "accident_concealed")
    assert [a.kind for a in alerts_of(by_event, "accident_concealed")] == [AlertKind.TRIGGERED, AlertKind.WITHDRAWN]


def test_arguments_are_checked(policy: Policy) -> None:
    with pytest.raises(ValueError, match="alert_days"):
        Monitor(policy, alert_days=-1)
    with pytest.raises(ValueError, match="backend"):
        Monitor(policy, backend="drools")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="flush"):
        Monitor(policy, flush="hour")  # type: ignore[arg-type]


def test_alert_json(policy: Policy) -> None:
    monitor = Monitor(policy)
    registered(monitor, obsolete_equipment_in_use=1)
    doc = alerts_of(monitor, "obsolete_equipment")[0].to_json()
    assert doc["kind"] == "violated" and doc["implements"] == ["2.2-c"] and doc["day"] == "2022-01-03"
    assert doc["message"]["zh"].startswith("违反") and doc["previous"] is None


def test_the_analysis_knows_what_each_rule_reads(policy: Policy) -> None:
    analysis = SubsetEvaluator(policy).analysis
    plans = analysis.plans
    assert "reports" in plans["dual_report"].fields and "hazards" not in plans["dual_report"].fields
    assert plans["enforcement_candidate"].uses >= {"dual_report", "major_hazard_reported"}
    assert "enforcement_candidate" in plans["dual_report"].dependents
    assert plans["safety_cost_extraction"].year_boundary
    assert not any(p.daily for p in plans.values())  # no seed rule needs daily re-evaluation
    assert analysis.rules_reading({"reports"}) >= {"dual_report", "risk_list_reporting"}
