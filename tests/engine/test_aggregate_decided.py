"""`aggregate_decided` (the compiled engine's aggregate when no element is open) equals `_aggregate`, the
definition, on every kind of quantifier and pick, for rows whose filters and values are all known."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from safetyrules.engine.interpreter import _aggregate, aggregate_decided
from safetyrules.syntax import ast

NAME = ast.Name("xs")
VALUE_KINDS = ("sum", "max", "min")
TRUTH_KINDS = ("any", "all", "count")

# (filter, value) of one element; values may be null but never unknown (that is what "decided" means)
truth_rows = st.lists(st.tuples(st.booleans(), st.booleans()), max_size=8)
value_rows = st.lists(st.tuples(st.booleans(), st.one_of(st.none(), st.integers(-5, 5))), max_size=8)


def rows_of(pairs: list[tuple[bool, Any]]) -> list[tuple[Any, Any, Any, None, int]]:
    # each element its own object (`find` and picks return the element): a dict naming its position
    return [({"at": i}, w, v if w else None, None, 1) for i, (w, v) in enumerate(pairs)]


def decided(q: ast.Quantifier | ast.OrderPick, rows: list[tuple[Any, Any, Any, None, int]]) -> Any:
    return aggregate_decided(q, [(r[0], r[2]) for r in rows if r[1] is True])


@given(kind=st.sampled_from(TRUTH_KINDS), pairs=truth_rows)
def test_truth_quantifiers(kind: str, pairs: list[tuple[bool, bool]]) -> None:
    q = ast.Quantifier(kind, "x", NAME, None, ast.BoolLit(True))
    rows = rows_of(pairs)
    assert decided(q, rows) == _aggregate(q, rows)[0]


@given(kind=st.sampled_from(VALUE_KINDS), pairs=value_rows)
def test_value_aggregates(kind: str, pairs: list[tuple[bool, int | None]]) -> None:
    q = ast.Quantifier(kind, "x", NAME, None, ast.Name("x"))
    rows = rows_of(pairs)
    assert decided(q, rows) == _aggregate(q, rows)[0]


@given(pairs=value_rows)
def test_find(pairs: list[tuple[bool, int | None]]) -> None:
    q = ast.Quantifier("find", "x", NAME, ast.BoolLit(True), None)
    rows = [(e, w, True if w else None, s, n) for e, w, _, s, n in rows_of(pairs)]
    assert decided(q, rows) == _aggregate(q, rows)[0]


@given(kind=st.sampled_from(("latest", "earliest")), pairs=value_rows)
def test_picks_keep_the_first_of_ties(kind: str, pairs: list[tuple[bool, int | None]]) -> None:
    q = ast.OrderPick(kind, "x", NAME, None, ast.Name("x"))
    rows = rows_of(pairs)
    assert decided(q, rows) == _aggregate(q, rows)[0]  # the element itself: its position tells ties apart
