"""The compiled row engine against the reference interpreter, per call and per population, in one run.

    .venv/bin/python benchmarks/bench_compiled.py [--count 2000] [--as-of 2022-12-31]

Per call (CPU time of one `evaluate`, p50 and p90 over `count` generated enterprises of the full seed
policy): a validated record, outcomes and due dates (`evaluate_record`), on the reference interpreter with
its messages written (what `explain=False` cost before the compiled engine) and on the compiled engine (its
messages written only when read); the same with the validation of a JSON-like dict (`evaluate`); with
explanations read. Per population: `evaluate_many` enterprises per CPU second. The ratios are what to
compare; figures in docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from safetyrules import load_policy
from safetyrules.api import fact_record
from safetyrules.synth import generate


def per_call(label: str, items: list[Any], call: Callable[[Any], Any]) -> float:
    times = []
    for item in items:
        t0 = time.process_time_ns()
        call(item)
        times.append(time.process_time_ns() - t0)
    times.sort()
    p50, p90 = statistics.median(times) / 1000, times[int(len(times) * 0.9)] / 1000
    print(f"{label:<58} p50 {p50:8.0f} µs   p90 {p90:8.0f} µs")
    return p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--as-of", default="2022-12-31")
    args = parser.parse_args()
    day = dt.date.fromisoformat(args.as_of)
    policy = load_policy()
    raw = [json.loads(json.dumps(r, default=str)) for r in generate(args.count, seed=11)]
    valid = [fact_record(r, contract=policy.contract) for r in raw]
    print(f"{len(valid)} generated enterprises, {len(policy.program.rules)} rules, as of {day}")

    def messages(result: Any) -> None:
        for r in result.results:
            _ = r.message

    ref = per_call("reference, validated record, with messages", valid,
                   lambda r: messages(policy.evaluate_record(r, day, engine="reference")))
    comp = per_call("compiled, validated record, outcomes and due dates", valid,
                    lambda r: policy.evaluate_record(r, day))
    per_call("compiled, validated record, messages read", valid,
             lambda r: messages(policy.evaluate_record(r, day)))
    per_call("compiled, JSON dict validated, outcomes and due dates", raw,
             lambda r: policy.evaluate(r, day, explain=False))
    ref_x = per_call("reference, JSON dict, explained (explain=True)", raw[: max(1, len(raw) // 4)],
                     lambda r: [x.steps for x in policy.evaluate(r, day, engine="reference").results])
    per_call("compiled, JSON dict, explanations read (explain=True)", raw[: max(1, len(raw) // 4)],
             lambda r: [x.steps for x in policy.evaluate(r, day).results])
    print(f"ratio reference/compiled, validated record: {ref / comp:.1f}x; "
          f"reference explained / compiled outcomes: {ref_x / comp:.1f}x")
    for engine in ("reference", "compiled"):
        t0 = time.process_time()
        for _ in policy.evaluate_many(valid, day, engine=engine):
            pass
        cpu = time.process_time() - t0
        print(f"evaluate_many ({engine}): {len(valid) / cpu:,.0f} enterprises per CPU second")


if __name__ == "__main__":
    main()
