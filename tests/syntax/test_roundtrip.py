"""format → parse round trip on generated trees: `parse(format_module(m)).module == m`, and `fmt` is a fixed
point of its own output. Trees come from `strategies.py` (every expression kind, every declaration and item
kind, doc comments, hostile strings)."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from safetyrules.syntax import ast
from safetyrules.syntax.formatter import format_expr, format_module
from safetyrules.syntax.parser import parse

from .strategies import KEYWORDS, define_module, exprs, grammar_keywords, modules

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _reparse(text: str) -> ast.Module:
    result = parse(text, "generated.policy")
    assert result.diagnostics == [], f"formatted text does not parse:\n{text}\n{result.diagnostics}"
    return result.module


@SETTINGS
@given(modules)
def test_module_round_trip(module: ast.Module) -> None:
    text = format_module(module)
    assert _reparse(text) == module, text


@SETTINGS
@given(modules)
def test_format_is_idempotent(module: ast.Module) -> None:
    text = format_module(module)
    again = format_module(_reparse(text))
    assert again == text


@SETTINGS
@given(exprs(4))
@example(ast.Binary("-", ast.IntLit(1), ast.Unary("-", ast.IntLit(1))))
@example(ast.Field(ast.ParamAt("p", ast.Name("d")), "f"))
@example(ast.ParamAt("p", ast.Field(ast.Name("d"), "f")))
@example(ast.Binary("implies", ast.Binary("implies", ast.Name("a"), ast.Name("b")), ast.Name("c")))
@example(ast.Binary("==", ast.IsTest(ast.Name("a"), "null", True), ast.BoolLit(False)))
@example(ast.Unary("not", ast.Binary("==", ast.Name("a"), ast.Name("b"))))
@example(ast.Binary("-", ast.Name("a"), ast.Binary("-", ast.Name("b"), ast.Name("c"))))
@example(ast.Binary("*", ast.Name("a"), ast.Binary("+", ast.Name("b"), ast.Name("c"))))
@example(ast.Quantifier("any", "x", ast.Binary("in", ast.Name("a"), ast.Name("b")), None, None))
@example(ast.Quantifier(
    "sum", "y", ast.IntRange(ast.IntLit(2020), ast.Binary("-", ast.AsOf(), ast.IntLit(1))), None,
    ast.IfThenElse(ast.Name("a"), ast.IntLit(1), ast.IntLit(0))))
@example(ast.Binary("not in", ast.Name("a"), ast.SetLit(())))
@example(ast.Binary("!=", ast.Unary("not", ast.Name("a")), ast.Binary("in", ast.Name("b"), ast.Name("c"))))
@example(ast.Field(ast.DurationLit(1, "day"), "x"))
@example(ast.Field(ast.IntLit(1), "x"))
@example(ast.StringLit('"\\n\\"\n\t\\安全 #not a comment ///'))
@example(ast.InstantLit(dt.datetime(2021, 8, 9, 10, 20, tzinfo=dt.UTC)))
def test_expression_round_trip(expr: ast.Expr) -> None:
    module = define_module(expr)
    text = format_module(module)
    back = _reparse(text)
    assert back == module, text
    assert format_module(back) == text
    (decl,) = back.decls
    assert isinstance(decl, ast.DefineDecl)
    assert format_expr(decl.value) == format_expr(expr)


@SETTINGS
@given(exprs(2), exprs(2))
def test_long_conditions_are_wrapped_and_still_round_trip(a: ast.Expr, b: ast.Expr) -> None:
    # A condition longer than a line is broken before each top-level `and`/`or`.
    cond: ast.Expr = a
    for i in range(12):
        cond = ast.Binary("and" if i % 3 else "or", cond, ast.Binary("==", b, ast.Name(f"field_{i}")))
    module = ast.Module((ast.RuleDecl("obligation", "o", (ast.Require(cond), ast.Applies(cond))),))
    text = format_module(module)
    assert _reparse(text) == module, text
    assert format_module(_reparse(text)) == text


def test_keywords_come_from_the_grammar() -> None:
    # the derivation must see the string terminals, the regex words, and `as_of`
    assert {"as_of", "policy", "implies", "not", "zh", "en", "set", "at"} <= KEYWORDS
    assert {"any", "find", "latest", "earliest", "known", "unknown", "null", "year", "minutes"} <= KEYWORDS
    assert "require" in grammar_keywords('X: "require"\nQUANT: /(a)\\b/\nORDER: /(b)\\b/\n'
                                         'IS_WHAT: /(c)\\b/\nUNIT: /(ds?)\\b/\n')


@given(st.sampled_from(sorted(KEYWORDS)), st.sampled_from(["_", "1", "s_", "x"]))
@settings(max_examples=100, deadline=None)
def test_names_that_start_with_a_keyword_are_names(word: str, suffix: str) -> None:
    name = word + suffix
    if name in KEYWORDS:
        return
    module = define_module(ast.Binary("+", ast.Name(name), ast.Call(name, (ast.Name(name),))))
    assert _reparse(format_module(module)) == module


def test_each_over_an_integer_range_round_trips() -> None:
    each = ast.Each("y", ast.IntRange(ast.IntLit(1), ast.IntLit(3)), None)
    module = ast.Module((ast.RuleDecl("trigger", "t", (each,)),))
    assert _reparse(format_module(module)) == module
