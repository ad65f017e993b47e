"""`safetyrules schema`: the JSON Schema of the facts a policy reads, and what changed between two versions."""

from __future__ import annotations

import json
from pathlib import Path

import click

from safetyrules.api import bundled_policy_path
from safetyrules.cli.common import Exit, err, fail, run_limits
from safetyrules.diagnostics import render
from safetyrules.facts.schema import FactSchema


def _schema_of(paths: list[Path], what: str) -> FactSchema:
    from safetyrules.check.pipeline import read_schema

    for path in paths:
        if not path.exists():
            fail(f"{path}: no such policy file or folder ({what})", Exit.USAGE)
    schema, sources, diagnostics = read_schema(paths, run_limits())
    errors = [d for d in diagnostics if d.is_error]
    for d in errors:
        err.print(render(d, sources.get(d.span.file)), markup=False)
    if errors:
        fail(f"{what}: the schema has {len(errors)} error(s)", Exit.POLICY_ERROR)
    if schema is None:
        fail(f"{what}: {', '.join(map(str, paths))} declares no facts (`subject`, `record`, `enum`)", Exit.POLICY_ERROR)
    assert schema is not None
    return schema


@click.command("schema")
@click.option("--policy", "policy_paths", multiple=True, type=click.Path(path_type=Path),
              help="The policy whose declared facts to show (default: the bundled 附件4 policy).")
@click.option("--diff", "diff_paths", nargs=2, type=click.Path(path_type=Path), metavar="OLD NEW",
              help="Compare the facts two policy versions declare (files or folders): what integrators must "
                   "change.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="With --diff: one change a line, or JSON.")
def schema_command(policy_paths: tuple[Path, ...], diff_paths: tuple[Path, Path] | None, fmt: str) -> None:
    """Print the JSON Schema of one subject record (the facts the policy declares), or with --diff OLD NEW the
    fields added, removed and changed between two versions, each marked compatible or not with stored records."""
    from safetyrules.facts.declared import json_schema, schema_diff

    if diff_paths:
        old, new = _schema_of([diff_paths[0]], "OLD"), _schema_of([diff_paths[1]], "NEW")
        changes = schema_diff(old, new)
        if fmt == "json":
            click.echo(json.dumps([c.to_json() for c in changes], ensure_ascii=False, indent=2))
        elif not changes:
            click.echo("no changes to the facts")
        else:
            for change in changes:
                click.echo(str(change))
            breaking = sum(not c.compatible for c in changes)
            click.echo(f"{len(changes)} change(s), {breaking} that old records may not pass", err=True)
        return
    schema = _schema_of(list(policy_paths) or [bundled_policy_path()], "--policy")
    click.echo(json.dumps(json_schema(schema), ensure_ascii=False, indent=2))
