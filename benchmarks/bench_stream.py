"""Throughput and memory of the monitor, against re-evaluating the touched enterprise after every event.

    .venv/bin/python benchmarks/bench_stream.py --enterprises 3000 --seed 2022          # ≥ 100,000 events
    .venv/bin/python benchmarks/bench_stream.py --enterprises 300 --modes reference baseline

Each mode runs in its own process (so that its peak memory is its own): it generates the same town's year
of events (`safetyrules.synth.generate_events`, not timed), then replays them and reports events per second
and the resident memory before the replay and at its peak (`ru_maxrss`). Modes:

* ``reference`` — `Monitor(policy)`, the reference backend, re-evaluation per enterprise and day;
* ``rete`` — `Monitor(policy, backend="rete")`;
* ``event`` — `Monitor(policy, flush="event")`: re-evaluation after every event;
* ``window`` — `Monitor(policy, reorder_window=30)`: events older than 30 days are folded into the records and
  forgotten (the event logs hold a month, not the stream);
The monitors print alerts to nowhere (`keep_alerts=False`, counted by an `on_alert` callback).

* ``baseline`` — the naive way: apply each event to its enterprise's record and evaluate that whole
  enterprise with the reference engine (`Policy.evaluate_record`); clock events do nothing, so deadlines that
  pass between events go unnoticed — the baseline does less than the monitor.

Every mode parses and validates each event. The report is one JSON object per mode, then a table; the
ratio to the baseline uses CPU time (`time.process_time`), which other processes on the machine disturb
less than wall-clock time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from safetyrules import load_policy
from safetyrules.stream.events import EnterpriseLog, EventType, Status, parse_event
from safetyrules.stream.monitor import Monitor
from safetyrules.synth import generate_events

MODES = ("reference", "rete", "event", "window", "baseline")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:  # pragma: no cover - not Linux
        return _rss_mb()


def run_mode(mode: str, enterprises: int, seed: int, limit: int | None) -> dict[str, Any]:
    """Replay the generated town in one mode; the measurements as a dict."""
    policy = load_policy()
    events = list(generate_events(enterprises, seed))
    if limit is not None:
        events = events[:limit]
    policy.engine()  # compile once, outside the timing
    before = _current_rss_mb()
    stats: dict[str, Any] = {}
    start = time.perf_counter()
    cpu_start = time.process_time()
    if mode == "baseline":
        logs: dict[str, EnterpriseLog] = {}
        evaluations = 0
        for seq, raw in enumerate(events):
            prep = parse_event(raw)
            if prep.type is EventType.CLOCK:
                continue
            log = logs.get(prep.enterprise)
            if log is None:
                log = logs[prep.enterprise] = EnterpriseLog(prep.enterprise)
            receipt, _, _ = log.add(prep, seq)
            if receipt.status is Status.APPLIED:
                policy.evaluate_record(log.record, prep.day)
                evaluations += 1
        stats = {"enterprise_evaluations": evaluations}
    else:
        kinds: Counter[str] = Counter()
        monitor = Monitor(policy, backend="rete" if mode == "rete" else "reference",
                          flush="event" if mode == "event" else "day",
                          on_alert=lambda a: kinds.update((str(a.kind),)), keep_alerts=False,
                          reorder_window=30 if mode == "window" else None)
        monitor.replay(events)
        stats = {**monitor.stats.to_json(), "findings": len(monitor.findings()), "alert_kinds": dict(kinds)}
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    return {"mode": mode, "events": len(events), "enterprises": enterprises, "seconds": round(seconds, 2),
            "events_per_second": round(len(events) / seconds), "cpu_seconds": round(cpu, 2),
            "events_per_cpu_second": round(len(events) / cpu), "rss_before_mb": round(before),
            "peak_rss_mb": round(_rss_mb()), **stats}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--limit", type=int, default=None, help="replay only the first N events")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_mode(args.child, args.enterprises, args.seed, args.limit)))
        return 0
    rows = []
    for mode in args.modes:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--enterprises",
               str(args.enterprises), "--seed", str(args.seed)]
        if args.limit is not None:
            cmd += ["--limit", str(args.limit)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"{mode}: failed\n{done.stderr}", file=sys.stderr)
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(json.dumps(row), flush=True)
    base = next((r for r in rows if r["mode"] == "baseline"), None)
    print(f"\n{'mode':10s} {'events':>8s} {'seconds':>8s} {'events/s':>9s} {'CPU s':>8s} {'events/CPU s':>12s} "
          f"{'x baseline':>10s} {'peak MB':>8s}")
    for r in rows:
        ratio = f"{r['events_per_cpu_second'] / base['events_per_cpu_second']:.1f}" if base else "-"
        print(f"{r['mode']:10s} {r['events']:8d} {r['seconds']:8.1f} {r['events_per_second']:9d} "
              f"{r['cpu_seconds']:8.1f} {r['events_per_cpu_second']:12d} {ratio:>10s} {r['peak_rss_mb']:8d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
