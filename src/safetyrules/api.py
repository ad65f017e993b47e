"""The public library API: load a policy once, evaluate enterprises many times.

    from safetyrules import load_policy
    policy = load_policy()                                   # the bundled seed policy (附件4)
    result = policy.evaluate({"id": "E1", "industry": "construction"}, "2022-06-30")
    for r in result.results:
        print(r.rule, r.outcome, r.message.zh)
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from safetyrules.check.checker import RESERVED_PARAMS, CheckedPolicy
from safetyrules.check.common import suggest
from safetyrules.check.pipeline import Compilation, compile_paths, compile_sources
from safetyrules.diagnostics import Diagnostic, PolicyError
from safetyrules.engine.params import ParamTable
from safetyrules.engine.results import EnterpriseResult, Outcome, RuleResult, Text
from safetyrules.engine.rules import RuleEngine
from safetyrules.engine.values import to_json
from safetyrules.errors import DateError, InputError
from safetyrules.facts.checks import validate_record
from safetyrules.facts.contract import FactContract, builtin_contract
from safetyrules.limits import DEFAULT, Limits
from safetyrules.lower import Program, RuleIR, lower
from safetyrules.provenance import sources_digest
from safetyrules.report.explain import message, remedy
from safetyrules.syntax import ast
from safetyrules.syntax.formatter import format_expr
from safetyrules.version import __version__

if TYPE_CHECKING:  # the report modules read a Policy: imported when a message is first written
    from safetyrules.report.vocabulary import Vocabulary


def bundled_policy_path() -> Path:
    """The seed policy shipped inside the package (a folder of `.policy` files)."""
    return Path(__file__).parent / "bundled" / "policies" / "annex4"


def bundled_example_path() -> Path:
    return Path(__file__).parent / "bundled" / "examples" / "town.jsonl"


class FactError(InputError):
    """An enterprise record passed to `evaluate` breaks the fact contract.

    `errors` lists every problem as the file loaders report it: `{"path": "hazards[0].remediated_on",
    "message": …, "message_zh": …, "code": …}` (an empty path is the record as a whole).
    """

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['path']}: {e['message']}" if e["path"] else e["message"] for e in errors))


class UnknownFieldWarning(UserWarning):
    """A record passed to the library has a field the fact contract does not know: it is kept and ignored by
    the rules (a misspelt field would silently be unknown to every rule, so the warning names the closest)."""


@dataclass(frozen=True, slots=True)
class ParamInfo:
    name: str
    type: str
    default: Any  # None for a built-in `periodic_first_due_anchor` of a policy without a period: unknown
    dated: tuple[tuple[dt.date, Any], ...]
    sources: tuple[tuple[str, str], ...]
    doc: str
    # a reserved param the policy does not declare and a rule reads: `default` is the engines' built-in value
    builtin: bool = False
    label: Text | None = None  # its name as a person reads it (`label zh "…" en "…"`), if the policy gives one


@dataclass(frozen=True, slots=True)
class RuleInfo:
    name: str
    kind: str
    implements: tuple[str, ...]
    title: Text
    sources: tuple[tuple[str, str], ...]
    due: str
    params: tuple[str, ...]
    rules_used: tuple[str, ...]
    severity: str | None
    file: str
    line: int


def as_date(value: dt.date | str, limits: Limits = DEFAULT) -> dt.date:
    """A date given to the API: a `date`, a `datetime` (its date) or ISO text `YYYY-MM-DD`, inside the calendar
    the engines compute in (`limits.min_date` .. `limits.max_date`); anything else raises `DateError`."""
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            if len(text) != 10:  # fromisoformat also takes 20220630 and week dates: only YYYY-MM-DD is a date here
                raise ValueError
            day = dt.date.fromisoformat(text)
        except ValueError:
            shown = value if len(value) <= 40 else value[:39] + "…"
            raise DateError(f"`{shown}` is not a date (YYYY-MM-DD)") from None
    else:
        raise DateError(f"expected a date (YYYY-MM-DD), not a {type(value).__name__}")
    if not limits.min_date <= day <= limits.max_date:
        raise DateError(f"{day} is outside the calendar the engines compute in ({limits.min_date} .. "
                        f"{limits.max_date})")
    return day


def fact_record(enterprise: Mapping[str, Any] | BaseModel, validate: bool = True,
                limits: Limits = DEFAULT, contract: FactContract | None = None) -> dict[str, Any]:
    """The engine's view of an enterprise: absent keys = unknown, None = known not to exist.

    A mapping is checked exactly as the file loaders check a record (`safetyrules.facts.validate_record`:
    nesting, sizes, numbers, the contract — `contract`, a policy's facts; default: the built-in 附件4 one); a
    bad one raises `FactError`, an unknown field warns with `UnknownFieldWarning`.
    """
    if isinstance(enterprise, BaseModel):
        return enterprise.model_dump(exclude_unset=True)
    if not validate:
        return dict(enterprise)
    from safetyrules.facts._fast import quick_validator

    model = (contract or builtin_contract()).model
    raw = dict(enterprise) if isinstance(enterprise, Mapping) else enterprise
    # the common record goes straight to its dict and unknown fields (the same as below, in a fifth of the time:
    # facts/_fast.py); anything else, bad or unusual, takes the full checks
    quick = quick_validator(model, limits.max_int, limits.max_list_items)
    found = None if quick is None else quick.record(raw, limits)
    if found is not None:
        record, unknown = found
    else:
        check = validate_record(raw, limits, model=model)
        if check.model is None:
            raise FactError([{"path": e.path, "message": e.message, "message_zh": e.message_zh, "code": e.code}
                             for e in check.errors])
        record, unknown = check.model.model_dump(exclude_unset=True), check.unknown_fields
    for path, suggestion in unknown.items():
        hint = f"; did you mean {suggestion!r}? / 是否应为 {suggestion}？" if suggestion is not None else ""
        # one message per field path (not per record): Python shows each warning once per place
        warnings.warn(f"unknown field {path!r}: kept, ignored by the rules{hint}", UnknownFieldWarning, stacklevel=3)
    return record


class Policy:
    """A checked policy, ready to evaluate. Build it with `load_policy` or `load_policy_text`."""

    def __init__(self, compilation: Compilation, limits: Limits = DEFAULT) -> None:
        if compilation.policy is None:
            raise PolicyError(compilation.errors or compilation.diagnostics, compilation.sources)
        self.compilation = compilation
        self.limits = limits  # bounds on the records and dates given to `evaluate` (docs/limits.md)
        self.checked: CheckedPolicy = compilation.policy
        self.program: Program = lower(self.checked)  # what the engines run
        self.contract: FactContract = self.checked.contract  # the facts its rules read (declared or built-in)
        self._engines: dict[tuple[tuple[tuple[str, str], ...], frozenset[str], bool], RuleEngine] = {}

    # ------------------------------------------------------------------ description
    @property
    def name(self) -> str:
        return self.program.name

    @property
    def title(self) -> Text:
        t = self.program.title
        return Text(t.zh, t.en) if t else Text(self.name, self.name)

    @functools.cached_property
    def digest(self) -> str:
        """The policy's content digest (`sha256:…`): the same wherever the same policy is loaded from, and
        the digest of a bundle built from it (safetyrules.provenance)."""
        return sources_digest(self.compilation.sources, self.compilation.roots)

    @functools.cached_property
    def vocabulary(self) -> Vocabulary:
        """The policy's words (titles, the facts' and params' labels), built once: what turns its results'
        messages and remedies, and explanations, into what a person reads (report/vocabulary.py)."""
        from safetyrules.report.vocabulary import Vocabulary

        return Vocabulary(self)

    def provenance(self, params: Mapping[str, Any] | None = None, engine: str = "compiled") -> dict[str, Any]:
        """What every result carries: the policy's name and digest, the engine and its version, and the
        params overridden (each result lists the params in force it read)."""
        return {"policy": self.name, "digest": self.digest, "engine": engine, "safetyrules": __version__,
                "params": {k: to_json(v) for k, v in sorted((params or {}).items())}}

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.compilation.diagnostics if not d.is_error]

    @property
    def catalogue(self) -> tuple[str, ...]:
        return self.checked.catalogue

    def rules(self) -> list[RuleInfo]:
        """The rules in the order the policy declares them."""
        out = []
        for r in self.program.declared:
            out.append(RuleInfo(
                name=r.name, kind=r.kind, implements=r.implements,
                title=Text(r.title.zh, r.title.en) if r.title else Text(r.name, r.name),
                sources=tuple((s.section, s.quote) for s in r.sources),
                due=_due_text(r),
                params=tuple(sorted(r.params_read)),
                rules_used=tuple(sorted(r.rules_read)),
                severity=r.severity,
                file=r.decl.span.file, line=r.decl.span.line,
            ))
        return out

    def params(self) -> list[ParamInfo]:
        """The declared params in the policy's order, then the reserved params its rules read that it does not
        declare (`builtin`: their default is the value the engines use; docs/semantics.md)."""
        table = ParamTable(self.program)
        out = []
        for name, decl in self.checked.params.items():
            sched = table.schedules[name]
            out.append(ParamInfo(
                name=name, type=str(self.checked.param_types[name]), default=sched.entries[0][1],
                dated=tuple((d, v) for d, v in sched.entries[1:] if d is not None),
                sources=tuple((i.section, i.quote) for i in decl.items if isinstance(i, ast.Source)),
                doc="\n".join(decl.doc),
                label=next((Text(i.text.zh, i.text.en) for i in decl.items if isinstance(i, ast.Label)), None)))
        for name, value in self.checked.builtin_params.items():
            out.append(ParamInfo(
                name=name, type=str(RESERVED_PARAMS[name]), default=value, dated=(), sources=(),
                doc="Read by the engines and not declared by the policy: the built-in value applies "
                    "(docs/semantics.md).", builtin=True))
        return out

    # ------------------------------------------------------------------ evaluation
    def engine(self, params: Mapping[str, Any] | None = None, disabled: frozenset[str] = frozenset(),
               compiled: bool = True) -> RuleEngine:
        """The row engine for these param overrides (and rules switched off), built once: compiled
        expressions by default (engine/compiled.py), the reference interpreter alone with `compiled=False`.
        The most recently used `ENGINES_KEPT` are kept."""
        unknown = {n for n in disabled if not self.program.has_rule(n)}
        if unknown:
            raise KeyError(f"no rule named {', '.join(sorted(unknown))}")
        key = (tuple(sorted((k, repr(v)) for k, v in (params or {}).items())), disabled, compiled)
        engine = self._engines.pop(key, None)
        if engine is None:
            engine = RuleEngine(self.program, ParamTable(self.program, params), disabled, compiled=compiled)
            if len(self._engines) >= ENGINES_KEPT:  # a service posting many distinct params: bounded
                self._engines.pop(next(iter(self._engines)))
        self._engines[key] = engine  # last: most recently used
        return engine

    def evaluate(self, enterprise: Mapping[str, Any] | BaseModel, as_of: dt.date | str,
                 params: Mapping[str, Any] | None = None, explain: bool = True,
                 engine: str = "compiled") -> EnterpriseResult:
        """Every rule's outcome for one enterprise on one date (explanations included by default).

        Outcomes, dates and catalogue ids come from the compiled engine; each result's explanation steps,
        message and remedy are written by the reference interpreter when first read (`engine="reference"`:
        the interpreter decides too)."""
        day = as_date(as_of, self.limits)  # before the record: a bad date is the caller's mistake, whatever the record
        record = fact_record(enterprise, limits=self.limits, contract=self.contract)
        return self._evaluate_record(record, day, params, explain, compiled=_compiled(engine))

    def evaluate_many(self, enterprises: Iterable[Mapping[str, Any] | BaseModel], as_of: dt.date | str,
                      params: Mapping[str, Any] | None = None, explain: bool = False, engine: str = "compiled",
                      ) -> Iterator[EnterpriseResult]:
        """Evaluate a population lazily, one enterprise at a time (bounded memory)."""
        compiled = _compiled(engine)
        self.engine(params, compiled=compiled)  # a bad param fails here, before the first enterprise
        day = as_date(as_of, self.limits)
        for e in enterprises:
            yield self._evaluate_record(fact_record(e, limits=self.limits, contract=self.contract), day, params,
                                        explain, compiled=compiled)

    def evaluate_rules(self, enterprise: Mapping[str, Any] | BaseModel, as_of: dt.date | str,
                       names: str | Iterable[str], params: Mapping[str, Any] | None = None,
                       explain: bool = False) -> EnterpriseResult:
        """The results of the named rules only, in the policy's order, each as `evaluate` gives it: the rules
        they read (`violated(r)`, `triggered(r)`, through definitions too) are evaluated as well, but not
        returned. One name alone may be given as a string. An unknown name raises `InputError` (with a
        did-you-mean); the record, the date and the params are checked as by `evaluate`."""
        wanted = self._rule_names(names)
        day = as_date(as_of, self.limits)
        record = fact_record(enterprise, limits=self.limits, contract=self.contract)
        # explained, every rule is evaluated: a definition's steps are shown where it is first read, as in a
        # full evaluation
        result = self._evaluate_record(record, day, params, explain,
                                       rules=None if explain else self.rules_needed(wanted))
        result.results = [r for r in result.results if r.rule in wanted]
        return result

    def rules_needed(self, names: str | Iterable[str]) -> frozenset[str]:
        """The named rules and every rule whose outcome they read, directly or through other rules and
        definitions: what evaluating them evaluates (`InputError` for an unknown name)."""
        needed = set(self._rule_names(names))
        todo = list(needed)
        while todo:
            for dep in self.program.rule(todo.pop()).rules_read:
                if dep not in needed:
                    needed.add(dep)
                    todo.append(dep)
        return frozenset(needed)

    def _rule_names(self, names: str | Iterable[str]) -> frozenset[str]:
        wanted = frozenset([names] if isinstance(names, str) else names)
        known = [r.name for r in self.program.rules]
        for name in sorted(wanted, key=str):
            if not isinstance(name, str) or not self.program.has_rule(name):
                hint = suggest(name, known) if isinstance(name, str) else None
                raise InputError(f"no rule named `{name}`" + (f"; {hint}" if hint else "")
                                 + " (the rule names are listed by `safetyrules inspect`)")
        return wanted

    def evaluate_record(self, record: Mapping[str, Any], as_of: dt.date | str,
                        params: Mapping[str, Any] | None = None, explain: bool = False,
                        disabled: frozenset[str] = frozenset(), engine: str = "compiled") -> EnterpriseResult:
        """Evaluate an already validated record (`model_dump(exclude_unset=True)` of an Enterprise)."""
        return self._evaluate_record(record, as_date(as_of, self.limits), params, explain, disabled,
                                     compiled=_compiled(engine))

    def _evaluate_record(self, record: Mapping[str, Any], as_of: dt.date, params: Mapping[str, Any] | None,
                         explain: bool, disabled: frozenset[str] = frozenset(), rules: frozenset[str] | None = None,
                         compiled: bool = True) -> EnterpriseResult:
        engine = self.engine(params, disabled, compiled)
        results = engine.evaluate(record, as_of, rules=rules)
        annotations = _Explanations(self, record, as_of, params, disabled, explain, rules)
        for r in results:
            r.annotate_later(annotations)
        return EnterpriseResult(str(record.get(self.contract.key, "")), as_of, results,
                                self.provenance(params, "compiled" if compiled else "reference"))


ENGINES_KEPT = 32  # row engines a Policy keeps, one per distinct (params, rules off, compiled)


def _compiled(engine: str) -> bool:
    if engine not in ("compiled", "reference"):
        raise InputError(f"engine must be `compiled` or `reference`, not {engine!r}")
    return engine == "compiled"


class _Explanations:
    """The explanation steps, messages and remedies of one enterprise's results, written when one is first
    read: the reference interpreter evaluates the record again, traced when an explanation was asked for
    (else it records the `applies` steps a message cites), exactly as an eager evaluation would."""

    __slots__ = ("as_of", "disabled", "explain", "params", "policy", "record", "rules", "written")

    def __init__(self, policy: Policy, record: Mapping[str, Any], as_of: dt.date,
                 params: Mapping[str, Any] | None, disabled: frozenset[str], explain: bool,
                 rules: frozenset[str] | None) -> None:
        self.policy, self.record, self.as_of = policy, record, as_of
        self.params, self.disabled, self.explain, self.rules = params, disabled, explain, rules
        self.written: dict[str, RuleResult] | None = None

    def write(self, result: RuleResult) -> None:
        if self.written is None:
            engine = self.policy.engine(self.params, self.disabled, compiled=False)
            results = engine.evaluate(self.record, self.as_of, trace=self.explain, message_facts=True,
                                      rules=self.rules)
            outcomes = {r.rule: r.outcome for r in results}
            vocab = self.policy.vocabulary
            for r in results:
                annotate(r, self.policy.program.rule(r.rule), outcomes, vocab)
            self.written = {r.rule: r for r in results}
        done = self.written.get(result.rule)
        if done is not None:
            result.message, result.remedy = done.message, done.remedy
            # only the `applies` steps were recorded (for the message) when no explanation was asked
            result.steps = done.steps if self.explain else []
            result.observed = done.observed


def annotate(result: RuleResult, rule: RuleIR, outcomes: Mapping[str, Outcome],
             vocab: Vocabulary | None = None) -> None:
    """A result's message and remedy; with the policy's vocabulary, in words (facts by their labels, rules by
    their titles, the conditions to make hold as the explanation says them), as a person reads them."""
    said = message(result, outcomes)
    authored = rule.remedy
    fix = remedy(result, Text(authored.zh, authored.en) if authored else None, outcomes)
    if vocab is not None:
        from safetyrules.report.words import remedy_words

        said = Text(vocab.humanize(said.zh, "zh"), vocab.humanize(said.en, "en"))
        if fix is not None:
            fix = Text(remedy_words(vocab, fix.zh, "zh"), remedy_words(vocab, fix.en, "en"))
    result.message, result.remedy = said, fix


def _due_text(r: RuleIR) -> str:
    due = r.deadline
    match due:
        case ast.DueContinuous():
            return "continuous"
        case ast.DueBy(deadline=d):
            return f"by {format_expr(d)}"
        case ast.DueEvery(period=p):
            return f"every {format_expr(p)}"
        case ast.DueWithin(window=w, after=a):
            return f"within {format_expr(w)} after {format_expr(a)}"
        case ast.DueOn(deadline=d):
            return f"on {format_expr(d)}"
    if r.kind == "trigger":
        return f"listed for {format_expr(r.listing)}" if r.listing is not None else "trigger"
    return "?"


def load_policy(path: str | Path | list[str | Path] | None = None, limits: Limits = DEFAULT) -> Policy:
    """Load, parse and check a policy (a `.policy` file or a folder of them; default: the bundled seed).

    Raises `PolicyError` (with every diagnostic) when the policy has errors.
    """
    if path is None:
        paths = [bundled_policy_path()]
    elif isinstance(path, list):
        paths = [Path(p) for p in path]
    else:
        paths = [Path(path)]
    return Policy(compile_paths(paths, limits=limits), limits)


def load_policy_text(text: str, name: str = "<string>.policy", limits: Limits = DEFAULT) -> Policy:
    return Policy(compile_sources({name: text}, limits=limits), limits)
