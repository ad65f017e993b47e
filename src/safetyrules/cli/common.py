"""What every command shares: exit codes, consoles, policy loading with diagnostics, fact reading."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import tempfile
from collections.abc import Iterator
from enum import IntEnum
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from safetyrules.api import Policy, as_date, bundled_example_path, bundled_policy_path
from safetyrules.check.pipeline import compile_paths
from safetyrules.diagnostics import render
from safetyrules.engine.params import ParamError
from safetyrules.errors import DateError
from safetyrules.facts.contract import FactContract
from safetyrules.facts.errors import FactsFileError
from safetyrules.facts.loaders import FactSource, Loaded, Rejected
from safetyrules.limits import DEFAULT, Limits


class Exit(IntEnum):
    """Exit codes, the same for every command (documented in docs/cli.md)."""

    OK = 0  # success; no errors or findings that the command fails on
    FINDINGS = 1  # check found errors; fmt --check found files to reformat; test failures; --fail-on hit
    USAGE = 2  # bad command line (click's own code)
    BAD_INPUT = 3  # unreadable facts, or records rejected by the fact contract
    POLICY_ERROR = 4  # the policy does not parse or check


# emoji off: `:100:` in `file:100:11` must not become an emoji; data is printed with markup=False
out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
if not out.is_terminal:  # piped or captured: do not squeeze tables into 80 columns
    out.width = max(out.width, 160)


def fail(message: str, code: Exit) -> None:
    err.print("[bold red]error:[/bold red] ", end="")
    err.print(message, markup=False)  # messages quote user text and `pkg[extra]`: never markup
    sys.exit(int(code))


def run_limits() -> Limits:
    """The limits of this run: the defaults, changed by the global `--limit NAME=VALUE` options."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return obj if isinstance(obj, Limits) else DEFAULT


def load_policy_or_exit(paths: tuple[Path, ...]) -> Policy:
    """The checked policy, or exit: a path that does not exist is a usage error (2), a policy with errors
    (including a file that cannot be read: not UTF-8, too large, not a regular file) a policy error (4)."""
    for path in paths:
        if not os.path.lexists(path):
            fail(f"{path}: no such policy file or folder (--policy)", Exit.USAGE)
    compilation = compile_paths(list(paths) or [bundled_policy_path()], limits=run_limits())
    errors = compilation.errors
    if errors:
        for d in errors:
            err.print(render(d, compilation.sources.get(d.span.file)), markup=False)
        fail(f"the policy has {len(errors)} error(s); run `safetyrules check` for details", Exit.POLICY_ERROR)
    return Policy(compilation, limits=run_limits())


def parse_params(pairs: tuple[str, ...], policy: Policy) -> dict[str, Any]:
    """`name=value` pairs; values are read with the policy grammar and checked against the param's type."""
    from safetyrules.engine.params import ParamTable

    overrides: dict[str, Any] = {}
    table = ParamTable(policy.program)
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"`{pair}`: expected name=value", param_hint="--param")
        try:
            overrides[name.strip()] = table.coerce(name.strip(), value.strip())
        except ParamError as e:
            raise click.BadParameter(str(e), param_hint="--param") from None
    return overrides


def parse_date(value: str | None, what: str = "--as-of") -> dt.date | None:
    """A date option: malformed or outside the engines' calendar is a usage error (exit 2)."""
    if value is None:
        return None
    try:
        return as_date(value, run_limits())
    except DateError as e:
        raise click.BadParameter(str(e), param_hint=what) from None


def check_output(path: Path, what: str = "--out", folder: bool = False) -> None:
    """Before any work: exit 2 unless `path` can be written — a file (its folder exists and is writable; not a
    folder itself) or, with `folder`, a folder (existing and writable, or creatable under a writable one)."""
    problem = output_problem(path, folder)
    if problem:
        fail(f"{what} {path}: {problem}", Exit.USAGE)


def output_problem(path: Path, folder: bool = False) -> str | None:
    """Why `path` cannot be written (None when it can). Writing is tried, not guessed from permission bits (a
    read-only mount, or root under /sys, refuse what the bits allow)."""
    if folder:
        if path.exists() and not path.is_dir():
            return "exists and is not a folder"
        existing = path
        while not existing.exists():  # the folder is created with its parents: the nearest existing one counts
            if existing.parent == existing:
                break
            existing = existing.parent
        if not existing.is_dir():
            return f"{existing} is not a folder"
        return _probe(existing)
    if path.is_dir():
        return "is a folder; give a file name"
    parent = path.parent
    if not parent.exists():
        return f"the folder {parent} does not exist"
    if not parent.is_dir():
        return f"{parent} is not a folder"
    if path.exists():
        if not path.is_file():
            return "is not a regular file"
        try:
            with path.open("ab"):  # append mode: nothing is truncated by the check
                pass
        except OSError as e:
            return f"cannot be written: {e.strerror or e}"
        return None
    return _probe(parent)


@contextlib.contextmanager
def output_to(path: Path | None) -> Iterator[None]:
    """Standard output (click.echo and the `out` console) goes to `path` while the block runs, if given."""
    if path is None:
        yield
        return
    try:
        f = path.open("w", encoding="utf-8")
    except OSError as e:
        fail(f"--out {path}: cannot write: {e.strerror or e}", Exit.USAGE)
        return
    with f, contextlib.redirect_stdout(f):
        yield


def _probe(folder: Path) -> str | None:
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        return f"cannot write in {folder}: {e.strerror or e}"
    return None


def facts_path(path: Path | None, policy: Policy | None = None) -> Path:
    """The facts file to read: the one given, else the bundled example town (whose records are 附件4
    enterprises: a policy that declares other facts must be given its own)."""
    if path is not None:
        return path
    if policy is not None and not policy.contract.builtin:
        fail(f"policy `{policy.name}` declares its own facts (subject `{policy.contract.subject}`): give them "
             "with --facts FILE / 该政策声明了自己的事实，请用 --facts 指定数据文件", Exit.USAGE)
    return bundled_example_path()


def read_facts(path: Path, progress: bool = True, contract: FactContract | None = None,
               ) -> tuple[FactSource, Iterator[Loaded]]:
    """The loaded records of a facts file (records of `contract`, a policy's facts; default: the built-in
    contract); rejected ones are printed to stderr as they come."""
    try:
        source = FactSource(path, limits=run_limits(), contract=contract)
    except FactsFileError as e:
        fail(str(e), Exit.BAD_INPUT)
        raise  # unreachable: fail exits

    def loaded() -> Iterator[Loaded]:
        try:
            for item in _with_progress(source, path, progress):
                if isinstance(item, Rejected):
                    err.print("[yellow]rejected[/yellow] ", end="")
                    err.print(str(item), markup=False)
                    err.print("  " + "；".join(e.message_zh for e in item.errors), markup=False)  # 拒收原因
                else:
                    yield item
        except FactsFileError as e:
            fail(str(e), Exit.BAD_INPUT)

    return source, loaded()


def _with_progress(source: FactSource, path: Path, enabled: bool) -> Iterator[Loaded | Rejected]:
    if not enabled or not err.is_terminal:
        yield from source
        return
    total = _count_lines(path) if path.suffix in (".jsonl", ".ndjson") else None
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task(f"evaluating {path.name}", total=total)
        for item in source:
            yield item
            bar.advance(task)


def _count_lines(path: Path) -> int | None:
    try:
        with path.open("rb") as f:
            return sum(1 for line in f if line.strip())
    except OSError:
        return None
