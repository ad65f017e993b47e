"""Bilingual messages, remedies and explanation trees, rendered from result data.

Explanations are recorded by the engine as data (`Step` trees); this module only renders them, as OPA
separates recording, filtering and rendering of traces. Everything a regulator reads is in Chinese with
English beside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from safetyrules.engine.interpreter import Step
from safetyrules.engine.results import OUTCOME_ZH, EventResult, Outcome, RuleResult, Text
from safetyrules.engine.values import shift_date, show
from safetyrules.facts.models import ENUM_LABELS_ZH

if TYPE_CHECKING:
    from safetyrules.report.vocabulary import Vocabulary

_LABELS: dict[str, str] = {code: zh for labels in ENUM_LABELS_ZH.values() for code, zh in labels.items()}


def value_text(value: Any, lang: str) -> str:
    """A value as a regulator reads it; enumeration codes carry their Chinese label (of their own enum)."""
    label = None
    if isinstance(value, StrEnum):
        label = ENUM_LABELS_ZH.get(type(value), {}).get(value.value)
        declared = getattr(type(value), "__safetyrules_labels__", None)  # an enumeration a policy declares
        if label is None and isinstance(declared, dict) and value.value in declared:
            label = declared[value.value][0] if lang == "zh" else declared[value.value][1]
    elif isinstance(value, str):
        label = _LABELS.get(value)
    if label is not None:
        code = str(value)
        return f"{code}（{label}）" if lang == "zh" else f"{code} ({label})"
    if isinstance(value, frozenset) and all(isinstance(v, str) for v in value):
        return "{" + ", ".join(sorted(value_text(v, lang) for v in value)) + "}"
    return show(value, lang)


def _facts(steps: Iterable[Step], lang: str, limit: int = 4) -> list[str]:
    out: list[str] = []
    for step in steps:
        for path, value in step.facts:
            if isinstance(value, dict | list):
                continue
            text = f"{path}={value_text(value, lang)}"
            if text not in out:
                out.append(text)
    return out[:limit]


def _ids(result: RuleResult) -> str:
    return ", ".join(result.implements) or result.rule


def _cite(result: RuleResult, lang: str) -> str:
    if not result.citations:
        return ""
    c = result.citations[0]
    return f"（{c.label()}）" if lang == "zh" else f" ({c.label()})"


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _d(day: dt.date | None) -> str:
    return day.isoformat() if day else "?"


def _event_line(e: EventResult, lang: str) -> str:
    zh = lang == "zh"
    parts = [f"{e.path}: {OUTCOME_ZH[e.outcome] if zh else e.outcome}"]
    if e.due_on:
        parts.append(f"期限 {_d(e.due_on)}" if zh else f"due {_d(e.due_on)}")
    if e.done_on:
        parts.append(f"完成 {_d(e.done_on)}" if zh else f"done {_d(e.done_on)}")
    if e.delay_days:
        parts.append(f"迟延 {e.delay_days} 天" if zh else f"{_days(e.delay_days)} late")
    if e.listed_until:
        parts.append(f"信用记录至 {_d(e.listed_until)}" if zh else f"listed until {_d(e.listed_until)}")
    if e.missing:
        parts.append(("缺少 " if zh else "missing ") + ", ".join(e.missing))
    return ("，" if zh else ", ").join(parts)


def _timing(result: RuleResult, lang: str) -> list[str]:
    zh = lang == "zh"
    out: list[str] = []
    o = result.outcome
    if result.period:
        period = _period_text(result.period.text(), lang)
        if result.last_event_on:
            out.append(f"最近一次 {_d(result.last_event_on)}，周期 {period}，应于 {_d(result.due_on)} 前再次履行"
                       if zh else f"latest on {_d(result.last_event_on)}, every {period}: next due "
                       f"{_d(result.due_on)}")
        elif result.due_on:
            out.append(f"无记录，首次应于 {_d(result.due_on)} 前履行" if zh
                       else f"none on record; first due {_d(result.due_on)}")
    elif result.due_on and result.kind == "obligation" and not result.events:
        out.append(f"期限 {_d(result.due_on)}" if zh else f"deadline {_d(result.due_on)}")
    if o is Outcome.VIOLATED and result.days_overdue is not None:
        out.append(f"截至 {_d(result.as_of)} 已逾期 {result.days_overdue} 天" if zh
                   else f"as of {_d(result.as_of)}, {_days(result.days_overdue)} overdue")
    elif o is Outcome.PENDING and result.days_remaining is not None:
        out.append(f"截至 {_d(result.as_of)} 尚余 {result.days_remaining} 天" if zh
                   else f"as of {_d(result.as_of)}, {_days(result.days_remaining)} remaining")
    if o is Outcome.SATISFIED and result.delay_days:
        out.append(f"逾期 {result.delay_days} 天后履行" if zh else f"met {_days(result.delay_days)} late")
    shown = [e for e in result.events if e.outcome not in (Outcome.SATISFIED, Outcome.NOT_TRIGGERED)]
    for e in shown[:3]:
        out.append(_event_line(e, lang))
    if len(shown) > 3:
        out.append(f"另有 {len(shown) - 3} 个事件" if zh else f"{len(shown) - 3} more events")
    if o is Outcome.TRIGGERED and result.effect:
        out.append(result.effect.zh if zh else result.effect.en)
    return out


def _period_text(period: str, lang: str) -> str:
    if lang == "en":
        return period
    return period.replace(" years", " 年").replace(" year", " 年").replace(" months", " 个月").replace(
        " month", " 个月").replace(" days", " 天").replace(" day", " 天").replace(" hours", " 小时").replace(
        " hour", " 小时")


def message(result: RuleResult, outcomes: Mapping[str, Outcome] | None = None) -> Text:
    """One sentence per language: outcome, catalogue ids, clause, obligation, facts, timing."""
    return Text(_message(result, "zh", outcomes), _message(result, "en", outcomes))


def _message(result: RuleResult, lang: str, outcomes: Mapping[str, Outcome] | None) -> str:
    zh = lang == "zh"
    head = f"{OUTCOME_ZH[result.outcome] if zh else result.outcome.replace('_', ' ').capitalize()} " \
           f"{_ids(result)}{_cite(result, lang)}{'：' if zh else ': '}"
    body = (result.title.zh if zh else result.title.en).rstrip("。.")
    details: list[str] = []
    facts = _facts([s for s in result.steps if (s.note or "").startswith("applies")], lang)
    details.extend(facts)
    if result.outcome in (Outcome.NOT_APPLICABLE, Outcome.VIOLATED) and result.reason:
        details.append(result.reason.zh if zh else result.reason.en)
    details.extend(_timing(result, lang))
    if result.rules_used and outcomes is not None:
        for outcome, zh_label, en_label in ((Outcome.VIOLATED, "违反的规则：", "violated rules: "),
                                            (Outcome.UNKNOWN, "无法判断的规则：", "rules whose outcome is unknown: ")):
            rules = [r for r in result.rules_used if outcomes.get(r) is outcome]
            if rules and (outcome is Outcome.VIOLATED or result.outcome is Outcome.UNKNOWN):
                details.append((zh_label if zh else en_label) + ("、" if zh else ", ").join(rules))
    if result.outcome is Outcome.UNKNOWN:
        if result.reason:
            details.append(result.reason.zh if zh else result.reason.en)
        if result.missing:
            details.append(("缺少事实：" if zh else "missing facts: ") + ", ".join(result.missing[:6]))
    sep = "；" if zh else "; "
    end = "。" if zh else "."
    return head + body + end + ("" if zh or not details else " ") + (sep.join(details) + end if details else "")


def remedy(result: RuleResult, authored: Text | None, outcomes: Mapping[str, Outcome] | None = None,
           ) -> Text | None:
    """The least change of facts that would make the rule compliant, when there is one to name."""
    o = result.outcome
    if o in (Outcome.SATISFIED, Outcome.NOT_APPLICABLE, Outcome.NOT_TRIGGERED):
        return None
    if o in (Outcome.TRIGGERED, Outcome.EXPIRED):
        return None
    if o is Outcome.UNKNOWN:
        unknown_rules = [r for r in result.rules_used if outcomes and outcomes.get(r) is Outcome.UNKNOWN]
        if not result.missing and unknown_rules:
            return Text("补充事实，使以下规则可以判断：" + "、".join(unknown_rules),
                        "provide the facts that decide these rules: " + ", ".join(unknown_rules))
        if not result.missing:
            return authored
        return Text("补充缺失的事实：" + ", ".join(result.missing), "provide the missing facts: "
                    + ", ".join(result.missing))
    if result.period and result.due_on:
        since = shift_date(result.as_of, result.period, -1)
        if o is Outcome.VIOLATED and since:
            return Text(f"立即开展并记录一次（日期不早于 {since} 的记录才算数）" + _authored(authored, "zh"),
                        f"carry it out now and record it (only a qualifying event dated on or after {since} counts)"
                        + _authored(authored, "en"))
        return Text(f"在 {_d(result.due_on)} 前完成一次符合条件的记录" + _authored(authored, "zh"),
                    f"record a qualifying event on or before {_d(result.due_on)}" + _authored(authored, "en"))
    if result.events:
        open_events = [e for e in result.events if e.outcome in (Outcome.VIOLATED, Outcome.PENDING)]
        def due_text(e: EventResult, lang: str) -> str:
            if e.done_on:
                return (f"{e.path} 已迟延 {e.delay_days} 天完成，记录期满后恢复合规" if lang == "zh"
                        else f"{e.path}: done {_days(e.delay_days or 0)} late; compliant again when the record expires")
            if e.due_on and e.due_on < result.as_of:
                return (f"{e.path} 应立即完成（期限 {_d(e.due_on)} 已过）" if lang == "zh"
                        else f"{e.path}: complete it now (it was due {_d(e.due_on)})")
            if lang == "zh":
                return f"{e.path} 应于 {_d(e.due_on)} 前完成"
            return f"{e.path}: complete it by {_d(e.due_on)}"

        zh = "；".join(due_text(e, "zh") for e in open_events[:5])
        en = "; ".join(due_text(e, "en") for e in open_events[:5])
        return Text(zh + _authored(authored, "zh"), en + _authored(authored, "en"))
    if result.rules_used and outcomes is not None:
        bad = [r for r in result.rules_used if outcomes.get(r) is Outcome.VIOLATED]
        if bad:
            return Text("纠正违反的规则：" + "、".join(bad) + _authored(authored, "zh"),
                        "remedy the violated rules: " + ", ".join(bad) + _authored(authored, "en"))
    failing = _false_leaves(result.steps)
    if failing:
        return Text("使以下条件成立：" + "；".join(failing[:3]) + _authored(authored, "zh"),
                    "make these hold: " + "; ".join(failing[:3]) + _authored(authored, "en"))
    return authored


def _authored(authored: Text | None, lang: str) -> str:
    if authored is None:
        return ""
    return f"（{authored.zh}）" if lang == "zh" else f" ({authored.en})"


def _false_leaves(steps: list[Step]) -> list[str]:
    """The conditions to make true: inside a false `and`, its false operands; inside a false `or`, each
    operand (any one would do); anything else false is itself the condition to change."""
    out: list[str] = []
    stack = [(s, (s.note or "")[len("require"):].strip()) for s in steps
             if (s.note or "").startswith("require") and s.value is False]
    while stack:
        step, element = stack.pop(0)
        if step.kind == "and":
            stack.extend((c, element) for c in step.children if c.value is False)
            continue
        if step.kind == "implies" and len(step.children) == 2:  # the premise holds: the consequent must
            stack.append((step.children[1], element))
            continue
        text = " or ".join(c.expr for c in step.children) if step.kind == "or" and step.children else step.expr
        text = f"{element}: {text}" if element else text
        if text not in out:
            out.append(text)
    return out


# ------------------------------------------------------------------------------------------ trees

def render_tree(result: RuleResult, lang: str = "both", vocab: Vocabulary | None = None,
                policy_text: bool = False) -> str:
    """The explanation as an indented text tree (lang: "zh", "en" or "both"). With the policy's vocabulary,
    every step is said in words (obligation titles, the facts' labels, the params' values), as the console
    says it; `policy_text` adds each step's policy text and source position (for the policy's authors).
    Without a vocabulary, the steps are the policy text."""
    if vocab is not None:
        return _render_words(result, lang, vocab, policy_text)
    langs = ("zh", "en") if lang == "both" else (lang,)
    lines: list[str] = []
    msg = result.message or message(result)
    for la in langs:
        lines.append(msg.zh if la == "zh" else msg.en)
    for step in result.steps:
        _render_step(step, 1, lines)
    for e in result.events:
        lines.append("  " + " / ".join(_event_line(e, la) for la in langs))
    if result.params:
        label = {"zh": "参数", "en": "params"}
        lines.append("  " + " / ".join(label[la] for la in langs) + ": " + ", ".join(
            f"{p.name}={_param_value(p)}{' (override)' if p.overridden else ''}" for p in result.params))
    for c in result.citations:
        lines.append(f"  {'依据' if 'zh' in langs else 'source'}: {c.label()} “{c.quote}”")
    if result.remedy:
        for la in langs:
            lines.append(("  整改建议：" + result.remedy.zh) if la == "zh" else ("  remedy: " + result.remedy.en))
    return "\n".join(lines)


def _param_value(p: Any) -> str:
    """The value in force on the evaluation date, and any dated values (which `param at d` may have used)."""
    text = value_text(p.value, "en")
    if p.schedule:
        text += " (" + "; ".join(f"from {d}: {value_text(v, 'en')}" for d, v in p.schedule) + ")"
    return text


def _render_step(step: Step, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    note = f"[{step.note}] " if step.note else ""
    where = f"   ({step.span})" if step.span else ""
    lines.append(f"{pad}{note}{step.expr} → {value_text(step.value, 'en')}{where}")
    for path, value in step.facts:
        lines.append(f"{pad}    · {path} = {value_text(value, 'zh')}")
    for child in step.children:
        _render_step(child, depth + 1, lines)


def _render_words(result: RuleResult, lang: str, vocab: Vocabulary, policy_text: bool) -> str:
    from safetyrules.report.words import explained_steps, remedy_words

    langs = ("zh", "en") if lang == "both" else (lang,)
    lines: list[str] = []
    msg = result.message or message(result)
    for la in langs:
        lines.append(vocab.humanize(msg.zh if la == "zh" else msg.en, la))

    def walk(node: Any, depth: int) -> None:
        pad = "  " * depth
        for la in langs:
            lines.append(pad + node.words.line(la))
        if policy_text:
            lines.append(f"{pad}    ⟨{node.words.code}⟩" + (f"   ({node.words.where})" if node.words.where else ""))
        for fact in node.words.facts:
            lines.append(f"{pad}    · " + " / ".join(fact.zh if la == "zh" else fact.en for la in langs))
        for child in node.children:
            walk(child, depth + 1)

    for node in explained_steps(result, vocab):
        walk(node, 1)
    for e in result.events:
        lines.append("  " + " / ".join(vocab.humanize(_event_line(e, la), la) for la in langs))
    if result.params:
        label = {"zh": "参数", "en": "params"}
        for la in langs:
            sep = "；" if la == "zh" else "; "
            lines.append(f"  {label[la]}{'：' if la == 'zh' else ': '}" + sep.join(
                f"{_param_name(vocab, p.name, la)} = {vocab.param_value(p.name, p.value, la)}"
                + (("（情景调整）" if la == "zh" else " (overridden)") if p.overridden else "") for p in result.params))
    for c in result.citations:
        zh = "zh" in langs
        lines.append(f"  {'依据：' if zh else 'source: '}{c.label()} “{c.quote}”")
    if result.remedy:
        for la in langs:
            fix = remedy_words(vocab, result.remedy.zh if la == "zh" else result.remedy.en, la)
            lines.append(("  整改建议：" + fix) if la == "zh" else ("  remedy: " + fix))
    return "\n".join(lines)


def _param_name(vocab: Vocabulary, name: str, lang: str) -> str:
    title = vocab.param_title(name)
    return title.zh if lang == "zh" else title.en
