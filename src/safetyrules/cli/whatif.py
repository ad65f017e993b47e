"""`safetyrules whatif SCENARIO`: base vs scenario over a population; HTML, Excel and JSON reports."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
from rich.progress import Progress
from rich.table import Table

from safetyrules.api import Policy, bundled_policy_path
from safetyrules.check.pipeline import compile_paths
from safetyrules.cli.common import (
    Exit,
    check_output,
    err,
    facts_path,
    fail,
    load_policy_or_exit,
    out,
    read_facts,
    run_limits,
)
from safetyrules.cli.evaluate import EXAMPLE_AS_OF
from safetyrules.diagnostics import render
from safetyrules.whatif.run import EvaluateSide, check_scenario, evaluate_reference, evaluate_rows, run_whatif
from safetyrules.whatif.scenario import ScenarioError, load_scenario

REPORTS = ("whatif.html", "whatif.xlsx", "whatif.json")


@click.command("whatif")
@click.argument("scenario_path", type=click.Path(path_type=Path))
@click.option("--facts", type=click.Path(path_type=Path), help="Enterprises (default: the scenario's, else the "
              "bundled example town).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Folder for whatif.html, whatif.xlsx and "
              "whatif.json (default: whatif-<scenario name>/).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--engine", type=click.Choice(["compiled", "reference", "columnar", "spark"]), default="compiled",
              show_default=True,
              help="compiled: the row engine (compiled expressions, the reference semantics); reference: the "
              "reference interpreter alone; columnar: polars, for large populations (the scenario re-evaluates "
              "only the rules its changes can reach). spark: the columnar what-if on Apache Spark "
              "(pip install 'safetyrules[spark]'): Parquet changes, counts and rejections in --out, no reports.")
@click.option("--master", default="local[2]", show_default=True, help="The Spark master (--engine spark).")
def whatif_command(scenario_path: Path, facts: Path | None, out_dir: Path | None, fmt: str, engine: str,
                   master: str) -> None:
    """Compare a what-if scenario with its base policy: counts per obligation, village and industry, the
    enterprises whose outcome changed and why, and (with `timeline`) the compliance curve over month-ends."""
    target = out_dir or Path(f"whatif-{scenario_path.stem}")
    check_output(target, folder=True)  # before any work: a report that cannot be written is a usage error
    for name in REPORTS:
        if (target / name).is_dir():
            fail(f"--out {target}: {target / name} is a folder", Exit.USAGE)
    try:
        scenario = load_scenario(scenario_path, run_limits())
    except ScenarioError as e:
        fail(str(e), Exit.BAD_INPUT)
        return
    if scenario.policy is not None and not scenario.policy.exists():
        fail(f"{scenario_path}: policy: {scenario.policy} does not exist", Exit.BAD_INPUT)
    base_paths = (scenario.policy,) if scenario.policy else (bundled_policy_path(),)
    base = load_policy_or_exit(base_paths)
    # without added rules the scenario is the base policy with overrides: one checked policy for both sides
    # lets the columnar engine re-run only what the scenario changes
    scenario_policy = base
    if scenario.rules_add:
        compilation = compile_paths(list(base_paths), list(scenario.rules_add), limits=run_limits())
        if compilation.errors:
            for d in compilation.errors:
                err.print(render(d, compilation.sources.get(d.span.file)), markup=False)
            fail("the scenario's added rules have errors", Exit.POLICY_ERROR)
        scenario_policy = Policy(compilation, limits=run_limits())
    try:
        check_scenario(scenario, scenario_policy)
    except ScenarioError as e:
        fail(str(e), Exit.BAD_INPUT)
    facts = facts or scenario.facts
    dates = list(scenario.dates) or [EXAMPLE_AS_OF if facts is None else dt.date.today()]
    if not scenario.dates:
        err.print(f"as of {dates[0]} (no `as_of` in the scenario)", markup=False)
    if engine == "spark":  # base and scenario in one Spark job over nested Parquet (docs/distributed.md)
        try:
            from safetyrules.spark.cli import run_whatif_cli  # pyspark is imported only here
        except ImportError as e:
            fail(f"the spark engine needs pyspark ({e}): pip install 'safetyrules[spark]'", Exit.USAGE)
            return
        rejected = run_whatif_cli(base, scenario_policy, scenario, facts_path(facts, base), dates, master, target)
        sys.exit(int(Exit.BAD_INPUT if rejected else Exit.OK))
    evaluate: EvaluateSide = evaluate_reference if engine == "reference" else evaluate_rows
    if engine == "columnar":
        try:
            from safetyrules.columnar.whatif import ColumnarWhatIf
        except ImportError:
            fail("the columnar engine needs polars: pip install 'safetyrules[columnar]'", Exit.USAGE)
            return
        evaluate = ColumnarWhatIf()
    source, loaded = read_facts(facts_path(facts, base), progress=False, contract=base.contract)
    records = [x.record for x in loaded]
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(f"{scenario.name}: {len(records)} enterprises × {len(dates)} date(s)", total=len(dates))
        try:
            result = run_whatif(base, scenario_policy, scenario, records, dates, evaluate,
                                progress=lambda n: bar.update(task, completed=n))
        except ScenarioError as e:
            fail(str(e), Exit.BAD_INPUT)
            return
    from safetyrules.report.excel import write_workbook  # openpyxl: imported when a report is written
    from safetyrules.report.html import render_html

    try:
        target.mkdir(parents=True, exist_ok=True)
        (target / "whatif.html").write_text(render_html(result), encoding="utf-8")
        write_workbook(result, target / "whatif.xlsx")
        (target / "whatif.json").write_text(json.dumps(result.to_json(), ensure_ascii=False, indent=2),
                                            encoding="utf-8")
    except OSError as e:  # checked before the run; the disk can still fill up or the folder go away
        fail(f"--out {target}: cannot write the reports: {e}", Exit.USAGE)
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        _print_summary(result)
    for w in result.warnings:
        err.print("[yellow]warning[/yellow] ", end="")
        err.print(f"{scenario_path}: {w}", markup=False)
    err.print(f"reports: {target / 'whatif.html'}, {target / 'whatif.xlsx'}, {target / 'whatif.json'}",
              markup=False)
    err.print(source.report.summary(), markup=False)
    sys.exit(int(Exit.BAD_INPUT if source.report.rejected else Exit.OK))


def _print_summary(result: object) -> None:
    from rich.markup import escape

    from safetyrules.report.reasons import because_text
    from safetyrules.report.summary import _clip
    from safetyrules.whatif.run import WhatIfResult

    assert isinstance(result, WhatIfResult)
    last = result.dates[-1]
    table = Table(title=f"情景 {result.scenario.name} — as of {last.as_of}: 违反 violated, base → scenario",
                  title_justify="left")
    for head in ("条款 id", "义务 obligation", "基准 base", "情景 scenario", "Δ"):
        table.add_column(head)
    for rule, ids, title in result.rules:
        b = last.count("base", rule)
        s = last.count("scenario", rule)
        if b or s:  # the obligation by its title, as a regulator reads it
            table.add_row(", ".join(ids), escape(_clip(title, 30)), str(b), str(s),
                          f"[{'red' if s > b else 'green'}]{s - b:+d}[/]" if s != b else "0")
    out.print(table)
    changes = [c for d in result.dates for c in d.changes]
    out.print(f"结果变化 outcome changes: {len(changes)} (enterprise, rule, date) — listed in the reports")
    for c in changes[:10]:
        why = " / ".join(because_text(c.because, result.param_labels, lang) for lang in ("zh", "en"))
        out.print(f"  {c.as_of} {c.enterprise} {c.name} {', '.join(c.implements)}: {c.base.value} → "
                  f"{c.scenario.value}  ({why})", markup=False)
