"""Policies that read a few facts: the as-of view then prepares only what they read (tables passed through,
columns dropped, dates of unread facts left alone), and must still equal the reference engine."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from safetyrules import load_policy, load_policy_text
from safetyrules.api import Policy

from .differential import mismatches
from .strategies import dates, population

WORKLOAD = Path(__file__).parents[2] / "benchmarks" / "peer_workload.policy"
PLANS = """
policy plans {
  title zh "方案" en "plans"
  period 2020-01-01 .. 2022-12-31
  catalogue {"a", "b"}
}

obligation plan_responsibility {
  implements "a"
  title zh "方案" en "plan has a responsibility"
  source "s" "s"
  require all(h in hazards where h.major: h.plan.responsibility)
  due continuous
}

obligation responsibility_covers {
  implements "b"
  title zh "责任制" en "the system covers every position"
  source "s" "s"
  require responsibility_system.covers_all_positions
  due continuous
}
"""
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])


@cache
def _workload() -> Policy:
    return load_policy(WORKLOAD)


@cache
def _plans() -> Policy:
    return load_policy_text(PLANS)


@SETTINGS
@given(records=population(5), as_of=dates())
def test_peer_workload_matches_the_reference(records: list[dict[str, Any]], as_of: dt.date) -> None:
    assert mismatches(_workload(), records, as_of) == []


@SETTINGS
@given(records=population(5), as_of=dates())
def test_objects_hidden_by_a_date_the_policy_does_not_read(records: list[dict[str, Any]], as_of: dt.date) -> None:
    """A plan made after the day is hidden although the policy never reads `made_on`; a system established
    after it still shows its other fields (only `established_on` waits)."""
    assert mismatches(_plans(), records, as_of) == []


def test_synthetic_town_workload() -> None:
    from safetyrules.synth import generate

    assert mismatches(_workload(), list(generate(200, seed=12)), dt.date(2022, 6, 30)) == []
