"""Compiling a checked policy for the columnar engine.

Which rules compile is a property of the policy's structure and types, not of the data: compilation
evaluates every rule once over an empty population. A rule whose expressions use a construct the columnar
engine does not support (`Unsupported`) is recorded in `fallback_rules` and evaluated by the reference
engine at run time; everything else is polars expressions built per batch from the AST (cheap: linear in
the policy's size).
"""

from __future__ import annotations

import datetime as dt

from safetyrules.check.checker import CheckedPolicy
from safetyrules.columnar.kernel import ColumnarProgram
from safetyrules.columnar.tables import FactTables
from safetyrules.engine.params import ParamTable


def compile_policy(policy: CheckedPolicy, params: ParamTable | None = None) -> ColumnarProgram:
    """A program that runs `policy` with `params` (defaults when None) over whole populations."""
    program = ColumnarProgram(policy, params if params is not None else ParamTable(policy))
    empty = FactTables.empty()
    day = program.period_start or dt.date(2020, 1, 1)
    unsupported: dict[str, str] = {}
    program.rule_outputs(empty, day, unsupported)
    program.fallback_rules.update(unsupported)
    return program
