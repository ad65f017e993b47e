"""The columnar engine on Spark (local[2]): DataFrame mode, batch mode, nesting platform tables and the CLI give
the single-process results row for row, rejections included.

Skipped only when Java or pyspark is missing (`pip install -e '.[spark]'`)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from safetyrules.api import Policy, fact_record
from safetyrules.columnar import ColumnarProgram, FactTables, compile_policy
from safetyrules.columnar.arrow import evaluate_arrow, long_results, plain_long
from safetyrules.columnar.nested import ABSENT, nested_schema, records_to_nested

if shutil.which("java") is None:
    pytest.skip("Spark tests need Java (no `java` on PATH)", allow_module_level=True)
pyspark = pytest.importorskip("pyspark", reason="Spark tests need pyspark: pip install -e '.[spark]'")

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from safetyrules import spark as sr  # noqa: E402

AS_OF = dt.date(2022, 6, 30)
COUNT = 300


@pytest.fixture(scope="module")
def policy() -> Policy:
    from safetyrules import load_policy

    return load_policy()


@pytest.fixture(scope="module")
def program(policy: Policy) -> ColumnarProgram:
    return compile_policy(policy.program)


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    from safetyrules.synth import generate

    return [fact_record(r) for r in generate(COUNT, seed=16)]


@pytest.fixture(scope="module")
def table(records: list[dict[str, Any]]) -> pa.Table:
    """The population as nested rows, with bad rows: an unknown code, an item's dates out of order, a key
    repeated far from its first row (in another file and partition) and a missing key."""
    rows = records_to_nested(records).to_pylist()
    rows[3]["industry"] = "spaceflight"
    rows[120]["hazards"] = [*(rows[120]["hazards"] or []), {"id": "H9", "found_on": dt.date(2022, 5, 3),
                                                            "remediated_on": dt.date(2022, 5, 1), ABSENT: None}]
    rows[250]["id"] = rows[10]["id"]
    rows[260]["id"] = None
    table = pa.Table.from_pylist(rows, schema=nested_schema())
    return table.append_column("_seq", pa.array(range(COUNT), pa.int64()))


@pytest.fixture(scope="module")
def single(program: ColumnarProgram, table: pa.Table) -> tuple[pa.Table, pa.Table]:
    """The single-process results and rejections."""
    results, rejected = evaluate_arrow(program, table, AS_OF)
    assert rejected.num_rows == 5 and results.num_rows == COUNT - 4
    return results, rejected


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, table: pa.Table) -> Path:
    folder = tmp_path_factory.mktemp("nested")
    for i, start in enumerate(range(0, COUNT, 100)):
        pq.write_table(table.slice(start, 100), folder / f"part-{i}.parquet", row_group_size=40)
    return folder


def _by_enterprise(t: pa.Table) -> pa.Table:
    return t.sort_by([("enterprise", "ascending")])


def _by_row(t: pa.Table) -> pa.Table:
    return t.sort_by([("row", "ascending"), ("code", "ascending")])


def test_dataframe_mode_equals_the_single_process(spark: SparkSession, policy: Policy, program: ColumnarProgram,
                                                   files: Path, table: pa.Table, records: list[dict[str, Any]]) -> None:
    df = spark.read.parquet(str(files))
    assert df.rdd.getNumPartitions() > 1
    out = sr.evaluate(df, policy, AS_OF, chunk_rows=64).cache()
    results = sr.accepted(out).toArrow()
    rejected = sr.rejections(out).toArrow()
    # rows are numbered, and a repeated key's first row found, in the DataFrame's order (Spark reads the larger
    # files first): the single process gets the rows in that order (`_seq`, a column the layout ignores)
    order = df.select("_seq").toArrow().column(0)
    want_results, want_rejected = evaluate_arrow(program, table.take(order), AS_OF)
    assert want_rejected.num_rows == 5
    assert _by_enterprise(results).equals(_by_enterprise(want_results))
    assert _by_row(rejected).equals(_by_row(want_rejected))
    # and the kernel's long rows, one for one, for the enterprises no bad row touches
    kept = [r for i, r in enumerate(records) if i not in (3, 10, 120, 250, 260)]
    at = {e: i for i, e in enumerate(results.column("enterprise").to_pylist())}
    mine = results.take(pa.array([at[r["id"]] for r in kept]))
    want = plain_long(program.run(FactTables.from_records(kept), AS_OF))
    assert long_results(mine, program).equals(want)
    assert sr.long_form(sr.accepted(out), policy).count() == results.num_rows * len(program.declared)
    out.unpersist()


def test_batch_mode_equals_the_single_process(spark: SparkSession, policy: Policy, files: Path, tmp_path: Path,
                                              single: tuple[pa.Table, pa.Table]) -> None:
    summary = sr.evaluate_files(spark, files, tmp_path / "out", policy, AS_OF, chunk_rows=64)
    assert [Path(f["file"]).name for f in summary.files] == ["part-0.parquet", "part-1.parquet", "part-2.parquet"]
    assert (summary.enterprises, summary.evaluated, summary.rejected, summary.problems) == (COUNT, COUNT - 4, 4, 5)
    results = pq.read_table(tmp_path / "out" / "results")
    rejected = pq.read_table(tmp_path / "out" / "rejected")
    assert results.equals(single[0]) and rejected.equals(single[1])  # same order: files in name order


def test_a_shuffled_input_is_checkpointed(spark: SparkSession, policy: Policy, table: pa.Table,
                                          single: tuple[pa.Table, pa.Table]) -> None:
    df = spark.createDataFrame(table).repartition(3)
    out = sr.evaluate(df, policy, AS_OF).cache()
    results = sr.accepted(out).toArrow()
    rejected = sr.rejections(out).toArrow()
    # a repartition shuffles the rows: which of a repeated key's rows comes first is the shuffle's order
    first = next(r for r in single[1].to_pylist() if r["code"] == "duplicate_id")["enterprise"]
    assert rejected.num_rows == 5 and pc.sum(pc.equal(results.column("enterprise"), first)).as_py() == 1
    others = pc.not_equal(results.column("enterprise"), first)
    want = single[0].filter(pc.not_equal(single[0].column("enterprise"), first))
    assert _by_enterprise(results.filter(others)).equals(_by_enterprise(want))
    assert sorted(r["code"] for r in rejected.to_pylist()) == sorted(r["code"] for r in single[1].to_pylist())
    out.unpersist()


def test_nested_rows_from_platform_tables(spark: SparkSession, policy: Policy, program: ColumnarProgram,
                                          records: list[dict[str, Any]]) -> None:
    table = records_to_nested(records[:120])
    nested = spark.createDataFrame(table)
    lists = ["hazards", "risk_assessments", "internal_assessments", "staff"]
    platform = {name: nested.select(F.col("id").alias("enterprise_id"), F.posexplode(name))
                .select("enterprise_id", "pos", "col.*" if name != "internal_assessments" else "col")
                for name in lists}
    flat = nested.drop(*lists)
    rebuilt = sr.nest(flat, platform, policy, order_by={name: "pos" for name in lists})
    results = sr.accepted(sr.evaluate(rebuilt, policy, AS_OF)).toArrow()
    # the platform tables cannot say null: an enterprise without rows in a table has [] (absent stays absent)
    rows = table.to_pylist()
    for row in rows:
        for name in lists:
            if row[name] is None:
                row[name] = []
    want, rejected = evaluate_arrow(program, pa.Table.from_pylist(rows, schema=nested_schema()), AS_OF)
    assert rejected.num_rows == 0
    assert _by_enterprise(results).equals(_by_enterprise(want))


def test_cli(spark: SparkSession, files: Path, tmp_path: Path, single: tuple[pa.Table, pa.Table]) -> None:
    from click.testing import CliRunner

    from safetyrules.cli import cli

    out = tmp_path / "cli"
    result = CliRunner().invoke(cli, ["eval", "--engine", "spark", "--facts", str(files), "--as-of", "2022-06-30",
                                       "--out", str(out)])
    assert result.exit_code == 3, result.output  # rows were rejected
    assert pq.read_table(out / "results").equals(single[0])
    assert pq.read_table(out / "rejected").equals(single[1])
    assert "300 enterprises in 3 files, 296 evaluated, 4 rejected (5 problems)" in result.output
    missing = CliRunner().invoke(cli, ["eval", "--engine", "spark", "--facts", str(files)])
    assert missing.exit_code == 2 and "--out DIR" in missing.output
