"""The policy grammar's LALR parser, built once at release time instead of at every start.

Building the parser from `safetyrules.lark` (Lark's grammar analysis and LALR tables) costs about 190 ms, in
every process that parses a policy: each `safetyrules` command, the language server, every Spark worker. The
built parser is written as plain JSON data next to the grammar (`grammar_tables.json`: Lark's own
serialization of the tables, terminals and rules — no pickle, no code) and read back in about 15 ms. The file
records the SHA-256 of the grammar text and Lark's version: when either differs (the grammar was edited, Lark
was upgraded) the tables are not used and the parser is built from the grammar as before, so a stale file
costs time, never a wrong parse. A test holds the shipped file current; regenerate it with

    .venv/bin/python -m safetyrules.syntax.tables
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import lark
from lark import Lark
from lark.grammar import Rule
from lark.lexer import TerminalDef

GRAMMAR = "safetyrules.lark"
TABLES = "grammar_tables.json"
OPTIONS: dict[str, Any] = {"parser": "lalr", "lexer": "contextual", "propagate_positions": True,
                           "maybe_placeholders": True}
# options that name where the grammar was read from (objects, not data): not part of the tables
_NOT_DATA = ("import_paths", "source_path")


def _grammar_text() -> str:
    return resources.files(__package__).joinpath(GRAMMAR).read_text(encoding="utf-8")


def fingerprint(grammar: str) -> dict[str, str]:
    """What the tables were built from: the grammar text's digest and Lark's version."""
    return {"grammar_sha256": hashlib.sha256(grammar.encode("utf-8")).hexdigest(), "lark": lark.__version__}


def build() -> Lark:
    """The parser built from the grammar (what the tables hold)."""
    return Lark.open_from_package(__package__, GRAMMAR, **OPTIONS)


def tables_data(parser: Lark, grammar: str) -> dict[str, Any]:
    """A built parser as JSON-ready data, with the fingerprint of what it was built from."""
    data, memo = parser.memo_serialize([TerminalDef, Rule])
    data["options"] = {k: v for k, v in data["options"].items() if k not in _NOT_DATA}
    return {"fingerprint": fingerprint(grammar), "data": data, "memo": memo}


def _int_keys(pairs: list[tuple[str, Any]]) -> dict[Any, Any]:
    # JSON keys are text; Lark's memo and parse-table states are keyed by numbers (names are never digits)
    return {int(k) if k.isdigit() else k: v for k, v in pairs}


def load() -> Lark:
    """The parser: from the shipped tables when they were built from this grammar with this Lark, else built."""
    grammar = _grammar_text()
    try:
        text = resources.files(__package__).joinpath(TABLES).read_text(encoding="utf-8")
        shipped = json.loads(text, object_pairs_hook=_int_keys)
    except (OSError, ValueError):
        return build()
    if shipped.get("fingerprint") != fingerprint(grammar):
        return build()
    # `Lark.load` takes the saved form as a dict as well as a pickle file: only the dict is ever given here
    return Lark.load({"data": shipped["data"], "memo": shipped["memo"]})


def write(path: Path | None = None) -> Path:
    """Build the parser and write its tables (by default next to the grammar, in the package)."""
    target = path or Path(__file__).with_name(TABLES)
    text = json.dumps(tables_data(build(), _grammar_text()), ensure_ascii=False, separators=(",", ":"))
    target.write_text(text + "\n", encoding="utf-8")
    return target


if __name__ == "__main__":
    print(f"wrote {write()}")
