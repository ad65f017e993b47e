"""Throughput of the columnar engine against the reference engine (run by hand; not collected by pytest).

    .venv/bin/python tests/columnar/bench_columnar.py 10000 100000 1000000 --reference 10000

Populations come from `safetyrules.synth` (a block of 5,000 generated records, tiled and renumbered for
larger sizes: polars work is the same, Python generation is not what is measured).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time

from safetyrules import load_policy
from safetyrules.api import fact_record
from safetyrules.columnar import FactTables, compile_policy
from safetyrules.synth import generate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", type=int, nargs="+")
    parser.add_argument("--reference", type=int, default=0, help="records to time the reference engine on")
    parser.add_argument("--as-of", default="2022-06-30")
    args = parser.parse_args()
    day = dt.date.fromisoformat(args.as_of)
    policy = load_policy()
    program = compile_policy(policy.program)
    block = [fact_record(r) for r in generate(5000, seed=5)]
    base = FactTables.from_records(block)
    if args.reference:
        records = (block * (args.reference // len(block) + 1))[: args.reference]
        start = time.perf_counter()
        for record in records:
            policy.evaluate_record(record, day)
        elapsed = time.perf_counter() - start
        print(f"reference  {len(records):>9,} records {elapsed:8.2f} s {len(records) / elapsed:>12,.0f} rec/s")
    for size in args.sizes:
        reps = max(1, size // len(block))
        tables = FactTables.concat([base] * reps) if reps > 1 else FactTables.from_records(block[:size])
        start = time.perf_counter()
        out = program.run(tables, day)
        elapsed = time.perf_counter() - start
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"columnar   {len(tables):>9,} records {elapsed:8.2f} s {len(tables) / elapsed:>12,.0f} rec/s "
              f"({out.height:,} result rows; peak RSS {rss:,.0f} MB)")


if __name__ == "__main__":
    main()
