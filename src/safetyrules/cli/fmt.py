"""`safetyrules fmt PATH…`: rewrite policies in the canonical layout and the current forms of the language
(or --check / --diff)."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click

from safetyrules.check.pipeline import policy_files, read_policy_file, subject_established
from safetyrules.cli.common import Exit, err, out
from safetyrules.diagnostics import render
from safetyrules.syntax import ast
from safetyrules.syntax.formatter import format_module, name_engine_params
from safetyrules.syntax.parser import parse
from safetyrules.syntax.revision import as_candidate


def deprecated_forms(module: ast.Module, established: bool, parse_warnings: int) -> int:
    """How many forms of the earlier revision of the language the file uses (the parser's deprecation warnings,
    obligations written for a candidate, deadlines whose engine-read param is not named)."""
    count = parse_warnings
    for decl in module.decls:
        if isinstance(decl, ast.RuleDecl):
            count += as_candidate(decl) is not decl
            count += name_engine_params(decl, established) is not decl
    return count


@click.command("fmt")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--check", "check_only", is_flag=True,
              help="Change nothing; exit 1 if a file would change (its layout, or forms that are deprecated).")
@click.option("--diff", is_flag=True, help="Print what would change as a unified diff; change nothing.")
def fmt_command(paths: tuple[Path, ...], check_only: bool, diff: bool) -> None:
    """Format policy files in the canonical layout, rewriting deprecated forms of the language to the current
    ones (docs/language.md, "Deprecated forms"). Files with syntax errors, or that cannot be read as UTF-8 text,
    are reported and left alone (exit 4); a file that cannot be written back is reported (exit 2)."""
    changed: list[Path] = []
    established: dict[Path, bool] = {}  # folder → whether its policy's subject has an establishment date
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
            folder = path.resolve().parent
            if folder not in established:
                established[folder] = subject_established(folder)
            formatted = format_module(result.module, established[folder])
            if formatted == text:
                continue
            changed.append(path)
            if check_only:
                warnings = [d for d in result.diagnostics if d.code.startswith("deprecated-")]
                for d in warnings:
                    err.print(render(d, text), markup=False)
                old = deprecated_forms(result.module, established[folder], len(warnings))
                if old:
                    err.print(f"{path}: uses {old} deprecated form(s); `safetyrules fmt` rewrites them",
                              markup=False)
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
