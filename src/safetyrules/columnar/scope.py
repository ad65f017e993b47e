"""Scopes: the frame an expression is evaluated over, and how values move between frames.

The root scope has one row per enterprise (`_idx` = row number). A quantifier opens an inner scope with
one row per (outer row, element): its frame holds `_prow` (the outer row), `_idx` (the enterprise) and the
element. Values move inward by gathering along `_prow`/`_idx` (cheaper than joins: row numbers are known)
and outward by a group-by on `_prow` whose results are scattered back to the outer rows. Record fields are
gathered from their table by row pointer, so an element scope carries only the columns it reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from safetyrules.columnar.tables import IDX, ROOT, UNK, FactTables
from safetyrules.columnar.values import FALSE, Val

PROW = "_prow"
ROW = "_row"
LAZY_ROWS = 20_000  # from this height on, new columns go through the lazy engine (common subexpressions once)


def with_columns(frame: pl.DataFrame, exprs: dict[str, pl.Expr]) -> pl.DataFrame:
    """`frame.with_columns(**exprs)`; on large frames through the lazy engine, whose common-subexpression
    elimination computes a sub-expression shared by several branches (a shifted date, a gathered flag) once."""
    if frame.height < LAZY_ROWS:
        return frame.with_columns(**exprs)
    return frame.lazy().with_columns(**exprs).collect()


@dataclass(slots=True)
class Counter:
    """Run-wide state of the scopes: fresh names, and which `#unk` columns hold no unknown at all."""

    n: int = 0
    all_known: dict[tuple[str, str], bool] = field(default_factory=dict)
    cache: dict[Any, Any] = field(default_factory=dict)

    def known(self, tables: FactTables, table: str, column: str) -> bool:
        key = (table, column)
        if key not in self.all_known:
            self.all_known[key] = not tables.table(table).get_column(column).any()
        return self.all_known[key]

    def fresh(self, hint: str = "t") -> str:
        self.n += 1
        return f"~{hint}{self.n}"


@dataclass(eq=False, slots=True)
class Scope:
    """One frame of rows and the variables bound in it."""

    frame: pl.DataFrame
    tables: FactTables
    counter: Counter
    parent: Scope | None = None
    bindings: dict[str, Val] = field(default_factory=dict)
    cache: dict[Any, Any] = field(default_factory=dict)
    identity: str | None = None  # a child table whose rows are exactly this frame's rows, in order (`_row`)
    _columns: dict[str, str] = field(default_factory=dict)  # expression text → materialized column
    _rows: dict[int, str] = field(default_factory=dict)  # id(ancestor) → column of its row numbers

    @property
    def height(self) -> int:
        return self.frame.height

    @property
    def is_root(self) -> bool:
        return self.parent is None

    def root(self) -> Scope:
        s = self
        while s.parent is not None:
            s = s.parent
        return s

    # ---------------------------------------------------------------- columns
    def add(self, series: pl.Series, hint: str = "t") -> pl.Expr:
        name = self.counter.fresh(hint)
        self.frame = self.frame.with_columns(series.alias(name))
        return pl.col(name)

    def column(self, expr: pl.Expr, hint: str = "t") -> str:
        """Materialize an expression as a column of this frame (once per expression)."""
        if expr.meta.is_column():
            return expr.meta.output_name()
        key = str(expr)
        name = self._columns.get(key)
        if name is None:
            name = self.counter.fresh(hint)
            self.frame = with_columns(self.frame, {name: expr})
            self._columns[key] = name
        return name

    def columns(self, exprs: dict[str, pl.Expr]) -> dict[str, str]:
        """Materialize several expressions in one pass."""
        todo: dict[str, pl.Expr] = {}
        out: dict[str, str] = {}
        for role, expr in exprs.items():
            if expr.meta.is_column():
                out[role] = expr.meta.output_name()
                continue
            key = str(expr)
            name = self._columns.get(key)
            if name is None:
                name = self.counter.fresh(role)
                self._columns[key] = name
                todo[name] = expr
            out[role] = name
        if todo:
            self.frame = with_columns(self.frame, todo)
        return out

    def series(self, expr: pl.Expr) -> pl.Series:
        name = self.column(expr)  # first: it may replace the frame
        return self.frame.get_column(name)

    def materialize(self, val: Val) -> Val:
        """The same value, its row-dependent parts stored as columns (so later frames can gather them)."""
        if _is_static(val):
            return val
        names = self.columns({k: e for k, e in val.parts().items() if not _lit(e)})
        parts = {k: (pl.col(names[k]) if k in names else e) for k, e in val.parts().items()}
        return val.with_parts(parts)

    def reset_columns(self) -> None:
        """Forget materialized expressions (after their columns were dropped)."""
        self._columns.clear()
        self._rows.clear()

    # ---------------------------------------------------------------- between scopes
    def rows_in(self, ancestor: Scope) -> pl.Series:
        """For each row of this frame, its row in `ancestor`'s frame."""
        if ancestor is self:
            return pl.int_range(0, self.height, dtype=pl.UInt32, eager=True)
        if ancestor.is_root:
            return self.frame.get_column(IDX)
        assert self.parent is not None
        if ancestor is self.parent:
            return self.frame.get_column(PROW)
        name = self._rows.get(id(ancestor))
        if name is None:
            up = self.parent.rows_in(ancestor)
            self.add(up.gather(self.frame.get_column(PROW)), "rows")
            name = self.frame.columns[-1]
            self._rows[id(ancestor)] = name
        return self.frame.get_column(name)

    def import_val(self, val: Val, source: Scope) -> Val:
        """A value of an ancestor scope, seen from this scope's rows."""
        if source is self or _is_static(val):
            return val
        key = ("import", id(source), tuple(str(e) for e in val.parts().values()))
        cached = self.cache.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        val = source.materialize(val)
        rows = self.rows_in(source)
        parts: dict[str, pl.Expr] = {}
        for role, expr in val.parts().items():
            if _lit(expr):
                parts[role] = expr
            else:
                parts[role] = self.add(source.frame.get_column(expr.meta.output_name()).gather(rows), role)
        out = val.with_parts(parts)
        self.cache[key] = out
        return out

    def gather(self, table: str, columns: list[str], ptr: pl.Expr) -> dict[str, pl.Expr]:
        """Columns of a table at the row pointer `ptr` (null pointer → null)."""
        static = {c: FALSE for c in columns if c.endswith(UNK) and self.counter.known(self.tables, table, c)}
        columns = [c for c in columns if c not in static]
        if table == ROOT and self.is_root and ptr.meta.is_column() and ptr.meta.output_name() == IDX:
            return {**static, **{c: pl.col(c) for c in columns}}
        src = self.tables.table(table)
        if table == self.identity and ptr.meta.is_column() and ptr.meta.output_name() == ROW:
            missing = {c: src.get_column(c) for c in columns if ("same", table, c) not in self.cache}
            for c in missing:
                self.cache[("same", table, c)] = self.counter.fresh("s")
            if missing:
                self.frame = self.frame.with_columns(
                    **{self.cache[("same", table, c)]: series for c, series in missing.items()})
            return {**static, **{c: pl.col(self.cache[("same", table, c)]) for c in columns}}
        ptr_name = self.column(ptr, "ptr")
        out: dict[str, pl.Expr] = {}
        todo: dict[str, pl.Series] = {}
        idx = None
        for c in columns:
            key = ("gather", table, c, ptr_name)
            name = self.cache.get(key)
            if name is None:
                if idx is None:
                    idx = self.frame.get_column(ptr_name)
                name = self.counter.fresh("g")
                todo[name] = src.get_column(c).gather(idx)
                self.cache[key] = name
            out[c] = pl.col(name)
        if todo:
            self.frame = self.frame.with_columns(**todo)
        return {**static, **out}

    def child(self, frame: pl.DataFrame, bindings: dict[str, Val]) -> Scope:
        return Scope(frame, self.tables, self.counter, self, bindings)

    def lookup(self, name: str) -> tuple[Scope, Val] | None:
        s: Scope | None = self
        while s is not None:
            if name in s.bindings:
                return s, s.bindings[name]
            s = s.parent
        return None

    def back(self, column: pl.Expr, inner: pl.DataFrame) -> pl.Series:
        """A column of this scope seen from the rows of an inner frame (by `_prow`)."""
        return self.series(column).gather(inner.get_column(PROW))

    def spread(self, inner: pl.DataFrame, aggs: dict[str, pl.Expr]) -> dict[str, pl.Expr]:
        """Group `inner` by `_prow`, aggregate, and scatter the results onto this scope's rows (rows with
        no element get null: callers tell "no element" by a `len` aggregate)."""
        grouped = inner.group_by(PROW).agg(**aggs)
        idx = grouped.get_column(PROW)
        out: dict[str, pl.Expr] = {}
        new: dict[str, pl.Series] = {}
        for role in aggs:
            values = grouped.get_column(role)
            full = pl.Series(role, [None], dtype=values.dtype).extend_constant(None, self.height - 1) \
                if self.height else pl.Series(role, [], dtype=values.dtype)
            if self.height:
                full = full.scatter(idx, values)
            name = self.counter.fresh(role)
            new[name] = full
            out[role] = pl.col(name)
        if new:
            self.frame = self.frame.with_columns(**new)
        return out


def _lit(expr: pl.Expr) -> bool:
    return bool(expr.meta.is_literal(allow_aliasing=True))


def _is_static(val: Val) -> bool:
    return all(_lit(e) for e in val.parts().values())


def with_rows(scope: Scope) -> pl.DataFrame:
    """The outer rows as (`_prow`, `_idx`): the left side of every expansion."""
    return pl.DataFrame({PROW: pl.int_range(0, scope.height, dtype=pl.UInt32, eager=True).set_sorted(),
                         IDX: scope.frame.get_column(IDX)})


def sorted_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Flag `_prow` as sorted (every expansion keeps the outer order), for polars' sorted group-by."""
    return frame.with_columns(pl.col(PROW).set_sorted())


Builder = Callable[[Scope], Val]
