"""`safetyrules monitor`: replay a file of events, print alerts as text or JSON Lines, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from safetyrules.cli.stream import monitor_command

from .conftest import ev, needs_durable

EVENTS = [
    ev("E1", "enterprise_updated", "2022-01-03", {"industry": "construction", "hazards": [], "accidents": []}),
    ev("E1", "hazard_found", "2022-03-01", {"id": "H1", "major": True, "cause": "illegal_command"}),
    ev(None, "clock", "2022-03-10"),
    ev("E1", "accident_occurred", "2022-04-01T10:00:00+08:00", {"id": "A1"}),
    ev("E1", "accident_reported", "2022-04-01T13:00:00+08:00", {"accident_id": "A1"}),
    ev("E1", "hazard_reported", "2022-12-01", {"hazard_id": "H1"}),
]


def write(tmp_path: Path, events: list[dict[str, Any]], extra: str = "") -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events) + extra, encoding="utf-8")
    return path


def test_text_alerts(tmp_path: Path) -> None:
    result = CliRunner().invoke(monitor_command, ["--events", str(write(tmp_path, EVENTS)), "--until", "2022-06-30"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    head = next(line for line in lines if "[4.2-a]" in line and "violated" in line)
    assert head.startswith("2022-03-03") and "E1" in head
    assert "重大事故隐患及时向负有监管职责的部门报告" in head  # the obligation by its title …
    assert not any("major_hazard_reported" in line for line in lines)  # … not its rule name
    at = lines.index(head)
    assert lines[at + 1].strip().startswith("违反 4.2-a") and lines[at + 2].strip().startswith("Violated 4.2-a")
    assert any("[5.2-t7]" in line and "triggered" in line for line in lines)
    assert not any(line.startswith("2022-12") for line in lines)  # --until stops the replay
    assert '"today": "2022-06-30"' in result.stderr


def test_jsonl_alerts(tmp_path: Path) -> None:
    result = CliRunner().invoke(monitor_command, ["--events", str(write(tmp_path, EVENTS)), "--format", "jsonl",
                                                  "--alert-days", "0"])
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = {(a["rule"], a["kind"]) for a in alerts}
    assert ("illegal_command_major_hazard", "triggered") in kinds
    assert ("major_hazard_reported", "violated") in kinds
    assert all(a["message"]["zh"] and a["message"]["en"] for a in alerts)
    assert [a["day"] for a in alerts] == sorted(a["day"] for a in alerts)


def test_refused_events_are_reported_and_set_the_exit_code(tmp_path: Path) -> None:
    bad = [*EVENTS, ev("E1", "hazard_reported", "2022-12-02", {"hazard_id": "H9"})]
    result = CliRunner().invoke(monitor_command, ["--events", str(write(tmp_path, bad, "not json\n"))])
    assert result.exit_code == 3
    assert "events.jsonl:7: hazards: no hazard with id 'H9'" in result.stderr
    assert "events.jsonl:8: not JSON" in result.stderr


def test_usage_errors(tmp_path: Path) -> None:
    path = str(write(tmp_path, EVENTS))
    assert CliRunner().invoke(monitor_command, ["--events", path, "--until", "June"]).exit_code == 2
    assert CliRunner().invoke(monitor_command, ["--events", path, "--backend", "drools"]).exit_code == 2
    assert CliRunner().invoke(monitor_command, []).exit_code == 2


@needs_durable
@pytest.mark.timeout(60)
def test_the_rete_backend_prints_the_same_alerts(tmp_path: Path) -> None:
    path = str(write(tmp_path, EVENTS))
    reference = CliRunner().invoke(monitor_command, ["--events", path, "--format", "jsonl"])
    rete = CliRunner().invoke(monitor_command, ["--events", path, "--format", "jsonl", "--backend", "rete"])
    assert rete.exit_code == reference.exit_code == 0
    key = lambda a: (a["day"], a["enterprise"], a["rule"], a["kind"], a["event"])  # noqa: E731
    assert sorted(map(key, map(json.loads, rete.stdout.splitlines()))) == \
        sorted(map(key, map(json.loads, reference.stdout.splitlines())))


def test_events_from_stdin() -> None:
    text = "".join(json.dumps(e) + "\n" for e in EVENTS)
    result = CliRunner().invoke(monitor_command, ["--events", "-", "--format", "jsonl"], input=text)
    assert result.exit_code == 0, result.output
    assert any(json.loads(line)["rule"] == "major_hazard_reported" for line in result.stdout.splitlines())


def test_registered_in_the_main_command_and_importable_first(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import safetyrules.cli.stream, safetyrules.cli"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr  # no import cycle with the CLI group that registers it
    from safetyrules.cli import cli

    result = CliRunner().invoke(cli, ["monitor", "--events", str(write(tmp_path, EVENTS)), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()
