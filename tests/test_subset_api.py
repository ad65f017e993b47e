"""`Policy.evaluate_rules`: the results of some rules only, each as a full evaluation gives it; the rules they
read are evaluated too, not returned."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from safetyrules.api import Policy, bundled_example_path, load_policy
from safetyrules.engine.results import EnterpriseResult
from safetyrules.errors import InputError

AS_OF = dt.date(2022, 12, 31)
SUBSETS: list[tuple[str, ...]] = [
    ("apprenticeship",),
    ("enforcement_candidate",),  # reads ten other rules' outcomes
    ("enforcement_candidate", "dual_report"),  # a rule and one it reads
    ("risk_assessment_high_risk", "major_hazard_reported", "evading_supervision", "accident_late_report"),
    ("safety_commitment", "responsibility_system_in_place", "liability_insurance"),
]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


@pytest.fixture(scope="module")
def town() -> list[dict[str, Any]]:
    lines = Path(bundled_example_path()).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:40]]


def same_rules(full: EnterpriseResult, names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [r.to_json() for r in full.results if r.rule in names]


@pytest.mark.parametrize("names", SUBSETS, ids=["+".join(n) for n in SUBSETS])
@pytest.mark.parametrize("explain", [False, True])
def test_the_results_are_those_of_a_full_evaluation(policy: Policy, town: list[dict[str, Any]],
                                                    names: tuple[str, ...], explain: bool) -> None:
    for record in town:
        full = policy.evaluate(record, AS_OF, explain=explain)
        part = policy.evaluate_rules(record, AS_OF, names, explain=explain)
        assert (part.enterprise, part.as_of) == (full.enterprise, full.as_of)
        assert [r.to_json() for r in part.results] == same_rules(full, names)


def test_with_params_and_on_another_day(policy: Policy, town: list[dict[str, Any]]) -> None:
    params = {"other_assessment_period": "2 years", "high_risk_industries": "[construction, retail]"}
    names = ("risk_assessment_other", "risk_assessment_high_risk", "enforcement_candidate")
    for record in town[:15]:
        full = policy.evaluate(record, "2021-06-30", params=params, explain=False)
        part = policy.evaluate_rules(record, "2021-06-30", names, params=params)
        assert [r.to_json() for r in part.results] == same_rules(full, names)


def test_only_the_named_rules_in_the_policy_order(policy: Policy, town: list[dict[str, Any]]) -> None:
    names = ["liability_insurance", "apprenticeship", "enforcement_candidate"]
    part = policy.evaluate_rules(town[0], AS_OF, names)
    order = [r.name for r in policy.rules()]
    assert [r.rule for r in part.results] == sorted(names, key=order.index)
    assert [r.rule for r in policy.evaluate_rules(town[0], AS_OF, "apprenticeship").results] == ["apprenticeship"]
    assert policy.evaluate_rules(town[0], AS_OF, []).results == []


def test_the_rules_needed_are_the_named_and_those_they_read(policy: Policy) -> None:
    assert policy.rules_needed("apprenticeship") == {"apprenticeship"}
    needed = policy.rules_needed(["enforcement_candidate"])
    assert needed == {"enforcement_candidate", *next(r.rules_used for r in policy.rules()
                                                     if r.name == "enforcement_candidate")}


def test_an_unknown_rule_is_an_input_error(policy: Policy, town: list[dict[str, Any]]) -> None:
    with pytest.raises(InputError, match="no rule named `aprenticeship`; did you mean `apprenticeship`"):
        policy.evaluate_rules(town[0], AS_OF, ["aprenticeship"])
    with pytest.raises(InputError, match="no rule named `3`"):
        policy.evaluate_rules(town[0], AS_OF, [3])  # type: ignore[list-item]
    with pytest.raises(InputError, match="no rule named"):
        policy.rules_needed(["nope"])


def test_the_record_and_date_are_checked_as_by_evaluate(policy: Policy) -> None:
    from safetyrules.api import FactError
    from safetyrules.errors import DateError

    with pytest.raises(DateError):
        policy.evaluate_rules({"id": "E"}, "2022-13-01", ["apprenticeship"])
    with pytest.raises(FactError):
        policy.evaluate_rules({"id": "E", "employee_count": -3}, AS_OF, ["apprenticeship"])
