"""The shipped parser tables (`syntax/grammar_tables.json`) are current and parse exactly as the parser built
from the grammar: every policy file of the repository, its syntax errors and their expected tokens included;
a stale or unreadable file falls back to building the parser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lark import Lark

from safetyrules.syntax import tables
from safetyrules.syntax.parser import _lark

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted({*ROOT.glob("policies/**/*.policy"), *ROOT.glob("examples/**/*.policy"),
                *ROOT.glob("tests/**/*.policy"), *ROOT.glob("benchmarks/*.policy")})


def test_the_shipped_tables_are_current() -> None:
    shipped = json.loads((Path(tables.__file__).with_name(tables.TABLES)).read_text(encoding="utf-8"))
    assert shipped["fingerprint"] == tables.fingerprint(tables._grammar_text()), \
        "regenerate: .venv/bin/python -m safetyrules.syntax.tables"


def test_the_parser_in_use_is_read_from_the_tables() -> None:
    assert _lark().source_path == "<deserialized>"


def _outcome(parser: Lark, text: str) -> Any:
    try:
        return parser.parse(text)
    except Exception as err:  # the error itself is what is compared (its message lists a set: unordered)
        return (type(err).__name__, getattr(err, "line", None), getattr(err, "column", None),
                repr(getattr(err, "token", None)), sorted(getattr(err, "expected", None) or ()))


@pytest.fixture(scope="module")
def built() -> Lark:
    return tables.build()


def test_the_tables_parse_as_the_built_parser(built: Lark) -> None:
    assert len(FILES) > 50
    for path in FILES:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert _outcome(_lark(), text) == _outcome(built, text), path
        broken = text[: len(text) // 2] + " ≥ } requir"  # a syntax error in the middle of a declaration
        assert _outcome(_lark(), broken) == _outcome(built, broken), path


def test_stale_or_broken_tables_fall_back_to_building(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tables, "fingerprint", lambda grammar: {"grammar_sha256": "other", "lark": "0"})
    assert tables.load().source_path != "<deserialized>"
    monkeypatch.setattr(tables, "TABLES", "no-such-file.json")
    assert tables.load().source_path != "<deserialized>"


def test_write_writes_loadable_tables(tmp_path: Path) -> None:
    target = tables.write(tmp_path / "tables.json")
    data = json.loads(target.read_text(encoding="utf-8"), object_pairs_hook=tables._int_keys)
    parser = Lark.load({"data": data["data"], "memo": data["memo"]})
    text = FILES[0].read_text(encoding="utf-8")
    assert parser.parse(text) == _lark().parse(text)
