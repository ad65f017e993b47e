"""What the language server knows of a policy, without any LSP library.

`analyse` compiles the policy a file belongs to — every `.policy` file of its folder, the editor's unsaved
texts in place of the files on disk — with the pipeline (`check.pipeline.compile_sources`: the same parser,
checker and diagnostics as `safetyrules check`), and indexes the result: each *occurrence* of a param, a
definition, a rule, a field of the fact schema, an enumeration, a code, a record or a catalogue id, with the
exact span of its name and whether it is the declaration. Hover, go to definition, references, completion,
document symbols and the did-you-mean fixes are answered from that index. Positions are 1-based lines and
columns counted in characters, as `Span`s are; the server converts them to the client's units.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from safetyrules.check.checker import FUNCTIONS
from safetyrules.check.pipeline import POLICY_SUFFIX, Compilation, compile_sources, read_policy_file
from safetyrules.check.schema import check_schema
from safetyrules.check.types import (
    EnumType,
    LangType,
    ListType,
    RecordType,
    SetType,
    record_fields,
    snake,
    type_from_name,
    type_of,
)
from safetyrules.diagnostics import Diagnostic, DiagnosticSink, Span
from safetyrules.facts.contract import FactContract, builtin_contract, contract_for
from safetyrules.facts.schema import FactSchema
from safetyrules.limits import DEFAULT, Limits
from safetyrules.syntax import ast
from safetyrules.syntax.formatter import field_option_text, field_type_text, format_expr
from safetyrules.syntax.parser import DEPRECATED_KEYWORDS, UNITS, all_keywords
from safetyrules.syntax.walk import children, nodes

# ------------------------------------------------------------------------------------------ compiling


def policy_files_for(path: Path, open_files: Mapping[Path, str] = {}) -> list[Path]:
    """The files of the policy `path` belongs to: the `.policy` files of its folder (and any open in the editor
    there that are not saved yet), `path` itself included."""
    folder = path.parent
    on_disk = {p for p in folder.glob(f"*{POLICY_SUFFIX}") if p.is_file()} if folder.is_dir() else set()
    opened = {p for p in open_files if p.parent == folder and p.suffix == POLICY_SUFFIX}
    return sorted(on_disk | opened | {path})


def analyse(path: Path, open_files: Mapping[Path, str] = {}, limits: Limits = DEFAULT) -> Analysis:
    """The policy of the file at `path` compiled with the editor's texts (`open_files`: path → text) in place of
    what is on disk, and indexed. Files are named by their absolute paths in spans and diagnostics."""
    sources: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for f in policy_files_for(path, open_files):
        if f in open_files:
            sources[str(f)] = open_files[f]
            continue
        text, problem = read_policy_file(f, str(f), limits)
        if problem is not None:
            problems.append(problem)
        else:
            sources[str(f)] = text
    return Analysis(compile_sources(sources, problems, limits=limits))


# ------------------------------------------------------------------------------------------ the index


@dataclass(frozen=True, slots=True)
class Occurrence:
    """A name in the text: `key` names the thing (`param:x`, `define:x`, `rule:x`, `field:record.name`,
    `record:x`, `enum:x`, `code:enum.code`, `id:3.1-a`); `span` covers the name's characters exactly."""

    key: str
    span: Span
    definition: bool = False


@dataclass(slots=True)
class Symbol:
    """A declaration of a file, for the outline (document symbols)."""

    name: str
    kind: str  # policy | param | define | obligation | trigger | enum | record | subject | field | code
    detail: str
    span: Span
    selection: Span
    children: list[Symbol] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Completion:
    label: str
    kind: str  # field | variable | param | define | rule | code | keyword | function | unit
    detail: str = ""
    documentation: str = ""


@dataclass(frozen=True, slots=True)
class Fix:
    """A did-you-mean as an edit: replace `span` with `text`."""

    span: Span
    text: str
    title: str


_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


class Analysis:
    """A compiled policy and the index of its names (see the module doc)."""

    def __init__(self, compilation: Compilation) -> None:
        self.compilation = compilation
        self.sources = compilation.sources
        self.diagnostics = compilation.diagnostics
        self._line_starts = {name: [0] + [m.end() for m in re.finditer("\n", text)]
                             for name, text in self.sources.items()}
        self.header: ast.PolicyDecl | None = None
        self.params: dict[str, ast.ParamDecl] = {}
        self.defines: dict[str, ast.DefineDecl] = {}
        self.rules: dict[str, ast.RuleDecl] = {}
        self.enums: dict[str, ast.EnumDecl] = {}
        self.records: dict[str, ast.RecordDecl] = {}
        for decl in self.decls():
            match decl:
                case ast.PolicyDecl():
                    self.header = self.header or decl
                case ast.ParamDecl():
                    self.params.setdefault(decl.name, decl)
                case ast.DefineDecl():
                    self.defines.setdefault(decl.name, decl)
                case ast.RuleDecl():
                    self.rules.setdefault(decl.name, decl)
                case ast.EnumDecl():
                    self.enums.setdefault(decl.name, decl)
                case ast.RecordDecl():
                    self.records.setdefault(decl.name, decl)
        self.schema, self.contract = self._facts()
        self.subject = self.schema.subject if self.schema is not None else self.contract.subject
        self.record_of_model = self._record_names()
        self.occurrences: list[Occurrence] = []
        self.definitions: dict[str, Occurrence] = {}
        for decl in self.decls():
            self._index_decl(decl)
        self._by_file: dict[str, list[Occurrence]] = {}
        for occ in self.occurrences:
            self._by_file.setdefault(occ.span.file, []).append(occ)

    # ---------------------------------------------------------------- building
    def decls(self) -> Iterator[ast.Decl]:
        for module in self.compilation.modules:
            yield from module.decls

    def _facts(self) -> tuple[FactSchema | None, FactContract]:
        policy = self.compilation.policy
        if policy is not None:
            return policy.schema, policy.contract
        decls = [d for d in self.decls() if isinstance(d, ast.EnumDecl | ast.RecordDecl)]
        schema = check_schema(decls, DiagnosticSink()) if decls else None  # its mistakes are already reported
        return schema, contract_for(schema) if schema is not None else builtin_contract()

    def _record_names(self) -> dict[type[BaseModel], str]:
        """Each record model reachable from the subject's, by its name in the policy (the built-in 附件4 models
        stand for the declared records when a policy declares exactly the built-in contract)."""
        names: dict[type[BaseModel], str] = {}
        stack: list[tuple[type[BaseModel], str]] = [(self.contract.model, self.subject)]
        while stack:
            model, name = stack.pop()
            if model in names:
                continue
            names[model] = name
            spec = self.schema.records.get(name) if self.schema is not None else None
            for field_name, t in record_fields(model).items():
                while isinstance(t, ListType | SetType):
                    t = t.elem
                if isinstance(t, RecordType):
                    declared = spec.fields.get(field_name) if spec is not None else None
                    stack.append((t.model, declared.type if declared is not None else snake(t.model.__name__)))
        return names

    def _add(self, key: str, span: Span | None, definition: bool = False) -> None:
        if span is None or span.line < 1:
            return
        occ = Occurrence(key, span, definition)
        self.occurrences.append(occ)
        if definition:
            self.definitions.setdefault(key, occ)

    def _offset(self, file: str, line: int, column: int) -> int:
        starts = self._line_starts.get(file, [0])
        return starts[min(max(line, 1), len(starts)) - 1] + column - 1

    def _span_at(self, file: str, start: int, end: int) -> Span:
        starts = self._line_starts[file]
        line = bisect.bisect_right(starts, start)
        end_line = bisect.bisect_right(starts, end)
        return Span(file, line, start - starts[line - 1] + 1, end_line, end - starts[end_line - 1] + 1)

    def span_text(self, span: Span) -> str:
        text = self.sources.get(span.file, "")
        return text[self._offset(span.file, span.line, span.column):
                    self._offset(span.file, span.end_line, span.end_column)]

    def _find(self, span: Span, word: str, quoted: bool = False, last: bool = False) -> Span | None:
        """The span of `word` (a whole word; with `quoted`, the text inside `"word"`) within `span`."""
        if span.file not in self.sources:
            return None
        start = self._offset(span.file, span.line, span.column)
        text = self.span_text(span)
        pattern = f'"({re.escape(word)})"' if quoted else rf"(?<![A-Za-z0-9_])({re.escape(word)})(?![A-Za-z0-9_])"
        found = list(re.finditer(pattern, text))
        if not found:
            return None
        m = found[-1] if last else found[0]
        return self._span_at(span.file, start + m.start(1), start + m.end(1))

    def _name_span(self, span: Span, name: str) -> Span:
        """The span of a name that starts `span` (a `p at d`)."""
        return Span(span.file, span.line, span.column, span.line, span.column + len(name))

    def record_name(self, t: LangType | None) -> str | None:
        return self.record_of_model.get(t.model) if isinstance(t, RecordType) else None

    def _name_key(self, name: str, bound: frozenset[str]) -> str | None:
        if name in bound:
            return None
        if name in self.defines:
            return f"define:{name}"
        if name in self.params:
            return f"param:{name}"
        if name in self.rules:
            return f"rule:{name}"
        if name in record_fields(self.contract.model):
            return f"field:{self.subject}.{name}"
        return None

    def _type_key(self, name: str) -> str | None:
        if name in self.enums:
            return f"enum:{name}"
        if name in self.records:
            return f"record:{name}"
        return None

    def _index_expr(self, e: ast.Expr, bound: frozenset[str] = frozenset()) -> None:
        stack: list[tuple[ast.Expr, frozenset[str]]] = [(e, bound)]
        while stack:
            node, b = stack.pop()
            match node:
                case ast.Name(id=name):
                    key = self._name_key(name, b)
                    if key is not None:
                        self._add(key, node.span)
                case ast.ParamAt(param=p, at=at):
                    key = self._name_key(p, b)
                    if key is not None:
                        self._add(key, self._name_span(node.span, p))
                    stack.append((at, b))
                case ast.Field(target=target, name=name):
                    record = self.record_name(type_of(target))
                    if record is not None:
                        s = node.span
                        self._add(f"field:{record}.{name}",
                                  Span(s.file, s.end_line, s.end_column - len(name), s.end_line, s.end_column))
                    stack.append((target, b))
                case ast.Quantifier(var=v, collection=c, where=w, body=body):
                    stack.append((c, b))
                    stack.extend((x, b | {v}) for x in (w, body) if x is not None)
                case ast.OrderPick(var=v, collection=c, where=w, key=k):
                    stack.append((c, b))
                    stack.extend((x, b | {v}) for x in (w, k) if x is not None)
                case ast.StringLit(value=value):
                    t = type_of(node)
                    if isinstance(t, EnumType) and value in t.codes:
                        s = node.span
                        self._add(f"code:{t.name}.{value}", Span(s.file, s.line, s.column + 1, s.end_line,
                                                                  s.end_column - 1))
                case _:
                    stack.extend((child, b) for child in children(node))

    def _index_decl(self, decl: ast.Decl) -> None:
        match decl:
            case ast.PolicyDecl(items=header_items):
                for header_item in header_items:
                    if isinstance(header_item, ast.Catalogue):
                        for cid in header_item.ids:
                            self._add(f"id:{cid}", self._find(header_item.span, cid, quoted=True), definition=True)
            case ast.ParamDecl(name=name, type=typ, items=items):
                self._add(f"param:{name}", decl.name_span, definition=True)
                self._index_type(typ.name, typ.span)
                for item in items:
                    if isinstance(item, ast.ParamDefault | ast.ParamFrom):
                        self._index_expr(item.value)
            case ast.DefineDecl(name=name, type=typ, value=value):
                self._add(f"define:{name}", decl.name_span, definition=True)
                if typ is not None:
                    self._index_type(typ.name, typ.span)
                self._index_expr(value)
            case ast.RuleDecl():
                self._index_rule(decl)
            case ast.EnumDecl(name=name):
                self._add(f"enum:{name}", decl.name_span, definition=True)
                for code in decl.codes:
                    self._add(f"code:{name}.{code.code}", self._find(code.span, code.code), definition=True)
            case ast.RecordDecl(name=name, items=record_items):
                self._add(f"record:{name}", decl.name_span, definition=True)
                for record_item in record_items:
                    match record_item:
                        case ast.FieldDecl(name=field_name, type=ft, options=options):
                            self._add(f"field:{name}.{field_name}", record_item.name_span, definition=True)
                            self._index_type(ft.name, ft.span)
                            for option in options:
                                if isinstance(option, ast.FieldNotBefore):
                                    self._add(f"field:{name}.{option.other}", self._find(option.span, option.other))
                        case ast.RecordKey(name=key) | ast.RecordDated(name=key):
                            self._add(f"field:{name}.{key}", self._find(record_item.span, key, last=True))

    def _index_type(self, name: str, span: Span) -> None:
        key = self._type_key(name)
        if key is not None:
            self._add(key, self._find(span, name, last=True))

    def _index_rule(self, r: ast.RuleDecl) -> None:
        self._add(f"rule:{r.name}", r.name_span, definition=True)
        each = r.first(ast.Each)
        inner = frozenset({each.var}) if each is not None else frozenset()
        for item in r.items:
            match item:
                case ast.Implements(ids=ids):
                    for cid in ids:
                        self._add(f"id:{cid}", self._find(item.span, cid, quoted=True))
                case ast.Applies(cond=c):
                    self._index_expr(c)
                case ast.Unless(when=c):
                    self._index_expr(c)
                case ast.Each(collection=c, where=w):
                    self._index_expr(c)
                    if w is not None:
                        self._index_expr(w, inner)
                case ast.DueBy(deadline=d, met=m, reserved=g):
                    for x in (d, m, g):
                        if x is not None:
                            self._index_expr(x)
                case _:
                    for node in _item_exprs(item):
                        self._index_expr(node, inner)

    # ---------------------------------------------------------------- queries
    def at(self, file: str, line: int, column: int) -> Occurrence | None:
        """The occurrence under a position (a cursor just after a name counts as on it)."""
        best: Occurrence | None = None
        for occ in self._by_file.get(file, []):
            s = occ.span
            if (s.line, s.column) <= (line, column) <= (s.end_line, s.end_column) and (
                    best is None or _size(s) < _size(best.span)):
                best = occ
        return best

    def definition(self, key: str) -> Occurrence | None:
        return self.definitions.get(key)

    def references(self, key: str, include_declaration: bool = True) -> list[Occurrence]:
        found = [o for o in self.occurrences if o.key == key and (include_declaration or not o.definition)]
        return sorted(found, key=lambda o: (o.span.file, o.span.line, o.span.column))

    def symbols(self, file: str) -> list[Symbol]:
        out: list[Symbol] = []
        for module in self.compilation.modules:
            if module.file != file:
                continue
            for decl in module.decls:
                out.append(self._symbol(decl))
        return out

    def _symbol(self, decl: ast.Decl) -> Symbol:
        match decl:
            case ast.PolicyDecl():
                heading = next((i.text for i in decl.items if isinstance(i, ast.Title)), None)
                return Symbol(decl.name, "policy", heading.en if heading else "", decl.span, decl.name_span)
            case ast.ParamDecl():
                return Symbol(decl.name, "param", _type_text(decl.type), decl.span, decl.name_span)
            case ast.DefineDecl():
                return Symbol(decl.name, "define", _type_text(decl.type) if decl.type else "", decl.span,
                              decl.name_span)
            case ast.RuleDecl():
                title = decl.first(ast.Title)
                detail = ", ".join(decl.implements) + (f" — {title.text.en}" if title else "")
                return Symbol(decl.name, decl.kind, detail, decl.span, decl.name_span)
            case ast.EnumDecl():
                codes = [Symbol(c.code, "code", f"{c.label.zh} / {c.label.en}", c.span,
                                self._find(c.span, c.code) or c.span) for c in decl.codes]
                return Symbol(decl.name, "enum", _label_text(decl.label), decl.span, decl.name_span, codes)
            case ast.RecordDecl():
                label = decl.first(ast.Label)
                fields = [Symbol(f.name, "field", field_type_text(f.type), f.span, f.name_span)
                          for f in decl.fields]
                return Symbol(decl.name, decl.kind, _label_text(label), decl.span, decl.name_span, fields)
        raise TypeError(decl)  # pragma: no cover

    # ---------------------------------------------------------------- hover
    def hover(self, occ: Occurrence) -> str:
        kind, _, name = occ.key.partition(":")
        if kind == "param" and name in self.params:
            return self._hover_param(self.params[name])
        if kind == "define" and name in self.defines:
            return self._hover_define(self.defines[name])
        if kind == "rule" and name in self.rules:
            return self._hover_rule(self.rules[name])
        if kind == "field":
            return self._hover_field(*name.split(".", 1))
        if kind == "enum" and name in self.enums:
            e = self.enums[name]
            codes = "\n".join(f"- `{c.code}` {c.label.zh} / {c.label.en}" for c in e.codes)
            return _join(f"**enum** `{name}` — {_label_text(e.label)}", _doc(e.doc), codes)
        if kind == "record" and name in self.records:
            r = self.records[name]
            fields = "\n".join(f"- `{f.name}`: {field_type_text(f.type)} {_label_text(f.first(ast.Label))}"
                               for f in r.fields)
            return _join(f"**{r.kind}** `{name}` — {_label_text(r.first(ast.Label))}", _doc(r.doc), fields)
        if kind == "code":
            enum, _, code = name.partition(".")
            decl = self.enums.get(enum)
            found = next((c for c in decl.codes if c.code == code), None) if decl is not None else None
            label = f" — {found.label.zh} / {found.label.en}" if found is not None else ""
            return f"**code** `{code}` of `{enum}`{label}"
        if kind == "id":
            return self._hover_id(name)
        return f"`{name}`"

    def _hover_param(self, p: ast.ParamDecl) -> str:
        values = []
        for item in p.items:
            if isinstance(item, ast.ParamDefault):
                values.append(f"default `{format_expr(item.value)}`")
            elif isinstance(item, ast.ParamFrom):
                values.append(f"from {item.start.isoformat()}: `{format_expr(item.value)}`")
        label = next((i for i in p.items if isinstance(i, ast.Label)), None)
        return _join(f"**param** `{p.name}`: {_type_text(p.type)}", _label_text(label), _doc(p.doc),
                     "  \n".join(values),
                     _sources([i for i in p.items if isinstance(i, ast.Source)]))

    def _hover_define(self, d: ast.DefineDecl) -> str:
        t = _type_text(d.type) if d.type is not None else str(type_of(d.value) or "")
        return _join(f"**define** `{d.name}`" + (f": {t}" if t else ""), _doc(d.doc),
                     f"```safetyrules\n{format_expr(d.value)}\n```")

    def _hover_rule(self, r: ast.RuleDecl) -> str:
        title = r.first(ast.Title)
        head = f"**{r.kind}** `{r.name}` — implements {', '.join(r.implements) or 'nothing'}"
        titles = f"{title.text.zh}  \n{title.text.en}" if title else ""
        return _join(head, titles, _doc(r.doc), _sources(r.all(ast.Source)))

    def _hover_field(self, record: str, name: str) -> str:
        decl = self.records.get(record)
        f = next((x for x in decl.fields if x.name == name), None) if decl is not None else None
        if f is not None:
            options = [field_option_text(o) for o in f.options if not isinstance(o, ast.Label)]
            head = f"**field** `{record}.{name}`: {field_type_text(f.type)}"
            return _join(head + (f" ({', '.join(options)})" if options else ""),
                         _label_text(f.first(ast.Label)), _doc(f.doc))
        model = next((m for m, n in self.record_of_model.items() if n == record), None)
        t = record_fields(model).get(name) if model is not None else None
        info = model.model_fields.get(name) if model is not None else None
        return _join(f"**field** `{record}.{name}`" + (f": {t}" if t is not None else ""),
                     info.description or "" if info is not None else "")

    def _hover_id(self, cid: str) -> str:
        where = self.definitions.get(f"id:{cid}")
        place = f" (catalogue at {Path(where.span.file).name}:{where.span.line})" if where else \
            " (not in the catalogue)"
        lines = []
        for r in self.rules.values():
            if cid in r.implements:
                title = r.first(ast.Title)
                lines.append(f"- {r.kind} `{r.name}`" + (f": {title.text.zh} / {title.text.en}" if title else ""))
        return _join(f"**catalogue id** `{cid}`{place}", "\n".join(lines) or "implemented by no rule")

    # ---------------------------------------------------------------- completion
    def completions(self, file: str, line: int, column: int, line_text: str | None = None) -> list[Completion]:
        """What may be written at a position: after `x.`, the fields of x's record; in a string compared with
        an enumeration, its codes; in `violated(`/`triggered(`, the rules; after a number, the units; else the
        variables in scope, params, definitions, the subject's fields, functions and keywords. `line_text` is
        the line as the editor has it now (default: as analysed), when the analysis is of an earlier text."""
        if line_text is None:
            text = self.sources.get(file, "")
            starts = self._line_starts.get(file, [0])
            start = starts[line - 1] if 1 <= line <= len(starts) else len(text)
            line_text = text[start:].split("\n", 1)[0]
        before = line_text[:column - 1]
        if before.count('"') % 2 == 1:  # inside a string: an enumeration's codes
            return self._code_completions(before[:before.rfind('"')], file, line)
        dotted = re.search(rf"({_IDENT}(?:\s*\.\s*{_IDENT})*)\s*\.\s*({_IDENT})?$", before)
        if dotted:
            t = self.resolve(dotted.group(1), file, line, before[:dotted.start()])
            return self._field_completions(t)
        if re.search(r"\b(violated|triggered)\s*\(\s*\w*$", before):
            return [Completion(n, "rule", r.kind, _rule_title(r)) for n, r in self.rules.items()]
        if re.search(r"\b\d+\s+\w*$", before):
            return [Completion(u, "unit", "duration unit") for u in UNITS] + \
                [Completion(u + "s", "unit", "duration unit") for u in UNITS]
        return self._name_completions(file, line)

    def _field_completions(self, t: LangType | None) -> list[Completion]:
        if not isinstance(t, RecordType):
            return []
        record = self.record_name(t) or snake(t.model.__name__)
        decl = self.records.get(record)
        labels = {f.name: _label_text(f.first(ast.Label)) for f in decl.fields} if decl is not None else {}
        return [Completion(name, "field", str(ft), labels.get(name, ""))
                for name, ft in record_fields(t.model).items()]

    def _code_completions(self, before_quote: str, file: str, line: int) -> list[Completion]:
        chain = rf"(?<![A-Za-z0-9_.])({_IDENT}(?:\s*\.\s*{_IDENT})*)"
        m = re.search(chain + r"\s*(?:==|!=)\s*$", before_quote) or \
            re.search(chain + r"\s+(?:not\s+)?in\s*\{[^{}]*$", before_quote)
        t = self.resolve(m.group(1), file, line, before_quote[:m.start()]) if m else None
        decl = self._enclosing(file, line)
        if t is None and isinstance(decl, ast.ParamDecl):  # a param's default or dated value
            t = type_from_name(decl.type.name, decl.type.is_set, self.contract.model)
        while isinstance(t, SetType | ListType):
            t = t.elem
        wanted = [t.name] if isinstance(t, EnumType) else list(self.enums)
        out: list[Completion] = []
        for name in wanted:
            decl = self.enums.get(name)
            if decl is not None:
                out.extend(Completion(c.code, "code", name, f"{c.label.zh} / {c.label.en}") for c in decl.codes)
            elif isinstance(t, EnumType):
                out.extend(Completion(c, "code", name) for c in t.codes)
        return out

    def _name_completions(self, file: str, line: int) -> list[Completion]:
        out = [Completion(v, "variable", "bound here") for v in self._bound_at(file, line)]
        out += [Completion(n, "param", _type_text(p.type), _doc(p.doc)) for n, p in self.params.items()]
        out += [Completion(n, "define", _type_text(d.type) if d.type else "", _doc(d.doc))
                for n, d in self.defines.items()]
        subject = self.records.get(self.subject)
        labels = {f.name: _label_text(f.first(ast.Label)) for f in subject.fields} if subject is not None else {}
        out += [Completion(n, "field", str(t), labels.get(n, ""))
                for n, t in record_fields(self.contract.model).items()]
        out += [Completion(n, "function", doc) for n, doc in FUNCTIONS.items()]
        out += [Completion("as_of", "keyword", "the evaluation date")]
        out += [Completion(k, "keyword") for k in sorted(all_keywords() - DEPRECATED_KEYWORDS)]
        return out

    def _enclosing(self, file: str, line: int) -> ast.Decl | None:
        for module in self.compilation.modules:
            if module.file == file:
                for decl in module.decls:
                    if decl.span.line <= line <= decl.span.end_line:
                        return decl
        return None

    def _bindings(self, file: str, line: int) -> list[tuple[str, ast.Expr, Span]]:
        """The variables bound in the declaration around `line` (`each`, quantifiers): name, collection, where."""
        decl = self._enclosing(file, line)
        if decl is None:
            return []
        found: list[tuple[str, ast.Expr, Span]] = []
        for node in nodes(decl):
            if isinstance(node, ast.Each | ast.Quantifier | ast.OrderPick):
                found.append((node.var, node.collection, node.span))
        return sorted(found, key=lambda b: (b[2].line, b[2].column))

    def _bound_at(self, file: str, line: int) -> list[str]:
        return sorted({name for name, _, _ in self._bindings(file, line)})

    def resolve(self, chain: str, file: str, line: int, written: str = "") -> LangType | None:
        """The type of a dotted name (`h.plan`, `risk_communication`) written at `line`: a variable bound before
        it in the text `written` just before it (`all(h in hazards: h.…`, which may not parse yet) or in the
        declaration around it, a definition, a param or a field of the subject, then fields of records."""
        parts = [p.strip() for p in chain.split(".")]
        first = parts[0]
        t: LangType | None = None
        bound_here = list(re.finditer(rf"(?<![A-Za-z0-9_]){re.escape(first)}\s+in\s+({_IDENT}(?:\s*\.\s*{_IDENT})*)",
                                      written))
        binding = [c for name, c, s in self._bindings(file, line) if name == first and s.line <= line]
        if bound_here:
            m = bound_here[-1]
            t = self.resolve(m.group(1), file, line, written[:m.start()])
            t = t.elem if isinstance(t, ListType | SetType) else None
        elif binding:
            t = type_of(binding[-1])
            t = t.elem if isinstance(t, ListType | SetType) else None
        elif first in self.defines:
            d = self.defines[first]
            t = (type_from_name(d.type.name, d.type.is_set, self.contract.model) if d.type is not None
                 else type_of(d.value))
        elif first in self.params:
            ref = self.params[first].type
            t = type_from_name(ref.name, ref.is_set, self.contract.model)
        else:
            t = record_fields(self.contract.model).get(first)
        for part in parts[1:]:
            if not isinstance(t, RecordType):
                return None
            t = record_fields(t.model).get(part)
        return t

    # ---------------------------------------------------------------- did-you-mean fixes
    def fix(self, d: Diagnostic) -> Fix | None:
        """The edit a diagnostic's `did you mean `X`?` asks for: the misspelt word (named in the message, found
        inside the diagnostic's span) replaced by X."""
        return suggested_fix(d, self.span_text(d.span), self._span_start(d.span), self._span_at)

    def _span_start(self, span: Span) -> int:
        return self._offset(span.file, span.line, span.column)


_DID_YOU_MEAN = re.compile(r"did you mean `([^`]+)`\?")


def suggested_fix(d: Diagnostic, text: str, start: int, span_at: Callable[[str, int, int], Span]) -> Fix | None:
    """See `Analysis.fix`: `text` is the diagnostic span's text, which starts at offset `start` of its file."""
    m = _DID_YOU_MEAN.fullmatch(d.suggestion or "")
    if m is None:
        return None
    replacement = m.group(1)
    for a, b in re.findall(r"`([^`]+)`|\"([^\"]+)\"", d.message):
        word = a or b
        if word == replacement or not word.strip():
            continue
        found = list(re.finditer(rf"(?<![A-Za-z0-9_]){re.escape(word)}(?![A-Za-z0-9_])", text))
        if found:
            hit = found[-1]
            return Fix(span_at(d.span.file, start + hit.start(), start + hit.end()), replacement,
                       f"Replace `{word}` with `{replacement}`")
    if re.fullmatch(_IDENT, text):  # the message does not quote it, but the span is the one word to replace
        return Fix(d.span, replacement, f"Replace `{text}` with `{replacement}`")
    return None


# ------------------------------------------------------------------------------------------ text helpers


def _size(s: Span) -> tuple[int, int]:
    return (s.end_line - s.line, s.end_column - s.column)


def _item_exprs(item: object) -> list[ast.Expr]:
    """The expressions directly inside a rule item."""
    match item:
        case ast.Require(cond=c) | ast.Applies(cond=c) | ast.When(cond=c):
            return [c]
        case ast.DueEvery(period=p, last=last, first=f, reserved=r):  # `from PARAM`: the param it names
            return [x for x in (p, r, last, f) if x is not None]
        case ast.DueWithin(window=w, after=a, done=d, reserved=r):
            return [x for x in (w, a, d, r) if x is not None]
        case ast.DueOn(deadline=dl, done=d, reserved=r):
            return [x for x in (dl, d, r) if x is not None]
        case ast.TriggerOn(date=d) | ast.Listing(duration=d):
            return [d]
    return []


def _type_text(t: ast.TypeRef | None) -> str:
    if t is None:
        return ""
    return f"set<{t.name}>" if t.is_set else t.name


def _label_text(label: ast.Label | None) -> str:
    return f"{label.text.zh} / {label.text.en}" if label is not None else ""


def _doc(doc: tuple[str, ...]) -> str:
    return "\n".join(doc)


def _sources(sources: list[ast.Source]) -> str:
    return "  \n".join(f"source {s.section} “{s.quote}”" for s in sources)


def _rule_title(r: ast.RuleDecl) -> str:
    title = r.first(ast.Title)
    return f"{title.text.zh} / {title.text.en}" if title else ""


def _join(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)
