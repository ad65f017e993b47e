"""A range the columnar engine would expand into too many rows (as of 9999-12-31 a yearly range has 8,000
numbers an enterprise) falls back to the reference engine for that rule: bounded memory, the same results."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from safetyrules import load_policy
from safetyrules.columnar import FactTables, compile_policy
from safetyrules.columnar import exprs as columnar_exprs
from safetyrules.engine.params import ParamTable

ROOT = Path(__file__).resolve().parents[2]
TOWN = [json.loads(line) for line in (ROOT / "examples" / "town.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("day", [dt.date(2022, 12, 31), dt.date(9999, 12, 31)])
def test_a_range_over_the_bound_falls_back_with_the_same_results(day: dt.date,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    policy = load_policy()
    records = TOWN[:40]
    monkeypatch.setattr(columnar_exprs, "MAX_RANGE_ROWS", 50)
    program = compile_policy(policy.program, ParamTable(policy.program))
    rows = program.run(FactTables.from_records(records), day)
    assert "safety_cost_extraction" in program.fallback_rules
    assert "more than 50" in program.fallback_rules["safety_cost_extraction"]
    got = {(r["enterprise"], r["rule"]): r["outcome"] for r in rows.iter_rows(named=True)}
    want = {(res.enterprise, r.rule): r.outcome.value for res in policy.evaluate_many(records, day)
            for r in res.results}
    assert got == want
