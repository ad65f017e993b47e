"""A 100,000-record JSON Lines file with 1% bad records: the bad ones are reported with their line, the rest
evaluated (columnar engine, so that this runs in CI time), and the exit status says records were rejected."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from safetyrules.cli import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_100k_records_with_1_percent_bad(tmp_path: Path) -> None:
    town = [json.loads(line) for line in (ROOT / "examples" / "town.jsonl").read_text(encoding="utf-8").splitlines()]
    path = tmp_path / "big.jsonl"
    bad_lines = []
    with path.open("w", encoding="utf-8") as f:
        for i in range(100_000):
            if i % 100 == 99:
                bad_lines.append(i + 1)
                f.write(json.dumps({"id": f"BAD{i}", "employee_count": "many"}) + "\n")
            else:
                f.write(json.dumps(dict(town[i % len(town)], id=f"E{i:06d}"), ensure_ascii=False) + "\n")
    result = CliRunner().invoke(cli, ["eval", "--engine", "columnar", "--facts", str(path), "--as-of", "2022-12-31"])
    assert result.exit_code == 3, result.output
    assert "loaded 99000, rejected 1000" in result.stderr
    rejected = re.findall(r"big\.jsonl:(\d+)", result.stderr)
    assert [int(n) for n in rejected] == bad_lines
    assert "employee_count" in result.stderr
    assert "99000 enterprises" in result.stdout
