"""Robustness of the front end on bad input.

* `parse` and `compile_sources` never raise and never hang, on arbitrary text and on random mutations
  (characters and tokens deleted, inserted, duplicated, swapped) of a valid policy;
* nesting 10,000 levels deep is refused with one `too-deep` diagnostic (not a RecursionError), fast;
* `#` comments in every position survive `fmt`, which is a fixed point.
"""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from safetyrules.check.pipeline import compile_sources
from safetyrules.diagnostics import Severity, render_all
from safetyrules.syntax import ast
from safetyrules.syntax.formatter import format_module
from safetyrules.syntax.parser import MAX_DEPTH, parse

HERE = Path(__file__).parent
VALID = (HERE / "data" / "valid.policy").read_text(encoding="utf-8")
COMMENTED = (HERE / "data" / "comments.policy").read_text(encoding="utf-8")

FUZZ = settings(max_examples=300, deadline=timedelta(seconds=3),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _never_raises(text: str) -> None:
    """Parse, then parse and check: each returns diagnostics; an error is reported with a real position."""
    result = parse(text, "fuzz.policy")
    assert isinstance(result.module, ast.Module)
    for d in result.diagnostics:
        assert d.span.file == "fuzz.policy"
        assert d.span.line >= 1 and d.span.column >= 1
    compilation = compile_sources({"fuzz.policy": text})
    if not result.ok:
        assert compilation.errors and compilation.policy is None
    rendered = render_all(compilation.diagnostics, compilation.sources)
    for d in compilation.diagnostics:
        assert f"{d.span}: {d.severity}[{d.code}]: " in rendered


def test_the_fuzz_seed_policy_is_valid() -> None:
    compilation = compile_sources({"valid.policy": VALID})
    assert compilation.diagnostics == []
    assert compilation.policy is not None


# ------------------------------------------------------------------------------------------ arbitrary text


@FUZZ
@given(st.text())
@example("")
@example("\n\n\n")
@example('"')
@example("policy")
@example("policy p {")
@example("}}}}")
@example("define x = " + "(" * 50)
@example("define x = 1 " + "+ " * 50)
@example("///")
@example("/// doc without a declaration")
@example("# only a comment")
@example("define x = 1\x00")
@example("define 安全 = 1")
@example("obligation o { due within 1 day after as_of done as_of }")
def test_arbitrary_text_never_raises(text: str) -> None:
    _never_raises(text)


_WORDS = st.sampled_from([
    "policy", "param", "define", "obligation", "trigger", "{", "}", "(", ")", "=", ":", ",", ".", "..",
    "title", "zh", "en", '"x"', "1", "2022-01-01", "1 day", "require", "due", "continuous", "each", "in",
    "any", "where", "by", "latest", "not", "and", "is", "null", "if", "then", "else", "\n", " ", "#c\n",
    "///d\n", "set", "<", ">", "as_of", "at", "x", "violated", "-",
])


@FUZZ
@given(st.lists(_WORDS, max_size=40).map(" ".join))
def test_token_soup_never_raises(text: str) -> None:
    _never_raises(text)


# ------------------------------------------------------------------------------------------ mutations

_TOKEN = re.compile(r'\s+|[A-Za-z0-9_]+|"(?:[^"\\\n]|\\.)*"|.', re.DOTALL)
_INSERTS = ['"', "{", "}", "(", ")", "..", "#", "///", "\n", "2022-02-30", "安", "\t", "at", ":", ">=",
            "not", "in", "\\", "§", "require", "due", "policy", "obligation", "1e3", "-"]


@st.composite
def mutated(draw: st.DrawFn, text: str = VALID) -> str:
    """`text` with a few random edits of characters or of tokens."""
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        by_token = draw(st.booleans())
        parts = _TOKEN.findall(text) if by_token else list(text)
        if not parts:
            parts = [""]
        i = draw(st.integers(min_value=0, max_value=len(parts) - 1))
        op = draw(st.sampled_from(("delete", "insert", "duplicate", "swap")))
        if op == "delete":
            del parts[i]
        elif op == "insert":
            pool = sorted(set(parts)) if by_token else _INSERTS
            extra = st.one_of(st.sampled_from(_INSERTS), st.sampled_from(pool), st.characters())
            parts.insert(i, draw(extra))
        elif op == "duplicate":
            parts.insert(i, parts[i])
        else:
            j = draw(st.integers(min_value=0, max_value=len(parts) - 1))
            parts[i], parts[j] = parts[j], parts[i]
        text = "".join(parts)
    return text


@FUZZ
@given(mutated())
def test_mutated_policy_never_raises(text: str) -> None:
    _never_raises(text)


@settings(max_examples=150, deadline=timedelta(seconds=3), suppress_health_check=[HealthCheck.too_slow])
@given(mutated(COMMENTED))
def test_what_parses_formats_to_a_fixed_point(text: str) -> None:
    # Whatever a mutation leaves parseable must survive fmt: same tree, same comments, fixed point.
    result = parse(text, "m.policy")
    if not result.ok:
        return
    formatted = format_module(result.module)
    again = parse(formatted, "m.policy")
    assert again.ok and again.module == result.module
    assert len(again.module.comments) == len(result.module.comments)
    assert format_module(again.module) == formatted


# ------------------------------------------------------------------------------------------ deep nesting

N = 10_000


def _too_deep_only(text: str) -> None:
    result = parse(text, "deep.policy")
    compilation = compile_sources({"deep.policy": text})
    assert [d.code for d in result.diagnostics] == ["too-deep"]
    (diag,) = result.diagnostics
    assert diag.severity is Severity.ERROR
    assert diag.span.line == 2
    assert f"more than {MAX_DEPTH} levels" in diag.message
    assert "too-deep" in [d.code for d in compilation.errors]
    assert compilation.policy is None
    assert "deep" in result.unparsed_names  # so the checker does not also call `deep` unknown
    assert "unknown-name" not in [d.code for d in compilation.diagnostics]


HEADER = 'policy p { title zh "题" en "t" }\ndefine deep = '
USE = ('\nobligation o {\n  implements "1"\n  title zh "a" en "b"\n  source "s" quote "q"\n  require deep\n'
       "  due continuous\n}\n")


@pytest.mark.parametrize(
    "expr",
    [
        pytest.param("not " * N + "true", id="not"),
        pytest.param("- " * N + "1", id="minus"),
        pytest.param("-" * N + "1", id="minus-no-spaces"),
        pytest.param("{" * N + "1" + "}" * N, id="sets"),
        pytest.param(" + ".join(["1"] * N), id="flat-plus-chain"),
        pytest.param(" and ".join(["true"] * N), id="flat-and-chain"),
        pytest.param("year(" * N + "as_of" + ")" * N, id="calls"),
        pytest.param("if true then " * N + "1" + " else 2" * N, id="if"),
        pytest.param("employee_count" + ".x" * N, id="fields"),
        pytest.param("(" * N + "1 + 1" + ") + 1" * N, id="parens-with-operators"),
    ],
)
def test_ten_thousand_levels_give_one_too_deep_diagnostic(expr: str) -> None:
    # a flat `a + a + … + a` chain is a left-nested tree 10,000 deep too: it is refused like real nesting
    _too_deep_only(HEADER + expr + USE)


def test_ten_thousand_redundant_parentheses_parse() -> None:
    # `(((…)))` adds no node to the tree: the expression is just its inside, and the policy is valid
    text = HEADER + "(" * N + "employee_count > 1" + ")" * N + USE
    compilation = compile_sources({"deep.policy": text})
    assert compilation.diagnostics == []
    (module,) = compilation.modules
    define = module.decls[1]
    assert isinstance(define, ast.DefineDecl)
    assert define.value == ast.Binary(">", ast.Name("employee_count"), ast.IntLit(1))


def _deepest(make: object) -> str:
    """The deepest nesting of `make(n)` that the parser accepts (binary search)."""
    assert callable(make)
    lo, hi = 1, MAX_DEPTH + 10
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if parse("define x = " + make(mid)).ok:
            lo = mid
        else:
            hi = mid - 1
    assert MAX_DEPTH - 10 < lo <= MAX_DEPTH, lo
    return make(lo)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda n: "not " * n + "true", id="not"),
        pytest.param(lambda n: " and ".join(["true"] * n), id="and"),
        pytest.param(lambda n: "year(" * n + "as_of" + ")" * n, id="calls"),
        pytest.param(lambda n: "days_between(as_of, " * n + "as_of" + ")" * n, id="calls-2"),
        pytest.param(lambda n: "".join(f"any(v{i} in hazards: " for i in range(n)) + "true" + ")" * n,
                     id="quantifiers"),
        pytest.param(lambda n: "if true then " * n + "1 > 0" + " else false" * n, id="if"),
        pytest.param(lambda n: "{" * n + "1" + "}" * n, id="sets"),
    ],
)
def test_deepest_accepted_nesting_is_checked_and_formatted(make: object) -> None:
    # just under the limit every later (recursive) stage must cope: check, format, reparse
    text = HEADER + _deepest(make) + USE
    compilation = compile_sources({"deep.policy": text})
    assert "too-deep" not in [d.code for d in compilation.diagnostics]
    (module,) = compilation.modules
    formatted = format_module(module)
    assert parse(formatted).module == module


def _at_stack_depth(frames: int, fn: object) -> object:
    assert callable(fn)
    if frames == 0:
        return fn()
    return _at_stack_depth(frames - 1, fn)


def test_deepest_accepted_nesting_is_checked_from_a_deep_caller() -> None:
    text = HEADER + _deepest(lambda n: "year(" * n + "as_of" + ")" * n) + USE
    # the front end needs no more than Python's default stack, even under a deep caller (evaluation raises
    # the limit when it runs, so an earlier test may have: put the default back for this one)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        _at_stack_depth(250, lambda: compile_sources({"deep.policy": text}))
    finally:
        sys.setrecursionlimit(limit)


@pytest.mark.parametrize("literal", ["1" * 5000, "1" * 5000 + " days"])
def test_huge_integer_literal_is_a_diagnostic(literal: str) -> None:
    result = parse(f"define x = {literal}\n", "big.policy")
    assert not result.ok


# ------------------------------------------------------------------------------------------ comments

_COMMENT_MARK = re.compile(r"# c\d\d")


def test_every_comment_survives_fmt() -> None:
    expected = sorted(_COMMENT_MARK.findall(COMMENTED))
    assert len(expected) == 23
    first = parse(COMMENTED, "c.policy")
    assert first.diagnostics == []
    assert len(first.module.comments) == 23
    assert all(c.text.startswith("#") for c in first.module.comments)
    formatted = format_module(first.module)
    assert sorted(_COMMENT_MARK.findall(formatted)) == expected
    assert formatted.count("#") == COMMENTED.count("#")  # including the `#` inside a string
    again = parse(formatted, "c.policy")
    assert again.diagnostics == [] and again.module == first.module
    assert format_module(again.module) == formatted
    # the comments stay in their declaration and in source order
    assert _COMMENT_MARK.findall(formatted) == _COMMENT_MARK.findall(COMMENTED)


def test_comment_positions_are_kept_where_the_formatter_keeps_lines() -> None:
    formatted = format_module(parse(COMMENTED, "c.policy").module).splitlines()
    assert formatted[0] == "# c01 file header"
    assert '  title zh "三年行动" en "Three-year action"  # c06 after an item' in formatted
    assert "}  # c09 after the closing brace" in formatted
    assert "param high_risk: set<industry> {  # c11 header of a param" in formatted
    assert "define risky = industry in high_risk  # c13 after a define" in formatted
    assert "  # c21 last line inside a block" in formatted
    assert formatted[-1] == "# c23 really the end"


def test_trailing_comment_of_a_multi_line_item_stays_on_its_line() -> None:
    text = ("obligation o {\n  due every 1 year  # period\n    last done as_of  # last\n  require true\n}\n")
    formatted = format_module(parse(text).module)
    assert "  due every 1 year  # period" in formatted.splitlines()


@pytest.mark.xfail(
    strict=True,
    reason="a comment between a `///` doc comment and its declaration's keyword is moved inside the "
    "declaration's block (the declaration's span starts at the doc line)",
)
def test_comment_between_doc_and_declaration_stays_outside_the_block() -> None:
    text = '/// doc\n# note\npolicy p {\n  title zh "a" en "b"\n}\n'
    formatted = format_module(parse(text).module)
    assert formatted.index("# note") < formatted.index("policy p {")


def test_comment_inside_a_define_stays_with_it() -> None:
    text = "define x =  # why\n  1\n\nobligation o {\n  require true\n}\n"
    formatted = format_module(parse(text).module)
    assert "define x = 1  # why" in formatted.splitlines()
