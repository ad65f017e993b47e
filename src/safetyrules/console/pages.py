"""The console's pages as HTML strings: the town, one obligation, one village, one enterprise, an error.

A page reads a :class:`TownView` (one date's evaluation) and the policy's :class:`Vocabulary`; it shows
obligation titles and fact labels, never rule names or field paths, in the request's language with the other
beside every label. Each page opens with its headline; tables follow, one section each (a printed page each).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from safetyrules.console.labels import SEVERITY, Vocabulary, outcome_text, pick
from safetyrules.console.layout import Ctx, e, meter, outcome_badge, page, pct, segment
from safetyrules.console.population import Headline, Member, Population, TownView, applicable, rate
from safetyrules.engine.interpreter import Step
from safetyrules.engine.results import EnterpriseResult, Outcome, RuleResult, Text
from safetyrules.report.words import Explained, explained_steps, remedy_words

MAX_LISTED = 500  # enterprises listed on an obligation page (all are counted)
RATE_NOTE = Text("合规率＝符合 ÷（符合＋违反）：义务适用且已到期、可以判断的企业中符合的比例；"
                 "待履行（未到期）和无法判断（缺少事实）单列，不计入。与 safetyrules eval 和情景推演报告的口径相同。",
                 "Compliance = satisfied ÷ (satisfied + violated): of the enterprises the obligation applies to "
                 "and has fallen due for and that can be judged, the share that comply; pending (not yet due) and "
                 "unknown (facts missing) are counted apart. The same rate as safetyrules eval and the what-if "
                 "reports.")


def footer(ctx: Ctx, policy_line: str, population: Population, extra: str = "") -> str:
    rejected = (ctx.t(f"；拒收 {population.rejected} 条记录", f"; {population.rejected} records rejected")
                if population.rejected else "")
    return (f"{policy_line} · {ctx.t('数据', 'facts')}: {e(population.source_name)}{rejected} · "
            f"{ctx.t('评估日期', 'as of')} {ctx.as_of.isoformat()}{extra}")


def headline_html(ctx: Ctx, h: Headline, link_policy_rule: str | None = None) -> str:
    """The four numbers a safety office reads first."""
    ent = h.enterprises
    cards = [
        ("bad" if h.violations else "good", str(h.violations), ctx.bi("项违反", "violations"),
         ctx.t(f"涉及 {h.with_violation} 家企业（共 {ent} 家）",
               f"in {h.with_violation} of {ent} enterprises")),
        ("bad" if h.candidates else "good", str(h.candidates), ctx.bi("家查处对象", "enforcement candidates"),
         ctx.t("违反高严重度义务或触发失信记录的企业",
               "enterprises with a violated high-severity obligation or a credit listing")),
        ("warn" if h.listings else "good", str(h.listings), ctx.bi("条有效失信记录", "active credit listings"),
         ctx.t(f"涉及 {h.listed} 家企业", f"of {h.listed} enterprises")),
        ("", pct(h.rate), ctx.bi("总体合规率", "overall compliance"),
         ctx.t("全部义务合计：符合 ÷（符合＋违反）", "all obligations: satisfied ÷ (satisfied + violated)")),
    ]
    out = ['<div class="headline">']
    for cls, number, what, small in cards:
        out.append(f'<div class="kpi {cls}"><b>{e(number)}</b><span class="what">{what}</span>'
                   f"<small>{small}</small></div>")
    out.append("</div>")
    if h.policy_candidates is not None and link_policy_rule is not None:
        text = ctx.t(f"其中按政策“依法查处对象”规则认定：{h.policy_candidates} 家",
                     f"of which the policy's own enforcement rule names {h.policy_candidates}")
        out.append(f'<p class="note">{ctx.link("/obligation/" + segment(link_policy_rule), text)}</p>')
    return "".join(out)


def _ids(ids: Sequence[str]) -> str:
    return e(", ".join(ids))


def _title_cell(ctx: Ctx, vocab: Vocabulary, rule: str) -> str:
    info = vocab.rules[rule]
    return ctx.link("/obligation/" + segment(rule), e(pick(info.title, ctx.lang)))


def _obligation_rows(ctx: Ctx, vocab: Vocabulary, view: TownView, counts_of: dict[str, Counter[Outcome]]) -> str:
    rows = []
    for rule in view.sets.obligations:
        c = counts_of.get(rule, Counter())
        info = vocab.rules[rule]
        severity = SEVERITY.get(info.severity or "")
        rows.append(f"<tr><td>{_ids(info.implements)}</td><td>{_title_cell(ctx, vocab, rule)}</td>"
                    f"<td>{ctx.tx(severity) if severity else ''}</td><td class=n>{applicable(c)}</td>"
                    f"<td class=n>{c[Outcome.VIOLATED]}</td><td class=n>{c[Outcome.PENDING]}</td>"
                    f"<td class=n>{c[Outcome.UNKNOWN]}</td><td class=n>{meter(rate(c))}</td></tr>")
    head = (f"<thead><tr><th>{ctx.bi('条款', 'clause')}</th><th>{ctx.bi('义务', 'obligation')}</th>"
            f"<th>{ctx.bi('严重度', 'severity')}</th><th class=n>{ctx.bi('适用', 'applicable')}</th>"
            f"<th class=n>{ctx.bi('违反', 'violated')}</th><th class=n>{ctx.bi('待履行', 'pending')}</th>"
            f"<th class=n>{ctx.bi('无法判断', 'unknown')}</th><th class=n>{ctx.bi('合规率', 'compliance')}</th>"
            "</tr></thead>")
    return f'<table class="obligations">{head}<tbody>{"".join(rows)}</tbody></table>'


def _trigger_rows(ctx: Ctx, vocab: Vocabulary, view: TownView, counts_of: dict[str, Counter[Outcome]]) -> str:
    if not view.sets.triggers:
        return ""
    rows = []
    for rule in view.sets.triggers:
        c = counts_of.get(rule, Counter())
        rows.append(f"<tr><td>{_ids(vocab.rules[rule].implements)}</td><td>{_title_cell(ctx, vocab, rule)}</td>"
                    f"<td class=n>{c[Outcome.TRIGGERED]}</td><td class=n>{c[Outcome.EXPIRED]}</td>"
                    f"<td class=n>{c[Outcome.UNKNOWN]}</td></tr>")
    return (f"<h3>{ctx.bi('失信行为', 'Credit listings')}</h3><table class=\"triggers\"><thead><tr>"
            f"<th>{ctx.bi('条款', 'clause')}</th><th>{ctx.bi('失信行为', 'behaviour')}</th>"
            f"<th class=n>{ctx.bi('有效', 'active')}</th><th class=n>{ctx.bi('已过期', 'expired')}</th>"
            f"<th class=n>{ctx.bi('无法判断', 'unknown')}</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _member_cell(ctx: Ctx, m: Member) -> str:
    return ctx.link("/enterprise/" + segment(m.key), e(m.name or m.key))


def _village_cell(ctx: Ctx, village: str) -> str:
    return ctx.link("/village/" + segment(village), e(village))


def _industry(ctx: Ctx, vocab: Vocabulary, m: Member) -> str:
    return e(vocab.value("industry", m.industry, ctx.lang)) if m.industry else ""


def _titles(ctx: Ctx, vocab: Vocabulary, rules: Sequence[str], shown: int = 3) -> str:
    titles = [e(vocab.title(r, ctx.lang).rstrip("。.")) for r in rules[:shown]]
    more = len(rules) - shown
    tail = ctx.t(f" 等 {len(rules)} 项", f" and {more} more") if more > 0 else ""
    return ("；" if not ctx.en else "; ").join(titles) + tail


def worst_table(ctx: Ctx, vocab: Vocabulary, members: Sequence[Member], with_village: bool = True) -> str:
    if not members:
        none = ctx.t("没有违反义务或触发失信记录的企业。", "No enterprise violates an obligation or is listed.")
        return f'<p class="note">{none}</p>'
    rows = []
    with_village = with_village and vocab.has_village
    for m in members:
        mark = ctx.t("是", "yes") if m.candidate else ""
        rows.append(f"<tr><td>{_member_cell(ctx, m)}</td>"
                    + (f"<td>{_village_cell(ctx, m.village)}</td>" if with_village else "")
                    + (f"<td>{_industry(ctx, vocab, m)}</td>" if vocab.has_industry else "")
                    + f"<td class=n>{len(m.violated)}</td>"
                    f"<td class=n>{len(m.triggered)}</td><td>{mark}</td>"
                    f"<td>{_titles(ctx, vocab, m.violated + m.triggered)}</td></tr>")
    village_head = f"<th>{ctx.bi('村（社区）', 'village')}</th>" if with_village else ""
    industry_head = f"<th>{ctx.bi('行业', 'industry')}</th>" if vocab.has_industry else ""
    return (f"<table class=\"worst\"><thead><tr><th>{ctx.bi('企业', 'enterprise')}</th>{village_head}"
            f"{industry_head}<th class=n>{ctx.bi('违反', 'violations')}</th>"
            f"<th class=n>{ctx.bi('失信', 'listings')}</th><th>{ctx.bi('查处对象', 'candidate')}</th>"
            f"<th>{ctx.bi('违反的义务', 'what is violated')}</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


# ---------------------------------------------------------------------- the town
def town_page(ctx: Ctx, vocab: Vocabulary, view: TownView, population: Population, policy_line: str,
              notice: str = "") -> str:
    policy = vocab.policy
    h = view.headline
    body = [f"<h1>{ctx.bi('安全生产主体责任落实情况', 'Work-safety compliance')}</h1>",
            f'<p class="sub">{ctx.tx(policy.title)} · {e(population.source_name)} · '
            f"{ctx.t(f'{h.enterprises} 家企业', f'{h.enterprises} enterprises')} · "
            f"{ctx.t('截至', 'as of')} {view.as_of.isoformat()}</p>", notice,
            f'<section id="headline" class="first">{headline_html(ctx, h, view.sets.enforcement)}</section>',
            '<section id="obligations" class="flow">'
            f'<h2>{ctx.bi("各项义务合规情况", "Compliance per obligation")}</h2>',
            _obligation_rows(ctx, vocab, view, view.by_rule),
            _trigger_rows(ctx, vocab, view, view.by_rule),
            f'<p class="note">{ctx.tx(RATE_NOTE)}</p></section>',
            (f'<section id="villages"><h2>{ctx.bi("各村（社区）情况", "By village")}</h2>{village_table(ctx, view)}'
             "</section>") if vocab.has_village else "",
            f'<section id="worst"><h2>{ctx.bi("违反最多的企业", "Enterprises with most violations")}</h2>',
            worst_table(ctx, vocab, view.worst()), "</section>"]
    title = Text(f"全镇概况 {view.as_of}", f"Town {view.as_of}")
    return page(ctx, title, "".join(body), here="town", footer=footer(ctx, policy_line, population))


def village_table(ctx: Ctx, view: TownView) -> str:
    rows = []
    for village in view.villages:
        h = view.village_headline(village)
        rows.append(f"<tr><td>{_village_cell(ctx, village)}</td><td class=n>{h.enterprises}</td>"
                    f"<td class=n>{h.with_violation}</td><td class=n>{h.violations}</td>"
                    f"<td class=n>{h.candidates}</td><td class=n>{h.listings}</td>"
                    f"<td class=n>{meter(h.rate)}</td></tr>")
    t = view.headline
    rows.append(f"<tr class=total><td>{ctx.bi('合计', 'total')}</td><td class=n>{t.enterprises}</td>"
                f"<td class=n>{t.with_violation}</td><td class=n>{t.violations}</td><td class=n>{t.candidates}</td>"
                f"<td class=n>{t.listings}</td><td class=n>{meter(t.rate)}</td></tr>")
    return (f"<table class=\"villages\"><thead><tr><th>{ctx.bi('村（社区）', 'village')}</th>"
            f"<th class=n>{ctx.bi('企业', 'enterprises')}</th><th class=n>{ctx.bi('有违反', 'with a violation')}</th>"
            f"<th class=n>{ctx.bi('违反项', 'violations')}</th><th class=n>{ctx.bi('查处对象', 'candidates')}</th>"
            f"<th class=n>{ctx.bi('失信记录', 'listings')}</th><th class=n>{ctx.bi('合规率', 'compliance')}</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


# ---------------------------------------------------------------------- one obligation
def message_details(text: str, title: str) -> str:
    """A message without its opening (outcome, ids, clause, title): what is particular to the enterprise."""
    core = title.rstrip("。.")
    at = text.find(core)
    if at < 0:
        return text
    return text[at + len(core):].lstrip("。.").strip()


def obligation_page(ctx: Ctx, vocab: Vocabulary, view: TownView, population: Population, rule: str,
                    policy_line: str) -> str:
    info = vocab.rules[rule]
    counts = view.by_rule.get(rule, Counter())
    trigger = info.kind == "trigger"
    title = pick(info.title, ctx.lang)
    body = [f"<h1>{e(title)}</h1>",
            f'<p class="sub">{ctx.bi("条款", "clause")} {_ids(info.implements)} · '
            f"{ctx.bi('失信行为', 'credit listing') if trigger else ctx.bi('义务', 'obligation')}"
            + (f" · {ctx.bi('严重度', 'severity')} {ctx.tx(SEVERITY[info.severity])}"
               if info.severity in SEVERITY else "")
            + f" · {ctx.t('截至', 'as of')} {view.as_of.isoformat()}</p>"]
    sample = next((r for m in view.members[:1] for r in m.result.results if r.rule == rule), None)
    quotes = ([(c.label(), c.quote) for c in sample.citations] if sample is not None
              else [(section, quote) for section, quote in info.sources])
    for label, quote_text in quotes:
        body.append(f"<blockquote>{e(label)}：“{e(quote_text)}”</blockquote>")
    # headline
    judged_rate = rate(counts)
    if trigger:
        cards = [("warn", counts[Outcome.TRIGGERED], ctx.bi("家有效失信记录", "active listings")),
                 ("", counts[Outcome.EXPIRED], ctx.bi("已过期", "expired")),
                 ("", counts[Outcome.UNKNOWN], ctx.bi("无法判断", "unknown"))]
        rate_card = ""
    else:
        cards = [("", applicable(counts), ctx.bi("家适用", "enterprises it applies to")),
                 ("bad" if counts[Outcome.VIOLATED] else "good", counts[Outcome.VIOLATED],
                  ctx.bi("家违反", "violate it")),
                 ("warn", counts[Outcome.PENDING] + counts[Outcome.UNKNOWN],
                  ctx.bi("家待履行或无法判断", "pending or unknown"))]
        rate_card = (f'<div class="kpi"><b>{pct(judged_rate)}</b><span class="what">{ctx.bi("合规率", "compliance")}'
                     f"</span></div>")
    body.append('<section id="headline" class="first"><div class="headline">')
    body.extend(f'<div class="kpi {cls}"><b>{n}</b><span class="what">{what}</span></div>' for cls, n, what in cards)
    body.append(rate_card + "</div></section>")
    # per village
    per_village = view.by_rule_village.get(rule, {})
    rows = []
    for village in view.villages:
        c = per_village.get(village, Counter())
        if trigger:
            rows.append(f"<tr><td>{_village_cell(ctx, village)}</td><td class=n>{len(view.villages[village])}</td>"
                        f"<td class=n>{c[Outcome.TRIGGERED]}</td><td class=n>{c[Outcome.UNKNOWN]}</td></tr>")
        else:
            rows.append(f"<tr><td>{_village_cell(ctx, village)}</td><td class=n>{applicable(c)}</td>"
                        f"<td class=n>{c[Outcome.VIOLATED]}</td><td class=n>{c[Outcome.PENDING]}</td>"
                        f"<td class=n>{c[Outcome.UNKNOWN]}</td><td class=n>{meter(rate(c))}</td></tr>")
    if trigger:
        head = (f"<th>{ctx.bi('村（社区）', 'village')}</th><th class=n>{ctx.bi('企业', 'enterprises')}</th>"
                f"<th class=n>{ctx.bi('有效', 'active')}</th><th class=n>{ctx.bi('无法判断', 'unknown')}</th>")
    else:
        head = (f"<th>{ctx.bi('村（社区）', 'village')}</th><th class=n>{ctx.bi('适用', 'applicable')}</th>"
                f"<th class=n>{ctx.bi('违反', 'violated')}</th><th class=n>{ctx.bi('待履行', 'pending')}</th>"
                f"<th class=n>{ctx.bi('无法判断', 'unknown')}</th><th class=n>{ctx.bi('合规率', 'compliance')}</th>")
    if vocab.has_village:
        body.append(f'<section id="villages"><h2>{ctx.bi("各村（社区）", "By village")}</h2>'
                    f'<table class="villages"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
                    + ("" if trigger else f'<p class="note">{ctx.tx(RATE_NOTE)}</p>') + "</section>")
    # the enterprises found
    wanted = Outcome.TRIGGERED if trigger else Outcome.VIOLATED
    found = [(m, r) for m in view.members for r in m.result.results if r.rule == rule and r.outcome is wanted]
    found.sort(key=lambda p: (-(p[1].days_overdue or 0), p[0].village, p[0].key))
    heading = (ctx.bi("有效失信记录的企业", "Enterprises listed") if trigger
               else ctx.bi("违反的企业", "Enterprises in violation"))
    body.append(f'<section id="enterprises"><h2>{heading} ({len(found)})</h2>')
    if found:
        written = view.messages(r for _, r in found[:MAX_LISTED])
        rows = []
        for (m, r), (_, message, remedy) in zip(found[:MAX_LISTED], written, strict=True):
            text = vocab.humanize(pick(message, ctx.lang), ctx.lang) if message is not None else ""
            fix = remedy_words(vocab, pick(remedy, ctx.lang), ctx.lang) if remedy is not None else ""
            when = (r.listed_until.isoformat() if trigger and r.listed_until
                    else str(r.days_overdue) if r.days_overdue is not None else "")
            place = f"<td>{_village_cell(ctx, m.village)}</td>" if vocab.has_village else ""
            rows.append(f"<tr><td>{_member_cell(ctx, m)}</td>{place}"
                        f"<td class=n>{e(when)}</td><td>{e(message_details(text, title) or '—')}</td>"
                        f"<td>{e(fix)}</td></tr>")
        when_head = ctx.bi("记录至", "listed until") if trigger else ctx.bi("逾期天数", "days overdue")
        body.append(f"<table class=\"found\"><thead><tr><th>{ctx.bi('企业', 'enterprise')}</th>"
                    + (f"<th>{ctx.bi('村（社区）', 'village')}</th>" if vocab.has_village else "")
                    + f"<th class=n>{when_head}</th>"
                    f"<th>{ctx.bi('情况', 'finding')}</th><th>{ctx.bi('整改建议', 'remedy')}</th></tr></thead>"
                    f"<tbody>{''.join(rows)}</tbody></table>")
        if len(found) > MAX_LISTED:
            more = len(found) - MAX_LISTED
            body.append(f'<p class="note">{ctx.t(f"另有 {more} 家未列出", f"{more} more not listed")}</p>')
    else:
        body.append(f'<p class="note">{ctx.t("没有。", "None.")}</p>')
    body.append("</section>")
    return page(ctx, Text(pick(info.title, "zh"), pick(info.title, "en")), "".join(body),
                footer=footer(ctx, policy_line, population), path="/obligation/" + segment(rule))


# ---------------------------------------------------------------------- one village
def village_page(ctx: Ctx, vocab: Vocabulary, view: TownView, population: Population, village: str,
                 policy_line: str) -> str:
    members = view.villages[village]
    h = view.village_headline(village)
    counts: dict[str, Counter[Outcome]] = {rule: per.get(village, Counter())
                                           for rule, per in view.by_rule_village.items()}
    ordered = sorted(members, key=lambda m: (-len(m.violated), -len(m.triggered), m.key))
    body = [f"<h1>{e(village)}</h1>",
            f'<p class="sub">{ctx.t(f"{h.enterprises} 家企业", f"{h.enterprises} enterprises")} · '
            f"{ctx.t('截至', 'as of')} {view.as_of.isoformat()}</p>",
            f'<section id="headline" class="first">{headline_html(ctx, h)}</section>',
            f'<section id="obligations"><h2>{ctx.bi("各项义务合规情况", "Compliance per obligation")}</h2>',
            _obligation_rows(ctx, vocab, view, counts), _trigger_rows(ctx, vocab, view, counts),
            f'<p class="note">{ctx.tx(RATE_NOTE)}</p></section>',
            f'<section id="enterprises"><h2>{ctx.bi("本村（社区）企业", "Enterprises here")}</h2>',
            worst_table(ctx, vocab, ordered, with_village=False) if ordered else "", "</section>"]
    return page(ctx, Text(village, village), "".join(body), footer=footer(ctx, policy_line, population),
                path="/village/" + segment(village))


# ---------------------------------------------------------------------- one enterprise
ORDER = {Outcome.VIOLATED: 0, Outcome.TRIGGERED: 0, Outcome.UNKNOWN: 1, Outcome.PENDING: 2, Outcome.SATISFIED: 3,
         Outcome.EXPIRED: 4, Outcome.NOT_TRIGGERED: 5, Outcome.NOT_APPLICABLE: 6}
def tree_html(ctx: Ctx, vocab: Vocabulary, result: RuleResult) -> str:
    """An explanation as nested lists, in words: each condition with its outcome and the facts it read (the
    page's language first, the other beside it)."""
    return _tree_items(ctx, explained_steps(result, vocab))


def _tree_items(ctx: Ctx, nodes: Sequence[Explained]) -> str:
    items = []
    for node in nodes:
        w = node.words
        head = f"<b>{ctx.bix(w.note)}</b> " if w.note is not None else ""
        first, second = (w.head.en, w.head.zh) if ctx.en else (w.head.zh, w.head.en)
        value = w.shown_value(ctx.lang)
        value_html = f" → <b>{e(value)}</b>" if value else ""
        other = f'<span class="alt">{e(second)}</span>' if second != first else ""
        facts = "".join(f"<li>{ctx.bix(f)}</li>" for f in node.words.facts)
        facts_html = f'<ul class="facts-read">{facts}</ul>' if facts else ""
        inner = _tree_items(ctx, node.children) if node.children else ""
        items.append(f"<li>{head}{e(first)}{value_html}{other}{facts_html}{inner}</li>")
    return f'<ul class="tree">{"".join(items)}</ul>' if items else ""


def policy_text_html(ctx: Ctx, result: RuleResult) -> str:
    """The steps as the policy writes them, with their source positions: folded, for the policy's authors (not
    printed)."""
    lines: list[str] = []

    def walk(steps: Iterable[Step], depth: int) -> None:
        for step in steps:
            where = f"   ({step.span})" if step.span else ""
            lines.append(f"{'  ' * depth}{step.expr}{where}")
            if depth < 12:
                walk(step.children, depth + 1)

    walk(result.steps, 0)
    if not lines:
        return ""
    return (f'<details class="policy-text noprint"><summary>{ctx.bi("政策原文", "policy text")}</summary>'
            f'<pre><code>{e(chr(10).join(lines))}</code></pre></details>')


def _outcome_block(ctx: Ctx, vocab: Vocabulary, r: RuleResult, open_tree: bool) -> str:
    info = vocab.rules.get(r.rule)
    title = pick(info.title, ctx.lang) if info is not None else pick(r.title, ctx.lang)
    o = outcome_text(r.outcome)
    parts = [f'<div class="outcome" id="r-{e(r.rule)}"><h3>{outcome_badge(ctx, r.outcome, o.zh, o.en)} '
             f"{ctx.link('/obligation/' + segment(r.rule), e(title))} "
             f'<span class="alt">{_ids(r.implements)}</span></h3>']
    if r.message is not None:
        said = message_details(vocab.humanize(pick(r.message, ctx.lang), ctx.lang), title)
        if said:
            parts.append(f"<p>{e(said)}</p>")
    if r.remedy is not None:
        fix = remedy_words(vocab, pick(r.remedy, ctx.lang), ctx.lang)
        parts.append(f"<p><b>{ctx.bi('整改建议', 'remedy')}</b>：{e(fix)}</p>")
    for c in r.citations:
        parts.append(f"<blockquote><b>{ctx.bi('依据', 'clause')}</b> {e(c.label())}：“{e(c.quote)}”</blockquote>")
    if r.params:
        shown = "；".join(f"{ctx.bix(vocab.param_title(p.name))} = {e(vocab.param_value(p.name, p.value, ctx.lang))}"
                         + (ctx.t("（情景调整）", " (overridden)") if p.overridden else "") for p in r.params)
        parts.append(f'<p class="note">{ctx.bi("参数", "params")}：{shown}</p>')
    tree = tree_html(ctx, vocab, r)
    if tree:
        parts.append(f"<details{' open' if open_tree else ''}><summary>{ctx.bi('判断过程', 'how it was decided')}"
                     f"</summary>{tree}{policy_text_html(ctx, r)}</details>")
    parts.append("</div>")
    return "".join(parts)


def _compact_rows(ctx: Ctx, vocab: Vocabulary, results: Sequence[RuleResult]) -> str:
    """Outcomes that ask nothing of the enterprise, one row each (the explanation folded in)."""
    rows = []
    for r in results:
        info = vocab.rules.get(r.rule)
        title = pick(info.title, ctx.lang) if info is not None else pick(r.title, ctx.lang)
        said = message_details(vocab.humanize(pick(r.message, ctx.lang), ctx.lang), title) if r.message else ""
        tree = tree_html(ctx, vocab, r)
        folded = (f"<details><summary>{ctx.bi('判断过程', 'how it was decided')}</summary>{tree}"
                  f"{policy_text_html(ctx, r)}</details>" if tree else "")
        rows.append(f'<tr id="r-{e(r.rule)}"><td>{_ids(r.implements)}</td>'
                    f"<td>{ctx.link('/obligation/' + segment(r.rule), e(title))}</td><td>{e(said)}{folded}</td></tr>")
    return (f'<table class="compact"><thead><tr><th>{ctx.bi("条款", "clause")}</th><th>{ctx.bi("义务", "obligation")}'
            f'</th><th>{ctx.bi("情况", "details")}</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def facts_html(ctx: Ctx, vocab: Vocabulary, record: dict[str, Any], prefix: str = "", depth: int = 0) -> str:
    """A record's facts with their labels: scalars as a definition list, lists of records as tables."""
    items = []
    for name, value in record.items():
        path = prefix + name
        label = e(pick(vocab.fields[path], ctx.lang)) if path in vocab.fields else e(name)
        if isinstance(value, dict) and depth < 6:
            inner = facts_html(ctx, vocab, value, path + ".", depth + 1)
            items.append(f'<dt>{label}</dt><dd><dl class="facts">{inner}</dl></dd>')
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value) and depth < 6:
            columns: list[str] = []
            for item in value:
                columns.extend(k for k in item if k not in columns)
            head = "".join(f"<th>{e(vocab.field(path + '.' + c, ctx.lang).split(' · ')[-1])}</th>"
                           for c in columns)
            rows = "".join("<tr>" + "".join(f"<td>{e(_cell(vocab, path + '.' + c, item.get(c), ctx.lang))}</td>"
                                            for c in columns) + "</tr>" for item in value)
            items.append(f"<dt>{label}</dt><dd><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></dd>")
        else:
            items.append(f"<dt>{label}</dt><dd>{e(_cell(vocab, path, value, ctx.lang))}</dd>")
    return "".join(items)


def _cell(vocab: Vocabulary, path: str, value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{vocab.field(f'{path}.{k}', lang).split(' · ')[-1]}: {_cell(vocab, f'{path}.{k}', v, lang)}"
                         for k, v in value.items())
    if value is None:
        return "—"
    return vocab.value(path, value, lang)


def enterprise_page(ctx: Ctx, vocab: Vocabulary, member: Member, result: EnterpriseResult, population: Population,
                    policy_line: str) -> str:
    results = sorted(result.results, key=lambda r: ORDER.get(r.outcome, 9))
    counts = Counter(r.outcome for r in result.results)
    listed = counts[Outcome.TRIGGERED]
    violated = len(member.violated)
    name = member.name or member.key
    body = [f"<h1>{e(name)}</h1>",
            f'<p class="sub">{e(member.key)}'
            + (f" · {_village_cell(ctx, member.village)}" if vocab.has_village else "")
            + (f" · {_industry(ctx, vocab, member)}" if member.industry else "")
            + f" · {ctx.t('截至', 'as of')} {result.as_of.isoformat()}</p>",
            '<section id="headline" class="first"><div class="headline">',
            f'<div class="kpi {"bad" if violated else "good"}"><b>{violated}</b><span class="what">'
            f'{ctx.bi("项违反", "violations")}</span></div>',
            f'<div class="kpi {"warn" if listed else "good"}"><b>{listed}</b><span class="what">'
            f'{ctx.bi("条有效失信记录", "active credit listings")}</span></div>',
            f'<div class="kpi {"bad" if member.candidate else "good"}">'
            f'<b>{ctx.t("是", "yes") if member.candidate else ctx.t("否", "no")}</b>'
            f'<span class="what">{ctx.bi("查处对象", "enforcement candidate")}</span></div>',
            f'<div class="kpi"><b>{counts[Outcome.UNKNOWN]}</b><span class="what">{ctx.bi("项无法判断", "unknown")}'
            "</span></div></div></section>"]
    groups = [  # (heading, outcomes, explanation open, one block each — else a row each)
        (ctx.bi("违反与失信记录", "Violations and credit listings"), (Outcome.VIOLATED, Outcome.TRIGGERED), True, True),
        (ctx.bi("无法判断（缺少事实）", "Unknown (facts missing)"), (Outcome.UNKNOWN,), False, True),
        (ctx.bi("待履行", "Pending"), (Outcome.PENDING,), False, True),
        (ctx.bi("符合", "Satisfied"), (Outcome.SATISFIED, Outcome.NOT_TRIGGERED, Outcome.EXPIRED), False, False),
        (ctx.bi("不适用", "Not applicable"), (Outcome.NOT_APPLICABLE,), False, False),
    ]
    for heading, outcomes, open_tree, blocks in groups:
        chosen = [r for r in results if r.outcome in outcomes]
        if not chosen:
            continue
        body.append(f"<section><h2>{heading} ({len(chosen)})</h2>")
        if blocks:
            body.extend(_outcome_block(ctx, vocab, r, open_tree) for r in chosen)
        else:
            body.append(_compact_rows(ctx, vocab, chosen))
        body.append("</section>")
    body.append(f'<section id="facts"><h2>{ctx.bi("企业事实", "The facts")}</h2>'
                f'<dl class="facts">{facts_html(ctx, vocab, member.record)}</dl></section>')
    return page(ctx, Text(name, name), "".join(body), footer=footer(ctx, policy_line, population),
                path="/enterprise/" + segment(member.key))


# ---------------------------------------------------------------------- errors
def error_page(ctx: Ctx, title: Text, message: Text, policy_line: str = "") -> str:
    body = (f"<h1>{ctx.bix(title)}</h1><p class=\"error\">{ctx.tx(message)}</p>"
            f'<p>{ctx.link("/", ctx.bi("返回全镇概况", "back to the town"))}</p>')
    return page(ctx, title, body, footer=policy_line, as_of_form=False)
