"""One loaded policy or columnar program shared between threads gives the results of running them one after
the other: integrators (a web service, a worker pool) load once and evaluate from many threads."""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from safetyrules import load_policy
from safetyrules.engine.params import ParamTable

ROOT = Path(__file__).resolve().parents[1]
TOWN = [json.loads(line) for line in (ROOT / "examples" / "town.jsonl").read_text(encoding="utf-8").splitlines()]
DAYS = [dt.date(2021, 6, 30), dt.date(2022, 6, 30), dt.date(2022, 12, 31), dt.date(2023, 3, 31)]


def _outcomes(policy: Any, records: list[dict[str, Any]], day: dt.date, explain: bool) -> list[Any]:
    return [(r.enterprise, r.rule, r.outcome, r.due_on, r.message.en if r.message else None)
            for res in policy.evaluate_many(records, day, explain=explain) for r in res.results]


def test_one_policy_evaluated_from_eight_threads() -> None:
    policy = load_policy()
    records = TOWN[:40]
    jobs = [(day, explain) for day in DAYS for explain in (False, True)]
    sequential = [_outcomes(policy, records, day, explain) for day, explain in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(lambda job: _outcomes(policy, records, *job), jobs * 2))
    assert threaded == sequential * 2


def test_one_columnar_program_run_from_four_threads() -> None:
    from safetyrules.columnar import FactTables, compile_policy

    checked = load_policy().checked
    program = compile_policy(checked, ParamTable(checked))
    tables = [FactTables.from_records(TOWN[i::4]) for i in range(4)]
    jobs = [(t, day) for t in tables for day in DAYS[:2]]
    sequential = [program.run(t, day) for t, day in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda job: program.run(*job), jobs))
    for one, other in zip(sequential, threaded, strict=True):
        assert one.equals(other)
