"""The durable-rules backend: the rules that correlate events over time, run on a Rete network.

durable-rules (2.0.28, optional: ``pip install 'safetyrules[stream]'``) evaluates three shapes of rule, found
by matching the checked AST (not by name, so an edited rule that no longer fits goes back to the reference
engine — :func:`paths` lists the outcome):

* **window** — ``each x in C where F  due within W after x.s  done x.a`` (a major hazard found and not
  reported within `major_hazard_report_days`);
* **join window** — the same with ``done min(y in D where y.g >= x.s: y.g)``, the act being the first item of
  another collection dated on or after the event (a major change with no reassessment within 30 days);
* **trigger** — ``each x in C where F  on x.d | date(x.t)  listing P [at the same date]`` (an accident reported
  more than an hour late, or never; the other credit triggers).

`F` is a conjunction of tests on the item's fields: truth, `not`, `==`/`!=` a string, `in`/`not in` a set of
strings, `is [not] null`, and one comparison of a date or instant field with another (optionally through
`coalesce` and `± duration`). Anything else runs on the reference engine.

**Dates become numbers first** (durable-rules has no date type): days are `date.toordinal()`, instants
seconds since the epoch; calendar arithmetic (``found_on + 1 day``, ``occurred_at + 1 hour``, the late act
memory, a listing period taken at the behaviour's date) is done in Python, once per item, and the facts carry
the results: `due`, `mem`, `until`, the comparison's right side. durable-rules then evaluates the filter `F`
and the classification against the evaluation day `now` — satisfied, late and remembered, late and
forgotten, pending, violated; triggered or expired — and a join pairs events with candidate acts. The
verdicts are assembled into the same `RuleResult` the reference engine builds.

**Per enterprise, what cannot be expressed falls back**: an item field the filter or the dates need that is
absent (unknown), a collection that is unknown, an item that is not a record — then :meth:`evaluate` returns
None for that rule and the monitor asks the reference engine, for that enterprise only.

The sharp edges of durable-rules 2.0.28 (see docs/streaming.md), and how this module avoids them:

* a synchronous host (`Host` subclass whose `_run` does nothing): no polling threads; every action runs
  inside the `assert_facts` call that caused it;
* one process-wide lock around every call: the engine is not thread-safe;
* one session per evaluation, deleted at once (`delete_state`), so at most one live session per ruleset (the
  limit is 1,024) and no identity collisions between sessions; every batch carries a sentinel fact that a
  catch-all rule always matches, so an action ran before `delete_state` (deleting a session where no action
  ran crashed);
* the catch-all tests a numeric field every fact has (``now > -1``): no fact goes unmatched (that raised
  `MessageNotHandledException` for the whole batch), and no `+m.id`-style existence test (that looped);
* facts, not events (`post` consumes an event at its first match); every fact carries its rule code and
  item index, so no two facts of a batch are identical (that raised `MessageObservedException`);
* no rule whose only condition is a missing field; null is the number -1 and tested as such;
* one join per ruleset (two joining rules in one ruleset crashed): each join window gets its own ruleset;
  set membership is expanded into separate rules, never an `or` nested in an `and`;
* rulesets are named by a hash of their definition and registered once per process (there is no way to
  remove one): monitors of the same policy share them;
* actions only append to a list; an exception inside one is recorded and raised after the call (durable
  swallows it otherwise).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from safetyrules.api import Policy
from safetyrules.check.checker import RESERVED_PARAMS
from safetyrules.check.types import BOOL, DATE, INSTANT, type_of
from safetyrules.engine.decisions import EVENT_VERDICTS, NULL_RESULT, exclusive_rows
from safetyrules.engine.interpreter import coalesce, element_label
from safetyrules.engine.params import ParamTable
from safetyrules.engine.results import Citation, EventResult, Outcome, ParamUse, RuleResult, Text
from safetyrules.engine.rules import DEFAULT_LATE_ACT_MEMORY, worst
from safetyrules.engine.values import UNKNOWN, Duration, shift_date, shift_instant
from safetyrules.facts.as_of import as_of_view
from safetyrules.lower.program import Program, RuleIR
from safetyrules.stream.analysis import IMPLICIT_FIELDS
from safetyrules.syntax import ast
from safetyrules.syntax.walk import chain

Path = Literal["rete", "reference"]

NULL = -1
"""How null is written in a fact (every encoded value is otherwise 0 or more)."""

_NEVER = 10**15  # the right side of a comparison with null: never exceeded


def durable_available() -> bool:
    """Whether durable-rules can be imported here."""
    try:
        import durable.engine  # type: ignore[import-untyped,import-not-found,unused-ignore]  # noqa: F401
    except Exception:  # ImportError, or a build for another Python (undefined symbol …)
        return False
    return True


# ------------------------------------------------------------------------------------------ shapes


@dataclass(frozen=True, slots=True)
class _Slot:
    """One encoded item field: the fact key, the item field and how it is encoded."""

    key: str
    field: str
    kind: Literal["bool", "enum", "present"]
    codes: tuple[tuple[str, int], ...] = ()

    def encode(self, value: Any) -> int | None:
        """The number for a value (None when the value is unknown: the rule falls back)."""
        if value is UNKNOWN:
            return None
        if value is None:
            return NULL
        if self.kind == "bool":
            if value is True:
                return 1
            if value is False:
                return 0
            return None
        if self.kind == "present":
            return 1
        return dict(self.codes).get(str(value), 0)


@dataclass(frozen=True, slots=True)
class _Compare:
    """`left OP right` over date or instant terms, as two numeric keys and a guard (1: neither side is null).

    A term is a field of the item, `as_of`, `coalesce(terms…)`, `date(term)` or `term ± duration`; Python
    computes each side (calendar arithmetic), durable-rules compares. A side that is `as_of` itself is the
    fact's `now`.
    """

    lhs_key: str
    rhs_key: str
    guard_key: str
    op: str
    left: ast.Expr
    right: ast.Expr
    instant: bool


@dataclass(frozen=True, slots=True)
class ReteRule:
    """A rule compiled for durable-rules."""

    name: str
    code: int
    shape: Literal["window", "join", "trigger"]
    collection: str
    var: str
    slots: tuple[_Slot, ...]
    compares: tuple[_Compare, ...]
    alternatives: tuple[tuple[dict[str, Any], ...], ...]  # the filter in disjunctive normal form
    start: str = ""  # window/join: the event's date field
    window: ast.Expr | None = None
    done: str = ""  # window: the act's date field
    join_collection: str = ""  # join: the collection of acts and their date field
    join_field: str = ""
    on: str = ""  # trigger: the behaviour's date field
    on_instant: bool = False
    listing: ast.Expr | None = None
    listing_at_on: bool = False
    effective: dt.date | None = None

    @property
    def fields(self) -> frozenset[str]:
        out = {self.collection}
        if self.join_collection:
            out.add(self.join_collection)
        return frozenset(out | IMPLICIT_FIELDS)


class _Unsupported(Exception):
    pass


def _field_of(e: ast.Expr, var: str) -> str:
    if isinstance(e, ast.Field) and isinstance(e.target, ast.Name) and e.target.id == var:
        return e.name
    raise _Unsupported(f"not a field of {var}")


# `==` and `!=` are both false with null (docs/semantics.md), so `not x == "a"` is not `x != "a"`: see `_test`
_NEGATED = {"in": "not in", "not in": "in"}


def _negate(e: ast.Binary | ast.IsTest) -> ast.Expr | None:
    """The test that `not e` means, when negating keeps null's meaning (not for `<`, `<=`, `>`, `>=`)."""
    if isinstance(e, ast.IsTest):
        return dataclasses.replace(e, negated=not e.negated) if e.test == "null" else None
    if e.op in _NEGATED:
        return dataclasses.replace(e, op=_NEGATED[e.op])
    return None


class _Compiler:
    def __init__(self, policy: Program) -> None:
        self.policy = policy

    def _type(self, e: ast.Expr) -> Any:
        return type_of(e)

    def _duration(self, e: ast.Expr, at: ast.Expr | None = None) -> tuple[ast.Expr, bool]:
        if isinstance(e, ast.DurationLit):
            return e, False
        if isinstance(e, ast.Name) and e.id in self.policy.params:
            return e, False
        if isinstance(e, ast.ParamAt) and e.param in self.policy.params and at is not None and e.at == at:
            return e, True
        raise _Unsupported("not a duration literal or param")

    def compile(self, rule: RuleIR, code: int) -> ReteRule:
        why = [*((e.span, "`require`: a condition on the record's state, not a correlation of events")
                 for e in rule.requires),
               *((e.span, "`applies`: applicability decided by other facts") for e in (rule.applies,) if e),
               *((u.span, "`unless`: exceptions decided by other facts") for u in rule.unless)]
        if why:  # the first written
            raise _Unsupported(min(why, key=lambda w: (w[0].line, w[0].column))[1])
        each = rule.each
        if each is None or not isinstance(each.collection, ast.Name):
            raise _Unsupported("no `each` over a record list: not a rule about single events")
        coll = each.collection.id
        if coll in self.policy.defines or coll in self.policy.params:
            raise _Unsupported("the collection is not a record field")
        effective = rule.effective
        slots: dict[tuple[str, str], _Slot] = {}
        compares: list[_Compare] = []
        alts = self._filter(each.where, each.var, slots, compares)
        base: dict[str, Any] = dict(
            name=rule.name, code=code, collection=coll, var=each.var, slots=tuple(slots.values()),
            compares=tuple(compares), alternatives=alts, effective=effective)
        if rule.kind == "trigger":
            on, listing = rule.trigger_on, rule.listing
            if on is None or listing is None:
                raise _Unsupported("a trigger without `on` or `listing`")
            if isinstance(on, ast.Call) and on.func == "date" and len(on.args) == 1:
                on_field, on_instant = _field_of(on.args[0], each.var), True
                if self._type(on.args[0]) != INSTANT:
                    raise _Unsupported("date() of a non-instant")
            else:
                on_field, on_instant = _field_of(on, each.var), False
                if self._type(on) != DATE:
                    raise _Unsupported("`on` is not a date field")
            dur, at_on = self._duration(listing, on)
            return ReteRule(shape="trigger", on=on_field, on_instant=on_instant, listing=dur, listing_at_on=at_on,
                            **base)
        due = rule.deadline
        if not isinstance(due, ast.DueWithin):
            raise _Unsupported("a deadline that is not `within W after` the event (`due on` a date of the event)")
        start = _field_of(due.after, each.var)
        if self._type(due.after) != DATE:
            raise _Unsupported("the event date is not a date")
        window, _ = self._duration(due.window)
        done = due.done
        if isinstance(done, ast.Field):
            if self._type(done) != DATE:
                raise _Unsupported("the act date is not a date")
            return ReteRule(shape="window", start=start, window=window, done=_field_of(done, each.var), **base)
        if (isinstance(done, ast.Quantifier) and done.kind == "min" and isinstance(done.collection, ast.Name)
                and done.collection.id not in self.policy.defines and done.collection.id not in self.policy.params
                and isinstance(done.where, ast.Binary) and done.where.op == ">=" and done.body is not None):
            g = _field_of(done.body, done.var)
            if (_field_of(done.where.left, done.var) == g and _field_of(done.where.right, each.var) == start
                    and self._type(done.body) == DATE and len(alts) == 1):
                return ReteRule(shape="join", start=start, window=window, join_collection=done.collection.id,
                                join_field=g, **base)
        raise _Unsupported("the act (`done`) is computed (if … then … else), not a date field of the event or the "
                           "first later item of another list")

    def _filter(self, where: ast.Expr | None, var: str, slots: dict[tuple[str, str], _Slot],
                compares: list[_Compare]) -> tuple[tuple[dict[str, Any], ...], ...]:
        """The filter as alternatives (each a conjunction of durable conditions)."""
        if where is None:
            return ((),)
        choices: list[list[tuple[dict[str, Any], ...]]] = []
        for part in chain(where, "and"):
            choices.append(self._test(part, var, slots, compares))
        return tuple(tuple(itertools.chain.from_iterable(combo)) for combo in itertools.product(*choices))

    def _slot(self, slots: dict[tuple[str, str], _Slot], name: str, kind: Literal["bool", "enum", "present"],
              literals: Iterable[str] = ()) -> _Slot:
        key = (name, kind)
        slot = slots.get(key)
        codes = dict(slot.codes) if slot else {}
        for lit in literals:
            codes.setdefault(lit, len(codes) + 1)
        slot = _Slot(slot.key if slot else f"f{len(slots)}", name, kind, tuple(codes.items()))
        slots[key] = slot
        return slot

    def _test(self, e: ast.Expr, var: str, slots: dict[tuple[str, str], _Slot],
              compares: list[_Compare]) -> list[tuple[dict[str, Any], ...]]:
        """The alternatives of one conjunct; each alternative is a tuple of conditions."""
        if isinstance(e, ast.Field):
            if self._type(e) != BOOL:
                raise _Unsupported("truth of a non-boolean field")
            s = self._slot(slots, _field_of(e, var), "bool")
            return [({s.key: 1},)]
        if isinstance(e, ast.Unary) and e.op == "not" and isinstance(e.operand, ast.Binary | ast.IsTest):
            flipped = _negate(e.operand)
            if flipped is not None:  # `not x == "a"` is `x != "a"`, also for null (both true)
                return self._test(flipped, var, slots, compares)
        if isinstance(e, ast.Unary) and e.op == "not" and isinstance(e.operand, ast.Field):
            if self._type(e.operand) != BOOL:
                raise _Unsupported("`not` of a non-boolean field")
            s = self._slot(slots, _field_of(e.operand, var), "bool")
            return [({"$lt": {s.key: 1}},)]  # false (0) or null (-1): `not null` is true
        if isinstance(e, ast.IsTest) and e.test == "null":
            s = self._slot(slots, _field_of(e.operand, var), "present")
            return [({"$gt": {s.key: NULL}},)] if e.negated else [({s.key: NULL},)]
        negated = isinstance(e, ast.Unary) and e.op == "not" and isinstance(e.operand, ast.Binary) \
            and e.operand.op in ("==", "!=") and isinstance(e.operand.right, ast.StringLit)
        test = e.operand if negated and isinstance(e, ast.Unary) else e
        if isinstance(test, ast.Binary) and test.op in ("==", "!=") and isinstance(test.right, ast.StringLit):
            lit = test.right.value
            s = self._slot(slots, _field_of(test.left, var), "enum", [lit])
            code = dict(s.codes)[lit]
            equal, other = ({s.key: code},), ({"$neq": {s.key: code}}, {"$gt": {s.key: NULL}})
            # with null (-1) both `==` and `!=` are false, so their negations are both true
            if test.op == "==":
                return [({"$neq": {s.key: code}},)] if negated else [equal]
            return [equal, ({s.key: NULL},)] if negated else [other]
        if isinstance(e, ast.Binary) and e.op in ("in", "not in") and isinstance(e.right, ast.SetLit) \
                and all(isinstance(i, ast.StringLit) for i in e.right.items) and e.right.items:
            lits = [i.value for i in e.right.items if isinstance(i, ast.StringLit)]
            s = self._slot(slots, _field_of(e.left, var), "enum", lits)
            codes = dict(s.codes)
            if e.op == "in":  # one alternative per member: never an `or` inside an `and`
                return [({s.key: codes[lit]},) for lit in dict.fromkeys(lits)]
            return [tuple({"$neq": {s.key: codes[lit]}} for lit in dict.fromkeys(lits))]
        if isinstance(e, ast.Binary) and e.op in ("<", "<=", ">", ">="):
            return [(self._compare(e, var, compares),)]
        raise _Unsupported("a filter test this backend does not express")

    def _term(self, e: ast.Expr, var: str) -> None:
        """Refuse a comparison side this backend does not compute."""
        if isinstance(e, ast.AsOf):
            return
        if isinstance(e, ast.Field):
            _field_of(e, var)
            return
        if isinstance(e, ast.Call) and e.func in ("date", "coalesce") and e.args:
            if e.func == "date" and len(e.args) != 1:
                raise _Unsupported("date() with several arguments")
            for a in e.args:
                self._term(a, var)
            return
        if isinstance(e, ast.Binary) and e.op in ("+", "-"):
            self._term(e.left, var)
            dur, _ = self._duration(e.right)
            if isinstance(dur, ast.ParamAt):  # pragma: no cover - _duration refuses it without `at`
                raise _Unsupported("a dated param inside a comparison")
            return
        raise _Unsupported("a comparison side this backend does not compute")

    def _compare(self, e: ast.Binary, var: str, compares: list[_Compare]) -> dict[str, Any]:
        kinds = {self._type(e.left), self._type(e.right)}
        if len(kinds) != 1 or not kinds <= {DATE, INSTANT}:
            raise _Unsupported("a comparison of other than two dates or two instants")
        self._term(e.left, var)
        self._term(e.right, var)
        n = len(compares)
        cmp = _Compare(f"l{n}", f"r{n}", f"g{n}", e.op, e.left, e.right, kinds == {INSTANT})
        compares.append(cmp)
        op = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}[e.op]
        right_key = "now" if isinstance(e.right, ast.AsOf) else cmp.rhs_key
        return {"$and": [{cmp.guard_key: 1}, {op: {cmp.lhs_key: {"$m": right_key}}}]}


def compile_policy(policy: Program) -> tuple[dict[str, ReteRule], dict[str, str]]:
    """The rules that run on durable-rules, and why each other rule does not."""
    compiler = _Compiler(policy)
    compiled: dict[str, ReteRule] = {}
    reasons: dict[str, str] = {}
    for rule in policy.declared:
        try:
            compiled[rule.name] = compiler.compile(rule, len(compiled) + 1)
        except _Unsupported as why:
            reasons[rule.name] = str(why)
    return compiled, reasons


def paths(policy: Policy | Program) -> dict[str, Path]:
    """Which path each rule runs on with ``backend="rete"``: "rete" (durable-rules) or "reference".

    In the order the policy declares its rules. The answer does not depend on whether durable-rules is
    installed (without it, the rete backend cannot start at all).
    """
    program = policy.program if isinstance(policy, Policy) else policy
    compiled, _ = compile_policy(program)
    return {r.name: ("rete" if r.name in compiled else "reference") for r in program.declared}


def path_reasons(policy: Policy | Program) -> dict[str, str]:
    """For each rule on the reference path, why durable-rules does not run it."""
    return compile_policy(policy.program if isinstance(policy, Policy) else policy)[1]


# ------------------------------------------------------------------------------------------ rulesets

_LOCK = threading.RLock()
_HOST: Any = None
_REGISTERED: set[str] = set()
_SINK: list[tuple[Any, ...]] = []
_ACTION_ERRORS: list[str] = []
_SESSIONS = itertools.count()

# verdicts of the classification rules: one per row of the event decision table (engine/decisions.py), then
# the trigger's two
_Conds = tuple[dict[str, Any], ...]
_EVENT_ATOMS: dict[str, tuple[list[_Conds], list[_Conds]]] = {  # atom → (alternatives when true, when false)
    "done": ([({"$gt": {"done": NULL}}, {"$lte": {"done": {"$m": "now"}}})],
             [({"done": NULL},), ({"$gt": {"done": {"$m": "now"}}},)]),
    "on_time": ([({"$gt": {"done": NULL}}, {"$lte": {"done": {"$m": "due"}}})],
                [({"done": NULL},), ({"$gt": {"done": {"$m": "due"}}},)]),
    "remembered": ([({"$gt": {"done": NULL}}, {"$lte": {"now": {"$m": "mem"}}})],
                   [({"done": NULL},), ({"$gt": {"now": {"$m": "mem"}}},)]),
    "before_due": ([({"$lte": {"now": {"$m": "due"}}},)], [({"$gt": {"now": {"$m": "due"}}},)]),
    "not_done": ([({"done": NULL},), ({"$gt": {"done": {"$m": "now"}}},)],
                 [({"$gt": {"done": NULL}}, {"$lte": {"done": {"$m": "now"}}})]),
}
"""The atoms a Rete item can have (its deadline, filter and act are known: other items stay on the reference
engine), as durable-rules conditions on the item's fact (`done`, `due`, `mem`, `now` as day ordinals)."""


def _event_verdicts() -> tuple[tuple[int, _Conds], ...]:
    """Each row of the event table as mutually exclusive conjunctions of conditions (every matching rule of
    a Rete network fires), numbered by the row's place in the table (from 1)."""
    out: list[tuple[int, _Conds]] = []
    for row, alternatives in exclusive_rows(EVENT_VERDICTS, frozenset(_EVENT_ATOMS)):
        verdict = EVENT_VERDICTS.index(row) + 1
        for alternative in alternatives:
            parts = [_EVENT_ATOMS[c.lstrip("!")][1 if c.startswith("!") else 0] for c in alternative]
            for combination in itertools.product(*parts):
                conds = _simplified([cond for conj in combination for cond in conj])
                if conds is not None and (verdict, conds) not in out:
                    out.append((verdict, conds))
    return tuple(out)


def _simplified(conds: list[dict[str, Any]]) -> _Conds | None:
    """A conjunction without repeated conditions; None when two of them contradict each other (`x == v` with
    `x > v`, `x <= y` with `x > y`, `x == NULL` with `x > y`), so that no rule is registered that can never
    fire; the conditions in a fixed order, so that a conjunction reached twice is registered once."""
    unique: list[dict[str, Any]] = []
    for cond in conds:
        if cond not in unique:
            unique.append(cond)
    for cond in unique:
        (op, test), = cond.items()
        if op == "$gt":
            (name, value), = test.items()
            # NULL (-1) is below every day ordinal: `x == NULL` contradicts any `x > …`
            if {name: value} in unique or {"$lte": {name: value}} in unique or {name: NULL} in unique:
                return None
    return tuple(sorted(unique, key=repr))


_WINDOW_VERDICTS = _event_verdicts()
TRIGGERED, EXPIRED = 101, 102
_TRIGGER_VERDICTS: tuple[tuple[int, tuple[dict[str, Any], ...]], ...] = (
    (TRIGGERED, ({"$lte": {"now": {"$m": "until"}}},)),
    (EXPIRED, ({"$gt": {"now": {"$m": "until"}}},)),
)
_CATCH_ALL = {"all": [{"m": {"$gt": {"now": NULL}}}]}


def _host() -> Any:
    global _HOST
    if _HOST is None:
        from durable import engine  # type: ignore[import-untyped,import-not-found,unused-ignore]

        class _SyncHost(engine.Host):  # type: ignore[misc]
            """A host without the polling threads: every action runs inside the call that caused it."""

            def _run(self) -> None:
                return None

        _HOST = _SyncHost()
    return _HOST


def _verdict_action(verdict: int) -> Callable[[Any], None]:
    def run(c: Any) -> None:
        try:
            _SINK.append((verdict, c.m.r, c.m.i))
        except Exception as err:  # durable would swallow it into the state: keep it
            _ACTION_ERRORS.append(repr(err))

    return run


def _pair_action(c: Any) -> None:
    try:
        _SINK.append(("pair", c.x.r, c.x.i, c.y.d))
    except Exception as err:
        _ACTION_ERRORS.append(repr(err))


def _ignore(c: Any) -> None:
    return None


def _register(definition: dict[str, Any], actions: dict[str, Callable[[Any], None]]) -> str:
    text = json.dumps(definition, sort_keys=True)
    name = "safetyrules_" + hashlib.sha1(text.encode()).hexdigest()[:16]
    with _LOCK:
        if name not in _REGISTERED:
            full = copy.deepcopy(definition)
            for rule_name, action in actions.items():
                full[rule_name]["run"] = action
            _host().register_rulesets({name: full})
            _REGISTERED.add(name)
    return name


def _main_ruleset(rules: Iterable[ReteRule]) -> str:
    definition: dict[str, Any] = {}
    actions: dict[str, Callable[[Any], None]] = {}
    for rule in rules:
        verdicts = _TRIGGER_VERDICTS if rule.shape == "trigger" else _WINDOW_VERDICTS
        for a, alternative in enumerate(rule.alternatives):
            for j, (verdict, conds) in enumerate(verdicts):
                key = f"r{rule.code}_a{a}_v{verdict}_{j}"
                definition[key] = {"all": [{"m": {"$and": [{"t": 1}, {"r": rule.code}, *alternative, *conds]}}]}
                actions[key] = _verdict_action(verdict)
    definition["catch_all"] = copy.deepcopy(_CATCH_ALL)
    actions["catch_all"] = _ignore
    return _register(definition, actions)


def _join_ruleset(rule: ReteRule) -> str:
    (alternative,) = rule.alternatives
    definition: dict[str, Any] = {
        "pair": {"all": [
            {"x": {"$and": [{"t": 1}, {"r": rule.code}, *alternative]}},
            {"y": {"$and": [{"t": 2}, {"$gte": {"d": {"x": "s"}}}]}},
        ]},
        "catch_all": copy.deepcopy(_CATCH_ALL),
    }
    return _register(definition, {"pair": _pair_action, "catch_all": _ignore})


def _run(ruleset: str, facts: list[dict[str, Any]], now: int) -> list[tuple[Any, ...]]:
    """Assert the facts in a fresh session (with the sentinel), collect the verdicts, delete the session."""
    with _LOCK:
        host = _host()
        sid = f"s{next(_SESSIONS)}"
        batch = [{**f, "sid": sid} for f in facts]
        batch.append({"sid": sid, "t": 0, "r": 0, "i": NULL, "now": now})
        _SINK.clear()
        _ACTION_ERRORS.clear()
        try:
            host.assert_facts(ruleset, batch)
        finally:
            host.delete_state(ruleset, sid)
        if _ACTION_ERRORS:
            raise RuntimeError("durable-rules action failed: " + "; ".join(_ACTION_ERRORS))
        return list(_SINK)


# ------------------------------------------------------------------------------------------ evaluation


@dataclass(slots=True)
class _Item:
    index: int
    path: str
    fact: dict[str, Any]
    start: dt.date | None = None
    due: dt.date | None = None
    done: dt.date | None = None
    on: dt.date | None = None
    until: dt.date | None = None


def _number(value: Any, instant: bool) -> int:
    if instant:
        return int(value.timestamp())
    return int(value.toordinal())


class ReteEvaluator:
    """Evaluates the rete-path rules of one enterprise on one day with durable-rules."""

    def __init__(self, policy: Policy, params: Mapping[str, Any] | None = None) -> None:
        if not durable_available():
            raise RuntimeError("the rete backend needs durable-rules: pip install 'safetyrules[stream]' "
                               "(durable-rules==2.0.28, built from source; it does not import on Python 3.13)")
        self.policy = policy
        self.program = policy.program
        self.engine = policy.engine(params)
        self.params: ParamTable = self.engine.params
        self.compiled, self.reasons = compile_policy(self.program)
        self.rules = tuple(self.compiled)
        self._decls = {r.name: r for r in self.program.rules}
        self._main = _main_ruleset(self.compiled.values()) if self.compiled else ""
        self._joins = {r.name: _join_ruleset(r) for r in self.compiled.values() if r.shape == "join"}
        memory = self.params.schedules.get("late_act_memory")
        self._memory = memory is not None
        self.errors = 0  # calls to durable-rules that failed (their rules fell back to the reference engine)
        self.last_error: str | None = None

    def _duration(self, e: ast.Expr | None, day: dt.date) -> Duration | None:
        if isinstance(e, ast.DurationLit):
            return Duration.of(e.amount, e.unit)
        if isinstance(e, ast.Name):
            v = self.params.value(e.id, day)
            return v if isinstance(v, Duration) else None
        if isinstance(e, ast.ParamAt):
            v = self.params.value(e.param, day)
            return v if isinstance(v, Duration) else None
        return None

    def _memory_at(self, day: dt.date) -> Duration:
        if self._memory:
            v = self.params.value("late_act_memory", day)
            if isinstance(v, Duration):
                return v
        return DEFAULT_LATE_ACT_MEMORY

    def evaluate(self, record: Mapping[str, Any], as_of: dt.date, names: Iterable[str]) -> dict[str, RuleResult | None]:
        """Results of the named rete-path rules; None for a rule this enterprise's facts need the reference for."""
        rules = [self.compiled[n] for n in names if n in self.compiled]
        out: dict[str, RuleResult | None] = {}
        if not rules:
            return out
        fields: set[str] = set()
        for r in rules:
            fields |= r.fields
        view = as_of_view({k: record[k] for k in fields if k in record}, as_of)
        now = as_of.toordinal()
        encoded: dict[str, list[_Item]] = {}
        for rule in rules:
            if rule.effective is not None and as_of < rule.effective:
                out[rule.name] = self._result(rule, view, as_of, Outcome.NOT_APPLICABLE, [], reason=Text(
                    f"自 {rule.effective} 起施行", f"in force from {rule.effective}"))
                continue
            items = self._encode(rule, view, as_of, now)
            if items is None:
                out[rule.name] = None
            else:
                encoded[rule.name] = items
        try:
            for name, items in encoded.items():
                rule = self.compiled[name]
                if rule.shape == "join" and not self._join(rule, view, items, as_of, now):
                    out[name] = None
            facts = [item.fact for name, items in encoded.items() if out.get(name, True) is not None
                     for item in items]
            verdicts: dict[tuple[int, int], int] = {}
            if facts:
                for verdict, code, index in _run(self._main, facts, now):
                    verdicts[(int(code), int(index))] = int(verdict)
        except Exception as err:  # durable-rules failed: the reference engine answers, the error is kept
            self.errors += 1
            self.last_error = f"{type(err).__name__}: {err}"
            return {r.name: out.get(r.name) if out.get(r.name) is not None and r.name not in encoded else None
                    for r in rules}
        for name, items in encoded.items():
            if name in out:
                continue
            rule = self.compiled[name]
            out[name] = self._assemble(rule, view, as_of, items, verdicts)
        return out

    # ------------------------------------------------------------------ facts
    def _encode(self, rule: ReteRule, view: Mapping[str, Any], as_of: dt.date, now: int) -> list[_Item] | None:
        coll = view.get(rule.collection, UNKNOWN)
        if coll is UNKNOWN or (coll is not None and not isinstance(coll, list)):
            return None
        items: list[_Item] = []
        for index, item in enumerate(coll or []):
            if not isinstance(item, dict):
                return None
            fact: dict[str, Any] = {"t": 1, "r": rule.code, "i": index, "now": now}
            for slot in rule.slots:
                code = slot.encode(item.get(slot.field, UNKNOWN))
                if code is None:
                    return None
                fact[slot.key] = code
            for cmp in rule.compares:
                if not self._encode_compare(cmp, item, as_of, fact):
                    return None
            entry = _Item(index, f"{rule.collection}[{element_label(item, index)}]", fact)
            if rule.shape == "trigger":
                value = item.get(rule.on, UNKNOWN)
                if value is UNKNOWN or value is None:
                    return None  # the reference gives this behaviour an unknown outcome
                on = value.date() if rule.on_instant else value
                period = self._duration(rule.listing, on if rule.listing_at_on else as_of)
                if period is None:
                    return None
                entry.on, entry.until = on, shift_date(on, period)
                fact["on"], fact["until"] = on.toordinal(), entry.until.toordinal()
            else:
                start = item.get(rule.start, UNKNOWN)
                window = self._duration(rule.window, as_of)
                if not isinstance(start, dt.date) or window is None:
                    return None
                entry.start, entry.due = start, shift_date(start, window)
                fact["s"], fact["due"] = start.toordinal(), entry.due.toordinal()
                if rule.shape == "window":
                    done = item.get(rule.done, UNKNOWN)
                    if done is UNKNOWN or not (done is None or isinstance(done, dt.date)):
                        return None
                    self._set_done(entry, done, as_of)
            items.append(entry)
        return items

    def _set_done(self, entry: _Item, done: dt.date | None, as_of: dt.date) -> None:
        entry.done = done
        entry.fact["done"] = done.toordinal() if done is not None else NULL
        entry.fact["mem"] = shift_date(done, self._memory_at(as_of)).toordinal() if done is not None else NULL

    def _term(self, e: ast.Expr, item: Mapping[str, Any], as_of: dt.date) -> Any:
        """The value of a comparison side, with the reference engine's unknown/null rules."""
        if isinstance(e, ast.AsOf):
            return as_of
        if isinstance(e, ast.Field):
            return item.get(e.name, UNKNOWN)
        if isinstance(e, ast.Call):
            args = [self._term(a, item, as_of) for a in e.args]
            if e.func == "coalesce":
                return coalesce(args)
            if any(a is None for a in args):  # null decides before unknown (engine/decisions.py)
                return NULL_RESULT[e.func]
            if any(a is UNKNOWN for a in args):
                return UNKNOWN
            return args[0].date() if isinstance(args[0], dt.datetime) else UNKNOWN
        if isinstance(e, ast.Binary):
            a = self._term(e.left, item, as_of)
            b = self._duration(e.right, as_of)
            if a is None:  # null decides before unknown (engine/decisions.py)
                return NULL_RESULT[e.op]
            if a is UNKNOWN or b is None:
                return UNKNOWN
            sign = 1 if e.op == "+" else -1
            if isinstance(a, dt.datetime):
                return shift_instant(a, b, sign)
            return shift_date(a, b, sign) if isinstance(a, dt.date) else UNKNOWN
        return UNKNOWN  # pragma: no cover - the compiler refuses other terms

    def _encode_compare(self, cmp: _Compare, item: Mapping[str, Any], as_of: dt.date, fact: dict[str, Any]) -> bool:
        left = self._term(cmp.left, item, as_of)
        right = self._term(cmp.right, item, as_of)
        decided = left is None or right is None  # a comparison with null is false, even with an unknown side
        if not decided and (left is UNKNOWN or right is UNKNOWN):
            return False
        for value in (left, right):
            if value is not None and value is not UNKNOWN and isinstance(value, dt.datetime) is not cmp.instant:
                return False
        fact[cmp.guard_key] = 0 if decided else 1
        fact[cmp.lhs_key] = NULL if decided else _number(left, cmp.instant)
        fact[cmp.rhs_key] = _NEVER if decided else _number(right, cmp.instant)
        return True

    def _join(self, rule: ReteRule, view: Mapping[str, Any], items: list[_Item], as_of: dt.date, now: int) -> bool:
        """Fill each event's act date from the join with the other collection; False when it cannot."""
        acts = view.get(rule.join_collection, UNKNOWN)
        if acts is UNKNOWN or (acts is not None and not isinstance(acts, list)):
            return False
        facts = [item.fact for item in items]
        for index, act in enumerate(acts or []):
            if not isinstance(act, dict):
                return False
            d = act.get(rule.join_field, UNKNOWN)
            if d is UNKNOWN or not (d is None or isinstance(d, dt.date)):
                return False
            facts.append({"t": 2, "r": rule.code, "i": index, "d": d.toordinal() if d else NULL, "now": now})
        first: dict[int, int] = {}
        if items:
            for row in _run(self._joins[rule.name], facts, now):
                _, _, event_index, day = row
                key = int(event_index)
                first[key] = min(first.get(key, int(day)), int(day))
        for item in items:
            found = first.get(item.index)
            self._set_done(item, dt.date.fromordinal(found) if found is not None else None, as_of)
        return True

    # ------------------------------------------------------------------ results
    def _assemble(self, rule: ReteRule, view: Mapping[str, Any], as_of: dt.date, items: list[_Item],
                  verdicts: Mapping[tuple[int, int], int]) -> RuleResult:
        events: list[EventResult] = []
        for item in items:
            verdict = verdicts.get((rule.code, item.index))
            if verdict is None:
                continue  # the filter does not hold: not an event of this rule
            if rule.shape == "trigger":
                outcome = Outcome.TRIGGERED if verdict == TRIGGERED else Outcome.EXPIRED
                events.append(EventResult(item.path, outcome, event_on=item.on, listed_until=item.until))
                continue
            row = EVENT_VERDICTS[verdict - 1]
            seen = item.done if item.done is not None and item.done <= as_of else None
            ev = EventResult(item.path, row.outcome, event_on=item.start, due_on=item.due, done_on=seen)
            if row.late:
                assert item.done is not None and item.due is not None
                ev.delay_days = (item.done - item.due).days
            events.append(ev)
        if rule.shape == "trigger":
            kinds = {e.outcome for e in events}
            outcome = Outcome.TRIGGERED if Outcome.TRIGGERED in kinds else (
                Outcome.EXPIRED if Outcome.EXPIRED in kinds else Outcome.NOT_TRIGGERED)
            until = max((e.listed_until for e in events if e.outcome is outcome and e.listed_until), default=None)
            last = max((e.event_on for e in events if e.event_on), default=None)
            return self._result(rule, view, as_of, outcome, events, listed_until=until, last_event_on=last)
        if not events:
            return self._result(rule, view, as_of, Outcome.NOT_APPLICABLE, [],
                                reason=Text("没有相关事件", "no such events"))
        outcome = worst([e.outcome for e in events])
        deciding = [e for e in events if e.outcome is outcome and e.due_on is not None]
        due_on = min((e.due_on for e in deciding if e.due_on), default=None)
        delay = max((e.delay_days for e in deciding if e.delay_days), default=None)
        return self._result(rule, view, as_of, outcome, events, due_on=due_on, delay_days=delay,
                            reserved=("late_act_memory",))

    def _result(self, rule: ReteRule, view: Mapping[str, Any], as_of: dt.date, outcome: Outcome,
                events: list[EventResult], *, due_on: dt.date | None = None, delay_days: int | None = None,
                listed_until: dt.date | None = None, last_event_on: dt.date | None = None,
                reason: Text | None = None, reserved: tuple[str, ...] = ()) -> RuleResult:
        decl = self._decls[rule.name]
        title, effect = decl.title, decl.effect
        result = RuleResult(
            enterprise=str(view.get("id", "")), rule=rule.name, kind=decl.kind, implements=decl.implements,
            outcome=outcome, as_of=as_of,
            title=Text(title.zh, title.en) if title else Text(rule.name, rule.name),
            citations=tuple(Citation(self.engine.document, s.section, s.quote) for s in decl.sources),
            severity=decl.severity, due_on=due_on, delay_days=delay_days, events=events,
            listed_until=listed_until, last_event_on=last_event_on, reason=reason)
        if effect is not None:
            result.effect = Text(effect.zh, effect.en)
        if due_on is not None:
            if outcome is Outcome.VIOLATED and as_of > due_on:
                result.days_overdue = (as_of - due_on).days
            elif outcome is Outcome.PENDING:
                result.days_remaining = (due_on - as_of).days
        used = set(decl.params_read - RESERVED_PARAMS.keys())
        if events:
            used |= set(reserved)
        result.params = tuple(  # as the reference engine lists them
            ParamUse(n, self.params.value(n, as_of), self.params.is_overridden(n),
                     tuple((d, v) for d, v in self.params.schedules[n].entries if d is not None))
            for n in sorted(used) if n in self.params.schedules)
        return result


def describe(policy: Policy | Program) -> list[dict[str, Any]]:
    """One row per rule: its path, its shape on durable-rules or why it stays on the reference engine."""
    program = policy.program if isinstance(policy, Policy) else policy
    compiled, reasons = compile_policy(program)
    rows = []
    for d in program.declared:
        c = compiled.get(d.name)
        rows.append({"rule": d.name, "implements": list(d.implements), "path": "rete" if c else "reference",
                     "shape": c.shape if c else None, "reason": reasons.get(d.name)})
    return rows


def paths_table(policy: Policy | Program) -> str:
    """The Markdown table of :func:`describe` (docs/streaming.md includes it for the seed policy)."""
    lines = ["| id | rule | path | shape, or why not durable-rules |", "|---|---|---|---|"]
    for row in describe(policy):
        lines.append(f"| {', '.join(row['implements'])} | `{row['rule']}` | {row['path']} | "
                     f"{row['shape'] or row['reason']} |")
    return "\n".join(lines) + "\n"


__all__ = ["NULL", "ReteEvaluator", "ReteRule", "compile_policy", "describe", "durable_available", "path_reasons",
           "paths", "paths_table"]
