"""The Spark evaluation itself: sessions, DataFrame mode, batch mode, platform tables and `eval --engine spark`
(re-exported by `safetyrules.spark`, whose docstring describes them)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
import pickle
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa  # type: ignore[import-untyped]
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DataType, StructType

from safetyrules.limits import DEFAULT, Limits

if TYPE_CHECKING:
    from safetyrules.api import Policy
    from safetyrules.columnar.kernel import ColumnarProgram

CHUNK_ROWS = 50_000  # enterprises per evaluation inside a worker (memory: one chunk's nested rows and results)
REJECTED = "rejected"
_PROGRAMS: dict[str, Any] = {}  # per worker process: unpickled programs by digest (workers are reused)


# ------------------------------------------------------------------------------------------ session

def session(master: str = "local[2]", app_name: str = "safetyrules", **conf: str) -> SparkSession:
    """A SparkSession set up for safetyrules: workers run this Python (`PYSPARK_PYTHON`, unless set), one polars
    thread per worker, the session time zone UTC, no UI. `conf` adds or overrides Spark settings (use
    `spark.driver.memory` etc. with their dotted names through a dict: `session(**{"spark.driver.memory": "4g"})`)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    settings = {
        "spark.ui.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.executorEnv.POLARS_MAX_THREADS": "1",
        "spark.executorEnv.PYSPARK_PYTHON": os.environ["PYSPARK_PYTHON"],
        # rows per Arrow batch sent to a worker: Spark's conversion of nested rows to Arrow grows faster than
        # the batch (100,000 nested enterprises: 17 s at 10,000 rows, 6 s at 1,000); workers regroup them
        "spark.sql.execution.arrow.maxRecordsPerBatch": "1000",
        **conf,
    }
    builder = SparkSession.builder.master(master).appName(app_name)
    for k, v in settings.items():
        builder = builder.config(k, v)
    return builder.getOrCreate()


# ------------------------------------------------------------------------------------------ programs

def _program(policy: Policy | ColumnarProgram, params: Mapping[str, Any] | None) -> ColumnarProgram:
    from safetyrules.columnar import ColumnarProgram, compile_policy
    from safetyrules.engine.params import ParamTable

    if isinstance(policy, ColumnarProgram):
        return policy if not params else policy.variant(params, policy.disabled)
    return compile_policy(policy.program, ParamTable(policy.program, params))


def _day(as_of: dt.date | str) -> dt.date:
    return as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(as_of)


@dataclass(frozen=True, slots=True)
class _Shipped:
    """A compiled program as the workers get it: pickled once, broadcast when the session can, with a digest
    that names it in each worker's cache."""

    digest: str
    payload: bytes | None  # in the closure (Spark Connect: no broadcast)
    broadcast: Any  # a pyspark Broadcast of the payload, or None

    def load(self) -> Any:
        program = _PROGRAMS.get(self.digest)
        if program is None:
            data = self.payload if self.payload is not None else self.broadcast.value
            program = pickle.loads(data)
            _PROGRAMS.clear()  # one program per worker at a time: a new run replaces the last one
            _PROGRAMS[self.digest] = program
        return program


def _ship(spark: SparkSession, program: Any) -> _Shipped:
    payload = pickle.dumps(program, protocol=pickle.HIGHEST_PROTOCOL)
    digest = hashlib.sha256(payload).hexdigest()
    try:
        return _Shipped(digest, None, spark.sparkContext.broadcast(payload))
    except Exception:  # Spark Connect has no SparkContext: the payload travels with the function
        return _Shipped(digest, payload, None)


def _worker_setup() -> None:
    """In a Python worker, before polars is first imported: one polars thread (Spark runs a worker per core)."""
    os.environ.setdefault("POLARS_MAX_THREADS", "1")


# ------------------------------------------------------------------------------------------ schemas

def _spark_schema(schema: pa.Schema) -> StructType:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def output_schema(program: ColumnarProgram) -> pa.Schema:
    """The Arrow schema of `evaluate`'s rows: the compact results and `rejected`."""
    from safetyrules.columnar.arrow import REJECTED_SCHEMA, result_schema

    problem = pa.struct([f for f in REJECTED_SCHEMA if f.name != "enterprise"])
    return result_schema(program).append(pa.field(REJECTED, pa.list_(problem)))


# ------------------------------------------------------------------------------------------ global checks

@dataclass(frozen=True, slots=True)
class _Numbering:
    """Row numbers across the whole input: each partition's first row, and the first row of every key that
    occurs more than once."""

    offsets: dict[int, int]
    first_rows: dict[str, int]


def _number(df: DataFrame, key: str, check_duplicates: bool) -> _Numbering:
    """Two small jobs over the key column only: rows per partition, then the keys seen more than once with the
    position of their first row (`monotonically_increasing_id` is the partition index << 33 plus the row's
    index in its partition: its least value is the first row in input order)."""
    counts = df.select(F.spark_partition_id().alias("p")).groupBy("p").count().collect()
    offsets: dict[int, int] = {}
    total = 0
    for row in sorted(counts, key=lambda r: int(r["p"])):
        offsets[int(row["p"])] = total
        total += int(row["count"])
    first_rows: dict[str, int] = {}
    if check_duplicates and key in df.columns:
        k = F.col(key).cast("string")
        repeated = (df.select(k.alias("k"), F.monotonically_increasing_id().alias("pos"))
                    .where(F.col("k").isNotNull() & (F.trim(F.col("k")) != ""))
                    .groupBy("k").agg(F.count(F.lit(1)).alias("n"), F.min("pos").alias("first"))
                    .where(F.col("n") > 1).select("k", "first").collect())
        for row in repeated:
            pos = int(row["first"])
            first_rows[str(row["k"])] = offsets.get(pos >> 33, 0) + (pos & ((1 << 33) - 1))
    return _Numbering(offsets, first_rows)


# ------------------------------------------------------------------------------------------ DataFrame mode

def _chunks(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Incoming batches gathered into tables of about `rows` rows (never a whole partition)."""
    buffer: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        buffer.append(batch)
        held += batch.num_rows
        if held >= rows:
            yield pa.Table.from_batches(buffer)
            buffer, held = [], 0
    if buffer:
        yield pa.Table.from_batches(buffer)


def _map_batches(batches: Iterator[pa.RecordBatch], shipped: _Shipped, as_of: dt.date, numbering: _Numbering,
                 chunk_rows: int, limits: Limits, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The function `mapInArrow` runs in each Python worker over one partition."""
    _worker_setup()
    from pyspark import TaskContext

    from safetyrules.columnar.arrow import evaluate_arrow

    program: ColumnarProgram = shipped.load()
    context = TaskContext.get()
    row = numbering.offsets.get(context.partitionId() if context is not None else 0, 0)
    for chunk in _chunks(batches, chunk_rows):
        results, rejected = evaluate_arrow(program, chunk, as_of, limits=limits, first_row=row,
                                           first_rows=numbering.first_rows)
        row += chunk.num_rows
        yield from _combined(results, rejected, schema).to_batches()


def _combined(results: pa.Table, rejected: pa.Table, schema: pa.Schema) -> pa.Table:
    """Results rows (`rejected` null) and one row per rejected input row (its problems; rule columns null)."""
    evaluated = results.append_column(REJECTED, pa.nulls(results.num_rows, schema.field(REJECTED).type))
    if rejected.num_rows == 0:
        return evaluated.cast(schema)
    import polars as pl

    frame = pl.from_arrow(rejected)
    assert isinstance(frame, pl.DataFrame)
    grouped = frame.group_by("row", maintain_order=True).agg(
        pl.col("enterprise").drop_nulls().first(), pl.struct("row", "field", "code", "message").alias(REJECTED)) \
        .to_arrow()
    n = grouped.num_rows
    columns = [grouped.column("enterprise"), *(pa.nulls(n, f.type) for f in schema if f.name not in
                                               ("enterprise", REJECTED)), grouped.column(REJECTED)]
    problems = pa.Table.from_arrays([c.cast(f.type) for c, f in zip(columns, schema, strict=True)], schema=schema)
    return pa.concat_tables([evaluated.cast(schema), problems])


def _shuffled(df: DataFrame) -> bool:
    """Whether the DataFrame's rows come out of a shuffle (or it cannot be told): then which partition holds a
    row, and where, may change from one job to the next."""
    try:
        plan = str(df._jdf.queryExecution().executedPlan().toString())
    except Exception:  # Spark Connect: no plan to read
        return True
    return "Exchange" in plan


def evaluate(df: DataFrame, policy: Policy | ColumnarProgram, as_of: dt.date | str, *,
             params: Mapping[str, Any] | None = None, chunk_rows: int = CHUNK_ROWS, limits: Limits = DEFAULT,
             check_duplicates: bool = True, stable: bool | None = None) -> DataFrame:
    """Evaluate a DataFrame of nested rows (see the module docstring); lazily, like any Spark transformation,
    after two small jobs over the key column (rows per partition, repeated keys).

    Row numbers and "the first row of a key" are positions in the DataFrame's partitions, read by those jobs
    and again by the evaluation: they must see the same partitions. A DataFrame read from files (or made from
    local data) does; one that comes out of a shuffle (`repartition`, a join, a group) may not, and is first
    materialized with `localCheckpoint()` (`stable=None`: decided from its plan; `True`: trust it; `False`:
    always checkpoint)."""
    program = _program(policy, params)
    spark = df.sparkSession
    if stable is False or (stable is None and _shuffled(df)):
        df = df.localCheckpoint()
    schema = output_schema(program)
    numbering = _number(df, program.policy.contract.key, check_duplicates)
    func = functools.partial(_map_batches, shipped=_ship(spark, program), as_of=_day(as_of), numbering=numbering,
                             chunk_rows=chunk_rows, limits=limits, schema=schema)
    return df.mapInArrow(func, _spark_schema(schema))


def accepted(out: DataFrame) -> DataFrame:
    """The evaluated enterprises of `evaluate`'s result: `enterprise` and one struct per rule."""
    return out.where(F.col(REJECTED).isNull()).drop(REJECTED)


def rejections(out: DataFrame) -> DataFrame:
    """The problems of `evaluate`'s result, one row each: enterprise, row, field, code, message."""
    problem = F.explode(F.col(REJECTED)).alias("p")
    return out.where(F.col(REJECTED).isNotNull()).select("enterprise", problem) \
        .select("enterprise", "p.row", "p.field", "p.code", "p.message")


def long_form(results: DataFrame, policy: Policy | ColumnarProgram) -> DataFrame:
    """The long form of compact results (one row per enterprise and rule, the columns of `ColumnarProgram.run`)."""
    program = _program(policy, None)
    rows = [F.struct(F.lit(r.name).alias("rule"),
                     F.array(*(F.lit(i) for i in r.implements)).cast("array<string>").alias("implements"),
                     *(F.col(r.name)[f].alias(f) for f in ("outcome", "due_on", "days_overdue", "days_remaining",
                                                           "delay_days", "listed_until")))
            for r in program.declared]
    return results.select("enterprise", F.inline(F.array(*rows)))


# ------------------------------------------------------------------------------------------ batch mode

@dataclass(frozen=True, slots=True)
class FilesSummary:
    """What a batch run did: per input file (path, enterprises read, evaluated, rejected, problems, seconds)."""

    files: list[dict[str, Any]]

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


_FILE_SUMMARY = pa.schema([("file", pa.string()), ("enterprises", pa.int64()), ("evaluated", pa.int64()),
                           ("rejected", pa.int64()), ("problems", pa.int64()), ("seconds", pa.float64())])
_KEYS = pa.schema([("k", pa.string()), ("row", pa.int64())])


def _filesystem(path: str) -> tuple[Any, str]:
    from pyarrow import fs

    if "://" in path:
        return fs.FileSystem.from_uri(path)  # type: ignore[no-any-return]
    return fs.LocalFileSystem(), str(Path(path).resolve())


def input_files(input_dir: str | Path) -> list[str]:
    """The Parquet files of an input (a file, or a folder searched recursively), in name order; local paths or
    URIs pyarrow knows (`s3://…`, `hdfs://…`)."""
    from pyarrow import fs

    filesystem, root = _filesystem(str(input_dir))
    info = filesystem.get_file_info(root)
    if info.type == fs.FileType.File:
        found = [root]
    else:
        found = sorted(i.path for i in filesystem.get_file_info(fs.FileSelector(root, recursive=True))
                       if i.type == fs.FileType.File and i.path.endswith(".parquet")
                       and not Path(i.path).name.startswith(("_", ".")))
    prefix = str(input_dir).split("://")[0] + "://" if "://" in str(input_dir) else ""
    return [prefix + p if prefix and not p.startswith(prefix) else p for p in found]


def _open(path: str) -> Any:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    filesystem, local = _filesystem(path)
    return pq.ParquetFile(filesystem.open_input_file(local))


def _keys_of_files(batches: Iterator[pa.RecordBatch], files: Sequence[str], offsets: Sequence[int],
                   key: str) -> Iterator[pa.RecordBatch]:
    """Each task reads the key column of its file: (key, row across the whole input)."""
    for batch in batches:
        for i in batch.column(0).to_pylist():
            parquet = _open(files[i])
            if key not in parquet.schema_arrow.names:
                continue
            row = offsets[i]
            for part in parquet.iter_batches(batch_size=CHUNK_ROWS, columns=[key]):
                ids = part.column(0).cast(pa.string())
                yield pa.RecordBatch.from_arrays([ids, pa.array(range(row, row + part.num_rows), pa.int64())],
                                                 schema=_KEYS)
                row += part.num_rows


def _evaluate_files(batches: Iterator[pa.RecordBatch], files: Sequence[str], offsets: Sequence[int],
                    output_dir: str, shipped: _Shipped, as_of: dt.date, first_rows: Mapping[str, int],
                    chunk_rows: int, limits: Limits) -> Iterator[pa.RecordBatch]:
    """Each task evaluates its file chunk by chunk and writes its results and rejections itself."""
    _worker_setup()
    import pyarrow.parquet as pq

    from safetyrules.columnar.arrow import REJECTED_SCHEMA, evaluate_arrow, result_schema

    program: ColumnarProgram = shipped.load()
    filesystem, out = _filesystem(output_dir)
    for batch in batches:
        for i in batch.column(0).to_pylist():
            start = time.perf_counter()
            parquet = _open(files[i])
            row = offsets[i]
            counts = {"enterprises": 0, "evaluated": 0, "rejected": 0, "problems": 0}
            targets = {name: f"{out}/{name}/part-{i:05d}.parquet" for name in ("results", REJECTED)}
            temporary = {name: f"{t}.tmp" for name, t in targets.items()}  # renamed when whole: retries overwrite
            with pq.ParquetWriter(temporary["results"], result_schema(program), filesystem=filesystem) as results_out, \
                    pq.ParquetWriter(temporary[REJECTED], REJECTED_SCHEMA, filesystem=filesystem) as rejected_out:
                for part in parquet.iter_batches(batch_size=chunk_rows):
                    results, rejected = evaluate_arrow(program, part, as_of, limits=limits, first_row=row,
                                                       first_rows=first_rows)
                    results_out.write_table(results)
                    rejected_out.write_table(rejected)
                    row += part.num_rows
                    counts["enterprises"] += part.num_rows
                    counts["evaluated"] += results.num_rows
                    counts["problems"] += rejected.num_rows
                    counts["rejected"] += len(set(rejected.column("row").to_pylist()))
            for name, target in targets.items():
                filesystem.move(temporary[name], target)
            yield pa.RecordBatch.from_pylist([{"file": files[i], **counts, "seconds": time.perf_counter() - start}],
                                             schema=_FILE_SUMMARY)


@dataclass(frozen=True, slots=True)
class _FilesPlan:
    """The input files of a batch run, the row number of each file's first row, the first row of every key
    seen more than once across them, and the Spark job's tasks (one row, one task per file)."""

    files: list[str]
    offsets: list[int]
    first_rows: dict[str, int]
    tasks: DataFrame


def _plan_files(spark: SparkSession, input_dir: str | Path, key: str, check_duplicates: bool,
                tasks_per_file: int = 1) -> _FilesPlan:
    files = input_files(input_dir)
    if not files:
        raise FileNotFoundError(f"no Parquet files in {input_dir}")
    offsets, total = [], 0
    for f in files:
        offsets.append(total)
        total += int(_open(f).metadata.num_rows)
    first_rows: dict[str, int] = {}
    if check_duplicates:
        by_file = spark.range(len(files), numPartitions=len(files))
        read = functools.partial(_keys_of_files, files=files, offsets=offsets, key=key)
        repeated = (by_file.mapInArrow(read, _spark_schema(_KEYS)).where(F.col("k").isNotNull()
                                                                          & (F.trim(F.col("k")) != ""))
                    .groupBy("k").agg(F.count(F.lit(1)).alias("n"), F.min("row").alias("first"))
                    .where(F.col("n") > 1).collect())
        first_rows = {str(r["k"]): int(r["first"]) for r in repeated}
    n = len(files) * tasks_per_file
    return _FilesPlan(files, offsets, first_rows, spark.range(n, numPartitions=n))


def evaluate_files(spark: SparkSession, input_dir: str | Path, output_dir: str | Path,
                   policy: Policy | ColumnarProgram, as_of: dt.date | str, *, params: Mapping[str, Any] | None = None,
                   chunk_rows: int = CHUNK_ROWS, limits: Limits = DEFAULT, check_duplicates: bool = True,
                   ) -> FilesSummary:
    """Batch mode (see the module docstring): one task per Parquet file of nested rows under `input_dir`, each
    writing `output_dir/results/part-NNNNN.parquet` (compact results) and `output_dir/rejected/part-NNNNN.parquet`
    (`columnar.arrow.REJECTED_SCHEMA`). Paths must be readable and writable from every executor (a shared
    file system, HDFS or an object store for a cluster). Returns what each file gave."""
    program = _program(policy, params)
    plan = _plan_files(spark, input_dir, program.policy.contract.key, check_duplicates)
    files, offsets, first_rows, tasks = plan.files, plan.offsets, plan.first_rows, plan.tasks
    filesystem, out = _filesystem(str(output_dir))
    for name in ("results", REJECTED):
        filesystem.create_dir(f"{out}/{name}", recursive=True)
    run = functools.partial(_evaluate_files, files=files, offsets=offsets, output_dir=str(output_dir),
                            shipped=_ship(spark, program), as_of=_day(as_of), first_rows=first_rows,
                            chunk_rows=chunk_rows, limits=limits)
    rows = tasks.mapInArrow(run, _spark_schema(_FILE_SUMMARY)).collect()
    return FilesSummary(sorted((r.asDict() for r in rows), key=lambda r: str(r["file"])))


# ------------------------------------------------------------------------------------------ platform tables

def nest(enterprises: DataFrame, lists: Mapping[str, DataFrame], policy: Policy | None = None, *,
         link: str | None = None, order_by: Mapping[str, str] | None = None) -> DataFrame:
    """Nested rows from flat platform tables keyed by the subject's key (the credit code `id` for 附件4):
    `enterprises` has one row per enterprise (top-level fields as columns, objects as struct columns); each of
    `lists` (list field → DataFrame) has the key in column `link` (default `<subject>_<key>`: `enterprise_id`)
    and the item's fields as columns (a nested object of an item as a struct column; a list of plain values: one
    value column besides the key and the order). Items are gathered with `collect_list`, ordered by
    `order_by[field]` when given (else in the order Spark meets them); an enterprise without rows gets `[]` (the
    table says it has none); a list not given is absent (unknown). Lists inside objects (`risk_control.levels`)
    go in the enterprises' struct columns."""
    from safetyrules.columnar.nested import nested_schema
    from safetyrules.columnar.tables import layout_for
    from safetyrules.facts.contract import builtin_contract

    contract = policy.contract if policy is not None else builtin_contract()
    key = contract.key
    link = link or f"{contract.subject}_{key}"
    target = _spark_schema(nested_schema(layout_for(contract)))
    out = enterprises
    for name, table in lists.items():
        if "." in name or name not in target.fieldNames():
            raise ValueError(f"`{name}` is not a top-level list field of {contract.subject}")
        field_type = target[name].dataType
        assert isinstance(field_type, ArrayType)
        order = (order_by or {}).get(name)
        columns = [c for c in table.columns if c != link]  # the order column too, when it is an item field
        if isinstance(field_type.elementType, StructType):
            item: Column = F.struct(*columns)  # columns the layout does not know are ignored when read
        else:
            item = F.col(next(c for c in columns if c != order))
        if order is not None:
            gathered = F.transform(F.sort_array(F.collect_list(F.struct(F.col(order).alias("o"), item.alias("v")))),
                                   lambda x: x["v"])
        else:
            gathered = F.collect_list(item)
        items = table.groupBy(F.col(link).alias("_link")).agg(gathered.alias("_items"))
        empty: DataType = items.schema["_items"].dataType
        out = (out.join(items, out[key] == items["_link"], "left")
               .withColumn(name, F.coalesce(F.col("_items"), F.array().cast(empty))).drop("_link", "_items"))
    return out


# ------------------------------------------------------------------------------------------ the CLI

def run_cli(policy: Policy, overrides: Mapping[str, Any], day: dt.date, facts: Path, master: str,
            out_dir: Path) -> int:
    """`safetyrules eval --engine spark`: batch mode over nested Parquet (a file or a folder of them); a folder of
    flat tables (`enterprises.parquet`…) or a record file is converted to nested Parquet first, in this process.
    Writes `out_dir/results/` and `out_dir/rejected/`; returns the number of enterprises rejected."""
    import tempfile

    from safetyrules.cli.common import Exit, err, fail
    from safetyrules.facts.errors import FactsFileError

    with tempfile.TemporaryDirectory(prefix="safetyrules-spark-") as scratch:
        try:
            source, refused = _nested_input(policy, facts, Path(scratch))
        except (FactsFileError, OSError) as e:
            fail(f"{facts}: {e}", Exit.BAD_INPUT)
        running = SparkSession.getActiveSession()  # in a process that has one (tests, notebooks): use it
        try:
            spark = running or session(master, **{"spark.ui.showConsoleProgress": "false"})
        except Exception as e:  # no Java, a master that cannot be reached…
            fail(f"cannot start Spark ({master}): {e}", Exit.USAGE)
        if running is None:
            with contextlib.suppress(Exception):  # Spark Connect has no SparkContext
                spark.sparkContext.setLogLevel("ERROR")
        try:
            start = time.perf_counter()
            summary = evaluate_files(spark, source, out_dir, policy, day, params=dict(overrides))
        finally:
            if running is None:
                spark.stop()
    err.print(f"spark ({master}): {summary.enterprises:,} enterprises in {len(summary.files)} files, "
              f"{summary.evaluated:,} evaluated, {summary.rejected:,} rejected ({summary.problems:,} problems) "
              f"in {time.perf_counter() - start:.1f} s; results in {out_dir / 'results'}, rejections in "
              f"{out_dir / REJECTED}", markup=False)
    return summary.rejected + refused


def _nested_input(policy: Policy, facts: Path, scratch: Path) -> tuple[Path, int]:
    """The nested Parquet to run over, and how many records were refused while reading a record file."""
    from safetyrules.columnar import FactTables
    from safetyrules.columnar.nested import write_nested_parquet
    from safetyrules.columnar.tables import ROOT_FILE, layout_for

    layout = layout_for(policy.contract)
    if facts.is_dir() and (facts / f"{ROOT_FILE}.parquet").exists():  # flat tables: converted (validated later)
        path = scratch / "facts.parquet"
        write_nested_parquet(FactTables.read_parquet(facts, layout), path)
        return path, 0
    if facts.is_dir() or facts.suffix == ".parquet":
        return facts, 0
    import pyarrow.parquet as pq

    from safetyrules.cli.common import err, read_facts
    from safetyrules.columnar.nested import nested_schema, to_nested

    source, records = read_facts(facts, contract=policy.contract)
    path = scratch / "facts.parquet"
    with pq.ParquetWriter(str(path), nested_schema(layout)) as writer:
        batch: list[dict[str, Any]] = []
        for loaded in records:
            batch.append(loaded.record)
            if len(batch) == CHUNK_ROWS:
                writer.write_table(to_nested(FactTables.from_records(batch, layout)))
                batch = []
        if batch:
            writer.write_table(to_nested(FactTables.from_records(batch, layout)))
    err.print(source.report.summary(), markup=False)
    return path, source.report.rejected


__all__ = ["CHUNK_ROWS", "REJECTED", "FilesSummary", "accepted", "evaluate", "evaluate_files", "input_files",
           "long_form", "nest", "output_schema", "rejections", "run_cli", "session"]
