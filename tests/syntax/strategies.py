"""Hypothesis strategies for random but well-formed policy ASTs.

"Well-formed" means: a tree that the grammar can express, so that `format_module` must print text that
parses back to the same tree. Names avoid every keyword of the grammar (derived from the grammar file
itself, not from the parser), integer literals are non-negative (a minus sign is a `Unary`), instants have
whole seconds and a fixed offset, and an `IntRange` appears only as the collection of a quantifier or of an
order pick (the grammar's `collection`; `each … in` takes a plain expression, see `test_roundtrip.py`).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from pathlib import Path

from hypothesis import strategies as st

from safetyrules.syntax import ast

GRAMMAR = Path(__file__).resolve().parents[2] / "grammar" / "safetyrules.lark"


def _regex_words(pattern: str) -> set[str]:
    """The words of a terminal like `/(years?|months?)\\b/`: every alternative, with `s?` expanded."""
    inner = re.fullmatch(r"\((.*)\)\\b", pattern)
    assert inner is not None, pattern
    words: set[str] = set()
    for alt in inner.group(1).split("|"):
        if alt.endswith("?"):
            stem = alt[:-2]
            words |= {stem, stem + alt[-2]}
        else:
            words.add(alt)
    return words


def grammar_keywords(text: str | None = None) -> frozenset[str]:
    """Every word that cannot be a name: the grammar's string terminals and the words of its regex
    keyword terminals (QUANT, ORDER, IS_WHAT, UNIT)."""
    text = GRAMMAR.read_text(encoding="utf-8") if text is None else text
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    words = {w for w in re.findall(r'"([^"\s]+)"', text) if w.isidentifier()}
    for term in ("QUANT", "ORDER", "IS_WHAT", "UNIT"):
        m = re.search(rf"^{term}(?:\.\d+)?:\s*/(.*)/\s*$", text, re.MULTILINE)
        assert m is not None, f"terminal {term} not found in the grammar"
        words |= _regex_words(m.group(1))
    return frozenset(words)


KEYWORDS = grammar_keywords()

# Names that look like keywords but are not: they stress the lexer's keyword/name boundary.
_TRICKY = sorted(
    {w for k in KEYWORDS for w in (k + "_", k + "1", "_" + k, k.upper(), k + "x", k[:-1] or "_")}
    - KEYWORDS
)

identifiers = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True),
    st.sampled_from(_TRICKY),
).filter(lambda s: s not in KEYWORDS)

_SPECIAL_TEXT = [
    '"', "\\", "\n", "\t", "\\n", '\\"', "安全生产", "企业", "#", "///", "\r", "\u3000", " ", "'",
]

texts = st.one_of(
    st.text(max_size=12),
    st.lists(st.one_of(st.sampled_from(_SPECIAL_TEXT), st.text(max_size=3)), max_size=6).map("".join),
)

# Doc lines: the parser strips one space after `///` and trailing blanks, so generate stripped lines.
doc_lines = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=15
).map(str.strip)
docs = st.lists(doc_lines, max_size=3).map(tuple)

dates = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))

_offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
instants = st.datetimes(
    min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9998, 12, 31), timezones=_offsets
).map(lambda d: d.replace(microsecond=0))

int_lits = st.builds(ast.IntLit, st.integers(min_value=0, max_value=10**20))
string_lits = st.builds(ast.StringLit, texts)
date_lits = st.builds(ast.DateLit, dates)
instant_lits = st.builds(ast.InstantLit, instants)
duration_lits = st.builds(
    ast.DurationLit, st.integers(min_value=0, max_value=10**6), st.sampled_from(ast.DURATION_UNITS)
)
bool_lits = st.builds(ast.BoolLit, st.booleans())
null_lits = st.builds(ast.NullLit)
names = st.builds(ast.Name, identifiers)
as_ofs = st.builds(ast.AsOf)

leaves = st.one_of(
    int_lits, string_lits, date_lits, instant_lits, duration_lits, bool_lits, null_lits, names, as_ofs
)


def _optional(s: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr | None]:
    return st.one_of(st.none(), s)


@st.composite
def _quantifiers(draw: st.DrawFn, sub: st.SearchStrategy[ast.Expr]) -> ast.Quantifier:
    kind = draw(st.sampled_from(ast.QUANTIFIERS))
    if kind == "find":
        body = None
    elif kind in ("sum", "max", "min"):
        body = draw(sub)
    else:
        body = draw(_optional(sub))
    return ast.Quantifier(kind, draw(identifiers), draw(collections(sub)), draw(_optional(sub)), body)


def collections(sub: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    """What may follow `x in` inside a quantifier or an order pick: an expression or a range."""
    return st.one_of(sub, st.builds(ast.IntRange, sub, sub))


@cache
def exprs(depth: int = 3) -> st.SearchStrategy[ast.Expr]:
    """Expressions of every node kind, at most `depth` composite levels deep."""
    if depth <= 0:
        return leaves
    sub = exprs(depth - 1)
    return st.one_of(
        leaves,
        st.builds(ast.Field, sub, identifiers),
        st.builds(ast.ParamAt, identifiers, sub),
        st.builds(ast.Call, identifiers, st.lists(sub, max_size=3).map(tuple)),
        _quantifiers(sub),
        st.builds(ast.OrderPick, st.sampled_from(ast.ORDER_PICKS), identifiers, collections(sub),
                  _optional(sub), sub),
        st.builds(ast.SetLit, st.lists(sub, max_size=3).map(tuple)),
        st.builds(ast.Unary, st.sampled_from(("not", "-")), sub),
        st.builds(ast.Binary, st.sampled_from(ast.BINARY_OPS), sub, sub),
        st.builds(ast.IsTest, sub, st.sampled_from(("null", "known", "unknown")), st.booleans()),
        st.builds(ast.IfThenElse, sub, sub, sub),
    )


# ------------------------------------------------------------------------------------------ declarations

expressions = exprs(3)
small_expressions = exprs(2)

bilinguals = st.builds(ast.Bilingual, texts, texts)
sources = st.builds(ast.Source, texts, texts)
type_refs = st.builds(ast.TypeRef, identifiers, st.booleans())

policy_items = st.one_of(
    st.builds(ast.Title, bilinguals),
    st.builds(ast.Document, texts),
    st.builds(ast.Period, dates, dates),
    st.builds(ast.Catalogue, st.lists(texts, max_size=8).map(tuple)),
)

param_items = st.one_of(
    st.builds(ast.ParamDefault, small_expressions),
    st.builds(ast.ParamFrom, dates, small_expressions),
    sources,
)

rule_items = st.one_of(
    st.builds(ast.Implements, st.lists(texts, min_size=1, max_size=3).map(tuple)),
    st.builds(ast.Title, bilinguals),
    sources,
    st.builds(ast.SeverityItem, identifiers),
    st.builds(ast.Effective, dates),
    st.builds(ast.Applies, small_expressions),
    st.builds(ast.Unless, identifiers, sources, small_expressions),
    st.builds(ast.Require, small_expressions),
    st.builds(ast.DueContinuous),
    st.builds(ast.DueBy, small_expressions, _optional(small_expressions)),
    st.builds(ast.DueEvery, small_expressions, small_expressions, _optional(small_expressions)),
    st.builds(ast.DueWithin, small_expressions, small_expressions, small_expressions),
    st.builds(ast.DueOn, small_expressions, small_expressions),
    st.builds(ast.Effect, bilinguals),
    st.builds(ast.Remedy, bilinguals),
    st.builds(ast.Each, identifiers, small_expressions, _optional(small_expressions)),
    st.builds(ast.TriggerOn, small_expressions),
    st.builds(ast.Listing, small_expressions),
)

policy_decls = st.builds(
    ast.PolicyDecl, identifiers, st.lists(policy_items, max_size=5).map(tuple), docs
)
param_decls = st.builds(
    ast.ParamDecl, identifiers, type_refs, st.lists(param_items, max_size=4).map(tuple), docs
)
define_decls = st.builds(ast.DefineDecl, identifiers, _optional(type_refs), expressions, docs)
rule_decls = st.builds(
    ast.RuleDecl,
    st.sampled_from(("obligation", "trigger")),
    identifiers,
    st.lists(rule_items, max_size=8).map(tuple),
    docs,
)

declarations = st.one_of(policy_decls, param_decls, define_decls, rule_decls)
modules = st.builds(ast.Module, st.lists(declarations, max_size=5).map(tuple))


def define_module(e: ast.Expr) -> ast.Module:
    """The smallest module that holds one expression: `define x = e`."""
    return ast.Module((ast.DefineDecl("x", None, e),))
