"""Properties of the reference engine over generated enterprises (hypothesis), on the bundled seed policy.

The generator covers most of the fact contract, with every field sometimes absent (unknown) and often null
(known not to exist). Records always satisfy the contract's own checks (a hazard is not remediated before it
is found, an accident is not reported before it occurred, insurance does not end before it starts), so the
library's validation accepts them. Dates of a list are kept distinct where a rule picks "the latest" or
"the one of year y", so that ties (see `test_ties_make_results_depend_on_list_order`) stay out of the
general properties.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from safetyrules.api import load_policy
from safetyrules.engine.results import EnterpriseResult, Outcome, RuleResult
from safetyrules.facts.models import Industry

Oc = Outcome  # short alias for the many expected outcomes
POLICY = load_policy()

# SAFETYRULES_PROPERTY_EXAMPLES=1000 for a deeper run; the default keeps the file under ~30 s.
SETTINGS = settings(max_examples=int(os.environ.get("SAFETYRULES_PROPERTY_EXAMPLES", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

ABSENT = object()
CST = dt.timezone(dt.timedelta(hours=8))
flags = st.booleans()


def maybe(strategy: st.SearchStrategy[Any], absent: int = 1, null: int = 1, value: int = 4,
          ) -> st.SearchStrategy[Any]:
    """A value, null or absent, with these weights (one_of would ignore repeated alternatives)."""
    kinds = ["value"] * value + ["null"] * null + ["absent"] * absent
    return st.sampled_from(kinds).flatmap(
        lambda k: strategy if k == "value" else st.just(None if k == "null" else ABSENT))


def rare(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field of a list item: nearly always there (absent 1 in 10), never null."""
    return maybe(strategy, absent=1, null=0, value=9)


def obj(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object whose fields may each be absent."""
    return st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not ABSENT})


def iso(d: Any) -> Any:
    return d.isoformat() if isinstance(d, dt.date) else d


def indexed(make: Any, max_size: int) -> st.SearchStrategy[list[dict[str, Any]]]:
    """A list of items made by `make(i)` (each with its own id)."""
    return st.integers(0, max_size).flatmap(lambda n: st.tuples(*[make(i) for i in range(n)]).map(list))


as_of_dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2024, 12, 31))


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], dt.date]:
    """An enterprise and an evaluation date; the record's dates lie around the date (most before it)."""
    as_of = draw(as_of_dates)
    days = st.one_of(st.integers(-1200, 30), st.integers(-400, 1), st.sampled_from([-365, -366, -91, -30, 0, 1]))
    dates = days.map(lambda n: as_of + dt.timedelta(days=n))
    text_dates = dates.map(iso)

    def later_than(start: dt.date, top: int) -> st.SearchStrategy[str]:
        return st.integers(0, top).map(lambda n: iso(start + dt.timedelta(days=n)))

    @st.composite
    def hazard(draw: st.DrawFn, index: int) -> dict[str, Any]:
        found = draw(dates)
        after = later_than(found, 40)
        plan = obj(responsibility=rare(flags), measures=rare(flags), funds=rare(flags),
                   time_limit=maybe(later_than(found, 90), null=1, absent=1, value=8), contingency=rare(flags),
                   made_on=rare(later_than(found, 12)))
        h = {"id": f"H-{index}", "major": draw(rare(flags)), "found_on": iso(found),
             "reported_on": draw(maybe(later_than(found, 3))),
             "cause": draw(rare(st.sampled_from(["illegal_command", "illegal_operation", "equipment_failure",
                                                 "management", "other"]))),
             "plan": draw(maybe(plan, absent=0)), "remediated_on": draw(maybe(after)),
             "verified_on": draw(maybe(after))}
        return {k: v for k, v in h.items() if v is not ABSENT}

    @st.composite
    def accident(draw: st.DrawFn, index: int) -> dict[str, Any]:
        occurred = dt.datetime.combine(draw(dates), dt.time(draw(st.integers(0, 23)), draw(st.integers(0, 59))),
                                       tzinfo=CST)
        minutes = st.one_of(st.integers(0, 180), st.sampled_from([59, 60, 61]))
        later = minutes.map(lambda m: (occurred + dt.timedelta(minutes=m)).isoformat())
        a = {"id": f"A-{index}", "occurred_at": occurred.isoformat(), "principal_informed_at": draw(maybe(later)),
             "reported_at": draw(maybe(later, null=2)), "report_false": draw(rare(flags))}
        return {k: v for k, v in a.items() if v is not ABSENT}

    @st.composite
    def insurance(draw: st.DrawFn) -> dict[str, Any]:
        starts = draw(dates)
        return {"kind": draw(st.sampled_from(["safety_liability", "safety_liability", "employer_liability"])),
                "starts_on": iso(starts), "ends_on": draw(later_than(starts, 500))}

    def staff_member(i: int) -> st.SearchStrategy[dict[str, Any]]:
        return obj(id=st.just(f"S{i}"), role=rare(st.sampled_from(["safety_manager", "special_operator", "general"])),
                   on_duty=rare(flags), hired_on=rare(text_dates), mentor_id=maybe(st.just("S0")),
                   certificate_expires_on=maybe(text_dates), safety_training_passed_on=maybe(text_dates))

    # distinct dates (or years) where a rule picks "the latest" or "the one of year y": see the tie test below
    risk_assessments = st.lists(obj(date=rare(text_dates), comprehensive=rare(flags), risk_list_updated=rare(flags)),
                                max_size=4, unique_by=lambda x: x.get("date", "absent"))
    changes = st.lists(obj(date=rare(text_dates), kind=st.sampled_from(["process", "equipment", "rules"]),
                           major=rare(flags), authorized=rare(flags)), max_size=3)
    reports = st.lists(obj(kind=rare(st.sampled_from(["risk_list", "dual_report", "hazard"])),
                           channel=rare(st.sampled_from(["platform", "workers_congress"])), date=rare(text_dates)),
                       max_size=6)
    commitments = st.lists(obj(published_on=rare(text_dates), to_public=rare(flags), to_staff=rare(flags)),
                           max_size=3)
    findings = st.lists(obj(date=text_dates, kind=rare(st.sampled_from(["evasion", "monitoring_destroyed", "other"]))),
                        max_size=2)
    years = st.integers(as_of.year - 3, as_of.year)
    safety_costs = st.lists(
        obj(year=years, required=rare(st.integers(0, 10)), extracted=rare(st.integers(0, 10)),
            misappropriated=rare(st.sampled_from([0, 0, 0, 1])), internal_audit=rare(flags),
            external_audit=rare(flags)),
        max_size=5, unique_by=lambda c: c["year"])
    levels = st.lists(st.sampled_from(["enterprise", "workshop", "team", "post"]), unique=True)

    fields: dict[str, Any] = {
        "id": "91350525MA31XXXX0K",
        "industry": draw(maybe(st.sampled_from([i.value for i in Industry]))),
        "above_designated_size": draw(maybe(flags)),
        "established_on": draw(maybe(st.one_of(dates, st.dates(dt.date(2000, 1, 1), dt.date(2019, 12, 31))).map(iso))),
        "employee_count": draw(maybe(st.integers(0, 300))),
        "principal": draw(maybe(obj(competence_certificate_expires_on=maybe(text_dates),
                                    safety_training_passed_on=maybe(text_dates)))),
        "responsibility_system": draw(maybe(obj(
            established_on=maybe(text_dates), covers_all_positions=rare(flags),
            one_post_dual_duty=rare(flags), assessment_results_published=rare(flags)))),
        "internal_assessments": draw(maybe(st.lists(text_dates, max_size=3, unique=True))),
        "five_in_place": draw(maybe(obj(responsibility=rare(flags), management=rare(flags),
                                        investment=rare(flags), training=rare(flags),
                                        emergency_rescue=rare(flags)))),
        "management": draw(maybe(obj(safety_body=rare(flags), full_time_safety_staff=rare(st.integers(0, 3)),
                                     part_time_safety_staff=rare(st.integers(0, 3)), technical_team=rare(flags),
                                     technical_lead=maybe(st.just("李某"))))),
        "safety_costs": draw(maybe(safety_costs)),
        "obsolete_equipment_in_use": draw(maybe(st.integers(0, 2))),
        "ppe": draw(maybe(obj(provided=rare(flags), standard_compliant=rare(flags), worn=rare(flags)))),
        "training_system": draw(maybe(obj(established_on=maybe(text_dates), has_assessment_standard=rare(flags)))),
        "staff": draw(maybe(indexed(staff_member, 3))),
        "standardization_self_assessed_on": draw(maybe(text_dates)),
        "risk_assessments": draw(maybe(risk_assessments)),
        "changes": draw(maybe(changes)),
        "risk_control": draw(maybe(obj(established_on=maybe(text_dates), levels=rare(levels)))),
        "risk_communication": draw(maybe(obj(bulletin_board=rare(flags), post_cards_for_all_posts=rare(flags),
                                             major_risk_sites=rare(st.integers(0, 2)),
                                             major_risk_sites_signed_and_monitored=rare(st.integers(0, 2))))),
        "reports": draw(maybe(reports)),
        "hazard_system": draw(maybe(obj(established_on=maybe(text_dates), has_checklist=rare(flags),
                                        on_platform_since=maybe(text_dates)))),
        "hazards": draw(maybe(indexed(hazard, 3))),
        "commitments": draw(maybe(commitments)),
        "accidents": draw(maybe(indexed(accident, 2))),
        "inspection_findings": draw(maybe(findings)),
        "insurance": draw(maybe(st.lists(insurance(), max_size=2))),
    }
    return {k: v for k, v in fields.items() if v is not ABSENT}, as_of


def evaluate(record: dict[str, Any], as_of: dt.date, explain: bool = True) -> EnterpriseResult:
    return POLICY.evaluate(record, as_of, explain=explain)


def one(result: EnterpriseResult, cid: str) -> RuleResult:
    [r] = result.by_catalogue_id(cid)
    return r


def essence(r: RuleResult) -> tuple[Any, ...]:
    """What a result says, independent of the order in which the facts listed things."""
    events = sorted((str(e.outcome), str(e.event_on), str(e.due_on), str(e.done_on), str(e.delay_days),
                     str(e.listed_until)) for e in r.events)
    return (r.rule, r.outcome, r.due_on, r.days_overdue, r.days_remaining, r.delay_days, r.last_event_on,
            r.listed_until, r.reason, r.exception, r.period, tuple(events))


def shuffled(record: dict[str, Any], rnd: random.Random) -> dict[str, Any]:
    """A deep copy with every list (at every level) in another order."""
    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            items = [walk(v) for v in value]
            rnd.shuffle(items)
            return items
        return value
    out: dict[str, Any] = walk(record)
    return out


@pytest.mark.parametrize("kind", list(Outcome), ids=[o.value for o in Outcome])
def test_generator_reaches_every_outcome(kind: Outcome) -> None:
    """The generator is rich enough: some generated record has each outcome kind for some rule."""
    found = find(cases(),
                 lambda x: any(r.outcome is kind for r in evaluate(x[0], x[1], explain=False).results),
                 settings=settings(max_examples=300, phases=[Phase.generate], database=None))
    assert found is not None


@SETTINGS
@given(case=cases())
def test_evaluation_is_deterministic_and_json_ready(case: tuple[dict[str, Any], dt.date]) -> None:
    record, as_of = case
    first = evaluate(record, as_of)
    second = evaluate(copy.deepcopy(record), as_of)
    assert [r.to_json() for r in first.results] == [r.to_json() for r in second.results]
    for r in first.results:
        text = json.dumps(r.to_json())
        assert json.loads(text)["outcome"] == r.outcome.value
    quiet = evaluate(record, as_of, explain=False)  # tracing never changes an outcome (see the xfails below)
    assert [(*essence(r), r.params) for r in quiet.results] == [(*essence(r), r.params) for r in first.results]


@SETTINGS
@given(case=cases(), seed=st.integers(0, 2**32 - 1))
def test_results_do_not_depend_on_list_order(case: tuple[dict[str, Any], dt.date], seed: int) -> None:
    record, as_of = case
    before = evaluate(record, as_of, explain=False)
    after = evaluate(shuffled(record, random.Random(seed)), as_of, explain=False)
    assert [essence(r) for r in after.results] == [essence(r) for r in before.results]


def added(record: dict[str, Any], key: str, item: Any) -> dict[str, Any]:
    out = copy.deepcopy(record)
    out[key] = [*(out.get(key) or []), item]
    return out


NOT_WORSE = {Oc.SATISFIED, Oc.UNKNOWN, Oc.NOT_APPLICABLE}


@SETTINGS
@given(case=cases())
def test_adding_a_qualifying_record_never_makes_things_worse(case: tuple[dict[str, Any], dt.date]) -> None:
    record, as_of = case
    day = as_of.isoformat()
    before = evaluate(record, as_of, explain=False)
    cases = [
        ("risk_assessments", {"date": day, "comprehensive": True, "risk_list_updated": True}, ("3.1-a", "3.1-b")),
        ("commitments", {"published_on": day, "to_public": True, "to_staff": True}, ("5.1-a",)),
        ("reports", {"kind": "risk_list", "channel": "platform", "date": day}, ("3.3-c",)),
        ("internal_assessments", day, ("1.1-b",)),
    ]
    for key, item, cids in cases:
        after = evaluate(added(record, key, item), as_of, explain=False)
        for cid in cids:
            old, new = one(before, cid).outcome, one(after, cid).outcome
            assert new in NOT_WORSE, (key, cid, old, new)
            if old is Oc.SATISFIED:
                assert new is Oc.SATISFIED, (key, cid, old, new)
            if new is Oc.SATISFIED:
                assert one(after, cid).due_on is not None and one(after, cid).due_on >= as_of


# Removing a fact that a rule needs can never make the rule satisfied: each rule listed reads the field on
# every path to `satisfied` (a periodic duty's "last" event, a deadline's requirement, an `each` list…).
NEEDS: list[tuple[str, tuple[str, ...]]] = [
    ("risk_assessments", ("3.1-a", "3.1-b", "3.1-d")),
    ("industry", ("3.1-a", "3.1-b", "1.2-a", "2.1-b")),
    ("commitments", ("5.1-a",)),
    ("reports", ("3.3-c", "4.1-b")),
    ("responsibility_system", ("1.1-a", "1.3-a", "1.3-c")),
    ("obsolete_equipment_in_use", ("2.2-c",)),
    ("ppe", ("2.2-d",)),
    ("changes", ("3.1-c",)),
    ("hazards", ("4.2-a", "4.2-b", "4.2-c")),
    ("insurance", ("5.4-a",)),
    ("staff", ("2.3-c",)),
    ("risk_communication", ("3.3-a",)),
    ("hazard_system", ("4.1-a", "4.1-c")),
]
TRIGGER_NEEDS: list[tuple[str, tuple[str, ...]]] = [
    ("accidents", ("5.2-t5", "5.2-t6", "5.2-t7")),
    ("inspection_findings", ("5.2-t1", "5.2-t4")),
    ("hazards", ("5.2-t2",)),
    ("changes", ("5.2-t3",)),
]


@SETTINGS
@given(case=cases())
def test_an_absent_fact_never_yields_satisfied(case: tuple[dict[str, Any], dt.date]) -> None:
    record, as_of = case
    for key, cids in NEEDS:
        without = {k: v for k, v in record.items() if k != key}
        result = evaluate(without, as_of, explain=False)
        for cid in cids:
            r = one(result, cid)
            assert r.outcome is not Oc.SATISFIED, (key, cid)
            if r.outcome is Oc.UNKNOWN:
                assert r.missing or r.reason is not None, (key, cid)
    for key, cids in TRIGGER_NEEDS:
        without = {k: v for k, v in record.items() if k != key}
        result = evaluate(without, as_of, explain=False)
        for cid in cids:
            r = one(result, cid)
            assert r.outcome is Oc.UNKNOWN, (key, cid, r.outcome)
            assert key in r.missing, (key, cid, r.missing)


@SETTINGS
@given(case=cases())
def test_deadline_arithmetic_is_consistent(case: tuple[dict[str, Any], dt.date]) -> None:
    record, as_of = case
    for r in evaluate(record, as_of, explain=False).results:
        if r.outcome is Oc.VIOLATED and r.due_on is not None:
            assert r.days_overdue == (as_of - r.due_on).days and r.days_overdue > 0, r.rule
        else:
            assert r.days_overdue is None, r.rule
        if r.outcome is Oc.PENDING:
            assert r.due_on is not None and r.days_remaining == (r.due_on - as_of).days >= 0, r.rule
        else:
            assert r.days_remaining is None, r.rule
        if r.outcome is Oc.TRIGGERED:
            assert r.listed_until is not None and r.listed_until >= as_of, r.rule
        if r.outcome is Oc.EXPIRED:
            assert r.listed_until is not None and r.listed_until < as_of, r.rule
        if r.kind == "trigger":
            assert r.outcome in {Oc.TRIGGERED, Oc.EXPIRED, Oc.NOT_TRIGGERED, Oc.UNKNOWN, Oc.NOT_APPLICABLE}
        else:
            assert r.outcome in {Oc.VIOLATED, Oc.PENDING, Oc.SATISFIED, Oc.NOT_APPLICABLE, Oc.UNKNOWN}


# ------------------------------------------------------------------------------------------ ties

TIED_COSTS = {"id": "E", "industry": "mining", "established_on": "2012-01-01",
              "safety_costs": [{"year": 2020, "required": 10, "extracted": 10, "misappropriated": 0},
                               {"year": 2020, "required": 10, "extracted": 5, "misappropriated": 0}]}
TIED_ASSESSMENTS = {"id": "E", "risk_assessments": [{"date": "2021-05-01", "risk_list_updated": True},
                                                    {"date": "2021-05-01", "risk_list_updated": False}]}


@pytest.mark.xfail(strict=True, reason="find() takes the first matching element and latest() the first of "
                   "tied elements, so two safety_costs records of one year (2.2-a) or two assessments on one day "
                   "(3.1-d) give an outcome that depends on the order of the list; the contract does not forbid "
                   "such duplicates, and docs/semantics.md says nothing about ties")
@pytest.mark.parametrize(("record", "cid", "as_of"), [(TIED_COSTS, "2.2-a", "2021-06-30"),
                                                     (TIED_ASSESSMENTS, "3.1-d", "2021-06-30")])
def test_ties_make_results_depend_on_list_order(record: dict[str, Any], cid: str, as_of: str) -> None:
    reversed_record = {**record, **{k: list(reversed(v)) for k, v in record.items() if isinstance(v, list)}}
    forward = one(POLICY.evaluate(record, as_of), cid).outcome
    backward = one(POLICY.evaluate(reversed_record, as_of), cid).outcome
    assert forward is backward


# ------------------------------------------------------------------------------------------ explain on/off

def test_missing_does_not_depend_on_explain() -> None:
    record = {"id": "E", "staff": [{"id": "S0", "role": "special_operator"}]}
    traced = one(POLICY.evaluate(record, "2020-01-01"), "2.3-b")
    quiet = one(POLICY.evaluate(record, "2020-01-01", explain=False), "2.3-b")
    assert quiet.missing == ("principal", "principal.safety_training_passed_on")
    assert traced.missing == quiet.missing


def test_message_does_not_depend_on_explain() -> None:
    """The facts that decide whether a rule applies are traced even when nothing else is, for the message."""
    record = {"id": "E", "industry": "construction",
              "risk_assessments": [{"date": "2020-11-03", "comprehensive": True}]}
    traced = one(POLICY.evaluate(record, "2022-06-30"), "3.1-a")
    quiet = one(POLICY.evaluate(record, "2022-06-30", explain=False), "3.1-a")
    assert traced.message is not None and "行业领域：建筑施工" in traced.message.zh
    assert quiet.message == traced.message
    assert quiet.steps == [] and traced.steps  # explain=False still returns no explanation


@SETTINGS
@given(case=cases())
def test_messages_never_depend_on_explain(case: tuple[dict[str, Any], dt.date]) -> None:
    record, as_of = case
    traced = POLICY.evaluate(record, as_of)
    quiet = POLICY.evaluate(record, as_of, explain=False)
    assert [r.message for r in quiet.results] == [r.message for r in traced.results]


@pytest.mark.xfail(strict=True, reason="condition remedies (`make these hold: …`) are built from the recorded "
                   "`require` steps, which explain=False does not record")
def test_remedy_does_not_depend_on_explain() -> None:
    record = {"id": "E", "industry": "construction", "ppe": {"provided": True, "standard_compliant": False,
                                                              "worn": True}}
    traced = one(POLICY.evaluate(record, "2022-06-30"), "2.2-d")
    quiet = one(POLICY.evaluate(record, "2022-06-30", explain=False), "2.2-d")
    assert traced.remedy is not None and "ppe.standard_compliant" in traced.remedy.en
    assert quiet.remedy == traced.remedy
