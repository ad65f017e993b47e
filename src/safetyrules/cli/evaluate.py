"""`safetyrules eval` (a population) and `safetyrules explain` (one enterprise, the whole tree)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shlex
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from safetyrules.api import Policy, bundled_example_path, bundled_policy_path
from safetyrules.cli.common import (
    Exit,
    check_output,
    err,
    facts_path,
    fail,
    load_policy_or_exit,
    out,
    output_to,
    parse_date,
    parse_params,
    read_facts,
    run_limits,
)
from safetyrules.engine.results import OUTCOME_ZH, RESULT_SCHEMA_VERSION, EnterpriseResult, Outcome
from safetyrules.engine.values import to_json
from safetyrules.facts.loaders import SUFFIXES
from safetyrules.report.explain import render_tree
from safetyrules.report.summary import OUTCOME_STYLE, Summary
from safetyrules.report.vocabulary import Vocabulary

EXAMPLE_AS_OF = dt.date(2022, 12, 31)  # the end of the action period: the bundled town's horizon

policy_option = click.option("--policy", "policy_paths", multiple=True, type=click.Path(path_type=Path),
                             help="A .policy file or a folder of them (repeatable). Default: the bundled 附件4 policy.")
facts_option = click.option("--facts", "facts", type=click.Path(path_type=Path),
                            help="Enterprises: .jsonl, .json, .csv or .xlsx. Default: the bundled example town.")
as_of_option = click.option("--as-of", "as_of", help="Evaluation date YYYY-MM-DD. Default: today; 2022-12-31 "
                            "for the bundled example town.")
param_option = click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
                            help="Override a param for this run, e.g. --param other_assessment_period='2 years'.")


def _as_of(value: str | None, facts: Path | None) -> dt.date:
    given = parse_date(value)
    if given is not None:
        return given
    day = EXAMPLE_AS_OF if facts is None else dt.date.today()
    err.print(f"as of {day} (the default{' for the bundled example town' if facts is None else ''}; "
              "choose with --as-of)", markup=False)
    return day


@click.command("eval")
@policy_option
@facts_option
@as_of_option
@param_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default="table", show_default=True)
@click.option("--explain/--no-explain", default=None,
              help="Include explanation trees in json/jsonl output (default: on for json/jsonl).")
@click.option("--top", default=10, show_default=True, help="How many items the summary lists.")
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None,
              help="Write the results (in --format) to this file instead of standard output; checked before the "
              "evaluation starts.")
@click.option("--fail-on", type=click.Choice(["never", "violated", "triggered", "any"]), default="never",
              show_default=True, help="Exit 1 when a result of this kind is found.")
@click.option("--engine", type=click.Choice(["compiled", "reference", "columnar", "spark"]), default="compiled",
              show_default=True,
              help="compiled: the row engine, with messages and explanations (written by the reference "
              "interpreter when shown); reference: the interpreter alone (the semantics' oracle); columnar "
              "(polars): a whole population at once, outcomes and dates only (explain any row with "
              "`safetyrules explain`). A folder of Parquet tables as --facts needs the columnar engine. spark: "
              "the columnar engine on Apache Spark (pip install 'safetyrules[spark]'), Parquet results and "
              "rejections written to the --out folder (docs/distributed.md).")
@click.option("--master", default="local[2]", show_default=True, help="The Spark master (--engine spark).")
def eval_command(policy_paths: tuple[Path, ...], facts: Path | None, as_of: str | None, params: tuple[str, ...],
                 fmt: str, explain: bool | None, top: int, out_path: Path | None, fail_on: str, engine: str,
                 master: str) -> None:
    """Evaluate a policy over a population of enterprises.

    With no arguments: the bundled 附件4 policy over the bundled example town, as of 2022-12-31.
    """
    given = parse_date(as_of)  # every usage error before any work
    if out_path is not None:
        check_output(out_path, folder=engine == "spark")
    elif engine == "spark":
        fail("--engine spark writes Parquet files: give their folder with --out DIR", Exit.USAGE)
    policy = load_policy_or_exit(policy_paths)
    overrides = parse_params(params, policy)
    day = _as_of(as_of, facts) if given is None else given
    if engine == "spark":
        assert out_path is not None
        _eval_spark(policy, overrides, day, facts_path(facts, policy), master, out_path)
        return
    with output_to(out_path):
        _eval(policy, overrides, day, facts, fmt, explain, top, fail_on, engine)


def _eval(policy: Policy, overrides: dict[str, Any], day: dt.date, facts: Path | None, fmt: str,
          explain: bool | None, top: int, fail_on: str, engine: str) -> None:
    path = facts_path(facts, policy)
    if engine == "columnar" or path.is_dir():
        _eval_columnar(policy, overrides, day, path, fmt, top, fail_on)
        return
    if facts is None:
        err.print(f"facts: the bundled example town ({path.name}); choose with --facts", markup=False)
    source, records = read_facts(path, contract=policy.contract)
    summary = Summary.for_policy(day, policy, top)
    with_trees = fmt != "table" if explain is None else explain
    found = {"violated": 0, "triggered": 0}
    results_json: list[dict[str, Any]] = []
    for loaded in records:
        res = policy.evaluate_record(loaded.record, day, overrides, explain=with_trees, engine=engine)
        rec = loaded.record
        summary.add(res, str(rec.get("name", "")), str(rec.get("village", "")))
        for r in res.results:
            if r.outcome is Outcome.VIOLATED:
                found["violated"] += 1
            elif r.outcome is Outcome.TRIGGERED:
                found["triggered"] += 1
        if fmt == "jsonl":
            for r in res.results:
                click.echo(json.dumps(r.to_json(with_trees), ensure_ascii=False))
        elif fmt == "json":
            results_json.extend(r.to_json(with_trees) for r in res.results)
    report = source.report
    if fmt == "json":
        doc = {
            "schema_version": RESULT_SCHEMA_VERSION,
            "policy": policy.name,
            "provenance": policy.provenance(overrides, engine),
            "as_of": day.isoformat(),
            "params": {k: to_json(v) for k, v in overrides.items()},
            "facts": str(path),
            "loaded": report.loaded,
            "rejected": report.rejected,
            "warnings": report.warnings,
            "summary": summary.to_json(),
            "results": results_json,
        }
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
    elif fmt == "table":
        summary.render(out)
        out.print(f"详情 Details: safetyrules explain{_policy_args(policy)}{_param_args(overrides)} "
                  "--enterprise ID [--rule RULE]"
                  f"{' --facts ' + str(facts) if facts else ''} --as-of {day}", markup=False)
    err.print(report.summary(), markup=False)
    for w in report.warnings:
        err.print(f"[yellow]warning[/yellow] {escape(str(w))}")
    if report.rejected:
        sys.exit(int(Exit.BAD_INPUT))
    hit = {"never": False, "violated": found["violated"] > 0, "triggered": found["triggered"] > 0,
           "any": found["violated"] + found["triggered"] > 0}[fail_on]
    sys.exit(int(Exit.FINDINGS if hit else Exit.OK))


def _eval_spark(policy: Policy, overrides: dict[str, Any], day: dt.date, path: Path, master: str, out_dir: Path,
                ) -> None:
    try:
        from safetyrules.spark import run_cli  # pyspark is imported only here
    except ImportError as e:
        fail(f"the spark engine needs pyspark ({e}): pip install 'safetyrules[spark]'", Exit.USAGE)
        return
    rejected = run_cli(policy, overrides, day, path, master, out_dir)
    sys.exit(int(Exit.BAD_INPUT if rejected else Exit.OK))


@click.command("explain")
@policy_option
@facts_option
@as_of_option
@param_option
@click.option("--enterprise", "enterprise_id", required=True, help="The enterprise id.")
@click.option("--rule", "rules", multiple=True, help="A rule name or catalogue id (repeatable). Default: all "
              "rules, violated and unknown first.")
@click.option("--lang", type=click.Choice(["zh", "en", "both"]), default="both", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def explain_command(policy_paths: tuple[Path, ...], facts: Path | None, as_of: str | None, params: tuple[str, ...],
                    enterprise_id: str, rules: tuple[str, ...], lang: str, fmt: str) -> None:
    """Explain one enterprise's outcomes: the conditions evaluated, the facts that decided them, the deadline,
    the params used and the cited clause."""
    policy = load_policy_or_exit(policy_paths)
    overrides = parse_params(params, policy)
    day = _as_of(as_of, facts)
    _, records = read_facts(facts_path(facts, policy), progress=False, contract=policy.contract)
    record = next((x.record for x in records if str(x.record.get(policy.contract.key)) == enterprise_id), None)
    if record is None:
        subject, key = policy.contract.subject, policy.contract.key
        fail(f"no {subject} with {key} `{enterprise_id}` in {facts_path(facts, policy)}", Exit.BAD_INPUT)
        return
    res: EnterpriseResult = policy.evaluate_record(record, day, overrides, explain=True)
    chosen = [r for r in res.results if not rules or r.rule in rules or set(r.implements) & set(rules)]
    if rules and not chosen:
        known = ", ".join(r.rule for r in res.results)
        fail(f"no rule or catalogue id {', '.join(rules)}; the rules are: {known}", Exit.USAGE)
    if fmt == "json":
        click.echo(json.dumps({"schema_version": RESULT_SCHEMA_VERSION, "enterprise": enterprise_id,
                               "as_of": day.isoformat(), "provenance": res.provenance,
                               "results": [r.to_json() for r in chosen]},
                              ensure_ascii=False, indent=2))
        return
    order = {Outcome.VIOLATED: 0, Outcome.TRIGGERED: 0, Outcome.UNKNOWN: 1, Outcome.PENDING: 2}
    if not rules:
        chosen.sort(key=lambda r: order.get(r.outcome, 3))
        table = Table(title=f"{enterprise_id} {record.get('name', '')} — as of {day}", title_justify="left")
        for head in ("条款 id", "义务 obligation", "结果 outcome", "到期 due"):
            table.add_column(head)
        for r in chosen:
            table.add_row(", ".join(r.implements), r.title.zh,
                          f"[{OUTCOME_STYLE[r.outcome]}]{OUTCOME_ZH[r.outcome]} {r.outcome.value}[/]",
                          str(r.due_on or ""))
        out.print(table)
        chosen = [r for r in chosen if r.outcome in order]
    vocab = Vocabulary(policy)  # every step in words: the facts' labels, the params' values, titles
    for r in chosen:
        out.print(render_tree(r, lang, vocab), markup=False)
        out.print("")


COLUMNAR_BATCH = 50_000  # records per batch of the columnar engine (JSON Lines, JSON, CSV, Excel)
_SHOWN_PROBLEMS = 50  # problems listed on stderr for a Parquet folder (all of them are in the count)


def _batches(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _eval_columnar(policy: Policy, overrides: dict[str, Any], day: dt.date, path: Path, fmt: str, top: int,
                   fail_on: str) -> None:
    try:
        import polars as pl

        from safetyrules.columnar import FactTables, compile_policy
    except ImportError:
        fail("the columnar engine needs polars: pip install 'safetyrules[columnar]'", Exit.USAGE)
        return
    from safetyrules.engine.params import ParamTable
    from safetyrules.report.summary import summary_from_frame

    rejected = 0
    info: dict[str, tuple[str, str]] = {}  # enterprise → (name, village)
    if path.is_dir():
        from safetyrules.columnar.tables import ROOT_FILE
        from safetyrules.columnar.validate import read_parquet_validated

        try:
            with err.status(f"reading and validating {path} …", spinner="dots") if err.is_terminal \
                    else contextlib.nullcontext():  # seconds for a million enterprises: say what is happening
                validated = read_parquet_validated(path, limits=run_limits(), contract=policy.contract)
        except (OSError, pl.exceptions.PolarsError) as e:
            fail(f"{path}: cannot read the Parquet tables: {e}", Exit.BAD_INPUT)
            return
        tables, rejected = validated.tables, validated.inputs_rejected  # child rows of no enterprise count too
        for problem in validated.rejected.head(_SHOWN_PROBLEMS).iter_rows(named=True):
            err.print(f"{path / ((problem['table'] or ROOT_FILE) + '.parquet')}: row {problem['row']}"
                      f"{' (enterprise ' + problem['enterprise'] + ')' if problem['enterprise'] else ''}: "
                      f"{problem['field']}: {problem['reason']} [{problem['code']}]", markup=False)
        if validated.rejected.height > _SHOWN_PROBLEMS:
            err.print(f"… and {validated.rejected.height - _SHOWN_PROBLEMS} more problems", markup=False)
        err.print(validated.summary(), markup=False)
        info_frame = tables.enterprises.select(
            policy.contract.key, *(pl.col(c) for c in ("name", "village") if c in tables.enterprises.columns))
        info = {str(row[0]): (str(row[1] or "") if len(row) > 1 else "", str(row[2] or "") if len(row) > 2 else "")
                for row in info_frame.iter_rows()}
    program = compile_policy(policy.program, ParamTable(policy.program, overrides))
    if path.is_dir():
        with err.status(f"evaluating {len(tables):,} enterprises …", spinner="dots") if err.is_terminal \
                else contextlib.nullcontext():
            frame = program.run(tables, day)
    elif SUFFIXES.get(path.suffix.lower()) == "jsonl":
        frame, rejected = _eval_jsonl_columnar(policy, program, path, day, info)
    else:
        # records are streamed in batches: each batch becomes fact tables and runs through the kernel (a pure
        # function of the batch), so memory holds one batch of records plus the compact result columns
        source, records_iter = read_facts(path, contract=policy.contract)
        frames = []
        for batch in _batches((x.record for x in records_iter), COLUMNAR_BATCH):
            key = policy.contract.key
            info.update((str(r.get(key)), (str(r.get("name", "")), str(r.get("village", "")))) for r in batch)
            frames.append(program.run(FactTables.from_records(batch, program.layout), day))
        frame = pl.concat(frames) if frames else program.run(FactTables.empty(program.layout), day)
        rejected = source.report.rejected
        err.print(source.report.summary(), markup=False)
    if fmt == "table":
        summary_from_frame(frame, info, policy, day, top).render(out)
        out.print(_explain_hint(policy, path, day, overrides), markup=False)
    else:
        rows = frame.with_columns(pl.col("rule").cast(pl.String), pl.col("outcome").cast(pl.String))
        if fmt == "jsonl":
            for row in rows.iter_rows(named=True):
                click.echo(json.dumps(to_json(row), ensure_ascii=False))
        else:
            click.echo(json.dumps({"schema_version": RESULT_SCHEMA_VERSION, "policy": policy.name, "engine": "columnar",
                                   "as_of": day.isoformat(), "params": {k: to_json(v) for k, v in overrides.items()},
                                   "facts": str(path), "rejected": rejected,
                                   "results": [to_json(r) for r in rows.iter_rows(named=True)]},
                                  ensure_ascii=False, indent=2))
    if rejected:
        sys.exit(int(Exit.BAD_INPUT))
    outcomes = set(frame.get_column("outcome").cast(pl.String).unique().to_list())
    hit = {"never": False, "violated": "violated" in outcomes, "triggered": "triggered" in outcomes,
           "any": bool({"violated", "triggered"} & outcomes)}[fail_on]
    sys.exit(int(Exit.FINDINGS if hit else Exit.OK))


def _eval_jsonl_columnar(policy: Policy, program: Any, path: Path, day: dt.date, info: dict[str, tuple[str, str]],
                         ) -> tuple[Any, int]:
    """JSON Lines into the columnar tables without a record object per line (`columnar.jsonl`): the result
    frame and the number of records rejected (printed to stderr as the record path prints them)."""
    import polars as pl

    from safetyrules.columnar import FactTables
    from safetyrules.columnar.jsonl import read_jsonl_batches
    from safetyrules.facts.errors import FactsFileError
    from safetyrules.facts.loaders import FactSource

    try:
        source = FactSource(path, limits=run_limits(), contract=policy.contract)
    except FactsFileError as e:
        fail(str(e), Exit.BAD_INPUT)
        raise  # unreachable: fail exits
    frames = []
    key = policy.contract.key
    try:
        with err.status(f"reading and evaluating {path} …", spinner="dots") if err.is_terminal \
                else contextlib.nullcontext():
            for batch in read_jsonl_batches(source, program.layout, COLUMNAR_BATCH):
                for item in batch.rejected:
                    err.print("[yellow]rejected[/yellow] ", end="")
                    err.print(str(item), markup=False)
                    err.print("  " + "；".join(e.message_zh for e in item.errors), markup=False)  # 拒收原因
                root = batch.tables.enterprises
                names = [pl.col(c).cast(pl.String).fill_null("") if c in root.columns else pl.lit("")
                         for c in ("name", "village")]
                info.update((str(k), (n, v)) for k, n, v in root.select(pl.col(key), *names).iter_rows())
                frames.append(program.run(batch.tables, day))
    except OSError as e:
        fail(f"{path}: cannot read: {e.strerror or e}", Exit.BAD_INPUT)
    frame = pl.concat(frames) if frames else program.run(FactTables.empty(program.layout), day)
    err.print(source.report.summary(), markup=False)
    for w in source.report.warnings:
        err.print(f"[yellow]warning[/yellow] {escape(str(w))}")
    return frame, source.report.rejected


def _explain_hint(policy: Policy, path: Path, day: dt.date, overrides: Mapping[str, Any]) -> str:
    """The `explain` command for a row of the columnar summary. `explain` reads one enterprise from a facts
    file (JSON Lines, JSON, CSV, Excel), not from a folder of Parquet tables: for a folder, the hint asks for the
    file the tables were made from instead of naming the folder, which `explain` would refuse."""
    command = (f"详情 Details: safetyrules explain{_policy_args(policy)}{_param_args(overrides)} "
               "--enterprise ID [--rule RULE]")
    if path.is_dir():
        return (f"{command} --facts FILE --as-of {day}\n  FILE: the file of facts the tables were made from "
                f"({', '.join(SUFFIXES)}): explain does not read a folder of Parquet tables / explain 不读取 Parquet "
                "表文件夹，请给出生成这些表的事实文件")
    given = "" if path == bundled_example_path() else f" --facts {path}"
    return f"{command}{given} --as-of {day}"


def _param_args(overrides: Mapping[str, Any]) -> str:
    """` --param NAME=VALUE` for each override of the run, written so that `--param` reads the same value."""
    def text(value: Any) -> str:
        shown = to_json(value)
        if isinstance(shown, bool):
            return "true" if shown else "false"
        if isinstance(shown, list):
            return "[" + ", ".join(str(v) for v in shown) + "]"
        return str(shown)
    return "".join(f" --param {shlex.quote(f'{name}={text(value)}')}" for name, value in overrides.items())


def _policy_args(policy: Policy) -> str:
    """` --policy P` for each path the policy was loaded from (nothing for the bundled policy)."""
    paths = policy.compilation.roots
    return "".join(f" --policy {p}" for p in paths if Path(p).resolve() != bundled_policy_path().resolve())
