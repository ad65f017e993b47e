"""`safetyrules --limit NAME=VALUE COMMAND`: a limit changed for one run reaches the readers it bounds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from safetyrules.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def _facts(tmp_path: Path) -> Path:
    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps({"id": "A", "internal_assessments": ["2021-01-15", "2022-01-14", "2022-06-01"]})
                    + "\n" + json.dumps({"id": "B", "internal_assessments": ["2021-01-15"]}) + "\n", encoding="utf-8")
    return path


def test_a_lower_limit_rejects_what_the_default_accepts(tmp_path: Path) -> None:
    facts = _facts(tmp_path)
    default = CliRunner().invoke(cli, ["eval", "--facts", str(facts), "--as-of", "2022-06-30"])
    assert default.exit_code == 0, default.output
    lowered = CliRunner().invoke(cli, ["--limit", "max_list_items=2", "eval", "--facts", str(facts),
                                       "--as-of", "2022-06-30"])
    assert lowered.exit_code == 3
    assert "f.jsonl:1" in lowered.stderr and "internal_assessments" in lowered.stderr
    assert "loaded 1, rejected 1" in lowered.stderr


def test_a_limit_reaches_the_policy_reader(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--limit", "max_document_bytes=100", "check", str(ROOT / "policies" / "annex4")])
    assert result.exit_code == 1
    assert "error[io]" in result.stdout + result.stderr


@pytest.mark.parametrize("pair", ["nope=3", "max_list_items=-1", "max_list_items=many", "max_list_items",
                                  "max_date=2100-12-31"])
def test_a_bad_limit_is_a_usage_error(pair: str) -> None:
    result = CliRunner().invoke(cli, ["--limit", pair, "eval"])
    assert result.exit_code == 2
    assert "--limit" in result.stderr
