"""Shared fixtures of the streaming tests: the seed policy and the reference oracle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from safetyrules import load_policy
from safetyrules.api import Policy
from safetyrules.engine.results import Outcome
from safetyrules.stream.events import build_records
from safetyrules.stream.monitor import Monitor
from safetyrules.stream.rete import durable_available

needs_durable = pytest.mark.skipif(not durable_available(), reason="durable-rules is not installed")


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy()


def reference_outcomes(policy: Policy, events: Iterable[Mapping[str, Any]], day: dt.date,
                       ) -> dict[tuple[str, str], Outcome]:
    """The oracle: the reference engine over `build_records(events)` as of `day`."""
    return {(eid, r.rule): r.outcome for eid, record in build_records(events).items()
            for r in policy.evaluate_record(record, day).results}


FINAL = "events older than the reorder window are final"
"""What the monitor says of an event dated before its reorder window: refused, not part of the history."""


def assert_follows_accepted_events(policy: Policy, monitor: Monitor, events: Iterable[dict[str, Any]]) -> None:
    """Post `events` one by one; after each, the monitor equals the reference engine on the events it accepted
    (those dated before its reorder window are refused)."""
    accepted: list[dict[str, Any]] = []
    for event in events:
        receipt = monitor.post(event)
        if FINAL not in (receipt.reason or ""):
            accepted.append(event)
        if monitor.today is not None:
            assert monitor.outcomes() == reference_outcomes(policy, accepted, monitor.today), f"after {event}"


def findings(outcomes: Mapping[tuple[str, str], Outcome]) -> set[tuple[str, str]]:
    return {k for k, o in outcomes.items() if o in (Outcome.VIOLATED, Outcome.TRIGGERED)}


def ev(enterprise: str | None, type_: str, at: str, payload: dict[str, Any] | None = None,
       **extra: Any) -> dict[str, Any]:
    """An event dict; `at` may be a date (09:00 China time that day) or a full timestamp."""
    timestamp = at if "T" in at else f"{at}T09:00:00+08:00"
    out: dict[str, Any] = {"type": type_, "timestamp": timestamp, **extra}
    if enterprise is not None:
        out["enterprise"] = enterprise
    if payload is not None:
        out["payload"] = payload
    return out
