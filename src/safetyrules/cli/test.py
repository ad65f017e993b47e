"""`safetyrules test PATH…`: run the policy's YAML test cases; `--coverage` reports rules and branches."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from safetyrules.check.pipeline import policy_files
from safetyrules.cli.common import Exit, err, fail, load_policy_or_exit, out, run_limits
from safetyrules.tester import (
    CaseFileError,
    CaseResult,
    find_test_files,
    load_cases,
    record_coverage,
    run_case,
    start_coverage,
)


@click.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--policy", "policy_paths", multiple=True, type=click.Path(path_type=Path),
              help="The policy under test (default: the .policy files found in PATHS).")
@click.option("--coverage", is_flag=True, help="Report which rules and condition branches the tests exercise.")
@click.option("--min-rule-coverage", type=float, default=None,
              help="With --coverage: fail (exit 1) below this percentage of rules covered.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="List every case, not only failures.")
def test_command(paths: tuple[Path, ...], policy_paths: tuple[Path, ...], coverage: bool,
                 min_rule_coverage: float | None, fmt: str, verbose: bool) -> None:
    """Run policy tests (`*.test.yaml` files) against the policy they sit beside.

    A test file that cannot be used (not YAML, the wrong shape, beyond the limits) is reported with its file,
    line and key, the other files still run, and the exit status is 3."""
    sources = list(policy_paths) or [p for p in paths if p.is_dir() or p.suffix == ".policy"]
    if not any(policy_files(p) for p in sources):
        fail("no .policy files found: give the policy folder, or --policy", Exit.USAGE)
    policy = load_policy_or_exit(tuple(sources))
    files = find_test_files(list(paths))
    if not files:
        fail(f"no *.test.yaml files under {', '.join(map(str, paths))}", Exit.USAGE)
    cov = start_coverage(policy)
    results: list[CaseResult] = []
    unusable = 0
    for f in files:
        try:
            cases = load_cases(f, run_limits())
        except CaseFileError as e:  # reported; the other files still run
            unusable += 1
            err.print("[bold red]error:[/bold red] ", end="")
            err.print(str(e), markup=False)
            continue
        for case in cases:
            res = run_case(policy, case)
            record_coverage(cov, res)
            results.append(res)
    failed = [r for r in results if not r.passed]
    covered, total = cov.rules_covered, cov.rules_total
    got, all_branches = cov.branches_covered
    if fmt == "json":
        click.echo(json.dumps({
            "passed": len(results) - len(failed), "failed": len(failed),
            "failures": [f for r in failed for f in r.failures],
            "coverage": {"rules": {"covered": covered, "total": total,
                                   "uncovered": sorted(n for n, o in cov.rules.items() if not o)},
                         "branches": {"covered": got, "total": all_branches,
                                      "by_rule": {n: dict(zip(("covered", "total"), cov.branch_counts(n),
                                                              strict=True)) for n in cov.rules}},
                         "outcomes": {n: sorted(o) for n, o in cov.rules.items()}} if coverage else None,
        }, ensure_ascii=False, indent=2))
    else:
        for r in results:
            if verbose or not r.passed:
                mark = "[green]PASS[/green]" if r.passed else "[bold red]FAIL[/bold red]"
                out.print(f"{mark} {escape(f'{r.case.file}:{r.case.line} {r.case.name}')}")
                for line in r.failures:
                    out.print(f"     {line}", markup=False)
        if coverage:
            table = Table(title="测试覆盖 Coverage", title_justify="left")
            for head in ("规则 rule", "条款 id", "已测结果 outcomes asserted", "分支 branches"):
                table.add_column(head)
            ids = {x.name: ", ".join(x.implements) for x in policy.checked.rules}
            for name, outcomes in cov.rules.items():
                g, t = cov.branch_counts(name)
                table.add_row(name, ids[name], ", ".join(sorted(outcomes)) or "[red]none[/red]",
                              f"{g}/{t}" + ("" if g == t else " [yellow]partial[/yellow]"))
            out.print(table)
            out.print(f"rules covered: {covered}/{total} ({100 * covered / max(total, 1):.0f}%); "
                      f"branches covered: {got}/{all_branches} ({100 * got / max(all_branches, 1):.0f}%)")
        out.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    below = coverage and min_rule_coverage is not None and 100 * covered / max(total, 1) < min_rule_coverage
    if below:
        err.print(f"rule coverage {100 * covered / max(total, 1):.0f}% is below {min_rule_coverage}%")
    if unusable:
        err.print(f"{unusable} test file(s) could not be used", markup=False)
        sys.exit(int(Exit.BAD_INPUT))
    sys.exit(int(Exit.FINDINGS if failed or below else Exit.OK))
