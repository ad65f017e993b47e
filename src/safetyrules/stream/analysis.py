"""Static analysis of a checked policy for incremental evaluation, and the reference evaluation of a subset.

For every rule the monitor needs to know, once per policy:

* **what it reads**: the top-level record fields (directly or through definitions; `id` and `established_on`
  always, because the engine itself reads them), the rules whose outcomes it uses, and for each list it
  reads only through filters on the item alone (`r.kind == "risk_list"`, `h.major`) those filters. An event
  re-evaluates only the rules that read a field it changed and whose filters the added or changed item
  passes (:meth:`PolicyAnalysis.affected`); a rule is given only the items that pass its filters
  (:meth:`PolicyAnalysis.prune`).
* **when its outcome can change with time alone**: :func:`next_change` gives the first candidate day after
  an evaluation (see its doc). A use of `as_of` that fits none of the analysed forms makes the rule *daily*
  (re-evaluated every day): always correct, only slower. The seed policy has no daily rule.

:class:`SubsetEvaluator` evaluates chosen rules of one enterprise with the reference engine's own per-rule
code (`RuleEngine._rule`, what `RuleEngine.evaluate` runs for each rule) on the as-of view of the fields they
read, the cached outcomes of the other rules standing in for `violated(r)` and `triggered(r)`.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from safetyrules.api import Policy
from safetyrules.check.types import DURATION, type_of
from safetyrules.engine.compiled import Deferred
from safetyrules.engine.interpreter import Bound, Interpreter, truth
from safetyrules.engine.params import ParamTable
from safetyrules.engine.results import Outcome, RuleResult
from safetyrules.engine.rules import DEFAULT_LATE_ACT_MEMORY, Evaluator, RuleEngine
from safetyrules.engine.values import Duration, shift_date
from safetyrules.facts.as_of import EVENT_DATE_PATHS, Effect, as_of_view
from safetyrules.lower.program import Program, RuleIR
from safetyrules.stream.events import ItemChange
from safetyrules.syntax import ast

IMPLICIT_FIELDS = frozenset({"id", "established_on"})
"""Fields the engine reads for every rule (the result's enterprise; new-entrant grace and first due dates)."""

_YEAR_FIELDS = frozenset(p.split("[]")[0] for p in EVENT_DATE_PATHS if p.endswith(".year"))
"""Lists whose items the as-of view drops by year (not by date)."""
_COMPARISONS = frozenset({"<", "<=", ">", ">=", "==", "!="})


# ------------------------------------------------------------------------------------------ calendar ends
# Date arithmetic here saturates at the ends of the calendar, as the engines' does (docs/semantics.md): a day
# after 9999-12-31 is 9999-12-31, so a candidate change date past the calendar is its last day (one wake-up,
# then nothing is later), never an error that would make the monitor check every day.


def add_days(d: dt.date, n: int) -> dt.date:
    """`d + n days`, saturating at `date.min` and `date.max`."""
    ordinal = d.toordinal() + n
    if ordinal > _MAX_ORDINAL:
        return dt.date.max
    if ordinal < 1:
        return dt.date.min
    return dt.date.fromordinal(ordinal)


_MAX_ORDINAL = dt.date.max.toordinal()


def shift(d: dt.date, p: Duration, sign: int = 1) -> dt.date:
    """`d + sign·p` with the engine's calendar arithmetic (month ends clamp), saturating at the calendar ends."""
    try:
        return shift_date(d, p, sign)
    except (OverflowError, ValueError):
        forward = sign * (p.months * 31 + p.days + p.seconds / 86400) > 0
        return dt.date.max if forward else dt.date.min


@dataclass(frozen=True, slots=True)
class RulePlan:
    """What the monitor knows about one rule before any evaluation."""

    name: str
    index: int  # position in dependency order
    fields: frozenset[str]
    uses: frozenset[str]  # rules whose outcome it reads, directly
    dependents: frozenset[str]  # rules that read its outcome, directly or not
    durations: tuple[Duration, ...]  # durations in the rule's expressions (periods, windows, listings…)
    memory: tuple[Duration, ...]  # the late act memory (per-event obligations)
    shifts: tuple[tuple[int, Duration], ...]  # `as_of + p` (1) or `as_of - p` (-1) compared with dates
    static_dates: tuple[dt.date, ...]
    as_of_compared: bool  # `as_of` compared with dates
    year_boundary: bool
    static_years: tuple[int, ...]  # years of the policy (of its dates, and integers of 1000-9999 it reads)
    year_offset: int  # the largest small integer (0-999) the rule reads: how far past a year it may look
    daily: bool
    periodic: bool
    per_event: bool
    trigger: bool


@dataclass(slots=True)
class _Reads:
    fields: set[str] = dataclasses.field(default_factory=set)
    rules: set[str] = dataclasses.field(default_factory=set)
    params: set[str] = dataclasses.field(default_factory=set)
    durations: set[Duration] = dataclasses.field(default_factory=set)
    dates: set[dt.date] = dataclasses.field(default_factory=set)
    compared: bool = False
    year: bool = False
    daily: bool = False
    shifts: set[tuple[int, Duration]] = dataclasses.field(default_factory=set)  # `as_of ± p` compared
    memory: set[Duration] = dataclasses.field(default_factory=set)
    ints: set[int] = dataclasses.field(default_factory=set)  # integer literals and integer param values
    filters: dict[str, list[tuple[str, ast.Expr | None]]] = dataclasses.field(default_factory=dict)
    unfiltered: set[str] = dataclasses.field(default_factory=set)  # lists also read other than by a filter
    each_fields: set[str] = dataclasses.field(default_factory=set)  # lists a rule's `each` ranges over

    def merge(self, other: _Reads) -> None:
        for name, found in other.filters.items():
            self.filters.setdefault(name, []).extend(found)
        self.unfiltered |= other.unfiltered
        self.fields |= other.fields
        self.rules |= other.rules
        self.params |= other.params
        self.durations |= other.durations
        self.dates |= other.dates
        self.compared |= other.compared
        self.year |= other.year
        self.daily |= other.daily
        self.shifts |= other.shifts
        self.memory |= other.memory
        self.ints |= other.ints


class _Walker:
    def __init__(self, policy: Program, params: ParamTable) -> None:
        self.policy = policy
        self.params = params
        self._defines: dict[str, _Reads] = {}
        self._active: set[str] = set()

    def define(self, name: str) -> _Reads:
        cached = self._defines.get(name)
        if cached is None:
            if name in self._active:  # pragma: no cover - the checker refuses cycles
                return _Reads(daily=True)
            self._active.add(name)
            cached = _Reads()
            self.expr(self.params.definitions[name].value, frozenset(), cached, None)
            self._active.discard(name)
            self._defines[name] = cached
        return cached

    def param(self, name: str, reads: _Reads) -> None:
        reads.params.add(name)
        schedule = self.params.schedules.get(name)
        if schedule is None:
            return
        for start, value in schedule.entries:
            if start is not None:
                reads.dates.add(start)
            if isinstance(value, Duration):
                reads.durations.add(value)
            elif isinstance(value, dt.date):
                reads.dates.add(value)
            elif isinstance(value, int) and not isinstance(value, bool):
                reads.ints.add(value)

    def durations_of(self, e: ast.Expr) -> set[Duration] | None:
        """Every value a duration expression can take (a literal or a param), or None for another expression."""
        if isinstance(e, ast.DurationLit):
            return {Duration.of(e.amount, e.unit)}
        name = e.id if isinstance(e, ast.Name) else (e.param if isinstance(e, ast.ParamAt) else None)
        schedule = self.params.schedules.get(name) if name is not None else None
        if schedule is None:
            return None
        values = {v for _, v in schedule.entries if isinstance(v, Duration)}
        return values if len(values) == len(schedule.entries) else None

    def expr(self, e: ast.Expr | None, bound: frozenset[str], reads: _Reads, context: str | None) -> None:
        """Walk an expression; `context` is "cmp" under a comparison, "year" as the argument of year()."""
        if e is None:
            return
        match e:
            case ast.AsOf():
                if context == "cmp":
                    reads.compared = True
                elif context == "year":
                    reads.year = True
                else:
                    reads.daily = True
            case ast.Name(id=name):
                if name in bound:
                    return
                if name in self.params.definitions:
                    reads.merge(self.define(name))
                elif name in self.params.schedules:
                    self.param(name, reads)
                else:
                    reads.fields.add(name)
                    reads.unfiltered.add(name)
            case ast.Field(target=target):
                self.expr(target, bound, reads, None)
            case ast.ParamAt(param=p, at=at):
                self.param(p, reads)
                self.expr(at, bound, reads, None)
            case ast.DurationLit(amount=n, unit=u):
                reads.durations.add(Duration.of(n, u))
            case ast.DateLit(value=v):
                reads.dates.add(v)
            case ast.InstantLit(value=v):
                reads.dates.add(v.date())
            case ast.Binary(op=op, left=lhs, right=rhs):
                if op in _COMPARISONS:
                    self.expr(lhs, bound, reads, "cmp")
                    self.expr(rhs, bound, reads, "cmp")
                elif op in ("+", "-") and context == "cmp" and (
                        (isinstance(lhs, ast.AsOf) and self._is_duration(rhs))
                        or (op == "+" and isinstance(rhs, ast.AsOf) and self._is_duration(lhs))):
                    # `as_of - window` compared with a date: the exact crossing days are candidates
                    amount = rhs if isinstance(lhs, ast.AsOf) else lhs
                    values = self.durations_of(amount)
                    if values is None:
                        reads.daily = True
                    else:
                        sign = -1 if op == "-" else 1
                        reads.shifts |= {(sign, v) for v in values}
                        reads.compared = True
                    self.expr(amount, bound, reads, None)
                else:
                    self.expr(lhs, bound, reads, None)
                    self.expr(rhs, bound, reads, None)
            case ast.Call(func=f, args=args):
                if f in ("violated", "triggered"):
                    for a in args:
                        if isinstance(a, ast.Name):
                            reads.rules.add(a.id)
                    return
                inner = "year" if f == "year" else ("cmp" if f in ("greatest", "least", "coalesce")
                                                    and context == "cmp" else None)
                for a in args:
                    self.expr(a, bound, reads, inner)
            case ast.Quantifier(var=v, collection=c, where=w, body=b):
                self.collection(c, v, w, bound, reads)
                self.expr(w, bound | {v}, reads, None)
                self.expr(b, bound | {v}, reads, None)
            case ast.OrderPick(var=v, collection=c, where=w, key=k):
                self.collection(c, v, w, bound, reads)
                self.expr(w, bound | {v}, reads, None)
                self.expr(k, bound | {v}, reads, None)
            case ast.IfThenElse(cond=c, then=t, else_=x):
                self.expr(c, bound, reads, None)
                self.expr(t, bound, reads, context)
                self.expr(x, bound, reads, context)
            case ast.Unary(operand=o):
                self.expr(o, bound, reads, None)
            case ast.IsTest(operand=o):
                self.expr(o, bound, reads, None)
            case ast.SetLit(items=items):
                for i in items:
                    self.expr(i, bound, reads, None)
            case ast.IntRange(low=lo, high=hi):
                self.expr(lo, bound, reads, None)
                self.expr(hi, bound, reads, None)
            case ast.IntLit(value=v):
                reads.ints.add(v)
            case ast.StringLit() | ast.BoolLit() | ast.NullLit():
                return
            case _:  # pragma: no cover - an expression this analysis does not know: be safe
                reads.daily = True
                reads.fields.add("*")

    def collection(self, c: ast.Expr, var: str, where: ast.Expr | None, bound: frozenset[str], reads: _Reads) -> None:
        """A quantified collection: a record list read through a filter is noted with the filter."""
        if isinstance(c, ast.Name) and c.id not in bound and c.id not in self.params.definitions \
                and c.id not in self.params.schedules:
            reads.fields.add(c.id)
            reads.filters.setdefault(c.id, []).append((var, where))
        else:
            self.expr(c, bound, reads, None)

    def _is_duration(self, e: ast.Expr) -> bool:
        if type_of(e) == DURATION:
            return True
        if isinstance(e, ast.DurationLit):
            return True
        if isinstance(e, ast.Name) and e.id in self.policy.params:
            return self.policy.param_types.get(e.id) == DURATION
        return isinstance(e, ast.ParamAt)

    def rule(self, rule: RuleIR) -> _Reads:
        reads = _Reads()
        each = rule.each
        bound: frozenset[str] = frozenset()
        if each is not None:
            self.collection(each.collection, each.var, each.where, bound, reads)
            if isinstance(each.collection, ast.Name):
                reads.each_fields.add(each.collection.id)
            bound = frozenset({each.var})
            self.expr(each.where, bound, reads, None)
        if rule.effective is not None:
            reads.dates.add(rule.effective)
        for c in (rule.applies, *rule.requires, *(u.when for u in rule.unless), rule.trigger_on, rule.listing):
            self.expr(c, bound, reads, None)
        match rule.deadline:
            case ast.DueBy(deadline=d, met=m):
                self.expr(d, bound, reads, None)
                self.expr(m, bound, reads, None)
            case ast.DueEvery(period=p, last=last, first=f):
                self.expr(p, bound, reads, None)
                self.expr(last, bound, reads, None)
                self.expr(f, bound, reads, None)
            case ast.DueWithin(window=w, after=a, done=d):
                self.expr(w, bound, reads, None)
                self.expr(a, bound, reads, None)
                self.expr(d, bound, reads, None)
            case ast.DueOn(deadline=d, done=dn):
                self.expr(d, bound, reads, None)
                self.expr(dn, bound, reads, None)
        # the engine's own params: the first-due anchor is a date like a literal; the late act memory applies to
        # the acts of events; the new-entrant grace only moves a deadline, which the result reports
        if "periodic_first_due_anchor" in rule.reserved_read and "periodic_first_due_anchor" in self.policy.params:
            self.param("periodic_first_due_anchor", reads)
        if "late_act_memory" in rule.reserved_read:
            schedule = self.params.schedules.get("late_act_memory")
            reads.memory |= {v for _, v in schedule.entries if isinstance(v, Duration)} if schedule \
                else {DEFAULT_LATE_ACT_MEMORY}
            reads.dates |= {d for d, _ in schedule.entries if d is not None} if schedule else set()
        return reads


class PolicyAnalysis:
    """Per-rule read sets and time sensitivity of a checked policy (with one param table)."""

    def __init__(self, policy: Program, params: ParamTable, probe: Evaluator | None = None) -> None:
        """`probe`: the engine's evaluator for item filters (compiled expressions; the reference interpreter
        when none is given, or for a filter the compiled code defers)."""
        self.policy = policy
        self.params = params
        walker = _Walker(policy, params)
        reads = {r.name: walker.rule(r) for r in policy.rules}
        direct_users: dict[str, set[str]] = {r.name: set() for r in policy.rules}
        for name, rd in reads.items():
            for used in rd.rules | policy.rule(name).rules_read:
                direct_users.setdefault(used, set()).add(name)
        self.order: list[str] = [r.name for r in policy.rules]
        self.all_fields: set[str] = set()
        self.plans: dict[str, RulePlan] = {}
        for index, rule in enumerate(policy.rules):
            rd = reads[rule.name]
            fields = frozenset(rd.fields | IMPLICIT_FIELDS)
            self.all_fields |= fields
            self.plans[rule.name] = RulePlan(
                name=rule.name, index=index, fields=fields,
                uses=frozenset(rd.rules | rule.rules_read),
                dependents=frozenset(_closure(rule.name, direct_users)),
                durations=tuple(sorted(rd.durations, key=_duration_key)),
                memory=tuple(sorted(rd.memory, key=_duration_key)),
                shifts=tuple(sorted(rd.shifts, key=lambda s: (s[0], _duration_key(s[1])))),
                static_dates=tuple(sorted(rd.dates)),
                as_of_compared=rd.compared,
                year_boundary=rd.year or bool(fields & _YEAR_FIELDS),
                static_years=tuple(sorted({d.year for d in rd.dates} | {v for v in rd.ints if 1000 <= v <= 9999})),
                year_offset=max((v for v in rd.ints if 0 <= v < 1000), default=0),
                daily=rd.daily,
                periodic=isinstance(rule.deadline, ast.DueEvery),
                per_event=isinstance(rule.deadline, ast.DueWithin | ast.DueOn),
                trigger=rule.kind == "trigger",
            )
        self.users: dict[str, frozenset[str]] = {n: frozenset(u) for n, u in direct_users.items()}
        self.item_filters: dict[str, dict[str, tuple[tuple[str, ast.Expr | None], ...]]] = {}
        for name, rd in reads.items():
            self.item_filters[name] = {
                f: tuple(found) for f, found in rd.filters.items()
                if f not in rd.unfiltered and all(_item_only(w, v, f, policy) for v, w in found)}
        # lists a rule reads only through such filters, and never with `each` (whose event paths may be
        # positions): the rule's evaluation can be given only the items that pass one of its filters
        self.prunable: dict[str, dict[str, tuple[tuple[str, ast.Expr | None], ...]]] = {
            name: {f: found for f, found in self.item_filters[name].items()
                   if f not in reads[name].each_fields and all(w is not None for _, w in found)}
            for name in reads}
        # filters read only the item: the probe's record, date and rule outcomes are never read
        self._reference_probe = Interpreter({}, dt.date(2000, 1, 1), params.value, params.definitions,
                                            lambda _: "unknown", False)
        self._probe: Evaluator = probe if probe is not None else self._reference_probe
        self._verdicts: dict[tuple[int, int], tuple[Any, bool]] = {}  # (filter, item) → (item, passes)
        self.by_field: dict[str, frozenset[str]] = {}
        for f in self.all_fields:
            self.by_field[f] = frozenset(n for n, p in self.plans.items() if f in p.fields or "*" in p.fields)
        self.static: dict[str, tuple[dt.date, ...]] = {
            name: _static_candidates(plan) for name, plan in self.plans.items()}

    def rules_reading(self, fields: Iterable[str]) -> set[str]:
        """The rules that read any of these top-level fields (a field no rule reads changes nothing)."""
        out: set[str] = set()
        for f in fields:
            out |= self.by_field.get(f, self.by_field.get("*", frozenset()))
        return out

    def affected(self, rule: str, touched: Iterable[str], items: Iterable[ItemChange]) -> bool:
        """Whether a change of these list items can change the rule: False when every item, before and after,
        fails every filter through which the rule reads its list (a dual report for the risk-list rule)."""
        plan = self.plans[rule]
        filters = self.item_filters[rule]
        changes = list(items)
        for f in touched:
            if f not in plan.fields:
                continue
            found = filters.get(f)
            if found is None:
                return True
            for change in changes:
                if change.field != f:
                    continue
                if change.created:
                    return True
                for item in (change.old, change.new):
                    if item is not None and any(self._passes(var, where, item) for var, where in found):
                        return True
        return False

    def prune(self, field: str, names: Iterable[str], items: list[Any], cache: dict[Any, Any] | None) -> list[Any]:
        """The items of a list that pass a filter through which one of the rules reads it (all of them when a
        rule reads it otherwise). `cache` (per enterprise) makes a list that only grew cost only its new items."""
        filters: list[tuple[str, ast.Expr | None]] = []
        readers: list[str] = []
        for n in names:
            if field not in self.plans[n].fields:
                continue
            found = self.prunable[n].get(field)
            if found is None:
                return items
            filters.extend(found)
            readers.append(n)
        if not filters:
            return items
        # keyed by the rules that read the field, not by all those evaluated with them: the enforcement
        # candidate evaluated with the dual-report rule must not make it prune the reports afresh
        key = (field, tuple(sorted(readers)))
        hit = cache.get(key) if cache is not None else None
        start, kept = 0, []
        if hit is not None:
            source, pruned = hit
            if source is items:
                return pruned  # type: ignore[no-any-return]
            if len(items) >= len(source) and all(a is b for a, b in zip(source, items, strict=False)):
                start, kept = len(source), list(pruned)
        kept.extend(item for item in items[start:] if any(self._passes(v, w, item) for v, w in filters))
        if cache is not None:
            cache[key] = (items, kept)
        return kept

    def _passes(self, var: str, where: ast.Expr | None, item: Any) -> bool:
        """Whether an item passes an item-only filter: `any(var in [item] where <filter>)` is not false,
        that is, the filter's truth is not false (evaluated by the engine, with its unknowns)."""
        if where is None:
            return True
        key = (id(where), id(item))
        hit = self._verdicts.get(key)
        if hit is not None and hit[0] is item:  # the item itself is kept, so its id is not reused
            return hit[1]
        env = {var: Bound(item, _PROBE, 0)}
        self._probe.reset()
        try:
            value = self._probe.eval(where, env)
        except Deferred:  # a long integer range: the reference interpreter evaluates it
            self._reference_probe.reset()
            value = self._reference_probe.eval(where, env)
        verdict = truth(value) is not False
        if len(self._verdicts) >= _MAX_VERDICTS:
            self._verdicts.clear()
        self._verdicts[key] = (item, verdict)
        return verdict

    def with_dependents(self, names: Iterable[str]) -> set[str]:
        out = set(names)
        for n in list(out):
            out |= self.plans[n].dependents
        return out


_PROBE = "__stream_probe_items"
_MAX_BATCHES = 4096  # sets of rules evaluated together, with the fields they read
_MAX_VERDICTS = 8192  # filter verdicts kept (with their items): an event's items are asked about on its day
_VIEW_CHANGED: dict[str, frozenset[str]] = {}
for _path, _rule in EVENT_DATE_PATHS.items():
    if "[]." in _path and _rule.effect is not Effect.DROP_ITEM:
        _list_name, _rest = _path.split("[].", 1)
        _VIEW_CHANGED[_list_name] = _VIEW_CHANGED.get(_list_name, frozenset()) | {_rest.split(".")[0]}


def _item_only(where: ast.Expr | None, var: str, field: str, policy: Program) -> bool:
    """Whether a filter reads only the item (no other fact, param, definition or `as_of`), and none of the
    item's fields that the as-of view may change (so its value for an item never changes with time)."""
    if where is None:
        return True
    changed = _VIEW_CHANGED.get(field, frozenset())
    stack: list[Any] = [where]
    while stack:
        e = stack.pop()
        match e:
            case ast.Field(target=ast.Name(id=name), name=sub):
                if name != var or sub in changed:
                    return False
            case ast.Field(target=target):
                stack.append(target)
            case ast.Name():
                return False
            case ast.IntLit() | ast.StringLit() | ast.BoolLit() | ast.NullLit() | ast.DateLit() | ast.DurationLit() \
                    | ast.InstantLit():
                continue
            case ast.SetLit(items=items):
                stack.extend(items)
            case ast.Binary(left=lhs, right=rhs):
                stack.extend((lhs, rhs))
            case ast.Unary(operand=o) | ast.IsTest(operand=o):
                stack.append(o)
            case ast.IfThenElse(cond=c, then=t, else_=x):
                stack.extend((c, t, x))
            case ast.Call(func=f, args=args) if f not in ("violated", "triggered"):
                stack.extend(args)
            case _:
                return False
    return True


def _duration_key(d: Duration) -> tuple[int, int, int]:
    return (d.months, d.days, d.seconds)


def _closure(name: str, users: Mapping[str, set[str]]) -> set[str]:
    out: set[str] = set()
    todo = list(users.get(name, ()))
    while todo:
        n = todo.pop()
        if n not in out:
            out.add(n)
            todo.extend(users.get(n, ()))
    return out


# ------------------------------------------------------------------------------------------ dates in facts


def fact_dates(value: Any) -> tuple[dt.date, ...]:
    """Every date in a fact value (instants by their local date), sorted, without repeats."""
    found: set[dt.date] = set()
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dt.datetime):
            found.add(v.date())
        elif isinstance(v, dt.date):
            found.add(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return tuple(sorted(found))


def _grew(old: Any, new: Any) -> bool:
    """Whether `new` is the list `old` with items appended (the same objects first)."""
    return isinstance(new, list) and isinstance(old, list) and len(new) > len(old) \
        and all(a is b for a, b in zip(old, new, strict=False))


class FieldDates:
    """The dates of each top-level field of one record, recomputed only when the field's value changes."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[str, tuple[Any, tuple[dt.date, ...]]] = {}

    def of(self, record: Mapping[str, Any], name: str) -> tuple[dt.date, ...]:
        value = record.get(name)
        hit = self._cache.get(name)
        if hit is not None and hit[0] is value:
            return hit[1]
        if hit is not None and isinstance(value, list) and _grew(hit[0], value):
            # a list that only grew (events append; the record is copied on write): add its new items' dates
            dates = tuple(sorted(set(hit[1]).union(fact_dates(value[len(hit[0]):]))))
        else:
            dates = fact_dates(value)
        self._cache[name] = (value, dates)
        return dates


def soon_eligible(plan: RulePlan, result: RuleResult) -> bool:
    """Whether the rule-level due date of this result is a deadline still to meet (for due-soon alerts)."""
    if result.due_on is None or plan.per_event:
        return False
    return result.outcome is Outcome.PENDING or (plan.periodic and result.outcome is Outcome.SATISFIED)


def _static_candidates(plan: RulePlan) -> tuple[dt.date, ...]:
    out: set[dt.date] = set()
    for s in plan.static_dates:
        out.update((s, add_days(s, 1)))
        for p in plan.durations:
            base = shift(s, p)
            out.update((base, add_days(base, 1)))
    return tuple(sorted(out))


def _result_dates(result: RuleResult) -> tuple[list[dt.date], list[dt.date]]:
    """The deadlines of a result (due dates, listing ends) and all its dates."""
    deadlines = [d for d in (result.due_on, result.listed_until) if d is not None]
    dates = [d for d in (result.due_on, result.last_event_on, result.listed_until) if d is not None]
    for e in result.events:
        deadlines.extend(d for d in (e.due_on, e.listed_until) if d is not None)
        dates.extend(d for d in (e.event_on, e.due_on, e.done_on, e.listed_until) if d is not None)
    return deadlines, dates


def next_change(plan: RulePlan, result: RuleResult, record: Mapping[str, Any], dates: FieldDates, day: dt.date,
                alert_days: int, static: tuple[dt.date, ...] = ()) -> dt.date | None:
    """The first day after `day` on which the rule's outcome or due-soon state may change without an event.

    Candidates (the engine's deadlines are inclusive: `as_of <= X` changes on X + 1):

    * from the result: X + 1 for every due date and listing end (of the rule and of each event), X + p + 1 for
      every date of the result (also the last event, each event's dates) and every duration p of the rule's
      expressions (the next periodic due date after the last event), the end of a late act's memory, and the
      day a due date still to meet comes within `alert_days`;
    * from the facts the rule reads: the first date after `day` (a later fact becomes visible on its day); if
      the rule compares `as_of` with dates, also the day after the first date on or after `day`
      (`expires_on >= as_of` turns false then); if it compares `as_of ± p`, the exact days on which
      `as_of ± p` reaches and passes each date (calendar arithmetic clamps month ends);
    * from the policy: its literal dates, `effective` dates, dated params and the first-due anchor, each also
      shifted by the rule's durations; New Year for per-year facts and `year(as_of)`.

    A rule that uses `as_of` otherwise is re-evaluated daily.
    """
    if plan.daily:
        return add_days(day, 1) if day < dt.date.max else None
    best: dt.date | None = None

    def consider(d: dt.date) -> None:
        nonlocal best
        if d > day and (best is None or d < best):
            best = d

    if soon_eligible(plan, result) and result.due_on is not None:
        consider(add_days(result.due_on, -alert_days))
    for x in (result.due_on, result.listed_until):
        if x is not None:
            consider(add_days(x, 1))
    for x in (result.due_on, result.last_event_on, result.listed_until):
        if x is not None:
            for p in plan.durations:
                consider(add_days(_shift(x, p), 1))
    for e in result.events:
        for x in (e.due_on, e.listed_until):
            if x is not None:
                consider(add_days(x, 1))
        if e.outcome is Outcome.PENDING and e.due_on is not None:
            consider(add_days(e.due_on, -alert_days))
        if e.done_on is not None and e.delay_days:
            for m in plan.memory:
                consider(add_days(_shift(e.done_on, m), 1))
        for x in (e.event_on, e.due_on, e.done_on, e.listed_until):
            if x is not None:
                for p in plan.durations:
                    consider(add_days(_shift(x, p), 1))
    i = bisect.bisect_right(static, day)
    if i < len(static):
        consider(static[i])
    if plan.year_boundary:
        new_year = _next_new_year(plan, result, record, dates, day)
        if new_year is not None:
            consider(new_year)
    for sign, p in plan.shifts:
        for x in plan.static_dates:
            for crossing in _crossing(x, sign, p):
                consider(crossing)
    for name in plan.fields:
        found = dates.of(record, name)
        if not found:
            continue
        j = bisect.bisect_right(found, day)
        if j < len(found):
            consider(found[j])
        if plan.as_of_compared:
            k = bisect.bisect_left(found, day)
            if k < len(found):
                consider(add_days(found[k], 1))
        for sign, p in plan.shifts:
            for crossing in _next_crossings(found, day, sign, p):
                consider(crossing)
    return best


def _next_crossings(found: tuple[dt.date, ...], day: dt.date, sign: int, p: Duration) -> Iterator[dt.date]:
    """The crossing days (:func:`_crossing`) of the dates `found` (sorted) that may be the earliest after `day`.

    Both crossing days of a date x (when `as_of + sign·p` reaches x, when it passes x) never decrease as x
    grows (calendar arithmetic clamps month ends, but keeps order). So the dates before `day + sign·p` (less a
    few days of clamping) were all crossed on or before `day`; from there, every date is looked at until the
    first one that is reached only after `day`: no later date is crossed earlier. Each date found in between
    is looked at — several hires a few days apart, or other dates of the same list, must not hide the one
    that is crossed next (only looking at the first three such dates missed it)."""
    k = bisect.bisect_left(found, add_days(_shift(day, p, sign), -_FEW_DAYS))
    for x in found[k:]:
        crossings = list(_crossing(x, sign, p))
        yield from crossings
        if not crossings or crossings[0] > day:
            return  # reached after `day`, or never (past the calendar's end): no later date is crossed sooner


def _next_new_year(plan: RulePlan, result: RuleResult, record: Mapping[str, Any], dates: FieldDates,
                   day: dt.date) -> dt.date | None:
    """The next New Year that may change the outcome of a rule that reads `year(as_of)` or per-year facts.

    The rule compares the year, or ranges over years up to it, with the years it can see — of the dates and
    per-year items of the facts it reads, of its result, of the policy's dates and year-like integers (1000 to
    9999) — shifted by at most its largest small integer `k` (0 to 999: `year(as_of) - 1`, `… >= 3`). So a New
    Year may change the outcome only within `k + 2` years of one of those years (the extra year: a range over
    years then gains a year with no fact, which adds nothing the quantifier has not counted once); in between,
    and past the last of them, the monitor does not wake the rule on New Years — instead of every year to the
    end of the calendar.
    """
    if day.year >= dt.MAXYEAR:
        return None
    k = plan.year_offset + 2
    low = day.year + 1 - k  # the smallest year v that still has a New Year within k of it after `day`
    best: int | None = None

    def see(v: int) -> None:
        nonlocal best
        if v >= low and (best is None or v < best):
            best = v

    i = bisect.bisect_left(plan.static_years, low)
    if i < len(plan.static_years):
        see(plan.static_years[i])
    _, found = _result_dates(result)
    for d in found:
        see(d.year)
    first = dt.date(max(low, dt.MINYEAR), 1, 1)
    for name in plan.fields:
        field_dates = dates.of(record, name)
        j = bisect.bisect_left(field_dates, first)
        if j < len(field_dates):
            see(field_dates[j].year)
        if name in _YEAR_FIELDS:
            items = record.get(name)
            if isinstance(items, list):
                for item in items:
                    y = item.get("year") if isinstance(item, dict) else None
                    if isinstance(y, int) and not isinstance(y, bool):
                        see(y)
    if best is None:
        return None
    year = max(day.year + 1, best - k)
    return dt.date(year, 1, 1) if year <= dt.MAXYEAR else None


_FEW_DAYS = 5
_shift = functools.lru_cache(maxsize=1 << 14)(shift)  # the same few dates and durations, again and again


def _crossing(x: dt.date, sign: int, p: Duration) -> Iterator[dt.date]:
    """The first day on which `as_of + sign·p` reaches `x`, and the first on which it passes it."""
    a = add_days(_shift(x, p, -sign), -_FEW_DAYS)
    reached = False
    for _ in range(14):
        moved = _shift(a, p, sign)
        if not reached and moved >= x:
            reached = True
            yield a
        if moved > x:
            yield a
            return
        a = add_days(a, 1)


# ------------------------------------------------------------------------------------------ evaluation


class SubsetEvaluator:
    """The reference engine, evaluating chosen rules of one enterprise with other outcomes injected."""

    def __init__(self, policy: Policy, params: Mapping[str, Any] | None = None) -> None:
        self.policy = policy
        self.engine: RuleEngine = policy.engine(params)
        self.program = policy.program
        self.analysis = PolicyAnalysis(self.program, self.engine.params, self.engine.interpreter(
            {}, dt.date(2000, 1, 1), lambda _: str(Outcome.UNKNOWN)))
        self._rules = list(self.program.rules)
        self._batches: dict[frozenset[str], tuple[frozenset[str], list[RuleIR]]] = {}  # names → fields, rules
        # rebound for every evaluation: compiled expressions, as `Policy.engine` builds the engine
        self._interp = self.engine.interpreter({}, dt.date(2000, 1, 1), lambda _: str(Outcome.UNKNOWN))

    def evaluate(self, record: Mapping[str, Any], as_of: dt.date, names: Iterable[str],
                 outcomes: Mapping[str, Outcome], dates: FieldDates | None = None,
                 pruned: dict[Any, Any] | None = None) -> dict[str, RuleResult]:
        """Results of the named rules on `as_of`, in dependency order; `outcomes` stands in for the others.

        With `dates` (the record's field dates), a field with no date after `as_of` (and no per-year facts)
        is passed as it is: the as-of view would not change it. With `pruned` (a per-enterprise cache), a list
        the rules read only through item filters is given to them with only the items that pass (an item that
        fails every filter counts in no quantifier).
        """
        wanted = frozenset(names)
        batch = self._batches.get(wanted)
        if batch is None:
            if len(self._batches) >= _MAX_BATCHES:
                self._batches.clear()
            batch = self._batches[wanted] = (
                frozenset().union(*(self.analysis.plans[n].fields for n in wanted)),
                [r for r in self._rules if r.name in wanted])
        fields, rules = batch
        if "*" in fields:
            fields = frozenset(record)
        read: dict[str, Any] = {}  # the fields read, lists pruned
        for k in fields:
            if k in record:
                value = record[k]
                if pruned is not None and isinstance(value, list) and value:
                    value = self.analysis.prune(k, wanted, value, pruned)
                read[k] = value
        if dates is None:
            view = as_of_view(read, as_of)
        else:
            settled: dict[str, Any] = {}
            changing: dict[str, Any] = {}
            for k, value in read.items():
                found = dates.of(record, k)  # the dates of the whole field (a superset once pruned)
                if (found and found[-1] > as_of) or k in _YEAR_FIELDS:
                    changing[k] = value
                else:
                    settled[k] = value
            view = {**settled, **as_of_view(changing, as_of)} if changing else settled
        out: dict[str, RuleResult] = {}

        def outcome(name: str) -> str:  # this batch's results first, then the others'
            found = out.get(name)
            return str(found.outcome if found is not None else outcomes.get(name, Outcome.UNKNOWN))

        interp = self._interp
        interp.rebind(view, as_of, outcome)
        for rule in rules:  # in dependency order
            interp.reset()
            # the reference engine's own per-rule evaluation (what RuleEngine.evaluate runs for each rule)
            out[rule.name] = self.engine.evaluate_rule(rule, interp, view, as_of)
        return out
