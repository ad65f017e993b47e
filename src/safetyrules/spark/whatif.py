"""What-if and timelines on Spark: many days over data read once (docs/distributed.md, "What-if", "Timeline").

    spec = sr.whatif_spec(policy, load_scenario("scenario.yaml"))
    run = sr.whatif_files(spark, "province-nested/", "whatif/", spec, [dt.date(2022, 12, 31)])   # batch mode
    out = sr.whatif(spark.read.parquet("province-nested/"), spec, dates)                        # DataFrame mode
    run = sr.timeline_files(spark, "province-nested/", "timeline/", policy,
                            sr.as_of_dates("2020-01-01", "2022-12-31", "1d"))

The work of a partition is (days × chunk): a worker reads a chunk of `chunk_rows` nested rows, validates it
once (`columnar.arrow_whatif.prepare_arrow`) and evaluates every day over it before reading the next chunk.

- **What-if** (`whatif`, `whatif_files`): on each day, base and scenario (`columnar.arrow_whatif.whatif_batch`:
  the scenario re-runs only the rules it changes, as the single-process columnar what-if does). Out: the
  changed (enterprise, rule) outcomes with both outcomes, due dates and the reason (`CHANGES_SCHEMA`), counts
  per day, side, rule and outcome (`COUNTS_SCHEMA`), and the rejections.
- **Timeline** (`timeline`, `timeline_files`): one policy on each day: counts per day, rule and outcome, and
  (`results=True`) each day's compact results per enterprise, `as_of` in front.

Keys are checked and rows numbered across the whole input, as `evaluate` and `evaluate_files` do. Polars is
imported only inside the workers (after `POLARS_MAX_THREADS=1`) and on the driver.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa  # type: ignore[import-untyped]
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from safetyrules.limits import DEFAULT, Limits
from safetyrules.spark.core import (
    CHUNK_ROWS,
    REJECTED,
    _chunks,
    _day,
    _filesystem,
    _number,
    _Numbering,
    _open,
    _plan_files,
    _program,
    _ship,
    _Shipped,
    _shuffled,
    _spark_schema,
    _worker_setup,
    output_schema,
)

if TYPE_CHECKING:
    from safetyrules.api import Policy
    from safetyrules.columnar.arrow_whatif import WhatIf, WhatIfBatch
    from safetyrules.columnar.kernel import ColumnarProgram
    from safetyrules.whatif.scenario import Scenario

CHANGE = "change"
COUNT = "count"
PATCH_SIDE = "patch"  # count rows of DataFrame mode that say how many enterprises a patch matched


def whatif_spec(base: Policy, scenario: Scenario, scenario_policy: Policy | None = None,
                limits: Limits = DEFAULT) -> WhatIf:
    """The scenario as the workers run it (`columnar.arrow_whatif.whatif_spec`): compiled programs, patches,
    the reason given for each rule's changes. `scenario_policy`: the base with the scenario's `rules_add`."""
    from safetyrules.columnar.arrow_whatif import whatif_spec as spec

    return spec(base, scenario, scenario_policy, limits)


def as_of_dates(start: dt.date | str, end: dt.date | str, step: str = "1d") -> list[dt.date]:
    """Days from `start` to `end` inclusive every `step` (`Nd`, `Nw`, or `m` for month-ends)."""
    from safetyrules.columnar.arrow_whatif import as_of_dates as dates

    return dates(start, end, step)


def _days(dates: Sequence[dt.date | str]) -> list[dt.date]:
    days = [_day(d) for d in dates]
    if not days:
        raise ValueError("no dates to evaluate on")
    return days


def _problem_type() -> pa.DataType:
    from safetyrules.columnar.arrow import REJECTED_SCHEMA

    return pa.list_(pa.struct([f for f in REJECTED_SCHEMA if f.name != "enterprise"]))


def _grouped_rejections(rejected: pa.Table) -> tuple[pa.Array, pa.Array]:
    """One (enterprise, problems) per rejected input row."""
    import polars as pl

    frame = pl.from_arrow(rejected)
    assert isinstance(frame, pl.DataFrame)
    grouped = frame.group_by("row", maintain_order=True).agg(
        pl.col("enterprise").drop_nulls().first(), pl.struct("row", "field", "code", "message").alias(REJECTED)) \
        .to_arrow()
    return grouped.column("enterprise"), grouped.column(REJECTED).cast(_problem_type())


def _union(schema: pa.Schema, n: int, given: Mapping[str, Any]) -> pa.Table:
    """`n` rows of `schema` with the columns `given` and nulls elsewhere."""
    return pa.Table.from_arrays([given[f.name].cast(f.type) if f.name in given else pa.nulls(n, f.type)
                                 for f in schema], schema=schema)


# ------------------------------------------------------------------------------------------ what-if: DataFrame

def whatif_schema() -> pa.Schema:
    """The rows of `whatif` (DataFrame mode): `as_of`, `enterprise`, then exactly one of `change` (a changed
    outcome: `CHANGES_SCHEMA` but the day and key), `count` (side, rule, outcome, n of a chunk; side `patch`:
    how many enterprises `patches[i]` matched) and `rejected` (a rejected input row's problems)."""
    from safetyrules.columnar.arrow_whatif import CHANGES_SCHEMA, COUNTS_SCHEMA

    change = pa.struct([f for f in CHANGES_SCHEMA if f.name not in ("as_of", "enterprise")])
    count = pa.struct([f for f in COUNTS_SCHEMA if f.name != "as_of"])
    return pa.schema([("as_of", pa.date32()), ("enterprise", pa.string()), (CHANGE, change), (COUNT, count),
                      (REJECTED, _problem_type())])


def _whatif_rows(found: WhatIfBatch, schema: pa.Schema, with_patches: bool) -> pa.Table:
    parts = []
    changes = found.changes
    if changes.num_rows:
        inner = schema.field(CHANGE).type
        parts.append(_union(schema, changes.num_rows, {
            "as_of": changes.column("as_of"), "enterprise": changes.column("enterprise"),
            CHANGE: pa.StructArray.from_arrays([changes.column(f.name).combine_chunks() for f in inner],
                                               fields=list(inner))}))
    counts = found.counts
    if with_patches:
        patches = pa.table({"as_of": pa.nulls(len(found.matched), pa.date32()),
                            "side": [PATCH_SIDE] * len(found.matched),
                            "rule": [f"patches[{i}]" for i in range(len(found.matched))],
                            "outcome": ["matched"] * len(found.matched), "n": pa.array(found.matched, pa.int64())})
        counts = pa.concat_tables([counts, patches.cast(counts.schema)])
    if counts.num_rows:
        inner = schema.field(COUNT).type
        parts.append(_union(schema, counts.num_rows, {
            "as_of": counts.column("as_of"),
            COUNT: pa.StructArray.from_arrays([counts.column(f.name).combine_chunks() for f in inner],
                                              fields=list(inner))}))
    if found.rejected.num_rows:
        who, problems = _grouped_rejections(found.rejected)
        parts.append(_union(schema, len(who), {"enterprise": who, REJECTED: problems}))
    return pa.concat_tables(parts) if parts else schema.empty_table()


def _map_whatif(batches: Iterator[pa.RecordBatch], shipped: _Shipped, dates: list[dt.date],
                numbering: _Numbering, chunk_rows: int, limits: Limits, schema: pa.Schema,
                ) -> Iterator[pa.RecordBatch]:
    _worker_setup()
    from pyspark import TaskContext

    from safetyrules.columnar.arrow_whatif import whatif_batch

    spec: WhatIf = shipped.load()
    context = TaskContext.get()
    row = numbering.offsets.get(context.partitionId() if context is not None else 0, 0)
    for chunk in _chunks(batches, chunk_rows):
        found = whatif_batch(spec, chunk, dates, limits=limits, first_row=row, first_rows=numbering.first_rows)
        row += chunk.num_rows
        yield from _whatif_rows(found, schema, bool(spec.patches)).to_batches()


def _stable(df: DataFrame, stable: bool | None) -> DataFrame:
    return df.localCheckpoint() if stable is False or (stable is None and _shuffled(df)) else df


def whatif(df: DataFrame, spec: WhatIf, dates: Sequence[dt.date | str], *, chunk_rows: int = CHUNK_ROWS,
           limits: Limits = DEFAULT, check_duplicates: bool = True, stable: bool | None = None) -> DataFrame:
    """DataFrame mode: base and scenario of `spec` (`whatif_spec`) over a DataFrame of nested rows on each of
    `dates`, lazily (`whatif_schema`'s rows). Write it once (or `cache()` it) and split what was written with
    `changes`, `whatif_counts`, `rejections` and `patch_matches`. Keys and row numbers as in `evaluate`."""
    days = _days(dates)
    df = _stable(df, stable)
    schema = whatif_schema()
    numbering = _number(df, spec.base.policy.contract.key, check_duplicates)
    func = functools.partial(_map_whatif, shipped=_ship(df.sparkSession, spec), dates=days, numbering=numbering,
                             chunk_rows=chunk_rows, limits=limits, schema=schema)
    return df.mapInArrow(func, _spark_schema(schema))


def changes(out: DataFrame) -> DataFrame:
    """The changed outcomes of `whatif`'s rows (the columns of `CHANGES_SCHEMA`)."""
    return out.where(F.col(CHANGE).isNotNull()).select("as_of", "enterprise", f"{CHANGE}.*")


def whatif_counts(out: DataFrame) -> DataFrame:
    """Enterprises per day, side (base, scenario), rule and outcome, over the whole input."""
    counts = out.where(F.col(COUNT).isNotNull() & (F.col(f"{COUNT}.side") != PATCH_SIDE))
    return counts.groupBy("as_of", F.col(f"{COUNT}.side").alias("side"), F.col(f"{COUNT}.rule").alias("rule"),
                          F.col(f"{COUNT}.outcome").alias("outcome")).agg(F.sum(f"{COUNT}.n").alias("n"))


def patch_matches(out: DataFrame) -> list[int]:
    """How many enterprises each of the scenario's patches matched (an action: runs a job)."""
    rows = (out.where(F.col(f"{COUNT}.side") == PATCH_SIDE)
            .groupBy(F.col(f"{COUNT}.rule").alias("rule")).agg(F.sum(f"{COUNT}.n").alias("n")).collect())
    found = {str(r["rule"]): int(r["n"]) for r in rows}
    return [found.get(f"patches[{i}]", 0) for i in range(len(found))]


# ------------------------------------------------------------------------------------------ what-if: batch mode

_WHATIF_FILE = pa.schema([("file", pa.string()), ("enterprises", pa.int64()), ("evaluated", pa.int64()),
                          ("rejected", pa.int64()), ("problems", pa.int64()), ("changes", pa.int64()),
                          ("matched", pa.list_(pa.int64())), ("seconds", pa.float64())])


@dataclass(frozen=True, slots=True)
class WhatIfSummary:
    """What a batch what-if did: per input file (path, enterprises read, evaluated, rejected, problems,
    changes, patch matches, seconds), and the counts over all files (`COUNTS_SCHEMA`)."""

    files: list[dict[str, Any]]
    counts: pa.Table
    dates: list[dt.date]

    @property
    def enterprises(self) -> int:
        return sum(int(f["enterprises"]) for f in self.files)

    @property
    def evaluated(self) -> int:
        return sum(int(f["evaluated"]) for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(int(f["rejected"]) for f in self.files)

    @property
    def problems(self) -> int:
        return sum(int(f["problems"]) for f in self.files)

    @property
    def changes(self) -> int:
        return sum(int(f["changes"]) for f in self.files)

    @property
    def matched(self) -> list[int]:
        per_file = [f["matched"] or [] for f in self.files]
        return [sum(m[i] for m in per_file) for i in range(max((len(m) for m in per_file), default=0))]

    def count(self, day: dt.date, side: str, rule: str, outcome: str = "violated") -> int:
        import pyarrow.compute as pc  # type: ignore[import-untyped]

        c = self.counts
        mask = pc.and_(pc.and_(pc.equal(c.column("as_of"), pa.scalar(day, pa.date32())),
                               pc.equal(c.column("side"), side)),
                       pc.and_(pc.equal(c.column("rule"), rule), pc.equal(c.column("outcome"), outcome)))
        return int(pc.sum(c.filter(mask).column("n")).as_py() or 0)


class _Parts:
    """The Parquet files a task writes under an output folder, renamed into place when whole (a retried task
    overwrites them)."""

    def __init__(self, output_dir: str, part: str, schemas: Mapping[str, pa.Schema]) -> None:
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        self.filesystem, out = _filesystem(output_dir)
        self.targets = {name: f"{out}/{name}/{part}.parquet" for name in schemas}
        self.writers = {name: pq.ParquetWriter(f"{self.targets[name]}.tmp", schema, filesystem=self.filesystem)
                        for name, schema in schemas.items()}

    def write(self, name: str, table: pa.Table) -> None:
        if table.num_rows:
            self.writers[name].write_table(table)

    def close(self) -> None:
        for name, writer in self.writers.items():
            writer.close()
            self.filesystem.move(f"{self.targets[name]}.tmp", self.targets[name])


def _whatif_files(batches: Iterator[pa.RecordBatch], files: Sequence[str], offsets: Sequence[int], output_dir: str,
                  shipped: _Shipped, dates: list[dt.date], first_rows: Mapping[str, int], chunk_rows: int,
                  limits: Limits) -> Iterator[pa.RecordBatch]:
    _worker_setup()
    import polars as pl

    from safetyrules.columnar.arrow import REJECTED_SCHEMA
    from safetyrules.columnar.arrow_whatif import CHANGES_SCHEMA, COUNTS_SCHEMA, whatif_batch

    spec: WhatIf = shipped.load()
    for batch in batches:
        for i in batch.column(0).to_pylist():
            start = time.perf_counter()
            row = offsets[i]
            counts = {"enterprises": 0, "evaluated": 0, "rejected": 0, "problems": 0, "changes": 0}
            matched = [0] * len(spec.patches)
            tallies: list[Any] = []
            parts = _Parts(output_dir, f"part-{i:05d}", {"changes": CHANGES_SCHEMA, "counts": COUNTS_SCHEMA,
                                                         REJECTED: REJECTED_SCHEMA})
            for part in _open(files[i]).iter_batches(batch_size=chunk_rows):
                found = whatif_batch(spec, part, dates, limits=limits, first_row=row, first_rows=first_rows)
                parts.write("changes", found.changes)
                parts.write(REJECTED, found.rejected)
                tallies.append(_frame(found.counts))
                row += part.num_rows
                counts["enterprises"] += part.num_rows
                counts["evaluated"] += found.evaluated
                counts["problems"] += found.rejected.num_rows
                counts["rejected"] += len(set(found.rejected.column("row").to_pylist()))
                counts["changes"] += found.changes.num_rows
                matched = [a + b for a, b in zip(matched, found.matched, strict=True)]
            if tallies:
                summed = pl.concat(tallies).group_by("as_of", "side", "rule", "outcome", maintain_order=True) \
                    .agg(pl.col("n").sum())
                parts.write("counts", summed.to_arrow().cast(COUNTS_SCHEMA))
            parts.close()
            yield pa.RecordBatch.from_pylist([{"file": files[i], **counts, "matched": matched,
                                               "seconds": time.perf_counter() - start}], schema=_WHATIF_FILE)


def _frame(table: pa.Table) -> Any:
    import polars as pl

    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _sum_counts(output_dir: str | Path, schema: pa.Schema, keys: Sequence[str]) -> pa.Table:
    """The count parts the tasks wrote, summed over the files (read on the driver: they are small)."""
    import polars as pl
    import pyarrow.parquet as pq

    filesystem, out = _filesystem(str(output_dir))
    table = pq.read_table(f"{out}/counts", filesystem=filesystem, schema=schema)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.group_by(*keys).agg(pl.col("n").sum()).sort(*keys).to_arrow().cast(schema)


def whatif_files(spark: SparkSession, input_dir: str | Path, output_dir: str | Path, spec: WhatIf,
                 dates: Sequence[dt.date | str], *, chunk_rows: int = CHUNK_ROWS, limits: Limits = DEFAULT,
                 check_duplicates: bool = True) -> WhatIfSummary:
    """Batch mode: one task per Parquet file of nested rows under `input_dir`; each reads its file in chunks and
    writes `output_dir/changes/part-NNNNN.parquet` (`CHANGES_SCHEMA`), `counts/part-NNNNN.parquet` (the file's
    counts per day, side, rule and outcome; sum them over the files) and `rejected/part-NNNNN.parquet`.
    Returns what each file gave and the counts summed (read back on the driver)."""
    from safetyrules.columnar.arrow_whatif import COUNTS_SCHEMA

    days = _days(dates)
    plan = _plan_files(spark, input_dir, spec.base.policy.contract.key, check_duplicates)
    filesystem, out = _filesystem(str(output_dir))
    for name in ("changes", "counts", REJECTED):
        filesystem.create_dir(f"{out}/{name}", recursive=True)
    run = functools.partial(_whatif_files, files=plan.files, offsets=plan.offsets, output_dir=str(output_dir),
                            shipped=_ship(spark, spec), dates=days, first_rows=plan.first_rows,
                            chunk_rows=chunk_rows, limits=limits)
    rows = plan.tasks.mapInArrow(run, _spark_schema(_WHATIF_FILE)).collect()
    files = sorted((r.asDict() for r in rows), key=lambda r: str(r["file"]))
    counts = _sum_counts(output_dir, COUNTS_SCHEMA, ["as_of", "side", "rule", "outcome"])
    return WhatIfSummary(files, counts, days)


# ------------------------------------------------------------------------------------------ timeline: DataFrame

def timeline_schema(program: ColumnarProgram, results: bool) -> pa.Schema:
    """The rows of `timeline`: `as_of`, `enterprise`, the rule columns of `output_schema` (with `results`),
    `count` (rule, outcome, n of a chunk on a day) and `rejected` — one of them set per row."""
    from safetyrules.columnar.arrow_whatif import TIMELINE_COUNTS_SCHEMA

    count = pa.struct([f for f in TIMELINE_COUNTS_SCHEMA if f.name != "as_of"])
    rules = [f for f in output_schema(program) if f.name not in ("enterprise", REJECTED)] if results else []
    return pa.schema([("as_of", pa.date32()), ("enterprise", pa.string()), *rules, (COUNT, count),
                      (REJECTED, _problem_type())])


def _map_timeline(batches: Iterator[pa.RecordBatch], shipped: _Shipped, dates: list[dt.date],
                  numbering: _Numbering, chunk_rows: int, limits: Limits, schema: pa.Schema, results: bool,
                  ) -> Iterator[pa.RecordBatch]:
    _worker_setup()
    from pyspark import TaskContext

    from safetyrules.columnar.arrow_whatif import prepare_arrow, timeline_batch

    program: ColumnarProgram = shipped.load()
    context = TaskContext.get()
    row = numbering.offsets.get(context.partitionId() if context is not None else 0, 0)
    inner = schema.field(COUNT).type
    for chunk in _chunks(batches, chunk_rows):
        prepared = prepare_arrow(program, chunk, limits=limits, first_row=row, first_rows=numbering.first_rows)
        row += chunk.num_rows
        if prepared.rejected.num_rows:
            who, problems = _grouped_rejections(prepared.rejected)
            yield from _union(schema, len(who), {"enterprise": who, REJECTED: problems}).to_batches()
        for day in timeline_batch(program, prepared, dates, results=results):
            c = day.counts
            yield from _union(schema, c.num_rows, {"as_of": c.column("as_of"), COUNT: pa.StructArray.from_arrays(
                [c.column(f.name).combine_chunks() for f in inner], fields=list(inner))}).to_batches()
            if day.results is not None and day.results.num_rows:
                r = day.results
                yield from _union(schema, r.num_rows, {n: r.column(n) for n in r.column_names}).to_batches()


def timeline(df: DataFrame, policy: Policy | ColumnarProgram, dates: Sequence[dt.date | str], *,
             params: Mapping[str, Any] | None = None, results: bool = False, chunk_rows: int = CHUNK_ROWS,
             limits: Limits = DEFAULT, check_duplicates: bool = True, stable: bool | None = None) -> DataFrame:
    """DataFrame mode: `policy` over a DataFrame of nested rows on each of `dates`, lazily (`timeline_schema`'s
    rows). Split what was written with `timeline_counts`, `timeline_results` (with `results=True`) and
    `rejections`."""
    program = _program(policy, params)
    days = _days(dates)
    df = _stable(df, stable)
    schema = timeline_schema(program, results)
    numbering = _number(df, program.policy.contract.key, check_duplicates)
    func = functools.partial(_map_timeline, shipped=_ship(df.sparkSession, program), dates=days,
                             numbering=numbering, chunk_rows=chunk_rows, limits=limits, schema=schema,
                             results=results)
    return df.mapInArrow(func, _spark_schema(schema))


def timeline_counts(out: DataFrame) -> DataFrame:
    """Enterprises per day, rule and outcome over the whole input (`TIMELINE_COUNTS_SCHEMA`)."""
    return out.where(F.col(COUNT).isNotNull()).groupBy(
        "as_of", F.col(f"{COUNT}.rule").alias("rule"), F.col(f"{COUNT}.outcome").alias("outcome")) \
        .agg(F.sum(f"{COUNT}.n").alias("n"))


def timeline_results(out: DataFrame) -> DataFrame:
    """The per-enterprise rows of a timeline run with `results=True`: `as_of`, `enterprise`, a struct per rule."""
    return out.where(F.col(COUNT).isNull() & F.col(REJECTED).isNull()).drop(COUNT, REJECTED)


# ------------------------------------------------------------------------------------------ timeline: batch mode

_TIMELINE_FILE = pa.schema([("file", pa.string()), ("days", pa.int64()), ("enterprises", pa.int64()),
                            ("evaluated", pa.int64()), ("rejected", pa.int64()), ("problems", pa.int64()),
                            ("seconds", pa.float64())])


@dataclass(frozen=True, slots=True)
class TimelineSummary:
    """What a batch timeline did: per task (file, days, enterprises, evaluated, rejected, problems, seconds)
    and the counts over all files (`TIMELINE_COUNTS_SCHEMA`)."""

    tasks: list[dict[str, Any]]
    counts: pa.Table
    dates: list[dt.date]

    def _first(self, name: str) -> int:  # the files' figures (every task of a file reads the same rows)
        seen: dict[str, int] = {}
        for t in self.tasks:
            seen.setdefault(str(t["file"]), int(t[name]))
        return sum(seen.values())

    @property
    def enterprises(self) -> int:
        return self._first("enterprises")

    @property
    def evaluated(self) -> int:
        return self._first("evaluated")

    @property
    def rejected(self) -> int:
        return self._first("rejected")

    @property
    def problems(self) -> int:
        return self._first("problems")


def _timeline_files(batches: Iterator[pa.RecordBatch], files: Sequence[str], offsets: Sequence[int],
                    output_dir: str, shipped: _Shipped, groups: list[list[dt.date]], first_rows: Mapping[str, int],
                    chunk_rows: int, limits: Limits, results: bool) -> Iterator[pa.RecordBatch]:
    _worker_setup()
    import polars as pl

    from safetyrules.columnar.arrow import REJECTED_SCHEMA
    from safetyrules.columnar.arrow_whatif import (
        TIMELINE_COUNTS_SCHEMA,
        prepare_arrow,
        timeline_batch,
        timeline_results_schema,
    )

    program: ColumnarProgram = shipped.load()
    for batch in batches:
        for task in batch.column(0).to_pylist():
            i, g = divmod(task, len(groups))
            dates = groups[g]
            start = time.perf_counter()
            row = offsets[i]
            counts = {"enterprises": 0, "evaluated": 0, "rejected": 0, "problems": 0}
            schemas = {"counts": TIMELINE_COUNTS_SCHEMA, REJECTED: REJECTED_SCHEMA}
            if results:
                schemas["results"] = timeline_results_schema(program)
            parts = _Parts(output_dir, f"part-{i:05d}-{g:04d}", schemas)
            tallies: list[Any] = []
            for part in _open(files[i]).iter_batches(batch_size=chunk_rows):
                prepared = prepare_arrow(program, part, limits=limits, first_row=row, first_rows=first_rows)
                if g == 0:  # the rejections of a file are written once, by its first group of days
                    parts.write(REJECTED, prepared.rejected)
                for day in timeline_batch(program, prepared, dates, results=results):
                    tallies.append(_frame(day.counts))
                    if day.results is not None:
                        parts.write("results", day.results)
                row += part.num_rows
                counts["enterprises"] += part.num_rows
                counts["evaluated"] += prepared.evaluated
                counts["problems"] += prepared.rejected.num_rows
                counts["rejected"] += len(set(prepared.rejected.column("row").to_pylist()))
            if tallies:
                summed = pl.concat(tallies).group_by("as_of", "rule", "outcome", maintain_order=True) \
                    .agg(pl.col("n").sum())
                parts.write("counts", summed.to_arrow().cast(TIMELINE_COUNTS_SCHEMA))
            parts.close()
            yield pa.RecordBatch.from_pylist([{"file": files[i], "days": len(dates), **counts,
                                               "seconds": time.perf_counter() - start}], schema=_TIMELINE_FILE)


def timeline_files(spark: SparkSession, input_dir: str | Path, output_dir: str | Path,
                   policy: Policy | ColumnarProgram, dates: Sequence[dt.date | str], *,
                   params: Mapping[str, Any] | None = None, results: bool = False, date_groups: int = 1,
                   chunk_rows: int = CHUNK_ROWS, limits: Limits = DEFAULT, check_duplicates: bool = True,
                   ) -> TimelineSummary:
    """Batch mode: `policy` over the nested Parquet files under `input_dir` on each of `dates`. One task per file
    and group of consecutive days (`date_groups`: more tasks than files when there are fewer files than cores;
    each group reads its file again); a task reads its file chunk by chunk and evaluates all its days over each
    chunk. Writes `output_dir/counts/part-NNNNN-GGGG.parquet` (`TIMELINE_COUNTS_SCHEMA`, per file and group: sum
    them), `rejected/part-NNNNN-0000.parquet` and, with `results`, `results/part-NNNNN-GGGG.parquet` (each
    day's compact results, `as_of` in front). Returns what each task did and the counts summed."""
    from safetyrules.columnar.arrow_whatif import TIMELINE_COUNTS_SCHEMA

    program = _program(policy, params)
    days = _days(dates)
    size = -(-len(days) // max(1, min(date_groups, len(days))))
    groups = [days[k:k + size] for k in range(0, len(days), size)]
    plan = _plan_files(spark, input_dir, program.policy.contract.key, check_duplicates, len(groups))
    filesystem, out = _filesystem(str(output_dir))
    for name in ("counts", REJECTED, *(("results",) if results else ())):
        filesystem.create_dir(f"{out}/{name}", recursive=True)
    run = functools.partial(_timeline_files, files=plan.files, offsets=plan.offsets, output_dir=str(output_dir),
                            shipped=_ship(spark, program), groups=groups, first_rows=plan.first_rows,
                            chunk_rows=chunk_rows, limits=limits, results=results)
    rows = plan.tasks.mapInArrow(run, _spark_schema(_TIMELINE_FILE)).collect()
    tasks = sorted((r.asDict() for r in rows), key=lambda r: str(r["file"]))
    counts = _sum_counts(output_dir, TIMELINE_COUNTS_SCHEMA, ["as_of", "rule", "outcome"])
    return TimelineSummary(tasks, counts, days)


# ------------------------------------------------------------------------------------------ sessions for the CLI

@contextlib.contextmanager
def cli_session(master: str) -> Iterator[SparkSession]:
    """The session a command runs on: the running one (tests, notebooks), else a new one on `master`, stopped
    at the end; a session that cannot start is a usage error."""
    from safetyrules.cli.common import Exit, fail
    from safetyrules.spark.core import session

    running = SparkSession.getActiveSession()
    try:
        spark = running or session(master, **{"spark.ui.showConsoleProgress": "false"})
    except Exception as e:  # no Java, a master that cannot be reached…
        fail(f"cannot start Spark ({master}): {e}", Exit.USAGE)
        raise
    if running is None:
        with contextlib.suppress(Exception):  # Spark Connect has no SparkContext
            spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        if running is None:
            spark.stop()


__all__ = ["CHANGE", "COUNT", "PATCH_SIDE", "TimelineSummary", "WhatIfSummary", "as_of_dates", "changes",
           "cli_session", "patch_matches", "timeline", "timeline_counts", "timeline_files", "timeline_results",
           "timeline_schema", "whatif", "whatif_counts", "whatif_files", "whatif_schema", "whatif_spec"]
