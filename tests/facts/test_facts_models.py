"""The pydantic models of the fact contract."""

from __future__ import annotations

import datetime as dt
import types
import typing
from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from safetyrules.facts import (
    ENUM_LABELS_ZH,
    Enterprise,
    Hazard,
    Industry,
    RiskLevel,
    StaffMember,
    enterprise_json_schema,
    label_zh,
)
from safetyrules.facts.errors import field_errors
from safetyrules.facts.models import BoundedInt


def all_models() -> list[type[BaseModel]]:
    """Enterprise and every model nested in it."""
    found: list[type[BaseModel]] = []
    todo: list[type[BaseModel]] = [Enterprise]
    while todo:
        model = todo.pop()
        if model in found:
            continue
        found.append(model)
        for info in model.model_fields.values():
            for arg in _leaves(info.annotation):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    todo.append(arg)
    return found


def _leaves(annotation: Any) -> list[Any]:
    args = typing.get_args(annotation)
    if not args:
        return [annotation]
    return [leaf for arg in args for leaf in _leaves(arg)]


def errors_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, code) of every error validating ``data``; [] if valid."""
    try:
        Enterprise.model_validate(data)
    except ValidationError as exc:
        return [(error.path, error.code) for error in field_errors(exc)]
    return []


def test_example_validates_and_round_trips(example: dict[str, Any]) -> None:
    model = Enterprise.model_validate(example)
    assert model.model_dump(mode="json", exclude_unset=True) == example
    record = model.model_dump(exclude_unset=True)
    assert record["hazards"][0]["remediated_on"] is None
    assert "remediated_on" in record["hazards"][0]
    assert record["accidents"][0]["occurred_at"] == dt.datetime(
        2021, 8, 9, 10, 20, tzinfo=dt.timezone(dt.timedelta(hours=8))
    )
    assert Enterprise.model_validate(record).model_dump(exclude_unset=True) == record


def test_explicit_null_and_absent_are_kept_apart_at_every_level() -> None:
    data: dict[str, Any] = {
        "id": "E1",
        "name": None,
        "principal": None,
        "responsibility_system": {"established_on": None},
        "internal_assessments": None,
        "risk_control": {"levels": None},
        "hazards": [
            {"plan": None, "remediated_on": None},
            {"plan": {"made_on": None, "time_limit": "2022-07-31"}},
            {},
        ],
        "safety_costs": None,
    }
    record = Enterprise.model_validate(data).model_dump(exclude_unset=True)
    assert record == {
        **data,
        "hazards": [data["hazards"][0], {"plan": {"made_on": None, "time_limit": dt.date(2022, 7, 31)}}, {}],
    }
    assert Enterprise.model_validate({"id": "E1"}).model_dump(exclude_unset=True) == {"id": "E1"}


def test_extra_fields_are_kept_at_every_level() -> None:
    data = {"id": "E1", "credit_code_old": "X", "hazards": [{"photo": "a.jpg", "plan": {"budget": 3}}]}
    model = Enterprise.model_validate(data)
    assert model.model_dump(exclude_unset=True) == data


@pytest.mark.parametrize(
    ("patch", "path", "code"),
    [
        ({"above_designated_size": "true"}, "above_designated_size", "bool_type"),
        ({"above_designated_size": 1}, "above_designated_size", "bool_type"),
        ({"employee_count": "5"}, "employee_count", "int_type"),
        ({"employee_count": 5.0}, "employee_count", "int_type"),
        ({"employee_count": True}, "employee_count", "int_type"),
        ({"employee_count": -1}, "employee_count", "greater_than_equal"),
        (
            {"safety_costs": [{"year": 2021, "misappropriated": -5}]},
            "safety_costs[0].misappropriated",
            "greater_than_equal",
        ),
        ({"established_on": 0}, "established_on", "date_type"),
        ({"established_on": "2022-02-30"}, "established_on", "date_value"),
        ({"established_on": "2022/01/01"}, "established_on", "date_format"),
        ({"established_on": "2022-01-01T00:00:00"}, "established_on", "date_format"),
        ({"established_on": "1640995200"}, "established_on", "date_format"),
        ({"industry": "mines"}, "industry", "enum"),
        ({"industry": 3}, "industry", "enum"),
        (
            {"accidents": [{"occurred_at": "2021-08-09T10:20:00"}]},
            "accidents[0].occurred_at",
            "timezone_aware",
        ),
        ({"accidents": [{"occurred_at": 1628475600}]}, "accidents[0].occurred_at", "datetime_type"),
        ({"accidents": [{"occurred_at": "2021-08-09"}]}, "accidents[0].occurred_at", "datetime_type"),
        (
            {"accidents": [{"occurred_at": "2021-02-30T10:00:00+08:00"}]},
            "accidents[0].occurred_at",
            "datetime_value",
        ),
        ({"id": 5}, "id", "string_type"),
        ({"hazards": "none"}, "hazards", "list_type"),
        ({"principal": []}, "principal", "model_type"),
        ({"internal_assessments": ["2021-01-01", 0, "2021-13-01"]}, "internal_assessments[1]", "date_type"),
        ({"risk_control": {"levels": ["enterprise", "region"]}}, "risk_control.levels[1]", "enum"),
        ({"staff": [{"role": "boss"}]}, "staff[0].role", "enum"),
    ],
)
def test_bad_values_are_rejected_with_their_path(patch: dict[str, Any], path: str, code: str) -> None:
    assert (path, code) in errors_of({"id": "E1", **patch})


def test_every_bad_item_of_a_date_list_is_named() -> None:
    found = errors_of({"id": "E1", "internal_assessments": ["2021-01-01", 0, "2021-13-01", "x"]})
    assert [path for path, _ in found] == [
        "internal_assessments[1]",
        "internal_assessments[2]",
        "internal_assessments[3]",
    ]


def test_missing_id_is_rejected() -> None:
    assert errors_of({"name": "x"}) == [("id", "missing")]


@pytest.mark.parametrize(
    ("patch", "path", "code"),
    [
        (
            {"hazards": [{"found_on": "2022-05-03", "remediated_on": "2022-05-02"}]},
            "hazards[0].remediated_on",
            "remediated_before_found",
        ),
        (
            {"hazards": [{"found_on": "2022-05-03", "verified_on": "2022-05-02"}]},
            "hazards[0].verified_on",
            "verified_before_found",
        ),
        (
            {
                "accidents": [
                    {"occurred_at": "2021-08-09T10:20:00+08:00", "reported_at": "2021-08-09T10:19:00+08:00"}
                ]
            },
            "accidents[0].reported_at",
            "reported_before_occurred",
        ),
        (
            {
                "accidents": [
                    {
                        "occurred_at": "2021-08-09T10:20:00+08:00",
                        "principal_informed_at": "2021-08-09T02:19:00+00:00",
                    }
                ]
            },
            "accidents[0].principal_informed_at",
            "informed_before_occurred",
        ),
        (
            {"insurance": [{"starts_on": "2022-01-01", "ends_on": "2021-12-31"}]},
            "insurance[0].ends_on",
            "ends_before_starts",
        ),
    ],
)
def test_order_of_dates(patch: dict[str, Any], path: str, code: str) -> None:
    assert errors_of({"id": "E1", **patch}) == [(path, code)]


def test_same_day_and_same_instant_are_allowed() -> None:
    data = {
        "id": "E1",
        "hazards": [{"found_on": "2022-05-03", "remediated_on": "2022-05-03", "verified_on": "2022-05-03"}],
        # 02:20 UTC is 10:20 in +08:00: the same instant
        "accidents": [
            {"occurred_at": "2021-08-09T10:20:00+08:00", "reported_at": "2021-08-09T02:20:00+00:00"}
        ],
        "insurance": [{"starts_on": "2022-01-01", "ends_on": "2022-01-01"}],
    }
    assert errors_of(data) == []


def test_order_is_not_checked_against_an_unknown_or_null_date() -> None:
    assert (
        errors_of(
            {
                "id": "E1",
                "hazards": [{"remediated_on": "2022-05-03"}, {"found_on": None, "verified_on": "2020-01-01"}],
            }
        )
        == []
    )


def test_chinese_message_of_a_field_error() -> None:
    with pytest.raises(ValidationError) as info:
        Enterprise.model_validate(
            {"id": "E1", "hazards": [{"found_on": "2022-05-03", "remediated_on": "2022-05-02"}]}
        )
    (error,) = field_errors(info.value)
    assert error.message_zh == "字段 hazards[0].remediated_on：整改日期早于发现日期"
    assert error.message == "remediated on 2022-05-02, before the hazard was found on 2022-05-03"


def test_python_values_are_accepted() -> None:
    tz = dt.timezone(dt.timedelta(hours=8))
    model = Enterprise(
        id="E1",
        industry=Industry.MINING,
        established_on=dt.date(2020, 1, 1),
        accidents=[{"occurred_at": dt.datetime(2021, 1, 1, 8, tzinfo=tz)}],  # type: ignore[list-item]
    )
    assert model.accidents is not None and model.accidents[0].occurred_at is not None
    with pytest.raises(ValidationError):
        Hazard(found_on=dt.datetime(2022, 1, 1))  # a date and time is not a date


def test_annotations_are_plain() -> None:
    """The policy type checker reads the annotations: X | None, list[X] | None, Model | None only; every
    integer is a BoundedInt (never a plain int, which would let 2**63 reach the engines)."""
    allowed = (str, bool, dt.date, dt.datetime)
    for model in all_models():
        for name, info in model.model_fields.items():
            annotation = info.annotation
            if model is Enterprise and name == "id":
                assert annotation is str
                continue
            if BoundedInt in typing.get_args(annotation):
                assert annotation == BoundedInt | None, (model.__name__, name)
                continue
            assert isinstance(annotation, types.UnionType), (model.__name__, name)
            inner, none = typing.get_args(annotation)
            assert none is type(None), (model.__name__, name)
            if typing.get_origin(inner) is list:
                (inner,) = typing.get_args(inner)
            assert inner in allowed or issubclass(inner, StrEnum | BaseModel), (model.__name__, name)
            assert info.description and " / " in info.description, (model.__name__, name)


def test_every_enum_code_has_a_chinese_label() -> None:
    enums = {
        leaf
        for model in all_models()
        for info in model.model_fields.values()
        for leaf in _leaves(info.annotation)
        if isinstance(leaf, type) and issubclass(leaf, StrEnum)
    }
    assert enums == set(ENUM_LABELS_ZH)
    for enum_type in enums:
        assert set(ENUM_LABELS_ZH[enum_type]) == {member.value for member in enum_type}
    assert label_zh(Industry.HAZARDOUS_GOODS_STORAGE) == "危险物品储存"
    assert label_zh(RiskLevel.TEAM) == "班组"


def test_json_schema() -> None:
    schema = enterprise_json_schema()
    assert schema["required"] == ["id"]
    assert schema["additionalProperties"] is True
    definitions = [schema, *schema["$defs"].values()]
    for definition in definitions:
        for name, prop in definition.get("properties", {}).items():
            assert prop.get("description"), name
    assert schema["$defs"]["Industry"]["x-labels-zh"]["mining"] == "矿山"
    assert schema["properties"]["established_on"]["anyOf"][0] == {"format": "date", "type": "string"}
    assert set(schema["$defs"]) >= {"StaffMember", "HazardPlan", "Insurance"}
    assert StaffMember.model_json_schema()["properties"]["hired_on"]["anyOf"][0]["format"] == "date"


def test_every_date_and_instant_field_is_parsed_strictly() -> None:
    """Each model lists its date fields for the strict validator; none may be forgotten."""
    checked = 0
    for model in all_models():
        for name, info in model.model_fields.items():
            leaves = set(_leaves(info.annotation))
            if not leaves & {dt.date, dt.datetime}:
                continue
            is_list = typing.get_origin(typing.get_args(info.annotation)[0]) is list
            bad: object = [86400] if is_list else 86400  # lax pydantic would read 1970-01-02
            with pytest.raises(ValidationError) as caught:
                model.model_validate({"id": "E1", name: bad} if model is Enterprise else {name: bad})
            (error,) = caught.value.errors()
            assert error["type"] in ("date_type", "datetime_type"), (model.__name__, name)
            assert error["loc"] == ((name, 0) if is_list else (name,))
            checked += 1
    assert checked == 29
