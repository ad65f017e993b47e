"""The quick validation of `fact_record` (`facts/_fast.py`) against the full checks it short-cuts.

`fact_record` first tries a native validator that builds the engine's dict directly and only accepts records of
the contract's own fields; everything else takes the full way (`validate_record`, then `model_dump`). These
tests compare it with the full way alone, as `fact_record` was before: the same dict (types, values, time
zones, key order), the same errors (paths, messages in both languages, codes, order), the same warnings — on
the generated town, on the town as validated dicts, and on thousands of records spoiled at random places with
hostile values, under the default limits and under tight ones, for the built-in and the declared contract.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import random
import warnings
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import pytest
from pydantic import BaseModel

from safetyrules import FactError, UnknownFieldWarning, load_policy
from safetyrules.api import fact_record
from safetyrules.facts._fast import quick_validator
from safetyrules.facts.checks import BadValue, DuplicateKeys, validate_record
from safetyrules.facts.contract import FactContract
from safetyrules.facts.declared import build_models
from safetyrules.facts.models import LOCAL_TIMEZONE, Enterprise, Industry, Principal, StaffRole
from safetyrules.limits import DEFAULT, Limits
from safetyrules.synth import generate

TOWN = [json.loads(json.dumps(r, default=str)) for r in generate(120, seed=11)]


def _full(enterprise: Any, limits: Limits, model: type[BaseModel]) -> dict[str, Any]:
    """`fact_record` of a mapping as it was: the full checks, then the dump."""
    check = validate_record(dict(enterprise) if isinstance(enterprise, dict) else enterprise, limits, model=model)
    if check.model is None:
        raise FactError([{"path": e.path, "message": e.message, "message_zh": e.message_zh, "code": e.code}
                         for e in check.errors])
    for path, suggestion in check.unknown_fields.items():
        hint = f"; did you mean {suggestion!r}? / 是否应为 {suggestion}？" if suggestion is not None else ""
        warnings.warn(f"unknown field {path!r}: kept, ignored by the rules{hint}", UnknownFieldWarning, stacklevel=2)
    return check.model.model_dump(exclude_unset=True)


def _typed(value: Any) -> Any:
    """A value with every type, key order and time zone spelt out."""
    if isinstance(value, dict):
        return (type(value), [(k, _typed(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return (type(value), [_typed(v) for v in value])
    return (type(value), value, getattr(value, "tzinfo", None))


def _outcome(call: Any) -> tuple[Any, ...]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: tuple[Any, ...] = ("ok", _typed(call()))
        except FactError as exc:
            result = ("rejected", exc.errors)
    return (*result, [(w.category, str(w.message)) for w in caught])


def _same(record: Any, limits: Limits = DEFAULT, model: type[BaseModel] = Enterprise) -> tuple[Any, ...]:
    contract = FactContract(model, {}, LOCAL_TIMEZONE)
    ours = _outcome(lambda: fact_record(record, limits=limits, contract=contract))
    theirs = _outcome(lambda: _full(record, limits, model))
    assert ours == theirs, record
    return ours


@pytest.fixture(scope="module")
def declared() -> type[BaseModel]:
    schema = load_policy().checked.schema
    assert schema is not None
    return build_models(schema).subject


def test_the_town_takes_the_quick_way_to_the_same_dict(declared: type[BaseModel]) -> None:
    for model in (Enterprise, declared):
        quick = quick_validator(model, DEFAULT.max_int, DEFAULT.max_list_items)
        assert quick is not None
        for record in TOWN:
            assert quick.record(dict(record), DEFAULT) is not None
            ok, dumped, _ = _same(record, model=model)
            assert ok == "ok"
            # a validated dict (dates, instants, enumerations as objects) is accepted again, quickly, unchanged
            again = fact_record(validate_record(dict(record), model=model).model.model_dump(exclude_unset=True),  # type: ignore[union-attr]
                                contract=FactContract(model, {}, LOCAL_TIMEZONE))
            assert _typed(again) == dumped


class _Date(dt.date):
    pass


class _Text(str):
    pass


class _Number(enum.IntEnum):
    FIVE = 5


def _duplicated(value: dict[str, Any]) -> DuplicateKeys:
    marked = DuplicateKeys(value)
    marked.duplicates = tuple(value)[:1] or ("x",)
    return marked


EIGHT = dt.timezone(dt.timedelta(hours=8))
VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 7, 10**13, 10**13 + 1, -(10**13), -(10**13) - 1, 2**70, 1.0, 1.5, "5", "true",
    "", " ", "x", "中文", "a\ud800", "\udc00中", _Text("text"), _Text("2020-01-01"), b"bytes", b"2020-01-01",
    bytearray(b"2020-01-01"), "2020-01-01",
    "2019-12-31", "2020-02-30", "2020-00-10", "2020-04-31", "2000-02-29", "1900-02-29",
    "0000-01-01", "9999-12-31", "2020-1-01", "２０２０-01-01", "20200101", "2020-W01-1",
    "2020-01-01T00:00:00", "2020-01-01T10:00:00+08:00", "2020-01-01T10:00:00Z", "2020-01-01 10:00+05:45",
    "2020-01-01T10:00:00", "2020-01-01T10:00:00+08:00\ud800", dt.date(2020, 1, 1), _Date(2021, 5, 6),
    dt.datetime(2020, 1, 1), dt.datetime(2020, 1, 1, 12, tzinfo=dt.UTC), dt.datetime(2020, 1, 1, 12, tzinfo=EIGHT),
    decimal.Decimal("1.5"), _Number.FIVE, Industry.MINING, "mining", "minning", StaffRole.GENERAL, "general",
    [], [1], ["2020-01-01"], ["2020-01-01", "yesterday"], ["enterprise", "team"], ("2020-01-01",), ["a\ud800"],
    {}, {"a": 1}, {"found_on": "2022-05-03", "remediated_on": "2022-05-01"}, {"established_on": "2020-01-01"},
    {"name": "x", "\ud800": 1}, [[[[[[]]]]]], [{"date": "2021-01-01"}] * 4, MappingProxyType({"name": "x"}),
    Principal(name="x"), BadValue("json_invalid", "NaN is not a JSON number", "NaN 不是 JSON 数值"),
]


def _places(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _places(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _places(item, (*path, i))


def _spoiled(rng: random.Random, record: dict[str, Any]) -> dict[str, Any]:
    record = json.loads(json.dumps(record))
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        path = rng.choice(list(_places(record))[1:])
        parent: Any = record
        for key in path[:-1]:
            parent = parent[key]
        key, how = path[-1], rng.random()
        if how < 0.7:
            parent[key] = rng.choice(VALUES)
        elif how < 0.8 and isinstance(parent, dict):
            del parent[key]
        elif how < 0.9 and isinstance(parent, dict):
            parent[rng.choice(("extra", "found_onn", "name"))] = rng.choice(VALUES)
        elif isinstance(parent[key], dict):
            parent[key] = _duplicated(parent[key])
        else:
            parent[key] = rng.choice(VALUES)
    return record


TIGHT = DEFAULT.replace(max_list_items=12, max_int=200_000)
SHALLOW = DEFAULT.replace(max_nesting=3)  # the contract needs 4: every record with a list of objects is refused


@pytest.mark.parametrize("limits", [DEFAULT, TIGHT, DEFAULT.replace(max_nesting=4), SHALLOW,
                                    DEFAULT.replace(max_int=10**30 - 1)],
                         ids=["default", "tight", "nesting-4", "nesting-3", "wide-int"])
def test_spoiled_records_give_the_same_dict_errors_and_warnings(limits: Limits, declared: type[BaseModel]) -> None:
    rng = random.Random(20261204)
    outcomes: set[str] = set()
    for n in range(1500):
        record = _spoiled(rng, rng.choice(TOWN))
        outcomes.add(_same(record, limits, Enterprise if n % 3 else declared)[0])
    assert outcomes == {"ok", "rejected"}


@pytest.mark.parametrize("record", [
    {"id": "X"}, {"id": ""}, {"id": " "}, {}, {"name": "x"}, [], "text", {"id": "X", "extra": {"a": [1]}},
    {"id": "X", "hazards": [{"found_on": "2022-05-03", "remediated_on": "2022-05-01"}]},
    {"id": "X", "hazards": [{"found_on": "2022-05-03", "plan": _duplicated({"funds": True})}]},
    {"id": "X", "accidents": [{"occurred_at": "2021-08-09T10:20:00+00:00",
                               "reported_at": "2021-08-09T18:19:00+08:00"}]},
    {"id": "X", "accidents": [{"occurred_at": "9999-12-31T23:00:00-05:00"}]},
    {"id": "X", "internal_assessments": ["2021-01-15", dt.date(2020, 1, 1), _Date(2020, 2, 2)]},
    {"id": "X", "internal_assessments": ("2021-01-15",)}, {"id": "X", "established_on": b"2020-01-01"},
    {"id": "X", "internal_assessments": [b"2021-01-15"], "staff": [{"hired_on": bytearray(b"2020-01-01")}]},
    {"id": "X", "safety_costs": [{"year": 0}, {"year": 9999, "used": _Number.FIVE}]},
    {"id": "X", "employee_count": True}, {"id": "X", "employee_count": 10**13}, {"id": "X", "employee_count": -0},
    {"id": _Text("X"), "name": b"x", "industry": Industry.MINING, "risk_control": {"levels": ["post", "team"]}},
    {"id": "X", "name": "中\ud800"}, {"id": "\udc00"},
    {"id": "X", "staff": [{"id": "E1", "special_operation": "a\ud800"}]},
    {"id": "X", "name": Industry.MINING, "village": _Text("v"), "staff": [{"id": StaffRole.GENERAL}]},
    {"id": "X", "established_on": Industry.MINING, "industry": "mining", "principal": {"role": Industry.MINING}},
    {"id": "X", "principal": Principal(name="x")}, {"id": "X", "principal": MappingProxyType({"name": "x"})},
    _duplicated({"id": "X", "name": "x"}),
], ids=repr)
def test_edge_records(record: Any) -> None:
    for limits in (DEFAULT, TIGHT, SHALLOW):
        _same(record, limits)


def test_a_nested_duplicate_key_is_found() -> None:
    record = {"id": "X", "staff": [{"id": "E1"}, _duplicated({"id": "E2"})]}
    ok, errors, _ = _same(record)
    assert ok == "rejected" and errors[0]["code"] == "duplicate_key"


# one field of each kind (and a list item, a nested object's field, a list of objects), every value in each
PLACES: list[tuple[Any, ...]] = [
    ("id",), ("name",), ("employee_count",), ("above_designated_size",), ("industry",), ("established_on",),
    ("internal_assessments",), ("internal_assessments", 0), ("principal",), ("principal", "name"),
    ("principal", "competence_certificate_expires_on"), ("staff",), ("staff", 0), ("staff", 0, "hired_on"),
    ("safety_costs", 0, "year"), ("safety_costs", 0, "used"), ("risk_control", "levels"),
    ("risk_control", "levels", 0), ("hazards", 0, "remediated_on"), ("hazards", 0, "plan"),
    ("hazards", 0, "plan", "time_limit"), ("accidents", 0, "occurred_at"), ("accidents", 0, "reported_at"),
    ("insurance", 0, "ends_on"), ("extra",),
]
BASE: dict[str, Any] = {
    "id": "X", "name": "企业", "employee_count": 3, "above_designated_size": True, "industry": "mining",
    "established_on": "2015-01-01", "internal_assessments": ["2021-01-15"],
    "principal": {"name": "某", "competence_certificate_expires_on": "2024-01-01"},
    "staff": [{"id": "E1", "hired_on": "2016-01-01"}], "safety_costs": [{"year": 2021, "used": 5}],
    "risk_control": {"established_on": "2018-01-01", "levels": ["team"]},
    "hazards": [{"found_on": "2019-12-31", "remediated_on": "2020-01-02", "plan": {"time_limit": "2020-02-01"}}],
    "accidents": [{"occurred_at": "2019-12-31T23:00:00+00:00", "reported_at": "2020-01-01T09:00:00+08:00"}],
    "insurance": [{"starts_on": "2019-12-31", "ends_on": "2020-12-30"}],
}


@pytest.mark.parametrize("place", PLACES, ids=lambda p: ".".join(map(str, p)))
def test_every_value_at_every_kind_of_field(place: tuple[Any, ...], declared: type[BaseModel]) -> None:
    assert _same(BASE)[0] == "ok"
    for value in VALUES:
        record = json.loads(json.dumps(BASE))
        parent = record
        for key in place[:-1]:
            parent = parent[key]
        parent[place[-1]] = value
        for model in (Enterprise, declared):
            _same(record, DEFAULT, model)
        _same(record, TIGHT)


UNKNOWN: list[dict[str, Any]] = [
    {"id": "X", "remark": "x"},
    {"remark": "x", "id": "X", "nmae": "typo", "name": "n", "extra": {"a": [1, 2.5, None, True, {"b": "中"}]}},
    {"id": "X", "staff": [{"id": "E1", "phone": "1"}, {"phone": "2", "hiredon": "2020-01-01"}],
     "principal": {"name": "p", "nmae": "p"}, "hazards": [{"found_on": "2020-01-01", "plan": {"fund": True}}]},
    {"id": "X", "extra": ("a", "b")}, {"id": "X", "extra": {1: "a"}}, {"id": "X", "extra": dt.date(2020, 1, 1)},
    {"id": "X", "extra": {"a": dt.date(2020, 1, 1)}}, {"id": "X", "extra": [_Text("a")]},
    {"id": "X", "extra": _Text("a")},
    {"id": "X", "extra": 1.5, "more": float("nan"), "big": 2**80, "no": None}, {"id": "X", "extra": decimal.Decimal(1)},
    {"id": "X", "extra": Principal(name="x")}, {"id": "X", "extra": [Principal(name="x")]}, {"id": "X", "extra": b"x"},
    {"id": "X", "extra": [[[[[[[[[[1]]]]]]]]]]}, {"id": "X", "staff": [{"extra": [[[1]]]}]},
    {"id": "X", "extra": list(range(20))}, {"id": "X", "extra": {"k": list(range(20))}},
    {"id": "X", "extra": "a\ud800"}, {"id": "X", "extra\ud800": 1}, {"id": "X", "extra": {"\ud800": 1}},
    {"id": "X", "extra": ["\ud800"]}, {"id": "X", 5: "five"}, {"id": "X", "extra": _duplicated({"a": 1})},
    {"id": "X", "extra": BadValue("json_invalid", "NaN is not a JSON number", "NaN 不是 JSON 数值")},
    {"id": "X", "extra": [BadValue("json_invalid", "NaN is not a JSON number", "NaN 不是 JSON 数值")]},
    {"id": "X", "staff": [_duplicated({"id": "E1", "phone": "1"})]},
    {"id": "X", "principal": {"phone": "1"}, "name": 5},
    {"id": "X", "principal": MappingProxyType({"name": "x", "phone": "1"})},
]


@pytest.mark.parametrize("record", UNKNOWN, ids=repr)
def test_unknown_fields(record: dict[str, Any], declared: type[BaseModel]) -> None:
    for limits in (DEFAULT, TIGHT, SHALLOW, DEFAULT.replace(max_nesting=5), DEFAULT.replace(max_nesting=6)):
        for model in (Enterprise, declared):
            _same(record, limits, model)


def test_unknown_fields_take_the_quick_way() -> None:
    quick = quick_validator(Enterprise, DEFAULT.max_int, DEFAULT.max_list_items)
    assert quick is not None
    found = quick.record(dict(UNKNOWN[2]), DEFAULT)
    assert found is not None
    assert found[1] == {"staff[].phone": None, "staff[].hiredon": "hired_on", "principal.nmae": "name",
                        "hazards[].plan.fund": "funds"}
    ok, _, caught = _same(UNKNOWN[2])
    assert ok == "ok" and len(caught) == 4
    # an unknown field's value is copied, as model_dump copied it: changing the result leaves the input alone
    given = {"id": "X", "remark": {"a": [1]}}
    found = quick.record(given, DEFAULT)
    assert found is not None and found[0] == given and found[0]["remark"]["a"] is not given["remark"]["a"]
    for record in TOWN[:20]:
        record = {**record, "remark": {"a": [1]}, "staff": [{**s, "phone": "1"} for s in record.get("staff") or []]}
        assert quick.record(record, DEFAULT) is not None
        _same(record)
