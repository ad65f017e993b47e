"""Rule semantics over a population: outcome code, due date, delay and listing end per enterprise.

A transcription of `safetyrules.engine.rules.RuleEngine` (applies/unless/effective, the five kinds of
deadline, per-event worst-of, triggers) into polars expressions over the root scope. Per-event rules and
triggers evaluate their events in an element scope and aggregate them per enterprise with a group-by.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from safetyrules.columnar.exprs import (
    CODE_OF,
    EXPIRED,
    NOT_APPLICABLE,
    NOT_TRIGGERED,
    PENDING,
    SATISFIED,
    TRIGGERED,
    UNKNOWN_CODE,
    VIOLATED,
    Evaluator,
    _root_record,
)
from safetyrules.columnar.scope import PROW, Scope
from safetyrules.columnar.values import K, Unsupported, Val, const, days_between, shift_date, truth
from safetyrules.engine.decisions import EVENT_VERDICTS, Row, fold
from safetyrules.engine.rules import DEFAULT_LATE_ACT_MEMORY, DEFAULT_NEW_ENTRANT_GRACE, ESTABLISHED
from safetyrules.lower.program import RuleIR
from safetyrules.syntax import ast

CODE = pl.UInt8


@dataclass(frozen=True, slots=True)
class RuleOut:
    """A rule's result columns, as expressions over the root scope."""

    code: pl.Expr
    due: pl.Expr
    delay: pl.Expr
    listed: pl.Expr


def _c(code: int) -> pl.Expr:
    return pl.lit(code, dtype=CODE)


def decision_expr(table: tuple[Row, ...], atoms: dict[str, pl.Expr]) -> pl.Expr:
    """A decision table (`engine/decisions.py`) as one polars expression of outcome codes."""
    def when(conds: list[pl.Expr], row: Row, rest: pl.Expr | None) -> pl.Expr:
        code = _c(CODE_OF[str(row.outcome)])
        if rest is None or not conds:
            return code
        test = conds[0]
        for c in conds[1:]:
            test = test & c
        return pl.when(test).then(code).otherwise(rest)

    return fold(table, atoms, when, lambda e: ~e)


def continuous(holds: pl.Expr) -> pl.Expr:
    """true → satisfied, false → violated, unknown → unknown."""
    return pl.when(holds).then(_c(SATISFIED)).when(~holds).then(_c(VIOLATED)).otherwise(_c(UNKNOWN_CODE))


def _or(a: pl.Expr | None, b: pl.Expr | None) -> pl.Expr | None:
    """`a | b`, where None stands for a condition that never holds."""
    if a is None:
        return b
    return a if b is None else a | b


NULL_DATE = pl.lit(None, dtype=pl.Date)  # shared: the kernel recognizes them by identity
NULL_INT = pl.lit(None, dtype=pl.Int64)


def _cast(e: pl.Expr, dtype: Any) -> pl.Expr:
    """`e` cast to `dtype`; the shared null literals of that type stay themselves (nothing to store)."""
    if (e is NULL_DATE and dtype == pl.Date) or (e is NULL_INT and dtype == pl.Int64):
        return e
    return e.cast(dtype)


def _null_date() -> pl.Expr:
    return NULL_DATE


def _null_int() -> pl.Expr:
    return NULL_INT


class RuleCompiler:
    """Builds the result expressions of each rule of one run."""

    def __init__(self, ev: Evaluator, period_start: dt.date | None) -> None:
        self.ev = ev
        self.ctx = ev.ctx
        self.period_start = period_start
        self.as_of = pl.lit(self.ctx.as_of, dtype=pl.Date)

    @property
    def root(self) -> Scope:
        return self.ctx.root

    def _reserved(self, name: str, default: Any) -> Any:
        try:
            return self.ctx.params.value(name, self.ctx.as_of)
        except KeyError:
            return default

    # ------------------------------------------------------------------ one rule
    def rule(self, rule: RuleIR) -> RuleOut:
        ev, root = self.ev, self.root
        before = rule.effective is not None and self.ctx.as_of < rule.effective
        app = ev.cond(rule.applies, root) if rule.applies is not None else None
        excepted: pl.Expr | None = None
        exception_unknown: pl.Expr | None = None
        for u in rule.unless:
            holds = ev.cond(u.when, root)
            excepted = _or(excepted, holds.fill_null(False))
            exception_unknown = _or(exception_unknown, holds.is_null())
        body = self._trigger(rule) if rule.kind == "trigger" else self._obligation(rule)
        body = self._stored(body)
        if before:
            na: pl.Expr | None = pl.lit(True)
        else:
            na = _or(None if app is None else ~app.fill_null(True), excepted)
        code: Any = pl
        if na is not None:
            code = code.when(na).then(_c(NOT_APPLICABLE))
        if app is not None:
            code = code.when(app.is_null() & (body.code != NOT_APPLICABLE)).then(_c(UNKNOWN_CODE))
        if exception_unknown is not None:
            compliant = pl.lit(pl.Series([NOT_APPLICABLE, SATISFIED, NOT_TRIGGERED], dtype=CODE))
            code = code.when(exception_unknown & ~body.code.is_in(compliant.implode())).then(_c(UNKNOWN_CODE))
        code = body.code if code is pl else code.otherwise(body.code)

        def gated(e: pl.Expr) -> pl.Expr:
            if na is None or e.meta.is_literal(allow_aliasing=True):  # a null literal stays null
                return e
            return pl.when(na).then(None).otherwise(e)

        return RuleOut(code, gated(body.due), gated(body.delay), gated(body.listed))

    def _stored(self, out: RuleOut) -> RuleOut:
        """The body's results as root columns (literals, such as a continuous rule's null due date, stay)."""
        parts = {"code": out.code.cast(CODE), "due": _cast(out.due, pl.Date), "delay": _cast(out.delay, pl.Int64),
                 "listed": _cast(out.listed, pl.Date)}
        names = self.root.columns({k: e for k, e in parts.items() if not e.meta.is_literal(allow_aliasing=True)})
        stored = {k: pl.col(names[k]) if k in names else e for k, e in parts.items()}
        return RuleOut(stored["code"], stored["due"], stored["delay"], stored["listed"])

    # ------------------------------------------------------------------ obligations
    def _requirement(self, rule: RuleIR, scope: Scope, relevant: pl.Expr | None = None) -> pl.Expr:
        """The Kleene conjunction of the `require` items (read only where `relevant` holds, when given)."""
        out: pl.Expr = pl.lit(True)
        for req in rule.requires:
            out = out & truth(self.ev.guarded(req, scope, relevant))
        return out

    def _obligation(self, rule: RuleIR) -> RuleOut:
        due = rule.deadline
        each = rule.each
        if isinstance(due, ast.DueWithin | ast.DueOn):
            return self._per_event(rule, due)
        if each is not None:
            holds = self._each_holds(rule, each)
        else:
            holds = self._requirement(rule, self.root) if rule.requires else pl.lit(True)
        if isinstance(due, ast.DueBy):
            return self._deadline(due, holds)
        if isinstance(due, ast.DueEvery):
            body = self._periodic(due)
            if rule.requires:
                return RuleOut(pl.max_horizontal(body.code, continuous(holds)), body.due, body.delay, body.listed)
            return body
        if due is None or isinstance(due, ast.DueContinuous):
            return RuleOut(continuous(holds), _null_date(), _null_int(), _null_date())
        raise Unsupported(f"deadline {type(due).__name__}")

    def _each_holds(self, rule: RuleIR, each: ast.Each) -> pl.Expr:
        """The requirement on every element the filter keeps (an unknown filter: unknown)."""
        ev = self.ev
        c = ev.collection(each.collection, self.root)
        inner = ev.expand(self.root, c, each.var, each.collection)
        w = ev.cond(each.where, inner) if each.where is not None else pl.lit(True)
        wt = w.fill_null(False)
        r = self._requirement(rule, inner, wt if each.where is not None else None)  # read where the filter holds
        names = inner.columns({"fail": wt & ~r.fill_null(True), "unkr": w.is_null() | (wt & r.is_null())})
        frame = inner.frame.select(PROW, *(pl.col(n).alias(k) for k, n in names.items()))
        res = self.root.spread(inner, frame, {"fail": ("any", pl.col("fail")), "unkr": ("any", pl.col("unkr"))})
        return (pl.when(c.unk).then(None).when(res["fail"].fill_null(False)).then(False)
                .when(res["unkr"].fill_null(False)).then(None).otherwise(True))

    def _col(self, expr: pl.Expr, hint: str) -> pl.Expr:
        """An expression used several times, stored once as a root column (polars' eager engine would
        compute a repeated sub-expression once per use)."""
        return pl.col(self.root.column(expr, hint))

    def _established(self) -> Val:
        model = self.ev.ctx.policy.contract.model
        if ESTABLISHED not in model.model_fields:  # declared by no field: known not to exist (as the reference)
            return Val(K.DATE, pl.lit(None, dtype=pl.Date), pl.lit(False))
        return self.ev.field(_root_record(model), ESTABLISHED, self.root)

    def _deadline(self, due: ast.DueBy, holds: pl.Expr) -> RuleOut:
        deadline = self.ev.eval(due.deadline, self.root)
        is_date = deadline.is_value if deadline.kind is K.DATE else pl.lit(False)
        est = self._established()
        grace = self._reserved("new_entrant_grace", DEFAULT_NEW_ENTRANT_GRACE)
        late_entrant = (est.is_value & (est.v > deadline.v)).fill_null(False)
        shifted = shift_date(est.v, const(grace))
        day = self._col(pl.when(late_entrant).then(shifted).otherwise(deadline.v), "day")
        if due.met is not None:
            met = self.ev.eval(due.met, self.root)
            met_date = met.is_value if met.kind is K.DATE else pl.lit(False)
            met_v = met.v
        else:
            met_date, met_v = pl.lit(False), _null_date()
        h_true, h_false = holds.fill_null(False), (~holds).fill_null(False)
        code = (pl.when(~is_date).then(_c(UNKNOWN_CODE))
                .when(h_true).then(_c(SATISFIED))
                .when(self.as_of <= day).then(_c(PENDING))
                .when(est.unk).then(_c(UNKNOWN_CODE))  # established later, it would be within its grace
                .when(h_false).then(_c(VIOLATED))
                .otherwise(_c(UNKNOWN_CODE)))
        delay = pl.when(is_date & h_true & met_date & (met_v > day)).then(days_between(day, met_v))
        return RuleOut(code, pl.when(is_date).then(day), delay, _null_date())

    def _periodic(self, due: ast.DueEvery) -> RuleOut:
        """`due every P last E [first F]` as `RuleEngine._periodic`: without `first`, due E + P (or one period
        after the later of the anchor and the establishment); with `first F`, never due before the first due
        date max(F, establishment + P): due max(E + P, first due), satisfied while E + P has not passed."""
        ev, root = self.ev, self.root
        period = ev.eval(due.period, root)
        last = ev.eval(due.last, root)
        if period.kind not in (K.DUR, K.NULL) or last.kind not in (K.DATE, K.NULL):
            raise Unsupported("a period that is not a duration or a last event that is not a date")
        if period.kind is K.NULL:
            return RuleOut(_c(UNKNOWN_CODE), _null_date(), _null_int(), _null_date())
        as_of = self.as_of
        bad = ~period.is_value | last.unk
        last_date = last.is_value
        next_due = self._col(shift_date(last.v, period), "next")
        unknown, null = _c(UNKNOWN_CODE), _null_date()
        code: Any = pl.when(bad).then(unknown)
        day: Any = pl.when(bad).then(null)
        if due.first is not None:
            first = ev.eval(due.first, root)
            first_ok = first.is_value if first.kind is K.DATE else pl.lit(False)
            floor = first.v if first.kind is K.DATE else null
            code = code.when(~first_ok).then(unknown)
            day = day.when(~first_ok).then(null)
        else:
            code = code.when(last_date & (as_of <= next_due)).then(_c(SATISFIED)).when(last_date).then(_c(VIOLATED))
            day = day.when(last_date).then(next_due)
            anchor = self._reserved("periodic_first_due_anchor", self.period_start)
            if not isinstance(anchor, dt.date):
                return RuleOut(code.otherwise(unknown), day.otherwise(null), _null_int(), _null_date())
            floor = shift_date(pl.lit(anchor, dtype=pl.Date), period)
        est = self._established()
        floor = self._col(floor, "floor")
        # an act on record counts from the earlier of it and the establishment (as `RuleEngine._periodic`)
        since = pl.when(last_date & (last.v < est.v)).then(last.v).otherwise(est.v)
        by_establishment = self._col(shift_date(since, period), "est")
        first_due = self._col(pl.when(est.is_value & (by_establishment > floor)).then(by_establishment)
                              .otherwise(floor), "first")
        undecided = est.unk & ~last_date & (as_of > floor)
        code = code.when(undecided).then(unknown)
        day = day.when(undecided).then(floor)
        if due.first is not None:
            latest = pl.when(next_due > first_due).then(next_due).otherwise(first_due)
            code = (code.when(last_date & (as_of <= next_due)).then(_c(SATISFIED))
                    .when(last_date & (as_of <= latest)).then(_c(PENDING))
                    .when(last_date).then(_c(VIOLATED)))
            day = day.when(last_date).then(latest)
        code = code.when(as_of <= first_due).then(_c(PENDING)).otherwise(_c(VIOLATED))
        return RuleOut(code, day.otherwise(first_due), _null_int(), _null_date())

    # ------------------------------------------------------------------ events
    def _per_event(self, rule: RuleIR, due: ast.DueWithin | ast.DueOn) -> RuleOut:
        ev, root = self.ev, self.root
        each = rule.each
        assert each is not None
        c = ev.collection(each.collection, root)
        inner = ev.expand(root, c, each.var, each.collection)
        w = ev.cond(each.where, inner) if each.where is not None else pl.lit(True)
        memory = self._reserved("late_act_memory", DEFAULT_LATE_ACT_MEMORY)
        if isinstance(due, ast.DueWithin):
            start = ev.eval(due.after, inner)
            window = ev.eval(due.window, inner)
            if start.kind not in (K.DATE, K.NULL) or window.kind not in (K.DUR, K.NULL):
                raise Unsupported("an event window that is not a date plus a duration")
            ok = start.is_value & window.is_value
            due_v = shift_date(start.v, window) if window.kind is K.DUR and start.kind is K.DATE \
                else _null_date()
        else:
            deadline = ev.eval(due.deadline, inner)
            ok = deadline.is_value if deadline.kind is K.DATE else pl.lit(False)
            due_v = deadline.v
        done = ev.eval(due.done, inner)
        if done.kind not in (K.DATE, K.NULL):
            raise Unsupported("an act date that is not a date")
        done_date = done.is_value
        names = inner.columns({"due": due_v, "remembered": shift_date(done.v, const(memory))})
        due_v, remembered = pl.col(names["due"]), pl.col(names["remembered"])
        seen = done_date & (done.v <= self.as_of)  # an act dated later has not happened yet on that day
        atoms = {name: expr.fill_null(False) for name, expr in {
            "deadline_known": ok, "filter_unknown": w.is_null(), "done": seen,
            "on_time": done_date & (done.v <= due_v), "remembered": done_date & (self.as_of <= remembered),
            "before_due": self.as_of <= due_v, "not_done": done.is_null | (done_date & (done.v > self.as_of)),
        }.items()}
        code = decision_expr(EVENT_VERDICTS, atoms)
        ev_due = pl.when(ok).then(due_v)
        ev_delay = pl.when(ok & w.is_not_null() & seen & (done.v > due_v)).then(days_between(due_v, done.v))
        is_event = w.fill_null(True)
        names = inner.columns({"code": pl.when(is_event).then(code), "due": ev_due, "delay": ev_delay})
        frame = inner.frame.select(PROW, *(pl.col(n).alias(r) for r, n in names.items()))
        first = root.spread(inner, frame, {"worst": ("max", pl.col("code"))})
        frame = frame.with_columns(root.back(first["worst"], frame).alias("worst"))
        deciding = pl.col("code") == pl.col("worst")
        res = root.spread(inner, frame, {"due": ("min", pl.when(deciding).then(pl.col("due"))),
                                         "delay": ("max", pl.when(deciding).then(pl.col("delay")))})
        worst_code = first["worst"]
        if rule.requires:
            final = pl.max_horizontal(worst_code, continuous(self._requirement(rule, root)))
        else:
            final = worst_code
        none = worst_code.is_null()
        code_out = (pl.when(c.unk).then(_c(UNKNOWN_CODE)).when(none).then(_c(NOT_APPLICABLE)).otherwise(final))
        decided = ~c.unk & ~none & (final == worst_code)
        return RuleOut(code_out, pl.when(decided).then(res["due"]), pl.when(decided).then(res["delay"]),
                       _null_date())

    def _trigger(self, rule: RuleIR) -> RuleOut:
        ev, root = self.ev, self.root
        each, on, listing = rule.each, rule.trigger_on, rule.listing
        if each is None or on is None or listing is None:
            raise Unsupported("a trigger without each/on/listing")
        c = ev.collection(each.collection, root)
        inner = ev.expand(root, c, each.var, each.collection)
        w = ev.cond(each.where, inner) if each.where is not None else pl.lit(True)
        day = ev.eval(on, inner)
        period = ev.eval(listing, inner)
        if day.kind not in (K.DATE, K.NULL) or period.kind not in (K.DUR, K.NULL):
            raise Unsupported("a trigger date that is not a date or a listing that is not a duration")
        ok = w.fill_null(False) & day.is_value & period.is_value
        until = shift_date(day.v, period) if day.kind is K.DATE and period.kind is K.DUR else _null_date()
        until = pl.col(inner.column(until, "until"))
        listed = pl.when(ok).then(until)
        rank = pl.when(ok & (self.as_of <= until)).then(3).when(ok).then(1).otherwise(2)
        names = inner.columns({"rank": pl.when(w.fill_null(True)).then(rank), "listed": listed})
        frame = inner.frame.select(PROW, *(pl.col(n).alias(r) for r, n in names.items()))
        res = root.spread(inner, frame, {"best": ("max", pl.col("rank"))})
        frame = frame.with_columns(root.back(res["best"], frame).alias("best"))
        top = pl.col("rank") == pl.col("best")
        res.update(root.spread(inner, frame, {"listed": ("max", pl.when(top).then(pl.col("listed")))}))
        code = (pl.when(c.unk).then(_c(UNKNOWN_CODE)).when(res["best"].is_null()).then(_c(NOT_TRIGGERED))
                .when(res["best"] == 3).then(_c(TRIGGERED)).when(res["best"] == 2).then(_c(UNKNOWN_CODE))
                .otherwise(_c(EXPIRED)))
        return RuleOut(code, _null_date(), _null_int(), pl.when(c.unk).then(None).otherwise(res["listed"]))
