"""`safetyrules serve`: the decision service over HTTP (docs/service.md); needs the `service` extra."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import click

from safetyrules.cli.common import Exit, err, fail, run_limits


@click.command("serve")
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), default=None,
              help="A policy folder, a .policy file or a bundle (.tar.gz, verified first). Default: the bundled "
                   "附件4 policy.")
@click.option("--db", "db_url", default="sqlite:///decisions.db", show_default=True,
              help="Where decisions are stored: sqlite:///FILE, sqlite:////ABSOLUTE/FILE or postgresql://… "
                   "(needs psycopg).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--read-only", is_flag=True, help="Refuse evaluate and whatif (403): serve the policy, the schema "
              "and the stored decisions only.")
@click.option("--max-body", default=16 * 1024 * 1024, show_default=True, type=click.IntRange(1),
              help="Largest request body, in bytes (413 beyond).")
@click.option("--max-records", default=10_000, show_default=True, type=click.IntRange(1),
              help="Most records in one evaluate or whatif request (413 beyond).")
@click.option("--facts", "facts", type=click.Path(path_type=Path), default=None,
              help="The population the web console (/console/) shows: .jsonl, .json, .csv or .xlsx. Default: the "
                   "bundled example town.")
def serve_command(policy_path: Path | None, db_url: str, host: str, port: int, read_only: bool, max_body: int,
                  max_records: int, facts: Path | None) -> None:
    """Serve the policy as a JSON API under /v1/ (evaluate, explain, whatif, policy, schema, health, decisions;
    /openapi.json describes it) and a web console for people under /console/ (the --facts population). Every
    decision is stored in the hash-chained records at --db. Set SAFETYRULES_TOKEN to require `Authorization:
    Bearer <token>` on evaluate and whatif (and console what-if runs)."""
    try:
        import uvicorn

        from safetyrules.service.app import create_app
    except ImportError as e:
        fail(f"the decision service needs the `service` extra ({e.name} is missing): pip install "
             "'safetyrules[service]' / 需要安装 service 扩展", Exit.USAGE)
        return
    from safetyrules.diagnostics import PolicyError
    from safetyrules.service.bundle import BundleError
    from safetyrules.service.records import RecordsError

    if policy_path is not None and not os.path.lexists(policy_path):
        fail(f"{policy_path}: no such policy file, folder or bundle (--policy)", Exit.USAGE)
    if facts is not None and not facts.is_file():
        fail(f"{facts}: no such facts file (--facts)", Exit.USAGE)
    try:
        app = create_app(policy_path, db_url, read_only=read_only, max_body=max_body, max_records=max_records,
                         limits=run_limits(), facts=facts)
    except PolicyError as e:
        err.print(str(e), markup=False)
        fail("the policy has errors; run `safetyrules check` for details", Exit.POLICY_ERROR)
        return
    except BundleError as e:
        fail(str(e), Exit.BAD_INPUT)
        return
    except RecordsError as e:
        fail(f"--db {e}", Exit.USAGE)
        return
    service = app.state.service
    guarded = "a token (SAFETYRULES_TOKEN)" if service.token else "NO token: anyone who reaches it may write"
    err.print(f"policy {service.ref.name} {service.ref.version} ({service.ref.digest}); decisions: {db_url}; "
              f"writes: {'refused (--read-only)' if read_only else guarded}", markup=False)
    population = facts or ("the bundled example town" if service.policy.contract.builtin
                           else "none: the policy declares its own facts, give them with --facts")
    err.print(f"console: http://{host}:{port}/console/ (facts: {population})", markup=False)
    if not service.token and not read_only and not _loopback(host):
        err.print(f"[yellow]warning[/yellow] listening on {host} without a token: set SAFETYRULES_TOKEN / "
                  "未设置令牌，任何可访问者均可提交评估")
    uvicorn.run(app, host=host, port=port, log_level="info")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
