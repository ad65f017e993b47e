"""`safetyrules eval` gives the same town summary and the same outcomes with either engine."""

from __future__ import annotations

import json

from click.testing import CliRunner

from safetyrules.cli import cli


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, ["eval", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_summary_is_the_same_with_both_engines() -> None:
    assert _run("--engine", "reference") == _run("--engine", "columnar")


def test_jsonl_outcomes_are_the_same_with_both_engines() -> None:
    keys = ("enterprise", "rule", "outcome", "due_on", "days_overdue", "days_remaining", "listed_until")

    def rows(engine: str) -> set[tuple[object, ...]]:
        lines = _run("--engine", engine, "--format", "jsonl", "--no-explain", "--as-of", "2022-06-30").splitlines()
        return {tuple(json.loads(line)[k] for k in keys) for line in lines}

    reference, columnar = rows("reference"), rows("columnar")
    assert len(reference) == 300 * 41
    assert reference == columnar
