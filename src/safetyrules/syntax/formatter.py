"""AST → canonical policy text (`safetyrules fmt`).

The layout is fixed (two-space indent, one item a line, minimal parentheses, a blank line between
declarations); item order is the author's. `#` comments are kept: each is put back before the item it
preceded, or at the end of the line it ended.

The text is always in the current revision of the language (docs/language.md, "Deprecated forms"): a file in
an earlier form comes out in the new one — `done` for `met`, `last done`, `first due`, `source … quote …`, a
`candidate` for an obligation whose `violated` means "is a candidate" and, when asked (`engine_params`), the
params the engines read for a kind of deadline named in its text. A title or a quote too wide for a line is
laid out over several, a long text as several strings one after the other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from safetyrules.diagnostics import display_width
from safetyrules.syntax import ast
from safetyrules.syntax.revision import as_candidate, engine_param
from safetyrules.syntax.walk import chain

INDENT = "  "
MAX_WIDTH = 100

# ------------------------------------------------------------------------------------------ expressions

_PREC_BINARY = {
    "implies": 1, "or": 2, "and": 3,
    "==": 5, "!=": 5, "<": 5, "<=": 5, ">": 5, ">=": 5, "in": 5, "not in": 5,
    "+": 6, "-": 6, "*": 7,
}
_ATOM = 11


def precedence(e: ast.Expr) -> int:
    match e:
        case ast.IfThenElse():
            return 0
        case ast.Binary(op=op):
            return _PREC_BINARY[op]
        case ast.Unary(op="not"):
            return 4
        case ast.IsTest():
            return 5
        case ast.Unary():
            return 8
        case ast.ParamAt():
            return 9
        case ast.Field():
            return 10
        case ast.IntLit(value=v) if v < 0:
            return 8  # printed with a leading minus
        case ast.IntRange():
            return 6
        case _:
            return _ATOM


def _child(e: ast.Expr, min_prec: int) -> str:
    text = format_expr(e)
    return f"({text})" if precedence(e) < min_prec else text


def _string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def _opt(prefix: str, e: ast.Expr | None) -> str:
    return "" if e is None else f" {prefix} {format_expr(e)}"


def format_expr(e: ast.Expr) -> str:
    """One expression on one line, with the fewest parentheses that keep its meaning."""
    match e:
        case ast.IntLit(value=v):
            return str(v)
        case ast.StringLit(value=v):
            return _string(v)
        case ast.DateLit(value=v):
            return v.isoformat()
        case ast.InstantLit(value=v):
            return v.isoformat(timespec="seconds")
        case ast.DurationLit(amount=n, unit=u):
            return f"{n} {u}" + ("" if n == 1 else "s")
        case ast.BoolLit(value=v):
            return "true" if v else "false"
        case ast.NullLit():
            return "null"
        case ast.Name(id=name):
            return name
        case ast.AsOf():
            return "as_of"
        case ast.Field(target=t, name=name):
            return f"{_child(t, 10)}.{name}"
        case ast.ParamAt(param=p, at=at):
            return f"{p} at {_child(at, 10)}"
        case ast.Call(func=f, args=args):
            return f"{f}({', '.join(format_expr(a) for a in args)})"
        case ast.Quantifier(kind=k, var=v, collection=c, where=w, body=b):
            return f"{k}({v} in {_collection(c)}{_opt('where', w)}{'' if b is None else ': ' + format_expr(b)})"
        case ast.OrderPick(kind=k, var=v, collection=c, where=w, key=key):
            return f"{k}({v} in {_collection(c)}{_opt('where', w)} by {format_expr(key)})"
        case ast.IntRange(low=lo, high=hi):
            return f"{_child(lo, 6)} .. {_child(hi, 6)}"
        case ast.SetLit(items=items):
            return "{" + ", ".join(format_expr(i) for i in items) + "}"
        case ast.Unary(op="not", operand=o):
            return f"not {_child(o, 4)}"
        case ast.Unary(operand=o):
            return f"-{_child(o, 8)}"
        case ast.Binary(op=op, left=lhs, right=rhs):
            prec = _PREC_BINARY[op]
            if op in ("or", "and", "+", "-", "*"):  # left-associative
                return f"{_child(lhs, prec)} {op} {_child(rhs, prec + 1)}"
            if op == "implies":
                return f"{_child(lhs, 2)} implies {_child(rhs, 2)}"
            return f"{_child(lhs, 6)} {op} {_child(rhs, 6)}"  # comparisons do not chain
        case ast.IsTest(operand=o, test=t, negated=n):
            return f"{_child(o, 6)} is {'not ' if n else ''}{t}"
        case ast.IfThenElse(cond=c, then=t, else_=x):
            return f"if {format_expr(c)} then {format_expr(t)} else {format_expr(x)}"
    raise TypeError(f"not an expression: {e!r}")  # pragma: no cover


def _collection(c: ast.Expr) -> str:
    return format_expr(c) if isinstance(c, ast.IntRange) else _child(c, 6)


def _wrapped(head: str, e: ast.Expr, indent: str) -> list[str]:
    """`head expr` on one line, or broken over several when it is longer than MAX_WIDTH."""
    return layout(e, indent + head, indent + INDENT * 2)


def layout(e: ast.Expr, head: str, indent: str, min_prec: int = 0) -> list[str]:
    """Lay out an expression after `head`; continuation lines start with `indent`.

    Breaks, in this order of preference: before each `and`/`or` of a chain, before `then`/`else`, after a
    quantifier's `:`, between a call's arguments. Anything else stays on one line.
    """
    flat = format_expr(e)
    if precedence(e) < min_prec:
        if len(head) + len(flat) + 2 <= MAX_WIDTH:
            return [f"{head}({flat})"]
        lines = layout(e, head + "(", indent)
        lines[-1] += ")"
        return lines
    if len(head) + len(flat) <= MAX_WIDTH:
        return [head + flat]
    deeper = indent + INDENT * 2
    match e:
        case ast.Binary(op="and" | "or" as op):
            p = _PREC_BINARY[op]
            parts = chain(e, op)
            lines = layout(parts[0], head, deeper, p)
            for part in parts[1:]:
                lines.extend(layout(part, f"{indent}{op} ", deeper, p + 1))
            return lines
        case ast.IfThenElse(cond=c, then=t, else_=x):
            return [*layout(c, head + "if ", deeper), *layout(t, indent + "then ", deeper),
                    *layout(x, indent + "else ", deeper)]
        case ast.Unary(op="not", operand=o):
            return layout(o, head + "not ", indent, 4)
        case ast.Quantifier(kind=k, var=v, collection=c, where=w, body=b) if b is not None:
            lines = [f"{head}{k}({v} in {_collection(c)}{_opt('where', w)}:"]
            lines.extend(layout(b, deeper, deeper))
            lines[-1] += ")"
            return lines
        case ast.Call(func=f, args=args) if args:
            lines = [f"{head}{f}("]
            for i, arg in enumerate(args):
                arg_lines = layout(arg, deeper, deeper)
                arg_lines[-1] += "," if i < len(args) - 1 else ")"
                lines.extend(arg_lines)
            return lines
    return [head + flat]


# ------------------------------------------------------------------------------------------ declarations


def _bilingual(keyword: str, text: ast.Bilingual) -> str:
    return f"{keyword} zh {_string(text.zh)} en {_string(text.en)}"


def _source(s: ast.Source) -> str:
    return f"source {_string(s.section)} quote {_string(s.quote)}"


_MIN_ROOM = 24  # a continued text never gets pieces narrower than this, however deep it is indented
_BREAK_AFTER = frozenset(" ，、；：。！？）》”")
_BREAK_BEFORE = frozenset("“（《")


def _pieces(text: str, first_room: int, room: int) -> list[str]:
    """`text` cut into pieces whose strings (quotes included) fit in `first_room` then `room` display cells,
    each cut after a space or a punctuation mark, or before an opening quote or bracket, when there is one in
    the second half of the piece (the latest such place)."""
    pieces: list[str] = []
    rest, avail = text, max(first_room, _MIN_ROOM)
    while len(rest) > 1 and display_width(_string(rest)) > avail:
        cut = 1
        while cut < len(rest) and display_width(_string(rest[:cut + 1])) <= avail:
            cut += 1
        nice = max((i + 1 for i in range(cut // 2, cut) if rest[i] in _BREAK_AFTER), default=cut)
        nice = max((i for i in range(cut // 2 + 1, cut) if rest[i] in _BREAK_BEFORE), default=nice)
        if nice == len(rest):  # a piece must leave something for the next one
            break
        pieces.append(rest[:nice])
        rest, avail = rest[nice:], max(room, _MIN_ROOM)
    return [*pieces, rest]


def text_lines(head: str, text: str) -> list[str]:
    """`head "text"` on one line, or with the text continued as further strings, each on its own line under
    the opening quote of the first (`head` is ASCII, so its length is its width)."""
    room = MAX_WIDTH - len(head)
    pieces = _pieces(text, room, room)
    pad = " " * len(head)
    return [f"{head if i == 0 else pad}{_string(p)}" for i, p in enumerate(pieces)]


def _title_lines(t: ast.Bilingual, indent: str) -> list[str]:
    """`title zh "…" en "…"` on one line when it fits, else `en` under `zh`, each text over lines as needed."""
    flat = indent + _bilingual("title", t)
    if display_width(flat) <= MAX_WIDTH:
        return [flat]
    return [*text_lines(f"{indent}title zh ", t.zh), *text_lines(f"{indent}      en ", t.en)]


def _source_lines(s: ast.Source, indent: str, head: str = "") -> list[str]:
    """`source "section" quote "…"` on one line when it fits, else the quote on the next line."""
    flat = f"{indent}{head}{_source(s)}"
    if display_width(flat) <= MAX_WIDTH:
        return [flat]
    return [f"{indent}{head}source {_string(s.section)}", *text_lines(f"{indent}{INDENT}quote ", s.quote)]


def _type(t: ast.TypeRef) -> str:
    return f"set<{t.name}>" if t.is_set else t.name


def _policy_item(item: ast.PolicyItem, indent: str) -> list[str]:
    match item:
        case ast.Title(text=t):
            return _title_lines(t, indent)
        case ast.Document(name=n):
            return [f"{indent}document {_string(n)}"]
        case ast.Period(start=s, end=e):
            return [f"{indent}period {s.isoformat()} .. {e.isoformat()}"]
        case ast.Catalogue(ids=ids):
            flat = f"{indent}catalogue {{{', '.join(_string(i) for i in ids)}}}"
            if len(flat) <= MAX_WIDTH:
                return [flat]
            lines = [f"{indent}catalogue {{"]
            row = ""
            for cid in ids:
                word = _string(cid) + ","
                if row and len(indent + INDENT + row + " " + word) > MAX_WIDTH:
                    lines.append(indent + INDENT + row)
                    row = ""
                row = f"{row} {word}" if row else word
            lines.extend([indent + INDENT + row, f"{indent}}}"])
            return lines
    raise TypeError(item)  # pragma: no cover


def _param_item(item: ast.ParamItem, indent: str) -> list[str]:
    match item:
        case ast.ParamDefault(value=v):
            return [f"{indent}default {format_expr(v)}"]
        case ast.ParamFrom(start=s, value=v):
            return [f"{indent}from {s.isoformat()} {format_expr(v)}"]
        case ast.Source():
            return _source_lines(item, indent)
        case ast.Label(text=t):
            return [indent + _bilingual("label", t)]
    raise TypeError(item)  # pragma: no cover


def field_type_text(t: ast.FieldType) -> str:
    """A field's type as written (`date`, `list<hazard>`)."""
    return t.name if t.kind == "simple" else f"{t.kind}<{t.name}>"


def field_option_text(option: ast.FieldOption) -> str:
    """A field's option as written (`kept`, `>= 1`, `label zh "…" en "…"`)."""
    match option:
        case ast.Label(text=t):
            return _bilingual("label", t)
        case ast.FieldKept():
            return "kept"
        case ast.FieldDated():
            return "dated"
        case ast.FieldMin(value=v):
            return f">= {v}"
        case ast.FieldMax(value=v):
            return f"<= {v}"
        case ast.FieldNotBefore(other=o):
            return f">= {o}"
    raise TypeError(option)  # pragma: no cover


def _enum_item(item: ast.Label | ast.EnumCode, indent: str) -> list[str]:
    if isinstance(item, ast.Label):
        return [indent + _bilingual("label", item.text)]
    return [f"{indent}code {item.code} zh {_string(item.label.zh)} en {_string(item.label.en)}"]


def _record_item(item: ast.RecordItem, indent: str) -> list[str]:
    match item:
        case ast.Label(text=t):
            return [indent + _bilingual("label", t)]
        case ast.RecordKey(name=f):
            return [f"{indent}key {f}"]
        case ast.RecordTimezone(offset=o):
            return [f"{indent}timezone {_string(o)}"]
        case ast.RecordDated(name=f):
            return [f"{indent}dated {f}"]
        case ast.FieldDecl(name=n, type=t, options=options, doc=doc):
            line = " ".join([f"{indent}field {n}: {field_type_text(t)}", *(field_option_text(o) for o in options)])
            return [*(f"{indent}/// {d}".rstrip() for d in doc), line]
    raise TypeError(item)  # pragma: no cover


def _engine_param(due: ast.Due, indent: str) -> list[str]:
    """`grace …`, `from …`, `late for …`: the param the engines read for this deadline, named in its text."""
    named = None if isinstance(due, ast.DueContinuous) else due.reserved
    return [] if named is None else [f"{indent}{_word_of(due)} {named.id}"]


def _word_of(due: ast.Due) -> str:
    return "grace" if isinstance(due, ast.DueBy) else "from" if isinstance(due, ast.DueEvery) else "late for"


def _due(item: ast.Due, indent: str) -> list[str]:
    cont = indent + INDENT * 2
    deeper = cont + INDENT * 2
    match item:
        case ast.DueContinuous():
            return [f"{indent}due continuous"]
        case ast.DueBy(deadline=d, met=m):
            flat = f"{indent}due by {format_expr(d)}{_opt('done', m)}"
            named = _engine_param(item, " ")
            if not named or len(flat + named[0]) <= MAX_WIDTH:
                return [flat + (named[0] if named else "")]
            return [flat, *_engine_param(item, cont)]
        case ast.DueEvery(period=p, last=last, first=f):
            anchor = _engine_param(item, " ")
            lines = [f"{indent}due every {format_expr(p)}{anchor[0] if anchor else ''}",
                     *layout(last, cont + "last done ", deeper)]
            if f is not None:
                lines.extend(layout(f, cont + "first due ", deeper))
            return lines
        case ast.DueWithin(window=w, after=a, done=d):
            return [f"{indent}due within {format_expr(w)} after {format_expr(a)}",
                    *layout(d, cont + "done ", deeper), *_engine_param(item, cont)]
        case ast.DueOn(deadline=d, done=done):
            return [f"{indent}due on {format_expr(d)}", *layout(done, cont + "done ", deeper),
                    *_engine_param(item, cont)]
    raise TypeError(item)  # pragma: no cover


def _rule_item(item: ast.RuleItem, indent: str) -> list[str]:
    match item:
        case ast.Implements(ids=ids):
            return [f"{indent}implements {', '.join(_string(i) for i in ids)}"]
        case ast.Title(text=t):
            return _title_lines(t, indent)
        case ast.Source():
            return _source_lines(item, indent)
        case ast.SeverityItem(level=level):
            return [f"{indent}severity {level}"]
        case ast.Effective(start=s):
            return [f"{indent}effective {s.isoformat()}"]
        case ast.Applies(cond=c):
            return _wrapped("applies ", c, indent)
        case ast.Unless(name=n, source=s, when=w):
            flat = _wrapped(f"unless {n} {_source(s)} when ", w, indent)
            if len(flat) == 1 and display_width(flat[0]) <= MAX_WIDTH:
                return flat
            return [*_source_lines(s, indent, f"unless {n} "), *_wrapped(f"{INDENT}when ", w, indent)]
        case ast.Require(cond=c):
            return _wrapped("require ", c, indent)
        case ast.When(cond=c):
            return _wrapped("when ", c, indent)
        case ast.DueContinuous() | ast.DueBy() | ast.DueEvery() | ast.DueWithin() | ast.DueOn():
            return _due(item, indent)
        case ast.Effect(text=t):
            return [indent + _bilingual("effect", t)]
        case ast.Remedy(text=t):
            return [indent + _bilingual("remedy", t)]
        case ast.Each(var=v, collection=c, where=w):
            if w is None:
                return [f"{indent}each {v} in {_collection(c)}"]
            return _wrapped(f"each {v} in {_collection(c)} where ", w, indent)
        case ast.TriggerOn(date=d):
            return [f"{indent}on {format_expr(d)}"]
        case ast.Listing(duration=d):
            return [f"{indent}listing {format_expr(d)}"]
    raise TypeError(item)  # pragma: no cover


class _Comments:
    """Hands out the file's comments by line so that each lands next to the code it was next to."""

    def __init__(self, comments: Iterable[ast.Comment]) -> None:
        self.pending = sorted(comments, key=lambda c: (c.line, c.column))

    def before(self, line: int, indent: str) -> list[str]:
        out = []
        while self.pending and self.pending[0].line < line:
            comment = self.pending.pop(0)
            out.append(indent + comment.text)
            following = self.pending[0].line if self.pending and self.pending[0].line < line else line
            if following > comment.line + 1 and not indent:  # keep a blank line that separated a comment
                out.append("")
        return out

    def trailing(self, line: int) -> str:
        if self.pending and self.pending[0].line == line:
            return "  " + self.pending.pop(0).text
        return ""

    def attach(self, lines: list[str], start: int, end: int, indent: str) -> list[str]:
        """Put the comments written inside a (possibly multi-line) construct back on it: one on its first
        line ends the first output line, one on its last line ends the last, others go above it."""
        above: list[str] = []
        below: list[str] = []  # after a trailing comment, to keep the comments in source order
        lines = list(lines)
        taken: set[int] = set()  # output lines that already end with a comment
        while self.pending and self.pending[0].line <= end:
            c = self.pending.pop(0)
            target = 0 if c.line == start else (len(lines) - 1 if c.line == end else None)
            if target is not None and target not in taken and not below and (not taken or target > max(taken)):
                lines[target] += "  " + c.text
                taken.add(target)
            else:
                (below if taken else above).append(indent + c.text)
        return above + lines + below

    def rest(self) -> list[str]:
        out = [c.text for c in self.pending]
        self.pending = []
        return out


def name_engine_params(rule: ast.RuleDecl, established: bool) -> ast.RuleDecl:
    """`rule` with the param the engines read for its kind of deadline named in its text, when it is not yet
    (`established`: the subject has an establishment date, which the grace of `due by` needs)."""
    due = rule.due
    wanted = engine_param(due, established)
    if wanted is None or due is None or isinstance(due, ast.DueContinuous) or due.reserved is not None:
        return rule
    named = dataclasses.replace(due, reserved=ast.Name(wanted))
    return dataclasses.replace(rule, items=tuple(named if item is due else item for item in rule.items))


def format_module(module: ast.Module, engine_params: bool | None = None) -> str:
    """The module's text in the canonical layout and the current forms. `engine_params`: None leaves the
    deadlines as written; True or False names in each deadline's text the param the engines read for it
    (`late for late_act_memory`, …), True when the policy's subject has an establishment date (`due by`
    then reads `new_entrant_grace`)."""
    comments = _Comments(module.comments)
    out: list[str] = []
    for decl in module.decls:
        if isinstance(decl, ast.RuleDecl):
            decl = as_candidate(decl)
            if engine_params is not None:
                decl = name_engine_params(decl, engine_params)
        if out:
            out.append("")
        out.extend(comments.before(decl.span.line, ""))
        out.extend(f"/// {line}".rstrip() for line in decl.doc)
        out.extend(_decl(decl, comments))
    rest = comments.rest()
    if rest:
        if out:
            out.append("")
        out.extend(rest)
    return "\n".join(out) + "\n" if out else ""


def _decl(decl: ast.Decl, comments: _Comments) -> list[str]:
    match decl:
        case ast.DefineDecl(name=n, type=t, value=v):
            typ = "" if t is None else f": {_type(t)}"
            return comments.attach(_wrapped(f"define {n}{typ} = ", v, ""), decl.span.line, decl.span.end_line, "")
        case ast.PolicyDecl(name=n, items=items):
            header = f"policy {n} {{"
            body = [(i.span.line, i.span.end_line, _policy_item(i, INDENT)) for i in items]
        case ast.ParamDecl(name=n, type=t, items=pitems):
            header = f"param {n}: {_type(t)} {{"
            body = [(i.span.line, i.span.end_line, _param_item(i, INDENT)) for i in pitems]
        case ast.RuleDecl(kind=k, name=n, items=ritems):
            header = f"{k} {n} {{"
            body = [(i.span.line, i.span.end_line, _rule_item(i, INDENT)) for i in ritems]
        case ast.EnumDecl(name=n, items=eitems):
            header = f"enum {n} {{"
            body = [(i.span.line, i.span.end_line, _enum_item(i, INDENT)) for i in eitems]
        case ast.RecordDecl(kind=k, name=n, items=record_items):
            header = f"{k} {n} {{"
            body = [(i.span.line, i.span.end_line, _record_item(i, INDENT)) for i in record_items]
        case _:  # pragma: no cover
            raise TypeError(decl)
    lines = [header + _header_trailing(comments, decl)]
    for start, end, item_lines in body:
        lines.extend(comments.before(start, INDENT))
        lines.extend(comments.attach(item_lines, start, end, INDENT))
    lines.extend(comments.before(decl.span.end_line, INDENT))
    lines.append("}" + comments.trailing(decl.span.end_line))
    return lines


def _header_trailing(comments: _Comments, decl: ast.Decl) -> str:
    first_item_line = decl.span.end_line
    items = getattr(decl, "items", ())
    if items:
        first_item_line = items[0].span.line
    if first_item_line != decl.span.line:
        return comments.trailing(decl.span.line)
    return ""
