"""Hostile input to the monitor: every bad event line refused with its line and reasons (en + zh), the rest of the
stream processed; order independence of a valid stream; bounded work at the ends of the calendar."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from safetyrules.api import Policy
from safetyrules.cli.stream import monitor_command
from safetyrules.engine.results import Outcome, RuleResult, Text
from safetyrules.limits import Limits
from safetyrules.stream.analysis import FieldDates, add_days, next_change, shift
from safetyrules.stream.events import EventError, Prepared, Status, parse_event, read_event_lines
from safetyrules.stream.monitor import Monitor, Refusal
from safetyrules.synth import generate_events

from .conftest import ev, needs_durable, reference_outcomes

OK = [
    ev("E1", "enterprise_updated", "2022-01-03", {"industry": "construction", "hazards": [], "accidents": []}),
    ev("E1", "hazard_found", "2022-03-01", {"id": "H1", "major": True}),
    ev("E1", "hazard_reported", "2022-03-02", {"hazard_id": "H1"}),
]
OK_LINES = [json.dumps(e, ensure_ascii=False).encode() for e in OK]
CLOCK = b'{"type": "clock", "timestamp": "2022-03-05T00:00:00+08:00"'
COST = b'{"enterprise": "E1", "type": "safety_cost_recorded", "timestamp": "2022-04-01T09:00:00+08:00", '

# (a hostile line, what its reason says, in English and in Chinese)
HOSTILE: list[tuple[bytes, str, str]] = [
    (CLOCK[:-1] + b'\xff"}', "not UTF-8 text: byte 0xff", "UTF-8"),
    (CLOCK + b', "id": "\xe6\xb0"}', "not UTF-8", "UTF-8"),  # a cut multi-byte character
    (CLOCK + b', "id": "\xed\xa0\x80"}', "not UTF-8", "UTF-8"),  # a surrogate encoded in UTF-8
    (CLOCK + b', "id": "\xc0\xaf"}', "not UTF-8", "UTF-8"),  # an overlong encoding
    (b"[" * 10_000, "nested deeper than 64 levels", "嵌套超过 64 层"),
    (b'{"a": ' * 5_000 + b"1" + b"}" * 5_000, "nested deeper than 64 levels", "嵌套超过 64 层"),
    (COST + b'"payload": {"year": 2022, "required": ' + b"9" * 5000 + b"}}", "payload.required: an integer of 5000 "
     "digits", "整数位数过多"),
    (COST + b'"payload": {"year": 2022, "required": 10000000000001}}', "payload.required: a number outside "
     "±10000000000000", "超出"),
    (COST + b'"payload": {"year": 2022, "required": -10000000000001}}', "payload.required: a number outside", "超出"),
    (COST + b'"payload": {"year": 2022, "required": 1e300}}', "payload.required: a number outside", "超出"),
    (COST + b'"payload": {"year": 2022, "required": NaN}}', "payload.required: NaN is not a JSON number", "NaN"),
    (COST + b'"payload": {"year": 2022, "required": -Infinity}}', "-Infinity is not a JSON number", "Infinity"),
    (CLOCK + b', "type": "clock"}', "type: the key appears more than once", "字段 type：键重复出现"),
    (COST + b'"payload": {"year": 2022, "year": 2023}}', "payload.year: the key appears more than once", "键重复"),
    (CLOCK + b', "id": "\\ud800"}', "id: a lone surrogate", "代理字符"),
    (b"not json", "not JSON", "不是有效的 JSON"),
    (b"[1, 2]", "an event is a JSON object", "事件应为 JSON 对象"),
    (b'"clock"', "an event is a JSON object", "事件应为 JSON 对象"),
    (b'{"type": "clock"}', "event.timestamp", "缺少该字段"),
    (json.dumps(ev("E1", "report_filed", "2022-03-01", {"kind": "weekly"})).encode(), "payload.kind", "不是允许的代码"),
]


def stream(*lines: bytes) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------------------------------ event lines


@pytest.mark.parametrize(("line", "reason", "zh"), HOSTILE, ids=[f"hostile{i}" for i in range(len(HOSTILE))])
def test_each_bad_line_is_refused_with_its_line_and_reason_and_the_rest_is_read(line: bytes, reason: str,
                                                                              zh: str) -> None:
    data = stream(OK_LINES[0], line, *OK_LINES[1:])
    items = list(read_event_lines(io.BytesIO(data)))
    assert [n for n, _ in items] == [1, 2, 3, 4]
    bad = items[1][1]
    assert isinstance(bad, EventError), bad
    assert reason in str(bad) and zh in bad.zh
    assert all(isinstance(item, Prepared) for n, item in items if n != 2)


def test_the_command_line_lists_every_bad_line_processes_the_rest_and_exits_3(tmp_path: Path) -> None:
    lines = [OK_LINES[0], *(line for line, _, _ in HOSTILE), *OK_LINES[1:]]
    result = CliRunner().invoke(monitor_command, ["--events", str(write(tmp_path, stream(*lines))),
                                                  "--format", "jsonl"])
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    for number, (_, reason, zh) in enumerate(HOSTILE, start=2):
        at = result.stderr.index(f"events.jsonl:{number}: ")
        refusal = result.stderr[at:].split("\n", 2)
        assert reason in refusal[0] and zh in refusal[1], refusal[:2]
    summary = json.loads(result.stderr.rsplit("monitor: ", 1)[1])
    assert (summary["events"], summary["applied"], summary["refused"]) == (len(lines), 3, len(HOSTILE))
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    assert any(a["rule"] == "major_hazard_reported" for a in alerts)  # the valid events were monitored


def test_a_byte_order_mark_and_crlf_line_ends_are_read(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + b"\r\n".join(OK_LINES) + b"\r\n"
    items = list(read_event_lines(io.BytesIO(data)))
    assert [type(item) for _, item in items] == [Prepared] * 3
    result = CliRunner().invoke(monitor_command, ["--events", str(write(tmp_path, data))])
    assert result.exit_code == 0, result.output


class Recording(io.BytesIO):
    """A stream that records the longest piece handed out by one read."""

    longest = 0

    def readline(self, size: int | None = -1, /) -> bytes:
        out = super().readline(size)
        self.longest = max(self.longest, len(out))
        return out


def test_a_line_over_the_size_limit_is_refused_without_being_read_whole() -> None:
    limits = Limits(max_record_bytes=len(OK_LINES[0]) + 10)
    data = Recording(stream(OK_LINES[0], b'{"x": "' + b"a" * 300_000 + b'"}', OK_LINES[1], b"b" * 5000))
    items = list(read_event_lines(data, limits))
    assert [n for n, _ in items] == [1, 2, 3, 4]
    assert isinstance(items[0][1], Prepared) and isinstance(items[2][1], Prepared)
    for _, item in (items[1], items[3]):
        assert isinstance(item, EventError) and "over the limit of" in str(item) and "字节的上限" in item.zh
    assert data.longest <= 1 << 16  # the line, then the rest of it, is read a bounded piece at a time


def test_a_line_of_exactly_the_limit_is_read() -> None:
    limits = Limits(max_record_bytes=len(OK_LINES[0]))
    (item,) = (item for _, item in read_event_lines(io.BytesIO(stream(OK_LINES[0])), limits))
    assert isinstance(item, Prepared)
    (item,) = (item for _, item in read_event_lines(io.BytesIO(stream(OK_LINES[0] + b" ")), limits))
    assert isinstance(item, EventError)


def test_limits_are_configurable_and_their_edges_exact() -> None:
    plan = {"responsibility": True, "measures": True}
    event = ev("E1", "hazard_plan_made", "2022-03-01", {"hazard_id": "H1", "plan": plan})  # nesting: 3
    assert parse_event(event, Limits(max_nesting=3))
    with pytest.raises(EventError, match="nested deeper than 2 levels"):
        parse_event(event, Limits(max_nesting=2))
    cost = ev("E1", "safety_cost_recorded", "2022-03-01", {"year": 2022, "required": 10**13})
    assert parse_event(cost) and parse_event(json.dumps(cost))
    with pytest.raises(EventError, match="outside ±99"):
        parse_event(cost, Limits(max_int=99))
    staff = ev("E1", "enterprise_updated", "2022-03-01", {"internal_assessments": ["2022-01-01"] * 4})
    assert parse_event(staff, Limits(max_list_items=4))
    with pytest.raises(EventError, match="a list of 4 items, over the limit of 3"):
        parse_event(staff, Limits(max_list_items=3))


def test_the_api_refuses_hostile_dicts_as_the_reader_refuses_lines(policy: Policy) -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(20_000):  # deeper than Python's recursion limit: checked without recursion
        inner["x"] = {}
        inner = inner["x"]
    event = {**ev("E1", "report_filed", "2022-03-01"), "payload": deep}
    with pytest.raises(EventError, match="nested deeper than 64 levels"):
        parse_event(event)
    monitor = Monitor(policy)
    receipt = monitor.post(event)
    assert receipt.status is Status.REJECTED and "nested deeper" in (receipt.reason or "") and receipt.reason_zh
    big = ev("E1", "safety_cost_recorded", "2022-03-01", {"year": 2022, "required": 10**5000})
    assert monitor.post(big).status is Status.REJECTED
    assert [r.status for r in monitor.refusals()] == ["invalid", "invalid"]


# ------------------------------------------------------------------------------------------ order


def synth_lines(seed: int) -> list[bytes]:
    return [json.dumps(e, ensure_ascii=False).encode() for e in generate_events(6, seed=seed)]


def replay(policy: Policy, lines: list[bytes], window: int | None = None) -> Monitor:
    monitor = Monitor(policy, reorder_window=window)
    for number, item in read_event_lines(io.BytesIO(stream(*lines))):
        if isinstance(item, EventError):
            monitor.refuse_invalid(item, number)
        else:
            monitor.post(item, number)
    monitor.advance_to(dt.date(2022, 12, 31))
    return monitor


@pytest.mark.timeout(120)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_valid_stream_in_any_order_is_accepted_and_ends_in_the_same_state(policy: Policy, seed: int) -> None:
    lines = synth_lines(seed)
    ordered = replay(policy, lines)
    shuffled = list(lines)
    random.Random(seed).shuffle(shuffled)
    late = replay(policy, shuffled)
    assert ordered.refusals() == late.refusals() == []
    assert late.stats.rejected == late.stats.invalid == 0
    assert late.outcomes() == ordered.outcomes()
    assert {e: late.record(e) for e in late.enterprises()} == {e: ordered.record(e) for e in ordered.enterprises()}


def test_the_command_line_accepts_a_shuffled_valid_stream(tmp_path: Path) -> None:
    lines = synth_lines(4)
    random.Random(4).shuffle(lines)
    result = CliRunner().invoke(monitor_command, ["--events", str(write(tmp_path, stream(*lines)))])
    assert result.exit_code == 0, result.stderr[-2000:]
    assert '"refused": 0' in result.stderr


def test_a_real_refusal_in_a_shuffled_stream_is_reported_once_with_its_line(tmp_path: Path) -> None:
    orphan = json.dumps(ev("E1", "hazard_reported", "2022-03-03", {"hazard_id": "H9"})).encode()
    lines = [OK_LINES[2], orphan, OK_LINES[1], OK_LINES[0]]  # the report of H1 arrives before H1: it fits later
    result = CliRunner().invoke(monitor_command, ["--events", str(write(tmp_path, stream(*lines)))])
    assert result.exit_code == 3
    assert result.stderr.count("rejected ") == 1
    assert "events.jsonl:2: hazards: no hazard with id 'H9' on record" in result.stderr
    assert "没有 id 为 'H9' 的隐患记录" in result.stderr
    assert '"applied": 3' in result.stderr and '"refused": 1' in result.stderr


def test_an_applied_event_that_a_late_one_makes_unfit_is_refused(policy: Policy) -> None:
    monitor = Monitor(policy)
    second = ev("E1", "hazard_found", "2022-03-05", {"id": "H1"})
    first = ev("E1", "hazard_found", "2022-03-01", {"id": "H1", "major": True})
    assert monitor.post(second, "line 1").status is Status.APPLIED
    assert monitor.post(first, "line 2").status is Status.APPLIED  # inserted before: the 03-05 one no longer fits
    (refusal,) = monitor.refusals()
    assert refusal == Refusal("line 1", "rejected", "E1", refusal.reason, refusal.reason_zh, final=False)
    assert "already on record" in refusal.reason and "已有" in refusal.reason_zh
    assert (monitor.stats.applied, monitor.stats.rejected) == (1, 1)


def test_the_reorder_window_makes_a_standing_rejection_final_once(policy: Policy) -> None:
    seen: list[Refusal] = []
    monitor = Monitor(policy, reorder_window=10, on_refused=seen.append, keep_refusals=False)
    monitor.post(ev("E1", "hazard_reported", "2022-03-01", {"hazard_id": "H9"}), 1)
    assert seen == [] and [r.final for r in monitor.refusals()] == [False]
    monitor.post(ev("E1", "report_filed", "2022-04-01", {"kind": "risk_list"}), 2)  # compacts March
    monitor.post(ev("E1", "hazard_found", "2022-02-27", {"id": "H9"}), 3)  # too late to make it fit
    assert [(r.ref, r.final) for r in seen] == [(1, True), (3, True)]
    assert monitor.refusals() == []  # the final ones are not kept (keep_refusals=False) and none stands
    s = monitor.stats
    assert (s.applied, s.rejected) == (1, 2)
    assert s.applied + s.rejected + s.invalid + s.duplicates + s.clock == s.events


# ------------------------------------------------------------------------------------------ calendar ends


def test_saturating_date_arithmetic() -> None:
    from safetyrules.engine.values import Duration

    assert add_days(dt.date.max, 1) == dt.date.max and add_days(dt.date.min, -1) == dt.date.min
    assert shift(dt.date(9999, 6, 1), Duration.of(1, "year")) == dt.date.max
    assert shift(dt.date(1, 6, 1), Duration.of(1, "year"), -1) == dt.date.min


def test_next_change_near_the_end_of_the_calendar_is_not_tomorrow(policy: Policy) -> None:
    monitor = Monitor(policy)
    plan = monitor.analysis.plans["major_hazard_reported"]
    day = dt.date(9999, 12, 1)
    result = RuleResult(enterprise="E1", rule=plan.name, kind="obligation", implements=("4.2-a",),
                        outcome=Outcome.PENDING, as_of=day, title=Text("", ""), citations=(),
                        due_on=dt.date(9999, 12, 30))
    assert next_change(plan, result, {"id": "E1"}, FieldDates(), day, 30) == dt.date(9999, 12, 31)
    assert next_change(plan, result, {"id": "E1"}, FieldDates(), dt.date.max, 30) is None


@pytest.mark.timeout(120)
def test_records_at_the_end_of_the_calendar_are_monitored(tmp_path: Path) -> None:
    far = [
        ev("E9", "enterprise_updated", "2022-01-05", {"industry": "construction", "established_on": "9999-12-31",
                                                      "hazards": [], "safety_costs": [], "insurance": []}),
        ev("E9", "insurance_bought", "2022-01-06", {"starts_on": "9999-12-01", "ends_on": "9999-12-31"}),
        ev("E9", "hazard_found", "9999-12-31T23:59:59-12:00", {"id": "H1", "major": True}),
        ev("E8", "hazard_found", "0001-01-01T00:00:00+14:00", {"id": "H1", "major": True}),
    ]
    data = stream(*OK_LINES, *(json.dumps(e).encode() for e in far))
    for until in ([], ["--until", "9999-12-31"]):
        result = CliRunner().invoke(monitor_command, ["--events", str(write(tmp_path, data)), *until])
        assert result.exit_code == 0, result.output
        assert '"today": "9999-12-31"' in result.stderr


@pytest.mark.timeout(120)
def test_the_work_of_advancing_the_clock_does_not_grow_with_the_distance(policy: Policy) -> None:
    """The clock jumps from one change date to the next: advancing to the calendar's last day costs as many
    wake-ups as advancing a century, and the monitor's outcomes there are the reference engine's."""
    events = list(generate_events(4, seed=5))
    wakeups = {}
    for until in (dt.date(2122, 12, 31), dt.date.max):
        monitor = Monitor(policy)
        monitor.replay(events, until)
        wakeups[until] = monitor.stats.wakeups
    assert wakeups[dt.date.max] == wakeups[dt.date(2122, 12, 31)]
    far = ev("E0", "report_filed", "9999-12-31T12:00:00+08:00", {"kind": "risk_list"})
    monitor = Monitor(policy)
    monitor.replay([*events[:200], far, *events[200:]])  # a far-future event first moves the clock to its day
    assert monitor.today == dt.date.max
    assert monitor.stats.wakeups <= wakeups[dt.date.max]
    assert monitor.refusals() == []


FAR = [
    ev("E1", "enterprise_updated", "2022-01-01", {"industry": "construction", "established_on": "9999-12-31",
                                                  "hazards": [], "accidents": [], "changes": [],
                                                  "risk_assessments": [], "inspection_findings": []}),
    ev("E1", "hazard_found", "9999-12-31T23:59:00-12:00", {"id": "H1", "major": True, "cause": "illegal_command"}),
    ev("E1", "accident_occurred", "9999-12-31T23:00:00-12:00", {"id": "A1", "severity": "general"}),
    ev("E1", "change_made", "9999-12-31T23:30:00-12:00", {"kind": "process", "major": True, "authorized": False}),
    ev("E2", "enterprise_updated", "0001-01-01T00:00:00+14:00", {"industry": "construction", "hazards": [],
                                                                 "accidents": [], "changes": [],
                                                                 "risk_assessments": []}),
    ev("E2", "accident_occurred", "0001-01-01T00:10:00+14:00", {"id": "A1", "severity": "general"}),
    ev("E2", "hazard_found", "0001-01-01T00:20:00+14:00", {"id": "H1", "major": True, "cause": "illegal_command"}),
    ev("E2", "change_made", "0001-01-01T00:30:00+14:00", {"kind": "process", "major": True, "authorized": False}),
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["reference", pytest.param("rete", marks=needs_durable)])
def test_both_backends_agree_with_the_reference_at_the_ends_of_the_calendar(policy: Policy, backend: Any) -> None:
    monitor = Monitor(policy, backend=backend)
    assert [monitor.post(e).status for e in FAR] == [Status.APPLIED] * len(FAR)
    monitor.advance_to(dt.date.max)
    assert monitor.outcomes() == reference_outcomes(policy, FAR, dt.date.max)
