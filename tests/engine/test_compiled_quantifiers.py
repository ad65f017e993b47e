"""The compiled quantifiers' short cuts (engine/compiled.py `_decided`: no rows while every element is known, the
filter's field test inlined, `find` stopping at its first match) give what the reference interpreter gives, on
lists whose elements have known, null and absent (unknown) filter fields and values, in every order."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safetyrules.engine.compiled import CompiledEvaluator, Compiler
from safetyrules.engine.interpreter import Interpreter
from safetyrules.engine.values import UNKNOWN
from safetyrules.syntax import ast

DAY = dt.date(2022, 12, 31)
X = ast.Name("x")
XS = ast.Name("xs")


def field(name: str) -> ast.Field:
    return ast.Field(X, name)


KIND_IS_A = ast.Binary("==", field("kind"), ast.StringLit("a"))
FILTERS: list[ast.Expr | None] = [
    None,
    KIND_IS_A,  # a field test alone
    ast.Binary("and", KIND_IS_A, field("flag")),  # first in an `and` chain
    ast.Binary("and", ast.Binary("and", KIND_IS_A, field("flag")), ast.Binary(">", field("value"), ast.IntLit(0))),
    ast.Binary("!=", field("kind"), ast.StringLit("a")),
    ast.Binary("not in", field("kind"), ast.SetLit((ast.StringLit("a"), ast.StringLit("b")))),
    ast.Binary("==", field("flag"), ast.BoolLit(True)),
    ast.Binary("and", KIND_IS_A, ast.Binary("==", field("flag"), ast.BoolLit(True))),  # two field tests
    ast.Binary("and", ast.Binary("and", ast.Binary("!=", field("kind"), ast.StringLit("c")),
                                 ast.Binary("!=", field("flag"), ast.BoolLit(False))),
               ast.Binary("<", field("value"), ast.IntLit(2))),  # two field tests and another condition
    ast.Binary("or", KIND_IS_A, field("flag")),  # not a field test first in an `and`: the closure decides
    field("flag"),
]

element = st.fixed_dictionaries({}, optional={
    "kind": st.one_of(st.none(), st.sampled_from(["a", "b", "c"])),
    "flag": st.one_of(st.none(), st.booleans()),
    "value": st.one_of(st.none(), st.integers(-3, 3)),
})


def quantifiers() -> list[ast.Quantifier | ast.OrderPick]:
    out: list[ast.Quantifier | ast.OrderPick] = []
    for where in FILTERS:
        for kind in ("any", "all", "count"):
            out.append(ast.Quantifier(kind, "x", XS, where, field("flag")))
            out.append(ast.Quantifier(kind, "x", XS, where, None))
        for kind in ("sum", "max", "min"):
            out.append(ast.Quantifier(kind, "x", XS, where, field("value")))  # a field of the element
            out.append(ast.Quantifier(kind, "x", XS, where, ast.Binary("*", field("value"), ast.IntLit(2))))
        out.append(ast.Quantifier("find", "x", XS, where, None))
        for kind in ("latest", "earliest"):
            out.append(ast.OrderPick(kind, "x", XS, where, field("value")))
    return out


QUANTIFIERS = quantifiers()


def same(a: Any, b: Any) -> bool:
    if a is UNKNOWN or b is UNKNOWN or isinstance(a, dict) or isinstance(b, dict):
        return a is b  # `find` and picks give the element itself
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("q", QUANTIFIERS, ids=lambda q: f"{q.kind}")
@settings(max_examples=40, deadline=None)
@given(items=st.one_of(st.lists(element, max_size=6), st.none()))
def test_compiled_quantifiers_equal_the_reference(items: list[dict[str, Any]] | None,
                                                 q: ast.Quantifier | ast.OrderPick) -> None:
    record: dict[str, Any] = {} if items is None else {"xs": items}  # no list at all: unknown

    def no_param(name: str, day: dt.date) -> Any:
        raise KeyError(name)

    reference = Interpreter(record, DAY, no_param, {}, lambda _: "unknown").eval(q, {})
    compiled = CompiledEvaluator(Compiler({}, frozenset()), record, DAY, no_param, lambda _: "unknown")
    assert same(compiled.eval(q, {}), reference)
