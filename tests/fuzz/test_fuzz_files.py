"""Fuzzing the project's own files: what-if scenarios (YAML and TOML), policy test files, `--param` values.

A scenario is loaded, checked against the policy and run on two enterprises; a test file is loaded and its
cases run. Nothing may raise but `ScenarioError` / `CaseFileError` (a run's own failures are `CaseResult`s);
a `--param` text of any param of the seed policy is a `ParamError` or a value of the param's declared type.
Each target has a quick variant and a `slow` one with many more examples (`SAFETYRULES_FUZZ_EXAMPLES`).
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetyrules.api import Policy, load_policy
from safetyrules.check.types import BOOL, DATE, DURATION, NUMBER, STRING, EnumType, LangType, SetType
from safetyrules.engine.params import ParamError, check_override
from safetyrules.engine.values import Duration
from safetyrules.limits import DEFAULT, Limits
from safetyrules.tester import CaseFileError, load_cases, run_case
from safetyrules.whatif.run import run_whatif
from safetyrules.whatif.scenario import ScenarioError, load_scenario

LONG_EXAMPLES = int(os.environ.get("SAFETYRULES_FUZZ_EXAMPLES", "2000"))
QUICK = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
LONG = settings(max_examples=LONG_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
# small limits: the fuzzer reaches them with small documents
SMALL = Limits(max_nesting=8, max_list_items=20, max_document_bytes=20_000, max_yaml_nodes=500,
               max_scenario_dates=6)

ROOT = Path(__file__).resolve().parents[2]
POLICY: Policy = load_policy(ROOT / "policies" / "annex4")
WORK = Path(tempfile.mkdtemp(prefix="fuzz-files-"))
atexit.register(shutil.rmtree, WORK, ignore_errors=True)
RECORDS = [{"id": "E1", "industry": "mining", "established_on": "2012-05-18"},
           {"id": "E2", "industry": "retail", "risk_assessments": [{"date": "2020-03-01", "comprehensive": True}]}]

SEED_SCENARIO: dict[str, Any] = {
    "name": "其他行业每两年评估一次",
    "as_of": ["2021-12-31", "2022-06-30"],
    "params": {"other_assessment_period": "2 years", "high_risk_industries": ["construction", "mining"],
               "safety_staff_threshold": 50, "external_audit_required": False},
    "rules_off": ["apprenticeship"],
    "patches": [{"where": {"industry": "mining", "established_on": "2012-05-18"},
                 "set": {"above_designated_size": True, "ppe.worn": False}},
                {"append": {"risk_assessments": {"date": "2022-01-10", "comprehensive": True}}}],
}
SEED_TOML = """name = "two years"
as_of = [2021-12-31, 2022-06-30]
rules_off = ["apprenticeship"]

[params]
other_assessment_period = "2 years"
high_risk_industries = ["construction", "mining"]

[[patches]]
where = { industry = "mining", established_on = 2012-05-18 }
set = { above_designated_size = true }

[[patches]]
append = { risk_assessments = { date = "2022-01-10", comprehensive = true } }
"""
SEED_TESTS = (ROOT / "policies" / "annex4" / "tests" / "30-risk.test.yaml").read_text(encoding="utf-8")

HOSTILE: list[Any] = [
    None, True, 0, -1, 10**13, 10**13 + 1, 2**63, 1.5, float("inf"), "", " ", "\u0000", "永春", "a" * 300,
    "2022-02-30", "0001-01-01", "9999-12-31", "2021-08-09T10:20:00+08:00", dt.date(2022, 1, 1),
    dt.datetime(2022, 1, 1, 8, 0), [], {}, [[[[[[[[[[1]]]]]]]]]], {"a": {"b": {"c": {"d": {"e": {"f": {}}}}}}},
    list(range(30)), ["minning"], "[construction, minning]", "2 years", "apprenticeship", "/dev/zero", "a\u0000b",
    {"from": "2021-01-31", "to": "2022-12-31"}, {"from": "0001-01-01", "to": "9999-12-31"},
]
KEYS = ["name", "as_of", "timeline", "params", "rules_off", "patches", "where", "set", "append", "industry",
        "other_assessment_period", "high_risk_industries", "from", "to", "paramz", "cases", "facts", "expect",
        "defaults", "outcome", "due_on", "3.1-a"]


def hostile_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=20), st.integers(), st.floats(), st.booleans(),
                        st.dates())
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner,
                                                     max_size=5)), max_leaves=12)


Path_ = tuple[Any, ...]


def paths_of(data: Any, prefix: Path_ = ()) -> list[Path_]:
    out: list[Path_] = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out.extend(paths_of(v, (*prefix, k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.extend(paths_of(v, (*prefix, i)))
    return out


def replaced(data: Any, path: Path_, value: Any) -> Any:
    if not path:
        return value
    copy: Any = dict(data) if isinstance(data, dict) else list(data)
    copy[path[0]] = replaced(copy[path[0]], path[1:], value)
    return copy


@st.composite
def mutated(draw: st.DrawFn, seed: Any) -> Any:
    """The seed with a few values (or whole branches) replaced by hostile ones, or keys added or dropped."""
    data = seed
    for _ in range(draw(st.integers(1, 3))):
        paths = paths_of(data)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "add", "drop"]))
        target: Any = data
        for step in path:
            target = target[step]
        if action == "add" and isinstance(target, dict):
            data = replaced(data, path, {**target, draw(st.sampled_from(KEYS)): draw(hostile_values())})
        elif action == "drop" and path:
            parent = data
            for step in path[:-1]:
                parent = parent[step]
            smaller = ({k: v for k, v in parent.items() if k != path[-1]} if isinstance(parent, dict)
                       else [v for i, v in enumerate(parent) if i != path[-1]])
            data = replaced(data, path[:-1], smaller)
        else:
            data = replaced(data, path, draw(hostile_values()))
    return data


def text_mutants(seed: str) -> st.SearchStrategy[str]:
    """The seed text with characters deleted, inserted (YAML/TOML punctuation, aliases) or a slice repeated."""
    pieces = st.sampled_from(["[", "]", "{", "}", ":", ",", "- ", "\n", "  ", "&a ", "*a", "!!binary ", "'", '"',
                              "#", "=", "9" * 50, "\t", "\ufeff", "\x00", "2022-13-01", "[[", "]]", "&b [*a, *a] "])

    @st.composite
    def mutate(draw: st.DrawFn) -> str:
        text = seed
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(text)))
            kind = draw(st.sampled_from(["insert", "delete", "repeat"]))
            if kind == "insert":
                text = text[:at] + draw(st.one_of(pieces, st.text(max_size=5))) + text[at:]
            elif kind == "delete":
                text = text[:at] + text[at + draw(st.integers(1, 20)):]
            else:
                end = min(len(text), at + draw(st.integers(1, 40)))
                text = text[:at] + text[at:end] * draw(st.integers(2, 30)) + text[end:]
        return text

    return mutate()


def toml_text(data: Any) -> str:
    """A small TOML writer for generated documents (inline tables; keys quoted)."""
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return "nan" if v != v else ("inf" if v == float("inf") else "-inf" if v == -float("inf") else repr(v))
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v if x is not None) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{json.dumps(str(k))} = {value(x)}" for k, x in v.items() if x is not None) + " }"
        return '""'

    if not isinstance(data, dict):
        return f"x = {value(data)}\n"
    return "".join(f"{json.dumps(str(k))} = {value(v)}\n" for k, v in data.items() if v is not None)


# ------------------------------------------------------------------------------------------ targets


def run_scenario_file(name: str, content: str | bytes, limits: Limits) -> None:
    path = WORK / name
    if isinstance(content, str):
        content = content.encode("utf-8", errors="surrogatepass")
    path.write_bytes(content)
    try:
        scenario = load_scenario(path, limits)
        if scenario.policy or scenario.facts or scenario.rules_add:
            return  # other files: not this harness's subject
        run_whatif(POLICY, POLICY, scenario, RECORDS, list(scenario.dates[:1]) or [dt.date(2022, 6, 30)],
                   limits=limits)
    except ScenarioError:
        pass


def run_test_file(content: str | bytes, limits: Limits) -> None:
    path = WORK / "t.test.yaml"
    if isinstance(content, str):
        content = content.encode("utf-8", errors="surrogatepass")
    path.write_bytes(content)
    try:
        cases = load_cases(path, limits)
    except CaseFileError:
        return
    for case in cases[:3]:
        run_case(POLICY, case)


def scenario_yaml_structured(data: Any, limits: Limits) -> None:
    run_scenario_file("s.yaml", yaml.safe_dump(data, allow_unicode=True), limits)


def scenario_yaml_text(text: str, limits: Limits) -> None:
    run_scenario_file("s.yaml", text, limits)


def scenario_toml_structured(data: Any, limits: Limits) -> None:
    run_scenario_file("s.toml", toml_text(data), limits)


def scenario_toml_text(text: str, limits: Limits) -> None:
    run_scenario_file("s.toml", text, limits)


def case_file_structured(data: Any, limits: Limits) -> None:
    run_test_file(yaml.safe_dump(data, allow_unicode=True), limits)


def case_file_text(text: str, limits: Limits) -> None:
    run_test_file(text, limits)


SEED_TESTS_DATA = yaml.safe_load(SEED_TESTS)
SEED_TESTS_DATA["cases"] = SEED_TESTS_DATA["cases"][:3]
TARGETS: dict[str, tuple[st.SearchStrategy[Any], Callable[[Any, Limits], None]]] = {
    "scenario-yaml": (mutated(SEED_SCENARIO), scenario_yaml_structured),
    "scenario-yaml-text": (text_mutants(yaml.safe_dump(SEED_SCENARIO, allow_unicode=True)), scenario_yaml_text),
    "scenario-toml": (mutated(SEED_SCENARIO), scenario_toml_structured),
    "scenario-toml-text": (text_mutants(SEED_TOML), scenario_toml_text),
    "tests-yaml": (mutated(SEED_TESTS_DATA), case_file_structured),
    "tests-yaml-text": (text_mutants(yaml.safe_dump(SEED_TESTS_DATA, allow_unicode=True)), case_file_text),
}


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("limits", [DEFAULT, SMALL], ids=["default", "small"])
def test_files_fail_only_with_their_own_error(target: str, limits: Limits) -> None:
    strategy, run = TARGETS[target]

    @QUICK
    @given(strategy)
    def check(value: Any) -> None:
        run(value, limits)

    check()


@pytest.mark.slow
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_files_fail_only_with_their_own_error_long(target: str) -> None:
    strategy, run = TARGETS[target]

    @LONG
    @given(strategy, st.sampled_from([DEFAULT, SMALL]))
    def check(value: Any, limits: Limits) -> None:
        run(value, limits)

    check()


# ------------------------------------------------------------------------------------------ --param


def fits(value: Any, t: LangType) -> bool:
    if isinstance(t, SetType):
        return isinstance(value, frozenset) and all(fits(v, t.elem) for v in value)
    if isinstance(t, EnumType):
        return value in t.codes
    if t == DURATION:
        return isinstance(value, Duration)
    if t == DATE:
        return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    if t == NUMBER:
        return isinstance(value, int) and not isinstance(value, bool) and DEFAULT.check_int(value)
    if t == BOOL:
        return isinstance(value, bool)
    if t == STRING:
        return isinstance(value, str)
    return False


PARAM_PIECES = ["[", "]", "{", "}", ",", " ", '"', "'", "construction", "minning", "mining", "2", "years", "day",
                "-", "2021-12-31", "2022-13-01", "true", "false", "True", "9" * 30, "0", "null", "\n", "}", "define",
                "1 year 6 months", "\u0000", "永春", "1e3", "0x10"]
param_texts = st.one_of(
    st.text(max_size=30),
    st.lists(st.sampled_from(PARAM_PIECES), max_size=8).map("".join),
)


def check_param_text(name: str, text: str) -> None:
    try:
        value = check_override(POLICY.program, name, text)
    except ParamError:
        return
    assert fits(value, POLICY.checked.param_types[name]), (name, text, value)


@pytest.mark.parametrize("name", sorted(POLICY.checked.params))
def test_param_text_is_a_param_error_or_a_value_of_the_declared_type(name: str) -> None:
    @settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(param_texts)
    def check(text: str) -> None:
        check_param_text(name, text)

    check()


@pytest.mark.slow
def test_param_text_long() -> None:
    @LONG
    @given(st.sampled_from(sorted(POLICY.checked.params)), param_texts)
    def check(name: str, text: str) -> None:
        check_param_text(name, text)

    check()
