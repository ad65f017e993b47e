"""`safetyrules eval` gives the same town summary and the same outcomes with either engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from safetyrules.cli import cli

ROOT = Path(__file__).resolve().parents[2]


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


def test_whatif_reports_are_the_same_with_both_engines(tmp_path: Path) -> None:
    """Params, a rule switched off, a fact patch and an added rule, on two dates: the same JSON report."""
    town = (ROOT / "examples" / "town.jsonl").read_text(encoding="utf-8").splitlines()[:60]
    (tmp_path / "town.jsonl").write_text("\n".join(town) + "\n", encoding="utf-8")
    (tmp_path / "extra.policy").write_text(
        'obligation ppe_checked {\n  implements "x.1"\n  title zh "新规" en "New rule"\n'
        '  source "草案" "新增"\n  require ppe.worn\n  due continuous\n}\n', encoding="utf-8")
    (tmp_path / "s.yaml").write_text(
        "name: mixed\nfacts: town.jsonl\nas_of: [2021-12-31, 2022-06-30]\n"
        "params: {other_assessment_period: 2 years}\nrules_off: [reassessment_after_major_change]\n"
        "rules_add: [extra.policy]\npatches:\n  - where: {industry: [retail]}\n    set: {ppe.worn: false}\n",
        encoding="utf-8")

    def report(engine: str) -> object:
        result = CliRunner().invoke(cli, ["whatif", str(tmp_path / "s.yaml"), "--format", "json", "--engine", engine,
                                          "--out", str(tmp_path / engine)])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    reference = report("reference")
    assert any(d["changes"] for d in reference["dates"])  # type: ignore[index]
    assert report("columnar") == reference


def test_columnar_batches_give_the_same_outcomes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The columnar engine streams records in batches: batch boundaries change nothing (300 in batches of 7,
    and 40 in batches of 1: the property is the same, at a seventh of the kernel runs)."""
    import safetyrules.cli.evaluate as evaluate

    args = ("--engine", "columnar", "--format", "jsonl", "--no-explain", "--as-of", "2022-06-30")
    whole = sorted(_run(*args).splitlines())  # rule-major within each batch: the order of lines differs
    monkeypatch.setattr(evaluate, "COLUMNAR_BATCH", 7)
    assert sorted(_run(*args).splitlines()) == whole
    monkeypatch.setattr(evaluate, "COLUMNAR_BATCH", 1)
    forty = tmp_path / "forty.jsonl"
    forty.write_text("".join((ROOT / "examples" / "town.jsonl").read_text(encoding="utf-8").splitlines(True)[:40]),
                     encoding="utf-8")
    day = ("--facts", str(forty), "--as-of", "2022-06-30")
    assert _run("--engine", "columnar", *day) == _run("--engine", "reference", *day)
