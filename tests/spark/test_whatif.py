"""What-if and timelines on Spark (local[2]) against the single process: the columnar what-if
(`run_whatif` with `ColumnarWhatIf`) and one `evaluate_arrow` per date give the same changes, counts, results
and rejections, row for row.

Skipped only when Java or pyspark is missing (`pip install -e '.[spark]'`)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from safetyrules.api import Policy, fact_record
from safetyrules.columnar import ColumnarProgram, compile_policy
from safetyrules.columnar.arrow import evaluate_arrow
from safetyrules.columnar.arrow_whatif import as_of_dates, whatif_batch
from safetyrules.columnar.nested import ABSENT, nested_schema, records_to_nested
from safetyrules.whatif.scenario import Patch, Scenario

if shutil.which("java") is None:
    pytest.skip("Spark tests need Java (no `java` on PATH)", allow_module_level=True)
pyspark = pytest.importorskip("pyspark", reason="Spark tests need pyspark: pip install -e '.[spark]'")

from pyspark.sql import SparkSession  # noqa: E402

from safetyrules import spark as sr  # noqa: E402

COUNT = 300
DATES = (dt.date(2021, 12, 31), dt.date(2022, 6, 30))
BAD = (3, 120, 250, 260)  # rows the validation rejects (250 repeats row 10's key)


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
    """Nested rows with bad ones: an unknown code, an item's dates out of order, a repeated and a missing key."""
    rows = records_to_nested(records).to_pylist()
    rows[3]["industry"] = "spaceflight"
    rows[120]["hazards"] = [*(rows[120]["hazards"] or []), {"id": "H9", "found_on": dt.date(2022, 5, 3),
                                                            "remediated_on": dt.date(2022, 5, 1), ABSENT: None}]
    rows[250]["id"] = rows[10]["id"]
    rows[260]["id"] = None
    return pa.Table.from_pylist(rows, schema=nested_schema()).append_column("_seq", pa.array(range(COUNT), pa.int64()))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, table: pa.Table) -> Path:
    folder = tmp_path_factory.mktemp("nested")
    for i, start in enumerate(range(0, COUNT, 100)):
        pq.write_table(table.slice(start, 100), folder / f"part-{i}.parquet", row_group_size=40)
    return folder


@pytest.fixture(scope="module")
def scenario(policy: Policy) -> Scenario:
    """Params, a rule switched off, a patch that matches (and changes facts) and one that matches nothing."""
    return Scenario(name="两年 / two years", dates=DATES, params={"other_assessment_period": "2 years"},
                    rules_off=frozenset({"apprenticeship"}),
                    patches=(Patch(where={"industry": "road_transport"}, set={"above_designated_size": True},
                                   append={}),
                             Patch(where={"industry": "no_such_industry"}, set={"employee_count": 1}, append={})))


@pytest.fixture(scope="module")
def single(policy: Policy, scenario: Scenario, records: list[dict[str, Any]]) -> Any:
    """The single-process columnar what-if over the enterprises the validation accepts."""
    from safetyrules.columnar.whatif import ColumnarWhatIf
    from safetyrules.whatif.run import run_whatif

    kept = [r for i, r in enumerate(records) if i not in BAD]
    return run_whatif(policy, policy, scenario, kept, list(DATES), ColumnarWhatIf())


def _changes(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((r["as_of"], r["enterprise"], r["name"], r["village"], r["industry"], r["rule"],
                   tuple(r["implements"]), r["base"], r["scenario"], r["because"]) for r in rows)


def _single_changes(result: Any) -> list[tuple[Any, ...]]:
    return sorted((c.as_of, c.enterprise, c.name, c.village, c.industry, c.rule, tuple(c.implements),
                   c.base.value, c.scenario.value, c.because) for d in result.dates for c in d.changes)


def _single_counts(result: Any) -> Counter[tuple[Any, ...]]:
    return Counter({(d.as_of, side, rule, outcome): n for d in result.dates for side in ("base", "scenario")
                    for rule, c in d.counts[side].items() for outcome, n in c.items() if n})


def _counts(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> Counter[tuple[Any, ...]]:
    found: Counter[tuple[Any, ...]] = Counter()
    for r in rows:
        found[tuple(r[k] for k in keys)] += int(r["n"])
    return +found


def _by_row(t: pa.Table) -> pa.Table:
    return t.sort_by([("row", "ascending"), ("code", "ascending")])


def _by_enterprise(t: pa.Table) -> pa.Table:
    return t.sort_by([("enterprise", "ascending")])


def test_as_of_dates() -> None:
    assert as_of_dates("2022-01-30", "2022-02-02") == [dt.date(2022, 1, 30), dt.date(2022, 1, 31),
                                                        dt.date(2022, 2, 1), dt.date(2022, 2, 2)]
    assert as_of_dates("2022-01-01", "2022-01-20", "1w") == [dt.date(2022, 1, d) for d in (1, 8, 15)]
    assert as_of_dates("2022-01-15", "2022-03-31", "m") == [dt.date(2022, 1, 31), dt.date(2022, 2, 28),
                                                             dt.date(2022, 3, 31)]
    with pytest.raises(ValueError, match="Nd"):
        as_of_dates("2022-01-01", "2022-02-01", "2x")


def test_whatif_batch_mode_equals_the_single_process(spark: SparkSession, policy: Policy, program: ColumnarProgram,
                                                     scenario: Scenario, files: Path, table: pa.Table,
                                                     tmp_path: Path, single: Any) -> None:
    spec = sr.whatif_spec(policy, scenario)
    run = sr.whatif_files(spark, files, tmp_path / "out", spec, DATES, chunk_rows=64)
    assert (run.enterprises, run.evaluated, run.rejected, run.problems) == (COUNT, COUNT - 4, 4, 5)
    changes = pq.read_table(tmp_path / "out" / "changes").to_pylist()
    assert len(changes) == run.changes > 0
    assert _changes(changes) == _single_changes(single)
    reasons = {c[-1] for c in _changes(changes)}
    assert {"params other_assessment_period=2 years", "rule apprenticeship switched off"} <= reasons
    assert any("facts patched" in r for r in reasons)
    assert _counts(run.counts.to_pylist(), ("as_of", "side", "rule", "outcome")) == _single_counts(single)
    assert _counts(pq.read_table(tmp_path / "out" / "counts").to_pylist(),
                   ("as_of", "side", "rule", "outcome")) == _single_counts(single)
    assert run.matched[1] == 0 and run.matched[0] == sum(
        1 for i, r in enumerate(table.to_pylist()) if i not in BAD and r["industry"] == "road_transport")
    rejected = pq.read_table(tmp_path / "out" / "rejected")
    assert rejected.equals(evaluate_arrow(program, table, DATES[0])[1])  # never dropped, files in name order
    # the same as one process over the whole table, due dates included, row for row
    whole = whatif_batch(spec, table, DATES)
    order = [("as_of", "ascending"), ("enterprise", "ascending"), ("rule", "ascending")]
    assert pq.read_table(tmp_path / "out" / "changes").sort_by(order).equals(whole.changes.sort_by(order))


def test_whatif_dataframe_mode_equals_the_single_process(spark: SparkSession, policy: Policy, scenario: Scenario,
                                                         files: Path, table: pa.Table) -> None:
    df = spark.read.parquet(str(files))
    assert df.rdd.getNumPartitions() > 1
    spec = sr.whatif_spec(policy, scenario)
    out = sr.whatif(df, spec, DATES, chunk_rows=64).cache()
    changes = sr.changes(out).toArrow()
    counts = sr.whatif_counts(out).toArrow()
    rejected = sr.rejections(out).toArrow()
    # a repeated key's first row is the DataFrame's order (Spark reads the larger files first)
    order = df.select("_seq").toArrow().column(0)
    want = whatif_batch(spec, table.take(order), DATES)
    by = [("as_of", "ascending"), ("enterprise", "ascending"), ("rule", "ascending")]
    assert changes.select(want.changes.column_names).sort_by(by).equals(want.changes.sort_by(by))
    assert _counts(counts.to_pylist(), ("as_of", "side", "rule", "outcome")) == \
        _counts(want.counts.to_pylist(), ("as_of", "side", "rule", "outcome"))
    assert _by_row(rejected).equals(_by_row(want.rejected))
    assert sr.patch_matches(out) == want.matched
    out.unpersist()


def _single_timeline(program: ColumnarProgram, table: pa.Table, dates: list[dt.date],
                     ) -> tuple[Counter[tuple[Any, ...]], dict[dt.date, pa.Table], pa.Table]:
    counts: Counter[tuple[Any, ...]] = Counter()
    results = {}
    rejected = None
    for day in dates:
        found, rejected = evaluate_arrow(program, table, day)
        results[day] = found
        for rule in program.declared:
            for outcome in pc.struct_field(found.column(rule.name), "outcome").to_pylist():
                counts[(day, rule.name, outcome)] += 1
    assert rejected is not None
    return counts, results, rejected


def test_timeline_batch_mode_equals_one_evaluation_per_date(spark: SparkSession, policy: Policy,
                                                            program: ColumnarProgram, files: Path, table: pa.Table,
                                                            tmp_path: Path) -> None:
    dates = as_of_dates("2021-01-01", "2022-12-31", "m")
    run = sr.timeline_files(spark, files, tmp_path / "t", policy, dates, results=True, date_groups=2,
                            chunk_rows=64)
    assert len(run.tasks) == 6 and (run.enterprises, run.evaluated, run.rejected, run.problems) == \
        (COUNT, COUNT - 4, 4, 5)
    counts, results, rejected = _single_timeline(program, table, dates)
    assert _counts(run.counts.to_pylist(), ("as_of", "rule", "outcome")) == counts
    written = pq.read_table(tmp_path / "t" / "results")
    assert written.num_rows == len(dates) * (COUNT - 4)
    for day in (dates[0], dates[11], dates[-1]):
        mine = written.filter(pc.equal(written.column("as_of"), pa.scalar(day, pa.date32()))).drop_columns("as_of")
        assert _by_enterprise(mine).equals(_by_enterprise(results[day]))
    assert pq.read_table(tmp_path / "t" / "rejected").equals(rejected)


def test_timeline_dataframe_mode_equals_one_evaluation_per_date(spark: SparkSession, policy: Policy,
                                                                program: ColumnarProgram, files: Path,
                                                                table: pa.Table) -> None:
    df = spark.read.parquet(str(files))
    dates = [dt.date(2020, 12, 31), dt.date(2021, 12, 31), dt.date(2022, 6, 30)]
    out = sr.timeline(df, policy, dates, results=True, chunk_rows=64).cache()
    order = df.select("_seq").toArrow().column(0)
    counts, results, rejected = _single_timeline(program, table.take(order), dates)
    assert _counts(sr.timeline_counts(out).toArrow().to_pylist(), ("as_of", "rule", "outcome")) == counts
    written = sr.timeline_results(out).toArrow()
    for day in dates:
        mine = written.filter(pc.equal(written.column("as_of"), pa.scalar(day, pa.date32()))).drop_columns("as_of")
        assert _by_enterprise(mine).equals(_by_enterprise(results[day]))
    assert _by_row(sr.rejections(out).toArrow()).equals(_by_row(rejected))
    out.unpersist()


def test_whatif_cli(spark: SparkSession, policy: Policy, scenario: Scenario, files: Path, tmp_path: Path,
                    single: Any) -> None:
    from click.testing import CliRunner

    from safetyrules.cli import cli

    path = tmp_path / "scenario.yaml"
    path.write_text("name: 两年 / two years\nas_of: [2021-12-31, 2022-06-30]\n"
                    "params: {other_assessment_period: 2 years}\nrules_off: [apprenticeship]\npatches:\n"
                    "  - where: {industry: road_transport}\n    set: {above_designated_size: true}\n"
                    "  - where: {industry: no_such_industry}\n    set: {employee_count: 1}\n", encoding="utf-8")
    out = tmp_path / "cli"
    result = CliRunner().invoke(cli, ["whatif", str(path), "--engine", "spark", "--facts", str(files),
                                      "--out", str(out)])
    assert result.exit_code == 3, result.output  # rows were rejected
    assert _changes(pq.read_table(out / "changes").to_pylist()) == _single_changes(single)
    assert pq.read_table(out / "rejected").num_rows == 5
    text = result.output
    assert "义务 obligation" in text and "基准 base" in text and "结果变化 outcome changes" in text
    title = next(r for r in policy.rules() if r.name == "apprenticeship").title
    assert title.zh in text and title.en in text  # obligations by title, not by rule name
    assert "patches[1]" in text and "300 enterprises in 3 files × 2 date(s), 296 evaluated, 4 rejected" in text


def test_timeline_cli(spark: SparkSession, program: ColumnarProgram, files: Path, table: pa.Table,
                      tmp_path: Path) -> None:
    from click.testing import CliRunner

    from safetyrules.spark.cli import main

    out = tmp_path / "timeline"
    result = CliRunner().invoke(main, ["timeline", "--facts", str(files), "--from", "2022-01-15", "--to",
                                       "2022-03-31", "--step", "m", "--out", str(out)])
    assert result.exit_code == 3, result.output
    dates = [dt.date(2022, 1, 31), dt.date(2022, 2, 28), dt.date(2022, 3, 31)]
    counts, _, _ = _single_timeline(program, table, dates)
    assert _counts(pq.read_table(out / "counts").to_pylist(), ("as_of", "rule", "outcome")) == counts
    assert "时间线 timeline" in result.output and "2022-02-28" in result.output
    bad = CliRunner().invoke(main, ["timeline", "--facts", str(files), "--from", "2022-01-15", "--to",
                                    "2022-03-31", "--step", "3q", "--out", str(out)])
    assert bad.exit_code == 2 and "--step" in bad.output
