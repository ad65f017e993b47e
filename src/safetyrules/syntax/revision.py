"""The language revision for readers (docs/language.md, "Deprecated forms"): what a rule is in the form every
engine runs, and which forms of the earlier revision a file still uses.

- `candidate NAME { when C … }` is the enforcement-candidate declaration. Engines run it as the obligation it
  replaces, `obligation NAME { require not C  due continuous … }`: violated exactly when C holds (`canonical`).
  An obligation of that shape whose condition only reads other rules' outcomes is the deprecated way to write
  a candidate (`candidate_condition`; `safetyrules fmt` rewrites it with `as_candidate`).
- The params the engines read for a kind of deadline are named in its text (`grace`, `from`, `late for`); the
  form engines run does not hold the name (`canonical`): the engines read the reserved param by its name.

Everything else of the revision (`done` for `met`, `last done`, `first due`, `source … quote …`, titles over
several lines) parses to the same nodes as the old form.
"""

from __future__ import annotations

import dataclasses

from safetyrules.syntax import ast
from safetyrules.syntax.walk import chain

OUTCOME_FUNCTIONS = ("violated", "triggered")

# The reserved param the engines read for each kind of deadline, and the words that name it in the text.
GRACE = "new_entrant_grace"  # `due by … grace new_entrant_grace` (when the subject has `established_on`)
ANCHOR = "periodic_first_due_anchor"  # `due every … from periodic_first_due_anchor` (without `first due`)
LATE = "late_act_memory"  # `due within … late for late_act_memory`, `due on … late for late_act_memory`
WORDS = {GRACE: "grace", ANCHOR: "from", LATE: "late for"}


def engine_param(due: ast.Due | None, established: bool) -> str | None:
    """The reserved param the engines read for this deadline (None: none); `established`: whether the subject
    has an establishment date (`established_on`), which the new-entrant grace of `due by` needs."""
    if isinstance(due, ast.DueWithin | ast.DueOn):
        return LATE
    if isinstance(due, ast.DueBy):
        return GRACE if established else None
    if isinstance(due, ast.DueEvery) and due.first is None:
        return ANCHOR
    return None


def named_param(due: ast.Due | None) -> ast.Name | None:
    """The engine-read param the deadline's text names (`grace …`, `from …`, `late for …`)."""
    return None if due is None or isinstance(due, ast.DueContinuous) else due.reserved


def _only_outcomes(e: ast.Expr) -> bool:
    """`violated(a)`, `triggered(b)`, joined by `and`/`or` (nothing else: no facts, no params)."""
    stack = [e]
    while stack:
        node = stack.pop()
        match node:
            case ast.Binary(op="and" | "or" as op):
                stack.extend(chain(node, op))
            case ast.Call(func=f, args=(ast.Name(),)) if f in OUTCOME_FUNCTIONS:
                pass
            case _:
                return False
    return True


def candidate_condition(rule: ast.RuleDecl) -> ast.Expr | None:
    """When `rule` is an obligation written for who is an enforcement candidate — `due continuous`, one
    `require not C` where C only reads other rules' outcomes (its `violated` means "is a candidate") — the
    condition C; else None."""
    if rule.kind != "obligation" or not isinstance(rule.due, ast.DueContinuous) \
            or rule.first(ast.Each) is not None:
        return None
    requires = rule.all(ast.Require)
    if len(requires) != 1:
        return None
    cond = requires[0].cond
    if isinstance(cond, ast.Unary) and cond.op == "not" and _only_outcomes(cond.operand):
        return cond.operand
    return None


def as_candidate(rule: ast.RuleDecl) -> ast.RuleDecl:
    """A candidate-shaped obligation (`candidate_condition`) as the `candidate` declaration it stands for."""
    cond = candidate_condition(rule)
    if cond is None:
        return rule
    items: list[ast.RuleItem] = []
    for item in rule.items:
        if isinstance(item, ast.Require):
            items.append(ast.When(cond, item.span))
        elif not isinstance(item, ast.DueContinuous):
            items.append(item)
    return dataclasses.replace(rule, kind="candidate", items=tuple(items))


def canonical(rule: ast.RuleDecl) -> ast.RuleDecl:
    """The rule in the form every engine runs: a `candidate` as its obligation (`require not C`,
    `due continuous`, in the place of `when C`), a deadline without the param name its text gives."""
    items: list[ast.RuleItem] = []
    changed = rule.kind == "candidate"
    for item in rule.items:
        match item:
            case ast.When(cond=c, span=span):
                items.append(ast.Require(ast.Unary("not", c, span), span))
                items.append(ast.DueContinuous(span))
                changed = True
            case ast.DueBy() | ast.DueEvery() | ast.DueWithin() | ast.DueOn() if item.reserved is not None:
                items.append(dataclasses.replace(item, reserved=None))
                changed = True
            case _:
                items.append(item)
    if not changed:
        return rule
    return dataclasses.replace(rule, kind=rule.outcome_kind, items=tuple(items))
