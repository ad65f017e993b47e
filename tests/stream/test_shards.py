"""The monitor sharded over processes gives the alerts, refusals and counters of one monitor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from safetyrules import load_policy
from safetyrules.cli import cli
from safetyrules.stream.monitor import Monitor, Refusal
from safetyrules.stream.shards import ShardedMonitor, shard_of
from safetyrules.synth import generate_events

pytestmark = pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="shards fork their processes")


def _events(tmp_path: Path, count: int = 40) -> Path:
    events = list(generate_events(count, 7, disorder=0.05, duplicates=0.02))
    lines = [json.dumps(e, ensure_ascii=False, default=str) for e in events]
    lines.insert(5, "{not json")
    lines.insert(50, json.dumps({"type": "hazard_found", "enterprise": "X", "timestamp": "2022-01-01"}))
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(path: Path, *extra: str) -> tuple[list[str], dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["monitor", "--events", str(path), "--format", "jsonl", *extra])
    assert result.exit_code in (0, 3), result.output
    lines = result.stdout.splitlines()
    summary = next(line for line in result.stderr.splitlines() if line.startswith("monitor: "))
    stats = json.loads(summary.removeprefix("monitor: "))
    stats.pop("seconds")
    refusals = "\n".join(sorted(line for line in result.stderr.splitlines() if not line.startswith("monitor: ")))
    return sorted(lines), stats, refusals


@pytest.mark.parametrize("window", [None, "20"])
def test_sharded_alerts_refusals_and_counters_are_those_of_one_monitor(tmp_path: Path, window: str | None) -> None:
    path = _events(tmp_path)
    extra = ("--reorder-window", window) if window else ()
    one = _run(path, *extra)
    three = _run(path, "--shards", "3", *extra)
    assert one[0], "the stream raises alerts"
    assert one == three
    assert one[1]["refused"] >= 1 and "refused" in one[2]  # the malformed lines are reported in both


def test_the_library_sharded_monitor(tmp_path: Path) -> None:
    policy = load_policy()
    events = list(generate_events(30, 3))
    single = Monitor(policy)
    single.replay(events)
    want = sorted(json.dumps(a.to_json(), ensure_ascii=False) for a in single.alerts())
    got: list[str] = []
    refused: list[Refusal] = []
    sharded = ShardedMonitor(policy, 2, lambda a: json.dumps(a.to_json(), ensure_ascii=False),
                             lambda kind, text: got.append(text), refused.append)
    from safetyrules.stream.events import parse_event

    for i, e in enumerate(events):
        sharded.post(parse_event(e), i)
    stats = sharded.finish()
    assert sorted(got) == want and want
    assert (stats.events, stats.applied, stats.alerts) == (single.stats.events, single.stats.applied,
                                                           single.stats.alerts)
    assert refused == []


def test_shards_are_stable_and_spread() -> None:
    ids = [f"9135{i:014d}" for i in range(1000)]
    counts = [sum(shard_of(i, 4) == s for i in ids) for s in range(4)]
    assert all(200 <= c <= 300 for c in counts)
    assert shard_of("913505257967848315", 4) == shard_of("913505257967848315", 4)


def test_one_shard_is_refused_and_rete_is_not_sharded(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="2 shards"):
        ShardedMonitor(load_policy(), 1, str, lambda k, t: None, lambda r: None)
    result = CliRunner().invoke(cli, ["monitor", "--events", str(_events(tmp_path, 5)), "--shards", "2",
                                      "--backend", "rete"])
    assert result.exit_code == 2 and "reference backend only" in result.stderr
