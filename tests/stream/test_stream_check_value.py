"""`check_value`'s quick walk (no paths) answers exactly as its full walk (every problem with its path): on
generated JSON-like values with every kind of problem — numbers out of range, floats, NaN, repeated keys, lone
surrogates in keys and strings, nesting and list sizes at and past small limits."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from safetyrules.limits import Limits
from safetyrules.stream.events import _BigInt, _clean, _NotFinite, _Pairs, _problems, check_value, decode_event

LIMITS = Limits(max_int=1000, max_nesting=4, max_list_items=3)

texts = st.one_of(st.text(max_size=4), st.sampled_from(["\ud800", "a\udfffb", "中文", "x"]))
markers = st.one_of(st.builds(_BigInt, st.integers(25, 5000)),
                    st.builds(_NotFinite, st.sampled_from(["NaN", "Infinity"])))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2000, 2000), st.floats(allow_nan=True), texts, markers)


def _pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in items}) < len(items):
        return _Pairs(items, sorted({k for k, _ in items if [x for x, _ in items].count(k) > 1}))
    return dict(items)


values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5),
    st.lists(st.tuples(texts, inner), max_size=4).map(_pairs)), max_leaves=25)


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    return isinstance(value, list) and any(_has_float(v) for v in value)


@settings(max_examples=500, deadline=None)
@given(values)
def test_the_quick_walk_answers_as_the_full_walk(value: Any) -> None:
    problems = _problems(value, LIMITS)
    if _clean(value, LIMITS):  # clean: the full walk finds nothing either
        assert problems == []
    else:  # not clean: a problem, or a float (in range, it leaves the answer to the full walk)
        assert problems or _has_float(value)
    assert check_value(value, LIMITS) == problems


def test_a_clean_event_has_no_problems_and_a_bad_one_its_paths() -> None:
    clean = decode_event('{"enterprise": "E", "type": "clock", "payload": {"a": [1, 2, {"b": "中"}]}}')
    assert check_value(clean, LIMITS) == []
    bad = {"payload": {"a": [1, 2, 3, 4], "n": 5000, "s": "\ud800"}}
    assert [p.path for p in check_value(bad, LIMITS)] == ["payload.a", "payload.n", "payload.s"]
