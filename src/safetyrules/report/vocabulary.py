"""What a person reads instead of identifiers: obligation titles for rule names, the facts' labels for field
paths, code labels for enumeration codes — in Chinese and English.

Everything comes from the policy: its rules' `title zh/en` (`Policy.rules()`), its declared fact schema's
labels (`enum`/`record`/`subject` declarations), else the fact models' descriptions (`"中文 / English"`).
:meth:`Vocabulary.humanize` rewrites the library's messages and remedies, which name rules and fact paths
(`违反的规则：safety_commitment`, `缺少事实：ppe.worn`, `industry=retail（零售）`, `hazards[H-1]`), into titles and
labels; nothing else in a message is touched.
"""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from collections.abc import Iterator
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from safetyrules.engine.results import OUTCOME_ZH, Outcome, Text
from safetyrules.engine.values import Duration, show
from safetyrules.facts.models import ENUM_LABELS_ZH
from safetyrules.facts.schema import FactSchema

if TYPE_CHECKING:  # the API imports the report modules: a policy is only read here
    from safetyrules.api import Policy, RuleInfo
    from safetyrules.syntax import ast

OUTCOME_EN = {
    Outcome.VIOLATED: "violated", Outcome.PENDING: "pending", Outcome.SATISFIED: "satisfied",
    Outcome.NOT_APPLICABLE: "not applicable", Outcome.UNKNOWN: "unknown", Outcome.TRIGGERED: "triggered",
    Outcome.EXPIRED: "expired", Outcome.NOT_TRIGGERED: "not triggered",
}
SEVERITY = {"high": Text("高", "high"), "medium": Text("中", "medium"), "low": Text("低", "low")}
MAX_DEPTH = 8  # nesting of records walked for labels (schemas may refer to themselves)

_NAME = r"[a-z_][a-z0-9_]*"
# a segment, with its item key (`[H-1]`) or the condition of an item looked for and not found (`[c.year == y; y=2021]`)
_SEGMENT = rf"{_NAME}(?:\[(?:[^\]\s]*|{_NAME}\.{_NAME} == [^\]\s;]+(?:; [^\]\s]+)?)\])?"
_PATH = rf"{_SEGMENT}(?:\.{_SEGMENT})*"
_RULE_LIST = re.compile(
    r"(违反的规则：|无法判断的规则：|纠正违反的规则：|补充事实，使以下规则可以判断：|violated rules: |"
    r"rules whose outcome is unknown: |remedy the violated rules: |provide the facts that decide these rules: )"
    rf"({_NAME}(?:(?:、|, ){_NAME})*)")
_MISSING = re.compile(
    rf"(缺少事实：|missing facts: |补充缺失的事实：|provide the missing facts: )({_PATH}(?:, {_PATH})*)")
_ASSIGNED = re.compile(rf"(?<![\w.\]])({_PATH})=([^；;，,\s（(]+)(（[^）]*）| \([^)]*\))?")
_CONDITIONS = re.compile(r"(使以下条件成立：|make these hold: )(.+)$")
# the key of a record a `find` looked for and did not find: `c.year == y; y=2021` (a bound value) or `c.year == 2021`
_SOUGHT = re.compile(r"^([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*) == ([^;\s]+)(?:; \3=(\S+))?$")
_SEGMENTS = re.compile(r"[^.\[]+(?:\[[^\]]*\])?")  # a path's segments (a dot inside a key does not split)
_ITEM = re.compile(rf"(?<![\w.\]])({_NAME})\[([^\]\s]+)\]((?:\.{_SEGMENT})*)")


def outcome_text(outcome: Outcome) -> Text:
    return Text(OUTCOME_ZH[outcome], OUTCOME_EN[outcome])


def pick(text: Text, lang: str) -> str:
    return text.en if lang == "en" else text.zh


class Vocabulary:
    """A policy's titles and its facts' labels, by rule name and by field path."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.rules: dict[str, RuleInfo] = {r.name: r for r in policy.rules()}
        self.fields: dict[str, Text] = {}  # path without item keys (`hazards.found_on`) → label
        self.codes: dict[str, dict[str, Text]] = {}  # path → enumeration code → label
        self.lists: set[str] = set()  # paths of lists of records (their items are named `hazards[H-1]`)
        self.enums: dict[str, dict[str, Text]] = {}  # enumeration name → code → label
        self.param_enums: dict[str, str] = {}  # param → the enumeration its values (or set's items) are codes of
        self.subject = Text("企业", "enterprise") if policy.contract.builtin else Text(
            policy.contract.subject, policy.contract.subject)
        schema = policy.contract.schema
        if schema is not None:
            self._from_schema(schema)
        else:
            self._from_model(policy.contract.model, "", 0)
        for path, label in list(self.fields.items()):  # `险种（如 safety_liability 安全生产责任保险）`
            example = _EXAMPLE_CODE.search(label.zh)
            if example is None:
                continue
            if example.group(2) and path not in self.codes:  # the example names a code and its label
                self.codes[path] = {example.group(1): Text(example.group(2), example.group(1).replace("_", " "))}
            self.fields[path] = Text(_EXAMPLE_CODE.sub("", label.zh).strip() or label.zh,
                                     _EXAMPLE_EN.sub("", label.en).strip() or label.en)
        # params by their `label`; else, as definitions, a Chinese name when the doc comment opens with one
        # (`高危行业领域。…`) and the name's words
        self.param_labels: dict[str, Text] = {}
        self.param_defaults: dict[str, Any] = {}
        for p in policy.params():
            inner = p.type.removeprefix("set<").removesuffix(">")
            if inner in self.enums:
                self.param_enums[p.name] = inner
            self.param_labels[p.name] = p.label if p.label is not None else Text(
                _doc_name(p.doc, "。"), p.name.replace("_", " "))
            self.param_defaults[p.name] = p.default
        checked = getattr(policy, "checked", None)
        self.defines: dict[str, ast.DefineDecl] = dict(getattr(checked, "defines", {}) or {})
        self.define_labels: dict[str, Text] = {
            name: Text(_doc_name("\n".join(d.doc), "。:："), name.replace("_", " "))
            for name, d in self.defines.items()}
        self.cache: dict[str, Any] = {}  # what the explanation's words build once per policy (report/words.py)
        owners: dict[str, list[Text]] = {}
        for codes in self.enums.values():
            for code, label in codes.items():
                owners.setdefault(code, []).append(label)
        # the 附件4 contract's place and trade: pages group by village and show the industry when records have them
        self.has_village = "village" in self.fields
        self.has_industry = "industry" in self.fields
        # a code of one enumeration only reads the same wherever it appears (a definition's value in a tree)
        self.unique_codes = {code: labels[0] for code, labels in owners.items() if len(labels) == 1}

    # ------------------------------------------------------------------ building
    def _from_schema(self, schema: FactSchema) -> None:
        root = schema.root
        if root.label is not None and not self.policy.contract.builtin:
            self.subject = Text(root.label.zh, root.label.en)
        for name, spec in schema.enums.items():
            self.enums[name] = {code: Text(label.zh, label.en) for code, label in spec.codes.items()}
        stack: list[tuple[str, str, int]] = [(schema.subject, "", 0)]
        while stack:
            name, prefix, depth = stack.pop(0)
            for f in schema.records[name].fields.values():
                path = prefix + f.name
                self.fields[path] = Text(f.label.zh, f.label.en) if f.label else Text(f.name, f.name.replace("_", " "))
                if f.type in schema.enums:
                    self.codes[path] = {code: Text(label.zh, label.en)
                                        for code, label in schema.enums[f.type].codes.items()}
                elif f.type in schema.records and depth < MAX_DEPTH:
                    if f.kind == "list":
                        self.lists.add(path)
                    stack.append((f.type, path + ".", depth + 1))

    def _from_model(self, model: type[BaseModel], prefix: str, depth: int) -> None:
        for name, info in model.model_fields.items():
            path = prefix + name
            zh, _, en = (info.description or name).partition(" / ")
            self.fields[path] = Text(zh.strip() or name, (en or zh).strip() or name)
            for kind in _types_in(info.annotation):
                if isinstance(kind, type) and issubclass(kind, Enum):
                    self.codes[path] = {str(m.value): _code_label(kind, str(m.value)) for m in kind}
                    self.enums[kind.__name__.lower()] = self.codes[path]
                elif isinstance(kind, type) and issubclass(kind, BaseModel) and depth < MAX_DEPTH:
                    if _is_list(info.annotation):
                        self.lists.add(path)
                    self._from_model(kind, path + ".", depth + 1)

    # ------------------------------------------------------------------ looking up
    def title(self, rule: str, lang: str) -> str:
        info = self.rules.get(rule)
        return pick(info.title, lang) if info is not None else rule

    def field(self, path: str, lang: str) -> str:
        """A field path (`risk_assessments[2022-08-24].comprehensive`) as labels (`风险辨识评估 2022-08-24 ·
        全面辨识评估`); a segment with no label keeps its name."""
        out: list[str] = []
        plain = ""
        for segment in _SEGMENTS.findall(path):
            name, _, key = segment.partition("[")
            plain = f"{plain}.{name}" if plain else name
            label = self.fields.get(plain)
            text = pick(label, lang) if label is not None else name
            if key:
                sought = _SOUGHT.match(key.rstrip("]"))
                item = self.fields.get(f"{plain}.{sought.group(2)}") if sought is not None else None
                if sought is not None and item is not None:  # the item a `find` sought: a missing record
                    value = sought.group(4) or sought.group(3)
                    text = (f"{text}中{pick(item, lang)}为 {value} 的一项" if lang == "zh"
                            else f"the item of {text} whose {pick(item, lang)} is {value}")
                else:
                    text += " " + key.rstrip("]")
            out.append(text)
        return " · ".join(out)

    def value(self, path: str, value: Any, lang: str) -> str:
        """A fact's value as a person reads it: a code by its label, yes/no, a date, a list's items."""
        plain = re.sub(r"\[[^\]]*\]", "", path)
        codes = self.codes.get(plain, {}) if path else self.unique_codes
        if isinstance(value, Enum):
            value = value.value
        if isinstance(value, str) and value in codes:
            return pick(codes[value], lang)
        if isinstance(value, list | tuple | set | frozenset):
            items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
            if all(not isinstance(v, dict | list) for v in items):
                return ("、" if lang == "zh" else ", ").join(self.value(path, v, lang) for v in items) or (
                    "（无）" if lang == "zh" else "(none)")
        if value is True or value is False:
            return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
        if value is None:
            return "无" if lang == "zh" else "none"
        if isinstance(value, dt.datetime):
            return value.isoformat(timespec="minutes")
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, Duration):  # `1 年` as the messages write it
            return re.sub(r"(\d)(?=[^\d\s,.])", r"\1 ", value.text(lang)) if lang == "zh" else value.text(lang)
        return show(value, lang)

    def param_title(self, name: str) -> Text:
        """A param's name in words: its Chinese name when its doc opens with one, else its name's words."""
        label = self.param_labels.get(name)
        if label is None:
            return Text(name, name)
        return Text(label.zh or label.en, label.en)

    def param_value(self, name: str, value: Any, lang: str) -> str:
        """A param's value; codes by their labels when the param's type is an enumeration (or a set of one)."""
        enum = self.param_enums.get(name)
        if enum is None:
            return self.value("", value, lang)
        codes = self.enums[enum]
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else [value]
        return ("、" if lang == "zh" else ", ").join(
            pick(codes[str(v)], lang) if str(v) in codes else self.value("", v, lang) for v in items)

    # ------------------------------------------------------------------ messages
    def humanize(self, text: str, lang: str) -> str:
        """A message or remedy of the library with rule names as titles and fact paths as labels."""
        text = _RULE_LIST.sub(lambda m: m.group(1) + self._rules_text(m.group(2), lang), text)
        text = _MISSING.sub(lambda m: m.group(1) + self._paths_text(m.group(2), lang), text)
        text = _CONDITIONS.sub(lambda m: m.group(1) + self._conditions(m.group(2), lang), text)
        text = _ASSIGNED.sub(lambda m: self._assigned(m, lang), text)
        return _ITEM.sub(lambda m: self._item(m, lang), text)

    def _quoted(self, rule: str, lang: str) -> str:
        title = self.title(rule, lang).rstrip("。.")
        return f"「{title}」" if lang == "zh" else f"“{title}”"

    def _conditions(self, text: str, lang: str) -> str:
        """A remedy's conditions to make hold: a condition that is a yes/no fact reads as its label."""
        sep = "；" if lang == "zh" else "; "
        return sep.join(self.field(item, lang) if re.fullmatch(_PATH, item)
                        and re.sub(r"\[[^\]]*\]", "", item) in self.fields else item for item in text.split(sep))

    def _rules_text(self, names: str, lang: str) -> str:
        parts = re.split(r"、|, ", names)
        if not all(p in self.rules for p in parts):
            return names
        return ("、" if lang == "zh" else ", ").join(self._quoted(p, lang) for p in parts)

    def _paths_text(self, paths: str, lang: str) -> str:
        parts = paths.split(", ")
        plain = [re.sub(r"\[[^\]]*\]", "", p) for p in parts]
        if not all(p in self.fields for p in plain):
            return paths
        # a record that is missing and its missing fields: the fields say it
        shown = [p for p in parts if not any(q.startswith(p + ".") for q in parts)]
        return ("、" if lang == "zh" else ", ").join(self.field(p, lang) for p in shown)

    def _assigned(self, m: re.Match[str], lang: str) -> str:
        path, value = m.group(1), m.group(2)
        plain = re.sub(r"\[[^\]]*\]", "", path)
        if plain not in self.fields:
            return m.group(0)
        end = ""
        if value.endswith("."):
            value, end = value[:-1], "."
        codes = self.codes.get(plain, {})
        shown = pick(codes[value], lang) if value in codes else value
        return f"{self.field(path, lang)}{'：' if lang == 'zh' else ': '}{shown}{end}"

    def _item(self, m: re.Match[str], lang: str) -> str:
        name = m.group(1)
        if name not in self.fields:
            return m.group(0)
        return self.field(m.group(0), lang)


_EXAMPLE_CODE = re.compile(r"（如 ([a-z][a-z0-9_]*) ?([^）\s]*)）")
_EXAMPLE_EN = re.compile(r",? e\.g\. [a-z][a-z0-9_]*")
_DOC_NAME = re.compile(r"^([\u4e00-\u9fff“”（）、]{2,24})(.)")


def _doc_name(doc: str, ends: str) -> str:
    """A Chinese name a doc comment opens with (`高危行业领域。附件4 names …`), else ""."""
    m = _DOC_NAME.match(doc.strip())
    return m.group(1) if m and m.group(2) in ends else ""


def _code_label(kind: type[Enum], code: str) -> Text:
    zh = next((labels.get(code) for k, labels in ENUM_LABELS_ZH.items() if k is kind), None)
    declared = getattr(kind, "__safetyrules_labels__", None)
    if isinstance(declared, dict) and code in declared:
        return Text(str(declared[code][0]), str(declared[code][1]))
    return Text(zh or code, code.replace("_", " "))


def _types_in(annotation: Any) -> Iterator[Any]:
    """The classes an annotation mentions (`list[Hazard] | None` → Hazard)."""
    args = typing.get_args(annotation)
    if not args:
        yield annotation
        return
    for arg in args:
        yield from _types_in(arg)


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(a) for a in typing.get_args(annotation))
    return False
