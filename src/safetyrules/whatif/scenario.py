"""What-if scenarios: a base policy plus param overrides, rules switched off or added, fact patches and dates.

A scenario file (YAML; or TOML when its name ends in `.toml`, the same keys — docs/whatif.md):

    name: 其他行业每两年评估一次 / other industries every two years
    policy: policies/annex4            # the base policy (default: the bundled one); relative to this file
    facts: ../examples/town.jsonl      # optional; `--facts` on the command line wins
    as_of: [2021-12-31, 2022-12-31]    # one date or several …
    timeline: {from: 2021-01-31, to: 2022-12-31}   # … or every month-end between two dates
    params: {other_assessment_period: 2 years}
    rules_off: [apprenticeship]        # switched off: not applicable in the scenario
    rules_add: [stricter.policy]       # rules added from other policy files (may implement new ids)
    patches:                           # facts changed in the scenario, for the enterprises that match
      - where: {industry: road_transport}
        set: {above_designated_size: true}
      - append: {risk_assessments: {date: 2022-01-10, comprehensive: true, risk_list_updated: true}}

Patches apply to the facts before validation; `where` compares top-level fields for equality (a list value
means "one of"). A scenario with nothing in it is the base: its diff is empty.
"""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from safetyrules.engine.values import add_months
from safetyrules.errors import InputError
from safetyrules.yamltext import load_yaml


class ScenarioError(InputError):
    """A scenario file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True, slots=True)
class Patch:
    where: Mapping[str, Any]
    set: Mapping[str, Any]
    append: Mapping[str, Any]

    def matches(self, record: Mapping[str, Any]) -> bool:
        for key, want in self.where.items():
            got = record.get(key)
            if isinstance(want, list):
                if got not in want:
                    return False
            elif got != want:
                return False
        return True

    def apply(self, record: dict[str, Any]) -> dict[str, Any]:
        if not self.matches(record):
            return record
        out = copy.deepcopy(record)
        for path, value in self.set.items():
            _set_path(out, path, value)
        for path, value in self.append.items():
            items = value if isinstance(value, list) else [value]
            current = out.get(path)
            out[path] = [*(current if isinstance(current, list) else []), *copy.deepcopy(items)]
        return out


def _set_path(record: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    target = record
    for part in parents:
        nxt = target.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            target[part] = nxt
        target = nxt
    target[leaf] = copy.deepcopy(value)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    policy: Path | None = None
    facts: Path | None = None
    dates: tuple[dt.date, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    rules_off: frozenset[str] = frozenset()
    rules_add: tuple[Path, ...] = ()
    patches: tuple[Patch, ...] = ()
    timeline: bool = False

    def patch(self, record: dict[str, Any]) -> dict[str, Any]:
        for p in self.patches:
            record = p.apply(record)
        return record

    @property
    def changes_facts(self) -> bool:
        return bool(self.patches)


_KEYS = {"name", "policy", "facts", "as_of", "timeline", "params", "rules_off", "rules_add", "patches"}


def month_ends(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every month-end from the month of `start` to `end` inclusive."""
    out = []
    first = start.replace(day=1)
    while True:
        month_end = add_months(first, 1) - dt.timedelta(days=1)
        if month_end > end:
            break
        out.append(month_end)
        first = add_months(first, 1)
    return out


def _date(value: Any, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ScenarioError(f"{where}: `{value}` is not a date (YYYY-MM-DD)") from None


def load_scenario(path: Path) -> Scenario:
    """A scenario file: TOML when its name ends in `.toml`, else YAML (see docs/whatif.md)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(f"{path}: cannot read: {e}") from None
    if path.suffix.lower() == ".toml":
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ScenarioError(f"{path}: not valid TOML: {e}") from None
    else:
        try:
            data = load_yaml(text)
        except yaml.YAMLError as e:
            raise ScenarioError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping with keys {', '.join(sorted(_KEYS))}")
    unknown = set(data) - _KEYS
    if unknown:
        raise ScenarioError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; use {', '.join(sorted(_KEYS))}")
    base = path.parent
    dates: list[dt.date] = []
    as_of = data.get("as_of")
    if as_of is not None:
        dates = [_date(d, f"{path}: as_of") for d in (as_of if isinstance(as_of, list) else [as_of])]
    timeline = data.get("timeline")
    if timeline is not None:
        if not isinstance(timeline, dict) or {"from", "to"} - set(timeline):
            raise ScenarioError(f"{path}: timeline needs `from` and `to` dates")
        start, end = _date(timeline["from"], f"{path}: timeline"), _date(timeline["to"], f"{path}: timeline")
        if end < start:
            raise ScenarioError(f"{path}: timeline ends before it starts")
        dates = month_ends(start, end)
    patches = []
    for i, raw in enumerate(data.get("patches") or []):
        if not isinstance(raw, dict) or set(raw) - {"where", "set", "append"}:
            raise ScenarioError(f"{path}: patch {i + 1} takes `where`, `set` and `append`")
        patches.append(Patch(dict(raw.get("where") or {}), dict(raw.get("set") or {}), dict(raw.get("append") or {})))
    return Scenario(
        name=str(data.get("name") or path.stem),
        policy=(base / data["policy"]) if data.get("policy") else None,
        facts=(base / data["facts"]) if data.get("facts") else None,
        dates=tuple(dates),
        params=dict(data.get("params") or {}),
        rules_off=frozenset(data.get("rules_off") or []),
        rules_add=tuple(base / p for p in data.get("rules_add") or []),
        patches=tuple(patches),
        timeline=timeline is not None,
    )
