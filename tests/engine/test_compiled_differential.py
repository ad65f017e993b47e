"""The compiled row engine (engine/compiled.py) against the reference interpreter, field by field.

For every result of every rule, `RuleEngine(..., compiled=True)` must give what `RuleEngine(..., compiled=False)`
gives: outcome, due_on, days_overdue, days_remaining, delay_days, last_event_on, listed_until, period, reason,
exception, missing, params (names, values, overridden, schedules), rules_used and events — and, as a catch-all,
the whole `to_json()` of the result. Compared on

(a) the seed policy over generated records (tests/columnar/strategies.py, roughened with ties) that hold null
    and absent values of every field type of the fact contract, null enumeration codes and tied list dates, as
    of days that include both ends of the calendar, with param and definition overrides and rules switched off;
(b) generated policies: the random schemas, rules and records of tests/facts/test_random_schemas.py and the
    mutants of the seed policy of tests/fuzz/test_fuzz_policy.py — every one that loads;
(c) the example town (examples/town.jsonl), exhaustively, on six days;
(d) what a caller reads: `policy.evaluate` (compiled, explanations written lazily by the interpreter) gives the
    same `to_json()`, messages, remedies and explanation steps included, as `engine="reference"`.

The quick runs take `SAFETYRULES_COMPILED_EXAMPLES` examples (default 60); the `slow` long runs
`SAFETYRULES_COMPILED_LONG_EXAMPLES` (default 2,000). Other tests below make sure the compiled path really runs
(the comparison would be vacuous if the reference interpreter answered everywhere) and that the comparison
finds a planted defect.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from columnar.strategies import alternative, calendar_dates, dates, enterprise, overrides
from facts import test_random_schemas as random_schemas
from fuzz.test_fuzz_policy import mutant
from safetyrules import FactError, UnknownFieldWarning, load_policy
from safetyrules.api import Policy, fact_record
from safetyrules.check.pipeline import compile_sources
from safetyrules.check.types import LangType
from safetyrules.engine import compiled as compiled_module
from safetyrules.engine import rules as rules_module
from safetyrules.engine.compiled import CompiledEvaluator
from safetyrules.engine.interpreter import Interpreter
from safetyrules.engine.params import ParamTable
from safetyrules.engine.results import Outcome, RuleResult
from safetyrules.engine.rules import RuleEngine
from safetyrules.errors import SafetyRulesError
from safetyrules.facts._shapes import Shape, field_shapes
from safetyrules.facts.as_of import as_of_view
from safetyrules.facts.models import Enterprise

ROOT = Path(__file__).resolve().parents[2]
TOWN = ROOT / "examples" / "town.jsonl"
QUICK_EXAMPLES = int(os.environ.get("SAFETYRULES_COMPILED_EXAMPLES", "60"))
LONG_EXAMPLES = int(os.environ.get("SAFETYRULES_COMPILED_LONG_EXAMPLES", "2000"))
QUICK = settings(max_examples=QUICK_EXAMPLES, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LONG = settings(max_examples=LONG_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

SEED = load_policy()
FAR_DAYS = [dt.date(1, 1, 1), dt.date(1, 1, 2), dt.date(1, 12, 31), dt.date(9999, 1, 1), dt.date(9999, 12, 30),
            dt.date(9999, 12, 31)]
"""Both ends of the calendar the engines compute in (limits.min_date .. limits.max_date): date arithmetic
saturates there, and `first_cost_year .. year(as_of) - 1` is thousands of years long as of 9999."""
TOWN_DAYS = ["0001-01-02", "2019-06-30", "2020-12-31", "2022-06-30", "2023-01-01", "9999-12-31"]

# ------------------------------------------------------------------------------------------ the comparison

FIELDS = ("outcome", "due_on", "days_overdue", "days_remaining", "delay_days", "last_event_on", "listed_until",
          "period", "reason", "exception", "missing", "rules_used", "enterprise", "kind", "implements", "as_of",
          "severity", "effect", "title", "citations")


def _typed(value: Any) -> Any:
    """A value with its type, so that a date never equals an instant and 1 never equals True."""
    if isinstance(value, tuple | list):
        return (type(value).__name__, tuple(_typed(v) for v in value))
    return (type(value).__name__, value)


def _params(result: RuleResult) -> list[Any]:
    return [(p.name, _typed(p.value), p.overridden, _typed(p.schedule)) for p in result.params]


def result_problems(compiled: list[RuleResult], reference: list[RuleResult], where: str = "") -> list[str]:
    """Every (rule, field) where the compiled engine's results differ from the reference engine's."""
    names = ([r.rule for r in compiled], [r.rule for r in reference])
    if names[0] != names[1]:
        return [f"{where}: rules {names[0]} (compiled) vs {names[1]} (reference)"]
    problems = []
    for c, r in zip(compiled, reference, strict=True):
        at = f"{where} {r.enterprise} {r.rule}"
        for name in FIELDS:
            mine, theirs = getattr(c, name), getattr(r, name)
            if _typed(mine) != _typed(theirs):
                problems.append(f"{at} {name}: compiled {mine!r}, reference {theirs!r}")
        if _params(c) != _params(r):
            problems.append(f"{at} params: compiled {_params(c)!r}, reference {_params(r)!r}")
        events = ([e.to_json() for e in c.events], [e.to_json() for e in r.events])
        if events[0] != events[1]:
            problems.append(f"{at} events: compiled {events[0]!r}, reference {events[1]!r}")
        whole = (c.to_json(explanation=False), r.to_json(explanation=False))
        if whole[0] != whole[1] and not problems:
            problems.append(f"{at} to_json: compiled {whole[0]!r}, reference {whole[1]!r}")
    return problems


def _run(engine: RuleEngine, record: Mapping[str, Any], day: dt.date) -> tuple[str, Any]:
    """The results, or the exception an engine raised (both engines must then raise the same)."""
    try:
        return "results", engine.evaluate(record, day)
    except Exception as e:
        return "raised", f"{type(e).__name__}: {e}"


def disagreements(policy: Policy, records: Iterable[Mapping[str, Any]], days: Iterable[dt.date],
                  params: Mapping[str, Any] | None = None, disabled: frozenset[str] = frozenset()) -> list[str]:
    """Every (day, record, rule, field) where compiled and reference differ, on validated records."""
    compiled = policy.engine(params, disabled, compiled=True)
    reference = policy.engine(params, disabled, compiled=False)
    assert compiled is not reference and compiled.compiler is not None and reference.compiler is None
    problems: list[str] = []
    days = list(days)
    for record in records:
        for day in days:
            (kind_c, got), (kind_r, want) = _run(compiled, record, day), _run(reference, record, day)
            if kind_c != kind_r or kind_c == "raised":
                if (kind_c, got) != (kind_r, want):
                    problems.append(f"{day} {record.get('id')}: compiled {kind_c} {got!r}, reference {kind_r} "
                                    f"{want!r}")
                continue
            problems.extend(result_problems(got, want, f"{day}"))
    return problems


def _report(problems: list[str], *context: Any) -> str:
    return "\n".join([*map(str, context), *problems[:20], f"({len(problems)} problems)"])


# ------------------------------------------------------------------------------------------ (a) the seed policy

KeyPath = tuple[Any, ...]


def _dated_keys(items: list[Any]) -> list[str]:
    return sorted({k for item in items if isinstance(item, dict) for k, v in item.items()
                   if isinstance(v, dt.date)})


def _lists(value: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, list[Any]]]:
    """The non-empty lists of a record, nested ones included, with their paths."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _lists(v, (*path, k))
    elif isinstance(value, list) and value:
        yield path, value
        for i, v in enumerate(value):
            yield from _lists(v, (*path, i))


@st.composite
def tied(draw: st.DrawFn, raw: dict[str, Any]) -> dict[str, Any]:
    """`raw` with up to two ties: an item of a list twice, or one item given another's date (or instant,
    perhaps written in another offset) — the `latest`/`earliest`/`find` ties the engines must break alike."""
    out = copy.deepcopy(raw)
    for _ in range(draw(st.integers(0, 2))):
        lists = list(_lists(out))
        if not lists:
            break
        _, items = draw(st.sampled_from(lists))
        keys = _dated_keys(items)
        if not keys or len(items) < 2 or draw(st.integers(0, 2)) == 0:
            twin = copy.deepcopy(draw(st.sampled_from(items)))
            items.insert(draw(st.integers(0, len(items))), twin)
            continue
        key = draw(st.sampled_from(keys))
        sources = [i for i in items if isinstance(i, dict) and isinstance(i.get(key), dt.date)]
        targets = [i for i in items if isinstance(i, dict)]
        value = draw(st.sampled_from(sources))[key]
        if isinstance(value, dt.datetime) and draw(st.booleans()):
            with contextlib.suppress(OverflowError):  # another offset would leave the calendar: keep its own
                value = value.astimezone(dt.timezone(dt.timedelta(hours=draw(st.sampled_from([-5, 0, 8, 14])))))
        draw(st.sampled_from(targets))[key] = value
    return out


@st.composite
def rough_records(draw: st.DrawFn, most: int = 3) -> list[dict[str, Any]]:
    """One to `most` validated records of the fact contract: values, nulls, absences, ties; dates near the
    policy's deadlines, or anywhere in the calendar, its ends included."""
    days = draw(st.sampled_from([dates, dates, calendar_dates]))
    out = []
    for i in range(draw(st.integers(1, most))):
        raw = draw(enterprise(f"E{i}", days))
        rough = draw(tied(raw))
        try:
            out.append(fact_record(rough))
        except FactError:  # a tie broke a date order of the contract (remediated before found …)
            out.append(fact_record(raw))
    return out


def _kind(shape: Shape) -> str:
    if shape.kind == "list":
        assert shape.item is not None
        return f"list<{_kind(shape.item)}>"
    return str(shape.scalar) if shape.kind == "scalar" else "object"


def _contract_kinds(model: Any = Enterprise) -> set[str]:
    out = set()
    for name, shape in field_shapes(model).items():
        if name != "id":
            out.add(_kind(shape))
        inner = shape.item if shape.kind == "list" else shape
        if inner is not None and inner.model is not None:
            out |= _contract_kinds(inner.model)
    return out


def roughness(records: list[dict[str, Any]]) -> set[str]:
    """What the records hold: `null <kind>` and `absent <kind>` for the field types of the contract (at any
    depth), `tied list dates` (two items of a list with the same date or instant, or a date twice)."""
    seen: set[str] = set()

    def walk(value: dict[str, Any], model: Any) -> None:
        for name, shape in field_shapes(model).items():
            if name == "id":
                continue
            if name not in value:
                seen.add(f"absent {_kind(shape)}")
                continue
            v = value[name]
            if v is None:
                seen.add(f"null {_kind(shape)}")
            elif shape.kind == "object" and shape.model is not None:
                walk(v, shape.model)
            elif shape.kind == "list" and shape.item is not None:
                if shape.item.model is not None:
                    for item in v:
                        walk(item, shape.item.model)
                    for key in _dated_keys(v):
                        days = [i[key] for i in v if isinstance(i.get(key), dt.date)]
                        if len(set(days)) < len(days):
                            seen.add("tied list dates")
                elif len(set(v)) < len(v) and shape.item.scalar in ("date", "datetime"):
                    seen.add("tied list dates")

    for record in records:
        walk(record, Enterprise)
    return seen


ROUGHNESS = sorted({f"{state} {kind}" for kind in _contract_kinds() for state in ("null", "absent")}
                   | {"tied list dates"})


def test_the_contract_has_the_field_types_the_generator_must_cover() -> None:
    kinds = _contract_kinds()
    assert {"bool", "int", "str", "date", "datetime", "enum", "object", "list<date>", "list<enum>",
            "list<object>"} <= kinds, kinds


def test_the_generated_records_hold_every_kind_of_roughness() -> None:
    """The agreement below is not vacuous: the records it is checked on hold each kind of roughness (a fixed
    sample of the same strategy)."""
    seen: set[str] = set()

    @settings(max_examples=400, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(rough_records())
    def sample(records: list[dict[str, Any]]) -> None:
        seen.update(roughness(records))

    sample()
    assert [what for what in ROUGHNESS if what not in seen] == []


def _seed_types() -> dict[str, LangType]:
    """The seed policy's params and definitions (a definition may be overridden like a param)."""
    defined = {n: d.value.checked_type for n, d in SEED.checked.defines.items()}
    return {**SEED.checked.param_types, **defined}


AS_OF = st.lists(st.one_of(st.sampled_from(FAR_DAYS), dates(), calendar_dates()), min_size=1, max_size=3)
DISABLED = st.one_of(st.just(frozenset()), st.frozensets(st.sampled_from([r.name for r in SEED.program.rules]),
                                                        max_size=3))


def _seed_case(records: list[dict[str, Any]], days: list[dt.date], params: dict[str, Any],
               disabled: frozenset[str]) -> None:
    problems = disagreements(SEED, records, days, params, disabled)
    assert problems == [], _report(problems, records, days, params, disabled)


@QUICK
@given(records=rough_records(), days=AS_OF, params=overrides(_seed_types()), disabled=DISABLED)
def test_seed_policy_compiled_equals_reference(records: list[dict[str, Any]], days: list[dt.date],
                                               params: dict[str, Any], disabled: frozenset[str]) -> None:
    _seed_case(records, days, params, disabled)


@pytest.mark.slow
@LONG
@given(records=rough_records(4), days=AS_OF, params=overrides(_seed_types()), disabled=DISABLED)
def test_seed_policy_compiled_equals_reference_long_run(records: list[dict[str, Any]], days: list[dt.date],
                                                        params: dict[str, Any], disabled: frozenset[str]) -> None:
    _seed_case(records, days, params, disabled)


# ------------------------------------------------------------------------------------------ (b) generated policies

POLICY_DAYS = st.lists(st.one_of(st.sampled_from(FAR_DAYS), st.dates(dt.date(2019, 1, 1), dt.date(2024, 12, 31)),
                                 st.dates()), min_size=1, max_size=3)


def _schema_case(data: st.DataObject) -> None:
    drawn = data.draw(random_schemas.policies(), label="policy")
    population = data.draw(random_schemas.population(drawn.schema, False), label="records")
    days = data.draw(POLICY_DAYS, label="days")
    policy = random_schemas.load(drawn.text)  # every drawn policy checks clean (test_random_schemas)
    types = policy.checked.param_types
    params = data.draw(overrides(types), label="params") if types else {}
    records = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownFieldWarning)
        for raw, _ in population:
            records.append(fact_record(raw, contract=policy.contract))
    problems = disagreements(policy, records, days, params)
    assert problems == [], _report(problems, drawn.text, *records, days, params)


@QUICK
@given(data=st.data())
def test_random_schema_policies_compiled_equals_reference(data: st.DataObject) -> None:
    _schema_case(data)


@pytest.mark.slow
@LONG
@given(data=st.data())
def test_random_schema_policies_compiled_equals_reference_long_run(data: st.DataObject) -> None:
    _schema_case(data)


def _mutant_case(files: dict[str, str], raws: list[dict[str, Any]], days: list[dt.date]) -> None:
    compilation = compile_sources(files)
    if compilation.errors:
        return  # refused: nothing to evaluate (tests/fuzz checks the refusal)
    try:
        policy = Policy(compilation)
    except SafetyRulesError:
        return
    records = []
    for raw in raws:
        try:
            records.append(fact_record(raw, contract=policy.contract))
        except FactError:  # the mutant changed the facts' bounds (`employee_count: int >= 1`): not its record
            continue
    problems = disagreements(policy, records, days)
    assert problems == [], _report(problems, *(f"{n}:\n{t}" for n, t in files.items() if SEED_FILES.get(n) != t),
                                   *records, days)


SEED_FILES = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "policies" / "annex4").glob("*.policy"))}
MUTANT_DAYS = st.lists(st.one_of(st.dates(), st.sampled_from([dt.date.min, dt.date.max, dt.date(2022, 6, 30)])),
                       min_size=1, max_size=3)


@QUICK
@given(files=mutant(), raws=st.lists(enterprise("F"), min_size=1, max_size=2), days=MUTANT_DAYS)
def test_seed_policy_mutants_compiled_equals_reference(files: dict[str, str], raws: list[dict[str, Any]],
                                                       days: list[dt.date]) -> None:
    _mutant_case(files, raws, days)


@pytest.mark.slow
@LONG
@given(files=mutant(), raws=st.lists(enterprise("F", calendar_dates), min_size=1, max_size=3), days=MUTANT_DAYS)
def test_seed_policy_mutants_compiled_equals_reference_long_run(files: dict[str, str], raws: list[dict[str, Any]],
                                                                days: list[dt.date]) -> None:
    _mutant_case(files, raws, days)


# ------------------------------------------------------------------------------------------ (c) the example town


def _town() -> list[dict[str, Any]]:
    return [fact_record(json.loads(line)) for line in TOWN.read_text(encoding="utf-8").splitlines() if line.strip()]


TOWN_RECORDS = _town()


@pytest.mark.parametrize("day", TOWN_DAYS)
def test_town_compiled_equals_reference(day: str) -> None:
    assert len(TOWN_RECORDS) == 300
    problems = disagreements(SEED, TOWN_RECORDS, [dt.date.fromisoformat(day)])
    assert problems == [], _report(problems)


def _each_override() -> list[tuple[str, Any]]:
    """One value per param and definition of the seed policy that differs from its value on 2022-06-30."""
    table = ParamTable(SEED.program)
    out = [(n, alternative(t, table.value(n, dt.date(2022, 6, 30))))
           for n, t in sorted(SEED.checked.param_types.items())]
    out += [("key_industries", frozenset({"retail"})), ("has_responsibility_system", True),
            ("first_cost_year", 2021), ("last_comprehensive_assessment", dt.date(2021, 2, 28)),
            ("last_dual_report", dt.date(2020, 1, 31))]
    return out


@pytest.mark.parametrize(("name", "value"), _each_override())
def test_town_with_each_param_or_definition_overridden(name: str, value: Any) -> None:
    day = dt.date(2021, 6, 30) if len(name) % 2 else dt.date(2023, 12, 31)
    problems = disagreements(SEED, TOWN_RECORDS[::6], [day], {name: value})
    assert problems == [], _report(problems, name, value)


# ------------------------------------------------------------------------------------------ (d) what callers read

EXPLAINED_DAYS = ["2020-12-31", "2022-06-30", "9999-12-31"]


@pytest.mark.parametrize("day", EXPLAINED_DAYS)
@pytest.mark.parametrize("explain", [True, False])
def test_town_messages_remedies_and_steps_equal_the_reference(day: str, explain: bool) -> None:
    records = TOWN_RECORDS[::2] if not explain else TOWN_RECORDS[::5]
    differ = []
    for record in records:
        compiled = SEED.evaluate(record, day, explain=explain)
        reference = SEED.evaluate(record, day, explain=explain, engine="reference")
        got, want = _same_source(compiled.to_json()), _same_source(reference.to_json())
        if got != want:
            differ.append(f"{record['id']}: {json.dumps(got, default=str)[:400]} vs "
                          f"{json.dumps(want, default=str)[:400]}")
    assert differ == [], _report(differ)
    # the compiled results were annotated lazily, yet messages are there (a finding has one)
    sample = SEED.evaluate(records[0], day, explain=explain)
    assert all(r.message is not None for r in sample.results)
    assert any(r.steps for r in sample.results) == explain


# ------------------------------------------------------------------------------------------ it really runs compiled


def _decided_record(day: dt.date) -> dict[str, Any]:
    """A town record whose every result is decided (no unknown outcome, no unknown event) on `day`."""
    engine = SEED.engine(compiled=False)
    for record in TOWN_RECORDS:
        results = engine.evaluate(record, day)
        if all(r.outcome is not Outcome.UNKNOWN and all(e.outcome is not Outcome.UNKNOWN for e in r.events)
               for r in results):
            return record
    raise AssertionError("no town record is decided on every rule")


def _undecided_record(day: dt.date) -> dict[str, Any]:
    engine = SEED.engine(compiled=False)
    for record in TOWN_RECORDS:
        if any(r.outcome is Outcome.UNKNOWN for r in engine.evaluate(record, day)):
            return record
    raise AssertionError("no town record has an unknown result")


def test_the_compiled_engine_evaluates_with_a_compiled_evaluator() -> None:
    day = dt.date(2022, 6, 30)
    view = as_of_view(dict(TOWN_RECORDS[0]), day, SEED.program.contract.as_of)
    compiled = RuleEngine(SEED.program, ParamTable(SEED.program), compiled=True)
    reference = RuleEngine(SEED.program, ParamTable(SEED.program))  # the default: the reference engine
    assert isinstance(compiled.interpreter(view, day, lambda _: "unknown"), CompiledEvaluator)
    assert isinstance(compiled.interpreter(view, day, lambda _: "unknown", trace=True), Interpreter)
    assert isinstance(reference.interpreter(view, day, lambda _: "unknown"), Interpreter)
    assert SEED.engine().compiler is not None and SEED.engine(compiled=False).compiler is None


class _Counter:
    """Counts the reference interpreter's evaluations and constructions while installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.evals = 0
        self.built = 0
        original_eval, original_init = Interpreter.eval, Interpreter.__init__

        def counted_eval(interp: Interpreter, e: Any, env: Any) -> Any:
            self.evals += 1
            return original_eval(interp, e, env)

        def counted_init(interp: Interpreter, *args: Any, **kwargs: Any) -> None:
            self.built += 1
            original_init(interp, *args, **kwargs)

        monkeypatch.setattr(Interpreter, "eval", counted_eval)
        monkeypatch.setattr(Interpreter, "__init__", counted_init)


def test_a_decided_record_never_reaches_the_reference_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    day = dt.date(2022, 6, 30)
    record = _decided_record(day)
    want = SEED.engine(compiled=False).evaluate(record, day)
    counter = _Counter(monkeypatch)
    compiled = RuleEngine(SEED.program, ParamTable(SEED.program), compiled=True)
    got = compiled.evaluate(record, day)
    assert (counter.evals, counter.built) == (0, 0)
    assert compiled.compiler is not None and compiled.compiler.built  # closures were built and run
    assert result_problems(got, want) == []
    # the probe works: the reference engine does call the interpreter's eval
    RuleEngine(SEED.program, ParamTable(SEED.program), compiled=False).evaluate(record, day)
    assert counter.evals > 100 and counter.built == 1


def test_only_unknown_results_ask_the_reference_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The interpreter names the missing facts of unknown results only, and only when they are read: it
    evaluates those rules, not all."""
    day = dt.date(2022, 6, 30)
    record = _undecided_record(day)
    counter = _Counter(monkeypatch)
    results = RuleEngine(SEED.program, ParamTable(SEED.program), compiled=True).evaluate(record, day)
    assert counter.evals == 0  # nothing read yet
    unknown = [r for r in results if r.outcome is Outcome.UNKNOWN]
    assert unknown and all(r.missing for r in unknown)
    naming_evals = counter.evals
    counter.evals = 0
    RuleEngine(SEED.program, ParamTable(SEED.program), compiled=False).evaluate(record, day)
    assert 0 < naming_evals < counter.evals


def test_far_days_defer_long_ranges_to_the_reference_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    """As of 9999-12-31 `first_cost_year .. year(as_of) - 1` is longer than RANGE_ELEMENTS: the rules over it
    are left to the interpreter (`Deferred`), so the far days of the comparisons above test that path too."""
    day = dt.date(9999, 12, 31)
    deferred: list[str] = []
    original = RuleEngine._rule

    def spy(engine: RuleEngine, rule: Any, interp: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(engine, rule, interp, *args, **kwargs)
        except compiled_module.Deferred:
            deferred.append(rule.name)
            raise

    monkeypatch.setattr(rules_module.RuleEngine, "_rule", spy)
    engine = RuleEngine(SEED.program, ParamTable(SEED.program), compiled=True)
    for record in TOWN_RECORDS[:30]:
        engine.evaluate(record, day)
    assert {"safety_cost_extraction", "safety_cost_audit"} & set(deferred), deferred


def test_the_comparison_finds_a_planted_defect(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a tautology: a compiled `>=` that means `>` is caught on the town (the reference is untouched)."""
    original = compiled_module.compare

    def off_by_one(op: str, left: Any, right: Any) -> Any:
        return original(">" if op == ">=" else op, left, right)

    monkeypatch.setattr(compiled_module, "compare", off_by_one)
    policy = load_policy()  # a Policy of its own: its engines are built with the defect in place
    problems = disagreements(policy, TOWN_RECORDS[:100], [dt.date(2022, 6, 30), dt.date(2020, 12, 31)])
    assert problems, "a wrong comparison in the compiled engine went unnoticed"


def _same_source(doc: dict[str, Any]) -> dict[str, Any]:
    """The result as data, but for the engine its provenance names (which is what differs by design)."""
    return {**doc, "provenance": {k: v for k, v in doc["provenance"].items() if k != "engine"}}
