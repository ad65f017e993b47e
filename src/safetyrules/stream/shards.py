"""The monitor sharded over processes: enterprises split by a hash of their id, one `Monitor` per shard.

Evaluation is independent per enterprise, so each shard process monitors its own enterprises with a whole
`Monitor`. The feeding process parses the stream (as one monitor would), routes each event to its
enterprise's shard, and keeps every shard's day equal to the stream's: when an event moves the day forward,
every shard is moved to it before that event (a clock event is posted to one shard and moves the others),
so each enterprise's results, alerts and refusals are those of one monitor over the whole stream (the
reorder window included). Only the interleaving of alerts of different enterprises may differ: each shard
reports its own in order.

Alerts are rendered in the shard that raised them (their message is written there, in parallel) and sent
back as text, with the refusals and, at the end, each shard's counters.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import queue
import zlib
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

from safetyrules.api import Policy
from safetyrules.limits import DEFAULT, Limits
from safetyrules.stream.events import EventError, Prepared
from safetyrules.stream.monitor import Alert, Monitor, MonitorStats, Refusal

BATCH = 256  # commands sent to a shard at once
Command = tuple[Any, ...]  # ("event", Prepared, ref) | ("invalid", EventError, ref) | ("advance", date) | …


def shard_of(enterprise: str, shards: int) -> int:
    """The shard of an enterprise: stable across runs and processes (not Python's salted `hash`)."""
    return zlib.crc32(enterprise.encode("utf-8")) % shards


class ShardedMonitor:
    """`Monitor` over `shards` processes. Feed it with `post` / `refuse_invalid`, then `finish()`; alerts
    reach `on_alert` as (kind, the text `render` makes of them in the shard), refusals reach `on_refused`."""

    def __init__(self, policy: Policy, shards: int, render: Callable[[Alert], str],
                 on_alert: Callable[[str, str], None], on_refused: Callable[[Refusal], None], *,
                 alert_days: int = 30, params: Mapping[str, Any] | None = None,
                 reorder_window: int | None = None, limits: Limits = DEFAULT) -> None:
        if shards < 2:
            raise ValueError("a sharded monitor needs 2 shards or more (use Monitor for one)")
        # fail here, not in every shard, on what a Monitor refuses (another subject's policy, a bad param)
        Monitor(policy, alert_days, params=params, reorder_window=reorder_window, limits=limits,
                keep_alerts=False, keep_refusals=False)
        self.shards = shards
        self.limits = limits
        self.on_alert = on_alert
        self.on_refused = on_refused
        self.today: dt.date | None = None
        self._pending: list[list[Command]] = [[] for _ in range(shards)]
        context = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        self._output: Any = context.Queue()
        self._inputs: list[Any] = [context.Queue(maxsize=8) for _ in range(shards)]
        settings = {"alert_days": alert_days, "params": dict(params or {}), "reorder_window": reorder_window,
                    "limits": limits}
        self._procs = [context.Process(target=_shard, args=(policy, settings, render, self._inputs[i],
                                                            self._output), daemon=True)
                       for i in range(shards)]
        for p in self._procs:
            p.start()
        self._stats: list[MonitorStats] = []

    # ------------------------------------------------------------------ feeding
    def post(self, event: Prepared, ref: Any = None) -> None:
        day = event.day
        if self.today is None or day > self.today:
            self.today = day
            self._broadcast(("advance", day))
        target = 0 if not event.enterprise else shard_of(event.enterprise, self.shards)
        self._send(target, ("event", event, ref))

    def refuse_invalid(self, error: EventError, ref: Any = None) -> None:
        self._send(0, ("invalid", error, ref))  # counted once, as one monitor counts it

    def advance_to(self, day: dt.date) -> None:
        if self.today is None or day > self.today:
            self.today = day
        self._broadcast(("advance", day))

    def finish(self) -> MonitorStats:
        """Flush every shard, wait for them, and return the summed counters."""
        self._broadcast(("finish",))
        for i in range(self.shards):
            self._flush(i)
        done = 0
        while done < self.shards:
            done += self._drain(block=True)
        for p in self._procs:
            p.join()
        total = MonitorStats()
        for s in self._stats:
            for f in fields(MonitorStats):
                setattr(total, f.name, getattr(total, f.name) + getattr(s, f.name))
        return total

    # ------------------------------------------------------------------ plumbing
    def _broadcast(self, command: Command) -> None:
        for i in range(self.shards):
            self._send(i, command)

    def _send(self, shard: int, command: Command) -> None:
        pending = self._pending[shard]
        pending.append(command)
        if len(pending) >= BATCH:
            self._flush(shard)

    def _flush(self, shard: int) -> None:
        if self._pending[shard]:
            while True:
                try:
                    self._inputs[shard].put(self._pending[shard], timeout=0.05)
                    break
                except queue.Full:  # the shard is busy: print what the shards have said meanwhile
                    self._drain(block=False)
            self._pending[shard] = []
        self._drain(block=False)

    def _drain(self, block: bool) -> int:
        """Hand on what the shards sent; the number of shards that finished."""
        finished = 0
        while True:
            try:
                kind, payload = self._output.get(block=block, timeout=None if block else 0)
            except queue.Empty:
                return finished
            if kind == "alerts":
                for kind_, text in payload:
                    self.on_alert(kind_, text)
            elif kind == "refused":
                for refusal in payload:
                    self.on_refused(refusal)
            elif kind == "error":
                raise RuntimeError(f"a monitor shard failed: {payload}")
            else:  # "done"
                self._stats.append(payload)
                finished += 1
            if block:
                return finished


def _shard(policy: Policy, settings: dict[str, Any], render: Callable[[Alert], str], inputs: Any,
           output: Any) -> None:
    """One shard: a whole monitor over the events of its enterprises."""
    alerts: list[tuple[str, str]] = []
    refused: list[Refusal] = []
    try:
        monitor = Monitor(policy, settings["alert_days"], params=settings["params"],
                          reorder_window=settings["reorder_window"], limits=settings["limits"],
                          on_alert=lambda a: alerts.append((str(a.kind), render(a))), keep_alerts=False,
                          on_refused=refused.append, keep_refusals=False)
        while True:
            batch = inputs.get()
            finish = False
            for command in batch:
                match command:
                    case ("event", event, ref):
                        monitor.post(event, ref)
                    case ("invalid", error, ref):
                        monitor.refuse_invalid(error, ref)
                    case ("advance", day):
                        monitor.advance_to(day)
                    case ("finish",):
                        finish = True
            if finish:
                monitor.flush()
                refused.extend(monitor.refusals())  # those still not fitting, now that every event is in
            if alerts:
                output.put(("alerts", alerts[:]))
                alerts.clear()
            if refused:
                output.put(("refused", refused[:]))
                refused.clear()
            if finish:
                output.put(("done", monitor.stats))
                return
    except Exception as e:  # reported to the feeding process, which raises it
        output.put(("error", f"{type(e).__name__}: {e}"))
