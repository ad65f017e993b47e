"""The language revision for readers (docs/language.md, "Deprecated forms") changes what a policy says, not
what it means: the seed policy written in the earlier forms (`met`, bare `last` / `first`, unlabelled quotes,
an obligation for the enforcement candidates, deadlines that do not name the params the engines read) lowers
to the same program as policies/annex4 in the new forms, and gives the same results on the example town.

`data/annex4-earlier-revision/` is policies/annex4 (but its fact schema, 05-facts.policy, which the revision
does not touch) as it was before the migration; `safetyrules fmt` rewrote it into policies/annex4.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from safetyrules.api import Policy, load_policy
from safetyrules.check.pipeline import compile_paths
from safetyrules.lower.program import Program, RuleIR
from safetyrules.syntax.formatter import format_module
from safetyrules.syntax.parser import parse

ROOT = Path(__file__).resolve().parents[2]
NEW = ROOT / "policies" / "annex4"
OLD = Path(__file__).parent / "data" / "annex4-earlier-revision"
TOWN = [json.loads(line) for line in (ROOT / "examples" / "town.jsonl").read_text(encoding="utf-8").splitlines()]
DAYS = ["2020-06-30", "2021-01-01", "2021-12-31", "2022-06-30", "2023-01-01"]


@pytest.fixture(scope="module")
def old_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("annex4-old")
    for path in OLD.glob("*.policy"):
        shutil.copy(path, folder / path.name)
    shutil.copy(NEW / "05-facts.policy", folder / "05-facts.policy")
    return folder


@pytest.fixture(scope="module")
def old(old_folder: Path) -> Policy:
    return load_policy(old_folder)


@pytest.fixture(scope="module")
def new() -> Policy:
    return load_policy(NEW)


def test_the_old_forms_are_read_with_warnings_only(old_folder: Path) -> None:
    compilation = compile_paths([old_folder])
    assert compilation.errors == []
    codes = {d.code for d in compilation.diagnostics}
    assert codes == {"deprecated-source", "deprecated-met", "deprecated-every", "deprecated-candidate",
                     "deprecated-implicit-param"}
    assert all(not d.is_error for d in compilation.diagnostics)
    assert compile_paths([NEW]).diagnostics == []


def _plain(rule: RuleIR) -> RuleIR:
    return dataclasses.replace(rule, candidate=False)


def test_old_and_new_forms_lower_to_equal_programs(old: Policy, new: Policy) -> None:
    a, b = old.program, new.program
    # the rules, in evaluation order, are equal but for the flag that says a rule is declared a `candidate`
    assert [r.name for r in a.rules] == [r.name for r in b.rules]
    assert [r.name for r in b.rules if r.candidate] == ["enforcement_candidate"]
    assert not any(r.candidate for r in a.rules)
    for x, y in zip(a.rules, b.rules, strict=True):
        assert _plain(x) == _plain(y), x.name
        assert x.kind == y.kind == ("trigger" if x.kind == "trigger" else "obligation")
    for field in dataclasses.fields(Program):
        if field.compare and field.name not in ("rules", "contract"):  # two loads build two contract models
            assert getattr(a, field.name) == getattr(b, field.name), field.name
    assert a.contract.model.model_json_schema() == b.contract.model.model_json_schema()


@pytest.mark.parametrize("engine", ["compiled", "reference"])
def test_old_and_new_forms_give_equal_results_on_the_town(old: Policy, new: Policy, engine: str) -> None:
    for day in DAYS:
        before = [r.to_json(explanation=False) for e in old.evaluate_many(TOWN, day, engine=engine)
                  for r in e.results]
        after = [r.to_json(explanation=False) for e in new.evaluate_many(TOWN, day, engine=engine)
                 for r in e.results]
        assert before == after, day
        assert len(after) == len(TOWN) * len(new.program.rules)


def test_fmt_rewrote_the_old_forms_into_the_seed_policy() -> None:
    """`safetyrules fmt` of the earlier revision is the seed policy as shipped (refresh the snapshot when the
    seed policy's rules change: `git show <commit before the change>:policies/annex4/X.policy`)."""
    for path in sorted(OLD.glob("*.policy")):
        module = parse(path.read_text(encoding="utf-8"), path.name).module
        assert format_module(module, True) == (NEW / path.name).read_text(encoding="utf-8"), path.name
