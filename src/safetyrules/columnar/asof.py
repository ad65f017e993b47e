"""The as-of view over tables: facts dated after the evaluation date are hidden, as polars filters.

The same table as `safetyrules.facts.as_of.EVENT_DATE_PATHS` drives it, so a path added to the contract's
view is hidden here too: DROP_ITEM filters child rows, NOT_YET nulls a date (an instant by its local date),
DROP_OBJECT nulls an object and every leaf under it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from safetyrules.columnar.tables import LOCAL, OFF, ROOT, UNK, VALUE, FactTables, schema
from safetyrules.facts.as_of import EVENT_DATE_PATHS, Effect


def _split(path: str) -> tuple[str, str]:
    """`hazards[].plan.made_on` → (`hazards`, `plan.made_on`); `principal.x` → (ROOT, `principal.x`)."""
    if "[]" not in path:
        return ROOT, path
    table, _, rest = path.partition("[]")
    return table, rest.lstrip(".") or VALUE


def _after(table: str, column: str, as_of: dt.date) -> pl.Expr:
    """Whether the fact at `column` lies after `as_of` (null never does)."""
    spec = schema().tables[table]
    kind = next(leaf.kind for leaf in spec.leaves if leaf.path == column)
    if kind == "datetime":
        return (pl.col(column + LOCAL) > as_of).fill_null(False)
    if kind == "int":  # a year
        return (pl.col(column) > as_of.year).fill_null(False)
    return (pl.col(column) > as_of).fill_null(False)


def _nulled(column: str, kind: str, cond: pl.Expr) -> list[pl.Expr]:
    parts = [column] + ([column + OFF, column + LOCAL] if kind == "datetime" else [])
    out = [pl.when(cond).then(None).otherwise(pl.col(p)).alias(p) for p in parts]
    out.append(pl.when(cond).then(False).otherwise(pl.col(column + UNK)).alias(column + UNK))
    return out


def as_of_tables(tables: FactTables, as_of: dt.date) -> FactTables:
    """A new set of tables showing only what had happened on or before `as_of`."""
    frames = {ROOT: tables.enterprises, **tables.children}
    sch = schema()
    for path, rule in EVENT_DATE_PATHS.items():
        table, column = _split(path)
        spec = sch.tables[table]
        frame = frames[table]
        if rule.effect is Effect.DROP_ITEM:
            frames[table] = frame.filter(~_after(table, column, as_of))
        elif rule.effect is Effect.NOT_YET:
            kind = next(leaf.kind for leaf in spec.leaves if leaf.path == column)
            frames[table] = frame.with_columns(_nulled(column, kind, _after(table, column, as_of)))
        else:  # DROP_OBJECT: the object holding the date, and everything under it
            obj = column.rpartition(".")[0]
            cond = _after(table, column, as_of)
            exprs: list[pl.Expr] = []
            for leaf in spec.leaves:
                if leaf.path.startswith(obj + "."):
                    exprs.extend(_nulled(leaf.path, leaf.kind, cond))
            for sub in spec.objects:
                if sub == obj or sub.startswith(obj + "."):
                    exprs.extend(_nulled(sub, "bool", cond))
            frames[table] = frame.with_columns(exprs)
    root = frames.pop(ROOT)
    return FactTables(root, frames)
