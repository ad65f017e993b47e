"""Hypothesis strategies: enterprise records of the fact contract, evaluation days and param overrides.

Records mix absent keys (unknown), explicit nulls, empty lists and values; dates cluster on the seed
policy's deadlines, month ends and 02-29 so that "exactly on the due day" and "one period later" happen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from safetyrules.check.types import BOOL, DATE, DURATION, NUMBER, EnumType, LangType, SetType
from safetyrules.engine.values import Duration
from safetyrules.facts.models import (
    AccidentSeverity,
    ChangeKind,
    FindingKind,
    HazardCause,
    Industry,
    PrincipalRole,
    ReportChannel,
    ReportKind,
    RiskLevel,
    StaffRole,
)

BOUNDARY_DATES = [
    dt.date(2019, 12, 31), dt.date(2020, 1, 1), dt.date(2020, 2, 29), dt.date(2020, 3, 31), dt.date(2020, 4, 1),
    dt.date(2020, 6, 30), dt.date(2020, 7, 1), dt.date(2020, 12, 31), dt.date(2021, 1, 1), dt.date(2021, 1, 31),
    dt.date(2021, 2, 1), dt.date(2021, 2, 28), dt.date(2021, 3, 31), dt.date(2021, 4, 1), dt.date(2021, 8, 31),
    dt.date(2021, 9, 1), dt.date(2021, 12, 31), dt.date(2022, 1, 1), dt.date(2022, 3, 31), dt.date(2022, 6, 30),
    dt.date(2022, 12, 31), dt.date(2023, 1, 1), dt.date(2023, 9, 30), dt.date(2023, 10, 1), dt.date(2024, 2, 29),
]
OFFSETS = [dt.timezone(dt.timedelta(hours=h)) for h in (8, 0, -5, 14)]


def dates() -> st.SearchStrategy[dt.date]:
    return st.one_of(st.sampled_from(BOUNDARY_DATES), st.dates(dt.date(2018, 1, 1), dt.date(2025, 12, 31)))


CALENDAR_ENDS = [dt.date(1, 1, 1), dt.date(1, 1, 2), dt.date(1, 2, 28), dt.date(1, 12, 31), dt.date(4, 2, 29),
                 dt.date(9998, 12, 31), dt.date(9999, 1, 1), dt.date(9999, 2, 28), dt.date(9999, 11, 30),
                 dt.date(9999, 12, 1), dt.date(9999, 12, 30), dt.date(9999, 12, 31)]


def calendar_dates() -> st.SearchStrategy[dt.date]:
    """Days near both ends of the calendar, anywhere in it, and the policy's own boundary days."""
    return st.one_of(st.sampled_from(CALENDAR_ENDS), st.dates(dt.date(1, 1, 1), dt.date(3, 12, 31)),
                     st.dates(dt.date(9997, 1, 1), dt.date(9999, 12, 31)), st.dates(), dates())


Days = Callable[[], st.SearchStrategy[dt.date]]


def plus(day: Any, delta: dt.timedelta) -> Any:
    """`day + delta`, held inside the calendar (generated facts near its end stay valid)."""
    try:
        return day + delta
    except OverflowError:
        return type(day).max.replace(tzinfo=day.tzinfo) if isinstance(day, dt.datetime) else dt.date.max


def instants(days: Days = dates) -> st.SearchStrategy[dt.datetime]:
    return st.builds(lambda d, minute, tz: dt.datetime.combine(d, dt.time(minute // 60, minute % 60), tz),
                     days(), st.integers(0, 24 * 60 - 1), st.sampled_from(OFFSETS))


def opt(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value that may also be an explicit null (absence comes from the optional keys)."""
    return st.one_of(st.none(), values, values)


def codes(enum: type) -> st.SearchStrategy[str]:
    return st.sampled_from([m.value for m in enum])


def record(_required: dict[str, Any] | None = None, **optional: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(_required or {}, optional=optional)


def obj(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """An object field: absent, null, or a record of optional fields."""
    return opt(record(**fields))


def items(element: st.SearchStrategy[Any], most: int = 3) -> st.SearchStrategy[Any]:
    return opt(st.lists(element, max_size=most))


BOOLS = opt(st.booleans())
SMALL = opt(st.integers(0, 3))


@st.composite
def hazard(draw: st.DrawFn, dates: Days = dates) -> dict[str, Any]:
    found = draw(opt(dates()))
    out: dict[str, Any] = draw(record(
        id=st.sampled_from(["H1", "H2", "H3"]), major=BOOLS, cause=opt(codes(HazardCause)),
        plan=obj(responsibility=BOOLS, measures=BOOLS, funds=BOOLS, time_limit=opt(dates()), contingency=BOOLS,
                 made_on=opt(dates()))))
    if draw(st.booleans()):
        out["found_on"] = found
    for key in ("reported_on", "remediated_on", "verified_on"):
        choice = draw(st.sampled_from(["absent", "null", "value"]))
        if choice == "null":
            out[key] = None
        elif choice == "value":
            base = found if isinstance(found, dt.date) else draw(dates())
            out[key] = plus(base, dt.timedelta(days=draw(st.sampled_from([0, 1, 2, 7, 8, 30, 31, 200, 400]))))
    return out


@st.composite
def accident(draw: st.DrawFn, dates: Days = dates) -> dict[str, Any]:
    out: dict[str, Any] = draw(record(id=st.just("A1"), report_false=BOOLS, severity=opt(codes(AccidentSeverity))))
    occurred = draw(opt(instants(dates)))
    if draw(st.booleans()):
        out["occurred_at"] = occurred
    for key in ("principal_informed_at", "reported_at"):
        choice = draw(st.sampled_from(["absent", "null", "value", "value"]))
        if choice == "null":
            out[key] = None
        elif choice == "value":
            base = occurred if isinstance(occurred, dt.datetime) else draw(instants(dates))
            minutes = draw(st.sampled_from([0, 5, 59, 60, 61, 120, 600, 1440, 3000]))
            moved = plus(base, dt.timedelta(minutes=minutes))
            try:
                out[key] = moved.astimezone(draw(st.sampled_from(OFFSETS)))
            except OverflowError:  # another offset would leave the calendar: keep its own
                out[key] = moved
    return out


@st.composite
def insurance(draw: st.DrawFn, dates: Days = dates) -> dict[str, Any]:
    out: dict[str, Any] = draw(record(kind=opt(st.sampled_from(["safety_liability", "other"]))))
    start = draw(opt(dates()))
    if draw(st.booleans()):
        out["starts_on"] = start
    if draw(st.booleans()):
        out["ends_on"] = None if start is None and draw(st.booleans()) else plus(
            start if isinstance(start, dt.date) else draw(dates()),
            dt.timedelta(days=draw(st.sampled_from([0, 1, 180, 364, 365, 366]))))
    return out


def enterprise(ident: str, dates: Days = dates) -> st.SearchStrategy[dict[str, Any]]:
    """One enterprise record (a dict with Python values, as `model_dump(exclude_unset=True)` gives); `dates`
    draws its days."""
    return record(
        {"id": st.just(ident)},
        industry=opt(codes(Industry)),
        above_designated_size=BOOLS,
        established_on=opt(dates()),
        employee_count=opt(st.sampled_from([0, 5, 100, 101, 300])),
        principal=obj(name=opt(st.just("张某")), role=opt(codes(PrincipalRole)),
                      competence_certificate_expires_on=opt(dates()), safety_training_passed_on=opt(dates())),
        responsibility_system=obj(established_on=opt(dates()), covers_all_positions=BOOLS,
                                  one_post_dual_duty=BOOLS, assessment_results_published=BOOLS),
        internal_assessments=items(dates()),
        five_in_place=obj(responsibility=BOOLS, management=BOOLS, investment=BOOLS, training=BOOLS,
                          emergency_rescue=BOOLS),
        management=obj(safety_body=BOOLS, full_time_safety_staff=SMALL, part_time_safety_staff=SMALL,
                       technical_team=BOOLS, technical_lead=opt(st.just("李某"))),
        safety_costs=items(record(year=opt(st.integers(2018, 2024)), required=SMALL, extracted=SMALL, used=SMALL,
                                  misappropriated=SMALL, internal_audit=BOOLS, external_audit=BOOLS), 4),
        obsolete_equipment_in_use=SMALL,
        ppe=obj(provided=BOOLS, standard_compliant=BOOLS, worn=BOOLS),
        training_system=obj(established_on=opt(dates()), has_assessment_standard=BOOLS),
        staff=items(record(id=st.sampled_from(["S1", "S2"]), role=opt(codes(StaffRole)),
                           special_operation=opt(st.just("electrician")), hired_on=opt(dates()), on_duty=BOOLS,
                           mentor_id=opt(st.just("S9")), certificate_expires_on=opt(dates()),
                           safety_training_passed_on=opt(dates()))),
        standardization_self_assessed_on=opt(dates()),
        risk_assessments=items(record(date=opt(dates()), comprehensive=BOOLS, risk_list_updated=BOOLS)),
        changes=items(record(date=opt(dates()), kind=opt(codes(ChangeKind)), major=BOOLS, authorized=BOOLS)),
        risk_control=obj(established_on=opt(dates()), levels=items(codes(RiskLevel), 4)),
        risk_communication=obj(bulletin_board=BOOLS, post_cards_for_all_posts=BOOLS, major_risk_sites=SMALL,
                               major_risk_sites_signed_and_monitored=SMALL),
        reports=items(record(kind=opt(codes(ReportKind)), channel=opt(codes(ReportChannel)), date=opt(dates())), 5),
        hazard_system=obj(established_on=opt(dates()), has_checklist=BOOLS, on_platform_since=opt(dates())),
        hazards=items(hazard(dates)),
        commitments=items(record(published_on=opt(dates()), to_public=BOOLS, to_staff=BOOLS)),
        accidents=items(accident(dates), 2),
        inspection_findings=items(record(date=opt(dates()), kind=opt(codes(FindingKind)),
                                         record=opt(st.just("R1")))),
        insurance=items(insurance(dates), 2),
    )


@st.composite
def population(draw: st.DrawFn, most: int = 6, dates: Days = dates) -> list[dict[str, Any]]:
    n = draw(st.integers(1, most))
    return [draw(enterprise(f"E{i}", dates)) for i in range(n)]


DURATIONS = [Duration(days=1), Duration(days=7), Duration(days=30), Duration(days=90), Duration(months=1),
             Duration(months=3), Duration(months=12), Duration(months=36), Duration(seconds=3600),
             Duration(seconds=7200)]


ALTERNATIVES: dict[str, Any] = {"duration": Duration(days=7), "number": 2021, "bool": False,
                                 "date": dt.date(2021, 2, 28)}


def alternative(t: LangType, default: Any) -> Any:
    """A fixed value of a param's type that differs from its default (for the one-param-at-a-time test)."""
    if isinstance(t, SetType) and isinstance(t.elem, EnumType):
        return frozenset(t.elem.codes[::2]) if frozenset(t.elem.codes[::2]) != default else frozenset()
    value = ALTERNATIVES[str(t)]
    if value == default:
        value = {"duration": Duration(months=2), "number": 0, "bool": True, "date": dt.date(2020, 1, 31)}[str(t)]
    return value


def param_value(t: LangType) -> st.SearchStrategy[Any]:
    """A value of a param's type, for what-if overrides."""
    if t == DURATION:
        return st.sampled_from(DURATIONS)
    if t == NUMBER:
        return st.sampled_from([0, 1, 100, 2019, 2020, 2021, 2023])
    if t == BOOL:
        return st.booleans()
    if t == DATE:
        return dates()
    if isinstance(t, SetType) and isinstance(t.elem, EnumType):
        return st.frozensets(st.sampled_from(t.elem.codes))
    raise ValueError(f"no strategy for {t}")


def overrides(param_types: dict[str, LangType]) -> st.SearchStrategy[dict[str, Any]]:
    names = sorted(param_types)
    return st.dictionaries(st.sampled_from(names), st.nothing(), max_size=0) if not names else st.one_of(
        st.just({}),
        st.sets(st.sampled_from(names), min_size=1, max_size=3).flatmap(
            lambda chosen: st.fixed_dictionaries({n: param_value(param_types[n]) for n in sorted(chosen)})),
    )
