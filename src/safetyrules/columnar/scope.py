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
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from safetyrules.columnar.tables import IDX, ROOT, UNK, FactTables
from safetyrules.columnar.values import FALSE, Val

try:  # optional (polars and recent pyarrow do not need it): a faster way to a few results
    import numpy as np
except ImportError:  # pragma: no cover
    np = None  # type: ignore[assignment]

PROW = "_prow"
ROW = "_row"
LAZY_ROWS = 20_000  # from this height on, new columns go through the lazy engine (common subexpressions once)


def with_columns(frame: pl.DataFrame, exprs: dict[str, pl.Expr]) -> pl.DataFrame:
    """`frame.with_columns(**exprs)`, each value broadcast to the frame's height: a part of a rule that does not
    depend on the enterprise (`require flag` with a param, a constant deadline) may come out of polars as one
    value that it does not broadcast itself (nested `when` on literal conditions)."""
    try:
        return frame.with_columns(**exprs)
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ShapeError):
        columns = {name: broadcast(frame, expr) for name, expr in exprs.items()}
        return frame.with_columns(**columns)


def broadcast(frame: pl.DataFrame, expr: pl.Expr) -> pl.Series:
    """The value of `expr` over `frame`, one per row (a single value repeated)."""
    values = frame.select(expr).to_series()
    if values.len() == 1 and frame.height != 1:
        return pl.repeat(values[0], frame.height, dtype=values.dtype, eager=True)
    return values


@dataclass(slots=True)
class Counter:
    """Run-wide state of the scopes: fresh names, and which `#unk` columns hold no unknown at all."""

    n: int = 0
    all_known: dict[tuple[str, str], bool] = field(default_factory=dict)
    cache: dict[Any, Any] = field(default_factory=dict)
    overlays: int = 0  # > 0 while a quantifier variable is bound in place (see `Evaluator._bound`)

    def known(self, tables: FactTables, table: str, column: str) -> bool:
        key = (table, column)
        if key not in self.all_known:
            self.all_known[key] = not tables.table(table).get_column(column).any()
        return self.all_known[key]

    def table_offsets(self, tables: FactTables, table: str) -> pl.Series:
        """Where each enterprise's rows start in a child table (sorted by `_idx`), and where the last end."""
        key = ("offsets", table)
        if key not in self.cache:
            owners = tables.table(table).get_column(IDX)
            if np is not None:  # the rows per enterprise, summed up: in numpy, a third of the time of polars
                ends = np.zeros(len(tables) + 1, dtype=np.int64)
                np.cumsum(np.bincount(owners.to_numpy(), minlength=len(tables)), out=ends[1:])
                self.cache[key] = pl.Series(ends.astype(np.uint32))
            else:  # the run lengths of the sorted `_idx` column, summed up
                runs = owners.rle().struct.unnest()
                counts = pl.zeros(len(tables), dtype=pl.UInt32, eager=True).scatter(runs.get_column("value"),
                                                                                    runs.get_column("len"))
                self.cache[key] = pl.concat([pl.Series([0], dtype=pl.UInt32), counts.cum_sum()]).rechunk()
        return self.cache[key]  # type: ignore[no-any-return]

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
    _offsets: pa.Array | None = None  # group offsets of the rows per outer row (see `offsets`)

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
        self.frame = self.frame.hstack([series.alias(name)])  # a new name: no query plan needed
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
                self.frame = self.frame.hstack(
                    [series.alias(self.cache[("same", table, c)]) for c, series in missing.items()])
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
            self.frame = self.frame.hstack([series.alias(name) for name, series in todo.items()])
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

    def spread(self, inner: Scope, frame: pl.DataFrame, aggs: dict[str, tuple[str, pl.Expr]]) -> dict[str, pl.Expr]:
        """Aggregate the rows of `frame` (row-aligned with `inner`, a scope opened from this one) per row of
        this scope, and store the results as columns of this scope. Each aggregate is `(kind, expr)` with kind
        "any" (false without rows), "sum" (0 without rows), "max" or "min" (null without rows or values).

        The inner rows are grouped by `_prow` in order (every expansion keeps the outer order), so each group
        is a slice: the values become a list column over the group offsets and a list reduction aggregates
        them, without hashing or scattering."""
        offsets = inner.offsets(self.height)
        values = frame.select(**{role: expr for role, (_, expr) in aggs.items()})
        out: dict[str, pl.Expr] = {}
        new: dict[str, pl.Series] = {}
        groups = frame.get_column(PROW)
        for role, (kind, _) in aggs.items():
            name = self.counter.fresh(role)
            new[name] = segment_reduce(values.get_column(role), offsets, kind, groups)
            out[role] = pl.col(name)
        if new:
            self.frame = self.frame.hstack([series.alias(name) for name, series in new.items()])
        return out

    def offsets(self, outer_height: int) -> pa.Array:
        """Where each outer row's group of rows starts in this frame (and where the last one ends)."""
        if self._offsets is None:
            prow = self.frame.get_column(PROW)
            probes = pl.int_range(0, outer_height + 1, dtype=pl.UInt32, eager=True)
            self._offsets = prow.search_sorted(probes, side="left").cast(pl.Int64).to_arrow()
        return self._offsets


def segment_reduce(values: pl.Series, offsets: pa.Array, kind: str, groups: pl.Series | None = None) -> pl.Series:
    """Reduce consecutive slices of `values` (slice i = offsets[i] .. offsets[i + 1]); `groups` (the slice
    number of each value, non-decreasing) enables the fast path for `max`/`min` of integers and dates."""
    # a list reduction costs about 50 ns per slice, the packed one about 15 ns per value
    if kind in ("max", "min") and groups is not None and len(values) <= 3 * (len(offsets) - 1):
        fast = _packed_extreme(values, offsets, groups, kind)
        if fast is not None:
            return fast
    if kind in ("any", "sum") and (values.dtype == pl.Boolean or values.dtype.is_integer()):
        # a running total read at the slice ends, in Arrow compute (polars Series operations each plan a
        # query): about 3x faster than a list reduction; integers only, where the differences are exact
        ints = pc.cast(values.rechunk().to_arrow(), pa.int64())
        total = pa.concat_arrays([pa.array([0], pa.int64()), pc.cumulative_sum(pc.fill_null(ints, 0))])
        per_slice = pc.subtract(pc.take(total, offsets[1:]), pc.take(total, offsets[:-1]))
        out = pc.greater(per_slice, 0) if kind == "any" else per_slice
        return pl.Series(values.name, out)
    if kind == "any":
        values = values.fill_null(False)
    arr = values.rechunk().to_arrow()
    lists = pl.Series(values.name, pa.LargeListArray.from_arrays(offsets, arr))
    if kind == "any":
        return lists.list.any()
    if kind == "sum":
        return lists.list.sum()
    if kind == "max":
        return lists.list.max()
    if kind == "min":
        return lists.list.min()
    raise ValueError(f"no reduction {kind}")


_LOW = (1 << 32) - 1


def _packed_extreme(values: pl.Series, offsets: pa.Array, groups: pl.Series, kind: str) -> pl.Series | None:
    """Per-slice max (min) of integer-like values in one pass: pack (slice, value) into one 64-bit key
    whose high half is the slice number, so the running maximum of the keys, read at each slice's last row,
    is that slice's largest (for min: smallest, by storing the value's complement) value. The low half
    holds value - lo + 1 (0 for null), so it needs the values to span less than 2^32 - 1; else None."""
    dtype = values.dtype
    phys = values.to_physical()
    if not phys.dtype.is_integer() or len(values) == 0:
        return None
    lo, hi = phys.min(), phys.max()
    if lo is None or hi is None:  # every value null: so is every extreme
        return pl.repeat(None, len(offsets) - 1, dtype=dtype, eager=True).alias(values.name)
    assert isinstance(lo, int) and isinstance(hi, int)
    if hi - lo >= _LOW - 1 or groups.max() >= (1 << 31):  # type: ignore[operator]
        return None
    wide = phys.cast(pl.Int64)
    low = (wide - (lo - 1)) if kind == "max" else ((hi + 1) - wide)
    keys = (groups.cast(pl.Int64) * (1 << 32) + low.fill_null(0)).cum_max()
    ends = pl.Series(offsets).cast(pl.Int64)
    last = ends.slice(1) - 1
    nonempty = ends.slice(1) > ends.slice(0, len(ends) - 1)
    picked = keys.gather(last.clip(lower_bound=0).cast(pl.UInt32)) % (1 << 32)
    got = picked.zip_with(nonempty & (picked > 0), pl.Series([None], dtype=pl.Int64))
    out = (got + (lo - 1)) if kind == "max" else ((hi + 1) - got)
    return out.cast(phys.dtype).cast(dtype).alias(values.name)


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
