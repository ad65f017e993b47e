"""The monitor's benchmark (benchmarks/bench_stream.py) still runs from its new place: a tiny town, two modes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_stream.py"


@pytest.mark.timeout(180)
def test_the_stream_benchmark_runs() -> None:
    done = subprocess.run([sys.executable, str(BENCH), "--enterprises", "2", "--seed", "1", "--limit", "300",
                           "--modes", "reference", "baseline"], capture_output=True, text=True, timeout=170,
                          check=False)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [r["mode"] for r in rows] == ["reference", "baseline"], done.stdout + done.stderr
    assert all(r["events"] == 300 and r["enterprises"] == 2 for r in rows)
    assert rows[0]["findings"] >= 0 and rows[1]["enterprise_evaluations"] > 0
