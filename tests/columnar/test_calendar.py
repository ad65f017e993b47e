"""Calendar arithmetic of the columnar engine equals `engine.values` exactly (month ends, 02-29, signs)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from safetyrules.columnar.values import Val, add_months, const, shift_date, shift_instant
from safetyrules.engine import values as ref
from safetyrules.engine.values import Duration

# dates near both ends of the calendar as well as in the middle: arithmetic saturates at the ends
DAYS = st.one_of(st.dates(dt.date(1900, 1, 1), dt.date(2200, 12, 31)), st.dates(dt.date(1, 1, 1), dt.date(3, 12, 31)),
                 st.dates(dt.date(9997, 1, 1), dt.date(9999, 12, 31)))
MONTHS = st.one_of(st.integers(-400, 400), st.integers(-(2**62), 2**62))


def _row_duration(months: list[int], days: list[int], seconds: list[int]) -> Val:
    from safetyrules.columnar.values import K

    return Val(K.DUR, pl.col("m"), days=pl.col("d"), secs=pl.col("s"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(DAYS, MONTHS), min_size=1, max_size=40))
def test_add_months_per_row_matches_reference(pairs: list[tuple[dt.date, int]]) -> None:
    frame = pl.DataFrame({"d": [p[0] for p in pairs], "m": [p[1] for p in pairs]})
    got = frame.select(add_months(pl.col("d"), pl.col("m"))).to_series().to_list()
    assert got == [ref.add_months_saturating(d, m) for d, m in pairs]


@settings(max_examples=100, deadline=None)
@given(st.lists(DAYS, min_size=1, max_size=40), MONTHS)
def test_add_constant_months_matches_reference(days: list[dt.date], months: int) -> None:
    got = pl.DataFrame({"d": days}).select(add_months(pl.col("d"), months)).to_series().to_list()
    assert got == [ref.add_months_saturating(d, months) for d in days]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(DAYS, st.one_of(st.integers(-50, 50), st.integers(-(2**63), 2**63 - 1)),
                          st.one_of(st.integers(-400, 400), st.integers(-(2**63), 2**63 - 1)),
                          st.one_of(st.integers(-300_000, 300_000), st.integers(-(2**63), 2**63 - 1))),
                min_size=1, max_size=30), st.sampled_from([1, -1]))
def test_shift_date_matches_reference(rows: list[tuple[dt.date, int, int, int]], sign: int) -> None:
    frame = pl.DataFrame({"day": [r[0] for r in rows], "m": [r[1] for r in rows], "d": [r[2] for r in rows],
                          "s": [r[3] for r in rows]})
    out = shift_date(pl.col("day"), _row_duration([], [], []), sign)
    got = frame.select(out).to_series().to_list()
    assert got == [ref.shift_date(r[0], Duration(r[1], r[2], r[3]), sign) for r in rows]
    for m, d, s in {(r[1], r[2], r[3]) for r in rows[:3]}:  # the constant fast path too
        out = shift_date(pl.col("day"), const(Duration(m, d, s)), sign)
        got = frame.select(out).to_series().to_list()
        assert got == [ref.shift_date(r[0], Duration(m, d, s), sign) for r in rows]


OFFSETS = st.sampled_from([0, 8 * 3600, -5 * 3600, 14 * 3600, 5 * 3600 + 45 * 60])


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.datetimes(dt.datetime(1950, 1, 1), dt.datetime(2150, 1, 1)),
                 st.datetimes(dt.datetime(9999, 11, 1), dt.datetime(9999, 12, 31, 23, 59)),
                 st.datetimes(dt.datetime(1, 1, 1), dt.datetime(1, 2, 1))), OFFSETS,
       st.sampled_from([Duration(seconds=3600), Duration(months=1), Duration(months=12, days=3, seconds=59),
                        Duration(days=-2, seconds=-7200), Duration(months=-13), Duration(months=10**6),
                        Duration(days=10**9, seconds=-(10**12))]), st.sampled_from([1, -1]))
def test_shift_instant_matches_reference(local: dt.datetime, offset: int, dur: Duration, sign: int) -> None:
    tz = dt.timezone(dt.timedelta(seconds=offset))
    t = local.replace(tzinfo=tz)
    frame = pl.DataFrame({"l": [local], "o": [offset]}, schema={"l": pl.Datetime("us"), "o": pl.Int32})
    frame = frame.with_columns(t=pl.col("l") - pl.duration(seconds=pl.col("o")))  # UTC (year 0 is fine here)
    out = shift_instant(pl.col("t"), pl.col("o"), const(dur), sign)
    got = frame.select(out + pl.duration(seconds=pl.col("o"))).item()  # compared on the local clock
    want = ref.shift_instant(t, dur, sign)
    assert want.tzinfo == tz
    assert got == want.replace(tzinfo=None)


def test_month_end_examples() -> None:
    frame = pl.DataFrame({"d": [dt.date(2021, 1, 31), dt.date(2020, 2, 29), dt.date(2021, 3, 15)]})
    assert frame.select(add_months(pl.col("d"), 1)).to_series().to_list() == [
        dt.date(2021, 2, 28), dt.date(2020, 3, 29), dt.date(2021, 4, 15)]
    assert frame.select(add_months(pl.col("d"), 12)).to_series().to_list() == [
        dt.date(2022, 1, 31), dt.date(2021, 2, 28), dt.date(2022, 3, 15)]
