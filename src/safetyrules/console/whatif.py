"""The console's what-if: a form built from the policy's params (with their docs) and rules, and a result page
that opens with the headline's change, then the enterprises whose outcome changed, grouped by obligation, and
bars only where base and scenario differ. Scenarios are hypothetical: nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from safetyrules.api import Policy
from safetyrules.console.labels import Vocabulary, outcome_text, pick
from safetyrules.console.layout import BASE, Ctx, bars, delta, e, outcome_badge, pct, segment
from safetyrules.console.pages import headline_html
from safetyrules.console.population import Headline, RuleSets, headline
from safetyrules.engine.results import Outcome
from safetyrules.engine.values import to_json
from safetyrules.report.reasons import because_text
from safetyrules.whatif.run import Change, EvaluateSide, Row, WhatIfResult, evaluate_rows, run_whatif
from safetyrules.whatif.scenario import Scenario

MAX_CHANGES_SHOWN = 200  # changed enterprises listed per obligation (all are counted)


@dataclass(slots=True)
class WhatIfForm:
    """What the form asked: overrides as text (as `--param NAME=VALUE` takes them), rules off, the date."""

    as_of: dt.date
    params: dict[str, str] = field(default_factory=dict)
    rules_off: list[str] = field(default_factory=list)
    run: bool = False
    token: str = ""
    problems: list[str] = field(default_factory=list)


def read_form(fields: Sequence[tuple[str, str]], policy: Policy, as_of: dt.date) -> WhatIfForm:
    """The form's fields: `p.NAME` (a param override; empty: unchanged), `off` (a rule switched off, repeated),
    `run`, `token`. Unknown params and rules are named in `problems`."""
    form = WhatIfForm(as_of)
    known_params = {p.name for p in policy.params() if not p.builtin}
    known_rules = {r.name for r in policy.rules()}
    for key, value in fields:
        value = value.strip()
        if key.startswith("p."):
            name = key[2:]
            if not value:
                continue
            if name not in known_params:
                form.problems.append(f"params.{name}: no such param / 没有这个参数")
            elif len(value) > 2000:
                form.problems.append(f"params.{name}: longer than 2,000 characters / 参数值过长")
            else:
                form.params[name] = value
        elif key == "off" and value:
            if value not in known_rules:
                form.problems.append(f"rules_off: no rule named `{value[:80]}` / 没有这条规则")
            elif value not in form.rules_off:
                form.rules_off.append(value)
        elif key == "run":
            form.run = True
        elif key == "token":
            form.token = value
    return form


@dataclass(slots=True)
class ConsoleWhatIf:
    result: WhatIfResult
    base: Headline
    scenario: Headline


COLUMNAR_MIN = 5_000  # enterprises from which a scenario is evaluated by the columnar engine (when installed)
BASES_KEPT = 4  # as-of dates whose base is kept


class BaseCache:
    """The base side of the console's what-ifs: the loaded population evaluated without overrides, computed
    once per (policy digest, as-of date) and reused by every run on that date — a run evaluates only its
    scenario. From COLUMNAR_MIN enterprises the scenario is evaluated by the columnar engine, which keeps the
    population's tables and its base evaluation and re-runs only the rules the scenario can change
    (`columnar.whatif.ColumnarWhatIf`); below, by the compiled row engine."""

    def __init__(self, kept: int = BASES_KEPT) -> None:
        self.kept = kept
        self._rows: OrderedDict[tuple[str, dt.date, int], list[Row]] = OrderedDict()
        self._lock = threading.Lock()
        self._columnar: Any = None
        self.computed = 0  # base evaluations made (what the cache saves is the rest)

    def side(self, records: list[dict[str, Any]]) -> EvaluateSide:
        """How a side of `records` is evaluated: columnar for a large population when polars is installed."""
        if len(records) < COLUMNAR_MIN:
            return evaluate_rows
        if self._columnar is None:
            try:
                from safetyrules.columnar.whatif import ColumnarWhatIf
            except ImportError:  # the columnar extra is not installed: rows
                return evaluate_rows
            self._columnar = ColumnarWhatIf()
        return self._columnar  # type: ignore[no-any-return]

    def base(self, digest: str, policy: Policy, records: list[dict[str, Any]], day: dt.date) -> list[Row]:
        key = (digest, day, id(records))
        with self._lock:  # one base at a time: a date asked twice is evaluated once
            rows = self._rows.get(key)
            if rows is None:
                rows = self.side(records)(policy, records, day, {}, frozenset())
                self.computed += 1
                self._rows[key] = rows
                while len(self._rows) > self.kept:
                    self._rows.popitem(last=False)
            self._rows.move_to_end(key)
            return rows


def run_console_whatif(policy: Policy, records: list[dict[str, Any]], form: WhatIfForm, sets: RuleSets,
                       name: str = "console", bases: BaseCache | None = None, digest: str = "") -> ConsoleWhatIf:
    """Base and scenario over the population (records the loaders validated) on the form's date; the headline
    of each side. With `bases`, the base is the one kept for (`digest`, the date), computed when first asked.
    Raises `ScenarioError` for an override that does not fit its param's type."""
    captured: list[list[Row]] = []
    cache = bases or BaseCache(kept=0)
    side = cache.side(records)

    def evaluate(p: Policy, recs: list[dict[str, Any]], day: dt.date, params: Mapping[str, Any],
                 disabled: frozenset[str]) -> list[Row]:
        if not captured and bases is not None and recs is records:  # the base: kept
            rows = bases.base(digest, p, recs, day)
        else:
            rows = side(p, recs, day, params, disabled)
        captured.append(rows)
        return rows

    scenario = Scenario(name=name, dates=(form.as_of,), params=dict(form.params), rules_off=frozenset(form.rules_off))
    result = run_whatif(policy, policy, scenario, records, [form.as_of], evaluate=evaluate, limits=policy.limits,
                        validated=True)
    base_rows, scen_rows = captured[0], captured[1]
    n = len(records)
    return ConsoleWhatIf(result, headline(((r.enterprise, r.rule, r.outcome) for r in base_rows), sets, n),
                         headline(((r.enterprise, r.rule, r.outcome) for r in scen_rows), sets, n))


def param_text(value: Any) -> str:
    """A param's value written as `--param` takes it."""
    shown = to_json(value)
    if isinstance(shown, list):
        return "[" + ", ".join(map(str, shown)) + "]"
    if isinstance(shown, bool):
        return "true" if shown else "false"
    return "" if shown is None else str(shown)


# ---------------------------------------------------------------------- the form
def form_html(ctx: Ctx, vocab: Vocabulary, form: WhatIfForm, *, token_needed: bool, read_only: bool) -> str:
    policy = vocab.policy
    if read_only:
        said = ctx.t("本服务为只读模式（--read-only），不能运行情景推演。",
                     "This service is read-only (--read-only): what-if runs are refused.")
        return f'<p class="notice">{said}</p>'
    method = "post" if token_needed else "get"
    out = [f'<form class="whatif" method="{method}" action="{e(BASE)}/whatif">',
           '<input type="hidden" name="run" value="1">']
    if ctx.en:
        out.append('<input type="hidden" name="lang" value="en">')
    out.append(f"<fieldset><legend>{ctx.bi('评估日期', 'As of')}</legend><label><input type=\"date\" name=\"as_of\" "
               f'value="{form.as_of.isoformat()}" required></label></fieldset>')
    out.append(f"<fieldset><legend>{ctx.bi('调整参数', 'Change params')}</legend>"
               '<p class="note">' + ctx.t("留空表示不变；取值写法与命令行 --param 相同，如 2 years、"
                                          "[construction, mining]。",
                                          "Leave empty to keep a param; values are written as --param takes them: "
                                          "2 years, [construction, mining].") + "</p>")
    for p in policy.params():
        if p.builtin:
            continue
        default = param_text(p.default)
        doc = p.doc.strip() or ctx.t(f"类型 {p.type}", f"type {p.type}")
        title = pick(vocab.param_title(p.name), ctx.lang)  # its label: what a regulator calls it
        out.append(f'<label>{e(title)} <code>{e(p.name)}</code> <input type="text" name="p.{e(p.name)}" '
                   f'value="{e(form.params.get(p.name, ""))}" placeholder="{e(default)}">'
                   f'<span class="doc">{ctx.t("默认", "default")} {e(default)} · {e(doc)}</span></label>')
    out.append("</fieldset>")
    out.append(f"<fieldset><legend>{ctx.bi('停用义务', 'Switch obligations off')}</legend>")
    for name, info in vocab.rules.items():
        checked = " checked" if name in form.rules_off else ""
        out.append(f'<label><input type="checkbox" name="off" value="{e(name)}"{checked}> '
                   f"{e(', '.join(info.implements))} {e(pick(info.title, ctx.lang))}</label>")
    out.append("</fieldset>")
    if token_needed:
        out.append(f"<fieldset><legend>{ctx.bi('令牌', 'Token')}</legend><label><input type=\"password\" "
                   f'name="token" autocomplete="current-password"> <span class="doc">'
                   + ctx.t("本服务设置了令牌（SAFETYRULES_TOKEN）：运行情景推演需要它。",
                           "The service has a token (SAFETYRULES_TOKEN): a what-if run needs it.") +
                   "</span></label></fieldset>")
    out.append(f'<button type="submit">{ctx.t("运行情景推演", "Run the what-if")}</button></form>')
    return "".join(out)


# ---------------------------------------------------------------------- the result
def _because(ctx: Ctx, vocab: Vocabulary, change: Change) -> str:
    """Why an outcome changed, in the page's language (params by their labels: report/reasons.py)."""
    return e(because_text(change.because, vocab.param_labels, "en" if ctx.en else "zh"))


def _scenario_list(ctx: Ctx, vocab: Vocabulary, form: WhatIfForm) -> str:
    policy = vocab.policy
    defaults = {p.name: param_text(p.default) for p in policy.params()}
    items = [f"<li>{ctx.bi('评估日期', 'as of')}：{form.as_of.isoformat()}</li>"]
    for name, value in form.params.items():
        title = pick(vocab.param_title(name), ctx.lang)
        items.append(f"<li>{ctx.bi('参数', 'param')} {e(title)}（<code>{e(name)}</code>）："
                     f"{e(defaults.get(name, ''))} → <b>{e(value)}</b></li>")
    for name in form.rules_off:
        items.append(f"<li>{ctx.bi('停用', 'switched off')}：{e(vocab.title(name, ctx.lang))}</li>")
    if not form.params and not form.rules_off:
        items.append(f"<li>{ctx.t('未作任何调整：情景即基准。', 'Nothing changed: the scenario is the base.')}</li>")
    return f'<ul class="scenario">{"".join(items)}</ul>'


def _headline_delta(ctx: Ctx, base: Headline, scen: Headline) -> str:
    cards = [
        (ctx.bi("项违反", "violations"), base.violations, scen.violations),
        (ctx.bi("家查处对象", "enforcement candidates"), base.candidates, scen.candidates),
        (ctx.bi("条有效失信记录", "active credit listings"), base.listings, scen.listings),
        (ctx.bi("家企业有违反", "enterprises with a violation"), base.with_violation, scen.with_violation),
    ]
    out = ['<div class="headline">']
    for what, b, s in cards:
        cls = "bad" if s > b else "good" if s < b else ""
        out.append(f'<div class="kpi {cls}"><b>{s} {delta(b, s)}</b><span class="what">{what}</span>'
                   f"<small>{ctx.t('基准', 'base')} {b} → {ctx.t('情景', 'scenario')} {s}</small></div>")
    rate_label = ctx.bi("总体合规率", "overall compliance")
    out.append(f'<div class="kpi"><b>{pct(scen.rate)}</b><span class="what">{rate_label}'
               f"</span><small>{ctx.t('基准', 'base')} {pct(base.rate)}</small></div></div>")
    return "".join(out)


def result_html(ctx: Ctx, vocab: Vocabulary, run: ConsoleWhatIf, form: WhatIfForm) -> str:
    result = run.result
    day = result.dates[0]
    out = [f'<section id="headline" class="first"><h2>{ctx.bi("结果变化", "What changes")}</h2>',
           _scenario_list(ctx, vocab, form), _headline_delta(ctx, run.base, run.scenario)]
    if not day.changes:
        same = ctx.t("情景与基准的结果完全相同：没有企业的结果改变。",
                     "The scenario gives the same outcomes as the base: no enterprise changes.")
        out.append(f'<p class="notice">{same}</p>')
    out.append("</section>")
    # charts, only where something differs
    rule_rows = [(f"{', '.join(info.implements)} {pick(info.title, ctx.lang)[:40]}",
                  day.count("base", name), day.count("scenario", name))
                 for name, info in vocab.rules.items()
                 if info.kind == "obligation" and day.count("base", name) != day.count("scenario", name)]
    villages = sorted(set(day.by_village["base"]) | set(day.by_village["scenario"]))
    village_rows = [(v, day.by_village["base"][v]["with_violation"], day.by_village["scenario"][v]["with_violation"])
                    for v in villages
                    if day.by_village["base"][v]["with_violation"] != day.by_village["scenario"][v]["with_violation"]]
    if rule_rows or village_rows:
        out.append(f'<section id="charts"><h2>{ctx.bi("差异", "Where it differs")}</h2>')
        if rule_rows:
            out.append(bars(ctx, ctx.t("违反的企业数（按义务）", "enterprises in violation, by obligation"),
                            rule_rows))
        if village_rows:
            out.append(bars(ctx, ctx.t("有违反的企业数（按村）", "enterprises with a violation, by village"),
                            village_rows))
        out.append("</section>")
    # changes grouped by obligation
    grouped: dict[str, list[Change]] = defaultdict(list)
    for c in day.changes:
        grouped[c.rule].append(c)
    if grouped:
        out.append(f'<section id="changes"><h2>{ctx.bi("结果改变的企业", "Enterprises whose outcome changes")} '
                   f"({len({c.enterprise for c in day.changes})})</h2>")
        for name in [r for r in vocab.rules if r in grouped]:
            # a violation found or cleared first, then other changes
            changes = sorted(grouped[name], key=lambda c: (Outcome.VIOLATED not in (c.base, c.scenario),
                                                          c.village, c.enterprise))
            title = e(vocab.title(name, ctx.lang))
            out.append(f"<h3>{ctx.link('/obligation/' + segment(name), title)} "
                       f'<span class="alt">{e(", ".join(vocab.rules[name].implements))}</span> ({len(changes)})</h3>')
            rows = []
            for c in changes[:MAX_CHANGES_SHOWN]:
                b, s = outcome_text(c.base), outcome_text(c.scenario)
                who = ctx.link("/enterprise/" + segment(c.enterprise), e(c.name or c.enterprise))
                rows.append(f"<tr><td>{who}</td><td>{e(c.village)}</td>"
                            f"<td>{outcome_badge(ctx, c.base, b.zh, b.en)} → "
                            f"{outcome_badge(ctx, c.scenario, s.zh, s.en)}</td><td>{_because(ctx, vocab, c)}</td></tr>")
            out.append(f"<table class=\"changes\"><thead><tr><th>{ctx.bi('企业', 'enterprise')}</th>"
                       f"<th>{ctx.bi('村（社区）', 'village')}</th><th>{ctx.bi('基准 → 情景', 'base → scenario')}</th>"
                       f"<th>{ctx.bi('原因', 'because')}</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")
            if len(changes) > MAX_CHANGES_SHOWN:
                more = len(changes) - MAX_CHANGES_SHOWN
                out.append(f'<p class="note">{ctx.t(f"另有 {more} 家未列出", f"{more} more not listed")}</p>')
        out.append("</section>")
    return "".join(out)


def whatif_body(ctx: Ctx, vocab: Vocabulary, form: WhatIfForm, run: ConsoleWhatIf | None, *, token_needed: bool,
                read_only: bool, error: str = "", base_headline: Headline | None = None) -> str:
    out = [f"<h1>{ctx.bi('情景推演', 'What-if')}</h1>",
           '<p class="sub">' + ctx.t("如果调整参数或停用某些义务，哪些企业的结果会改变？情景只是假设：不保存任何决定。",
                                     "If params changed or obligations were switched off, whose outcome would "
                                     "change? A scenario is hypothetical: nothing is stored.") + "</p>"]
    if error:
        out.append(f'<div class="error">{error}</div>')
    if run is not None:
        out.append(result_html(ctx, vocab, run, form))
    elif base_headline is not None:
        out.append(f'<section id="headline" class="first"><h2>{ctx.bi("基准", "The base")}</h2>'
                   f"{headline_html(ctx, base_headline)}</section>")
    out.append(f'<section id="form" class="noprint"><h2>{ctx.bi("情景设置", "The scenario")}</h2>'
               f"{form_html(ctx, vocab, form, token_needed=token_needed, read_only=read_only)}</section>")
    return "".join(out)
