"""Runtime values of the language: the unknown value, durations and calendar arithmetic.

Absent facts evaluate to `UNKNOWN`; an explicit JSON `null` evaluates to `None` ("known not to exist").
Calendar arithmetic: adding months or years keeps the day of month, clamped to the month's last day
(2020-02-29 + 1 year = 2021-02-28; 2021-01-31 + 1 month = 2021-02-28); then days are added.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any, Final


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


def add_months(d: dt.date, months: int) -> dt.date:
    total = d.year * 12 + (d.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise OverflowError("date out of range")
    day = min(d.day, calendar.monthrange(year, month)[1])
    return d.replace(year=year, month=month, day=day)


def shift_date(d: dt.date, dur: Duration, sign: int = 1) -> dt.date:
    """`d + dur` (or `d - dur`); seconds count in whole days towards zero."""
    out = add_months(d, sign * dur.months)
    days = dur.days + int(dur.seconds / 86400)
    return out + dt.timedelta(days=sign * days)


def shift_instant(t: dt.datetime, dur: Duration, sign: int = 1) -> dt.datetime:
    moved = add_months(t.date(), sign * dur.months)
    base = t.replace(year=moved.year, month=moved.month, day=moved.day)
    return base + sign * dt.timedelta(days=dur.days, seconds=dur.seconds)


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
