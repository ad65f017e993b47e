"""The long differential run of the compiled row engine: compiled against reference on the seed policy.

    .venv/bin/python benchmarks/differential_compiled.py                         # 100,000 enterprises
    .venv/bin/python benchmarks/differential_compiled.py --enterprises 2000 --seed 3
    .venv/bin/python benchmarks/differential_compiled.py --budget 600            # stop after ~10 minutes

What it generates (seeded: the same arguments give the same population, and a shorter run is a prefix of a
longer one): the synthetic town (`safetyrules.synth.generate`), each record then *roughened* by a walk over the
fact contract (`safetyrules.facts.models.Enterprise`), as tests/columnar/strategies.py draws its records: a
share of the records keep their generated facts; in the others each field — at every nesting level, list items
included — may be made absent (unknown) or null (known not to exist), given another value of its type (dates
on the policy's deadlines, month ends, 02-29, near the record's own dates, sometimes at the ends of the
calendar; instants in several offsets; every enumeration code), and a list may become empty, get a twin of an
item or two items on the same date or instant (ties). A roughened value the contract refuses (a remediation
before the hazard was found) is made null, so that every record validates.

What it compares: each enterprise as of every `--as-of` day on `policy.engine(compiled=True)` and on
`policy.engine(compiled=False)` (`RuleEngine.evaluate`, the validated record): every field of every result —
outcome, due_on, days_overdue, days_remaining, delay_days, last_event_on, listed_until, period, reason,
exception, missing, params, rules_used, events, and the results as a whole (dataclass equality) — must be
equal, types included (a date is not an instant, 1 is not True).

The report: a progress line per chunk; the first disagreements in full (rule, field, both values, day and the
record as JSON); a summary with enterprises, evaluations (enterprise × rule × day), disagreements, what the
population held, and each engine's CPU time (`time.process_time`, evaluation only) per enterprise (all days)
and per evaluation day, and their ratio. Exit status 1 on a disagreement. The quick check of the same
comparison is tests/engine/test_compiled_differential.py.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as dt
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from safetyrules import FactError, load_policy
from safetyrules.api import fact_record
from safetyrules.engine.results import RuleResult
from safetyrules.facts._shapes import Shape, field_shapes
from safetyrules.facts.models import Enterprise
from safetyrules.synth import generate

try:  # the days tests/columnar/strategies.py draws from, when the tests are there
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from columnar.strategies import BOUNDARY_DATES, CALENDAR_ENDS
except ImportError:  # pragma: no cover - an installed package without its tests
    BOUNDARY_DATES = [dt.date(2020, 2, 29), dt.date(2020, 12, 31), dt.date(2021, 12, 31), dt.date(2022, 6, 30),
                      dt.date(2022, 12, 31), dt.date(2023, 1, 1)]
    CALENDAR_ENDS = [dt.date(1, 1, 1), dt.date(1, 1, 2), dt.date(9999, 12, 30), dt.date(9999, 12, 31)]
finally:
    sys.path.pop(0)

AS_OF = ("2020-12-31", "2022-06-30", "2023-01-01", "9999-12-31")
"""The default evaluation days: a deadline of the action plan, mid-year, the day after the town's snapshot,
and the last day of the calendar (date arithmetic saturates there; `first_cost_year .. year(as_of) - 1` is
thousands of years long, so the compiled engine defers those rules to the interpreter)."""
OFFSETS = (dt.timezone(dt.timedelta(hours=8)),) * 2 + (dt.UTC, dt.timezone(dt.timedelta(hours=-5)),
                                                        dt.timezone(dt.timedelta(hours=14)))
DAY_STEPS = (0, 0, 1, -1, 7, 30, 31, 90, 365, 366)
WILDNESS = (0.0, 0.0, 0.05, 0.15, 0.15, 0.4)
"""The share of fields a record's walk changes, drawn per record (a third keep their generated facts)."""
FIELDS = ("outcome", "due_on", "days_overdue", "days_remaining", "delay_days", "last_event_on", "listed_until",
          "period", "reason", "exception", "missing", "rules_used")


# ------------------------------------------------------------------------------------------ the population


def kind_of(shape: Shape) -> str:
    if shape.kind == "list":
        assert shape.item is not None
        return f"list<{kind_of(shape.item)}>"
    return str(shape.scalar) if shape.kind == "scalar" else "object"


class Roughener:
    """Roughens validated records of the fact contract (see the module docstring), from one seeded stream."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: list[dt.date] = []  # the record's dates so far: ties and near days are drawn from them

    def day(self) -> dt.date:
        r = self.rng.random()
        if r < 0.35 and self.seen:
            base = self.rng.choice(self.seen)
            base = base.date() if isinstance(base, dt.datetime) else base
            try:
                return base + dt.timedelta(days=self.rng.choice(DAY_STEPS))
            except OverflowError:
                return base
        if r < 0.8:
            return self.rng.choice(BOUNDARY_DATES)
        if r < 0.85:
            return self.rng.choice(CALENDAR_ENDS)
        return dt.date(2018, 1, 1) + dt.timedelta(days=self.rng.randrange(7 * 365))

    def value(self, shape: Shape, name: str) -> Any:
        rng = self.rng
        if shape.kind == "object":
            assert shape.model is not None
            return self.fresh(shape.model)
        if shape.kind == "list":
            assert shape.item is not None
            return [self.value(shape.item, name) for _ in range(rng.choice((0, 1, 1, 2, 3)))]
        match shape.scalar:
            case "bool":
                return rng.random() < 0.5
            case "int" | "decimal":
                return rng.randrange(2018, 2025) if name == "year" else rng.choice((0, 0, 1, 2, 3, 5, 100, 101, 300))
            case "str":
                return rng.choice(("x", "张某", "H1", "S1", "S9", "R1", "electrician", "safety_liability", "other"))
            case "date":
                out = self.day()
                self.seen.append(out)
                return out
            case "datetime":
                minute = rng.randrange(24 * 60)
                day = self.day()
                if day in (dt.date.min, dt.date.max):  # an offset would leave the calendar
                    return dt.datetime.combine(day, dt.time(12), OFFSETS[0])
                return dt.datetime.combine(day, dt.time(minute // 60, minute % 60), rng.choice(OFFSETS))
            case "enum":
                assert shape.enum is not None
                return rng.choice([m.value for m in shape.enum])
        raise AssertionError(shape)

    def fresh(self, model: type[BaseModel]) -> dict[str, Any]:
        """A new record of `model`: each field a value, null or absent."""
        out: dict[str, Any] = {}
        for name, shape in field_shapes(model).items():
            r = self.rng.random()
            if r < 0.6:
                out[name] = self.value(shape, name)
            elif r < 0.8:
                out[name] = None
        return out

    def walk(self, rec: dict[str, Any], model: type[BaseModel], wildness: float) -> None:
        rng = self.rng
        for name, shape in field_shapes(model).items():
            if model is Enterprise and name == "id":
                continue
            if wildness and rng.random() < wildness:
                actions = ["absent", "null", "value"]
                if shape.kind == "list" and isinstance(rec.get(name), list):
                    actions += ["empty", "twin", "tie", "tie"]
                action = rng.choice(actions)
                if action == "absent":
                    rec.pop(name, None)
                elif action == "null":
                    rec[name] = None
                elif action == "value":
                    rec[name] = self.value(shape, name)
                elif action == "empty":
                    rec[name] = []
                else:
                    self.tie(rec[name], shape, twin=action == "twin")
            value = rec.get(name)
            if shape.kind == "object" and isinstance(value, dict) and shape.model is not None:
                self.walk(value, shape.model, wildness)
            elif shape.kind == "list" and isinstance(value, list) and shape.item is not None \
                    and shape.item.model is not None:
                for item in value:
                    if isinstance(item, dict):
                        self.walk(item, shape.item.model, wildness)
            elif isinstance(value, dt.date):
                self.seen.append(value)

    def tie(self, items: list[Any], shape: Shape, twin: bool) -> None:
        """An item twice, or two items on the same date or instant (perhaps written in another offset)."""
        assert shape.item is not None
        if not items:
            items.append(self.value(shape.item, ""))
        rng = self.rng
        dated = sorted({k for i in items if isinstance(i, dict) for k, v in i.items() if isinstance(v, dt.date)})
        if twin or not dated or len(items) < 2:
            items.insert(rng.randrange(len(items) + 1), copy.deepcopy(rng.choice(items)))
            return
        key = rng.choice(dated)
        source = rng.choice([i for i in items if isinstance(i, dict) and isinstance(i.get(key), dt.date)])
        value = source[key]
        if isinstance(value, dt.datetime) and rng.random() < 0.5:
            with contextlib.suppress(OverflowError):  # another offset would leave the calendar: keep its own
                value = value.astimezone(rng.choice(OFFSETS))
        rng.choice([i for i in items if isinstance(i, dict)])[key] = value

    def record(self, rec: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """A roughened copy of a validated record, validated; and whether a refused value had to be nulled."""
        wildness = self.rng.choice(WILDNESS)
        self.seen = []
        rough = copy.deepcopy(rec)
        self.walk(rough, Enterprise, wildness)
        repaired = False
        for _ in range(8):
            try:
                return fact_record(rough), repaired
            except FactError as e:  # a date order of the contract (remediated before found …): that value null
                repaired = True
                for error in e.errors:
                    _null_at(rough, error["path"])
        return rec, True


def _null_at(rec: dict[str, Any], path: str) -> None:
    """Make the value at a loader path (`hazards[0].remediated_on`) null; the record itself when the path is
    empty cannot be: nothing is done."""
    holder: Any = rec
    parts = path.replace("]", "").replace("[", ".").split(".") if path else []
    for part in parts[:-1]:
        holder = holder[int(part)] if isinstance(holder, list) else holder.get(part)
        if holder is None:
            return
    if parts and isinstance(holder, dict):
        holder[parts[-1]] = None


def population(count: int, seed: int, plain: bool = False) -> Iterator[tuple[dict[str, Any], bool]]:
    """`count` validated, roughened records of the town of `seed` (a shorter run is a prefix of a longer one);
    `plain`: the town as generated."""
    rough = Roughener(random.Random(seed))
    for raw in generate(count, seed=seed):
        yield (fact_record(raw), False) if plain else rough.record(fact_record(raw))


def coverage(record: dict[str, Any], seen: set[str], model: type[BaseModel] = Enterprise) -> None:
    """What a record holds: `null <kind>` and `absent <kind>` for the contract's field types (at any depth),
    `tied list dates`."""
    for name, shape in field_shapes(model).items():
        if name == "id":
            continue
        if name not in record:
            seen.add(f"absent {kind_of(shape)}")
            continue
        value = record[name]
        if value is None:
            seen.add(f"null {kind_of(shape)}")
        elif shape.kind == "object" and shape.model is not None:
            coverage(value, seen, shape.model)
        elif shape.kind == "list" and shape.item is not None:
            if shape.item.model is not None:
                for item in value:
                    coverage(item, seen, shape.item.model)
                keys = {k for i in value for k, v in i.items() if isinstance(v, dt.date)}
                for key in keys:
                    days = [i[key] for i in value if isinstance(i.get(key), dt.date)]
                    if len(set(days)) < len(days):
                        seen.add("tied list dates")
            elif shape.item.scalar in ("date", "datetime") and len(set(value)) < len(value):
                seen.add("tied list dates")


# ------------------------------------------------------------------------------------------ the comparison


def _typed(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return (type(value).__name__, tuple(_typed(v) for v in value))
    return (type(value).__name__, value)


def problems(compiled: list[RuleResult], reference: list[RuleResult]) -> list[tuple[str, str, Any, Any]]:
    """(rule, field, compiled value, reference value) for every field that differs."""
    if [r.rule for r in compiled] != [r.rule for r in reference]:
        return [("*", "rules", [r.rule for r in compiled], [r.rule for r in reference])]
    out = []
    for c, r in zip(compiled, reference, strict=True):
        for name in FIELDS:
            mine, theirs = getattr(c, name), getattr(r, name)
            if _typed(mine) != _typed(theirs):
                out.append((r.rule, name, mine, theirs))
        params = ([(p.name, _typed(p.value), p.overridden) for p in c.params],
                  [(p.name, _typed(p.value), p.overridden) for p in r.params])
        if params[0] != params[1]:
            out.append((r.rule, "params", c.params, r.params))
        if [e.to_json() for e in c.events] != [e.to_json() for e in r.events]:
            out.append((r.rule, "events", [e.to_json() for e in c.events], [e.to_json() for e in r.events]))
        if c != r and not any(p[0] == r.rule for p in out):
            out.append((r.rule, "result", c, r))
    return out


def _json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enterprises", type=int, default=100_000, help="enterprises to generate (100,000)")
    parser.add_argument("--seed", type=int, default=2024, help="the seed of the town and of the roughening")
    parser.add_argument("--as-of", nargs="+", default=list(AS_OF), help=f"evaluation days ({' '.join(AS_OF)})")
    parser.add_argument("--chunk", type=int, default=1000, help="enterprises per progress line")
    parser.add_argument("--budget", type=float, default=0.0,
                        help="stop after the chunk that passes this many seconds of wall time (0: no limit)")
    parser.add_argument("--shown", type=int, default=5, help="disagreements printed in full")
    parser.add_argument("--plain", action="store_true", help="the town as generated, not roughened")
    args = parser.parse_args(argv)
    days = [dt.date.fromisoformat(d) for d in args.as_of]

    started = time.perf_counter()
    policy = load_policy()
    compiled = policy.engine(compiled=True)
    reference = policy.engine(compiled=False)
    rules = len(policy.program.rules)
    print(f"compiled vs reference: {args.enterprises:,} {'plain' if args.plain else 'roughened'} enterprises "
          f"(seed {args.seed}), {rules} rules, "
          f"as of {', '.join(map(str, days))}", flush=True)

    enterprises = evaluations = disagreeing = repaired = 0
    cpu = {"compiled": 0.0, "reference": 0.0}
    by_day = {day: {"compiled": 0.0, "reference": 0.0} for day in days}
    fields: Counter[str] = Counter()
    held: Counter[str] = Counter()
    shown = 0
    stopped = False
    chunk: list[dict[str, Any]] = []

    def run(records: list[dict[str, Any]]) -> None:
        nonlocal evaluations, disagreeing, shown
        for day in days:
            t0 = time.process_time()
            got = [compiled.evaluate(r, day) for r in records]
            t1 = time.process_time()
            want = [reference.evaluate(r, day) for r in records]
            t2 = time.process_time()
            cpu["compiled"] += t1 - t0
            cpu["reference"] += t2 - t1
            by_day[day]["compiled"] += t1 - t0
            by_day[day]["reference"] += t2 - t1
            for record, mine, theirs in zip(records, got, want, strict=True):
                evaluations += len(theirs)
                found = problems(mine, theirs)
                if not found:
                    continue
                disagreeing += len({p[0] for p in found})
                fields.update(p[1] for p in found)
                if shown < args.shown:
                    shown += 1
                    print(f"DISAGREEMENT as of {day}, enterprise {record.get('id')}:")
                    for rule, name, a, b in found:
                        print(f"  {rule}.{name}: compiled {a!r}\n  {' ' * len(rule)}  reference {b!r}")
                    print(f"  record: {json.dumps(_json(record), ensure_ascii=False)}", flush=True)

    for record, fixed in population(args.enterprises, args.seed, args.plain):
        seen: set[str] = set()
        coverage(record, seen)
        held.update(seen)
        repaired += fixed
        chunk.append(record)
        if len(chunk) == args.chunk:
            run(chunk)
            enterprises += len(chunk)
            chunk = []
            elapsed = time.perf_counter() - started
            print(f"  {enterprises:>9,} enterprises  {evaluations:>12,} evaluations  {disagreeing} disagreements  "
                  f"{elapsed:7.0f} s", flush=True)
            if args.budget and elapsed > args.budget and enterprises < args.enterprises:
                stopped = True
                break
    if chunk and not stopped:
        run(chunk)
        enterprises += len(chunk)

    per = {k: v / max(enterprises, 1) * 1000 for k, v in cpu.items()}
    summary = {
        "enterprises": enterprises,
        "roughened": not args.plain,
        "stopped_by_budget": stopped,
        "as_of": [str(d) for d in days],
        "evaluations": evaluations,
        "disagreements": disagreeing,
        "disagreeing_fields": dict(fields),
        "cpu_ms_per_enterprise": {k: round(v, 3) for k, v in per.items()},
        "cpu_ms_per_enterprise_day": {k: round(v / len(days), 3) for k, v in per.items()},
        "reference_over_compiled": round(cpu["reference"] / cpu["compiled"], 2) if cpu["compiled"] else None,
        "by_day": {str(d): {"compiled_ms": round(t["compiled"] / max(enterprises, 1) * 1000, 3),
                            "reference_ms": round(t["reference"] / max(enterprises, 1) * 1000, 3),
                            "reference_over_compiled": round(t["reference"] / t["compiled"], 2) if t["compiled"]
                            else None} for d, t in by_day.items()},
        "records_with_a_value_nulled_to_validate": repaired,
        "population": dict(sorted(held.items())),
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    print(f"enterprises {enterprises:,}{' (stopped by --budget)' if stopped else ''}; evaluations {evaluations:,}; "
          f"disagreements {disagreeing}")
    print(f"CPU per enterprise ({len(days)} days): compiled {per['compiled']:.2f} ms, reference "
          f"{per['reference']:.2f} ms, reference/compiled {summary['reference_over_compiled']}")
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 1 if disagreeing else 0


if __name__ == "__main__":
    sys.exit(main())
