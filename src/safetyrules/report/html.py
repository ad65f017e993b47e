"""A self-contained HTML report of a what-if run: tables and inline SVG charts, no network needed.

It opens with the headline — violations, enterprises with a violation and outcomes changed, base against
scenario — then what the scenario changes, obligation by obligation (named by catalogue id and title, never
by rule name). Charts only where base and scenario differ: the compliance curve of each obligation whose
curve moves, and enterprises with a violation by village when a village's count moves. Print CSS keeps it to
a few pages. Everything a regulator reads is in Chinese with English beside it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from safetyrules.engine.results import OUTCOME_ZH, Outcome
from safetyrules.report.reasons import because_text
from safetyrules.whatif.run import WhatIfResult

PALETTE = ("#1f77b4", "#d62728")  # base, scenario

CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}
td.l,th.l{text-align:left}.up{color:#b00}.down{color:#070}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #ddd;padding:6px}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
.headline{display:flex;gap:16px;flex-wrap:wrap}.headline div{border:1px solid #ccc;padding:8px 14px}
.headline b{display:block;font-size:22px}.quiet{color:#666}.alt{color:#666}
@media print{body{margin:0;font-size:11px}.charts{display:block}.chart{break-inside:avoid}
h2{break-after:avoid}tr{break-inside:avoid}thead{display:table-header-group}}
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def line_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]],
               width: int = 360, height: int = 180) -> str:
    """An SVG line chart of percentages (0–100) with one line per series."""
    left, bottom, top, right = 36, 24, 22, 8
    w, h = width - left - right, height - top - bottom
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (w * i / (n - 1) if n > 1 else w / 2)

    def y(v: float) -> float:
        return top + h - h * v / 100

    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{_e(title)}">', f'<text x="{left}" y="14" font-size="12">{_e(title)}</text>']
    for pct in (0, 50, 100):
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y(pct):.1f}" y2="{y(pct):.1f}" stroke="#eee"/>'
                     f'<text x="2" y="{y(pct) + 4:.1f}" font-size="10">{pct}%</text>')
    for k, (name, values) in enumerate(series):
        points = [f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values) if v is not None]
        if len(points) == 1:
            cx, cy = points[0].split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{PALETTE[k % 2]}">'
                         f'<title>{_e(name)}</title></circle>')
        elif points:
            parts.append(f'<polyline fill="none" stroke="{PALETTE[k % 2]}" stroke-width="2" '
                         f'points="{" ".join(points)}"><title>{_e(name)}</title></polyline>')
    if labels:
        parts.append(f'<text x="{left}" y="{height - 6}" font-size="10">{_e(labels[0])}</text>')
        parts.append(f'<text x="{left + w}" y="{height - 6}" font-size="10" text-anchor="end">{_e(labels[-1])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, rows: Sequence[tuple[str, int, int]], width: int = 560) -> str:
    """Grouped horizontal bars: per label, base and scenario counts."""
    bar, gap, left = 9, 8, 110
    height = 30 + len(rows) * (2 * bar + gap)
    top = max([1, *(max(b, s) for _, b, s in rows)])
    scale = (width - left - 40) / top
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{_e(title)}">', f'<text x="4" y="14" font-size="12">{_e(title)}</text>']
    yy = 26
    for label, b, s in rows:
        parts.append(f'<text x="4" y="{yy + bar + 3}" font-size="11">{_e(label)}</text>')
        for k, v in enumerate((b, s)):
            parts.append(f'<rect x="{left}" y="{yy + k * bar}" width="{v * scale:.1f}" height="{bar - 1}" '
                         f'fill="{PALETTE[k]}"><title>{v}</title></rect>'
                         f'<text x="{left + v * scale + 4:.1f}" y="{yy + k * bar + bar - 1}" font-size="9">{v}</text>')
        yy += 2 * bar + gap
    parts.append("</svg>")
    return "".join(parts)


def render_html(result: WhatIfResult) -> str:
    s = result.scenario
    last = result.dates[-1]
    labels = [d.as_of.isoformat() for d in result.dates]
    titles = {rule: f"{', '.join(ids)} {title}".strip() for rule, ids, title in result.rules}
    out = ["<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\">",
           f"<title>{_e(s.name)} — safetyrules what-if</title><style>{CSS}</style></head><body>",
           f"<h1>情景分析 What-if: {_e(s.name)}</h1>"]
    out.extend(_headline(result))
    out.extend(["<h2>情景调整 What the scenario changes</h2><ul>",
                *(f"<li>参数 param {_e(_param_title(result, k))}<code>{_e(k)}</code> = {_e(v)}</li>"
                  for k, v in s.params.items()),
                *(f"<li>停用义务 obligation switched off: {_e(titles.get(r, r))}</li>" for r in sorted(s.rules_off)),
                *(f"<li>新增规则 rules added from <code>{_e(p.name)}</code></li>" for p in s.rules_add),
                *(f"<li>事实修改 fact patch {i + 1}</li>" for i, _ in enumerate(s.patches)),
                f"<li>日期 dates: {_e(labels[0])} … {_e(labels[-1])} ({len(labels)})</li></ul>"])
    # compliance curves: only the obligations whose curve the scenario moves
    moved = []
    for rule, _ids, _title in result.rules:
        series = [(side, [_pct(result.compliance(side, rule, d)) for d in result.dates])
                  for side in ("base", "scenario")]
        if series[0][1] != series[1][1]:
            moved.append(line_chart(titles[rule][:24], labels, series))
    out.append("<h2>合规率变化 Compliance that changes</h2>")
    if moved:
        out.append("<p class=\"legend\">"
                   f"<span style=\"background:{PALETTE[0]}\"></span>基准 base"
                   f"<span style=\"background:{PALETTE[1]}\"></span>情景 scenario</p>")
        out.append("<div class=\"charts\" id=\"curves\">" + "".join(moved) + "</div>")
    else:
        out.append("<p class=\"quiet\" id=\"curves\">情景未改变任何义务的合规率 / the scenario changes no "
                   "obligation's compliance rate</p>")
    # villages: a chart only when some village's count moves
    villages = sorted(set(last.by_village["base"]) | set(last.by_village["scenario"]))
    rows = [(v, last.by_village["base"][v]["with_violation"], last.by_village["scenario"][v]["with_violation"])
            for v in villages]
    out.append(f"<h2>各村有违反的企业 Enterprises with a violation by village — {last.as_of}</h2>")
    if any(b != sc for _, b, sc in rows):
        out.append(f"<div id=\"villages\">{bar_chart('有违反的企业数 enterprises with a violation', rows)}</div>")
    else:
        out.append("<p class=\"quiet\" id=\"villages\">各村数字不变 / no village's count changes</p>")
    # per-obligation table: those that change first
    out.append(f"<h2>各项义务 By obligation — {last.as_of}</h2><table id=\"by-rule\"><thead><tr>"
               "<th class=l>条款 id</th><th class=l>义务 obligation</th><th>违反 violated<br>基准 base</th>"
               "<th>情景 scenario</th><th>Δ</th><th>合规率 rate<br>基准 base</th><th>情景 scenario</th></tr></thead>")
    table = []
    for rule, ids, title in result.rules:
        b = last.count("base", rule)
        sc = last.count("scenario", rule)
        table.append((sc == b, rule, ids, title, b, sc))
    for _same, rule, ids, title, b, sc in sorted(table, key=lambda row: row[0]):
        delta = sc - b
        cls = "up" if delta > 0 else "down" if delta < 0 else ""
        out.append(f"<tr><td class=l>{_e(', '.join(ids))}</td><td class=l>{_e(title)}</td><td>{b}</td><td>{sc}</td>"
                   f"<td class=\"{cls}\">{delta:+d}</td><td>{_fmt(result.compliance('base', rule, last))}</td>"
                   f"<td>{_fmt(result.compliance('scenario', rule, last))}</td></tr>")
    out.append("</table>")
    # industries
    out.append(f"<h2>各行业 By industry — {last.as_of}</h2><table id=\"by-industry\"><thead><tr>"
               "<th class=l>行业 industry</th><th>企业 enterprises</th><th>有违反 base</th><th>有违反 scenario</th>"
               "</tr></thead>")
    for ind in sorted(set(last.by_industry["base"]) | set(last.by_industry["scenario"])):
        b_c, s_c = last.by_industry["base"][ind], last.by_industry["scenario"][ind]
        out.append(f"<tr><td class=l>{_e(ind)}</td><td>{b_c['enterprises']}</td><td>{b_c['with_violation']}</td>"
                   f"<td>{s_c['with_violation']}</td></tr>")
    out.append("</table>")
    # changes, grouped by obligation
    changes = sorted((c for d in result.dates for c in d.changes),
                     key=lambda c: (titles.get(c.rule, c.rule), c.as_of, c.enterprise))
    out.append(f"<h2>结果变化的企业 Enterprises whose outcome changed ({len(changes)})</h2>"
               "<table id=\"changes\"><thead><tr><th class=l>义务 obligation</th><th class=l>日期 as of</th>"
               "<th class=l>企业 enterprise</th><th class=l>名称 name</th><th class=l>村 village</th>"
               "<th class=l>基准 base</th><th class=l>情景 scenario</th><th class=l>原因 because</th></tr></thead>")
    for c in changes[:2000]:
        out.append(f"<tr><td class=l>{_e(titles.get(c.rule, ', '.join(c.implements)))}</td><td class=l>{c.as_of}</td>"
                   f"<td class=l>{_e(c.enterprise)}</td><td class=l>{_e(c.name)}</td><td class=l>{_e(c.village)}</td>"
                   f"<td class=l>{_e(_outcome(c.base))}</td><td class=l>{_e(_outcome(c.scenario))}</td>"
                   f"<td class=l>{_e(because_text(c.because, result.param_labels, 'zh'))}<br><span class=alt>"
                   f"{_e(because_text(c.because, result.param_labels, 'en'))}</span></td></tr>")
    if len(changes) > 2000:
        out.append(f"<tr><td class=l colspan=8>… {len(changes) - 2000} more in the JSON and Excel reports</td></tr>")
    out.append("</table></body></html>")
    return "\n".join(out)


def _param_title(result: WhatIfResult, name: str) -> str:
    """A param's label in both languages, before its name (nothing when it has no label)."""
    label = result.param_labels.get(name)
    return f"{label.zh} / {label.en} " if label is not None else ""


def _headline(result: WhatIfResult) -> list[str]:
    """The figures a reader looks for first, on the last date: violations, enterprises with a violation,
    outcomes changed."""
    last = result.dates[-1]
    violations = {side: sum(last.count(side, rule) for rule, _, _ in result.rules) for side in ("base", "scenario")}
    with_violation = {side: sum(v["with_violation"] for v in last.by_village[side].values())
                      for side in ("base", "scenario")}
    changed = {(c.enterprise, c.rule) for c in last.changes}
    enterprises = {c.enterprise for c in last.changes}

    def box(zh: str, en: str, base: int, scenario: int) -> str:
        delta = scenario - base
        cls = "up" if delta > 0 else "down" if delta < 0 else ""
        return (f"<div>{zh} {en}<b class=\"{cls}\">{base} → {scenario} ({delta:+d})</b>"
                f"<span class=\"quiet\">基准 base → 情景 scenario</span></div>")

    return [f"<h2>概要 Headline — {last.as_of}</h2><div class=\"headline\" id=\"headline\">",
            box("违反", "violations", violations["base"], violations["scenario"]),
            box("有违反的企业", "enterprises with a violation", with_violation["base"], with_violation["scenario"]),
            f"<div>结果改变 outcomes changed<b>{len(changed)}</b><span class=\"quiet\">{len(enterprises)} 家企业 "
            "enterprises</span></div></div>"]


def _outcome(outcome: Outcome) -> str:
    return f"{OUTCOME_ZH[outcome]} {outcome.value}"


def _pct(v: float | None) -> float | None:
    return None if v is None else 100 * v


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.0f}%"
