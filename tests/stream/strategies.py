"""Hypothesis strategies: event histories of a few enterprises, with late arrivals and duplicates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

ENTERPRISES = ("E1", "E2")
HAZARDS = ("H1", "H2", "H3")
ACCIDENTS = ("A1", "A2")
STAFF = ("S1", "S2")
START = dt.date(2021, 6, 1)
END = dt.date(2024, 2, 1)
INDUSTRIES = ("construction", "manufacturing", "retail", "mining", "industry_trade", "road_transport")
TYPES = ("enterprise_updated", "hazard_found", "hazard_reported", "hazard_plan_made", "hazard_remediated",
         "hazard_verified", "assessment_filed", "internal_assessment_held", "change_made", "accident_occurred",
         "accident_reported", "report_filed", "finding_recorded", "insurance_bought", "commitment_published",
         "staff_hired", "staff_updated", "staff_left", "safety_cost_recorded")

maybe_bool = st.sampled_from([True, True, False, None])

ABSENT = object()
"""Drawn for a field to leave out of the payload (absent: unknown, as opposed to null: known not to be)."""


def enum(*codes: str) -> st.SearchStrategy[Any]:
    """An enumeration field: one of its codes mostly, sometimes null, sometimes absent (:data:`ABSENT`)."""
    return st.one_of(st.sampled_from(codes), st.sampled_from([None, ABSENT]))


def present(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields drawn, without those drawn absent."""
    return {k: v for k, v in fields.items() if v is not ABSENT}


def _iso(d: dt.date) -> str:
    return d.isoformat()


@st.composite
def standing(draw: st.DrawFn, day: dt.date) -> dict[str, Any]:
    """A partial registration: some fields present, some absent (unknown), lists often known and empty."""
    fields: dict[str, Any] = {}
    options: dict[str, st.SearchStrategy[Any]] = {
        "industry": st.one_of(st.sampled_from(INDUSTRIES), st.none()),
        "established_on": st.one_of(st.dates(dt.date(2015, 1, 1), dt.date(2022, 6, 1)).map(_iso), st.none()),
        "employee_count": st.integers(1, 300),
        "above_designated_size": st.booleans(),
        "responsibility_system": st.fixed_dictionaries({
            "established_on": st.one_of(st.dates(dt.date(2020, 6, 1), dt.date(2022, 3, 1)).map(_iso), st.none()),
            "covers_all_positions": maybe_bool, "one_post_dual_duty": maybe_bool}),
        "principal": st.fixed_dictionaries({
            "competence_certificate_expires_on": st.dates(dt.date(2021, 1, 1), dt.date(2024, 1, 1)).map(_iso),
            "safety_training_passed_on": st.one_of(st.none(), st.just("2020-05-01")),
            "role": enum("legal_representative", "actual_controller")}).map(present),
        "risk_control": st.fixed_dictionaries({
            "established_on": st.one_of(st.just("2021-03-01"), st.none()),
            "levels": st.one_of(st.lists(st.sampled_from(["enterprise", "workshop", "team", "post"]), max_size=4,
                                         unique=True), st.sampled_from([None, ABSENT]))}).map(present),
        "management": st.fixed_dictionaries({"safety_body": maybe_bool,
                                             "full_time_safety_staff": st.integers(0, 2)}),
        "hazard_system": st.fixed_dictionaries({
            "established_on": st.one_of(st.just("2020-06-01"), st.none()), "has_checklist": maybe_bool,
            "on_platform_since": st.one_of(st.dates(dt.date(2021, 1, 1), dt.date(2022, 6, 1)).map(_iso),
                                           st.none())}),
        "obsolete_equipment_in_use": st.integers(0, 1),
    }
    for name, strategy in options.items():
        if draw(st.booleans()):
            fields[name] = draw(strategy)
    for name in ("hazards", "changes", "accidents", "inspection_findings", "reports", "risk_assessments",
                 "insurance", "staff", "commitments", "internal_assessments"):
        if draw(st.integers(0, 3)):
            fields[name] = []
    return fields


@st.composite
def payload(draw: st.DrawFn, type_: str, day: dt.date) -> dict[str, Any] | None:
    later = st.integers(0, 60).map(lambda k: _iso(day + dt.timedelta(days=k)))
    match type_:
        case "enterprise_updated":
            return draw(standing(day))
        case "hazard_found":
            return present({"id": draw(st.sampled_from(HAZARDS)), "major": draw(st.sampled_from([True, True, False])),
                            "cause": draw(enum("equipment_failure", "illegal_command", "management"))})
        case "hazard_reported" | "hazard_remediated" | "hazard_verified":
            return {"hazard_id": draw(st.sampled_from(HAZARDS))}
        case "hazard_plan_made":
            return {"hazard_id": draw(st.sampled_from(HAZARDS)),
                    "plan": {"responsibility": True, "measures": True, "funds": draw(st.booleans()),
                             "time_limit": draw(later), "contingency": True}}
        case "assessment_filed":
            return {"comprehensive": draw(st.booleans()), "risk_list_updated": draw(maybe_bool)}
        case "internal_assessment_held":
            return None
        case "change_made":
            return present({"kind": draw(enum("process", "equipment")), "major": draw(st.booleans()),
                            "authorized": draw(maybe_bool)})
        case "accident_occurred":
            return present({"id": draw(st.sampled_from(ACCIDENTS)), "severity": draw(enum("general", "major"))})
        case "accident_reported":
            return {"accident_id": draw(st.sampled_from(ACCIDENTS)), "report_false": draw(st.booleans())}
        case "report_filed":
            return present({"kind": draw(enum("risk_list", "dual_report")),
                            "channel": draw(enum("platform", "workers_congress"))})
        case "finding_recorded":
            return present({"kind": draw(enum("evasion", "monitoring_destroyed", "other"))})
        case "insurance_bought":
            return {"starts_on": _iso(day), "ends_on": _iso(day + dt.timedelta(days=draw(st.integers(30, 400))))}
        case "commitment_published":
            return {"to_public": True, "to_staff": draw(st.booleans())}
        case "staff_hired":
            member: dict[str, Any] = {"id": draw(st.sampled_from(STAFF)),
                                      "role": draw(enum("general", "special_operator", "safety_manager", "principal")),
                                      "mentor_id": draw(st.sampled_from(["S0", None]))}
            if member["role"] == "special_operator":
                member["certificate_expires_on"] = draw(later)
            return present(member)
        case "staff_updated":
            return {"staff_id": draw(st.sampled_from(STAFF)), "safety_training_passed_on": _iso(day)}
        case "staff_left":
            return {"staff_id": draw(st.sampled_from(STAFF))}
        case "safety_cost_recorded":
            return {"year": draw(st.sampled_from([2020, 2021, 2022])), "required": 100,
                    "extracted": draw(st.sampled_from([100, 80])), "misappropriated": 0,
                    "internal_audit": draw(st.booleans()), "external_audit": True}
    raise AssertionError(type_)


CHINA = dt.timezone(dt.timedelta(hours=8))
OFFSETS = st.one_of(st.just(CHINA),
                    st.integers(-12 * 4, 14 * 4).map(lambda q: dt.timezone(dt.timedelta(minutes=15 * q))))
"""Offsets of real time zones, from -12:00 to +14:00 in quarter hours (China's most often)."""


@st.composite
def event(draw: st.DrawFn, offsets: bool = False, end: dt.date = END) -> dict[str, Any]:
    """One event dated from START to `end`; with `offsets`, its timestamp carries any offset (its day is its
    local date there)."""
    day = draw(st.dates(START, end))
    minute = draw(st.integers(0, 24 * 60 - 1))
    at = dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60,
                     tzinfo=draw(OFFSETS) if offsets else CHINA)
    type_ = draw(st.sampled_from(TYPES))
    out: dict[str, Any] = {"enterprise": draw(st.sampled_from(ENTERPRISES)), "type": type_,
                           "timestamp": at.isoformat()}
    body = draw(payload(type_, day))
    if body is not None:
        out["payload"] = body
    return out


@st.composite
def history(draw: st.DrawFn, max_events: int = 14, offsets: bool = False, end: dt.date = END,
            ) -> list[dict[str, Any]]:
    """Events in arrival order: mostly by timestamp, some late, some sent twice, clock events between. With
    `offsets`, timestamps carry mixed offsets (arrival mostly in order of their text, not of their instants);
    an `end` close to START makes the events of an enterprise days apart, not months."""
    events = sorted(draw(st.lists(event(offsets, end), min_size=1, max_size=max_events)),
                    key=lambda e: e["timestamp"])
    arrival: list[dict[str, Any]] = []
    for e in events:
        arrival.append(e)
        if draw(st.integers(0, 9)) == 0:  # sent twice
            arrival.insert(draw(st.integers(0, len(arrival))), dict(e))
    for _ in range(draw(st.integers(0, 3))):  # a few arrive late (moved later in the stream)
        if len(arrival) > 1:
            i = draw(st.integers(0, len(arrival) - 2))
            j = draw(st.integers(i + 1, len(arrival) - 1))
            arrival.insert(j, arrival.pop(i))
    clocks = draw(st.lists(st.dates(START, end + dt.timedelta(days=400 if end == END else 5)), max_size=5))
    for d in sorted(clocks):
        clock = {"type": "clock", "timestamp": f"{d.isoformat()}T00:00:00+08:00"}
        arrival.insert(draw(st.integers(0, len(arrival))), clock)
    return arrival


ORDERED = (  # events of one enterprise whose order matters: a later one updates or wipes what an earlier made
    ("hazard_found", {"id": "H1", "major": True, "cause": "management"}),
    ("hazard_reported", {"hazard_id": "H1"}),
    ("enterprise_updated", {"hazards": []}),
    ("accident_occurred", {"id": "A1", "severity": "general"}),
    ("accident_reported", {"accident_id": "A1"}),
    ("enterprise_updated", {"accidents": []}),
    ("change_made", {"kind": "process", "major": True, "authorized": False}),
    ("enterprise_updated", {"changes": []}),
)


@st.composite
def offset_history(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A few days of one registered enterprise whose events carry mixed offsets, so that their order by local
    day and by instant differ; they arrive in the order of their local dates and times, a clock event at the
    start of each day (China time) between them."""
    registration = {"industry": "construction", "established_on": "2010-01-01", "hazards": [], "changes": [],
                    "accidents": [], "inspection_findings": [], "reports": [], "risk_assessments": []}
    timed: list[tuple[str, dict[str, Any]]] = [(f"{START}T09:00:00", {
        "enterprise": "E1", "type": "enterprise_updated", "timestamp": f"{START}T09:00:00+08:00",
        "payload": registration})]
    for _ in range(draw(st.integers(2, 8))):
        day = START + dt.timedelta(days=draw(st.integers(1, 4)))
        minute = draw(st.integers(0, 24 * 60 - 1))
        local = dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60)
        type_, body = draw(st.sampled_from(ORDERED))
        at = local.replace(tzinfo=draw(OFFSETS))
        timed.append((local.isoformat(), {"enterprise": "E1", "type": type_, "timestamp": at.isoformat(),
                                          "payload": dict(body)}))
    for k in range(1, 7):
        day = START + dt.timedelta(days=k)
        timed.append((f"{day}T00:00:00", {"type": "clock", "timestamp": f"{day}T00:00:00+08:00"}))
    return [e for _, e in sorted(timed, key=lambda t: t[0])]
