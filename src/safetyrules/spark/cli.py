"""The Spark what-if and timeline commands (docs/distributed.md).

- `safetyrules whatif SCENARIO --engine spark --facts PATH [--master local[2]] [--out DIR]`: `run_whatif_cli`;
- `python -m safetyrules.spark timeline --facts PATH --from DATE --to DATE [--step 1d] --out DIR`: `timeline_command`.

Both run the batch mode over nested Parquet (a record file or a folder of flat tables is converted first, in
this process, as `eval --engine spark` does), write Parquet under the output folder and print a summary:
Chinese with English beside it, obligations by catalogue id and title.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from safetyrules.spark.core import REJECTED, _nested_input
from safetyrules.spark.whatif import cli_session, timeline_files, whatif_files, whatif_spec

if TYPE_CHECKING:
    from safetyrules.api import Policy, RuleInfo
    from safetyrules.whatif.scenario import Scenario

SHOWN = 10  # changes listed on the terminal


def _obligation(rule: RuleInfo) -> str:
    ids = ", ".join(rule.implements)
    return f"{ids} {rule.title.zh} / {rule.title.en}" if ids else f"{rule.title.zh} / {rule.title.en}"


def run_whatif_cli(base: Policy, scenario_policy: Policy, scenario: Scenario, facts: Path, dates: list[dt.date],
                   master: str, out_dir: Path) -> int:
    """`safetyrules whatif --engine spark`: base and scenario on every date in one Spark job (batch mode), the
    Parquet results under `out_dir` (changes/, counts/, rejected/), the summary on the terminal. Returns how
    many enterprises were rejected (validation, patches that break the contract, records refused when read)."""
    from safetyrules.cli.common import Exit, err, fail, out
    from safetyrules.engine.results import OUTCOME_ZH, Outcome
    from safetyrules.facts.errors import FactsFileError
    from safetyrules.whatif.run import _unmatched
    from safetyrules.whatif.scenario import ScenarioError

    try:
        spec = whatif_spec(base, scenario, scenario_policy)
    except ScenarioError as e:
        fail(str(e), Exit.BAD_INPUT)
        raise
    with tempfile.TemporaryDirectory(prefix="safetyrules-spark-") as scratch:
        try:
            source, refused = _nested_input(base, facts, Path(scratch))
        except (FactsFileError, OSError) as e:
            fail(f"{facts}: {e}", Exit.BAD_INPUT)
            raise
        start = time.perf_counter()
        with cli_session(master) as spark:
            try:
                summary = whatif_files(spark, source, out_dir, spec, dates)
            except FileNotFoundError as e:
                fail(str(e), Exit.BAD_INPUT)
                raise
    seconds = time.perf_counter() - start
    last = dates[-1]
    rules = scenario_policy.rules()
    table = Table(title=f"情景 scenario「{scenario.name}」— 截至 as of {last}：违反 violated，"
                        "基准 base → 情景 scenario", title_justify="left")
    for head in ("义务 obligation", "基准 base", "情景 scenario", "Δ"):
        table.add_column(head)
    for rule in rules:
        b = summary.count(last, "base", rule.name)
        s = summary.count(last, "scenario", rule.name)
        if b or s:
            table.add_row(_obligation(rule), str(b), str(s),
                          f"[{'red' if s > b else 'green'}]{s - b:+d}[/]" if s != b else "0")
    out.print(table)
    out.print(f"结果变化 outcome changes: {summary.changes:,} (enterprise, obligation, date) — "
              f"{out_dir / 'changes'}", markup=False)
    by_name = {r.name: r for r in rules}
    shown = _first_changes(out_dir / "changes", SHOWN)
    for c in shown:
        rule = by_name[c["rule"]]
        before, after = Outcome(c["base"]), Outcome(c["scenario"])
        out.print(f"  {c['as_of']} {c['enterprise']} {c['name']}  {_obligation(rule)}: "
                  f"{OUTCOME_ZH[before]} {before.value} → {OUTCOME_ZH[after]} {after.value}  ({c['because']})",
                  markup=False)
    for i, n in enumerate(summary.matched):
        if n == 0:
            warning = _unmatched(i, scenario.patches[i].where, base)
            err.print("[yellow]warning[/yellow] ", end="")
            err.print(f"{scenario.file or scenario.name}: {warning}", markup=False)
    rejected = summary.rejected + refused
    err.print(f"spark ({master}): {summary.enterprises:,} enterprises in {len(summary.files)} files × {len(dates)} "
              f"date(s), {summary.evaluated:,} evaluated, {summary.rejected:,} rejected ({summary.problems:,} "
              f"problems) in {seconds:.1f} s; 拒绝 rejections in {out_dir / REJECTED}, 计数 counts in "
              f"{out_dir / 'counts'}", markup=False)
    if refused:
        err.print(f"{refused:,} records refused when {facts} was read (listed above)", markup=False)
    return rejected


def _first_changes(folder: Path, n: int) -> list[dict[str, Any]]:
    """The first `n` changes written (files in name order), read without loading them all."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    found: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.parquet")):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=n):
            found.extend(batch.to_pylist()[: n - len(found)])
            if len(found) >= n:
                return found
    return found


@click.group()
def main() -> None:
    """safetyrules on Apache Spark: commands that have no other engine (docs/distributed.md)."""


@main.command("timeline")
@click.option("--facts", type=click.Path(path_type=Path), required=True,
              help="Nested Parquet (a file or a folder of them), a folder of flat tables or a record file.")
@click.option("--from", "start", required=True, help="The first as-of date (YYYY-MM-DD).")
@click.option("--to", "end", required=True, help="The last as-of date (YYYY-MM-DD), included.")
@click.option("--step", default="1d", show_default=True, help="Nd (every N days), Nw (weeks) or m (month-ends).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder for counts/, rejected/ (and results/ with --results).")
@click.option("--results", is_flag=True, help="Also write each day's outcomes per enterprise (large: days × "
              "enterprises rows).")
@click.option("--policy", "policy_paths", multiple=True, type=click.Path(path_type=Path),
              help="Policy files or folders (default: the bundled 附件4 policy).")
@click.option("--param", "params", multiple=True, help="NAME=VALUE: override a param (repeatable).")
@click.option("--master", default="local[2]", show_default=True, help="The Spark master.")
@click.option("--date-groups", default=1, show_default=True, type=click.IntRange(1),
              help="Tasks per file, each with a run of consecutive days (when there are fewer files than cores).")
def timeline_command(facts: Path, start: str, end: str, step: str, out_dir: Path, results: bool,
                     policy_paths: tuple[Path, ...], params: tuple[str, ...], master: str, date_groups: int) -> None:
    """One population on many as-of dates in one Spark job: counts per day, obligation and outcome."""
    from safetyrules.api import bundled_policy_path
    from safetyrules.cli.common import Exit, check_output, err, fail, load_policy_or_exit, out, parse_params
    from safetyrules.columnar.arrow_whatif import as_of_dates
    from safetyrules.facts.errors import FactsFileError

    check_output(out_dir, folder=True)
    policy = load_policy_or_exit(policy_paths or (bundled_policy_path(),))
    overrides = parse_params(params, policy)
    try:
        dates = as_of_dates(start, end, step)
    except ValueError as e:
        fail(f"--from/--to/--step: {e}", Exit.USAGE)
        return
    if not dates:
        fail(f"--from {start} --to {end}: no dates", Exit.USAGE)
    with tempfile.TemporaryDirectory(prefix="safetyrules-spark-") as scratch:
        try:
            source, refused = _nested_input(policy, facts, Path(scratch))
        except (FactsFileError, OSError) as e:
            fail(f"{facts}: {e}", Exit.BAD_INPUT)
            return
        began = time.perf_counter()
        with cli_session(master) as spark:
            summary = timeline_files(spark, source, out_dir, policy, dates, params=overrides, results=results,
                                     date_groups=date_groups)
    seconds = time.perf_counter() - began
    counts = summary.counts.to_pylist()
    violated: dict[dt.date, int] = Counter()
    for row in counts:
        if row["outcome"] == "violated":
            violated[row["as_of"]] += int(row["n"])
    table = Table(title=f"时间线 timeline {dates[0]} … {dates[-1]} ({len(dates)} 天 days, {step})：违反 violations",
                  title_justify="left")
    for head in ("截至 as of", "违反 violated"):
        table.add_column(head)
    shown = dates if len(dates) <= 12 else [*dates[:6], *dates[-6:]]
    for day in shown:
        table.add_row(str(day), f"{violated.get(day, 0):,}")
    out.print(table)
    err.print(f"spark ({master}): {summary.enterprises:,} enterprises × {len(dates):,} dates, {summary.evaluated:,} "
              f"evaluated, {summary.rejected:,} rejected ({summary.problems:,} problems) in {seconds:.1f} s; "
              f"计数 counts in {out_dir / 'counts'}, 拒绝 rejections in {out_dir / REJECTED}"
              + (f", 结果 results in {out_dir / 'results'}" if results else ""), markup=False)
    sys.exit(int(Exit.BAD_INPUT if summary.rejected + refused else Exit.OK))


__all__ = ["main", "run_whatif_cli", "timeline_command"]
