"""Random policies that declare their own facts: a random schema (enums, records held in lists or as one
object, a subject with fields of every type, kind and option), one to four rules built from templates over the
drawn fields (with params, definitions, exceptions, triggers and rules over rules), and random records of that
schema, some with a deliberately invalid value.

- every drawn policy checks clean (no error, no warning);
- `Policy.evaluate` returns a result or raises `FactError`, never anything else; a record without a
  deliberately invalid value is accepted, and one with such a value is refused;
- for valid records the reference engine and the columnar engine agree, for every (record, rule), on the
  fields the differential tests compare (`tests/columnar/differential.py`), at as-of days in 2019–2024.

The quick variants run in CI; the `slow` ones run `SAFETYRULES_FUZZ_EXAMPLES` examples (tests/fuzz/budget.py).
"""

from __future__ import annotations

import datetime as dt
import decimal
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from columnar.differential import row_problems  # tests/ is on the path (tests/conftest.py)
from fuzz.budget import LONG_EXAMPLES
from safetyrules import FactError, UnknownFieldWarning, load_policy_text
from safetyrules.api import Policy
from safetyrules.check.checker import ESTABLISHED_FIELD
from safetyrules.columnar import FactTables, compile_policy
from safetyrules.columnar.tables import layout_for
from safetyrules.engine.params import ParamTable
from safetyrules.facts.checks import validate_record
from safetyrules.syntax import ast
from safetyrules.syntax.formatter import format_module
from safetyrules.syntax.parser import parse

QUICK = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.data_too_large])
LONG = settings(max_examples=LONG_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

# ------------------------------------------------------------------ the schema

SCALAR_TYPES = ("text", "int", "decimal", "bool", "date", "datetime")
CODES = ("a", "b", "government", "enterprise", "red", "green", "x_1", "z9")
TIMEZONES = (None, "+08:00", "+00:00", "-05:00", "+05:45")
OFFSETS = {"+08:00": dt.timezone(dt.timedelta(hours=8)), "Z": dt.UTC, "-05:00": dt.timezone(dt.timedelta(hours=-5))}
FIRST_DAY, LAST_DAY = dt.date(2019, 1, 1), dt.date(2023, 12, 31)


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # "simple" | "list" | "set"
    type: str  # a scalar, an enum's name or a record's name
    kept: bool = False
    dated: bool = False
    minimum: int | None = None
    maximum: int | None = None
    not_before: str | None = None
    label: bool = False

    def render(self) -> str:
        typ = self.type if self.kind == "simple" else f"{self.kind}<{self.type}>"
        options = [word for word, on in (("kept", self.kept), ("dated", self.dated)) if on]
        options += [f">= {self.minimum}"] if self.minimum is not None else []
        options += [f"<= {self.maximum}"] if self.maximum is not None else []
        options += [f">= {self.not_before}"] if self.not_before is not None else []
        options += [f'label zh "{self.name}字段" en "field {self.name}"'] if self.label else []
        return " ".join([f"field {self.name}: {typ}", *options])


@dataclass(frozen=True)
class Record:
    name: str
    fields: tuple[Field, ...]
    dated: str | None = None  # a list item's own date

    def get(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def simple(self, *types: str) -> list[Field]:
        return [f for f in self.fields if f.kind == "simple" and f.type in types]


@dataclass(frozen=True)
class Schema:
    enums: dict[str, tuple[str, ...]]
    items: tuple[Record, ...]  # records held in the subject's lists
    subject: Record
    timezone: str | None

    def record(self, name: str) -> Record:
        return next(r for r in self.items if r.name == name)

    def held(self, kind: str) -> list[tuple[Field, Record]]:
        """The subject's fields holding a record (``kind`` "list": a list of them, "simple": one), with it."""
        return [(f, self.record(f.type)) for f in self.subject.fields if f.kind == kind and f.type in
                {r.name for r in self.items}]

    def render(self) -> str:
        out: list[str] = []
        for name, codes in self.enums.items():
            out += [f"enum {name} {{", f'  label zh "枚举{name}" en "enum {name}"']
            out += [f'  code {c} zh "代码{c}" en "code {c}"' for c in codes]
            out += ["}", ""]
        for r in self.items:
            out += [f"record {r.name} {{", f'  label zh "记录{r.name}" en "record {r.name}"']
            out += [f"  dated {r.dated}"] if r.dated else []
            out += [f"  {f.render()}" for f in r.fields]
            out += ["}", ""]
        out += [f"subject {self.subject.name} {{", "  key id"]
        out += [f'  timezone "{self.timezone}"'] if self.timezone else []
        out += [f"  {f.render()}" for f in self.subject.fields]
        out += ["}", ""]
        return "\n".join(out)


def names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(count)]


@st.composite
def scalar_field(draw: st.DrawFn, name: str, enums: dict[str, tuple[str, ...]], dates: list[Field]) -> Field:
    """A field of one value: a scalar with the options that fit its type, or an enum."""
    typ = draw(st.sampled_from([*SCALAR_TYPES, *sorted(enums)]))
    label = draw(st.booleans())
    if typ in ("int", "decimal"):
        low = draw(st.one_of(st.none(), st.integers(-5, 10)))
        high = draw(st.one_of(st.none(), st.integers(low if low is not None else -5, 200)))
        return Field(name, "simple", typ, minimum=low, maximum=high, label=label)
    if typ in ("date", "datetime"):
        earlier = [f.name for f in dates if f.type == typ]
        not_before = draw(st.one_of(st.none(), st.sampled_from(earlier))) if earlier else None
        return Field(name, "simple", typ, kept=draw(st.booleans()), not_before=not_before, label=label)
    return Field(name, "simple", typ, label=label)


@st.composite
def item_record(draw: st.DrawFn, name: str, enums: dict[str, tuple[str, ...]]) -> Record:
    """A record held in a list: its own date (`dated`) and up to three more fields of one value."""
    own = draw(st.sampled_from(["date", "date", "date", "datetime", "int"]))
    first = Field("when" if own != "int" else "year", "simple", own,
                  minimum=2000 if own == "int" else None, maximum=2100 if own == "int" else None)
    fields = [first]
    for fname in names("g", draw(st.integers(0, 3))):
        fields.append(draw(scalar_field(fname, enums, [f for f in fields if f.kind == "simple"])))
    return Record(name, tuple(fields), first.name)


@st.composite
def schemas(draw: st.DrawFn) -> Schema:
    enums = {name: tuple(draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=4, unique=True)))
             for name in names("kind", draw(st.integers(1, 3)))}
    items = tuple(draw(item_record(name, enums)) for name in names("rec", draw(st.integers(0, 2))))
    fields: list[Field] = []
    for r in items:  # every record and every enum is used (or `check` warns); most records are list items
        if draw(st.integers(0, 3)):
            fields.append(Field(f"{r.name}s", "list", r.name))
        else:
            fields.append(Field(f"{r.name}_one", "simple", r.name))
    used = {f.type for r in items for f in r.fields}
    for name in enums:
        if name not in used:
            kind = draw(st.sampled_from(["simple", "set"]))
            fields.append(Field(f"{name}_{kind}", kind, name))
    extra = draw(st.integers(max(0, 2 - len(fields)), max(0, 8 - len(fields))))
    if draw(st.integers(0, 3)) == 0 and extra:
        fields.append(Field("established_on", "simple", "date", kept=draw(st.booleans())))
        extra -= 1
    for fname in names("f", extra):
        shape = draw(st.sampled_from(["simple"] * 4 + ["dates", "set", "list"]))
        if shape == "simple":
            fields.append(draw(scalar_field(fname, enums, [f for f in fields if f.kind == "simple"])))
        elif shape == "dates":
            fields.append(Field(fname, "list", draw(st.sampled_from(["date", "datetime"])),
                                dated=draw(st.booleans())))
        elif shape == "set":
            fields.append(Field(fname, "set", draw(st.sampled_from(sorted(enums)))))
        else:
            fields.append(Field(fname, "list", draw(st.sampled_from(["int", "text", "bool", *sorted(enums)]))))
    # a date order may also name a field declared after it
    dates = [f for f in fields if f.kind == "simple" and f.type in ("date", "datetime")]
    if len(dates) >= 2 and draw(st.integers(0, 3)) == 0:
        later, earlier = draw(st.permutations(dates))[:2]
        if later.type == earlier.type:
            fields[fields.index(later)] = replace(later, not_before=earlier.name)
    order = draw(st.permutations(range(len(fields))))
    subject = Record("unit", (Field("id", "simple", "text"), *(fields[i] for i in order)))
    return Schema(enums, items, subject, draw(st.sampled_from(TIMEZONES)))


# ------------------------------------------------------------------ the rules

LIST_TEMPLATES = {"every_date", "every_record", "counted", "within", "trigger", "picked", "held", "each_date"}
PERIODS = ("1 year", "6 months", "3 months", "30 days", "2 years")
DEADLINES = ("2020-06-30", "2021-12-31", "2022-03-31", "2023-01-01")


@dataclass
class Rule:
    items: list[str]
    kind: str = "obligation"
    decls: dict[str, str] = field(default_factory=dict)  # the params and definitions it reads, by name


def day_of(expr: str, typ: str) -> str:
    """The local day of a date or instant expression."""
    return f"date({expr})" if typ == "datetime" else expr


def condition(draw: st.DrawFn, schema: Schema, record: Record, var: str) -> str | None:
    """A `where` condition on a list item, or none."""
    bools = record.simple("bool")
    enums = [f for f in record.fields if f.kind == "simple" and f.type in schema.enums]
    choices: list[str | None] = [None]
    choices += [f"{var}.{f.name}" for f in bools] + [f"not {var}.{f.name}" for f in bools]
    choices += [f"{var}.{f.name} is not null" for f in record.fields]
    choices += [f'{var}.{f.name} == "{schema.enums[f.type][0]}"' for f in enums]
    return draw(st.sampled_from(choices))


def template_rules(schema: Schema) -> dict[str, Callable[[st.DrawFn], Rule]]:
    """The rule templates that fit the drawn schema, by name."""
    subject = schema.subject
    out: dict[str, Callable[[st.DrawFn], Rule]] = {}
    bools, numbers = subject.simple("bool"), subject.simple("int", "decimal")
    enums = [f for f in subject.fields if f.type in schema.enums and f.kind == "simple"]
    sets = [f for f in subject.fields if f.kind == "set"]
    days = subject.simple("date", "datetime")
    texts = subject.simple("text")
    date_lists = [f for f in subject.fields if f.kind == "list" and f.type in ("date", "datetime")]
    lists = schema.held("list")
    objects = schema.held("simple")
    continuous = "due continuous"

    if bools:
        def boolean(draw: st.DrawFn) -> Rule:
            return Rule([f"require {draw(st.sampled_from(['', 'not ']))}{draw(st.sampled_from(bools)).name}",
                         continuous])
        out["bool"] = boolean
    if numbers:
        def number(draw: st.DrawFn) -> Rule:
            f = draw(st.sampled_from(numbers))
            op = draw(st.sampled_from([">=", "<=", ">", "==", "!="]))
            due = draw(st.sampled_from([continuous, f"due by {draw(st.sampled_from(DEADLINES))}"]))
            if draw(st.integers(0, 3)) == 0:
                param = f"param threshold_{f.name}: number {{\n  default {draw(st.integers(0, 50))}\n" \
                        f'  from 2021-07-01 {draw(st.integers(0, 50))}\n  source "参数" "阈值"\n}}'
                return Rule([f"require {f.name} {op} threshold_{f.name}", due], decls={f"threshold_{f.name}": param})
            return Rule([f"require {f.name} {op} {draw(st.integers(0, 20))}", due])
        out["number"] = number
    if sets:
        def member(draw: st.DrawFn) -> Rule:
            f = draw(st.sampled_from(sets))
            code = draw(st.sampled_from(schema.enums[f.type]))
            return Rule([f'require "{code}" {draw(st.sampled_from(["in", "not in"]))} {f.name}', continuous])
        out["member"] = member
    if enums:
        def enum(draw: st.DrawFn) -> Rule:
            f = draw(st.sampled_from(enums))
            code = draw(st.sampled_from(schema.enums[f.type]))
            return Rule([f'require {f.name} {draw(st.sampled_from(["==", "!="]))} "{code}"', continuous])
        out["enum"] = enum
    if texts:
        def text(draw: st.DrawFn) -> Rule:
            return Rule([f'require {draw(st.sampled_from(texts)).name} != "x"', continuous])
        out["text"] = text

    known = [f for f in subject.fields if f.kind == "simple" and f.name != "id"]
    if known:
        def not_null(draw: st.DrawFn) -> Rule:
            f = draw(st.sampled_from(known))
            due = f"due by {draw(st.sampled_from(DEADLINES))}"
            if f.type in ("date", "datetime") and draw(st.booleans()):
                due += f" met {day_of(f.name, f.type)}"
            return Rule([f"require {f.name} is not null", due])
        out["not_null"] = not_null
    if days:
        def day(draw: st.DrawFn) -> Rule:
            f = draw(st.sampled_from(days))
            other = draw(st.sampled_from(["as_of", "2021-06-30", "as_of - 90 days"]))
            return Rule([f"require {day_of(f.name, f.type)} {draw(st.sampled_from(['>=', '<=']))} {other}",
                         continuous])
        out["day"] = day
    if date_lists:
        def every_date(draw: st.DrawFn) -> Rule:
            f = draw(st.sampled_from(date_lists))
            due = f"due every {draw(st.sampled_from(PERIODS))} last max(x in {f.name}: {day_of('x', f.type)})"
            if draw(st.booleans()):
                due += f" first {draw(st.sampled_from(DEADLINES))}"
            return Rule([due])
        out["every_date"] = every_date
    if lists:
        def every_record(draw: st.DrawFn) -> Rule:
            f, r = draw(st.sampled_from(lists))
            own = r.get(r.dated or "")
            if own.type == "int":
                return Rule([f"require any(x in {f.name}: x.{own.name} >= year(as_of) - 1)", continuous])
            where = condition(draw, schema, r, "x")
            rows = f"x in {f.name} where {where}" if where else f"x in {f.name}"
            decls: dict[str, str] = {}
            period = draw(st.sampled_from(PERIODS))
            if draw(st.integers(0, 3)) == 0:
                decls[f"period_{f.name}"] = (f"param period_{f.name}: duration {{\n  default {period}\n"
                                             f"  from 2022-01-01 {draw(st.sampled_from(PERIODS))}\n"
                                             '  source "参数" "周期"\n}')
                period = f"period_{f.name}"
            last = f"max({rows}: {day_of('x.' + own.name, own.type)})"
            if draw(st.integers(0, 3)) == 0:
                decls[f"last_{f.name}"] = f"/// The latest {f.name}.\ndefine last_{f.name}: date = {last}"
                last = f"last_{f.name}"
            return Rule([f"due every {period} last {last}"], decls=decls)
        out["every_record"] = every_record

        def counted(draw: st.DrawFn) -> Rule:
            f, r = draw(st.sampled_from(lists))
            where = condition(draw, schema, r, "x") or "true"
            quant = draw(st.sampled_from([f"count(x in {f.name} where {where}) >= 1",
                                          f"any(x in {f.name}: {where})", f"all(x in {f.name}: {where})"]))
            return Rule([f"require {quant}", continuous])
        out["counted"] = counted

        timed = [(f, r) for f, r in lists if r.get(r.dated or "").type != "int"]
        if timed:
            def within(draw: st.DrawFn) -> Rule:
                f, r = draw(st.sampled_from(timed))
                own = r.get(r.dated or "")
                start = day_of(f"x.{own.name}", own.type)
                others = [g for g in r.simple("date", "datetime") if g.name != own.name]
                dones = [day_of(f"x.{g.name}", g.type) for g in others]
                dones += [f"min(y in {g.name} where {day_of('y', g.type)} >= {start}: {day_of('y', g.type)})"
                          for g in date_lists]
                dones += [f"min(y in {f.name} where {day_of('y.' + own.name, own.type)} > {start}: "
                          f"{day_of('y.' + own.name, own.type)})"]
                if len(dones) >= 2 and draw(st.booleans()):
                    pair = ", ".join(dones[:2])
                    dones += [f"greatest({pair})", f"least({pair})", f"coalesce({pair})"]
                where = condition(draw, schema, r, "x")
                each = f"each x in {f.name}" + (f" where {where}" if where else "")
                window = draw(st.sampled_from(["30 days", "1 month", "2 weeks", "1 year"]))
                due = draw(st.sampled_from([f"due within {window} after {start} done {draw(st.sampled_from(dones))}",
                                            f"due on {start} + {window} done {draw(st.sampled_from(dones))}"]))
                kept = [g for g in others if g.kept and g.type == "date"]
                if draw(st.booleans()) and kept:
                    due = f"due on x.{draw(st.sampled_from(kept)).name} done {draw(st.sampled_from(dones))}"
                return Rule([each, due])
            out["within"] = within

            def trigger(draw: st.DrawFn) -> Rule:
                f, r = draw(st.sampled_from(timed))
                own = r.get(r.dated or "")
                where = condition(draw, schema, r, "x")
                each = f"each x in {f.name}" + (f" where {where}" if where else "")
                return Rule([each, f"on {day_of('x.' + own.name, own.type)}",
                             f"listing {draw(st.sampled_from(['1 year', '6 months', '90 days']))}",
                             'effect zh "记入档案" en "on record"'], kind="trigger")
            out["trigger"] = trigger

        def picked(draw: st.DrawFn) -> Rule:
            f, r = draw(st.sampled_from(lists))
            own = r.get(r.dated or "")
            other = draw(st.sampled_from(r.fields))
            test = f"x.{other.name}" if other.type == "bool" else f"x.{other.name} is not null"
            where = condition(draw, schema, r, "x") or "true"
            numbers = r.simple("int", "decimal")
            picks = [f"latest(x in {f.name} by x.{own.name}).{test[2:]}",
                     f"earliest(x in {f.name} where {where} by x.{own.name}).{test[2:]}",
                     f"find(x in {f.name} where {where}).{test[2:]}"]
            picks += [f"sum(x in {f.name}: x.{n.name}) >= {draw(st.integers(0, 20))}" for n in numbers]
            return Rule([f"require {draw(st.sampled_from(picks))}", continuous])
        out["picked"] = picked
    if objects:
        def held(draw: st.DrawFn) -> Rule:
            f, r = draw(st.sampled_from(objects))
            own = r.get(r.dated or "")
            other = draw(st.sampled_from(r.fields))
            if own.type == "int":
                return Rule([f"require {f.name}.{own.name} >= {draw(st.integers(2019, 2024))}", continuous])
            when = day_of(f"{f.name}.{own.name}", own.type)
            return Rule(draw(st.sampled_from([
                [f"require {f.name}.{other.name} is not null", f"due by {draw(st.sampled_from(DEADLINES))} met {when}"],
                [f"require {when} >= as_of - 1 year", continuous],
                [f"require {f.name}.{other.name}" if other.type == "bool" else f"require {f.name} is not null",
                 continuous],
            ])))
        out["held"] = held
    if date_lists:
        def each_date(draw: st.DrawFn) -> Rule:
            f = draw(st.sampled_from(date_lists))
            x, y = day_of("x", f.type), day_of("y", f.type)
            window = draw(st.sampled_from(["30 days", "1 month", "1 year"]))
            return Rule([f"each x in {f.name}", f"due within {window} after {x} done min(y in {f.name} where "
                         f"{y} > {x}: {y})"])
        out["each_date"] = each_date
    listed = [f for f in subject.fields if f.kind in ("list", "set") and (f.type in schema.enums or f.type == "text")]
    if listed:
        def contains(draw: st.DrawFn) -> Rule:
            f = draw(st.sampled_from(listed))
            item = draw(st.sampled_from(schema.enums.get(f.type, ("x", "甲"))))
            return Rule([f'require "{item}" {draw(st.sampled_from(["in", "not in"]))} {f.name}', continuous])
        out["contains"] = contains
    return out


def modifiers(draw: st.DrawFn, schema: Schema, earlier: list[str]) -> list[str]:
    """`effective`, `applies`, `unless` and rules over rules, added to a rule now and then."""
    subject = schema.subject
    conditions = [f.name for f in subject.simple("bool")]
    for f in subject.fields:
        if f.type in schema.enums and f.kind == "simple":
            codes = schema.enums[f.type]
            conditions += [f'{f.name} == "{codes[0]}"', f'{f.name} != "{codes[-1]}"',
                           f"{f.name} in {{{', '.join(chr(34) + c + chr(34) for c in codes[:2])}}}"]
        elif f.kind == "set":
            conditions.append(f'"{schema.enums[f.type][0]}" in {f.name}')
    conditions += [f"not triggered({name})" if name.startswith("trigger") else f"violated({name})"
                   for name in earlier]
    out: list[str] = []
    if draw(st.integers(0, 7)) == 0:
        out.append(f"effective {draw(st.sampled_from(DEADLINES))}")
    if draw(st.booleans()) and conditions:
        out.append(f"applies {draw(st.sampled_from(conditions))}")
    if conditions and draw(st.integers(0, 7)) == 0:
        out.append(f'unless exempt source "例外" "除外" when {draw(st.sampled_from(conditions))}')
    return out


@dataclass(frozen=True)
class Drawn:
    schema: Schema
    text: str


@st.composite
def policies(draw: st.DrawFn) -> Drawn:
    """A random schema and one to four rules over its fields, as policy text."""
    schema = draw(schemas())
    templates = template_rules(schema)
    rules: list[str] = []
    decls: dict[str, str] = {}
    names_so_far: list[str] = []
    ids: list[str] = []
    for i in range(draw(st.integers(1, 4))):
        # the templates over lists (the as-of view, events, periods) are drawn more often
        weighted = [name for name in sorted(templates) for _ in range(3 if name in LIST_TEMPLATES else 1)]
        rule = templates[draw(st.sampled_from(weighted))](draw)
        kind = rule.kind
        name = f"rule{i}"
        items = [f'implements "{i}.a"', f'title zh "规则{i}" en "rule {i}"', f'source "第{i}条" "条文{i}"']
        if kind == "obligation" and draw(st.integers(0, 3)) == 0:
            items.append(draw(st.sampled_from(["severity high", "severity low"])))
        items += modifiers(draw, schema, names_so_far)
        items += rule.items
        if kind == "obligation" and draw(st.integers(0, 4)) == 0:
            items.append('remedy zh "整改" en "fix it"')
        if kind == "trigger":
            name = f"trigger{i}"
        names_so_far.append(name)
        ids.append(f"{i}.a")
        for decl, decl_text in rule.decls.items():
            decls.setdefault(decl, decl_text)  # a second rule over the same list reads the first one's
        rules.append("\n".join([f"{kind} {name} {{", *(f"  {item}" for item in items), "}"]))
    header = ['policy random_facts {', '  title zh "随机事实" en "Random facts"']
    if draw(st.booleans()):
        header.append(f"  period {draw(st.sampled_from(['2019-01-01', '2020-04-01']))} .. 2023-12-31")
    if draw(st.booleans()):
        header.append("  catalogue {" + ", ".join(f'"{i}"' for i in ids) + "}")
    header.append("}")
    text = "\n\n".join(["\n".join(header), schema.render(), *decls.values(), *rules]) + "\n"
    return Drawn(schema, text)


# ------------------------------------------------------------------ the records

def days() -> st.SearchStrategy[dt.date]:
    edges = [dt.date(2019, 1, 1), dt.date(2020, 2, 29), dt.date(2020, 6, 30), dt.date(2021, 6, 30),
             dt.date(2021, 12, 31), dt.date(2022, 1, 1), dt.date(2022, 3, 31), dt.date(2023, 1, 1),
             dt.date(2023, 12, 31)]
    return st.one_of(st.sampled_from(edges), st.dates(FIRST_DAY, LAST_DAY))


def instant(day: dt.date, minute: int, offset: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(minute // 60, minute % 60), OFFSETS[offset])


def instants() -> st.SearchStrategy[dt.datetime]:
    """Instants with an offset among +08:00, Z and -05:00, often near a local midnight."""
    minutes = st.one_of(st.sampled_from([0, 15, 8 * 60, 16 * 60 - 1, 16 * 60, 23 * 60 + 59]), st.integers(0, 1439))
    return st.builds(instant, days(), minutes, st.sampled_from(sorted(OFFSETS)))


def shown(value: Any) -> Any:
    """A drawn value as JSON would hold it (dates and instants as ISO text)."""
    if isinstance(value, dt.datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [shown(v) for v in value]
    if isinstance(value, dict):
        return {k: shown(v) for k, v in value.items()}
    return value


def scalar(draw: st.DrawFn, f: Field, schema: Schema) -> Any:
    """A valid value of one item of ``f``'s type."""
    if f.type in schema.enums:
        return draw(st.sampled_from(schema.enums[f.type]))
    if f.type == "text":
        return draw(st.sampled_from(["x", "", "甲", "a b", "X-1"]))
    if f.type == "bool":
        return draw(st.booleans())
    if f.type == "date":
        return draw(days())
    if f.type == "datetime":
        return draw(instants())
    low = f.minimum if f.minimum is not None else -10
    high = f.maximum if f.maximum is not None else max(low, 0) + 100
    if f.type == "int":
        return draw(st.one_of(st.sampled_from(sorted({low, high, min(max(low, 0), high)})), st.integers(low, high)))
    cents = draw(st.integers(low * 100, high * 100))
    number = draw(st.sampled_from(["text", "int", "float"]))
    if number == "text":
        return f"{cents // 100}.{cents % 100:02d}" if cents >= 0 else f"-{-cents // 100}.{-cents % 100:02d}"
    if number == "int" or cents % 100 == 0:
        return cents // 100 if cents % 100 == 0 else cents / 100
    return cents / 100


def value(draw: st.DrawFn, f: Field, schema: Schema) -> Any:
    """A valid value of ``f``: null, or one value, a list or a set of its type."""
    if draw(st.integers(0, 5)) == 0:
        return None
    if f.kind == "simple" and f.type in {r.name for r in schema.items}:
        return draw(fill(schema.record(f.type), schema))
    if f.kind == "simple":
        return scalar(draw, f, schema)
    if f.type in {r.name for r in schema.items}:
        return [draw(fill(schema.record(f.type), schema)) for _ in range(draw(st.integers(0, 3)))]
    if f.kind == "set":
        return draw(st.lists(st.sampled_from(schema.enums[f.type]), max_size=3, unique=True))
    return [scalar(draw, f, schema) for _ in range(draw(st.integers(0, 3)))]


def ordered(record: Record, values: dict[str, Any]) -> None:
    """Move dates so that every `>= other` order holds (a value equal to the other satisfies any cycle)."""
    for _ in range(2 * len(record.fields) + 2):
        moved = False
        for f in record.fields:
            mine, other = values.get(f.name), values.get(f.not_before or "")
            if isinstance(mine, dt.date) and isinstance(other, dt.date) and mine < other:
                values[f.name] = other
                moved = True
        if not moved:
            return
    raise AssertionError(f"the date orders of {record.name} do not settle: {values}")


@st.composite
def fill(draw: st.DrawFn, record: Record, schema: Schema) -> dict[str, Any]:
    """A valid record: each field absent, null or a value; then the date orders hold."""
    values: dict[str, Any] = {}
    for f in record.fields:
        if f.name == "id":
            continue
        if f.name == record.dated:  # an item's own date is mostly there (else the rules mostly say unknown)
            if draw(st.integers(0, 9)) > 0:
                values[f.name] = scalar(draw, f, schema)
        elif draw(st.integers(0, 3)) > 0:
            values[f.name] = value(draw, f, schema)
    # a later date of an order is often a little after the earlier one rather than equal to it
    for f in record.fields:
        mine, other = values.get(f.name), values.get(f.not_before or "")
        if isinstance(mine, dt.date) and isinstance(other, dt.date) and mine < other:
            values[f.name] = other + dt.timedelta(days=draw(st.sampled_from([0, 1, 30, 400])))
    ordered(record, values)
    return values


INVALID: dict[str, list[Any]] = {
    "text": [5, ["a"], True],
    "int": ["5", 1.5, True],
    "decimal": ["five", "1,5", [1]],
    "bool": ["true", 1, "yes"],
    "date": ["2020-02-30", 20200101, "yesterday", "", "2021-13-01"],
    "datetime": ["2021-08-09T10:20:00", "noon", 5, "2021-02-30T10:00:00+08:00"],
}


def bad_value(draw: st.DrawFn, f: Field, schema: Schema) -> Any:
    """A value ``f`` does not accept: of another type, a code not in its enum, out of its bounds."""
    if f.type in {r.name for r in schema.items}:
        if f.kind == "simple":
            return draw(st.sampled_from([[{"when": "2021-01-01"}], "item", 3]))
        return draw(st.sampled_from([{"when": "2021-01-01"}, "items", 3]))
    if f.type in schema.enums:
        one: Any = "not_a_code"
    else:
        options = list(INVALID[f.type])
        if f.minimum is not None:
            options.append(f.minimum - 1)
            if f.type == "decimal":
                options.append(str(decimal.Decimal(f.minimum) - decimal.Decimal("0.01")))
        if f.maximum is not None:
            options += [f.maximum + 1]
        one = draw(st.sampled_from(options))
    if f.kind == "simple":
        return one
    return draw(st.sampled_from([[one], "not a list"]))


@st.composite
def spoiled(draw: st.DrawFn, record: dict[str, Any], schema: Schema) -> tuple[dict[str, Any], str]:
    """``record`` with one deliberately invalid value, and what it is."""
    out = dict(record)
    subject = schema.subject
    if draw(st.integers(0, 9)) == 0:  # the key: required, a text, not blank
        key = draw(st.sampled_from(["", "  ", 5, None, "absent"]))
        if key == "absent":
            del out["id"]
        else:
            out["id"] = key
        return out, f"id {key!r}"
    choices: list[tuple[Record, Field]] = [(subject, f) for f in subject.fields if f.name != "id"]
    choices += [(r, f) for r in schema.items for f in r.fields]
    r, f = draw(st.sampled_from(choices))
    if f.kind == "simple" and f.not_before is not None and draw(st.booleans()):
        if f.type == "date":
            base: Any = draw(days())
            bad = base - dt.timedelta(days=draw(st.integers(1, 400)))
        else:  # an instant a minute or more earlier, perhaps written with another offset
            base = draw(instants())
            earlier = base - dt.timedelta(minutes=draw(st.sampled_from([1, 60, 24 * 60, 10_000])))
            bad = earlier.astimezone(OFFSETS[draw(st.sampled_from(sorted(OFFSETS)))])
        here: dict[str, Any] = {f.not_before: base, f.name: bad}
        what = f"{f.name} before {f.not_before}"
    else:
        bad = bad_value(draw, f, schema)
        here = {f.name: bad}
        what = f"{f.name} = {bad!r}"
    if r is subject:
        out.update(here)
        return out, what
    holder = next(g for g in subject.fields if g.type == r.name)
    item = dict(draw(fill(r, schema)))
    item.update(here)
    if holder.kind == "simple":
        out[holder.name] = item
        return out, f"{holder.name}.{what}"
    items = list(out.get(holder.name) or [])
    items.insert(draw(st.integers(0, len(items))), item)
    out[holder.name] = items
    return out, f"{holder.name}[]: {what}"


Population = list[tuple[dict[str, Any], str | None]]
"""Records, each with what is deliberately wrong with it (None: nothing)."""


@st.composite
def population(draw: st.DrawFn, schema: Schema, invalid: bool) -> Population:
    """One to four records (ids r0, r1, …); with ``invalid``, some have one invalid value."""
    out: Population = []
    for i in range(draw(st.integers(1, 4))):
        record = {"id": f"r{i}", **draw(fill(schema.subject, schema))}
        if draw(st.integers(0, 5)) == 0:  # a field the schema does not declare: kept, ignored, warned about
            record["remark"] = draw(st.sampled_from(["x", 1, None, [1, "a"], {"b": True}]))
        what = None
        if invalid and draw(st.integers(0, 3)) == 0:
            record, what = draw(spoiled(record, schema))
        out.append((shown(record), what))
    return out


def as_of_days() -> st.SearchStrategy[list[dt.date]]:
    edges = [dt.date(2019, 1, 1), dt.date(2020, 12, 31), dt.date(2021, 12, 31), dt.date(2022, 6, 30),
             dt.date(2024, 12, 31)]
    return st.lists(st.one_of(st.sampled_from(edges), st.dates(dt.date(2019, 1, 1), dt.date(2024, 12, 31))),
                    min_size=1, max_size=3)


# ------------------------------------------------------------------ the properties

def current_language(text: str) -> str:
    """The text in the current revision of the language, as `safetyrules fmt` writes it: the templates are
    written in the shorter earlier forms (`source "s" "q"`, `met`, bare `last`/`first`, deadlines without the
    param the engine reads, which depends on the drawn subject), and the formatter's rewrite is itself held to
    lowering to the same program (tests/syntax/test_revision.py)."""
    parsed = parse(text, "random.policy")
    assert parsed.ok, text
    established = any(isinstance(d, ast.RecordDecl) and d.kind == "subject"
                      and any(f.name == ESTABLISHED_FIELD for f in d.fields) for d in parsed.module.decls)
    return format_module(parsed.module, established)


def load(text: str) -> Policy:
    text = current_language(text)
    policy = load_policy_text(text)  # PolicyError here: the generator or the checker is wrong
    assert [str(w) for w in policy.warnings] == [], text
    return policy


def evaluates_or_refuses(drawn: Drawn, records: Population, as_of: list[dt.date]) -> None:
    policy = load(drawn.text)
    for record, what in records:
        for day in as_of:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UnknownFieldWarning)
                    result = policy.evaluate(record, day)
            except FactError:
                assert what is not None, f"a valid record was refused:\n{drawn.text}\n{record}"
                continue
            assert what is None, f"a record with {what} was accepted:\n{drawn.text}\n{record}"
            assert len(result.results) == len(policy.checked.rules)
            for r in result.results:
                r.to_json()


def differences(text: str, records: list[dict[str, Any]], as_of: list[dt.date]) -> Iterator[str]:
    """Every (day, record, rule, field) where the columnar engine differs from the reference engine."""
    policy = load(text)
    valid = []
    for raw in records:
        check = validate_record(raw, model=policy.contract.model)
        assert check.model is not None, (raw, check.errors)
        valid.append(check.model.model_dump(exclude_unset=True))
    program = compile_policy(policy.program, ParamTable(policy.program))
    tables = FactTables.from_records(valid, layout_for(policy.contract))
    for day in as_of:
        frame = program.run(tables, day)
        got = {(row["enterprise"], row["rule"]): row for row in frame.to_dicts()}
        expected = 0
        for record in valid:
            for r in policy.evaluate_record(record, day).results:
                expected += 1
                row = got.get((r.enterprise, r.rule))
                if row is None:
                    yield f"{day} {r.enterprise} {r.rule}: no columnar row"
                    continue
                yield from row_problems(r, row, f"{day} ")
        if frame.height != expected:
            yield f"{day}: {frame.height} columnar rows, {expected} expected"


def engines_agree(drawn: Drawn, records: Population, as_of: list[dt.date]) -> None:
    problems = list(differences(drawn.text, [r for r, _ in records], as_of))
    assert problems == [], "\n".join([drawn.text, *map(repr, (r for r, _ in records)), *problems])


Case = tuple[Drawn, Population, list[dt.date]]


@st.composite
def cases(draw: st.DrawFn, invalid: bool) -> Case:
    """A policy, records of its schema and one to three as-of days."""
    drawn = draw(policies())
    return drawn, draw(population(drawn.schema, invalid)), draw(as_of_days())


@QUICK
@given(drawn=policies())
def test_drawn_policies_check_clean(drawn: Drawn) -> None:
    load(drawn.text)


@QUICK
@given(case=cases(invalid=True))
def test_evaluate_returns_or_refuses_the_record(case: Case) -> None:
    evaluates_or_refuses(*case)


@QUICK
@given(case=cases(invalid=False))
def test_the_engines_agree_on_valid_records(case: Case) -> None:
    engines_agree(*case)


@pytest.mark.slow
@LONG
@given(case=cases(invalid=True))
def test_evaluate_returns_or_refuses_the_record_long_run(case: Case) -> None:
    evaluates_or_refuses(*case)


@pytest.mark.slow
@LONG
@given(case=cases(invalid=False))
def test_the_engines_agree_on_valid_records_long_run(case: Case) -> None:
    engines_agree(*case)


# ------------------------------------------------------------------ known product bugs, found by the properties

def _policy_text(fields: str, require: str = "id is not null", due: str = "due continuous") -> str:
    return f"""policy p {{
  title zh "测" en "t"
}}

subject unit {{
  key id
  timezone "+08:00"
  field id: text
{fields}
}}

obligation r {{
  implements "1"
  title zh "规则" en "rule"
  source "第1条" "条文"
  require {require}
  {due}
}}
"""


def _policy(fields: str) -> Policy:
    return load(_policy_text(fields))


def test_a_list_of_instants_loads() -> None:
    policy = _policy("  field drills: list<datetime> dated")
    check = validate_record({"id": "A", "drills": ["2021-03-04T10:00:00+08:00", "2021-03-04T20:00:00Z"]},
                            model=policy.contract.model)
    assert check.errors == [] and check.model is not None
    drills = check.model.model_dump()["drills"]  # in the subject's local time, +08:00 by default
    assert [d.isoformat() for d in drills] == ["2021-03-04T10:00:00+08:00", "2021-03-05T04:00:00+08:00"]
    bad = validate_record({"id": "A", "drills": ["2021-03-04T10:00:00+08:00", "soon"]}, model=policy.contract.model)
    assert [e.path for e in bad.errors] == ["drills[1]"]


@pytest.mark.parametrize(("typ", "items"), [("int", ["5"]), ("int", [True]), ("bool", ["yes"]), ("bool", [1])])
def test_list_items_are_strict(typ: str, items: list[Any]) -> None:
    policy = _policy(f"  field values: list<{typ}>")
    assert validate_record({"id": "A", "values": items}, model=policy.contract.model).model is None


def test_established_on_as_an_event() -> None:
    text = _policy_text("  field established_on: date\n  field flag: bool", "flag is not null", "due by 2020-06-30")
    assert list(differences(text, [{"id": "A", "established_on": "2021-06-30"}], [dt.date(2019, 1, 1)])) == []


def test_order_on_a_later_field() -> None:
    policy = _policy("  field b: date >= a\n  field a: date")
    assert validate_record({"id": "A", "a": "2019-01-01", "b": "2018-12-31"}, model=policy.contract.model).model is None
