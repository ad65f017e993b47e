"""Calendar arithmetic of the engine (docs/semantics.md, "Dates and durations").

Adding months or years keeps the day of the month, clamped to the month's last day; then days are added.
"""

from __future__ import annotations

import datetime as dt

import pytest

from safetyrules.engine.values import Duration, add_months, shift_date, shift_instant

D = dt.date
CST = dt.timezone(dt.timedelta(hours=8))


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (D(2021, 3, 15), Duration.of(1, "year"), D(2022, 3, 15)),
        (D(2020, 2, 29), Duration.of(1, "year"), D(2021, 2, 28)),
        (D(2020, 2, 29), Duration.of(4, "year"), D(2024, 2, 29)),
        (D(2020, 2, 29), Duration.of(12, "month"), D(2021, 2, 28)),
        (D(2021, 1, 31), Duration.of(1, "month"), D(2021, 2, 28)),
        (D(2024, 1, 31), Duration.of(1, "month"), D(2024, 2, 29)),
        (D(2021, 3, 31), Duration.of(1, "month"), D(2021, 4, 30)),
        (D(2021, 12, 15), Duration.of(1, "month"), D(2022, 1, 15)),
        (D(2021, 11, 30), Duration.of(3, "month"), D(2022, 2, 28)),
        (D(2020, 4, 1), Duration.of(3, "year"), D(2023, 4, 1)),
        (D(2021, 12, 31), Duration.of(90, "day"), D(2022, 3, 31)),
        (D(2021, 12, 25), Duration.of(1, "week"), D(2022, 1, 1)),
        (D(2022, 5, 3), Duration.of(1, "day"), D(2022, 5, 4)),
        # months first (clamped), then days: 01-31 + 1 month = 02-28, + 1 day = 03-01
        (D(2021, 1, 31), Duration(months=1, days=1), D(2021, 3, 1)),
        # sub-day durations count in whole days towards zero
        (D(2021, 1, 1), Duration.of(1, "hour"), D(2021, 1, 1)),
        (D(2021, 1, 1), Duration.of(23, "hour"), D(2021, 1, 1)),
        (D(2021, 1, 1), Duration.of(25, "hour"), D(2021, 1, 2)),
        (D(2021, 1, 1), Duration(), D(2021, 1, 1)),
    ],
)
def test_shift_date_forwards(start: dt.date, duration: Duration, expected: dt.date) -> None:
    assert shift_date(start, duration) == expected


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (D(2022, 3, 15), Duration.of(1, "year"), D(2021, 3, 15)),
        (D(2024, 2, 29), Duration.of(1, "year"), D(2023, 2, 28)),
        (D(2021, 3, 31), Duration.of(1, "month"), D(2021, 2, 28)),
        (D(2021, 3, 1), Duration.of(1, "month"), D(2021, 2, 1)),
        (D(2021, 1, 1), Duration.of(1, "day"), D(2020, 12, 31)),
        (D(2022, 6, 30), Duration.of(1, "year"), D(2021, 6, 30)),
        (D(2021, 1, 1), Duration.of(2, "week"), D(2020, 12, 18)),
        # months back first, then days back
        (D(2021, 3, 31), Duration(months=1, days=1), D(2021, 2, 27)),
    ],
)
def test_shift_date_backwards(start: dt.date, duration: Duration, expected: dt.date) -> None:
    assert shift_date(start, duration, -1) == expected
    assert shift_date(start, -duration) == expected


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2021, 1, 31), 1, D(2021, 2, 28)),
        (D(2021, 1, 31), 2, D(2021, 3, 31)),
        (D(2021, 3, 31), -1, D(2021, 2, 28)),
        (D(2021, 1, 15), -1, D(2020, 12, 15)),
        (D(2021, 1, 15), -13, D(2019, 12, 15)),
        (D(2020, 2, 29), 12, D(2021, 2, 28)),
        (D(2020, 2, 29), 48, D(2024, 2, 29)),
        (D(2021, 12, 31), 0, D(2021, 12, 31)),
    ],
)
def test_add_months(start: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(start, months) == expected


def test_add_months_out_of_range_raises() -> None:
    with pytest.raises(OverflowError):
        add_months(D(9999, 12, 1), 1)
    with pytest.raises(OverflowError):
        add_months(D(1, 1, 1), -1)


def test_shift_is_not_invertible_at_month_ends() -> None:
    """Clamping loses the day: 01-31 + 1 month - 1 month = 01-28, not 01-31."""
    there = shift_date(D(2021, 1, 31), Duration.of(1, "month"))
    assert shift_date(there, Duration.of(1, "month"), -1) == D(2021, 1, 28)


@pytest.mark.parametrize(
    ("start", "duration", "sign", "expected"),
    [
        # an hour across midnight moves to the next local day, keeping the offset
        (t("2021-08-09T23:30:00+08:00"), Duration.of(1, "hour"), 1, t("2021-08-10T00:30:00+08:00")),
        (t("2021-12-31T23:59:00+08:00"), Duration.of(1, "minute"), 1, t("2022-01-01T00:00:00+08:00")),
        (t("2021-01-01T00:30:00+08:00"), Duration.of(1, "hour"), -1, t("2020-12-31T23:30:00+08:00")),
        (t("2021-08-09T10:20:00+08:00"), Duration.of(60, "minute"), 1, t("2021-08-09T11:20:00+08:00")),
        (t("2020-02-29T23:30:00+08:00"), Duration.of(1, "year"), 1, t("2021-02-28T23:30:00+08:00")),
        (t("2021-01-31T12:00:00+08:00"), Duration(months=1, days=1), 1, t("2021-03-01T12:00:00+08:00")),
        (t("2021-08-09T10:20:00+00:00"), Duration.of(1, "day"), 1, t("2021-08-10T10:20:00+00:00")),
    ],
)
def test_shift_instant(start: dt.datetime, duration: Duration, sign: int, expected: dt.datetime) -> None:
    moved = shift_instant(start, duration, sign)
    assert moved == expected
    assert moved.utcoffset() == start.utcoffset()


def test_instant_plus_hour_across_midnight_local_date() -> None:
    moved = shift_instant(dt.datetime(2021, 8, 9, 23, 30, tzinfo=CST), Duration.of(1, "hour"))
    assert moved.date() == D(2021, 8, 10)
    assert (moved.hour, moved.minute) == (0, 30)


@pytest.mark.parametrize(
    ("amount", "unit", "expected"),
    [
        (1, "year", Duration(months=12)),
        (3, "year", Duration(months=36)),
        (6, "month", Duration(months=6)),
        (2, "week", Duration(days=14)),
        (30, "day", Duration(days=30)),
        (1, "hour", Duration(seconds=3600)),
        (15, "minute", Duration(seconds=900)),
    ],
)
def test_duration_of_units(amount: int, unit: str, expected: Duration) -> None:
    assert Duration.of(amount, unit) == expected


def test_duration_of_unknown_unit() -> None:
    with pytest.raises(ValueError, match="fortnight"):
        Duration.of(1, "fortnight")


def test_duration_algebra() -> None:
    assert Duration.of(1, "year") + Duration.of(2, "month") == Duration(months=14)
    assert -Duration(1, 2, 3) == Duration(-1, -2, -3)
    assert Duration.of(1, "month").scaled(3) == Duration(months=3)
    assert Duration.of(1, "year") != Duration.of(365, "day")


@pytest.mark.parametrize(
    ("duration", "en", "zh"),
    [
        (Duration.of(1, "year"), "1 year", "1年"),
        (Duration.of(3, "year"), "3 years", "3年"),
        (Duration.of(14, "month"), "14 months", "14个月"),
        (Duration.of(1, "month"), "1 month", "1个月"),
        (Duration.of(2, "week"), "14 days", "14天"),
        (Duration.of(1, "day"), "1 day", "1天"),
        (Duration.of(1, "hour"), "1 hour", "1小时"),
        (Duration.of(90, "minute"), "90 minutes", "90分钟"),
        (Duration(), "0 days", "0 天"),
    ],
)
def test_duration_text(duration: Duration, en: str, zh: str) -> None:
    assert duration.text("en") == en
    assert str(duration) == en
    assert duration.text("zh") == zh
