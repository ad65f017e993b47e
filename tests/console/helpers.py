"""Helpers of the console tests: a page's visible text, a tag-balance check, a small town."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from safetyrules.api import bundled_example_path, load_policy

TOKEN = "console-token"
TOWN: list[dict[str, Any]] = [json.loads(line) for line in
                              bundled_example_path().read_text(encoding="utf-8").splitlines() if line.strip()]
RULE_NAMES = sorted((r.name for r in load_policy().rules()), key=len, reverse=True)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def small_town(tmp_path: Path, n: int = 12) -> Path:
    path = tmp_path / "small.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in TOWN[:n]), encoding="utf-8")
    return path


class _Page(HTMLParser):
    """Visible text (not style or script, not attributes) and the open-tag stack, with any mismatch."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.code: list[str] = []
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}> at "
                                 f"{self.getpos()}")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "style" in self.stack or "script" in self.stack:
            return
        (self.code if "code" in self.stack else self.text).append(data)


def parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


def visible(page: str) -> str:
    """The text a person reads (policy expressions shown as code excepted)."""
    return " ".join(parse(page).text)


def check_html(page: str) -> None:
    """The page parses, starts with a doctype and closes every tag it opens, in order."""
    assert page.lstrip().lower().startswith("<!doctype html>")
    parsed = parse(page)
    assert not parsed.problems, parsed.problems[:5]
    assert parsed.stack == [], parsed.stack
    assert parsed.tags[:3] == ["html", "head", "meta"]


def rule_names_in(text: str) -> list[str]:
    import re

    return [name for name in RULE_NAMES if re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", text)]
