"""The columnar engine on Spark against the single process (docs/performance.md, "Spark").

    .venv/bin/python benchmarks/spark_scale.py [--count 100000] [--files 4] [--master local[2]]

Population: the 100,000 enterprises of benchmarks/population.py (synth, seed 7) tiled to `--count`, written once
as nested Parquet (`columnar.nested`, not timed) in `--files` files under benchmarks/.data/. The full seed
policy, as of 2022-06-30. Each mode runs in its own fresh process, from reading the Parquet files to writing
the compact results and the rejections as Parquet:

- single process: `pq.read_table` of every file, one `columnar.arrow.evaluate_arrow` call, results written;
- single process, chunked: the same in chunks of 50,000 enterprises (what a Spark worker does);
- Spark DataFrame mode: `spark.read.parquet` → `safetyrules.spark.evaluate` → one `write.parquet` of its rows;
- Spark batch mode: `safetyrules.spark.evaluate_files` (one task per file, the tasks read and write Parquet).

Measured: wall time (the Spark session's start apart), and the CPU time of the whole process tree — the Python
driver, the JVM and Spark's Python workers — sampled with psutil every 0.2 s (each process's last reading
counts; a process that lives shorter than that is missed), and the sum of the tree's resident memory at its peak.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).parent))

from population import DATA, population

AS_OF = "2022-06-30"
PYTHON = sys.executable

SINGLE = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
import pyarrow as pa, pyarrow.parquet as pq
from safetyrules import load_policy
from safetyrules.columnar import compile_policy
from safetyrules.columnar.arrow import evaluate_arrow
program = compile_policy(load_policy().program)
files, out, chunk = sorted(Path(sys.argv[1]).glob("*.parquet")), Path(sys.argv[2]), int(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
t1 = time.perf_counter()
print("READY", flush=True)
table = pa.concat_tables(pq.read_table(f) for f in files)
parts, rejects, row = [], [], 0
for start in range(0, table.num_rows, chunk or table.num_rows):
    part = table.slice(start, chunk or table.num_rows)
    results, rejected = evaluate_arrow(program, part, sys.argv[4], first_row=start)
    parts.append(results); rejects.append(rejected)
pq.write_table(pa.concat_tables(parts), out / "results.parquet")
pq.write_table(pa.concat_tables(rejects), out / "rejected.parquet")
t2 = time.perf_counter()
print(json.dumps({"start": t1 - t0, "run": t2 - t1, "evaluated": sum(p.num_rows for p in parts)}))
"""

SPARK = """
import json, sys, time
t0 = time.perf_counter()
from safetyrules import load_policy
from safetyrules import spark as sr
spark = sr.session(sys.argv[1], **{"spark.driver.memory": "4g", "spark.ui.showConsoleProgress": "false"})
spark.sparkContext.setLogLevel("ERROR")
policy = load_policy()
t1 = time.perf_counter()
print("READY", flush=True)
mode, source, out, day = sys.argv[2:6]
if mode == "dataframe":
    sr.evaluate(spark.read.parquet(source), policy, day).write.mode("overwrite").parquet(out)
    t2 = time.perf_counter()
    evaluated = spark.read.parquet(out).where("rejected is null").count()
else:
    summary = sr.evaluate_files(spark, source, out, policy, day)
    t2 = time.perf_counter()
    evaluated = summary.evaluated
spark.stop()
print(json.dumps({"start": t1 - t0, "run": t2 - t1, "evaluated": evaluated}))
"""


class Tree:
    """CPU seconds and peak resident memory of a process and its descendants, sampled."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.cpu: dict[int, float] = {}
        self.peak_rss = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.is_set():
            rss = 0
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for p in procs:
                try:
                    t = p.cpu_times()
                    self.cpu[p.pid] = t.user + t.system
                    rss += p.memory_info().rss
                except psutil.Error:
                    continue
            self.peak_rss = max(self.peak_rss, rss)
            time.sleep(0.2)

    def total(self) -> float:
        return sum(self.cpu.values())

    def stop(self) -> tuple[float, float]:
        self.done.set()
        self.thread.join()
        return self.total(), self.peak_rss / 2**20


def child(code: str, *args: str) -> dict[str, Any]:
    """Run `code` in a fresh process; its CPU (whole tree) from the line READY it prints after starting up."""
    proc = subprocess.Popen([PYTHON, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    tree = Tree(proc.pid)
    assert proc.stdout is not None
    ready, last = 0.0, ""
    for line in proc.stdout:
        if line.strip() == "READY":
            time.sleep(0.3)  # one more sample of every process
            ready = tree.total()
        elif line.strip():
            last = line
    proc.wait()
    cpu, rss = tree.stop()
    if proc.returncode:
        raise RuntimeError(f"{code[:60]}… exited with {proc.returncode}")
    out: dict[str, Any] = json.loads(last)
    return {**out, "cpu": cpu - ready, "start_cpu": ready, "peak_rss_mb": rss}


def nested_input(count: int, files: int) -> Path:
    folder = DATA / f"nested-{count}-{files}"
    if not (folder / "_done").exists():
        from safetyrules.columnar.nested import write_nested_parquet

        print(f"writing {count:,} enterprises as nested Parquet in {files} files to {folder} (not timed) …", flush=True)
        tables = population(count, quiet=True)
        folder.mkdir(parents=True, exist_ok=True)
        per = -(-count // files)
        for i in range(files):
            write_nested_parquet(tables.slice(i * per, min(per, count - i * per)), folder / f"part-{i:03d}.parquet")
        (folder / "_done").write_text("")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--modes", default="single,chunked,dataframe,batch")
    args = parser.parse_args()
    source = nested_input(args.count, args.files)
    print(f"{args.count:,} enterprises (synth seed 7, tiled) in {args.files} nested Parquet files, as of {AS_OF}; "
          f"{psutil.cpu_count()} cores; {dt.datetime.now():%Y-%m-%d %H:%M}", flush=True)
    rows = []
    for mode in args.modes.split(","):
        out = DATA / f"spark-out-{args.count}-{mode}"
        if mode in ("single", "chunked"):
            r = child(SINGLE, str(source), str(out), "0" if mode == "single" else "50000", AS_OF)
            label = "single process, one call" if mode == "single" else "single process, chunks of 50,000"
        else:
            import shutil

            shutil.rmtree(out, ignore_errors=True)
            r = child(SPARK, args.master, mode, str(source), str(out), AS_OF)
            label = f"Spark {args.master}, {'DataFrame mode (mapInArrow)' if mode == 'dataframe' else 'batch mode'}"
        assert r["evaluated"] == args.count, r
        rows.append((label, r))
        print(f"{label}: run {r['run']:.1f} s wall ({args.count / r['run']:,.0f} enterprises/s), CPU of the process "
              f"tree {r['cpu']:.1f} s; start {r['start']:.1f} s wall, {r['start_cpu']:.1f} s CPU; peak RSS of the tree "
              f"{r['peak_rss_mb']:,.0f} MB", flush=True)
    print("\n| mode | run (wall) | enterprises/s | CPU of the run, whole tree | start (wall / CPU) | peak RSS, tree |")
    print("|---|---|---|---|---|---|")
    for label, r in rows:
        print(f"| {label} | {r['run']:.1f} s | {args.count / r['run']:,.0f} | {r['cpu']:.1f} s | "
              f"{r['start']:.1f} s / {r['start_cpu']:.1f} s | {r['peak_rss_mb']:,.0f} MB |")


if __name__ == "__main__":
    main()
