"""Late events are folded when the record is next read, not one rebuild per event: a stream of one enterprise's
events in reverse order costs one rebuild (counted, not timed) and ends in the state of the ordered stream."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from safetyrules import load_policy
from safetyrules.api import Policy
from safetyrules.stream import Monitor
from safetyrules.stream import events as stream_events
from safetyrules.stream.events import Status


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def _events(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        day = dt.date(2022, 1, 1) + dt.timedelta(days=i // 4)
        out.append({"enterprise": "E1", "type": "hazard_found", "timestamp": f"{day}T{8 + i % 4:02d}:00:00+08:00",
                    "payload": {"id": f"H{i}", "major": i % 5 == 0, "cause": "management"}})
        if i % 7 == 0:
            out.append({"enterprise": "E1", "type": "hazard_reported",
                        "timestamp": f"{day}T{8 + i % 4:02d}:30:00+08:00", "payload": {"hazard_id": f"H{i}"}})
    return out


def test_reversed_events_cost_one_rebuild_and_end_as_the_ordered_stream(policy: Policy,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    events = _events(400)
    rebuilds = 0
    original = stream_events.EnterpriseLog.rebuild

    def counted(self: stream_events.EnterpriseLog) -> None:
        nonlocal rebuilds
        rebuilds += 1
        original(self)

    monkeypatch.setattr(stream_events.EnterpriseLog, "rebuild", counted)
    ordered = Monitor(policy)
    for e in events:
        ordered.post(e)
    assert rebuilds == 0
    late = Monitor(policy)
    late.post({"type": "clock", "timestamp": "2022-05-01T00:00:00+08:00"})  # every event below is late
    receipts = [late.post(e) for e in reversed(events)]
    # the first (the newest report) has nothing to report on when it arrives; every later one is late
    assert receipts[0].status is Status.REJECTED and all(r.status is Status.APPLIED for r in receipts[1:])
    assert rebuilds == 0  # nothing read yet
    late.advance_to(dt.date(2022, 5, 1))
    ordered.advance_to(dt.date(2022, 5, 1))
    assert late.record("E1") == ordered.record("E1")
    assert late.outcomes() == ordered.outcomes()
    assert rebuilds == 1
    assert (late.stats.applied, late.stats.rejected) == (len(events), 0)


def test_a_late_event_that_does_not_fit_is_a_standing_refusal_once_read(policy: Policy) -> None:
    monitor = Monitor(policy)
    monitor.post({"enterprise": "E1", "type": "hazard_found", "timestamp": "2022-03-05T09:00:00+08:00",
                  "payload": {"id": "H1", "major": True}})
    # reported before it was found: it cannot fit where its timestamp puts it
    receipt = monitor.post({"enterprise": "E1", "type": "hazard_reported", "timestamp": "2022-03-01T09:00:00+08:00",
                            "payload": {"hazard_id": "H1"}})
    assert receipt.status is Status.APPLIED and "out of order" in (receipt.reason or "")
    (refusal,) = monitor.refusals()
    assert refusal.status == "rejected" and not refusal.final and "H1" in refusal.reason
    assert (monitor.stats.applied, monitor.stats.rejected) == (1, 1)
