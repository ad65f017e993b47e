"""The six-rule peer workload per call: one decision for one enterprise, ours against zen-engine and plain Python.

    .venv/bin/python benchmarks/bench_peer_call.py [--count 2000] [--profile 500]

The compiled-engine issue's target: on the six-rule peer decision, per call, faster than zen-engine's single
compiled expression in the same run and within 3 × hand-written Python. The workload, the population (the
first `count` enterprises of synth seed 7, as of 2022-06-30), zen-engine's ZEN expression and the hand-written
program are those of `peers.py`, imported from it; here each engine decides one enterprise per call.

Timed per call (CPU time, `time.process_time_ns` around the call, p50 and p90 over the enterprises; the
mean of an untimed loop beside it, which has no timer in it):
  - ours, `load_policy(peer_workload.policy).evaluate_record(record, day)`: a validated record (the whole
    generated enterprise, as the API receives it), compiled row engine, outcomes only (nothing read but the
    outcome); the same with the record cut to the fields the six rules read (what the peers get);
  - ours, `policy.evaluate(dict, day, explain=False)`: a JSON-like dict validated first (whole record, and cut);
  - zen-engine, `expression.evaluate(input)` with the input `peers.peer_inputs` builds (dates as day numbers);
  - hand-written plain Python, `peers.plain_python([input])`.
Inputs are built before the clock starts. The violations of every engine are asserted equal for every
enterprise. `--profile N`: where a call's time goes — the as-of view alone, the engine with no rule, each rule
alone (mean CPU over the enterprises, whole and cut record) — and a cProfile of N calls of `evaluate_record`.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from peers import AS_OF, POLICY, ZEN, Violations, peer_inputs, per_rule, plain_python
from population import population

from safetyrules import load_policy
from safetyrules.api import fact_record
from safetyrules.facts.as_of import as_of_view

READ = ("id", "industry", "employee_count", "risk_assessments", "changes", "hazards", "inspection_findings")


def cut(raw: dict[str, Any]) -> dict[str, Any]:
    """The record with only the fields the six rules read (what zen-engine and plain Python are given)."""
    out = {k: raw[k] for k in READ if k in raw}
    management = raw.get("management")
    if isinstance(management, dict):
        out["management"] = {k: v for k, v in management.items() if k == "safety_body"}
    elif "management" in raw:
        out["management"] = management
    return out


def per_call(label: str, items: list[Any], call: Callable[[Any], Any]) -> tuple[float, float, float]:
    """p50 and p90 of the CPU time of one call (µs), and the mean of an untimed loop over the items."""
    for item in items[:50]:  # warm-up
        call(item)
    times = []
    for item in items:
        t0 = time.process_time_ns()
        call(item)
        times.append(time.process_time_ns() - t0)
    times.sort()
    t0 = time.process_time_ns()
    for item in items:
        call(item)
    mean = (time.process_time_ns() - t0) / len(items) / 1000
    p50, p90 = statistics.median(times) / 1000, times[int(len(times) * 0.9)] / 1000
    print(f"  {label:<62} p50 {p50:9.1f} µs   p90 {p90:9.1f} µs   mean (untimed loop) {mean:9.1f} µs",
          flush=True)
    return p50, p90, mean


def best_mean(items: list[Any], call: Callable[[Any], Any], loops: int = 3) -> float:
    """The mean CPU time of a call (µs), best of `loops` loops over the items."""
    means = []
    for _ in range(loops):
        t0 = time.process_time_ns()
        for item in items:
            call(item)
        means.append((time.process_time_ns() - t0) / len(items) / 1000)
    return min(means)


def ours(results: list[Any], names: dict[str, str]) -> Violations:
    return {(i, names[r.rule]) for i, result in enumerate(results) for r in result.results
            if str(r.outcome) == "violated"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2_000)
    parser.add_argument("--profile", type=int, default=0, help="profile this many calls of evaluate_record")
    args = parser.parse_args()

    import zen

    tables = population(args.count, quiet=True)
    inputs = peer_inputs(tables)
    raw = [json.loads(json.dumps(r, default=str)) for r in tables.to_records()]
    raw_cut = [cut(r) for r in raw]
    policy = load_policy(POLICY)
    valid = [fact_record(r, contract=policy.contract) for r in raw]
    valid_cut = [fact_record(r, contract=policy.contract) for r in raw_cut]
    names = {r.name: f"R{r.name[1]}" for r in policy.checked.rules}
    expression = zen.compile_expression(ZEN)
    day = AS_OF
    n = len(inputs)
    print(f"{n:,} enterprises (synth seed 7), peer workload (6 rules), as of {day}; CPU time per call")

    # agreement first (untimed): every engine's violations, enterprise by enterprise
    expected = plain_python(inputs)
    checks = {
        "zen-engine": per_rule([expression.evaluate(e) for e in inputs]),
        "ours, record": ours([policy.evaluate_record(r, day) for r in valid], names),
        "ours, record cut": ours([policy.evaluate_record(r, day) for r in valid_cut], names),
        "ours, dict": ours([policy.evaluate(r, day, explain=False) for r in raw], names),
        "ours, dict cut": ours([policy.evaluate(r, day, explain=False) for r in raw_cut], names),
        "hand-written, one call each": {(i, rule) for i, e in enumerate(inputs) for _, rule in plain_python([e])},
    }
    for name, got in checks.items():
        assert got == expected, f"{name} disagrees with plain Python: {len(got ^ expected)} differences"
    print(f"  violations: {len(expected):,} (enterprise, rule) pairs, equal for every engine on every enterprise")

    def outcomes(result: Any) -> list[Any]:
        return [r.outcome for r in result.results]

    rows = {
        "timer alone (an empty call)": per_call("timer alone (an empty call)", inputs, lambda e: None),
        "hand": per_call("hand-written plain Python, plain_python([input])", inputs, lambda e: plain_python([e])),
        "zen": per_call("zen-engine, compiled ZEN expression .evaluate(input)", inputs, expression.evaluate),
        "record": per_call("ours, evaluate_record(validated record), outcomes", valid,
                           lambda r: outcomes(policy.evaluate_record(r, day))),
        "record cut": per_call("ours, evaluate_record, record cut to the 6 rules' fields", valid_cut,
                               lambda r: outcomes(policy.evaluate_record(r, day))),
        "dict": per_call("ours, evaluate(dict, explain=False), validated", raw,
                         lambda r: outcomes(policy.evaluate(r, day, explain=False))),
        "dict cut": per_call("ours, evaluate(dict cut, explain=False), validated", raw_cut,
                             lambda r: outcomes(policy.evaluate(r, day, explain=False))),
    }
    print()
    for key, label in (("record", "evaluate_record"), ("record cut", "evaluate_record, cut record"),
                       ("dict", "evaluate(dict)"), ("dict cut", "evaluate(dict), cut")):
        p50 = rows[key][0]
        print(f"  {label:<30} ours/zen {p50 / rows['zen'][0]:6.2f}x (target < 1)   "
              f"ours/hand-written {p50 / rows['hand'][0]:6.1f}x (target <= 3)   [p50]")

    if args.profile:
        engine = policy.engine()
        rules = policy.program.contract.as_of
        print("\nparts of a call (mean CPU, best of 3 loops):")
        for label, records in (("whole record", valid), ("cut record", valid_cut)):
            parts: list[tuple[str, Callable[[Any], Any]]] = [
                ("as_of_view alone", lambda r: as_of_view(dict(r), day, rules)),
                ("engine.evaluate, no rule", lambda r: engine.evaluate(r, day, rules=frozenset())),
                ("engine.evaluate, six rules", lambda r: engine.evaluate(r, day)),
                ("policy.evaluate_record", lambda r: policy.evaluate_record(r, day))]
            parts += [(f"engine.evaluate, {name} alone", lambda r, name=name: engine.evaluate(
                r, day, rules=frozenset([name]))) for name in names]
            for part, call in parts:
                print(f"  [{label}] {part:<48} {best_mean(records, call):7.1f} µs")
        sample = valid[: args.profile]
        profiler = cProfile.Profile()
        profiler.enable()
        for r in sample:
            policy.evaluate_record(r, day)
        profiler.disable()
        stats = pstats.Stats(profiler)
        print(f"\nprofile of {len(sample)} calls of evaluate_record (whole record), by own time:")
        stats.sort_stats("tottime").print_stats(18)
        print("cumulative:")
        stats.sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
