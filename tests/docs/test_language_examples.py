"""Every `policy` and `policy-fragment` block of docs/language.md and docs/tutorial.md checks clean and uses
no deprecated form (the docs teach the current language), and every `schema` block declares a valid fact
schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from safetyrules.check.pipeline import compile_sources
from safetyrules.diagnostics import render_all

DOC = Path(__file__).resolve().parents[2] / "docs" / "language.md"
BLOCKS = re.findall(r"```(policy|policy-fragment)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
HEADER = BLOCKS[0][1]  # the first fragment block is the header the others are checked under


def test_the_doc_has_examples() -> None:
    assert len(BLOCKS) >= 10


TUTORIAL = re.findall(r"```policy\n(.*?)```", (DOC.parent / "tutorial.md").read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("text", TUTORIAL)
def test_tutorial_policy_checks_clean(text: str) -> None:
    result = compile_sources({"tutorial.md": text})
    assert not result.errors, render_all(result.errors, result.sources)
    deprecated = [d for d in result.diagnostics if d.code.startswith("deprecated-")]
    assert not deprecated, render_all(deprecated, result.sources)


@pytest.mark.parametrize("index", range(1, len(BLOCKS)))
def test_example_checks_clean(index: int) -> None:
    kind, text = BLOCKS[index]
    source = text if kind == "policy" else HEADER + "\n" + text
    result = compile_sources({f"language.md#{index}": source})
    errors = [d for d in result.diagnostics if d.is_error or d.code.startswith("deprecated-")]
    assert not errors, render_all(errors, result.sources)
    assert result.policy is not None


SCHEMAS = re.findall(r"```schema\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("text", SCHEMAS)
def test_schema_examples_check_clean(text: str, tmp_path: Path) -> None:
    from safetyrules.check.pipeline import read_schema

    (tmp_path / "example.policy").write_text(text, encoding="utf-8")
    schema, sources, diagnostics = read_schema([tmp_path / "example.policy"])
    assert not diagnostics, render_all(diagnostics, sources)
    assert schema is not None and schema.root.key is not None
