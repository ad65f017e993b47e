"""Where each enterprise's rows start in a child table: the numpy way and the polars way agree."""

from __future__ import annotations

import datetime as dt

import pytest

from safetyrules.columnar import FactTables
from safetyrules.columnar import scope as scope_module
from safetyrules.columnar.scope import Counter


@pytest.mark.parametrize("lists", [[[], [], []], [[1], [], [2, 3, 4]], [[], [5, 6], []], []])
def test_table_offsets_with_and_without_numpy(monkeypatch: pytest.MonkeyPatch, lists: list[list[int]]) -> None:
    records = [{"id": str(i), "risk_assessments": [{"date": dt.date(2021, 1, d)} for d in days]}
               for i, days in enumerate(lists)]
    tables = FactTables.from_records(records)
    fast = Counter().table_offsets(tables, "risk_assessments").to_list()
    monkeypatch.setattr(scope_module, "np", None)
    slow = Counter().table_offsets(tables, "risk_assessments").to_list()
    ends = [0]
    for days in lists:
        ends.append(ends[-1] + len(days))
    assert fast == slow == ends
