"""Walks over policy trees, written once for every stage: an expression's direct children, the free names it
reads, the operands of an `and`/`or` chain, and every node under a declaration. All iterative: a deep
expression never meets Python's recursion limit here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from safetyrules.syntax import ast


def free_names(e: ast.Expr) -> Iterator[str]:
    """Free names of an expression (bound quantifier variables excluded)."""
    stack: list[tuple[ast.Expr, frozenset[str]]] = [(e, frozenset())]
    while stack:
        node, bound = stack.pop()
        match node:
            case ast.Name(id=name):
                if name not in bound:
                    yield name
            case ast.ParamAt(param=p, at=at):
                yield p
                stack.append((at, bound))
            case ast.Quantifier(var=v, collection=c, where=w, body=b):
                stack.append((c, bound))
                stack.extend((x, bound | {v}) for x in (w, b) if x is not None)
            case ast.OrderPick(var=v, collection=c, where=w, key=k):
                stack.append((c, bound))
                stack.extend((x, bound | {v}) for x in (w, k) if x is not None)
            case _:
                stack.extend((child, bound) for child in children(node))



def children(e: ast.Expr) -> list[ast.Expr]:
    """Direct sub-expressions, for generic walks."""
    match e:
        case ast.Field(target=t):
            return [t]
        case ast.ParamAt(at=at):
            return [at]
        case ast.Call(args=args):
            return list(args)
        case ast.Quantifier(collection=c, where=w, body=b):
            return [x for x in (c, w, b) if x is not None]
        case ast.OrderPick(collection=c, where=w, key=k):
            return [x for x in (c, w, k) if x is not None]
        case ast.IntRange(low=lo, high=hi):
            return [lo, hi]
        case ast.SetLit(items=items):
            return list(items)
        case ast.Unary(operand=o):
            return [o]
        case ast.Binary(left=lhs, right=rhs):
            return [lhs, rhs]
        case ast.IsTest(operand=o):
            return [o]
        case ast.IfThenElse(cond=c, then=t, else_=x):
            return [c, t, x]
    return []


def chain(e: ast.Expr, op: str) -> list[ast.Expr]:
    """The operands of a left-nested `a op b op c` chain, in order (iteratively: no recursion)."""
    parts: list[ast.Expr] = []
    while isinstance(e, ast.Binary) and e.op == op:
        parts.append(e.right)
        e = e.left
    parts.append(e)
    return parts[::-1]


_NOT_CHILDREN = frozenset({"span", "name_span", "checked_type"})  # positions and the checker's annotation


def nodes(node: Any) -> Iterator[Any]:
    """Every AST node under `node` (itself included)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, tuple | list):
            stack.extend(n)
        elif dataclasses.is_dataclass(n) and not isinstance(n, type):
            yield n
            for f in dataclasses.fields(n):
                if f.name not in _NOT_CHILDREN:
                    stack.append(getattr(n, f.name))
