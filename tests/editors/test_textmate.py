"""The TextMate grammar (editors/safetyrules.tmLanguage.json) tokenises every `.policy` file of the repository.

A small tokeniser runs the grammar's `match` patterns with Python's `re` the way a TextMate engine does: from
each position, the pattern whose match starts first wins (ties: the first in the grammar's order), and the
characters it skips are not tokenised. A non-blank character outside every token fails the test, except where
the policy itself has a lexical mistake (a character the language does not know, a string that is not closed:
the golden diagnostics files have them on purpose). The grammar uses no Oniguruma-only construct; `to_python`
would translate the two that differ (`\\h`, named groups `(?<name>…)`) if it did.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from safetyrules.syntax.parser import parse

ROOT = Path(__file__).resolve().parents[2]
GRAMMAR = ROOT / "editors" / "safetyrules.tmLanguage.json"


def to_python(pattern: str) -> str:
    """An Oniguruma pattern as a Python one: `\\h` (a hex digit) and `(?<name>` named groups differ."""
    pattern = re.sub(r"(?<!\\)\\h", "[0-9A-Fa-f]", pattern)
    return re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", pattern)


@dataclass(frozen=True)
class Rule:
    scope: str
    regex: re.Pattern[str]
    captures: dict[int, str]


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    scope: str


def rules(grammar: dict[str, Any]) -> list[Rule]:
    """The grammar's patterns in order, includes resolved (a grammar of `match` patterns only)."""
    out: list[Rule] = []

    def add(patterns: list[dict[str, Any]]) -> None:
        for p in patterns:
            if "include" in p:
                add(grammar["repository"][p["include"].lstrip("#")]["patterns"])
                continue
            assert "match" in p, f"only `match` patterns are tokenised here: {p}"
            captures = {int(k): v["name"] for k, v in p.get("captures", {}).items()}
            out.append(Rule(p.get("name", ""), re.compile(to_python(p["match"])), captures))

    add(grammar["patterns"])
    return out


RULES = rules(json.loads(GRAMMAR.read_text(encoding="utf-8")))


def tokenise(line: str) -> tuple[list[Token], list[int]]:
    """The tokens of a line (a capture is a token of its own) and the positions of the non-blank characters no
    token covers."""
    tokens: list[Token] = []
    missed: list[int] = []
    pos = 0
    while pos < len(line):
        best: tuple[int, int, re.Match[str], Rule] | None = None
        for order, rule in enumerate(RULES):
            m = rule.regex.search(line, pos)
            if m is not None and m.end() > m.start() and (best is None or (m.start(), order) < best[:2]):
                best = (m.start(), order, m, rule)
        if best is None:
            missed.extend(i for i in range(pos, len(line)) if not line[i].isspace())
            break
        start, _, m, rule = best
        missed.extend(i for i in range(pos, start) if not line[i].isspace())
        if rule.captures:
            tokens.extend(Token(m.start(g), m.end(g), scope) for g, scope in rule.captures.items()
                          if m.start(g) >= 0)
        else:
            tokens.append(Token(m.start(), m.end(), rule.scope))
        pos = m.end()
    return tokens, missed


def policy_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "*.policy"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.split()
        return sorted(ROOT / name for name in listed)
    except (OSError, subprocess.CalledProcessError):  # not a git checkout
        return sorted(p for p in ROOT.rglob("*.policy") if ".venv" not in p.parts)


FILES = policy_files()


def lexical_mistakes(text: str) -> dict[int, int]:
    """Line → the column from which the policy's own lexer gives up (a character it does not know, a string
    that is not closed)."""
    out: dict[int, int] = {}
    for d in parse(text).diagnostics:
        if d.message.startswith(("unexpected character", "a string is not closed")):
            out[d.span.line] = min(out.get(d.span.line, d.span.column), d.span.column)
    return out


def test_the_grammar_names_the_language() -> None:
    grammar = json.loads(GRAMMAR.read_text(encoding="utf-8"))
    assert grammar["scopeName"] == "source.safetyrules" and grammar["fileTypes"] == ["policy"]
    assert len(RULES) > 20


def test_the_repository_has_policy_files() -> None:
    assert len(FILES) >= 100
    assert ROOT / "policies" / "annex4" / "30-risk.policy" in FILES


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_every_non_blank_line_is_tokenised(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    allowed = lexical_mistakes(text)
    clean = parse(text).ok
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        tokens, missed = tokenise(line)
        missed = [i for i in missed if i + 1 < allowed.get(number, len(line) + 2)]
        assert tokens, f"{path.name}:{number}: no token in {line!r}"
        assert not missed, f"{path.name}:{number}:{missed[0] + 1}: not tokenised: {line[missed[0]:]!r}"
        if clean:  # a policy without syntax mistakes has no token marked invalid
            assert not [t for t in tokens if t.scope.startswith("invalid")], f"{path.name}:{number}"


def scopes(line: str) -> dict[str, str]:
    tokens, missed = tokenise(line)
    assert not missed
    return {line[t.start:t.end]: t.scope for t in tokens}


def test_the_scopes_of_keywords_literals_comments_and_operators() -> None:
    got = scopes('  due every 1 year last done max(a in risk_assessments where a.comprehensive: a.date) # late')
    assert got["due"] == got["every"] == got["last"] == got["done"] == "keyword.control.due.safetyrules"
    assert got["1"] == "constant.numeric.integer.safetyrules" and got["year"] == "keyword.other.unit.safetyrules"
    assert got["max"] == "support.function.quantifier.safetyrules"
    assert got["in"] == got["where"] == "keyword.operator.word.safetyrules"
    assert got["date"] == got["comprehensive"] == "variable.other.member.safetyrules"  # a field, not the type
    assert got["# late"] == "comment.line.number-sign.safetyrules"
    got = scopes("obligation risk_assessment_high_risk {")
    assert got["obligation"] == "storage.type.declaration.safetyrules"
    assert got["risk_assessment_high_risk"] == "entity.name.type.safetyrules"
    got = scopes('  source "二（三）1" quote "含 # 号的引文" effective 2021-12-31 on 2021-08-09T10:20:00+08:00')
    assert got['"二（三）1"'] == got['"含 # 号的引文"'] == "string.quoted.double.safetyrules"
    assert got["source"] == got["quote"] == "keyword.other.item.safetyrules"
    assert scopes("candidate enforcement_candidate {")["candidate"] == "storage.type.declaration.safetyrules"
    due = scopes("  due by 2020-12-31 done x grace new_entrant_grace late for late_act_memory first due y")
    assert due["grace"] == due["late"] == due["for"] == due["first"] == "keyword.control.due.safetyrules"
    assert got["2021-12-31"] == "constant.other.date.safetyrules"
    assert got["2021-08-09T10:20:00+08:00"] == "constant.other.instant.safetyrules"
    got = scopes("/// The seed policy's header.")
    assert got["/// The seed policy's header."] == "comment.line.documentation.safetyrules"
    got = scopes("  require x >= 1 and not y != 2 or as_of + 3 * 2 days <= date(2020, 1, 1) implies z is null")
    assert got[">="] == got["!="] == got["<="] == "keyword.operator.comparison.safetyrules"
    assert got["and"] == got["not"] == got["or"] == got["implies"] == "keyword.operator.logical.safetyrules"
    assert got["+"] == got["*"] == "keyword.operator.arithmetic.safetyrules"
    assert got["as_of"] == "variable.language.as-of.safetyrules"
    assert got["date"] == "support.function.builtin.safetyrules"
    assert got["null"] == "constant.language.safetyrules"
    assert scopes("define ok: bool = true")["="] == "keyword.operator.assignment.safetyrules"
    assert scopes('  title zh "not closed')['"not closed'] == "invalid.illegal.unclosed-string.safetyrules"
