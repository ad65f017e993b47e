"""The core: the columnar engine equals the reference engine for every enterprise, rule and field."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetyrules.api import Policy
from safetyrules.engine.params import ParamTable

from .differential import mismatches, seed_policy
from .strategies import alternative, dates, overrides, population

EXAMPLE = Path(__file__).parents[1] / "facts" / "data" / "example.json"
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])


@SETTINGS
@given(records=population(), as_of=dates())
def test_populations_match_the_reference(records: list[dict[str, Any]], as_of: dt.date) -> None:
    assert mismatches(seed_policy(), records, as_of) == []


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.data_too_large])
@given(records=population(4), as_of=dates(), params=overrides(seed_policy().checked.param_types))
def test_param_overrides_match_the_reference(records: list[dict[str, Any]], as_of: dt.date,
                                              params: dict[str, Any]) -> None:
    assert mismatches(seed_policy(), records, as_of, params) == []


@pytest.mark.parametrize("day", ["2019-06-30", "2020-12-31", "2021-01-01", "2021-06-30", "2022-05-04",
                                 "2022-06-30", "2022-08-01", "2023-01-01", "2024-12-31"])
def test_fixture_enterprise(policy: Policy, day: str) -> None:
    record = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert mismatches(policy, [record], dt.date.fromisoformat(day)) == []


def _each_param_value() -> list[tuple[str, Any]]:
    """One alternative value per param of the seed policy (so that every param is overridden once)."""
    checked = seed_policy().program
    table = ParamTable(checked)
    return [(name, alternative(t, table.value(name, dt.date(2022, 6, 30))))
            for name, t in sorted(checked.param_types.items())]


@pytest.mark.parametrize(("name", "value"), _each_param_value())
def test_every_param_overridden(policy: Policy, name: str, value: Any) -> None:
    from safetyrules.synth import generate

    records = list(generate(24, seed=11))
    day = dt.date(2021, 6, 30) if len(name) % 2 else dt.date(2023, 12, 31)
    assert mismatches(policy, records, day, {name: value}) == []


synth = pytest.importorskip("safetyrules.synth")


@pytest.mark.parametrize("day", ["2020-12-31", "2022-06-30", "2023-10-01"])
def test_synthetic_town(policy: Policy, day: str) -> None:
    records = list(synth.generate(300, seed=2020))
    assert mismatches(policy, records, dt.date.fromisoformat(day)) == []


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), as_of=dates())
def test_synthetic_seeds(seed: int, as_of: dt.date) -> None:
    assert mismatches(seed_policy(), list(synth.generate(30, seed=seed)), as_of) == []
