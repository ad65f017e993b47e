"""The decision tables of the rule kinds, written once: every engine decides an outcome from these rows.

A table is an ordered list of rows; the first row whose conditions hold gives the outcome (docs/semantics.md
states the same tables in prose). A condition is an *atom* — a named yes/no fact about one event or one
subject on the evaluation day — or its negation (`!atom`). Each engine computes the atoms its own way and
reads the table:

- the reference engine computes them as Python booleans and takes the first matching row (:func:`decide`);
- the columnar engine computes them as polars expressions and folds the rows into one `when/then` chain
  (`columnar/rules.py`);
- the Rete backend turns each row into mutually exclusive conjunctions of durable-rules conditions
  (:func:`exclusive_rows`, `stream/rete.py`).

So the meaning of a rule kind changes in one place, and the engines cannot disagree on it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

E = TypeVar("E")


class Outcome(StrEnum):
    VIOLATED = "violated"
    PENDING = "pending"
    SATISFIED = "satisfied"
    NOT_APPLICABLE = "not_applicable"
    UNKNOWN = "unknown"
    TRIGGERED = "triggered"
    EXPIRED = "expired"
    NOT_TRIGGERED = "not_triggered"


# How bad an outcome is, to combine several (per event, per requirement) into one.
SEVERITY_ORDER = {
    Outcome.VIOLATED: 5, Outcome.UNKNOWN: 4, Outcome.PENDING: 3, Outcome.SATISFIED: 2,
    Outcome.NOT_APPLICABLE: 1,
}


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a decision table: when every condition holds (and no earlier row did), the outcome."""

    when: tuple[str, ...]  # atom names; `!name` for "the atom does not hold"
    outcome: Outcome
    verdict: str  # what the row means, for explanations and for the engines' own bookkeeping
    late: bool = False  # the act was done after its due date: its delay is recorded


EVENT_ATOMS: dict[str, str] = {
    "deadline_known": "the due date is known (a date)",
    "filter_unknown": "whether the element is an event of the rule is unknown (its `where` is unknown)",
    "done": "the act is dated on or before the evaluation day",
    "on_time": "the act is dated on or before the due date",
    "remembered": "the evaluation day is within `late_act_memory` after the act",
    "before_due": "the evaluation day is on or before the due date",
    "not_done": "the act is known not to be done by the evaluation day (null, or dated after it)",
}
"""The atoms of :data:`EVENT_VERDICTS`, with what each means."""

EVENT_VERDICTS: tuple[Row, ...] = (
    Row(("!deadline_known",), Outcome.UNKNOWN, "no_deadline"),
    Row(("filter_unknown",), Outcome.UNKNOWN, "filter_unknown"),
    Row(("done", "on_time"), Outcome.SATISFIED, "on_time"),
    Row(("done", "remembered"), Outcome.VIOLATED, "late", late=True),
    Row(("done",), Outcome.SATISFIED, "late_forgotten", late=True),
    Row(("before_due",), Outcome.PENDING, "open"),
    Row(("not_done",), Outcome.VIOLATED, "overdue"),
    Row((), Outcome.UNKNOWN, "act_unknown"),
)
"""One event of `due within W after S done A` / `due on D done A`. An act dated after the evaluation day has
not happened yet on that day: it counts as not done (an as-of view hides most such dates already; this row
covers a date the view keeps or a rule computes)."""


ELEMENT_OPEN: dict[str, frozenset[tuple[str, str]]] = {
    "any": frozenset({("true", "unknown"), ("unknown", "true"), ("unknown", "unknown")}),
    "all": frozenset({("true", "unknown"), ("unknown", "false"), ("unknown", "unknown")}),
    "count": frozenset({("true", "unknown"), ("unknown", "true"), ("unknown", "unknown")}),
}
"""For `any`, `all` and `count`: the (filter, condition) states of one element that leave the result open —
the element could change it, had its missing fact a value. Any other element is decided (it counts, or it
cannot matter: an element whose filter is unknown but whose condition is false cannot make `any` true). An
`any` with a hit is true and an `all` with a failure false whatever the open elements; otherwise one open
element makes the result unknown.

The aggregates over values follow the same idea (`engine/interpreter.py`, `columnar/exprs.py`): an element
with an unknown filter and a known value is open for `max` only if its value is above the known maximum (or
there is none), for `min` below the minimum, for `sum` unless the value is 0 or null, for `latest`/`earliest`
if its key is better than the best known key (or ties with it before it in the list); for `find` an element
with an unknown filter is open only before the first element that surely matches. An element whose value
(key) is unknown is open when its filter is true or unknown."""


def state(value: object, unknown: object) -> str:
    """`"true"`, `"false"` or `"unknown"` of a Kleene truth value (`unknown`: the engine's unknown marker)."""
    return "unknown" if value is unknown else ("true" if value is True else "false")


NULL_RESULT: dict[str, object] = {
    **dict.fromkeys(("==", "!=", "<", "<=", ">", ">="), False),  # a comparison with null is false
    "in": False, "not in": True,  # `x in S` with x or S null
    **dict.fromkeys(("+", "-", "*"), None),  # arithmetic with null is null
    **dict.fromkeys(("date", "year", "days_between", "greatest", "least"), None),
}
"""What an operation gives when one of its operands is null, whatever the others are — known or unknown:
null decides before unknown (the result does not depend on the unknown operand). With no null operand, any
unknown operand makes the result unknown. `coalesce`, `and`, `or`, `not`, `is` and `if` have their own rules
(docs/semantics.md)."""


def holds(condition: str, atoms: Mapping[str, bool]) -> bool:
    return not atoms[condition[1:]] if condition.startswith("!") else atoms[condition]


def decide(table: tuple[Row, ...], atoms: Mapping[str, bool]) -> Row:
    """The first row of `table` whose conditions hold for `atoms` (every table ends with a catch-all row)."""
    for row in table:
        if all(holds(c, atoms) for c in row.when):
            return row
    raise ValueError("no row matched: a decision table must end with a catch-all row (no conditions)")


def exclusive_rows(table: tuple[Row, ...], atoms: frozenset[str] | None = None,
                   ) -> list[tuple[Row, list[tuple[str, ...]]]]:
    """Each row's first-match condition as alternatives of conjunctions, none shared by two rows: row i holds
    when its conditions hold and no earlier row's do (for an engine where every matching rule fires, as in a
    Rete network). With `atoms`, rows needing an atom outside it are left out (that engine never meets them),
    and so are rows that can no longer hold. An alternative's conditions are sorted; contradictions dropped."""
    out: list[tuple[Row, list[tuple[str, ...]]]] = []
    earlier: list[tuple[str, ...]] = []
    for row in table:
        if atoms is not None and any(c.lstrip("!") not in atoms for c in row.when):
            continue  # the engine never meets this row: it takes nothing from the rows after it
        # not (a and b) = (not a) or (not b): one choice of a negated condition per earlier row
        negations = [[_negated(c) for c in prior] for prior in earlier if prior]
        alternatives: list[tuple[str, ...]] = []
        for choice in itertools.product(*negations):
            conds = tuple(sorted(set(row.when) | set(choice)))
            if not any(_negated(c) in conds for c in conds) and conds not in alternatives:
                alternatives.append(conds)
        if any(not prior for prior in earlier):
            alternatives = []  # an earlier catch-all row takes everything
        if alternatives:
            out.append((row, _minimal(alternatives)))
        earlier.append(row.when)
    return out


def _negated(condition: str) -> str:
    return condition[1:] if condition.startswith("!") else "!" + condition


def _minimal(alternatives: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Drop an alternative that another, shorter one already covers."""
    sets = [set(a) for a in alternatives]
    return [a for i, a in enumerate(alternatives) if not any(j != i and sets[j] < sets[i] for j in range(len(sets)))]


def fold(table: tuple[Row, ...], atoms: Mapping[str, E], when: Callable[[list[E], Row, E | None], E],
            negate: Callable[[E], E]) -> E:
    """The table as one nested expression, built from the last row up: `when(conditions, row, rest)` is
    "if all conditions then row's value else rest" (`rest` is None for the last row). The columnar engine
    folds polars expressions with it."""
    result: E | None = None
    for row in reversed(table):
        conds = [negate(atoms[c[1:]]) if c.startswith("!") else atoms[c] for c in row.when]
        result = when(conds, row, result)
    assert result is not None
    return result
