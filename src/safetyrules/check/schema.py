"""Check a policy's fact schema declarations (`enum`, `record`, `subject`) and build its :class:`FactSchema`.

Every mistake is a positioned diagnostic, like a rule's: an unknown type (with did-you-mean), a duplicate
name, code or field, a `key` or `dated` naming no suitable field, an option that does not fit its field's
type, a record that contains itself, a schema without exactly one `subject`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from safetyrules.diagnostics import DiagnosticSink, Related, Span
from safetyrules.facts.schema import (
    DATE_SCALARS,
    NUMBER_SCALARS,
    SCALARS,
    EnumSpec,
    FactSchema,
    FieldSpec,
    Label,
    RecordSpec,
)
from safetyrules.syntax import ast

from .common import single_items, suggest

_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")


def _label(item: ast.Label | None) -> Label | None:
    return None if item is None else Label(item.text.zh, item.text.en)


def _enum(decl: ast.EnumDecl, sink: DiagnosticSink) -> EnumSpec:
    single_items(decl.items, decl.name, {ast.Label: "label"}, sink)
    codes: dict[str, Label] = {}
    spans: dict[str, Span] = {}
    for code in decl.codes:
        if len(code.code) > 1 and code.code.startswith("_") and code.code.endswith("_"):
            sink.error("reserved-name", f"the code `{code.code}` is reserved: a code may not start and end with "
                       "`_` (the enumeration's own names)", code.span, suggestion=f"call it `{code.code.strip('_')}`"
                       if code.code.strip("_") else None)
            continue
        if code.code in codes:
            sink.error("duplicate-code", f"enum `{decl.name}` has the code `{code.code}` twice", code.span,
                       related=(Related(spans[code.code], "first here"),))
            continue
        codes[code.code], spans[code.code] = Label(code.label.zh, code.label.en), code.span
    if not codes:
        sink.error("empty-enum", f"enum `{decl.name}` has no `code`", decl.name_span,
                   suggestion='add `code my_code zh "…" en "…"`')
    return EnumSpec(decl.name, codes, _label(decl.label), decl.doc)


def _timezone(item: ast.RecordTimezone, sink: DiagnosticSink) -> dt.timezone | None:
    m = _OFFSET.fullmatch(item.offset)
    if m is None or int(m.group(2)) > 14 or int(m.group(3)) > 59:
        sink.error("bad-timezone", f"`{item.offset}` is not a UTC offset", item.span,
                   suggestion='write the offset as "+08:00"')
        return None
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    return dt.timezone(dt.timedelta(minutes=-minutes if m.group(1) == "-" else minutes))


class _SchemaChecker:
    def __init__(self, decls: list[ast.EnumDecl | ast.RecordDecl], sink: DiagnosticSink) -> None:
        self.decls = decls
        self.sink = sink
        self.enums: dict[str, EnumSpec] = {}
        self.records: dict[str, ast.RecordDecl] = {}

    def run(self) -> FactSchema | None:
        seen: dict[str, Span] = {}
        for d in self.decls:
            if d.name in SCALARS:
                self.sink.error("duplicate-name", f"`{d.name}` is a builtin type", d.name_span)
                continue
            if d.name in seen:
                self.sink.error("duplicate-name", f"`{d.name}` is declared twice", d.name_span,
                                related=(Related(seen[d.name], "first declared here"),))
                continue
            seen[d.name] = d.name_span
            if isinstance(d, ast.EnumDecl):
                self.enums[d.name] = _enum(d, self.sink)
            else:
                self.records[d.name] = d
        subjects = [r for r in self.records.values() if r.kind == "subject"]
        for extra in subjects[1:]:
            self.sink.error("duplicate-subject", "a second `subject`; a schema has exactly one", extra.name_span,
                            related=(Related(subjects[0].name_span, "the first subject"),))
        if not subjects:
            first = self.decls[0]
            self.sink.error("missing-subject", "the schema declares no `subject`: the record every evaluation "
                            "is about", first.name_span,
                            suggestion="declare it as `subject enterprise { key id  field id: text … }`")
        records = {name: self._record(decl) for name, decl in self.records.items()}
        self._cycles()
        references: dict[str, list[tuple[str, str]]] = {}
        for record in records.values():
            for f in record.fields.values():
                references.setdefault(f.type, []).append((record.name, f.name))
        for d in self.decls:
            declared_type = d.name in self.enums or (d.name in records and not records[d.name].subject)
            if declared_type and d.name not in references:
                self.sink.warning("unused", f"`{d.name}` is declared but no field has this type", d.name_span)
        if not subjects:
            return None
        return FactSchema(self.enums, records, subjects[0].name, references)

    def _type(self, f: ast.FieldDecl) -> str | None:
        name, known = f.type.name, [*SCALARS, *self.enums, *self.records]
        if name not in known:
            self.sink.error("unknown-type", f"unknown type `{name}` for field `{f.name}`", f.type.span,
                            suggestion=suggest(name, known))
            return None
        if f.type.kind == "set" and name not in self.enums:
            self.sink.error("bad-set", f"`set<{name}>`: a set holds codes of an enum", f.type.span,
                            suggestion=f"use `list<{name}>`" if name in self.records else None)
            return None
        return name

    def _record(self, decl: ast.RecordDecl) -> RecordSpec:
        single_items(decl.items, decl.name, {ast.Label: "label", ast.RecordKey: "key",
                                             ast.RecordTimezone: "timezone", ast.RecordDated: "dated"}, self.sink)
        fields: dict[str, FieldSpec] = {}
        spans: dict[str, Span] = {}
        for f in decl.fields:
            if f.name.startswith(("_", "model_")):
                self.sink.error("reserved-name", f"the field name `{f.name}` is reserved: names starting with `_` or "
                                "`model_` belong to the fact models themselves", f.name_span,
                                suggestion=f"call it `{f.name.lstrip('_').removeprefix('model_') or 'value'}`")
                continue
            if f.name in fields or f.name in spans:
                self.sink.error("duplicate-field", f"`{decl.name}` has the field `{f.name}` twice", f.name_span,
                                related=(Related(spans[f.name], "first here"),))
                continue
            spans[f.name] = f.name_span
            typ = self._type(f)
            if typ is not None:
                fields[f.name] = self._field(decl, f, typ)
        key = decl.first(ast.RecordKey)
        timezone = decl.first(ast.RecordTimezone)
        dated = decl.first(ast.RecordDated)
        if decl.kind == "subject":
            if key is None:
                self.sink.error("missing-key", f"the subject `{decl.name}` needs a `key`: the field that "
                                "identifies a record", decl.name_span, suggestion="add `key id`")
        else:
            for item, word in ((key, "key"), (timezone, "timezone")):
                if item is not None:
                    self.sink.error("misplaced-item", f"`{word}` belongs to the `subject`, not to a record",
                                    item.span)
        if key is None or decl.kind != "subject":
            pass  # no key, or one already reported as misplaced
        elif key.name in spans and key.name in fields:
            if (fields[key.name].kind, fields[key.name].type) != ("simple", "text"):
                self.sink.error("bad-key", f"the key `{key.name}` must be a `text` field", key.span)
        elif key.name not in spans:
            self.sink.error("unknown-field", f"`key {key.name}`: `{decl.name}` has no field `{key.name}`",
                            key.span, suggestion=suggest(key.name, spans))
        if dated is not None:
            target = fields.get(dated.name)
            if dated.name not in spans:
                self.sink.error("unknown-field", f"`dated {dated.name}`: `{decl.name}` has no field "
                                f"`{dated.name}`", dated.span, suggestion=suggest(dated.name, spans))
            elif target is not None and (target.kind != "simple" or target.type not in (*DATE_SCALARS, "int")):
                self.sink.error("bad-dated", f"`dated {dated.name}`: the record's own date must be a `date`, a "
                                "`datetime`, or an `int` year", dated.span)
            if decl.kind == "subject":
                self.sink.error("misplaced-item", "`dated` belongs to a record held in a list or an object, not "
                                "to the subject", dated.span)
        return RecordSpec(
            decl.name, fields, decl.kind == "subject", _label(decl.first(ast.Label)), decl.doc,
            key.name if key is not None else None,
            _timezone(timezone, self.sink) if timezone is not None else None,
            dated.name if dated is not None else None,
        )

    def _field(self, record: ast.RecordDecl, f: ast.FieldDecl, typ: str) -> FieldSpec:
        single_items(f.options, f.name, {ast.Label: "label"}, self.sink)
        scalar = typ if typ in SCALARS else None
        kept = dated = False
        minimum: int | None = None
        maximum: int | None = None
        not_before: str | None = None
        for option in f.options:
            match option:
                case ast.FieldKept():
                    if f.type.kind != "simple" or scalar not in DATE_SCALARS:
                        self.sink.error("bad-option", "`kept` marks a date that is not an event; "
                                        f"`{f.name}` is not a date", option.span)
                    kept = True
                case ast.FieldDated():
                    if f.type.kind != "list" or scalar not in DATE_SCALARS:
                        self.sink.error("bad-option", "`dated` marks a `list<date>` whose dates are its items' "
                                        f"own; `{f.name}` is not one", option.span,
                                        suggestion="for a list of records write `dated FIELD` in the record")
                    dated = True
                case ast.FieldMin(value=v):
                    if f.type.kind != "simple" or scalar not in NUMBER_SCALARS:
                        self.sink.error("bad-option", f"`>= {v}` bounds a number; `{f.name}` is not one",
                                        option.span)
                    minimum = v
                case ast.FieldMax(value=v):
                    if f.type.kind != "simple" or scalar not in NUMBER_SCALARS:
                        self.sink.error("bad-option", f"`<= {v}` bounds a number; `{f.name}` is not one",
                                        option.span)
                    maximum = v
                case ast.FieldNotBefore(other=other):
                    others = {g.name: g for g in record.fields}
                    if f.type.kind != "simple" or scalar not in DATE_SCALARS:
                        self.sink.error("bad-option", f"`>= {other}` orders dates; `{f.name}` is not a date",
                                        option.span)
                    elif other not in others:
                        self.sink.error("unknown-field", f"`>= {other}`: `{record.name}` has no field `{other}`",
                                        option.span, suggestion=suggest(other, others))
                    elif others[other].type != ast.FieldType("simple", scalar):
                        self.sink.error("bad-option", f"`>= {other}`: `{other}` is not a `{scalar}`",
                                        option.span)
                    elif other == f.name:
                        self.sink.error("bad-option", f"`>= {other}` orders `{f.name}` after itself", option.span,
                                        suggestion="name the earlier date of the same record")
                    not_before = other
        kind: Literal["simple", "list", "set"] = "list" if f.type.kind == "list" else (
            "set" if f.type.kind == "set" else "simple")
        return FieldSpec(f.name, kind, typ, _label(f.first(ast.Label)), f.doc, kept, dated, minimum,
                         maximum, not_before)

    def _cycles(self) -> None:
        """A record may not contain itself, directly or through others: every fact record is finite."""
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        for start in self.records:
            if state.get(start):
                continue
            stack: list[tuple[str, list[str]]] = [(start, [f.type.name for f in self.records[start].fields])]
            state[start] = 1
            while stack:
                name, todo = stack[-1]
                if not todo:
                    state[name] = 2
                    stack.pop()
                    continue
                child = todo.pop()
                if child not in self.records:
                    continue
                if state.get(child) == 1:
                    decl = self.records[child]
                    names = [n for n, _ in stack]
                    path = " → ".join([*names[names.index(child):], child])
                    self.sink.error("recursive-record", f"`{child}` contains itself ({path}): a fact record "
                                    "must be finite", decl.name_span)
                    state[child] = 2
                elif not state.get(child):
                    state[child] = 1
                    stack.append((child, [f.type.name for f in self.records[child].fields]))


def check_schema(decls: list[ast.EnumDecl | ast.RecordDecl], sink: DiagnosticSink) -> FactSchema | None:
    """The schema the declarations describe, or ``None`` when there are none or they have errors (reported)."""
    if not decls:
        return None
    before = sum(d.is_error for d in sink.items)
    schema = _SchemaChecker(decls, sink).run()
    return schema if sum(d.is_error for d in sink.items) == before else None
