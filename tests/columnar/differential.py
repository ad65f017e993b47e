"""The differential comparison of the columnar engine with the reference engine, row by row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from safetyrules import load_policy
from safetyrules.api import Policy, fact_record
from safetyrules.columnar import ColumnarProgram, FactTables, compile_policy
from safetyrules.engine.params import ParamTable
from safetyrules.engine.results import RuleResult

FIELDS = ("outcome", "due_on", "days_overdue", "days_remaining", "delay_days", "listed_until")


@cache
def seed_policy() -> Policy:
    return load_policy()


@cache
def seed_program() -> ColumnarProgram:
    return compile_policy(seed_policy().program)


def program_for(policy: Policy, params: Mapping[str, Any] | None,
                disabled: frozenset[str] = frozenset()) -> ColumnarProgram:
    if not params and not disabled and policy is seed_policy():
        return seed_program()
    return compile_policy(policy.program, ParamTable(policy.program, params), disabled)


def row_problems(result: RuleResult, row: Mapping[str, Any], where: str = "") -> list[str]:
    """Each of `FIELDS` where a columnar result row differs from the reference engine's result."""
    want = {"outcome": str(result.outcome), "due_on": result.due_on, "days_overdue": result.days_overdue,
            "days_remaining": result.days_remaining, "delay_days": result.delay_days,
            "listed_until": result.listed_until}
    return [f"{where}{result.enterprise} {result.rule} {f}: reference {want[f]!r}, columnar {row[f]!r}"
            for f in FIELDS if row[f] != want[f]]


def mismatches(policy: Policy, records: Iterable[Mapping[str, Any]], as_of: dt.date,
               params: Mapping[str, Any] | None = None, disabled: frozenset[str] = frozenset()) -> list[str]:
    """Every (enterprise, rule, field) where the columnar result differs from the reference engine."""
    recs = [fact_record(r) for r in records]
    program = program_for(policy, params, disabled)
    out = program.run(FactTables.from_records(recs), as_of)
    assert not program.fallback_rules, program.fallback_rules  # known after a run
    got = {(r["enterprise"], r["rule"]): r for r in out.to_dicts()}
    problems = []
    expected_rows = 0
    for rec in recs:
        for r in policy.evaluate_record(rec, as_of, params, disabled=disabled).results:
            expected_rows += 1
            row = got.get((r.enterprise, r.rule))
            if row is None:
                problems.append(f"{r.enterprise} {r.rule}: missing")
                continue
            problems.extend(row_problems(r, row))
            if tuple(row["implements"]) != tuple(r.implements):
                problems.append(f"{r.enterprise} {r.rule} implements: {r.implements} vs {row['implements']}")
    if out.height != expected_rows:
        problems.append(f"{out.height} result rows, expected {expected_rows}")
    return problems
