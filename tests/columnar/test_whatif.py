"""Rules switched off and what-if scenarios: the columnar engine against the reference engine, and the
incremental scenario evaluation (only the affected rules re-run) against a full evaluation."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetyrules.api import Policy, fact_record
from safetyrules.columnar import FactTables, compile_policy
from safetyrules.columnar.plan import affected_rules
from safetyrules.columnar.whatif import evaluate_columnar, whatif_population
from safetyrules.engine.values import Duration
from safetyrules.whatif.run import evaluate_reference, run_whatif
from safetyrules.whatif.scenario import Scenario

from .differential import mismatches, seed_policy
from .strategies import dates, population

TOWN = Path(__file__).parents[2] / "examples" / "town.jsonl"
# read by enforcement_candidate through violated(…), so switching them off changes it too
OFF = frozenset({"dual_report", "risk_assessment_other", "apprenticeship"})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.data_too_large])
@given(records=population(4), as_of=dates(), off=st.sets(st.sampled_from(sorted(OFF | {"major_hazard_reported"}))))
def test_switched_off_rules_match_the_reference(records: list[dict[str, Any]], as_of: dt.date, off: set[str]) -> None:
    assert mismatches(seed_policy(), records, as_of, disabled=frozenset(off)) == []


def test_switched_off_rule_is_not_applicable(policy: Policy) -> None:
    from safetyrules.columnar import evaluate_population

    records = [{"id": "A", "reports": []}]
    out = evaluate_population(policy, records, "2022-06-30", disabled=frozenset({"dual_report"}))
    got = {r["rule"]: r for r in out.to_dicts()}
    assert got["dual_report"]["outcome"] == "not_applicable" and got["dual_report"]["due_on"] is None
    with pytest.raises(KeyError):
        compile_policy(policy.program, disabled=frozenset({"no_such_rule"}))


def _town() -> list[dict[str, Any]]:
    return [json.loads(line) for line in TOWN.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_run_whatif_columnar_equals_reference(policy: Policy) -> None:
    scenario = Scenario("two years, no dual report", params={"other_assessment_period": "2 years"},
                        rules_off=frozenset({"dual_report"}))
    days = [dt.date(2021, 12, 31), dt.date(2022, 6, 30)]
    records = _town()
    reference = run_whatif(policy, policy, scenario, records, days, evaluate=evaluate_reference)
    columnar = run_whatif(policy, policy, scenario, records, days, evaluate=evaluate_columnar)
    assert columnar.to_json() == reference.to_json()
    assert any(c.rule == "dual_report" for d in columnar.dates for c in d.changes)
    assert any(c.rule == "risk_assessment_other" for d in columnar.dates for c in d.changes)


def test_evaluate_columnar_rows_equal_reference(policy: Policy) -> None:
    records = [fact_record(r) for r in _town()[:60]]
    day = dt.date(2022, 6, 30)
    params = {"high_risk_industries": frozenset({"retail", "mining"})}
    want = evaluate_reference(policy, records, day, params, frozenset({"risk_list_reporting"}))
    got = evaluate_columnar(policy, records, day, params, frozenset({"risk_list_reporting"}))
    assert got == want


SCENARIOS: list[tuple[dict[str, Any], frozenset[str]]] = [
    ({"other_assessment_period": Duration(months=24)}, frozenset()),
    ({"high_risk_industries": frozenset({"retail"})}, frozenset()),
    ({"late_act_memory": Duration(days=30)}, frozenset({"risk_list_reporting"})),
    ({"credit_listing_period": Duration(months=6)}, frozenset()),
    ({}, frozenset({"major_hazard_reported", "safety_commitment"})),
]


@pytest.mark.parametrize(("params", "off"), SCENARIOS)
def test_incremental_scenario_equals_full_evaluation(policy: Policy, params: dict[str, Any],
                                                     off: frozenset[str]) -> None:
    from safetyrules.synth import generate

    tables = FactTables.from_records([fact_record(r) for r in generate(120, seed=3)])
    day = dt.date(2022, 6, 30)
    program = compile_policy(policy.program)
    result = whatif_population(program, tables, day, params, off)
    full = program.variant(params, off).evaluate(tables, day)
    assert result.rerun == affected_rules(policy.program, params, off)
    if not off:  # a param change re-runs only the rules that read it, and their readers
        assert result.rerun < {r.name for r in policy.checked.rules}
    assert result.scenario.results().equals(full.results())
    changed = result.changes()
    for _enterprise, rule, before, after in changed.iter_rows():
        assert rule in result.rerun and before != after
    counts = result.counts()
    assert set(counts.columns) >= {"rule", "outcome", "base", "scenario"}


def test_a_base_must_match() -> None:
    policy = seed_policy()
    program = compile_policy(policy.program)
    tables = FactTables.from_records([{"id": "A"}])
    base = program.evaluate(tables, dt.date(2022, 6, 30))
    with pytest.raises(ValueError, match="same policy"):
        program.evaluate(tables, dt.date(2022, 7, 1), base=base)
