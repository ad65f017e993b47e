"""The columnar kernel: a compiled policy run over one batch of enterprises on one day.

`ColumnarProgram.run` is a pure function of (tables, as_of): it can run per partition inside a distributed
engine. Rules run in dependency order over one root frame; after each rule only the columns that later
rules read (definitions, outcome codes) are kept, which bounds memory by the policy's width, not its size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from safetyrules.check.checker import CheckedPolicy
from safetyrules.columnar.asof import as_of_tables
from safetyrules.columnar.exprs import OUTCOME_NAMES, PENDING, VIOLATED, Context, Evaluator
from safetyrules.columnar.rules import CODE, RuleCompiler, RuleOut
from safetyrules.columnar.scope import Counter, Scope
from safetyrules.columnar.tables import FactTables
from safetyrules.columnar.values import Unsupported
from safetyrules.engine.params import ParamTable
from safetyrules.engine.results import Outcome
from safetyrules.engine.rules import RuleEngine
from safetyrules.syntax import ast

OUTCOME_DTYPE = pl.Enum([str(o) for o in Outcome])
RESULT_COLUMNS = ("enterprise", "rule", "implements", "outcome", "due_on", "days_overdue", "days_remaining",
                  "delay_days", "listed_until")
_CODE_OF = {name: code for code, name in OUTCOME_NAMES.items()}


@dataclass(slots=True)
class ColumnarProgram:
    """A checked policy with its params, ready to run over populations (build it with `compile_policy`)."""

    policy: CheckedPolicy
    params: ParamTable
    fallback_rules: dict[str, str] = field(default_factory=dict)  # rule → why it runs on the reference engine

    @property
    def declared(self) -> list[ast.RuleDecl]:
        """The rules in the order the policy declares them (the order results are reported in)."""
        names = [d.name for m in self.policy.modules for d in m.decls if isinstance(d, ast.RuleDecl)]
        return [self.policy.rule(n) for n in names]

    @property
    def period_start(self) -> dt.date | None:
        return next((i.start for i in self.policy.header.items if isinstance(i, ast.Period)), None)

    def rule_outputs(self, tables: FactTables, as_of: dt.date, unsupported: dict[str, str] | None = None,
                     ) -> tuple[pl.Series, dict[str, pl.DataFrame]]:
        """Per rule, a frame of (code, due, delay, listed) aligned with the enterprise rows, and the ids.

        With `unsupported` (the compile-time dry run), a rule that does not compile is recorded there and
        reads as unknown to the rules after it, instead of raising `Unsupported`.
        """
        view = as_of_tables(tables, as_of)
        root = Scope(view.enterprises, view, Counter())
        ctx = Context(self.policy, self.params, as_of, root, keep=set(view.enterprises.columns))
        ev = Evaluator(ctx)
        compiler = RuleCompiler(ev, self.period_start)
        outputs: dict[str, pl.DataFrame] = {}
        if self.fallback_rules:
            outputs.update(self._fallback(tables, as_of))
            for name in self.fallback_rules:
                _record(ctx, name, outputs[name])
        for rule in self.policy.rules:
            if rule.name in self.fallback_rules:
                continue
            try:
                out = compiler.rule(rule)
                frame = root.frame.select(_named(out))
            except Unsupported as err:
                if unsupported is None:
                    raise
                unsupported[rule.name] = str(err)
                _record(ctx, rule.name, _unknown_output(len(view)))
                continue
            outputs[rule.name] = frame
            _record(ctx, rule.name, frame)
        return view.enterprises.get_column("id"), outputs

    def run(self, tables: FactTables, as_of: dt.date) -> pl.DataFrame:
        """Every rule's outcome for every enterprise, in long format (one row per enterprise and rule,
        rules in declared order, enterprises in table order within each rule)."""
        ids, outputs = self.rule_outputs(tables, as_of)
        day = pl.lit(as_of, dtype=pl.Date)
        rule_dtype = pl.Enum([r.name for r in self.declared])
        parts = []
        for rule in self.declared:
            frame = outputs[rule.name]
            violated = pl.col("code") == VIOLATED
            pending = pl.col("code") == PENDING
            parts.append(frame.select(
                enterprise=ids,
                rule=pl.lit(rule.name, dtype=rule_dtype),
                implements=pl.lit(list(rule.implements), dtype=pl.List(pl.String)),
                outcome=pl.col("code").replace_strict(OUTCOME_NAMES, return_dtype=OUTCOME_DTYPE),
                due_on=pl.col("due"),
                days_overdue=pl.when(violated).then((day - pl.col("due")).dt.total_days()).cast(pl.Int64),
                days_remaining=pl.when(pending).then((pl.col("due") - day).dt.total_days()).cast(pl.Int64),
                delay_days=pl.col("delay"),
                listed_until=pl.col("listed"),
            ))
        if not parts:
            return pl.DataFrame(schema={c: pl.String for c in RESULT_COLUMNS})
        return pl.concat(parts, rechunk=False)

    def _fallback(self, tables: FactTables, as_of: dt.date) -> dict[str, pl.DataFrame]:
        """The rules the columnar engine cannot compile, evaluated by the reference engine per record."""
        engine = RuleEngine(self.policy, self.params)
        rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in self.fallback_rules}
        for record in tables.to_records():
            for r in engine.evaluate(record, as_of):
                if r.rule in rows:
                    rows[r.rule].append((_CODE_OF[str(r.outcome)], r.due_on, r.delay_days, r.listed_until))
        schema = {"code": CODE, "due": pl.Date, "delay": pl.Int64, "listed": pl.Date}
        return {name: pl.DataFrame(v, schema=schema, orient="row") for name, v in rows.items()}


def _named(out: RuleOut) -> list[pl.Expr]:
    return [out.code.cast(CODE).alias("code"), out.due.cast(pl.Date).alias("due"),
            out.delay.cast(pl.Int64).alias("delay"), out.listed.cast(pl.Date).alias("listed")]


def _unknown_output(n: int) -> pl.DataFrame:
    return pl.DataFrame({"code": pl.Series([4] * n, dtype=CODE), "due": pl.Series([None] * n, dtype=pl.Date),
                         "delay": pl.Series([None] * n, dtype=pl.Int64),
                         "listed": pl.Series([None] * n, dtype=pl.Date)})


def _record(ctx: Context, name: str, frame: pl.DataFrame) -> None:
    """Keep a rule's outcome code for `violated(…)`/`triggered(…)`; drop the rule's scratch columns."""
    root = ctx.root
    column = f"@{name}"
    ctx.keep.add(column)
    ctx.outcomes[name] = column
    root.frame = root.frame.with_columns(frame.get_column("code").alias(column))
    root.frame = root.frame.select([c for c in root.frame.columns if c in ctx.keep])
    root.cache.clear()
    root.reset_columns()


def evaluate_population(policy: Any, records_or_tables: FactTables | Iterable[Mapping[str, Any]],
                        as_of: dt.date | str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """Convenience: compile `policy` (an `api.Policy` or a `CheckedPolicy`) with `params` and run it."""
    from safetyrules.columnar.compile import compile_policy

    checked: CheckedPolicy = policy.checked if hasattr(policy, "checked") else policy
    day = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(as_of)
    program = compile_policy(checked, ParamTable(checked, params))
    tables = records_or_tables if isinstance(records_or_tables, FactTables) \
        else FactTables.from_records(records_or_tables)
    return program.run(tables, day)
