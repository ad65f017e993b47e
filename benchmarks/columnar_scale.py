"""The columnar engine at scale: the full seed policy over a million enterprises (the targets of
docs/performance.md).

    .venv/bin/python benchmarks/columnar_scale.py [--count 1000000] [--repeat 3]

Population: the 100,000 enterprises of benchmarks/population.py (synth, seed 7) tiled to `--count`, ids made
unique per copy. Measured, each in a fresh child process where it matters (cold start, peak memory):

- policy load: parse, check and compile the seed policy (imports excluded, reported apart), median;
- evaluation: `ColumnarProgram.run` (as-of view, every rule, the long result frame), median of `--repeat`;
- end to end from Parquet: read and validate the tables (`columnar.validate`), evaluate, write the long
  results to Parquet — wall time and the child's peak resident memory;
- what-if: a base evaluation and one with a param changed (the scenario re-runs only the rules that read
  it, and their readers, reusing the base's as-of view and outputs), and the changed outcomes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from population import DATA, population, write_population

AS_OF = "2022-06-30"
PYTHON = sys.executable

LOAD = """
import json, time
t0 = time.perf_counter()
import polars
from safetyrules import load_policy
from safetyrules.columnar import compile_policy
t1 = time.perf_counter()
policy = load_policy()
t2 = time.perf_counter()
program = compile_policy(policy.program)
t3 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "parse_check": t2 - t1, "compile": t3 - t2}))
"""

END_TO_END = """
import datetime as dt, json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from safetyrules import load_policy
from safetyrules.columnar import compile_policy
from safetyrules.columnar.validate import read_parquet_validated
t1 = time.perf_counter()
program = compile_policy(load_policy().program)
checked = read_parquet_validated(sys.argv[1])
t2 = time.perf_counter()
results = program.run(checked.tables, dt.date.fromisoformat(sys.argv[2]))
t3 = time.perf_counter()
out = Path(sys.argv[3])
results.write_parquet(out / "results.parquet")
checked.rejected.write_parquet(out / "rejected.parquet")
t4 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "read_validate": t2 - t1, "evaluate": t3 - t2, "write": t4 - t3,
                  "total": t4 - t1, "rows": results.height, "enterprises": len(checked.tables),
                  "rejected": checked.rejected.height,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

EVALUATE = """
import datetime as dt, json, resource, statistics, sys, time
sys.path.insert(0, sys.argv[1])
from population import population
from safetyrules import load_policy
from safetyrules.columnar import compile_policy
from safetyrules.columnar.whatif import whatif_population
from safetyrules.engine.values import Duration
tables = population(int(sys.argv[2]), quiet=True)
day = dt.date.fromisoformat(sys.argv[3])
repeat = int(sys.argv[4])
program = compile_policy(load_policy().program)
times, cpu = [], []
for _ in range(repeat):
    c0, t0 = time.process_time(), time.perf_counter()
    results = program.run(tables, day)
    times.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)
    del results
out = {"evaluate": times, "evaluate_cpu": cpu, "rows": len(tables) * len(program.declared)}
whatif = {}
for name, params in (("other_assessment_period = 2 years", {"other_assessment_period": Duration(months=24)}),
                     ("high_risk_industries += retail", {"high_risk_industries": frozenset(
                         program.params.value("high_risk_industries", day)) | {"retail"}})):
    t0 = time.perf_counter()
    base = program.evaluate(tables, day)
    base_results = base.results()
    t1 = time.perf_counter()
    result = whatif_population(program, tables, day, params, base=base)
    changes = result.changes()
    scenario_results = result.scenario.results()
    t2 = time.perf_counter()
    whatif[name] = {"base": t1 - t0, "scenario": t2 - t1, "rerun": sorted(result.rerun),
                    "changes": changes.height}
    del base, base_results, result, changes, scenario_results
out["whatif"] = whatif
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def child(code: str, *args: str) -> dict[str, Any]:
    done = subprocess.run([PYTHON, "-c", code, *args], capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    print(f"{args.count:,} enterprises (synth seed 7, 100,000 tiled), as of {AS_OF}; "
          f"machine: {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores", flush=True)

    loads = [child(LOAD) for _ in range(args.loads)]
    load = statistics.median(x["parse_check"] + x["compile"] for x in loads)
    print(f"policy load (parse + check + compile): median {1000 * load:.0f} ms of {args.loads} fresh processes "
          f"(parse + check {1000 * statistics.median(x['parse_check'] for x in loads):.0f} ms, compile "
          f"{1000 * statistics.median(x['compile'] for x in loads):.1f} ms; imports "
          f"{1000 * statistics.median(x['imports'] for x in loads):.0f} ms apart)  target < 300 ms", flush=True)

    ev = child(EVALUATE, str(Path(__file__).parent), str(args.count), AS_OF, str(args.repeat))
    t = statistics.median(ev["evaluate"])
    print(f"evaluation: median {t:.2f} s of {args.repeat} (runs {', '.join(f'{x:.2f}' for x in ev['evaluate'])} s; "
          f"cpu {', '.join(f'{x:.2f}' for x in ev['evaluate_cpu'])} s), {args.count / t:,.0f} enterprises/s, "
          f"{ev['rows']:,} result rows  target < 10 s", flush=True)
    for name, w in ev["whatif"].items():
        print(f"what-if ({name}): base {w['base']:.2f} s + scenario {w['scenario']:.2f} s = "
              f"{w['base'] + w['scenario']:.2f} s = {(w['base'] + w['scenario']) / t:.2f} x one evaluation "
              f"(target < 2 x); {len(w['rerun'])} rules re-run, {w['changes']:,} changed outcomes", flush=True)
    print(f"  peak RSS of the evaluation process: {ev['peak_rss_mb']:,.0f} MB", flush=True)

    folder = DATA / f"tiled-{args.count}"
    if not (folder / "enterprises.parquet").exists():
        print(f"writing the population to {folder} (not timed) …", flush=True)
        write_population(population(args.count, quiet=True), folder.name)
    out = DATA / f"results-{args.count}"
    out.mkdir(parents=True, exist_ok=True)
    e2e = child(END_TO_END, str(folder), AS_OF, str(out))
    print(f"end to end from Parquet: {e2e['total']:.2f} s (read + validate {e2e['read_validate']:.2f} s, evaluate "
          f"{e2e['evaluate']:.2f} s, write {e2e['write']:.2f} s; imports {e2e['imports']:.2f} s apart), "
          f"{e2e['enterprises']:,} enterprises, {e2e['rejected']} rejected, {e2e['rows']:,} rows  target < 30 s",
          flush=True)
    print(f"  peak RSS of the end-to-end process: {e2e['peak_rss_mb']:,.0f} MB  target < 6,144 MB", flush=True)
    print(f"this process: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB "
          f"({dt.datetime.now():%Y-%m-%d %H:%M})")


if __name__ == "__main__":
    main()
