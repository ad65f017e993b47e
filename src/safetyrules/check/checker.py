"""Name resolution and type checking of a whole policy (one or more files) against the fact schema.

Stages run in order, as OPA's compiler does: declarations (duplicates, header) → params and definitions →
rules (items, expressions, catalogue ids) → dependency cycles → unused names. Every mistake becomes a
diagnostic; the checker goes on after each one so that a file with ten mistakes reports ten.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from safetyrules.check.common import single_items, suggest
from safetyrules.check.schema import check_schema
from safetyrules.check.types import (
    ANY,
    BOOL,
    DATE,
    DURATION,
    INSTANT,
    NULL,
    NUMBER,
    ORDERED,
    STRING,
    EnumType,
    LangType,
    ListType,
    RecordType,
    RuleType,
    SetType,
    compatible,
    enterprise_type,
    record_fields,
    set_type,
    type_from_name,
    type_names,
    unify,
)
from safetyrules.diagnostics import Diagnostic, DiagnosticSink, Related, Span
from safetyrules.engine.values import Duration
from safetyrules.facts.contract import FactContract, builtin_contract, contract_for
from safetyrules.facts.schema import FactSchema
from safetyrules.limits import DEFAULT, Limits
from safetyrules.syntax import ast
from safetyrules.syntax.parser import UNPARSED_HEADER
from safetyrules.syntax.revision import candidate_condition, engine_param, named_param
from safetyrules.syntax.walk import children, free_names

SEVERITIES = ("high", "medium", "low")

MAX_RANGE = 10_000  # an integer range longer than this is refused at run time (its value is unknown)

# Params with a meaning to the engine. Declared in the policy to override the built-in default.
RESERVED_PARAMS: dict[str, LangType] = {
    "new_entrant_grace": DURATION,
    "late_act_memory": DURATION,
    "periodic_first_due_anchor": DATE,
}

# The value the engines use for a reserved param the policy does not declare (docs/semantics.md); None for
# `periodic_first_due_anchor`: the start of the policy's `period` (`CheckedPolicy.builtin_params` resolves it).
RESERVED_DEFAULTS: dict[str, Duration | None] = {
    "new_entrant_grace": Duration(days=90),
    "late_act_memory": Duration(months=12),
    "periodic_first_due_anchor": None,
}

ESTABLISHED_FIELD = "established_on"
"""The subject's date of establishment, if its schema declares one: the engines give new entrants
`new_entrant_grace` after a `due by` deadline."""


def reserved_params_of(rule: ast.RuleDecl, contract: FactContract) -> set[str]:
    """The reserved params the engines read for `rule`'s kind of deadline (its text names it, or did not have to
    in the earlier revision of the language):
    `late_act_memory` for `due within` / `due on` (a late act leaves the duty violated that long),
    `new_entrant_grace` for `due by` (when the subject has an establishment date), `periodic_first_due_anchor`
    for `due every` without `first` (the first due date with no event on record)."""
    read = engine_param(rule.due, ESTABLISHED_FIELD in contract.model.model_fields)
    return {read} if read is not None else set()

# Built-in functions: name → (arities, description). Typed in `_call`.
FUNCTIONS = {
    "date": "date(instant) → date; date(year, month, day) → date",
    "year": "year(date) → number",
    "coalesce": "coalesce(a, b, …) → the first argument that is known and not null",
    "greatest": "greatest(a, b, …) → the largest (null if any is null)",
    "least": "least(a, b, …) → the smallest (null if any is null)",
    "days_between": "days_between(from, to) → number of days from `from` to `to`",
    "violated": "violated(rule) → whether that obligation is violated",
    "triggered": "triggered(rule) → whether that credit trigger is active",
}


@dataclass(slots=True)
class CheckedPolicy:
    """A policy that passed the checker: what the engines compile from."""

    header: ast.PolicyDecl
    modules: list[ast.Module]
    params: dict[str, ast.ParamDecl]
    param_types: dict[str, LangType]
    defines: dict[str, ast.DefineDecl]
    define_types: dict[str, LangType]
    rules: list[ast.RuleDecl]  # dependency order: a rule comes after the rules it uses
    rule_deps: dict[str, set[str]]
    # rule → every param its result may depend on: those it reads, directly or through definitions, and the
    # reserved params the engines read for its kind of deadline (`reserved_params_of`), declared or not (those
    # not declared are in `builtin_params`)
    params_used: dict[str, set[str]]
    schema: FactSchema | None = None  # the facts the policy declares (None: the built-in contract)
    contract: FactContract = field(default_factory=builtin_contract)  # the facts as the engines read them
    # the reserved params some rule reads that the policy does not declare → the built-in value the engines use
    # (None: no value — `periodic_first_due_anchor` of a policy without a `period`)
    builtin_params: dict[str, Any] = field(default_factory=dict)
    # rule → the definitions it reads, directly or through other definitions (what an overridden definition
    # reaches: see `engine.params.ParamTable.define_overrides`)
    defines_used: dict[str, set[str]] = field(default_factory=dict)

    @property
    def catalogue(self) -> tuple[str, ...]:
        for item in self.header.items:
            if isinstance(item, ast.Catalogue):
                return item.ids
        return ()

    def rule(self, name: str) -> ast.RuleDecl:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)


@dataclass(slots=True)
class CheckResult:
    policy: CheckedPolicy | None
    diagnostics: list[Diagnostic]


@dataclass(slots=True)
class _Scope:
    """Names bound by quantifiers and `each`, innermost last."""

    bound: list[tuple[str, LangType]] = field(default_factory=list)

    def lookup(self, name: str) -> LangType | None:
        for n, t in reversed(self.bound):
            if n == name:
                return t
        return None


class Checker:
    def __init__(self, modules: list[ast.Module], ignore_names: frozenset[str] = frozenset(),
                 extension_files: frozenset[str] = frozenset(), limits: Limits = DEFAULT) -> None:
        self.modules = modules
        self.limits = limits
        self.extension_files = extension_files  # what-if additions: may implement ids outside the catalogue
        self.sink = DiagnosticSink()
        self.ignore_names = ignore_names  # declared in text that did not parse: not "unknown"
        self.header_unparsed = UNPARSED_HEADER in ignore_names
        self.decls: dict[str, ast.Decl] = {}
        self.params: dict[str, ast.ParamDecl] = {}
        self.param_types: dict[str, LangType] = {}
        self.defines: dict[str, ast.DefineDecl] = {}
        self.define_types: dict[str, LangType] = {}
        self.rules: dict[str, ast.RuleDecl] = {}
        self.duplicates: list[ast.ParamDecl | ast.DefineDecl | ast.RuleDecl] = []  # second declarations of a name
        self.catalogue_span: Span | None = None  # the `catalogue { … }` of the header (where ids are added)
        self.schema_decls: list[ast.EnumDecl | ast.RecordDecl] = []
        self.used: set[str] = set()
        # per declaration being checked: which params/defines/rules it reads
        self.reads: dict[str, set[str]] = {}
        self._current: str | None = None
        self._each_var: str | None = None  # the `each` variable, while a `due by` deadline is checked
        self.root = enterprise_type()
        self.contract = builtin_contract()

    # ---------------------------------------------------------------- driver
    def run(self) -> CheckResult:
        header = self._declarations()
        schema = self._schema()
        self._shadowing()
        for p in self.params.values():
            self._param(p)
        for d in self._define_order():
            self._define(d)
        catalogue = self._catalogue(header)
        for r in self.rules.values():
            self._rule(r, catalogue)
        for dup in self.duplicates:
            self._duplicate(dup, catalogue)
        order = self._rule_order()
        self._bounds()
        self._unused()
        diags = self.sink.items
        if header is None or self.sink.has_errors:
            return CheckResult(None, diags)
        policy = CheckedPolicy(
            header=header,
            modules=self.modules,
            params=self.params,
            param_types=self.param_types,
            defines=self.defines,
            define_types=self.define_types,
            rules=[self.rules[n] for n in order],
            rule_deps={n: self._rule_refs(n) for n in self.rules},
            params_used={n: self._params_of(n) for n in self.rules},
            schema=schema,
            contract=self.contract,
            builtin_params=self._builtin_params(header),
            defines_used={n: {x for x in self._closure(n) if x in self.defines} for n in self.rules},
        )
        return CheckResult(policy, diags)

    def _all_decls(self) -> Iterator[ast.Decl]:
        for m in self.modules:
            yield from m.decls

    # ---------------------------------------------------------------- declarations
    def _declarations(self) -> ast.PolicyDecl | None:
        headers: list[ast.PolicyDecl] = []
        for d in self._all_decls():
            if isinstance(d, ast.PolicyDecl):
                headers.append(d)
                continue
            if isinstance(d, ast.EnumDecl | ast.RecordDecl):
                self.schema_decls.append(d)  # types have their own namespace: checked by `_schema`
                continue
            if d.name in self.decls:
                first = self.decls[d.name]
                self.sink.error("duplicate-name", f"`{d.name}` is declared twice", d.name_span,
                                related=(Related(first.name_span, "first declared here"),))
                self.duplicates.append(d)  # its body is still checked: its own mistakes are reported too
                continue
            self.decls[d.name] = d
            if isinstance(d, ast.ParamDecl):
                self.params[d.name] = d
            elif isinstance(d, ast.DefineDecl):
                self.defines[d.name] = d
            else:
                self.rules[d.name] = d
        if not headers and self.header_unparsed:
            return None
        if not headers:
            span = self.modules[0].decls[0].span if self.modules and self.modules[0].decls else Span(
                self.modules[0].file if self.modules else "<policy>", 1, 1, 1, 1)
            self.sink.error("missing-policy", "no `policy { … }` header: every policy needs exactly one",
                            span, suggestion="add `policy my_policy { title zh \"…\" en \"…\" }`")
            return None
        for extra in headers[1:]:
            self.sink.error("duplicate-policy", "a second `policy` header; a policy has exactly one",
                            extra.name_span, related=(Related(headers[0].name_span, "the first header"),))
        header = headers[0]
        self._single_items(header.items, header.name, {ast.Title: "title", ast.Document: "document",
                                                       ast.Period: "period", ast.Catalogue: "catalogue"})
        for item in header.items:
            if isinstance(item, ast.Period) and item.start > item.end:
                self.sink.error("bad-period", f"the period ends ({item.end}) before it starts ({item.start})",
                                item.span)
        if not any(isinstance(i, ast.Title) for i in header.items):
            self.sink.error("missing-item", "the policy header needs a `title zh \"…\" en \"…\"`",
                            header.name_span)
        return header

    def _duplicate(self, d: ast.ParamDecl | ast.DefineDecl | ast.RuleDecl, catalogue: set[str] | None) -> None:
        """Check the body of a second declaration of a name like the first's, so that a duplicate does not hide
        the mistakes inside it; it declares nothing (the first declaration keeps the name's type and reads)."""
        types: dict[str, LangType] = self.param_types if isinstance(d, ast.ParamDecl) else self.define_types
        kept_type = types.get(d.name)
        kept_reads = set(self.reads.get(d.name, set()))
        if isinstance(d, ast.ParamDecl):
            self._param(d)
        elif isinstance(d, ast.DefineDecl):
            self._define(d)
        else:
            self._rule(d, catalogue)
        if isinstance(d, ast.ParamDecl | ast.DefineDecl):
            if kept_type is None:
                types.pop(d.name, None)
            else:
                types[d.name] = kept_type
        if d.name in self.reads:
            self.reads[d.name] = kept_reads

    def _schema(self) -> FactSchema | None:
        """The declared fact schema, checked; the rules are then typed against its subject (no schema: the
        built-in 附件4 contract)."""
        schema = check_schema(self.schema_decls, self.sink)
        if schema is None:
            return None
        self.contract = contract_for(schema)
        self.root = RecordType(self.contract.model)
        return schema

    def _shadowing(self) -> None:
        fields = record_fields(self.root.model)
        for d in self.decls.values():
            if d.name in fields and not isinstance(d, ast.RuleDecl):
                self.sink.warning("shadowed-name",
                                  f"`{d.name}` hides the {self._subject_word} field of the same name", d.name_span)

    @property
    def _subject_word(self) -> str:
        return "enterprise" if self.contract.builtin else self.contract.subject

    @property
    def _field_word(self) -> str:
        return f"an {self._subject_word} field" if self._subject_word[0] in "aeiou" else \
            f"a {self._subject_word} field"

    def _single_items(self, items: Iterable[object], owner: str, kinds: dict[type, str]) -> None:
        single_items(items, owner, kinds, self.sink)

    def _catalogue(self, header: ast.PolicyDecl | None) -> set[str] | None:
        if header is None:
            return None
        ids: dict[str, Span] = {}
        for item in header.items:
            if isinstance(item, ast.Catalogue):
                if self.catalogue_span is None:
                    self.catalogue_span = item.span
                for cid in item.ids:
                    if cid in ids:
                        self.sink.error("duplicate-catalogue-id", f"catalogue id \"{cid}\" is listed twice",
                                        item.span)
                    ids[cid] = item.span
        if not ids:
            return None
        implemented = {i for r in [*self.rules.values(), *self.duplicates] if isinstance(r, ast.RuleDecl)
                       for i in r.implements}
        for cid, span in ids.items():
            if cid not in implemented:
                self.sink.warning("unimplemented", f"catalogue id \"{cid}\" is implemented by no rule", span)
        return set(ids)

    # ---------------------------------------------------------------- params and definitions
    def _param(self, p: ast.ParamDecl) -> None:
        self._current = p.name
        t = self._type_ref(p.type)
        self.param_types[p.name] = t
        reserved = RESERVED_PARAMS.get(p.name)
        if reserved is not None and t != ANY and t != reserved:
            self.sink.error("reserved-param-type",
                            f"`{p.name}` is read by the engine and must be of type {reserved}", p.type.span)
        defaults = [i for i in p.items if isinstance(i, ast.ParamDefault)]
        if not defaults:
            self.sink.error("missing-default", f"param `{p.name}` has no `default` value", p.name_span)
        self._single_items(p.items, p.name, {ast.ParamDefault: "default", ast.Label: "label"})
        if not any(isinstance(i, ast.Source) for i in p.items):
            self.sink.error("missing-source", f"param `{p.name}` cites no clause: add `source \"…\" quote \"…\"`",
                            p.name_span)
        last: dt.date | None = None
        for item in p.items:
            if isinstance(item, ast.ParamDefault | ast.ParamFrom):
                self._constant(item.value, t)
            if isinstance(item, ast.ParamFrom):
                if last is not None and item.start <= last:
                    self.sink.error("unordered-dates", "dated values must be in increasing date order",
                                    item.span)
                last = item.start
        self._current = None

    def _constant(self, e: ast.Expr, t: LangType) -> None:
        literal = (ast.IntLit, ast.StringLit, ast.DateLit, ast.InstantLit, ast.DurationLit, ast.BoolLit)
        is_const = isinstance(e, literal) or (
            isinstance(e, ast.SetLit) and all(isinstance(i, literal) for i in e.items))
        if not is_const:
            self.sink.error("not-constant", "a param value must be a literal (or a set of literals)", e.span)
            return
        self._expect(e, t, _Scope(), f"a value of `{self._current}`" if self._current else "the value")

    def _type_ref(self, ref: ast.TypeRef) -> LangType:
        t = type_from_name(ref.name, ref.is_set, self.root.model)
        if t is None:
            self.sink.error("unknown-type", f"unknown type `{ref.name}`", ref.span,
                            suggestion=suggest(ref.name, type_names(self.root.model)))
            return ANY
        return t

    def _define_order(self) -> list[ast.DefineDecl]:
        """Definitions in dependency order; a cycle is reported and its members skipped."""
        deps = {n: {x for x in free_names(d.value) if x in self.defines} for n, d in self.defines.items()}
        order, cyclic = _toposort(deps)
        for cycle in cyclic:
            d = self.defines[cycle[0]]
            self.sink.error("cycle", "definitions depend on each other in a cycle: " + " → ".join(cycle),
                            d.name_span)
            for n in cycle:
                self.define_types[n] = ANY
                self.used.add(n)  # its members are reported as a cycle, not also as unused
        return [self.defines[n] for n in order]

    def _define(self, d: ast.DefineDecl) -> None:
        self._current = d.name
        declared = self._type_ref(d.type) if d.type is not None else None
        t = self._expr(d.value, _Scope(), declared)
        if declared is not None and not compatible(t, declared):
            self.sink.error("type-mismatch", f"`{d.name}` is declared {declared}, but its value is {_a(t)}",
                            d.value.span)
        self.define_types[d.name] = declared or t
        self._current = None

    # ---------------------------------------------------------------- rules
    def _rule(self, r: ast.RuleDecl, catalogue: set[str] | None) -> None:
        self._current = r.name
        self.reads.setdefault(r.name, set())
        singles = {ast.Title: "title", ast.SeverityItem: "severity", ast.Effective: "effective",
                   ast.Applies: "applies", ast.Effect: "effect", ast.Each: "each", ast.TriggerOn: "on",
                   ast.Listing: "listing", ast.Remedy: "remedy",
                   ast.DueContinuous: "due", ast.DueBy: "due", ast.DueEvery: "due", ast.DueWithin: "due",
                   ast.DueOn: "due", ast.When: "when"}
        self._single_items(r.items, r.name, singles)
        if not r.implements:
            self.sink.error("missing-implements", f"`{r.name}` does not say which catalogue id it implements",
                            r.name_span, suggestion='add `implements "…"`')
        elif catalogue is not None:
            for item in r.all(ast.Implements):
                for cid in item.ids:
                    if cid not in catalogue and item.span.file in self.extension_files:
                        self.sink.warning("new-catalogue-id", f"\"{cid}\" is not in the base policy's catalogue "
                                          "(allowed in a what-if addition)", item.span)
                    elif cid not in catalogue:
                        self._unknown_catalogue_id(cid, item.span, catalogue)
        if not r.all(ast.Source):
            self.sink.error("missing-source", f"`{r.name}` cites no clause: add `source \"…\" quote \"…\"`",
                            r.name_span)
        if r.first(ast.Title) is None:
            self.sink.error("missing-item", f"`{r.name}` needs a `title zh \"…\" en \"…\"`", r.name_span)
        sev = r.first(ast.SeverityItem)
        if sev is not None and sev.level not in SEVERITIES:
            self.sink.error("unknown-severity", f"unknown severity `{sev.level}`; use high, medium or low",
                            sev.span, suggestion=suggest(sev.level, SEVERITIES))
        self._rule_shape(r)
        self._revision(r)

        scope = _Scope()
        for applies in r.all(ast.Applies):
            self._expect(applies.cond, BOOL, scope, "an applicability condition")
        for unless in r.all(ast.Unless):
            self._expect(unless.when, BOOL, scope, "an exception condition")
        names = [u.name for u in r.all(ast.Unless)]
        for i, u in enumerate(r.all(ast.Unless)):
            if u.name in names[:i]:
                self.sink.error("duplicate-name", f"exception `{u.name}` is declared twice in `{r.name}`",
                                u.span)
        each = r.first(ast.Each)
        if each is not None:
            coll = self._expr(each.collection, scope)
            elem = self._element(coll, each.collection)
            scope.bound.append((each.var, elem))
            if each.where is not None:
                self._expect(each.where, BOOL, scope, "an `each … where` filter")
        for rule_item in r.items:
            match rule_item:
                case ast.Require(cond=c):
                    self._expect(c, BOOL, scope, "a requirement")
                case ast.DueBy(deadline=d, met=m):
                    # one deadline for the subject: read outside `each` (a deadline per element is `due on`)
                    outer = _Scope(scope.bound[:-1]) if each is not None else scope
                    self._each_var = each.var if each is not None else None
                    self._expect(d, DATE, outer, "a deadline")
                    if m is not None:
                        self._expect(m, DATE, outer, "the date it was met")
                    self._each_var = None
                case ast.DueEvery(period=p, last=last, first=f):
                    self._expect(p, DURATION, scope, "a period")
                    self._expect(last, DATE, scope, "the date of the latest qualifying event")
                    if f is not None:
                        self._expect(f, DATE, scope, "the first due date")
                case ast.DueWithin(window=w, after=a, done=d):
                    self._expect(w, DURATION, scope, "a window")
                    self._expect(a, DATE, scope, "the date of the event")
                    self._expect(d, DATE, scope, "the date the act was done")
                case ast.DueOn(deadline=dl, done=d):
                    self._expect(dl, DATE, scope, "a deadline")
                    self._expect(d, DATE, scope, "the date the act was done")
                case ast.When(cond=c):
                    self._expect(c, BOOL, scope, "a candidate condition")
                case ast.TriggerOn(date=d):
                    self._expect(d, DATE, scope, "the date of the behaviour")
                case ast.Listing(duration=d):
                    self._expect(d, DURATION, scope, "a listing period")
        self._current = None

    def _unknown_catalogue_id(self, cid: str, span: Span, catalogue: set[str]) -> None:
        """An implemented id the catalogue does not list: say where the catalogue is, to add it there."""
        where = self.catalogue_span
        related = (Related(where, f"the catalogue is here: add \"{cid}\" to it if the rule encodes a new "
                                  "obligation"),) if where is not None else ()
        near = suggest(cid, catalogue)
        fix = near or (f"add \"{cid}\" to the catalogue at {where.file}:{where.line}" if where is not None
                       else None)
        self.sink.error("unknown-catalogue-id", f"catalogue id \"{cid}\" is not in the policy's catalogue",
                        span, related=related, suggestion=fix)

    def _revision(self, r: ast.RuleDecl) -> None:
        """The forms of the earlier revision of the language that need the whole policy to be told: an
        obligation whose `violated` means "is a candidate", a deadline whose engine-read param is not named in
        its text (the others are told by the parser). And a named param the engines do not read there."""
        if candidate_condition(r) is not None:
            self.sink.warning("deprecated-candidate",
                              "已弃用：以义务的“违反”表示依法查处对象，应声明 `candidate` / deprecated: an obligation "
                              "whose `violated` means \"is a candidate\": declare a `candidate`", r.name_span,
                              suggestion=f"write `candidate {r.name} {{ when … }}` with the condition inside "
                              "`require not (…)`, without `due continuous` (`safetyrules fmt` rewrites it)")
        due = r.due
        if due is None or isinstance(due, ast.DueContinuous):
            return
        word = "grace" if isinstance(due, ast.DueBy) else "from" if isinstance(due, ast.DueEvery) else "late for"
        wanted = engine_param(due, ESTABLISHED_FIELD in self.contract.model.model_fields)
        named = named_param(due)
        if named is None and wanted is not None:
            self.sink.warning("deprecated-implicit-param",
                              f"引擎读取参数 `{wanted}`，应在规则中写明 / the engine reads the param `{wanted}` for "
                              f"this deadline: name it in the rule", due.span,
                              suggestion=f"add `{word} {wanted}` to the deadline (`safetyrules fmt` adds it)")
        elif named is not None and wanted is None:
            why = ("with `first due` the first due date is written, no anchor is read"
                   if isinstance(due, ast.DueEvery) else f"the subject has no `{ESTABLISHED_FIELD}`, so no new "
                   "entrant has a grace period")
            self.sink.error("wrong-engine-param", f"引擎在此不读取参数 / the engine reads no param here: {why}",
                            named.span, suggestion=f"remove `{word} {named.id}`")
        elif named is not None and named.id != wanted:
            self.sink.error("wrong-engine-param", f"引擎读取的是 `{wanted}` / the engine reads `{wanted}` for this "
                            f"deadline, not `{named.id}`", named.span, suggestion=f"write `{word} {wanted}`")

    def _rule_shape(self, r: ast.RuleDecl) -> None:
        """Which items a rule of each kind must and must not have."""
        due = r.due
        each = r.first(ast.Each)
        if r.kind != "candidate":
            for when in r.all(ast.When):
                self.sink.error("misplaced-item", "`when` belongs to a `candidate` (who is an enforcement "
                                "candidate)", when.span, suggestion=f"write `candidate {r.name} {{ … }}`")
        if r.kind == "candidate":
            for item in r.items:
                if isinstance(item, ast.DueContinuous | ast.DueBy | ast.DueEvery | ast.DueWithin | ast.DueOn
                              | ast.Require | ast.Each | ast.TriggerOn | ast.Listing | ast.Effect):
                    self.sink.error("misplaced-item", "a candidate has no requirement, deadline or events: it is "
                                    "a candidate `when` its condition holds", item.span)
            if r.first(ast.When) is None:
                self.sink.error("missing-item", f"candidate `{r.name}` needs `when …`: who is a candidate?",
                                r.name_span)
        elif r.kind == "obligation":
            if due is None:
                self.sink.error("missing-due", f"obligation `{r.name}` has no `due …` clause", r.name_span,
                                suggestion="add `due continuous`, `due by DATE`, `due every PERIOD last DATE`, "
                                "`due within D after DATE done DATE` or `due on DATE done DATE`")
            for item in r.items:
                if isinstance(item, ast.TriggerOn | ast.Listing | ast.Effect):
                    self.sink.error("misplaced-item", "`on`, `listing` and `effect` belong to triggers", item.span)
            if isinstance(due, ast.DueWithin | ast.DueOn) and each is None:
                self.sink.error("missing-each", "an event deadline needs `each x in … where …` naming the events",
                                due.span)
            if isinstance(due, ast.DueEvery) and each is not None:
                self.sink.error("misplaced-item", "`due every` is one deadline per enterprise; remove `each`",
                                each.span)
            if isinstance(due, ast.DueContinuous | ast.DueBy) and not r.all(ast.Require):
                self.sink.error("missing-require", f"`{r.name}` has no `require …`: what must hold?",
                                r.name_span)
        else:
            for item in r.items:
                if isinstance(item, ast.DueContinuous | ast.DueBy | ast.DueEvery | ast.DueWithin | ast.DueOn
                              | ast.Require | ast.Remedy):
                    self.sink.error("misplaced-item", "a trigger has no deadline or requirement: it fires on "
                                    "`each` event, `on` a date, for a `listing` period", item.span)
            for cls, word in ((ast.Each, "each"), (ast.TriggerOn, "on"), (ast.Listing, "listing"),
                              (ast.Effect, "effect")):
                if r.first(cls) is None:
                    self.sink.error("missing-item", f"trigger `{r.name}` needs `{word}`", r.name_span)

    # ---------------------------------------------------------------- expressions
    def _expect(self, e: ast.Expr, t: LangType, scope: _Scope, what: str) -> LangType:
        actual = self._expr(e, scope, t)
        if not compatible(actual, t):
            self.sink.error("type-mismatch", f"{what} must be {_a(t)}, but this is {_a(actual)}", e.span)
        return actual

    def _expr(self, e: ast.Expr, scope: _Scope, expected: LangType | None = None) -> LangType:
        t = self._infer(e, scope, expected)
        set_type(e, t)
        return t

    def _infer(self, e: ast.Expr, scope: _Scope, expected: LangType | None) -> LangType:
        match e:
            case ast.IntLit(value=v):
                if abs(v) > self.limits.max_int:
                    self.sink.error("number-too-large", f"{v} is beyond the numbers the engines compute with "
                                    f"(at most {self.limits.max_int:,} in magnitude)", e.span)
                return NUMBER
            case ast.StringLit(value=v):
                if isinstance(expected, EnumType):
                    self._enum_code(v, expected, e.span)
                    return expected
                return STRING
            case ast.DateLit():
                return DATE
            case ast.InstantLit():
                return INSTANT
            case ast.DurationLit(amount=n, unit=unit):
                if _beyond_calendar(Duration.of(n, unit), self.limits):
                    self.sink.error("duration-too-large", f"`{n} {unit}s` is longer than the whole calendar "
                                    f"({self.limits.min_date} .. {self.limits.max_date})", e.span)
                return DURATION
            case ast.BoolLit():
                return BOOL
            case ast.NullLit():
                return NULL
            case ast.AsOf():
                return DATE
            case ast.Name(id=name):
                return self._name(name, e.span, scope)
            case ast.Field(target=target, name=name):
                tt = self._expr(target, scope)
                if tt == ANY:
                    return ANY
                if not isinstance(tt, RecordType):
                    self.sink.error("not-a-record", f"`.{name}`: this is {_a(tt)}, which has no fields",
                                    e.span)
                    return ANY
                fields = record_fields(tt.model)
                if name not in fields:
                    self.sink.error("unknown-field", f"{tt.name} has no field `{name}`", e.span,
                                    suggestion=suggest(name, fields))
                    return ANY
                return fields[name]
            case ast.ParamAt(param=p, at=at):
                self._expect(at, DATE, scope, "the date after `at`")
                if p not in self.params and p in self.ignore_names:
                    return ANY
                if p not in self.params:
                    self.sink.error("not-a-param", f"`{p} at …` needs a param, and `{p}` is not one", e.span,
                                    suggestion=suggest(p, self.params))
                    return ANY
                self._read(p)
                return self.param_types.get(p, ANY)
            case ast.Call():
                return self._call(e, scope)
            case ast.Quantifier():
                return self._quantifier(e, scope)
            case ast.OrderPick(var=v, collection=c, where=w, key=k):
                elem = self._element(self._expr(c, scope), c)
                inner = _Scope([*scope.bound, (v, elem)])
                if w is not None:
                    self._expect(w, BOOL, inner, "a `where` filter")
                kt = self._expr(k, inner)
                if kt not in (*ORDERED, ANY):
                    self.sink.error("not-ordered", f"`{e.kind}` needs a key that can be ordered (number, date "
                                    f"or instant), but this is {_a(kt)}", k.span)
                return elem
            case ast.IntRange(low=lo, high=hi):
                self._expect(lo, NUMBER, scope, "a range bound")
                self._expect(hi, NUMBER, scope, "a range bound")
                return ListType(NUMBER)
            case ast.SetLit(items=items):
                elem_expected = expected.elem if isinstance(expected, SetType | ListType) else None
                elem_type: LangType = NULL
                for member in items:
                    it = self._expr(member, scope, elem_expected)
                    if elem_type != NULL and not compatible(it, elem_type):
                        self.sink.error("type-mismatch", f"a set holds values of one type: {_a(elem_type)} and "
                                        f"{_a(it)}", member.span)
                    elem_type = unify(elem_type, it)
                if elem_expected is not None and elem_type in (STRING, NULL):
                    return SetType(elem_expected)
                return SetType(elem_type)
            case ast.Unary(op="not", operand=o):
                self._expect(o, BOOL, scope, "the operand of `not`")
                return BOOL
            case ast.Unary(operand=o):
                self._expect(o, NUMBER, scope, "the operand of `-`")
                return NUMBER
            case ast.Binary():
                return self._binary(e, scope, expected)
            case ast.IsTest(operand=o):
                self._expr(o, scope)
                return BOOL
            case ast.IfThenElse(cond=c, then=t, else_=x):
                self._expect(c, BOOL, scope, "an `if` condition")
                tt = self._expr(t, scope, expected)
                xt = self._expr(x, scope, expected)
                if not compatible(xt, tt):
                    self.sink.error("type-mismatch", f"both branches of `if` must have one type: {_a(tt)} and "
                                    f"{_a(xt)}", x.span)
                return unify(tt, xt)
        raise TypeError(e)  # pragma: no cover

    def _name(self, name: str, span: Span, scope: _Scope) -> LangType:
        bound = scope.lookup(name)
        if bound is not None:
            return bound
        if name in self.defines:
            self._read(name)
            return self.define_types.get(name, ANY)
        if name in self.params:
            self._read(name)
            return self.param_types.get(name, ANY)
        fields = record_fields(self.root.model)
        if name in fields:
            return fields[name]
        if name in self.ignore_names:
            return ANY
        if name == self._each_var:
            self.sink.error("unknown-name", f"`{name}` is not bound here: `due by` is one deadline for the whole "
                            "rule, read outside `each`", span,
                            suggestion="for a deadline per element write `due on DATE done DATE`")
            return ANY
        candidates = [*(n for n, _ in scope.bound), *self.defines, *self.params, *fields]
        self.sink.error("unknown-name", f"unknown name `{name}`", span, suggestion=suggest(name, candidates))
        return ANY

    def _read(self, name: str) -> None:
        self.used.add(name)
        if self._current is not None:
            self.reads.setdefault(self._current, set()).add(name)

    def _enum_code(self, code: str, t: EnumType, span: Span) -> None:
        if code not in t.codes:
            self.sink.error("unknown-enum-code", f"\"{code}\" is not a code of {t.name} (codes: "
                            f"{', '.join(t.codes)})", span, suggestion=suggest(code, t.codes))

    def _element(self, t: LangType, e: ast.Expr) -> LangType:
        if t == ANY:
            return ANY
        if isinstance(t, ListType | SetType):
            return t.elem
        self.sink.error("not-a-list", f"this must be a list to range over, but it is {_a(t)}", e.span)
        return ANY

    def _quantifier(self, q: ast.Quantifier, scope: _Scope) -> LangType:
        elem = self._element(self._expr(q.collection, scope), q.collection)
        inner = _Scope([*scope.bound, (q.var, elem)])
        if q.var in record_fields(self.root.model) or q.var in self.params or q.var in self.defines:
            what = self._field_word if q.var in record_fields(self.root.model) else "a declaration"
            self.sink.warning("shadowed-name", f"the variable `{q.var}` hides {what} of the same name", q.span)
        if q.where is not None:
            self._expect(q.where, BOOL, inner, "a `where` filter")
        if q.kind in ("any", "all", "count"):
            if q.body is not None:
                self._expect(q.body, BOOL, inner, f"the condition of `{q.kind}`")
            return NUMBER if q.kind == "count" else BOOL
        if q.kind == "find":
            if q.body is not None:
                self.sink.error("misplaced-item", "`find(x in C where F)` takes no `: …` part", q.body.span)
            return elem
        if q.body is None:
            self.sink.error("missing-item", f"`{q.kind}(x in C: value)` needs the value after `:`", q.span)
            return ANY
        bt = self._expr(q.body, inner)
        if q.kind == "sum":
            if bt not in (NUMBER, ANY):
                self.sink.error("type-mismatch", f"`sum` adds numbers, but this is {_a(bt)}", q.body.span)
            return NUMBER
        if bt not in (*ORDERED, ANY):
            self.sink.error("not-ordered", f"`{q.kind}` needs values that can be ordered (number, date or "
                            f"instant), but this is {_a(bt)}", q.body.span)
        return bt

    def _call(self, c: ast.Call, scope: _Scope) -> LangType:
        f, args = c.func, c.args
        if f not in FUNCTIONS:
            self.sink.error("unknown-function", f"unknown function `{f}`", c.span,
                            suggestion=suggest(f, FUNCTIONS) or "the functions are: " + ", ".join(FUNCTIONS))
            for a in args:
                self._expr(a, scope)
            return ANY

        def arity(*ns: int) -> bool:
            if len(args) in ns:
                return True
            want = " or ".join(str(n) for n in ns if n <= 3)
            self.sink.error("arity", f"`{f}` takes {want} argument(s), but {len(args)} were given "
                            f"({FUNCTIONS[f]})", c.span)
            for a in args:
                self._expr(a, scope)
            return False

        if f in ("violated", "triggered"):
            if not arity(1):
                return BOOL
            arg = args[0]
            want = "obligation" if f == "violated" else "trigger"
            if isinstance(arg, ast.Name) and arg.id in self.ignore_names and arg.id not in self.rules:
                return BOOL
            if not isinstance(arg, ast.Name) or arg.id not in self.rules:
                self.sink.error("not-a-rule", f"`{f}(…)` takes the name of {_a_word(want)}", arg.span,
                                suggestion=suggest(arg.id, self.rules) if isinstance(arg, ast.Name) else None)
                return BOOL
            self._read(arg.id)
            set_type(arg, RuleType(self.rules[arg.id].outcome_kind))  # a candidate is read as an obligation
            if self.rules[arg.id].outcome_kind != want:
                self.sink.error("not-a-rule", f"`{arg.id}` is a {self.rules[arg.id].kind}; `{f}` takes "
                                f"{_a_word(want)}", arg.span)
            return BOOL
        if f == "date":
            if len(args) == 3:
                for a in args:
                    self._expect(a, NUMBER, scope, "a year, month or day")
                return DATE
            if arity(1):
                self._expect(args[0], INSTANT, scope, "the argument of `date`")
            return DATE
        if f == "year":
            if arity(1):
                self._expect(args[0], DATE, scope, "the argument of `year`")
            return NUMBER
        if f == "days_between":
            if arity(2):
                self._expect(args[0], DATE, scope, "a date")
                self._expect(args[1], DATE, scope, "a date")
            return NUMBER
        # coalesce, greatest, least: one type for all arguments
        if len(args) < 2:
            arity(2, 3, 4, 5, 6, 7, 8)
            return ANY
        t: LangType = NULL
        for a in args:
            at = self._expr(a, scope)
            if t != NULL and not compatible(at, t):
                self.sink.error("type-mismatch", f"`{f}` needs arguments of one type: {_a(t)} and {_a(at)}",
                                a.span)
            t = unify(t, at)
        if f in ("greatest", "least") and t not in (*ORDERED, ANY, NULL):
            self.sink.error("not-ordered", f"`{f}` needs numbers, dates or instants, not {t}", c.span)
        return t

    def _binary(self, b: ast.Binary, scope: _Scope, expected: LangType | None = None) -> LangType:
        op = b.op
        if op in ("and", "or", "implies"):
            self._expect(b.left, BOOL, scope, f"the left side of `{op}`")
            self._expect(b.right, BOOL, scope, f"the right side of `{op}`")
            return BOOL
        if op in ("in", "not in"):
            rt = self._expr(b.right, scope)
            if rt != ANY and not isinstance(rt, SetType | ListType):
                self.sink.error("type-mismatch", f"the right side of `{op}` must be a set or a list, but this is "
                                f"{_a(rt)}", b.right.span)
                self._expr(b.left, scope)
                return BOOL
            elem = rt.elem if isinstance(rt, SetType | ListType) else ANY
            lt = self._expr(b.left, scope, elem)
            if isinstance(lt, EnumType) and isinstance(b.right, ast.SetLit):
                self._expr(b.right, scope, SetType(lt))  # check the codes against the enumeration
            elif not compatible(lt, elem) and not compatible(elem, lt):
                self.sink.error("type-mismatch", f"{_a(lt)} can never be in a collection of {elem}", b.span)
            return BOOL
        if op in ("==", "!="):
            lt = self._expr(b.left, scope)
            rt = self._expr(b.right, scope, lt if isinstance(lt, EnumType) else None)
            if isinstance(rt, EnumType) and isinstance(b.left, ast.StringLit):
                self._expr(b.left, scope, rt)
            if not compatible(lt, rt) and not compatible(rt, lt):
                self.sink.error("type-mismatch", f"cannot compare {_a(lt)} with {_a(rt)}", b.span)
            return BOOL
        if op in ("<", "<=", ">", ">="):
            lt = self._expr(b.left, scope)
            rt = self._expr(b.right, scope)
            if DURATION in (lt, rt):
                self.sink.error("not-ordered", "durations cannot be ordered (a month is not a fixed number of "
                                "days); compare dates instead, e.g. `a + 30 days < b`", b.span)
            elif lt in (*ORDERED, ANY, NULL) and rt in (*ORDERED, ANY, NULL):
                if not compatible(lt, rt):
                    self.sink.error("type-mismatch", f"cannot compare {_a(lt)} with {_a(rt)}", b.span)
            else:
                bad = lt if lt not in (*ORDERED, ANY, NULL) else rt
                self.sink.error("not-ordered", f"`{op}` compares numbers, dates or instants, not {bad}", b.span)
            return BOOL
        want = expected if isinstance(expected, SetType) else None  # set union/difference: check the codes
        lt = self._expr(b.left, scope, want)
        rt = self._expr(b.right, scope, want or (lt if isinstance(lt, SetType) else None))
        result = _arithmetic(op, lt, rt)
        if result is None:
            self.sink.error("type-mismatch", f"cannot apply `{op}` to {_a(lt)} and {_a(rt)}", b.span)
            return ANY
        return result

    # ---------------------------------------------------------------- dependencies
    def _closure(self, name: str) -> set[str]:
        """Everything `name` reads, through definitions."""
        seen: set[str] = set()
        stack = [name]
        while stack:
            n = stack.pop()
            for x in self.reads.get(n, set()) | ({*free_names(self.defines[n].value)} & set(self.decls)
                                                  if n in self.defines else set()):
                if x not in seen:
                    seen.add(x)
                    if x in self.defines:
                        stack.append(x)
        return seen

    def _rule_refs(self, name: str) -> set[str]:
        return {x for x in self._closure(name) if x in self.rules and x != name}

    def _params_of(self, name: str) -> set[str]:
        """Every param rule `name`'s result may depend on (`CheckedPolicy.params_used`)."""
        return {x for x in self._closure(name) if x in self.params} | reserved_params_of(self.rules[name],
                                                                                         self.contract)

    def _builtin_params(self, header: ast.PolicyDecl) -> dict[str, Any]:
        """The reserved params a rule reads and the policy does not declare, with the value the engines use."""
        start = next((i.start for i in header.items if isinstance(i, ast.Period)), None)
        read = {p for r in self.rules.values() for p in reserved_params_of(r, self.contract)}
        return {p: RESERVED_DEFAULTS[p] if p != "periodic_first_due_anchor" else start
                for p in sorted(read) if p not in self.params}

    def _rule_order(self) -> list[str]:
        deps = {n: self._rule_refs(n) for n in self.rules}
        for n in self.rules:
            if n in self._closure(n):
                deps[n].add(n)
        order, cyclic = _toposort(deps)
        for cycle in cyclic:
            r = self.rules[cycle[0]]
            self.sink.error("cycle", "rules depend on each other's outcomes in a cycle: " + " → ".join(cycle),
                            r.name_span)
        return order

    # ---------------------------------------------------------------- bounded work
    def _bounds(self) -> None:
        """Refuse what could not be evaluated quickly and safely for one enterprise: definition chains longer
        than `max_definition_depth`, and definitions or rules whose static work estimate (`_work`) exceeds
        `max_evaluation_steps`. The engines rely on it: an accepted policy terminates quickly."""
        deps = {n: {x for x in free_names(d.value) if x in self.defines and x != n} for n, d in self.defines.items()}
        depth: dict[str, int] = {}
        below: dict[str, str | None] = {}  # the dependency on the longest chain
        order, _ = _toposort(deps)
        for name in order:  # dependencies first
            longest = max(deps[name], key=lambda x: (depth.get(x, 0), x), default=None)
            depth[name] = 1 + (depth.get(longest, 0) if longest is not None else 0)
            below[name] = longest
        limit = self.limits.max_definition_depth
        for name in order:
            if depth[name] == limit + 1:  # the first definition past the limit on its chain
                chain = [name]
                while (nxt := below[chain[-1]]) is not None:
                    chain.append(nxt)
                shown = " → ".join(chain) if len(chain) <= 6 else " → ".join([*chain[:3], "…", *chain[-2:]])
                self.sink.error("definition-chain-too-deep",
                                f"`{name}` ends a chain of {depth[name]} definitions that use definitions "
                                f"({shown}); at most {limit} are allowed: compute it in fewer steps",
                                self.defines[name].name_span)
        steps = self.limits.max_evaluation_steps
        own: dict[str, int] = {}
        costly: set[str] = set()
        for name, d in self.defines.items():
            own[name], where = self._work(d.value, 1)
            if own[name] + sum(own.get(x, 0) for x in self._define_closure(name, deps)) > steps:
                costly.add(name)
                self._too_costly(f"definition `{name}`", own[name], where or d.name_span)
        for rule in self.rules.values():
            reads = self._define_closure_of_rule(rule, deps)
            total, where = self._rule_work(rule)
            total += sum(own.get(x, 0) for x in reads)
            if total > steps and not reads & costly:
                self._too_costly(f"`{rule.name}`", total, where or rule.name_span)

    def _too_costly(self, what: str, work: int, span: Span) -> None:
        shown = f"{work:,}" if work < 10**12 else f"{work:.1e}"
        self.sink.error("too-costly", f"{what} may take about {shown} evaluation steps for one enterprise "
                        f"(nested ranges multiply), more than the limit of {self.limits.max_evaluation_steps:,}; "
                        "narrow the ranges or compute the result from the facts' lists", span)

    def _define_closure(self, name: str, deps: dict[str, set[str]]) -> set[str]:
        seen: set[str] = set()
        stack = list(deps.get(name, ()))
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.add(n)
                stack.extend(deps.get(n, ()))
        return seen

    def _define_closure_of_rule(self, rule: ast.RuleDecl, deps: dict[str, set[str]]) -> set[str]:
        direct = {x for x in self._closure(rule.name) if x in self.defines}
        return direct | {y for x in direct for y in self._define_closure(x, deps)}

    def _rule_work(self, rule: ast.RuleDecl) -> tuple[int, Span | None]:
        """The work of a rule's own expressions; under `each`, all but `applies`/`unless` run per element."""
        each = rule.first(ast.Each)
        per = self._size(each.collection) if each is not None else 1
        total, worst, where = 0, 0, None
        for item in rule.items:
            exprs: list[ast.Expr]
            mult = per
            match item:
                case ast.Applies(cond=c) | ast.Unless(when=c):
                    exprs, mult = [c], 1
                case ast.Each(collection=c, where=w):
                    total += self._work(c, 1)[0]
                    exprs = [w] if w is not None else []
                case ast.Require(cond=c):
                    exprs = [c]
                case ast.DueBy(deadline=d, met=m):
                    exprs = [d] + ([m] if m is not None else [])
                case ast.DueEvery(period=p, last=last, first=f):
                    exprs = [p, last] + ([f] if f is not None else [])
                case ast.DueWithin(window=w, after=a, done=d):
                    exprs = [w, a, d]
                case ast.DueOn(deadline=dl, done=d):
                    exprs = [dl, d]
                case ast.TriggerOn(date=d):
                    exprs = [d]
                case ast.Listing(duration=d):
                    exprs = [d]
                case _:
                    exprs = []
            for x in exprs:
                work, span = self._work(x, mult)
                total += work
                if span is not None and work > worst:
                    worst, where = work, span
        return total, where

    def _size(self, coll: ast.Expr) -> int:
        """How many times a quantifier over `coll` evaluates its body, counting one per item of a fact list
        (the estimate is per item of the facts): a range's length, at most MAX_RANGE + 1 when its bounds are
        not constants; a set literal's size."""
        if isinstance(coll, ast.Name) and coll.id in self.defines:
            coll = self.defines[coll.id].value
        if isinstance(coll, ast.SetLit):
            return max(len(coll.items), 1)
        if not isinstance(coll, ast.IntRange):
            return 1
        lo, hi = _int_constant(coll.low), _int_constant(coll.high)
        if lo is None or hi is None:
            return MAX_RANGE + 1
        return hi - lo + 1 if 0 <= hi - lo <= MAX_RANGE else 0  # longer ranges are refused at run time

    def _work(self, e: ast.Expr, mult: int) -> tuple[int, Span | None]:
        """Static work estimate of evaluating `e` `mult` times: one step per node per evaluation, a
        quantifier's filter and body once per element. Also the span of the most repeated quantifier."""
        total, worst, where = 0, 1, None
        stack: list[tuple[ast.Expr, int]] = [(e, mult)]
        while stack:
            node, m = stack.pop()
            total += m
            match node:
                case ast.Quantifier(collection=c, where=w, body=b) | ast.OrderPick(collection=c, where=w, key=b):
                    stack.append((c, m))
                    inner = m * self._size(c)
                    if inner > worst:
                        worst, where = inner, node.span
                    stack.extend((x, inner) for x in (w, b) if x is not None)
                case _:
                    stack.extend((child, m) for child in children(node))
        return total, where

    def _unused(self) -> None:
        for name, d in self.decls.items():
            if isinstance(d, ast.ParamDecl | ast.DefineDecl) and name not in self.used \
                    and name not in RESERVED_PARAMS:
                self.sink.warning("unused", f"`{name}` is declared but never used", d.name_span)


def _arithmetic(op: str, lt: LangType, rt: LangType) -> LangType | None:
    if ANY in (lt, rt):
        return ANY
    if NULL in (lt, rt):
        return rt if lt == NULL else lt
    table: dict[tuple[str, LangType, LangType], LangType] = {
        ("+", NUMBER, NUMBER): NUMBER, ("-", NUMBER, NUMBER): NUMBER, ("*", NUMBER, NUMBER): NUMBER,
        ("+", DATE, DURATION): DATE, ("-", DATE, DURATION): DATE, ("+", DURATION, DATE): DATE,
        ("+", INSTANT, DURATION): INSTANT, ("-", INSTANT, DURATION): INSTANT,
        ("-", DATE, DATE): NUMBER, ("+", DURATION, DURATION): DURATION,
        ("*", NUMBER, DURATION): DURATION, ("*", DURATION, NUMBER): DURATION,
    }
    if (op, lt, rt) in table:
        return table[(op, lt, rt)]
    if op in ("+", "-") and isinstance(lt, SetType) and isinstance(rt, SetType) and compatible(lt, rt):
        return SetType(unify(lt.elem, rt.elem))
    return None


def _int_constant(e: ast.Expr) -> int | None:
    if isinstance(e, ast.IntLit):
        return e.value
    if isinstance(e, ast.Unary) and e.op == "-" and isinstance(e.operand, ast.IntLit):
        return -e.operand.value
    return None


def _beyond_calendar(d: Duration, limits: Limits) -> bool:
    """Whether a duration is longer than the calendar: any date moved by it would leave the calendar."""
    days = (limits.max_date - limits.min_date).days
    months = (limits.max_date.year - limits.min_date.year + 1) * 12
    return abs(d.months) > months or abs(d.days) > days or abs(d.seconds) > days * 86_400


def _a(t: LangType) -> str:
    text = str(t)
    if isinstance(t, RecordType):
        return f"{_a_word(t.name)} record"
    return f"{'an' if text[0] in 'aeiou' else 'a'} {text}"


def _a_word(word: str) -> str:
    return f"{'an' if word[0].lower() in 'aeiou' else 'a'} {word}"


def _toposort(deps: dict[str, set[str]]) -> tuple[list[str], list[list[str]]]:
    """Kahn-style order (iterative, no recursion); members of cycles are returned as cycles."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    cycles: list[list[str]] = []
    for root in sorted(deps):
        if state.get(root):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(deps[root])))]
        path = [root]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                path.pop()
                state[node] = 2
                order.append(node)
                continue
            if nxt not in deps:
                continue
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt])
                continue
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(sorted(deps[nxt]))))
    cyclic = {n for c in cycles for n in c}
    return [n for n in order if n not in cyclic], cycles


def check(modules: list[ast.Module], ignore_names: frozenset[str] = frozenset(),
          extension_files: frozenset[str] = frozenset(), limits: Limits = DEFAULT) -> CheckResult:
    return Checker(modules, ignore_names, extension_files, limits).run()
