"""Param overrides are checked against the param's declared type wherever they come from: text (`--param`, a
scenario's text), typed values (YAML, TOML, the library). One gate: `engine.params.check_override`."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from safetyrules.api import Policy, load_policy
from safetyrules.cli import cli
from safetyrules.engine.params import ParamError, ParamTable, check_override, read_text
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
    got = check_override(policy.program, name, value)
    assert got == want
    assert check_override(policy.program, name, got) == want  # idempotent: a checked value passes again


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
        check_override(policy.program, name, value)
    message = str(info.value)
    assert f"does not fit `{name}`" in message
    assert reason in message
    assert "expected " in message
    assert len(message) < 1000  # a 5000-digit number is not printed back


def test_an_unknown_param_name_suggests_the_nearest(policy: Policy) -> None:
    with pytest.raises(ParamError, match="no param named `other_assesment_period`; did you mean "
                                         "`other_assessment_period`"):
        check_override(policy.program, "other_assesment_period", "1 year")
    with pytest.raises(ParamError, match="no param named `3`"):
        check_override(policy.program, 3, "1 year")


def test_limits_bound_numbers_and_dates(policy: Policy) -> None:
    small = Limits(max_int=100, min_date=dt.date(2000, 1, 1), max_date=dt.date(2100, 12, 31))
    assert check_override(policy.program, "safety_staff_threshold", 100, small) == 100
    with pytest.raises(ParamError, match="max_int"):
        check_override(policy.program, "safety_staff_threshold", "101", small)
    with pytest.raises(ParamError, match="outside the calendar"):
        check_override(policy.program, "periodic_first_due_anchor", "1999-12-31", small)


def test_the_library_checks_params_it_is_given(policy: Policy) -> None:
    """`policy.evaluate(..., params=...)` used to take any Python value: a misspelt code silently dropped
    construction from the high-risk industries."""
    with pytest.raises(ParamError, match="did you mean `mining`"):
        policy.evaluate(E1, "2022-06-30", params={"high_risk_industries": ["minning"]})
    with pytest.raises(ParamError, match="a number is not a duration"):
        policy.evaluate(E1, "2022-06-30", params={"other_assessment_period": 3})
    with pytest.raises(ParamError, match="mapping"):
        ParamTable(policy.program, [("other_assessment_period", "2 years")])  # type: ignore[arg-type]
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
    values = {check_override(policy.program, param, v) for v in (from_yaml, from_toml, cli_text)}
    assert len(values) == 1


# ---------------------------------------------------------------------------- one value syntax
# The same text, given as `--param NAME=TEXT` and as `NAME: TEXT` in a scenario's `params:`, reads as the same
# value or is refused by both: one reader (`engine.params.read_text`), YAML scalars taken as written.
SAME_TEXT: list[tuple[str, str, Any]] = [
    ("high_risk_industries", "[construction, mining]", frozenset({"construction", "mining"})),
    ("high_risk_industries", "[construction,mining]", frozenset({"construction", "mining"})),
    ("high_risk_industries", "{construction, mining}", frozenset({"construction", "mining"})),
    ("high_risk_industries", '["construction", "mining"]', frozenset({"construction", "mining"})),
    ("high_risk_industries", "construction, mining", frozenset({"construction", "mining"})),
    ("high_risk_industries", "'construction'", frozenset({"construction"})),
    ("high_risk_industries", "[]", frozenset()),
    ("other_assessment_period", "2 years", Duration(months=24)),
    ("other_assessment_period", '"2 years"', Duration(months=24)),
    ("other_assessment_period", "'90 days'", Duration(days=90)),
    ("periodic_first_due_anchor", "2021-12-31", dt.date(2021, 12, 31)),
    ("periodic_first_due_anchor", "'2021-12-31'", dt.date(2021, 12, 31)),
    ("safety_staff_threshold", "30", 30),
    ("safety_staff_threshold", "030", 30),  # YAML 1.1 alone reads 24 (octal)
    ("safety_staff_threshold", "'30'", 30),
    ("safety_staff_threshold", "-5", -5),
    ("external_audit_required", "true", True),
    ("external_audit_required", "False", False),
    ("external_audit_required", "'true'", True),
    ("risk_control_levels", "{enterprise, team}", frozenset({"enterprise", "team"})),
    # refused by both (YAML 1.1 alone took them as true, 30, 1000, 30)
    ("external_audit_required", "yes", ParamError),
    ("external_audit_required", "on", ParamError),
    ("safety_staff_threshold", "0x1e", ParamError),
    ("safety_staff_threshold", "1_000", ParamError),
    ("safety_staff_threshold", "30.0", ParamError),
    ("other_assessment_period", "30", ParamError),
    ("high_risk_industries", "{construction: 1}", ParamError),
]


@pytest.mark.parametrize(("name", "text", "want"), SAME_TEXT, ids=[f"{n}-{t}" for n, t, _ in SAME_TEXT])
def test_the_command_line_and_a_scenario_read_the_same_text_alike(policy: Policy, tmp_path: Path, name: str,
                                                                    text: str, want: Any) -> None:
    from safetyrules.cli.common import parse_params
    from safetyrules.whatif.run import check_scenario
    from safetyrules.whatif.scenario import ScenarioError, load_scenario

    path = tmp_path / "s.yaml"
    path.write_text(f"name: same\nparams:\n  {name}: {text}\n", encoding="utf-8")
    scenario = load_scenario(path)
    if want is ParamError:
        with pytest.raises(click.BadParameter, match=f"does not fit `{name}`"):
            parse_params((f"{name}={text}",), policy)
        with pytest.raises(ScenarioError, match=f"params.{name}: .*does not fit `{name}`"):
            check_scenario(scenario, policy)
        with pytest.raises(ParamError):
            read_text(text, policy.checked.param_types[name])
        return
    assert parse_params((f"{name}={text}",), policy) == {name: want}
    assert check_scenario(scenario, policy) == {name: want}
    assert read_text(text, policy.checked.param_types[name]) == want


def test_a_yaml_set_written_as_a_flow_mapping_is_a_set(policy: Policy) -> None:
    """`{construction, mining}` in YAML is a mapping with empty values (YAML's own `!!set`): a set of codes
    wherever YAML data reaches the check (policy tests, YAML read by the library)."""
    value = load_yaml("v: {construction, mining}")["v"]
    assert value == {"construction": None, "mining": None}
    assert check_override(policy.program, "high_risk_industries", value) == frozenset({"construction", "mining"})


def test_a_misfit_says_what_was_expected_in_english_and_chinese(policy: Policy) -> None:
    with pytest.raises(ParamError) as info:
        check_override(policy.program, "high_risk_industries", "[construction, minning]")
    message = str(info.value)
    english, chinese = message.split(" / ")
    assert "`[construction, minning]` does not fit `high_risk_industries`" in english
    assert "expected a set of industry codes" in english
    assert "参数 `high_risk_industries` 的取值 `[construction, minning]` 不符合其类型，应为一组 industry 代码" \
        in chinese
    with pytest.raises(ParamError, match="应为期限，如 `2 years`"):
        check_override(policy.program, "other_assessment_period", "two years")


def test_the_documented_syntax_is_in_one_place_and_linked() -> None:
    docs = Path(__file__).resolve().parents[1] / "docs"
    cli = (docs / "cli.md").read_text(encoding="utf-8")
    whatif = (docs / "whatif.md").read_text(encoding="utf-8")
    assert "### Param values" in cli
    assert "cli.md#param-values" in whatif


def test_the_bundled_policy_evaluates_with_a_set_written_as_in_docs(policy: Policy) -> None:
    result = CliRunner().invoke(cli, ["eval", "--as-of", "2022-06-30", "--format", "json",
                                      "--param", "high_risk_industries=[construction,mining]"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["params"]["high_risk_industries"] == ["construction", "mining"]


# ---------------------------------------------------------------------------- reserved params
HEADER = 'policy p {\n  title zh "测试" en "Test"\n  period 2020-04-01 .. 2022-12-31\n}\n'
DUES = {
    "by": "require obsolete_equipment_in_use == 0\n  due by 2021-12-31",
    "every": "due every 1 year\n    last max(a in risk_assessments where a.comprehensive: a.date)",
    "every_first": "due every 1 year\n    last max(a in risk_assessments: a.date)\n    first 2021-01-01",
    "within": "each c in changes where c.major\n  due within 30 days after c.date\n"
              "      done min(a in risk_assessments where a.date >= c.date: a.date)",
    "on": "each h in hazards where h.major\n  due on h.plan.time_limit\n"
          "      done greatest(h.remediated_on, h.verified_on)",
    "continuous": "require obsolete_equipment_in_use == 0\n  due continuous",
}


def rules_policy(header: str = HEADER, extra: str = "") -> Policy:
    from safetyrules.api import load_policy_text

    rules = "".join(f'\nobligation {name} {{\n  implements "{name}"\n  title zh "规则" en "Rule"\n  source "s" "q"\n'
                    f"  {items}\n}}\n" for name, items in DUES.items())
    return load_policy_text(header + extra + rules)


def test_reserved_params_of_each_kind_of_deadline() -> None:
    from safetyrules.check.checker import reserved_params_of

    checked = rules_policy().checked
    got = {name: reserved_params_of(checked.rule(name), checked.contract) for name in DUES}
    assert got == {"by": {"new_entrant_grace"}, "every": {"periodic_first_due_anchor"}, "every_first": set(),
                   "within": {"late_act_memory"}, "on": {"late_act_memory"}, "continuous": set()}


def test_builtin_params_are_the_reserved_params_read_and_not_declared(policy: Policy) -> None:
    assert policy.checked.builtin_params == {}  # the bundled policy declares all three
    assert rules_policy().checked.builtin_params == {
        "late_act_memory": Duration(months=12), "new_entrant_grace": Duration(days=90),
        "periodic_first_due_anchor": dt.date(2020, 4, 1)}  # the policy's period start
    declared = rules_policy(extra='param late_act_memory: duration {\n  default 6 months\n  source "s" "q"\n}\n')
    assert set(declared.checked.builtin_params) == {"new_entrant_grace", "periodic_first_due_anchor"}
    no_period = rules_policy('policy p {\n  title zh "测试" en "Test"\n}\n')
    assert no_period.checked.builtin_params["periodic_first_due_anchor"] is None


def test_policy_params_lists_the_builtin_ones_after_the_declared(policy: Policy) -> None:
    assert not any(p.builtin for p in policy.params())
    params = rules_policy(extra='param late_act_memory: duration {\n  default 6 months\n  source "s" "q"\n}\n'
                          ).params()
    assert [(p.name, p.default, p.builtin) for p in params] == [
        ("late_act_memory", Duration(months=6), False),
        ("new_entrant_grace", Duration(days=90), True),
        ("periodic_first_due_anchor", dt.date(2020, 4, 1), True)]
    assert [p.type for p in params if p.builtin] == ["duration", "date"]


# ---------------------------------------------------------------------------- params_used: every param
def test_params_used_lists_the_reserved_params_declared_or_not(policy: Policy) -> None:
    used = rules_policy().checked.params_used
    assert used == {"by": {"new_entrant_grace"}, "every": {"periodic_first_due_anchor"}, "every_first": set(),
                    "within": {"late_act_memory"}, "on": {"late_act_memory"}, "continuous": set()}
    bundled = policy.checked.params_used
    assert bundled["major_hazard_reported"] == {"major_hazard_report_days", "late_act_memory"}  # 4.2-a
    assert bundled["responsibility_system_in_place"] == {"new_entrant_grace"}  # 1.1-a: due by
    assert "periodic_first_due_anchor" in bundled["risk_assessment_high_risk"]  # 3.1-a: due every, no first
    assert next(r.params for r in policy.rules() if r.name == "major_hazard_reported") == (
        "late_act_memory", "major_hazard_report_days")


def test_inspect_lists_late_act_memory_for_4_2_a() -> None:
    result = CliRunner().invoke(cli, ["inspect", "--format", "json"])
    assert result.exit_code == 0, result.output
    rule = next(r for r in json.loads(result.stdout)["rules"] if r["implements"] == ["4.2-a"])
    assert "late_act_memory" in rule["params"] and rule["builtin_params"] == []
    text = CliRunner().invoke(cli, ["inspect"])
    row = next(line for line in text.stdout.splitlines() if "major_hazard_reported" in line)
    assert "late_act_memory" in row


def test_inspect_says_when_a_builtin_default_applies(tmp_path: Path) -> None:
    from safetyrules.cli.inspect import inspect_data

    path = tmp_path / "p.policy"
    rules = "".join(f'\nobligation {name} {{\n  implements "{name}"\n  title zh "规则" en "Rule"\n  source "s" "q"\n'
                    f"  {items}\n}}\n" for name, items in DUES.items())
    path.write_text(HEADER + rules, encoding="utf-8")
    result = CliRunner().invoke(cli, ["inspect", str(path)])
    assert result.exit_code == 0, result.output
    assert "late_act_memory (built-in default 1 year)" in result.stdout
    assert "new_entrant_grace (built-in default 90 days)" in result.stdout
    assert "periodic_first_due_anchor (built-in default 2020-04-01)" in result.stdout
    data = inspect_data(rules_policy())
    within = next(r for r in data["rules"] if r["name"] == "within")  # type: ignore[attr-defined]
    assert within["builtin_params"] == ["late_act_memory"]
    assert {p["name"]: p["builtin"] for p in data["params"]} == {  # type: ignore[attr-defined]
        "late_act_memory": True, "new_entrant_grace": True, "periodic_first_due_anchor": True}
