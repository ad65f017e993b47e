"""The ends of the calendar and of the integer range: both engines saturate dates at 0001-01-01 and
9999-12-31, make an integer outside the signed 64-bit range unknown, never raise, and agree."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from safetyrules.api import load_policy_text
from safetyrules.engine.results import Outcome
from safetyrules.engine.values import Duration

from .differential import mismatches, seed_policy
from .strategies import calendar_dates, population

TOWN = Path(__file__).parents[2] / "examples" / "town.jsonl"
X = {"id": "X", "established_on": "9999-12-31", "industry": "construction"}
DAYS = ["0001-01-01", "0001-12-31", "2022-12-31", "9999-01-01", "9999-12-30", "9999-12-31"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.data_too_large])
@given(records=population(4, dates=calendar_dates), as_of=calendar_dates())
def test_dates_near_both_ends_match_the_reference(records: list[dict[str, Any]], as_of: dt.date) -> None:
    assert mismatches(seed_policy(), records, as_of) == []


def test_an_instant_on_the_first_day_east_of_utc_is_before_year_1_in_utc() -> None:
    # 0001-01-01T00:00+08:00 is 0000-12-31T16:00Z: the tables hold it (Python's datetime cannot)
    first = dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    records = [{"id": "E0", "accidents": [{"occurred_at": first}]}]
    assert mismatches(seed_policy(), records, dt.date(1, 1, 1)) == []


@pytest.mark.parametrize("day", DAYS)
def test_established_on_the_last_day_among_the_town(day: str) -> None:
    lines = TOWN.read_text(encoding="utf-8").splitlines()[:20]
    records = [json.loads(line) for line in lines] + [dict(X)]
    assert mismatches(seed_policy(), records, dt.date.fromisoformat(day)) == []


def test_deadlines_past_the_calendar_are_its_last_day() -> None:
    result = seed_policy().evaluate(dict(X), "9999-12-31")
    due = [r for r in result.results if r.due_on is not None]
    assert due and all(r.due_on <= dt.date.max for r in due)
    # established on the last day: every period and grace from it ends on that day, never overdue
    assert all(r.outcome is not Outcome.VIOLATED for r in due if r.due_on == dt.date.max)


@pytest.mark.parametrize("day", ["0001-01-01", "2022-12-31", "9999-12-31"])
@pytest.mark.parametrize("period", [Duration(months=12 * 9999), Duration(days=10**9), Duration(months=-12 * 9999)])
def test_periods_longer_than_the_calendar(day: str, period: Duration) -> None:
    records = [json.loads(line) for line in TOWN.read_text(encoding="utf-8").splitlines()[:10]] + [dict(X)]
    params = {"other_assessment_period": period, "new_entrant_grace": period, "credit_listing_period": period}
    known = {k: v for k, v in params.items() if k in seed_policy().checked.params}
    assert mismatches(seed_policy(), records, dt.date.fromisoformat(day), known) == []


INT_POLICY = """policy p {
  title zh "测试" en "Test"
}

obligation cost_product {
  implements "c1"
  title zh "乘积" en "Products"
  source "s" "q"
  require sum(c in safety_costs: c.required * 1000000) >= 0
  due continuous
}

obligation cost_square {
  implements "c2"
  title zh "平方" en "Squares"
  source "s" "q"
  require employee_count * employee_count * employee_count * employee_count < 0 or employee_count >= 0
  due continuous
}

obligation cost_negated {
  implements "c3"
  title zh "取负" en "Negation"
  source "s" "q"
  require -(employee_count * 1000000 * 1000000 - employee_count * 1000000 * 1000000) == 0
  due continuous
}
"""


@pytest.mark.parametrize(("costs", "employees"), [
    ([5 * 10**12, 5 * 10**12], 10**13),  # each product fits in 64 bits, their sum (10**19) does not
    ([9 * 10**12], 3),  # 9e18: just inside
    ([9 * 10**12, 9 * 10**12, 0], 46342),  # products and the 4th power just outside
    ([10**13], 46341),  # products inside: the 4th power of 46341 is about 4.6e18
    ([10**6, 2], 0),
])
def test_integers_beyond_64_bits_agree(costs: list[int], employees: int) -> None:
    policy = load_policy_text(INT_POLICY)
    record = {"id": "E", "employee_count": employees,
              "safety_costs": [{"year": 2020 + i, "required": c} for i, c in enumerate(costs)]}
    assert mismatches(policy, [record], dt.date(2022, 6, 30)) == []


def test_a_sum_that_used_to_wrap_is_unknown_in_both_engines() -> None:
    """5e18 + 5e18 wrapped to a negative number in the columnar engine: violated there, satisfied in the
    reference engine. Outside the 64-bit range the sum is unknown in both."""
    policy = load_policy_text(INT_POLICY)
    record = {"id": "E", "safety_costs": [{"year": 2020 + i, "required": 5 * 10**12} for i in range(2)]}
    result = policy.evaluate(record, "2022-06-30").by_rule("cost_product")
    assert result.outcome is Outcome.UNKNOWN
    assert mismatches(policy, [record], dt.date(2022, 6, 30)) == []
