"""The command line: thin verbs over the library (one module per verb, as OPA's cmd/ does).

Exit codes (the same for every verb): 0 success; 1 findings (check errors, fmt --check changes, failed policy
tests, --fail-on hits); 2 usage error; 3 bad input data (unreadable facts, rejected records); 4 policy errors.
"""

from __future__ import annotations

import warnings
from typing import Any

import click

from safetyrules import __version__
from safetyrules.cli.audit import audit_command
from safetyrules.cli.bundle import bundle_command
from safetyrules.cli.check import check_command
from safetyrules.cli.evaluate import eval_command, explain_command
from safetyrules.cli.fmt import fmt_command
from safetyrules.cli.inspect import inspect_command
from safetyrules.cli.lsp import lsp_command
from safetyrules.cli.replay import replay_command
from safetyrules.cli.schema import schema_command
from safetyrules.cli.serve import serve_command
from safetyrules.cli.stream import monitor_command
from safetyrules.cli.synth import synth_command
from safetyrules.cli.test import test_command
from safetyrules.cli.whatif import whatif_command
from safetyrules.errors import LimitError
from safetyrules.limits import DEFAULT


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="safetyrules")
@click.option("--limit", "limit_pairs", multiple=True, metavar="NAME=VALUE",
              help="Raise or lower a limit on input sizes and work for this run, e.g. --limit "
                   "max_list_items=1000000 (repeatable; the limits and defaults are in docs/limits.md).")
@click.pass_context
def cli(ctx: click.Context, limit_pairs: tuple[str, ...]) -> None:
    """safetyrules — work-safety law as executable, explainable policy.

    Start with `safetyrules eval`: the bundled 附件4 policy over the bundled example town.
    """
    warnings.showwarning = _show_warning
    try:
        ctx.obj = DEFAULT.with_text(limit_pairs)
    except LimitError as e:
        raise click.BadParameter(str(e), param_hint="--limit") from None


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """Warnings the library gives (an unknown field in a record of a scenario or a policy test) as a person
    reads them on the command line: `warning: …`, not a source location of safetyrules."""
    click.echo(f"warning: {message}", err=True)


for command in (check_command, fmt_command, eval_command, explain_command, test_command, inspect_command,
                whatif_command, monitor_command, synth_command, schema_command, serve_command, bundle_command,
                replay_command, audit_command, lsp_command):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="safetyrules")
