"""Policy unit tests (`safetyrules test`): YAML cases next to the policy, and coverage of rules and branches.

A test file is `*.test.yaml` beside the `.policy` files:

    cases:
      - name: construction firm, last assessment 2020-11-03, is late
        as_of: 2022-06-30
        facts: {id: T1, industry: construction, risk_assessments: [{date: 2020-11-03, comprehensive: true}]}
        params: {high_risk_assessment_period: 2 years}      # optional param overrides, as written
        expect:
          3.1-a: violated                                    # a catalogue id or a rule name
          risk_assessment_other: {outcome: not_applicable}
          4.2-c: {outcome: pending, due_on: 2022-07-31, days_remaining: 31}

`defaults: {facts: {...}}` at the top is merged (shallowly) under every case's facts. Timestamps stay text
so that instants keep their offsets.

The policy of a test file given alone is the nearest folder above it that holds `.policy` files
(`policy_folder_for`; the search stops at a repository root); `select_cases` keeps the cases whose name
contains a pattern; `watch` re-runs a function when the files it watches change (mtimes polled).

A case's `params` are read as written, exactly as a what-if scenario's (`whatif.scenario.written_params`):
each value is its text (`030` is thirty, `yes` is not `true`, `[construction, mining]` and
`{construction, mining}` are sets), checked against the param's type by the one reader of param values
(`engine.params.read_text`, through the overrides' check) when the case runs. A value that does not fit is a
failure of the case at the line of that value (`file:line: params.NAME: …`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from safetyrules.api import FactError, Policy, as_date
from safetyrules.check.types import BOOL, type_of
from safetyrules.diagnostics import Span
from safetyrules.engine.params import ParamError
from safetyrules.engine.results import EnterpriseResult, Outcome, RuleResult
from safetyrules.errors import DateError, InputError
from safetyrules.limits import DEFAULT, Limits
from safetyrules.syntax import ast
from safetyrules.syntax.walk import children
from safetyrules.whatif.scenario import written_params
from safetyrules.yamltext import DocumentError, check_tree, compose_yaml, read_document

TEST_SUFFIX = ".test.yaml"
CHECKABLE = ("outcome", "due_on", "days_overdue", "days_remaining", "delay_days", "exception", "listed_until")


@dataclass(slots=True)
class Case:
    file: str
    line: int
    name: str
    as_of: str
    facts: dict[str, Any]
    params: dict[str, Any]  # each value as written (text, a list of texts, None): see the module doc
    expect: dict[str, Any]
    param_lines: dict[str, int] = field(default_factory=dict)  # the line of each param's value


@dataclass(slots=True)
class Mismatch:
    """One expectation of a case that the result of one rule does not meet."""

    key: str  # the rule name or catalogue id the case names
    result: RuleResult
    expected: dict[str, Any]  # every check of that key (outcome, due_on, …), as written

    def expected_text(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.expected.items())

    def actual_text(self) -> str:
        """The rule's actual outcome and the values the case checks (and the dates that explain them)."""
        return actual_text(self.result, self.expected)


@dataclass(slots=True)
class CaseResult:
    case: Case
    failures: list[str]
    result: EnterpriseResult | None = None
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


class CaseFileError(InputError):
    """A policy test file that cannot be used; the message names the file and what is wrong."""


def find_test_files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(p.rglob(f"*{TEST_SUFFIX}")))
        elif p.name.endswith(TEST_SUFFIX):
            out.append(p)
    return out


def policy_folder_for(path: Path) -> Path | None:
    """The policy of a test file (or of a folder of test files) given without one: the nearest folder at or
    above it that holds `.policy` files itself. The search stops at the root of a repository (a folder with
    `.git`) or of the file system: None when no folder up to there does."""
    folder = path.resolve()
    if not folder.is_dir():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        try:
            if any(p.is_file() for p in candidate.glob("*.policy")):
                return candidate
            if (candidate / ".git").exists():
                return None
        except OSError:  # an unreadable folder on the way up: keep looking above it
            continue
    return None


def select_cases(cases: list[Case], pattern: str | None) -> list[Case]:
    """The cases whose name contains `pattern` (case-insensitively); all of them without a pattern."""
    if not pattern:
        return cases
    wanted = pattern.casefold()
    return [c for c in cases if wanted in c.name.casefold()]


def load_cases(path: Path, limits: Limits = DEFAULT) -> list[Case]:
    """The cases of a policy test file; any mistake in the file is a `CaseFileError` naming the file, the line
    of the case and the key path (`cases[2].facts`)."""
    try:
        data, node = compose_yaml(read_document(path, limits), limits)
        check_tree(data, limits)
    except DocumentError as e:
        raise CaseFileError(f"{path}: {e}") from None
    except yaml.YAMLError as e:
        raise CaseFileError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise CaseFileError(f"{path}: expected a mapping with a `cases:` list")
    unknown = sorted(str(k) for k in data if k not in ("cases", "defaults"))
    if unknown:
        raise CaseFileError(f"{path}: unknown key(s) {', '.join(unknown)}; a test file has cases and defaults")
    nodes = _case_nodes(node)
    defaults = _mapping(data.get("defaults"), f"{path}: defaults")
    if set(defaults) - {"facts"}:
        raise CaseFileError(f"{path}: defaults: only `facts` can have defaults")
    default_facts = _mapping(defaults.get("facts"), f"{path}: defaults.facts")
    cases = []
    for i, raw in enumerate(data["cases"]):
        case_node = nodes[i] if i < len(nodes) else None
        line = case_node.start_mark.line + 1 if case_node is not None else 1
        where = f"{path}:{line}: cases[{i}]"
        if not isinstance(raw, dict):
            raise CaseFileError(f"{where}: a case must be a mapping")
        unknown = sorted(str(k) for k in raw if k not in ("name", "as_of", "facts", "params", "expect"))
        if unknown:
            raise CaseFileError(f"{where}: unknown key(s) {', '.join(unknown)}; a case has name, "
                                "as_of, facts, params, expect")
        for key in ("as_of", "facts", "expect"):
            if key not in raw:
                raise CaseFileError(f"{where}: the case has no `{key}`")
        facts = {**default_facts, **_mapping(raw["facts"], f"{where}.facts")}
        expect = _mapping(raw["expect"], f"{where}.expect")
        for key, want in expect.items():
            if isinstance(want, list) or (isinstance(want, dict) and not all(isinstance(k, str) for k in want)):
                raise CaseFileError(f"{where}.expect.{key}: expected an outcome or a mapping of checks "
                                    f"({', '.join(CHECKABLE)})")
        name = raw.get("name", f"case {i + 1}")
        if isinstance(name, dict | list):
            raise CaseFileError(f"{where}.name: expected text")
        params = _mapping(written_params(case_node, raw), f"{where}.params")
        cases.append(Case(str(path), line, str(name), str(raw["as_of"]), facts, params, expect,
                          _value_lines(case_node, "params")))
    return cases


def _mapping(value: Any, where: str) -> dict[str, Any]:
    """A mapping with text keys (empty when absent), or a `CaseFileError` at `where`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        kind = "a list" if isinstance(value, list) else f"`{value}`" if isinstance(value, str | int | float) \
            and len(str(value)) < 40 else f"a {type(value).__name__}"
        raise CaseFileError(f"{where}: expected a mapping (key: value), not {kind}")
    for key in value:
        if not isinstance(key, str):
            raise CaseFileError(f"{where}: the key `{key}` is not a name")
    return dict(value)


def _case_nodes(node: yaml.Node | None) -> list[yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "cases" and isinstance(value, yaml.SequenceNode):
            return list(value.value)
    return []


def _value_lines(node: yaml.Node | None, key: str) -> dict[str, int]:
    """The line of each value of the mapping under `key` of a mapping node (for positioned errors)."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.MappingNode):
            return {str(name.value): value.start_mark.line + 1 for name, value in v.value
                    if isinstance(name, yaml.ScalarNode)}
    return {}


def run_case(policy: Policy, case: Case) -> CaseResult:
    where = f"{case.file}:{case.line}"
    try:
        as_of = as_date(case.as_of)
    except DateError as e:
        return CaseResult(case, [f"{where}: as_of: {e}"])
    try:
        facts = {policy.contract.key: f"case-{case.line}", **case.facts}  # the key, if the case does not give it
        result = policy.evaluate(facts, as_of, params=case.params or None, explain=True)
    except FactError as e:
        return CaseResult(case, [f"{where}: the facts break the contract: {e}"])
    except ParamError as e:
        return CaseResult(case, [_param_problem(policy, case, e)])
    except InputError as e:  # a limit reached by the facts (size, nesting, numbers)
        return CaseResult(case, [f"{where}: {e}"])
    failures: list[str] = []
    mismatches: list[Mismatch] = []
    for key, want in case.expect.items():
        matches = [r for r in result.results if r.rule == key or key in r.implements]
        if not matches:
            failures.append(f"{where}: `{key}` is neither a rule nor a catalogue id of the policy")
            continue
        expected = want if isinstance(want, dict) else {"outcome": want}
        bad_keys = set(expected) - set(CHECKABLE)
        if bad_keys:
            failures.append(f"{where}: cannot check {', '.join(sorted(bad_keys))}; use {', '.join(CHECKABLE)}")
            continue
        for r in matches:
            problems = _compare(where, key, r, expected)
            if problems:
                failures.extend(problems)
                mismatches.append(Mismatch(key, r, expected))
    return CaseResult(case, failures, result, mismatches)


def _param_problem(policy: Policy, case: Case, error: ParamError) -> str:
    """The failure of a case whose params the policy refuses: at the line of the first value that does not fit
    (each is checked alone, as `evaluate` checks them together), else at the case."""
    for name, value in case.params.items():
        try:
            policy.engine({name: value})
        except ParamError as e:
            return f"{case.file}:{case.param_lines.get(name, case.line)}: params.{name}: {e}"
    return f"{case.file}:{case.line}: params: {error}"


def _compare(where: str, key: str, r: RuleResult, expected: dict[str, Any]) -> list[str]:
    out = []
    for attr, want in expected.items():
        got_text = _shown(getattr(r, attr))
        if str(got_text) != str(want):
            hint = f" — {r.message.en}" if r.message and attr == "outcome" else ""
            out.append(f"{where}: {key} ({r.rule}): expected {attr} {want}, got {got_text}{hint}")
    return out


def _shown(value: Any) -> Any:
    return value.value if isinstance(value, Outcome) else (value.isoformat() if isinstance(value, dt.date) else value)


def actual_text(r: RuleResult, checked: Iterable[str] = ()) -> str:
    """`violated, due_on 2021-11-03, days_overdue 239`: the outcome, then each value that is set among those a
    case may check (every one the case checks, even when it is empty)."""
    parts = [str(_shown(r.outcome))]
    wanted = set(checked)
    for attr in CHECKABLE[1:]:
        value = getattr(r, attr)
        if value is not None or attr in wanted:
            parts.append(f"{attr} {_shown(value)}")
    return ", ".join(parts)


# ------------------------------------------------------------------------------------------ watching


def snapshot(files: Iterable[Path]) -> dict[Path, tuple[int, int]]:
    """Each file's modification time and size (a file that vanished is left out: that is a change too)."""
    marks: dict[Path, tuple[int, int]] = {}
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        marks[f] = (st.st_mtime_ns, st.st_size)
    return marks


def changed_files(before: dict[Path, tuple[int, int]], after: dict[Path, tuple[int, int]]) -> list[Path]:
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def watch(run: Callable[[], int], watched: Callable[[], Iterable[Path]], *, interval: float = 0.5,
          max_runs: int | None = None, on_change: Callable[[list[Path]], None] | None = None,
          sleep: Callable[[float], None] = time.sleep) -> int:
    """Run `run`, then again each time a file of `watched()` (listed anew each poll, so that new files count)
    changes, is added or removed; polls every `interval` seconds. Returns the status of the last run after
    `max_runs` runs (None: until interrupted; Ctrl-C also ends it with the last status)."""
    marks = snapshot(watched())
    status = run()
    runs = 1
    try:
        while max_runs is None or runs < max_runs:
            sleep(interval)
            now = snapshot(watched())
            changed = changed_files(marks, now)
            if not changed:
                continue
            marks = now
            if on_change is not None:
                on_change(changed)
            status = run()
            runs += 1
    except KeyboardInterrupt:
        pass
    return status


# ------------------------------------------------------------------------------------------ coverage


@dataclass(slots=True)
class Coverage:
    """Which rules the tests assert, and which branches (true/false) of their conditions they reach."""

    rules: dict[str, set[str]] = field(default_factory=dict)  # rule → outcomes asserted
    branches: dict[str, dict[Span, set[bool]]] = field(default_factory=dict)  # rule → condition → seen

    @property
    def rules_total(self) -> int:
        return len(self.rules)

    @property
    def rules_covered(self) -> int:
        return sum(1 for outcomes in self.rules.values() if outcomes)

    def branch_counts(self, rule: str) -> tuple[int, int]:
        conds = self.branches.get(rule, {})
        return sum(len(seen) for seen in conds.values()), 2 * len(conds)

    @property
    def branches_covered(self) -> tuple[int, int]:
        got = total = 0
        for rule in self.branches:
            g, t = self.branch_counts(rule)
            got, total = got + g, total + t
        return got, total


def start_coverage(policy: Policy) -> Coverage:
    cov = Coverage()
    for rule in policy.checked.rules:
        cov.rules[rule.name] = set()
        cov.branches[rule.name] = {span: set() for span in _conditions(rule, policy)}
    return cov


def _conditions(rule: ast.RuleDecl, policy: Policy) -> list[Span]:
    """Spans of the boolean conditions the interpreter records (connectives, comparisons, tests, quantifiers)."""
    exprs: list[ast.Expr] = []
    for item in rule.items:
        match item:
            case ast.Applies(cond=c) | ast.Require(cond=c) | ast.Unless(when=c):
                exprs.append(c)
            case ast.Each(where=w) if w is not None:
                exprs.append(w)
            case ast.DueWithin(done=d) | ast.DueOn(done=d):
                exprs.append(d)
    spans: list[Span] = []
    while exprs:
        e = exprs.pop()
        recorded = isinstance(e, ast.Binary | ast.Unary | ast.IsTest | ast.Quantifier | ast.Call) and \
            type_of(e) == BOOL and not (isinstance(e, ast.Unary) and e.op == "-")
        if recorded and e.span not in spans:
            spans.append(e.span)
        if isinstance(e, ast.Binary) and e.op in ("and", "or"):
            # a chain is recorded as one step: its inner links are not separate branches
            left = e.left
            while isinstance(left, ast.Binary) and left.op == e.op:
                exprs.append(left.right)
                left = left.left
            exprs.extend([left, e.right])
            continue
        exprs.extend(children(e))
    return spans


def record_coverage(cov: Coverage, case: CaseResult) -> None:
    if case.result is None:
        return
    asserted = set(case.case.expect)
    for r in case.result.results:
        if r.rule in asserted or asserted & set(r.implements):
            cov.rules.setdefault(r.rule, set()).add(r.outcome.value)
        conds = cov.branches.get(r.rule)
        if conds is None:
            continue
        for span, value in r.observed:
            if span in conds:
                conds[span].add(value)


def outcome_counts(results: list[CaseResult]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for r in results:
        counts["passed" if r.passed else "failed"] += 1
    return dict(counts)
