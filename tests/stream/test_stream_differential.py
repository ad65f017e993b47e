"""Differential tests: the monitor agrees with the reference engine after every event and clock advance.

For generated histories (late arrivals, exact duplicates, refused events, clock events between), after each
posted event the monitor's outcome of every (enterprise, rule) — and so its set of violated and triggered
pairs — equals the reference engine's evaluation of `build_record(events so far)` as of the monitor's day.
A second test replays a generated town day by day for a year and checks every day.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from safetyrules.api import Policy
from safetyrules.stream.monitor import Monitor
from safetyrules.synth import generate_events

from .conftest import FINAL, assert_follows_accepted_events, findings, needs_durable, reference_outcomes
from .strategies import END, history

BACKENDS = [
    pytest.param("reference", "day", id="reference-day"),
    pytest.param("reference", "event", id="reference-event"),
    pytest.param("rete", "day", id="rete-day", marks=needs_durable),
]


@pytest.mark.timeout(180)
@pytest.mark.parametrize(("backend", "flush"), BACKENDS)
@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=history())
def test_monitor_equals_reference_after_every_event(policy: Policy, backend: Any, flush: Any,
                                                    events: list[dict[str, Any]]) -> None:
    monitor = Monitor(policy, backend=backend, flush=flush)
    posted: list[dict[str, Any]] = []
    for event in events:
        monitor.post(event)
        posted.append(event)
        if monitor.today is None:
            continue
        expected = reference_outcomes(policy, posted, monitor.today)
        assert monitor.outcomes() == expected, f"after {event} as of {monitor.today}"
        assert monitor.findings() == findings(expected)
    assert monitor.today is not None
    monitor.advance_to(END + dt.timedelta(days=800))
    assert monitor.outcomes() == reference_outcomes(policy, posted, monitor.today)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("backend", ["reference", pytest.param("rete", marks=needs_durable)])
def test_a_town_day_by_day(policy: Policy, backend: Any) -> None:
    """Every day of a year of a small town (late and duplicate events included): the same outcomes."""
    monitor = Monitor(policy, backend=backend)
    posted: list[dict[str, Any]] = []
    checked = 0
    for event in generate_events(4, seed=11, disorder=0.05, duplicates=0.03):
        if event["type"] == "clock" and monitor.today is not None:
            assert monitor.outcomes() == reference_outcomes(policy, posted, monitor.today), monitor.today
            checked += 1
        monitor.post(event)
        if event["type"] != "clock":
            posted.append(event)
    assert checked == 364
    assert monitor.stats.duplicates > 0


class DailyMonitor(Monitor):
    """The brute-force oracle of alerts: every rule of every enterprise is re-evaluated every day."""

    def advance_to(self, day: dt.date) -> None:
        if self.today is None or day <= self.today:
            super().advance_to(day)
            return
        self.flush()
        d = self.today
        while d < day:
            d += dt.timedelta(days=1)
            for eid, ent in self._ents.items():
                self._evaluate(eid, ent, set(self.analysis.order), d)
        self.today = day


@pytest.mark.timeout(180)
@pytest.mark.parametrize("backend", ["reference", pytest.param("rete", marks=needs_durable)])
def test_alerts_equal_those_of_daily_re_evaluation(policy: Policy, backend: Any) -> None:
    """Waking only on candidate days misses no alert: the same alerts, on the same days, as re-evaluating
    every rule of every enterprise every day."""
    events = list(generate_events(4, seed=23, disorder=0.03, duplicates=0.02))
    key = lambda a: (a.day, a.kind, a.enterprise, a.rule, a.event, a.due_on)  # noqa: E731
    monitor, daily = Monitor(policy, backend=backend), DailyMonitor(policy)
    for m in (monitor, daily):
        m.replay(events)
        m.advance_to(dt.date(2023, 3, 31))
    assert sorted(map(key, monitor.alerts())) == sorted(map(key, daily.alerts()))
    assert monitor.stats.wakeups < daily.stats.rule_evaluations / 20




@pytest.mark.timeout(180)
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=history())
def test_a_reorder_window_keeps_the_monitor_equal_to_the_accepted_events(policy: Policy,
                                                                         events: list[dict[str, Any]]) -> None:
    """With `reorder_window`, events older than the window are folded and forgotten and later ones dated that
    early are refused: after every event the monitor equals the reference engine on the events it accepted."""
    monitor = Monitor(policy, reorder_window=3)
    assert_follows_accepted_events(policy, monitor, events)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("window", [0, 7])
def test_a_reorder_window_bounds_the_event_logs(policy: Policy, window: int) -> None:
    """A year of a small town: each enterprise's log holds only the events of the window (and since its last
    event), the outcomes every day are the reference engine's on the accepted events, and late events beyond
    the window are refused (with a window of 0 days, every late event; with 7, none in this town)."""
    monitor = Monitor(policy, reorder_window=window)
    accepted: list[dict[str, Any]] = []
    refused = longest = 0
    for event in generate_events(4, seed=11, disorder=0.05, duplicates=0.03):
        if event["type"] == "clock" and monitor.today is not None:
            assert monitor.outcomes() == reference_outcomes(policy, accepted, monitor.today), monitor.today
        receipt = monitor.post(event)
        if FINAL in (receipt.reason or ""):
            refused += 1
        elif event["type"] != "clock":
            accepted.append(event)
        longest = max([longest, *(len(e.log.entries) for e in monitor._ents.values())])
    assert longest <= 10
    assert monitor.stats.compacted >= len(accepted) - 4 * longest
    assert (refused > 0) if window == 0 else (refused == 0)


@pytest.mark.timeout(180)
def test_alert_messages_are_the_reference_engines(policy: Policy) -> None:
    """Every alert of a small town's year carries the message `Policy.evaluate_record` writes for that rule on
    that day (facts that decide whether the rule applies included), though the monitor writes it only when
    read. With `flush="event"` every alert is raised on the state right after an event or a clock tick."""
    from safetyrules.stream.events import build_records

    monitor = Monitor(policy, flush="event")
    posted: list[dict[str, Any]] = []
    compared = with_facts = 0
    for event in generate_events(6, seed=5):
        monitor.post(event)
        if event["type"] != "clock":
            posted.append(event)
        alerts = monitor.pop_alerts()
        if not alerts:
            continue
        assert monitor.today is not None
        records = build_records(posted)
        for alert in {(a.enterprise, a.rule): a for a in alerts}.values():  # the last of each: the state now
            result = policy.evaluate_record(records[alert.enterprise], monitor.today).by_rule(alert.rule)
            assert alert.message == result.message, (alert.day, alert.enterprise, alert.rule)
            compared += 1
            with_facts += alert.message.zh.count("：") > 1  # the facts it cites, by their labels (行业领域：…)
    assert compared > 100 and with_facts > 0
