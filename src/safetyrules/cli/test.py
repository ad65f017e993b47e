"""`safetyrules test PATH…`: run the policy's YAML test cases; `--coverage` reports rules and branches.

PATH is a policy folder (or `.policy` files), a test file or a folder of test files. The policy is `--policy`,
else the policy folders and files among PATHS (every test found runs against them, together), else — when
PATHS name only tests — for each test file the nearest folder above it holding `.policy` files. `-k` selects
cases by name; `--watch` runs again whenever a policy or test file changes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from safetyrules.api import Policy
from safetyrules.check.pipeline import compile_paths, policy_files
from safetyrules.cli.common import Exit, err, out, run_limits
from safetyrules.diagnostics import render
from safetyrules.tester import (
    CaseFileError,
    CaseResult,
    Coverage,
    find_test_files,
    load_cases,
    policy_folder_for,
    record_coverage,
    run_case,
    select_cases,
    start_coverage,
    watch,
)


class _Unusable(Exception):
    """A command line that names no policy or no tests: exit 2 (in --watch, reported and waited on)."""


@dataclass(slots=True)
class _Group:
    """The test files that run against one policy."""

    policy: tuple[Path, ...]
    tests: list[Path] = field(default_factory=list)

    @property
    def label(self) -> str:
        return ", ".join(map(str, self.policy))


@dataclass(slots=True)
class _Outcome:
    group: _Group
    results: list[CaseResult]
    coverage: Coverage | None  # None when the policy has errors
    policy: Policy | None
    deselected: int = 0

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]


def _groups(paths: tuple[Path, ...], policy_paths: tuple[Path, ...]) -> list[_Group]:
    tests = find_test_files(list(paths))
    if not tests:
        raise _Unusable(f"no *.test.yaml files under {', '.join(map(str, paths))}")
    sources = list(policy_paths) or [p for p in paths if p.suffix == ".policy" or (p.is_dir() and policy_files(p))]
    if sources:
        if not policy_paths and not any(policy_files(p) for p in sources):
            raise _Unusable("no .policy files found: give the policy folder, or --policy")
        return [_Group(tuple(sources), tests)]
    groups: dict[Path, _Group] = {}
    for t in tests:
        folder = policy_folder_for(t)
        if folder is None:
            raise _Unusable(f"{t}: no folder above this test file holds .policy files: give the policy "
                            "folder, or --policy")
        shown = _shown_path(folder)
        groups.setdefault(shown, _Group((shown,))).tests.append(t)
    return list(groups.values())


def _shown_path(folder: Path) -> Path:
    """A folder found by looking up from a test file, relative to the working folder when it is inside it."""
    try:
        return folder.relative_to(Path.cwd().resolve())
    except ValueError:
        return folder


def _load(group: _Group) -> Policy | None:
    """The checked policy of a group, or None after printing its diagnostics (exit 4 in the end)."""
    for path in group.policy:
        if not path.exists():
            err.print("[bold red]error:[/bold red] ", end="")
            err.print(f"{path}: no such policy file or folder (--policy)", markup=False)
            return None
    compilation = compile_paths(list(group.policy), limits=run_limits())
    errors = compilation.errors
    if errors:
        for d in errors:
            err.print(render(d, compilation.sources.get(d.span.file)), markup=False)
        err.print("[bold red]error:[/bold red] ", end="")
        err.print(f"the policy {group.label} has {len(errors)} error(s); run `safetyrules check` for details",
                  markup=False)
        return None
    return Policy(compilation, limits=run_limits())


@dataclass(slots=True)
class _Options:
    paths: tuple[Path, ...]
    policy_paths: tuple[Path, ...]
    pattern: str | None
    coverage: bool
    min_rule_coverage: float | None
    fmt: str
    verbose: bool
    lang: str


def _run(opts: _Options) -> int:
    """One run of every selected case: prints the report, returns the exit status."""
    try:
        groups = _groups(opts.paths, opts.policy_paths)
    except _Unusable as e:
        err.print("[bold red]error:[/bold red] ", end="")
        err.print(str(e), markup=False)
        return int(Exit.USAGE)
    outcomes: list[_Outcome] = []
    unusable = 0
    broken = 0
    for group in groups:
        policy = _load(group)
        if policy is None:
            broken += 1
            outcomes.append(_Outcome(group, [], None, None))
            continue
        cov = start_coverage(policy)
        outcome = _Outcome(group, [], cov, policy)
        for f in group.tests:
            try:
                cases = load_cases(f, run_limits())
            except CaseFileError as e:  # reported; the other files still run
                unusable += 1
                err.print("[bold red]error:[/bold red] ", end="")
                err.print(str(e), markup=False)
                continue
            chosen = select_cases(cases, opts.pattern)
            outcome.deselected += len(cases) - len(chosen)
            for case in chosen:
                res = run_case(policy, case)
                record_coverage(cov, res)
                outcome.results.append(res)
        outcomes.append(outcome)
    below = [o for o in outcomes if o.coverage is not None and opts.coverage and opts.min_rule_coverage is not None
             and _percent(o.coverage) < opts.min_rule_coverage]
    if opts.fmt == "json":
        _print_json(outcomes, opts)
    else:
        _print_text(outcomes, opts)
    for o in below:
        assert o.coverage is not None
        err.print(f"rule coverage {_percent(o.coverage):.0f}% is below {opts.min_rule_coverage}%"
                  + (f" ({o.group.label})" if len(outcomes) > 1 else ""), markup=False)
    ran = sum(len(o.results) for o in outcomes)
    deselected = sum(o.deselected for o in outcomes)
    if opts.pattern and not ran and deselected and not broken:
        err.print("[bold red]error:[/bold red] ", end="")
        err.print(f"no test case name contains `{opts.pattern}` ({deselected} case(s) deselected)", markup=False)
        return int(Exit.USAGE)
    if broken:
        return int(Exit.POLICY_ERROR)
    if unusable:
        err.print(f"{unusable} test file(s) could not be used", markup=False)
        return int(Exit.BAD_INPUT)
    failed = any(o.failed for o in outcomes)
    return int(Exit.FINDINGS if failed or below else Exit.OK)


def _percent(cov: Coverage) -> float:
    return 100 * cov.rules_covered / max(cov.rules_total, 1)


def _coverage_json(cov: Coverage) -> dict[str, Any]:
    got, all_branches = cov.branches_covered
    return {"rules": {"covered": cov.rules_covered, "total": cov.rules_total,
                      "uncovered": sorted(n for n, o in cov.rules.items() if not o)},
            "branches": {"covered": got, "total": all_branches,
                         "by_rule": {n: dict(zip(("covered", "total"), cov.branch_counts(n), strict=True))
                                     for n in cov.rules}},
            "outcomes": {n: sorted(o) for n, o in cov.rules.items()}}


def _failed_json(r: CaseResult, lang: str) -> dict[str, Any]:
    from safetyrules.report.explain import render_tree

    return {"file": r.case.file, "line": r.case.line, "name": r.case.name, "failures": r.failures,
            "mismatches": [{"key": m.key, "rule": m.result.rule, "expected": {k: str(v) for k, v in m.expected.items()},
                            "actual": m.actual_text(), "explanation": render_tree(m.result, lang)}
                           for m in r.mismatches]}


def _print_json(outcomes: list[_Outcome], opts: _Options) -> None:
    results = [r for o in outcomes for r in o.results]
    failed = [r for r in results if not r.passed]
    only = outcomes[0] if len(outcomes) == 1 else None
    click.echo(json.dumps({
        "passed": len(results) - len(failed), "failed": len(failed),
        "deselected": sum(o.deselected for o in outcomes),
        "failures": [f for r in failed for f in r.failures],
        "failed_cases": [_failed_json(r, opts.lang) for r in failed],
        "coverage": _coverage_json(only.coverage) if opts.coverage and only and only.coverage else None,
        "policies": [{"policy": o.group.label, "passed": len(o.results) - len(o.failed), "failed": len(o.failed),
                      "errors": o.policy is None,
                      "coverage": _coverage_json(o.coverage) if opts.coverage and o.coverage else None}
                     for o in outcomes],
    }, ensure_ascii=False, indent=2))


def _print_failure(r: CaseResult, lang: str) -> None:
    from safetyrules.report.explain import render_tree

    for line in r.failures:  # the rule's message, after ` — `, is the first line of its explanation below
        out.print(f"     {line.split(' — ', 1)[0] if r.mismatches else line}", markup=False)
    for m in r.mismatches:
        out.print(f"     {m.key} ({m.result.rule})", markup=False)
        out.print(f"       expected: {m.expected_text()}", markup=False)
        out.print(f"       actual:   {m.actual_text()}", markup=False)
        out.print("       explanation:", markup=False)
        for line in render_tree(m.result, lang).splitlines():
            out.print(f"         {line}", markup=False)


def _print_text(outcomes: list[_Outcome], opts: _Options) -> None:
    several = len(outcomes) > 1
    for o in outcomes:
        if several:
            out.print(f"[bold]policy {escape(o.group.label)}[/bold]")
        for r in o.results:
            if opts.verbose or not r.passed:
                mark = "[green]PASS[/green]" if r.passed else "[bold red]FAIL[/bold red]"
                out.print(f"{mark} {escape(f'{r.case.file}:{r.case.line} {r.case.name}')}")
                if not r.passed:
                    _print_failure(r, opts.lang)
        if opts.coverage and o.coverage is not None and o.policy is not None:
            _print_coverage(o.coverage, o.policy, o.group.label if several else None)
        if several:
            out.print(f"{_counts(o.results, o.deselected)} ({escape(o.group.label)})")
    results = [r for o in outcomes for r in o.results]
    out.print(_counts(results, sum(o.deselected for o in outcomes)))


def _counts(results: list[CaseResult], deselected: int) -> str:
    failed = sum(1 for r in results if not r.passed)
    text = f"{len(results) - failed} passed, {failed} failed"
    return text + (f", {deselected} deselected" if deselected else "")


def _print_coverage(cov: Coverage, policy: Policy, label: str | None) -> None:
    title = "测试覆盖 Coverage" + (f" — {label}" if label else "")
    table = Table(title=escape(title), title_justify="left")
    for head in ("规则 rule", "条款 id", "已测结果 outcomes asserted", "分支 branches"):
        table.add_column(head)
    ids = {x.name: ", ".join(x.implements) for x in policy.checked.rules}
    for name, outcomes in cov.rules.items():
        g, t = cov.branch_counts(name)
        table.add_row(name, ids[name], ", ".join(sorted(outcomes)) or "[red]none[/red]",
                      f"{g}/{t}" + ("" if g == t else " [yellow]partial[/yellow]"))
    out.print(table)
    got, all_branches = cov.branches_covered
    covered, total = cov.rules_covered, cov.rules_total
    out.print(f"rules covered: {covered}/{total} ({100 * covered / max(total, 1):.0f}%); "
              f"branches covered: {got}/{all_branches} ({100 * got / max(all_branches, 1):.0f}%)")


def _watched(opts: _Options) -> list[Path]:
    """The files whose change re-runs the tests: the policies' `.policy` files and the test files."""
    files = find_test_files(list(opts.paths))
    try:
        groups = _groups(opts.paths, opts.policy_paths)
    except _Unusable:
        groups = []
    policies = {p for g in groups for p in g.policy} | {p for p in opts.paths if p.is_dir()}
    for p in sorted(policies):
        if p.exists():
            files.extend(policy_files(p))
    return sorted(set(files))


def _announce(changed: list[Path]) -> None:
    names = ", ".join(str(p) for p in changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    err.print(f"\n[dim]changed: {escape(names)} — running the tests again[/dim]")


@click.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--policy", "policy_paths", multiple=True, type=click.Path(path_type=Path),
              help="The policy under test (default: the .policy files found in PATHS, else the nearest folder "
                   "above each test file that holds .policy files).")
@click.option("-k", "pattern", metavar="PATTERN", default=None,
              help="Run only the cases whose name contains PATTERN (ignoring case).")
@click.option("--watch", is_flag=True,
              help="Run the tests again whenever a policy or test file changes (Ctrl-C stops).")
@click.option("--interval", type=click.FloatRange(min=0.05), default=0.5, show_default=True,
              help="With --watch: seconds between looks at the files.")
@click.option("--max-runs", type=click.IntRange(min=1), default=None, hidden=True,
              help="With --watch: stop after this many runs (for tests).")
@click.option("--coverage", is_flag=True, help="Report which rules and condition branches the tests exercise.")
@click.option("--min-rule-coverage", type=float, default=None,
              help="With --coverage: fail (exit 1) below this percentage of rules covered.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--lang", type=click.Choice(["zh", "en", "both"]), default="both", show_default=True,
              help="The language of the explanation printed under a failure.")
@click.option("-v", "--verbose", is_flag=True, help="List every case, not only failures.")
def test_command(paths: tuple[Path, ...], policy_paths: tuple[Path, ...], pattern: str | None, watch: bool,
                 interval: float, max_runs: int | None, coverage: bool, min_rule_coverage: float | None, fmt: str,
                 lang: str, verbose: bool) -> None:
    """Run policy tests (`*.test.yaml` files) against the policy they sit beside.

    PATHS are policy folders, test files or folders of test files. A failed case prints what it expected, the
    rule's actual outcome and its explanation tree. A test file that cannot be used (not YAML, the wrong shape,
    beyond the limits) is reported with its file, line and key, the other files still run, and the exit status
    is 3."""
    opts = _Options(paths, policy_paths, pattern, coverage, min_rule_coverage, fmt, verbose, lang)
    if not watch:
        sys.exit(_run(opts))

    def once() -> int:
        status = _run(opts)
        err.print(f"[dim]watching {len(_watched(opts))} file(s); Ctrl-C stops[/dim]")
        return status

    sys.exit(watch_loop(once, opts, interval, max_runs))


def watch_loop(run: Callable[[], int], opts: _Options, interval: float, max_runs: int | None) -> int:
    """`tester.watch` over the files of `opts`, pausing with `_sleep`."""
    return watch(run, lambda: _watched(opts), interval=interval, max_runs=max_runs, on_change=_announce,
                 sleep=_sleep)


def _sleep(seconds: float) -> None:
    """The pause between two looks at the files (tests patch it to change a file instead of waiting)."""
    import time

    time.sleep(seconds)
