"""The nested layout (one row per enterprise, lists as list<struct>): records → flat → nested → records gives the
same records, absent / null / [] kept apart; Parquet files both ways; validation of nested rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings

from safetyrules.api import fact_record
from safetyrules.columnar import FactTables
from safetyrules.columnar.nested import (
    ABSENT,
    flat_to_nested,
    from_nested,
    nested_frames,
    nested_schema,
    nested_to_flat,
    read_nested_parquet,
    records_to_nested,
    to_nested,
    write_nested_parquet,
)
from safetyrules.columnar.validate import validate_frames
from safetyrules.facts.errors import FactsFileError

from .strategies import population

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])


def _records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [fact_record(r) for r in records]


def _names(t: pa.DataType | pa.Schema, prefix: str = "") -> list[str]:
    fields = list(t) if isinstance(t, pa.Schema) else [t.field(i) for i in range(t.num_fields)]
    out = []
    for f in fields:
        out.append(prefix + f.name)
        inner = f.type.value_type if pa.types.is_list(f.type) else f.type
        if pa.types.is_struct(inner):
            out.extend(_names(inner, prefix + f.name + "/"))
    return out


@SETTINGS
@given(records=population())
def test_round_trip_keeps_absent_null_and_empty(records: list[dict[str, Any]]) -> None:
    recs = _records(records)
    flat = FactTables.from_records(recs)
    nested = to_nested(flat)
    assert nested.schema == nested_schema()
    assert nested.num_rows == len(recs)
    back = from_nested(nested)
    assert back.enterprises.equals(flat.enterprises)
    for name, frame in flat.children.items():
        assert back.children[name].equals(frame), name
    assert list(back.to_records()) == recs


@SETTINGS
@given(records=population())
def test_validated_nested_rows_are_the_records(records: list[dict[str, Any]]) -> None:
    recs = _records(records)
    checked = validate_frames(nested_frames(records_to_nested(recs)))
    assert checked.rejected.height == 0
    # validation converts instants to the facts' local time, as the record loaders did for `recs`
    assert list(checked.tables.to_records()) == recs


def _absent(row: dict[str, Any]) -> set[str]:
    return set((row[ABSENT] or "").split(",")) - {""}


def test_absent_null_and_empty_are_distinct() -> None:
    recs = [{"id": "A", "hazards": [], "principal": None},
            {"id": "B", "hazards": None, "principal": {"name": "张某"}},
            {"id": "C"},
            {"id": "D", "hazards": [{"id": "H1", "found_on": dt.date(2022, 1, 3), "plan": {"made_on": None}}]}]
    nested = records_to_nested(recs).to_pylist()
    assert nested[0]["hazards"] == [] and nested[0]["principal"] is None and _absent(nested[0])
    assert "hazards" not in _absent(nested[0]) and "principal" not in _absent(nested[0])
    assert nested[1]["hazards"] is None and "hazards" not in _absent(nested[1])
    assert nested[1]["principal"]["name"] == "张某" and "principal.role" in _absent(nested[1])
    assert nested[2]["hazards"] is None and {"hazards", "principal"} <= _absent(nested[2])
    assert "principal.name" not in _absent(nested[2])  # only the outermost absent path is written
    item = nested[3]["hazards"][0]
    assert item["plan"]["made_on"] is None and "plan.made_on" not in _absent(item)
    assert {"plan.time_limit", "remediated_on"} <= _absent(item)
    assert list(from_nested(records_to_nested(recs)).to_records()) == recs


def test_absent_as_a_list_and_whole_paths() -> None:
    """`_absent` may be a list of paths too; a path is matched whole (`plan` does not make `plan.made_on`
    absent by its text, only by being the object above it)."""
    item = pa.struct([("id", pa.string()), ("plan", pa.struct([("made_on", pa.date32())])),
                      (ABSENT, pa.list_(pa.string()))])
    table = pa.table({"id": ["A", "B"], ABSENT: pa.array([["employee_count"], None], pa.list_(pa.string())),
                      "employee_count": pa.array([None, 4], pa.int64()),
                      "hazards": pa.array([[{"id": "H1", "plan": None, ABSENT: ["plan"]}],
                                           [{"id": "H2", "plan": {"made_on": None}, ABSENT: ["plan.made_o"]}]],
                                          pa.list_(item))})
    assert list(from_nested(table).to_records()) == [
        {"id": "A", "hazards": [{"id": "H1"}]},
        {"id": "B", "employee_count": 4, "hazards": [{"id": "H2", "plan": {"made_on": None}}]}]


def test_names_have_no_dots() -> None:
    names = _names(nested_schema())
    assert names and not [n for n in names if "." in n]
    assert "risk_control/levels" in names and "hazards/plan/time_limit" in names


def test_missing_fields_are_unknown_and_missing_absent_means_known() -> None:
    table = pa.table({"id": ["A", "B"], "employee_count": pa.array([None, 3], pa.int64()),
                      "hazards": pa.array([[{"id": "H1"}], None], pa.list_(pa.struct([("id", pa.string())])))})
    assert list(from_nested(table).to_records()) == [
        {"id": "A", "employee_count": None, "hazards": [{"id": "H1"}]},
        {"id": "B", "employee_count": 3, "hazards": None}]


def test_instants_from_a_zoned_column() -> None:
    at = dt.datetime(2022, 3, 1, 2, 0, tzinfo=dt.UTC)
    item = pa.struct([("id", pa.string()), ("occurred_at", pa.timestamp("us", "Asia/Shanghai"))])
    table = pa.table({"id": ["A"], "accidents": pa.array([[{"id": "A1", "occurred_at": at}]], pa.list_(item))})
    (record,) = from_nested(table).to_records()
    assert record["accidents"][0]["occurred_at"] == at  # without `#off`: the zone's offset, the same instant
    assert record["accidents"][0]["occurred_at"].utcoffset() == dt.timedelta(hours=8)
    checked = validate_frames(nested_frames(table))
    (local,) = checked.tables.to_records()
    assert local["accidents"][0]["occurred_at"].utcoffset() == dt.timedelta(hours=8)
    assert local["accidents"][0]["occurred_at"] == at


def test_a_list_of_another_shape_is_refused() -> None:
    with pytest.raises(FactsFileError, match="hazards"):
        nested_frames(pa.table({"id": ["A"], "hazards": ["x"]}))


def test_bad_values_are_rejected_by_validation() -> None:
    table = pa.table({"id": ["A", "B"], "industry": ["construction", "spaceflight"],
                      "hazards": pa.array([[{"id": "H1", "found_on": dt.date(2022, 5, 1),
                                             "remediated_on": dt.date(2022, 4, 1)}], []],
                                          pa.list_(pa.struct([("id", pa.string()), ("found_on", pa.date32()),
                                                              ("remediated_on", pa.date32())])))})
    checked = validate_frames(nested_frames(table))
    assert len(checked.tables) == 0
    codes = {(r["enterprise"], r["table"], r["code"]) for r in checked.rejected.iter_rows(named=True)}
    # validate_frames names the enterprise of a child row in its `rejected_item` row (arrow.py joins it in)
    assert codes == {(None, "hazards", "remediated_before_found"), ("A", "enterprises", "rejected_item"),
                     ("B", "enterprises", "enum_code")}


def test_parquet_files_and_conversion_both_ways(tmp_path: Path) -> None:
    from safetyrules.synth import generate

    recs = _records(list(generate(120, seed=4)))
    tables = FactTables.from_records(recs)
    write_nested_parquet(tables, tmp_path / "town.parquet", rows_per_group=50)
    assert pq.ParquetFile(tmp_path / "town.parquet").metadata.num_row_groups == 3
    assert list(read_nested_parquet(tmp_path / "town.parquet").to_records()) == recs
    tables.write_parquet(tmp_path / "flat")
    flat_to_nested(tmp_path / "flat", tmp_path / "converted.parquet")
    assert pq.read_table(tmp_path / "converted.parquet").equals(pq.read_table(tmp_path / "town.parquet"))
    nested_to_flat(tmp_path / "converted.parquet", tmp_path / "flat2")
    assert list(FactTables.read_parquet(tmp_path / "flat2").to_records()) == recs


def test_an_empty_population() -> None:
    nested = to_nested(FactTables.empty())
    assert nested.num_rows == 0 and nested.schema == nested_schema()
    assert len(from_nested(nested)) == 0
