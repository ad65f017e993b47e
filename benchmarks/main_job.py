"""The README's main job, `safetyrules eval` (bundled seed policy over the bundled town of 300), end to end.

    .venv/bin/python benchmarks/main_job.py [--runs 9] [--importtime 12]

Each run is a fresh process (`.venv/bin/safetyrules eval`, stdout captured): wall time (median, min, max) and
CPU time (user + system, from `resource.getrusage(RUSAGE_CHILDREN)` around the run); the output is asserted the
same in every run. Beside it, in fresh processes too: the interpreter's own start (`python -c pass`), the import
of the CLI (`python -c "from safetyrules.cli import main"`, the console script's first line), and
`python -X importtime` of that import: its time per top-level package (the self times of its modules) and the
heaviest modules of safetyrules. The issue's target: the main job under 1.5 s wall on an idle machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PYTHON = BIN / "python"
IMPORT = "from safetyrules.cli import main"


def timed(cmd: list[str], runs: int) -> tuple[list[float], list[float], set[bytes]]:
    """Wall and CPU seconds of `runs` fresh processes, and their distinct outputs."""
    walls, cpus, outputs = [], [], set()
    env = {**os.environ, "COLUMNS": "200"}  # the same table width whatever the terminal
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, cwd=ROOT, env=env, check=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        outputs.add(done.stdout)
    return walls, cpus, outputs


def report(label: str, walls: list[float], cpus: list[float]) -> None:
    print(f"  {label:<46} wall median {statistics.median(walls) * 1000:7.0f} ms "
          f"(min {min(walls) * 1000:5.0f}, max {max(walls) * 1000:5.0f})   "
          f"CPU median {statistics.median(cpus) * 1000:7.0f} ms", flush=True)


def importtime(runs: int) -> tuple[dict[str, float], dict[str, float]]:
    """The import time (ms) of the CLI per top-level package (the self times of its modules summed; the sum
    over packages is the whole import) and per module, medians over runs."""
    samples: dict[str, list[float]] = {}
    modules: dict[str, list[float]] = {}
    for _ in range(runs):
        done = subprocess.run([str(PYTHON), "-X", "importtime", "-c", IMPORT], capture_output=True, text=True,
                              cwd=ROOT, check=True)
        totals: dict[str, float] = {}
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "cumulative" in line:
                continue
            own, _cumulative, name = line.partition(":")[2].split("|")
            package = name.strip().split(".")[0]
            modules.setdefault(name.strip(), []).append(int(own) / 1000)
            totals[package] = totals.get(package, 0.0) + int(own) / 1000
        for package, ms in totals.items():
            samples.setdefault(package, []).append(ms)
    return ({name: statistics.median(values) for name, values in samples.items()},
            {name: statistics.median(values) for name, values in modules.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--importtime", type=int, default=12, help="runs of python -X importtime")
    args = parser.parse_args()
    print(f"{args.runs} fresh processes each; load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")

    report("python -c pass", *timed([str(PYTHON), "-c", "pass"], args.runs)[:2])
    report(f'python -c "{IMPORT}"', *timed([str(PYTHON), "-c", IMPORT], args.runs)[:2])
    walls, cpus, outputs = timed([str(BIN / "safetyrules"), "eval"], args.runs)
    assert len(outputs) == 1, f"the output differs between runs ({len(outputs)} versions)"
    report("safetyrules eval (the main job)", walls, cpus)
    verdict = "met" if statistics.median(walls) < 1.5 else "missed"
    print(f"  target: under 1.5 s wall → {verdict} ({statistics.median(walls):.2f} s median); "
          f"output {len(next(iter(outputs))):,} bytes, the same in every run")

    packages, modules = importtime(args.importtime)
    print(f"\n-X importtime of `{IMPORT}`, self time per top-level package (median of {args.importtime}):")
    for name, ms in sorted(packages.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {name:<28} {ms:7.1f} ms")
    print(f"  (the sum over all packages: {sum(packages.values()):.0f} ms)")
    print("the heaviest modules of safetyrules (self time):")
    ours = {name: ms for name, ms in modules.items() if name.split(".")[0] == "safetyrules"}
    for name, ms in sorted(ours.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {name:<40} {ms:7.1f} ms")
    if sys.flags.dev_mode:  # pragma: no cover
        print("note: -X dev is on")


if __name__ == "__main__":
    main()
