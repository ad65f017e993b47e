"""Hand-checked rules, the long result layout, and the reference-engine fallback."""

from __future__ import annotations

import datetime as dt
from typing import Any

from safetyrules import load_policy_text
from safetyrules.api import Policy
from safetyrules.columnar import RESULT_COLUMNS, ColumnarProgram, FactTables, evaluate_population

from .differential import mismatches


def _row(program: ColumnarProgram, record: dict[str, Any], day: str, rule: str) -> dict[str, Any]:
    out = program.run(FactTables.from_records([record]), dt.date.fromisoformat(day))
    rows = [r for r in out.to_dicts() if r["rule"] == rule]
    assert len(rows) == 1
    return rows[0]


def test_result_layout(program: ColumnarProgram) -> None:
    out = program.run(FactTables.from_records([{"id": "A"}, {"id": "B"}]), dt.date(2022, 6, 30))
    assert tuple(out.columns) == RESULT_COLUMNS
    assert out.height == 2 * len(program.declared)
    assert not program.fallback_rules


def test_unknown_system_after_its_deadline(program: ColumnarProgram) -> None:
    row = _row(program, {"id": "A"}, "2022-06-30", "responsibility_system_in_place")
    assert (row["outcome"], row["due_on"], row["days_overdue"]) == ("unknown", dt.date(2020, 12, 31), None)
    old = {"id": "A", "responsibility_system": None, "established_on": dt.date(2012, 5, 18)}
    row = _row(program, old, "2022-06-30", "responsibility_system_in_place")
    assert (row["outcome"], row["days_overdue"]) == ("violated", 546)
    # without its establishment date, a newcomer could still be within its grace: unknown, as the reference
    row = _row(program, {"id": "A", "responsibility_system": None}, "2022-06-30", "responsibility_system_in_place")
    assert (row["outcome"], row["days_overdue"]) == ("unknown", None)
    row = _row(program, {"id": "A", "responsibility_system": None}, "2020-12-31", "responsibility_system_in_place")
    assert (row["outcome"], row["days_remaining"]) == ("pending", 0)


def test_major_hazard_reported_late(program: ColumnarProgram) -> None:
    hazard = {"id": "H1", "major": True, "found_on": dt.date(2022, 5, 3), "reported_on": dt.date(2022, 5, 5)}
    record = {"id": "A", "hazards": [hazard]}
    row = _row(program, record, "2022-05-04", "major_hazard_reported")  # the report is not made yet
    assert (row["outcome"], row["due_on"], row["days_remaining"]) == ("pending", dt.date(2022, 5, 4), 0)
    row = _row(program, record, "2022-06-30", "major_hazard_reported")
    assert (row["outcome"], row["delay_days"], row["days_overdue"]) == ("violated", 1, 57)
    row = _row(program, record, "2023-05-06", "major_hazard_reported")  # late_act_memory (1 year) passed
    assert (row["outcome"], row["delay_days"]) == ("satisfied", 1)
    row = _row(program, {"id": "A", "hazards": []}, "2022-06-30", "major_hazard_reported")
    assert row["outcome"] == "not_applicable"


def test_dated_listing_period(program: ColumnarProgram) -> None:
    finding = {"date": dt.date(2023, 10, 1), "kind": "evasion"}
    row = _row(program, {"id": "A", "inspection_findings": [finding]}, "2024-01-01", "evading_supervision")
    assert (row["outcome"], row["listed_until"]) == ("triggered", dt.date(2026, 10, 1))
    finding = {"date": dt.date(2023, 9, 30), "kind": "evasion"}
    row = _row(program, {"id": "A", "inspection_findings": [finding]}, "2024-10-01", "evading_supervision")
    assert (row["outcome"], row["listed_until"]) == ("expired", dt.date(2024, 9, 30))


def test_enforcement_reads_other_rules(program: ColumnarProgram) -> None:
    row = _row(program, {"id": "A", "responsibility_system": None, "established_on": dt.date(2012, 5, 18)},
               "2022-06-30", "enforcement_candidate")
    assert row["outcome"] == "violated"


UNSUPPORTED = """
policy p {
  title zh "测试" en "test"
  period 2020-01-01 .. 2022-12-31
  catalogue {"a", "b"}
}

obligation same_latest {
  implements "a"
  title zh "同一" en "same"
  source "s" "s"
  require latest(r in risk_assessments by r.date) == latest(r in risk_assessments where r.comprehensive by r.date)
  due continuous
}

obligation after_it {
  implements "b"
  title zh "之后" en "after"
  source "s" "s"
  require not violated(same_latest) and industry in {industry}
  due continuous
}
"""


def test_unsupported_rules_fall_back_to_the_reference() -> None:
    policy = load_policy_text(UNSUPPORTED)
    from safetyrules.columnar import compile_policy

    program = compile_policy(policy.program)
    assert set(program.fallback_rules) == {"same_latest", "after_it"}
    records = [{"id": "A", "industry": "mining", "risk_assessments": [
        {"date": dt.date(2021, 1, 1), "comprehensive": True}, {"date": dt.date(2021, 2, 1)}]},
        {"id": "B", "risk_assessments": []}, {"id": "C"}]
    out = program.run(FactTables.from_records(records), dt.date(2022, 1, 1))
    got = {(r["enterprise"], r["rule"]): r["outcome"] for r in out.to_dicts()}
    for record in records:
        for r in policy.evaluate(record, dt.date(2022, 1, 1), explain=False).results:
            assert got[(r.enterprise, r.rule)] == str(r.outcome)


def test_evaluate_population_with_params(policy: Policy) -> None:
    records = [{"id": "A", "industry": "retail"}, {"id": "B", "industry": "construction"}]
    out = evaluate_population(policy, records, "2022-06-30", {"high_risk_industries": ["retail"]})
    row = {(r["enterprise"], r["rule"]): r["outcome"] for r in out.to_dicts()}
    assert row[("B", "principal_competence")] == "not_applicable"
    assert mismatches(policy, records, dt.date(2022, 6, 30), {"high_risk_industries": frozenset({"retail"})}) == []
