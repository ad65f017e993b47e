"""A large JSON Lines file with 1% bad records: the bad ones are reported with their line, the rest evaluated
(columnar engine), and the exit status says records were rejected. The property is the same at 10,000 records
as at 100,000; the 100,000-record run is marked slow."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from safetyrules.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def _bad_every_hundredth(tmp_path: Path, count: int) -> None:
    town = [json.loads(line) for line in (ROOT / "examples" / "town.jsonl").read_text(encoding="utf-8").splitlines()]
    path = tmp_path / "big.jsonl"
    bad_lines = []
    with path.open("w", encoding="utf-8") as f:
        for i in range(count):
            if i % 100 == 99:
                bad_lines.append(i + 1)
                f.write(json.dumps({"id": f"BAD{i}", "employee_count": "many"}) + "\n")
            else:
                f.write(json.dumps(dict(town[i % len(town)], id=f"E{i:06d}"), ensure_ascii=False) + "\n")
    result = CliRunner().invoke(cli, ["eval", "--engine", "columnar", "--facts", str(path), "--as-of", "2022-12-31"])
    good, bad = count - len(bad_lines), len(bad_lines)
    assert result.exit_code == 3, result.output
    assert f"loaded {good}, rejected {bad}" in result.stderr
    rejected = re.findall(r"big\.jsonl:(\d+)", result.stderr)
    assert [int(n) for n in rejected] == bad_lines
    assert "employee_count" in result.stderr
    assert f"{good} enterprises" in result.stdout


def test_10k_records_with_1_percent_bad(tmp_path: Path) -> None:
    _bad_every_hundredth(tmp_path, 10_000)


@pytest.mark.slow
def test_100k_records_with_1_percent_bad(tmp_path: Path) -> None:
    _bad_every_hundredth(tmp_path, 100_000)


def test_parquet_tables_are_validated_and_bad_rows_reported(tmp_path: Path) -> None:
    """A Parquet folder goes through the columnar validation: bad enterprises are listed with their file,
    row and field, left out, and the rest evaluated (exit 3)."""
    import polars as pl

    from safetyrules.columnar import FactTables

    lines = (ROOT / "examples" / "town.jsonl").read_text(encoding="utf-8").splitlines()[:40]
    FactTables.from_records(json.loads(line) for line in lines).write_parquet(tmp_path / "town")
    path = tmp_path / "town" / "enterprises.parquet"
    frame = pl.read_parquet(path)
    frame.with_columns(pl.when(pl.col("_idx") == 3).then(-5).otherwise(pl.col("employee_count"))
                       .alias("employee_count")).write_parquet(path)
    result = CliRunner().invoke(cli, ["eval", "--engine", "columnar", "--facts", str(tmp_path / "town"),
                                      "--as-of", "2022-06-30", "--format", "jsonl", "--no-explain"])
    assert result.exit_code == 3, result.output
    assert f"{path}: row 3" in result.stderr and "employee_count" in result.stderr
    assert "loaded 39, rejected 1 enterprises" in result.stderr
    enterprises = {json.loads(line)["enterprise"] for line in result.stdout.splitlines()}
    assert len(enterprises) == 39 and json.loads(lines[3])["id"] not in enterprises
