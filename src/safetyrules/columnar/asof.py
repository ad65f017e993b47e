"""The as-of view over tables: facts dated after the evaluation date are hidden, as polars filters.

The same event dates as the reference engine's view drive it (a policy's `FactContract.events`; by default
the built-in `safetyrules.facts.as_of.EVENT_DATE_PATHS`), so a date declared an event is hidden here too:
DROP_ITEM filters child rows, NOT_YET nulls a date (an instant by its local date), DROP_OBJECT nulls an
object and every leaf under it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from safetyrules.columnar.tables import ELEM, IDX, LOCAL, OFF, ROOT, UNK, VALUE, FactTables, Schema
from safetyrules.facts.as_of import EVENT_DATE_PATHS, Effect


def _split(path: str) -> tuple[str, str]:
    """`hazards[].plan.made_on` → (`hazards`, `plan.made_on`); `principal.x` → (ROOT, `principal.x`)."""
    if "[]" not in path:
        return ROOT, path
    table, _, rest = path.partition("[]")
    return table, rest.lstrip(".") or VALUE


def _after(sch: Schema, table: str, column: str, as_of: dt.date) -> pl.Expr:
    """Whether the fact at `column` lies after `as_of` (null never does)."""
    spec = sch.tables[table]
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


def _read(path: str, names: set[str]) -> bool:
    """Whether a policy using `names` may read the fact at `path` (every component is a name it uses)."""
    return all(part in names for part in path.replace("[]", ".").split(".") if part)


def _needed(path: str, effect: Effect, names: set[str]) -> bool:
    """Whether the as-of rule at `path` can change what a policy using `names` reads."""
    table, column = _split(path)
    if effect is Effect.DROP_ITEM:  # the list's items
        return _read(table, names)
    if effect is Effect.NOT_YET:  # the date itself
        return _read(path, names)
    obj = column.rpartition(".")[0]  # DROP_OBJECT: anything under the object
    return _read(f"{table}[].{obj}" if table != ROOT else obj, names)


def as_of_tables(tables: FactTables, as_of: dt.date, names: set[str] | None = None,
                 events: Mapping[str, Effect] | None = None) -> FactTables:
    """A new set of tables showing only what had happened on or before `as_of`.

    With `names` (`plan.names_read` of a policy), only what that policy may read is prepared: a child
    table it never reads is passed through unchanged, one it reads keeps only the columns it may read
    (and the dates that decide what it sees), and the dates of facts it never reads are left as they are.
    `events`: the event dates of the tables' facts (`FactContract.events`; default: the built-in contract's)."""
    frames = {ROOT: tables.enterprises, **tables.children}
    sch = tables.layout
    if events is None:
        events = {path: rule.effect for path, rule in EVENT_DATE_PATHS.items()}
    rules = {path: effect for path, effect in events.items() if names is None or _needed(path, effect, names)}
    if names is not None:
        for table in sch.child_names():
            if not _read(table, names):
                continue
            dates = {_split(p)[1] for p in rules if _split(p)[0] == table}
            keep = [c for c in frames[table].columns if c in (IDX, ELEM) or c.split("#")[0] in dates
                    or c.split("#")[0] == VALUE or _read(table + "." + c.split("#")[0], names)]
            frames[table] = _columns(frames[table], keep)
    queries = {name: frame.lazy() for name, frame in frames.items()}
    for path, effect in rules.items():
        table, column = _split(path)
        spec = sch.tables[table]
        query = queries[table]
        present = frames[table].columns
        if effect is Effect.DROP_ITEM:
            queries[table] = query.filter(~_after(sch, table, column, as_of))
        elif effect is Effect.NOT_YET:
            kind = next(leaf.kind for leaf in spec.leaves if leaf.path == column)
            queries[table] = query.with_columns(_nulled(column, kind, _after(sch, table, column, as_of)))
        else:  # DROP_OBJECT: the object holding the date, and everything under it
            obj = column.rpartition(".")[0]
            cond = _after(sch, table, column, as_of)
            exprs: list[pl.Expr] = []
            for leaf in spec.leaves:
                if leaf.path.startswith(obj + ".") and leaf.path in present:
                    exprs.extend(_nulled(leaf.path, leaf.kind, cond))
            for sub in spec.objects:
                if (sub == obj or sub.startswith(obj + ".")) and sub in present:
                    exprs.extend(_nulled(sub, "bool", cond))
            queries[table] = query.with_columns(exprs)
    changed = [name for name in frames if name in {_split(p)[0] for p in rules}]
    if changed:  # one query per changed table, run together
        done = pl.collect_all([queries[name] for name in changed])
        frames.update(zip(changed, done, strict=True))
    root = frames.pop(ROOT)
    return FactTables(root, frames, sch)


def read_columns(tables: FactTables, names: set[str], keep: tuple[str, ...] = ()) -> FactTables:
    """The tables with the enterprise table cut to the columns a policy using `names` may read (and `keep`):
    the kernel's root frame carries them from rule to rule, so an unread column costs at every rule."""
    frame = tables.enterprises
    columns = [c for c in frame.columns if c == IDX or c.split("#")[0] in keep or _read(c.split("#")[0], names)]
    if len(columns) == frame.width:
        return tables
    return FactTables(_columns(frame, columns), tables.children, tables.layout)


def _columns(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """`frame.select(names)` without a query."""
    if not names:
        return frame.select()
    first = frame.get_column(names[0]).to_frame()
    return first.hstack([frame.get_column(c) for c in names[1:]])
