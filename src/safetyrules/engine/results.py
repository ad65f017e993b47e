"""Result types of an evaluation: plain data, JSON-ready, with a versioned schema.

RESULT_SCHEMA_VERSION changes whenever a field is renamed or removed (adding fields keeps it); the
JSON layout is documented in docs/api.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, cast, overload

from safetyrules.engine.decisions import SEVERITY_ORDER, Outcome
from safetyrules.engine.interpreter import Step
from safetyrules.engine.values import Duration, show, to_json

RESULT_SCHEMA_VERSION = "1.0"
T = TypeVar("T")
__all__ = ["OUTCOME_ZH", "RESULT_SCHEMA_VERSION", "SEVERITY_ORDER", "EnterpriseResult", "EventResult", "Outcome",
           "ParamUse", "RuleResult", "Text"]


OUTCOME_ZH = {
    Outcome.VIOLATED: "违反",
    Outcome.PENDING: "待履行",
    Outcome.SATISFIED: "符合",
    Outcome.NOT_APPLICABLE: "不适用",
    Outcome.UNKNOWN: "无法判断",
    Outcome.TRIGGERED: "已触发",
    Outcome.EXPIRED: "已过期",
    Outcome.NOT_TRIGGERED: "未触发",
}

@dataclass(frozen=True, slots=True)
class Text:
    zh: str
    en: str

    def to_json(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


@dataclass(frozen=True, slots=True)
class ParamUse:
    name: str
    value: Any  # in force on the evaluation date
    overridden: bool
    schedule: tuple[tuple[dt.date, Any], ...] = ()  # dated values (`from DATE VALUE`), when it has any

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": to_json(self.value), "overridden": self.overridden,
                "dated": [{"from": d.isoformat(), "value": to_json(v)} for d, v in self.schedule]}


@dataclass(frozen=True, slots=True)
class Citation:
    document: str
    section: str
    quote: str

    def label(self) -> str:
        return f"{self.document} {self.section}".strip()

    def to_json(self) -> dict[str, str]:
        return {"document": self.document, "section": self.section, "quote": self.quote}


class _NamedWhenRead:
    """`missing` of a result or an event: the facts whose absence left it unknown, named when first read (a
    pending `MissingNamer` in the slot `_namer`); the value lives in the slot `_missing`."""

    @overload
    def __get__(self, owner_object: None, owner: type) -> _NamedWhenRead: ...
    @overload
    def __get__(self, owner_object: object, owner: type) -> tuple[str, ...]: ...
    def __get__(self, owner_object: Any, owner: type) -> tuple[str, ...] | _NamedWhenRead:
        if owner_object is None:
            return self
        if owner_object._namer is not None:
            owner_object._namer.name()
        return cast(tuple[str, ...], owner_object._missing)

    def __set__(self, owner_object: Any, value: tuple[str, ...]) -> None:
        owner_object._missing = value


@dataclass(slots=True)
class EventResult:
    """One event of an event-triggered obligation or a trigger (a hazard, a change, an accident…)."""

    path: str
    outcome: Outcome
    event_on: dt.date | None = None
    due_on: dt.date | None = None
    done_on: dt.date | None = None
    delay_days: int | None = None
    listed_until: dt.date | None = None
    # the facts whose absence left it unknown: named when first read (see `MissingNamer`)
    _missing: tuple[str, ...] = field(default=(), compare=False, repr=False)
    _namer: MissingNamer | None = field(default=None, compare=False, repr=False)

    missing = _NamedWhenRead()

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "outcome": str(self.outcome),
            "event_on": to_json(self.event_on),
            "due_on": to_json(self.due_on),
            "done_on": to_json(self.done_on),
            "delay_days": self.delay_days,
            "listed_until": to_json(self.listed_until),
            "missing": list(self.missing),
        }


class _Written(Generic[T]):
    """A result attribute that is written when first read (`RuleResult.annotate_later`): reading or setting
    it first has the pending annotations written; the value lives in the private slot `_<name>`."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    @overload
    def __get__(self, result: None, owner: type) -> _Written[T]: ...
    @overload
    def __get__(self, result: RuleResult, owner: type) -> T: ...
    def __get__(self, result: RuleResult | None, owner: type) -> T | _Written[T]:
        if result is None:
            return self
        result._written()
        return cast(T, getattr(result, self.slot))

    def __set__(self, result: RuleResult, value: T) -> None:
        result._written()
        setattr(result, self.slot, value)


@dataclass(slots=True)
class RuleResult:
    enterprise: str
    rule: str
    kind: str  # "obligation" | "trigger"
    implements: tuple[str, ...]
    outcome: Outcome
    as_of: dt.date
    title: Text
    citations: tuple[Citation, ...]
    severity: str | None = None
    due_on: dt.date | None = None
    days_overdue: int | None = None
    days_remaining: int | None = None
    delay_days: int | None = None
    last_event_on: dt.date | None = None
    period: Duration | None = None  # the period of a periodic duty (a value: report/ writes it as text)
    reason: Text | None = None  # why not_applicable, or what is unknown
    exception: str | None = None
    params: tuple[ParamUse, ...] = ()
    rules_used: tuple[str, ...] = ()
    events: list[EventResult] = field(default_factory=list)
    effect: Text | None = None
    listed_until: dt.date | None = None
    # written when first read (see `Annotations`): explanation steps, conditions' values seen (test
    # coverage), the message and the remedy; read and set them through the properties below
    _steps: list[Step] = field(default_factory=list, compare=False, repr=False)
    _observed: set[tuple[Any, bool]] = field(default_factory=set, compare=False, repr=False)
    _message: Text | None = field(default=None, compare=False, repr=False)
    _remedy: Text | None = field(default=None, compare=False, repr=False)
    _annotations: Annotations | None = field(default=None, compare=False, repr=False)
    # the facts whose absence left it unknown (`missing`), named when first read (see `MissingNamer`)
    _missing: tuple[str, ...] = field(default=(), compare=False, repr=False)
    _namer: MissingNamer | None = field(default=None, compare=False, repr=False)

    missing = _NamedWhenRead()

    def annotate_later(self, annotations: Annotations) -> None:
        """Leave the steps, message and remedy to `annotations`, written when one of them is first read."""
        self._annotations = annotations

    def _written(self) -> None:
        pending = self._annotations
        if pending is not None:
            self._annotations = None
            pending.write(self)

    steps = _Written[list[Step]]()
    observed = _Written[set[tuple[Any, bool]]]()
    message = _Written[Text | None]()
    remedy = _Written[Text | None]()

    @property
    def is_finding(self) -> bool:
        return self.outcome in (Outcome.VIOLATED, Outcome.TRIGGERED)

    def to_json(self, explanation: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "enterprise": self.enterprise,
            "rule": self.rule,
            "kind": self.kind,
            "implements": list(self.implements),
            "outcome": str(self.outcome),
            "as_of": self.as_of.isoformat(),
            "due_on": to_json(self.due_on),
            "days_overdue": self.days_overdue,
            "days_remaining": self.days_remaining,
            "delay_days": self.delay_days,
            "last_event_on": to_json(self.last_event_on),
            "period": to_json(self.period),
            "severity": self.severity,
            "title": self.title.to_json(),
            "citations": [c.to_json() for c in self.citations],
            "reason": self.reason.to_json() if self.reason else None,
            "exception": self.exception,
            "missing": list(self.missing),
            "params": [p.to_json() for p in self.params],
            "rules_used": list(self.rules_used),
            "events": [e.to_json() for e in self.events],
            "effect": self.effect.to_json() if self.effect else None,
            "listed_until": to_json(self.listed_until),
            "message": self.message.to_json() if self.message else None,
            "remedy": self.remedy.to_json() if self.remedy else None,
        }
        if explanation:
            out["explanation"] = [step_json(s) for s in self.steps]
        return out


class MissingNamer(Protocol):
    """Names the missing facts of an unknown result (and of its events) when first read: the compiled engine
    decides outcomes without tracking fact paths; the reference interpreter names them."""

    def name(self) -> None: ...


class Annotations(Protocol):
    """Writes a result's explanation steps, message and remedy when they are first read (the compiled engine
    decides outcomes; the reference interpreter explains them, only when asked)."""

    def write(self, result: RuleResult) -> None: ...


def step_json(step: Step) -> dict[str, Any]:
    return {
        "expr": step.expr,
        "value": to_json(step.value),
        "at": str(step.span) if step.span else None,
        "facts": [{"path": p, "value": to_json(v)} for p, v in step.facts],
        "note": step.note,
        "children": [step_json(c) for c in step.children],
    }


@dataclass(slots=True)
class EnterpriseResult:
    enterprise: str
    as_of: dt.date
    results: list[RuleResult]
    # where it comes from: the policy's name and digest, the engine, the params overridden (`Policy.provenance`)
    provenance: dict[str, Any] | None = None

    def by_rule(self, rule: str) -> RuleResult:
        for r in self.results:
            if r.rule == rule:
                return r
        raise KeyError(rule)

    def by_catalogue_id(self, cid: str) -> list[RuleResult]:
        return [r for r in self.results if cid in r.implements]

    def to_json(self, explanation: bool = True) -> dict[str, Any]:
        """The enterprise's results as JSON-ready data (the shape `safetyrules explain --format json` prints)."""
        out: dict[str, Any] = {"schema_version": RESULT_SCHEMA_VERSION, "enterprise": self.enterprise,
                               "as_of": self.as_of.isoformat()}
        if self.provenance is not None:
            out["provenance"] = self.provenance
        out["results"] = [r.to_json(explanation) for r in self.results]
        return out


def fact_text(path: str, value: Any, lang: str) -> str:
    return f"{path}={show(value, lang)}"
