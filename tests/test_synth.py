"""The synthetic town generator (`safetyrules.synth`) and the bundled `examples/town.jsonl`."""

from __future__ import annotations

import collections
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from safetyrules.api import Policy, load_policy
from safetyrules.engine.results import EnterpriseResult
from safetyrules.facts.models import Enterprise, Industry
from safetyrules.synth import BLOCK, generate, uscc_check_char, write_town

TOWN_FILE = Path(__file__).resolve().parents[1] / "examples" / "town.jsonl"
AS_OF = dt.date(2022, 12, 31)

OBLIGATION_IDS = (
    "1.1-a", "1.1-b", "1.2-a", "1.2-b", "1.3-a", "1.3-b", "1.3-c", "2.1-a", "2.1-b", "2.2-a", "2.2-b",
    "2.2-c", "2.2-d", "2.3-a", "2.3-b", "2.3-c", "2.4-a", "3.1-a", "3.1-b", "3.1-c", "3.1-d", "3.2-a",
    "3.3-a", "3.3-b", "3.3-c", "4.1-a", "4.1-b", "4.1-c", "4.2-a", "4.2-b", "4.2-c", "5.1-a", "5.4-a",
    "enforcement",
)
"""The catalogue of obligations.md, without the credit triggers."""
TRIGGER_IDS = tuple(f"5.2-t{i}" for i in range(1, 8))
DUE_ON_AS_OF = ("2.3-a", "2.4-a")
"""Fixed deadline 2022-12-31: pending on that day by definition, violated from the next."""

OPTIONAL_SECTIONS = (
    "principal", "responsibility_system", "internal_assessments", "five_in_place", "management",
    "obsolete_equipment_in_use", "ppe", "training_system", "staff", "standardization_self_assessed_on",
    "risk_assessments", "changes", "risk_control", "risk_communication", "reports", "hazard_system", "hazards",
    "commitments", "accidents", "inspection_findings", "insurance",
)


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return list(generate(2000, seed=11))


@pytest.fixture(scope="module")
def town() -> list[dict[str, Any]]:
    return list(generate(300, seed=2020))


def _outcomes(results: list[EnterpriseResult]) -> dict[str, collections.Counter[str]]:
    table: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for result in results:
        for rule in result.results:
            for catalogue_id in rule.implements:
                table[catalogue_id][str(rule.outcome)] += 1
    return table


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


@pytest.fixture(scope="module")
def town_results(policy: Policy, town: list[dict[str, Any]]) -> list[EnterpriseResult]:
    return [policy.evaluate(rec, AS_OF, explain=False) for rec in town]


@pytest.fixture(scope="module")
def town_outcomes(town_results: list[EnterpriseResult]) -> dict[str, collections.Counter[str]]:
    return _outcomes(town_results)


# ------------------------------------------------------------------------------------------ determinism


def test_same_seed_same_output_other_seed_other_output() -> None:
    first = list(generate(150, seed=7))
    assert first == list(generate(150, seed=7))
    assert json.dumps(first, ensure_ascii=False) == json.dumps(list(generate(150, seed=7)), ensure_ascii=False)
    other = list(generate(150, seed=8))
    assert other != first
    assert {r["id"] for r in other}.isdisjoint({r["id"] for r in first})


def test_shorter_run_is_a_prefix_of_a_longer_one() -> None:
    assert list(generate(130, seed=3)) == list(generate(2 * BLOCK + 10, seed=3))[:130]


def test_the_global_random_generator_is_not_used() -> None:
    import random

    random.seed(1)
    expected = random.random()
    random.seed(1)
    list(generate(20, seed=5))
    assert random.random() == expected


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        list(generate(-1))
    with pytest.raises(ValueError):
        list(generate(5, start=dt.date(2022, 1, 1), end=dt.date(2022, 6, 30)))
    assert list(generate(0)) == []


# ------------------------------------------------------------------------------------------ the contract


def test_every_record_validates_and_ids_are_unique(records: list[dict[str, Any]]) -> None:
    for record in records:
        Enterprise.model_validate(record)
    ids = [r["id"] for r in records]
    assert len(set(ids)) == len(ids)
    names = [r["name"] for r in records]
    assert len(set(names)) == len(names)


def test_records_are_json_ready(records: list[dict[str, Any]]) -> None:
    for record in records[:200]:
        assert json.loads(json.dumps(record, ensure_ascii=False)) == record


def test_ids_are_yongchun_credit_codes(records: list[dict[str, Any]]) -> None:
    assert uscc_check_char("91350100M000100Y4") == "3"  # the standard's example code
    assert uscc_check_char("91440300192203821") == "6"
    for record in records:
        uid = record["id"]
        assert len(uid) == 18 and uid.startswith("91350525")
        assert uscc_check_char(uid[:17]) == uid[17]
        assert record["name"].startswith("永春县") and record["name"].endswith("有限公司")


def test_histories_stay_within_the_period(records: list[dict[str, Any]]) -> None:
    end = AS_OF.isoformat()
    for record in records:
        dates = list(record.get("internal_assessments") or [])
        dates += [r["date"] for r in record.get("reports") or []]
        dates += [h["found_on"] for h in record.get("hazards") or []]
        dates += [a["occurred_at"][:10] for a in record.get("accidents") or []]
        dates += [s["hired_on"] for s in record.get("staff") or []]
        assert all(record["established_on"] <= d <= end for d in dates), record["id"]
        for accident in record.get("accidents") or []:
            assert accident["occurred_at"].endswith("+08:00")


def test_other_periods_validate() -> None:
    for record in generate(300, seed=1, start=dt.date(2015, 3, 1), end=dt.date(2018, 6, 30)):
        Enterprise.model_validate(record)
        assert all(r["date"] <= "2018-06-30" for r in record.get("reports") or [])


def test_bundled_town_is_reproducible(tmp_path: Path) -> None:
    out = tmp_path / "town.jsonl"
    assert write_town(out, 300, seed=2020) == 300
    assert TOWN_FILE.read_bytes() == out.read_bytes()
    lines = TOWN_FILE.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 300
    for line in lines:
        Enterprise.model_validate_json(line)


# ------------------------------------------------------------------------------------------ proportions


def test_proportions(records: list[dict[str, Any]]) -> None:
    industries = collections.Counter(r["industry"] for r in records)
    assert industries.most_common(1)[0][0] == "manufacturing"
    assert set(industries) == {i.value for i in Industry}
    for common in ("retail", "catering", "industry_trade", "construction"):
        assert industries[common] > industries["road_transport"] > industries["mining"]
    above = sum(r.get("above_designated_size") is True for r in records) / len(records)
    assert 0.15 < above < 0.35
    sizes = [r["employee_count"] for r in records if "employee_count" in r]
    assert min(sizes) >= 3 and max(sizes) <= 800
    assert sorted(sizes)[len(sizes) // 2] < 40  # skewed small
    villages = collections.Counter(r["village"] for r in records)
    assert 8 <= len(villages) <= 12
    new = sum(r["established_on"] >= "2019-01-01" for r in records) / len(records)
    assert 0.08 < new < 0.25
    major = sum(any(h["major"] for h in r.get("hazards") or []) for r in records) / len(records)
    assert 0.05 < major < 0.15
    accidents = sum(bool(r.get("accidents")) for r in records) / len(records)
    assert 0.01 < accidents < 0.07


def test_some_sections_are_absent(records: list[dict[str, Any]]) -> None:
    for section in OPTIONAL_SECTIONS:
        missing = sum(section not in r for r in records) / len(records)
        assert 0.01 < missing < 0.12, section


def test_explicit_nulls(records: list[dict[str, Any]]) -> None:
    def count(predicate: Any) -> int:
        return sum(1 for r in records if predicate(r))

    assert count(lambda r: (r.get("responsibility_system") or {"established_on": 0})["established_on"] is None)
    assert count(lambda r: any(h["remediated_on"] is None for h in r.get("hazards") or []))
    assert count(lambda r: any(h.get("plan", {}) is None for h in r.get("hazards") or []))
    assert count(lambda r: any(a["reported_at"] is None for a in r.get("accidents") or []))
    assert count(lambda r: any(s.get("mentor_id", "") is None for s in r.get("staff") or []))
    assert count(lambda r: r.get("standardization_self_assessed_on", "") is None)
    assert count(lambda r: (r.get("hazard_system") or {}).get("on_platform_since", "") is None)


# ------------------------------------------------------------------------------------------ evaluation


def test_town_has_every_outcome(policy: Policy, town_outcomes: dict[str, collections.Counter[str]]) -> None:
    assert set(OBLIGATION_IDS) | set(TRIGGER_IDS) <= set(policy.catalogue)
    for catalogue_id in OBLIGATION_IDS:
        counts = town_outcomes[catalogue_id]
        assert counts["satisfied"] + counts["not_applicable"] > 0, (catalogue_id, counts)
        if catalogue_id in DUE_ON_AS_OF:
            assert counts["pending"] > 0, (catalogue_id, counts)
        else:
            assert counts["violated"] > 0, (catalogue_id, counts)
    for catalogue_id in TRIGGER_IDS:
        assert town_outcomes[catalogue_id]["triggered"] > 0, (catalogue_id, town_outcomes[catalogue_id])
    unknown = sum(1 for c in OBLIGATION_IDS if town_outcomes[c]["unknown"] > 0)
    assert unknown >= len(OBLIGATION_IDS) - 2  # gaps show up almost everywhere


def test_deadline_of_the_evaluation_day_is_violated_the_day_after(
        policy: Policy, town: list[dict[str, Any]], town_results: list[EnterpriseResult]) -> None:
    pending = [rec for rec, result in zip(town, town_results, strict=True)
               if any(str(r.outcome) == "pending" and set(r.implements) & set(DUE_ON_AS_OF) for r in result.results)]
    after = _outcomes([policy.evaluate(rec, AS_OF + dt.timedelta(days=1), explain=False) for rec in pending])
    for catalogue_id in DUE_ON_AS_OF:
        assert after[catalogue_id]["violated"] > 0, (catalogue_id, after[catalogue_id])


def _may_trigger(record: dict[str, Any]) -> bool:
    """Whether a record has any fact a credit trigger could fire on (the others need no evaluation)."""
    return bool(record.get("accidents")) or any(
        f["kind"] != "other" for f in record.get("inspection_findings") or []) or any(
        c["authorized"] is False for c in record.get("changes") or []) or any(
        h["major"] and h["cause"] in ("illegal_command", "illegal_operation") for h in record.get("hazards") or [])


def test_every_seed_fires_every_trigger(policy: Policy) -> None:
    """Rare misconduct is stratified by blocks of BLOCK firms, so it does not depend on the seed."""
    engine_rules = ("evading_supervision", "illegal_command_major_hazard", "unauthorized_process_change",
                    "monitoring_destroyed", "accident_concealed", "accident_false_report", "accident_late_report")
    fired: collections.Counter[str] = collections.Counter()
    for record in filter(_may_trigger, generate(3 * BLOCK, seed=99)):
        for rule in policy.evaluate(record, AS_OF, explain=False).results:
            if rule.rule in engine_rules and str(rule.outcome) == "triggered":
                fired[rule.rule] += 1
    assert set(fired) == set(engine_rules)


# ------------------------------------------------------------------------------------------ the package


def test_one_synth_package_for_the_town_and_its_events() -> None:
    import safetyrules.synth as synth
    from safetyrules.synth import events, town

    assert synth.generate is town.generate and synth.write_town is town.write_town
    assert synth.generate_events is events.generate_events
    assert not hasattr(__import__("safetyrules.stream", fromlist=["x"]), "synth")  # one place only


def test_the_event_generator_reads_the_insurance_industries_from_the_policy(policy: Policy) -> None:
    """Insurance is bought by the firms of the policy's `insurance_industries`, not a set repeated here."""
    from safetyrules.synth import events, generate_events

    (param,) = [p for p in policy.params() if p.name == "insurance_industries"]
    assert frozenset(param.default) == events.INSURANCE_COMPULSORY
    insured: set[str] = set()
    industries: dict[str, str] = {}
    for event in generate_events(60, seed=3, clock=False):
        payload = event.get("payload", {})
        if event["type"] == "enterprise_updated" and "industry" in payload:
            industries[event["enterprise"]] = payload["industry"]
            if payload.get("insurance"):
                insured.add(event["enterprise"])
        elif event["type"] == "insurance_bought":
            insured.add(event["enterprise"])
    assert insured and {industries[e] for e in insured} <= set(param.default)
    assert {i for i in industries.values() if i not in param.default}  # other firms exist, and buy none
