"""Policy text → AST, with every syntax mistake of a file reported as a positioned diagnostic.

`parse` never raises for bad input: it returns the module (possibly partial) and the diagnostics. When the
whole file does not parse, each top-level declaration is parsed on its own so that one run reports the
mistakes of every declaration, not only the first.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from safetyrules.diagnostics import Diagnostic, DiagnosticSink, Span
from safetyrules.syntax import ast, tables

UNPARSED_HEADER = "<policy header>"  # marks that a `policy` header was written but did not parse
MAX_DEPTH = 120  # nesting deeper than this is refused before any recursive stage sees it


@cache
def _lark() -> Lark:
    # the LALR parser of grammar/safetyrules.lark, its tables read from the package when current (tables.py)
    return tables.load()


@dataclass(frozen=True, slots=True)
class ParseResult:
    module: ast.Module
    diagnostics: list[Diagnostic]
    # names declared by declarations that failed to parse: the checker does not report them as unknown
    unparsed_names: frozenset[str] = frozenset()

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def parse(text: str, file: str = "<string>") -> ParseResult:
    """Parse one policy file."""
    sink = DiagnosticSink()
    comments: list[ast.Comment] = []
    decls = _parse_chunk(text, file, sink, comments)
    if decls is not None:
        return ParseResult(ast.Module(tuple(decls), file, tuple(comments)), sink.items)
    # The file as a whole did not parse: parse each top-level declaration alone to find every mistake.
    sink = DiagnosticSink()
    comments = []
    all_decls: list[ast.Decl] = []
    unparsed: set[str] = set()
    for start, end in _chunks(text):
        padded = _blank(text[:start]) + text[start:end]
        chunk_decls = _parse_chunk(padded, file, sink, comments)
        if chunk_decls is None:
            for m in _DECL_NAME.finditer(text[start:end]):
                unparsed.add(m.group(2))
                if m.group(1) == "policy":
                    unparsed.add(UNPARSED_HEADER)
        else:
            all_decls.extend(chunk_decls)
    return ParseResult(ast.Module(tuple(all_decls), file, tuple(comments)), sink.items, frozenset(unparsed))


_DECL_START = re.compile(
    r"^(?:///|policy\b|param\b|define\b|obligation\b|trigger\b|candidate\b|enum\b|record\b|subject\b)",
    re.MULTILINE,
)
_DECL_NAME = re.compile(
    r"^(param|define|obligation|trigger|candidate|policy|enum|record|subject)\s+([A-Za-z_][A-Za-z0-9_]*)",
    re.MULTILINE,
)


def _chunks(text: str) -> list[tuple[int, int]]:
    """Top-level declarations by their first line (doc comments stay with the declaration below)."""
    starts = []
    previous_doc = False
    for m in _DECL_START.finditer(text):
        is_doc = m.group(0) == "///"
        if not previous_doc:
            starts.append(m.start())
        previous_doc = is_doc
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    bounds = [*starts, len(text)]
    return [(bounds[i], bounds[i + 1]) for i in range(len(starts)) if bounds[i] < bounds[i + 1]]


def _blank(prefix: str) -> str:
    """Keep lines and columns of a chunk by replacing what precedes it with blanks."""
    return re.sub(r"[^\n]", " ", prefix)


def _parse_chunk(
    text: str, file: str, sink: DiagnosticSink, comments: list[ast.Comment]
) -> list[ast.Decl] | None:
    found: list[Token] = []
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as err:
        sink.add(_syntax_diagnostic(err, text, file))
        return None
    except LarkError as err:  # any other parser failure is still reported, never raised
        sink.error("syntax", f"cannot parse: {err}", Span(file, 1, 1, 1, 2))
        return None
    deep = _too_deep(tree)
    if deep is not None:
        sink.error(
            "too-deep",
            f"expression nested (or chained) more than {MAX_DEPTH} levels deep; split it into `define`s",
            _span_of(deep, file),
        )
        return None
    for tok in _comment_tokens(text):
        found.append(tok)
    comments.extend(ast.Comment(t.line or 0, t.column or 0, str(t)) for t in found)
    builder = _Builder(file, sink)
    try:
        start = builder.transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, _BadLiteral):
            sink.error("bad-literal", err.orig_exc.message, err.orig_exc.span)
        else:  # never let an internal failure escape as a crash: report it where the file starts
            sink.error("syntax", f"cannot read this file: {err.orig_exc}", Span(file, 1, 1, 1, 2))
        return None
    assert isinstance(start, list)
    return start


_COMMENT = re.compile(r'#[^\n]*|"(?:[^"\\\n]|\\.)*"|///[^\n]*')


def _comment_tokens(text: str) -> list[Token]:
    """`#` comments with positions (string literals are skipped so that `"#"` is not a comment)."""
    out: list[Token] = []
    line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    import bisect

    for m in _COMMENT.finditer(text):
        if not m.group(0).startswith("#"):
            continue
        line = bisect.bisect_right(line_starts, m.start())
        col = m.start() - line_starts[line - 1] + 1
        out.append(Token("COMMENT", m.group(0).rstrip(), line=line, column=col))
    return out


def _too_deep(tree: Tree[Token]) -> Tree[Token] | None:
    stack: list[tuple[Tree[Token], int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return node
        for child in node.children:
            if isinstance(child, Tree):
                stack.append((child, depth + 1))
    return None


def _span_of(node: Tree[Token], file: str) -> Span:
    m = node.meta
    if getattr(m, "empty", True):
        return Span(file, 1, 1, 1, 2)
    return Span(file, m.line, m.column, m.end_line, m.end_column)


# ------------------------------------------------------------------------------------------ error messages

_TERMINAL_WORDS = {
    "NAME": "a name",
    "FIELD": "a field name",
    "STRING": 'a string ("…")',
    "DATE": "a date (YYYY-MM-DD)",
    "INSTANT": "an instant (YYYY-MM-DDThh:mm+08:00)",
    "INT": "a number",
    "UNIT": "a unit (year, month, week, day, hour, minute)",
    "QUANT": "a quantifier (any, all, count, sum, max, min, find)",
    "ORDER": "`latest` or `earliest`",
    "IS_WHAT": "`null`, `known` or `unknown`",
    "DOC_LINE": "a `///` doc comment",
    "$END": "the end of the file",
}

# The words of the terminals written as regular expressions (a misspelt one gets a did-you-mean like a keyword).
_TERMINAL_KEYWORDS = {
    "QUANT": ("any", "all", "count", "sum", "max", "min", "find"),
    "ORDER": ("latest", "earliest"),
    "IS_WHAT": ("null", "known", "unknown"),
    "RECORD_KIND": ("record", "subject"),
}
UNITS = ("year", "month", "week", "day", "hour", "minute")
_UNIT_WORDS = tuple(w for u in UNITS for w in (u, u + "s"))


@cache
def _terminal_patterns() -> dict[str, str]:
    out: dict[str, str] = {}
    for term in _lark().terminals:
        if term.pattern.type == "str":
            out[term.name] = f"`{term.pattern.value}`"
    return out


def _describe(terminal: str) -> str:
    if terminal in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[terminal]
    return _terminal_patterns().get(terminal, terminal.lower())


_CLOSERS = ("`}`", "`)`", "`,`", "`:`")


def _expected_words(expected: set[str]) -> str:
    spelled = {t for t in expected if t in _TERMINAL_KEYWORDS and t != "QUANT"}  # a few words: each listed
    described = {_describe(t) for t in expected - spelled} | {f"`{w}`" for t in spelled for w in _TERMINAL_KEYWORDS[t]}
    words = sorted(described,
                   key=lambda w: (w not in _CLOSERS, not w.startswith("`"), w))
    if len(words) == 1:
        return words[0]
    if len(words) == 2:
        return f"{words[0]} or {words[1]}"
    if len(words) <= 10:
        return "one of " + ", ".join(words[:-1]) + " or " + words[-1]
    return "one of " + ", ".join(words[:10]) + f" and {len(words) - 10} more"


def _keywords(expected: set[str]) -> list[str]:
    pats = _terminal_patterns()
    words = [pats[t].strip("`") for t in expected if t in pats and pats[t].strip("`").isidentifier()]
    return words + [w for t in sorted(expected) for w in _TERMINAL_KEYWORDS.get(t, ())]


DEPRECATED_KEYWORDS = frozenset({"met"})
"""Words the parser still reads, with a warning, that no longer belong to the language (docs/language.md,
"Deprecated forms"): not offered by completion."""


@cache
def all_keywords() -> frozenset[str]:
    """Every word the grammar reserves or recognises: keywords, quantifiers, `is` tests, record kinds."""
    words = {v.strip("`") for v in _terminal_patterns().values() if v.strip("`").isidentifier()}
    return frozenset(words | {w for ws in _TERMINAL_KEYWORDS.values() for w in ws})


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _split_word(err: UnexpectedToken, text: str, file: str) -> tuple[str, str, Span] | None:
    """A word the contextual lexer split after a keyword it starts with (`requires` read as `require` and `s`,
    `inn` as `in` and `n`): the whole word, the keyword and the word's span; None when no token was split."""
    history = getattr(err, "token_history", None) or []
    for tok in (err.token, *history[-1:]):
        start = getattr(tok, "start_pos", None)
        if not isinstance(start, int) or not 0 < start <= len(text):
            continue
        if not (text[start - 1].isalnum() or text[start - 1] == "_"):  # the token starts a word: not split
            continue
        begin = start
        while begin > 0 and (text[begin - 1].isalnum() or text[begin - 1] == "_"):
            begin -= 1
        m = _WORD.match(text, begin)
        keyword = text[begin:start]
        if m is None or keyword not in all_keywords():
            continue
        line = text.count("\n", 0, begin) + 1
        col = begin - (text.rfind("\n", 0, begin) + 1) + 1
        return m.group(0), keyword, Span(file, line, col, line, col + len(m.group(0)))
    return None


def _misspelt_quantifier(err: UnexpectedToken) -> tuple[Token, str] | None:
    """`ani(h in hazards: h.major)` reads as a call until the `:`: the name of the call being read (its token)
    and the quantifier it is close to (`any`); None when it is close to none."""
    stack = getattr(getattr(getattr(err, "interactive_parser", None), "parser_state", None), "value_stack", None)
    if not stack or str(err.token) not in (":", "where", "by"):
        return None
    tokens = [t for t in stack if isinstance(t, Token)]  # what the parser has read of the innermost forms
    for before, paren in zip(tokens[-2::-1], tokens[::-1], strict=False):
        if paren.type != "LPAR":
            continue
        if before.type != "NAME":  # the innermost open parenthesis is not a call's
            return None
        near = difflib.get_close_matches(str(before), [*_TERMINAL_KEYWORDS["QUANT"], *_TERMINAL_KEYWORDS["ORDER"]],
                                         n=1, cutoff=0.6)
        return (before, near[0]) if near else None
    return None


def _syntax_diagnostic(err: UnexpectedInput, text: str, file: str) -> Diagnostic:
    line = max(getattr(err, "line", 1) or 1, 1)
    col = max(getattr(err, "column", 1) or 1, 1)
    suggestion = None
    if isinstance(err, UnexpectedToken) and err.token.type == "$END":
        message = f"unexpected end of file; expected {_expected_words(set(err.expected))}"
        if "RBRACE" in err.expected:
            message = "unexpected end of file: a `{` block is not closed (a `}` is missing)"
        line, col = _end_position(text)
        span = Span(file, line, col, line, col + 1)
    elif isinstance(err, UnexpectedToken):
        tok = err.token
        shown = str(tok) if tok.type != "DOC_LINE" else "///"
        message = f"unexpected `{shown}`; expected {_expected_words(set(err.expected))}"
        end_col = col + len(str(tok)) if "\n" not in str(tok) else col + 1
        span = Span(file, line, col, line, end_col)
        near = difflib.get_close_matches(str(tok), _keywords(set(err.expected)), n=1, cutoff=0.7)
        split = _split_word(err, text, file)
        call = _misspelt_quantifier(err)
        if "UNIT" in err.expected and _WORD.fullmatch(str(tok)):
            # after a number: a duration's unit was meant (`1 yeer`)
            unit = difflib.get_close_matches(str(tok), _UNIT_WORDS, n=1, cutoff=0.6)
            if unit:
                message = (f"unknown duration unit `{tok}`; a duration is a whole number and a unit: "
                           + ", ".join(UNITS) + " (plural or not)")
                near = unit
        if split is not None and split[0] not in all_keywords():
            word, keyword, span = split
            near = difflib.get_close_matches(word, list(all_keywords()), n=1, cutoff=0.7) or [keyword]
            message = f"unexpected `{word}` (read as `{keyword}` followed by `{word[len(keyword):]}`); " \
                      f"`{word}` is not a keyword"
        elif call is not None:  # the mistake is the name: point at it
            name, quantifier = call
            message = (f"`{name}` is not a quantifier: `{name}(…)` is read as a function call, which cannot "
                       f"have `{shown}`")
            at_line, at_col = name.line or line, name.column or col
            span = Span(file, at_line, at_col, at_line, at_col + len(str(name)))
            near = [quantifier]
        if near:
            suggestion = f"did you mean `{near[0]}`?"
    elif isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream if err.pos_in_stream is not None else -1
        ch = text[pos] if 0 <= pos < len(text) else "?"
        message = "a string is not closed (`\"` missing)" if ch == '"' else f"unexpected character `{ch}`"
        if ch in "≥≤≠＝":
            message += f"; write {dict(zip('≥≤≠＝', ('>=', '<=', '!=', '=='), strict=True))[ch]}"
        if err.allowed:
            message += f"; expected {_expected_words(set(err.allowed))}"
        span = Span(file, line, col, line, col + 1)
    elif isinstance(err, UnexpectedEOF):
        line, col = _end_position(text)
        message = f"unexpected end of file; expected {_expected_words(set(err.expected))}"
        span = Span(file, line, col, line, col + 1)
    else:  # pragma: no cover - lark has no other UnexpectedInput kinds today
        message = f"syntax error: {err}"
        span = Span(file, line, col, line, col + 1)
    return Diagnostic("syntax", _error(), message, span, (), suggestion)


def _error() -> Any:
    from safetyrules.diagnostics import Severity

    return Severity.ERROR


def _end_position(text: str) -> tuple[int, int]:
    stripped = text.rstrip()
    line = stripped.count("\n") + 1
    col = len(stripped) - (stripped.rfind("\n") + 1) + 1
    return line, col


# ------------------------------------------------------------------------------------------ tree → AST


class _BadLiteral(Exception):
    def __init__(self, message: str, span: Span) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


def _unquote(tok: Token) -> str:
    body = str(tok)[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


_UNIT = {"years": "year", "months": "month", "weeks": "week", "days": "day", "hours": "hour",
         "minutes": "minute"}


@v_args(meta=True, inline=True)
class _Builder(Transformer[Token, Any]):
    def __init__(self, file: str, sink: DiagnosticSink) -> None:
        super().__init__()
        self.file = file
        self.sink = sink

    # helpers ---------------------------------------------------------------------------
    def _span(self, meta: Any) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.file, 1, 1, 1, 1)
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok(self, tok: Token) -> Span:
        return Span(self.file, tok.line or 1, tok.column or 1, tok.end_line or 1, tok.end_column or 1)

    def _deprecated(self, code: str, zh: str, en: str, instead: str, span: Span) -> None:
        """A form of an earlier revision of the language: still read, with a warning saying what to write."""
        self.sink.warning(code, f"{zh} / {en}", span,
                          suggestion=f"{instead} (`safetyrules fmt` rewrites it)")

    def _date(self, tok: Token) -> dt.date:
        try:
            return dt.date.fromisoformat(str(tok))
        except ValueError:
            raise _BadLiteral(f"`{tok}` is not a calendar date", self._tok(tok)) from None

    # top level -------------------------------------------------------------------------
    def start(self, meta: Any, *decls: ast.Decl) -> list[ast.Decl]:
        return list(decls)

    def doc(self, meta: Any, *lines: Token) -> tuple[str, ...]:
        return tuple(re.sub(r"^/// ?", "", str(t)).rstrip() for t in lines)

    def policy_decl(self, meta: Any, doc: Any, name: Token, *items: Any) -> ast.PolicyDecl:
        return ast.PolicyDecl(str(name), tuple(items), doc or (), self._span(meta), self._tok(name))

    def title(self, meta: Any, zh: str, en: str) -> ast.Title:
        return ast.Title(ast.Bilingual(zh, en), self._span(meta))

    def text(self, meta: Any, *parts: str) -> str:
        """A text written as one string or several one after the other (joined as they are)."""
        return "".join(_unquote(p) if isinstance(p, Token) else p for p in parts)

    zh_text = text
    quote_text = text

    def document(self, meta: Any, name: Token) -> ast.Document:
        return ast.Document(_unquote(name), self._span(meta))

    def period(self, meta: Any, start: Token, end: Token) -> ast.Period:
        return ast.Period(self._date(start), self._date(end), self._span(meta))

    def string_list(self, meta: Any, *items: Token | None) -> tuple[str, ...]:
        return tuple(_unquote(t) for t in items if t is not None)

    def catalogue(self, meta: Any, ids: tuple[str, ...]) -> ast.Catalogue:
        return ast.Catalogue(ids, self._span(meta))

    def param_decl(self, meta: Any, doc: Any, name: Token, typ: ast.TypeRef, *items: Any) -> ast.ParamDecl:
        return ast.ParamDecl(str(name), typ, tuple(items), doc or (), self._span(meta), self._tok(name))

    def param_default(self, meta: Any, value: ast.Expr) -> ast.ParamDefault:
        return ast.ParamDefault(value, self._span(meta))

    def param_from(self, meta: Any, start: Token, value: ast.Expr) -> ast.ParamFrom:
        return ast.ParamFrom(self._date(start), value, self._span(meta))

    def define_decl(self, meta: Any, doc: Any, name: Token, typ: ast.TypeRef | None,
                    value: ast.Expr) -> ast.DefineDecl:
        return ast.DefineDecl(str(name), typ, value, doc or (), self._span(meta), self._tok(name))

    def simple_type(self, meta: Any, name: Token) -> ast.TypeRef:
        return ast.TypeRef(str(name), False, self._span(meta))

    def set_type(self, meta: Any, name: Token) -> ast.TypeRef:
        return ast.TypeRef(str(name), True, self._span(meta))

    def obligation_decl(self, meta: Any, doc: Any, name: Token, *items: Any) -> ast.RuleDecl:
        return ast.RuleDecl("obligation", str(name), tuple(items), doc or (), self._span(meta), self._tok(name))

    def trigger_decl(self, meta: Any, doc: Any, name: Token, *items: Any) -> ast.RuleDecl:
        return ast.RuleDecl("trigger", str(name), tuple(items), doc or (), self._span(meta), self._tok(name))

    def candidate_decl(self, meta: Any, doc: Any, name: Token, *items: Any) -> ast.RuleDecl:
        return ast.RuleDecl("candidate", str(name), tuple(items), doc or (), self._span(meta), self._tok(name))

    # the fact schema -------------------------------------------------------------------
    def enum_decl(self, meta: Any, doc: Any, name: Token, *items: Any) -> ast.EnumDecl:
        return ast.EnumDecl(str(name), tuple(items), doc or (), self._span(meta), self._tok(name))

    def enum_code(self, meta: Any, code: Token, zh: Token, en: Token) -> ast.EnumCode:
        return ast.EnumCode(str(code), ast.Bilingual(_unquote(zh), _unquote(en)), self._span(meta))

    def label(self, meta: Any, zh: Token, en: Token) -> ast.Label:
        return ast.Label(ast.Bilingual(_unquote(zh), _unquote(en)), self._span(meta))

    def record_decl(self, meta: Any, doc: Any, kind: Token, name: Token, *items: Any) -> ast.RecordDecl:
        return ast.RecordDecl(str(kind), str(name), tuple(items), doc or (), self._span(meta), self._tok(name))

    def record_key(self, meta: Any, name: Token) -> ast.RecordKey:
        return ast.RecordKey(str(name), self._span(meta))

    def record_timezone(self, meta: Any, offset: Token) -> ast.RecordTimezone:
        return ast.RecordTimezone(_unquote(offset), self._span(meta))

    def record_dated(self, meta: Any, name: Token) -> ast.RecordDated:
        return ast.RecordDated(str(name), self._span(meta))

    def field_decl(self, meta: Any, doc: Any, name: Token, typ: ast.FieldType, *options: Any) -> ast.FieldDecl:
        return ast.FieldDecl(str(name), typ, tuple(options), doc or (), self._span(meta), self._tok(name))

    def field_simple(self, meta: Any, name: Token) -> ast.FieldType:
        return ast.FieldType("simple", str(name), self._span(meta))

    def field_list(self, meta: Any, name: Token) -> ast.FieldType:
        return ast.FieldType("list", str(name), self._span(meta))

    def field_set(self, meta: Any, name: Token) -> ast.FieldType:
        return ast.FieldType("set", str(name), self._span(meta))

    def field_kept(self, meta: Any) -> ast.FieldKept:
        return ast.FieldKept(self._span(meta))

    def field_dated(self, meta: Any) -> ast.FieldDated:
        return ast.FieldDated(self._span(meta))

    def field_min(self, meta: Any, value: Token) -> ast.FieldMin:
        return ast.FieldMin(int(str(value)), self._span(meta))

    def field_max(self, meta: Any, value: Token) -> ast.FieldMax:
        return ast.FieldMax(int(str(value)), self._span(meta))

    def field_not_before(self, meta: Any, other: Token) -> ast.FieldNotBefore:
        return ast.FieldNotBefore(str(other), self._span(meta))

    # rule items ------------------------------------------------------------------------
    def implements(self, meta: Any, *ids: Token) -> ast.Implements:
        return ast.Implements(tuple(_unquote(t) for t in ids), self._span(meta))

    def source(self, meta: Any, section: Token, quote: str) -> ast.Source:
        return ast.Source(_unquote(section), quote, self._span(meta))

    def source_legacy(self, meta: Any, section: Token, quote: Token) -> ast.Source:
        self._deprecated("deprecated-source", "已弃用未标明的引文：在引文前写 `quote`",
                         "deprecated unlabelled quote: write `quote` before the quoted text",
                         'write `source "…" quote "…"`', self._tok(quote))
        return ast.Source(_unquote(section), _unquote(quote), self._span(meta))

    def severity(self, meta: Any, level: Token) -> ast.SeverityItem:
        return ast.SeverityItem(str(level), self._span(meta))

    def effective(self, meta: Any, start: Token) -> ast.Effective:
        return ast.Effective(self._date(start), self._span(meta))

    def applies(self, meta: Any, cond: ast.Expr) -> ast.Applies:
        return ast.Applies(cond, self._span(meta))

    def exception(self, meta: Any, name: Token, source: ast.Source, when: ast.Expr) -> ast.Unless:
        return ast.Unless(str(name), source, when, self._span(meta))

    def require(self, meta: Any, cond: ast.Expr) -> ast.Require:
        return ast.Require(cond, self._span(meta))

    def due_continuous(self, meta: Any) -> ast.DueContinuous:
        return ast.DueContinuous(self._span(meta))

    def due_by(self, meta: Any, deadline: ast.Expr, met: ast.Expr | None, grace: ast.Name | None) -> ast.DueBy:
        return ast.DueBy(deadline, met, self._span(meta), grace)

    def due_by_met(self, meta: Any, deadline: ast.Expr, word: Token, met: ast.Expr,
                   grace: ast.Name | None) -> ast.DueBy:
        self._deprecated("deprecated-met", "已弃用 `met`：行为完成的日期一律写 `done`",
                         "deprecated `met`: the date of the act is always `done`", "write `due by … done …`",
                         self._tok(word))
        return ast.DueBy(deadline, met, self._span(meta), grace)

    def due_every(self, meta: Any, period: ast.Expr, anchor: ast.Name | None, last: ast.Expr,
                  first: ast.Expr | None) -> ast.DueEvery:
        return ast.DueEvery(period, last, first, self._span(meta), anchor)

    def last_done(self, meta: Any, last: ast.Expr) -> ast.Expr:
        return last

    def last_legacy(self, meta: Any, word: Token, last: ast.Expr) -> ast.Expr:
        self._deprecated("deprecated-every", "已弃用单独的 `last`：写 `last done`（最近一次行为的日期）",
                         "deprecated bare `last`: write `last done` (the date of the latest act)",
                         "write `last done …`", self._tok(word))
        return last

    def first_due(self, meta: Any, first: ast.Expr) -> ast.Expr:
        return first

    def first_legacy(self, meta: Any, word: Token, first: ast.Expr) -> ast.Expr:
        self._deprecated("deprecated-every", "已弃用单独的 `first`：写 `first due`（首次到期日）",
                         "deprecated bare `first`: write `first due` (the first due date)",
                         "write `first due …`", self._tok(word))
        return first

    def due_within(self, meta: Any, window: ast.Expr, after: ast.Expr, done: ast.Expr,
                   late: ast.Name | None) -> ast.DueWithin:
        return ast.DueWithin(window, after, done, self._span(meta), late)

    def due_on(self, meta: Any, deadline: ast.Expr, done: ast.Expr, late: ast.Name | None) -> ast.DueOn:
        return ast.DueOn(deadline, done, self._span(meta), late)

    def grace(self, meta: Any, name: Token) -> ast.Name:
        return ast.Name(str(name), self._tok(name))

    def anchor(self, meta: Any, name: Token) -> ast.Name:
        return ast.Name(str(name), self._tok(name))

    def late_for(self, meta: Any, name: Token) -> ast.Name:
        return ast.Name(str(name), self._tok(name))

    def candidate_when(self, meta: Any, cond: ast.Expr) -> ast.When:
        return ast.When(cond, self._span(meta))

    def effect(self, meta: Any, zh: Token, en: Token) -> ast.Effect:
        return ast.Effect(ast.Bilingual(_unquote(zh), _unquote(en)), self._span(meta))

    def remedy(self, meta: Any, zh: Token, en: Token) -> ast.Remedy:
        return ast.Remedy(ast.Bilingual(_unquote(zh), _unquote(en)), self._span(meta))

    def each(self, meta: Any, var: Token, coll: ast.Expr, where: ast.Expr | None) -> ast.Each:
        return ast.Each(str(var), coll, where, self._span(meta))

    def trigger_on(self, meta: Any, date: ast.Expr) -> ast.TriggerOn:
        return ast.TriggerOn(date, self._span(meta))

    def listing(self, meta: Any, duration: ast.Expr) -> ast.Listing:
        return ast.Listing(duration, self._span(meta))

    # expressions -----------------------------------------------------------------------
    def if_then_else(self, meta: Any, c: ast.Expr, t: ast.Expr, e: ast.Expr) -> ast.IfThenElse:
        return ast.IfThenElse(c, t, e, self._span(meta))

    def _bin(self, op: str, meta: Any, left: ast.Expr, right: ast.Expr) -> ast.Binary:
        return ast.Binary(op, left, right, self._span(meta))

    def implies_op(self, meta: Any, a: ast.Expr, b: ast.Expr) -> ast.Binary:
        return self._bin("implies", meta, a, b)

    def or_op(self, meta: Any, a: ast.Expr, b: ast.Expr) -> ast.Binary:
        return self._bin("or", meta, a, b)

    def and_op(self, meta: Any, a: ast.Expr, b: ast.Expr) -> ast.Binary:
        return self._bin("and", meta, a, b)

    def not_op(self, meta: Any, a: ast.Expr) -> ast.Unary:
        return ast.Unary("not", a, self._span(meta))

    def comp_op(self, meta: Any, tok: Token) -> str:
        return str(tok)

    def compare(self, meta: Any, a: ast.Expr, op: str, b: ast.Expr) -> ast.Binary:
        return self._bin(op, meta, a, b)

    def member(self, meta: Any, a: ast.Expr, b: ast.Expr) -> ast.Binary:
        return self._bin("in", meta, a, b)

    def not_member(self, meta: Any, a: ast.Expr, b: ast.Expr) -> ast.Binary:
        return self._bin("not in", meta, a, b)

    def is_test(self, meta: Any, a: ast.Expr, what: Token) -> ast.IsTest:
        return ast.IsTest(a, str(what), False, self._span(meta))

    def is_not_test(self, meta: Any, a: ast.Expr, what: Token) -> ast.IsTest:
        return ast.IsTest(a, str(what), True, self._span(meta))

    def add(self, meta: Any, a: ast.Expr, b: ast.Expr) -> ast.Binary:
        return self._bin("+", meta, a, b)

    def sub(self, meta: Any, a: ast.Expr, b: ast.Expr) -> ast.Binary:
        return self._bin("-", meta, a, b)

    def mul(self, meta: Any, a: ast.Expr, b: ast.Expr) -> ast.Binary:
        return self._bin("*", meta, a, b)

    def neg(self, meta: Any, a: ast.Expr) -> ast.Unary:
        return ast.Unary("-", a, self._span(meta))

    def field(self, meta: Any, target: ast.Expr, name: Token) -> ast.Field:  # FIELD token
        return ast.Field(target, str(name), self._span(meta))

    def param_at(self, meta: Any, name: Token, at: ast.Expr) -> ast.ParamAt:
        return ast.ParamAt(str(name), at, self._span(meta))

    def name(self, meta: Any, tok: Token) -> ast.Name:
        return ast.Name(str(tok), self._tok(tok))

    def as_of(self, meta: Any) -> ast.AsOf:
        return ast.AsOf(self._span(meta))

    def call(self, meta: Any, func: Token, *args: ast.Expr | None) -> ast.Call:
        return ast.Call(str(func), tuple(a for a in args if a is not None), self._span(meta))

    def quantifier(self, meta: Any, kind: Token, var: Token, coll: ast.Expr, where: ast.Expr | None,
                   body: ast.Expr | None) -> ast.Quantifier:
        return ast.Quantifier(str(kind), str(var), coll, where, body, self._span(meta))

    def order_pick(self, meta: Any, kind: Token, var: Token, coll: ast.Expr, where: ast.Expr | None,
                   key: ast.Expr) -> ast.OrderPick:
        return ast.OrderPick(str(kind), str(var), coll, where, key, self._span(meta))

    def int_range(self, meta: Any, low: ast.Expr, high: ast.Expr) -> ast.IntRange:
        return ast.IntRange(low, high, self._span(meta))

    def set_literal(self, meta: Any, *items: ast.Expr | None) -> ast.SetLit:
        return ast.SetLit(tuple(i for i in items if i is not None), self._span(meta))

    def _int(self, tok: Token) -> int:
        if len(str(tok)) > 30:  # far beyond any count, amount or year a policy needs
            raise _BadLiteral(f"the number `{str(tok)[:12]}…` is too large (at most 30 digits)", self._tok(tok))
        return int(str(tok))

    def int_lit(self, meta: Any, tok: Token) -> ast.IntLit:
        return ast.IntLit(self._int(tok), self._tok(tok))

    def string_lit(self, meta: Any, tok: Token) -> ast.StringLit:
        return ast.StringLit(_unquote(tok), self._tok(tok))

    def date_lit(self, meta: Any, tok: Token) -> ast.DateLit:
        return ast.DateLit(self._date(tok), self._tok(tok))

    def instant_lit(self, meta: Any, tok: Token) -> ast.InstantLit:
        text = str(tok).replace("Z", "+00:00")
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise _BadLiteral(f"`{tok}` is not a valid instant", self._tok(tok)) from None
        return ast.InstantLit(value, self._tok(tok))

    def duration_lit(self, meta: Any, amount: Token, unit: Token) -> ast.DurationLit:
        u = str(unit)
        return ast.DurationLit(self._int(amount), _UNIT.get(u, u), self._span(meta))

    def true_lit(self, meta: Any) -> ast.BoolLit:
        return ast.BoolLit(True, self._span(meta))

    def false_lit(self, meta: Any) -> ast.BoolLit:
        return ast.BoolLit(False, self._span(meta))

    def null_lit(self, meta: Any) -> ast.NullLit:
        return ast.NullLit(self._span(meta))
