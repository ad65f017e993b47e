"""Columnar validation of Parquet tables: what the record models reject is rejected, row by row, with its
table, row and reason; the enterprises that pass are evaluated as if the others were never there."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from pydantic import ValidationError

from safetyrules.api import fact_record
from safetyrules.columnar import FactTables
from safetyrules.columnar.tables import IDX, ROOT, UNK
from safetyrules.columnar.validate import NOT_BEFORE, read_parquet_validated, validate_frames, validate_tables
from safetyrules.facts.models import Enterprise

from .differential import seed_program


def _town(n: int = 40) -> tuple[list[dict[str, Any]], FactTables]:
    from safetyrules.synth import generate

    recs = [fact_record(r) for r in generate(n, seed=8)]
    return recs, FactTables.from_records(recs)


def _raw(tables: FactTables) -> dict[str, pl.DataFrame]:
    return {ROOT: tables.enterprises, **tables.children}


def _put(frame: pl.DataFrame, row: int, column: str, value: Any, dtype: Any = None) -> pl.DataFrame:
    """`frame` with one cell replaced (the column cast to `dtype` first: raw input may have any type)."""
    series = frame.get_column(column)
    if dtype is not None:
        series = series.cast(dtype)
    return frame.with_columns(series.scatter(row, value).alias(column))


def test_valid_tables_pass_unchanged(tmp_path: Path) -> None:
    _, tables = _town()
    checked = validate_tables(tables)
    assert checked.rejected.is_empty() and checked.enterprises_rejected == 0
    assert checked.tables.enterprises.equals(tables.enterprises)
    tables.write_parquet(tmp_path / "t")
    again = read_parquet_validated(tmp_path / "t")
    assert again.rejected.is_empty()
    for name, frame in tables.children.items():
        assert again.tables.children[name].equals(frame), name


def _first_row_with(frame: pl.DataFrame, column: str) -> int:
    return int(frame.with_row_index("_n").filter(pl.col(column).is_not_null()).get_column("_n")[0])


def test_each_rule_rejects_its_row_and_enterprise() -> None:
    recs, tables = _town()
    raw = _raw(tables)
    root = raw[ROOT]
    root = _put(root, 1, "industry", "shipbuilding", pl.String)
    root = _put(root, 2, "employee_count", -3)
    root = _put(root, 4, "id", recs[3]["id"])  # a repeated id
    raw[ROOT] = _put(root, 5, "established_on", "2021/03/04", pl.String)
    hazards = raw["hazards"]
    h = _first_row_with(hazards, "found_on")
    found = hazards.get_column("found_on")[h]
    raw["hazards"] = _put(_put(hazards, h, "remediated_on", found - dt.timedelta(days=1)),
                          h, "remediated_on" + UNK, False)
    staff = raw["staff"]
    raw["staff"] = pl.concat([staff, staff.head(1).with_columns(pl.lit(10_000, dtype=pl.UInt32).alias(IDX))])
    checked = validate_frames(raw)
    got = {(r["table"], r["row"], r["code"]) for r in checked.rejected.to_dicts()}
    h_owner = int(hazards.get_column(IDX)[h])
    assert ("enterprises", 1, "enum_code") in got
    assert ("enterprises", 2, "out_of_range") in got
    assert ("enterprises", 4, "duplicate_id") in got
    assert ("enterprises", 5, "type") in got
    assert ("hazards", h, "remediated_before_found") in got
    assert ("staff", staff.height, "orphan_row") in got
    assert ("enterprises", h_owner, "rejected_item") in got or h_owner in (1, 2, 4, 5)
    rejected = {1, 2, 4, 5, h_owner}
    kept = [r for i, r in enumerate(recs) if i not in rejected]
    assert checked.enterprises_rejected == len(rejected)
    assert list(checked.tables.to_records()) == kept
    # the accepted enterprises evaluate as if the rejected ones had never been there
    day = dt.date(2022, 6, 30)
    assert seed_program().run(checked.tables, day).equals(seed_program().run(FactTables.from_records(kept), day))
    reasons = checked.rejected.filter(pl.col("code") == "enum_code").get_column("reason").to_list()
    assert any("shipbuilding" in r for r in reasons)


def test_instants_need_an_offset_and_keep_their_order() -> None:
    _recs, tables = _town(120)
    accidents = tables.children["accidents"]
    assert accidents.height, "the synthetic town has accidents"
    a = _first_row_with(accidents, "occurred_at")
    occurred = accidents.get_column("occurred_at")[a]
    bad = _put(accidents, a, "reported_at", occurred - dt.timedelta(hours=1))
    bad = _put(_put(bad, a, "reported_at#off", 0), a, "reported_at" + UNK, False)
    raw = {**_raw(tables), "accidents": bad}
    got = {(r["row"], r["code"]) for r in validate_frames(raw).rejected.to_dicts()}
    assert (a, "reported_before_occurred") in got
    raw["accidents"] = _put(accidents, a, "occurred_at#off", None)
    got = {(r["row"], r["code"]) for r in validate_frames(raw).rejected.to_dicts()}
    assert (a, "timezone_aware") in got


def test_strict_types_as_the_models() -> None:
    _recs, tables = _town(10)
    raw = _raw(tables)
    raw[ROOT] = raw[ROOT].with_columns(pl.col("above_designated_size").cast(pl.String))  # "true" is not a flag
    checked = validate_frames(raw)
    flagged = checked.rejected.filter(pl.col("field") == "above_designated_size")
    n = int(tables.enterprises.get_column("above_designated_size").is_not_null().sum())
    assert flagged.height == n and set(flagged.get_column("code")) == {"type"}
    with pytest.raises(ValidationError):
        Enterprise.model_validate({"id": "X", "above_designated_size": "true"})


@pytest.mark.parametrize(("table", "later", "earlier", "code", "_what"), NOT_BEFORE)
def test_the_date_order_rules_are_the_models(table: str, later: str, earlier: str, code: str, _what: str) -> None:
    """Each order rule here is one the record models enforce (same error code)."""
    instant = "_at" in later
    first: Any = dt.datetime(2022, 1, 2, 8, tzinfo=dt.UTC) if instant else dt.date(2022, 1, 2)
    second: Any = first - (dt.timedelta(hours=1) if instant else dt.timedelta(days=1))
    with pytest.raises(ValidationError) as err:
        Enterprise.model_validate({"id": "X", table: [{earlier: first, later: second}]})
    assert code in str(err.value.errors()[0]["type"])
    tables = FactTables.from_records([{"id": "X", table: [{earlier: first, later: second}]}])
    got = validate_tables(tables).rejected
    assert (table, later, code) in {(r["table"], r["field"], r["code"]) for r in got.to_dicts()}
