"""The lowered form of a checked policy: one `Program`, one `RuleIR` per rule, read by every engine.

The checker proves a policy well formed; lowering turns its declarations into the shape the engines need,
so that no engine scans a rule's items or works out again what a rule depends on:

- a rule's static part: name, kind, catalogue ids, title, cited clauses, severity, effect, remedy, and *every*
  param its result may depend on — those its text reads, directly or through definitions, and the reserved
  params the engines read for its kind of deadline (`late_act_memory`, `new_entrant_grace`,
  `periodic_first_due_anchor`) — with the definitions and the rules it reads;
- its conditions (`applies`, `unless`, `each … where`, `require`) as fields, absent ones None or empty;
- its deadline as one of the explicit variants of `Deadline`.

Expressions stay the checked AST nodes, each carrying its type (`check.types.type_of`), so an engine can
compile or interpret them and an explanation can still point at their source spans.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from safetyrules.check.types import LangType
from safetyrules.facts.contract import FactContract
from safetyrules.facts.schema import FactSchema
from safetyrules.syntax import ast
from safetyrules.syntax.revision import candidate_condition

Deadline = ast.DueContinuous | ast.DueBy | ast.DueEvery | ast.DueWithin | ast.DueOn
"""The deadline variants: held continuously; by a date (`met` when done); every period since the `last` act
(`first` due date when there is none); within a window after an event (`done` when acted); on a date."""


@dataclass(frozen=True, slots=True)
class RuleIR:
    """One rule, lowered."""

    name: str
    kind: str  # "obligation" | "trigger" (a credit-record entry); a `candidate` is an obligation (see `candidate`)
    position: int  # its place among the rules in the order the policy declares them (results follow it)
    decl: ast.RuleDecl  # the source declaration: spans for explanations and coverage
    implements: tuple[str, ...]  # catalogue ids
    title: ast.Bilingual | None
    sources: tuple[ast.Source, ...]  # the clauses it cites, in order
    severity: str | None
    effect: ast.Bilingual | None
    remedy: ast.Bilingual | None
    effective: dt.date | None  # in force from this day (None: always)
    applies: ast.Expr | None
    unless: tuple[ast.Unless, ...]
    each: ast.Each | None  # one duty per element of a list (`each h in hazards where …`)
    requires: tuple[ast.Expr, ...]  # every `require` condition: all must hold
    deadline: Deadline | None
    trigger_on: ast.Expr | None  # a trigger's date
    listing: ast.Expr | None  # a trigger's listing duration
    params_read: frozenset[str]  # every param its result may depend on, reserved ones included
    reserved_read: frozenset[str]  # of those, the reserved params its kind of deadline makes the engines read
    defines_read: frozenset[str]  # the definitions it reads, directly or through other definitions
    rules_read: frozenset[str]  # the rules whose outcomes it reads (`violated(…)`, `triggered(…)`)
    # declared as a `candidate` (who is an enforcement candidate): run as the obligation it stands for
    # (`require not C`, `due continuous`), so "violated" is "a candidate"; results do not tell it yet
    candidate: bool = False

    @property
    def is_trigger(self) -> bool:
        return self.kind == "trigger"


@dataclass(frozen=True, slots=True)
class Program:
    """A policy lowered for the engines: its rules in evaluation order (a rule after the rules it reads)."""

    name: str
    title: ast.Bilingual | None
    document: str  # the document the rules cite ("" when not declared)
    period: ast.Period | None
    catalogue: tuple[str, ...]
    rules: tuple[RuleIR, ...]
    params: Mapping[str, ast.ParamDecl]
    param_types: Mapping[str, LangType]
    defines: Mapping[str, ast.DefineDecl]
    define_types: Mapping[str, LangType]
    contract: FactContract  # the facts as the engines read them
    schema: FactSchema | None  # the facts the policy declares (None: the built-in contract)
    # the reserved params some rule reads that the policy does not declare → the built-in value the engines use
    builtin_params: Mapping[str, Any] = field(default_factory=dict)
    _by_name: dict[str, RuleIR] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update((r.name, r) for r in self.rules)

    def rule(self, name: str) -> RuleIR:
        """The rule named `name` (KeyError when there is none)."""
        return self._by_name[name]

    def has_rule(self, name: str) -> bool:
        return name in self._by_name

    @property
    def declared(self) -> list[RuleIR]:
        """The rules in the order the policy declares them (the order results are reported in)."""
        return sorted(self.rules, key=lambda r: r.position)

    @property
    def period_start(self) -> dt.date | None:
        return self.period.start if self.period is not None else None

    def candidate_rules(self) -> frozenset[str]:
        """The rules that say who is an enforcement candidate ("violated" means "is a candidate"): those declared
        `candidate`, and obligations written in the earlier revision's shape for it (`require not C`, C only
        reading other rules' outcomes; they warn `deprecated-candidate`), so that reports list them apart."""
        return frozenset(r.name for r in self.rules if r.candidate or candidate_condition(r.decl) is not None)

    def readers(self) -> dict[str, set[str]]:
        """Rule → the rules that read its outcome directly."""
        out: dict[str, set[str]] = {}
        for r in self.rules:
            for dep in r.rules_read:
                out.setdefault(dep, set()).add(r.name)
        return out
