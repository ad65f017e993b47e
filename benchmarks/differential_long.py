"""The long differential run: the reference engine against the columnar engine and the rete backend.

    .venv/bin/python benchmarks/differential_long.py                                  # 100,000 per pair
    .venv/bin/python benchmarks/differential_long.py --enterprises 2000 --pairs reference-columnar
    .venv/bin/python benchmarks/differential_long.py --pairs reference-rete --rete-budget 600

What it generates (seeded: the same arguments give the same population, on any machine):

* **Enterprises.** The synthetic town (`safetyrules.synth.generate`, realistic histories 2019–2022), each
  record then *roughened* by a walk over the fact contract (the pydantic models of `safetyrules.facts.models`):
  a share of the records keep their generated facts, the others have each field — at every nesting level,
  list items included — left alone, made absent (unknown), made null (known not to exist), or replaced by
  a value of its type drawn near the policy's deadlines, the evaluation days and the record's own dates; a
  list may become empty, grow, or get two items on the same date (ties; for instants, sometimes the same
  instant written in another offset). Enumeration fields get codes, nulls and absences like every other
  type. The contract's date orders (remediated/verified on or after found, informed/reported at or after
  the accident, cover ending on or after it starts) are kept, so that every record validates.
* **Event histories** (the rete pair): per enterprise, a registration (`enterprise_updated` with its
  roughened standing facts and lists) and a few events — hazards found (major or not, a cause that is a
  code, null or absent) and reported or not, on time, on the deadline or late; changes (kind a code, null
  or absent; authorized or not) and the reassessments that may follow; accidents and their reports around
  the one-hour limit; inspection findings, reports, internal assessments — several on the same day or at
  the same instant, a few arriving late or twice.

What it compares:

* ``reference-columnar``: chunks of enterprises, each evaluated as of every `--as-of` day by the reference
  engine (`Policy.evaluate_record`) and by the columnar engine (one `ColumnarProgram.run` per chunk and day);
  every result row's `outcome`, `due_on`, `days_overdue`, `days_remaining`, `delay_days`, `listed_until` and
  `implements` must be equal, and there must be one row per (enterprise, rule).
* ``reference-rete``: chunks of enterprise histories replayed into `Monitor(policy, backend="rete")`; at each
  `--rete-as-of` day the monitor's outcome of every (enterprise, rule) must equal the reference engine's on
  `build_records(events posted so far)` as of that day (what tests/stream compares). durable-rules runs the
  rules it can express; the counts of rule evaluations it ran and of those that fell back are reported.
  The rete pair stops after the chunk that passes `--rete-budget` seconds (and says how many it ran).

The report: a progress line per chunk, the first disagreements with their records, and a JSON summary per
pair (enterprises, evaluations = enterprise × rule × day, disagreements, seconds, what the population held).
Exit status 1 on any disagreement. A quick run of the same functions is tests/engine/test_long_differential.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
import types
import typing
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pydantic import BaseModel

from safetyrules import load_policy
from safetyrules.api import Policy, fact_record
from safetyrules.facts.models import Enterprise

PAIRS = ("reference-columnar", "reference-rete")
AS_OF = (dt.date(2020, 12, 31), dt.date(2022, 6, 30), dt.date(2023, 1, 1))
"""The evaluation days of the columnar pair: a deadline day of the action plan, mid-year, the day after the
town's snapshot (the town's facts run to 2022-12-31; earlier days see only the facts dated by then)."""
RETE_AS_OF = (dt.date(2021, 12, 31), dt.date(2022, 6, 30), dt.date(2023, 9, 30))
"""The days on which the monitor is compared (its histories run from 2021 to mid-2023)."""
FIELDS = ("outcome", "due_on", "days_overdue", "days_remaining", "delay_days", "listed_until")
"""The fields of a result row that must be equal (tests/columnar/differential.py compares the same)."""
SHOWN = 5
"""Disagreements printed in full (with the record) per pair."""

CHINA = dt.timezone(dt.timedelta(hours=8))
OFFSETS = (CHINA, CHINA, dt.UTC, dt.timezone(dt.timedelta(hours=-5)), dt.timezone(dt.timedelta(hours=14)))
BOUNDARY_DATES = tuple(dt.date.fromisoformat(d) for d in (
    "2019-12-31", "2020-01-01", "2020-02-29", "2020-03-31", "2020-04-01", "2020-06-30", "2020-07-01",
    "2020-12-31", "2021-01-01", "2021-01-31", "2021-02-28", "2021-03-31", "2021-04-01", "2021-08-31",
    "2021-09-01", "2021-12-31", "2022-01-01", "2022-03-31", "2022-06-30", "2022-12-31", "2023-01-01",
    "2023-09-30", "2023-10-01", "2024-02-29"))
"""The seed policy's deadlines, month ends and 02-29 (as tests/columnar/strategies.py draws them)."""
DAY_STEPS = (0, 0, 1, -1, 7, 15, 30, 31, 90, 180, 364, 365, 366)
MINUTE_STEPS = (0, 0, 1, 59, 60, 61, 120, 1440)

# ------------------------------------------------------------------------------------------ the contract


@dataclass(frozen=True, slots=True)
class Slot:
    """The type of one field of the fact contract, as the walk needs it."""

    kind: str  # "bool", "int", "str", "date", "datetime", "enum", "model", "list"
    item: Slot | None = None  # a list's element
    enum: tuple[str, ...] = ()  # an enumeration's codes
    model: type[BaseModel] | None = None


def _slot(annotation: Any) -> Slot:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return _slot(args[0])
    if origin is typing.Annotated:
        return _slot(args[0])
    if origin is list:
        return Slot("list", item=_slot(args[0]))
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return Slot("enum", enum=tuple(str(m.value) for m in annotation))
        if issubclass(annotation, BaseModel):
            return Slot("model", model=annotation)
        if issubclass(annotation, dt.datetime):
            return Slot("datetime")
        if issubclass(annotation, dt.date):
            return Slot("date")
        for kind in (bool, int, str):
            if issubclass(annotation, kind):
                return Slot(kind.__name__)
    raise TypeError(f"no slot for {annotation!r}")


_FIELDS: dict[type[BaseModel], dict[str, Slot]] = {}


def fields_of(model: type[BaseModel]) -> dict[str, Slot]:
    """The contract's fields of a model and their slots (the enterprise's `id` left out: it stays)."""
    if model not in _FIELDS:
        _FIELDS[model] = {name: _slot(info.annotation) for name, info in model.model_fields.items()
                          if not (model is Enterprise and name == "id")}
    return _FIELDS[model]


def kind_of(slot: Slot) -> str:
    """The field type as the coverage counts name it: `enum`, `date`, …, `list<date>`, `list<model>`."""
    if slot.kind == "list":
        assert slot.item is not None
        return f"list<{slot.item.kind}>"
    return slot.kind


KINDS = ("bool", "int", "str", "date", "datetime", "enum", "model", "list<date>", "list<enum>", "list<model>")
"""Every field type of the fact contract (the coverage counts have a null and an absent of each)."""

ORDERS: dict[str, tuple[tuple[str, str], ...]] = {
    "Hazard": (("found_on", "remediated_on"), ("found_on", "verified_on")),
    "Accident": (("occurred_at", "principal_informed_at"), ("occurred_at", "reported_at")),
    "Insurance": (("starts_on", "ends_on"),),
}
"""The contract's date orders (earlier, later) that a roughened record keeps (else it would not validate)."""

# ------------------------------------------------------------------------------------------ enterprises


class Roughener:
    """Roughens generated records: absent, null, other values, empty and longer lists, tied dates."""

    def __init__(self, rng: random.Random, days: Sequence[dt.date]) -> None:
        self.rng = rng
        near = [d + dt.timedelta(days=k) for d in days for k in (-1, 0, 1, -30, 30, -365)]
        self.days = [*BOUNDARY_DATES, *near]
        self.seen: list[Any] = []  # the record's dates and instants so far (to draw ties across fields)

    def record(self, rec: dict[str, Any], wildness: float) -> dict[str, Any]:
        self.seen = []
        self._walk(rec, Enterprise, wildness)
        return rec

    # -- values
    def day(self) -> dt.date:
        r = self.rng.random()
        if r < 0.3 and self.seen:
            base = self.rng.choice(self.seen)
            base = base.date() if isinstance(base, dt.datetime) else base
            return base + dt.timedelta(days=self.rng.choice(DAY_STEPS))
        if r < 0.75:
            return self.rng.choice(self.days)
        return dt.date(2018, 1, 1) + dt.timedelta(days=self.rng.randrange(7 * 365))

    def instant(self) -> dt.datetime:
        tz = self.rng.choice(OFFSETS)
        instants = [s for s in self.seen if isinstance(s, dt.datetime)]
        if instants and self.rng.random() < 0.3:
            base = self.rng.choice(instants) + dt.timedelta(minutes=self.rng.choice(MINUTE_STEPS))
            return base.astimezone(tz)
        minute = self.rng.randrange(24 * 60)
        return dt.datetime.combine(self.day(), dt.time(minute // 60, minute % 60), tz)

    def value(self, slot: Slot, name: str) -> Any:
        rng = self.rng
        match slot.kind:
            case "bool":
                return rng.random() < 0.5
            case "int":
                if name == "year":
                    return rng.randrange(2018, 2025)
                if name == "employee_count":
                    return rng.choice((0, 3, 5, 99, 100, 101, 300, 1000))
                return rng.choice((0, 0, 1, 2, 3, 100, 100_000))
            case "str":
                pools = {"id": ("H1", "H2", "S1", "S2", "A1", "E001"), "mentor_id": ("S1", "S9", "E001"),
                         "kind": ("safety_liability", "other"), "special_operation": ("electrician", "welder")}
                return rng.choice(pools.get(name, ("张某", "x")))
            case "date":
                out = self.day()
                self.seen.append(out)
                return out
            case "datetime":
                at = self.instant()
                self.seen.append(at)
                return at
            case "enum":
                return rng.choice(slot.enum)
            case "model":
                assert slot.model is not None
                return self.fresh(slot.model)
            case "list":
                assert slot.item is not None
                return [self.value(slot.item, name) for _ in range(rng.choice((0, 1, 1, 2, 3)))]
        raise AssertionError(slot)

    def fresh(self, model: type[BaseModel]) -> dict[str, Any]:
        """A new record of `model`: each field a value, null or absent."""
        out: dict[str, Any] = {}
        for name, slot in fields_of(model).items():
            r = self.rng.random()
            if r < 0.6:
                out[name] = self.value(slot, name)
            elif r < 0.8:
                out[name] = None
        self._order(out, model)
        return out

    # -- the walk
    def _walk(self, rec: dict[str, Any], model: type[BaseModel], wildness: float) -> None:
        rng = self.rng
        for name, slot in fields_of(model).items():
            if wildness and rng.random() < wildness:
                choices = ["absent", "null", "value"]
                if slot.kind == "list" and isinstance(rec.get(name), list):
                    choices += ["empty", "tie", "tie", "grow"]
                action = rng.choice(choices)
                if action == "absent":
                    rec.pop(name, None)
                elif action == "null":
                    rec[name] = None
                elif action == "value":
                    rec[name] = self.value(slot, name)
                elif action == "empty":
                    rec[name] = []
                elif action == "grow":
                    assert slot.item is not None
                    rec[name].extend(self.value(slot.item, name) for _ in range(rng.randrange(1, 3)))
                else:
                    self._tie(rec[name], slot)
            value = rec.get(name)
            if slot.kind == "model" and isinstance(value, dict) and slot.model is not None:
                self._walk(value, slot.model, wildness)
            elif slot.kind == "list" and isinstance(value, list) and slot.item is not None:
                if slot.item.kind == "model" and slot.item.model is not None:
                    for item in value:
                        if isinstance(item, dict):
                            self._walk(item, slot.item.model, wildness)
            elif slot.kind in ("date", "datetime") and value is not None:
                self.seen.append(value)
        self._order(rec, model)

    def _tie(self, items: list[Any], slot: Slot) -> None:
        """Two items of a list on the same date (or instant); a list of dates gets a date twice."""
        assert slot.item is not None
        if not items:
            items.append(self.value(slot.item, ""))
        if slot.item.kind != "model" or slot.item.model is None:
            items.insert(self.rng.randrange(len(items) + 1), self.rng.choice(items))
            return
        dated = [n for n, s in fields_of(slot.item.model).items() if s.kind in ("date", "datetime")]
        if not dated:
            return
        name = self.rng.choice(dated)
        have = [i for i in items if isinstance(i, dict) and i.get(name) is not None]
        source = self.rng.choice(have) if have else None
        value = source[name] if source is not None else self.value(fields_of(slot.item.model)[name], name)
        if isinstance(value, dt.datetime) and self.rng.random() < 0.5:
            value = value.astimezone(self.rng.choice(OFFSETS))  # the same instant, written otherwise
        if source is None or len(items) < 2 or self.rng.random() < 0.4:
            twin = dict(source) if source is not None else self.fresh(slot.item.model)
            twin[name] = value
            items.insert(self.rng.randrange(len(items) + 1), twin)
        else:
            target = self.rng.choice([i for i in items if i is not source and isinstance(i, dict)] or [source])
            target[name] = value
            self._order(target, slot.item.model)

    def _order(self, rec: dict[str, Any], model: type[BaseModel]) -> None:
        for earlier, later in ORDERS.get(model.__name__, ()):
            a, b = rec.get(earlier), rec.get(later)
            if a is None or b is None or isinstance(a, dt.datetime) != isinstance(b, dt.datetime):
                continue
            if b < a:
                step = self.rng.choice((0, 0, 1, 2, 7))
                rec[later] = a + (dt.timedelta(minutes=step * 30) if isinstance(a, dt.datetime)
                                  else dt.timedelta(days=step))


def generate_population(count: int, seed: int, days: Sequence[dt.date] = AS_OF) -> Iterator[dict[str, Any]]:
    """`count` validated enterprise records (`fact_record` form): the town of `seed`, roughened. A shorter run
    is a prefix of a longer one with the same seed."""
    from safetyrules.synth import generate

    rng = random.Random(seed)
    rough = Roughener(rng, days)
    for rec in generate(count, seed=seed):
        wildness = rng.choice((0.0, 0.0, 0.03, 0.1, 0.1, 0.3))
        yield fact_record(rough.record(fact_record(rec), wildness))


# ------------------------------------------------------------------------------------------ coverage


def coverage(records: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """What the records hold, counted per record: `null <kind>` and `absent <kind>` (a field of that type null,
    or absent, at any nesting level), `tied list dates` (two items of a list on the same date or instant, or a
    list of dates with a date twice), `records`."""
    total: Counter[str] = Counter()
    for rec in records:
        seen: set[str] = set()
        _cover(rec, Enterprise, seen)
        total.update(seen)
        total["records"] += 1
    return total


def _cover(rec: Mapping[str, Any], model: type[BaseModel], seen: set[str]) -> None:
    for name, slot in fields_of(model).items():
        kind = kind_of(slot)
        if name not in rec:
            seen.add(f"absent {kind}")
            continue
        value = rec[name]
        if value is None:
            seen.add(f"null {kind}")
        elif slot.kind == "model" and slot.model is not None:
            _cover(value, slot.model, seen)
        elif slot.kind == "list" and slot.item is not None:
            item = slot.item
            if item.kind == "model" and item.model is not None:
                for element in value:
                    _cover(element, item.model, seen)
                for sub, s in fields_of(item.model).items():
                    if s.kind in ("date", "datetime"):
                        dates = [e[sub] for e in value if e.get(sub) is not None]
                        if len(set(dates)) < len(dates):
                            seen.add("tied list dates")
            elif item.kind == "date" and len(set(value)) < len(value):
                seen.add("tied list dates")


# ------------------------------------------------------------------------------------------ reports


@dataclass
class PairReport:
    """What one pair's run found."""

    pair: str
    enterprises: int = 0
    evaluations: int = 0  # (enterprise, rule, day) compared
    disagreements: int = 0  # (enterprise, rule, day) whose results differ
    seconds: float = 0.0
    examples: list[dict[str, Any]] = field(default_factory=list)  # the first few, with the record or events
    population: Counter[str] = field(default_factory=Counter)
    notes: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"pair": self.pair, "enterprises": self.enterprises, "evaluations": self.evaluations,
                "disagreements": self.disagreements, "seconds": round(self.seconds, 1),
                "population": dict(sorted(self.population.items())),
                **{k: round(v, 1) if isinstance(v, float) else v for k, v in self.notes.items()}}


Progress = Callable[[str], None]


def _quiet(line: str) -> None:
    pass


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# ------------------------------------------------------------------------------------------ columnar


def columnar_program(policy: Policy) -> Any:
    """The policy compiled for the columnar engine, with its default params."""
    from safetyrules.columnar import compile_policy

    return compile_policy(policy.program)


def row_problems(result: Any, row: Mapping[str, Any]) -> list[str]:
    """The fields of `FIELDS` (and `implements`) where a columnar result row differs from the reference's."""
    want = {"outcome": str(result.outcome), "due_on": result.due_on, "days_overdue": result.days_overdue,
            "days_remaining": result.days_remaining, "delay_days": result.delay_days,
            "listed_until": result.listed_until}
    out = [f"{f}: reference {want[f]!r}, columnar {row[f]!r}" for f in FIELDS if row[f] != want[f]]
    if tuple(row["implements"]) != tuple(result.implements):
        out.append(f"implements: reference {result.implements!r}, columnar {row['implements']!r}")
    return out


def compare_columnar(policy: Policy, program: Any, records: Sequence[Mapping[str, Any]], day: dt.date,
                     report: PairReport) -> None:
    """Evaluate `records` as of `day` with both engines and add what differs to `report`."""
    from safetyrules.columnar import FactTables

    out = program.run(FactTables.from_records(records), day)
    if program.fallback_rules:  # a rule run by the reference engine inside the columnar one compares nothing
        raise RuntimeError(f"columnar fallback rules: {sorted(program.fallback_rules)}")
    got = {(r["enterprise"], r["rule"]): r for r in out.iter_rows(named=True)}
    expected = 0
    for rec in records:
        bad: list[str] = []
        for result in policy.evaluate_record(rec, day).results:
            expected += 1
            report.evaluations += 1
            row = got.get((result.enterprise, result.rule))
            problems = ["no columnar row"] if row is None else row_problems(result, row)
            if problems:
                report.disagreements += 1
                bad.extend(f"{result.rule} {p}" for p in problems)
        if bad and len(report.examples) < SHOWN:
            report.examples.append({"enterprise": rec["id"], "as_of": day.isoformat(), "problems": bad,
                                    "record": _jsonable(dict(rec))})
    if out.height != expected:
        report.disagreements += abs(out.height - expected)
        if len(report.examples) < SHOWN:
            report.examples.append({"as_of": day.isoformat(),
                                    "problems": [f"{out.height} columnar rows, {expected} reference results"]})


def run_columnar(policy: Policy, count: int, seed: int, days: Sequence[dt.date] = AS_OF, chunk: int = 2000,
                 progress: Progress = _quiet) -> PairReport:
    """The reference-columnar pair over `count` generated enterprises, chunk by chunk."""
    report = PairReport("reference-columnar")
    program = columnar_program(policy)
    start = time.perf_counter()
    for records in _chunks(generate_population(count, seed, days), chunk):
        report.population.update(coverage(records))
        for day in days:
            compare_columnar(policy, program, records, day, report)
        report.enterprises += len(records)
        report.seconds = time.perf_counter() - start
        progress(f"[reference-columnar] {report.enterprises:,}/{count:,} enterprises, {report.evaluations:,} "
                 f"evaluations, {report.disagreements} disagreements, {report.seconds:.0f} s")
    return report


# ------------------------------------------------------------------------------------------ rete


def _stamp(day: dt.date, rng: random.Random, tz: dt.tzinfo = CHINA) -> dt.datetime:
    minute = rng.randrange(8 * 60, 20 * 60)
    return dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tz)


def _enum(rng: random.Random, *codes: str) -> Any:
    """A code mostly; sometimes null, sometimes absent (`_ABSENT`)."""
    r = rng.random()
    return rng.choice(codes) if r < 0.7 else None if r < 0.85 else _ABSENT


_ABSENT = object()


def _present(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not _ABSENT}


_STANDING_LISTS = ("hazards", "changes", "accidents", "inspection_findings", "reports", "risk_assessments",
                   "internal_assessments")


def history(rec: Mapping[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    """The events of one enterprise in arrival order: its registration (its roughened standing facts; the event
    lists known and empty or as roughened, some left unknown), then a few events from 2021 to mid-2023."""
    eid = rec["id"]
    registered = dt.date(2021, 1, 1) + dt.timedelta(days=rng.randrange(365))
    payload = _jsonable({k: v for k, v in rec.items() if k != "id"})
    for name in _STANDING_LISTS:
        r = rng.random()
        if r < 0.6:
            payload[name] = []
        elif r < 0.7:
            payload.pop(name, None)
    timed: list[tuple[dt.datetime, dict[str, Any]]] = []

    def add(at: dt.datetime, type_: str, body: dict[str, Any] | None = None) -> None:
        event: dict[str, Any] = {"enterprise": eid, "type": type_, "timestamp": at.isoformat()}
        if body is not None:
            event["payload"] = body
        timed.append((at, event))

    add(_stamp(registered, rng).replace(hour=7, minute=0), "enterprise_updated", payload)
    day = registered
    hazards = accidents = 0
    for _ in range(rng.randrange(2, 9)):
        day = day + dt.timedelta(days=rng.choice((0, 0, 1, 3, 10, 30, 60, 120)))
        at = _stamp(day, rng, rng.choice(OFFSETS) if rng.random() < 0.1 else CHINA)
        kind = rng.choice(("hazard", "hazard", "hazard", "change", "change", "accident", "finding", "report",
                           "internal", "assessment"))
        if kind == "hazard":
            hazards += 1
            hid = f"H{hazards}"
            add(at, "hazard_found", _present({"id": hid, "major": rng.choice((True, True, False, None, _ABSENT)),
                                              "cause": _enum(rng, "equipment_failure", "illegal_command",
                                                             "illegal_operation", "management")}))
            if rng.random() < 0.75:
                later = day + dt.timedelta(days=rng.choice((0, 0, 1, 2, 3, 30)))
                reported = _stamp(later, rng)
                add(reported if reported > at else at, "hazard_reported", {"hazard_id": hid})
            if rng.random() < 0.3:
                add(at + dt.timedelta(days=rng.choice((1, 20, 90))), "hazard_remediated", {"hazard_id": hid})
        elif kind == "change":
            add(at, "change_made", _present({"kind": _enum(rng, "process", "equipment", "system"),
                                             "major": rng.choice((True, True, False, None, _ABSENT)),
                                             "authorized": rng.choice((True, False, False, None, _ABSENT))}))
            if rng.random() < 0.6:
                add(at + dt.timedelta(days=rng.choice((0, 1, 29, 30, 31, 60))), "assessment_filed",
                    _present({"comprehensive": rng.choice((True, False, None)),
                              "risk_list_updated": rng.choice((True, False, None, _ABSENT))}))
        elif kind == "accident":
            accidents += 1
            aid = f"A{accidents}"
            add(at, "accident_occurred", _present({"id": aid, "severity": _enum(rng, "general", "major")}))
            if rng.random() < 0.8:
                late = at + dt.timedelta(minutes=rng.choice(MINUTE_STEPS[:-1]))
                add(late.astimezone(rng.choice(OFFSETS)), "accident_reported",
                    {"accident_id": aid, "report_false": rng.random() < 0.1})
        elif kind == "finding":
            add(at, "finding_recorded", _present({"kind": _enum(rng, "evasion", "monitoring_destroyed", "other")}))
        elif kind == "report":
            add(at, "report_filed", _present({"kind": _enum(rng, "risk_list", "dual_report"),
                                              "channel": _enum(rng, "platform", "workers_congress")}))
        elif kind == "internal":
            add(at, "internal_assessment_held")
        else:
            add(at, "assessment_filed", {"comprehensive": rng.random() < 0.8, "risk_list_updated": True})
    events = [e for _, e in sorted(timed, key=lambda t: t[0])]
    arrival: list[dict[str, Any]] = []
    for e in events:
        arrival.append(e)
        if rng.random() < 0.05:  # sent twice
            arrival.insert(rng.randrange(len(arrival) + 1), dict(e))
    if len(arrival) > 2 and rng.random() < 0.2:  # one arrives late
        i = rng.randrange(len(arrival) - 1)
        arrival.insert(rng.randrange(i + 1, len(arrival)), arrival.pop(i))
    return arrival


def event_coverage(events: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """What the events hold: event types, and payload enumeration fields null or absent."""
    out: Counter[str] = Counter()
    enum_fields = {"hazard_found": "cause", "change_made": "kind", "accident_occurred": "severity",
                   "finding_recorded": "kind", "report_filed": "kind"}
    for e in events:
        out[f"event {e['type']}"] += 1
        name = enum_fields.get(e["type"])
        if name is not None:
            payload = e.get("payload", {})
            out["null enum in events" if payload.get(name, 0) is None else
                "absent enum in events" if name not in payload else "enum code in events"] += 1
    return out


def compare_rete(policy: Policy, histories: Sequence[list[dict[str, Any]]], days: Sequence[dt.date],
                 report: PairReport, backend: str = "rete") -> None:
    """Replay the histories of a chunk of enterprises into one monitor; on each of `days`, compare its outcomes
    with the reference engine's on the events posted so far."""
    from safetyrules.stream.events import build_records, parse_event
    from safetyrules.stream.monitor import Monitor

    monitor = Monitor(policy, backend=backend)  # type: ignore[arg-type]
    stream: list[tuple[dt.date, int, Any]] = []
    for history_ in histories:
        arrived = dt.date.min
        for event in history_:
            prep = parse_event(event)
            arrived = max(arrived, prep.day)  # an event arrives once every event before it in its history did
            stream.append((arrived, len(stream), prep))
    stream.sort(key=lambda s: (s[0], s[1]))
    posted: list[Any] = []
    position = 0
    clock = time.perf_counter
    spent = {"monitor_seconds": 0.0, "reference_seconds": 0.0}
    for day in days:
        started = clock()
        while position < len(stream) and stream[position][0] <= day:
            prep = stream[position][2]
            monitor.post(prep)
            posted.append(prep)
            position += 1
        monitor.advance_to(day)
        got = monitor.outcomes()
        between = clock()
        spent["monitor_seconds"] += between - started
        records = build_records(posted)
        for eid, record in records.items():
            bad: list[str] = []
            for result in policy.evaluate_record(record, day).results:
                report.evaluations += 1
                mine = got.pop((eid, result.rule), None)
                if mine != result.outcome:
                    report.disagreements += 1
                    bad.append(f"{result.rule}: reference {result.outcome}, monitor {mine}")
            if bad and len(report.examples) < SHOWN:
                report.examples.append({"enterprise": eid, "as_of": day.isoformat(), "problems": bad,
                                        "events": [p.type.value for p in posted if p.enterprise == eid],
                                        "record": _jsonable(record)})
        if got:  # outcomes of enterprises or rules the reference has none of
            report.disagreements += len(got)
            if len(report.examples) < SHOWN:
                report.examples.append({"as_of": day.isoformat(), "problems": [f"monitor only: {sorted(got)[:5]}"]})
        spent["reference_seconds"] += clock() - between
    for key, seconds in spent.items():  # the monitor's replay, and the oracle (build_records + evaluate_record)
        report.notes[key] = report.notes.get(key, 0.0) + seconds
    stats = monitor.stats
    report.notes["rete_evaluations"] = report.notes.get("rete_evaluations", 0) + stats.rete_evaluations
    report.notes["rete_fallbacks"] = report.notes.get("rete_fallbacks", 0) + stats.rete_fallbacks
    report.notes["reference_rule_evaluations"] = (report.notes.get("reference_rule_evaluations", 0)
                                                  + stats.rule_evaluations)
    report.notes["events"] = report.notes.get("events", 0) + stats.events
    report.notes["rejected_events"] = report.notes.get("rejected_events", 0) + stats.rejected
    report.notes["duplicate_events"] = report.notes.get("duplicate_events", 0) + stats.duplicates


def run_rete(policy: Policy, count: int, seed: int, days: Sequence[dt.date] = RETE_AS_OF, chunk: int = 500,
             budget: float | None = None, progress: Progress = _quiet, backend: str = "rete") -> PairReport:
    """The reference-rete pair over the histories of up to `count` generated enterprises, chunk by chunk; stops
    after the chunk that passes `budget` seconds (the report says how many enterprises ran)."""
    report = PairReport(f"reference-{backend}")
    rng = random.Random(seed + 1)
    start = time.perf_counter()
    for records in _chunks(generate_population(count, seed, days), chunk):
        report.population.update(coverage(records))
        histories = [history(rec, rng) for rec in records]
        report.population.update(event_coverage(e for h in histories for e in h))
        compare_rete(policy, histories, days, report, backend)
        report.enterprises += len(records)
        report.seconds = time.perf_counter() - start
        progress(f"[reference-{backend}] {report.enterprises:,}/{count:,} enterprises, {report.evaluations:,} "
                 f"evaluations, {report.disagreements} disagreements, {report.seconds:.0f} s "
                 f"({report.enterprises / report.seconds:.0f} enterprises/s)")
        if budget is not None and report.seconds > budget:
            break
    report.notes["requested"] = count
    report.notes["budget_seconds"] = budget
    return report


# ------------------------------------------------------------------------------------------ main


def _days(text: str) -> list[dt.date]:
    return [dt.date.fromisoformat(d.strip()) for d in text.split(",") if d.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enterprises", type=int, default=100_000, help="enterprises per pair (100,000)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--pairs", default=",".join(PAIRS), help=f"comma-separated, of {', '.join(PAIRS)}")
    parser.add_argument("--as-of", default=",".join(d.isoformat() for d in AS_OF),
                        help="evaluation days of the columnar pair, comma-separated")
    parser.add_argument("--rete-as-of", default=",".join(d.isoformat() for d in RETE_AS_OF),
                        help="days on which the monitor is compared, comma-separated and increasing")
    parser.add_argument("--rete-enterprises", type=int, default=None, help="enterprises of the rete pair "
                        "(default: --enterprises)")
    parser.add_argument("--rete-budget", type=float, default=600.0,
                        help="seconds after which the rete pair stops at the end of a chunk (0: no limit)")
    parser.add_argument("--chunk", type=int, default=2000, help="enterprises per columnar run")
    parser.add_argument("--rete-chunk", type=int, default=500, help="enterprises per monitor")
    args = parser.parse_args(argv)
    pairs = [p.strip() for p in args.pairs.split(",") if p.strip()]
    unknown = set(pairs) - set(PAIRS)
    if unknown:
        parser.error(f"unknown pair {', '.join(sorted(unknown))}: use {', '.join(PAIRS)}")

    def say(line: str) -> None:
        print(line, flush=True)

    import safetyrules.columnar
    import safetyrules.stream.monitor
    import safetyrules.synth  # noqa: F401  (every engine imported before the first chunk)

    policy = load_policy()
    reports: list[PairReport] = []
    if "reference-columnar" in pairs:
        reports.append(run_columnar(policy, args.enterprises, args.seed, _days(args.as_of), args.chunk, say))
    if "reference-rete" in pairs:
        from safetyrules.stream.rete import durable_available

        if not durable_available():
            say("[reference-rete] skipped: durable-rules is not installed (pip install 'safetyrules[stream]')")
        else:
            count = args.rete_enterprises if args.rete_enterprises is not None else args.enterprises
            reports.append(run_rete(policy, count, args.seed, sorted(_days(args.rete_as_of)), args.rete_chunk,
                                    args.rete_budget or None, say))
    failed = False
    for report in reports:
        for example in report.examples:
            say(f"DISAGREEMENT [{report.pair}] " + json.dumps(example, ensure_ascii=False, default=str))
        say(json.dumps(report.to_json(), ensure_ascii=False))
        failed = failed or report.disagreements > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
