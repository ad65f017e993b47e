"""The `explain` hint under `eval`'s summary names facts that `explain` can read.

`explain` reads a facts file (JSON Lines, JSON, CSV, Excel), not a folder of Parquet tables: after `eval` on a
folder the hint asks for the file the tables were made from; after `eval` on a file it names that file, and
the command it gives runs.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from safetyrules.cli import cli

pytest.importorskip("polars")

DAY = "2022-06-30"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture()
def town(tmp_path: Path) -> tuple[Path, Path]:
    """The same five enterprises as a JSON Lines file and as a folder of Parquet tables."""
    from safetyrules.columnar import FactTables
    from safetyrules.synth import generate

    records = list(generate(5, seed=1))
    jsonl = tmp_path / "town.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    folder = tmp_path / "town"
    FactTables.from_records(records).write_parquet(folder)
    return jsonl, folder


def _hint(output: str) -> str:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("详情 Details: safetyrules explain"))
    return "\n".join(lines[start:])


def test_a_parquet_folder_is_not_offered_to_explain(town: tuple[Path, Path]) -> None:
    _, folder = town
    result = invoke("eval", "--facts", str(folder), "--as-of", DAY)
    assert result.exit_code == 0, result.output
    hint = _hint(result.stdout)
    assert str(folder) not in hint
    assert "--facts FILE" in hint and "Parquet" in hint and ".jsonl" in hint
    # the folder is indeed refused by explain: the hint must not suggest it
    refused = invoke("explain", "--facts", str(folder), "--enterprise", "X", "--as-of", DAY)
    assert refused.exit_code == 3


@pytest.mark.parametrize("engine", ["reference", "columnar"])
def test_a_facts_file_is_named_and_the_hint_runs(town: tuple[Path, Path], engine: str) -> None:
    jsonl, _ = town
    result = invoke("eval", "--facts", str(jsonl), "--as-of", DAY, "--engine", engine)
    assert result.exit_code == 0, result.output
    hint = _hint(result.stdout)
    assert f"--facts {jsonl}" in hint and "Parquet" not in hint
    enterprise = json.loads(jsonl.read_text(encoding="utf-8").splitlines()[0])["id"]
    command = re.sub(r" \[--rule RULE\]", "", hint.removeprefix("详情 Details: safetyrules ")).replace("ID", enterprise)
    explained = invoke(*shlex.split(command))
    assert explained.exit_code == 0, explained.output
    assert enterprise in explained.stdout


@pytest.mark.parametrize("engine", ["compiled", "columnar"])
def test_the_hint_carries_the_param_overrides(town: tuple[Path, Path], engine: str) -> None:
    """explain then shows the outcomes eval counted, not those of the default params."""
    jsonl, _ = town
    params = ["--param", "other_assessment_period=1 day", "--param", "high_risk_industries=[retail, mining]"]
    result = invoke("eval", "--facts", str(jsonl), "--as-of", DAY, "--engine", engine, *params)
    assert result.exit_code == 0, result.output
    hint = _hint(result.stdout)
    assert "--param 'other_assessment_period=1 day'" in hint
    assert "high_risk_industries=[" in hint and "retail" in hint and "mining" in hint
    enterprise = json.loads(jsonl.read_text(encoding="utf-8").splitlines()[0])["id"]
    command = re.sub(r" \[--rule RULE\]", "", hint.removeprefix("详情 Details: safetyrules ")).replace("ID", enterprise)
    explained = invoke(*shlex.split(command), "--format", "json")
    assert explained.exit_code == 0, explained.output
    assert json.loads(explained.stdout)["provenance"]["params"]["other_assessment_period"] == "1 day"
