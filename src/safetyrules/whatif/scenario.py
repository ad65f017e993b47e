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
means "one of"; dates compare as dates, whether YAML gave text or TOML a date). A scenario with nothing in it is
the base: its diff is empty.

Param values are read as written: a YAML scalar is passed on as its text (`030` is thirty, `yes` is not
`true`, `{construction, mining}` is a set), so `params:` takes exactly what `--param NAME=VALUE` takes, read by
the same function (`engine.params.read_text`; the syntax: docs/cli.md, "Param values"). TOML values are typed
(a string, a number, a date, a list) and pass the same check.

Every mistake in the file is a `ScenarioError` naming the file and the key path (`patches[1].where`): the
wrong shape (a list where a mapping belongs, a number for a path), a bad date, a document beyond the limits
(size, nesting, YAML aliases, integers; `safetyrules.limits`). Param values are checked against the policy's
types when the scenario runs (`whatif.run.check_scenario`).
"""

from __future__ import annotations

import copy
import datetime as dt
import enum
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from safetyrules.engine.values import add_months
from safetyrules.errors import InputError
from safetyrules.limits import DEFAULT, Limits
from safetyrules.yamltext import DocumentError, check_tree, compose_yaml, key_path, read_document


class ScenarioError(InputError):
    """A scenario file that cannot be used; the message names the file and what is wrong."""


def _comparable(got: Any, want: Any) -> tuple[Any, Any]:
    """A record's value and a `where` value made comparable: enums by code, dates and instants by value
    whichever side is ISO text (YAML keeps timestamps as text, TOML and the validated record have dates)."""
    if isinstance(got, enum.Enum):
        got = got.value
    if isinstance(want, enum.Enum):
        want = want.value
    for a, b in ((got, want), (want, got)):
        if isinstance(a, dt.date) and isinstance(b, str):
            try:
                parsed: dt.date = (dt.datetime if isinstance(a, dt.datetime) else dt.date).fromisoformat(b.strip())
            except ValueError:
                return got, want
            return (a, parsed) if a is got else (parsed, a)
    return got, want


def _equal(got: Any, want: Any) -> bool:
    a, b = _comparable(got, want)
    try:
        return bool(a == b)
    except TypeError:  # offset-naive against offset-aware instants
        return False


@dataclass(frozen=True, slots=True)
class Patch:
    where: Mapping[str, Any]
    set: Mapping[str, Any]
    append: Mapping[str, Any]

    def matches(self, record: Mapping[str, Any]) -> bool:
        for key, want in self.where.items():
            got = record.get(key)
            if isinstance(want, list):
                if not any(_equal(got, w) for w in want):
                    return False
            elif not _equal(got, want):
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
    file: Path | None = field(default=None, compare=False)  # the file it was read from, for messages

    def patch(self, record: dict[str, Any]) -> dict[str, Any]:
        for p in self.patches:
            record = p.apply(record)
        return record

    @property
    def changes_facts(self) -> bool:
        return bool(self.patches)


_KEYS = {"name", "policy", "facts", "as_of", "timeline", "params", "rules_off", "rules_add", "patches"}
_PATCH_KEYS = ("where", "set", "append")


def month_ends(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every month-end from the month of `start` to `end` inclusive (the calendar ends at 9999-12-31)."""
    out = []
    first = start.replace(day=1)
    while True:
        try:
            month_end = add_months(first, 1) - dt.timedelta(days=1)
        except OverflowError:  # December 9999: its month-end is the last day of the calendar
            month_end = dt.date.max
        if month_end > end:
            break
        out.append(month_end)
        if month_end == dt.date.max:
            break
        first = add_months(first, 1)
    return out


def months_between(start: dt.date, end: dt.date) -> int:
    """How many month-ends `month_ends(start, end)` has, without listing them."""
    last = end.year * 12 + end.month - (0 if end == _month_end(end) else 1)
    return max(0, last - (start.year * 12 + start.month) + 1)


def _month_end(d: dt.date) -> dt.date:
    try:
        return add_months(d.replace(day=1), 1) - dt.timedelta(days=1)
    except OverflowError:
        return dt.date.max


class _Reader:
    """Checks one scenario document value by value; every error names the file and the key path."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path = path
        self.limits = limits

    def error(self, where: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.path}: {where}: {message}" if where else f"{self.path}: {message}")

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(where, f"expected a mapping (key: value), not {_kind(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.error(where, f"the key `{key}` is {_kind(key)}: keys are names (text)")
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.error(where, f"expected text, not {_kind(value)}")
        return str(value)

    def file_path(self, value: Any, where: str) -> Path:
        if not isinstance(value, str) or not value.strip():
            raise self.error(where, f"expected a file or folder path (text), not {_kind(value)}")
        if "\0" in value:
            raise self.error(where, "a path cannot contain a NUL character")
        return self.path.parent / value

    @staticmethod
    def names(value: Any) -> list[Any]:
        """A list, or one item written alone (`rules_off: apprenticeship` is one rule, not its letters)."""
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    def date(self, value: Any, where: str) -> dt.date:
        if isinstance(value, dt.datetime):
            raise self.error(where, f"`{value}` is an instant; give a date (YYYY-MM-DD)")
        if isinstance(value, dt.date):
            day = value
        elif isinstance(value, str) and len(value.strip()) == 10:
            try:
                day = dt.date.fromisoformat(value.strip())
            except ValueError:
                raise self.error(where, f"`{value}` is not a date (YYYY-MM-DD)") from None
        else:
            shown = value if isinstance(value, str) and len(value) <= 40 else _kind(value)
            raise self.error(where, f"`{shown}` is not a date (YYYY-MM-DD)")
        if not self.limits.min_date <= day <= self.limits.max_date:
            raise self.error(where, f"{day} is outside the calendar the engines compute in "
                             f"({self.limits.min_date} .. {self.limits.max_date})")
        return day

    def patch(self, raw: Any, where: str) -> Patch:
        if not isinstance(raw, dict):
            raise self.error(where, f"a patch is a mapping with `where`, `set` and/or `append`, not {_kind(raw)}")
        unknown = sorted(str(k) for k in raw if k not in _PATCH_KEYS)
        if unknown:
            raise self.error(where, f"unknown key(s) {', '.join(unknown)}; a patch takes where, set, append")
        where_ = self.mapping(raw.get("where"), key_path(where, "where"))
        set_ = self.mapping(raw.get("set"), key_path(where, "set"))
        append = self.mapping(raw.get("append"), key_path(where, "append"))
        for name in [*set_, *append]:
            if not name.strip() or any(not part for part in name.split(".")):
                raise self.error(key_path(where, "set" if name in set_ else "append"),
                                 f"`{name}` is not a field path (fields separated by dots)")
        for name in append:
            if "." in name:
                raise self.error(key_path(where, "append"), f"`{name}`: append takes a top-level list field")
        return Patch(where_, set_, append)


def _kind(value: object) -> str:
    kinds = {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list",
             dict: "a mapping", dt.date: "a date", dt.datetime: "an instant", type(None): "empty"}
    return kinds.get(type(value), f"a {type(value).__name__}")


_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"


def written(node: yaml.Node) -> Any:
    """A YAML value as it is written in the file: a scalar's text (None for a plain `null`, `~` or nothing), a
    list of them, and a mapping whose values are all empty (`{construction, mining}`, YAML's set) as the list of
    its keys. Param values are read from this, not from what YAML 1.1 makes of them (`030` is 24 to YAML,
    `yes` true), with the same reader as the command line (`engine.params.read_text`)."""
    if isinstance(node, yaml.ScalarNode):
        return None if node.tag == _NULL_TAG and node.style is None else str(node.value)
    if isinstance(node, yaml.SequenceNode):
        return [written(n) for n in node.value]
    if isinstance(node, yaml.MappingNode):
        if node.value and all(isinstance(v, yaml.ScalarNode) and v.tag == _NULL_TAG for _, v in node.value):
            return [written(k) for k, _ in node.value]
        return {written(k): written(v) for k, v in node.value}
    return None


def written_params(node: yaml.Node | None, data: Any) -> Any:
    """The `params:` of a YAML document (its node graph and its data) with each value as written (`written`);
    the data's own `params` when it is not a mapping with text keys (its shape is then reported as usual)."""
    params = data.get("params") if isinstance(data, dict) else None
    if not isinstance(node, yaml.MappingNode) or not isinstance(params, dict):
        return params
    found = [v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.tag == _STR_TAG and k.value == "params"]
    if len(found) != 1 or not isinstance(found[0], yaml.MappingNode) \
            or not all(isinstance(k, yaml.ScalarNode) and k.tag == _STR_TAG for k, _ in found[0].value):
        return params
    return {str(k.value): written(v) for k, v in found[0].value}


def parse_document(path: Path, text: str, limits: Limits = DEFAULT) -> Any:
    """A scenario's text as data: TOML when the file name ends in `.toml`, else YAML; within `limits`."""
    return _parse(path, text, limits)[0]


def _parse(path: Path, text: str, limits: Limits) -> tuple[Any, yaml.Node | None]:
    """`parse_document`, and the YAML node graph (None for TOML)."""
    node: yaml.Node | None = None
    try:
        if path.suffix.lower() == ".toml":
            try:
                data: Any = tomllib.loads(text)
            except tomllib.TOMLDecodeError as e:
                raise ScenarioError(f"{path}: not valid TOML: {e}") from None
        else:
            try:
                data, node = compose_yaml(text, limits)
            except yaml.YAMLError as e:
                raise ScenarioError(f"{path}: not valid YAML: {e}") from None
        check_tree(data, limits)
    except ScenarioError:
        raise
    except DocumentError as e:
        raise ScenarioError(f"{path}: {e}") from None
    except RecursionError:  # tomllib recurses into nested arrays and tables
        raise ScenarioError(f"{path}: nested deeper than {limits.max_nesting} levels (max_nesting)") from None
    except ValueError:  # tomllib: an integer of more than 4,300 digits (Python refuses to convert it)
        raise ScenarioError(f"{path}: an integer of more than 4,300 digits: outside ±{limits.max_int:,} (max_int)"
                            ) from None
    return data, node


def load_scenario(path: Path, limits: Limits = DEFAULT) -> Scenario:
    """A scenario file: TOML when its name ends in `.toml`, else YAML (see docs/whatif.md)."""
    try:
        text = read_document(path, limits)
    except DocumentError as e:
        raise ScenarioError(f"{path}: {e}") from None
    data, node = _parse(path, text, limits)
    read = _Reader(path, limits)
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping with keys {', '.join(sorted(_KEYS))}, not "
                            f"{_kind(data)}")
    unknown = sorted(str(k) for k in data if k not in _KEYS)
    if unknown:
        raise ScenarioError(f"{path}: unknown key(s) {', '.join(unknown)}; use {', '.join(sorted(_KEYS))}")
    dates: list[dt.date] = []
    as_of = data.get("as_of")
    if as_of is not None:
        many = isinstance(as_of, list)
        items = as_of if many else [as_of]
        if len(items) > limits.max_scenario_dates:
            raise read.error("as_of", f"{len(items):,} dates: more than {limits.max_scenario_dates:,} "
                             "(max_scenario_dates)")
        dates = [read.date(d, f"as_of[{i}]" if many else "as_of") for i, d in enumerate(items)]
    timeline = data.get("timeline")
    if timeline is not None:
        if not isinstance(timeline, dict) or {"from", "to"} - set(timeline):
            raise read.error("timeline", "needs `from` and `to` dates: timeline: {from: D1, to: D2}")
        extra = sorted(str(k) for k in timeline if k not in ("from", "to"))
        if extra:
            raise read.error("timeline", f"unknown key(s) {', '.join(extra)}; a timeline has from and to")
        start, end = read.date(timeline["from"], "timeline.from"), read.date(timeline["to"], "timeline.to")
        if end < start:
            raise read.error("timeline", "ends before it starts")
        count = months_between(start, end)
        if count > limits.max_scenario_dates:
            raise read.error("timeline", f"{count:,} month-ends: more than {limits.max_scenario_dates:,} "
                             "(max_scenario_dates)")
        dates = month_ends(start, end)
    patches_raw = data.get("patches")
    if patches_raw is not None and not isinstance(patches_raw, list):
        raise read.error("patches", f"expected a list of patches (- where: …), not {_kind(patches_raw)}")
    patches = [read.patch(raw, f"patches[{i}]") for i, raw in enumerate(patches_raw or [])]
    rules_off = [read.text(r, f"rules_off[{i}]") for i, r in enumerate(read.names(data.get("rules_off")))]
    rules_add = [read.file_path(p, f"rules_add[{i}]")
                 for i, p in enumerate(read.names(data.get("rules_add")))]
    return Scenario(
        name=read.text(data["name"], "name") if data.get("name") is not None else path.stem,
        policy=read.file_path(data["policy"], "policy") if data.get("policy") is not None else None,
        facts=read.file_path(data["facts"], "facts") if data.get("facts") is not None else None,
        dates=tuple(dates),
        params=dict(read.mapping(written_params(node, data) if node is not None else data.get("params"),
                                 "params")),
        rules_off=frozenset(rules_off),
        rules_add=tuple(rules_add),
        patches=tuple(patches),
        timeline=timeline is not None,
        file=path,
    )
