"""Wake-ups: the monitor's next check is the earliest day any element of a rule's facts can change its outcome.

A rule over `as_of - window` (1.3-b: each staff member hired within the apprenticeship window has a mentor)
changes on the day each hire leaves the window. With hires on different days, the monitor must wake on the
first of those days still to come, whichever element it is: the tests compare it with the reference engine
on every day of the window.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetyrules.api import Policy
from safetyrules.stream.monitor import Monitor

from .conftest import ev, reference_outcomes

D = dt.date
ONE_DAY = dt.timedelta(days=1)


def _hires(days: list[tuple[dt.date, bool]]) -> list[dict[str, Any]]:
    events = [ev("E1", "enterprise_updated", "2022-01-03", {"industry": "mining", "staff": []})]
    for i, (day, mentored) in enumerate(days):
        events.append(ev("E1", "staff_hired", day.isoformat(),
                         {"id": f"S{i}", "role": "general", "mentor_id": "S0" if mentored else None}))
    return events


def _every_day(policy: Policy, events: list[dict[str, Any]], start: dt.date, end: dt.date) -> list[str]:
    """The days from `start` to `end` on which the monitor and the reference engine disagree (all rules)."""
    monitor = Monitor(policy)
    for e in events:
        monitor.post(e)
    wrong = []
    day = start
    while day <= end:
        monitor.advance_to(day)
        got, expected = monitor.outcomes(), reference_outcomes(policy, events, day)
        if got != expected:
            wrong.append(f"{day}: " + ", ".join(f"{k[1]} {got.get(k)} != {v}" for k, v in expected.items()
                                               if got.get(k) != v))
        day += ONE_DAY
    return wrong


@pytest.mark.timeout(120)
def test_a_hire_leaving_the_window_after_others_hired_days_apart(policy: Policy) -> None:
    """Four mentored hires a day apart, then one without a mentor: 1.3-b is violated until that hire leaves
    the one-year window (2023-02-21), satisfied from that day. The monitor used to look at the first three
    dates of the staff list near the window's edge only, slept past 2023-02-21 and kept the violation."""
    days = [(D(2022, 1, 10), True), (D(2022, 1, 11), True), (D(2022, 1, 12), True), (D(2022, 1, 13), True),
            (D(2022, 2, 20), False)]
    events = _hires(days)
    monitor = Monitor(policy)
    for e in events:
        monitor.post(e)
    monitor.advance_to(D(2023, 2, 1))
    next_check = monitor.next_check("E1")
    assert next_check is not None and next_check <= D(2023, 2, 21)
    assert _every_day(policy, events, D(2022, 2, 20), D(2023, 4, 1)) == []


@pytest.mark.timeout(300)
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(hires=st.lists(st.tuples(st.integers(0, 20), st.booleans()), min_size=1, max_size=8))
def test_hires_on_any_days_every_day_of_the_window(policy: Policy, hires: list[tuple[int, bool]]) -> None:
    """Hires bunched within 20 days (some on the same day, some without a mentor), compared every day from the
    first hire's anniversary to a little past the last one's."""
    first = D(2022, 3, 1)
    days = [(first + dt.timedelta(days=k), mentored) for k, mentored in hires]
    start = D(2023, 2, 25)
    assert _every_day(policy, _hires(days), start, start + dt.timedelta(days=30)) == []
