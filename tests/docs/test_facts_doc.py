"""docs/facts.md: its CSV example loads as the text says (two enterprises, the first with two hazards, the
second with none, an unknown establishment date and a null staff count)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from safetyrules.facts import FactSource, Loaded

DOC = Path(__file__).resolve().parents[2] / "docs" / "facts.md"


def test_the_csv_example_loads(tmp_path: Path) -> None:
    blocks = re.findall(r"^```csv (\S+)\n(.*?)^```", DOC.read_text(encoding="utf-8"), flags=re.S | re.M)
    assert [name for name, _ in blocks] == ["town.csv", "town.hazards.csv"]
    for name, text in blocks:
        (tmp_path / name).write_text(text, encoding="utf-8")
    source = FactSource(tmp_path / "town.csv")
    loaded = [item for item in source if isinstance(item, Loaded)]
    assert source.report.rejected == 0 and len(loaded) == 2
    first, second = (item.record for item in loaded)
    assert [h["id"] for h in first["hazards"]] == ["H-1", "H-2"]
    assert first["hazards"][0]["remediated_on"] is None and first["hazards"][0]["plan"]["time_limit"] == dt.date(
        2022, 7, 31)
    assert "reported_on" not in first["hazards"][1]
    assert first["risk_control"]["levels"] == ["enterprise", "workshop"]
    assert second["hazards"] == [] and "established_on" not in second
    assert second["management"]["full_time_safety_staff"] is None
