"""A definition can be overridden like a param: `key_industries` (a `define` of policies/annex4 derived from
`high_risk_industries`) is a param to the catalogue, so `--param key_industries=…`, a scenario's `params:` and
`policy.evaluate(..., params=…)` replace its value for the run, checked against the definition's type, and the
results report it as an overridden param.

The engines read definitions from `ParamTable.definitions` (the overridden ones left out, so that their names
read as params): the tests that need an engine to do so are marked until the engines are wired.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from safetyrules.api import Policy, fact_record, load_policy
from safetyrules.cli import cli
from safetyrules.engine.params import ParamError, ParamTable, check_override
from safetyrules.engine.results import Outcome
from safetyrules.whatif.run import check_scenario, evaluate_reference, run_whatif
from safetyrules.whatif.scenario import ScenarioError, load_scenario

AS_OF = dt.date(2022, 6, 30)
STAFF = [{"id": "S1", "role": "general", "hired_on": "2022-03-01", "mentor_id": None}]
RETAIL = {"id": "R1", "industry": "retail", "staff": STAFF}
BUILDER = {"id": "B1", "industry": "construction", "staff": STAFF}
OVERRIDE = {"key_industries": ["retail"]}



@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def outcome(policy: Policy, record: dict[str, Any], params: dict[str, Any] | None = None) -> Outcome:
    return policy.evaluate(record, AS_OF, params=params).by_rule("apprenticeship").outcome


# ---------------------------------------------------------------------------- the check and the table


def test_a_definition_is_checked_against_its_type(policy: Policy) -> None:
    assert check_override(policy.program, "key_industries", "[retail, mining]") == frozenset({"retail", "mining"})
    assert check_override(policy.program, "key_industries", ["retail"]) == frozenset({"retail"})
    with pytest.raises(ParamError, match="`minning` is not an industry code") as info:
        check_override(policy.program, "key_industries", "[minning]")
    assert "定义 `key_industries` 的取值" in str(info.value)
    with pytest.raises(ParamError, match="does not fit `key_industries`: a number is not a set"):
        check_override(policy.program, "key_industries", 3)
    with pytest.raises(ParamError, match=r"does not fit `has_responsibility_system`.*true or false"):
        check_override(policy.program, "has_responsibility_system", "maybe")


def test_an_unknown_name_suggests_params_and_definitions(policy: Policy) -> None:
    with pytest.raises(ParamError, match="no param named `key_industry`; did you mean `key_industries`") as info:
        check_override(policy.program, "key_industry", "[retail]")
    assert "the definitions: " in str(info.value)


def test_the_table_holds_the_override_and_leaves_the_definition_out(policy: Policy) -> None:
    plain = ParamTable(policy.program)
    assert plain.definitions is policy.checked.defines
    assert plain.define_overrides == {} and plain.overrides == {}
    with pytest.raises(KeyError):
        plain.value("key_industries", AS_OF)
    table = ParamTable(policy.program, {"key_industries": "[retail]", "other_assessment_period": "2 years"})
    assert table.define_overrides == {"key_industries": frozenset({"retail"})}
    assert set(table.overrides) == {"key_industries", "other_assessment_period"}
    assert table.value("key_industries", AS_OF) == frozenset({"retail"})
    assert table.is_overridden("key_industries")
    assert "key_industries" not in table.definitions
    assert set(table.definitions) == set(policy.checked.defines) - {"key_industries"}
    assert table.definitions is table.definitions  # one mapping: definition chains are cached per mapping


def test_the_command_line_takes_a_definition(tmp_path: Path) -> None:
    facts = tmp_path / "f.jsonl"
    facts.write_text("\n".join(json.dumps(r) for r in (RETAIL, BUILDER)) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["eval", "--facts", str(facts), "--as-of", str(AS_OF), "--format", "json",
                                      "--param", "key_industries=[retail]"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["params"] == {"key_industries": ["retail"]}
    bad = CliRunner().invoke(cli, ["eval", "--facts", str(facts), "--as-of", str(AS_OF),
                                   "--param", "key_industries=[retial]"])
    assert bad.exit_code == 2
    assert "did you mean `retail`" in bad.stderr


def test_a_scenario_takes_a_definition(policy: Policy, tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: key retail\nparams:\n  key_industries: {retail}\n", encoding="utf-8")
    assert check_scenario(load_scenario(path), policy) == {"key_industries": frozenset({"retail"})}
    path.write_text("name: key retail\nparams:\n  key_industries: [retial]\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="did you mean `retail`"):
        check_scenario(load_scenario(path), policy)


# ---------------------------------------------------------------------------- the engines


def test_without_an_override_the_definition_decides(policy: Policy) -> None:
    assert outcome(policy, RETAIL) is Outcome.NOT_APPLICABLE
    assert outcome(policy, BUILDER) is Outcome.VIOLATED


def test_the_reference_engine_reads_the_override(policy: Policy) -> None:
    assert outcome(policy, RETAIL, OVERRIDE) is Outcome.VIOLATED
    assert outcome(policy, BUILDER, OVERRIDE) is Outcome.NOT_APPLICABLE
    result = policy.evaluate(RETAIL, AS_OF, params=OVERRIDE).by_rule("apprenticeship")
    assert [(p.name, p.value, p.overridden) for p in result.params if p.name == "key_industries"] == [
        ("key_industries", frozenset({"retail"}), True)]


def test_the_columnar_engine_reads_the_override(policy: Policy) -> None:
    pytest.importorskip("polars")
    from safetyrules.columnar import FactTables, compile_policy

    program = compile_policy(policy.program, ParamTable(policy.program, OVERRIDE))
    out = program.run(FactTables.from_records([fact_record(r) for r in (RETAIL, BUILDER)]), AS_OF)
    got = {r["enterprise"]: r["outcome"] for r in out.to_dicts() if r["rule"] == "apprenticeship"}
    assert got == {"R1": str(Outcome.VIOLATED), "B1": str(Outcome.NOT_APPLICABLE)}


def test_a_whatif_on_a_definition_changes_outcomes_and_says_why(policy: Policy, tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: key retail\nparams:\n  key_industries: [retail]\n", encoding="utf-8")
    result = run_whatif(policy, policy, load_scenario(path), [RETAIL, BUILDER], [AS_OF], evaluate_reference)
    changes = {(c.enterprise, c.rule): (c.base, c.scenario, c.because) for c in result.dates[0].changes}
    assert changes[("R1", "apprenticeship")][:2] == (Outcome.NOT_APPLICABLE, Outcome.VIOLATED)
    assert changes[("B1", "apprenticeship")][:2] == (Outcome.VIOLATED, Outcome.NOT_APPLICABLE)
    assert "key_industries" in changes[("R1", "apprenticeship")][2]


def test_a_columnar_whatif_on_a_definition_agrees(policy: Policy, tmp_path: Path) -> None:
    pytest.importorskip("polars")
    from safetyrules.columnar.whatif import ColumnarWhatIf

    path = tmp_path / "s.yaml"
    path.write_text("name: key retail\nparams:\n  key_industries: [retail]\n", encoding="utf-8")
    scenario = load_scenario(path)
    reference = run_whatif(policy, policy, scenario, [RETAIL, BUILDER], [AS_OF], evaluate_reference)
    columnar = run_whatif(policy, policy, scenario, [RETAIL, BUILDER], [AS_OF], ColumnarWhatIf())
    assert [(c.enterprise, c.rule, c.base, c.scenario) for c in columnar.dates[0].changes] == \
        [(c.enterprise, c.rule, c.base, c.scenario) for c in reference.dates[0].changes]
    assert {(c.enterprise, c.rule) for c in columnar.dates[0].changes} >= {("R1", "apprenticeship"),
                                                                             ("B1", "apprenticeship")}


def test_the_checker_lists_the_definitions_each_rule_reads(policy: Policy) -> None:
    """What an overridden definition reaches: the rules that read it, directly or through other definitions."""
    used = policy.checked.defines_used
    assert set(used) == {r.name for r in policy.checked.rules}
    assert "key_industries" in used["apprenticeship"]
    assert not any("key_industries" in used[r.name] for r in policy.checked.rules if r.name != "apprenticeship")
    assert "has_responsibility_system" in used["assessment_results_published"]
