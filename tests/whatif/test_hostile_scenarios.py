"""Hostile scenario files: every mistake is a `ScenarioError` naming the file and the key path, never another
exception; documents beyond the limits (size, nesting, alias expansion, integers) are refused unread."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from safetyrules.api import Policy, load_policy
from safetyrules.limits import Limits
from safetyrules.whatif.run import check_scenario, run_whatif
from safetyrules.whatif.scenario import ScenarioError, load_scenario, month_ends, months_between
from safetyrules.yamltext import DocumentLimitError, load_yaml

ROOT = Path(__file__).resolve().parents[2]

RECORDS = [
    {"id": "E1", "industry": "mining", "established_on": "2012-05-18", "village": "A村"},
    {"id": "E2", "industry": "retail", "established_on": "2015-01-01", "village": "B村"},
]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(ROOT / "policies" / "annex4")


def write(tmp_path: Path, text: str, suffix: str = ".yaml") -> Path:
    path = tmp_path / f"s{suffix}"
    path.write_text(text, encoding="utf-8")
    return path


# (YAML text, the key path the message names, what it says)
SHAPES = [
    ("- a\n- b\n", "", "a scenario is a mapping"),
    ("just text\n", "", "a scenario is a mapping"),
    ("params: [a, b]\n", "params", "expected a mapping"),
    ("params: {1: 2 years}\n", "params", "keys are names"),
    ("patches: {where: {industry: mining}}\n", "patches", "expected a list of patches"),
    ("patches: [1]\n", "patches[0]", "a patch is a mapping"),
    ("patches:\n  - where: [industry]\n", "patches[0].where", "expected a mapping"),
    ("patches:\n  - set: 5\n", "patches[0].set", "expected a mapping"),
    ("patches:\n  - set: {'a..b': 1}\n", "patches[0].set", "not a field path"),
    ("patches:\n  - append: {'hazards.x': {}}\n", "patches[0].append", "top-level list field"),
    ("patches:\n  - wher: {industry: mining}\n", "patches[0]", "unknown key(s) wher"),
    ("policy: 5\n", "policy", "expected a file or folder path"),
    ("facts: [a.jsonl]\n", "facts", "expected a file or folder path"),
    ("facts: \"a\\0b\"\n", "facts", "NUL"),
    ("rules_add: [3]\n", "rules_add[0]", "expected a file or folder path"),
    ("rules_off: [[a]]\n", "rules_off[0]", "expected text"),
    ("name: {a: 1}\n", "name", "expected text"),
    ("as_of: 2022-13-01\n", "as_of", "not a date"),
    ("as_of: [2022-06-30, banana]\n", "as_of[1]", "not a date"),
    ("as_of: 20220630\n", "as_of", "not a date"),
    ("as_of: {a: 1}\n", "as_of", "not a date"),
    ("timeline: [2022-01-31]\n", "timeline", "needs `from` and `to`"),
    ("timeline: {from: 2022-01-31, to: x}\n", "timeline.to", "not a date"),
    ("timeline: {from: 2022-12-31, to: 2022-01-31}\n", "timeline", "ends before it starts"),
    ("timeline: {from: 2022-01-31, to: 2022-12-31, step: 1}\n", "timeline", "unknown key(s) step"),
    ("timeline: {from: 0001-01-01, to: 9999-12-31}\n", "timeline", "max_scenario_dates"),
    ("paramz: {}\n", "", "unknown key(s) paramz"),
    ("1: x\n", "", "unknown key(s) 1"),
    ("name: x\n  bad: indent\n", "", "not valid YAML"),
    ("params: !!python/object:os.system {}\n", "", "not valid YAML"),
]


@pytest.mark.parametrize(("text", "key", "reason"), SHAPES)
def test_a_misshapen_scenario_names_the_file_and_the_key(tmp_path: Path, text: str, key: str, reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: " if key else f"{path}: "), message
    assert reason in message


@pytest.mark.parametrize(("text", "reason"), [
    ('name = "x"\nparams = {other_assessment_period = }\n', "not valid TOML"),
    ("params = [1, 2]\n", "params: expected a mapping"),
    ("[[patches]]\nwhere = [1]\n", "patches[0].where: expected a mapping"),
    ("as_of = 2022-06-30T08:00:00\n", "as_of: `2022-06-30 08:00:00` is an instant"),
    ("x = " + "[" * 2000 + "]" * 2000 + "\n", "max_nesting"),
    ("x = " + "9" * 5000 + "\n", "max_int"),
    ("x = 99999999999999999\n", "x: the integer 99999999999999999 is outside"),
])
def test_a_misshapen_toml_scenario_names_the_file_and_the_key(tmp_path: Path, text: str, reason: str) -> None:
    path = write(tmp_path, text, ".toml")
    with pytest.raises(ScenarioError, match="^" + str(path).replace("\\", "\\\\")) as info:
        load_scenario(path)
    assert reason in str(info.value)


def test_rules_off_may_name_one_rule_alone(tmp_path: Path) -> None:
    """`rules_off: apprenticeship` is one rule (it was split into its letters)."""
    assert load_scenario(write(tmp_path, "rules_off: apprenticeship\n")).rules_off == frozenset({"apprenticeship"})
    assert load_scenario(write(tmp_path, "rules_add: extra.policy\n")).rules_add == (tmp_path / "extra.policy",)


BOMB = "\n".join(f"{b}: &{b} [{', '.join([f'*{a}'] * 10)}]" for a, b in zip("abcdefgh", "bcdefghi", strict=True))


@pytest.mark.parametrize(("text", "reason"), [
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + BOMB + "\n", "max_yaml_nodes"),  # a billion laughs
    ("a: &a [*a]\n", "recursive document"),
    ("name: " + "[" * 100 + "]" * 100 + "\n", "max_nesting"),
    ("name: " + "{a: " * 100 + "1" + "}" * 100 + "\n", "max_nesting"),
    ("".join(f"a{i}: &a{i} [{'*a' + str(i - 1) if i else 'x'}]\n" for i in range(100)), "max_nesting"),  # by aliases
    ("params: {safety_staff_threshold: " + "9" * 5000 + "}\n", "max_int"),
    ("params: {safety_staff_threshold: 99999999999999999}\n", "params.safety_staff_threshold: the integer"),
])
def test_documents_beyond_the_limits_are_refused_unexpanded(tmp_path: Path, text: str, reason: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, text))
    assert reason in str(info.value)


def test_the_yaml_limits_apply_to_any_yaml_the_project_reads() -> None:
    with pytest.raises(DocumentLimitError, match="max_yaml_nodes"):
        load_yaml("a: [1, 2, 3, 4, 5]\nb: [1, 2, 3]\n", Limits(max_yaml_nodes=8))
    assert load_yaml("a: [1, 2, 3, 4, 5]\nb: [1, 2, 3]\n", Limits(max_yaml_nodes=13)) == {
        "a": [1, 2, 3, 4, 5], "b": [1, 2, 3]}
    with pytest.raises(DocumentLimitError, match="line 1, column"):
        load_yaml("[[[[1]]]]", Limits(max_nesting=3))


def test_a_scenario_larger_than_the_limit_is_not_read(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\n" + "# padding\n" * 200)
    with pytest.raises(ScenarioError, match="max_document_bytes"):
        load_scenario(path, Limits(max_document_bytes=1000))
    assert load_scenario(path, Limits(max_document_bytes=10_000)).name == "x"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "s.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario(fifo)
    with pytest.raises(ScenarioError, match="is a folder"):
        load_scenario(tmp_path)


def test_not_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: x\nrules_off: [caf\xe9]\n")
    with pytest.raises(ScenarioError, match="line 2, column 16: byte 0xe9 is not UTF-8"):
        load_scenario(path)


@pytest.mark.parametrize(("yaml_where", "toml_where"), [
    ("{established_on: 2012-05-18}", '{ established_on = 2012-05-18 }'),
    ("{established_on: [2012-05-18, 2001-01-01]}", '{ established_on = [2012-05-18, 2001-01-01] }'),
    ("{industry: mining}", '{ industry = "mining" }'),
    ("{industry: [mining, fireworks]}", '{ industry = ["mining", "fireworks"] }'),
])
def test_a_patch_matches_the_same_enterprises_from_yaml_and_toml(policy: Policy, tmp_path: Path, yaml_where: str,
                                                                 toml_where: str) -> None:
    """YAML keeps dates as text, TOML reads them as dates, the validated record holds dates: all compare."""
    yaml_path = write(tmp_path, f"as_of: 2022-06-30\npatches:\n  - where: {yaml_where}\n"
                                "    set: {above_designated_size: true}\n")
    toml_path = write(tmp_path, f"as_of = 2022-06-30\n[[patches]]\nwhere = {toml_where}\n"
                                "set = { above_designated_size = true }\n", ".toml")
    for path in (yaml_path, toml_path):
        scenario = load_scenario(path)
        result = run_whatif(policy, policy, scenario, RECORDS, list(scenario.dates))
        assert result.warnings == [], path
        assert {c.enterprise for c in result.dates[0].changes} <= {"E1"}


def test_a_patch_that_matches_nothing_is_a_warning_in_chinese_and_english(policy: Policy, tmp_path: Path) -> None:
    worn = "    set: {ppe: {worn: false}}\n"
    scenario = load_scenario(write(tmp_path, f"patches:\n  - where: {{industry: mining}}\n{worn}"
                                             f"  - where: {{industy: mining}}\n{worn}"
                                             f"  - where: {{established_on: 1999-01-01}}\n{worn}"))
    result = run_whatif(policy, policy, scenario, RECORDS, [dt.date(2022, 6, 30)])
    assert [w.key for w in result.warnings] == ["patches[1]", "patches[2]"]
    first = result.warnings[0]
    assert "matches no enterprise" in first.message and "did you mean `industry`" in first.message
    assert "未匹配任何企业" in first.message_zh
    assert result.to_json()["warnings"][1]["key"] == "patches[2]"


@pytest.mark.parametrize(("text", "reason"), [
    ("params: {high_risk_industries: [minning]}\n", "params.high_risk_industries: `[minning]` does not fit"),
    ("params: {other_assessment_period: 3}\n", "params.other_assessment_period: `3` does not fit"),
    ("params: {other_assesment_period: 2 years}\n", "params: no param named `other_assesment_period`; did you mean"),
    ("params: {safety_staff_threshold: 1.5}\n", "params.safety_staff_threshold"),
    ("rules_off: [aprenticeship]\n", "rules_off: no rule named `aprenticeship`; did you mean `apprenticeship`"),
])
def test_params_and_rules_are_checked_against_the_policy(policy: Policy, tmp_path: Path, text: str,
                                                         reason: str) -> None:
    path = write(tmp_path, text)
    scenario = load_scenario(path)
    with pytest.raises(ScenarioError, match=f"^{path}: ") as info:
        check_scenario(scenario, policy)
    assert reason in str(info.value)
    with pytest.raises(ScenarioError):  # the library runs the same check
        run_whatif(policy, policy, scenario, RECORDS, [dt.date(2022, 6, 30)])


def test_params_written_as_yaml_lists_are_reported_as_values(policy: Policy, tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, "params: {high_risk_industries: [mining], other_assessment_period: "
                                             "2 years}\n"))
    result = run_whatif(policy, policy, scenario, RECORDS, [dt.date(2022, 6, 30)])
    assert result.to_json()["params"] == {"high_risk_industries": ["mining"], "other_assessment_period": "2 years"}


def test_month_ends_reach_the_end_of_the_calendar() -> None:
    assert month_ends(dt.date(9999, 11, 5), dt.date.max) == [dt.date(9999, 11, 30), dt.date(9999, 12, 31)]
    for start, end in [(dt.date(2021, 1, 15), dt.date(2021, 4, 30)), (dt.date(2021, 1, 31), dt.date(2021, 1, 30)),
                       (dt.date(1, 1, 1), dt.date(1, 3, 1)), (dt.date(9998, 12, 31), dt.date.max)]:
        assert months_between(start, end) == len(month_ends(start, end))
