"""The compiled row engine's expressions: each checked expression compiled once to a Python closure.

The reference interpreter (`interpreter.py`) walks the tree for every enterprise: a dictionary dispatch per
node, a dictionary copy per quantified element, a step object per condition when it records. Compiled, a
node is a closure that calls its children's closures directly; a quantified variable is a slot of a list
(no copy per element); `any` and `all` stop at the first element that decides them. What each operator
means is not written here: the closures call the interpreter's operator functions (`compare`, `arithmetic`,
`apply_function`, `aggregate`, …), so both engines give the same values by construction, and the
differential tests hold them to it.

Nothing of a policy becomes code text: names, strings and numbers are values captured by closures, and no
source is generated or evaluated (`eval`/`exec` are never called), so a hostile policy cannot run code.

What the compiled engine does not do itself:
- name the missing facts of an unknown result: the reference interpreter does (see `engine/rules.py`,
  which runs it for those rules only);
- record explanation steps: `explain` and traced evaluations use the reference interpreter;
- evaluate a quantifier over an integer range longer than `RANGE_ELEMENTS`: it raises `Deferred` and the
  rule is evaluated by the reference interpreter, whose range blocks keep that cheap.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping
from typing import Any

from safetyrules.check.types import BOOL, type_of
from safetyrules.engine.decisions import NULL_RESULT
from safetyrules.engine.interpreter import (
    Env,
    Row,
    aggregate,
    aggregate_decided,
    apply_function,
    arithmetic,
    coalesce,
    compare,
    either,
    elements,
    fact_path,
    int_range,
    is_test,
    negate,
    set_of,
    truth,
)
from safetyrules.engine.values import UNKNOWN, Duration
from safetyrules.syntax import ast
from safetyrules.syntax.walk import chain

RANGE_ELEMENTS = 64  # a quantifier over a longer integer range is left to the reference interpreter

_NO_SLOTS: list[Any] = []  # the slots of an expression that binds no variable (never written)
_NO_ENV: Env = {}  # the bindings of a rule's top-level expression (never written)


class Deferred(Exception):
    """Raised by a compiled expression that leaves its rule to the reference interpreter."""


class Context:
    """What one evaluation (one enterprise on one day) shares: the facts, the day, the outcomes of the rules
    already evaluated, the definitions' values, and the params and rules read so far by the current rule."""

    __slots__ = ("as_of", "defines", "param_value", "params_read", "record", "rule_outcome", "rules_read")

    def __init__(self, record: Mapping[str, Any], as_of: dt.date, param_value: Callable[[str, dt.date], Any],
                 rule_outcome: Callable[[str], str]) -> None:
        self.record = record
        self.as_of = as_of
        self.param_value = param_value
        self.rule_outcome = rule_outcome
        self.defines: dict[str, tuple[Any, frozenset[str], frozenset[str]]] = {}
        self.params_read: set[str] = set()
        self.rules_read: set[str] = set()


Slots = list[Any]
Fn = Callable[[Context, Slots], Any]


class Compiler:
    """Compiles the expressions of one program with one run's definitions and params (an overridden
    definition reads as a param, as in the interpreter): closures are built once, on first use."""

    def __init__(self, definitions: Mapping[str, ast.DefineDecl], param_names: frozenset[str]) -> None:
        self.definitions = definitions
        self.param_names = param_names
        # id(expr) → (expr, its variables, its closure, slots): as evaluated, and as a rule reads its value
        self._evals: dict[int, tuple[ast.Expr, tuple[str, ...], Fn, int]] = {}
        self._values: dict[int, tuple[ast.Expr, tuple[str, ...], Fn, int]] = {}
        self._defines: dict[str, tuple[Fn, int]] = {}

    # ------------------------------------------------------------------ entry points
    def top(self, e: ast.Expr, env_vars: tuple[str, ...], as_value: bool = False) -> tuple[Fn, int]:
        """The closure of a rule's expression whose free variables are `env_vars` (slots 0..n-1), and the
        number of slots it needs. `as_value`: a condition (bool-typed) gives its truth (a null is false), as
        the rule semantics read it."""
        table = self._values if as_value else self._evals
        hit = table.get(id(e))
        if hit is None or hit[0] is not e or hit[1] != env_vars:
            size = [len(env_vars)]
            scope = {v: i for i, v in enumerate(env_vars)}
            fn = self._truth(e, scope, size) if as_value and type_of(e) == BOOL else self._compile(e, scope, size)
            hit = table[id(e)] = (e, env_vars, fn, size[0])
        return hit[2], hit[3]

    @property
    def built(self) -> int:
        """How many top-level closures have been built (tests use it to see the compiled code ran)."""
        return len(self._evals) + len(self._values)

    def define(self, c: Context, name: str) -> Any:
        """A definition's value for this evaluation, evaluated on first read; the params and rules it read
        are added to the reader's, as the interpreter replays them."""
        cached = c.defines.get(name)
        if cached is None:
            compiled = self._defines.get(name)
            if compiled is None:
                size = [0]
                fn = self._compile(self.definitions[name].value, {}, size)
                compiled = self._defines[name] = (fn, size[0])
            outer = (c.params_read, c.rules_read)
            c.params_read, c.rules_read = set(), set()
            try:
                value = compiled[0](c, [None] * compiled[1])
                cached = (value, frozenset(c.params_read), frozenset(c.rules_read))
            finally:
                c.params_read, c.rules_read = outer
            c.defines[name] = cached
        value, params, rules = cached
        if params:
            c.params_read |= params
        if rules:
            c.rules_read |= rules
        return value

    # ------------------------------------------------------------------ nodes
    def _compile(self, e: ast.Expr, scope: dict[str, int], size: list[int]) -> Fn:
        match e:
            case ast.IntLit() | ast.StringLit() | ast.DateLit() | ast.InstantLit() | ast.BoolLit() \
                    | ast.DurationLit() | ast.NullLit():
                return _constant(_literal(e))
            case ast.AsOf():
                return lambda c, v: c.as_of
            case ast.Name(id=name):
                return self._name(name, scope)
            case ast.Field():
                return self._field(e, scope, size)
            case ast.ParamAt(param=param, at=at):
                return _param_at(param, self._compile(at, scope, size))
            case ast.SetLit(items=items):
                fns = [self._compile(i, scope, size) for i in items]
                return lambda c, v: set_of([f(c, v) for f in fns])
            case ast.IntRange(low=low, high=high):
                lo, hi = self._compile(low, scope, size), self._compile(high, scope, size)
                return lambda c, v: int_range(lo(c, v), hi(c, v))
            case ast.Unary(op="not", operand=operand):
                f = self._truth(operand, scope, size)
                return lambda c, v: _NOT[f(c, v)]
            case ast.Unary(operand=operand):
                f = self._compile(operand, scope, size)
                return lambda c, v: negate(f(c, v))
            case ast.Binary(op="and" | "or" as op):
                return _chain(op == "or", [self._truth(x, scope, size) for x in chain(e, op)])
            case ast.Binary(op="implies", left=left, right=right):
                return _implies(self._truth(left, scope, size), self._truth(right, scope, size))
            case ast.Binary(op="==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in" as op, left=left,
                            right=right):
                constant = _literal(right)
                if constant is not _NOT_LITERAL and op in _TESTS:
                    if isinstance(left, ast.Field) and isinstance(left.target, ast.Name) \
                            and left.target.id in scope and constant is not None:
                        return _field_test(op, scope[left.target.id], left.name, constant)
                    return _compare_constant(op, self._compile(left, scope, size), constant)
                return _compare(op, self._compile(left, scope, size), self._compile(right, scope, size))
            case ast.Binary(op=op, left=left, right=right):
                lf, rf = self._compile(left, scope, size), self._compile(right, scope, size)
                return lambda c, v: arithmetic(op, lf(c, v), rf(c, v))
            case ast.IsTest(operand=operand, test=test, negated=negated):
                f = self._compile(operand, scope, size)
                return lambda c, v: is_test(test, negated, f(c, v))
            case ast.IfThenElse(cond=cond, then=then, else_=else_):
                return _if(self._truth(cond, scope, size), self._compile(then, scope, size),
                           self._compile(else_, scope, size))
            case ast.Call(func="violated" | "triggered" as func, args=(ast.Name(id=rule),)):
                return _rule_outcome(rule, "violated" if func == "violated" else "triggered")
            case ast.Call(func="coalesce", args=args):
                fns = [self._compile(a, scope, size) for a in args]
                return lambda c, v: coalesce([f(c, v) for f in fns])
            case ast.Call(func=func, args=args):
                fns = [self._compile(a, scope, size) for a in args]
                return lambda c, v: apply_function(func, [f(c, v) for f in fns])
            case ast.Quantifier() | ast.OrderPick():
                return self._quantifier(e, scope, size)
        raise TypeError(f"cannot compile {type(e).__name__}")  # pragma: no cover - the checker allows no other

    def _truth(self, e: ast.Expr, scope: dict[str, int], size: list[int]) -> Fn:
        """The closure of a condition, giving its truth (True, False or UNKNOWN: `truth` of its value); the
        nodes that give nothing else already are not wrapped."""
        f = self._compile(e, scope, size)
        if _strict(e):
            return f
        return lambda c, v: truth(f(c, v))

    def _name(self, name: str, scope: dict[str, int]) -> Fn:
        # the interpreter's order: a bound variable, a definition, a param (or overridden definition), a fact
        if name in scope:
            slot = scope[name]
            return lambda c, v: v[slot]
        if name in self.definitions:
            define = self.define

            def definition(c: Context, v: Slots) -> Any:
                hit = c.defines.get(name)
                if hit is not None and not hit[1] and not hit[2]:
                    return hit[0]
                return define(c, name)
            return definition
        if name in self.param_names:
            def param(c: Context, v: Slots) -> Any:
                c.params_read.add(name)
                return c.param_value(name, c.as_of)
            return param
        return lambda c, v: c.record.get(name, UNKNOWN)

    def _field(self, e: ast.Field, scope: dict[str, int], size: list[int]) -> Fn:
        # a chain of fields over a bound variable or a fact is one closure (`s.plan.time_limit`): each step
        # as a separate field's closure would give the same values, one call per name later
        names: list[str] = []
        base: ast.Expr = e
        while isinstance(base, ast.Field):
            names.append(base.name)
            base = base.target
        names.reverse()
        if isinstance(base, ast.Name) and base.id in scope:
            slot = scope[base.id]
            start: Fn = lambda c, v: v[slot]  # noqa: E731
        elif isinstance(base, ast.Name) and base.id not in self.definitions and base.id not in self.param_names:
            fact = base.id
            start = lambda c, v: c.record.get(fact, UNKNOWN)  # noqa: E731
        else:
            start = self._compile(base, scope, size)
        if len(names) == 1 and isinstance(base, ast.Name) and base.id in scope:
            name, slot = names[0], scope[base.id]

            def element_field(c: Context, v: Slots) -> Any:  # `s.role`: the most common field of all
                t = v[slot]
                if type(t) is dict:
                    return t.get(name, UNKNOWN)
                return _step(t, name)
            return element_field
        if len(names) == 1:
            name = names[0]

            def field(c: Context, v: Slots) -> Any:
                t = start(c, v)
                if type(t) is dict:
                    return t.get(name, UNKNOWN)
                return _step(t, name)
            return field

        def fields(c: Context, v: Slots) -> Any:
            t = start(c, v)
            for name in names:
                if type(t) is dict:
                    t = t.get(name, UNKNOWN)
                elif t is UNKNOWN or t is None:
                    return t
                else:
                    t = _step(t, name)
            return t
        return fields

    def _quantifier(self, q: ast.Quantifier | ast.OrderPick, scope: dict[str, int], size: list[int]) -> Fn:
        collection = self._compile(q.collection, scope, size)
        slot = size[0]
        size[0] += 1
        inner = {**scope, q.var: slot}
        where = self._truth(q.where, inner, size) if q.where is not None else None
        body_expr = q.key if isinstance(q, ast.OrderPick) else q.body
        kind = q.kind
        as_truth = isinstance(q, ast.Quantifier) and kind in ("any", "all", "count")
        body = None if body_expr is None else (self._truth(body_expr, inner, size) if as_truth
                                               else self._compile(body_expr, inner, size))
        decisive = {"any": True, "all": False}.get(kind) if isinstance(q, ast.Quantifier) else None
        over_range = isinstance(q.collection, ast.IntRange) or (
            isinstance(q.collection, ast.Name) and q.collection.id in self.definitions
            and isinstance(self.definitions[q.collection.id].value, ast.IntRange))

        def general(c: Context, v: Slots, items: Any) -> Any:
            rows: list[Row] = []
            for item in items:
                v[slot] = item
                w = True if where is None else where(c, v)
                if w is False:
                    value: Any = None
                elif body is None:
                    value = True
                else:
                    value = body(c, v)
                if decisive is not None and w is True and value is decisive:
                    return decisive  # the first element that decides `any` / `all`
                rows.append((item, w, value, None, 1))
            return aggregate(q, rows)

        test = _element_test(q)
        if test is not None and test[1]:  # the rest of an `and` chain after its field tests
            rest = [self._truth(x, inner, size) for x in test[1]]
            and_rest: Fn | None = rest[0] if len(rest) == 1 else _chain(False, rest)
        else:
            and_rest = None
        # a value that is a field of the element (`max(r in reports …: r.date)`), read by the loop itself
        body_field = body_expr.name if not as_truth and isinstance(body_expr, ast.Field) \
            and isinstance(body_expr.target, ast.Name) and body_expr.target.id == q.var else None
        decided = _decided(q, slot, where, test, and_rest, body, body_field, decisive)

        def quantify(c: Context, v: Slots) -> Any:
            coll = collection(c, v)
            if coll is UNKNOWN:
                return UNKNOWN
            items = coll if type(coll) is list else elements(coll)
            if over_range and len(items) > RANGE_ELEMENTS:
                raise Deferred
            value = decided(c, v, items)
            # an element whose filter or value is unknown: the elements again, each with its state (`aggregate`)
            return general(c, v, items) if value is _OPEN else value
        return quantify


_OPEN = object()  # what `_decided` gives when an element's filter or value is unknown


_FieldTest = tuple[str, Callable[[Any, Any], bool], Any, Any]  # field, operator, literal, value when null
_ElementTest = tuple[list[_FieldTest], list[ast.Expr]]  # a filter's first field tests (1 or 2), the rest


def _element_test(q: ast.Quantifier | ast.OrderPick) -> _ElementTest | None:
    """A filter that compares a field of the element with a literal (`where r.kind == "dual_report"`), as
    `_field_test` compiles it, alone or first in an `and` chain (`r.kind == "dual_report" and r.channel ==
    "platform" and …`): its first (at most two) field tests' parts, for the loops of `_decided` to test each
    element without a call, and the other operands of the chain."""
    if q.where is None:
        return None
    parts = chain(q.where, "and")
    tests: list[_FieldTest] = []
    for w in parts[:2]:
        if isinstance(w, ast.Binary) and w.op in _TESTS and isinstance(w.left, ast.Field) \
                and isinstance(w.left.target, ast.Name) and w.left.target.id == q.var:
            right = _literal(w.right)
            if right is not _NOT_LITERAL and right is not None:
                tests.append((w.left.name, _TESTS[w.op], right, NULL_RESULT[w.op]))
                continue
        break
    return (tests, parts[len(tests):]) if tests else None


def _decided(q: ast.Quantifier | ast.OrderPick, slot: int, where: Fn | None, test: _ElementTest | None,
             and_rest: Fn | None, body: Fn | None, body_field: str | None, decisive: bool | None,
             ) -> Callable[[Context, Slots, Any], Any]:
    """A quantifier's value over its elements while every element's filter and value is known: what
    `aggregate_decided` gives (no list of rows built), or `_OPEN` at the first element that is not (the
    caller then evaluates the elements again, keeping each one's state for `aggregate`). Evaluating an element
    again reads the same facts, params and definitions (cached): no value or account changes. With `test`
    (the filter is a field test, or one or two first in an `and` chain whose other operands are `and_rest`:
    see `_element_test`), the loop tests the fields itself, then `and_rest` only when they hold, as the
    filter's closure `where` would (a Kleene `and` stops at its first false operand); with `body_field`, it
    reads the element's field that is its value (what `body` gives)."""
    if test is not None:
        name, compare_to, literal, null = test[0][0]
        name2, compare_to2, literal2, null2 = test[0][1] if len(test[0]) > 1 else ("", compare_to, None, None)
        two = len(test[0]) > 1
        first = q.kind == "find" and isinstance(q, ast.Quantifier) and body is None  # its first match decides

        def filtered(c: Context, v: Slots, items: Any) -> Any:
            pairs: list[tuple[Any, Any]] = []  # (element, value) whose filter holds
            for item in items:
                plain = type(item) is dict
                lv = item.get(name, UNKNOWN) if plain else _step(item, name)
                if lv is None:
                    w = null
                elif lv is UNKNOWN:
                    return _OPEN
                else:
                    w = compare_to(lv, literal)
                if w is False:
                    continue
                if w is not True:
                    return _OPEN
                if two:
                    lv = item.get(name2, UNKNOWN) if plain else _step(item, name2)
                    if lv is None:
                        w = null2
                    elif lv is UNKNOWN:
                        return _OPEN
                    else:
                        w = compare_to2(lv, literal2)
                    if w is False:
                        continue
                    if w is not True:
                        return _OPEN
                v[slot] = item
                if and_rest is not None:
                    w = and_rest(c, v)
                    if w is False:
                        continue
                    if w is not True:
                        return _OPEN
                if body_field is not None:
                    value = item.get(body_field, UNKNOWN) if plain else _step(item, body_field)
                else:
                    value = True if body is None else body(c, v)
                if first:
                    return item
                if decisive is not None and value is decisive:  # `any` / `all`
                    return decisive
                if value is UNKNOWN:
                    return _OPEN
                pairs.append((item, value))
            return aggregate_decided(q, pairs)
        return filtered
    if decisive is not None:  # `any` / `all`: the first element whose condition is `decisive` decides
        settled = not decisive

        def any_all(c: Context, v: Slots, items: Any) -> Any:
            for item in items:
                v[slot] = item
                w = True if where is None else where(c, v)
                if w is False:
                    continue
                if w is not True:
                    return _OPEN
                value = True if body is None else body(c, v)
                if value is decisive:
                    return decisive
                if value is UNKNOWN:
                    return _OPEN
            return settled  # aggregate_decided: no element had the decisive value
        return any_all
    if q.kind == "count" and isinstance(q, ast.Quantifier):
        def count(c: Context, v: Slots, items: Any) -> Any:
            n = 0
            for item in items:
                v[slot] = item
                w = True if where is None else where(c, v)
                if w is False:
                    continue
                if w is not True:
                    return _OPEN
                value = True if body is None else body(c, v)
                if value is True:
                    n += 1
                elif value is UNKNOWN:
                    return _OPEN
            return n
        return count
    if q.kind == "find" and isinstance(q, ast.Quantifier) and body is None:
        # the first element whose filter holds, unless one before it is unknown (aggregate_decided, `_aggregate`:
        # an element after the first sure match cannot change it)
        def find(c: Context, v: Slots, items: Any) -> Any:
            for item in items:
                v[slot] = item
                w = True if where is None else where(c, v)
                if w is True:
                    return item
                if w is not False:
                    return _OPEN
            return UNKNOWN  # no such record: unknown
        return find

    def matched(c: Context, v: Slots, items: Any) -> Any:
        pairs: list[tuple[Any, Any]] = []  # (element, value) whose filter holds
        for item in items:
            v[slot] = item
            w = True if where is None else where(c, v)
            if w is False:
                continue
            if w is not True:
                return _OPEN
            value = True if body is None else body(c, v)
            if value is UNKNOWN:
                return _OPEN
            pairs.append((item, value))
        return aggregate_decided(q, pairs)
    return matched


# ------------------------------------------------------------------------------------------ closures
# Small factories, so that each closure captures exactly its operands.

def _constant(value: Any) -> Fn:
    return lambda c, v: value


def _param_at(param: str, at: Fn) -> Fn:
    def param_at(c: Context, v: Slots) -> Any:
        when = at(c, v)
        if when is UNKNOWN or when is None:
            return when
        c.params_read.add(param)
        return c.param_value(param, when)
    return param_at


def _chain(is_or: bool, operands: list[Fn]) -> Fn:
    """A Kleene `and` / `or` chain of truth closures, stopping at the first operand that settles it."""
    settled = not is_or
    if len(operands) == 2:
        first, second = operands

        def pair(c: Context, v: Slots) -> Any:
            a = first(c, v)
            if a is is_or:
                return is_or
            b = second(c, v)
            if b is is_or:
                return is_or
            return UNKNOWN if a is UNKNOWN or b is UNKNOWN else settled
        return pair

    def kleene(c: Context, v: Slots) -> Any:
        seen_unknown = False
        for operand in operands:
            value = operand(c, v)
            if value is is_or:
                return is_or
            if value is UNKNOWN:
                seen_unknown = True
        return UNKNOWN if seen_unknown else settled
    return kleene


def _implies(left: Fn, right: Fn) -> Fn:
    def implies(c: Context, v: Slots) -> Any:
        lv = left(c, v)
        if lv is False:
            return True
        rv = right(c, v)
        if rv is True:
            return True
        return False if lv is True and rv is False else UNKNOWN
    return implies


def _compare(op: str, left: Fn, right: Fn) -> Fn:
    """`compare(op, …)` with its first two cases inline (a null operand decides, then an unknown one); the
    ordering operators, whose Python comparison may refuse a pair of values, go through `compare` itself."""
    null = NULL_RESULT[op]
    test = _TESTS.get(op)
    if test is None:
        return lambda c, v: compare(op, left(c, v), right(c, v))

    def comparison(c: Context, v: Slots) -> Any:
        lv = left(c, v)
        rv = right(c, v)
        if lv is None or rv is None:
            return null
        if lv is UNKNOWN or rv is UNKNOWN:
            return UNKNOWN
        return test(lv, rv)
    return comparison


def _compare_constant(op: str, left: Fn, right: Any) -> Fn:
    """`_compare` with a literal on the right (`s.role == "special_operator"`)."""
    null = NULL_RESULT[op]
    test = _TESTS[op]
    if right is None:
        return lambda c, v: null
    if right is UNKNOWN:  # pragma: no cover - a literal is known
        return lambda c, v: UNKNOWN

    def comparison(c: Context, v: Slots) -> Any:
        lv = left(c, v)
        if lv is None:
            return null
        if lv is UNKNOWN:
            return UNKNOWN
        return test(lv, right)
    return comparison


def _field_test(op: str, slot: int, name: str, right: Any) -> Fn:
    """`_compare_constant` of a bound element's field (`r.kind == "dual_report"`, the commonest filter)."""
    null = NULL_RESULT[op]
    test = _TESTS[op]

    def field_test(c: Context, v: Slots) -> Any:
        t = v[slot]
        lv = t.get(name, UNKNOWN) if type(t) is dict else _step(t, name)
        if lv is None:
            return null
        if lv is UNKNOWN:
            return UNKNOWN
        return test(lv, right)
    return field_test


_NOT_LITERAL = object()


def _literal(e: ast.Expr) -> Any:
    """A literal's value (what `_compile` would capture), or `_NOT_LITERAL`."""
    match e:
        case ast.IntLit(value=value) | ast.StringLit(value=value) | ast.DateLit(value=value) \
                | ast.InstantLit(value=value) | ast.BoolLit(value=value):
            return value
        case ast.DurationLit(amount=amount, unit=unit):
            return Duration.of(amount, unit)
        case ast.NullLit():
            return None
    return _NOT_LITERAL


_TESTS: dict[str, Callable[[Any, Any], bool]] = {  # the operators `compare` applies without a guard
    "==": operator.eq, "!=": operator.ne,
    "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
}
_NOT = {True: False, False: True, UNKNOWN: UNKNOWN}  # Kleene `not` of a truth value


def _strict(e: ast.Expr) -> bool:
    """Whether a node's closure gives only True, False or UNKNOWN (so that `truth` would not change it)."""
    match e:
        case ast.Binary(op="and" | "or" | "implies" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in"):
            return True
        case ast.Unary(op="not") | ast.IsTest() | ast.Call(func="violated" | "triggered"):
            return True
        case ast.Quantifier(kind="any" | "all"):
            return True
        case ast.BoolLit():
            return True
    return False


def _step(t: Any, name: str) -> Any:
    """A field of a value that is not a plain dict (what `field` of the interpreter does)."""
    if t is UNKNOWN or t is None:
        return t
    return t.get(name, UNKNOWN) if isinstance(t, Mapping) else UNKNOWN


def _if(cond: Fn, then: Fn, else_: Fn) -> Fn:
    def branch(c: Context, v: Slots) -> Any:
        cv = cond(c, v)
        if cv is UNKNOWN:
            return either(then(c, v), else_(c, v))
        return then(c, v) if cv else else_(c, v)
    return branch


def _rule_outcome(rule: str, wanted: str) -> Fn:
    def outcome(c: Context, v: Slots) -> Any:
        c.rules_read.add(rule)
        found = c.rule_outcome(rule)
        return UNKNOWN if found == "unknown" else found == wanted
    return outcome


# ------------------------------------------------------------------------------------------ the evaluator


class CompiledEvaluator:
    """The compiled engine in the place of an `Interpreter` (the part of its interface the rule semantics in
    `engine/rules.py` use), for one enterprise on one day. It never traces and names no missing facts
    (`missing` holds only what the rule semantics add); see the module docstring."""

    trace = False

    def __init__(self, compiler: Compiler, record: Mapping[str, Any], as_of: dt.date,
                 param_value: Callable[[str, dt.date], Any], rule_outcome: Callable[[str], str]) -> None:
        self.compiler = compiler
        self.context = Context(record, as_of, param_value, rule_outcome)
        self.missing: set[str] = set()
        self.branches: set[tuple[Any, bool]] = set()
        self.reference: Any = None  # the reference interpreter beside it, when a rule needs one (rules.py)

    def rebind(self, record: Mapping[str, Any], as_of: dt.date, rule_outcome: Callable[[str], str]) -> None:
        """Evaluate another record or day with the same compiled expressions."""
        self.context = Context(record, as_of, self.context.param_value, rule_outcome)
        self.reference = None
        self.reset()

    @property
    def params_read(self) -> set[str]:
        return self.context.params_read

    @params_read.setter
    def params_read(self, value: set[str]) -> None:
        self.context.params_read = value

    @property
    def rules_read(self) -> set[str]:
        return self.context.rules_read

    @rules_read.setter
    def rules_read(self, value: set[str]) -> None:
        self.context.rules_read = value

    def reset(self) -> None:
        """Start a new rule (definitions stay cached)."""
        self.missing = set()
        self.context.params_read = set()
        self.context.rules_read = set()

    def eval(self, e: ast.Expr, env: Env) -> Any:
        return self._run(self.compiler._evals, e, env, False)

    def value(self, e: ast.Expr, env: Env) -> Any:
        """A rule's reading of an expression: its value, a condition's truth (`truth`: a null is false)."""
        return self._run(self.compiler._values, e, env, True)

    def record(self, label: str, e: ast.Expr, env: Env | None = None) -> Any:
        """`value` as the rule semantics call it (`record(label, expr, env)`: the label names a step, and the
        compiled engine records none)."""
        if not env:
            hit = self.compiler._values.get(id(e))
            if hit is not None and hit[0] is e and not hit[1]:
                size = hit[3]
                return hit[2](self.context, [None] * size if size else _NO_SLOTS)
            return self._run(self.compiler._values, e, _NO_ENV, True)
        return self._run(self.compiler._values, e, env, True)

    def _run(self, table: dict[int, tuple[ast.Expr, tuple[str, ...], Fn, int]], e: ast.Expr, env: Env,
             as_value: bool) -> Any:
        hit = table.get(id(e))
        if hit is not None and hit[0] is e:
            names = hit[1]
            if not env and not names:
                size = hit[3]
                return hit[2](self.context, [None] * size if size else _NO_SLOTS)
            if len(names) == 1 and len(env) == 1:  # one variable (an `each` element): its slot first
                bound = env.get(names[0])
                if bound is not None:
                    size = hit[3]
                    first: Slots = [bound.value]
                    if size > 1:
                        first.extend([None] * (size - 1))
                    return hit[2](self.context, first)
            names = tuple(env)
            if names == hit[1]:
                fn, size = hit[2], hit[3]
            else:
                fn, size = self.compiler.top(e, names, as_value)
        else:
            fn, size = self.compiler.top(e, tuple(env), as_value)
        slots: Slots = [b.value for b in env.values()]
        if size > len(slots):
            slots.extend([None] * (size - len(slots)))
        return fn(self.context, slots)

    def evaluate(self, e: ast.Expr, env: Env | None = None) -> tuple[Any, None]:
        return self.eval(e, env or {}), None

    def path_of(self, e: ast.Expr, env: Env) -> str | None:
        """The fact path an expression reads, as the interpreter names it."""
        return fact_path(e, env, self.compiler.definitions)
