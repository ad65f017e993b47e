"""Param overrides are checked against the param's declared type wherever they come from: text (`--param`, a
scenario's text), typed values (YAML, TOML, the library). One gate: `engine.params.check_override`."""

from __future__ import annotations

import datetime as dt
import tomllib
from typing import Any

import pytest

from safetyrules.api import Policy, load_policy
from safetyrules.engine.params import ParamError, ParamTable, check_override
from safetyrules.engine.values import Duration
from safetyrules.limits import Limits
from safetyrules.yamltext import load_yaml

E1 = {"id": "E1", "industry": "construction", "risk_assessments": [{"date": "2020-11-03", "comprehensive": True}]}


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


# every declared type of the seed policy: (param, value written some way, the runtime value)
GOOD: list[tuple[str, Any, Any]] = [
    ("high_risk_industries", "[construction, mining]", frozenset({"construction", "mining"})),
    ("high_risk_industries", '{"construction", "mining"}', frozenset({"construction", "mining"})),
    ("high_risk_industries", "construction, mining", frozenset({"construction", "mining"})),
    ("high_risk_industries", "construction", frozenset({"construction"})),
    ("high_risk_industries", "[]", frozenset()),
    ("high_risk_industries", ["mining"], frozenset({"mining"})),
    ("high_risk_industries", ("mining", "retail"), frozenset({"mining", "retail"})),
    ("high_risk_industries", frozenset({"mining"}), frozenset({"mining"})),
    ("other_assessment_period", "2 years", Duration(months=24)),
    ("other_assessment_period", " 90 days ", Duration(days=90)),
    ("other_assessment_period", Duration(months=6), Duration(months=6)),
    ("other_assessment_period", dt.timedelta(days=30), Duration(days=30)),
    ("periodic_first_due_anchor", "2021-12-31", dt.date(2021, 12, 31)),
    ("periodic_first_due_anchor", '"2021-12-31"', dt.date(2021, 12, 31)),
    ("periodic_first_due_anchor", dt.date(2021, 12, 31), dt.date(2021, 12, 31)),
    ("safety_staff_threshold", "50", 50),
    ("safety_staff_threshold", 50, 50),
    ("safety_staff_threshold", 50.0, 50),
    ("safety_staff_threshold", 10**13, 10**13),
    ("external_audit_required", "false", False),
    ("external_audit_required", "True", True),
    ("external_audit_required", False, False),
]


@pytest.mark.parametrize(("name", "value", "want"), GOOD, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(GOOD)])
def test_a_value_of_the_declared_type_is_accepted(policy: Policy, name: str, value: Any, want: Any) -> None:
    got = check_override(policy.checked, name, value)
    assert got == want
    assert check_override(policy.checked, name, got) == want  # idempotent: a checked value passes again


BAD: list[tuple[str, Any, str]] = [
    ("high_risk_industries", ["minning"], "`minning` is not an industry code (did you mean `mining`?)"),
    ("high_risk_industries", "[construction, minning]", "did you mean `mining`?"),
    ("high_risk_industries", '{"construction", "minning"}', "did you mean `mining`?"),
    ("high_risk_industries", "[construction", "`[` is not closed"),
    ("high_risk_industries", "a,,b", "an empty item"),
    ("high_risk_industries", {"construction": True}, "a mapping is not a set"),
    ("high_risk_industries", [1], "a number is not text"),
    ("high_risk_industries", [["mining"]], "a list is not text"),
    ("high_risk_industries", 7, "a number is not a set"),
    ("other_assessment_period", 3, "a number is not a duration"),
    ("other_assessment_period", "3", "not a duration"),
    ("other_assessment_period", "banana", "not a duration"),
    ("other_assessment_period", "-1 year", "not a duration"),
    ("other_assessment_period", "1" * 30 + " years", "max_int"),
    ("other_assessment_period", ["2 years"], "a list is not a duration"),
    ("periodic_first_due_anchor", "2022-13-01", "not a calendar date"),
    ("periodic_first_due_anchor", "20220101", "not a date"),
    ("periodic_first_due_anchor", dt.datetime(2022, 1, 1, 8), "an instant is not a date"),
    ("periodic_first_due_anchor", 20220101, "a number is not a date"),
    ("safety_staff_threshold", "fifty", "not a whole number"),
    ("safety_staff_threshold", "9" * 5000, "not a whole number"),
    ("safety_staff_threshold", 10**13 + 1, "max_int"),
    ("safety_staff_threshold", -(10**5000), "max_int"),
    ("safety_staff_threshold", 1.5, "a number is not a whole number"),
    ("safety_staff_threshold", float("inf"), "not a whole number"),
    ("safety_staff_threshold", True, "true/false is not a whole number"),
    ("external_audit_required", 1, "a number is not true or false"),
    ("external_audit_required", "yes please", "not true or false"),
    ("external_audit_required", None, "no value given"),
]


@pytest.mark.parametrize(("name", "value", "reason"), BAD, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(BAD)])
def test_a_misfit_names_the_param_the_value_and_what_was_expected(policy: Policy, name: str, value: Any,
                                                                  reason: str) -> None:
    with pytest.raises(ParamError) as info:
        check_override(policy.checked, name, value)
    message = str(info.value)
    assert f"does not fit `{name}`" in message
    assert reason in message
    assert "expected " in message
    assert len(message) < 1000  # a 5000-digit number is not printed back


def test_an_unknown_param_name_suggests_the_nearest(policy: Policy) -> None:
    with pytest.raises(ParamError, match="no param named `other_assesment_period`; did you mean "
                                         "`other_assessment_period`"):
        check_override(policy.checked, "other_assesment_period", "1 year")
    with pytest.raises(ParamError, match="no param named `3`"):
        check_override(policy.checked, 3, "1 year")


def test_limits_bound_numbers_and_dates(policy: Policy) -> None:
    small = Limits(max_int=100, min_date=dt.date(2000, 1, 1), max_date=dt.date(2100, 12, 31))
    assert check_override(policy.checked, "safety_staff_threshold", 100, small) == 100
    with pytest.raises(ParamError, match="max_int"):
        check_override(policy.checked, "safety_staff_threshold", "101", small)
    with pytest.raises(ParamError, match="outside the calendar"):
        check_override(policy.checked, "periodic_first_due_anchor", "1999-12-31", small)


def test_the_library_checks_params_it_is_given(policy: Policy) -> None:
    """`policy.evaluate(..., params=...)` used to take any Python value: a misspelt code silently dropped
    construction from the high-risk industries."""
    with pytest.raises(ParamError, match="did you mean `mining`"):
        policy.evaluate(E1, "2022-06-30", params={"high_risk_industries": ["minning"]})
    with pytest.raises(ParamError, match="a number is not a duration"):
        policy.evaluate(E1, "2022-06-30", params={"other_assessment_period": 3})
    with pytest.raises(ParamError, match="mapping"):
        ParamTable(policy.checked, [("other_assessment_period", "2 years")])  # type: ignore[arg-type]
    typed = policy.evaluate(E1, "2022-06-30", params={"high_risk_industries": ["construction"]})
    text = policy.evaluate(E1, "2022-06-30", params={"high_risk_industries": "[construction]"})
    assert [r.outcome for r in typed.results] == [r.outcome for r in text.results]


@pytest.mark.parametrize(("yaml_text", "toml_text", "cli_text"), [
    ("[construction, mining]", '["construction", "mining"]', "[construction, mining]"),
    ("2 years", '"2 years"', "2 years"),
    ("2021-12-31", "2021-12-31", "2021-12-31"),
    ("50", "50", "50"),
    ("false", "false", "false"),
])
def test_yaml_toml_and_the_command_line_give_the_same_value(policy: Policy, yaml_text: str, toml_text: str,
                                                            cli_text: str) -> None:
    name = {"[": "high_risk_industries", "2 y": "other_assessment_period", "202": "periodic_first_due_anchor",
            "50": "safety_staff_threshold", "fal": "external_audit_required"}
    param = next(v for k, v in name.items() if yaml_text.startswith(k))
    from_yaml = load_yaml(f"v: {yaml_text}")["v"]
    from_toml = tomllib.loads(f"v = {toml_text}")["v"]
    values = {check_override(policy.checked, param, v) for v in (from_yaml, from_toml, cli_text)}
    assert len(values) == 1
