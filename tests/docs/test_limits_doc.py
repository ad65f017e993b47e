"""docs/limits.md lists every limit with its default and meaning, as `safetyrules.limits.Limits` declares them
(the table is generated from the class: `SAFETYRULES_UPDATE_GOLDEN=1` rewrites it)."""

from __future__ import annotations

import ast
import dataclasses
import os
import re
from pathlib import Path

from safetyrules.limits import DEFAULT, Limits

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "limits.md"
START, END = "<!-- limits-table: generated from safetyrules.limits.Limits -->", "<!-- end limits-table -->"


def limits_table() -> str:
    """One row per limit: name, default, meaning (the attribute's docstring, on one line)."""
    tree = ast.parse((ROOT / "src" / "safetyrules" / "limits.py").read_text(encoding="utf-8"))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Limits"]
    docs: dict[str, str] = {}
    for field, after in zip(cls.body, cls.body[1:], strict=False):
        if isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name) and isinstance(after, ast.Expr):
            docs[field.target.id] = " ".join(str(after.value.value).split()).replace("``", "`")  # type: ignore[attr-defined]
    rows = ["| limit | default | what it bounds |", "|---|---|---|"]
    for f in dataclasses.fields(Limits):
        value = getattr(DEFAULT, f.name)
        shown = f"{value:,}" if isinstance(value, int) else str(value)
        rows.append(f"| `{f.name}` | {shown} | {docs[f.name]} |")
    return "\n".join(rows)


def test_limits_doc_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = f"{START}\n{limits_table()}\n{END}"
    if os.environ.get("SAFETYRULES_UPDATE_GOLDEN") == "1":
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
        DOC.write_text(text, encoding="utf-8")
    assert block in text


def test_every_limit_is_documented_in_the_class() -> None:
    table = limits_table()
    assert all(f"`{f.name}`" in table for f in dataclasses.fields(Limits))
