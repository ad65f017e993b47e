"""A result is unknown only when it depends on a missing fact (docs/semantics.md): null decides before unknown,
and the same holds in the columnar engine."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from safetyrules import load_policy, load_policy_text
from safetyrules.api import fact_record
from safetyrules.columnar import FactTables, compile_policy
from safetyrules.engine.params import ParamTable

HEADER = 'policy p { title zh "题" en "t" }\n'
RULE = 'implements "x" title zh "题" en "t" source "一" "原文"'


def both(policy_text: str, record: dict[str, Any], as_of: str) -> tuple[str, str]:
    policy = load_policy_text(HEADER + policy_text)
    rec = fact_record(record)
    reference = str(policy.evaluate_record(rec, as_of).results[0].outcome)
    program = compile_policy(policy.program, ParamTable(policy.program))
    columnar = program.run(FactTables.from_records([rec]), dt.date.fromisoformat(as_of)).item(0, "outcome")
    return reference, str(columnar)


@pytest.mark.parametrize(("condition", "outcome"), [
    ("reported_on <= found_on + 1 day", "violated"),   # null <= unknown: false (never reported)
    ("greatest(reported_on, found_on) is not null", "violated"),   # greatest with a null is null
    ("days_between(found_on, reported_on) <= 1", "violated"),
    ("reported_on == found_on", "violated"),
    ("not (reported_on != found_on)", "satisfied"),
])
def test_null_decides_before_unknown(condition: str, outcome: str) -> None:
    # reported_on is null (known: never reported), found_on absent (unknown): the unknown cannot matter
    require = condition.replace("reported_on", "h.reported_on").replace("found_on", "h.found_on")
    text = f"obligation o {{ {RULE} each h in hazards require {require} due continuous }}\n"
    record = {"id": "E", "hazards": [{"id": "H", "reported_on": None}]}
    assert both(text, record, "2022-06-30") == (outcome, outcome)


def test_an_open_major_hazard_is_overdue_whatever_its_absent_verification() -> None:
    # 4.2-c: done greatest(remediated_on, verified_on): still open (null) is not done, known without verified_on
    policy = load_policy()
    record = fact_record({"id": "E", "industry": "construction", "hazards": [{
        "id": "H1", "major": True, "found_on": "2022-01-10", "remediated_on": None,
        "plan": {"made_on": "2022-01-12", "time_limit": "2022-03-31"}}]})
    result = next(r for r in policy.evaluate_record(record, "2022-06-30").results if "4.2-c" in r.implements)
    assert (str(result.outcome), result.days_overdue) == ("violated", 91)
    program = compile_policy(policy.program, ParamTable(policy.program))
    frame = program.run(FactTables.from_records([record]), dt.date(2022, 6, 30))
    row = frame.filter(frame["rule"].cast(str) == result.rule).row(0, named=True)
    assert (row["outcome"], row["days_overdue"]) == ("violated", 91)


@pytest.mark.parametrize(("expr", "facts", "value"), [
    # an assessment of unknown kind older than a known comprehensive one cannot change the latest date
    ("max(a in risk_assessments where a.comprehensive: a.date)",
     [{"date": "2021-05-01", "comprehensive": True}, {"date": "2020-03-01"}], dt.date(2021, 5, 1)),
    # … but a later one could
    ("max(a in risk_assessments where a.comprehensive: a.date)",
     [{"date": "2021-05-01", "comprehensive": True}, {"date": "2022-03-01"}], None),
    ("min(a in risk_assessments where a.comprehensive: a.date)",
     [{"date": "2021-05-01", "comprehensive": True}, {"date": "2022-03-01"}], dt.date(2021, 5, 1)),
    ("count(a in risk_assessments where a.comprehensive: a.risk_list_updated)",
     [{"date": "2021-05-01", "comprehensive": True, "risk_list_updated": True},
      {"date": "2022-03-01", "risk_list_updated": False}], 1),
    ("any(a in risk_assessments where a.comprehensive: a.risk_list_updated)",
     [{"date": "2021-05-01", "comprehensive": False}, {"date": "2022-03-01", "risk_list_updated": False}], False),
    ("all(a in risk_assessments where a.comprehensive: a.risk_list_updated)",
     [{"date": "2021-05-01", "risk_list_updated": True}], True),
    ("find(a in risk_assessments where a.comprehensive).date",
     [{"date": "2021-05-01", "comprehensive": True}, {"date": "2022-03-01"}], dt.date(2021, 5, 1)),
    ("find(a in risk_assessments where a.comprehensive).date",
     [{"date": "2020-05-01"}, {"date": "2021-05-01", "comprehensive": True}], None),
    ("latest(a in risk_assessments where a.comprehensive by a.date).date",
     [{"date": "2021-05-01", "comprehensive": True}, {"date": "2020-03-01"}], dt.date(2021, 5, 1)),
    ("latest(a in risk_assessments where a.comprehensive by a.date).date",
     [{"date": "2021-05-01"}, {"date": "2021-05-01", "comprehensive": True}], None),  # a tie before it
    ("earliest(a in risk_assessments where a.comprehensive by a.date).date",
     [{"date": "2021-05-01", "comprehensive": True}, {"date": "2021-05-01"}], dt.date(2021, 5, 1)),
    ("sum(c in safety_costs where c.internal_audit: c.used)",
     [{"year": 2021, "used": 5, "internal_audit": True}, {"year": 2022, "used": 0}], 5),
    ("sum(c in safety_costs where c.internal_audit: c.used)",
     [{"year": 2021, "used": 5, "internal_audit": True}, {"year": 2022, "used": 3}], None),
])
def test_an_element_that_cannot_change_the_result_does_not_make_it_unknown(
        expr: str, facts: list[dict[str, Any]], value: Any) -> None:
    field = "safety_costs" if "safety_costs" in expr else "risk_assessments"
    require = f"({expr}) is unknown"
    record = {"id": "E", field: facts}
    policy = f"obligation o {{ {RULE} require {require} due continuous }}\n"
    unknown = value is None
    assert both(policy, record, "2022-12-31") == (("satisfied",) * 2 if unknown else ("violated",) * 2)
    if not unknown:
        literal = value.isoformat() if isinstance(value, dt.date) else str(value).lower()
        policy = f"obligation o {{ {RULE} require ({expr}) == {literal} due continuous }}\n"
        assert both(policy, record, "2022-12-31") == ("satisfied", "satisfied")
