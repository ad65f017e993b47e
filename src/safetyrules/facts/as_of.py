"""The as-of view of an enterprise record: facts dated after the evaluation date have not happened yet.

``as_of_view(record, as_of)`` takes a record as produced by ``Enterprise.model_dump(exclude_unset=True)``
(Python ``date``/``datetime`` values; ISO strings are accepted too) and returns a new record in which

* a list item whose own date is after ``as_of`` is removed (:attr:`Effect.DROP_ITEM`),
* an event date after ``as_of`` inside a kept item or object becomes ``None``, "not yet happened"
  (:attr:`Effect.NOT_YET`),
* an object whose making date is after ``as_of`` becomes ``None`` as a whole (:attr:`Effect.DROP_OBJECT`).

"After" compares calendar days: a fact dated exactly ``as_of`` is kept. Instants compare by their local
date (records read through the contract's models hold them in the facts' local time, +08:00);
``safety_costs[].year`` compares with ``as_of.year``. Expiry dates and deadlines (:data:`KEPT_DATE_PATHS`) are
not events and are kept. Absent keys stay absent; no key is ever added.

Both tables are data so that the documentation can render them. A path is a dotted list of field names;
``name[]`` stands for every item of the list ``name``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Effect(StrEnum):
    """What happens to a fact whose date is after the evaluation date."""

    DROP_ITEM = "drop_item"
    """The list item carrying the date is removed."""
    NOT_YET = "not_yet"
    """The date becomes ``None``: the event has not happened yet."""
    DROP_OBJECT = "drop_object"
    """The object carrying the date becomes ``None``: it did not exist yet."""


@dataclass(frozen=True, slots=True)
class DateRule:
    """One row of :data:`EVENT_DATE_PATHS`: the effect and its meaning in English and Chinese."""

    effect: Effect
    en: str
    zh: str


EVENT_DATE_PATHS: dict[str, DateRule] = {
    "internal_assessments[]": DateRule(
        Effect.DROP_ITEM, "an internal assessment dated later is not on record yet", "此后的内部考核尚未发生"
    ),
    "safety_costs[].year": DateRule(
        Effect.DROP_ITEM,
        "a year after the year of the evaluation date is not on record yet",
        "此后年度的费用尚无记录",
    ),
    "staff[].hired_on": DateRule(
        Effect.DROP_ITEM, "a person hired later is not on the staff yet", "此后入职的人员尚未入职"
    ),
    "risk_assessments[].date": DateRule(
        Effect.DROP_ITEM, "a later risk assessment has not happened yet", "此后的风险评估尚未进行"
    ),
    "changes[].date": DateRule(Effect.DROP_ITEM, "a later change has not happened yet", "此后的变更尚未发生"),
    "reports[].date": DateRule(
        Effect.DROP_ITEM, "a later report has not been made yet", "此后的报告尚未作出"
    ),
    "hazards[].found_on": DateRule(
        Effect.DROP_ITEM, "a hazard found later is not known yet", "此后发现的隐患尚未发现"
    ),
    "commitments[].published_on": DateRule(
        Effect.DROP_ITEM, "a later commitment has not been published yet", "此后的承诺尚未公开"
    ),
    "accidents[].occurred_at": DateRule(
        Effect.DROP_ITEM,
        "a later accident has not happened yet (local date)",
        "此后的事故尚未发生（按当地日期）",
    ),
    "inspection_findings[].date": DateRule(
        Effect.DROP_ITEM, "a later inspection finding has not been made yet", "此后的检查发现尚未作出"
    ),
    "insurance[].starts_on": DateRule(
        Effect.DROP_ITEM, "a policy whose cover starts later is not in force yet", "此后起保的保险尚未生效"
    ),
    "hazards[].reported_on": DateRule(Effect.NOT_YET, "the hazard is not reported yet", "隐患尚未报告"),
    "hazards[].remediated_on": DateRule(Effect.NOT_YET, "the hazard is still open", "隐患尚未整改"),
    "hazards[].verified_on": DateRule(Effect.NOT_YET, "the remediation is not verified yet", "整改尚未验收"),
    "hazards[].plan.made_on": DateRule(
        Effect.DROP_OBJECT, "the remediation plan does not exist yet", "治理方案尚未制定"
    ),
    "accidents[].principal_informed_at": DateRule(
        Effect.NOT_YET, "the principal is not informed yet (local date)", "主要负责人尚未接报（按当地日期）"
    ),
    "accidents[].reported_at": DateRule(
        Effect.NOT_YET, "the accident is not reported yet (local date)", "事故尚未上报（按当地日期）"
    ),
    "principal.safety_training_passed_on": DateRule(
        Effect.NOT_YET, "the principal has not passed safety training yet", "主要负责人尚未通过安全培训考核"
    ),
    "staff[].safety_training_passed_on": DateRule(
        Effect.NOT_YET, "the person has not passed safety training yet", "该人员尚未通过安全培训考核"
    ),
    "responsibility_system.established_on": DateRule(
        Effect.NOT_YET, "the responsibility system is not established yet", "安全生产责任制尚未建立"
    ),
    "training_system.established_on": DateRule(
        Effect.NOT_YET, "the training system is not established yet", "教育培训制度尚未建立"
    ),
    "hazard_system.established_on": DateRule(
        Effect.NOT_YET, "the hazard investigation system is not established yet", "隐患排查治理制度尚未建立"
    ),
    "hazard_system.on_platform_since": DateRule(
        Effect.NOT_YET, "hazards are not managed on the platform yet", "隐患尚未在平台管理"
    ),
    "risk_control.established_on": DateRule(
        Effect.NOT_YET, "the graded risk control system is not established yet", "风险分级管控体系尚未建立"
    ),
    "standardization_self_assessed_on": DateRule(
        Effect.NOT_YET, "the standardization self-assessment is not done yet", "标准化自评尚未完成"
    ),
}
"""Event dates: the paths whose dates are hidden when after the evaluation date, and how."""

KEPT_DATE_PATHS: dict[str, str] = {
    "established_on": "the enterprise's own establishment date: identity data that rules use for grace "
    "periods and first due dates, not an event of its history",
    "principal.competence_certificate_expires_on": "expiry date of the competence certificate",
    "staff[].certificate_expires_on": "expiry date of the special operation certificate",
    "hazards[].plan.time_limit": "deadline set by the remediation plan",
    "insurance[].ends_on": "last day of cover",
}
"""Dates that are not events (expiry dates, deadlines): the as-of view keeps them unchanged."""


_Segment = tuple[str, bool]  # (key, the key holds a list whose items the rest of the path applies to)


def _parse_path(path: str, effect: Effect) -> tuple[_Segment, ...]:
    segments = tuple((part.removesuffix("[]"), part.endswith("[]")) for part in path.split("."))
    last_is_list = segments[-1][1]
    ok = {
        Effect.DROP_ITEM: any(is_list for _, is_list in segments),
        Effect.NOT_YET: not last_is_list,
        Effect.DROP_OBJECT: len(segments) >= 2 and not last_is_list and not segments[-2][1],
    }[effect]
    if not ok or not all(key for key, _ in segments):
        raise ValueError(f"event date path {path!r} does not fit effect {effect.value}")
    return segments


AsOfRules = tuple[tuple[tuple[_Segment, ...], Effect], ...]
"""Event-date rules ready to apply: each path split into its segments, with its effect."""


def compile_rules(paths: Mapping[str, Effect | str]) -> AsOfRules:
    """Rules for :func:`as_of_view` from event-date paths and their effects (a declared schema's
    :func:`~.schema.as_of_rules`, or :data:`EVENT_DATE_PATHS`)."""
    return tuple((_parse_path(path, Effect(effect)), Effect(effect)) for path, effect in paths.items())


BUILTIN_RULES: AsOfRules = compile_rules({path: rule.effect for path, rule in EVENT_DATE_PATHS.items()})
"""The rules of the built-in 附件4 contract."""


def _is_after(value: object, as_of: dt.date) -> bool:
    """Whether a date, instant (local date), year or ISO string lies after ``as_of``; ``None`` never does."""
    if value is None:
        return False
    if type(value) is dt.date:  # the common case first (a plain date), as the general checks below decide it
        return value > as_of
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if len(value) > 10 else dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value.date() > as_of
    if isinstance(value, dt.date):
        return value > as_of
    if isinstance(value, int) and not isinstance(value, bool):
        return value > as_of.year
    raise TypeError(f"not a date, instant or year: {value!r}")


def _leaf(item: object, path: tuple[_Segment, ...]) -> object:
    for key, _ in path:
        if not isinstance(item, dict):
            return None
        item = item.get(key)
    return item


def _kept(items: list[Any], path: tuple[_Segment, ...], as_of: dt.date) -> list[Any]:
    """The items whose date at `path` is not after ``as_of``: ``items`` itself when every one is kept."""
    single = path[0][0] if len(path) == 1 else None
    for i, item in enumerate(items):
        if single is not None and type(item) is dict:
            day = item.get(single)
            if day is None or (type(day) is dt.date and day <= as_of):
                continue
        if _is_after(_leaf(item, path), as_of):
            return items[:i] + [x for x in items[i + 1:] if not _is_after(_leaf(x, path), as_of)]
    return items


_Step = Callable[[Any, dt.date], Any]  # one rule applied to a value (the same object when it changes nothing)


def _viewer(path: tuple[_Segment, ...], effect: Effect) -> _Step:
    """One rule as a function of a value and the day: the value when the rule changes nothing in it, else a
    copy of the dicts and lists on the way to what changed (copy on write: the rest is shared). Built once per
    rule set (see `_plan`)."""
    key = path[0][0]
    change = _change(path, effect)
    if change is _unchanged:
        return _unchanged

    def viewed(value: Any, as_of: dt.date) -> Any:
        if not isinstance(value, dict) or key not in value:
            return value
        child = value[key]
        new = change(child, as_of)
        if new is child:
            return value
        out = dict(value)
        out[key] = new
        return out
    return viewed


def _change(path: tuple[_Segment, ...], effect: Effect) -> _Step:
    """One rule as a function of the value at its first key (`path[0]`) and the day (see `_viewer`)."""
    is_list, rest = path[0][1], path[1:]
    change: Callable[[Any, dt.date], Any]
    if is_list:
        if effect is Effect.DROP_ITEM and not any(inner for _, inner in rest):
            def change(child: Any, as_of: dt.date) -> Any:
                return _kept(child, rest, as_of) if isinstance(child, list) else child
        else:
            item_viewed = _viewer(rest, effect)

            def change(child: Any, as_of: dt.date) -> Any:
                if not isinstance(child, list):
                    return child
                items = [item_viewed(item, as_of) for item in child]
                return items if any(a is not b for a, b in zip(items, child, strict=True)) else child
    elif not rest:
        if effect is Effect.NOT_YET:
            def change(child: Any, as_of: dt.date) -> Any:
                return None if _is_after(child, as_of) else child
        else:
            return _unchanged
    elif effect is Effect.DROP_OBJECT and len(rest) == 1:
        leaf = rest[0][0]

        def change(child: Any, as_of: dt.date) -> Any:
            return None if isinstance(child, dict) and _is_after(child.get(leaf), as_of) else child
    else:
        change = _viewer(rest, effect)
    return change


def _unchanged(value: Any, as_of: dt.date) -> Any:
    return value


_Plan = tuple[tuple[str, tuple[_Step, ...]], ...]
_PLANS: dict[int, tuple[AsOfRules, _Plan]] = {}


def _plan(rules: AsOfRules) -> _Plan:
    """The rules as functions of the value at their first key (`_change`), grouped by that key in the order
    of its first rule, each key's in their order (rules under different keys change different values: the
    order between them does not matter), built once per rule set."""
    hit = _PLANS.get(id(rules))
    if hit is not None and hit[0] is rules:
        return hit[1]
    by_key: dict[str, list[_Step]] = {}
    for path, effect in rules:
        change = _change(path, effect)
        if change is not _unchanged:
            by_key.setdefault(path[0][0], []).append(change)
    plan = tuple((key, tuple(changes)) for key, changes in by_key.items())
    if len(_PLANS) > 64:  # schemas come and go: keep the cache small
        _PLANS.clear()
    _PLANS[id(rules)] = (rules, plan)
    return plan


def as_of_view(record: dict[str, Any], as_of: dt.date, rules: AsOfRules = BUILTIN_RULES) -> dict[str, Any]:
    """A new record showing only what had happened on or before ``as_of``; ``record`` is not changed. ``rules``
    are the event dates of the record's schema (default: the built-in contract's).

    The view shares with ``record`` every list and dict that no rule changes (copy on write: a record whose
    history ends before ``as_of`` costs one shallow copy): treat both as read-only."""
    if isinstance(as_of, dt.datetime):
        raise TypeError("as_of must be a date, not a datetime")
    view = dict(record)
    if not isinstance(record, dict):  # not a record the rules apply to
        return view
    for key, changes in _plan(rules):
        if key in record:
            value = record[key]
            for change in changes:
                value = change(value, as_of)
            view[key] = value
    return view
