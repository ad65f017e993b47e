"""Source spans and diagnostics shared by every stage (parse, check, load, test).

User mistakes are returned as `Diagnostic` values, never raised; `PolicyError` wraps them for the
callers that prefer an exception (`load_policy`). Codes are stable: tools may match on them.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from safetyrules.errors import SafetyRulesError


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file. Lines and columns are 1-based; columns count characters."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }


NO_SPAN = Span("<generated>", 0, 0, 0, 0)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Related:
    """A second place that one diagnostic points at (the first definition of a duplicate, …)."""

    span: Span
    message: str


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span
    related: tuple[Related, ...] = ()
    suggestion: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "span": self.span.to_json(),
            "related": [{"span": r.span.to_json(), "message": r.message} for r in self.related],
            "suggestion": self.suggestion,
        }


class PolicyError(SafetyRulesError):
    """Raised by the convenience APIs when a policy has errors; carries every diagnostic."""

    def __init__(self, diagnostics: list[Diagnostic], sources: dict[str, str] | None = None) -> None:
        self.diagnostics = diagnostics
        self.sources = sources or {}
        super().__init__(render_all(diagnostics, self.sources) if diagnostics else "policy error")

    def __reduce__(self) -> tuple[Any, ...]:
        return (PolicyError, (self.diagnostics, self.sources))


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    return (d.span.file, d.span.line, d.span.column, d.code)


def display_width(text: str) -> int:
    """Terminal cells taken by `text`: CJK and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _underline(line_text: str, start_col: int, end_col: int) -> str:
    prefix = line_text[: start_col - 1].replace("\t", " ")
    marked = line_text[start_col - 1 : max(end_col - 1, start_col)]
    return " " * display_width(prefix) + "^" * max(1, display_width(marked))


def render(diag: Diagnostic, source: str | None) -> str:
    """`file:line:col: error[code]: message`, the source line and a caret under the span."""
    out = [f"{diag.span}: {diag.severity}[{diag.code}]: {diag.message}"]
    out.extend(_excerpt(diag.span, source))
    for rel in diag.related:
        out.append(f"  {rel.span}: note: {rel.message}")
    if diag.suggestion:
        out.append(f"  help: {diag.suggestion}")
    return "\n".join(out)


def _excerpt(span: Span, source: str | None) -> list[str]:
    if source is None or span.line < 1:
        return []
    lines = source.splitlines()
    if span.line > len(lines):
        return []
    text = lines[span.line - 1].replace("\t", " ")  # one cell per tab, as the caret line counts it
    end_col = span.end_column if span.end_line == span.line else len(text) + 1
    gutter = f"{span.line:>4} | "
    return [gutter + text, " " * (len(gutter) - 2) + "| " + _underline(text, span.column, end_col)]


def render_all(diags: list[Diagnostic], sources: dict[str, str]) -> str:
    return "\n".join(render(d, sources.get(d.span.file)) for d in sorted(diags, key=sort_key))


def render_json(diags: list[Diagnostic]) -> str:
    return json.dumps([d.to_json() for d in sorted(diags, key=sort_key)], ensure_ascii=False, indent=2)


@dataclass(slots=True)
class DiagnosticSink:
    """Collects diagnostics up to a limit so that one run reports every mistake it can."""

    limit: int = 200
    items: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, span: Span, *, related: tuple[Related, ...] = (),
              suggestion: str | None = None) -> None:
        self.add(Diagnostic(code, Severity.ERROR, message, span, related, suggestion))

    def warning(self, code: str, message: str, span: Span, *, suggestion: str | None = None) -> None:
        self.add(Diagnostic(code, Severity.WARNING, message, span, (), suggestion))

    def add(self, diag: Diagnostic) -> None:
        if len(self.items) < self.limit:
            self.items.append(diag)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)
