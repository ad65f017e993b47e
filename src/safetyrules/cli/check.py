"""`safetyrules check PATH…`: parse and check policies; every diagnostic, as text or JSON."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from safetyrules.check.pipeline import compile_paths
from safetyrules.cli.common import Exit, out, run_limits
from safetyrules.diagnostics import render, render_json


@click.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
def check_command(paths: tuple[Path, ...], fmt: str, strict: bool) -> None:
    """Check policy files (or folders of .policy files) against the language and the fact schema.

    Exit status 0 when clean, 1 when there are errors (or warnings, with --strict).
    """
    compilation = compile_paths(list(paths), limits=run_limits())
    diags = compilation.diagnostics
    if fmt == "json":
        click.echo(render_json(diags))
    else:
        for d in diags:
            out.print(render(d, compilation.sources.get(d.span.file)), markup=False)
        errors = sum(1 for d in diags if d.is_error)
        warnings = len(diags) - errors
        files = len(compilation.sources)
        summary = f"{files} file(s) checked: {errors} error(s), {warnings} warning(s)"
        if compilation.policy is not None:
            summary += f"; {len(compilation.policy.rules)} rules, {len(compilation.policy.params)} params"
        out.print(summary, markup=False)
    failing = any(d.is_error for d in diags) or (strict and diags)
    sys.exit(int(Exit.FINDINGS if failing else Exit.OK))
