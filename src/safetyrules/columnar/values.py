"""Columnar values: a language value over a frame as polars expressions, and calendar arithmetic.

A `Val` is the columnar counterpart of one runtime value of the reference interpreter, for every row of a
scope at once: `v` holds the value (null unless the row has a value) and `unk` (Boolean, never null) says
the row's value is unknown. A row whose `v` is null and `unk` false holds an explicit null. Instants add
their offset, durations their days and seconds. Records are row pointers into a table; collections say
where their elements live. `const` keeps a statically known Python value (literals, params) so that
constant work is done once, in Python.

Calendar arithmetic reproduces `safetyrules.engine.values` exactly: months first (the day clamped to the
month's end), then days, each step saturating at the ends of the calendar. Integer arithmetic is done in
Int128 and checked against the signed 64-bit range (`checked_int`), where the reference engine makes a
result outside it unknown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

import polars as pl
from pydantic import BaseModel

from safetyrules.engine.values import Duration, whole_days
from safetyrules.limits import DEFAULT


class Unsupported(Exception):
    """A construct the columnar engine does not compile: the rule falls back to the reference engine."""


class K(Enum):
    """The kind of a columnar value."""

    BOOL = "bool"
    NUM = "number"
    DATE = "date"
    INST = "instant"
    DUR = "duration"
    STR = "string"
    NULL = "null"
    REC = "record"
    COLL = "collection"


class _NoConst:
    def __repr__(self) -> str:
        return "NOCONST"


NOCONST: Any = _NoConst()

FALSE = pl.lit(False)
US_PER_DAY = 86_400_000_000


@dataclass(frozen=True, slots=True)
class RecRef:
    """Where a record's fields live: a table, the record's path prefix inside a row, and its model."""

    table: str
    prefix: str
    model: type[BaseModel]
    folded: bool  # the leaves already carry this record's null/unknown state


@dataclass(frozen=True, slots=True)
class Coll:
    """Where a collection's elements come from."""

    kind: str  # "child" (a child table; v = owner row), "const" (items), "range" (lo .. hi)
    table: str = ""
    items: tuple[Any, ...] = ()
    elem: K = K.NULL
    lo: pl.Expr | None = None
    hi: pl.Expr | None = None


@dataclass(frozen=True, slots=True)
class Val:
    kind: K
    v: pl.Expr
    unk: pl.Expr = FALSE
    off: pl.Expr | None = None  # INST: offset in seconds
    days: pl.Expr | None = None  # DUR: days (v holds the months)
    secs: pl.Expr | None = None  # DUR: seconds
    base: pl.Expr | None = None  # REC with folded leaves: the row pointer, not gated by presence
    rec: RecRef | None = None
    coll: Coll | None = None
    const: Any = NOCONST
    size: int = 1  # how big the expressions are (shared sub-expressions counted each time they are used)
    # a dated param's value on day `at` (`p at d`): its schedule, so that date arithmetic can use a few
    # constant shifts instead of per-row calendar arithmetic (valid only in the scope it was made in)
    dated: tuple[tuple[dt.date | None, Any], ...] | None = None
    at: pl.Expr | None = None

    def parts(self) -> dict[str, pl.Expr]:
        """The row-dependent expressions of this value, by role."""
        out = {"v": self.v, "unk": self.unk}
        for name in ("off", "days", "secs", "base"):
            e = getattr(self, name)
            if e is not None:
                out[name] = e
        if self.coll is not None and self.coll.kind == "range":
            assert self.coll.lo is not None and self.coll.hi is not None
            out["lo"], out["hi"] = self.coll.lo, self.coll.hi
        return out

    def with_parts(self, parts: dict[str, pl.Expr]) -> Val:
        coll = self.coll
        if coll is not None and coll.kind == "range":
            coll = replace(coll, lo=parts["lo"], hi=parts["hi"])
        return replace(self, v=parts["v"], unk=parts["unk"], off=parts.get("off"), days=parts.get("days"),
                       secs=parts.get("secs"), base=parts.get("base"), coll=coll, size=1, dated=None, at=None)

    @property
    def is_value(self) -> pl.Expr:
        """True on rows holding a value (known and not null)."""
        return ~self.unk & self.v.is_not_null()

    @property
    def is_null(self) -> pl.Expr:
        return ~self.unk & self.v.is_null()


# ------------------------------------------------------------------------------------------ constructors

def kind_of_python(value: Any) -> K:
    if isinstance(value, bool):
        return K.BOOL
    if isinstance(value, int):
        return K.NUM
    if isinstance(value, dt.datetime):
        return K.INST
    if isinstance(value, dt.date):
        return K.DATE
    if isinstance(value, Duration):
        return K.DUR
    if isinstance(value, str):
        return K.STR
    if isinstance(value, frozenset):
        return K.COLL
    if value is None:
        return K.NULL
    raise Unsupported(f"constant {value!r}")


def instant_parts(t: dt.datetime) -> tuple[dt.datetime, int]:
    off = t.utcoffset()
    seconds = int(off.total_seconds()) if off is not None else 0
    return t.replace(tzinfo=None) - dt.timedelta(seconds=seconds), seconds


def const(value: Any) -> Val:
    """A statically known value."""
    kind = kind_of_python(value)
    if kind is K.INST:
        utc, off = instant_parts(value)
        return Val(kind, pl.lit(utc, dtype=pl.Datetime("us")), off=pl.lit(off, dtype=pl.Int32), const=value)
    if kind is K.DUR:
        return Val(kind, pl.lit(value.months, dtype=pl.Int64), days=pl.lit(value.days, dtype=pl.Int64),
                   secs=pl.lit(value.seconds, dtype=pl.Int64), const=value)
    if kind is K.COLL:
        items = tuple(sorted(value, key=repr))
        kinds = {kind_of_python(i) for i in items if i is not None}
        elem = kinds.pop() if len(kinds) == 1 else K.NULL
        if len(kinds) > 0:
            raise Unsupported("a set of mixed kinds")
        return Val(kind, pl.lit(0, dtype=pl.UInt32), coll=Coll("const", items=items, elem=elem), const=value)
    if kind is K.NULL:
        return Val(kind, pl.lit(None), const=None)
    dtype = {K.BOOL: pl.Boolean(), K.NUM: pl.Int64(), K.DATE: pl.Date(), K.STR: pl.String()}[kind]
    return Val(kind, pl.lit(value, dtype=dtype), const=value)


def unknown(kind: K) -> Val:
    return Val(kind, pl.lit(None), pl.lit(True))


def from_truth(t: pl.Expr, known: bool = False) -> Val:
    """A Boolean value from a Kleene truth expression (null = unknown; `known`: it never is)."""
    return Val(K.BOOL, t, FALSE if known else t.is_null())


def or_(*exprs: pl.Expr) -> pl.Expr:
    """`a | b | …`, dropping operands that are statically false (columns known to hold no unknown)."""
    live = [e for e in exprs if e is not FALSE]
    if not live:
        return FALSE
    out = live[0]
    for e in live[1:]:
        out = out | e
    return out


def gate(unk: pl.Expr, x: pl.Expr) -> pl.Expr:
    """`x`, but null where `unk` holds (nothing to do when `unk` is statically false)."""
    return x if unk is FALSE else pl.when(unk).then(None).otherwise(x)


def truth(val: Val) -> pl.Expr:
    """The value as a condition: Boolean with null = unknown; an explicit null counts as false."""
    if val.const is not NOCONST:
        c = val.const
        return pl.lit(bool(c) if c is not None else False, dtype=pl.Boolean)
    if val.kind is K.BOOL:
        base = val.v.fill_null(False)
    elif val.kind is K.NULL:
        return FALSE
    elif val.kind is K.NUM:
        base = (val.v != 0).fill_null(False)
    else:
        base = val.v.is_not_null()
    return gate(val.unk, base)


def null_typed(kind: K) -> Val:
    """An explicit null of a given kind (parts present, all null)."""
    if kind is K.INST:
        return Val(kind, pl.lit(None, dtype=pl.Datetime("us")), off=pl.lit(None, dtype=pl.Int32))
    if kind is K.DUR:
        return Val(kind, pl.lit(None, dtype=pl.Int64), days=pl.lit(None, dtype=pl.Int64),
                   secs=pl.lit(None, dtype=pl.Int64))
    return Val(kind, pl.lit(None))


def part(val: Val, name: str) -> pl.Expr:
    e = val.parts().get(name)
    return e if e is not None else pl.lit(None)


# ------------------------------------------------------------------------------------------ calendar

_EPOCH = dt.date(1970, 1, 1)
FIRST_DAY = (DEFAULT.min_date - _EPOCH).days  # the ends of the calendar, as days since 1970
LAST_DAY = (DEFAULT.max_date - _EPOCH).days
FIRST_INSTANT = dt.datetime.combine(DEFAULT.min_date, dt.time.min)  # local wall-clock ends
LAST_INSTANT = dt.datetime.combine(DEFAULT.max_date, dt.time.max)

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def checked_int(wide: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """An Int128 result as Int64, null outside the signed 64-bit range; and whether it was outside
    (`engine.values.int64_or_unknown`: such a result is unknown)."""
    inside = wide.is_between(INT64_MIN, INT64_MAX)
    return pl.when(inside).then(wide).cast(pl.Int64), ~inside.fill_null(True)


def wide(e: pl.Expr) -> pl.Expr:
    """An integer column as Int128, where a product or a sum of two Int64 values cannot wrap."""
    return e.cast(pl.Int128)


def _on_days(days: pl.Expr) -> pl.Expr:
    """A date from a day number, saturating at the ends of the calendar."""
    return days.clip(FIRST_DAY, LAST_DAY).cast(pl.Int32).cast(pl.Date)


def add_days(d: pl.Expr, days: pl.Expr | int) -> pl.Expr:
    """`d + days` on the dates' day numbers, saturating (`engine.values.add_days_saturating`)."""
    if isinstance(days, int) and days == 0:
        return d
    if isinstance(days, int):  # beyond the calendar's span every date saturates: keep the literal in Int64
        days = max(min(days, LAST_DAY - FIRST_DAY + 1), FIRST_DAY - LAST_DAY - 1)
        return _on_days(d.to_physical().cast(pl.Int64) + days)  # a 32-bit day number plus that: no wrap
    return _on_days(wide(d.to_physical()) + (wide(days) if isinstance(days, pl.Expr) else days))


def add_months(d: pl.Expr, months: pl.Expr | int) -> pl.Expr:
    """`engine.values.add_months_saturating` over a column: keep the day of month, clamped to the month's
    end; a year before the first or after the last of the calendar gives its first or last day."""
    if isinstance(months, int) and months == 0:
        return d
    total = wide(d.dt.year()) * 12 + wide(d.dt.month()) - 1 + (wide(months) if isinstance(months, pl.Expr) else months)
    year = total.floordiv(12)
    month = total - year * 12 + 1
    safe_year = year.clip(DEFAULT.min_date.year, DEFAULT.max_date.year).cast(pl.Int32)
    first = pl.date(safe_year, month.cast(pl.Int8), 1)
    day = pl.min_horizontal(d.dt.day().cast(pl.Int8), first.dt.days_in_month().cast(pl.Int8))
    result = pl.date(safe_year, month.cast(pl.Int8), day)
    return (pl.when(year < DEFAULT.min_date.year).then(pl.lit(DEFAULT.min_date))
            .when(year > DEFAULT.max_date.year).then(pl.lit(DEFAULT.max_date))
            .otherwise(_on_days(result.to_physical().cast(pl.Int64))))


def _days_of(dur: Val) -> pl.Expr | int:
    if isinstance(dur.const, Duration):
        return dur.const.days + whole_days(dur.const.seconds)
    assert dur.days is not None and dur.secs is not None
    # int(seconds / 86400): towards zero
    s = wide(dur.secs)
    whole = pl.when(s >= 0).then(s.floordiv(86400)).otherwise(0 - (0 - s).floordiv(86400))  # no Int128 negate
    return wide(dur.days) + whole


def shift_date(d: pl.Expr, dur: Val, sign: int = 1) -> pl.Expr:
    """`d ± dur` as in `engine.values.shift_date`: months, then days, each saturating at the calendar's ends."""
    d = d.cast(pl.Date)  # a `null` literal (no dtype) shifts to null, as in the reference engine
    if dur.dated is not None and dur.at is not None and all(isinstance(v, Duration) for _, v in dur.dated):
        return _shift_dated(d, dur.dated, dur.at, sign)
    months: pl.Expr | int = dur.const.months * sign if isinstance(dur.const, Duration) else wide(dur.v) * sign
    days = _days_of(dur)
    return add_days(add_months(d, months), days * sign)


def _shift_dated(d: pl.Expr, entries: tuple[tuple[dt.date | None, Any], ...], at: pl.Expr, sign: int) -> pl.Expr:
    """`d ± (p at day)` for a dated duration param: one constant shift per dated value, picked by `at`
    (null where `at` is null: the value in force on no day)."""
    out = shift_date(d, const(entries[0][1]), sign)
    for start, value in entries[1:]:
        if start is not None:
            out = pl.when(at >= start).then(shift_date(d, const(value), sign)).otherwise(out)
    return pl.when(at.is_not_null()).then(out)


def shift_instant(t: pl.Expr, off: pl.Expr, dur: Val, sign: int = 1) -> pl.Expr:
    """`engine.values.shift_instant`: months on the local date keeping the local time, then days and
    seconds as elapsed time; the offset is kept. The local time saturates at the calendar's ends."""
    local = t + pl.duration(seconds=off)
    if isinstance(dur.const, Duration) and dur.const.months == 0:
        moved_local = local
    else:
        day = local.dt.date()
        time_of_day = local - day.cast(pl.Datetime("us"))
        months: pl.Expr | int = dur.const.months * sign if isinstance(dur.const, Duration) else wide(dur.v) * sign
        moved_local = add_months(day, months).cast(pl.Datetime("us")) + time_of_day
    if isinstance(dur.const, Duration):
        us: pl.Expr = pl.lit((dur.const.days * 86400 + dur.const.seconds) * sign * 1_000_000, dtype=pl.Int128)
    else:
        assert dur.days is not None and dur.secs is not None
        us = (wide(dur.days) * 86400 + wide(dur.secs)) * (sign * 1_000_000)
    first, last = (pl.lit(x, dtype=pl.Datetime("us")).to_physical().cast(pl.Int128)
                   for x in (FIRST_INSTANT, LAST_INSTANT))
    out_us = (wide(moved_local.to_physical()) + us).clip(first, last)
    out_local = out_us.cast(pl.Int64).cast(pl.Datetime("us"))
    return out_local - pl.duration(seconds=off)


def local_date(t: pl.Expr, off: pl.Expr) -> pl.Expr:
    """`date(instant)`: the calendar day in the instant's own offset."""
    return (t + pl.duration(seconds=off)).dt.date()


def days_between(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """`(b - a).days` for two dates."""
    return (b.cast(pl.Int32).cast(pl.Int64) - a.cast(pl.Int32).cast(pl.Int64))
