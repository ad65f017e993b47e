"""An instant recorded with any offset is converted to the facts' local time (+08:00) when a record is read, so
its date is the local day: an accident at 2023-09-30T20:00Z happened on 2023-10-01 in Yongchun — for the
as-of view, the rules, both engines, and Parquet tables alike."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from safetyrules import load_policy
from safetyrules.cli import cli
from safetyrules.facts.models import LOCAL_TIMEZONE, Enterprise

ACCIDENT = {"id": "E1", "industry": "construction",
            "accidents": [{"id": "A1", "occurred_at": "2023-09-30T20:00:00Z", "reported_at": None,
                           "severity": "general"}]}


def test_the_seed_policy_declares_the_same_local_time() -> None:
    schema = load_policy().checked.schema
    assert schema is not None and schema.root.timezone == LOCAL_TIMEZONE


def test_an_instant_is_read_in_local_time() -> None:
    accident = Enterprise.model_validate(ACCIDENT).accidents[0]  # type: ignore[index]
    assert accident.occurred_at == dt.datetime(2023, 10, 1, 4, tzinfo=LOCAL_TIMEZONE)
    assert accident.occurred_at.date() == dt.date(2023, 10, 1)


@pytest.mark.parametrize(("day", "present"), [(dt.date(2023, 9, 30), False), (dt.date(2023, 10, 1), True)])
def test_the_accident_happened_on_the_local_day(day: dt.date, present: bool) -> None:
    result = load_policy().evaluate(ACCIDENT, day)
    # the accident rules report one event per accident on record as of the day
    seen = [e for r in result.results for e in r.events if e.path.startswith("accidents")]
    assert bool(seen) is present


def _outcomes(tmp_path: Path, facts: str, engine: str, day: str) -> dict[tuple[str, str], str]:
    result = CliRunner().invoke(cli, ["eval", "--facts", facts, "--engine", engine, "--as-of", day, "--format",
                                      "jsonl", "--no-explain"])
    assert result.exit_code == 0, result.output
    return {(r["enterprise"], r["rule"]): r["outcome"] for r in map(json.loads, result.stdout.splitlines())}


@pytest.mark.parametrize("day", ["2023-09-30", "2023-10-01"])
def test_both_engines_and_parquet_take_the_local_day(tmp_path: Path, day: str) -> None:
    from safetyrules.columnar import FactTables

    jsonl = tmp_path / "f.jsonl"
    jsonl.write_text(json.dumps(ACCIDENT) + "\n", encoding="utf-8")
    reference = _outcomes(tmp_path, str(jsonl), "reference", day)
    assert _outcomes(tmp_path, str(jsonl), "columnar", day) == reference
    # Parquet tables written from the raw record keep the offset Z: validation converts it like the loaders
    FactTables.from_records([ACCIDENT]).write_parquet(tmp_path / "tables")
    assert _outcomes(tmp_path, str(tmp_path / "tables"), "columnar", day) == reference
