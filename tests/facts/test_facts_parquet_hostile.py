"""Hostile Parquet folders: row keys shared by two enterprises, child rows of no enterprise, dates a Python date
cannot hold, integers beyond the limit, blank ids — each rejected with its table and row; the rest evaluated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from safetyrules.columnar import FactTables
from safetyrules.columnar.tables import IDX, ROOT
from safetyrules.columnar.validate import read_parquet_validated, validate_frames
from safetyrules.facts import FactsFileError
from safetyrules.limits import DEFAULT, Limits

RECORDS: list[dict[str, Any]] = [
    {"id": f"E{i}", "employee_count": i, "established_on": f"20{10 + i}-01-01",
     "staff": [{"id": f"S{i}-{k}"} for k in range(2)], "hazards": [{"id": f"H{i}", "found_on": "2022-01-01"}]}
    for i in range(5)
]


def frames() -> dict[str, pl.DataFrame]:
    tables = FactTables.from_records(RECORDS)
    return {ROOT: tables.enterprises, **tables.children}


def _set(frame: pl.DataFrame, row: int, column: str, value: Any, dtype: Any = None) -> pl.DataFrame:
    series = frame.get_column(column)
    if dtype is not None:
        series = series.cast(dtype)
    return frame.with_columns(series.scatter(row, value).alias(column))


def accepted_ids(frames_: dict[str, pl.DataFrame], limits: Limits = DEFAULT) -> tuple[list[str], pl.DataFrame, int]:
    checked = validate_frames(frames_, limits)
    return [r["id"] for r in checked.tables.to_records()], checked.rejected, checked.inputs_rejected


def test_a_shared_row_key_rejects_every_row_sharing_it_and_lends_no_list_rows() -> None:
    raw = frames()
    raw[ROOT] = _set(raw[ROOT], 1, IDX, 0)
    ids, rejected, count = accepted_ids(raw)
    assert ids == ["E2", "E3", "E4"]
    assert rejected.filter(pl.col("code") == "duplicate_idx")["row"].to_list() == [0, 1]
    # the rows of E1 (key 1) now belong to no enterprise: rejected too, and counted
    assert set(rejected.filter(pl.col("code") == "orphan_row")["table"].to_list()) == {"staff", "hazards"}
    assert count == 2 + 3  # two enterprises, three rows of no enterprise
    records = validate_frames(raw).tables.to_records()
    assert [len(r["staff"]) for r in records] == [2, 2, 2]


def test_child_rows_of_no_enterprise_count_as_rejected() -> None:
    raw = frames()
    raw["staff"] = pl.concat([raw["staff"], raw["staff"].head(1).with_columns(pl.lit(77, dtype=pl.UInt32).alias(IDX))])
    checked = validate_frames(raw)
    assert checked.enterprises_rejected == 0 and checked.rows_rejected == 1 and checked.inputs_rejected == 1
    assert "1 rows of no enterprise" in checked.summary()


@pytest.mark.parametrize("year", [10_000, 22_011, -5])
def test_dates_outside_the_calendar_reject_the_row(year: int) -> None:
    raw = frames()
    raw[ROOT] = raw[ROOT].with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(pl.date(year, 1, 1)).otherwise(pl.col("established_on"))
        .alias("established_on"))
    ids, rejected, _ = accepted_ids(raw)
    assert ids == ["E0", "E1", "E3", "E4"]
    (problem,) = rejected.iter_rows(named=True)
    assert (problem["row"], problem["field"], problem["code"]) == (2, "established_on", "date_range")


@pytest.mark.parametrize("value", [DEFAULT.max_int + 1, 2**62, 2**63 - 1, -(2**63)])
def test_integers_beyond_the_limit_reject_the_row(value: int) -> None:
    raw = frames()
    raw[ROOT] = _set(raw[ROOT], 3, "employee_count", value, pl.Int64)
    ids, rejected, _ = accepted_ids(raw)
    assert ids == ["E0", "E1", "E2", "E4"]
    assert "int_limit" in rejected["code"].to_list()  # (and out_of_range for a negative count)
    assert accepted_ids(raw, Limits(max_int=2**63))[0] == ["E0", "E1", "E2", "E3", "E4"] or value < 0


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_ids_are_missing_ids(blank: str) -> None:
    raw = frames()
    raw[ROOT] = _set(raw[ROOT], 0, "id", blank)
    ids, rejected, _ = accepted_ids(raw)
    assert ids == ["E1", "E2", "E3", "E4"] and rejected["code"].to_list() == ["missing_id"]


def test_a_folder_with_every_problem_still_evaluates_the_good_rows(tmp_path: Path) -> None:
    raw = frames()
    raw[ROOT] = _set(_set(raw[ROOT], 1, IDX, 0), 4, "employee_count", 2**63 - 1, pl.Int64)
    folder = tmp_path / "town"
    FactTables(raw[ROOT], {k: v for k, v in raw.items() if k != ROOT}).write_parquet(folder)
    checked = read_parquet_validated(folder)
    assert [r["id"] for r in checked.tables.to_records()] == ["E2", "E3"]
    with pytest.raises(FactsFileError, match="more than one enterprise row"):
        FactTables.read_parquet(folder)  # the unvalidated reader refuses rather than mix list rows up
