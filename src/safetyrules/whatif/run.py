"""Run a base and a scenario over a population, on one or more dates, and compare them.

Both sides are evaluated by the same backend (`evaluate_side`); only what the scenario changes differs:
params, rules switched off or added, fact patches. Each changed (enterprise, rule) pair carries the reason:
the overridden params the rule read, the rule switched off or added, or the patched facts.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from safetyrules.api import FactError, Policy, fact_record
from safetyrules.check.common import suggest
from safetyrules.engine.params import ParamError, check_override
from safetyrules.engine.results import Outcome, Text
from safetyrules.engine.values import to_json
from safetyrules.limits import DEFAULT, Limits
from safetyrules.whatif.scenario import Scenario, ScenarioError

COMPLIANT = (Outcome.SATISFIED,)
JUDGED = (Outcome.SATISFIED, Outcome.VIOLATED)


@dataclass(frozen=True, slots=True)
class Row:
    """One (enterprise, rule) outcome, reduced to what comparisons need."""

    enterprise: str
    rule: str
    implements: tuple[str, ...]
    outcome: Outcome
    due_on: dt.date | None
    params: tuple[str, ...]  # overridden params this result read


@dataclass(slots=True)
class Change:
    as_of: dt.date
    enterprise: str
    name: str
    village: str
    industry: str
    rule: str
    implements: tuple[str, ...]
    base: Outcome
    scenario: Outcome
    because: str

    def to_json(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "enterprise": self.enterprise, "name": self.name,
                "village": self.village, "industry": self.industry, "rule": self.rule,
                "implements": list(self.implements), "base": str(self.base), "scenario": str(self.scenario),
                "because": self.because}


@dataclass(slots=True)
class DateComparison:
    as_of: dt.date
    counts: dict[str, dict[str, Counter[str]]]  # side → rule → outcome → count
    by_village: dict[str, dict[str, Counter[str]]]  # side → village → {"violated": n, "enterprises": n}
    by_industry: dict[str, dict[str, Counter[str]]]
    changes: list[Change] = field(default_factory=list)

    def count(self, side: str, rule: str, outcome: str = "violated") -> int:
        return self.counts[side][rule][outcome] if rule in self.counts[side] else 0


@dataclass(frozen=True, slots=True)
class ScenarioWarning:
    """Something in a scenario that is allowed but probably not meant (a patch that matches no enterprise)."""

    key: str  # the key path in the scenario file: `patches[1]`
    message: str
    message_zh: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message_zh} / {self.message}"

    def to_json(self) -> dict[str, str]:
        return {"key": self.key, "message": self.message, "message_zh": self.message_zh}


@dataclass(slots=True)
class WhatIfResult:
    scenario: Scenario
    rules: list[tuple[str, tuple[str, ...], str]]  # name, ids, zh title — in policy order
    dates: list[DateComparison]
    warnings: list[ScenarioWarning] = field(default_factory=list)
    params: dict[str, Any] | None = None  # the overrides as checked values (None: as the scenario wrote them)
    param_labels: dict[str, Text] = field(default_factory=dict)  # the params' labels, for the reports' words

    def compliance(self, side: str, rule: str, day: DateComparison) -> float | None:
        c = day.counts[side].get(rule, Counter())
        judged = c["satisfied"] + c["violated"]
        return c["satisfied"] / judged if judged else None

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.name,
            "params": {k: to_json(v) if self.params is not None else str(v)
                       for k, v in (self.scenario.params if self.params is None else self.params).items()},
            "rules_off": sorted(self.scenario.rules_off),
            "rules_add": [str(p) for p in self.scenario.rules_add],
            "patches": len(self.scenario.patches),
            "dates": [{
                "as_of": d.as_of.isoformat(),
                "by_rule": [{"rule": r, "implements": list(ids),
                             "base": dict(d.counts["base"].get(r, {})),
                             "scenario": dict(d.counts["scenario"].get(r, {})),
                             "delta": _delta(d.counts["base"].get(r, Counter()),
                                             d.counts["scenario"].get(r, Counter()))}
                            for r, ids, _ in self.rules],
                "by_village": {side: {v: dict(c) for v, c in sorted(d.by_village[side].items())}
                               for side in ("base", "scenario")},
                "by_industry": {side: {v: dict(c) for v, c in sorted(d.by_industry[side].items())}
                                for side in ("base", "scenario")},
                "changes": [c.to_json() for c in d.changes],
            } for d in self.dates],
            "warnings": [w.to_json() for w in self.warnings],
        }


def _delta(base: Mapping[str, int], scen: Mapping[str, int]) -> dict[str, int]:
    keys = set(base) | set(scen)
    return {k: scen.get(k, 0) - base.get(k, 0) for k in sorted(keys) if scen.get(k, 0) != base.get(k, 0)}


EvaluateSide = Callable[[Policy, list[dict[str, Any]], dt.date, Mapping[str, Any], frozenset[str]], list[Row]]


def evaluate_rows(policy: Policy, records: list[dict[str, Any]], as_of: dt.date, params: Mapping[str, Any],
                  disabled: frozenset[str], compiled: bool = True) -> list[Row]:
    """The row engine over a batch of validated records (a pure function of the batch): compiled
    expressions, or the reference interpreter alone (`compiled=False`)."""
    engine = policy.engine(params, disabled, compiled)
    rows: list[Row] = []
    for record in records:
        for r in engine.evaluate(record, as_of):
            rows.append(Row(r.enterprise, r.rule, r.implements, r.outcome, r.due_on,
                            tuple(p.name for p in r.params if p.overridden)))
    return rows


def evaluate_reference(policy: Policy, records: list[dict[str, Any]], as_of: dt.date, params: Mapping[str, Any],
                       disabled: frozenset[str]) -> list[Row]:
    """`evaluate_rows` on the reference interpreter alone."""
    return evaluate_rows(policy, records, as_of, params, disabled, compiled=False)


def check_scenario(scenario: Scenario, scenario_policy: Policy, limits: Limits = DEFAULT) -> dict[str, Any]:
    """The scenario's param overrides as values of their declared types, its rules switched off known: else a
    `ScenarioError` naming the file and the key (`params.high_risk_industries`, `rules_off`)."""
    where = f"{scenario.file}: " if scenario.file else ""
    params: dict[str, Any] = {}
    for name, value in scenario.params.items():
        try:
            params[name] = check_override(scenario_policy.program, name, value, limits)
        except ParamError as e:
            key = f"params.{name}" if name in scenario_policy.checked.params else "params"
            raise ScenarioError(f"{where}{key}: {e}") from None
    rules = [r.name for r in scenario_policy.checked.rules]
    for name in sorted(scenario.rules_off - set(rules)):
        hint = suggest(name, rules)
        raise ScenarioError(f"{where}rules_off: no rule named `{name}`" + (f"; {hint}" if hint else "")
                            + " (the rule names are listed by `safetyrules inspect`)")
    return params


def run_whatif(base: Policy, scenario_policy: Policy, scenario: Scenario, records: Iterable[dict[str, Any]],
               dates: list[dt.date], evaluate: EvaluateSide = evaluate_rows,
               progress: Callable[[int], None] | None = None, limits: Limits = DEFAULT,
               validated: bool = False) -> WhatIfResult:
    """Evaluate base and scenario on every date and compare. `records` are raw fact dicts, or records the
    loaders validated already (`validated`: a list, passed to `evaluate` as it is — an evaluator that keeps
    what it computed for a population knows it again)."""
    params = check_scenario(scenario, scenario_policy, limits)
    contract, key = base.contract, base.contract.key
    base_records = records if validated and isinstance(records, list) else [
        fact_record(r, contract=contract) for r in records]
    matched = [0] * len(scenario.patches)
    scen_records = [_patched(scenario, r, matched, scenario_policy) for r in base_records] \
        if scenario.changes_facts else base_records
    info = {str(r.get(key)): (str(r.get("name", "")), str(r.get("village", "") or "（未知）"),
                              str(r.get("industry", "") or "（未知）")) for r in base_records}
    patched = {str(r.get(key)) for r, s in zip(base_records, scen_records, strict=True) if r != s}
    added = {r.name for r in scenario_policy.checked.rules} - {r.name for r in base.checked.rules}
    comparisons = []
    for i, day in enumerate(dates):
        base_rows = evaluate(base, base_records, day, {}, frozenset())
        scen_rows = evaluate(scenario_policy, scen_records, day, params, scenario.rules_off)
        comparisons.append(_compare(day, base_rows, scen_rows, info, patched, scenario, added, params))
        if progress:
            progress(i + 1)
    rules = [(r.name, r.implements, r.title.zh) for r in scenario_policy.rules()]
    warnings = [_unmatched(i, p.where, base) for i, (p, n) in enumerate(zip(scenario.patches, matched, strict=True))
                if n == 0]
    labels = {p.name: p.label for p in scenario_policy.params() if p.label is not None}
    return WhatIfResult(scenario, rules, comparisons, warnings, params, labels)


def _unmatched(index: int, where: Mapping[str, Any], policy: Policy) -> ScenarioWarning:
    """A patch that changed no enterprise: usually a misspelt field or code, or a date written differently."""
    fields = list(policy.contract.model.model_fields)
    hints = [f"`{k}` is not a field of the fact contract" + (f" ({h})" if (h := suggest(k, fields)) else "")
             for k in where if k not in fields]
    hints_zh = [f"`{k}` 不是事实契约中的字段" for k in where if k not in fields]
    return ScenarioWarning(f"patches[{index}]",
                           "matches no enterprise: it changes no facts" + "".join(f"; {h}" for h in hints),
                           "未匹配任何企业，未改变任何事实" + "".join(f"；{h}" for h in hints_zh))


def _patched(scenario: Scenario, record: dict[str, Any], matched: list[int], policy: Policy) -> dict[str, Any]:
    """A record with the scenario's patches applied, validated again (a patch can break the contract)."""
    current = dict(record)
    for i, p in enumerate(scenario.patches):
        if p.matches(current):
            matched[i] += 1
            current = p.apply(current)
    try:
        return fact_record(current, contract=policy.contract)
    except FactError as e:
        where = f"{scenario.file}: patches: " if scenario.file else ""
        who = record.get(policy.contract.key)
        raise ScenarioError(f"{where}the patches make enterprise {who} break the fact contract: {e}") from None


def _compare(day: dt.date, base_rows: list[Row], scen_rows: list[Row], info: Mapping[str, tuple[str, str, str]],
             patched: set[str], scenario: Scenario, added: set[str], params: Mapping[str, Any]) -> DateComparison:
    counts: dict[str, dict[str, Counter[str]]] = {"base": defaultdict(Counter), "scenario": defaultdict(Counter)}
    villages: dict[str, dict[str, Counter[str]]] = {"base": defaultdict(Counter), "scenario": defaultdict(Counter)}
    industries: dict[str, dict[str, Counter[str]]] = {"base": defaultdict(Counter), "scenario": defaultdict(Counter)}
    for side, rows in (("base", base_rows), ("scenario", scen_rows)):
        violating: set[str] = set()
        for row in rows:
            counts[side][row.rule][row.outcome.value] += 1
            if row.outcome is Outcome.VIOLATED:
                violating.add(row.enterprise)
        for ent, (_, village, industry) in info.items():
            for table, key in ((villages, village), (industries, industry)):
                table[side][key]["enterprises"] += 1
                if ent in violating:
                    table[side][key]["with_violation"] += 1
    base_index = {(r.enterprise, r.rule): r for r in base_rows}
    changes = []
    for row in scen_rows:
        before = base_index.get((row.enterprise, row.rule))
        before_outcome = before.outcome if before else Outcome.NOT_APPLICABLE
        if before_outcome is row.outcome:
            continue
        name, village, industry = info.get(row.enterprise, ("", "", ""))
        changes.append(Change(day, row.enterprise, name, village, industry, row.rule, row.implements,
                              before_outcome, row.outcome, _because(row, scenario, patched, added, params)))
    return DateComparison(day, counts, villages, industries, changes)


def _because(row: Row, scenario: Scenario, patched: set[str], added: set[str], params: Mapping[str, Any]) -> str:
    reasons = []
    if row.rule in scenario.rules_off:
        reasons.append(f"rule {row.rule} switched off")
    if row.rule in added:
        reasons.append(f"rule {row.rule} added")
    if row.params:
        reasons.append("params " + ", ".join(f"{p}={_shown(params.get(p))}" for p in row.params))
    if row.enterprise in patched:
        reasons.append("facts patched")
    return "; ".join(reasons) or "depends on a changed rule"


def _shown(value: Any) -> str:
    shown = to_json(value)
    return "[" + ", ".join(map(str, shown)) + "]" if isinstance(shown, list) else str(shown)
