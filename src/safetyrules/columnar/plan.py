"""Static facts about a checked policy that the columnar engine plans with (no data involved).

- which params each rule reads: the checker's `params_used` (direct and through definitions) plus the
  reserved params the rule semantics read by a rule's kind of deadline (`new_entrant_grace`,
  `periodic_first_due_anchor`, `late_act_memory`);
- which rules must be evaluated again when params change or rules are switched on or off: the rules that
  read a changed param or are switched, and every rule that reads their outcome, transitively;
- which quantifier expansions (`x in collection`) each rule opens, so that an expansion shared by several
  rules is built once and dropped after the last rule that uses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from safetyrules.engine.rules import ESTABLISHED
from safetyrules.lower.program import Program
from safetyrules.syntax import ast
from safetyrules.syntax.walk import nodes

Expansion = tuple[str, Any]  # (variable, collection expression): equal ASTs compare equal (spans ignored)


def params_read(policy: Program) -> dict[str, set[str]]:
    """Rule → every param it may read (declared params only), and the definitions it reads (an overridden
    definition reads as a param)."""
    return {r.name: (set(r.params_read) & set(policy.params)) | r.defines_read for r in policy.rules}


def affected_rules(policy: Program, params: Iterable[str], switched: Iterable[str]) -> set[str]:
    """The rules whose results may change when `params` change or the rules `switched` are switched on or
    off: those that read a changed param or are switched, and every rule that reads one of those."""
    changed = set(params)
    reads = params_read(policy)
    out = {name for name, used in reads.items() if used & changed} | set(switched)
    readers = policy.readers()
    todo = list(out)
    while todo:
        for reader in readers.get(todo.pop(), ()):
            if reader not in out:
                out.add(reader)
                todo.append(reader)
    return out


def expansions(node: Any) -> set[Expansion]:
    """The quantifier expansions written under `node` (`any(x in c: …)`, `each x in c`, …)."""
    out: set[Expansion] = set()
    for n in nodes(node):
        if isinstance(n, ast.Quantifier | ast.OrderPick | ast.Each):
            out.add((n.var, n.collection))
    return out


# Per checked policy (kept alive by the entry, so its id is not reused): walking the ASTs costs milliseconds,
# as much as evaluating a small policy over 100,000 enterprises, and the answers never change.
_CACHE: dict[tuple[str, int], tuple[Program, Any]] = {}
_CACHE_SIZE = 64


def _cached(kind: str, policy: Program, compute: Any) -> Any:
    key = (kind, id(policy))
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is policy:
        return hit[1]
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    value = compute()
    _CACHE[key] = (policy, value)
    return value


def still_used(policy: Program, order: Iterable[str]) -> list[set[Expansion]]:
    """For the i-th rule of `order`, the expansions that rules after it open (what is worth keeping)."""
    names = list(order)
    by_rule: dict[str, set[Expansion]] = _cached(
        "expansions", policy, lambda: {r.name: expansions(r.decl) for r in policy.rules})
    per_rule = [by_rule[n] for n in names]
    later: set[Expansion] = set()
    out: list[set[Expansion]] = [set() for _ in names]
    for i in range(len(names) - 1, -1, -1):
        out[i] = set(later)
        later |= per_rule[i]
    return out


def names_read(policy: Program) -> set[str]:
    """Every name and field name the policy's rules and definitions use: a fact path none of whose
    components is among them is never read (see `columnar.asof.as_of_tables`)."""
    return set(_cached("names", policy, lambda: _names_read(policy)))


def _names_read(policy: Program) -> set[str]:
    names: set[str] = {ESTABLISHED}  # read by the engine itself (new-entrant grace, first due dates)
    for node in (*(r.decl for r in policy.rules), *policy.defines.values()):
        for n in nodes(node):
            if isinstance(n, ast.Name):
                names.add(n.id)
            elif isinstance(n, ast.Field):
                names.add(n.name)
    return names


def tables_read(policy: Program, tables: Iterable[str]) -> set[str]:
    """The child tables (list fields) the policy may read: those whose first path component is a name
    the policy's rules or definitions use (a superset: a name may also be a variable or a param)."""
    names = names_read(policy)
    return {t for t in tables if t.split(".")[0] in names}
