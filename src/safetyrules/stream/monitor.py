"""The streaming compliance monitor: events in, alerts out, without re-evaluating everyone every day.

    monitor = Monitor(load_policy(), alert_days=30)            # backend="reference" (default) or "rete"
    for event in events:
        monitor.post(event)                                    # a `clock` event, or any event, moves time on
    monitor.advance_to(dt.date(2022, 12, 31))
    for alert in monitor.alerts():
        print(alert.day, alert.enterprise, alert.rule, alert.message.zh)

**Invariant** (held by the differential tests): whenever it is observed (`findings`, `outcomes`, `alerts`…),
the monitor's outcome of every (enterprise, rule) equals the reference engine's evaluation of
`build_record(events posted so far)` as of `monitor.today`.

How it stays correct without evaluating everything:

* An event changes some top-level fields of one enterprise's record; only the rules that read those fields
  are re-evaluated (then, when an outcome changed, the rules that use it, like the enforcement candidate).
* Each evaluated rule gets a *next check* day (:func:`safetyrules.stream.analysis.next_change`): the first
  day its outcome could change with time alone. A heap keyed by each enterprise's earliest next check tells
  `advance_to` which enterprises, and which of their rules, to re-evaluate on which days in the passed
  interval, in date order; an enterprise with nothing due is not touched.
* With ``flush="day"`` (the default), the rules an event makes stale are re-evaluated once per enterprise and
  day: when the clock moves on, or when the state is observed. Outcomes are daily (`as_of` is a date), so
  this changes no observable outcome; it only spares alerts about states that last part of a day (found at
  9:00 and reported at 9:05). ``flush="event"`` re-evaluates after every event.

The monitor never rewrites history: a late event (dated before `today`) changes the record and is evaluated
as of `today`; alerts carry the day on which the monitor saw the change.

Work is bounded by events and change dates, not by days: `advance_to` jumps from one next-check day to the
next, next checks saturate at the calendar's ends, and rules over years wake only on New Years near the years
they can see (docs/streaming.md, "The ends of the calendar, and bounded work").
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, Literal, TypeVar

from safetyrules.api import Policy
from safetyrules.engine.interpreter import Step
from safetyrules.engine.results import EnterpriseResult, Outcome, RuleResult, Text
from safetyrules.facts.as_of import as_of_view
from safetyrules.limits import DEFAULT, Limits
from safetyrules.report.explain import message
from safetyrules.report.vocabulary import Vocabulary
from safetyrules.stream.analysis import (
    FieldDates,
    PolicyAnalysis,
    RulePlan,
    SubsetEvaluator,
    add_days,
    next_change,
    soon_eligible,
)
from safetyrules.stream.events import (
    EVERY_FIELD,
    EnterpriseLog,
    Event,
    EventError,
    EventType,
    Prepared,
    Receipt,
    Status,
    parse_event,
    too_late,
)

Backend = Literal["reference", "rete"]
FINDINGS = (Outcome.VIOLATED, Outcome.TRIGGERED)
_COMPLIANT = (Outcome.SATISFIED, Outcome.PENDING, Outcome.NOT_APPLICABLE)


def _seen_by_users(outcome: Outcome) -> tuple[bool, bool, bool]:
    """What `violated(r)` and `triggered(r)` can tell of an outcome: other changes do not concern users."""
    return outcome is Outcome.VIOLATED, outcome is Outcome.TRIGGERED, outcome is Outcome.UNKNOWN


class AlertKind(StrEnum):
    """Why an alert was raised."""

    VIOLATED = "violated"  # an obligation became violated
    COMPLIANT = "compliant"  # a violated obligation became satisfied, pending or not applicable
    WITHDRAWN = "withdrawn"  # a violation or trigger disappeared because the facts became unknown or changed
    TRIGGERED = "triggered"  # a credit trigger fired (one alert per behaviour)
    EXPIRED = "expired"  # a behaviour's listing period ended
    DUE_SOON = "due_soon"  # a deadline still to meet is within `alert_days`


ALERT_ZH = {
    AlertKind.VIOLATED: "新增违反",
    AlertKind.COMPLIANT: "恢复符合",
    AlertKind.WITHDRAWN: "撤销",
    AlertKind.TRIGGERED: "触发失信",
    AlertKind.EXPIRED: "失信记录期满",
    AlertKind.DUE_SOON: "即将到期",
}


class LazyMessage:
    """A result's bilingual message, written on first use: most alert sinks never read it, and writing it
    costs about as much as evaluating the rule. It keeps what the message reads (the result and the outcomes
    of the rules it uses, as they were when the alert was raised) until then."""

    __slots__ = ("_applies", "_outcomes", "_result", "_text", "_vocab")

    def __init__(self, result: RuleResult, outcomes: Mapping[str, Outcome],
                 applies: Callable[[], list[Step]] | None = None, vocab: Vocabulary | None = None) -> None:
        self._result: RuleResult | None = result
        self._outcomes = outcomes
        self._applies = applies  # the traced `applies` step, for the facts the message cites
        self._vocab = vocab  # the policy's words: the message as a person reads it
        self._text: Text | None = None

    @property
    def text(self) -> Text:
        if self._text is None:
            result = self._result
            assert result is not None
            if result.message is None and self._applies is not None and not result.steps:
                result.steps = self._applies()
            text = result.message or message(result, self._outcomes)
            if self._vocab is not None:
                text = Text(self._vocab.humanize(text.zh, "zh"), self._vocab.humanize(text.en, "en"))
            self._text = text
            self._result, self._outcomes, self._applies, self._vocab = None, {}, None, None
        return self._text

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyMessage):
            return self.text == other.text
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.text)


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: what changed, for whom, under which clause, on which day, and the result's message."""

    day: dt.date
    kind: AlertKind
    enterprise: str
    rule: str
    implements: tuple[str, ...]
    outcome: Outcome
    previous: Outcome | None
    text: Text | LazyMessage  # read it as `message`
    due_on: dt.date | None = None
    event: str | None = None  # the event path (hazards[H-1]) for per-event alerts

    @property
    def message(self) -> Text:
        """The result's message (`.zh`, `.en`), as `Policy.evaluate_record` writes it."""
        return self.text if isinstance(self.text, Text) else self.text.text

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "kind": str(self.kind),
            "enterprise": self.enterprise,
            "rule": self.rule,
            "implements": list(self.implements),
            "outcome": str(self.outcome),
            "previous": str(self.previous) if self.previous is not None else None,
            "due_on": self.due_on.isoformat() if self.due_on else None,
            "event": self.event,
            "message": self.message.to_json(),
        }


@dataclass(frozen=True, slots=True)
class Refusal:
    """An event refused: `invalid` (malformed: not JSON, not the event format, over a limit) or `rejected`
    (well-formed, but too late for the reorder window, reusing an event id, or not fitting the record).

    `final` is False for an event that does not fit the record *as things stand*: it stays in its enterprise's
    log and is applied if an earlier-stamped event that makes it fit arrives later (`Monitor.refusals()` lists
    those standing when it is called)."""

    ref: Any  # what was passed to `post` as `ref` (the command line: the line number), else the arrival number
    status: Literal["invalid", "rejected"]
    enterprise: str | None
    reason: str
    reason_zh: str
    final: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "status": self.status, "enterprise": self.enterprise, "reason": self.reason,
                "reason_zh": self.reason_zh, "final": self.final}


@dataclass(slots=True)
class MonitorStats:
    """Counters of one monitor's work. `applied`, `rejected` count the events as things stand (a late event
    can make a rejected one fit, or an applied one stop fitting); `invalid` the malformed ones."""

    events: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    invalid: int = 0
    clock: int = 0
    rule_evaluations: int = 0
    rete_evaluations: int = 0
    rete_fallbacks: int = 0
    wakeups: int = 0
    alerts: int = 0
    compacted: int = 0  # events made final and forgotten (`reorder_window`)

    def to_json(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(slots=True)
class _Kept:
    """What the monitor keeps of a rule's last result: its outcome and, for triggers, the behaviours triggered
    and expired (the full result is used once, for alerts and the next check, then dropped)."""

    outcome: Outcome
    on: Counter[str] | None = None
    off: Counter[str] | None = None


@dataclass(slots=True)
class _Enterprise:
    log: EnterpriseLog
    results: dict[str, _Kept] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # the outcomes of `results`, for violated()
    next_at: dict[str, dt.date] = field(default_factory=dict)
    wake: dt.date | None = None
    dates: FieldDates = field(default_factory=FieldDates)
    soon: set[tuple[str, str, dt.date]] = field(default_factory=set)
    stale: set[str] = field(default_factory=set)
    pruned: dict[Any, Any] = field(default_factory=dict)  # lists cut to the items some rules' filters pass


_F = TypeVar("_F", bound=Callable[..., Any])


def _locked(method: _F) -> _F:
    """Run a public method of :class:`Monitor` under its lock: its state changes in several steps per event."""

    @functools.wraps(method)
    def locked(self: Monitor, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked  # type: ignore[return-value]


class Monitor:
    """Incremental monitoring of a policy over a stream of events (see the module doc)."""

    def __init__(self, policy: Policy, alert_days: int = 30, *, backend: Backend = "reference",
                 params: Mapping[str, Any] | None = None, on_alert: Callable[[Alert], None] | None = None,
                 flush: Literal["day", "event"] = "day", start: dt.date | None = None,
                 kinds: Iterable[AlertKind] | None = None, keep_alerts: bool = True,
                 reorder_window: int | None = None, limits: Limits = DEFAULT,
                 on_refused: Callable[[Refusal], None] | None = None, keep_refusals: bool = True) -> None:
        if alert_days < 0:
            raise ValueError("alert_days must be 0 or more")
        if reorder_window is not None and reorder_window < 0:
            raise ValueError("reorder_window must be 0 or more days (or None: keep every event)")
        if backend not in ("reference", "rete"):
            raise ValueError(f"unknown backend {backend!r}: use 'reference' or 'rete'")
        if flush not in ("day", "event"):
            raise ValueError(f"unknown flush mode {flush!r}: use 'day' or 'event'")
        if not policy.contract.builtin:  # the event types (hazard_found, accident_reported …) are 附件4's
            raise ValueError(f"policy `{policy.name}` declares its own facts (subject `{policy.contract.subject}`); "
                             "the streaming monitor reads the events of the built-in 附件4 enterprise contract only")
        self.policy = policy
        self.alert_days = alert_days
        self.backend: Backend = backend
        self.flush_mode = flush
        self.on_alert = on_alert
        self.keep_alerts = keep_alerts
        # events dated more than this many days before `today` are final: folded into the record and forgotten
        # (memory bounded by the window, not by the stream), and later ones dated that early are refused
        self.reorder_window = reorder_window
        self.kinds = frozenset(kinds) if kinds is not None else frozenset(AlertKind)
        self.params = dict(params or {})
        self._subset = SubsetEvaluator(policy, self.params)
        self._decls = {r.name: r for r in policy.program.rules}
        self.analysis: PolicyAnalysis = self._subset.analysis
        self._rete: Any = None
        self._rete_rules: frozenset[str] = frozenset()
        if backend == "rete":
            from safetyrules.stream.rete import ReteEvaluator  # imports durable-rules (optional)

            self._rete = ReteEvaluator(policy, self.params)
            self._rete_rules = frozenset(self._rete.rules)
        self.today: dt.date | None = start
        self.limits = limits
        self._lock = threading.RLock()  # one Monitor may be fed and read from several threads
        self.on_refused = on_refused
        self.keep_refusals = keep_refusals
        self._stats = MonitorStats()
        self._ents: dict[str, _Enterprise] = {}
        self._heap: list[tuple[dt.date, str]] = []
        self._dirty: set[str] = set()
        self._alerts: list[Alert] = []
        self._popped = 0
        self._seq = 0
        self._final: list[tuple[int, Refusal]] = []  # final refusals, with their arrival numbers (keep_refusals)
        self._kept = 0  # events entered in a log (applied or rejected as things stand, or folded)
        self._rejected_final = 0  # rejected events that can no longer fit
        self._rejected_in_logs = 0  # of those, the ones kept in a log until the reorder window made them final

    # ------------------------------------------------------------------ input
    @property
    @_locked
    def stats(self) -> MonitorStats:
        """The counters; `applied` and `rejected` as things stand (the logs of late events are rebuilt first)."""
        standing = sum(len(ent.log.rejected) for ent in self._ents.values())
        self._stats.rejected = self._rejected_final + standing
        self._stats.applied = self._kept - standing - self._rejected_in_logs
        return self._stats

    @_locked
    def post(self, event: Event | Mapping[str, Any] | str | bytes | Prepared, ref: Any = None) -> Receipt:
        """Take one event (a dict, JSON text, `Event` or parsed event); returns what became of it.

        `ref` is reported with the event's refusal, if any (default: its arrival number, from 0)."""
        if not isinstance(event, Prepared):
            try:
                event = parse_event(event, self.limits)
            except EventError as err:
                return self.refuse_invalid(err, ref)
        seq = self._seq
        self._seq += 1
        self._stats.events += 1
        ref = seq if ref is None else ref
        return self._post(event, seq, ref)

    @_locked
    def refuse_invalid(self, error: EventError, ref: Any = None) -> Receipt:
        """Count a malformed event (one that `parse_event` refused) as posted and refused."""
        seq = self._seq
        self._seq += 1
        self._stats.events += 1
        self._stats.invalid += 1
        self._refuse(seq, Refusal(seq if ref is None else ref, "invalid", None, str(error), error.zh))
        return Receipt(Status.REJECTED, f"invalid event: {error}", None, f"事件无效：{error.zh}")

    def _refuse(self, seq: int, refusal: Refusal) -> None:
        if self.keep_refusals:
            self._final.append((seq, refusal))
        if self.on_refused is not None:
            self.on_refused(refusal)

    def _reject(self, seq: int, ref: Any, enterprise: str, reason: str, reason_zh: str) -> None:
        self._rejected_final += 1
        self._refuse(seq, Refusal(ref, "rejected", enterprise, reason, reason_zh))

    @_locked
    def refusals(self) -> list[Refusal]:
        """The events refused, in arrival order: those refused for good (kept unless ``keep_refusals=False``;
        `on_refused` is called for each as it happens) and those that do not fit the record as things stand
        (``final=False``)."""
        out = list(self._final)
        for eid, ent in self._ents.items():
            out.extend((seq, Refusal(ref, "rejected", eid, str(reason), reason.zh, final=False))
                       for seq, ref, reason in ent.log.standing())
        out.sort(key=lambda item: item[0])
        return [refusal for _, refusal in out]

    @property
    @_locked
    def rejections(self) -> list[Refusal]:
        """The events refused (:meth:`refusals`)."""
        return self.refusals()

    def _post(self, prep: Prepared, seq: int, ref: Any) -> Receipt:
        day = prep.day
        if prep.type is EventType.CLOCK:
            self._stats.clock += 1
            self.advance_to(day)
            return Receipt(Status.CLOCK)
        if self.today is None:
            self.today = day
        elif day > self.today:
            self.advance_to(day)
        eid = prep.enterprise
        final_before = self._final_before()
        if final_before is not None and day < final_before:
            # refused before anything is kept, even for an enterprise not seen yet
            reason = too_late(day, final_before)
            self._reject(seq, ref, eid, str(reason), reason.zh)
            return Receipt(Status.REJECTED, str(reason), eid, reason.zh)
        ent = self._ents.get(eid)
        if ent is None:
            ent = self._ents[eid] = _Enterprise(EnterpriseLog(eid, lazy=True))
            ent.stale = set(self.analysis.order)
            self._dirty.add(eid)
        log = ent.log
        if final_before is not None:
            self._stats.compacted += log.compact(final_before)
            for old_seq, old_ref, reason in log.final_rejections:  # rejections made final by the window
                self._rejected_in_logs += 1
                self._reject(old_seq, old_ref, eid, str(reason), reason.zh)
            log.final_rejections.clear()
        receipt, touched, items = log.add(prep, seq, ref)
        if receipt.status is Status.DUPLICATE:
            self._stats.duplicates += 1
        elif receipt.status is Status.REJECTED and prep.key not in log.keys:  # too late, or an id reused
            self._reject(seq, ref, eid, receipt.reason or "", receipt.reason_zh or "")
        else:
            self._kept += 1
        if touched:
            # a late event: the log rebuilds the record when next read, so every rule is re-evaluated
            rules = set(self.analysis.order) if touched is EVERY_FIELD else self.analysis.rules_reading(touched)
            if items:  # list items added or changed: skip the rules whose filters none of them passes
                rules = {r for r in rules if r in ent.stale or self.analysis.affected(r, touched, items)}
            if rules:
                ent.stale |= rules
                self._dirty.add(eid)
        if self.flush_mode == "event":
            self.flush()
        return receipt

    @_locked
    def replay(self, events: Iterable[Event | Mapping[str, Any] | str | Prepared],
               until: dt.date | None = None) -> list[Receipt]:
        """Post every event dated on or before `until` (all without it), then advance to `until`. The `ref` of
        each is its position in `events` (from 0)."""
        receipts = []
        for index, event in enumerate(events):
            try:
                prep = event if isinstance(event, Prepared) else parse_event(event, self.limits)
            except EventError as err:
                receipts.append(self.refuse_invalid(err, index))
                continue
            if until is not None and prep.day > until:
                continue
            receipts.append(self.post(prep, index))
        if until is not None:
            self.advance_to(until)
        self.flush()
        return receipts

    def _final_before(self) -> dt.date | None:
        """Events dated before this day are final (the reorder window), or None."""
        if self.reorder_window is None or self.today is None:
            return None
        return add_days(self.today, -self.reorder_window)

    @_locked
    def advance_to(self, day: dt.date) -> None:
        """Move the clock to `day` (never back), re-evaluating what time changes on the way, in date order."""
        if self.today is None:
            self.today = day
            return
        if day <= self.today:
            return
        self.flush()
        while self._heap and self._heap[0][0] <= day:
            when, eid = heapq.heappop(self._heap)
            ent = self._ents[eid]
            if ent.wake != when:
                continue  # a stale heap entry
            due = {name for name, at in ent.next_at.items() if at <= when}
            if not due:
                continue
            self._stats.wakeups += 1
            self._evaluate(eid, ent, due, when)
        self.today = day

    @_locked
    def flush(self) -> None:
        """Re-evaluate, as of today, the rules that events made stale (done before any observation)."""
        if not self._dirty or self.today is None:
            return
        for eid in sorted(self._dirty):
            ent = self._ents[eid]
            if ent.stale:
                names, ent.stale = ent.stale, set()
                self._evaluate(eid, ent, names, self.today)
        self._dirty.clear()

    # ------------------------------------------------------------------ observation
    @_locked
    def alerts(self) -> list[Alert]:
        """Every alert so far, in the order raised (none kept with ``keep_alerts=False``: use `on_alert`)."""
        self.flush()
        return list(self._alerts)

    @_locked
    def pop_alerts(self) -> list[Alert]:
        """The alerts raised since the last `pop_alerts`."""
        self.flush()
        new = self._alerts[self._popped:]
        self._popped = len(self._alerts)
        return new

    @_locked
    def findings(self) -> set[tuple[str, str]]:
        """The (enterprise, rule) pairs currently violated or triggered."""
        self.flush()
        return {(eid, name) for eid, ent in self._ents.items() for name, r in ent.results.items()
                if r.outcome in FINDINGS}

    @_locked
    def outcomes(self, enterprise: str | None = None) -> dict[tuple[str, str], Outcome]:
        """The current outcome of every (enterprise, rule), or of one enterprise's rules."""
        self.flush()
        ents = self._ents.items() if enterprise is None else [(enterprise, self._ents[enterprise])]
        return {(eid, name): r.outcome for eid, ent in ents for name, r in ent.results.items()}

    @_locked
    def enterprises(self) -> list[str]:
        return list(self._ents)

    @_locked
    def record(self, enterprise: str) -> dict[str, Any]:
        """The record that the enterprise's events build (as `build_record` does)."""
        return self._ents[enterprise].log.record

    @_locked
    def results(self, enterprise: str, explain: bool = False) -> EnterpriseResult:
        """A full, fresh reference evaluation of one enterprise as of today (with messages)."""
        if self.today is None:
            raise ValueError("the monitor has no date yet")
        return self.policy.evaluate_record(self.record(enterprise), self.today, self.params or None, explain)

    @_locked
    def next_check(self, enterprise: str) -> dt.date | None:
        """The next day on which time alone may change one of the enterprise's outcomes."""
        self.flush()
        return self._ents[enterprise].wake

    # ------------------------------------------------------------------ evaluation
    def _evaluate(self, eid: str, ent: _Enterprise, names: set[str], day: dt.date) -> None:
        plans = self.analysis.plans
        pending = set(names)
        record = ent.log.record
        while pending:
            ready = {n for n in pending if not (plans[n].uses & pending)}
            pending -= ready
            results = self._compute(ent, ready, day)
            for name, new in results.items():
                old = ent.results.get(name)
                ent.results[name] = self._raise_alerts(eid, ent, plans[name], old, new, day)
                ent.outcomes[name] = new.outcome
                if old is None or _seen_by_users(old.outcome) != _seen_by_users(new.outcome):
                    pending |= self.analysis.users.get(name, frozenset())
                nxt = next_change(plans[name], new, record, ent.dates, day, self.alert_days,
                                  self.analysis.static[name])
                if nxt is None:
                    ent.next_at.pop(name, None)
                else:
                    ent.next_at[name] = nxt
        wake = min(ent.next_at.values(), default=None)
        if wake is not None and wake != ent.wake:
            heapq.heappush(self._heap, (wake, eid))
        ent.wake = wake
        if ent.soon:
            ent.soon = {k for k in ent.soon if k[2] >= day}

    def _compute(self, ent: _Enterprise, names: set[str], day: dt.date) -> dict[str, RuleResult]:
        out: dict[str, RuleResult] = {}
        record = ent.log.record
        if self._rete is not None:
            on_rete = names & self._rete_rules
            if on_rete:
                got: dict[str, RuleResult | None] = self._rete.evaluate(record, day, on_rete)
                for name, result in got.items():
                    if result is None:
                        self._stats.rete_fallbacks += 1
                    else:
                        out[name] = result
                        self._stats.rete_evaluations += 1
        rest = names - out.keys()
        if rest:
            outcomes = ent.outcomes
            if out:
                outcomes = {**outcomes, **{n: r.outcome for n, r in out.items()}}
            out.update(self._subset.evaluate(record, day, rest, outcomes, ent.dates, ent.pruned))
            self._stats.rule_evaluations += len(rest)
        return out

    # ------------------------------------------------------------------ alerts
    def _applies_thunk(self, plan: RulePlan, record: Mapping[str, Any], day: dt.date,
                       outcomes: Mapping[str, Outcome]) -> Callable[[], list[Step]] | None:
        """What traces the rule's `applies` condition on the record as it is now, when the message is read (the
        record is never changed in place: a later event makes a new one)."""
        rule = self._decls[plan.name]
        if rule.applies is None:
            return None
        engine = self._subset.engine

        def steps() -> list[Step]:
            fields = record if "*" in plan.fields else {k: record[k] for k in plan.fields if k in record}
            return engine.applies_steps(rule, as_of_view(dict(fields), day), day,
                                        lambda name: str(outcomes.get(name, Outcome.UNKNOWN)))
        return steps

    def _raise_alerts(self, eid: str, ent: _Enterprise, plan: RulePlan, old: _Kept | None, new: RuleResult,
                      day: dt.date) -> _Kept:
        """Raise the alerts of one rule's new result; returns what to keep of it."""
        before = old.outcome if old is not None else None
        after = new.outcome
        kept = _Kept(after)
        raised: list[tuple[AlertKind, dt.date | None, str | None]] = []
        if plan.trigger:
            old_on = (old.on if old else None) or Counter()
            old_off = (old.off if old else None) or Counter()
            new_on = Counter(e.path for e in new.events if e.outcome is Outcome.TRIGGERED)
            new_off = Counter(e.path for e in new.events if e.outcome is Outcome.EXPIRED)
            kept.on, kept.off = new_on or None, new_off or None
            until = {e.path: e.listed_until for e in new.events}
            for path, n in new_on.items():
                if n > old_on[path]:
                    raised.append((AlertKind.TRIGGERED, until.get(path), path))
            for path, n in old_on.items():
                if new_on[path] < n:
                    kind = AlertKind.EXPIRED if new_off[path] > old_off[path] else AlertKind.WITHDRAWN
                    raised.append((kind, until.get(path), path))
        else:
            if after is Outcome.VIOLATED and before is not Outcome.VIOLATED:
                raised.append((AlertKind.VIOLATED, new.due_on, None))
            elif before is Outcome.VIOLATED and after is not Outcome.VIOLATED:
                raised.append((AlertKind.COMPLIANT if after in _COMPLIANT else AlertKind.WITHDRAWN, new.due_on, None))
            window = self.alert_days
            if soon_eligible(plan, new) and new.due_on is not None and 0 <= (new.due_on - day).days <= window:
                key = (plan.name, "", new.due_on)
                if key not in ent.soon:
                    ent.soon.add(key)
                    raised.append((AlertKind.DUE_SOON, new.due_on, None))
            if plan.per_event:
                for e in new.events:
                    if e.outcome is Outcome.PENDING and e.due_on is not None and 0 <= (e.due_on - day).days <= window:
                        key = (plan.name, e.path, e.due_on)
                        if key not in ent.soon:
                            ent.soon.add(key)
                            raised.append((AlertKind.DUE_SOON, e.due_on, e.path))
        raised = [r for r in raised if r[0] in self.kinds]
        if not raised:
            return kept
        # the message reads the outcomes of the rules this one uses: keep them as they are now
        used = {n: ent.outcomes[n] for n in new.rules_used if n in ent.outcomes}
        text = LazyMessage(new, used, self._applies_thunk(plan, ent.log.record, day, used), self.policy.vocabulary)
        for kind, due, where in raised:
            alert = Alert(day, kind, eid, plan.name, new.implements, after, before, text, due, where)
            if self.keep_alerts:
                self._alerts.append(alert)
            self._stats.alerts += 1
            if self.on_alert is not None:
                self.on_alert(alert)
        return kept
