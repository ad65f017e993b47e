"""What-if with the columnar engine: a scenario evaluated against a base evaluation of the same population.

Two entry points:

- `ColumnarWhatIf()` (and `evaluate_columnar`, one shared instance): a drop-in `evaluate` for
  `safetyrules.whatif.run.run_whatif` (same signature and result as `evaluate_reference`). It keeps the
  populations' fact tables and the day's base evaluations, so the scenario side of a date re-runs only the
  rules the scenario can change.
- `whatif_population`: the same over a whole population in columnar form (`FactTables`), for millions of
  enterprises: base and scenario evaluations and the changed (enterprise, rule) outcomes as a frame.

A scenario evaluation reuses the base's as-of view and every rule output that cannot change: it re-runs the
rules that read a changed param (directly, through definitions, or as a reserved param of their kind of
deadline) or are switched off or on, and every rule that reads their outcomes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from safetyrules.api import Policy
from safetyrules.columnar.compile import compile_policy
from safetyrules.columnar.exprs import OUTCOME_NAMES
from safetyrules.columnar.kernel import ColumnarProgram, Evaluation
from safetyrules.columnar.tables import FactTables, layout_for
from safetyrules.engine.params import ParamTable
from safetyrules.engine.results import Outcome
from safetyrules.whatif.run import Row

_OUTCOMES = {code: Outcome(name) for code, name in OUTCOME_NAMES.items()}


@dataclass(slots=True)
class _Population:
    """A population a `ColumnarWhatIf` saw: its records (by identity), tables and base runs."""

    records: list[dict[str, Any]]
    tables: FactTables
    bases: dict[tuple[int, dt.date], Evaluation] = field(default_factory=dict)  # (id(checked), day) → base


class ColumnarWhatIf:
    """A columnar `evaluate` for `run_whatif` (same signature and result as `evaluate_reference`) that keeps,
    for one what-if run, what the scenario side reuses: the fact tables of the last two populations (the base
    and the patched scenario) and the base evaluations of the current day only — memory stays that of one
    day's evaluations however many dates the timeline has. Use a new one per run."""

    def __init__(self) -> None:
        self._populations: list[_Population] = []

    def _population(self, records: list[dict[str, Any]], policy: Policy) -> _Population:
        for population in self._populations:
            if population.records is records:
                return population
        tables = FactTables.from_records(records, layout_for(policy.contract))
        self._populations[:] = [*self._populations[-1:], _Population(records, tables)]
        return self._populations[-1]

    def __call__(self, policy: Policy, records: list[dict[str, Any]], as_of: dt.date, params: Mapping[str, Any],
                 disabled: frozenset[str]) -> list[Row]:
        """One `Row` per (enterprise, rule), enterprises in order, rules in declared order. `Row.params` are the
        overridden params the rule reads (`params_used` of the checked policy)."""
        population = self._population(records, policy)
        key = (id(policy.program), as_of)
        base = population.bases.get(key)
        if base is None or base.program.policy is not policy.program:
            for other in self._populations:  # an earlier day's runs are not needed again
                other.bases = {k: v for k, v in other.bases.items() if k[1] == as_of}
            base = compile_policy(policy.program).evaluate(population.tables, as_of)
            population.bases[key] = base
        if not params and not disabled:
            evaluation = base
        else:
            program = base.program.variant(params, disabled)
            evaluation = program.evaluate(population.tables, as_of, base=base)
        return rows_of(evaluation)


def evaluate_columnar(policy: Policy, records: list[dict[str, Any]], as_of: dt.date, params: Mapping[str, Any],
                      disabled: frozenset[str]) -> list[Row]:
    """`ColumnarWhatIf` with a cache shared by the calls of this process (what-if runs one after the other);
    `run_whatif(..., evaluate=ColumnarWhatIf())` scopes it to one run."""
    return _SHARED(policy, records, as_of, params, disabled)


_SHARED = ColumnarWhatIf()


def rows_of(evaluation: Evaluation) -> list[Row]:
    """An evaluation as what-if rows (enterprise-major, rules in declared order)."""
    program = evaluation.program
    table = program.params
    declared = program.declared
    ids = evaluation.ids.to_list()
    per_rule = []
    for rule in declared:
        frame = evaluation.outputs[rule.name]
        used = tuple(sorted(p for p in rule.params_read | rule.defines_read
                            if p in table.schedules and table.is_overridden(p)))
        per_rule.append((rule.name, tuple(rule.implements), [_OUTCOMES[c] for c in frame.get_column("code")],
                         frame.get_column("due").to_list(), used))
    rows: list[Row] = []
    for i, enterprise in enumerate(ids):
        for name, implements, outcomes, dues, used in per_rule:
            rows.append(Row(str(enterprise), name, implements, outcomes[i], dues[i], used))
    return rows


@dataclass(slots=True)
class PopulationWhatIf:
    """Base and scenario evaluations of one population on one day."""

    base: Evaluation
    scenario: Evaluation

    @property
    def rerun(self) -> frozenset[str]:
        """The rules the scenario evaluated again (the others are the base's, unchanged)."""
        return self.scenario.rerun

    def changes(self) -> pl.DataFrame:
        """Every (enterprise, rule) whose outcome differs: enterprise, rule, base, scenario (outcome names)."""
        names = pl.Series([None, *(OUTCOME_NAMES[c] for c in range(1, max(OUTCOME_NAMES) + 1))], dtype=pl.String)
        parts = []
        for rule in self.scenario.program.declared:
            if rule.name not in self.rerun:
                continue
            before, after = self.base.codes(rule.name), self.scenario.codes(rule.name)
            differs = (before != after).arg_true()
            if len(differs):
                parts.append(pl.DataFrame({
                    "enterprise": self.base.ids.gather(differs),
                    "rule": pl.repeat(rule.name, len(differs), dtype=pl.String, eager=True),
                    "base": names.gather(before.gather(differs)),
                    "scenario": names.gather(after.gather(differs))}))
        if not parts:
            return pl.DataFrame(schema={"enterprise": pl.String, "rule": pl.String, "base": pl.String,
                                        "scenario": pl.String})
        return pl.concat(parts)

    def counts(self) -> pl.DataFrame:
        """Per rule and outcome, how many enterprises have it in the base and in the scenario."""
        rows = []
        for rule in self.scenario.program.declared:
            for side, evaluation in (("base", self.base), ("scenario", self.scenario)):
                codes = evaluation.codes(rule.name).value_counts()
                for code, n in codes.iter_rows():
                    rows.append((rule.name, OUTCOME_NAMES[code], side, n))
        return (pl.DataFrame(rows, schema={"rule": pl.String, "outcome": pl.String, "side": pl.String,
                                           "n": pl.Int64}, orient="row")
                .pivot("side", index=["rule", "outcome"], values="n").fill_null(0))


def whatif_population(program: ColumnarProgram, tables: FactTables, as_of: dt.date,
                      params: Mapping[str, Any] | None = None, disabled: frozenset[str] = frozenset(),
                      base: Evaluation | None = None) -> PopulationWhatIf:
    """Evaluate `program` (the base) and its variant with `params` overridden and `disabled` rules switched off
    on `tables`; `base` (an evaluation of `program` on these tables and day) is reused when given."""
    if base is None:
        base = program.evaluate(tables, as_of)
    scenario = program.variant({**_overrides(program.params), **(params or {})}, disabled)
    return PopulationWhatIf(base, scenario.evaluate(tables, as_of, base=base))


def _overrides(table: ParamTable) -> dict[str, Any]:
    """The overrides a param table was built with (a scenario keeps the base's and adds its own)."""
    return {name: s.entries[0][1] for name, s in table.schedules.items() if s.overridden}
