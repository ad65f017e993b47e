"""Reference engine throughput and the front end's cost, in one run (ratios are what to compare).

    .venv/bin/python benchmarks/bench_reference.py [--count 10000] [--repeat 5]

Prints: policy load (parse + check) of the seed policy, median of N; reference-engine enterprises/second
over `count` generated enterprises (validated once, evaluated N times, median), with and without
explanation trees; peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import time

from safetyrules.api import Policy, bundled_policy_path
from safetyrules.check.pipeline import compile_paths, read_sources
from safetyrules.facts.models import Enterprise
from safetyrules.synth import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--as-of", default="2022-12-31")
    args = parser.parse_args()
    as_of = dt.date.fromisoformat(args.as_of)

    sources, _ = read_sources([bundled_policy_path()])
    size = sum(len(t.encode()) for t in sources.values())
    lines = sum(t.count("\n") for t in sources.values())
    loads = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        compilation = compile_paths([bundled_policy_path()])
        loads.append(time.perf_counter() - t0)
    policy = Policy(compilation)
    print(f"policy: {len(sources)} files, {lines} lines, {size} bytes, {len(policy.checked.rules)} rules")
    print(f"parse + check: median {1000 * statistics.median(loads):.1f} ms of {args.repeat} "
          f"(first, with grammar construction: {1000 * loads[0]:.1f} ms)")

    t0 = time.perf_counter()
    records = [Enterprise.model_validate(r).model_dump(exclude_unset=True) for r in generate(args.count, seed=7)]
    validate_s = time.perf_counter() - t0
    print(f"generated and validated {len(records)} enterprises: {len(records) / validate_s:.0f}/s")

    for explain in (False, True):
        times = []
        for _ in range(args.repeat if not explain else max(1, args.repeat // 2)):
            t0 = time.perf_counter()
            for r in records:
                policy.evaluate_record(r, as_of, explain=explain)
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        print(f"reference engine{' with explanations' if explain else ''}: median {med:.2f} s, "
              f"{len(records) / med:.0f} enterprises/s ({len(times)} runs)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")


if __name__ == "__main__":
    main()
