"""The fact schema a policy declares: checked, built into pydantic models at load time, and — for the seed
policy — accepting exactly the records the built-in fact contract accepts, with the same values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from columnar.strategies import enterprise  # tests/ is on the path (tests/conftest.py)
from safetyrules import load_policy
from safetyrules.facts.declared import build_models, differences
from safetyrules.facts.models import Enterprise

ROOT = Path(__file__).resolve().parents[2]
TOWN = [json.loads(line) for line in (ROOT / "examples" / "town.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def declared() -> type[Any]:
    schema = load_policy().checked.schema
    assert schema is not None, "the seed policy declares its facts (policies/annex4/05-facts.policy)"
    return build_models(schema).subject


def test_the_seed_policy_declares_the_built_in_contract(declared: type[Any]) -> None:
    assert differences(declared, Enterprise) == []
    schema = load_policy().checked.schema
    assert schema is not None
    assert schema.subject == "enterprise" and schema.root.key == "id"
    assert schema.records["hazard"].dated == "found_on"
    assert schema.records["hazard"].fields["remediated_on"].not_before == "found_on"
    assert schema.records["hazard_plan"].fields["time_limit"].kept
    assert schema.enums["industry"].codes["mining"].zh == "矿山"


def _outcome(model: type[Any], record: Any) -> tuple[str, Any]:
    try:
        return "ok", model.model_validate(record).model_dump(exclude_unset=True, mode="json")
    except ValidationError as exc:
        return "rejected", sorted((tuple(e["loc"]), e["type"]) for e in exc.errors())


def test_the_town_loads_the_same_through_both(declared: type[Any]) -> None:
    for record in TOWN:
        assert _outcome(declared, record) == _outcome(Enterprise, record)


BAD = [
    {"id": ""},
    {"id": "X", "employee_count": -1},
    {"id": "X", "employee_count": "5"},
    {"id": "X", "employee_count": 10**14},
    {"id": "X", "above_designated_size": "true"},
    {"id": "X", "industry": "minning"},
    {"id": "X", "established_on": "2020-02-30"},
    {"id": "X", "established_on": 20200101},
    {"id": "X", "hazards": [{"found_on": "2022-05-03", "remediated_on": "2022-05-01"}]},
    {"id": "X", "accidents": [{"occurred_at": "2021-08-09T10:20:00"}]},
    {"id": "X", "internal_assessments": ["2021-01-15", "yesterday"]},
    {"id": "X", "safety_costs": [{"year": 0}]},
    {"id": "X", "risk_control": {"levels": ["enterprise", "floor"]}},
    {"industry": "mining"},
]


@pytest.mark.parametrize("record", BAD, ids=[json.dumps(r, ensure_ascii=False)[:40] for r in BAD])
def test_bad_records_are_rejected_the_same_way(declared: type[Any], record: dict[str, Any]) -> None:
    ours, theirs = _outcome(declared, record), _outcome(Enterprise, record)
    assert ours[0] == theirs[0] == "rejected"
    # the same fields are blamed; the error type of a date order is generic in a declared schema
    assert [loc for loc, _ in ours[1]] == [loc for loc, _ in theirs[1]]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(record=enterprise("E"))
def test_generated_records_load_the_same(declared: type[Any], record: dict[str, Any]) -> None:
    ours, theirs = _outcome(declared, record), _outcome(Enterprise, record)
    assert ours[0] == theirs[0]
    if ours[0] == "ok":
        assert ours == theirs


def test_the_as_of_rules_follow_from_the_declared_schema() -> None:
    from safetyrules.facts.as_of import EVENT_DATE_PATHS, KEPT_DATE_PATHS
    from safetyrules.facts.schema import as_of_rules

    schema = load_policy().checked.schema
    assert schema is not None
    events, kept = as_of_rules(schema)
    assert events == {path: rule.effect.value for path, rule in EVENT_DATE_PATHS.items()}
    assert sorted(kept) == sorted(KEPT_DATE_PATHS)
