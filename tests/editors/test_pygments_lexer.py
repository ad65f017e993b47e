"""The Pygments lexer (safetyrules.syntax.pygments_lexer): found through its entry point, and every policy file
of the repository that parses lexes with no error token."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename  # Pygments comes with rich
from pygments.token import Error, Keyword, Literal, Name, String
from tests.editors.test_textmate import FILES

from safetyrules.syntax.parser import parse
from safetyrules.syntax.pygments_lexer import SafetyRulesLexer


def test_the_entry_point_registers_the_lexer() -> None:
    found = [e for e in entry_points(group="pygments.lexers") if e.name == "safetyrules"]
    assert found, "reinstall the package (pip install -e .) to register its entry points"
    assert found[0].load() is SafetyRulesLexer
    assert isinstance(get_lexer_by_name("policy"), SafetyRulesLexer)
    assert isinstance(get_lexer_for_filename("30-risk.policy"), SafetyRulesLexer)


@pytest.mark.parametrize("path", [p for p in FILES if parse(p.read_text(encoding="utf-8")).ok],
                         ids=lambda p: p.name)
def test_a_policy_lexes_without_errors(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    tokens = list(SafetyRulesLexer(stripnl=False).get_tokens(text))
    assert "".join(value for _, value in tokens) == (text if text.endswith("\n") else text + "\n")
    errors = [value for kind, value in tokens if kind in Error]
    assert not errors, f"{path.name}: {errors[:5]}"


def test_the_kinds_of_tokens() -> None:
    text = ('obligation late {\n  due every 1 year last done max(a in risk_assessments: a.date)\n'
            '  title zh "迟" en "x"\n}\n')
    kinds = {value: kind for kind, value in SafetyRulesLexer().get_tokens(text) if value.strip()}
    assert kinds["done"] in Keyword
    assert kinds["obligation"] in Keyword.Declaration and kinds["late"] in Name.Class
    assert kinds["due"] in Keyword and kinds["max"] in Name.Builtin and kinds["date"] in Name.Attribute
    assert kinds['"迟"'] in String and kinds["year"] in Keyword
    assert list(SafetyRulesLexer().get_tokens("effective 2021-12-31\n"))[2][0] in Literal.Date


def test_the_words_of_the_language_revision() -> None:
    text = ('candidate c {\n  source "一" quote "原文"\n  when violated(a)\n}\n'
            'obligation o {\n  due on x done y late for late_act_memory\n  due by z grace new_entrant_grace\n}\n')
    kinds = {value: kind for kind, value in SafetyRulesLexer().get_tokens(text) if value.strip()}
    assert kinds["candidate"] in Keyword.Declaration and kinds["c"] in Name.Class
    assert all(kinds[w] in Keyword for w in ("quote", "when", "late", "for", "grace", "done"))
