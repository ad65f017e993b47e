"""The columnar kernel: a compiled policy run over one batch of enterprises on one day.

`ColumnarProgram.run` is a pure function of (tables, as_of): it can run per partition inside a distributed
engine. Rules run in dependency order over one root frame; after each rule only the columns that later
rules read (definitions, outcome codes) are kept, which bounds memory by the policy's width, not its size.
Quantifier expansions shared by several rules are built once and dropped after the last rule that uses them.

`ColumnarProgram.evaluate` keeps what a run computed (`Evaluation`): the as-of view, each rule's outputs and
its part of the long result. A program with other params or other rules switched off evaluates against a
base evaluation of the same tables and day by running only the rules whose results may change (those that
read a changed param or are switched, and the rules that read their outcomes) and reusing everything else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from safetyrules.columnar.asof import as_of_tables, read_columns
from safetyrules.columnar.exprs import CODE_OF, NOT_APPLICABLE, OUTCOME_NAMES, PENDING, VIOLATED, Context, Evaluator
from safetyrules.columnar.plan import affected_rules, names_read, still_used
from safetyrules.columnar.rules import CODE, NULL_DATE, NULL_INT, RuleCompiler, RuleOut
from safetyrules.columnar.scope import Counter, Scope
from safetyrules.columnar.tables import FactTables, Schema, layout_for
from safetyrules.columnar.values import Unsupported
from safetyrules.engine.params import ParamTable
from safetyrules.engine.results import Outcome
from safetyrules.engine.rules import RuleEngine
from safetyrules.lower.program import Program, RuleIR

OUTCOME_DTYPE = pl.Enum([str(o) for o in Outcome])
RESULT_COLUMNS = ("enterprise", "rule", "implements", "outcome", "due_on", "days_overdue", "days_remaining",
                  "delay_days", "listed_until")
_OUTCOME_BY_CODE = pl.Series([None, *(OUTCOME_NAMES[c] for c in range(1, max(OUTCOME_NAMES) + 1))],
                             dtype=OUTCOME_DTYPE)  # gathered by outcome code
_OUTPUT_SCHEMA = {"code": CODE, "due": pl.Date, "delay": pl.Int64, "listed": pl.Date}


@dataclass(slots=True)
class ColumnarProgram:
    """A checked policy with its params, ready to run over populations (build it with `compile_policy`)."""

    policy: Program
    params: ParamTable
    disabled: frozenset[str] = frozenset()  # rules switched off (what-if): not applicable
    _fallback: dict[str, str] | None = None  # rule → why it runs on the reference engine (None: not known yet)

    @property
    def fallback_rules(self) -> dict[str, str]:
        """The rules the columnar engine does not compile (they run on the reference engine), with why.

        Known after the first evaluation, or found by a dry run over an empty population when asked for
        before (which rules compile depends on the policy's structure and types, not on the data)."""
        if self._fallback is None:
            unsupported: dict[str, str] = {}
            self.evaluate(FactTables.empty(self.layout), self.period_start or dt.date(2020, 1, 1),
                          unsupported=unsupported)
            self._fallback = unsupported
        return self._fallback

    @property
    def layout(self) -> Schema:
        """The table layout of the policy's facts: the tables it runs over must have it."""
        return layout_for(self.policy.contract)

    @property
    def declared(self) -> list[RuleIR]:
        """The rules in the order the policy declares them (the order results are reported in)."""
        return self.policy.declared

    @property
    def period_start(self) -> dt.date | None:
        return self.policy.period_start

    def variant(self, params: Mapping[str, Any] | None = None, disabled: frozenset[str] = frozenset(),
                ) -> ColumnarProgram:
        """The same policy with other param overrides and rules switched off (no new compilation: which
        rules compile depends on the policy's structure and types only)."""
        unknown = {n for n in disabled if not self.policy.has_rule(n)}
        if unknown:
            raise KeyError(f"no rule named {', '.join(sorted(unknown))}")
        known = None if self._fallback is None else dict(self._fallback)
        return ColumnarProgram(self.policy, ParamTable(self.policy, params), disabled, known)

    # ------------------------------------------------------------------ evaluation
    def rule_outputs(self, tables: FactTables, as_of: dt.date, unsupported: dict[str, str] | None = None,
                     ) -> tuple[pl.Series, dict[str, pl.DataFrame]]:
        """Per rule, a frame of (code, due, delay, listed) aligned with the enterprise rows, and the ids.

        With `unsupported` (the compile-time dry run), a rule that does not compile is recorded there and
        reads as unknown to the rules after it, instead of raising `Unsupported`.
        """
        evaluation = self.evaluate(tables, as_of, unsupported=unsupported)
        return evaluation.ids, evaluation.outputs

    def evaluate(self, tables: FactTables, as_of: dt.date, base: Evaluation | None = None,
                 unsupported: dict[str, str] | None = None) -> Evaluation:
        """Evaluate every rule; with `base` (an evaluation of the same tables on the same day by a program of
        the same policy), only the rules whose results may differ from the base's."""
        if base is not None:
            if base.tables is not tables or base.as_of != as_of or base.program.policy is not self.policy:
                raise ValueError("a base evaluation must be of the same policy, tables and day")
            before, after = base.program.params.schedules, self.params.schedules
            changed = {n for n in before.keys() | after.keys()
                       if n not in before or n not in after or before[n].entries != after[n].entries}
            todo = affected_rules(self.policy, changed, self.disabled ^ base.program.disabled)
            view, counter = base.view, base.counter
        else:
            todo = {r.name for r in self.policy.rules}
            if tables.layout.model is not self.layout.model:
                raise ValueError(f"the tables hold records of {tables.layout.model.__name__}, the policy reads "
                                 f"{self.layout.model.__name__}: build them with "
                                 "`FactTables.from_records(records, layout_for(policy.contract))`")
            names = names_read(self.policy)
            view = read_columns(as_of_tables(tables, as_of, names, self.policy.contract.events), names,
                                (self.policy.contract.key,))
            counter = Counter()
        evaluation = Evaluation(self, tables, as_of, view, counter,
                                view.enterprises.get_column(self.policy.contract.key))
        root = Scope(view.enterprises, view, counter)
        ctx = Context(self.policy, self.params, as_of, root, keep=set(view.enterprises.columns))
        compiler = RuleCompiler(Evaluator(ctx), self.period_start)
        if base is not None:
            for name, frame in base.outputs.items():
                if name not in todo:
                    evaluation.outputs[name] = frame
                    part = base.parts.get(name)
                    if part is not None:
                        evaluation.parts[name] = part
                    _record(ctx, name, frame)
        known = {} if self._fallback is None else self._fallback
        fallback = _Fallback(self, tables, as_of)
        found: dict[str, str] = {}  # rules found not to compile in this evaluation
        order = [r for r in self.policy.rules if r.name in todo]
        nulls: dict[Any, pl.Series] = {}  # one all-null column per type, shared by the outputs
        keep = still_used(self.policy, [r.name for r in order])
        for i, rule in enumerate(order):
            if rule.name in self.disabled:
                frame = _constant_output(len(view), NOT_APPLICABLE)
            elif rule.name in known and unsupported is None:
                frame = fallback.output(rule.name)
            else:
                try:
                    out = compiler.rule(rule)  # first: it adds columns to the root frame
                    direct = _direct_output(root.frame, out, nulls)
                    frame = root.frame.select(_named(out)) if direct is None else direct
                except Unsupported as err:
                    found[rule.name] = str(err)
                    if unsupported is not None:  # a dry run: later rules read it as unknown
                        unsupported[rule.name] = str(err)
                        frame = _constant_output(len(view), CODE_OF["unknown"])
                    else:
                        frame = fallback.output(rule.name)
            evaluation.outputs[rule.name] = frame
            _record(ctx, rule.name, frame)
            ctx.expansions = {k: v for k, v in ctx.expansions.items() if v[0] in keep[i]}
        evaluation.rerun = frozenset(todo)
        if self._fallback is None and unsupported is None:
            inherited = base.program._fallback if base is not None else {}
            if inherited is not None:
                self._fallback = {**{k: v for k, v in inherited.items() if k not in todo}, **found}
        return evaluation

    def run(self, tables: FactTables, as_of: dt.date) -> pl.DataFrame:
        """Every rule's outcome for every enterprise, in long format (one row per enterprise and rule,
        rules in declared order, enterprises in table order within each rule)."""
        return self.evaluate(tables, as_of).results()


class _Fallback:
    """The rules the columnar engine cannot compile, evaluated by the reference engine per record (all of
    them at the first one asked for: the reference engine evaluates every rule of a record anyway)."""

    def __init__(self, program: ColumnarProgram, tables: FactTables, as_of: dt.date) -> None:
        self.program, self.tables, self.as_of = program, tables, as_of
        self.outputs: dict[str, pl.DataFrame] | None = None

    def output(self, rule: str) -> pl.DataFrame:
        if self.outputs is None:
            engine = RuleEngine(self.program.policy, self.program.params, self.program.disabled)
            rows: dict[str, list[tuple[Any, ...]]] = {r.name: [] for r in self.program.policy.rules}
            for record in self.tables.to_records():
                for r in engine.evaluate(record, self.as_of):
                    rows[r.rule].append((CODE_OF[str(r.outcome)], r.due_on, r.delay_days, r.listed_until))
            self.outputs = {name: pl.DataFrame(v, schema=_OUTPUT_SCHEMA, orient="row") for name, v in rows.items()}
        return self.outputs[rule]


@dataclass(slots=True)
class Evaluation:
    """What one evaluation computed: the as-of view, each rule's outputs, and (once asked for) each rule's
    part of the long result. A program with other params evaluates against it (`ColumnarProgram.evaluate`)."""

    program: ColumnarProgram
    tables: FactTables
    as_of: dt.date
    view: FactTables
    counter: Counter
    ids: pl.Series
    outputs: dict[str, pl.DataFrame] = field(default_factory=dict)
    parts: dict[str, pl.DataFrame | None] = field(default_factory=dict)
    rerun: frozenset[str] = frozenset()  # the rules this evaluation computed (the others are the base's)

    def codes(self, rule: str) -> pl.Series:
        """A rule's outcome codes, aligned with the enterprise rows."""
        return self.outputs[rule].get_column("code")

    def results(self) -> pl.DataFrame:
        """The long result frame (see `ColumnarProgram.run`); each rule's part is built once."""
        declared = self.program.declared
        if not declared:
            return pl.DataFrame(schema={c: pl.String for c in RESULT_COLUMNS})
        rule_dtype = pl.Enum([r.name for r in declared])
        ids_dtype = pl.Enum(sorted({i for r in declared for i in r.implements}))
        frames = []
        for rule in declared:
            part = self.parts.get(rule.name)
            if part is None:
                part = _part(self.outputs[rule.name], self.ids, rule, rule_dtype, ids_dtype, self.as_of)
                self.parts[rule.name] = part
            frames.append(part)
        return pl.concat(frames, rechunk=False)


def _part(frame: pl.DataFrame, ids: pl.Series, rule: RuleIR, rule_dtype: pl.DataType,
          ids_dtype: pl.DataType, as_of: dt.date) -> pl.DataFrame:
    """One rule's rows of the long result, every column materialized (so that concatenating is free), in one
    query."""
    day = as_of.toordinal() - dt.date(1970, 1, 1).toordinal()
    code = pl.col("code")
    due_days = pl.col("due").to_physical().cast(pl.Int64)
    n = pl.len()
    return frame.with_columns(ids.alias("enterprise")).select(
        "enterprise",
        rule=pl.repeat(pl.lit(rule.name, dtype=rule_dtype), n),
        implements=pl.repeat(pl.lit(pl.Series([list(rule.implements)], dtype=pl.List(ids_dtype))).first(), n),
        outcome=pl.lit(_OUTCOME_BY_CODE).gather(code),
        due_on=pl.col("due"),
        days_overdue=pl.when((code == VIOLATED) & (day > due_days)).then(day - due_days),
        days_remaining=pl.when(code == PENDING).then(due_days - day),
        delay_days=pl.col("delay"),
        listed_until=pl.col("listed"),
    )


def _named(out: RuleOut) -> list[pl.Expr]:
    return [out.code.cast(CODE).alias("code"), out.due.cast(pl.Date).alias("due"),
            out.delay.cast(pl.Int64).alias("delay"), out.listed.cast(pl.Date).alias("listed")]


def _direct_output(frame: pl.DataFrame, out: RuleOut, nulls: dict[Any, pl.Series]) -> pl.DataFrame | None:
    """The output frame without a query when every part is a stored column of the right type or the shared
    null literal (a continuous rule without `applies`: its code column and three null columns); else None."""
    columns = []
    for name, expr in (("code", out.code), ("due", out.due), ("delay", out.delay), ("listed", out.listed)):
        dtype = _OUTPUT_SCHEMA[name]
        if expr is NULL_DATE or expr is NULL_INT:
            if dtype not in nulls:
                nulls[dtype] = pl.Series(name, [None], dtype=dtype).extend_constant(None, frame.height - 1) \
                    if frame.height else pl.Series(name, [], dtype=dtype)
            series = nulls[dtype]
        elif expr.meta.is_column():
            series = frame.get_column(expr.meta.output_name())
            if series.dtype != dtype:
                return None
        else:
            return None
        columns.append(series.alias(name))
    return pl.DataFrame(columns)


def _constant_output(n: int, code: int) -> pl.DataFrame:
    return pl.DataFrame({"code": pl.repeat(code, n, dtype=CODE, eager=True),
                         "due": pl.repeat(None, n, dtype=pl.Date, eager=True),
                         "delay": pl.repeat(None, n, dtype=pl.Int64, eager=True),
                         "listed": pl.repeat(None, n, dtype=pl.Date, eager=True)})


def _record(ctx: Context, name: str, frame: pl.DataFrame) -> None:
    """Keep a rule's outcome code for `violated(…)`/`triggered(…)`; drop the rule's scratch columns."""
    root = ctx.root
    column = f"@{name}"
    ctx.keep.add(column)
    ctx.outcomes[name] = column
    kept = [root.frame.get_column(c) for c in root.frame.columns if c in ctx.keep and c != column]
    root.frame = pl.DataFrame([*kept, frame.get_column("code").alias(column)])  # one step, no query plan
    root.cache.clear()
    root.reset_columns()
