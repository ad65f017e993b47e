"""The reference interpreter of expressions: three-valued, total, and able to record why.

Values: `UNKNOWN` for an absent fact, `None` for an explicit null ("known not to exist"), then booleans,
numbers, dates, instants, `Duration`s, strings, frozensets, lists and records (dicts).
- and/or/not/implies follow Kleene's three-valued logic.
- A comparison or arithmetic with UNKNOWN is UNKNOWN; a comparison with null is false, arithmetic with null
  is null; `x is null` is UNKNOWN when x is unknown.
- Quantifiers range over finite lists; an unknown list gives UNKNOWN, a null list counts as empty.
When tracing, each logical step is recorded with its value, its span and the facts it read; the outcome
layer turns those steps into explanations.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from safetyrules.check.checker import MAX_RANGE
from safetyrules.check.types import BOOL
from safetyrules.diagnostics import Span
from safetyrules.engine.decisions import ELEMENT_OPEN, NULL_RESULT, state
from safetyrules.engine.values import UNKNOWN, Duration, int64_or_unknown, shift_date, shift_instant, show
from safetyrules.syntax import ast
from safetyrules.syntax.formatter import format_expr
from safetyrules.syntax.walk import chain, children, free_names

STACK_FRAMES = 10_000  # Python frames an evaluation may need: see `ensure_stack`
BLOCK_MIN = 16  # a quantifier over a longer range evaluates its body once per block of alike numbers
KEEP_ELEMENTS = 5  # list elements shown per quantifier in an explanation


@dataclass(slots=True)
class Step:
    """One recorded sub-condition: its text, value, place, the facts it read and its own sub-steps."""

    expr: str
    value: Any
    span: Span | None
    children: list[Step] = field(default_factory=list)
    facts: list[tuple[str, Any]] = field(default_factory=list)
    note: str | None = None
    kind: str = ""  # "and", "or", "not", "implies", a comparison operator, or the node's class name


class Bound:
    """A value bound by a quantifier or `each`; its fact path is built only when an explanation needs it."""

    __slots__ = ("base", "index", "value")

    def __init__(self, value: Any, base: str, index: int | None = None) -> None:
        self.value = value
        self.base = base
        self.index = index

    @property
    def path(self) -> str:
        if self.index is None:
            return self.base
        if not isinstance(self.value, dict | dt.date):  # a number of a range, a code of a set: its value
            return show(self.value)
        return f"{self.base}[{element_label(self.value, self.index)}]"


Env = dict[str, Bound]

ELEMENT_KEYS = ("id", "date", "found_on", "published_on", "occurred_at", "year", "starts_on", "hired_on")


def element_label(value: Any, index: int) -> str:
    """How an element of a fact list is named in paths: its id, else its date, else its position."""
    if isinstance(value, dict):
        for key in ELEMENT_KEYS:
            v = value.get(key)
            if v is not None and v is not UNKNOWN:
                return v.isoformat() if isinstance(v, dt.date) else str(v)
    elif isinstance(value, dt.date):
        return value.isoformat()
    return str(index)


_LOGIC = frozenset({"and", "or", "implies"})
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in", "not in"})
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def ensure_stack() -> None:
    """Let the recursive evaluators nest as deep as any policy `check` accepts. An expression is at most
    `parser.MAX_DEPTH` levels deep (a few frames each, more when tracing), and a definition is evaluated with
    the definitions it reads already cached (`Interpreter._warm`), so the deepest evaluation is a rule's
    expression, one definition's inside it and their formatting when tracing: about 2,000 frames, more than
    Python's default limit of 1,000. The limit is raised (never lowered) to STACK_FRAMES; since Python 3.11
    calls between Python functions do not use the C stack, this is safe."""
    if sys.getrecursionlimit() < STACK_FRAMES:
        sys.setrecursionlimit(STACK_FRAMES)


class Interpreter:
    """Evaluates expressions for one enterprise on one date."""

    def __init__(
        self,
        record: Mapping[str, Any],
        as_of: dt.date,
        param_value: Callable[[str, dt.date], Any],
        definitions: Mapping[str, ast.DefineDecl],
        rule_outcome: Callable[[str], str],
        trace: bool = False,
    ) -> None:
        self.record = record
        self.as_of = as_of
        self.param_value = param_value
        self.definitions = definitions
        self.rule_outcome = rule_outcome
        self.trace = trace
        self.missing: set[str] = set()  # fact paths read while unknown
        self.params_read: set[str] = set()
        self.rules_read: set[str] = set()
        self.branches: set[tuple[Span, bool]] = set()  # when tracing: every value a condition took (coverage)
        self._picked: dict[int, str] = {}  # id of an element chosen by find/latest → its fact path
        self._define_cache: dict[str, tuple[Any, set[str], set[str], set[str]]] = {}
        self._stack: list[Step] = []
        self._chains: dict[int, tuple[ast.Expr, list[ast.Expr]]] = {}  # id of an and/or node → its operands
        self._not_params: set[str] = set()  # names `param_value` refused (KeyError: not a param, on any day)
        self._probes: dict[int, list[Any]] = {}  # id of a range variable's Bound → the numbers it was compared with
        self._range_quantifiers: dict[int, tuple[ast.Expr, bool]] = {}  # id of a quantifier → `_over_range`
        self._dispatch = self._build_dispatch()  # `trace` is fixed from here on
        ensure_stack()

    def rebind(self, record: Mapping[str, Any], as_of: dt.date, rule_outcome: Callable[[str], str]) -> None:
        """Evaluate another record or date with the same params, definitions and tracing: what a new
        interpreter would do, without building its tables again."""
        self.record = record
        self.as_of = as_of
        self.rule_outcome = rule_outcome
        self._picked = {}
        self._define_cache = {}
        self._stack = []
        self.reset()

    # ------------------------------------------------------------------ tracing
    def evaluate(self, e: ast.Expr, env: Env | None = None) -> tuple[Any, Step | None]:
        """Evaluate a top-level expression; with tracing, also return its step tree."""
        env = env or {}
        if not self.trace:
            return self.eval(e, env), None
        root = Step(format_expr(e), None, e.span)
        self._stack.append(root)
        try:
            root.value = self.eval(e, env)
        finally:
            self._stack.pop()
        # a single recorded child that is the same expression is the root itself
        if len(root.children) == 1 and root.children[0].expr == root.expr:
            child = root.children[0]
            child.facts = root.facts + child.facts
            return root.value, child
        return root.value, root

    def _fact(self, path: str, value: Any) -> None:
        if value is UNKNOWN:
            self.missing.add(path)
        if self.trace and self._stack:
            facts = self._stack[-1].facts
            if (path, value) not in facts:
                facts.append((path, value))

    def _recorded(self, e: ast.Expr, compute: Callable[[], Any], note: str | None = None) -> Any:
        if not self.trace:
            return compute()
        kind = e.op if isinstance(e, ast.Binary | ast.Unary) else type(e).__name__
        step = Step(format_expr(e), None, e.span, note=note, kind=kind)
        if not self._stack:
            return compute()
        self._stack[-1].children.append(step)
        self._stack.append(step)
        try:
            step.value = compute()
        finally:
            self._stack.pop()
        if isinstance(step.value, bool):
            self.branches.add((e.span, step.value))
        if len(step.children) == 1 and step.children[0].expr == step.expr:
            child = step.children[0]
            child.note = child.note or step.note
            child.facts = step.facts + child.facts
            self._stack[-1].children[-1] = child
        return step.value

    # ------------------------------------------------------------------ evaluation
    def eval(self, e: ast.Expr, env: Env) -> Any:
        """The value of `e` (dispatch on the node's class: a dict lookup, not a chain of isinstance)."""
        return self._dispatch[type(e)](e, env)

    def value(self, e: ast.Expr, env: Env) -> Any:
        """A rule's reading of an expression: its value, a condition's truth (`truth`: a null is false)."""
        value = self.eval(e, env)
        return truth(value) if e.checked_type == BOOL else value

    def _build_dispatch(self) -> dict[type, Callable[[Any, Env], Any]]:
        dispatch: dict[type, Callable[[Any, Env], Any]] = {
            ast.IntLit: self._literal, ast.StringLit: self._literal, ast.DateLit: self._literal,
            ast.InstantLit: self._literal, ast.BoolLit: self._literal,
            ast.DurationLit: lambda e, env: Duration.of(e.amount, e.unit),
            ast.NullLit: lambda e, env: None,
            ast.AsOf: lambda e, env: self.as_of,
            ast.Name: self._name_node,
            ast.Field: self._field,
            ast.ParamAt: self._param_at,
            ast.SetLit: self._set,
            ast.IntRange: self._range,
            ast.Unary: self._unary,
            ast.Binary: self._binary,
            ast.IsTest: self._is_node,
            ast.IfThenElse: self._if,
            ast.Call: self._call_node,
            ast.Quantifier: self._quantify_node,
            ast.OrderPick: self._quantify_node,
        }
        if not self.trace:  # nothing to record: straight to the evaluation, without the recording wrappers
            dispatch.update({ast.Binary: self._binary_plain, ast.IsTest: self._is, ast.IfThenElse: self._branch,
                             ast.Call: self._call, ast.Quantifier: self._quantify, ast.OrderPick: self._quantify})
        return dispatch

    @staticmethod
    def _literal(e: Any, env: Env) -> Any:
        return e.value

    def _param_at(self, e: ast.ParamAt, env: Env) -> Any:
        when = self.eval(e.at, env)
        if when is UNKNOWN or when is None:
            return when
        self.params_read.add(e.param)
        return self.param_value(e.param, when)

    def _set(self, e: ast.SetLit, env: Env) -> Any:
        return set_of([self.eval(i, env) for i in e.items])

    def _range(self, e: ast.IntRange, env: Env) -> Any:
        return int_range(self.eval(e.low, env), self.eval(e.high, env))

    def _unary(self, e: ast.Unary, env: Env) -> Any:
        if e.op == "not":
            if self.trace:
                return self._recorded(e, lambda: _not(self.eval(e.operand, env)))
            return _not(self.eval(e.operand, env))
        return negate(self.eval(e.operand, env))

    def _binary(self, e: ast.Binary, env: Env) -> Any:
        op = e.op
        if op in _LOGIC:
            return self._recorded(e, lambda: self._logic(e, env)) if self.trace else self._logic(e, env)
        if op in _COMPARISONS:
            return self._recorded(e, lambda: self._compare(e, env)) if self.trace else self._compare(e, env)
        return _arith(op, self.eval(e.left, env), self.eval(e.right, env))

    def _binary_plain(self, e: ast.Binary, env: Env) -> Any:
        """`_binary` when not tracing."""
        op = e.op
        if op in _LOGIC:
            return self._logic(e, env)
        if op in _COMPARISONS:
            return self._compare(e, env)
        return _arith(op, self.eval(e.left, env), self.eval(e.right, env))

    def _is_node(self, e: ast.IsTest, env: Env) -> Any:
        return self._recorded(e, lambda: self._is(e, env)) if self.trace else self._is(e, env)

    def _if(self, e: ast.IfThenElse, env: Env) -> Any:
        return self._recorded(e, lambda: self._branch(e, env)) if self.trace else self._branch(e, env)

    def _branch(self, e: ast.IfThenElse, env: Env) -> Any:
        cv = truth(self.eval(e.cond, env))
        if cv is UNKNOWN:
            return either(self.eval(e.then, env), self.eval(e.else_, env))
        return self.eval(e.then if cv else e.else_, env)

    def _call_node(self, e: ast.Call, env: Env) -> Any:
        return self._recorded(e, lambda: self._call(e, env)) if self.trace else self._call(e, env)

    def _quantify_node(self, e: ast.Quantifier | ast.OrderPick, env: Env) -> Any:
        return self._recorded(e, lambda: self._quantify(e, env)) if self.trace else self._quantify(e, env)

    def _name_node(self, e: ast.Name, env: Env) -> Any:
        bound = env.get(e.id)  # a bound variable, the most frequent name (values are never None)
        return bound.value if bound is not None else self._name(e.id, env)

    def _name(self, name: str, env: Env) -> Any:
        if name in env:
            return env[name].value
        if name in self.definitions:
            return self._definition(name)
        if name not in self._not_params:
            try:
                value = self.param_value(name, self.as_of)
            except KeyError:
                self._not_params.add(name)
            else:
                self.params_read.add(name)
                return value
        value = self.record.get(name, UNKNOWN)
        if value is UNKNOWN or self.trace:
            self._fact(name, value)
        return value

    def _definition(self, name: str) -> Any:
        """A definition is evaluated once per enterprise; later reads replay what it read."""
        cached = self._define_cache.get(name)
        if cached is None:
            below = definition_chains(self.definitions).get(name)
            if below:
                self._warm(below)
            outer = (self.missing, self.params_read, self.rules_read)
            self.missing, self.params_read, self.rules_read = set(), set(), set()
            try:
                value = self._recorded(self.definitions[name].value,
                                       lambda: self.eval(self.definitions[name].value, {}), note=name)
                cached = (value, self.missing, self.params_read, self.rules_read)
            finally:
                self.missing, self.params_read, self.rules_read = outer
            self._define_cache[name] = cached
        elif self.trace and self._stack:
            self._stack[-1].children.append(Step(name, cached[0], self.definitions[name].span, note="define"))
        value, missing, params, rules = cached
        self.missing |= missing
        self.params_read |= params
        self.rules_read |= rules
        return value

    def _warm(self, names: tuple[str, ...]) -> None:
        """Evaluate the definitions a definition reads, deepest first, before it: each then finds the ones it
        reads cached, so the Python stack holds one definition at a time however long the chain (a chain of
        150 `define`s used to raise RecursionError). What each reads is kept with its cached value and
        replayed where it is read, as always; when tracing, its steps are recorded on a scratch step (branch
        coverage) and the explanation shows it as a `define` step with its value."""
        for dep in names:
            if dep in self._define_cache:
                continue
            outer = (self.missing, self.params_read, self.rules_read, self._stack)
            self._stack = [Step(dep, None, None)] if self.trace else []
            try:
                self._definition(dep)
            finally:
                self.missing, self.params_read, self.rules_read, self._stack = outer

    def reset(self) -> None:
        """Start a new rule: forget what the previous rule read (definitions stay cached)."""
        self.missing = set()
        self.params_read = set()
        self.rules_read = set()
        self.branches = set()

    def path_of(self, e: ast.Expr, env: Env) -> str | None:
        """The fact path an expression reads (`hazards[H-1].plan.time_limit`), when it reads one."""
        return fact_path(e, env, self.definitions)

    def _field(self, e: ast.Field, env: Env) -> Any:
        target = self._dispatch[type(e.target)](e.target, env)  # `eval`, inlined
        if target is UNKNOWN or target is None:
            value = target
        elif type(target) is dict or isinstance(target, Mapping):  # a dict first: the ABC check is slow
            value = target.get(e.name, UNKNOWN)
        else:  # pragma: no cover - the checker allows fields of records only
            value = UNKNOWN
        if value is UNKNOWN or self.trace:  # paths are for explanations and missing facts only
            path = self.path_of(e, env)
            if path is None and isinstance(target, Mapping) and id(target) in self._picked:
                path = f"{self._picked[id(target)]}.{e.name}"
            if path is not None:
                self._fact(path, value)
        return value

    def _logic(self, e: ast.Binary, env: Env) -> Any:
        """Kleene and/or/implies. A chain `a or b or c` is one step; when tracing, every operand is
        evaluated (no short cut) so that the explanation names all that decided it."""
        if e.op == "implies":
            left = truth(self.eval(e.left, env))
            if left is False:
                if self.trace:  # explain the right side without letting it add missing facts (as and/or)
                    missing, self.missing = self.missing, set(self.missing)
                    self.eval(e.right, env)
                    self.missing = missing
                return True
            right = truth(self.eval(e.right, env))
            if left is False or right is True:
                return True
            return False if left is True and right is False else UNKNOWN
        cached = self._chains.get(id(e))
        if cached is None or cached[0] is not e:
            cached = self._chains[id(e)] = (e, chain(e, e.op))
        operands = cached[1]
        decisive = e.op == "or"  # the value that settles the chain
        seen_unknown = False
        if not self.trace:  # the loop below without its explanation's bookkeeping
            dispatch = self._dispatch
            for operand in operands:
                v = truth(dispatch[type(operand)](operand, env))
                if v is decisive:
                    return decisive
                if v is UNKNOWN:
                    seen_unknown = True
            return UNKNOWN if seen_unknown else not decisive
        settled = False
        for operand in operands:
            if settled:  # explain the rest without letting it add missing facts
                missing, self.missing = self.missing, set(self.missing)
                self._operand(operand, env)
                self.missing = missing
                continue
            v = truth(self._operand(operand, env))
            if v is decisive:
                settled = True
            elif v is UNKNOWN:
                seen_unknown = True
        if settled:
            return decisive
        return UNKNOWN if seen_unknown else not decisive

    def _operand(self, e: ast.Expr, env: Env) -> Any:
        """An operand of and/or; when tracing, a plain fact (`ppe.worn`) gets a step of its own so that an
        explanation or a remedy can name it."""
        if self.trace and isinstance(e, ast.Field | ast.Name):
            return self._recorded(e, lambda: self.eval(e, env))
        return self.eval(e, env)

    def _compare(self, e: ast.Binary, env: Env) -> Any:
        dispatch = self._dispatch  # `eval`, inlined: comparisons are the most frequent nodes
        left, right = dispatch[type(e.left)](e.left, env), dispatch[type(e.right)](e.right, env)
        if self._probes:
            self._probe(e, env, left, right)
        return compare(e.op, left, right)

    def _probe(self, e: ast.Binary, env: Env, left: Any, right: Any) -> None:
        """Note the number a probed range variable is compared with (see `_range_rows`)."""
        for node, other in ((e.left, right), (e.right, left)):
            if isinstance(node, ast.Name):
                bound = env.get(node.id)
                met = self._probes.get(id(bound)) if bound is not None else None
                if met is not None and type(other) in (int, float):
                    met.append(other)

    def _is(self, e: ast.IsTest, env: Env) -> Any:
        return is_test(e.test, e.negated, self.eval(e.operand, env))

    def _call(self, e: ast.Call, env: Env) -> Any:
        f = e.func
        if f in ("violated", "triggered"):
            arg = e.args[0]
            assert isinstance(arg, ast.Name)
            self.rules_read.add(arg.id)
            outcome = self.rule_outcome(arg.id)
            if outcome == "unknown":
                return UNKNOWN
            return outcome == ("violated" if f == "violated" else "triggered")
        return apply_function(f, [self.eval(a, env) for a in e.args])

    def _element(self, q: ast.Quantifier | ast.OrderPick, env: Env, item: Any, base: str, i: int,
                 bound: Bound | None = None) -> tuple[Any, Any, Any, Step | None]:
        """One element's row: (element, where, body or key, its step when tracing)."""
        inner = {**env, q.var: bound or Bound(item, base, i)}
        step = None
        if self.trace:
            step = Step(f"{q.var} = {inner[q.var].path}", None, None)
            self._stack.append(step)
        try:
            where = True if q.where is None else truth(self.eval(q.where, inner))
            body = q.key if isinstance(q, ast.OrderPick) else q.body
            if where is False:
                value = None
            elif body is None:  # a quantifier without a body (an order pick always has a key)
                value = True
            elif isinstance(q, ast.Quantifier) and q.kind in ("any", "all", "count"):
                value = truth(self.eval(body, inner))
            else:
                value = self.eval(body, inner)
        finally:
            if step is not None:
                self._stack.pop()
        return item, where, value, step

    def _over_range(self, q: ast.Quantifier | ast.OrderPick) -> bool:
        """Whether `q` ranges over an integer range (`y in a .. b`, or a definition that is one) and uses its
        variable only as one side of comparisons (`c.year == y`, `y <= n`)."""
        hit = self._range_quantifiers.get(id(q))
        if hit is not None and hit[0] is q:
            return hit[1]
        coll = q.collection
        if isinstance(coll, ast.Name) and coll.id in self.definitions:
            coll = self.definitions[coll.id].value
        parts = [x for x in (q.where, q.key if isinstance(q, ast.OrderPick) else q.body) if x is not None]
        ok = isinstance(coll, ast.IntRange) and all(_compared_only(x, q.var) for x in parts)
        self._range_quantifiers[id(q)] = (q, ok)
        return ok

    def _range_rows(self, q: ast.Quantifier | ast.OrderPick, env: Env, items: list[Any], base: str,
                    ) -> list[Row]:
        """The rows of a quantifier over a range, evaluating the body once per block of numbers that compare
        alike. The variable only meets other values in comparisons (`_over_range`), so every number that
        compares with each value the evaluation met as the evaluated one did takes the same path to the same
        value: evaluating one of them is enough. The blocks are bounded by the values met (the years on record,
        say), so the work follows the facts, not the length of the range (`first_year .. year(as_of)` as of
        9999-12-31 is a few blocks, not 8,000 evaluations)."""
        rows: list[Row] = []
        i, last = 0, len(items) - 1
        while i <= last:
            y = items[i]
            probe = Bound(y, base, i)
            met: list[Any] = []
            self._probes[id(probe)] = met
            before = set(self.missing)
            try:
                row = self._element(q, env, y, base, i, probe)
            finally:
                del self._probes[id(probe)]
            end = items[last]
            for v in met:
                if v == y:
                    end = y
                    break
                if v > y:  # the numbers below v compare with it as y did
                    end = min(end, math.ceil(v) - 1)
            j = i + (end - y)
            if j > i:
                if row[3] is not None:
                    row[3].expr = f"{q.var} = {y} .. {end}"
                self._name_block(before, q.var, y, end)
            rows.append((*row, j - i + 1))  # the block's first number stands for all: found, picked or counted
            i = j + 1
        return rows

    def _name_block(self, before: set[str], var: str, first: int, last: int) -> None:
        """Missing facts the block's first number named (`safety_costs[c.year == y; y=2023]`) name the block."""
        pattern = re.compile(rf"\b{re.escape(var)}={first}(?![0-9])")
        for m in self.missing - before:
            renamed = pattern.sub(f"{var}={first}..{last}", m)
            if renamed != m:
                self.missing.discard(m)
                self.missing.add(renamed)

    def _quantify(self, q: ast.Quantifier | ast.OrderPick, env: Env) -> Any:
        coll = self.eval(q.collection, env)
        if coll is UNKNOWN:
            return UNKNOWN
        items = elements(coll)
        base = self.path_of(q.collection, env) or q.var
        if len(items) > BLOCK_MIN and self._over_range(q):
            rows = self._range_rows(q, env, items, base)
        else:
            rows = [(*self._element(q, env, item, base, i), 1) for i, item in enumerate(items)]
        result, chosen = _aggregate(q, rows)
        if isinstance(result, dict):  # a picked element: remember its path for reads of its fields
            index = next((i for i, item in enumerate(items) if item is result), 0)
            self._picked[id(result)] = Bound(result, base, index).path
        if result is UNKNOWN and isinstance(q, ast.Quantifier) and q.kind == "find" and q.where is not None:
            bound = ", ".join(f"{k}={show(v.value)}" for k, v in env.items() if not isinstance(v.value, dict | list))
            self.missing.add(f"{base}[{format_expr(q.where)}{'; ' + bound if bound else ''}]")
        if self.trace and self._stack:
            kept = list({id(s): s for s in chosen if s is not None}.values())[:KEEP_ELEMENTS]  # a block: once
            for s in kept:
                s.value = True
            self._stack[-1].children.extend(kept)
            if len(items) and not kept:
                self._stack[-1].note = f"{len(items)} element(s), none decisive"
        return result


_ORDERINGS = frozenset({"==", "!=", "<", "<=", ">", ">="})


def _compared_only(e: ast.Expr, var: str) -> bool:
    """Whether every free use of `var` in `e` is one side of a comparison whose other side does not use it."""
    stack = [e]
    while stack:
        node = stack.pop()
        match node:
            case ast.Name(id=name) if name == var:
                return False
            case ast.Binary(op=op, left=ast.Name(id=name), right=other) if op in _ORDERINGS and name == var:
                if var in free_names(other):
                    return False
                stack.append(other)
            case ast.Binary(op=op, left=other, right=ast.Name(id=name)) if op in _ORDERINGS and name == var:
                if var in free_names(other):
                    return False
                stack.append(other)
            case ast.Quantifier(var=v, collection=c) | ast.OrderPick(var=v, collection=c) if v == var:
                stack.append(c)  # the variable is rebound inside: only the collection sees ours
            case _:
                stack.extend(children(node))
    return True


_CHAINS: dict[int, tuple[Mapping[str, ast.DefineDecl], dict[str, tuple[str, ...]]]] = {}


def definition_chains(definitions: Mapping[str, ast.DefineDecl]) -> dict[str, tuple[str, ...]]:
    """For each definition, the definitions it reads directly or through others, deepest first (computed
    once per policy: the mapping is the checked policy's, shared by every interpreter)."""
    hit = _CHAINS.get(id(definitions))
    if hit is not None and hit[0] is definitions:
        return hit[1]
    direct = {n: sorted({x for x in free_names(d.value) if x in definitions and x != n})
              for n, d in definitions.items()}
    out: dict[str, tuple[str, ...]] = {}
    for name in definitions:
        order: list[str] = []
        seen = {name}
        stack: list[tuple[str, int]] = [(name, 0)]
        while stack:  # iterative post-order: a chain of any length
            node, i = stack.pop()
            deps = direct[node]
            if i < len(deps):
                stack.append((node, i + 1))
                if deps[i] not in seen:
                    seen.add(deps[i])
                    stack.append((deps[i], 0))
            elif node != name:
                order.append(node)
        out[name] = tuple(order)
    if len(_CHAINS) > 64:  # policies come and go (what-if variants): keep the cache small
        _CHAINS.clear()
    _CHAINS[id(definitions)] = (definitions, out)
    return out


Row = tuple[Any, Any, Any, "Step | None", int]  # element, where, body or key, its step, how many elements it is


def _aggregate(q: ast.Quantifier | ast.OrderPick, rows: list[Row]) -> tuple[Any, list[Step | None]]:
    """The quantifier's value and the elements that decided it (a row may stand for a block of alike numbers
    of a range: the first of them, counted as many times). An element whose missing fact cannot change the
    result does not make it unknown (`ELEMENT_OPEN` and the rules beside it in engine/decisions.py)."""
    kind = q.kind
    if kind in ELEMENT_OPEN:
        open_states = ELEMENT_OPEN[kind]
        open_rows = [r for r in rows if (state(r[1], UNKNOWN), state(r[2], UNKNOWN)) in open_states]
        decisive = {"any": True, "all": False}.get(kind)
        if decisive is not None:
            hits = [r for r in rows if r[1] is True and r[2] is decisive]
            if hits:
                return decisive, [r[3] for r in (hits[:1] if kind == "any" else hits)]
            return (UNKNOWN, [r[3] for r in open_rows]) if open_rows else (not decisive, [])
        if open_rows:
            return UNKNOWN, [r[3] for r in open_rows]
        hits = [r for r in rows if r[1] is True and r[2] is True]
        return sum(r[4] for r in hits), [r[3] for r in hits]
    # the value of an element is unknown: open whenever it may be an element of the aggregate
    unknown_value = [r for r in rows if r[1] is not False and r[2] is UNKNOWN]
    if unknown_value:
        return UNKNOWN, [r[3] for r in unknown_value]
    matched = [r for r in rows if r[1] is True]
    maybe = [r for r in rows if r[1] is UNKNOWN]  # their values (keys) are known
    # list order decides `find` and ties of a pick; needed only when some element may match
    position = {id(r): i for i, r in enumerate(rows)} if maybe else {}
    if kind == "find":
        first = position[id(matched[0])] if matched and maybe else len(rows)
        before = [r for r in maybe if position[id(r)] < first]
        if before:
            return UNKNOWN, [r[3] for r in before]
        return (matched[0][0], [matched[0][3]]) if matched else (UNKNOWN, [])  # no such record: unknown
    values = [r for r in matched if r[2] is not None]
    if kind == "sum":
        open_rows = [r for r in maybe if r[2] is not None and r[2] != 0]
        if open_rows:
            return UNKNOWN, [r[3] for r in open_rows]
        return int64_or_unknown(sum(r[2] * r[4] for r in values)), [r[3] for r in values]
    highest = kind in ("max", "latest")
    best = (max(values, key=lambda r: r[2]) if highest else min(values, key=lambda r: r[2])) if values else None
    open_rows = [r for r in maybe if r[2] is not None and (
        best is None or (r[2] > best[2] if highest else r[2] < best[2])
        or (isinstance(q, ast.OrderPick) and r[2] == best[2] and position[id(r)] < position[id(best)]))]
    if open_rows:
        return UNKNOWN, [r[3] for r in open_rows]
    if best is None:
        return None, []
    return (best[0] if isinstance(q, ast.OrderPick) else best[2]), [best[3]]


def aggregate_decided(q: ast.Quantifier | ast.OrderPick, matched: list[tuple[Any, Any]]) -> Any:
    """`_aggregate`'s value when no element's filter or value is unknown, from the `(element, value)` pairs
    whose filter holds, in list order (a value of `any`/`all`/`count` is its condition's truth): what
    `_aggregate` computes when it has no open element, without its lists (the compiled engine's common case;
    a test holds the two equal)."""
    kind = q.kind
    if kind == "any":
        return any(v is True for _, v in matched)
    if kind == "all":
        return all(v is True for _, v in matched)
    if kind == "count":
        return sum(1 for _, v in matched if v is True)
    if kind == "find":
        return matched[0][0] if matched else UNKNOWN  # no such record: unknown
    values = [(x, v) for x, v in matched if v is not None]
    if kind == "sum":
        return int64_or_unknown(sum(v for _, v in values))
    if not values:
        return None
    best = max(values, key=_second) if kind in ("max", "latest") else min(values, key=_second)
    return best[0] if isinstance(q, ast.OrderPick) else best[1]


def _second(pair: tuple[Any, Any]) -> Any:
    return pair[1]


def fact_path(e: ast.Expr, env: Env, definitions: Mapping[str, ast.DefineDecl]) -> str | None:
    """The fact path an expression reads (`hazards[H-1].plan.time_limit`), when it reads one: a field chain
    over a bound element (named by its path) or a fact; None for a definition or anything computed."""
    names: list[str] = []
    while isinstance(e, ast.Field):
        names.append(e.name)
        e = e.target
    if not isinstance(e, ast.Name):
        return None
    if e.id in env:
        base = env[e.id].path
    elif e.id in definitions:
        return None
    else:
        base = e.id
    return ".".join([base, *reversed(names)])


# ------------------------------------------------------------------------------------------ the operators
# What each operator means, written once: the interpreter above and the compiled engine (engine/compiled.py)
# both call these (and `_aggregate`, `truth`, `_not`, `_arith`).


def compare(op: str, left: Any, right: Any) -> Any:
    """`left op right` for a comparison or membership operator, three-valued."""
    if left is None or right is None:  # null decides, whatever the other side (test null with `is null`)
        return NULL_RESULT[op]
    if left is UNKNOWN or right is UNKNOWN:
        return UNKNOWN
    if op == "in":
        return left in right
    if op == "not in":
        return left not in right
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    try:
        return _COMPARE[op](left, right)
    except TypeError:  # e.g. a naive and an aware instant: refuse rather than guess
        return UNKNOWN


def is_test(test: str, negated: bool, v: Any) -> Any:
    """`v is [not] null|known|unknown`."""
    if test == "unknown":
        result: Any = v is UNKNOWN
    elif test == "known":
        result = v is not UNKNOWN
    else:
        result = UNKNOWN if v is UNKNOWN else v is None
    return _not(result) if negated else result


def apply_function(f: str, args: list[Any]) -> Any:
    """A built-in function of values (not `violated` / `triggered`, which read rule outcomes)."""
    if f == "coalesce":
        return coalesce(args)
    if any(a is None for a in args):  # null decides before unknown (engine/decisions.py)
        return NULL_RESULT[f]
    if any(a is UNKNOWN for a in args):
        return UNKNOWN
    match f:
        case "date" if len(args) == 3:
            try:
                return dt.date(int(args[0]), int(args[1]), int(args[2]))
            except (ValueError, OverflowError):  # no such day (a year beyond any C int included)
                return UNKNOWN
        case "date":
            return args[0].date()
        case "year":
            return args[0].year
        case "days_between":
            return (args[1] - args[0]).days
        case "greatest":
            return max(args)
        case "least":
            return min(args)
    raise TypeError(f)  # pragma: no cover


def set_of(values: list[Any]) -> Any:
    """A set literal's value: unknown when an item is."""
    if any(v is UNKNOWN for v in values):
        return UNKNOWN
    return frozenset(values)


def int_range(a: Any, b: Any) -> Any:
    """`a .. b`: unknown when a bound is unknown or null, or when it is longer than MAX_RANGE."""
    if a is UNKNOWN or b is UNKNOWN or a is None or b is None or b - a > MAX_RANGE:
        return UNKNOWN
    return list(range(int(a), int(b) + 1))


def negate(v: Any) -> Any:
    """Unary minus."""
    return v if v is UNKNOWN or v is None else int64_or_unknown(-v)


def either(then_value: Any, else_value: Any) -> Any:
    """`if c then a else b` when c is unknown: the common value of both branches, else unknown."""
    return then_value if then_value == else_value and then_value is not UNKNOWN else UNKNOWN


def elements(coll: Any) -> list[Any]:
    """The elements a quantifier ranges over, in order (a set's in a fixed order; null: none)."""
    return sorted(coll, key=repr) if isinstance(coll, frozenset) else list(coll or [])


def aggregate(q: ast.Quantifier | ast.OrderPick, rows: list[Row]) -> Any:
    """A quantifier's value from its rows (see `_aggregate`)."""
    return _aggregate(q, rows)[0]


def coalesce(args: list[Any]) -> Any:
    """`coalesce(a, b, …)`: the first argument that is known and not null; else unknown if one is unknown."""
    for a in args:
        if a is not UNKNOWN and a is not None:
            return a
    return UNKNOWN if any(a is UNKNOWN for a in args) else None


def truth(v: Any) -> Any:
    """A condition's value: True, False or UNKNOWN; an explicit null counts as false (not established)."""
    if v is UNKNOWN or v is True or v is False:
        return v
    return False if v is None else bool(v)


def _not(v: Any) -> Any:
    v = truth(v)
    return UNKNOWN if v is UNKNOWN else not v


def _arith(op: str, a: Any, b: Any) -> Any:
    """`a op b`. Dates saturate at the ends of the calendar (`shift_date`); an integer (or a duration's part)
    outside the signed 64-bit range is unknown, in every engine (docs/semantics.md)."""
    if a is None or b is None:  # null decides before unknown (engine/decisions.py)
        return NULL_RESULT[op]
    if a is UNKNOWN or b is UNKNOWN:
        return UNKNOWN
    if isinstance(a, dt.datetime) and isinstance(b, Duration):
        return shift_instant(a, b, 1 if op == "+" else -1)
    if isinstance(a, dt.date) and isinstance(b, Duration):
        return shift_date(a, b, 1 if op == "+" else -1)
    if isinstance(a, Duration) and isinstance(b, dt.date):
        return shift_date(b, a)
    if isinstance(a, dt.date) and isinstance(b, dt.date) and op == "-":
        return (a - b).days
    if isinstance(a, Duration) and isinstance(b, Duration):
        return int64_or_unknown(a + b)
    if op == "*" and isinstance(a, Duration):
        return int64_or_unknown(a.scaled(int(b)))
    if op == "*" and isinstance(b, Duration):
        return int64_or_unknown(b.scaled(int(a)))
    if isinstance(a, frozenset):
        return a | b if op == "+" else a - b
    if op == "+":
        return int64_or_unknown(a + b)
    if op == "-":
        return int64_or_unknown(a - b)
    return int64_or_unknown(a * b)


kleene_not = _not  # public names of the operators the compiled engine shares
arithmetic = _arith
