"""`safetyrules monitor`: replay a stream of events and print each alert when it is raised.

    safetyrules monitor --events town-2022.jsonl [--policy policies/annex4] [--until 2022-12-31]
                        [--backend reference|rete] [--alert-days 30] [--format text|jsonl]

Exit codes (as every command): 0 success; 2 usage error (also: the rete backend is not installed);
3 some events were refused (malformed, or not fitting the record: each is reported on stderr with its line);
4 the policy has errors.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import click
from rich.markup import escape

from safetyrules.stream.events import EventError, Prepared, Status, parse_event
from safetyrules.stream.monitor import ALERT_ZH, Alert, Monitor


def render_alert(alert: Alert) -> str:
    """Three lines: the day, the kind, the enterprise, the rule and its catalogue ids; then zh and en."""
    ids = ", ".join(alert.implements)
    head = f"{alert.day}  {ALERT_ZH[alert.kind]} {alert.kind}  {alert.enterprise}  {alert.rule} [{ids}]"
    if alert.event:
        head += f"  {alert.event}"
    if alert.due_on and alert.kind == "due_soon":
        head += f"  due {alert.due_on}"
    return f"{head}\n  {alert.message.zh}\n  {alert.message.en}"


def _lines(stream: TextIO) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(stream, start=1):
        if line.strip():
            yield number, line


@click.command("monitor")
@click.option("--policy", "policy_paths", multiple=True, type=click.Path(path_type=Path),
              help="Policy file or folder (repeatable; default: the bundled 附件4 policy).")
@click.option("--events", "events_path", required=True, type=click.Path(path_type=Path, allow_dash=True),
              help="Events as JSON Lines ('-' reads stdin).")
@click.option("--until", default=None, help="Stop at this date (YYYY-MM-DD): later events are not read.")
@click.option("--backend", type=click.Choice(["reference", "rete"]), default="reference", show_default=True,
              help="rete: run the event-correlation rules on durable-rules.")
@click.option("--alert-days", type=click.IntRange(min=0), default=30, show_default=True,
              help="Alert when a deadline still to meet is this many days away or fewer.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Override a param (what-if).")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
@click.option("--reorder-window", type=click.IntRange(min=0), default=None, metavar="DAYS",
              help="Events dated more than DAYS before the monitor's day are final: kept only in the records "
              "(memory bounded by the window, not the stream); later ones dated that early are refused. "
              "Default: keep every event, so a late event of any age is inserted in its place.")
def monitor_command(policy_paths: tuple[Path, ...], events_path: Path, until: str | None, backend: str,
                    alert_days: int, params: tuple[str, ...], fmt: str, reorder_window: int | None) -> None:
    """Replay a stream of events and print every alert when it is raised.

    Alerts: an obligation becomes violated or compliant again, a credit trigger fires or expires, a deadline
    still to meet comes within --alert-days. Events are applied in timestamp order per enterprise; exact
    duplicates are ignored; refused events are reported on stderr.
    """
    # imported here: `safetyrules.cli` registers this command, so importing it at module level would be circular
    from safetyrules.cli.common import Exit, err, fail, load_policy_or_exit, parse_date, parse_params

    policy = load_policy_or_exit(policy_paths)
    overrides = parse_params(params, policy)
    stop = parse_date(until, "--until")

    kinds: Counter[str] = Counter()

    def emit(alert: Alert) -> None:
        kinds[str(alert.kind)] += 1
        if fmt == "jsonl":
            click.echo(json.dumps(alert.to_json(), ensure_ascii=False))
        else:
            click.echo(render_alert(alert))

    try:
        monitor = Monitor(policy, alert_days, backend="rete" if backend == "rete" else "reference",
                          params=overrides, on_alert=emit, keep_alerts=False, reorder_window=reorder_window)
    except (RuntimeError, ImportError) as e:
        fail(str(e), Exit.USAGE)
        return
    refused = 0
    started = time.perf_counter()
    if str(events_path) == "-":
        handle: contextlib.AbstractContextManager[TextIO] = contextlib.nullcontext(sys.stdin)
    else:
        try:
            handle = events_path.open(encoding="utf-8")
        except OSError as e:
            fail(f"cannot read {events_path}: {e}", Exit.BAD_INPUT)
            return
    with handle as lines:
        for number, line in _lines(lines):
            try:
                prep: Prepared = parse_event(line)
            except EventError as e:
                refused += 1
                monitor.stats.events += 1
                monitor.stats.invalid += 1
                err.print(f"[yellow]refused[/yellow] {escape(f'{events_path}:{number}: {e}')}", markup=True,
                          highlight=False)
                continue
            if stop is not None and prep.day > stop:
                continue
            receipt = monitor.post(prep)
            if receipt.status is Status.REJECTED:
                refused += 1
                where = f"{events_path}:{number}: {receipt.reason}"
                err.print(f"[yellow]rejected[/yellow] {escape(where)}", markup=True, highlight=False)
    if stop is not None:
        monitor.advance_to(stop)
    monitor.flush()
    elapsed = time.perf_counter() - started
    s = monitor.stats
    summary: dict[str, Any] = {"events": s.events, "applied": s.applied, "duplicates": s.duplicates,
                               "refused": refused, "alerts": dict(sorted(kinds.items())),
                               "today": monitor.today.isoformat() if isinstance(monitor.today, dt.date) else None,
                               "seconds": round(elapsed, 3)}
    err.print("monitor: " + json.dumps(summary, ensure_ascii=False), markup=False, highlight=False)
    if refused:
        sys.exit(int(Exit.BAD_INPUT))
