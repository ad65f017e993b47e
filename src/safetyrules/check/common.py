"""Helpers every checking stage shares: did-you-mean suggestions and "at most once" items."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from safetyrules.diagnostics import DiagnosticSink, Related, Span


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    near = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean `{near[0]}`?" if near else None


def single_items(items: Iterable[object], owner: str, kinds: dict[type, str], sink: DiagnosticSink) -> None:
    """Report each item of a kind that `owner` may hold once (`title`, `default`, `key`, …) given again."""
    seen: dict[str, Span] = {}
    for item in items:
        for cls, word in kinds.items():
            if isinstance(item, cls):
                span: Span = item.span  # type: ignore[attr-defined]
                if word in seen:
                    sink.error("duplicate-item", f"`{owner}` has more than one `{word}`", span,
                               related=(Related(seen[word], "the first one"),))
                else:
                    seen[word] = span
