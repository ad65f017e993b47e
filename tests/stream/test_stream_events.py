"""The event format: parsing, `apply` for every event type, order, duplicates and refusals."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from safetyrules.facts.models import Enterprise
from safetyrules.stream.events import (
    EVENT_EFFECTS,
    EnterpriseLog,
    Event,
    EventError,
    EventRejected,
    EventType,
    Prepared,
    Status,
    apply,
    build_record,
    build_records,
    parse_event,
)

from .conftest import ev
from .strategies import history

CN = dt.timezone(dt.timedelta(hours=8))
EMPTY: dict[str, Any] = {"id": "E1"}


def run(*events: dict[str, Any] | Prepared) -> dict[str, Any]:
    record: dict[str, Any] = dict(EMPTY)
    for e in events:
        record = apply(record, e)
    return record


def test_every_event_type_is_documented() -> None:
    assert set(EVENT_EFFECTS) == set(EventType)


# ------------------------------------------------------------------------------------------ parsing


def test_parse_accepts_dicts_json_and_events() -> None:
    e = ev("E1", "report_filed", "2022-03-01", {"kind": "risk_list", "channel": "platform"})
    prep = parse_event(e)
    assert prep.day == dt.date(2022, 3, 1) and prep.enterprise == "E1"
    assert parse_event(Event.model_validate(e)).key == prep.key == parse_event(json.dumps(e)).key
    assert parse_event('{"type": "clock", "timestamp": "2022-03-01T00:00:00+08:00"}').type is EventType.CLOCK


@pytest.mark.parametrize(("event", "reason"), [
    ({"enterprise": "E1", "type": "flood", "timestamp": "2022-01-01T09:00:00+08:00"}, "event.type"),
    ({"enterprise": "E1", "type": "report_filed", "timestamp": "2022-01-01T09:00:00"}, "offset"),
    ({"enterprise": "E1", "type": "report_filed", "timestamp": 1640995200}, "ISO 8601"),
    ({"type": "report_filed", "timestamp": "2022-01-01T09:00:00+08:00"}, "enterprise: required"),
    (ev("E1", "report_filed", "2022-01-01", {"kind": "weekly"}), "payload.kind"),
    (ev("E1", "hazard_found", "2022-01-01", {"major": True}), "payload.id: required"),
    (ev("E1", "hazard_reported", "2022-01-01", {}), "payload.hazard_id"),
    (ev("E1", "hazard_reported", "2022-01-01", {"hazard_id": "H1", "colour": "red"}), "payload.colour"),
    (ev("E1", "enterprise_updated", "2022-01-01", {"id": "E2"}), "cannot be changed"),
    (ev("E1", "enterprise_updated", "2022-01-01", {"employee_count": "many"}), "payload.employee_count"),
    (ev(None, "clock", "2022-01-01", {"x": 1}), "no payload"),
    ({"enterprise": "E1", "type": "clock", "timestamp": "2022-01-01T00:00:00+08:00", "colour": 1}, "colour"),
])
def test_malformed_events_are_refused_with_the_reason(event: dict[str, Any], reason: str) -> None:
    with pytest.raises(EventError, match=reason):
        parse_event(event)


def test_the_day_is_the_local_date_of_the_timestamp() -> None:
    late = parse_event(ev("E1", "report_filed", "2022-03-01T23:30:00+08:00", {"kind": "risk_list"}))
    utc = parse_event(ev("E1", "report_filed", "2022-03-01T23:30:00+00:00", {"kind": "risk_list"}))
    assert late.day == dt.date(2022, 3, 1) == utc.day
    assert late.timestamp < utc.timestamp  # 15:30 UTC before 23:30 UTC: order is by instant
    assert run(late)["reports"][0]["date"] == dt.date(2022, 3, 1)


# ------------------------------------------------------------------------------------------ apply, by type


def test_enterprise_updated_merges_objects_and_replaces_the_rest() -> None:
    record = run(
        ev("E1", "enterprise_updated", "2022-01-01", {"industry": "mining", "management": {"safety_body": True},
                                                      "reports": []}),
        ev("E1", "enterprise_updated", "2022-02-01", {"management": {"full_time_safety_staff": 2},
                                                      "established_on": None}),
    )
    assert record["industry"] == "mining"
    assert record["management"] == {"safety_body": True, "full_time_safety_staff": 2}
    assert record["established_on"] is None  # known not to exist is kept, not dropped
    assert record["reports"] == []


def test_hazard_lifecycle() -> None:
    record = run(
        ev("E1", "hazard_found", "2022-05-03", {"id": "H1", "major": True, "cause": "equipment_failure"}),
        ev("E1", "hazard_reported", "2022-05-04", {"hazard_id": "H1"}),
        ev("E1", "hazard_plan_made", "2022-05-05", {"hazard_id": "H1", "plan": {
            "responsibility": True, "measures": True, "funds": True, "time_limit": "2022-07-31", "contingency": True}}),
        ev("E1", "hazard_remediated", "2022-07-20", {"hazard_id": "H1"}),
        ev("E1", "hazard_verified", "2022-07-22", {"hazard_id": "H1", "verified_on": "2022-07-21"}),
    )
    (hazard,) = record["hazards"]
    assert hazard["found_on"] == dt.date(2022, 5, 3)
    assert hazard["reported_on"] == dt.date(2022, 5, 4)
    assert hazard["plan"]["made_on"] == dt.date(2022, 5, 5)
    assert hazard["plan"]["time_limit"] == dt.date(2022, 7, 31)
    assert hazard["remediated_on"] == dt.date(2022, 7, 20)
    assert hazard["verified_on"] == dt.date(2022, 7, 21)  # the payload's date wins over the event's day


def test_a_found_hazard_is_not_yet_reported_planned_or_closed() -> None:
    (hazard,) = run(ev("E1", "hazard_found", "2022-05-03", {"id": "H1", "major": False}))["hazards"]
    assert hazard["reported_on"] is None and hazard["plan"] is None
    assert hazard["remediated_on"] is None and hazard["verified_on"] is None


def test_accidents() -> None:
    record = run(
        ev("E1", "accident_occurred", "2022-08-09T10:20:00+08:00", {"id": "A1", "severity": "general"}),
        ev("E1", "accident_reported", "2022-08-09T11:45:00+08:00",
           {"accident_id": "A1", "principal_informed_at": "2022-08-09T10:25:00+08:00"}),
    )
    (accident,) = record["accidents"]
    assert accident["occurred_at"] == dt.datetime(2022, 8, 9, 10, 20, tzinfo=CN)
    assert accident["reported_at"] == dt.datetime(2022, 8, 9, 11, 45, tzinfo=CN)
    assert accident["principal_informed_at"] == dt.datetime(2022, 8, 9, 10, 25, tzinfo=CN)
    assert accident["report_false"] is False
    pending = run(ev("E1", "accident_occurred", "2022-08-09T10:20:00+08:00", {"id": "A1"}))
    assert pending["accidents"][0]["reported_at"] is None  # not reported yet


@pytest.mark.parametrize(("type_", "payload", "field", "item"), [
    ("assessment_filed", {"comprehensive": True, "risk_list_updated": True}, "risk_assessments",
     {"date": dt.date(2022, 3, 1), "comprehensive": True, "risk_list_updated": True}),
    ("change_made", {"kind": "process", "major": True, "authorized": False}, "changes",
     {"date": dt.date(2022, 3, 1), "kind": "process", "major": True, "authorized": False}),
    ("report_filed", {"kind": "dual_report", "channel": "workers_congress"}, "reports",
     {"date": dt.date(2022, 3, 1), "kind": "dual_report", "channel": "workers_congress"}),
    ("finding_recorded", {"kind": "evasion", "record": "永应急罚〔2022〕3号"}, "inspection_findings",
     {"date": dt.date(2022, 3, 1), "kind": "evasion", "record": "永应急罚〔2022〕3号"}),
    ("insurance_bought", {"ends_on": "2023-02-28"}, "insurance",
     {"kind": "safety_liability", "starts_on": dt.date(2022, 3, 1), "ends_on": dt.date(2023, 2, 28)}),
    ("commitment_published", {"to_public": True, "to_staff": True}, "commitments",
     {"published_on": dt.date(2022, 3, 1), "to_public": True, "to_staff": True}),
    ("internal_assessment_held", None, "internal_assessments", dt.date(2022, 3, 1)),
    ("staff_hired", {"id": "S1", "role": "general"}, "staff",
     {"id": "S1", "role": "general", "hired_on": dt.date(2022, 3, 1), "on_duty": True}),
    ("safety_cost_recorded", {"year": 2021, "required": 10, "extracted": 10}, "safety_costs",
     {"year": 2021, "required": 10, "extracted": 10}),
])
def test_appending_event_types(type_: str, payload: dict[str, Any] | None, field: str, item: Any) -> None:
    record = run(ev("E1", type_, "2022-03-01", payload))
    assert record[field] == [item]
    Enterprise.model_validate(record)


def test_staff_updates_and_departures() -> None:
    record = run(
        ev("E1", "staff_hired", "2022-03-01", {"id": "S1", "role": "special_operator"}),
        ev("E1", "staff_updated", "2022-03-05", {"staff_id": "S1", "certificate_expires_on": "2024-03-01"}),
        ev("E1", "staff_left", "2022-09-01", {"staff_id": "S1"}),
    )
    (member,) = record["staff"]
    assert member["certificate_expires_on"] == dt.date(2024, 3, 1)
    assert member["on_duty"] is False


def test_a_cost_year_is_replaced_not_duplicated() -> None:
    record = run(ev("E1", "safety_cost_recorded", "2022-03-01", {"year": 2021, "required": 10, "extracted": 5}),
                 ev("E1", "safety_cost_recorded", "2022-04-01", {"year": 2021, "required": 10, "extracted": 10}))
    assert record["safety_costs"] == [{"year": 2021, "required": 10, "extracted": 10}]


def test_clock_events_change_nothing() -> None:
    assert run(ev(None, "clock", "2022-03-01")) == EMPTY


def test_apply_does_not_change_its_input() -> None:
    before = run(ev("E1", "report_filed", "2022-03-01", {"kind": "risk_list"}))
    snapshot = {k: list(v) if isinstance(v, list) else v for k, v in before.items()}
    after = apply(before, ev("E1", "report_filed", "2022-04-01", {"kind": "risk_list"}))
    assert before == snapshot and len(after["reports"]) == 2


@pytest.mark.parametrize(("events", "reason"), [
    ([ev("E1", "hazard_reported", "2022-03-01", {"hazard_id": "H9"})], "no hazard with id 'H9'"),
    ([ev("E1", "hazard_found", "2022-03-01", {"id": "H1"}), ev("E1", "hazard_found", "2022-03-02", {"id": "H1"})],
     "already on record"),
    ([ev("E1", "hazard_found", "2022-03-05", {"id": "H1"}),
      ev("E1", "hazard_remediated", "2022-03-06", {"hazard_id": "H1", "remediated_on": "2022-03-01"})],
     "before the hazard was found"),
    ([ev("E1", "accident_reported", "2022-03-01", {"accident_id": "A1"})], "no accident"),
    ([ev("E1", "staff_left", "2022-03-01", {"staff_id": "S1"})], "no staff member"),
])
def test_events_that_do_not_fit_are_rejected_with_the_reason(events: list[dict[str, Any]], reason: str) -> None:
    with pytest.raises(EventRejected, match=reason):
        run(*events)


def test_an_event_of_another_enterprise_is_rejected() -> None:
    with pytest.raises(EventRejected, match="E2"):
        apply(EMPTY, ev("E2", "report_filed", "2022-03-01", {"kind": "risk_list"}))


# ------------------------------------------------------------------------------------------ order and duplicates


def test_out_of_order_events_are_applied_in_timestamp_order() -> None:
    found = ev("E1", "hazard_found", "2022-03-01", {"id": "H1", "major": True})
    reported = ev("E1", "hazard_reported", "2022-03-02", {"hazard_id": "H1"})
    log = EnterpriseLog("E1")
    receipt, _, _ = log.add(parse_event(reported), 0)
    assert receipt.status is Status.REJECTED and "no hazard" in (receipt.reason or "")
    receipt, touched, items = log.add(parse_event(found), 1)
    assert receipt.status is Status.APPLIED and touched == {"hazards"} and items is None  # rebuilt
    assert log.record["hazards"][0]["reported_on"] == dt.date(2022, 3, 2)  # the parked report now applies
    assert log.rejected == {}
    assert build_record([reported, found]) == build_record([found, reported]) == log.record


def test_exact_duplicates_are_ignored_and_reused_ids_refused() -> None:
    e = ev("E1", "report_filed", "2022-03-01", {"kind": "risk_list"}, id="evt-1")
    log = EnterpriseLog("E1")
    assert log.add(parse_event(e), 0)[0].status is Status.APPLIED
    assert log.add(parse_event(dict(e)), 1)[0].status is Status.DUPLICATE
    other = ev("E1", "report_filed", "2022-03-02", {"kind": "risk_list"}, id="evt-1")
    receipt = log.add(parse_event(other), 2)[0]
    assert receipt.status is Status.REJECTED and "already used" in (receipt.reason or "")
    assert len(log.record["reports"]) == 1
    assert build_record([e, e, other])["reports"] == log.record["reports"]


def test_build_record_names_its_enterprise() -> None:
    events = [ev("E1", "report_filed", "2022-03-01", {"kind": "risk_list"}),
              ev("E2", "report_filed", "2022-03-01", {"kind": "dual_report"})]
    with pytest.raises(ValueError, match="2 enterprises"):
        build_record(events)
    assert build_record(events, "E2")["reports"][0]["kind"] == "dual_report"
    assert build_record(events, "E3") == {"id": "E3"}
    assert set(build_records(events)) == {"E1", "E2"}


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(events=history())
def test_built_records_satisfy_the_fact_contract_whatever_the_arrival_order(events: list[dict[str, Any]]) -> None:
    records = build_records(events)
    for record in records.values():
        assert Enterprise.model_validate(record).model_dump(exclude_unset=True) == record
    assert build_records(sorted(events, key=lambda e: parse_event(e).timestamp)) == records
