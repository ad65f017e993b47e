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

    lowered = load_policy().program
    program = compile_policy(lowered, ParamTable(lowered))
    tables = [FactTables.from_records(TOWN[i::4]) for i in range(4)]
    jobs = [(t, day) for t in tables for day in DAYS[:2]]
    sequential = [program.run(t, day) for t, day in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda job: program.run(*job), jobs))
    for one, other in zip(sequential, threaded, strict=True):
        assert one.equals(other)


def test_one_monitor_fed_from_four_threads() -> None:
    """Events of different enterprises posted from four threads at once: the same outcomes, findings and
    counts as posting them from one thread (the monitor serialises its public methods). Alerts are not
    compared: which day an alert is raised depends on the order events arrive in, threads or not."""
    from safetyrules.stream import Monitor

    policy = load_policy()
    ids = [r["id"] for r in TOWN[:8]]
    events: list[dict[str, Any]] = []
    for n, eid in enumerate(ids):
        for day in range(1, 25):
            events.append({"enterprise": eid, "type": "hazard_found",
                           "timestamp": f"2022-03-{day:02d}T09:00:00+08:00",
                           "payload": {"id": f"H{n}-{day}", "major": day % 3 == 0, "cause": "management"}})
            if day % 2:
                events.append({"enterprise": eid, "type": "hazard_reported",
                               "timestamp": f"2022-03-{day:02d}T15:00:00+08:00",
                               "payload": {"hazard_id": f"H{n}-{day}"}})

    def run(threads: int) -> tuple[Any, Any]:
        monitor = Monitor(policy, alert_days=30)
        shares = [[e for e in events if ids.index(e["enterprise"]) % threads == t] for t in range(threads)]
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(lambda share: [monitor.post(e) for e in share], shares))
        monitor.advance_to(dt.date(2022, 6, 30))
        assert monitor.stats.events == len(events)
        return monitor.outcomes(), monitor.findings(), monitor.stats.applied

    assert run(4) == run(1)
