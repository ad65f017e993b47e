"""Explanation steps in words a person reads: each condition the engine recorded, said in Chinese and in English
with the facts' labels, the params' values, obligation titles and values as people write them — not as
policy text.

A step (`engine.interpreter.Step`) carries the policy text of its expression and its source position; the
policy's checked tree has the expression itself at that position (`_index`), with the types the checker gave
it and the lists its variables range over. The words come from that tree and the :class:`Vocabulary`; a step
whose expression is not found (a policy changed since) keeps its text. The policy text stays available
(`StepWords.code`) for the policy's authors.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from safetyrules.engine.interpreter import Step
from safetyrules.engine.results import Text
from safetyrules.engine.values import UNKNOWN, Duration
from safetyrules.report.vocabulary import Vocabulary, pick
from safetyrules.syntax import ast
from safetyrules.syntax.formatter import format_expr
from safetyrules.syntax.walk import chain, children

MAX_ITEMS = 4  # items of a set value named before "and N more"
MAX_DEFINE_WORDS = 48  # a definition without a Chinese name is said by its expression when that is this short

Scope = Mapping[str, str]  # a bound variable → the plain path of the list it ranges over ("" : not a fact list)

NOTES = {"applies": Text("适用条件", "applies when"), "require": Text("要求", "requires"),
         "deadline": Text("期限", "deadline"), "period": Text("周期", "period"),
         "last": Text("最近一次", "latest"), "first": Text("首次期限", "first due"), "each": Text("逐项", "each"),
         "met": Text("履行日期", "met on"), "done": Text("完成日期", "done on"), "unless": Text("例外", "exception"),
         "on": Text("事件日期", "event date"), "listing": Text("失信记录期限", "listed for"),
         "window": Text("时限", "time allowed"), "event": Text("事件", "event"),
         "define": Text("定义", "definition")}
_NONE_DECISIVE = re.compile(r"(\d+) element\(s\), none decisive")


@dataclass(slots=True)
class StepWords:
    """One step said: what was asked (`head`, with its note), what it came to, the facts it read."""

    note: Text | None
    head: Text
    value: Text
    facts: list[Text] = field(default_factory=list)
    code: str = ""  # the policy text of the step (for authors)
    where: str = ""  # its source position

    def shown_value(self, lang: str) -> str:
        """The value, unless the words already say it (a date written in the policy, a param's value)."""
        value = pick(self.value, lang)
        return "" if value in pick(self.head, lang) else value

    def line(self, lang: str) -> str:
        note = f"{pick(self.note, lang)}{'：' if lang == 'zh' else ': '}" if self.note else ""
        value = self.shown_value(lang)
        return f"{note}{pick(self.head, lang)}" + (f" → {value}" if value else "")


def _index(vocab: Vocabulary) -> dict[tuple[str, str], tuple[ast.Expr, dict[str, str]]]:
    """(source position, policy text) → the checked expression there and the lists its variables range over."""
    cached = vocab.cache.get("expressions")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    index: dict[tuple[str, str], tuple[ast.Expr, dict[str, str]]] = {}
    checked = getattr(vocab.policy, "checked", None)
    for module in getattr(checked, "modules", ()):
        for decl in module.decls:
            scope: dict[str, str] = {}
            for item in getattr(decl, "items", ()) or ():
                if isinstance(item, ast.Each):
                    scope[item.var] = _plain(item.collection, {}, vocab) or ""
            for root in _expressions(decl):
                _walk(root, scope, vocab, index)
    program = getattr(vocab.policy, "program", None)
    for rule in getattr(program, "declared", ()):  # what lowering wrote (a `candidate when` as a requirement)
        each = getattr(rule, "each", None)
        scope = {each.var: _plain(each.collection, {}, vocab) or ""} if each is not None else {}
        for name in rule.__dataclass_fields__:
            if name != "decl":
                for root in _expressions(getattr(rule, name)):
                    _walk(root, scope, vocab, index)
    vocab.cache["expressions"] = index
    return index


def _expressions(node: Any) -> Iterator[ast.Expr]:
    """The top expressions under a declaration."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, tuple | list):
            stack.extend(n)
        elif _is_expr(n):
            yield n
        elif hasattr(n, "__dataclass_fields__") and not isinstance(n, type):
            for name in n.__dataclass_fields__:
                if name not in ("span", "name_span", "checked_type", "doc"):
                    stack.append(getattr(n, name))


def _is_expr(n: Any) -> bool:
    return isinstance(n, ast.IntLit | ast.StringLit | ast.DateLit | ast.InstantLit | ast.DurationLit | ast.BoolLit
                      | ast.NullLit | ast.Name | ast.AsOf | ast.Field | ast.ParamAt | ast.Call | ast.Quantifier
                      | ast.OrderPick | ast.IntRange | ast.SetLit | ast.Unary | ast.Binary | ast.IsTest
                      | ast.IfThenElse)


def _walk(root: ast.Expr, scope: dict[str, str], vocab: Vocabulary,
          index: dict[tuple[str, str], tuple[ast.Expr, dict[str, str]]]) -> None:
    stack: list[tuple[ast.Expr, dict[str, str]]] = [(root, scope)]
    while stack:
        node, sc = stack.pop()
        with contextlib.suppress(Exception):  # a node the formatter does not write: not said
            index.setdefault((str(node.span), format_expr(node)), (node, sc))
        if isinstance(node, ast.Quantifier | ast.OrderPick):
            inner = {**sc, node.var: _plain(node.collection, sc, vocab) or ""}
            stack.append((node.collection, sc))
            rest = [node.where, node.key if isinstance(node, ast.OrderPick) else node.body]
            stack.extend((x, inner) for x in rest if x is not None)
        else:
            stack.extend((c, sc) for c in children(node))


def _plain(e: ast.Expr, scope: Scope, vocab: Vocabulary) -> str | None:
    """The plain fact path an expression reads (`hazards.plan.time_limit`), when it reads one."""
    names: list[str] = []
    while isinstance(e, ast.Field):
        names.append(e.name)
        e = e.target
    if not isinstance(e, ast.Name):
        return None
    if e.id in scope:
        base = scope[e.id]
        if not base:
            return None
    elif e.id in vocab.fields and e.id not in vocab.param_labels and e.id not in vocab.define_labels:
        base = e.id
    else:
        return None
    return ".".join([base, *reversed(names)])


class _Say:
    """An expression in one language's words."""

    def __init__(self, vocab: Vocabulary, lang: str, scope: Scope, params: Mapping[str, Any], depth: int = 0):
        self.vocab, self.lang, self.zh, self.scope, self.params, self.depth = (
            vocab, lang, lang == "zh", scope, params, depth)

    def t(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def say(self, e: ast.Expr) -> str:
        v, t = self.vocab, self.t
        if isinstance(e, ast.Name):
            return self.name(e.id)
        if isinstance(e, ast.Field):
            path = _plain(e, self.scope, v)
            if path is not None:
                root: ast.Expr = e
                while isinstance(root, ast.Field):
                    root = root.target
                if isinstance(root, ast.Name) and root.id in self.scope:  # an item's field: the field alone
                    depth = self.scope[root.id].count(".") + 1
                    return " · ".join(v.field(path, self.lang).split(" · ")[depth:])
                return v.field(path, self.lang)
            target = e.target
            base = _plain(target.collection, self.scope, v) if isinstance(target, ast.Quantifier | ast.OrderPick) \
                else None
            label = v.fields.get(f"{base}.{e.name}") if base else v.fields.get(e.name)
            name = pick(label, self.lang) if label else e.name.replace("_", " ")
            return t(f"{self.say(target)}的{name}", f"the {name} of {self.say(target)}")
        if isinstance(e, ast.AsOf):
            return t("评估日期", "the evaluation date")
        if isinstance(e, ast.StringLit):
            return self.code(e, e.value)
        if isinstance(e, ast.IntLit | ast.DateLit | ast.InstantLit | ast.BoolLit | ast.NullLit):
            return self.value(getattr(e, "value", None))
        if isinstance(e, ast.DurationLit):
            return duration_words(Duration.of(e.amount, e.unit), self.lang)
        if isinstance(e, ast.SetLit):
            items = [self.code(i, i.value) if isinstance(i, ast.StringLit) else self.say(i) for i in e.items]
            return t("「" + "、".join(items) + "」", "{" + ", ".join(items) + "}")
        if isinstance(e, ast.IntRange):
            return t(f"{self.say(e.low)} 至 {self.say(e.high)}", f"{self.say(e.low)} to {self.say(e.high)}")
        if isinstance(e, ast.ParamAt):
            return t(f"{self.name(e.param)}在{self.say(e.at)}时的取值",
                     f"{self.name(e.param)} as of {self.say(e.at)}")
        if isinstance(e, ast.Unary):
            if e.op == "not":
                return t(f"并非「{self.say(e.operand)}」", f"not ({self.say(e.operand)})")
            return f"-{self.say(e.operand)}"
        if isinstance(e, ast.IsTest):
            return self.is_test(e)
        if isinstance(e, ast.IfThenElse):
            return t(f"如果{self.say(e.cond)}，则为{self.say(e.then)}，否则为{self.say(e.else_)}",
                     f"if {self.say(e.cond)} then {self.say(e.then)}, else {self.say(e.else_)}")
        if isinstance(e, ast.Binary):
            return self.binary(e)
        if isinstance(e, ast.Call):
            return self.call(e)
        if isinstance(e, ast.Quantifier | ast.OrderPick):
            return self.quantifier(e)
        return format_expr(e)  # pragma: no cover - every kind is said above

    # ------------------------------------------------------------------ names and values
    def name(self, name: str) -> str:
        v = self.vocab
        if name in self.scope:
            path = self.scope[name]
            if path:
                label = v.fields.get(path)
                return self.t(f"该项{pick(label, 'zh')}", f"the {pick(label, 'en')} item") if label else name
            return self.t("该值", "that value")
        if name in v.param_labels:
            label = v.param_labels[name]
            value = self.params[name] if name in self.params else v.param_defaults.get(name)
            shown = self.param_value(name, value)
            if self.zh:
                return f"{label.zh}（{shown}）" if label.zh else f"规定值（{shown}）"
            return f"{label.en} ({shown})"
        if name in v.define_labels:
            return self.define(name)
        if name in v.rules:
            return self.quoted(name)
        return v.field(name, self.lang)

    def define(self, name: str) -> str:
        label = self.vocab.define_labels[name]
        if self.zh and not label.zh:
            decl = self.vocab.defines.get(name)
            if decl is not None and self.depth < 3:
                said = _Say(self.vocab, "zh", {}, self.params, self.depth + 1).say(decl.value)
                if len(said) <= MAX_DEFINE_WORDS:
                    return said
            return "定义的值"
        return label.zh if self.zh else label.en

    def param_value(self, name: str, value: Any) -> str:
        if isinstance(value, frozenset | set | list | tuple) and len(value) > MAX_ITEMS:
            items = sorted(value, key=str)
            shown = self.vocab.param_value(name, frozenset(items[:MAX_ITEMS]), self.lang)
            more = len(items) - MAX_ITEMS
            return shown + self.t(f" 等 {len(items)} 项", f" and {more} more")
        return self.vocab.param_value(name, value, self.lang)

    def quoted(self, rule: str) -> str:
        title = self.vocab.title(rule, self.lang).rstrip("。.")
        return self.t(f"「{title}」", f"“{title}”")

    def code(self, node: ast.Expr, code: str, path: str | None = None) -> str:
        """A code written in the policy, by its label: of the field it is compared with, or of its type."""
        v = self.vocab
        codes = v.codes.get(path or "") or v.enums.get(_type_name(node)) or {}
        label = codes.get(code) or v.unique_codes.get(code)
        return pick(label, self.lang) if label is not None else code

    def value(self, value: Any) -> str:
        return value_words(self.vocab, value, self.lang)

    # ------------------------------------------------------------------ operators
    def binary(self, e: ast.Binary) -> str:
        t, op = self.t, e.op
        if op in ("and", "or"):
            parts = [self.say(x) for x in chain(e, op)]
            return t("，且".join(parts) if op == "and" else "，或".join(parts),
                     (" and " if op == "and" else " or ").join(parts))
        if op == "implies":
            return t(f"如果{self.say(e.left)}，则{self.say(e.right)}",
                     f"if {self.say(e.left)}, then {self.say(e.right)}")
        if op in ("==", "!=", "<", "<=", ">", ">=", "in", "not in"):
            return self.compare(e)
        left, right = self.say(e.left), self.say(e.right)
        dated = _type_name(e.left) in ("date", "instant")
        if op == "+" and dated:
            return t(f"{left}后{right}", f"{right} after {left}")
        if op == "-" and dated and _type_name(e.right) not in ("date", "instant"):
            return t(f"{left}前{right}", f"{right} before {left}")
        zh = {"+": "加", "-": "减", "*": "乘以", "/": "除以"}.get(op, op)
        en = {"+": "plus", "-": "minus", "*": "times", "/": "divided by"}.get(op, op)
        return t(f"{left} {zh} {right}", f"{left} {en} {right}")

    def compare(self, e: ast.Binary) -> str:
        op = e.op
        lpath, rpath = _plain(e.left, self.scope, self.vocab), _plain(e.right, self.scope, self.vocab)
        left = self.code(e.left, e.left.value, rpath) if isinstance(e.left, ast.StringLit) else self.say(e.left)
        if isinstance(e.right, ast.StringLit):
            right = self.code(e.right, e.right.value, lpath)
        elif isinstance(e.right, ast.SetLit) and lpath:
            items = [self.code(i, i.value, lpath) if isinstance(i, ast.StringLit) else self.say(i)
                     for i in e.right.items]
            right = self.t("「" + "、".join(items) + "」", "{" + ", ".join(items) + "}")
        else:
            right = self.say(e.right)
        dated = "date" in (_type_name(e.left), _type_name(e.right)) or "instant" in (
            _type_name(e.left), _type_name(e.right))
        if dated:
            words = {"==": ("是", "is"), "!=": ("不是", "is not"), "<": ("早于", "is before"),
                     "<=": ("不晚于", "is on or before"), ">": ("晚于", "is after"), ">=": ("不早于", "is on or after")}
        else:
            words = {"==": ("为", "is"), "!=": ("不为", "is not"), "<": ("少于", "is less than"),
                     "<=": ("不多于", "is at most"), ">": ("多于", "is more than"), ">=": ("不少于", "is at least"),
                     "in": ("属于", "is one of"), "not in": ("不属于", "is not one of")}
        if (op in ("in", "not in") and _type_name(e.right).startswith("list<")) or (
                op in ("in", "not in") and rpath and not lpath):
            words["in"], words["not in"] = ("在", "is among"), ("不在", "is not among")
            zh, en = words[op]
            return self.t(f"{left} {zh}{right}之中", f"{left} {en} {right}")
        zh, en = words[op]
        return self.t(f"{left} {zh} {right}", f"{left} {en} {right}")

    def is_test(self, e: ast.IsTest) -> str:
        what = self.say(e.operand)
        if e.test == "null":
            return self.t(f"{what} 已有记录", f"{what} is on record") if e.negated else self.t(
                f"{what} 没有记录", f"{what} is not on record")
        known = (e.test == "known") != e.negated
        return self.t(f"{what} 已知", f"{what} is known") if known else self.t(f"{what} 未知", f"{what} is unknown")

    def call(self, e: ast.Call) -> str:
        t, f = self.t, e.func
        if f in ("violated", "triggered") and e.args and isinstance(e.args[0], ast.Name):
            title = self.quoted(e.args[0].id)
            return t(f"{title}被违反", f"{title} is violated") if f == "violated" else t(
                f"{title}已触发", f"{title} is triggered")
        args = [self.say(a) for a in e.args]
        dated = any(_type_name(a) in ("date", "instant") for a in e.args)
        if f == "year" and args:
            return t(f"{args[0]}的年份", f"the year of {args[0]}")
        if f == "days_between" and len(args) == 2:
            return t(f"{args[0]}至{args[1]}的天数", f"the days from {args[0]} to {args[1]}")
        if f in ("greatest", "least"):
            zh = ("较晚者" if f == "greatest" else "较早者") if dated else ("较大者" if f == "greatest" else "较小者")
            en = ("the later of" if f == "greatest" else "the earlier of") if dated else (
                "the greater of" if f == "greatest" else "the smaller of")
            return t(f"{'、'.join(args)}中的{zh}", f"{en} {', '.join(args)}")
        if f == "coalesce":
            return t("，若无则".join(args), ", else ".join(args))
        if f == "date" and len(args) == 3:
            return t(f"{args[0]} 年 {args[1]} 月 {args[2]} 日", f"{args[0]}-{args[1]}-{args[2]}")
        if f == "date" and args:
            return t(f"{args[0]}的日期", f"the date of {args[0]}")
        return f"{f}({', '.join(args)})"

    def quantifier(self, q: ast.Quantifier | ast.OrderPick) -> str:
        t = self.t
        coll = self.say(q.collection)
        inner = _Say(self.vocab, self.lang, {**self.scope, q.var: _plain(q.collection, self.scope, self.vocab) or ""},
                     self.params, self.depth)
        where = inner.say(q.where) if q.where is not None else ""
        of = t(f"{coll}中{where + '的' if where else ''}", f"{coll}{' where ' + where if where else ''}")
        bare = isinstance(q, ast.Quantifier) and isinstance(q.body, ast.Name) and q.body.id == q.var
        if isinstance(q, ast.OrderPick):
            key = inner.say(q.key)
            dated = _type_name(q.key) in ("date", "instant")
            if q.kind == "latest":
                return t(f"{of}{key}{'最晚' if dated else '最大'}的一项",
                         f"the item of {of} with the {'latest' if dated else 'largest'} {key}")
            return t(f"{of}{key}{'最早' if dated else '最小'}的一项",
                     f"the item of {of} with the {'earliest' if dated else 'smallest'} {key}")
        body = inner.say(q.body) if q.body is not None and not bare else ""
        dated = q.body is not None and _type_name(q.body) in ("date", "instant")
        if bare:
            dated = _type_name(q) in ("date", "instant")
        match q.kind:
            case "any":
                return t(f"{of}至少有一项" + (f"：{body}" if body else ""),
                         f"some item of {of}" + (f" has: {body}" if body else ""))
            case "all":
                return t(f"{of}每一项都满足：{body}", f"every item of {of} has: {body}")
            case "count":
                return t(f"{of}{body + '的' if body else ''}项数", f"the number of items of {of}"
                         + (f" with {body}" if body else ""))
            case "sum":
                return t(f"{of}各项{body}之和", f"the total {body} of {of}")
            case "max" | "min":
                most = {("max", True): ("最晚", "latest"), ("max", False): ("最大", "largest"),
                        ("min", True): ("最早", "earliest"), ("min", False): ("最小", "smallest")}[(q.kind, dated)]
                if not body:
                    return t(f"{of}{most[0]}的一项", f"the {most[1]} of {of}")
                return t(f"{of}各项{body}的{most[0]}值", f"the {most[1]} {body} of {of}")
            case _:  # find
                return t(f"{of}一项" + (f"：{body}" if body else ""), f"the item of {of}"
                         + (f": {body}" if body else ""))


def _type_name(e: ast.Expr) -> str:
    t = getattr(e, "checked_type", None)
    return "" if t is None else str(t).removeprefix("set<").removesuffix(">") if str(t).startswith("set<") else str(t)


def duration_words(value: Duration, lang: str) -> str:
    """`1 年` / `1 year`: a number and its unit apart, in both languages."""
    return re.sub(r"(\d)(?=[^\d\s,.])", r"\1 ", value.text(lang)) if lang == "zh" else value.text(lang)


def value_words(vocab: Vocabulary, value: Any, lang: str, path: str = "", fact: bool = False) -> str:
    """A step's value: holds / does not hold for conditions (a fact's yes / no), dates, durations, codes by
    their labels."""
    zh = lang == "zh"
    if value is UNKNOWN:
        return ("无记录" if zh else "not on record") if fact else ("无法判断" if zh else "unknown")
    if isinstance(value, bool) and fact:
        return ("是" if value else "否") if zh else ("yes" if value else "no")
    if value is True:
        return "成立" if zh else "holds"
    if value is False:
        return "不成立" if zh else "does not hold"
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Duration):
        return duration_words(value, lang)
    if isinstance(value, dict):
        return "（记录）" if zh else "(a record)"
    if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        return f"{len(value)} 项" if zh else f"{len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, frozenset | set | list | tuple) and len(value) > MAX_ITEMS:
        items = sorted(value, key=str)
        shown = vocab.value(path, items[:MAX_ITEMS], lang)
        return shown + (f" 等 {len(items)} 项" if zh else f" and {len(items) - MAX_ITEMS} more")
    return vocab.value(path, value, lang)


def _note(note: str | None, vocab: Vocabulary) -> tuple[Text | None, Text | None]:
    """A step's note as words, and what it says about the elements (`3 element(s), none decisive`)."""
    if not note:
        return None, None
    extra = None
    m = _NONE_DECISIVE.search(note)
    if m:
        n = m.group(1)
        extra = Text(f"（共 {n} 项，都不起决定作用）", f" ({n} items, none decisive)")
        note = note[:m.start()].rstrip(": ")
        if not note:
            return None, extra
    head, _, rest = note.partition(":")[0].partition(" ")
    label = NOTES.get(head)
    if label is None:  # a definition's name: its expression is the step's
        if head in vocab.define_labels:
            named = vocab.define_labels[head]
            return Text("定义" + (f"：{named.zh}" if named.zh else ""), f"definition: {named.en}"), extra
        return Text(head, head), extra
    if rest:  # `require staff[E003]`, `event hazards[H-1]`, `unless NAME`
        element = rest.strip()
        if head == "unless":
            return Text(f"{label.zh}", f"{label.en}"), extra
        return Text(f"{label.zh}（{vocab.field(element, 'zh')}）", f"{label.en} ({vocab.field(element, 'en')})"), extra
    return label, extra


def _define_name(vocab: Vocabulary, name: str, lang: str) -> str:
    return _Say(vocab, lang, {}, {}).define(name)


_ELEMENT = re.compile(r"^([a-z_][a-z0-9_]*) = (.+)$")


def step_words(step: Step, vocab: Vocabulary, params: Mapping[str, Any] | None = None) -> StepWords:
    """One step in words, in both languages."""
    params = params or {}
    note, extra = _note(step.note, vocab)
    where = str(step.span) if step.span else ""
    found = _index(vocab).get((where, step.expr)) if where else None
    heads: dict[str, str] = {}
    path = ""
    if step.note == "define" or (found is None and step.expr in vocab.define_labels):
        for lang in ("zh", "en"):
            heads[lang] = _define_name(vocab, step.expr, lang)
        note = NOTES["define"]
    elif found is not None:
        node, scope = found
        path = _plain(node, scope, vocab) or ""
        for lang in ("zh", "en"):
            heads[lang] = _Say(vocab, lang, scope, params).say(node)
    elif (m := _ELEMENT.match(step.expr)) is not None and not step.span:  # an element of a list, a number, a code
        element = m.group(2)
        for lang in ("zh", "en"):
            if "[" in element:
                heads[lang] = vocab.field(element, lang)
            else:
                label = vocab.unique_codes.get(element)
                heads[lang] = pick(label, lang) if label is not None else element
        note = Text("其中一项", "an item")
    else:
        heads = {"zh": step.expr, "en": step.expr}
    if extra is not None:
        heads = {lang: heads[lang] + pick(extra, lang) for lang in heads}
    value = Text(value_words(vocab, step.value, "zh", path), value_words(vocab, step.value, "en", path))
    facts = [Text(f"{vocab.field(p, 'zh')}：{value_words(vocab, v, 'zh', p, True)}",
                  f"{vocab.field(p, 'en')}: {value_words(vocab, v, 'en', p, True)}")
             for p, v in step.facts if not isinstance(v, dict)]
    return StepWords(note, Text(heads["zh"], heads["en"]), value, facts, step.expr, where)


@dataclass(slots=True)
class Explained:
    """A step in words and its sub-steps."""

    words: StepWords
    children: list[Explained]


MAX_STEP_DEPTH = 12


def explained_steps(result: Any, vocab: Vocabulary) -> list[Explained]:
    """A result's explanation steps in words (`result.steps`; its params' values as the result used them)."""
    params = {p.name: p.value for p in result.params}

    def build(step: Step, depth: int) -> Explained:
        kids = [build(c, depth + 1) for c in step.children] if depth < MAX_STEP_DEPTH else []
        return Explained(step_words(step, vocab, params), kids)

    return [build(s, 0) for s in result.steps]


# ------------------------------------------------------------------------------------------ remedies

_TO_HOLD = re.compile(r"^(.*?)(使以下条件成立：|make these hold: )(.+)$", re.S)
_ELEMENT_PREFIX = re.compile(r"^([a-z_][a-z0-9_]*(?:\[[^\]]*\])?(?:\.[a-z_][a-z0-9_]*(?:\[[^\]]*\])?)*): (.+)$", re.S)


def _by_text(vocab: Vocabulary) -> dict[str, tuple[ast.Expr, dict[str, str]]]:
    """Policy text → the first checked expression written so (a remedy names its conditions by their text)."""
    cached = vocab.cache.get("expressions by text")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    out: dict[str, tuple[ast.Expr, dict[str, str]]] = {}
    for (_, text), found in _index(vocab).items():
        out.setdefault(text, found)
    vocab.cache["expressions by text"] = out
    return out


def _condition_words(vocab: Vocabulary, item: str, lang: str) -> str:
    """One condition of a remedy in words: an element's condition (`staff[E001]: s.… is not null`) with the
    element by its label; a yes/no fact by its label; policy text the vocabulary cannot say, as it is."""
    prefix = ""
    m = _ELEMENT_PREFIX.match(item)
    if m is not None and m.group(2) in _by_text(vocab):
        prefix, item = vocab.field(m.group(1), lang) + ("：" if lang == "zh" else ": "), m.group(2)
    found = _by_text(vocab).get(item)
    if found is None:
        return prefix + item
    node, scope = found
    return prefix + _Say(vocab, lang, scope, {}).say(node)


def remedy_words(vocab: Vocabulary, text: str, lang: str) -> str:
    """A remedy as a person reads it: the conditions it asks to make hold (`make these hold: …`, which the
    library writes as policy text) in words, then the rule names and fact paths as the vocabulary says them
    (`Vocabulary.humanize`). The remedy the policy author wrote, in brackets after them, is kept."""
    m = _TO_HOLD.match(text)
    if m is not None:
        head, lead, rest = m.groups()
        sep = "；" if lang == "zh" else "; "
        authored = ""
        for opening in ("（", " ("):  # the author's own remedy closes the text
            at = rest.rfind(opening)
            if at > 0 and rest.endswith("）" if opening == "（" else ")") and rest[:at].split(sep)[-1] in _by_text(
                    vocab):
                rest, authored = rest[:at], rest[at:]
                break
        items = rest.split(sep)
        text = head + lead + sep.join(_condition_words(vocab, item, lang) for item in items) + authored
    return vocab.humanize(text, lang)
