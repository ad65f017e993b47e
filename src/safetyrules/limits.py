"""The limits that keep every run bounded: input sizes, nesting, integer range, evaluation work.

Untrusted input (a fact file, a scenario, an events file, a policy) must never exhaust the machine or reach
a value an engine cannot hold. Each limit has a documented default (docs/limits.md) and can be changed for a
run: ``load_policy(limits=DEFAULT.replace(max_list_items=1_000_000))`` (or ``limits=`` where the API takes
it), or ``safetyrules --limit max_list_items=1000000 COMMAND`` on the command line. Exceeding a limit rejects
the one input that exceeds it, with its position; everything else is still processed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from safetyrules.errors import LimitError


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on inputs and on evaluation work. All counts are inclusive maxima."""

    max_nesting: int = 64
    """Nesting of arrays and objects in one JSON record, event, scenario or test file (the contract needs 4)."""

    max_record_bytes: int = 16 * 1024 * 1024
    """Bytes of one JSON Lines record or one event line."""

    max_document_bytes: int = 64 * 1024 * 1024
    """Bytes of one whole document held in memory: a JSON array file, a CSV child table, an Excel workbook, a
    scenario, a policy test file, a policy."""

    max_list_items: int = 100_000
    """Items in one list of one record (hazards, staff, reports, …)."""

    max_yaml_nodes: int = 1_000_000
    """Nodes of a YAML document after aliases are expanded (an alias bomb is refused, not expanded)."""

    max_int: int = 10**13
    """Largest magnitude of an integer fact or param. 100,000 list items of this size still sum inside a
    signed 64-bit integer, the widest integer every engine (Python, polars, Arrow, Spark) holds."""

    max_evaluation_steps: int = 10_000_000
    """Static bound on the work of one rule for one enterprise, counting nested ``range`` iterations and
    definition chains (list quantifiers count once per item). ``check`` refuses a policy above it."""

    max_scenario_dates: int = 1_200
    """Dates one what-if scenario evaluates (its ``as_of`` list, or the month-ends of its ``timeline``): a
    century of month-ends. Each date evaluates the whole population twice."""

    max_definition_depth: int = 64
    """Longest chain of definitions that use definitions (``define a = b + 1``, ``define b = c …``)."""

    min_date: dt.date = dt.date(1, 1, 1)
    """The first day of the calendar the engines compute in: date arithmetic before it saturates at it, and an
    as-of date before it is refused."""

    max_date: dt.date = dt.date(9999, 12, 31)
    """The last day of the calendar: arithmetic past it saturates (``9999-12-31`` + 1 year is ``9999-12-31``),
    and an as-of date after it is refused."""

    def replace(self, **changes: Any) -> Limits:
        """A copy with some limits changed; unknown names raise :class:`LimitError`."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise LimitError(f"unknown limit {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return dataclasses.replace(self, **changes)

    def with_text(self, pairs: list[str] | tuple[str, ...]) -> Limits:
        """A copy with the limits of ``NAME=VALUE`` pairs (``max_list_items=1000000``) changed; a malformed
        pair, an unknown name, the calendar's ends (fixed: every engine computes in the same calendar) or a value
        that is not a positive whole number raises :class:`LimitError`."""
        types = {f.name: f.type for f in dataclasses.fields(self)}
        changes: dict[str, Any] = {}
        for pair in pairs:
            name, sep, text = (part.strip() for part in pair.partition("="))
            if not sep or not name or not text:
                raise LimitError(f"`{pair}`: expected NAME=VALUE")
            if name not in types:
                self.replace(**{name: None})  # raises, listing the known names
            if name in ("min_date", "max_date"):
                raise LimitError(f"`{pair}`: the calendar's ends are fixed (0001-01-01 .. 9999-12-31)")
            if not text.replace("_", "").isdigit() or int(text.replace("_", "")) < 1 or len(text) > 30:
                raise LimitError(f"`{pair}`: {name} is a positive whole number")
            changes[name] = int(text.replace("_", ""))
        return self.replace(**changes)

    def check_int(self, value: int) -> bool:
        """True when ``value`` is inside the integer range every engine holds."""
        return -self.max_int <= value <= self.max_int


DEFAULT = Limits()
"""The limits used when none are given."""
