"""Rule semantics: from a rule's items to an outcome, a due date and the steps that explain it.

The semantics are those of docs/semantics.md:
- `due continuous`: the requirement must hold on the evaluation date.
- `due by D`: pending until D inclusive, violated from the day after; an enterprise established after D has
  until its establishment + `new_entrant_grace`; met late is satisfied with the delay recorded.
- `due every P last E`: due E + P; with no event, one period after the later of
  `periodic_first_due_anchor` (default: the policy's start) and the establishment date (or `first F`).
- `due within W after S done A` / `due on D done A`, per `each` event: satisfied when A ≤ due; pending up to
  the due date; violated after it; a late act leaves it violated for `late_act_memory` after the act.
- triggers: each matching event is active until its date + listing period, then expired.
Rules are evaluated in dependency order so that `violated(r)` sees r's outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from safetyrules.check.checker import RESERVED_PARAMS
from safetyrules.check.types import BOOL, type_of
from safetyrules.engine.compiled import CompiledEvaluator, Compiler, Deferred
from safetyrules.engine.decisions import EVENT_VERDICTS, decide
from safetyrules.engine.interpreter import Bound, Env, Interpreter, Step, fact_path, truth
from safetyrules.engine.params import ParamTable
from safetyrules.engine.results import (
    SEVERITY_ORDER,
    Citation,
    EventResult,
    Outcome,
    ParamUse,
    RuleResult,
    Text,
)
from safetyrules.engine.values import UNKNOWN, Duration, shift_date
from safetyrules.facts.as_of import as_of_view
from safetyrules.lower.program import Program, RuleIR
from safetyrules.syntax import ast
from safetyrules.syntax.formatter import format_expr
from safetyrules.syntax.walk import nodes

DEFAULT_NEW_ENTRANT_GRACE = Duration(days=90)
ESTABLISHED = "established_on"
"""The subject's date of establishment, if its schema declares one: new entrants get a grace period and their
periodic duties first fall due one period after it."""
DEFAULT_LATE_ACT_MEMORY = Duration(months=12)


@dataclass(slots=True)
class _Body:
    """What a rule's body computed, before the common fields are attached."""

    outcome: Outcome
    due_on: dt.date | None = None
    delay_days: int | None = None
    last_event_on: dt.date | None = None
    period: Duration | None = None
    events: list[EventResult] | None = None
    listed_until: dt.date | None = None
    reason: Text | None = None
    exception: str | None = None


@dataclass(frozen=True, slots=True)
class _Static:
    """What a rule's results take from its declaration alone: built once per engine and shared (immutable)."""

    implements: tuple[str, ...]
    title: Text
    citations: tuple[Citation, ...]
    severity: str | None
    effect: Text | None
    params_used: frozenset[str]
    rule_deps: frozenset[str]
    rules_used: tuple[str, ...]  # the sorted rule_deps
    not_applicable: Text | None  # the reason when its `applies` condition does not hold
    # the bodies of a rule that does not apply (read only, never changed): its `applies` does not hold; not
    # in force yet (None when always in force)
    inapplicable: _Body
    not_in_force: _Body | None
    each_base: str  # the fact path of its `each` list, which its elements' paths start with ("" without one)


Evaluator = Interpreter | CompiledEvaluator  # what evaluates a rule's expressions


_NO_PARAMS: frozenset[str] = frozenset()
_PER_EVENT = (ast.DueWithin, ast.DueOn)  # the deadlines of one duty per event (a tuple: `isinstance` is quicker)
_NO_ENV: Env = {}  # the bindings of a rule's top-level expression (never written)
_SWITCHED_OFF = Text("情景中已停用", "switched off in this scenario")
_SWITCHED_OFF_BODY = _Body(Outcome.NOT_APPLICABLE, reason=_SWITCHED_OFF)  # read only, never changed
_APPLIES_UNKNOWN = Text("无法判断是否适用", "whether the rule applies is unknown")
_COMPLIANT = (Outcome.NOT_APPLICABLE, Outcome.SATISFIED, Outcome.NOT_TRIGGERED)


def worst(outcomes: list[Outcome]) -> Outcome:
    return max(outcomes, key=lambda o: SEVERITY_ORDER.get(o, 0))


class RuleEngine:
    """Evaluates every rule of a checked policy for one enterprise at a time."""

    def __init__(self, program: Program, params: ParamTable, disabled: frozenset[str] = frozenset(),
                 compiled: bool = False) -> None:
        self.program = program
        self.params = params
        self.disabled = disabled  # rules switched off by a what-if scenario: not applicable
        # untraced evaluations run compiled expressions (engine/compiled.py); traced ones, the interpreter
        self.compiler = Compiler(params.definitions, frozenset(params.schedules)) if compiled else None
        self.document = program.document
        self.period_start = program.period_start
        self.applies_text = {r.name: format_expr(r.applies) for r in program.rules if r.applies is not None}
        self.static: dict[str, _Static] = {}
        for r in program.rules:
            self.static[r.name] = _Static(
                implements=r.implements,
                title=Text(r.title.zh, r.title.en) if r.title else Text(r.name, r.name),
                citations=tuple(Citation(self.document, s.section, s.quote) for s in r.sources),
                severity=r.severity,
                effect=Text(r.effect.zh, r.effect.en) if r.effect is not None else None,
                params_used=r.params_read - RESERVED_PARAMS.keys(),
                rule_deps=r.rules_read, rules_used=tuple(sorted(r.rules_read)),
                not_applicable=(not_applicable := Text(f"适用条件不成立：{self.applies_text[r.name]}",
                                                       f"the rule applies only when {self.applies_text[r.name]}")
                                if r.applies is not None else None),
                inapplicable=_Body(Outcome.NOT_APPLICABLE, reason=not_applicable),
                not_in_force=_Body(Outcome.NOT_APPLICABLE, reason=Text(f"自 {r.effective} 起施行",
                                                                       f"in force from {r.effective}"))
                if r.effective is not None else None,
                each_base=(fact_path(r.each.collection, {}, params.definitions) or r.each.var)
                if r.each is not None else "")
        # results are reported in declaration order: each rule's place among them, in evaluation order
        declared = {r.name: i for i, r in enumerate(sorted(program.rules, key=lambda r: r.position))}
        self._places = tuple((r, declared[r.name]) for r in program.rules)
        self._has_established = ESTABLISHED in program.contract.model.model_fields
        self._key = program.contract.key
        # the as-of view filters only the fields the policy can read (a policy of six rules over a record of
        # forty lists does not pay for the others): the fields its expressions name, the key, the establishment
        read = _names(program, params) | {self._key, ESTABLISHED}
        self._as_of_rules = tuple(r for r in program.contract.as_of if r[0][0][0] in read)
        self._param_uses: dict[tuple[str, type, Any], ParamUse] = {}  # (name, value) → its ParamUse
        self._params_cache: dict[tuple[str, dt.date, frozenset[str]], tuple[ParamUse, ...]] = {}

    # ------------------------------------------------------------------ entry point
    def evaluate(self, record: Mapping[str, Any], as_of: dt.date, trace: bool = False,
                 message_facts: bool = False, rules: Collection[str] | None = None) -> list[RuleResult]:
        """Every rule's result. `trace`: with explanation steps; `message_facts` (without `trace`): with the
        steps of the `applies` conditions only, the facts a message cites (callers that want outcomes only,
        such as what-if, skip them)."""
        view = as_of_view(record if type(record) is dict else dict(record), as_of, self._as_of_rules)
        outcomes: dict[str, Outcome] = {}

        def outcome_of(name: str) -> str:
            return str(outcomes.get(name, Outcome.UNKNOWN))

        interp = self.interpreter(view, as_of, outcome_of, trace)
        facts = self.facts_interpreter(view, as_of, outcome_of) if message_facts and not trace else None
        placed: list[RuleResult | None] = [None] * len(self._places)
        enterprise = self._enterprise(view)
        for rule, place in self._places:
            if rules is not None and rule.name not in rules:
                continue
            interp.reset()
            result = self.evaluate_rule(rule, interp, view, as_of, facts, enterprise)
            outcomes[rule.name] = result.outcome
            placed[place] = result
        return [r for r in placed if r is not None]

    def interpreter(self, view: Mapping[str, Any], as_of: dt.date, rule_outcome: Callable[[str], str],
                    trace: bool = False) -> Evaluator:
        """The evaluator of one enterprise's expressions on one day: compiled unless tracing (or this engine
        is the reference one)."""
        if self.compiler is not None and not trace:
            return CompiledEvaluator(self.compiler, view, as_of, self.params.value, rule_outcome)
        return Interpreter(view, as_of, self.params.value, self.params.definitions, rule_outcome, trace)

    def facts_interpreter(self, view: Mapping[str, Any], as_of: dt.date,
                          rule_outcome: Callable[[str], str]) -> Interpreter:
        """A tracing interpreter for the `applies` conditions of an untraced evaluation: the facts that decide
        whether a rule applies (industry=construction) are what its message cites, explained or not."""
        return Interpreter(view, as_of, self.params.value, self.params.definitions, rule_outcome, True)

    def applies_steps(self, rule: RuleIR, view: Mapping[str, Any], as_of: dt.date,
                      rule_outcome: Callable[[str], str]) -> list[Step]:
        """The traced step of a rule's `applies` condition on an as-of view (none without one): what a message
        cites, for a result evaluated without it (the streaming monitor writes messages only when read)."""
        if rule.applies is None:
            return []
        facts = self.facts_interpreter(view, as_of, rule_outcome)
        steps: list[Step] = []
        self._traced_applies(rule.applies, facts, facts, steps)
        return steps

    def _established(self, view: Mapping[str, Any]) -> Any:
        """The subject's establishment date (`established_on`), which the engine reads for the new-entrant
        grace and first due dates: unknown when absent; null when the subject declares no such date."""
        if not self._has_established:
            return None
        return view.get(ESTABLISHED, UNKNOWN)

    # ------------------------------------------------------------------ one rule
    def evaluate_rule(self, rule: RuleIR, interp: Evaluator, view: Mapping[str, Any],
                      as_of: dt.date, facts: Interpreter | None = None, enterprise: str | None = None,
                      ) -> RuleResult:
        """One rule's result on an as-of view, with an evaluator from `interpreter` (its `rule_outcome` gives
        the other rules' outcomes; `interp.reset()` first).

        With compiled expressions, the reference interpreter evaluates the rule instead when the compiled
        code defers it (a long integer range), and names the missing facts of an unknown result (the
        compiled code does not track fact paths): the outcome, dates and events stay the compiled ones."""
        if type(interp) is not CompiledEvaluator:
            return self._rule(rule, interp, view, as_of, facts, enterprise)
        try:
            result = self._rule(rule, interp, view, as_of, facts, enterprise)
        except Deferred:
            return self._rule(rule, self._reference(interp, view, as_of), view, as_of, facts, enterprise)
        if result.outcome is Outcome.UNKNOWN or (result.events and _any_unknown(result.events)):
            _Namer(self, rule, view, as_of, interp.context.rule_outcome, result)
        return result

    def _reference(self, compiled: CompiledEvaluator, view: Mapping[str, Any], as_of: dt.date) -> Interpreter:
        """The reference interpreter beside a compiled evaluator (one per evaluation, reset per rule)."""
        reference = compiled.reference
        if not isinstance(reference, Interpreter):
            reference = compiled.reference = Interpreter(view, as_of, self.params.value, self.params.definitions,
                                                         compiled.context.rule_outcome, False)
        reference.reset()
        return reference

    def _rule(self, rule: RuleIR, interp: Evaluator, view: Mapping[str, Any], as_of: dt.date,
              facts: Interpreter | None = None, enterprise: str | None = None) -> RuleResult:
        steps: list[Step] = []
        reserved: set[str] = set()
        static = self.static[rule.name]
        trace = interp.trace
        if type(interp) is CompiledEvaluator:
            record: Callable[..., Any] = interp.record
        else:
            record = _recorder(interp, steps)
        effective = rule.effective
        applicable: Any = True
        if rule.name in self.disabled:
            body = _SWITCHED_OFF_BODY
        elif effective is not None and as_of < effective and static.not_in_force is not None:
            body = static.not_in_force
        else:
            if rule.applies is not None and facts is not None and not trace:
                applicable = self._traced_applies(rule.applies, interp, facts, steps)
            elif rule.applies is not None:
                applicable = record("applies", rule.applies)
            if applicable is False:
                body = static.inapplicable
            else:
                excepted, exception_unknown = self._excepted(rule, record) if rule.unless else (None, None)
                body = excepted or (
                    self._trigger(rule, interp, record, as_of) if rule.kind == "trigger"
                    else self._obligation(rule, interp, view, record, as_of, reserved))
                if applicable is UNKNOWN and body.outcome is not Outcome.NOT_APPLICABLE:
                    body.outcome = Outcome.UNKNOWN
                    body.reason = _APPLIES_UNKNOWN
                elif exception_unknown is not None and body.outcome not in _COMPLIANT:
                    body.outcome = Outcome.UNKNOWN
                    body.reason = Text(f"无法判断是否适用例外 `{exception_unknown}`",
                                       f"whether exception `{exception_unknown}` applies is unknown")
        outcome = body.outcome
        due_on = body.due_on
        days_overdue = days_remaining = None
        if due_on is not None:  # a violation before the due date (a requirement) is not overdue
            if outcome is Outcome.VIOLATED and as_of > due_on:
                days_overdue = (as_of - due_on).days
            elif outcome is Outcome.PENDING:
                days_remaining = (due_on - as_of).days
        events = body.events or []
        # every rule it reads, not only those a short-cut evaluation happened to read
        read = interp.rules_read
        params_read = interp.params_read
        result = RuleResult(  # its fields in their order (positional: a result per rule and enterprise)
            self._enterprise(view) if enterprise is None else enterprise, rule.name, rule.kind, static.implements,
            outcome, as_of, static.title,
            static.citations, static.severity, due_on, days_overdue, days_remaining, body.delay_days,
            body.last_event_on, body.period, body.reason, body.exception,
            self._params_in_force(rule.name, static.params_used, params_read | reserved if reserved
                                  else params_read, as_of),
            static.rules_used if read <= static.rule_deps else tuple(sorted(static.rule_deps | read)),
            events, static.effect, body.listed_until, steps, interp.branches)
        if outcome is Outcome.UNKNOWN or (events and _any_unknown(events)):
            event_missing = {m for e in events for m in e.missing}
            result.missing = tuple(sorted(interp.missing | event_missing))
        return result

    def _enterprise(self, view: Mapping[str, Any]) -> str:
        key = view.get(self._key, "")
        return key if type(key) is str else str(key)

    def _params_in_force(self, rule: str, static: frozenset[str], read: set[str], as_of: dt.date,
                         ) -> tuple[ParamUse, ...]:
        """The params a result lists: those its rule reads (statically, or as read this time: an overridden
        definition, a reserved param), with their values on `as_of` (one tuple per rule, day and extra)."""
        extra = frozenset(read - static) if read and not read <= static else _NO_PARAMS
        key = (rule, as_of, extra)
        hit = self._params_cache.get(key)
        if hit is None:
            if len(self._params_cache) >= 4096:
                self._params_cache.clear()
            hit = self._params_cache[key] = tuple(
                self._param_use(n, as_of) for n in sorted(static | extra) if n in self.params.schedules)
        return hit

    def _traced_applies(self, cond: ast.Expr, interp: Evaluator, facts: Interpreter, steps: list[Step]) -> Any:
        """`applies` evaluated by the tracing interpreter `facts`, its step kept, what it read added to
        `interp`'s account (missing facts, params, rules, branches) as if `interp` had evaluated it."""
        facts.reset()
        value, step = facts.evaluate(cond)
        if type_of(cond) == BOOL:
            value = truth(value)
        interp.missing |= facts.missing
        interp.params_read |= facts.params_read
        interp.rules_read |= facts.rules_read
        interp.branches |= facts.branches
        if step is not None:
            step.note = "applies" if step.note is None else f"applies: {step.note}"
            steps.append(step)
        return value

    def _param_use(self, name: str, as_of: dt.date) -> ParamUse:
        """A param's value in force on `as_of`, with its schedule (one shared object per value)."""
        value = self.params.value(name, as_of)
        try:
            key = (name, type(value), value)
            use = self._param_uses.get(key)
        except TypeError:  # an unhashable value: not shared
            key, use = None, None
        if use is None:
            use = ParamUse(name, value, self.params.is_overridden(name),
                           tuple((d, v) for d, v in self.params.schedules[name].entries if d is not None))
            if key is not None:
                self._param_uses[key] = use
        return use

    def _excepted(self, rule: RuleIR, record: Any) -> tuple[_Body | None, str | None]:
        """The exception that applies (if any), and the first one whose condition is unknown."""
        unknown = None
        for u in rule.unless:
            holds = record(f"unless {u.name}", u.when)
            if holds is True:
                return _Body(Outcome.NOT_APPLICABLE, exception=u.name, reason=Text(
                    f"例外 `{u.name}`（{u.source.section}）", f"exception `{u.name}` ({u.source.section})")), None
            if holds is UNKNOWN and unknown is None:
                unknown = u.name
        return None, unknown

    def _requirement(self, rule: RuleIR, interp: Evaluator, record: Any,
                     env: Env | None = None) -> Any:
        """The Kleene conjunction of the `require` items."""
        value: Any = True
        for req in rule.requires:
            label = "require"
            if env and interp.trace:  # a label only a step shows
                label = f"require {next(iter(env.values())).path}"
            v = record(label, req, env)
            if v is False:
                value = False
            elif v is UNKNOWN and value is True:
                value = UNKNOWN
        return value

    def _events(self, rule: RuleIR, interp: Evaluator, record: Any,
                ) -> list[tuple[Bound, Any, Env]] | None:
        """`(element, where-value, env)` for each element of the rule's `each` (its path is built only when
        read: a result names the events of event rules); None when the list is unknown."""
        each = rule.each
        assert each is not None
        coll = interp.eval(each.collection, {})
        if coll is UNKNOWN:
            return None
        base = self.static[rule.name].each_base  # what `interp.path_of(each.collection, {}) or each.var` gives
        out = []
        trace = interp.trace
        var, filter_ = each.var, each.where
        for i, item in enumerate(coll or []):
            bound = Bound(item, base, i)
            env = {var: bound}
            where = True if filter_ is None else record(f"each {bound.path}" if trace else "each", filter_, env)
            if where is not False:
                out.append((bound, where, env))
        return out

    def _obligation(self, rule: RuleIR, interp: Evaluator, view: Mapping[str, Any], record: Any,
                    as_of: dt.date, reserved: set[str]) -> _Body:
        due = rule.deadline
        each = rule.each
        if isinstance(due, _PER_EVENT):
            return self._per_event(rule, due, interp, record, as_of, reserved)
        if each is not None:  # a requirement on every element: vacuously true without elements
            events = self._events(rule, interp, record)
            if events is None:
                holds: Any = UNKNOWN
            else:
                values = [self._requirement(rule, interp, record, env) if where is True else UNKNOWN
                          for _, where, env in events]
                holds = False if False in values else (UNKNOWN if any(v is UNKNOWN for v in values) else True)
        else:
            holds = self._requirement(rule, interp, record) if rule.requires else True
        if isinstance(due, ast.DueBy):
            return self._deadline(due, holds, interp, view, record, as_of, reserved)
        if isinstance(due, ast.DueEvery):
            body = self._periodic(due, interp, view, record, as_of, reserved)
            if rule.requires:
                required = _continuous(holds)
                if worst([body.outcome, required]) is not body.outcome:  # the requirement decides, not the date
                    body.outcome = required
                    body.reason = Text("要求的条件不成立", "the requirement does not hold") \
                        if required is Outcome.VIOLATED else Text("要求的条件是否成立未知",
                                                                  "whether the requirement holds is unknown")
            return body
        return _Body(_continuous(holds))

    def _deadline(self, due: ast.DueBy, holds: Any, interp: Evaluator, view: Mapping[str, Any], record: Any,
                  as_of: dt.date, reserved: set[str]) -> _Body:
        deadline = record("deadline", due.deadline)
        if not isinstance(deadline, dt.date):
            return _Body(Outcome.UNKNOWN, reason=Text("期限未知", "the deadline is unknown"))
        established = self._established(view)
        if isinstance(established, dt.date) and established > deadline:
            reserved.add("new_entrant_grace")
            grace = self._reserved("new_entrant_grace", as_of, DEFAULT_NEW_ENTRANT_GRACE)
            deadline = shift_date(established, grace)
        met = record("met", due.met) if due.met is not None else None
        if holds is True:
            delay = (met - deadline).days if isinstance(met, dt.date) and met > deadline else None
            return _Body(Outcome.SATISFIED, due_on=deadline, delay_days=delay,
                         last_event_on=met if isinstance(met, dt.date) else None)
        if as_of <= deadline:
            return _Body(Outcome.PENDING, due_on=deadline)
        if established is UNKNOWN:  # established after the deadline, it would still be within its grace
            interp.missing.add(ESTABLISHED)
            return _Body(Outcome.UNKNOWN, due_on=deadline, reason=Text(
                "成立日期未知：若在期限之后成立，尚在新设企业宽限期内",
                "the establishment date is unknown: established after the deadline, it would be within its grace"))
        return _Body(Outcome.VIOLATED if holds is False else Outcome.UNKNOWN, due_on=deadline)

    def _periodic(self, due: ast.DueEvery, interp: Evaluator, view: Mapping[str, Any], record: Any,
                  as_of: dt.date, reserved: set[str]) -> _Body:
        """`due every P last E [first F]` (docs/semantics.md).

        Without `first`: due E + P; with no event, one period after the later of the anchor and the
        establishment. With `first F`: the duty first falls due on F (or one period after establishment, if
        later) and is never due before that: due max(E + P, first due).
        """
        period = record("period", due.period)
        last = record("last", due.last)
        if not isinstance(period, Duration) or last is UNKNOWN:
            return _Body(Outcome.UNKNOWN, period=period if isinstance(period, Duration) else None)
        established = self._established(view)
        if due.first is not None:
            floor = record("first", due.first)
            if not isinstance(floor, dt.date):
                return _Body(Outcome.UNKNOWN, period=period,
                             reason=Text("首次期限未知", "the first due date is unknown"))
        elif isinstance(last, dt.date):  # the guide's plain periodic rule: events before the start count
            due_on = shift_date(last, period)
            outcome = Outcome.SATISFIED if as_of <= due_on else Outcome.VIOLATED
            return _Body(outcome, due_on=due_on, last_event_on=last, period=period)
        else:
            reserved.add("periodic_first_due_anchor")
            anchor = self._reserved("periodic_first_due_anchor", as_of, self.period_start)
            if not isinstance(anchor, dt.date):
                return _Body(Outcome.UNKNOWN, period=period)
            floor = shift_date(anchor, period)
        # the first due date: the floor, or one period after establishment if that is later
        if isinstance(established, dt.date):
            # an act on record shows the enterprise existed by then: it counts from the earlier of the two
            # (so an unknown establishment, which cannot be after the act, never changes a decided outcome)
            since = min(established, last) if isinstance(last, dt.date) else established
            first_due = max(floor, shift_date(since, period))
        elif established is UNKNOWN and not isinstance(last, dt.date):
            interp.missing.add(ESTABLISHED)
            if as_of > floor:  # it depends on when the enterprise was established
                return _Body(Outcome.UNKNOWN, due_on=floor, period=period, reason=Text(
                    "无记录，且成立日期未知", "no qualifying event on record and the establishment date is unknown"))
            first_due = floor
        else:
            first_due = floor
        if isinstance(last, dt.date):
            next_due = shift_date(last, period)
            due_on = max(next_due, first_due)
            if as_of <= next_due:
                return _Body(Outcome.SATISFIED, due_on=due_on, last_event_on=last, period=period)
            outcome = Outcome.PENDING if as_of <= due_on else Outcome.VIOLATED
            return _Body(outcome, due_on=due_on, last_event_on=last, period=period)
        outcome = Outcome.PENDING if as_of <= first_due else Outcome.VIOLATED
        return _Body(outcome, due_on=first_due, period=period)

    def _per_event(self, rule: RuleIR, due: ast.DueWithin | ast.DueOn, interp: Evaluator, record: Any,
                   as_of: dt.date, reserved: set[str]) -> _Body:
        events = self._events(rule, interp, record)
        if events is None:
            return _Body(Outcome.UNKNOWN)
        if not events:
            return _Body(Outcome.NOT_APPLICABLE, events=[], reason=Text("没有相关事件", "no such events"))
        reserved.add("late_act_memory")
        memory = self._reserved("late_act_memory", as_of, DEFAULT_LATE_ACT_MEMORY)
        results: list[EventResult] = []
        for bound, where, env in events:
            before = set(interp.missing)
            ev = self._event(due, bound.path, where, env, record, as_of, memory)
            if ev.outcome is Outcome.UNKNOWN and not ev.missing:
                ev.missing = tuple(sorted(interp.missing - before)) or tuple(sorted(interp.missing))
            results.append(ev)
        if rule.requires:
            holds = self._requirement(rule, interp, record)
            extra = [_continuous(holds)]
        else:
            extra = []
        outcome = worst([e.outcome for e in results] + extra)
        deciding = [e for e in results if e.outcome is outcome and e.due_on is not None]
        due_on = min((e.due_on for e in deciding if e.due_on), default=None)
        delay = max((e.delay_days for e in deciding if e.delay_days), default=None)
        return _Body(outcome, due_on=due_on, events=results, delay_days=delay)

    def _event(self, due: ast.DueWithin | ast.DueOn, path: str, where: Any, env: Env,
               record: Any, as_of: dt.date, memory: Duration) -> EventResult:
        label = f"event {path}"
        if isinstance(due, ast.DueWithin):
            start = record(label, due.after, env)
            window = record("window", due.window, env)
            if not isinstance(start, dt.date) or not isinstance(window, Duration):
                return EventResult(path, Outcome.UNKNOWN)
            due_on = shift_date(start, window)
        else:
            start = None
            due_on = record(label, due.deadline, env)
            if not isinstance(due_on, dt.date):  # no deadline on record (a plan without a time limit)
                deadline_path = self._path(due.deadline, env)
                unknown = EventResult(path, Outcome.UNKNOWN)
                unknown.missing = (deadline_path,) if deadline_path else ()
                return unknown
        done = record("done", due.done, env)
        dated = isinstance(done, dt.date)
        seen = dated and done <= as_of  # an act dated later has not happened yet on the evaluation day
        row = decide(EVENT_VERDICTS, {
            "deadline_known": True, "filter_unknown": where is UNKNOWN, "done": seen,
            "on_time": dated and done <= due_on, "remembered": dated and as_of <= shift_date(done, memory),
            "before_due": as_of <= due_on, "not_done": done is None or (dated and done > as_of)})
        ev = EventResult(path, row.outcome, event_on=start, due_on=due_on, done_on=done if seen else None)
        if row.late:
            ev.delay_days = (done - due_on).days
        return ev

    def _trigger(self, rule: RuleIR, interp: Evaluator, record: Any, as_of: dt.date) -> _Body:
        events = self._events(rule, interp, record)
        if events is None:
            return _Body(Outcome.UNKNOWN)
        on, listing = rule.trigger_on, rule.listing
        assert on is not None and listing is not None
        results: list[EventResult] = []
        for bound, where, env in events:
            path = bound.path
            day = record(f"on {path}", on, env)
            period = record("listing", listing, env)
            ev = EventResult(path, Outcome.UNKNOWN, event_on=day if isinstance(day, dt.date) else None)
            if where is True and isinstance(day, dt.date) and isinstance(period, Duration):
                ev.listed_until = shift_date(day, period)
                ev.outcome = Outcome.TRIGGERED if as_of <= ev.listed_until else Outcome.EXPIRED
            results.append(ev)
        kinds = {e.outcome for e in results}
        outcome = next((o for o in (Outcome.TRIGGERED, Outcome.UNKNOWN, Outcome.EXPIRED) if o in kinds),
                       Outcome.NOT_TRIGGERED)
        until = max((e.listed_until for e in results if e.outcome is outcome and e.listed_until), default=None)
        return _Body(outcome, events=results, listed_until=until,
                     last_event_on=max((e.event_on for e in results if e.event_on), default=None))

    @staticmethod
    def _path(e: ast.Expr, env: Env) -> str | None:
        names: list[str] = []
        while isinstance(e, ast.Field):
            names.append(e.name)
            e = e.target
        if isinstance(e, ast.Name) and e.id in env:
            return ".".join([env[e.id].path, *reversed(names)])
        return None

    def _reserved(self, name: str, as_of: dt.date, default: Any) -> Any:
        try:
            return self.params.value(name, as_of)
        except KeyError:
            return default


class _Namer:
    """Names an unknown compiled result's missing facts when first read: the reference interpreter evaluates
    the rule again on the same view, with the outcomes its rule reads as they were (a later change of another
    rule's outcome, in a monitor, does not reach it)."""

    __slots__ = ("as_of", "engine", "outcomes", "result", "rule", "view")

    def __init__(self, engine: RuleEngine, rule: RuleIR, view: Mapping[str, Any], as_of: dt.date,
                 rule_outcome: Callable[[str], str], result: RuleResult) -> None:
        self.engine, self.rule, self.view, self.as_of, self.result = engine, rule, view, as_of, result
        self.outcomes = {name: rule_outcome(name) for name in rule.rules_read}
        result._namer = self
        for event in result.events:
            event._namer = self

    def name(self) -> None:
        result = self.result
        if result._namer is not self:  # named already
            return
        engine = self.engine
        interp = Interpreter(self.view, self.as_of, engine.params.value, engine.params.definitions,
                             lambda name: self.outcomes.get(name, "unknown"), False)
        named = engine._rule(self.rule, interp, self.view, self.as_of)
        result._namer, result._missing = None, named.missing
        for event in result.events:
            event._namer = None
        for mine, theirs in zip(result.events, named.events, strict=False):
            mine._missing = theirs.missing


def _recorder(interp: Evaluator, steps: list[Step]) -> Callable[..., Any]:
    """`record(label, expr, env=None)` of a rule's evaluation: the value of an expression (a condition's
    truth), its step labelled and kept when the evaluator traces."""
    if not interp.trace:
        def value(label: str, e: ast.Expr, env: Env | None = None) -> Any:  # no step: the value alone
            return interp.value(e, env or _NO_ENV)
        return value

    def record(label: str, e: ast.Expr, env: Env | None = None) -> Any:
        value, step = interp.evaluate(e, env)
        if type_of(e) == BOOL:
            value = truth(value)
        if step is not None:
            step.note = label if step.note is None else f"{label}: {step.note}"
            steps.append(step)
        return value
    return record


def _any_unknown(events: list[EventResult]) -> bool:
    return any(e.outcome is Outcome.UNKNOWN for e in events)


def _names(program: Program, params: ParamTable) -> frozenset[str]:
    """Every name the rules and definitions mention: a superset of the top-level fields the policy reads (any
    field is read through a name; the others are params, definitions and bound elements)."""
    return frozenset(n.id for n in nodes([program.rules, list(params.definitions.values())])
                     if isinstance(n, ast.Name))


def _continuous(holds: Any) -> Outcome:
    if holds is True:
        return Outcome.SATISFIED
    if holds is False:
        return Outcome.VIOLATED
    return Outcome.UNKNOWN



