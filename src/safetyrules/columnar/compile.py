"""Compiling a checked policy for the columnar engine.

A program is the checked policy, its params and the rules switched off: the polars expressions are built
per batch from the AST (cheap: linear in the policy's size), so compiling does no work up front. A rule
whose expressions use a construct the columnar engine does not support (`Unsupported`) is evaluated by the
reference engine instead, found as the rules are built (`ColumnarProgram.fallback_rules` names them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from safetyrules.columnar.kernel import ColumnarProgram
from safetyrules.columnar.tables import FactTables, layout_for
from safetyrules.engine.params import ParamTable
from safetyrules.lower.program import Program


def compile_policy(policy: Program, params: ParamTable | None = None,
                   disabled: frozenset[str] = frozenset()) -> ColumnarProgram:
    """A program that runs `policy` with `params` (defaults when None) over whole populations; the rules in
    `disabled` are switched off (a what-if scenario): not applicable, and read so by `violated(…)`."""
    unknown = {n for n in disabled if not policy.has_rule(n)}
    if unknown:
        raise KeyError(f"no rule named {', '.join(sorted(unknown))}")
    return ColumnarProgram(policy, params if params is not None else ParamTable(policy), disabled)


def evaluate_population(policy: Any, records_or_tables: FactTables | Iterable[Mapping[str, Any]],
                        as_of: dt.date | str, params: Mapping[str, Any] | None = None,
                        disabled: frozenset[str] = frozenset()) -> pl.DataFrame:
    """Convenience: compile `policy` (an `api.Policy` or a lowered `Program`) with `params` and run it."""
    lowered: Program = policy.program if hasattr(policy, "program") else policy
    day = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(as_of)
    program = compile_policy(lowered, ParamTable(lowered, params), disabled)
    tables = records_or_tables if isinstance(records_or_tables, FactTables) \
        else FactTables.from_records(records_or_tables, layout_for(lowered.contract))
    return program.run(tables, day)
