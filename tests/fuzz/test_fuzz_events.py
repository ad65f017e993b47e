"""Fuzzing the streaming monitor's input: event lines of random bytes, mutants of valid event lines, events dated
near both ends of the calendar.

Reading a stream never raises: every non-blank line is either parsed or refused with an `EventError` (with
Chinese and English reasons). Monitoring never raises: every posted event is applied, a duplicate, a clock
event, or refused — the counters add up — and the monitor can always be advanced to the calendar's last day.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetyrules import load_policy
from safetyrules.api import Policy
from safetyrules.limits import Limits
from safetyrules.stream.events import EventError, Prepared, read_event_lines
from safetyrules.stream.monitor import Monitor
from safetyrules.synth import generate_events

LONG_EXAMPLES = int(os.environ.get("SAFETYRULES_FUZZ_EXAMPLES", "2000"))
QUICK = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
LONG = settings(max_examples=LONG_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
SMALL = Limits(max_record_bytes=4096, max_nesting=12, max_list_items=50)  # limits reached by small inputs

VALID = [json.dumps(e, ensure_ascii=False).encode() for e in generate_events(2, seed=7)][:400]
HOSTILE_VALUES: list[Any] = [
    None, True, 0, -1, 10**13, 10**13 + 1, -(10**13) - 1, 2**63, 1e300, -0.0, 1.5, "", "x", "\u0000", "永春",
    "2022-02-30", "0001-01-01", "9999-12-31", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00",
    "2022-03-01T09:00:00", "+08:00", [], {}, [[[[[[[[[[[[[[]]]]]]]]]]]]]], {"id": None}, list(range(60)),
]
RAW_VALUES = [b"9" * 5000, b"-" + b"9" * 30, b"10000000000001", b"NaN", b"-Infinity", b"1e999", b"[" * 70 + b"]" * 70,
              b'{"a": 1, "a": 2}', b'"\\ud800"', b'"\\u0000"', b"[" + b"0," * 60 + b"0]", b"null", b"{}", b"[]"]
HOSTILE_TEXT = [b"[" * 10_000, b"9" * 5000, b"-" + b"9" * 30, b"NaN", b"Infinity", b'"\\ud800"', b"\xff\xfe",
                b"\xed\xa0\x80", b"\xc0\xaf", b"\xef\xbb\xbf", b'{"a": 1, "a": 2}', b"1e999", b"\x00", b"}", b""]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def read_all(data: bytes, limits: Limits = SMALL) -> list[tuple[int, Prepared | EventError]]:
    return list(read_event_lines(io.BytesIO(data), limits))


def non_blank(data: bytes) -> list[int]:
    """The numbers of the lines the reader must account for (blank lines and a lone BOM are skipped)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [i for i, line in enumerate(lines, start=1) if line.strip() and line.strip() != b"\xef\xbb\xbf"]


def check_read(data: bytes, limits: Limits = SMALL) -> list[tuple[int, Prepared | EventError]]:
    out = read_all(data, limits)
    assert [n for n, _ in out] == non_blank(data)  # every line is accounted for, once, in order
    for _, item in out:
        if isinstance(item, EventError):
            assert str(item) and item.zh and all(e.message and e.message_zh for e in item.errors)
    return out


def check_monitor(policy: Policy, items: list[tuple[int, Prepared | EventError]], limits: Limits = SMALL,
                  window: int | None = None) -> Monitor:
    monitor = Monitor(policy, limits=limits, reorder_window=window)
    for number, item in items:
        if isinstance(item, EventError):
            monitor.refuse_invalid(item, number)
        else:
            monitor.post(item, number)
    monitor.advance_to(dt.date.max)
    monitor.findings()
    s = monitor.stats
    assert s.events == len(items)
    assert s.applied + s.duplicates + s.rejected + s.invalid + s.clock == s.events
    assert len(monitor.refusals()) == s.rejected + s.invalid
    assert monitor.today == dt.date.max
    return monitor


# ------------------------------------------------------------------------------------------ strategies


@st.composite
def mutated_line(draw: st.DrawFn) -> bytes:
    """A valid event line with one to three changes: bytes flipped, inserted, deleted, the line cut, a value
    replaced by a hostile one, a key repeated, hostile text spliced in."""
    line = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 7, 7, 7, 7, 7]))  # mostly a value replaced by raw text
        at = draw(st.integers(0, len(line)))
        if kind == 0 and line:
            line[min(at, len(line) - 1)] = draw(st.integers(0, 255))
        elif kind == 1:
            line[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == 2:
            del line[at:at + draw(st.integers(1, 20))]
        elif kind == 3:
            del line[at:]
        elif kind in (4, 7):  # a value replaced: by a hostile Python value, or by raw hostile JSON text
            try:
                event = json.loads(line)
            except (ValueError, RecursionError):  # an earlier mutation broke the line: keep it broken
                continue
            if not isinstance(event, dict):
                continue
            target = event
            payload = event.get("payload")
            if isinstance(payload, dict) and payload and draw(st.booleans()):
                target = payload
            key = draw(st.sampled_from([*sorted(target), "extra"]))
            target[key] = draw(st.sampled_from(HOSTILE_VALUES)) if kind == 4 else "\u0000raw\u0000"
            text = json.dumps(event, ensure_ascii=False).encode("utf-8", "surrogatepass")
            line = bytearray(text.replace(b'"\\u0000raw\\u0000"', draw(st.sampled_from(RAW_VALUES))))
        elif kind == 5 and line.startswith(b"{"):
            line[1:1] = b'"type": "clock", '  # a repeated key
        else:
            line[at:at] = draw(st.sampled_from(HOSTILE_TEXT))
    return bytes(line).replace(b"\n", b" ")


stamp = st.one_of(
    st.datetimes(dt.datetime(1, 1, 1), dt.datetime(1, 3, 1)),
    st.datetimes(dt.datetime(9999, 10, 1), dt.datetime(9999, 12, 31, 23, 59)),
    st.datetimes(dt.datetime(2021, 1, 1), dt.datetime(2023, 1, 1)),
)
offset = st.integers(-12, 14).map(lambda h: dt.timezone(dt.timedelta(hours=h)))
far_date = st.one_of(st.dates(dt.date(1, 1, 1), dt.date(1, 3, 1)), st.dates(dt.date(9999, 10, 1), dt.date.max),
                     st.dates(dt.date(2021, 1, 1), dt.date(2023, 1, 1))).map(dt.date.isoformat)


@st.composite
def far_event(draw: st.DrawFn) -> dict[str, Any]:
    """An event of one of two enterprises, stamped and dated near either end of the calendar (or in 2022)."""
    at = draw(stamp).replace(tzinfo=draw(offset)).isoformat()
    enterprise = draw(st.sampled_from(["E1", "E2"]))
    hid = draw(st.sampled_from(["H1", "H2"]))
    aid = draw(st.sampled_from(["A1", "A2"]))
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return {"type": "clock", "timestamp": at}
    event: dict[str, Any] = {"enterprise": enterprise, "timestamp": at}
    if choice == 1:
        event |= {"type": "enterprise_updated", "payload": {
            "industry": draw(st.sampled_from(["construction", "mining", "retail"])), "established_on": draw(far_date),
            "hazards": [], "accidents": [], "changes": [], "reports": [], "risk_assessments": [],
            "safety_costs": [], "insurance": [], "staff": [], "internal_assessments": [draw(far_date)],
            "principal": {"competence_certificate_expires_on": draw(far_date)}}}
    elif choice == 2:
        event |= {"type": "hazard_found", "payload": {"id": hid, "major": True, "found_on": draw(far_date),
                                                      "cause": "illegal_command"}}
    elif choice == 3:
        event |= {"type": draw(st.sampled_from(["hazard_reported", "hazard_remediated", "hazard_verified"])),
                  "payload": {"hazard_id": hid}}
    elif choice == 4:
        event |= {"type": "accident_occurred", "payload": {"id": aid, "severity": "general"}}
    elif choice == 5:
        event |= {"type": "accident_reported", "payload": {"accident_id": aid}}
    elif choice == 6:
        event |= {"type": "change_made", "payload": {"kind": "process", "major": True, "authorized": False,
                                                     "date": draw(far_date)}}
    elif choice == 7:
        starts, ends = sorted((draw(far_date), draw(far_date)))
        event |= {"type": "insurance_bought", "payload": {"starts_on": starts, "ends_on": ends}}
    elif choice == 8:
        year = draw(st.sampled_from([1, 2, 2021, 9998, 9999]))
        event |= {"type": "safety_cost_recorded", "payload": {"year": year, "required": 10**13,
                                                              "extracted": draw(st.integers(0, 10**13))}}
    else:
        event |= {"type": "report_filed", "payload": {"kind": "risk_list", "channel": "platform",
                                                      "date": draw(far_date)}}
    return event


def lines_of(events: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


# ------------------------------------------------------------------------------------------ quick


@QUICK
@given(data=st.binary(max_size=600))
def test_random_bytes_are_read_line_by_line_without_raising(data: bytes) -> None:
    check_read(data)


@QUICK
@given(lines=st.lists(st.one_of(mutated_line(), st.sampled_from(VALID), st.sampled_from(HOSTILE_TEXT)),
                      min_size=1, max_size=6))
def test_mutated_lines_are_parsed_or_refused_and_valid_ones_kept(policy: Policy, lines: list[bytes]) -> None:
    data = b"\n".join(lines) + b"\n"
    items = check_read(data, Limits())
    for number, item in items:
        if lines[number - 1] in VALID:  # an untouched valid line among hostile ones is parsed
            assert isinstance(item, Prepared)
    check_monitor(policy, items, Limits())


@settings(QUICK, max_examples=30)
@given(events=st.lists(far_event(), min_size=1, max_size=6), window=st.sampled_from([None, 0, 30]))
def test_events_near_the_ends_of_the_calendar(policy: Policy, events: list[dict[str, Any]],
                                              window: int | None) -> None:
    items = check_read(lines_of(events), Limits())
    assert all(isinstance(item, Prepared) for _, item in items)  # valid events, only oddly dated
    check_monitor(policy, items, Limits(), window)


# ------------------------------------------------------------------------------------------ long


@pytest.mark.slow
@LONG
@given(data=st.binary(max_size=5000))
def test_random_bytes_long(data: bytes) -> None:
    check_read(data)


@pytest.mark.slow
@LONG
@given(lines=st.lists(st.one_of(mutated_line(), st.sampled_from(VALID), st.sampled_from(HOSTILE_TEXT)),
                      min_size=1, max_size=20))
def test_mutated_lines_long(policy: Policy, lines: list[bytes]) -> None:
    data = b"\n".join(lines) + b"\n"
    check_monitor(policy, check_read(data, Limits()), Limits())


@pytest.mark.slow
@LONG
@given(events=st.lists(far_event(), min_size=1, max_size=25), window=st.sampled_from([None, 0, 30]))
def test_events_near_the_ends_of_the_calendar_long(policy: Policy, events: list[dict[str, Any]],
                                                   window: int | None) -> None:
    check_monitor(policy, check_read(lines_of(events), Limits()), Limits(), window)
