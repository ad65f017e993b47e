"""docs/streaming.md shows the event types and the seed policy's paths as the code has them."""

from __future__ import annotations

from pathlib import Path

from safetyrules.api import Policy
from safetyrules.stream.events import events_table
from safetyrules.stream.rete import paths_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "streaming.md"


def _block(name: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"<!-- {name}")
    start = text.index("\n", start) + 1
    return text[start:text.index(f"<!-- /{name} -->")]


def test_event_table_is_current() -> None:
    assert _block("events-table") == events_table()


def test_paths_table_is_current(policy: Policy) -> None:
    assert _block("paths-table") == paths_table(policy), "regenerate with safetyrules.stream.rete.paths_table"


def test_the_python_example_runs() -> None:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("```python\n") + len("```python\n")
    code = text[start:text.index("```", start)]
    namespace: dict[str, object] = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    monitor = namespace["monitor"]
    assert any(a.rule == "major_hazard_reported" for a in monitor.alerts())  # type: ignore[attr-defined]
