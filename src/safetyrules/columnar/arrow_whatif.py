"""What-if and timelines over one batch of nested rows: the work of a Spark partition (`safetyrules.spark`).

A batch is validated once (`prepare_arrow`: the checks of `columnar.arrow.evaluate_arrow`) and then evaluated
on as many days as asked, over the data already read:

- `whatif_batch`: base and scenario on each day. The scenario reuses the base's evaluation of the day and
  re-runs only the rules it changes (`ColumnarProgram.evaluate(base=…)`, as `columnar.whatif` does); the
  enterprises a patch changes are evaluated again on their patched facts. Out: the changed (enterprise, rule)
  outcomes (`CHANGES_SCHEMA`, the `Change` rows of `whatif.run.run_whatif` with the due dates beside), the
  counts per side, rule and outcome (`COUNTS_SCHEMA`), how many enterprises each patch matched, and the
  rejections (`columnar.arrow.REJECTED_SCHEMA`; an enterprise a patch makes break the fact contract is
  rejected with code `patch_invalid`, where the single-process what-if stops the whole run).
- `timeline_batch`: one program on each day: counts per rule and outcome (`TIMELINE_COUNTS_SCHEMA`) and, when
  asked, the compact results of each day (`columnar.arrow.result_schema` and `as_of` in front).

`whatif_spec` turns a scenario (`whatif.scenario.Scenario`) into what a worker needs: the two compiled
programs, the patches and, per rule, the reason a change is reported with (`whatif.run`'s wording).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from safetyrules.columnar.arrow import (
    ENTERPRISE,
    REJECTED_SCHEMA,
    Prepared,
    _compact,
    prepare_arrow,
    result_schema,
)
from safetyrules.columnar.exprs import NOT_APPLICABLE, OUTCOME_NAMES
from safetyrules.columnar.kernel import ColumnarProgram, Evaluation
from safetyrules.columnar.tables import FactTables
from safetyrules.engine.results import Outcome
from safetyrules.limits import DEFAULT, Limits

if TYPE_CHECKING:
    from safetyrules.api import Policy
    from safetyrules.whatif.scenario import Patch, Scenario

UNKNOWN_PLACE = "（未知）"  # a village or industry not on record, as whatif.run writes it
CHANGES_SCHEMA = pa.schema([
    ("as_of", pa.date32()), (ENTERPRISE, pa.string()), ("name", pa.string()), ("village", pa.string()),
    ("industry", pa.string()), ("rule", pa.string()), ("implements", pa.list_(pa.string())),
    ("base", pa.string()), ("scenario", pa.string()), ("base_due_on", pa.date32()),
    ("scenario_due_on", pa.date32()), ("because", pa.string())])
COUNTS_SCHEMA = pa.schema([("as_of", pa.date32()), ("side", pa.string()), ("rule", pa.string()),
                           ("outcome", pa.string()), ("n", pa.int64())])
TIMELINE_COUNTS_SCHEMA = pa.schema([("as_of", pa.date32()), ("rule", pa.string()), ("outcome", pa.string()),
                                    ("n", pa.int64())])
_NAMES = pl.Series([OUTCOME_NAMES.get(c) for c in range(max(OUTCOME_NAMES) + 1)], dtype=pl.String)  # by code


def timeline_results_schema(program: ColumnarProgram) -> pa.Schema:
    """The per-enterprise rows of a timeline: `as_of`, then the compact results (`result_schema`)."""
    return pa.schema([pa.field("as_of", pa.date32()), *result_schema(program)])


# ------------------------------------------------------------------------------------------ one validation

# ------------------------------------------------------------------------------------------ what-if

@dataclass(frozen=True, slots=True)
class WhatIf:
    """A scenario as a worker runs it (picklable): the base and scenario programs, the patches, and per rule
    the reason a changed outcome is reported with — (facts as read, facts patched)."""

    base: ColumnarProgram
    scenario: ColumnarProgram
    patches: tuple[Patch, ...] = ()
    because: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    name: str = ""

    @property
    def same_policy(self) -> bool:
        return self.base.policy is self.scenario.policy


def whatif_spec(base: Policy, scenario: Scenario, scenario_policy: Policy | None = None,
                limits: Limits = DEFAULT) -> WhatIf:
    """What the workers need to run `scenario` against `base` (the scenario's params checked as
    `whatif.run.check_scenario` does: a bad one raises `ScenarioError`). `scenario_policy`: the base with the
    scenario's added rules (`rules_add`), when it has any."""
    from safetyrules.columnar.compile import compile_policy
    from safetyrules.whatif.run import Row, _because, check_scenario

    scenario_policy = scenario_policy or base
    params = check_scenario(scenario, scenario_policy, limits)
    base_program = compile_policy(base.program)
    if scenario_policy is base:
        scen = base_program.variant(params, scenario.rules_off)
    else:
        scen = compile_policy(scenario_policy.program).variant(params, scenario.rules_off)
    added = {r.name for r in scenario_policy.checked.rules} - {r.name for r in base.checked.rules}
    table = scen.params
    because = {}
    for rule in scen.declared:
        used = tuple(sorted(p for p in rule.params_read | rule.defines_read
                            if p in table.schedules and table.is_overridden(p)))
        row = Row("", rule.name, tuple(rule.implements), Outcome.VIOLATED, None, used)
        because[rule.name] = (_because(row, scenario, set(), added, params),
                              _because(row, scenario, {""}, added, params))
    return WhatIf(base_program, scen, tuple(scenario.patches), because, scenario.name)


@dataclass(slots=True)
class WhatIfBatch:
    """What `whatif_batch` gives for one batch (all days)."""

    changes: pa.Table  # CHANGES_SCHEMA
    counts: pa.Table  # COUNTS_SCHEMA
    rejected: pa.Table  # REJECTED_SCHEMA
    matched: list[int]  # per patch, the enterprises it matched
    evaluated: int  # enterprises evaluated (on every day)


@dataclass(slots=True)
class _Patched:
    rows: pl.Series  # positions in the tables of the enterprises a patch changed
    tables: FactTables | None  # their patched facts (scenario layout)


def _apply_patches(spec: WhatIf, prepared: Prepared, matched: list[int]) -> tuple[Prepared, _Patched]:
    """Apply the patches to the accepted enterprises (as `whatif.run` does: on the validated record, then
    validated again). An enterprise the patches make invalid is rejected (`patch_invalid`)."""
    from safetyrules.api import FactError, fact_record

    none = _Patched(pl.Series([], dtype=pl.UInt32), None)
    if not spec.patches or prepared.evaluated == 0:
        return prepared, none
    contract = spec.scenario.policy.contract
    key = contract.key
    changed: list[int] = []
    patched: list[dict[str, Any]] = []
    invalid: list[tuple[int, str, str]] = []
    for i, record in enumerate(prepared.tables.to_records()):
        current = dict(record)
        hit = False
        for j, p in enumerate(spec.patches):
            if p.matches(current):
                matched[j] += 1
                current = p.apply(current)
                hit = True
        if not hit:
            continue
        try:
            after = fact_record(current, contract=contract)
        except FactError as e:
            invalid.append((i, str(record.get(key)), f"the scenario's patches make it break the fact contract: {e}"))
            continue
        if after != fact_record(record, contract=contract):
            changed.append(i)
            patched.append(after)
    if invalid:
        at = [i for i, _, _ in invalid]
        rejected = pa.concat_tables([prepared.rejected, pa.Table.from_pylist(
            [{ENTERPRISE: who, "row": prepared.rows[i], "field": key, "code": "patch_invalid", "message": why}
             for i, who, why in invalid], schema=REJECTED_SCHEMA)]).sort_by([("row", "ascending")])
        keep = ~pl.Series(range(prepared.evaluated)).is_in(at)
        tables = prepared.tables
        tables = FactTables(tables.enterprises.filter(keep), tables.children, tables.layout).renumbered()
        prepared = Prepared(tables, rejected, prepared.rows.filter(keep))
        gone = sorted(at)
        changed = [i - sum(1 for g in gone if g < i) for i in changed]
    if not changed:
        return prepared, none
    return prepared, _Patched(pl.Series(changed, dtype=pl.UInt32),
                              FactTables.from_records(patched, spec.scenario.layout))


def _info(tables: FactTables) -> dict[str, pl.Series]:
    """Name, village and industry of each enterprise, as `whatif.run` reports them beside a change."""
    frame = tables.enterprises
    out = {}
    for name, missing in (("name", ""), ("village", UNKNOWN_PLACE), ("industry", UNKNOWN_PLACE)):
        if name in frame.columns:
            values = frame.get_column(name).cast(pl.String)
            out[name] = values.fill_null(missing) if not missing else \
                pl.select(pl.when(values.is_null() | (values == "")).then(pl.lit(missing)).otherwise(values)) \
                .to_series()
        else:
            out[name] = pl.repeat(missing, len(frame), dtype=pl.String, eager=True)
    return out


def whatif_batch(spec: WhatIf, batch: pa.RecordBatch | pa.Table | Prepared, dates: Sequence[dt.date], *,
                 limits: Limits = DEFAULT, first_row: int = 0,
                 first_rows: Mapping[str, int] | None = None) -> WhatIfBatch:
    """Base and scenario of a batch of nested rows on each of `dates` (see the module docstring). Changes are
    listed day by day, enterprises in the batch's order, rules in the scenario's declared order."""
    prepared = batch if isinstance(batch, Prepared) else prepare_arrow(
        spec.base, batch, limits=limits, first_row=first_row, first_rows=first_rows)
    matched = [0] * len(spec.patches)
    prepared, patched = _apply_patches(spec, prepared, matched)
    tables = prepared.tables
    scen_tables = tables if spec.same_policy or tables.layout.model is spec.scenario.layout.model \
        else dataclasses.replace(tables, layout=spec.scenario.layout)
    info = _info(tables)
    is_patched = pl.repeat(False, len(tables), dtype=pl.Boolean, eager=True)
    if len(patched.rows):
        is_patched = is_patched.scatter(patched.rows, True)
    changes: list[pl.DataFrame] = []
    counts: list[pl.DataFrame] = []
    base_rules = {r.name for r in spec.base.declared}
    for day in dates:
        base = spec.base.evaluate(tables, day)
        if spec.same_policy:
            scen = spec.scenario.evaluate(tables, day, base=base)
        else:
            scen = spec.scenario.evaluate(scen_tables, day)
        fixed = spec.scenario.evaluate(patched.tables, day) if patched.tables is not None else None
        counts.append(_counts(base, "base", day))
        parts = []
        for position, rule in enumerate(spec.scenario.declared):
            s_out = scen.outputs[rule.name]
            s_code, s_due = s_out.get_column("code"), s_out.get_column("due")
            if fixed is not None:  # the patched enterprises' outcomes on their patched facts
                mine = fixed.outputs[rule.name]
                s_code = s_code.clone().scatter(patched.rows, mine.get_column("code"))
                s_due = s_due.clone().scatter(patched.rows, mine.get_column("due"))
            counts.append(_code_counts(s_code, "scenario", rule.name, day))
            if rule.name in base_rules:
                b_code, b_due = base.codes(rule.name), base.outputs[rule.name].get_column("due")
            else:  # an added rule: not applicable in the base
                b_code = pl.repeat(NOT_APPLICABLE, len(tables), dtype=s_code.dtype, eager=True)
                b_due = pl.repeat(None, len(tables), dtype=pl.Date, eager=True)
            if fixed is None and rule.name not in scen.rerun and spec.same_policy:
                continue  # the base's output, unchanged
            differs = (b_code != s_code).arg_true()
            if len(differs) == 0:
                continue
            plain, patched_reason = spec.because[rule.name]
            flags = is_patched.gather(differs)
            parts.append(pl.DataFrame({
                "_at": differs.cast(pl.Int64), "_pos": pl.repeat(position, len(differs), dtype=pl.Int64, eager=True),
                "rule": pl.repeat(rule.name, len(differs), dtype=pl.String, eager=True),
                "implements": pl.repeat(list(rule.implements), len(differs), dtype=pl.List(pl.String), eager=True),
                "base": _NAMES.gather(b_code.gather(differs)), "scenario": _NAMES.gather(s_code.gather(differs)),
                "base_due_on": b_due.gather(differs), "scenario_due_on": s_due.gather(differs),
                "because": pl.select(pl.when(flags).then(pl.lit(patched_reason)).otherwise(pl.lit(plain)))
                .to_series()}))
        if parts:
            found = pl.concat(parts).sort("_at", "_pos")
            at = found.get_column("_at")
            changes.append(found.select(
                pl.lit(day, dtype=pl.Date).alias("as_of"),
                base.ids.cast(pl.String).gather(at).alias(ENTERPRISE),
                *(info[n].gather(at).alias(n) for n in ("name", "village", "industry")),
                "rule", "implements", "base", "scenario", "base_due_on", "scenario_due_on", "because"))
    changed = pl.concat(changes).to_arrow().cast(CHANGES_SCHEMA) if changes else CHANGES_SCHEMA.empty_table()
    counted = pl.concat(counts).to_arrow().cast(COUNTS_SCHEMA) if counts else COUNTS_SCHEMA.empty_table()
    return WhatIfBatch(changed, counted, prepared.rejected, matched, prepared.evaluated)


def _code_counts(codes: pl.Series, side: str, rule: str, day: dt.date) -> pl.DataFrame:
    counted = codes.value_counts(sort=False, name="n")
    return pl.DataFrame({
        "as_of": pl.repeat(day, counted.height, dtype=pl.Date, eager=True),
        "side": pl.repeat(side, counted.height, dtype=pl.String, eager=True),
        "rule": pl.repeat(rule, counted.height, dtype=pl.String, eager=True),
        "outcome": _NAMES.gather(counted.get_column(codes.name)),
        "n": counted.get_column("n").cast(pl.Int64)})


def _counts(evaluation: Evaluation, side: str, day: dt.date) -> pl.DataFrame:
    parts = [_code_counts(evaluation.codes(r.name), side, r.name, day) for r in evaluation.program.declared]
    return pl.concat(parts) if parts else pl.DataFrame(schema={"as_of": pl.Date, "side": pl.String,
                                                               "rule": pl.String, "outcome": pl.String,
                                                               "n": pl.Int64})


# ------------------------------------------------------------------------------------------ timeline

@dataclass(slots=True)
class TimelineDay:
    as_of: dt.date
    counts: pa.Table  # TIMELINE_COUNTS_SCHEMA
    results: pa.Table | None  # timeline_results_schema (when asked for)


def timeline_batch(program: ColumnarProgram, prepared: Prepared, dates: Sequence[dt.date], *,
                   results: bool = False) -> Iterator[TimelineDay]:
    """`program` over a validated batch on each of `dates`, one day at a time (memory: one day's evaluation):
    counts per rule and outcome, and the compact results when `results`."""
    schema = timeline_results_schema(program)
    for day in dates:
        evaluation = program.evaluate(prepared.tables, day)
        counted = _counts(evaluation, "", day).drop("side").to_arrow().cast(TIMELINE_COUNTS_SCHEMA)
        rows = None
        if results:
            compact = _compact(program, evaluation.ids, evaluation.outputs, day)
            rows = compact.add_column(0, "as_of", pa.array([day] * compact.num_rows, pa.date32())).cast(schema)
        yield TimelineDay(day, counted, rows)


def as_of_dates(start: dt.date | str, end: dt.date | str, step: str = "1d") -> list[dt.date]:
    """The days from `start` to `end` (inclusive) every `step`: `Nd` (days), `Nw` (weeks) or `m` (every
    month-end, as a scenario's `timeline` has them)."""
    from safetyrules.whatif.scenario import month_ends

    first = start if isinstance(start, dt.date) else dt.date.fromisoformat(start)
    last = end if isinstance(end, dt.date) else dt.date.fromisoformat(end)
    text = step.strip().lower()
    if text in ("m", "1m", "month", "month-end"):
        return month_ends(first, last)
    unit = text[-1:]
    try:
        n = int(text[:-1] or "1")
    except ValueError:
        n = 0
    if unit not in ("d", "w") or n <= 0:
        raise ValueError(f"step {step!r}: write Nd (days), Nw (weeks) or m (month-ends)")
    days = n * (7 if unit == "w" else 1)
    out = []
    day = first
    while day <= last:
        out.append(day)
        day += dt.timedelta(days=days)
    return out


__all__ = ["CHANGES_SCHEMA", "COUNTS_SCHEMA", "TIMELINE_COUNTS_SCHEMA", "UNKNOWN_PLACE", "Prepared",
           "TimelineDay", "WhatIf", "WhatIfBatch", "as_of_dates", "prepare_arrow", "timeline_batch",
           "timeline_results_schema", "whatif_batch", "whatif_spec"]
