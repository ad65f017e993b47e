"""`safetyrules monitor`: replay a stream of events and print each alert when it is raised.

    safetyrules monitor --events town-2022.jsonl [--policy policies/annex4] [--until 2022-12-31]
                        [--backend reference|rete] [--alert-days 30] [--format text|jsonl]

Exit codes (as every command): 0 success; 2 usage error (also: the rete backend is not installed);
3 some events were refused (malformed, or not fitting the record: each is reported on stderr with its line and
the reason in English and Chinese); 4 the policy has errors.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import click
from rich.markup import escape

from safetyrules.cli.common import Exit, err, fail, load_policy_or_exit, parse_date, parse_params, run_limits

if TYPE_CHECKING:  # the stream package is imported when the command runs: `safetyrules --help` stays quick
    from safetyrules.report.vocabulary import Vocabulary
    from safetyrules.stream.monitor import Alert, Refusal
    from safetyrules.stream.shards import ShardedMonitor


def render_alert(alert: Alert, vocab: Vocabulary | None = None) -> str:
    """Three lines: the day, the kind, the enterprise, the catalogue ids and the obligation's title (with the
    policy's vocabulary; else the rule's name); then the message in zh and en, which the monitor writes in
    words."""
    from safetyrules.stream.monitor import ALERT_ZH

    ids = ", ".join(alert.implements)
    what = f"[{ids}] {vocab.title(alert.rule, 'zh')}" if vocab is not None else f"{alert.rule} [{ids}]"
    head = f"{alert.day}  {ALERT_ZH[alert.kind]} {alert.kind}  {alert.enterprise}  {what}"
    if alert.event:
        head += f"  {vocab.field(alert.event, 'zh') if vocab is not None else alert.event}"
    if alert.due_on and alert.kind == "due_soon":
        head += f"  due {alert.due_on}"
    return f"{head}\n  {alert.message.zh}\n  {alert.message.en}"  # in words already (the monitor's vocabulary)


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
@click.option("--shards", type=click.IntRange(min=1), default=1, show_default=True,
              help="Monitor the enterprises in this many processes (split by a hash of the id; the reference "
              "backend): the same alerts, those of different enterprises possibly interleaved differently.")
def monitor_command(policy_paths: tuple[Path, ...], events_path: Path, until: str | None, backend: str,
                    alert_days: int, params: tuple[str, ...], fmt: str, reorder_window: int | None,
                    shards: int) -> None:
    """Replay a stream of events and print every alert when it is raised.

    Alerts: an obligation becomes violated or compliant again, a credit trigger fires or expires, a deadline
    still to meet comes within --alert-days. Events are applied in timestamp order per enterprise; exact
    duplicates are ignored; refused events are reported on stderr.
    """
    from safetyrules.report.vocabulary import Vocabulary
    from safetyrules.stream.events import EventError, read_event_lines
    from safetyrules.stream.monitor import Monitor

    policy = load_policy_or_exit(policy_paths)
    overrides = parse_params(params, policy)
    stop = parse_date(until, "--until")
    vocab = Vocabulary(policy) if fmt == "text" else None  # alerts in words, as a regulator reads them

    kinds: Counter[str] = Counter()

    def emit(alert: Alert) -> None:
        kinds[str(alert.kind)] += 1
        click.echo(rendered(alert))

    def rendered(alert: Alert) -> str:
        return json.dumps(alert.to_json(), ensure_ascii=False) if fmt == "jsonl" else render_alert(alert, vocab)

    def emit_text(kind: str, text: str) -> None:  # an alert a shard rendered
        kinds[kind] += 1
        click.echo(text)

    def refused(refusal: Refusal) -> None:
        label = "refused" if refusal.status == "invalid" else "rejected"
        err.print(f"[yellow]{label}[/yellow] {escape(f'{events_path}:{refusal.ref}: {refusal.reason}')}",
                  markup=True, highlight=False)
        err.print(f"  {refusal.reason_zh}", markup=False, highlight=False)

    monitor: Monitor | ShardedMonitor
    try:
        if shards > 1:
            if backend == "rete":
                fail("--shards runs the reference backend only", Exit.USAGE)
            from safetyrules.stream.shards import ShardedMonitor

            monitor = ShardedMonitor(policy, shards, rendered, emit_text, refused, alert_days=alert_days,
                                     params=overrides, reorder_window=reorder_window, limits=run_limits())
        else:
            monitor = Monitor(policy, alert_days, backend="rete" if backend == "rete" else "reference",
                              params=overrides, on_alert=emit, keep_alerts=False, reorder_window=reorder_window,
                              on_refused=refused, keep_refusals=False, limits=run_limits())
    except (RuntimeError, ImportError, ValueError) as e:
        fail(str(e), Exit.USAGE)
        return
    started = time.perf_counter()
    stream: BinaryIO
    if str(events_path) == "-":
        stream = sys.stdin.buffer
    else:
        try:
            stream = events_path.open("rb")  # bytes: each line's encoding is checked on its own
        except OSError as e:
            fail(f"cannot read {events_path}: {e}", Exit.BAD_INPUT)
            return
    try:
        with contextlib.closing(stream) if str(events_path) != "-" else contextlib.nullcontext():
            for number, item in read_event_lines(stream, monitor.limits):
                if isinstance(item, EventError):
                    monitor.refuse_invalid(item, number)
                elif stop is None or item.day <= stop:
                    monitor.post(item, number)
    except OSError as e:  # the file became unreadable (a disk error, a directory): what was read counts
        err.print(f"[bold red]error:[/bold red] {escape(f'cannot read {events_path}: {e}')}", markup=True,
                  highlight=False)
        read_failed = True
    else:
        read_failed = False
    if stop is not None:
        monitor.advance_to(stop)
    if isinstance(monitor, Monitor):
        monitor.flush()
        for refusal in monitor.refusals():  # the events that still do not fit, now that every event is in
            refused(refusal)
        s = monitor.stats
    else:
        s = monitor.finish()  # each shard reports its standing refusals itself
    elapsed = time.perf_counter() - started
    summary: dict[str, Any] = {"events": s.events, "applied": s.applied, "duplicates": s.duplicates,
                               "refused": s.invalid + s.rejected, "alerts": dict(sorted(kinds.items())),
                               "today": monitor.today.isoformat() if isinstance(monitor.today, dt.date) else None,
                               "seconds": round(elapsed, 3)}
    err.print("monitor: " + json.dumps(summary, ensure_ascii=False), markup=False, highlight=False)
    if s.invalid or s.rejected or read_failed:
        sys.exit(int(Exit.BAD_INPUT))
