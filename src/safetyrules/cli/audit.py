"""`safetyrules audit`: the decision records' hash chain, checked (docs/service.md)."""

from __future__ import annotations

import sys

import click

from safetyrules.cli.common import Exit, fail


@click.command("audit")
@click.option("--db", "db_url", required=True, help="The decision records: sqlite:///FILE or postgresql://….")
@click.option("--verify", is_flag=True, help="Check every decision's hash and its link to the one before: exit 1 "
              "and name the first that does not check.")
def audit_command(db_url: str, verify: bool) -> None:
    """Count the stored decisions and show the chain's head; with --verify, check the whole chain."""
    from safetyrules.service.records import GENESIS, RecordsError, open_records

    try:
        records = open_records(db_url, create=False)
    except RecordsError as e:
        fail(f"--db {e}", Exit.USAGE)
        return
    if not verify:
        head = records.head()
        click.echo(f"{records.count()} decisions; head: " + (f"#{head[0]} {head[1]}" if head else f"none ({GENESIS})"))
        return
    report = records.audit()
    if report.ok:
        click.echo(f"chain ok: {report.checked} decisions; head {report.head} / 决定记录链完整")
        return
    click.echo(f"chain broken at decision {report.first_bad}: {report.reason}; {report.checked} decisions before it "
               f"check / 决定记录链在第 {report.first_bad} 条处断开")
    sys.exit(int(Exit.FINDINGS))
