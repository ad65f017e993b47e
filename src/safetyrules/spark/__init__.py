"""The columnar engine on Apache Spark (`pip install 'safetyrules[spark]'`; docs/distributed.md).

    from safetyrules import load_policy
    from safetyrules import spark as sr
    spark = sr.session("local[2]")
    out = sr.evaluate(spark.read.parquet("province-nested/"), load_policy(), "2022-06-30")
    sr.accepted(out).write.parquet("results/")          # one row per enterprise, one struct per rule
    sr.rejections(out).write.parquet("rejected/")        # enterprise, row, field, code, message
    sr.evaluate_files(spark, "province-nested/", "out/", load_policy(), "2022-06-30")   # batch mode
    sr.whatif_files(spark, "province-nested/", "whatif/", sr.whatif_spec(policy, scenario), dates)  # what-if
    sr.timeline_files(spark, "province-nested/", "timeline/", policy, sr.as_of_dates("2020-01-01", "2022-12-31"))

Two ways to run:

- **DataFrame mode** (`evaluate`): a DataFrame of nested rows (`safetyrules.columnar.nested`: one row per
  enterprise, lists as arrays of structs) is mapped with `mapInArrow`; each Python worker evaluates its
  partition in chunks of `chunk_rows` enterprises (`columnar.arrow.evaluate_arrow`), never a whole partition at
  once. The compiled program is pickled once and broadcast. The result is a DataFrame with one row per input
  row: `enterprise`, one struct per rule, and `rejected` (null when the enterprise was evaluated; else its
  problems, and the rule columns are null). `accepted` and `rejections` split it.
- **batch mode** (`evaluate_files`): Spark only schedules one task per input Parquet file; the task reads its
  file in chunks with pyarrow, evaluates them and writes `results/part-NNNNN.parquet` and
  `rejected/part-NNNNN.parquet` itself. No rows pass through the JVM.

Both check keys across the whole input first (a key seen in two partitions or files is kept at its first row,
in input order, and rejected elsewhere, as the record loaders do) and number rows across the whole input.

What-if and timelines (`safetyrules.spark.whatif`): base and scenario of a what-if scenario on its dates, or one
policy on many dates, in one pass over the data; in each worker a chunk is read and validated once and the
dates are evaluated over it (`columnar.arrow_whatif`).

`import safetyrules` never imports pyspark; this module does (and polars only inside the workers, after
setting `POLARS_MAX_THREADS=1`: Spark runs one Python worker per core already).
"""

from safetyrules.spark.core import (
    CHUNK_ROWS,
    REJECTED,
    FilesSummary,
    accepted,
    evaluate,
    evaluate_files,
    input_files,
    long_form,
    nest,
    output_schema,
    rejections,
    run_cli,
    session,
)
from safetyrules.spark.whatif import (
    TimelineSummary,
    WhatIfSummary,
    as_of_dates,
    changes,
    patch_matches,
    timeline,
    timeline_counts,
    timeline_files,
    timeline_results,
    whatif,
    whatif_counts,
    whatif_files,
    whatif_spec,
)

__all__ = ["CHUNK_ROWS", "REJECTED", "FilesSummary", "TimelineSummary", "WhatIfSummary", "accepted", "as_of_dates",
           "changes", "evaluate", "evaluate_files", "input_files", "long_form", "nest", "output_schema",
           "patch_matches", "rejections", "run_cli", "session", "timeline", "timeline_counts", "timeline_files",
           "timeline_results", "whatif", "whatif_counts", "whatif_files", "whatif_spec"]
