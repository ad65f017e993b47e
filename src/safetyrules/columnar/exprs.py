"""Expressions of the policy language as polars expressions over a scope, with the reference semantics.

Each case mirrors `safetyrules.engine.interpreter.Interpreter.eval` (three-valued logic, null vs unknown,
quantifiers, find/latest, functions); the docstrings name where the columnar form needs care. A value is
computed once per scope and expression (the AST is compared structurally), and stored as a column as soon
as its expressions grow, so that polars never sees exponentially large expression trees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from pydantic import BaseModel

from safetyrules.check.checker import MAX_RANGE
from safetyrules.columnar.scope import PROW, ROW, Scope, segment_reduce, sorted_rows
from safetyrules.columnar.tables import IDX, OFF, ROOT, UNK, VALUE
from safetyrules.columnar.values import (
    FALSE,
    NOCONST,
    Coll,
    K,
    RecRef,
    Unsupported,
    Val,
    checked_int,
    const,
    days_between,
    from_truth,
    gate,
    local_date,
    null_typed,
    or_,
    part,
    shift_date,
    shift_instant,
    truth,
    unknown,
    wide,
)
from safetyrules.engine.decisions import ELEMENT_OPEN
from safetyrules.engine.interpreter import _arith, definition_chains, ensure_stack
from safetyrules.engine.params import ParamTable
from safetyrules.engine.values import UNKNOWN, Duration
from safetyrules.facts._shapes import field_shapes
from safetyrules.lower.program import Program
from safetyrules.syntax import ast
from safetyrules.syntax.walk import nodes

UNROLL_ITEMS = 16  # `any`/`all`/`count` over constant sets up to this size run without an expansion
SIZE_LIMIT = 4  # materialize a value whose expressions grew beyond this (counted with repetition): polars plans a
# large expression slowly (more than computing a column), so values are stored early

# Outcome codes: among obligations the larger is the worse (SEVERITY_ORDER of engine.results).
NOT_APPLICABLE, SATISFIED, PENDING, UNKNOWN_CODE, VIOLATED = 1, 2, 3, 4, 5
NOT_TRIGGERED, EXPIRED, TRIGGERED = 6, 7, 8
OUTCOME_NAMES = {NOT_APPLICABLE: "not_applicable", SATISFIED: "satisfied", PENDING: "pending",
                 UNKNOWN_CODE: "unknown", VIOLATED: "violated", NOT_TRIGGERED: "not_triggered",
                 EXPIRED: "expired", TRIGGERED: "triggered"}
CODE_OF = {name: code for code, name in OUTCOME_NAMES.items()}
"""An outcome's code, by its name."""

_SCALAR_KIND = {"bool": K.BOOL, "int": K.NUM, "str": K.STR, "enum": K.STR, "date": K.DATE, "datetime": K.INST}
_DTYPE = {K.BOOL: pl.Boolean(), K.NUM: pl.Int64(), K.STR: pl.String(), K.DATE: pl.Date(),
          K.INST: pl.Datetime("us")}


def _root_record(model: type[BaseModel]) -> Val:
    return Val(K.REC, pl.col(IDX), base=pl.col(IDX), rec=RecRef(ROOT, "", model, folded=True))


def _and(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """`a & b`, statically false when either is."""
    return FALSE if a is FALSE or b is FALSE else a & b


def _null_decides(unk: pl.Expr, *operands: Val) -> pl.Expr:
    """`unk`, except on rows where an operand is null: there null decides the result whatever the unknown
    operands are (`NULL_RESULT` in engine/decisions.py)."""
    if unk is FALSE:
        return FALSE
    return unk & ~_any([v.is_null for v in operands])


def _any(exprs: list[pl.Expr]) -> pl.Expr:
    out = exprs[0]
    for e in exprs[1:]:
        out = out | e
    return out


def _size(*vals: Val) -> int:
    return 1 + 2 * sum(v.size for v in vals)


MAX_RANGE_ROWS = 5_000_000
"""Rows a batch may expand one integer range into; past it the rule falls back to the reference engine."""


@dataclass(slots=True)
class Context:
    """What one evaluation run shares: the policy, params, the day, the root scope and rule outcomes."""

    policy: Program
    params: ParamTable
    as_of: dt.date
    root: Scope
    outcomes: dict[str, str] = field(default_factory=dict)  # rule → root column of its outcome code
    expansions: dict[Any, Any] = field(default_factory=dict)  # quantifier expansions of the root scope
    defines: dict[str, Val] = field(default_factory=dict)
    keep: set[str] = field(default_factory=set)  # root columns that outlive a rule


class Evaluator:
    """Evaluates expressions of one policy over the scopes of one run."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # id(scope) → (key, condition): while set, only the scope's rows where the condition holds matter (see
        # `guarded`); values computed meanwhile are cached under the key, expansions skip the other rows
        self._guards: dict[int, tuple[str, pl.Expr]] = {}
        ensure_stack()  # as deep as any checked policy nests

    # ------------------------------------------------------------------ entry points
    def eval(self, e: ast.Expr, scope: Scope) -> Val:
        key: tuple[Any, ...] = ("expr", e)
        cached: Val | None = scope.cache.get(key)  # a value for every row serves a guarded one too
        if cached is not None:
            return cached
        guard = self._guards.get(id(scope)) if self._guards else None
        if guard is not None:
            key = ("expr", e, guard[0])
            guarded: Val | None = scope.cache.get(key)
            if guarded is not None:
                return guarded
        val = self._eval(e, scope)
        if val.size > SIZE_LIMIT:
            val = scope.materialize(val)
        scope.cache[key] = val
        return val

    def cond(self, e: ast.Expr, scope: Scope) -> pl.Expr:
        """`truth(eval(e))`: a condition as a Kleene Boolean (null = unknown)."""
        return truth(self.eval(e, scope))

    def guarded(self, e: ast.Expr, scope: Scope, relevant: pl.Expr | None) -> Val:
        """`eval(e)` where only the rows on which `relevant` (a Boolean, never null) holds will be read: a
        quantifier in `e` expands only those rows (its value elsewhere is arbitrary). Used for what an earlier
        part decides elsewhere (a filter's later conjuncts, the body behind a filter), when `e` holds a
        quantifier and `scope` is an element scope (the root's expansions are shared between rules)."""
        if relevant is None or scope.is_root or not _quantifies(e):
            return self.eval(e, scope)
        outer = self._guards.get(id(scope))
        cond = relevant if outer is None else outer[1] & relevant
        self._guards[id(scope)] = (str(cond), cond)
        try:
            return self.eval(e, scope)
        finally:
            if outer is None:
                del self._guards[id(scope)]
            else:
                self._guards[id(scope)] = outer

    # ------------------------------------------------------------------ dispatch
    def _eval(self, e: ast.Expr, scope: Scope) -> Val:
        match e:
            case ast.IntLit(value=v) | ast.StringLit(value=v) | ast.DateLit(value=v) | ast.InstantLit(value=v) \
                    | ast.BoolLit(value=v):
                return const(v)
            case ast.DurationLit(amount=n, unit=u):
                return const(Duration.of(n, u))
            case ast.NullLit():
                return const(None)
            case ast.AsOf():
                return const(self.ctx.as_of)
            case ast.Name(id=name):
                return self._name(name, scope)
            case ast.Field(target=target, name=name):
                return self.field(self.eval(target, scope), name, scope)
            case ast.ParamAt(param=p, at=at):
                return self._param_at(p, self.eval(at, scope))
            case ast.SetLit(items=items):
                values = [self.eval(i, scope) for i in items]
                if all(v.const is not NOCONST for v in values):
                    return const(frozenset(v.const for v in values))
                raise Unsupported("a set literal with non-constant items")
            case ast.IntRange(low=lo, high=hi):
                return self._range(self.eval(lo, scope), self.eval(hi, scope))
            case ast.Unary(op="not", operand=o):
                inner = self.eval(o, scope)
                return _sized(from_truth(~truth(inner), inner.unk is FALSE), inner)
            case ast.Unary(operand=o):
                inner = self.eval(o, scope)
                if inner.kind is K.NULL:
                    return replace_unk(const(None), inner.unk)
                if inner.kind is not K.NUM:
                    raise Unsupported("negation of a non-number")
                value, outside = checked_int(0 - wide(inner.v))  # -(-2**63) is outside the range
                return Val(K.NUM, value, or_(inner.unk, outside), size=_size(inner))
            case ast.Binary(op="and" | "or" | "implies"):
                return self._logic(e, scope)
            case ast.Binary(op="==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in"):
                return self._compare(e.op, self.eval(e.left, scope), self.eval(e.right, scope), scope)
            case ast.Binary(op=op, left=lhs, right=rhs):
                return self._arith(op, self.eval(lhs, scope), self.eval(rhs, scope))
            case ast.IsTest():
                return self._is(e, scope)
            case ast.IfThenElse(cond=c, then=t, else_=x):
                return self._if(self.eval(c, scope), self.eval(t, scope), self.eval(x, scope))
            case ast.Call():
                return self._call(e, scope)
            case ast.Quantifier() | ast.OrderPick():
                return self._quantify(e, scope)
        raise Unsupported(f"cannot evaluate {type(e).__name__}")

    # ------------------------------------------------------------------ names and fields
    def _name(self, name: str, scope: Scope) -> Val:
        bound = scope.lookup(name)
        if bound is not None:
            return scope.import_val(bound[1], bound[0])
        if name in self.ctx.params.definitions:
            return scope.import_val(self.define(name), self.ctx.root)
        try:
            value = self.ctx.params.value(name, self.ctx.as_of)
        except KeyError:
            pass
        else:
            return const(value)
        return self.field(_root_record(self.ctx.policy.contract.model), name, scope)

    def define(self, name: str) -> Val:
        """A definition is evaluated once per run, in the root scope (as the interpreter does)."""
        val = self.ctx.defines.get(name)
        if val is None:
            for dep in definition_chains(self.ctx.params.definitions).get(name, ()):  # deepest first: the stack
                if dep not in self.ctx.defines:  # holds one definition at a time, however long the chain
                    self.define(dep)
            root = self.ctx.root
            val = root.materialize(self.eval(self.ctx.params.definitions[name].value, root))
            for expr in val.parts().values():
                if expr.meta.is_column():
                    self.ctx.keep.add(expr.meta.output_name())
            self.ctx.defines[name] = val
        return val

    def field(self, target: Val, name: str, scope: Scope) -> Val:
        """A field of a record: unknown of an unknown record, null of a null record."""
        if target.kind is K.NULL:
            return replace_unk(const(None), target.unk)
        if target.kind is not K.REC or target.rec is None:
            raise Unsupported("a field of a non-record")
        rec = target.rec
        shape = field_shapes(rec.model).get(name)
        if shape is None:
            raise Unsupported(f"{rec.model.__name__} has no declared field {name}")
        path = rec.prefix + name
        ptr = target.base if rec.folded and target.base is not None else target.v
        if shape.kind == "scalar":
            if shape.scalar == "decimal":  # exact decimals are read by the reference engine
                raise Unsupported(f"the decimal field {name}")
            kind = _SCALAR_KIND[str(shape.scalar)]
            cols = [path, path + UNK] + ([path + OFF] if kind is K.INST else [])
            got = scope.gather(rec.table, cols, ptr)
            unk = got[path + UNK] if rec.folded else or_(target.unk, _filled(got[path + UNK]))
            return Val(kind, got[path], unk, off=got.get(path + OFF))
        got = scope.gather(rec.table, [path, path + UNK], ptr)
        present = got[path].fill_null(False)
        unk = got[path + UNK] if rec.folded else or_(target.unk, _filled(got[path + UNK]))
        gated = pl.when(present).then(ptr)
        if shape.kind == "object":
            assert shape.model is not None
            return Val(K.REC, gated, unk, base=ptr if rec.folded else None,
                       rec=RecRef(rec.table, path + ".", shape.model, rec.folded), size=3)
        if rec.table != ROOT:
            raise Unsupported("a list inside a list element")
        table = self.ctx.root.tables.layout.tables[path]
        elem = _SCALAR_KIND[table.leaves[0].kind] if table.model is None else K.REC
        return Val(K.COLL, gated, unk, coll=Coll("child", table=path, elem=elem), size=3)

    def _param_at(self, name: str, at: Val) -> Val:
        """`p at d`: the value in force on day d; unknown or null when d is."""
        sched = self.ctx.params.schedules.get(name)
        if sched is None:
            raise Unsupported(f"`{name}` is not a param")
        entries = sched.entries
        first = const(entries[0][1])
        if first.kind is K.COLL:
            raise Unsupported("a dated set param")
        known = at.is_value
        parts: dict[str, pl.Expr] = {}
        for role, expr in first.parts().items():
            if role == "unk":
                continue
            chain = expr
            for start, value in entries[1:]:
                if start is not None:
                    chain = pl.when(at.v >= start).then(const(value).parts()[role]).otherwise(chain)
            parts[role] = pl.when(known).then(chain)
        return Val(first.kind, parts["v"], at.unk, off=parts.get("off"), days=parts.get("days"),
                   secs=parts.get("secs"), size=2 * _size(at), dated=entries, at=pl.when(known).then(at.v))

    def _range(self, lo: Val, hi: Val) -> Val:
        """`a .. b`: unknown when a bound is unknown or null, or beyond MAX_RANGE elements."""
        if lo.kind not in (K.NUM, K.NULL) or hi.kind not in (K.NUM, K.NULL):
            raise Unsupported("a range of non-numbers")
        refused = lo.unk | hi.unk | lo.v.is_null() | hi.v.is_null() | ((hi.v - lo.v) > MAX_RANGE).fill_null(False)
        return Val(K.COLL, pl.lit(0, dtype=pl.UInt32), refused, coll=Coll("range", elem=K.NUM, lo=lo.v, hi=hi.v),
                   size=_size(lo, hi))

    # ------------------------------------------------------------------ logic and comparisons
    def _logic(self, e: ast.Binary, scope: Scope) -> Val:
        if e.op == "implies":
            a, b = self.eval(e.left, scope), self.eval(e.right, scope)
            return _sized(from_truth(~truth(a) | truth(b), a.unk is FALSE and b.unk is FALSE), a, b)
        operands: list[ast.Expr] = []
        node: ast.Expr = e
        while isinstance(node, ast.Binary) and node.op == e.op:
            operands.append(node.right)
            node = node.left
        operands.append(node)
        operands.reverse()
        vals = [self.eval(operands[0], scope)]
        out = truth(vals[0])
        for o in operands[1:]:  # an operand matters only where the ones before leave the result open
            open_ = (out if e.op == "and" else ~out).fill_null(True)
            v = self.guarded(o, scope, open_)
            vals.append(v)
            out = (out & truth(v)) if e.op == "and" else (out | truth(v))
        return _sized(from_truth(out, all(v.unk is FALSE for v in vals)), *vals)

    def _compare(self, op: str, a: Val, b: Val, scope: Scope) -> Val:
        if op in ("in", "not in"):
            return self._member(op, a, b, scope)
        unk = _null_decides(or_(a.unk, b.unk), a, b)
        known = unk is FALSE
        if a.kind is K.NULL or b.kind is K.NULL:
            # a comparison with null is false, `==` and `!=` included (test null with `is null`)
            return _sized(from_truth(gate(unk, FALSE), known), a, b)
        if a.kind is not b.kind or a.kind in (K.REC, K.COLL):
            if a.kind is K.COLL and b.kind is K.COLL and a.const is not NOCONST and b.const is not NOCONST \
                    and op in ("==", "!="):
                return const((a.const == b.const) == (op == "=="))
            raise Unsupported(f"comparing {a.kind.value} with {b.kind.value}")
        if op in ("==", "!="):
            if a.kind is K.STR and a.const is NOCONST and b.const is NOCONST:
                eq = a.v.cast(pl.String).eq_missing(b.v.cast(pl.String))
            else:
                eq = a.v.eq_missing(b.v)
            if a.kind is K.DUR:
                eq = eq & part(a, "days").eq_missing(part(b, "days")) & part(a, "secs").eq_missing(part(b, "secs"))
            res = (eq if op == "==" else ~eq) & a.v.is_not_null() & b.v.is_not_null()
        else:
            if a.kind not in (K.NUM, K.DATE, K.INST):
                raise Unsupported(f"ordering {a.kind.value}")
            ops: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
                "<": lambda x, y: x < y, "<=": lambda x, y: x <= y, ">": lambda x, y: x > y,
                ">=": lambda x, y: x >= y}
            res = ops[op](a.v, b.v).fill_null(False)
        return _sized(from_truth(gate(unk, res), known), a, b)

    def _member(self, op: str, a: Val, s: Val, scope: Scope) -> Val:
        """`x in S`: unknown if either is; false (`not in`: true) when S or x is null."""
        if s.kind is K.NULL:
            unk_null = _null_decides(or_(a.unk, s.unk), a, s)
            return _sized(from_truth(pl.when(unk_null).then(None).otherwise(pl.lit(op == "not in"))), a, s)
        if s.kind is not K.COLL or s.coll is None:
            raise Unsupported("membership in a non-collection")
        coll = s.coll
        if a.kind in (K.REC, K.COLL, K.DUR, K.INST):
            raise Unsupported(f"membership of a {a.kind.value}")
        if coll.kind == "const":
            items = [i for i in coll.items if i is not None]
            if a.kind is not K.NULL and coll.elem not in (a.kind, K.NULL):
                found: pl.Expr = FALSE
            elif not items or a.kind is K.NULL:
                found = FALSE
            else:
                found = a.v.is_in(pl.lit(pl.Series(items, dtype=_DTYPE[a.kind])).implode()).fill_null(False)
        elif coll.kind == "range":
            assert coll.lo is not None and coll.hi is not None
            found = ((a.v >= coll.lo) & (a.v <= coll.hi)).fill_null(False) if a.kind is K.NUM else FALSE
        else:
            table = self.ctx.root.tables.layout.tables[coll.table]
            if table.model is not None:
                raise Unsupported("membership in a list of records")
            leaf = table.leaves[0]
            if leaf.kind == "enum" and len(leaf.codes) <= 62 and a.kind in (K.STR, K.NULL):
                found = self._in_mask(scope, a, s, coll.table, leaf.codes)
            else:
                found = self._semi(scope, a, s, coll.table)
        res = pl.when(a.v.is_null() | s.v.is_null()).then(pl.lit(False)).otherwise(found)
        if op == "not in":
            res = ~res
        unk = _null_decides(or_(a.unk, s.unk), a, s)
        return _sized(from_truth(gate(unk, res), unk is FALSE), a, s)

    def _in_mask(self, scope: Scope, a: Val, s: Val, table: str, codes: tuple[str, ...]) -> pl.Expr:
        """Membership in a list of enumeration codes: each enterprise's codes as a bit mask (no join)."""
        powers = pl.Series([1 << i for i in range(len(codes))], dtype=pl.UInt64)
        key = ("mask", table)
        masks: pl.Series | None = scope.counter.cache.get(key)
        if masks is None:  # per enterprise, one "has this code" reduction per code over its slice of rows
            tables = self.ctx.root.tables
            starts = scope.counter.table_offsets(tables, table).cast(pl.Int64).to_arrow()
            codes_col = tables.table(table).get_column(VALUE).to_physical()
            masks = pl.repeat(0, len(tables), dtype=pl.UInt64, eager=True)
            for i in range(len(codes)):
                has = segment_reduce(codes_col == i, starts, "any")
                masks = masks + has.cast(pl.UInt64) * (1 << i)
            scope.counter.cache[key] = masks
        owner = scope.series(s.v)
        mask = scope.add(masks.gather(owner), "mask")
        code = a.v.cast(pl.Enum(list(codes)), strict=False).to_physical()
        bit = pl.lit(powers).gather(code)
        return ((mask // bit) % 2 == 1).fill_null(False)

    def _semi(self, scope: Scope, a: Val, s: Val, table: str) -> pl.Expr:
        """Whether each row's value occurs in its own list: a semi-join on (owner, value)."""
        names = scope.columns({"x": a.v, "o": s.v})
        left = pl.DataFrame({ROW: pl.int_range(0, scope.height, dtype=pl.UInt32, eager=True),
                             "o": scope.frame.get_column(names["o"]),
                             "x": scope.frame.get_column(names["x"])}).drop_nulls()
        right = self.ctx.root.tables.table(table).select(pl.col(IDX).alias("o"), pl.col(VALUE).alias("x"))
        right = right.with_columns(pl.col("x").cast(left.schema["x"]))
        hits = left.join(right, on=["o", "x"], how="semi").get_column(ROW)
        flags = pl.Series([False], dtype=pl.Boolean).extend_constant(False, scope.height - 1) if scope.height \
            else pl.Series([], dtype=pl.Boolean)
        if scope.height and len(hits):
            flags = flags.scatter(hits, True)
        return scope.add(flags, "in")

    def _is(self, e: ast.IsTest, scope: Scope) -> Val:
        v = self.eval(e.operand, scope)
        if e.test == "unknown":
            res: pl.Expr = v.unk
        elif e.test == "known":
            res = ~v.unk
        else:
            res = gate(v.unk, v.v.is_null())
        if e.negated:
            res = ~res
        return _sized(from_truth(res, e.test != "null" or v.unk is FALSE), v)

    def _if(self, c: Val, t: Val, x: Val) -> Val:
        """`if`: when the condition is unknown, the common value of both branches if they agree."""
        cond = truth(c)
        if t.kind is K.NULL and x.kind is not K.NULL:
            t = replace_unk(null_typed(x.kind), t.unk)
        if x.kind is K.NULL and t.kind is not K.NULL:
            x = replace_unk(null_typed(t.kind), x.unk)
        if t.kind is not x.kind or t.kind in (K.REC, K.COLL):
            raise Unsupported("an `if` over records, collections or mixed kinds")
        tp, xp = t.parts(), x.parts()
        same = ~t.unk & ~x.unk
        for role in tp:
            if role != "unk":
                same = same & tp[role].eq_missing(xp.get(role, pl.lit(None)))
        parts = {role: pl.when(cond).then(tp[role]).when(~cond).then(xp[role])
                 .otherwise(pl.when(same).then(tp[role])) for role in tp if role != "unk"}
        parts["unk"] = pl.when(cond).then(t.unk).when(~cond).then(x.unk).otherwise(~same)
        out = Val(t.kind, parts["v"], parts["unk"], off=parts.get("off"), days=parts.get("days"),
                  secs=parts.get("secs"))
        return _sized(out, c, t, x, t, x)

    # ------------------------------------------------------------------ arithmetic
    def _arith(self, op: str, a: Val, b: Val) -> Val:
        if a.const is not NOCONST and b.const is not NOCONST:
            folded = _arith(op, a.const, b.const)
            return unknown(a.kind) if folded is UNKNOWN else const(folded)
        unk = _null_decides(or_(a.unk, b.unk), a, b)
        kinds = (a.kind, b.kind)
        if K.NULL in kinds:
            kind = (b if a.kind is K.NULL else a).kind
            if kind in (K.REC, K.COLL):
                raise Unsupported("arithmetic with records or collections")
            return replace_unk(null_typed(kind), unk)
        both = a.is_value & b.is_value
        size = _size(a, b)
        if kinds == (K.NUM, K.NUM):  # in Int128, checked: outside the 64-bit range it is unknown
            ops: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
                "+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y}
            value, outside = checked_int(ops[op](wide(a.v), wide(b.v)))
            return Val(K.NUM, value, or_(unk, both & outside), size=size)
        if kinds in ((K.DATE, K.DUR), (K.DUR, K.DATE)) and op in ("+", "-"):
            d, dur = (a, b) if a.kind is K.DATE else (b, a)
            if op == "-" and a.kind is K.DUR:
                raise Unsupported("duration minus date")
            return Val(K.DATE, shift_date(d.v, dur, -1 if op == "-" else 1), unk, size=size)
        if kinds == (K.INST, K.DUR) and op in ("+", "-"):
            assert a.off is not None
            return Val(K.INST, shift_instant(a.v, a.off, b, -1 if op == "-" else 1), unk,
                       off=pl.when(b.is_value).then(a.off), size=size)
        if kinds == (K.DATE, K.DATE) and op == "-":
            return Val(K.NUM, days_between(b.v, a.v), unk, size=size)
        if kinds == (K.DUR, K.DUR) and op == "+":
            return _duration(unk, both, size, wide(a.v) + wide(b.v),
                             wide(part(a, "days")) + wide(part(b, "days")),
                             wide(part(a, "secs")) + wide(part(b, "secs")))
        if op == "*" and K.DUR in kinds and K.NUM in kinds:
            dur, n = (a, b) if a.kind is K.DUR else (b, a)
            factor = wide(n.v)
            return _duration(unk, both, size, wide(dur.v) * factor, wide(part(dur, "days")) * factor,
                             wide(part(dur, "secs")) * factor)
        raise Unsupported(f"`{op}` on {a.kind.value} and {b.kind.value}")

    # ------------------------------------------------------------------ functions
    def _call(self, e: ast.Call, scope: Scope) -> Val:
        f = e.func
        if f in ("violated", "triggered"):
            arg = e.args[0]
            assert isinstance(arg, ast.Name)
            column = self.ctx.outcomes.get(arg.id)
            if column is None:
                raise Unsupported(f"the outcome of `{arg.id}` is not available")
            target = VIOLATED if f == "violated" else TRIGGERED
            code = Val(K.NUM, pl.col(column))
            code = scope.import_val(code, self.ctx.root)
            unk = code.v == UNKNOWN_CODE
            return Val(K.BOOL, pl.when(unk).then(None).otherwise(code.v == target), unk, size=3)
        args = [self.eval(a, scope) for a in e.args]
        if any(a.kind in (K.REC, K.COLL) for a in args):
            raise Unsupported(f"`{f}` of records or collections")
        if f == "coalesce":
            kind = next((a.kind for a in args if a.kind is not K.NULL), K.NULL)
            args = [replace_unk(null_typed(kind), a.unk) if a.kind is K.NULL else a for a in args]
            roles = [r for r in args[0].parts() if r != "unk"]
            parts: dict[str, pl.Expr] = {}
            for role in roles:
                chain: Any = pl
                for a in args:
                    chain = chain.when(a.is_value).then(part(a, role))
                parts[role] = chain.otherwise(None)
            parts["unk"] = ~_any([a.is_value for a in args]) & _any([a.unk for a in args])
            return Val(kind, parts["v"], parts["unk"], off=parts.get("off"), days=parts.get("days"),
                       secs=parts.get("secs"), size=_size(*args, *args))
        anyunk = _null_decides(_any([a.unk for a in args]), *args)
        anynull = _any([a.v.is_null() for a in args])
        size = _size(*args, *args)
        if f == "date" and len(args) == 3:
            y, m, d = (a.v for a in args)
            sy, sm = y.clip(1, 9999).cast(pl.Int32), m.clip(1, 12).cast(pl.Int8)
            dim = pl.date(sy, sm, 1).dt.days_in_month()
            valid = y.is_between(1, 9999) & m.is_between(1, 12) & d.is_between(1, dim)
            value = pl.date(sy, sm, d.clip(1, 31).clip(upper_bound=dim).cast(pl.Int8))
            bad = ~anyunk & ~anynull & ~valid.fill_null(False)
            return Val(K.DATE, pl.when(anyunk | anynull | bad).then(None).otherwise(value), anyunk | bad,
                       size=size)
        blank = anyunk | anynull

        def out(kind: K, value: pl.Expr, off: pl.Expr | None = None) -> Val:
            return Val(kind, pl.when(blank).then(None).otherwise(value), anyunk,
                       off=None if off is None else pl.when(blank).then(None).otherwise(off), size=size)

        if f == "date":
            (a,) = args
            if a.kind is not K.INST:
                raise Unsupported("date() of a non-instant")
            assert a.off is not None
            return out(K.DATE, local_date(a.v, a.off))
        if f == "year":
            return out(K.NUM, args[0].v.dt.year().cast(pl.Int64))
        if f == "days_between":
            return out(K.NUM, days_between(args[0].v, args[1].v))
        if f in ("greatest", "least"):
            kind = next((a.kind for a in args if a.kind is not K.NULL), K.NULL)
            if kind is K.NULL:
                return Val(K.NULL, pl.lit(None), anyunk)
            if kind not in (K.NUM, K.DATE, K.INST) or any(a.kind not in (kind, K.NULL) for a in args):
                raise Unsupported(f"`{f}` of mixed kinds")
            best_v, best_off = args[0].v, args[0].off
            for a in args[1:]:
                better = (a.v > best_v) if f == "greatest" else (a.v < best_v)
                best_v = pl.when(better).then(a.v).otherwise(best_v)
                if kind is K.INST:
                    best_off = pl.when(better).then(a.off).otherwise(best_off)
            return out(kind, best_v, off=best_off) if kind is K.INST and best_off is not None else out(kind, best_v)
        raise Unsupported(f"function `{f}`")

    # ------------------------------------------------------------------ quantifiers
    def expand(self, scope: Scope, c: Val, var: str, source: ast.Expr | None = None) -> Scope:
        """The inner scope of a quantifier over `c`: one row per (row of `scope`, element).

        An expansion is built once per run and outer scope: later quantifiers over the same collection
        with the same variable (in this rule or a later one) reuse it, with every value already computed
        in it. `source` (the collection's expression) tells the kernel which rules still need it."""
        coll = c.coll
        assert coll is not None
        if source is not None and not scope.counter.overlays:  # the same expression has the same value
            key: tuple[Any, ...] = ("expand", var, source)
        else:
            key = ("expand", var, coll.kind, coll.table, coll.items, tuple(str(e) for e in c.parts().values()))
        store: dict[Any, Any] = self.ctx.expansions if scope.is_root else scope.cache
        hit = store.get(key)  # an expansion of every row serves a guarded one too
        if hit is not None:
            return hit[1]  # type: ignore[no-any-return]
        guard = self._guards.get(id(scope)) if self._guards else None
        if guard is not None:  # only the guarded rows are expanded
            key = (*key, guard[0])
            hit = store.get(key)
            if hit is not None:
                return hit[1]  # type: ignore[no-any-return]
        inner = self._expand(scope, c, var)
        store[key] = ((var, source), inner)
        return inner

    def _expand(self, scope: Scope, c: Val, var: str) -> Scope:
        """Build the expansion. Its rows keep the outer order (`_prow` non-decreasing) and each outer row's
        elements in their order; the offsets of each outer row's group are known from the group sizes."""
        coll = c.coll
        assert coll is not None
        rows = pl.int_range(0, scope.height, dtype=pl.UInt32, eager=True).set_sorted()
        if coll.kind == "child":
            table = self.ctx.root.tables.table(coll.table)
            spec = self.ctx.root.tables.layout.tables[coll.table]
            fast = scope.is_root and str(c.v) == str(pl.when(pl.col(coll.table).fill_null(False)).then(pl.col(IDX)))
            starts = scope.counter.table_offsets(self.ctx.root.tables, coll.table)
            if fast:  # the list is the enterprise's own: the child table's rows, as they are
                idx = table.get_column(IDX).set_sorted()
                frame = pl.DataFrame({PROW: idx, IDX: idx,
                                      ROW: pl.int_range(0, table.height, dtype=pl.UInt32, eager=True)})
                inner = scope.child(frame, {})
                inner._offsets = starts.cast(pl.Int64).to_arrow()
                if frame.height == table.height:
                    inner.identity = coll.table
            else:  # each outer row's elements are the slice of the (sorted) child table at its owner
                guard = self._guards.get(id(scope)) if self._guards else None
                owner = scope.series(c.v if guard is None else pl.when(guard[1]).then(c.v))  # unguarded: none
                first = pl.lit(starts).gather(pl.col("_own"))
                last = pl.lit(starts).gather(pl.col("_own") + 1)
                outer = pl.DataFrame({PROW: rows, IDX: scope.frame.get_column(IDX), "_own": owner}).with_columns(
                    _n=(last - first).fill_null(0))
                frame = (outer.filter(pl.col("_n") > 0)
                         .select(PROW, IDX, pl.int_ranges(first, last, dtype=pl.UInt32).alias(ROW))
                         .explode(ROW))
                inner = self._child(scope, frame, outer.get_column("_n"))
            if spec.model is None:
                leaf = spec.leaves[0]
                kind = _SCALAR_KIND[leaf.kind]
                cols = [VALUE] + ([VALUE + OFF] if kind is K.INST else [])
                got = inner.gather(coll.table, cols, pl.col(ROW))
                binding = Val(kind, got[VALUE], FALSE, off=got.get(VALUE + OFF))
            else:
                binding = Val(K.REC, pl.col(ROW), FALSE, base=pl.col(ROW),
                              rec=RecRef(coll.table, "", spec.model, folded=True))
            inner.bindings[var] = binding
            return inner
        outer = pl.DataFrame({PROW: rows, IDX: scope.frame.get_column(IDX)})
        if coll.kind == "const":
            if any(i is None for i in coll.items) or coll.elem in (K.INST, K.DUR, K.COLL):
                raise Unsupported("a quantifier over a set holding null, instants, durations or sets")
            dtype = _DTYPE.get(coll.elem, pl.Null())
            items = pl.DataFrame({"_item": pl.Series(list(coll.items), dtype=dtype)})
            frame = outer.join(items, how="cross", maintain_order="left_right")
            inner = self._child(scope, frame, pl.repeat(len(coll.items), scope.height, dtype=pl.Int64, eager=True))
            inner.bindings[var] = Val(coll.elem if coll.items else K.NULL, pl.col("_item"))
            return inner
        assert coll.lo is not None and coll.hi is not None
        guard = self._guards.get(id(scope)) if self._guards else None
        refused = c.unk if guard is None else c.unk | ~guard[1]  # a row no one reads: no numbers
        names = scope.columns({"lo": coll.lo, "hi": coll.hi, "refused": refused})
        lo, hi = scope.frame.get_column(names["lo"]), scope.frame.get_column(names["hi"])
        outer = outer.with_columns(lo=lo, hi=hi, _n=pl.when(~scope.frame.get_column(names["refused"]) & (hi >= lo))
                                   .then(hi - lo + 1).otherwise(0).cast(pl.Int64))
        expanded = int(outer.get_column("_n").sum() or 0)
        if expanded > MAX_RANGE_ROWS:  # as of 9999-12-31 a yearly range has 8,000 numbers an enterprise
            raise Unsupported(f"a range of {expanded:,} numbers in one batch (more than {MAX_RANGE_ROWS:,}): the "
                              "reference engine evaluates it by blocks of alike numbers, in bounded memory")
        frame = (outer.filter(pl.col("_n") > 0)
                 .select(PROW, IDX, pl.int_ranges(pl.col("lo"), pl.col("hi") + 1, dtype=pl.Int64).alias("_item"))
                 .explode("_item"))
        inner = self._child(scope, frame, outer.get_column("_n"))
        inner.bindings[var] = Val(K.NUM, pl.col("_item"))
        return inner

    @staticmethod
    def _child(scope: Scope, frame: pl.DataFrame, sizes: pl.Series) -> Scope:
        """The inner scope over an expansion frame whose outer row i has sizes[i] rows."""
        inner = scope.child(sorted_rows(frame), {})
        ends = sizes.cast(pl.Int64).cum_sum()
        inner._offsets = pl.concat([pl.Series([0], dtype=pl.Int64), ends]).rechunk().to_arrow() if len(ends) \
            else pl.Series([0], dtype=pl.Int64).to_arrow()
        return inner

    def collection(self, e: ast.Expr, scope: Scope) -> Val:
        c = self.eval(e, scope)
        if c.kind is K.NULL:  # a null list counts as empty
            return Val(K.COLL, pl.lit(0, dtype=pl.UInt32), c.unk, coll=Coll("const", items=(), elem=K.NULL))
        if c.kind is not K.COLL or c.coll is None:
            raise Unsupported("a quantifier over a non-collection")
        return c

    def _quantify(self, q: ast.Quantifier | ast.OrderPick, scope: Scope) -> Val:
        c = self.collection(q.collection, scope)
        if self._unrollable(q, c):
            return self._unrolled(q, c, scope)
        inner = self.expand(scope, c, q.var, q.collection)
        elem = inner.bindings[q.var]
        kind = q.kind
        cols, body = self._element_columns(q, inner)
        names = inner.columns(cols)
        frame = inner.frame.select(PROW, *(pl.col(n).alias(r) for r, n in names.items()))
        agg = {"any": "any", "all": "any", "count": "sum", "sum": "sum", "max": "max", "min": "min",
               "find": "min", "latest": "max", "earliest": "min"}[kind]
        unkr_agg = {"unkr": ("any", pl.col("unkr"))} if "unkr" in cols else {}
        if kind == "sum":  # exactly: the high and the low 32 bits are summed apart (neither can wrap)
            frame = frame.with_columns(xh=pl.col("x").floordiv(1 << 32))
            frame = frame.with_columns(xl=pl.col("x") - pl.col("xh") * (1 << 32))
            res = scope.spread(inner, frame, {"xh": ("sum", pl.col("xh")), "xl": ("sum", pl.col("xl")),
                                              **unkr_agg})
            total, outside = checked_int(wide(res["xh"].fill_null(0)) * (1 << 32) + wide(res["xl"].fill_null(0)))
            unk = or_(c.unk, res["unkr"].fill_null(False) if "unkr" in res else FALSE, outside)
            return Val(K.NUM, gate(unk, total), unk, size=4)
        maybe_agg = {"maybe": ("min", pl.col("maybe"))} if "maybe" in cols else {}
        if "mv" in cols:
            maybe_agg = {"mv": (agg, pl.col("mv"))}
        res = scope.spread(inner, frame, {"x": (agg, pl.col("x")), **unkr_agg, **maybe_agg})
        cu = c.unk
        unkr = res["unkr"].fill_null(False) if "unkr" in res else FALSE
        x = res["x"]
        if "maybe" in res:  # `find`: an element that may match, before the first that surely does
            unkr = or_(unkr, res["maybe"].is_not_null() & (x.is_null() | (res["maybe"] < x)).fill_null(True))
        if "mv" in res:  # a value that may count and would beat (or, for a pick, tie before) the best known one
            mv = res["mv"]
            beats = (mv > x) if agg == "max" else (mv < x)
            unkr = or_(unkr, mv.is_not_null() & (x.is_null() | beats).fill_null(True))
            if isinstance(q, ast.OrderPick):
                best_pos = self._first_where(scope, inner, frame, pl.col("x") == pl.col("best"), x)
                tie_pos = self._first_where(scope, inner, frame, pl.col("mv") == pl.col("best"), x)
                unkr = or_(unkr, (tie_pos < best_pos).fill_null(False))
        if kind in ("any", "all"):
            decisive = kind == "any"  # any: a hit decides true; all: a failure decides false
            t = pl.when(cu).then(None).when(x.fill_null(False)).then(decisive) \
                .when(unkr).then(None).otherwise(not decisive)
            return Val(K.BOOL, t, t.is_null(), size=4)
        unk = or_(cu, unkr)
        if kind == "count":
            return Val(K.NUM, gate(unk, x.fill_null(0).cast(pl.Int64)), unk, size=4)
        if kind in ("max", "min"):
            assert body is not None
            off = None
            if body.kind is K.INST and body.off is not None:  # the offset of the (first) extreme instant
                pos = self._first_where(scope, inner, frame, pl.col("x") == pl.col("best"), x)
                off = pl.when(unk).then(None).otherwise(self._at(scope, inner, body.off, pos))
            return Val(body.kind, gate(unk, x), unk, off=off, size=4)
        if kind == "find":
            pos = x
            unk = or_(unk, pos.is_null())
        else:
            pos = self._first_where(scope, inner, frame, pl.col("x") == pl.col("best"), x)
        picked = gate(unk, self._at(scope, inner, elem.v, pos))
        if elem.kind is K.REC:
            assert elem.rec is not None
            return Val(K.REC, picked, unk, rec=RecRef(elem.rec.table, "", elem.rec.model, folded=False), size=4)
        return Val(elem.kind, picked, unk, size=4)

    def _element_columns(self, q: ast.Quantifier | ast.OrderPick, inner: Scope) -> tuple[dict[str, pl.Expr],
                                                                                       Val | None]:
        """Per element row: `x`, what the quantifier aggregates, and `unkr`, whether the element's contribution
        is unknown (absent when it never is); and the body's value for the aggregates over values."""
        elem = inner.bindings.get(q.var, None)
        w = self.cond(q.where, inner) if q.where is not None else pl.lit(True)
        kind = q.kind
        body: Val | None = None
        b: pl.Expr = pl.lit(True)
        b_known = True
        relevant = None if q.where is None else w.fill_null(True)  # a filter false: the element never counts
        if isinstance(q, ast.OrderPick):
            body = self.guarded(q.key, inner, relevant)
            if body.kind not in (K.NUM, K.DATE, K.INST, K.NULL):
                raise Unsupported("an order key that is not a number, date or instant")
        elif q.body is not None and kind in ("any", "all", "count"):
            cond = self.guarded(q.body, inner, relevant)
            b, b_known = truth(cond), cond.unk is FALSE
        elif q.body is not None:
            body = self.guarded(q.body, inner, relevant)
            if body.kind not in (K.NUM, K.DATE, K.INST, K.NULL):
                raise Unsupported(f"`{kind}` of a {body.kind.value}")
        if kind in ("find", "latest", "earliest") and elem is not None and elem.kind in (K.INST, K.DUR):
            raise Unsupported("picking an instant or a duration element")
        w_known = q.where is None or self.eval(q.where, inner).unk is FALSE
        wt = w if w_known else w.fill_null(False)
        w_unknown = FALSE if w_known else w.is_null()
        cols: dict[str, pl.Expr] = {}
        if kind in ELEMENT_OPEN:  # the (filter, condition) states that leave the result open, as data
            where_is = {"true": wt, "unknown": w_unknown}
            body_is = {"true": b.fill_null(False), "false": (~b).fill_null(False),
                       "unknown": FALSE if b_known else b.is_null()}
            unkrow = or_(*(_and(where_is[ws], body_is[bs]) for ws, bs in sorted(ELEMENT_OPEN[kind])))
        else:  # an unknown value is open wherever the element may count; a known one as engine/decisions.py says
            b_unk = FALSE if body is None else body.unk
            unkrow = FALSE if b_unk is FALSE else _and(w.fill_null(True) if not w_known else wt, b_unk)
            if not w_known:
                maybe = w_unknown if body is None else w_unknown & body.v.is_not_null() & ~body.unk
                if kind == "sum":
                    assert body is not None
                    unkrow = or_(unkrow, maybe & (body.v != 0))
                elif kind == "find":
                    cols["maybe"] = pl.when(maybe).then(pl.int_range(pl.len(), dtype=pl.UInt32))
                else:
                    assert body is not None
                    cols["mv"] = pl.when(maybe).then(body.v)
        if unkrow is not FALSE:
            cols["unkr"] = unkrow
        if kind == "any":
            cols["x"] = wt & b.fill_null(False)
        elif kind == "all":
            cols["x"] = wt & ~b.fill_null(True)
        elif kind == "count":
            cols["x"] = (wt & b.fill_null(False)).cast(pl.UInt32)
        elif kind in ("sum", "max", "min"):
            assert body is not None
            cols["x"] = pl.when(wt).then(body.v)
        elif kind == "find":
            cols["x"] = pl.when(wt).then(pl.int_range(pl.len(), dtype=pl.UInt32))
        else:
            assert body is not None
            cols["x"] = pl.when(wt).then(body.v)  # the key; null keys are not candidates
        return cols, body

    def _unrollable(self, q: ast.Quantifier | ast.OrderPick, c: Val) -> bool:
        """`any`/`all`/`count` over a small constant set is evaluated once per item in the outer scope (no
        expansion), unless the variable's name could also mean a field, param or definition."""
        coll = c.coll
        if coll is None or coll.kind != "const" or not isinstance(q, ast.Quantifier) \
                or q.kind not in ("any", "all", "count") or len(coll.items) > UNROLL_ITEMS:
            return False
        if any(i is None for i in coll.items) or coll.elem in (K.INST, K.DUR, K.COLL):
            return False  # as `expand` refuses them
        policy = self.ctx.policy
        return (q.var not in field_shapes(policy.contract.model) and q.var not in policy.params
                and q.var not in policy.defines)

    def _unrolled(self, q: ast.Quantifier | ast.OrderPick, c: Val, scope: Scope) -> Val:
        assert c.coll is not None
        xs: list[pl.Expr] = []
        unks: list[pl.Expr] = []
        for item in c.coll.items:
            cols = self._bound(scope, q.var, const(item), lambda: self._element_columns(q, scope)[0])
            xs.append(cols["x"])
            if "unkr" in cols:
                unks.append(cols["unkr"])
        unkr = _any(unks) if unks else FALSE
        if q.kind == "count":
            x = pl.sum_horizontal(xs).cast(pl.Int64) if xs else pl.lit(0, dtype=pl.Int64)
            unk = or_(c.unk, unkr)
            return Val(K.NUM, gate(unk, x), unk, size=2 + 2 * len(xs))
        hit = _any(xs) if xs else FALSE
        decisive = q.kind == "any"
        t = pl.when(c.unk).then(None).when(hit).then(decisive).when(unkr).then(None).otherwise(not decisive)
        return Val(K.BOOL, t, t.is_null(), size=2 + 2 * len(xs))

    @staticmethod
    def _bound(scope: Scope, var: str, val: Val, fn: Callable[[], dict[str, pl.Expr]]) -> dict[str, pl.Expr]:
        """`fn()` with `var` bound to `val` in `scope` (values cached meanwhile are forgotten after)."""
        saved_binding = scope.bindings.get(var)
        saved_cache = scope.cache
        scope.cache = {k: v for k, v in saved_cache.items() if k[0] != "expr"}
        scope.bindings[var] = val
        scope.counter.overlays += 1  # meanwhile an expression's value may depend on `var`
        try:
            return fn()
        finally:
            scope.counter.overlays -= 1
            for k, v in scope.cache.items():  # column bookkeeping (gathers, imports) stays valid
                if k[0] != "expr":
                    saved_cache.setdefault(k, v)
            scope.cache = saved_cache
            if saved_binding is None:
                del scope.bindings[var]
            else:
                scope.bindings[var] = saved_binding

    @staticmethod
    def _first_where(scope: Scope, inner: Scope, frame: pl.DataFrame, cond: pl.Expr, best: pl.Expr) -> pl.Expr:
        """Per outer row, the first inner row (position) where `cond` holds, `best` seen as column `best`."""
        frame = frame.with_columns(scope.back(best, frame).alias("best"))
        pos = pl.when(cond).then(pl.int_range(pl.len(), dtype=pl.UInt32))
        return scope.spread(inner, frame, {"pos": ("min", pos)})["pos"]

    @staticmethod
    def _at(scope: Scope, inner: Scope, expr: pl.Expr, pos: pl.Expr) -> pl.Expr:
        """The inner value at an inner row position, for each outer row (null position → null)."""
        values = inner.series(expr)
        return scope.add(values.gather(scope.series(pos)), "at")


_QUANTIFIES: dict[int, tuple[ast.Expr, bool]] = {}  # id(node) → (node, whether it holds a quantifier)


def _quantifies(e: ast.Expr) -> bool:
    """Whether a quantifier is written under `e` (what a guard can save work on)."""
    hit = _QUANTIFIES.get(id(e))
    if hit is not None and hit[0] is e:
        return hit[1]
    if len(_QUANTIFIES) > 100_000:
        _QUANTIFIES.clear()
    out = any(isinstance(n, ast.Quantifier | ast.OrderPick) for n in nodes(e))
    _QUANTIFIES[id(e)] = (e, out)
    return out


def _duration(unk: pl.Expr, both: pl.Expr, size: int, months: pl.Expr, days: pl.Expr, secs: pl.Expr) -> Val:
    """A computed duration from its Int128 parts; unknown where a part leaves the 64-bit range."""
    (m, mo), (d, do), (sec, so) = checked_int(months), checked_int(days), checked_int(secs)
    return Val(K.DUR, m, or_(unk, both & (mo | do | so)), days=d, secs=sec, size=size)


def _filled(e: pl.Expr) -> pl.Expr:
    return e if e is FALSE else e.fill_null(False)


def replace_unk(val: Val, unk: pl.Expr) -> Val:
    return Val(val.kind, val.v, unk, off=val.off, days=val.days, secs=val.secs, size=val.size + 1)


def _sized(val: Val, *children: Val) -> Val:
    return Val(val.kind, val.v, val.unk, off=val.off, days=val.days, secs=val.secs, base=val.base, rec=val.rec,
               coll=val.coll, const=val.const, size=_size(*children))


__all__ = ["NOT_APPLICABLE", "OUTCOME_NAMES", "Context", "Evaluator"]
