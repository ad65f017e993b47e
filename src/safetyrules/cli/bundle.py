"""`safetyrules bundle`: a policy, its fact schema and its tests in one verifiable file (docs/service.md)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from safetyrules.cli.common import Exit, check_output, err, fail, run_limits


@click.command("bundle")
@click.argument("policy_dir", type=click.Path(path_type=Path))
@click.option("--out", "out_path", type=click.Path(path_type=Path), required=True,
              help="The bundle file to write (.tar.gz).")
@click.option("--version", "version", default=None,
              help="The version the manifest gives the policy. Default: its digest, shortened (sha256:…12 hex).")
def bundle_command(policy_dir: Path, out_path: Path, version: str | None) -> None:
    """Write a bundle of POLICY_DIR: its .policy files and *.test.yaml tests, schema.json and manifest.json
    (name, version, digest, engine version, every file's SHA-256). The same policy gives the same bundle, byte
    for byte; `safetyrules serve --policy FILE` verifies and serves it."""
    from safetyrules.diagnostics import PolicyError
    from safetyrules.service.bundle import build_bundle

    if not os.path.lexists(policy_dir):
        fail(f"{policy_dir}: no such policy file or folder", Exit.USAGE)
    check_output(out_path)
    try:
        manifest = build_bundle(policy_dir, out_path, version, run_limits())
    except PolicyError as e:
        err.print(str(e), markup=False)
        fail("the policy has errors; nothing was written", Exit.POLICY_ERROR)
        return
    except OSError as e:
        fail(f"--out {out_path}: cannot write: {e.strerror or e}", Exit.USAGE)
        return
    click.echo(f"{out_path}: {manifest['name']} {manifest['version']} {manifest['digest']} "
               f"({len(manifest['files'])} files, {manifest['rules']} rules)")
