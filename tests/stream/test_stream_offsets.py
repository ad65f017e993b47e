"""Events with different UTC offsets are applied in the order of their instants, with a reorder window too.

An event's *day* is its local date in its own offset, so two events can be in one order by day and in the
other by instant: an update stamped 2022-05-09T20:00-10:00 (day 05-09) comes after a hazard found at
2022-05-10T00:30+14:00 (day 05-10), 20 hours earlier. The record is the fold of the events in instant order
(ties: arrival order); the reorder window must not fold the later-stamped update into the record before the
earlier-stamped hazard arrives, or the hazard would be applied after the update that wipes it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from safetyrules.api import Policy
from safetyrules.engine.results import Outcome
from safetyrules.stream.events import Status
from safetyrules.stream.monitor import AlertKind, Monitor

from .conftest import assert_follows_accepted_events, ev, needs_durable, reference_outcomes
from .strategies import START, history, offset_history

D = dt.date
BACKENDS = ["reference", pytest.param("rete", marks=needs_durable)]
REGISTRATION = {"industry": "construction", "established_on": "2010-01-01", "hazards": [], "changes": [],
                "accidents": [], "inspection_findings": [], "reports": [], "risk_assessments": []}


def _instant(e: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(e["timestamp"])


def _replay(policy: Policy, backend: Any, events: list[dict[str, Any]], until: dt.date,
            ) -> tuple[Monitor, list[dict[str, Any]]]:
    """Post the events (a reorder window of one day), compare with the reference on the accepted events after
    each, then every day up to `until`."""
    monitor = Monitor(policy, backend=backend, reorder_window=1)
    accepted: list[dict[str, Any]] = []
    for e in events:
        receipt = monitor.post(e)
        assert receipt.status is not Status.REJECTED, receipt
        if e["type"] != "clock":
            accepted.append(e)
        assert monitor.today is not None
        assert monitor.outcomes() == reference_outcomes(policy, accepted, monitor.today), f"after {e}"
    day = monitor.today
    assert day is not None
    while day < until:
        day += dt.timedelta(days=1)
        monitor.advance_to(day)
        assert monitor.outcomes() == reference_outcomes(policy, accepted, day), day
    return monitor, accepted


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", BACKENDS)
def test_an_update_stamped_later_but_dated_earlier_still_wipes_the_hazard(policy: Policy, backend: Any) -> None:
    wipe = ev("E1", "enterprise_updated", "2022-05-09T20:00:00-10:00", {"hazards": []})  # 05-10 06:00 UTC
    found = ev("E1", "hazard_found", "2022-05-10T00:30:00+14:00",  # 05-09 10:30 UTC: before the wipe
               {"id": "H1", "major": True, "cause": "management"})
    assert wipe["timestamp"][:10] < found["timestamp"][:10] and _instant(found) < _instant(wipe)
    events = [ev("E1", "enterprise_updated", "2022-05-01", REGISTRATION), wipe,
              ev(None, "clock", "2022-05-11T00:00:00+08:00"),  # the wipe's day is now past the window
              found]
    monitor, _ = _replay(policy, backend, events, D(2022, 5, 31))
    assert monitor.record("E1")["hazards"] == []
    assert ("E1", "major_hazard_reported") not in monitor.findings()
    assert not [a for a in monitor.alerts() if a.rule == "major_hazard_reported" and a.kind is AlertKind.VIOLATED]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", BACKENDS)
def test_an_accident_wiped_by_a_later_stamped_update_triggers_nothing(policy: Policy, backend: Any) -> None:
    """The accident is never reported; the update stamped after it (but dated a day earlier) removes it, so the
    concealment trigger (5.2-t5) must not fire."""
    wipe = ev("E1", "enterprise_updated", "2022-06-01T22:00:00-11:00", {"accidents": []})  # 06-02 09:00 UTC
    accident = ev("E1", "accident_occurred", "2022-06-02T08:00:00+13:00",  # 06-01 19:00 UTC
                  {"id": "A1", "severity": "general"})
    assert _instant(accident) < _instant(wipe)
    events = [ev("E1", "enterprise_updated", "2022-05-01", REGISTRATION), wipe,
              ev(None, "clock", "2022-06-03T00:00:00+08:00"), accident]
    monitor, _ = _replay(policy, backend, events, D(2022, 6, 20))
    assert monitor.record("E1")["accidents"] == []
    assert not [a for a in monitor.alerts() if a.kind is AlertKind.TRIGGERED]
    assert monitor.outcomes("E1")[("E1", "accident_concealed")] is not Outcome.TRIGGERED


@pytest.mark.timeout(180)
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(events=offset_history())
@pytest.mark.parametrize("window", [0, 1])
def test_order_sensitive_events_with_mixed_offsets(policy: Policy, window: int, events: list[dict[str, Any]]) -> None:
    """Events that update or wipe what others made (a hazard and its report, an accident, changes), stamped in
    mixed offsets and arriving by local date: with a reorder window, after every event the monitor equals the
    reference engine on the events it accepted."""
    monitor = Monitor(policy, reorder_window=window)
    assert_follows_accepted_events(policy, monitor, events)


@pytest.mark.timeout(180)
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=history(offsets=True, end=START + dt.timedelta(days=6)))
def test_mixed_offsets_with_a_reorder_window_equal_the_accepted_events(policy: Policy,
                                                                       events: list[dict[str, Any]]) -> None:
    """Generated histories of a week whose timestamps carry offsets from -12:00 to +14:00: after every event the
    monitor with a reorder window of a day equals the reference engine on the events it accepted."""
    monitor = Monitor(policy, reorder_window=1)
    assert_follows_accepted_events(policy, monitor, events)
