"""Rules whose parts do not depend on the enterprise (a param flag, a constant deadline, a constant event
date) run on the columnar engine like any other and agree with the reference engine: polars may return such a
part as one value that it does not broadcast to the population itself."""

from __future__ import annotations

import datetime as dt

import pytest

from safetyrules import load_policy_text
from safetyrules.api import fact_record
from safetyrules.columnar import FactTables, compile_policy
from safetyrules.engine.params import ParamTable

HEADER = 'policy p { title zh "题" en "t" }\n'
RULE = 'implements "x" title zh "题" en "t" source "一" "原文"'
POLICIES = {
    "require a param flag, due by a constant date":
        'param flag: bool { default true source "一" "原文" }\n'
        f'obligation o {{ {RULE} require flag due by 2021-01-01 }}\n',
    "require a constant comparison, due by a constant date with met":
        f'obligation o {{ {RULE} require 2020-01-01 < 2021-01-01 due by 2021-06-30 met 2021-07-02 }}\n',
    "a trigger on a constant date, no where":
        f'trigger t {{ {RULE} each h in hazards on 2021-01-01 listing 1 year effect zh "效" en "e" }}\n',
    "an event window after a constant date, done on a constant date":
        f'obligation o {{ {RULE} each h in hazards due within 30 days after 2021-01-01 done 2021-01-05 }}\n',
    "an event deadline on a constant date, never done":
        f'obligation o {{ {RULE} each h in hazards due on 2021-01-01 done null }}\n',
}
RECORDS = [{"id": "E1", "hazards": [{"id": "H1", "found_on": "2020-01-01"}]}, {"id": "E2", "hazards": []},
           {"id": "E3"}, {"id": "E4", "hazards": [{"id": "H2"}, {"id": "H3", "found_on": "2022-05-01"}]}]


CASES = [(name, text, {}) for name, text in POLICIES.items()]
CASES.append(("the flag switched off", POLICIES["require a param flag, due by a constant date"], {"flag": False}))


@pytest.mark.parametrize(("text", "params"), [(t, p) for _, t, p in CASES], ids=[n for n, _, _ in CASES])
@pytest.mark.parametrize("as_of", [dt.date(2020, 6, 30), dt.date(2021, 1, 1), dt.date(2022, 1, 1)])
def test_the_engines_agree(text: str, as_of: dt.date, params: dict[str, object]) -> None:
    policy = load_policy_text(HEADER + text)
    records = [fact_record(r) for r in RECORDS]
    reference = sorted((x.enterprise, x.rule, str(x.outcome), x.due_on, x.listed_until) for r in records
                       for x in policy.evaluate_record(r, as_of, params).results)
    program = compile_policy(policy.program, ParamTable(policy.program, params))
    frame = program.run(FactTables.from_records(records), as_of)
    columnar = sorted((e, str(r), str(o), d, lu) for e, r, o, d, lu in
                      frame.select("enterprise", "rule", "outcome", "due_on", "listed_until").iter_rows())
    assert columnar == reference
    assert program.fallback_rules == {}  # compiled, not handed to the reference engine
