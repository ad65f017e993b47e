"""The library reports bad input as the CLI does, through one exception hierarchy (`SafetyRulesError`)."""

from __future__ import annotations

import datetime as dt
import warnings

import pytest

import safetyrules
from safetyrules import (
    DateError,
    FactError,
    InputError,
    ParamError,
    SafetyRulesError,
    UnknownFieldWarning,
    load_policy,
)

NESTED_70: object = 1
for _ in range(70):
    NESTED_70 = [NESTED_70]


@pytest.fixture(scope="module")
def policy() -> safetyrules.Policy:
    return load_policy()


def test_every_error_class_is_exported_and_rooted() -> None:
    for name in ("PolicyError", "InputError", "FactError", "FactsFileError", "ParamError", "DateError",
                 "LimitError"):
        cls = getattr(safetyrules, name)
        assert issubclass(cls, SafetyRulesError), name
    assert issubclass(FactError, ValueError) and issubclass(DateError, InputError)


def test_a_bad_record_names_its_fields_in_english_and_chinese(policy: safetyrules.Policy) -> None:
    record = {"id": "E1", "employee_count": -3,
              "hazards": [{"found_on": "2022-05-03", "remediated_on": "2022-05-01"}]}
    with pytest.raises(FactError) as caught:
        policy.evaluate(record, "2022-06-30")
    paths = {e["path"]: e for e in caught.value.errors}
    assert set(paths) == {"employee_count", "hazards[0].remediated_on"}
    assert all(e["message"] and e["message_zh"] and e["code"] for e in caught.value.errors)
    assert "hazards[0].remediated_on" in str(caught.value)


@pytest.mark.parametrize("record", [
    {"id": "E1", "extra": {"a": {"b": NESTED_70}}},
    {"id": "E1", "employee_count": 10**14},
    {"id": "E1", "employee_count": 10**5000},
    {"id": ""},
    {"id": "E1", "hazards": [{}] * 100_001},
    ["not", "a", "record"],
], ids=["nesting", "int-limit", "huge-int", "empty-id", "list-limit", "not-a-record"])
def test_hostile_records_raise_fact_error_not_a_crash(policy: safetyrules.Policy, record: object) -> None:
    with pytest.raises(FactError):
        policy.evaluate(record, "2022-06-30")  # type: ignore[arg-type]


def test_a_deeply_nested_record_is_refused_not_a_recursion_error(policy: safetyrules.Policy) -> None:
    deep: object = 1
    for _ in range(20_000):
        deep = [deep]
    with pytest.raises(FactError) as caught:
        policy.evaluate({"id": "E1", "extra": deep}, "2022-06-30")
    assert caught.value.errors[0]["code"] == "nesting_limit"


def test_a_misspelt_field_warns_with_the_field_it_resembles(policy: safetyrules.Policy) -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = policy.evaluate({"id": "E1", "industy": "construction"}, "2022-06-30", explain=False)
    (warning,) = [w for w in seen if issubclass(w.category, UnknownFieldWarning)]
    assert "'industy'" in str(warning.message) and "did you mean 'industry'" in str(warning.message)
    assert result.enterprise == "E1"


@pytest.mark.parametrize("as_of", ["2022-13-01", "20220630", "yesterday", 20220630, dt.date(1, 1, 1)])
def test_a_bad_as_of_is_a_date_error(policy: safetyrules.Policy, as_of: object) -> None:
    if isinstance(as_of, dt.date):
        policy.evaluate({"id": "E1"}, as_of)  # the calendar's first day is a valid date
        return
    with pytest.raises(DateError):
        policy.evaluate({"id": "E1"}, as_of)  # type: ignore[arg-type]


def test_a_param_of_the_wrong_type_is_a_param_error(policy: safetyrules.Policy) -> None:
    with pytest.raises(ParamError):
        policy.evaluate({"id": "E1"}, "2022-06-30", params={"other_assessment_period": 3})
    with pytest.raises(ParamError, match="mining"):
        policy.evaluate({"id": "E1"}, "2022-06-30", params={"high_risk_industries": ["minning"]})
