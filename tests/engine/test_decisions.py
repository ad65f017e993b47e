"""The decision tables (`engine/decisions.py`): first-match semantics, the Rete form of a table decides the
same rows, and an act dated after the evaluation day is not done yet on that day, in every engine."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from safetyrules import load_policy_text
from safetyrules.api import fact_record
from safetyrules.columnar import FactTables, compile_policy
from safetyrules.columnar.tables import layout_for
from safetyrules.engine.decisions import EVENT_ATOMS, EVENT_VERDICTS, Row, decide, exclusive_rows, holds
from safetyrules.engine.params import ParamTable
from safetyrules.engine.results import Outcome

ASSIGNMENTS = [dict(zip(EVENT_ATOMS, values, strict=True))
               for values in itertools.product((False, True), repeat=len(EVENT_ATOMS))]


def test_every_table_ends_with_a_catch_all_and_names_known_atoms() -> None:
    assert EVENT_VERDICTS[-1].when == ()
    assert {c.lstrip("!") for row in EVENT_VERDICTS for c in row.when} <= set(EVENT_ATOMS)


@pytest.mark.parametrize("atoms", ASSIGNMENTS)
def test_the_exclusive_form_picks_exactly_the_first_matching_row(atoms: dict[str, bool]) -> None:
    matching = [row for row, alternatives in exclusive_rows(EVENT_VERDICTS)
                if any(all(holds(c, atoms) for c in alternative) for alternative in alternatives)]
    assert matching == [decide(EVENT_VERDICTS, atoms)]


def test_rows_an_engine_never_meets_are_left_out_without_changing_the_others() -> None:
    atoms = frozenset({"done", "on_time", "remembered", "before_due", "not_done"})
    kept = exclusive_rows(EVENT_VERDICTS, atoms)
    # `act_unknown` needs "neither done nor not done", which a Rete item never is: its conditions contradict
    assert {row.verdict for row, _ in kept} == {"on_time", "late", "late_forgotten", "open", "overdue",
                                                "act_unknown"}
    for assignment in ASSIGNMENTS:
        if assignment["filter_unknown"] or not assignment["deadline_known"]:
            continue
        if assignment["done"] == assignment["not_done"]:
            continue  # on a Rete item the act is known: done or not done, never both nor neither
        chosen = [row for row, alternatives in kept
                  if any(all(holds(c, assignment) for c in alt) for alt in alternatives)]
        assert chosen == [decide(EVENT_VERDICTS, assignment)]


def test_a_table_without_a_catch_all_is_refused() -> None:
    with pytest.raises(ValueError, match="catch-all"):
        decide((Row(("done",), Outcome.SATISFIED, "x"),), {"done": False})


POLICY = '''policy p { title zh "题" en "t" }

record hazard {
  dated found_on
  field id: text
  field found_on: date
  field reported_on: date kept
}

subject firm {
  key id
  field id: text
  field hazards: list<hazard>
}

obligation reported {
  implements "x"
  title zh "隐患十日内报告" en "Hazards reported within ten days"
  source "一" "原文"
  each h in hazards
  due within 10 days after h.found_on
      done h.reported_on
}
'''
RECORD = {"id": "F1", "hazards": [{"id": "H1", "found_on": "2022-01-01", "reported_on": "2022-01-20"}]}


@pytest.mark.parametrize(("as_of", "outcome", "overdue"), [
    ("2022-01-05", "pending", None),    # reported later: not yet, and not yet due
    ("2022-01-15", "violated", 4),      # due 2022-01-11, not reported by the 15th: 4 days overdue, not −6
    ("2022-01-25", "violated", 14),     # reported late on the 20th: violated while remembered
])
def test_an_act_dated_after_the_evaluation_day_is_not_done_yet(as_of: str, outcome: str,
                                                               overdue: int | None) -> None:
    policy = load_policy_text(POLICY)
    record = fact_record(RECORD, contract=policy.contract)
    result = policy.evaluate_record(record, as_of).results[0]
    assert (str(result.outcome), result.due_on, result.days_overdue) == (outcome, dt.date(2022, 1, 11), overdue)
    event = result.events[0]
    assert event.done_on == (dt.date(2022, 1, 20) if as_of == "2022-01-25" else None)
    program = compile_policy(policy.program, ParamTable(policy.program))
    frame = program.run(FactTables.from_records([record], layout_for(policy.contract)), dt.date.fromisoformat(as_of))
    assert frame.select("outcome", "due_on", "days_overdue").row(0) == (outcome, dt.date(2022, 1, 11), overdue)


def test_the_rete_form_registers_no_rule_that_cannot_fire() -> None:
    pytest.importorskip("durable")
    from safetyrules.stream.rete import _WINDOW_VERDICTS

    verdicts = {EVENT_VERDICTS[v - 1].verdict for v, _ in _WINDOW_VERDICTS}
    assert verdicts == {"on_time", "late", "late_forgotten", "open", "overdue"}
    assert len(_WINDOW_VERDICTS) == len({repr(v) for v in _WINDOW_VERDICTS})



def test_a_periodic_duty_whose_requirement_fails_is_violated_now_not_overdue() -> None:
    # `due every` with `require`: the requirement must hold all along; failing it is not lateness, so there
    # are no "days overdue" counted back from a due date that is still ahead (it was −334 days)
    policy = load_policy_text('policy p { title zh "题" en "t" period 2020-04-01 .. 2022-12-31 }\n'
                              'obligation o { implements "x" title zh "题" en "t" source "一" "原文" '
                              'require employee_count >= 1 '
                              'due every 1 year last max(a in risk_assessments: a.date) }\n')
    record = fact_record({"id": "E", "employee_count": 0, "risk_assessments": [{"date": "2022-01-01"}]})
    result = policy.evaluate_record(record, "2022-02-01").results[0]
    assert (str(result.outcome), result.due_on, result.days_overdue) == ("violated", dt.date(2023, 1, 1), None)
    assert result.reason is not None and result.reason.en == "the requirement does not hold"
    assert "the requirement does not hold" in policy.evaluate(record, "2022-02-01").results[0].message.en
    program = compile_policy(policy.program, ParamTable(policy.program))
    frame = program.run(FactTables.from_records([record]), dt.date(2022, 2, 1))
    assert frame.select("outcome", "due_on", "days_overdue").row(0) == ("violated", dt.date(2023, 1, 1), None)
