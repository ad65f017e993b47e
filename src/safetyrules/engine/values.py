"""Runtime values of the language: the unknown value, durations and calendar arithmetic.

Absent facts evaluate to `UNKNOWN`; an explicit JSON `null` evaluates to `None` ("known not to exist").
Calendar arithmetic: adding months or years keeps the day of month, clamped to the month's last day
(2020-02-29 + 1 year = 2021-02-28; 2021-01-31 + 1 month = 2021-02-28); then days are added. Each of the two
steps saturates at the ends of the calendar (`Limits.min_date`/`max_date`): 9999-12-31 + 1 year is
9999-12-31, never an error. Every engine shifts dates through `shift_date` / `shift_instant` here (the
columnar engine reproduces them exactly), so there is one rule for the ends of the calendar.

Integers are exact inside the signed 64-bit range, the widest every engine holds; an arithmetic result
outside it is unknown (`int64_or_unknown`).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from safetyrules.limits import DEFAULT, Limits


class _Unknown:
    """The value of an absent fact. A singleton; falsy tests must use `is UNKNOWN`."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("UNKNOWN has no truth value; test `is UNKNOWN`")

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()


@dataclass(frozen=True, slots=True)
class Duration:
    """A calendar duration: months (years are 12 months), days (weeks are 7 days) and seconds."""

    months: int = 0
    days: int = 0
    seconds: int = 0

    @staticmethod
    def of(amount: int, unit: str) -> Duration:
        match unit:
            case "year":
                return Duration(months=12 * amount)
            case "month":
                return Duration(months=amount)
            case "week":
                return Duration(days=7 * amount)
            case "day":
                return Duration(days=amount)
            case "hour":
                return Duration(seconds=3600 * amount)
            case "minute":
                return Duration(seconds=60 * amount)
        raise ValueError(f"unknown unit {unit!r}")

    def __add__(self, other: Duration) -> Duration:
        return Duration(self.months + other.months, self.days + other.days, self.seconds + other.seconds)

    def __neg__(self) -> Duration:
        return Duration(-self.months, -self.days, -self.seconds)

    def scaled(self, k: int) -> Duration:
        return Duration(self.months * k, self.days * k, self.seconds * k)

    def text(self, lang: str = "en") -> str:
        parts: list[tuple[int, str, str]] = []
        years, months = divmod(self.months, 12)
        if years and not months:
            parts.append((years, "year", "年"))
        elif self.months:
            parts.append((self.months, "month", "个月"))
        if self.days:
            parts.append((self.days, "day", "天"))
        hours, rest = divmod(self.seconds, 3600)
        if hours and not rest:
            parts.append((hours, "hour", "小时"))
        elif self.seconds:
            parts.append((self.seconds // 60, "minute", "分钟"))
        if not parts:
            return "0 天" if lang == "zh" else "0 days"
        if lang == "zh":
            return "".join(f"{n}{zh}" for n, _, zh in parts)
        return " ".join(f"{n} {en}{'' if n == 1 else 's'}" for n, en, _ in parts)

    def __str__(self) -> str:
        return self.text()


INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


def int64_or_unknown(value: Any) -> Any:
    """`value`, or UNKNOWN when it is an integer (or a duration with a part) outside the signed 64-bit range:
    the columnar engine computes in 64 bits, and an answer one engine cannot give is no answer."""
    if type(value) is int:
        return value if INT64_MIN <= value <= INT64_MAX else UNKNOWN
    if isinstance(value, Duration):
        for part in (value.months, value.days, value.seconds):
            if not INT64_MIN <= part <= INT64_MAX:
                return UNKNOWN
    return value


def add_months(d: dt.date, months: int) -> dt.date:
    """`d` plus `months` calendar months, exactly; OverflowError outside years 1..9999 (for callers that walk
    the calendar month by month and must stop at its end; engines use the saturating `shift_date`)."""
    total = d.year * 12 + (d.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise OverflowError("date out of range")
    day = min(d.day, calendar.monthrange(year, month)[1])
    return d.replace(year=year, month=month, day=day)


def clamp_date(d: dt.date, limits: Limits = DEFAULT) -> dt.date:
    """`d` held inside the calendar the engines compute in."""
    return limits.min_date if d < limits.min_date else limits.max_date if d > limits.max_date else d


def add_months_saturating(d: dt.date, months: int, limits: Limits = DEFAULT) -> dt.date:
    """`add_months`, saturating at `limits.min_date` / `limits.max_date` instead of failing."""
    total = d.year * 12 + (d.month - 1) + months
    year = total // 12
    if year < limits.min_date.year:
        return limits.min_date
    if year > limits.max_date.year:
        return limits.max_date
    return clamp_date(add_months(d, months), limits)


def add_days_saturating(d: dt.date, days: int, limits: Limits = DEFAULT) -> dt.date:
    """`d + days`, saturating at the ends of the calendar (on day numbers: no timedelta can overflow)."""
    ordinal = d.toordinal() + days
    low, high = limits.min_date.toordinal(), limits.max_date.toordinal()
    return dt.date.fromordinal(low if ordinal < low else high if ordinal > high else ordinal)


def whole_days(seconds: int) -> int:
    """Seconds as whole days, towards zero (integer arithmetic: exact for any size)."""
    return seconds // 86400 if seconds >= 0 else -(-seconds // 86400)


def shift_date(d: dt.date, dur: Duration, sign: int = 1, limits: Limits = DEFAULT) -> dt.date:
    """`d + dur` (or `d - dur`); seconds count in whole days towards zero. Months first, then days, each
    step saturating at the ends of the calendar: a deadline past 9999-12-31 is 9999-12-31."""
    moved = add_months_saturating(d, sign * dur.months, limits)
    return add_days_saturating(moved, sign * (dur.days + whole_days(dur.seconds)), limits)


_US = dt.timedelta(microseconds=1)


def shift_instant(t: dt.datetime, dur: Duration, sign: int = 1, limits: Limits = DEFAULT) -> dt.datetime:
    """`t ± dur`: months on the local date keeping the local time, then days and seconds as elapsed time on
    the local clock; the offset is kept. Each step saturates at the calendar's first and last instants."""
    local = t.replace(tzinfo=None)
    moved = dt.datetime.combine(add_months_saturating(local.date(), sign * dur.months, limits), local.time())
    first = dt.datetime.combine(limits.min_date, dt.time.min)
    last = dt.datetime.combine(limits.max_date, dt.time.max)
    us = (moved - first) // _US + sign * (dur.days * 86400 + dur.seconds) * 1_000_000
    span = (last - first) // _US
    us = 0 if us < 0 else span if us > span else us
    return (first + dt.timedelta(microseconds=us)).replace(tzinfo=t.tzinfo)


def to_json(value: Any) -> Any:
    """A JSON-ready rendering of a runtime value (unknown → the string "unknown")."""
    if value is UNKNOWN:
        return "unknown"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Duration):
        return value.text()
    if isinstance(value, frozenset | set):
        return sorted(to_json(v) for v in value)
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def show(value: Any, lang: str = "en") -> str:
    """A short human rendering of a value for explanations."""
    if value is UNKNOWN:
        return "未知" if lang == "zh" else "unknown"
    if value is None:
        return "无" if lang == "zh" else "none"
    if value is True:
        return "是" if lang == "zh" else "true"
    if value is False:
        return "否" if lang == "zh" else "false"
    if isinstance(value, Duration):
        return value.text(lang)
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return "{" + ", ".join(sorted(show(v, lang) for v in value)) + "}"
    if isinstance(value, dict):
        ident = value.get("id")
        return f"#{ident}" if isinstance(ident, str) else "{…}"
    if isinstance(value, list):
        return f"[{len(value)}]"
    return str(value)
