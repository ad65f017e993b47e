"""The event format of the streaming monitor, and how events build an enterprise record.

An event says that something happened to one enterprise at one instant::

    {"enterprise": "91350525MA31XXXX0K", "type": "hazard_found",
     "timestamp": "2022-05-03T09:10:00+08:00",
     "payload": {"id": "H-2022-007", "major": true, "cause": "equipment_failure"}}

`timestamp` is ISO 8601 with an offset; the event's *day* is its local date in that offset. A `clock` event
(no enterprise) says that a day has come: the monitor advances its date to it.

Applying events to the empty record ``{"id": enterprise}`` yields a record of the fact contract
(:class:`safetyrules.facts.models.Enterprise`, dump form: ``date``/``datetime`` values, absent = unknown,
``None`` = known not to exist). :data:`EVENT_EFFECTS` documents what each event type does.

Order, duplicates and rejections (the same in :func:`build_record` and in the monitor):

* Events are applied **in timestamp order per enterprise** (by instant; ties keep arrival order). An event
  that arrives after a later-stamped one of the same enterprise is inserted at its place and the record is
  rebuilt from the enterprise's events: the record is a function of the *set* of events, not of their
  arrival order.
* An **exact duplicate** (same enterprise, type, timestamp text, payload and event id) is ignored. Reusing an
  event ``id`` with a different content is refused.
* A **malformed** event (not UTF-8, not JSON, over a limit of :mod:`safetyrules.limits`, a repeated key, an
  unknown type, a timestamp without an offset, a payload that breaks the fact contract) is refused with its
  reasons in English and Chinese by :func:`parse_event` and never stored. :func:`read_event_lines` reads a
  binary stream line by line, bounded, and refuses each bad line on its own.
* An event that **does not fit the record at its place** in timestamp order (an update to an unknown hazard
  id, a second hazard with the same id, a remediation dated before the hazard was found) is skipped and
  reported as rejected, with the reason. The verdict holds as things stand: the event stays in the
  enterprise's log, and if an earlier-stamped event that makes it fit arrives later, the rebuild applies it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, BinaryIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from safetyrules.errors import InputError
from safetyrules.facts.errors import FieldError, field_errors, zh_field
from safetyrules.facts.models import (
    Accident,
    Change,
    Commitment,
    Enterprise,
    FactModel,
    Hazard,
    HazardPlan,
    InspectionFinding,
    Insurance,
    Report,
    RiskAssessment,
    SafetyCost,
    StaffMember,
    parse_datetime,
)
from safetyrules.limits import DEFAULT, Limits


class EventType(StrEnum):
    """What happened. The effect of each type on the record is in :data:`EVENT_EFFECTS`."""

    CLOCK = "clock"
    ENTERPRISE_UPDATED = "enterprise_updated"
    HAZARD_FOUND = "hazard_found"
    HAZARD_REPORTED = "hazard_reported"
    HAZARD_PLAN_MADE = "hazard_plan_made"
    HAZARD_REMEDIATED = "hazard_remediated"
    HAZARD_VERIFIED = "hazard_verified"
    ASSESSMENT_FILED = "assessment_filed"
    INTERNAL_ASSESSMENT_HELD = "internal_assessment_held"
    CHANGE_MADE = "change_made"
    ACCIDENT_OCCURRED = "accident_occurred"
    ACCIDENT_REPORTED = "accident_reported"
    REPORT_FILED = "report_filed"
    FINDING_RECORDED = "finding_recorded"
    INSURANCE_BOUGHT = "insurance_bought"
    COMMITMENT_PUBLISHED = "commitment_published"
    STAFF_HIRED = "staff_hired"
    STAFF_UPDATED = "staff_updated"
    STAFF_LEFT = "staff_left"
    SAFETY_COST_RECORDED = "safety_cost_recorded"


EVENT_EFFECTS: dict[EventType, str] = {
    EventType.CLOCK: "no enterprise; the monitor's date advances to the event's day",
    EventType.ENTERPRISE_UPDATED: "payload = enterprise fields (not `id`); an object field (principal, management, "
    "…) is merged key by key, a list or scalar field is replaced, `null` sets null",
    EventType.HAZARD_FOUND: "appends `hazards[]` (payload = a hazard, `id` required and new); `found_on` defaults "
    "to the event's day; `reported_on`, `plan`, `remediated_on`, `verified_on` default to null (not yet)",
    EventType.HAZARD_REPORTED: "`hazards[hazard_id].reported_on` = payload `reported_on` or the event's day",
    EventType.HAZARD_PLAN_MADE: "`hazards[hazard_id].plan` = payload `plan`; its `made_on` defaults to the day",
    EventType.HAZARD_REMEDIATED: "`hazards[hazard_id].remediated_on` = payload `remediated_on` or the day",
    EventType.HAZARD_VERIFIED: "`hazards[hazard_id].verified_on` = payload `verified_on` or the day",
    EventType.ASSESSMENT_FILED: "appends `risk_assessments[]`; `date` defaults to the day",
    EventType.INTERNAL_ASSESSMENT_HELD: "appends payload `date` (default: the day) to `internal_assessments`",
    EventType.CHANGE_MADE: "appends `changes[]`; `date` defaults to the day",
    EventType.ACCIDENT_OCCURRED: "appends `accidents[]` (`id` required and new); `occurred_at` defaults to the "
    "timestamp; `reported_at` defaults to null (not reported yet), `report_false` to false",
    EventType.ACCIDENT_REPORTED: "`accidents[accident_id].reported_at` = payload `reported_at` or the timestamp; "
    "optional `principal_informed_at`, `report_false`",
    EventType.REPORT_FILED: "appends `reports[]`; `date` defaults to the day",
    EventType.FINDING_RECORDED: "appends `inspection_findings[]`; `date` defaults to the day",
    EventType.INSURANCE_BOUGHT: "appends `insurance[]`; `kind` defaults to safety_liability, `starts_on` to the day",
    EventType.COMMITMENT_PUBLISHED: "appends `commitments[]`; `published_on` defaults to the day",
    EventType.STAFF_HIRED: "appends `staff[]` (`id` required and new); `hired_on` defaults to the day, `on_duty` "
    "to true",
    EventType.STAFF_UPDATED: "merges the payload (without `staff_id`) into `staff[staff_id]`",
    EventType.STAFF_LEFT: "`staff[staff_id].on_duty` = false",
    EventType.SAFETY_COST_RECORDED: "replaces (or appends) the `safety_costs[]` entry of the payload's `year`",
}
"""What each event type does to the record (rendered in docs/streaming.md)."""


def events_table() -> str:
    """The Markdown table of :data:`EVENT_EFFECTS` (docs/streaming.md includes it)."""
    lines = ["| type | effect on the record |", "|---|---|"]
    lines += [f"| `{t}` | {effect} |" for t, effect in EVENT_EFFECTS.items()]
    return "\n".join(lines) + "\n"


class _EventProblem(InputError):
    """Why an event is refused: one or more :class:`~safetyrules.facts.errors.FieldError` (path, English,
    Chinese, code). ``str()`` is the English reasons joined, :attr:`zh` the Chinese ones."""

    def __init__(self, errors: str | FieldError | Sequence[FieldError]) -> None:
        if isinstance(errors, str):
            errors = FieldError("", errors, f"事件无效：{errors}")
        self.errors: tuple[FieldError, ...] = (errors,) if isinstance(errors, FieldError) else tuple(errors)
        super().__init__("; ".join(str(e) for e in self.errors))

    @property
    def zh(self) -> str:
        """The reasons in Chinese."""
        return "；".join(e.message_zh for e in self.errors)


class EventError(_EventProblem):
    """A malformed event: it is refused and not stored."""


class EventRejected(_EventProblem):
    """A well-formed event that does not fit the record at its place in timestamp order."""


def _problem(path: str, en: str, zh: str, code: str = "invalid") -> FieldError:
    return FieldError(path, en, zh_field(path, zh), code)


class Event(BaseModel):
    """One event. Build it with :func:`parse_event` (or ``Event.model_validate``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enterprise: str | None = Field(default=None, description="enterprise id (absent for `clock`)")
    type: EventType
    timestamp: dt.datetime = Field(description="ISO 8601 with an offset, e.g. 2022-05-03T09:10:00+08:00")
    payload: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(default=None, description="optional event id; reusing it for other content is refused")

    @field_validator("timestamp", mode="before")
    @classmethod
    def _aware(cls, value: object) -> dt.datetime:
        return parse_datetime(value)

    @property
    def day(self) -> dt.date:
        """The local date of the timestamp (in its own offset)."""
        return self.timestamp.date()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": str(self.type), "timestamp": self.timestamp.isoformat()}
        if self.enterprise is not None:
            out["enterprise"] = self.enterprise
        if self.payload:
            out["payload"] = self.payload
        if self.id is not None:
            out["id"] = self.id
        return out


# ------------------------------------------------------------------------------------------ payloads


class _Ref(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _HazardRef(_Ref):
    hazard_id: str


class _HazardReported(_HazardRef):
    reported_on: dt.date | None = None


class _HazardRemediated(_HazardRef):
    remediated_on: dt.date | None = None


class _HazardVerified(_HazardRef):
    verified_on: dt.date | None = None


class _HazardPlanMade(_HazardRef):
    plan: dict[str, Any]


class _AccidentReported(_Ref):
    accident_id: str
    reported_at: dt.datetime | None = None
    principal_informed_at: dt.datetime | None = None
    report_false: bool | None = Field(default=None, strict=True)

    @field_validator("reported_at", "principal_informed_at", mode="before")
    @classmethod
    def _aware(cls, value: object) -> object:
        return None if value is None else parse_datetime(value)


class _StaffRef(_Ref):
    staff_id: str


class _InternalAssessment(_Ref):
    date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A parsed, validated event as the monitor keeps it: its payload in fact values (dates as `date`, enums
    as codes) and a digest of its exact content for duplicates (the parsed `Event` is not kept)."""

    type: EventType
    timestamp: dt.datetime
    enterprise: str  # "" for a clock event
    payload: dict[str, Any]
    key: bytes  # digest of the exact content
    id: str | None = None

    @property
    def day(self) -> dt.date:
        """The local date of the timestamp (in its own offset)."""
        return self.timestamp.date()



def _dump(model: type[FactModel], data: Mapping[str, Any], where: str) -> dict[str, Any]:
    try:
        return model.model_validate(dict(data)).model_dump(exclude_unset=True)
    except ValidationError as err:
        raise EventError(_errors(err, where)) from None


def _errors(err: ValidationError, where: str) -> list[FieldError]:
    """The contract's own field errors (with their Chinese reasons), their paths under `where`."""
    out = []
    for e in field_errors(err):
        path = f"{where}.{e.path}" if e.path else where
        head = f"字段 {e.path}：" if e.path else ""
        reason = e.message_zh[len(head):] if e.message_zh.startswith(head) else e.message_zh
        out.append(FieldError(path, e.message, zh_field(path, reason), e.code))
    return out


def _ref(model: type[_Ref], data: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return model.model_validate(dict(data)).model_dump(exclude_unset=True)
    except ValidationError as err:
        raise EventError(_errors(err, "payload")) from None


_ITEM_MODELS: dict[EventType, tuple[type[FactModel], str | None]] = {
    EventType.HAZARD_FOUND: (Hazard, "id"),
    EventType.ASSESSMENT_FILED: (RiskAssessment, None),
    EventType.CHANGE_MADE: (Change, None),
    EventType.ACCIDENT_OCCURRED: (Accident, "id"),
    EventType.REPORT_FILED: (Report, None),
    EventType.FINDING_RECORDED: (InspectionFinding, None),
    EventType.INSURANCE_BOUGHT: (Insurance, None),
    EventType.COMMITMENT_PUBLISHED: (Commitment, None),
    EventType.STAFF_HIRED: (StaffMember, "id"),
    EventType.SAFETY_COST_RECORDED: (SafetyCost, "year"),
}

_REF_MODELS: dict[EventType, type[_Ref]] = {
    EventType.HAZARD_REPORTED: _HazardReported,
    EventType.HAZARD_PLAN_MADE: _HazardPlanMade,
    EventType.HAZARD_REMEDIATED: _HazardRemediated,
    EventType.HAZARD_VERIFIED: _HazardVerified,
    EventType.ACCIDENT_REPORTED: _AccidentReported,
    EventType.STAFF_LEFT: _StaffRef,
    EventType.INTERNAL_ASSESSMENT_HELD: _InternalAssessment,
}


def _prepare_payload(ev: Event) -> dict[str, Any]:
    t = ev.type
    payload = ev.payload
    if t is EventType.CLOCK:
        if payload:
            raise EventError(_problem("payload", "a clock event has no payload", "时钟事件不带 payload"))
        return {}
    if t in _ITEM_MODELS:
        model, required = _ITEM_MODELS[t]
        item = _dump(model, payload, "payload")
        if required is not None and item.get(required) is None:
            raise EventError(_problem(f"payload.{required}", f"required for {t}", f"{t} 事件必须提供该字段",
                                      "missing"))
        return item
    if t in _REF_MODELS:
        out = _ref(_REF_MODELS[t], payload)
        if t is EventType.HAZARD_PLAN_MADE:
            out["plan"] = _dump(HazardPlan, out["plan"], "payload.plan")
        return out
    if t is EventType.STAFF_UPDATED:
        data = dict(payload)
        staff_id = data.pop("staff_id", None)
        if not isinstance(staff_id, str):
            raise EventError(_problem("payload.staff_id", "required (a string)", "必须提供（文本）", "missing"))
        if "id" in data:
            raise EventError(_problem("payload.id", "the staff id cannot be changed", "不能修改从业人员 id"))
        return {"staff_id": staff_id, "fields": _dump(StaffMember, data, "payload")}
    if t is EventType.ENTERPRISE_UPDATED:
        if "id" in payload:
            raise EventError(_problem("payload.id", "the enterprise id cannot be changed", "不能修改企业 id"))
        try:
            entity = Enterprise.model_validate({"id": ev.enterprise or "", **payload})
        except ValidationError as err:
            raise EventError(_errors(err, "payload")) from None
        fields = entity.model_dump(exclude_unset=True)
        fields.pop("id", None)
        return fields
    raise EventError(_problem("type", f"unknown event type {t!r}", f"未知的事件类型 {t!r}"))  # pragma: no cover


def _key(ev: Event) -> bytes:
    text = json.dumps([ev.enterprise, str(ev.type), ev.timestamp.isoformat(), ev.payload, ev.id],
                      sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def parse_event(data: Event | Mapping[str, Any] | str | bytes | Prepared, limits: Limits = DEFAULT) -> Prepared:
    """Validate an event (a dict, a JSON text or line, or an `Event`); raises :class:`EventError` when malformed.

    Text goes through :func:`decode_event` (strict UTF-8, bounded size, nesting and numbers, no duplicate keys);
    a dict gets the same checks of nesting, numbers, list sizes and strings.
    """
    if isinstance(data, Prepared):
        return data
    if isinstance(data, str | bytes):
        data = decode_event(data, limits)
    elif not isinstance(data, Event):
        if not isinstance(data, Mapping):
            raise EventError(_problem("", "an event is a JSON object", "事件应为 JSON 对象", "not-an-object"))
        problems = check_value(data, limits)
        if problems:
            raise EventError(problems)
    if isinstance(data, Event):
        ev = data
    else:
        try:
            ev = Event.model_validate(dict(data))
        except ValidationError as err:
            raise EventError(_errors(err, "event")) from None
    if ev.type is not EventType.CLOCK and not ev.enterprise:
        raise EventError(_problem("enterprise", "required (every event but `clock` names its enterprise)",
                                  "必须提供（除时钟事件外，每个事件都须指明企业）", "missing"))
    return Prepared(ev.type, ev.timestamp, ev.enterprise or "", _prepare_payload(ev), _key(ev), ev.id)


# ------------------------------------------------------------------------------------------ untrusted text


class _BigInt:
    """An integer literal too long to convert (Python refuses over 4,300 digits, and none is in range)."""

    __slots__ = ("digits",)

    def __init__(self, digits: int) -> None:
        self.digits = digits


class _NotFinite:
    """`NaN`, `Infinity` or `-Infinity`: accepted by Python's json, not JSON, and no fact value."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _Pairs(dict[str, Any]):
    """A JSON object that repeated a key (json keeps the last value silently): the keys repeated."""

    __slots__ = ("repeated",)

    def __init__(self, pairs: list[tuple[str, Any]], repeated: list[str]) -> None:
        super().__init__(pairs)
        self.repeated = repeated


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    seen: set[str] = set()
    repeated: set[str] = set()
    for k, _ in pairs:
        (repeated if k in seen else seen).add(k)
    return _Pairs(pairs, sorted(repeated))


def _parse_int(text: str) -> int | _BigInt:
    return int(text) if len(text) <= 24 else _BigInt(len(text.lstrip("-")))


_BOM = "\ufeff"
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')  # a string (maybe unterminated) or a bracket
_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_PROBLEMS = 20


def _nesting_problem(text: str, limits: Limits) -> FieldError | None:
    """Whether brackets outside strings nest deeper than `max_nesting` (found before `json` recurses)."""
    limit = limits.max_nesting
    if text.count("[") + text.count("{") <= limit:
        return None
    depth = 0
    for m in _TOKENS.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > limit:
                return _too_deep("", limit, m.start() + 1)
        elif c in "]}":
            depth -= 1
    return None


def _too_deep(path: str, limit: int, column: int | None = None) -> FieldError:
    at, at_zh = (f" (column {column})", f"（第 {column} 列）") if column is not None else ("", "")
    return _problem(path, f"nested deeper than {limit} levels{at}", f"嵌套超过 {limit} 层{at_zh}", "too-deep")


def decode_event(raw: str | bytes, limits: Limits = DEFAULT) -> dict[str, Any]:
    """The JSON object of one event line, refused with :class:`EventError` when the line is not strict UTF-8
    (a byte-order mark at its start is skipped), longer than `limits.max_record_bytes`, not JSON, nested
    deeper than `limits.max_nesting`, repeats a key, holds an integer beyond `limits.max_int`, a number that
    is not finite, a list over `limits.max_list_items` or a lone surrogate (\\ud800)."""
    size = len(raw) if isinstance(raw, bytes) else (len(raw) if len(raw) * 4 <= limits.max_record_bytes
                                                      else len(raw.encode("utf-8", "surrogatepass")))
    if size > limits.max_record_bytes:
        raise EventError(_too_long(size, limits))
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            byte = raw[err.start]
            raise EventError(_problem("", f"not UTF-8 text: byte 0x{byte:02x} at column {err.start + 1}",
                                      f"不是有效的 UTF-8 文本：第 {err.start + 1} 字节 0x{byte:02x}",
                                      "not-utf8")) from None
    else:
        text = raw
    if text.startswith(_BOM):
        text = text[1:]
    deep = _nesting_problem(text, limits)
    if deep is not None:
        raise EventError(deep)
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_int=_parse_int, parse_constant=_NotFinite)
    except json.JSONDecodeError as err:
        raise EventError(_problem("", f"not JSON: {err.msg} (column {err.colno})",
                                  f"不是有效的 JSON：{err.msg}（第 {err.colno} 列）", "not-json")) from None
    except RecursionError:  # pragma: no cover - the scan above refuses deeper nesting first
        raise EventError(_too_deep("", limits.max_nesting)) from None
    if not isinstance(data, dict):
        raise EventError(_problem("", "an event is a JSON object", "事件应为 JSON 对象", "not-an-object"))
    problems = check_value(data, limits)
    if problems:
        raise EventError(problems)
    return data


def _too_long(size: int, limits: Limits) -> FieldError:
    return _problem("", f"line of {size} bytes or more, over the limit of {limits.max_record_bytes} "
                        "(max_record_bytes)", f"事件行超过 {limits.max_record_bytes} 字节的上限", "too-large")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _clean(data: Any, limits: Limits) -> bool:
    """Whether `check_value` would find nothing: the same walk without the paths a problem is reported at
    (building a path for every value cost more than the checks). Any doubt answers False."""
    max_int, max_nesting, max_items = limits.max_int, limits.max_nesting, limits.max_list_items
    stack: list[tuple[Any, int]] = [(data, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        value, depth = pop()
        kind = type(value)
        if kind is str:
            if not value.isascii() and _SURROGATE.search(value):
                return False
        elif kind is bool or value is None:
            continue
        elif kind is int:
            if not -max_int <= value <= max_int:
                return False
        elif kind is dict or kind is list:
            if depth > max_nesting:
                return False
            if kind is dict:
                for k, v in value.items():
                    if type(k) is not str or (not k.isascii() and _SURROGATE.search(k)):
                        return False
                    push((v, depth + 1))
            else:
                if len(value) > max_items:
                    return False
                for v in value:
                    push((v, depth + 1))
        else:  # floats, repeated keys (_Pairs), markers, other mappings and sequences: the full walk decides
            return False
    return True


def check_value(data: Any, limits: Limits = DEFAULT) -> list[FieldError]:
    """The problems of a decoded event (or an event dict given to the API), iteratively (any depth): nesting
    over `max_nesting`, repeated keys, integers beyond ±`max_int` (also a float beyond it, NaN, infinities),
    lists over `max_list_items`, keys and strings with lone surrogates. At most 20 are listed."""
    return [] if _clean(data, limits) else _problems(data, limits)


def _problems(data: Any, limits: Limits) -> list[FieldError]:
    """`check_value`'s walk, each problem with its path."""
    problems: list[FieldError] = []
    stack: list[tuple[Any, str, int]] = [(data, "", 1)]
    while stack and len(problems) < _MAX_PROBLEMS:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if not value.isascii() and _SURROGATE.search(value):
                problems.append(_problem(path, "a lone surrogate (\\ud800-\\udfff) is not text",
                                         "含有无效的 Unicode 代理字符", "not-text"))
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not limits.check_int(value):
                problems.append(_out_of_range(path, limits))
        elif isinstance(value, float):
            if not math.isfinite(value) or abs(value) > limits.max_int:
                problems.append(_out_of_range(path, limits))
        elif isinstance(value, _BigInt):
            problems.append(_problem(path, f"an integer of {value.digits} digits, outside ±{limits.max_int} "
                                           "(max_int)", f"整数位数过多（{value.digits} 位），超出 ±{limits.max_int}",
                                     "int-range"))
        elif isinstance(value, _NotFinite):
            problems.append(_problem(path, f"{value.text} is not a JSON number", f"{value.text} 不是有效的数值",
                                     "not-finite"))
        elif isinstance(value, Mapping | list | tuple):
            if depth > limits.max_nesting:
                problems.append(_too_deep(path, limits.max_nesting))
                continue
            if isinstance(value, _Pairs):
                problems.extend(_problem(_join(path, k), "the key appears more than once", "键重复出现",
                                         "duplicate-key") for k in value.repeated)
            if isinstance(value, Mapping):
                for k, v in value.items():
                    if isinstance(k, str) and not k.isascii() and _SURROGATE.search(k):
                        problems.append(_problem(path, "a key with a lone surrogate (\\ud800-\\udfff)",
                                                 "键含有无效的 Unicode 代理字符", "not-text"))
                        continue
                    stack.append((v, _join(path, str(k)), depth + 1))
            else:
                if len(value) > limits.max_list_items:
                    problems.append(_problem(path, f"a list of {len(value)} items, over the limit of "
                                                   f"{limits.max_list_items} (max_list_items)",
                                             f"列表有 {len(value)} 项，超过 {limits.max_list_items} 项的上限",
                                             "too-many-items"))
                    continue
                stack.extend((v, _join(path, i), depth + 1) for i, v in enumerate(value))
    problems.sort(key=lambda p: p.path)
    return problems[:_MAX_PROBLEMS]


def _out_of_range(path: str, limits: Limits) -> FieldError:
    return _problem(path, f"a number outside ±{limits.max_int} (max_int)", f"数值超出 ±{limits.max_int} 的范围",
                    "int-range")


_CHUNK = 1 << 16


def read_event_lines(stream: BinaryIO, limits: Limits = DEFAULT) -> Iterator[tuple[int, Prepared | EventError]]:
    """Each non-blank line of a JSON Lines stream of events, with its number: the parsed event, or the
    :class:`EventError` that refuses it. Lines are read as bytes (the encoding is checked per line) and a line
    over `limits.max_record_bytes` is refused without being read whole: the rest of it is skipped in chunks."""
    number = 0
    cap = limits.max_record_bytes
    while True:
        line = stream.readline(cap + 1)
        if not line:
            return
        number += 1
        if len(line) > cap and not line.endswith(b"\n"):
            size = len(line)
            while True:  # skip the rest of the line, a chunk at a time
                rest = stream.readline(_CHUNK)
                size += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, EventError(_too_long(size, limits))
            continue
        if not line.strip() or line.strip() == b"\xef\xbb\xbf":
            continue
        try:
            yield number, parse_event(line.rstrip(b"\r\n"), limits)
        except EventError as err:
            yield number, err


# ------------------------------------------------------------------------------------------ applying


def _find(items: list[Any], key: str, value: Any) -> int:
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get(key) == value:
            return i
    return -1


def _list(record: Mapping[str, Any], name: str) -> list[Any]:
    value = record.get(name)
    return list(value) if isinstance(value, list) else []


def _check(model: type[FactModel], item: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        return model.model_validate(item).model_dump(exclude_unset=True)
    except ValidationError as err:
        raise EventRejected(_errors(err, where)) from None


@dataclass(frozen=True, slots=True)
class ItemChange:
    """One list item added (`old` None) or replaced by an event: lets the monitor skip rules it cannot affect."""

    field: str
    old: Any
    new: Any
    created: bool = False  # the list was absent (unknown) or null before: the whole field changed


def _append(record: dict[str, Any], name: str, item: Any) -> ItemChange:
    created = not isinstance(record.get(name), list)
    items = _list(record, name)
    items.append(item)
    record[name] = items
    return ItemChange(name, None, item, created)


_WHAT_ZH = {"hazard": "隐患", "accident": "事故", "staff member": "从业人员"}


def _new_item(record: dict[str, Any], name: str, key: str, item: dict[str, Any], what: str) -> ItemChange:
    created = not isinstance(record.get(name), list)
    items = _list(record, name)
    if _find(items, key, item[key]) >= 0:
        raise EventRejected(_problem(name, f"a {what} with {key} {item[key]!r} is already on record",
                                     f"已有 {key} 为 {item[key]!r} 的{_WHAT_ZH[what]}记录", "already-on-record"))
    items.append(item)
    record[name] = items
    return ItemChange(name, None, item, created)


def _update_item(record: dict[str, Any], name: str, key: str, ident: Any, what: str, model: type[FactModel],
                 change: Callable[[dict[str, Any]], None]) -> ItemChange:
    items = _list(record, name)
    index = _find(items, key, ident)
    if index < 0:
        raise EventRejected(_problem(name, f"no {what} with {key} {ident!r} on record",
                                     f"没有 {key} 为 {ident!r} 的{_WHAT_ZH[what]}记录", "not-on-record"))
    old = items[index]
    item = dict(old)
    change(item)
    items[index] = _check(model, item, f"{name}[{ident}]")
    record[name] = items
    return ItemChange(name, old, items[index])


Applied = tuple[dict[str, Any], frozenset[str], tuple[ItemChange, ...] | None]


def apply_prepared(record: Mapping[str, Any], prep: Prepared) -> Applied:
    """Apply one parsed event: the new record, the top-level fields it changed and the list items it changed
    (None when it replaced whole fields).

    The input record is not changed (copy on write: changed fields are new objects, the others are shared).
    Raises :class:`EventRejected` when the event does not fit the record.
    """
    p = prep.payload
    day = prep.day
    t = prep.type
    out = dict(record)
    if t is EventType.CLOCK:
        return out, frozenset(), ()
    if t is EventType.ENTERPRISE_UPDATED:
        touched = set()
        for name, value in p.items():
            old = out.get(name)
            if isinstance(value, dict) and isinstance(old, dict):
                out[name] = {**old, **value}
            else:
                out[name] = value
            touched.add(name)
        return out, frozenset(touched), None
    if t is EventType.HAZARD_FOUND:
        item = {"found_on": day, "reported_on": None, "plan": None, "remediated_on": None, "verified_on": None, **p}
        changed = _new_item(out, "hazards", "id", _check(Hazard, item, "hazards[]"), "hazard")
        return out, frozenset({"hazards"}), (changed,)
    if t in (EventType.HAZARD_REPORTED, EventType.HAZARD_REMEDIATED, EventType.HAZARD_VERIFIED,
             EventType.HAZARD_PLAN_MADE):
        fname = {EventType.HAZARD_REPORTED: "reported_on", EventType.HAZARD_REMEDIATED: "remediated_on",
                 EventType.HAZARD_VERIFIED: "verified_on", EventType.HAZARD_PLAN_MADE: "plan"}[t]

        def change(item: dict[str, Any]) -> None:
            if t is EventType.HAZARD_PLAN_MADE:
                item["plan"] = {"made_on": day, **p["plan"]}
            else:
                item[fname] = p.get(fname) or day

        changed = _update_item(out, "hazards", "id", p["hazard_id"], "hazard", Hazard, change)
        return out, frozenset({"hazards"}), (changed,)
    if t is EventType.ACCIDENT_OCCURRED:
        item = {"occurred_at": prep.timestamp, "reported_at": None, "report_false": False, **p}
        changed = _new_item(out, "accidents", "id", _check(Accident, item, "accidents[]"), "accident")
        return out, frozenset({"accidents"}), (changed,)
    if t is EventType.ACCIDENT_REPORTED:
        def report(item: dict[str, Any]) -> None:
            item["reported_at"] = p.get("reported_at") or prep.timestamp
            for extra in ("principal_informed_at", "report_false"):
                if extra in p:
                    item[extra] = p[extra]

        changed = _update_item(out, "accidents", "id", p["accident_id"], "accident", Accident, report)
        return out, frozenset({"accidents"}), (changed,)
    if t is EventType.STAFF_HIRED:
        item = {"hired_on": day, "on_duty": True, **p}
        changed = _new_item(out, "staff", "id", _check(StaffMember, item, "staff[]"), "staff member")
        return out, frozenset({"staff"}), (changed,)
    if t is EventType.STAFF_UPDATED:
        def merge(item: dict[str, Any]) -> None:
            item.update(p["fields"])

        changed = _update_item(out, "staff", "id", p["staff_id"], "staff member", StaffMember, merge)
        return out, frozenset({"staff"}), (changed,)
    if t is EventType.STAFF_LEFT:
        def leave(item: dict[str, Any]) -> None:
            item["on_duty"] = False

        changed = _update_item(out, "staff", "id", p["staff_id"], "staff member", StaffMember, leave)
        return out, frozenset({"staff"}), (changed,)
    if t is EventType.SAFETY_COST_RECORDED:
        created = not isinstance(out.get("safety_costs"), list)
        costs = _list(out, "safety_costs")
        index = _find(costs, "year", p["year"])
        old = None
        if index >= 0:
            old, costs[index] = costs[index], p
        else:
            costs.append(p)
        out["safety_costs"] = costs
        return out, frozenset({"safety_costs"}), (ItemChange("safety_costs", old, p, created),)
    if t is EventType.INTERNAL_ASSESSMENT_HELD:
        changed = _append(out, "internal_assessments", p.get("date") or day)
        return out, frozenset({"internal_assessments"}), (changed,)
    appended: dict[EventType, tuple[str, str, dict[str, Any]]] = {
        EventType.ASSESSMENT_FILED: ("risk_assessments", "date", {}),
        EventType.CHANGE_MADE: ("changes", "date", {}),
        EventType.REPORT_FILED: ("reports", "date", {}),
        EventType.FINDING_RECORDED: ("inspection_findings", "date", {}),
        EventType.INSURANCE_BOUGHT: ("insurance", "starts_on", {"kind": "safety_liability"}),
        EventType.COMMITMENT_PUBLISHED: ("commitments", "published_on", {}),
    }
    name, date_field, defaults = appended[t]
    changed = _append(out, name, {date_field: day, **defaults, **p})
    return out, frozenset({name}), (changed,)


def apply(record: Mapping[str, Any], event: Event | Mapping[str, Any] | str | Prepared) -> dict[str, Any]:
    """The record after one event (a new dict; `record` is not changed).

    Raises :class:`EventError` when the event is malformed and :class:`EventRejected` when it does not fit.
    """
    prep = event if isinstance(event, Prepared) else parse_event(event)
    if prep.type is not EventType.CLOCK and record.get("id") not in (None, prep.enterprise):
        raise EventRejected(_problem("enterprise", f"event of enterprise {prep.enterprise!r} applied to record "
                                     f"{record.get('id')!r}", f"企业 {prep.enterprise!r} 的事件不能用于记录 "
                                     f"{record.get('id')!r}", "other-enterprise"))
    return apply_prepared(record, prep)[0]


# ------------------------------------------------------------------------------------------ logs


class Status(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    CLOCK = "clock"


@dataclass(frozen=True, slots=True)
class Receipt:
    """What became of a posted event. A `rejected` event that does not fit the record *yet* stays in its
    enterprise's log and is applied if an earlier-stamped event that makes it fit arrives later."""

    status: Status
    reason: str | None = None
    enterprise: str | None = None
    reason_zh: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"status": str(self.status), "reason": self.reason, "reason_zh": self.reason_zh,
                "enterprise": self.enterprise}


@dataclass(slots=True)
class _Entry:
    seq: int
    prep: Prepared
    ref: Any = None  # the caller's reference (the line number)

    def order(self) -> tuple[dt.datetime, int]:
        return (self.prep.timestamp, self.seq)


def too_late(day: dt.date, final_before: dt.date) -> EventRejected:
    """Why an event dated before the reorder window is refused."""
    return EventRejected(_problem(
        "timestamp", f"dated {day}, before {final_before}: events older than the reorder window are final and "
        "can no longer be inserted", f"日期 {day} 早于 {final_before}：重排窗口之前的事件已定稿，不能再插入",
        "too-late"))


def _folded_before(before: dt.date) -> dt.datetime | None:
    """The instant before which events are final when events dated before `before` are: `before - 1 day`
    00:00 UTC, the earliest a timestamp dated `before` or later (in an offset under a day) can be. None when
    no instant is that early."""
    if before.toordinal() <= 1:
        return None
    return dt.datetime.combine(before - dt.timedelta(days=1), dt.time(), dt.UTC)


def _refused(err: EventRejected, enterprise: str) -> Receipt:
    return Receipt(Status.REJECTED, str(err), enterprise, err.zh)


@dataclass(slots=True)
class EnterpriseLog:
    """The events of one enterprise in timestamp order, and the record they build.

    `add` keeps the record equal to the fold of all its events in (timestamp, arrival) order, skipping those
    that do not fit; `rejected` maps the arrival number of each skipped event to its reason. A rejection is
    not final while the event is in the log: a later arrival stamped before it may make it fit (the rebuild
    then applies it), or make an applied event stop fitting. Only `compact` makes rejections final: it moves
    them to `final_rejections`, which the owner drains.
    """

    enterprise: str
    lazy: bool = False
    """Rebuild after a late event only when the record is next read (`record`, `rejected`, `standing`): a
    burst of k late events costs one rebuild, not k. The receipt of a late event then says "applied out of
    order"; whether it fits is known, as things stand, when the record is read."""
    _record: dict[str, Any] = field(default_factory=dict)
    _rejected: dict[int, EventRejected] = field(default_factory=dict)
    _stale: bool = False
    entries: list[_Entry] = field(default_factory=list)
    keys: set[bytes] = field(default_factory=set)  # digests of the events received
    ids: dict[str, bytes] = field(default_factory=dict)  # event id → digest
    base: dict[str, Any] | None = None  # the record folded from the compacted (final) events
    final_before: dt.date | None = None  # events dated before this day are final: compacted, or refused
    final_rejections: list[tuple[int, Any, EventRejected]] = field(default_factory=list)  # (seq, ref, reason)

    def __post_init__(self) -> None:
        if not self._record:
            self._record = {"id": self.enterprise}

    @property
    def record(self) -> dict[str, Any]:
        """The fold of the events in timestamp order (rebuilt first if a late event is waiting)."""
        if self._stale:
            self.rebuild()
        return self._record

    @property
    def rejected(self) -> dict[int, EventRejected]:
        """Arrival number → reason of the events that do not fit, as things stand."""
        if self._stale:
            self.rebuild()
        return self._rejected

    def compact(self, before: dt.date) -> int:
        """Make the events dated before `before` final: a later event dated before `before` is refused by
        `add`. Those stamped before any event still accepted can be (:func:`_folded_before`) are folded into
        `base` and forgotten (their digests too), so that the log holds only the events a late arrival could
        still be inserted among; the record stays the fold of every accepted event in instant order. Returns
        how many were folded; those rejected are appended to `final_rejections`."""
        if self.final_before is not None and before <= self.final_before:
            return 0
        self.final_before = before
        # Fold in instant order, never past an instant that an event still accepted (dated `before` or later
        # in its own offset) may carry: such an event is stamped after `before - 1 day` 00:00 UTC (an offset is
        # less than a day), and every event stamped before that is dated before `before` in any offset. Folding
        # by local day instead folded an update stamped 2022-05-09T20:00-10:00 before a hazard found at
        # 2022-05-10T00:30+14:00 arrived, though the hazard is 20 hours older: applied after the update that
        # wipes it.
        cutoff = _folded_before(before)
        k = 0
        while k < len(self.entries) and cutoff is not None and self.entries[k].prep.timestamp < cutoff:
            k += 1
        if not k:
            return 0
        record = self.base if self.base is not None else {"id": self.enterprise}
        for entry in self.entries[:k]:
            reason = self.rejected.pop(entry.seq, None)
            if reason is None:
                record = apply_prepared(record, entry.prep)[0]
            else:  # a rejected event stays rejected: nothing earlier can come
                self.final_rejections.append((entry.seq, entry.ref, reason))
            self.keys.discard(entry.prep.key)
            if entry.prep.id is not None:
                self.ids.pop(entry.prep.id, None)
        self.base = record
        del self.entries[:k]
        return k

    def add(self, prep: Prepared, seq: int, ref: Any = None,
            ) -> tuple[Receipt, frozenset[str], tuple[ItemChange, ...] | None]:
        """Add one event; returns the receipt, the top-level fields whose value changed and the list items it
        changed (None after a rebuild). `ref` is kept with the event (the monitor's command line gives the
        line number) to report a rejection that is still standing later."""
        if self.final_before is not None and prep.day < self.final_before:
            return _refused(too_late(prep.day, self.final_before), self.enterprise), frozenset(), ()
        if prep.key in self.keys:
            return Receipt(Status.DUPLICATE, "an exact duplicate of an event already received", self.enterprise,
                           "与已收到的事件完全重复"), frozenset(), ()
        ev_id = prep.id
        if ev_id is not None and ev_id in self.ids:
            reused = EventRejected(_problem("id", f"event id {ev_id!r} was already used for another event",
                                            f"事件 id {ev_id!r} 已用于另一事件", "id-reused"))
            return _refused(reused, self.enterprise), frozenset(), ()
        self.keys.add(prep.key)
        if ev_id is not None:
            self.ids[ev_id] = prep.key
        entry = _Entry(seq, prep, ref)
        order = entry.order()
        if not self.entries or order > self.entries[-1].order():
            current = self.record  # rebuilt first if late events are waiting
            self.entries.append(entry)
            try:
                self._record, touched, items = apply_prepared(current, prep)
            except EventRejected as err:
                self._rejected[seq] = err
                return _refused(err, self.enterprise), frozenset(), ()
            return Receipt(Status.APPLIED, None, self.enterprise), touched, items
        index = bisect.bisect(self.entries, order, key=_Entry.order)
        self.entries.insert(index, entry)
        if self.lazy:
            self._stale = True
            return Receipt(Status.APPLIED, "applied out of order: the record is rebuilt when next read",
                           self.enterprise, "迟到事件已按时间顺序插入，记录将在读取时重建"), EVERY_FIELD, None
        old = self.record
        self.rebuild()
        touched = frozenset(k for k in set(old) | set(self.record)
                            if old.get(k, _ABSENT) != self.record.get(k, _ABSENT))
        if seq in self.rejected:
            return _refused(self.rejected[seq], self.enterprise), touched, None
        return Receipt(Status.APPLIED, "applied out of order: the record was rebuilt", self.enterprise,
                       "迟到事件已按时间顺序插入，记录已重建"), touched, None

    def rebuild(self) -> None:
        record: dict[str, Any] = self.base if self.base is not None else {"id": self.enterprise}
        rejected: dict[int, EventRejected] = {}
        for entry in self.entries:
            try:
                record = apply_prepared(record, entry.prep)[0]
            except EventRejected as err:
                rejected[entry.seq] = err
        self._record, self._rejected, self._stale = record, rejected, False

    def standing(self) -> Iterator[tuple[int, Any, EventRejected]]:
        """The events in the log that do not fit as things stand: (arrival number, ref, reason)."""
        if self.rejected:
            for entry in self.entries:
                reason = self.rejected.get(entry.seq)
                if reason is not None:
                    yield entry.seq, entry.ref, reason


_ABSENT = object()

EVERY_FIELD: frozenset[str] = frozenset({"*"})
"""What a lazy log says a late event touched: anything (the record is rebuilt when next read)."""


def build_records(events: Iterable[Event | Mapping[str, Any] | str | Prepared]) -> dict[str, dict[str, Any]]:
    """The record of every enterprise named by the events (in the order of their first event).

    Raises :class:`EventError` on a malformed event; events that do not fit are skipped (see the module doc).
    """
    logs: dict[str, EnterpriseLog] = {}
    for seq, item in enumerate(events):
        prep = item if isinstance(item, Prepared) else parse_event(item)
        if prep.type is EventType.CLOCK:
            continue
        log = logs.get(prep.enterprise)
        if log is None:
            log = logs[prep.enterprise] = EnterpriseLog(prep.enterprise)
        log.add(prep, seq)
    return {eid: log.record for eid, log in logs.items()}


def build_record(events: Iterable[Event | Mapping[str, Any] | str | Prepared],
                 enterprise: str | None = None) -> dict[str, Any]:
    """The record that the events of one enterprise build from the empty record ``{"id": enterprise}``.

    With `enterprise`, events of other enterprises are ignored; without it, the events must all name the
    same enterprise (ValueError otherwise). Clock events are ignored.
    """
    records = build_records(events)
    if enterprise is not None:
        return records.get(enterprise, {"id": enterprise})
    if len(records) > 1:
        raise ValueError(f"events of {len(records)} enterprises: name the one to build")
    if not records:
        raise ValueError("no enterprise event: name the enterprise to build")
    return next(iter(records.values()))
