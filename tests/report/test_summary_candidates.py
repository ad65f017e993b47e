"""The population summary finds a policy's enforcement candidates by the rules it declares `candidate`, whatever
their catalogue ids, and lists them as candidates, not as obligations with a compliance rate — on the row
engine and on the columnar engine alike."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from rich.console import Console

from safetyrules import load_policy, load_policy_text
from safetyrules.api import Policy, fact_record
from safetyrules.engine.results import Outcome
from safetyrules.report.summary import Summary, summary_from_frame

POLICY = """policy watch {
  title zh "观察" en "Watch"
}

subject unit {
  key id
  timezone "+08:00"
  field id: text
  field name: text
  field village: text
  field plan: bool
  field drill: bool
}

obligation has_plan {
  implements "P-1"
  title zh "制定应急预案" en "Has an emergency plan"
  source "第1条" quote "制定应急预案"
  require plan
  due continuous
}

obligation holds_drills {
  implements "P-2"
  title zh "组织演练" en "Holds drills"
  source "第2条" quote "组织演练"
  require drill
  due continuous
}

candidate watch_list {
  implements "W-1"
  title zh "重点监管名单" en "On the watch list"
  source "第3条" quote "未制定应急预案的，列入重点监管名单"
  when violated(has_plan)
}
"""

DAY = dt.date(2022, 6, 30)
RECORDS: list[dict[str, Any]] = [
    {"id": "U1", "name": "甲", "village": "东村", "plan": False, "drill": True},
    {"id": "U2", "name": "乙", "village": "东村", "plan": True, "drill": False},
    {"id": "U3", "name": "丙", "village": "西村"},  # plan unknown: undecided
]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy_text(POLICY)


def _row_summary(policy: Policy) -> Summary:
    summary = Summary.for_policy(DAY, policy)
    for record in RECORDS:
        summary.add(policy.evaluate(record, DAY, explain=False), record["name"], record.get("village", ""))
    return summary


def _columnar_summary(policy: Policy) -> Summary:
    from safetyrules.columnar import FactTables, compile_policy
    from safetyrules.columnar.tables import layout_for
    from safetyrules.engine.params import ParamTable

    records = [fact_record(r, contract=policy.contract) for r in RECORDS]
    frame = compile_policy(policy.program, ParamTable(policy.program)).run(
        FactTables.from_records(records, layout_for(policy.contract)), DAY)
    info = {r["id"]: (r["name"], r.get("village", "")) for r in RECORDS}
    return summary_from_frame(frame, info, policy, DAY)


@pytest.mark.parametrize("engine", ["rows", "columnar"])
def test_candidates_are_found_by_declaration(policy: Policy, engine: str) -> None:
    summary = _row_summary(policy) if engine == "rows" else _columnar_summary(policy)
    assert summary.candidate_rules == {"watch_list"}
    assert [(e, rules) for e, _, _, rules in summary.candidates] == [("U1", ["has_plan"])]
    assert summary.by_village["东村"]["candidates"] == 1
    assert summary.by_village["东村"]["with_violation"] == 2  # the candidate itself is no violation
    assert summary.by_rule["watch_list"][Outcome.UNKNOWN] == 1
    doc = summary.to_json()
    rows = {r["rule"]: r for r in doc["by_rule"]}
    assert rows["watch_list"]["candidate"] is True and rows["watch_list"]["compliance_rate"] is None
    assert rows["has_plan"]["candidate"] is False and rows["has_plan"]["compliance_rate"] == 0.5
    assert [c["enterprise"] for c in doc["enforcement_candidates"]] == ["U1"]


def test_the_compliance_table_lists_obligations_and_the_candidates_apart(policy: Policy) -> None:
    buffer = io.StringIO()
    _row_summary(policy).render(Console(file=buffer, width=200, color_system=None))
    text = buffer.getvalue()
    table = text.split("依法查处对象")[0]
    assert "P-1" in table and "P-2" in table
    assert "W-1" not in table and "重点监管名单" not in table  # no compliance rate for being a candidate
    assert "依法查处对象 Enforcement candidates: 1；另有 1 家无法判断 / 1 more undecided" in text
    assert "U1" in text.split("依法查处对象")[1]


def test_the_seed_policy_candidate_is_its_enforcement_rule() -> None:
    seed = load_policy()
    assert Summary.for_policy(DAY, seed).candidate_rules == {
        r.name for r in seed.program.rules if "enforcement" in r.implements}


def test_an_obligation_in_the_earlier_candidate_shape_is_listed_as_a_candidate() -> None:
    """Written as the earlier revision did (it warns `deprecated-candidate`), the rule is still a candidate list:
    a regulator running an old policy file does not lose the candidates section."""
    old = POLICY.replace('''candidate watch_list {
  implements "W-1"
  title zh "重点监管名单" en "On the watch list"
  source "第3条" quote "未制定应急预案的，列入重点监管名单"
  when violated(has_plan)
}''', '''obligation watch_list {
  implements "W-1"
  title zh "重点监管名单" en "On the watch list"
  source "第3条" quote "未制定应急预案的，列入重点监管名单"
  require not violated(has_plan)
  due continuous
}''')
    assert old != POLICY
    policy = load_policy_text(old)
    assert [w.code for w in policy.warnings] == ["deprecated-candidate"]
    summary = _row_summary(policy)
    assert summary.candidate_rules == {"watch_list"}
    assert [e for e, _, _, _ in summary.candidates] == ["U1"]
