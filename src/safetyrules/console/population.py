"""The population the console shows: a facts file loaded once, evaluated per as-of date (a few dates kept).

A :class:`TownView` is one date's evaluation with what the pages need: per obligation and per village counts,
the headline (:class:`Headline`), the enterprises with most violations. Evaluation uses the compiled row
engine without explanations; messages are written when a page first reads them (under the view's lock: one
result is written once), and the enterprise page evaluates its one record again, explained.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from safetyrules.api import Policy, RuleInfo, bundled_example_path
from safetyrules.engine.results import EnterpriseResult, Outcome, RuleResult
from safetyrules.errors import InputError

EXAMPLE_AS_OF = dt.date(2022, 12, 31)  # the bundled town's horizon (as `safetyrules eval` defaults)
VIEWS_KEPT = 4  # as-of dates whose evaluation is kept
UNKNOWN_VILLAGE = "（未知）"


class PopulationError(InputError):
    """The facts file cannot be used (missing, unreadable, another policy's facts)."""


@dataclass(frozen=True, slots=True)
class RuleSets:
    """The policy's rules as the headline counts them."""

    obligations: tuple[str, ...]  # in policy order
    triggers: tuple[str, ...]
    high: frozenset[str]  # high-severity obligations: a violation makes an enforcement candidate
    derived: frozenset[str]  # rules that judge other rules' outcomes (the policy's enforcement rule)
    enforcement: str | None  # the policy's first rule saying who is an enforcement candidate, if it has one

    @classmethod
    def of(cls, rules: Iterable[RuleInfo], candidates: frozenset[str] = frozenset()) -> RuleSets:
        """The sets of a policy's rules; `candidates`: its candidate rules (`Program.candidate_rules`)."""
        rules = list(rules)
        return cls(tuple(r.name for r in rules if r.kind == "obligation"),
                   tuple(r.name for r in rules if r.kind == "trigger"),
                   frozenset(r.name for r in rules if r.kind == "obligation" and r.severity == "high"),
                   frozenset(r.name for r in rules if r.rules_used),
                   next((r.name for r in rules if r.name in candidates), None))


@dataclass(slots=True)
class Headline:
    """What a town's safety office reads first."""

    enterprises: int = 0
    violations: int = 0  # violated (enterprise, obligation) pairs, derived rules aside
    with_violation: int = 0  # enterprises with at least one
    candidates: int = 0  # enterprises with a violated high-severity obligation or a triggered credit listing
    listings: int = 0  # triggered (enterprise, credit listing) pairs
    listed: int = 0  # enterprises with at least one
    policy_candidates: int | None = None  # the policy's own enforcement rule violated (None: it has none)
    satisfied: int = 0
    violated_judged: int = 0

    @property
    def rate(self) -> float | None:
        judged = self.satisfied + self.violated_judged
        return self.satisfied / judged if judged else None


def headline(outcomes: Iterable[tuple[str, str, Outcome]], sets: RuleSets, enterprises: int) -> Headline:
    """The headline of (enterprise, rule, outcome) triples."""
    h = Headline(enterprises=enterprises, policy_candidates=0 if sets.enforcement else None)
    violating: set[str] = set()
    candidates: set[str] = set()
    listed: set[str] = set()
    for enterprise, rule, outcome in outcomes:
        if outcome is Outcome.VIOLATED:
            if rule not in sets.derived:
                h.violations += 1
                violating.add(enterprise)
            if rule in sets.high:
                candidates.add(enterprise)
            if rule == sets.enforcement and h.policy_candidates is not None:
                h.policy_candidates += 1
        elif outcome is Outcome.TRIGGERED:
            h.listings += 1
            listed.add(enterprise)
            candidates.add(enterprise)
        if rule not in sets.derived and rule in sets.obligations:
            if outcome is Outcome.SATISFIED:
                h.satisfied += 1
            elif outcome is Outcome.VIOLATED:
                h.violated_judged += 1
    h.with_violation, h.candidates, h.listed = len(violating), len(candidates), len(listed)
    return h


def rate(counts: Counter[Outcome]) -> float | None:
    """Compliance: satisfied of satisfied and violated (as `safetyrules eval` and the what-if reports count)."""
    judged = counts[Outcome.SATISFIED] + counts[Outcome.VIOLATED]
    return counts[Outcome.SATISFIED] / judged if judged else None


def applicable(counts: Counter[Outcome]) -> int:
    return sum(n for o, n in counts.items() if o not in (Outcome.NOT_APPLICABLE, Outcome.NOT_TRIGGERED))


@dataclass(slots=True)
class Member:
    """One enterprise on one date."""

    key: str
    name: str
    village: str
    industry: str
    record: dict[str, Any]
    result: EnterpriseResult
    violated: list[str] = field(default_factory=list)  # obligations violated (derived rules aside), policy order
    triggered: list[str] = field(default_factory=list)
    candidate: bool = False


@dataclass(slots=True)
class TownView:
    """A population evaluated on one date."""

    as_of: dt.date
    sets: RuleSets
    members: list[Member]
    by_key: dict[str, Member]
    by_rule: dict[str, Counter[Outcome]]
    by_rule_village: dict[str, dict[str, Counter[Outcome]]]
    villages: dict[str, list[Member]]
    headline: Headline
    lock: threading.Lock = field(default_factory=threading.Lock)

    def village_headline(self, village: str) -> Headline:
        members = self.villages.get(village, [])
        return headline(((m.key, r.rule, r.outcome) for m in members for r in m.result.results), self.sets,
                        len(members))

    def worst(self, top: int = 10, members: Iterable[Member] | None = None) -> list[Member]:
        """The enterprises with most violated obligations (then credit listings), most first."""
        chosen = [m for m in (self.members if members is None else members) if m.violated or m.triggered]
        chosen.sort(key=lambda m: (-len(m.violated), -len(m.triggered), m.village, m.key))
        return chosen[:top]

    def result_of(self, member: Member, rule: str) -> RuleResult | None:
        return next((r for r in member.result.results if r.rule == rule), None)

    def messages(self, results: Iterable[RuleResult]) -> list[tuple[RuleResult, Any, Any]]:
        """(result, message, remedy) of each, written under the view's lock (one result is written once)."""
        with self.lock:
            return [(r, r.message, r.remedy) for r in results]


class Population:
    """The configured facts file (default: the bundled example town), loaded when first needed."""

    def __init__(self, policy: Policy, facts: str | Path | None = None) -> None:
        self.policy = policy
        self.path = Path(facts) if facts is not None else None
        self.sets = RuleSets.of(policy.rules(), policy.program.candidate_rules())
        self._records: list[dict[str, Any]] | None = None
        self.rejected = 0
        self.warnings: list[str] = []
        self._load_lock = threading.Lock()
        self._views: OrderedDict[dt.date, TownView] = OrderedDict()
        self._views_lock = threading.Lock()
        self._compute_lock = threading.Lock()  # one evaluation at a time: a date asked twice is evaluated once

    @property
    def bundled(self) -> bool:
        return self.path is None

    @property
    def source_name(self) -> str:
        return bundled_example_path().name if self.path is None else self.path.name

    @property
    def default_as_of(self) -> dt.date:
        return EXAMPLE_AS_OF if self.bundled else dt.date.today()

    def records(self) -> list[dict[str, Any]]:
        """The valid records of the facts file (validated as the loaders validate; rejected ones counted)."""
        with self._load_lock:
            if self._records is None:
                self._records = self._load()
            return self._records

    def _load(self) -> list[dict[str, Any]]:
        from safetyrules.facts.errors import FactsFileError
        from safetyrules.facts.loaded import Loaded
        from safetyrules.facts.loaders import FactSource

        if self.path is None and not self.policy.contract.builtin:
            raise PopulationError(f"policy `{self.policy.name}` declares its own facts: start the service with "
                                  "--facts FILE / 该政策声明了自己的事实，请用 --facts 指定数据文件")
        path = self.path or bundled_example_path()
        try:
            source = FactSource(path, limits=self.policy.limits, contract=self.policy.contract)
            records = [item.record for item in source if isinstance(item, Loaded)]
        except FactsFileError as e:
            raise PopulationError(str(e)) from None
        self.rejected = source.report.rejected
        self.warnings = list(source.report.warnings)
        return records

    def view(self, as_of: dt.date) -> TownView:
        """The population evaluated on `as_of` (the last `VIEWS_KEPT` dates are kept)."""
        found = self._kept(as_of)
        if found is not None:
            return found
        with self._compute_lock:
            found = self._kept(as_of)
            if found is not None:
                return found
            view = evaluate_town(self.policy, self.records(), as_of, self.sets)
            with self._views_lock:
                self._views[as_of] = view
                while len(self._views) > VIEWS_KEPT:
                    self._views.popitem(last=False)
            return view

    def _kept(self, as_of: dt.date) -> TownView | None:
        with self._views_lock:
            found = self._views.get(as_of)
            if found is not None:
                self._views.move_to_end(as_of)
            return found


def _text(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    return "" if value is None else str(value)


def evaluate_town(policy: Policy, records: list[dict[str, Any]], as_of: dt.date, sets: RuleSets) -> TownView:
    """Evaluate validated records on one date and count what the pages show."""
    key = policy.contract.key
    members: list[Member] = []
    by_rule: dict[str, Counter[Outcome]] = {name: Counter() for name in (*sets.obligations, *sets.triggers)}
    by_rule_village: dict[str, dict[str, Counter[Outcome]]] = defaultdict(lambda: defaultdict(Counter))
    villages: dict[str, list[Member]] = defaultdict(list)
    for record in records:
        result = policy.evaluate_record(record, as_of)
        village = _text(record.get("village")) or UNKNOWN_VILLAGE
        m = Member(_text(record.get(key)), _text(record.get("name")), village, _text(record.get("industry")),
                   record, result)
        for r in result.results:
            by_rule.setdefault(r.rule, Counter())[r.outcome] += 1
            by_rule_village[r.rule][village][r.outcome] += 1
            if r.outcome is Outcome.VIOLATED:
                if r.rule not in sets.derived:
                    m.violated.append(r.rule)
                if r.rule in sets.high:
                    m.candidate = True
            elif r.outcome is Outcome.TRIGGERED:
                m.triggered.append(r.rule)
                m.candidate = True
        members.append(m)
        villages[village].append(m)
    head = headline(((m.key, r.rule, r.outcome) for m in members for r in m.result.results), sets, len(members))
    return TownView(as_of, sets, members, {m.key: m for m in members}, by_rule,
                    {r: dict(v) for r, v in by_rule_village.items()}, dict(sorted(villages.items())), head)
