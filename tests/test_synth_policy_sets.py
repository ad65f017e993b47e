"""The town generator takes the policy's industry sets and staff threshold from the policy itself."""

from __future__ import annotations

from safetyrules import load_policy
from safetyrules.engine.results import Outcome
from safetyrules.facts.models import Industry
from safetyrules.synth import town


def test_key_industries_are_those_the_apprenticeship_rule_applies_to() -> None:
    """`town.KEY` (the policy's definition `key_industries`, evaluated) is exactly the set of industries whose
    firms the rule reading it applies to."""
    policy = load_policy()
    applies = {code.value for code in Industry
               if policy.evaluate_rules({"id": "T", "industry": code.value, "staff": []}, "2022-06-30",
                                        "apprenticeship").results[0].outcome is not Outcome.NOT_APPLICABLE}
    assert applies == town.KEY
    assert town.HIGH_RISK < town.KEY


def test_the_other_values_are_the_policy_params() -> None:
    params = {p.name: p.default for p in load_policy().params()}
    assert params["high_risk_industries"] == town.HIGH_RISK
    assert params["cost_extraction_industries"] == town.COST_BOUND
    assert params["insurance_industries"] == town.INSURANCE_COMPULSORY
    assert params["technical_team_industries"] == town.TECHNICAL_TEAM
    assert params["safety_staff_threshold"] == town.STAFF_THRESHOLD
