"""What-if on Spark against the single process (docs/distributed.md, "What-if on Spark").

    .venv/bin/python benchmarks/spark_whatif.py [--count 100000] [--files 4] [--master local[2]]

Population: as benchmarks/spark_scale.py (synth seed 7 tiled to `--count`, nested Parquet in `--files` files,
written once, not timed). Scenario: `other_assessment_period` = 2 years and `apprenticeship` switched off, on
the four quarter-ends of 2022 (base and scenario on each). Each mode runs in its own fresh process, from
reading the Parquet files to writing the changes, counts and rejections as Parquet:

- single process: `pq.read_table` of every file, `columnar.arrow_whatif.whatif_batch` over all of it (the
  single-process columnar what-if: one validation, base and scenario per date, the scenario re-running only
  the rules it changes), written;
- single process, chunked: the same in chunks of 50,000 enterprises (what a Spark task does);
- Spark batch mode: `safetyrules.spark.whatif_files` (one task per file; the tasks read and write Parquet).

Measured as spark_scale.py does: wall time of the run (session start apart) and the CPU time of the whole
process tree (driver, JVM, Python workers) sampled with psutil.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))

from population import DATA
from spark_scale import child, nested_input

SCENARIO = """
import datetime as dt
from safetyrules import load_policy
from safetyrules.columnar.arrow_whatif import whatif_spec
from safetyrules.whatif.scenario import Scenario
DATES = [dt.date(2022, 3, 31), dt.date(2022, 6, 30), dt.date(2022, 9, 30), dt.date(2022, 12, 31)]
policy = load_policy()
spec = whatif_spec(policy, Scenario(name="bench", params={"other_assessment_period": "2 years"},
                                    rules_off=frozenset({"apprenticeship"})))
"""

SINGLE = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
import pyarrow as pa, pyarrow.parquet as pq
""" + SCENARIO + """
from safetyrules.columnar.arrow_whatif import whatif_batch
files, out, chunk = sorted(Path(sys.argv[1]).glob("*.parquet")), Path(sys.argv[2]), int(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
t1 = time.perf_counter()
print("READY", flush=True)
table = pa.concat_tables(pq.read_table(f) for f in files)
changes, counts, rejects, evaluated = [], [], [], 0
for start in range(0, table.num_rows, chunk or table.num_rows):
    found = whatif_batch(spec, table.slice(start, chunk or table.num_rows), DATES, first_row=start)
    changes.append(found.changes); counts.append(found.counts); rejects.append(found.rejected)
    evaluated += found.evaluated
pq.write_table(pa.concat_tables(changes), out / "changes.parquet")
pq.write_table(pa.concat_tables(counts), out / "counts.parquet")
pq.write_table(pa.concat_tables(rejects), out / "rejected.parquet")
t2 = time.perf_counter()
print(json.dumps({"start": t1 - t0, "run": t2 - t1, "evaluated": evaluated,
                  "changes": sum(c.num_rows for c in changes)}))
"""

SPARK = """
import json, sys, time
t0 = time.perf_counter()
from safetyrules import spark as sr
spark = sr.session(sys.argv[1], **{"spark.driver.memory": "4g", "spark.ui.showConsoleProgress": "false"})
spark.sparkContext.setLogLevel("ERROR")
""" + SCENARIO + """
t1 = time.perf_counter()
print("READY", flush=True)
source, out = sys.argv[2:4]
summary = sr.whatif_files(spark, source, out, spec, DATES)
t2 = time.perf_counter()
spark.stop()
print(json.dumps({"start": t1 - t0, "run": t2 - t1, "evaluated": summary.evaluated, "changes": summary.changes}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--modes", default="single,chunked,batch")
    args = parser.parse_args()
    source = nested_input(args.count, args.files)
    print(f"what-if, {args.count:,} enterprises (synth seed 7, tiled) in {args.files} nested Parquet files, 4 dates; "
          f"{psutil.cpu_count()} cores; {dt.datetime.now():%Y-%m-%d %H:%M}", flush=True)
    rows = []
    for mode in args.modes.split(","):
        out = DATA / f"spark-whatif-{args.count}-{mode}"
        shutil.rmtree(out, ignore_errors=True)
        if mode in ("single", "chunked"):
            r = child(SINGLE, str(source), str(out), "0" if mode == "single" else "50000")
            label = "single process, one call" if mode == "single" else "single process, chunks of 50,000"
        else:
            r = child(SPARK, args.master, str(source), str(out))
            label = f"Spark {args.master}, batch mode"
        assert r["evaluated"] == args.count, r
        rows.append((label, r))
        print(f"{label}: run {r['run']:.1f} s wall, CPU of the process tree {r['cpu']:.1f} s, {r['changes']:,} "
              f"changes; start {r['start']:.1f} s wall; peak RSS of the tree {r['peak_rss_mb']:,.0f} MB", flush=True)
    base = rows[0][1]["cpu"]
    print("\n| mode | run (wall) | CPU of the run, whole tree | CPU vs the first | changes | peak RSS, tree |")
    print("|---|---|---|---|---|---|")
    for label, r in rows:
        print(f"| {label} | {r['run']:.1f} s | {r['cpu']:.1f} s | {r['cpu'] / base:.2f}× | {r['changes']:,} | "
              f"{r['peak_rss_mb']:,.0f} MB |")


if __name__ == "__main__":
    main()
