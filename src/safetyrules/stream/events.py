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
* A **malformed** event (unknown type, a timestamp without an offset, a payload that breaks the fact
  contract) is refused with its reason by :func:`parse_event` and never stored.
* An event that **does not fit the record at its place** in timestamp order (an update to an unknown hazard
  id, a second hazard with the same id, a remediation dated before the hazard was found) is skipped and
  reported as rejected, with the reason. It stays in the enterprise's log: if an earlier-stamped event that
  makes it fit arrives later, the rebuild applies it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from safetyrules.errors import InputError
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


class EventError(InputError):
    """A malformed event: it is refused and not stored."""


class EventRejected(InputError):
    """A well-formed event that does not fit the record at its place in timestamp order."""


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


def _errors(err: ValidationError, where: str) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        parts.append(f"{where}{'.' + loc if loc else ''}: {e['msg']}")
    return "; ".join(parts)


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
            raise EventError("payload: a clock event has no payload")
        return {}
    if t in _ITEM_MODELS:
        model, required = _ITEM_MODELS[t]
        item = _dump(model, payload, "payload")
        if required is not None and item.get(required) is None:
            raise EventError(f"payload.{required}: required for {t}")
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
            raise EventError("payload.staff_id: required (a string)")
        if "id" in data:
            raise EventError("payload.id: the staff id cannot be changed")
        return {"staff_id": staff_id, "fields": _dump(StaffMember, data, "payload")}
    if t is EventType.ENTERPRISE_UPDATED:
        if "id" in payload:
            raise EventError("payload.id: the enterprise id cannot be changed")
        try:
            entity = Enterprise.model_validate({"id": ev.enterprise or "", **payload})
        except ValidationError as err:
            raise EventError(_errors(err, "payload")) from None
        fields = entity.model_dump(exclude_unset=True)
        fields.pop("id", None)
        return fields
    raise EventError(f"type: unknown event type {t!r}")  # pragma: no cover - the enum refuses it first


def _key(ev: Event) -> bytes:
    text = json.dumps([ev.enterprise, str(ev.type), ev.timestamp.isoformat(), ev.payload, ev.id],
                      sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def parse_event(data: Event | Mapping[str, Any] | str | Prepared) -> Prepared:
    """Validate an event (a dict, a JSON text or an `Event`); raises :class:`EventError` when malformed."""
    if isinstance(data, Prepared):
        return data
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as err:
            raise EventError(f"not JSON: {err}") from None
        if not isinstance(data, dict):
            raise EventError("an event is a JSON object")
    if isinstance(data, Event):
        ev = data
    else:
        try:
            ev = Event.model_validate(dict(data))
        except ValidationError as err:
            raise EventError(_errors(err, "event")) from None
    if ev.type is not EventType.CLOCK and not ev.enterprise:
        raise EventError("enterprise: required (every event but `clock` names its enterprise)")
    return Prepared(ev.type, ev.timestamp, ev.enterprise or "", _prepare_payload(ev), _key(ev), ev.id)


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


def _new_item(record: dict[str, Any], name: str, key: str, item: dict[str, Any], what: str) -> ItemChange:
    created = not isinstance(record.get(name), list)
    items = _list(record, name)
    if _find(items, key, item[key]) >= 0:
        raise EventRejected(f"{name}: a {what} with {key} {item[key]!r} is already on record")
    items.append(item)
    record[name] = items
    return ItemChange(name, None, item, created)


def _update_item(record: dict[str, Any], name: str, key: str, ident: Any, what: str, model: type[FactModel],
                 change: Callable[[dict[str, Any]], None]) -> ItemChange:
    items = _list(record, name)
    index = _find(items, key, ident)
    if index < 0:
        raise EventRejected(f"{name}: no {what} with {key} {ident!r} on record")
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


def apply(record: Mapping[str, Any], event: Event | Mapping[str, Any] | Prepared) -> dict[str, Any]:
    """The record after one event (a new dict; `record` is not changed).

    Raises :class:`EventError` when the event is malformed and :class:`EventRejected` when it does not fit.
    """
    prep = event if isinstance(event, Prepared) else parse_event(event)
    if prep.type is not EventType.CLOCK and record.get("id") not in (None, prep.enterprise):
        raise EventRejected(f"event of enterprise {prep.enterprise!r} applied to record {record.get('id')!r}")
    return apply_prepared(record, prep)[0]


# ------------------------------------------------------------------------------------------ logs


class Status(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    CLOCK = "clock"


@dataclass(frozen=True, slots=True)
class Receipt:
    """What became of a posted event."""

    status: Status
    reason: str | None = None
    enterprise: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"status": str(self.status), "reason": self.reason, "enterprise": self.enterprise}


@dataclass(slots=True)
class _Entry:
    seq: int
    prep: Prepared

    def order(self) -> tuple[dt.datetime, int]:
        return (self.prep.timestamp, self.seq)


def too_late(day: dt.date, final_before: dt.date) -> str:
    """Why an event dated before the reorder window is refused."""
    return f"dated {day}, before {final_before}: events older than the reorder window are final and can no longer " \
           "be inserted"


@dataclass(slots=True)
class EnterpriseLog:
    """The events of one enterprise in timestamp order, and the record they build.

    `add` keeps the record equal to the fold of all its events in (timestamp, arrival) order, skipping those
    that do not fit; `rejected` maps the arrival number of each skipped event to its reason.
    """

    enterprise: str
    record: dict[str, Any] = field(default_factory=dict)
    entries: list[_Entry] = field(default_factory=list)
    keys: set[bytes] = field(default_factory=set)  # digests of the events received
    ids: dict[str, bytes] = field(default_factory=dict)  # event id → digest
    rejected: dict[int, str] = field(default_factory=dict)
    base: dict[str, Any] | None = None  # the record folded from the compacted (final) events
    final_before: dt.date | None = None  # events dated before this day are final: compacted, or refused

    def __post_init__(self) -> None:
        if not self.record:
            self.record = {"id": self.enterprise}

    def compact(self, before: dt.date) -> int:
        """Make the events dated before `before` final: fold them into `base` and forget them (their digests
        too), so that the log holds only the events a late arrival could still be inserted among. Returns
        how many were folded. A later event dated before `before` is refused by `add`."""
        if self.final_before is not None and before <= self.final_before:
            return 0
        self.final_before = before
        k = 0
        while k < len(self.entries) and self.entries[k].prep.day < before:
            k += 1
        if not k:
            return 0
        record = self.base if self.base is not None else {"id": self.enterprise}
        for entry in self.entries[:k]:
            if entry.seq not in self.rejected:  # a rejected event stays rejected: nothing earlier can come
                record = apply_prepared(record, entry.prep)[0]
            self.rejected.pop(entry.seq, None)
            self.keys.discard(entry.prep.key)
            if entry.prep.id is not None:
                self.ids.pop(entry.prep.id, None)
        self.base = record
        del self.entries[:k]
        return k

    def add(self, prep: Prepared, seq: int) -> tuple[Receipt, frozenset[str], tuple[ItemChange, ...] | None]:
        """Add one event; returns the receipt, the top-level fields whose value changed and the list items it
        changed (None after a rebuild)."""
        if self.final_before is not None and prep.day < self.final_before:
            return Receipt(Status.REJECTED, too_late(prep.day, self.final_before), self.enterprise), frozenset(), ()
        if prep.key in self.keys:
            return Receipt(Status.DUPLICATE, "an exact duplicate of an event already received", self.enterprise), \
                frozenset(), ()
        ev_id = prep.id
        if ev_id is not None and ev_id in self.ids:
            return Receipt(Status.REJECTED, f"event id {ev_id!r} was already used for another event",
                           self.enterprise), frozenset(), ()
        self.keys.add(prep.key)
        if ev_id is not None:
            self.ids[ev_id] = prep.key
        entry = _Entry(seq, prep)
        order = entry.order()
        if not self.entries or order > self.entries[-1].order():
            self.entries.append(entry)
            try:
                self.record, touched, items = apply_prepared(self.record, prep)
            except EventRejected as err:
                self.rejected[seq] = str(err)
                return Receipt(Status.REJECTED, str(err), self.enterprise), frozenset(), ()
            return Receipt(Status.APPLIED, None, self.enterprise), touched, items
        index = bisect.bisect(self.entries, order, key=_Entry.order)
        self.entries.insert(index, entry)
        old = self.record
        self.rebuild()
        touched = frozenset(k for k in set(old) | set(self.record)
                            if old.get(k, _ABSENT) != self.record.get(k, _ABSENT))
        if seq in self.rejected:
            return Receipt(Status.REJECTED, self.rejected[seq], self.enterprise), touched, None
        rebuilt = "applied out of order: the record was rebuilt"
        return Receipt(Status.APPLIED, rebuilt, self.enterprise), touched, None

    def rebuild(self) -> None:
        record: dict[str, Any] = self.base if self.base is not None else {"id": self.enterprise}
        self.rejected = {}
        for entry in self.entries:
            try:
                record = apply_prepared(record, entry.prep)[0]
            except EventRejected as err:
                self.rejected[entry.seq] = str(err)
        self.record = record


_ABSENT = object()


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
