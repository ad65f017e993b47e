"""Guarded quantifiers: a quantifier inside an element scope expands only the rows where it can matter (behind
a filter, after the earlier operands of `and`/`or`). Held to the reference engine, with the same inner
quantifier also written where nothing guards it (the values cached per scope must not leak between them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from safetyrules import load_policy_text

from .differential import mismatches

POLICY = """
policy guarded {
  title zh "守卫" en "guarded"
  period 2020-01-01 .. 2022-12-31
  catalogue {"a"}
}

obligation behind_filter {
  implements "a"
  title zh "过滤后" en "behind a filter"
  source "s" quote "s"
  require not any(c in changes where c.major and c.date <= as_of - 30 days:
          not any(a in risk_assessments: a.date >= c.date and a.date <= c.date + 30 days))
  due continuous
}

obligation unguarded_twin {
  implements "a"
  title zh "无过滤" en "the same without a filter"
  source "s" quote "s"
  require not any(c in changes: not any(a in risk_assessments: a.date >= c.date and a.date <= c.date + 30 days))
  due continuous
}

obligation in_the_filter {
  implements "a"
  title zh "过滤中" en "in the filter"
  source "s" quote "s"
  require count(c in changes where c.major and any(a in risk_assessments: a.date >= c.date): c.authorized) <= 1
  due continuous
}

obligation after_or {
  implements "a"
  title zh "或之后" en "after or"
  source "s" quote "s"
  require all(c in changes where c.authorized or count(a in risk_assessments where a.date <= c.date) > 1:
          c.major or any(a in risk_assessments where a.comprehensive: a.date > c.date))
  due continuous
}

obligation value_body {
  implements "a"
  title zh "数值" en "values"
  source "s" quote "s"
  require max(c in changes where c.major: count(a in risk_assessments where a.date >= c.date)) <= 1
      and sum(c in changes where not c.major: count(a in risk_assessments where a.date < c.date)) < 3
  due continuous
}

obligation picked {
  implements "a"
  title zh "选取" en "picked"
  source "s" quote "s"
  require latest(c in changes where c.major by max(a in risk_assessments where a.date <= c.date: a.date))
          .authorized
  due continuous
}

obligation ranged {
  implements "a"
  title zh "范围" en "ranges"
  source "s" quote "s"
  require any(c in changes where c.major: any(k in 1 .. 3: days_between(c.date, as_of) == 40 + k)) == false
  due continuous
}

obligation each_change {
  implements "a"
  title zh "每项" en "each"
  source "s" quote "s"
  each c in changes where c.major
  require any(a in risk_assessments: a.date >= c.date)
  due continuous
}

obligation each_change_twin {
  implements "a"
  title zh "每项无过滤" en "each, no filter"
  source "s" quote "s"
  each c in changes
  require any(a in risk_assessments: a.date >= c.date)
  due continuous
}
"""


def _records() -> list[dict[str, Any]]:
    d = dt.date
    return [
        {"id": "A", "changes": [{"date": d(2021, 1, 1), "major": True, "authorized": True},
                                {"date": d(2021, 6, 1), "major": False, "authorized": False},
                                {"date": d(2022, 5, 1), "major": True}],
         "risk_assessments": [{"date": d(2021, 1, 15), "comprehensive": True}, {"date": d(2020, 3, 1)}]},
        {"id": "B", "changes": [{"date": d(2021, 2, 1), "authorized": True}, {"major": True}],
         "risk_assessments": [{"date": d(2021, 5, 1)}]},
        {"id": "C", "changes": [{"date": d(2022, 5, 18), "major": True, "authorized": False}]},
        {"id": "D", "risk_assessments": [{"date": d(2021, 1, 1)}]},
        {"id": "E", "changes": [], "risk_assessments": []},
        {"id": "F", "changes": [{"date": d(2020, 7, 1), "major": False, "authorized": True}],
         "risk_assessments": [{"comprehensive": True}, {"date": d(2020, 7, 2)}]},
    ]


@pytest.mark.parametrize("day", ["2021-01-20", "2022-06-30"])
def test_guarded_quantifiers_match_the_reference(day: str) -> None:
    policy = load_policy_text(POLICY)
    assert mismatches(policy, _records(), dt.date.fromisoformat(day)) == []


synth = pytest.importorskip("safetyrules.synth")


@pytest.mark.parametrize("seed", [3, 2020])
def test_guarded_quantifiers_on_a_synthetic_town(seed: int) -> None:
    policy = load_policy_text(POLICY)
    records = list(synth.generate(200, seed=seed))
    for day in ("2021-03-01", "2022-06-30"):
        assert mismatches(policy, records, dt.date.fromisoformat(day)) == []
