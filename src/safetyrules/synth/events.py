"""A realistic year of events for a town: for benchmarks, tests and demonstrations of the monitor.

    from safetyrules.synth import generate_events
    for event in generate_events(300, seed=2022):       # dicts in the event format of `stream/events.py`
        monitor.post(event)

The enterprises are those of the town generator (:func:`safetyrules.synth.town.generate`, same count and
seed): each is registered on 1 January (or when it is founded, later in the year) with an
`enterprise_updated` event carrying its standing facts (industry, village, size, systems…; this module adds
staff, last year's reports and assessments; its event lists start known and empty). Through the year it
files dual reports monthly and its risk list quarterly (sometimes late or not at all), holds an internal
assessment, publishes a commitment, renews its insurance (the firms of the policy's `insurance_industries`),
finds hazards (about one in five major: reported, planned, remediated and verified, with realistic delays and
omissions), makes changes (some major, some unauthorised changes of process, usually followed by a
reassessment), hires staff, and rarely has an accident (reported late or never now and then) or an
inspection finding. A `clock` event opens every day. The stream is in timestamp order unless `disorder` (the
share of events that arrive up to three days late) or `duplicates` (the share sent twice) are set.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

from safetyrules.synth.town import INSURANCE_COMPULSORY, generate

TZ = dt.timezone(dt.timedelta(hours=8))

_STANDING = ("name", "village", "industry", "above_designated_size", "established_on", "employee_count", "principal",
             "responsibility_system", "five_in_place", "management", "obsolete_equipment_in_use", "ppe",
             "training_system", "standardization_self_assessed_on", "risk_control", "risk_communication",
             "hazard_system")
"""The town generator's fields that an enterprise registers with (its histories are this module's events)."""


def _iso(d: dt.date) -> str:
    return d.isoformat()


def _at(day: dt.date, rng: random.Random, start: int = 8, end: int = 18) -> dt.datetime:
    minutes = rng.randrange(start * 60, end * 60)
    return dt.datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=TZ)


def _after(earlier: dt.datetime, day: dt.date, rng: random.Random) -> dt.datetime:
    """A time on `day` after `earlier` (a follow-up never precedes what it follows)."""
    at = _at(day, rng)
    return at if at > earlier else earlier + dt.timedelta(minutes=rng.randrange(5, 120))


def _day(year: int, rng: random.Random, first: int = 1, last: int = 365) -> dt.date:
    return dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(first - 1, last))


def _town_standing(count: int, seed: int) -> list[dict[str, Any]]:
    """The standing facts of the town generator's first `count` enterprises (same seed)."""
    return [{"id": r["id"], **{k: r[k] for k in _STANDING if k in r}} for r in generate(count, seed)]


class _Enterprise:
    def __init__(self, eid: str, year: int, rng: random.Random, start: dt.date) -> None:
        self.eid = eid
        self.year = year
        self.rng = rng
        self.start = start  # registered on this day: nothing happens before
        self.events: list[tuple[dt.datetime, dict[str, Any]]] = []
        self.hazards = 0
        self.staff = 0
        self.accidents = 0

    def add(self, at: dt.datetime, type_: str, payload: dict[str, Any] | None = None) -> None:
        event: dict[str, Any] = {"enterprise": self.eid, "type": type_, "timestamp": at.isoformat()}
        if payload:
            event["payload"] = payload
        if at.year == self.year and at.date() >= self.start:
            self.events.append((at, event))


def _history(standing: dict[str, Any], year: int, rng: random.Random) -> list[tuple[dt.datetime, dict[str, Any]]]:
    established = standing.get("established_on")
    start = dt.date(year, 1, 1)
    if isinstance(established, str) and established[:4].isdigit() and established > start.isoformat():
        start = dt.date.fromisoformat(established[:10])  # a firm founded during the year registers then
    e = _Enterprise(standing["id"], year, rng, start)
    industry = standing.get("industry")
    diligent = rng.random()  # how punctual this enterprise is
    last_year = year - 1
    staff = []
    for k in range(rng.randrange(1, 5)):
        role = rng.choice(["safety_manager", "special_operator", "general", "general"])
        member: dict[str, Any] = {
            "id": f"S{k:03d}", "role": role, "hired_on": _iso(_day(last_year - rng.randrange(0, 5), rng)),
            "on_duty": True, "safety_training_passed_on": _iso(_day(last_year - 1, rng)) if rng.random() < 0.95
            else None}
        if role == "special_operator":
            member["special_operation"] = "electrician"
            member["certificate_expires_on"] = _iso(_day(year + rng.randrange(0, 3), rng))
        staff.append(member)
    e.staff = len(staff)
    december = dt.date(last_year, 12, rng.randrange(1, 29))
    registration = {
        **{k: v for k, v in standing.items() if k != "id"},
        "internal_assessments": [_iso(_day(last_year, rng))] if rng.random() < 0.9 else [],
        "safety_costs": [{"year": y, "required": 100000, "extracted": 100000 if rng.random() < 0.92 else 80000,
                          "used": 90000, "misappropriated": 0 if rng.random() < 0.97 else 5000,
                          "internal_audit": rng.random() < 0.9, "external_audit": rng.random() < 0.8}
                         for y in (year - 2, last_year)],
        "staff": staff,
        "risk_assessments": [{"date": _iso(_day(last_year, rng)), "comprehensive": True,
                              "risk_list_updated": rng.random() < 0.9}],
        "changes": [], "hazards": [], "accidents": [], "inspection_findings": [],
        "reports": [{"kind": "risk_list", "channel": "platform", "date": _iso(_day(last_year, rng, 280, 365))},
                    {"kind": "dual_report", "channel": "platform", "date": _iso(december)},
                    {"kind": "dual_report", "channel": "workers_congress", "date": _iso(december)}],
        "commitments": [{"published_on": _iso(_day(last_year, rng)), "to_public": True, "to_staff": True}],
        "insurance": [],
    }
    renew: dt.date | None = None
    if industry in INSURANCE_COMPULSORY and rng.random() < 0.93:
        cover = _day(last_year, rng)
        renew = dt.date(cover.year + 1, cover.month, min(cover.day, 28))
        registration["insurance"] = [{"kind": "safety_liability", "starts_on": _iso(cover),
                                      "ends_on": _iso(renew - dt.timedelta(days=1))}]
    e.add(dt.datetime(start.year, start.month, start.day, 8, 0, tzinfo=TZ), "enterprise_updated", registration)

    # monthly dual reports, quarterly risk lists
    for month in range(1, 13):
        if rng.random() < 0.9 * (0.6 + 0.4 * diligent):
            day = dt.date(year, month, min(28, max(1, int(rng.gauss(12, 6)))))
            e.add(_at(day, rng), "report_filed", {"kind": "dual_report", "channel": "platform"})
            if rng.random() < 0.95:
                later = day + dt.timedelta(days=rng.choice([0, 0, 1, 3]))
                e.add(_at(later, rng), "report_filed", {"kind": "dual_report", "channel": "workers_congress"})
        if month % 3 == 1 and rng.random() < 0.85 + 0.1 * diligent:
            e.add(_at(dt.date(year, month, rng.randrange(1, 28)), rng), "report_filed",
                  {"kind": "risk_list", "channel": "platform"})
    if rng.random() < 0.85:
        e.add(_at(_day(year, rng), rng), "internal_assessment_held")
    if rng.random() < 0.9:
        e.add(_at(_day(year, rng), rng), "assessment_filed",
              {"comprehensive": rng.random() < 0.9, "risk_list_updated": rng.random() < 0.92})
    if rng.random() < 0.88:
        e.add(_at(_day(year, rng), rng), "commitment_published",
              {"to_public": True, "to_staff": rng.random() < 0.97})
    if renew is not None and rng.random() < 0.9:
        lag = dt.timedelta(days=rng.choice([-10, -3, 0, 0, 0, 5, 20]))
        renewed = renew + lag
        e.add(_at(renewed, rng), "insurance_bought",
              {"kind": "safety_liability", "starts_on": _iso(renewed),
               "ends_on": _iso(dt.date(renewed.year + 1, renewed.month, min(renewed.day, 28)) - dt.timedelta(days=1))})
    e.add(_at(_day(year, rng, 20, 120), rng), "safety_cost_recorded",
          {"year": last_year, "required": 120000, "extracted": 120000 if rng.random() < 0.93 else 90000, "used": 100000,
           "misappropriated": 0, "internal_audit": rng.random() < 0.92, "external_audit": rng.random() < 0.85})

    # hazards
    for _ in range(_poisson(rng, 4.0)):
        e.hazards += 1
        hid = f"H-{year}-{e.hazards:03d}"
        found = _day(year, rng)
        major = rng.random() < 0.2
        cause = rng.choice(["equipment_failure", "management", "other", "illegal_operation", "illegal_command"]
                           if major and rng.random() < 0.1 else ["equipment_failure", "management", "other"])
        at = _at(found, rng)
        e.add(at, "hazard_found", {"id": hid, "major": major, "cause": cause})
        if major:
            if rng.random() < 0.85 + 0.1 * diligent:
                e.add(_after(at, found + dt.timedelta(days=rng.choice([0, 0, 0, 1, 1, 2, 5])), rng),
                      "hazard_reported", {"hazard_id": hid})
            if rng.random() < 0.9:
                made = found + dt.timedelta(days=rng.choice([1, 2, 3, 5, 7, 9, 14]))
                limit = made + dt.timedelta(days=rng.randrange(20, 90))
                planned = _after(at, made, rng)
                plan = {"responsibility": True, "measures": True, "funds": rng.random() < 0.95,
                        "time_limit": _iso(limit), "contingency": rng.random() < 0.9}
                e.add(planned, "hazard_plan_made", {"hazard_id": hid, "plan": plan})
                if rng.random() < 0.85:
                    fixed = max(limit + dt.timedelta(days=rng.randrange(-30, 10)), made)
                    remediated = _after(planned, fixed, rng)
                    e.add(remediated, "hazard_remediated", {"hazard_id": hid})
                    e.add(_after(remediated, fixed + dt.timedelta(days=rng.randrange(0, 6)), rng), "hazard_verified",
                          {"hazard_id": hid})
        elif rng.random() < 0.9:
            e.add(_after(at, found + dt.timedelta(days=rng.randrange(0, 30)), rng), "hazard_remediated",
                  {"hazard_id": hid})

    # changes and reassessments
    for _ in range(_poisson(rng, 0.6)):
        day = _day(year, rng)
        kind = rng.choice(["process", "system", "equipment", "management_structure", "rules"])
        major = rng.random() < 0.5
        e.add(_at(day, rng), "change_made",
              {"kind": kind, "major": major, "authorized": rng.random() < 0.92})
        if major and rng.random() < 0.75:
            e.add(_at(day + dt.timedelta(days=rng.randrange(0, 45)), rng), "assessment_filed",
                  {"comprehensive": rng.random() < 0.5, "risk_list_updated": True})

    # staff
    for _ in range(_poisson(rng, 1.0)):
        e.staff += 1
        day = _day(year, rng)
        role = rng.choice(["general", "general", "special_operator", "safety_manager"])
        member = {"id": f"S{e.staff:03d}", "role": role,
                  "mentor_id": "S000" if rng.random() < 0.8 else None}
        if role == "special_operator":
            member["certificate_expires_on"] = _iso(day + dt.timedelta(days=rng.randrange(200, 1500)))
            member["special_operation"] = "welder"
        hired = _at(day, rng)
        e.add(hired, "staff_hired", member)
        if rng.random() < 0.9:
            e.add(_after(hired, day + dt.timedelta(days=rng.randrange(1, 30)), rng), "staff_updated",
                  {"staff_id": member["id"], "safety_training_passed_on": _iso(day + dt.timedelta(days=5))})
        if rng.random() < 0.15:
            e.add(_after(hired, day + dt.timedelta(days=rng.randrange(30, 200)), rng), "staff_left",
                  {"staff_id": member["id"]})

    # accidents and inspections
    if rng.random() < 0.04:
        e.accidents += 1
        aid = f"A-{year}-{e.accidents:02d}"
        at = _at(_day(year, rng), rng)
        e.add(at, "accident_occurred", {"id": aid, "severity": "general"})
        if rng.random() < 0.9:
            e.add(at + dt.timedelta(minutes=rng.choice([20, 35, 50, 55, 60, 75, 180])), "accident_reported",
                  {"accident_id": aid})
    if rng.random() < 0.03:
        e.add(_at(_day(year, rng), rng), "finding_recorded",
              {"kind": rng.choice(["evasion", "monitoring_destroyed", "other", "other"]),
               "record": f"永应急罚〔{year}〕{rng.randrange(1, 99)}号"})
    for _ in range(_poisson(rng, 0.8)):
        employees = max(3, int(standing.get("employee_count") or 10) + rng.randrange(-5, 6))
        updates: list[dict[str, Any]] = [{"employee_count": employees}, {"ppe": {"worn": rng.random() < 0.7}},
                                         {"risk_communication": {"post_cards_for_all_posts": True}},
                                         {"management": {"full_time_safety_staff": rng.randrange(0, 3)}}]
        e.add(_at(_day(year, rng), rng), "enterprise_updated", rng.choice(updates))
    return _consistent(e.events)


def _consistent(events: list[tuple[dt.datetime, dict[str, Any]]]) -> list[tuple[dt.datetime, dict[str, Any]]]:
    """Drop the follow-ups of hazards, accidents and staff that came before the firm was registered."""
    known: set[tuple[str, str]] = set()
    kept = []
    for at, event in sorted(events, key=lambda x: x[0]):
        payload = event.get("payload", {})
        kind = event["type"]
        if kind == "enterprise_updated":
            known |= {("staff", m["id"]) for m in payload.get("staff", [])}
        elif kind in ("hazard_found", "accident_occurred", "staff_hired"):
            known.add((kind.split("_")[0], payload["id"]))
        else:
            ref = next(((k, payload[f"{k}_id"]) for k in ("hazard", "accident", "staff") if f"{k}_id" in payload), None)
            if ref is not None and ref not in known:
                continue
        kept.append((at, event))
    return kept


def _poisson(rng: random.Random, mean: float) -> int:
    n, p, limit = 0, 1.0, pow(2.718281828459045, -mean)
    while True:
        p *= rng.random()
        if p <= limit:
            return n
        n += 1


def generate_events(count_enterprises: int, seed: int, year: int = 2022, *, disorder: float = 0.0,
                    duplicates: float = 0.0, clock: bool = True) -> Iterator[dict[str, Any]]:
    """A year of events for a town of `count_enterprises` enterprises, deterministic for a seed.

    `disorder`: share of events that arrive up to three days after their timestamp; `duplicates`: share of
    events sent a second time, later. `clock`: a clock event opens each day.
    """
    rng = random.Random(seed)
    standing = _town_standing(count_enterprises, seed)
    stream: list[tuple[dt.datetime, int, dict[str, Any]]] = []
    n = 0
    for s in standing:
        for at, event in _history(s, year, random.Random(rng.random())):
            arrival = at
            if disorder and rng.random() < disorder:
                arrival = at + dt.timedelta(minutes=rng.randrange(1, 3 * 24 * 60))
            stream.append((arrival, n, event))
            n += 1
            if duplicates and rng.random() < duplicates:
                stream.append((arrival + dt.timedelta(minutes=rng.randrange(1, 600)), n, dict(event)))
                n += 1
    if clock:
        day = dt.date(year, 1, 1)
        while day.year == year:
            stream.append((dt.datetime(day.year, day.month, day.day, tzinfo=TZ), -1,
                           {"type": "clock", "timestamp": dt.datetime(day.year, day.month, day.day,
                                                                     tzinfo=TZ).isoformat()}))
            day += dt.timedelta(days=1)
    stream.sort(key=lambda x: (x[0], x[1]))
    for _, _, event in stream:
        yield event
