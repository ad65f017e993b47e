"""Golden explanations in words: `golden/<NN>-<catalogue id>-<enterprise>.expected` holds exactly what
`render_tree(result, "both", vocabulary)` prints for one outcome of the bundled example town on 2022-12-31 —
what `safetyrules explain` prints and the console's enterprise page shows, step by step: the facts' labels,
the params' values, obligation titles, values as people write them (`1 年 / 1 year`, `隐患 H-1`), never
policy text. The cases cover each kind of step: periodic duties, deadlines, events of a list, requirements
over items, quantifiers over years, definitions, rules that judge other rules, credit listings.

After a deliberate change of the wording, regenerate the expected files and review the diff:

    SAFETYRULES_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/report/test_explanation_words.py
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from safetyrules.api import bundled_example_path, fact_record, load_policy
from safetyrules.engine.results import RuleResult
from safetyrules.report.explain import render_tree
from safetyrules.report.vocabulary import Vocabulary

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
UPDATE = os.environ.get("SAFETYRULES_UPDATE_GOLDEN") == "1"
AS_OF = "2022-12-31"
POLICY = load_policy()
VOCAB = Vocabulary(POLICY)
TOWN = [json.loads(line) for line in bundled_example_path().read_text(encoding="utf-8").splitlines() if line.strip()]

# (catalogue id, the outcome wanted): the first enterprise of the town with that outcome is the case
CASES = [
    ("3.1-a", "violated"),  # a periodic duty: its period (a param), its latest act (a definition over a list)
    ("3.1-b", "satisfied"),
    ("3.1-c", "pending"),  # events of a list: `each c in changes where c.major`, done by a later assessment
    ("1.1-a", "satisfied"),  # a deadline, a definition that is a condition
    ("1.2-b", "violated"),  # a conjunction of yes/no facts
    ("1.3-b", "violated"),  # a definition with a Chinese name (重点行业领域), requirements per item
    ("2.1-a", "satisfied"),  # if / then / else, numbers compared with a param
    ("2.2-a", "unknown"),  # every closed year: a quantifier over a range of years, `find` in a list
    ("3.2-a", "violated"),  # every level of a param's set among a fact's list
    ("4.1-b", "violated"),  # the earlier of two latest reports, codes compared (报告类型 为 双报告)
    ("4.2-a", "violated"),  # hazards: each major hazard reported within its window
    ("enforcement", "violated"),  # a rule that judges other rules' outcomes
    ("5.2-t1", "triggered"),  # a credit listing
]


def _case(cid: str, outcome: str) -> tuple[str, RuleResult]:
    for raw in TOWN:
        result = POLICY.evaluate_record(fact_record(raw), AS_OF, explain=True)
        for r in result.by_catalogue_id(cid):
            if r.outcome == outcome:
                return str(raw["id"]), r
    raise LookupError(f"no enterprise of the town with {cid} {outcome}")


def _name(index: int, cid: str, outcome: str) -> str:
    return f"{index + 1:02d}-{cid}-{outcome}.expected"


@pytest.mark.parametrize(("index", "cid", "outcome"), [(i, c, o) for i, (c, o) in enumerate(CASES)],
                         ids=[f"{c}-{o}" for c, o in CASES])
def test_explanations_read_in_words(index: int, cid: str, outcome: str) -> None:
    enterprise, result = _case(cid, outcome)
    text = f"# {enterprise} {cid} {outcome} as of {AS_OF}\n" + render_tree(result, "both", VOCAB) + "\n"
    path = GOLDEN / _name(index, cid, outcome)
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path.name} is missing: run with SAFETYRULES_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def test_no_golden_file_is_left_over() -> None:
    expected = {_name(i, c, o) for i, (c, o) in enumerate(CASES)}
    assert {p.name for p in GOLDEN.glob("*.expected")} == expected


RULES = sorted((r.name for r in POLICY.rules()), key=len, reverse=True)
PARAMS = sorted((p.name for p in POLICY.params()), key=len, reverse=True)
CODE = re.compile(r"[a-z]+_[a-z_]+|\w+\.\w+\b(?<!\d)|\b(?:in|and|or|not|is null|is not null)\b(?= )|[<>]=?|==|!=")


def test_no_policy_text_in_the_words() -> None:
    """Over every outcome of the first enterprises: no rule, param or field name, no operator of the policy
    language, in the steps, the params (by their labels) and the remedy (its conditions in words)."""
    for raw in TOWN[:25]:
        result = POLICY.evaluate_record(fact_record(raw), AS_OF, explain=True)
        for r in result.results:
            steps = render_tree(r, "zh", VOCAB).splitlines()[1:]
            for line in steps:
                if line.strip().startswith("依据"):  # the clause quoted
                    continue
                found = CODE.findall(line.replace("  ", " "))
                assert not found, (raw["id"], r.rule, line, found)


def test_policy_text_is_kept_for_authors() -> None:
    _, result = _case("3.1-a", "violated")
    text = render_tree(result, "both", VOCAB, policy_text=True)
    assert "⟨industry in high_risk_industries⟩" in text and "30-risk.policy:" in text
    assert "industry in high_risk_industries" not in render_tree(result, "both", VOCAB)
