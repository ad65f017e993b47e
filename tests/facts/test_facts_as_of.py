"""The as-of view: facts dated after the evaluation date have not happened yet."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from safetyrules.facts import EVENT_DATE_PATHS, KEPT_DATE_PATHS, Effect, Enterprise, as_of_view
from safetyrules.facts._shapes import Shape, field_shapes

CST = dt.timezone(dt.timedelta(hours=8))
D = dt.date(2022, 5, 3)
DAY = dt.timedelta(days=1)


def build(path: str, value: object) -> dict[str, Any]:
    """A record holding ``value`` at ``path`` (``a[].b``: one list item)."""
    parts = path.split(".")
    leaf: object = value
    for part in reversed(parts):
        leaf = {part[:-2]: [leaf]} if part.endswith("[]") else {part: leaf}
    assert isinstance(leaf, dict)
    return {"id": "E1", **leaf}


def value_for(path: str, day: dt.date) -> object:
    shape = shape_at(path)
    if shape.scalar == "int":
        return day.year
    if shape.scalar == "datetime":
        return dt.datetime(day.year, day.month, day.day, 23, 30, tzinfo=CST)
    return day


def shape_at(path: str) -> Shape:
    """The shape of the field a table path names, resolved against the models."""
    model: type[BaseModel] | None = Enterprise
    shape: Shape | None = None
    for part in path.split("."):
        assert model is not None, path
        shape = field_shapes(model)[part.removesuffix("[]")]
        if part.endswith("[]"):
            assert shape.kind == "list" and shape.item is not None, path
            shape = shape.item
        model = shape.model
    assert shape is not None and shape.kind == "scalar", path
    return shape


def date_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every date or instant field of the models, as a table path."""
    found: set[str] = set()
    for name, shape in field_shapes(model).items():
        path = prefix + name
        if shape.kind == "list" and shape.item is not None:
            path += "[]"
            shape = shape.item
        if shape.kind == "object" and shape.model is not None:
            found |= date_paths(shape.model, path + ".")
        elif shape.scalar in ("date", "datetime"):
            found.add(path)
    return found


def test_every_date_field_is_classified_once() -> None:
    """A new date field must be declared an event date or a kept date."""
    event = set(EVENT_DATE_PATHS)
    kept = set(KEPT_DATE_PATHS)
    assert not event & kept
    assert date_paths(Enterprise) == (event | kept) - {"safety_costs[].year"}
    assert shape_at("safety_costs[].year").scalar == "int"


@pytest.mark.parametrize("path", sorted(EVENT_DATE_PATHS))
def test_fact_dated_as_of_is_kept_and_the_day_after_hidden(path: str) -> None:
    record = build(path, value_for(path, D))
    assert as_of_view(record, D) == record
    if path == "safety_costs[].year":
        assert as_of_view(record, dt.date(D.year, 1, 1)) == record
        before = dt.date(D.year - 1, 12, 31)
    else:
        before = D - DAY
    hidden = as_of_view(record, before)
    effect = EVENT_DATE_PATHS[path].effect
    top = path.split(".")[0].removesuffix("[]")
    if effect is Effect.DROP_ITEM:
        assert hidden == {**record, top: []}
    elif effect is Effect.NOT_YET:
        assert hidden == build(path, None)
    else:
        assert hidden == build(path.rsplit(".", 1)[0], None)


@pytest.mark.parametrize("path", sorted(KEPT_DATE_PATHS))
def test_expiry_dates_are_kept(path: str) -> None:
    assert shape_at(path).scalar == "date"
    record = build(path, D + 1000 * DAY)
    assert as_of_view(record, D) == record


def test_hazard_remediated_after_as_of_is_open(example: dict[str, Any]) -> None:
    example["hazards"][0].update(remediated_on="2022-06-01", verified_on="2022-06-10")
    record = Enterprise.model_validate(example).model_dump(exclude_unset=True)
    view = as_of_view(record, dt.date(2022, 5, 31))
    (hazard,) = view["hazards"]
    assert hazard["remediated_on"] is None and hazard["verified_on"] is None
    assert hazard["found_on"] == dt.date(2022, 5, 3)
    assert hazard["plan"]["time_limit"] == dt.date(2022, 7, 31)
    assert as_of_view(record, dt.date(2022, 6, 1))["hazards"][0]["remediated_on"] == dt.date(2022, 6, 1)
    assert as_of_view(record, dt.date(2022, 6, 1))["hazards"][0]["verified_on"] is None


def test_example_seen_at_an_earlier_date(example: dict[str, Any]) -> None:
    record = Enterprise.model_validate(example).model_dump(exclude_unset=True)
    view = as_of_view(record, dt.date(2022, 5, 4))
    assert view["hazards"][0]["plan"] is None  # the plan was made on 2022-05-05
    assert [r["date"] for r in view["reports"]] == [dt.date(2022, 4, 8)]
    assert [s["id"] for s in view["staff"]] == ["E001", "E002"]
    assert view["standardization_self_assessed_on"] is None
    assert view["principal"] == record["principal"]
    assert view["internal_assessments"] == [dt.date(2021, 1, 15), dt.date(2022, 1, 14)]
    early = as_of_view(record, dt.date(2019, 1, 1))
    assert early["responsibility_system"]["established_on"] is None
    assert early["staff"] == [] and early["insurance"] == [] and early["safety_costs"] == []
    assert early["principal"]["safety_training_passed_on"] is None
    assert early["principal"]["competence_certificate_expires_on"] == dt.date(2023, 6, 30)
    assert early["established_on"] == dt.date(2012, 5, 18)
    assert set(early) == set(record)


def test_accident_compares_its_local_date() -> None:
    late_evening = dt.datetime(2021, 8, 9, 23, 30, tzinfo=CST)  # 15:30 UTC, same day
    after_midnight = dt.datetime(2021, 8, 10, 0, 30, tzinfo=CST)  # 16:30 UTC on the 9th
    record = {
        "id": "E1",
        "accidents": [{"id": "A1", "occurred_at": late_evening}, {"id": "A2", "occurred_at": after_midnight}],
    }
    assert [a["id"] for a in as_of_view(record, dt.date(2021, 8, 9))["accidents"]] == ["A1"]


def test_absent_stays_absent_and_null_stays_null() -> None:
    assert as_of_view({"id": "E1"}, D) == {"id": "E1"}
    record: dict[str, Any] = {
        "id": "E1",
        "hazards": [{"id": "H1"}, {"id": "H2", "found_on": None, "plan": None, "remediated_on": None}],
        "principal": None,
        "hazard_system": {"has_checklist": True},
    }
    assert as_of_view(record, D) == record


def test_iso_strings_are_understood() -> None:
    record = {
        "id": "E1",
        "hazards": [{"found_on": "2022-05-04"}],
        "accidents": [{"occurred_at": "2022-05-03T23:59:00+08:00"}],
    }
    view = as_of_view(record, D)
    assert view["hazards"] == [] and len(view["accidents"]) == 1


def test_input_is_not_changed(example: dict[str, Any]) -> None:
    record = Enterprise.model_validate(example).model_dump(exclude_unset=True)
    before = copy.deepcopy(record)
    view = as_of_view(record, dt.date(2020, 1, 1))
    assert record == before
    view["principal"]["name"] = "changed"
    assert record["principal"]["name"] == "张某"


def test_a_datetime_is_not_an_evaluation_date() -> None:
    with pytest.raises(TypeError):
        as_of_view({"id": "E1"}, dt.datetime(2022, 1, 1))


# -- property ------------------------------------------------------------------------------------------

days = st.dates(min_value=dt.date(2019, 1, 1), max_value=dt.date(2023, 12, 31))
instants = st.builds(
    lambda day, minutes, hours: (
        dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone(dt.timedelta(hours=hours)))
        + dt.timedelta(minutes=minutes)
    ),
    days,
    st.integers(0, 24 * 60 - 1),
    st.sampled_from([0, 8, -5]),
)


def _value(shape: Shape) -> st.SearchStrategy[Any]:
    if shape.kind == "object":
        assert shape.model is not None
        return records_of(shape.model)
    if shape.kind == "list":
        assert shape.item is not None
        return st.lists(_value(shape.item), max_size=3)
    return {
        "date": days,
        "datetime": instants,
        "int": st.integers(2018, 2024),
        "bool": st.booleans(),
        "str": st.text(max_size=3),
        "enum": st.sampled_from(list(shape.enum or [])),
    }[shape.scalar or ""]


def records_of(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts shaped like ``model.model_dump(exclude_unset=True)``: any field absent, null or set."""
    optional = {name: st.none() | _value(shape) for name, shape in field_shapes(model).items()}
    optional["x_extra"] = (
        st.none() | st.integers() | st.dictionaries(st.sampled_from(["found_on", "a"]), days)
    )
    required = {"id": optional.pop("id")} if model is Enterprise else {}
    return st.fixed_dictionaries(required, optional=optional)


def key_paths(value: object, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        return {p for k, v in value.items() for p in {prefix + k} | key_paths(v, prefix + k + ".")}
    if isinstance(value, list):
        return {p for item in value for p in key_paths(item, prefix.rstrip(".") + "[].")}
    return set()


@settings(max_examples=150, deadline=None)
@given(records_of(Enterprise), days, days)
def test_view_adds_no_key_is_idempotent_and_composes(
    record: dict[str, Any], first: dt.date, second: dt.date
) -> None:
    before = copy.deepcopy(record)
    view = as_of_view(record, first)
    assert record == before
    assert key_paths(view) <= key_paths(record)
    assert as_of_view(view, first) == view
    assert as_of_view(view, second) == as_of_view(record, min(first, second))
