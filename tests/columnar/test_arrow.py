"""The batch entry (`columnar.arrow.evaluate_arrow`): results equal `ColumnarProgram.run` on the same population
row for row, rejections come back as a second table (none dropped), and only plain Arrow types come out."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings

from safetyrules.api import fact_record
from safetyrules.columnar import ColumnarProgram, FactTables
from safetyrules.columnar.arrow import (
    LONG_SCHEMA,
    REJECTED_SCHEMA,
    evaluate_arrow,
    long_results,
    plain_long,
    result_schema,
)
from safetyrules.columnar.nested import nested_schema, records_to_nested

from .strategies import dates, population

AS_OF = dt.date(2022, 6, 30)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])


def _town(count: int = 200, seed: int = 11) -> list[dict[str, Any]]:
    from safetyrules.synth import generate

    return [fact_record(r) for r in generate(count, seed=seed)]


def _expected(program: ColumnarProgram, records: list[dict[str, Any]], as_of: dt.date = AS_OF) -> pa.Table:
    return plain_long(program.run(FactTables.from_records(records, program.layout), as_of))


def _types(t: pa.DataType) -> list[pa.DataType]:
    out = [t]
    if pa.types.is_struct(t):
        for i in range(t.num_fields):
            out.extend(_types(t.field(i).type))
    elif pa.types.is_list(t):
        out.extend(_types(t.value_type))
    return out


def _names(t: pa.DataType) -> list[str]:
    if pa.types.is_struct(t):
        return [n for i in range(t.num_fields) for n in (t.field(i).name, *_names(t.field(i).type))]
    return _names(t.value_type) if pa.types.is_list(t) else []


def test_results_equal_the_kernel_row_for_row(program: ColumnarProgram) -> None:
    records = _town()
    results, rejected = evaluate_arrow(program, records_to_nested(records), AS_OF)
    assert rejected.num_rows == 0 and rejected.schema == REJECTED_SCHEMA
    assert results.schema == result_schema(program)
    assert results.column("enterprise").to_pylist() == [r["id"] for r in records]
    assert long_results(results, program).equals(_expected(program, records))


@SETTINGS
@given(records=population(), as_of=dates())
def test_generated_records_with_nulls_and_absent_values(program: ColumnarProgram, records: list[dict[str, Any]],
                                                         as_of: dt.date) -> None:
    recs = [fact_record(r) for r in records]
    results, rejected = evaluate_arrow(program, records_to_nested(recs), as_of)
    assert rejected.num_rows == 0
    assert long_results(results, program).equals(_expected(program, recs, as_of))


def test_plain_types_only(program: ColumnarProgram) -> None:
    schema = result_schema(program)
    for sch in (schema, LONG_SCHEMA, REJECTED_SCHEMA, nested_schema()):
        for f in sch:
            for t in _types(f.type):
                assert not pa.types.is_dictionary(t) and not pa.types.is_large_string(t), (f.name, t)
                assert not pa.types.is_large_list(t), (f.name, t)
            assert "." not in f.name and not [n for n in _names(f.type) if "." in n], f.name
    assert schema.names == ["enterprise", *(r.name for r in program.declared)]


def test_rejections_are_a_second_table(program: ColumnarProgram) -> None:
    records = _town(40)
    rows = records_to_nested(records).to_pylist()
    rows[3]["industry"] = "spaceflight"
    hazard = {"id": "H9", "found_on": dt.date(2022, 5, 3), "remediated_on": dt.date(2022, 5, 1), "_absent": None}
    rows[5]["hazards"] = [*(rows[5]["hazards"] or []), hazard]
    at = len(rows[5]["hazards"]) - 1
    rows[7]["id"] = rows[2]["id"]
    rows[9]["id"] = None
    table = pa.Table.from_pylist(rows, schema=nested_schema())
    results, rejected = evaluate_arrow(program, table, AS_OF, first_row=100)
    got = [(r["row"], r["enterprise"], r["field"], r["code"]) for r in rejected.to_pylist()]
    assert sorted(got, key=str) == sorted([
        (103, records[3]["id"], "industry", "enum_code"),
        (105, records[5]["id"], f"hazards[{at}].remediated_on", "remediated_before_found"),
        (105, records[5]["id"], None, "rejected_item"),
        (107, records[2]["id"], "id", "duplicate_id"),
        (109, None, "id", "missing_id"),
    ], key=str)
    assert [r[0] for r in got] == sorted(r[0] for r in got)  # in row order
    duplicate = next(r for r in rejected.to_pylist() if r["code"] == "duplicate_id")
    assert duplicate["message"] == f"duplicate id {records[2]['id']}: first at row 102"
    kept = [r for i, r in enumerate(records) if i not in (3, 5, 7, 9)]
    assert long_results(results, program).equals(_expected(program, kept))


def test_batches_with_a_global_duplicate_check(program: ColumnarProgram) -> None:
    records = _town(60)
    records[45] = {**records[45], "id": records[10]["id"]}
    table = records_to_nested(records)
    whole, whole_rejected = evaluate_arrow(program, table, AS_OF)
    parts = [evaluate_arrow(program, table.slice(start, 20), AS_OF, first_row=start,
                            first_rows={records[10]["id"]: 10}) for start in (0, 20, 40)]
    assert pa.concat_tables([p[0] for p in parts]).equals(whole)
    assert pa.concat_tables([p[1] for p in parts]).equals(whole_rejected)
    assert whole_rejected.to_pylist() == [{"enterprise": records[10]["id"], "row": 45, "field": "id",
                                           "code": "duplicate_id",
                                           "message": f"duplicate id {records[10]['id']}: first at row 10"}]
    # without the global check the second batch cannot know: its row is evaluated
    alone, alone_rejected = evaluate_arrow(program, table.slice(40, 20), AS_OF, first_row=40)
    assert alone_rejected.num_rows == 0 and alone.num_rows == 20


def test_an_empty_batch(program: ColumnarProgram) -> None:
    results, rejected = evaluate_arrow(program, nested_schema().empty_table(), AS_OF)
    assert results.num_rows == 0 and results.schema == result_schema(program)
    assert rejected.num_rows == 0 and long_results(results, program).num_rows == 0


def test_outcome_counts_are_readable_without_the_long_form(program: ColumnarProgram) -> None:
    results, _ = evaluate_arrow(program, records_to_nested(_town(100)), "2022-06-30")
    column = pc.struct_field(results.column("risk_assessment_high_risk"), "outcome")
    counts = {v["values"]: v["counts"] for v in pc.value_counts(column).to_pylist()}
    long = _expected(program, _town(100))
    rows = long.filter(pc.equal(long.column("rule"), "risk_assessment_high_risk")).column("outcome")
    assert counts == {v["values"]: v["counts"] for v in pc.value_counts(rows).to_pylist()}
