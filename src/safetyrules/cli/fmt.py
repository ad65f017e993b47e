"""`safetyrules fmt PATH…`: rewrite policies in the canonical layout (or --check / --diff)."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click

from safetyrules.check.pipeline import policy_files, read_policy_file
from safetyrules.cli.common import Exit, err, out
from safetyrules.diagnostics import render
from safetyrules.syntax.formatter import format_module
from safetyrules.syntax.parser import parse


@click.command("fmt")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 if a file would change.")
@click.option("--diff", is_flag=True, help="Print what would change as a unified diff; change nothing.")
def fmt_command(paths: tuple[Path, ...], check_only: bool, diff: bool) -> None:
    """Format policy files. Files with syntax errors, or that cannot be read as UTF-8 text, are reported and left
    alone (exit 4); a file that cannot be written back is reported (exit 2)."""
    changed: list[Path] = []
    broken = 0
    unwritable = 0
    for root in paths:
        for path in policy_files(root):
            text, problem = read_policy_file(path)
            if problem is not None:  # not UTF-8, too large, a FIFO or a device: reported like a syntax error
                broken += 1
                err.print(render(problem, None), markup=False)
                continue
            result = parse(text, str(path))
            if not result.ok:
                broken += 1
                for d in result.diagnostics:
                    err.print(render(d, text), markup=False)
                continue
            formatted = format_module(result.module)
            if formatted == text:
                continue
            changed.append(path)
            if diff:
                out.print("".join(difflib.unified_diff(text.splitlines(True), formatted.splitlines(True),
                                                       f"{path}", f"{path} (formatted)")), end="", markup=False)
            elif not check_only:
                try:
                    path.write_text(formatted, encoding="utf-8")
                except OSError as e:
                    changed.pop()
                    unwritable += 1
                    err.print(f"{path}: cannot write: {e.strerror or e}", markup=False)
    verb = "would reformat" if (check_only or diff) else "reformatted"
    for path in changed:
        err.print(f"{verb} {path}", markup=False)
    err.print(f"{len(changed)} file(s) {verb}; {broken} with errors, left alone", markup=False)
    if broken:
        sys.exit(int(Exit.POLICY_ERROR))
    if unwritable:
        sys.exit(int(Exit.USAGE))
    sys.exit(int(Exit.FINDINGS if changed and (check_only or diff) else Exit.OK))
