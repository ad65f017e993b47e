"""Fact tables: records survive the round trip (absent vs null kept), Parquet too, and the as-of view
over tables equals `facts.as_of_view` record by record."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings

from safetyrules.api import fact_record
from safetyrules.columnar import FactTables
from safetyrules.columnar.asof import as_of_tables
from safetyrules.columnar.tables import IDX, UNK, schema
from safetyrules.facts.as_of import as_of_view

from .strategies import dates, population

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])


def _records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [fact_record(r) for r in records]


@SETTINGS
@given(records=population())
def test_round_trip_keeps_absent_and_null(records: list[dict[str, Any]]) -> None:
    recs = _records(records)
    assert list(FactTables.from_records(recs).to_records()) == recs


@SETTINGS
@given(records=population(), as_of=dates())
def test_as_of_view_matches_the_contract(records: list[dict[str, Any]], as_of: dt.date) -> None:
    recs = _records(records)
    view = list(as_of_tables(FactTables.from_records(recs), as_of).to_records())
    assert view == [as_of_view(r, as_of) for r in recs]


def test_parquet_round_trip(tmp_path: Path) -> None:
    from safetyrules.synth import generate

    recs = _records(list(generate(50, seed=4)))
    tables = FactTables.from_records(recs)
    tables.write_parquet(tmp_path / "town")
    back = FactTables.read_parquet(tmp_path / "town")
    assert back.enterprises.equals(tables.enterprises)
    for name, frame in tables.children.items():
        assert back.children[name].equals(frame), name
    assert list(back.to_records()) == recs


def test_parquet_missing_columns_are_unknown(tmp_path: Path) -> None:
    folder = tmp_path / "thin"
    folder.mkdir()
    pl.DataFrame({IDX: pl.Series([0, 1], dtype=pl.UInt32), "id": ["A", "B"], "id" + UNK: [False, False]}) \
        .write_parquet(folder / "enterprises.parquet")
    back = FactTables.read_parquet(folder)
    assert list(back.to_records()) == [{"id": "A"}, {"id": "B"}]
    assert set(back.children) == set(schema().child_names())


def test_batches_are_renumbered() -> None:
    from safetyrules.synth import generate

    recs = _records(list(generate(30, seed=9)))
    tables = FactTables.from_records(recs)
    parts = [tables.slice(0, 10), tables.slice(10, 20)]
    assert list(parts[1].to_records()) == recs[10:]
    assert list(FactTables.concat(parts).to_records()) == recs
