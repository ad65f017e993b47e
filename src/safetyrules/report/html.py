"""A self-contained HTML report of a what-if run: tables and inline SVG charts, no network needed.

Charts: the compliance curve of each obligation over the dates (base vs scenario), and enterprises with a
violation by village. Everything a regulator reads is in Chinese with English beside it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

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
    out = ["<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\">",
           f"<title>{_e(s.name)} — safetyrules what-if</title><style>{CSS}</style></head><body>",
           f"<h1>情景分析 What-if: {_e(s.name)}</h1>",
           "<p class=\"legend\">"
           f"<span style=\"background:{PALETTE[0]}\"></span>基准 base"
           f"<span style=\"background:{PALETTE[1]}\"></span>情景 scenario</p>",
           "<ul>",
           *(f"<li>参数 param <code>{_e(k)}</code> = {_e(v)}</li>" for k, v in s.params.items()),
           *(f"<li>停用规则 rule switched off: <code>{_e(r)}</code></li>" for r in sorted(s.rules_off)),
           *(f"<li>新增规则 rules added from <code>{_e(p.name)}</code></li>" for p in s.rules_add),
           *(f"<li>事实修改 fact patch {i + 1}</li>" for i, _ in enumerate(s.patches)),
           f"<li>日期 dates: {_e(labels[0])} … {_e(labels[-1])} ({len(labels)})</li></ul>"]
    # compliance curves
    out.append("<h2>合规率曲线 Compliance over time</h2><div class=\"charts\" id=\"curves\">")
    for rule, ids, title in result.rules:
        series = [(side, [_pct(result.compliance(side, rule, d)) for d in result.dates])
                  for side in ("base", "scenario")]
        if all(v is None for _, vals in series for v in vals):
            continue
        out.append(line_chart(f"{', '.join(ids)} {title[:18]}", labels, series))
    out.append("</div>")
    # villages
    villages = sorted(set(last.by_village["base"]) | set(last.by_village["scenario"]))
    rows = [(v, last.by_village["base"][v]["with_violation"], last.by_village["scenario"][v]["with_violation"])
            for v in villages]
    out.append(f"<h2>各村有违反的企业 Enterprises with a violation by village — {last.as_of}</h2>")
    out.append(f"<div id=\"villages\">{bar_chart('有违反的企业数 enterprises with a violation', rows)}</div>")
    # per-rule table
    out.append(f"<h2>各项义务 By obligation — {last.as_of}</h2><table id=\"by-rule\"><tr><th class=l>id</th>"
               "<th class=l>规则 rule</th><th>违反 violated<br>基准 base</th><th>情景 scenario</th><th>Δ</th>"
               "<th>合规率 rate<br>基准 base</th><th>情景 scenario</th></tr>")
    for rule, ids, _title in result.rules:
        b = last.count("base", rule)
        sc = last.count("scenario", rule)
        delta = sc - b
        cls = "up" if delta > 0 else "down" if delta < 0 else ""
        out.append(f"<tr><td class=l>{_e(', '.join(ids))}</td><td class=l>{_e(rule)}</td><td>{b}</td><td>{sc}</td>"
                   f"<td class=\"{cls}\">{delta:+d}</td><td>{_fmt(result.compliance('base', rule, last))}</td>"
                   f"<td>{_fmt(result.compliance('scenario', rule, last))}</td></tr>")
    out.append("</table>")
    # industries
    out.append(f"<h2>各行业 By industry — {last.as_of}</h2><table id=\"by-industry\"><tr><th class=l>行业 industry"
               "</th><th>企业 enterprises</th><th>有违反 base</th><th>有违反 scenario</th></tr>")
    for ind in sorted(set(last.by_industry["base"]) | set(last.by_industry["scenario"])):
        b_c, s_c = last.by_industry["base"][ind], last.by_industry["scenario"][ind]
        out.append(f"<tr><td class=l>{_e(ind)}</td><td>{b_c['enterprises']}</td><td>{b_c['with_violation']}</td>"
                   f"<td>{s_c['with_violation']}</td></tr>")
    out.append("</table>")
    # changes
    changes = [c for d in result.dates for c in d.changes]
    out.append(f"<h2>结果变化的企业 Enterprises whose outcome changed ({len(changes)})</h2>"
               "<table id=\"changes\"><tr><th class=l>日期 as of</th><th class=l>企业 enterprise</th>"
               "<th class=l>名称 name</th><th class=l>村 village</th><th class=l>id</th><th class=l>规则 rule</th>"
               "<th class=l>基准 base</th><th class=l>情景 scenario</th><th class=l>原因 because</th></tr>")
    for c in changes[:2000]:
        out.append(f"<tr><td class=l>{c.as_of}</td><td class=l>{_e(c.enterprise)}</td><td class=l>{_e(c.name)}</td>"
                   f"<td class=l>{_e(c.village)}</td><td class=l>{_e(', '.join(c.implements))}</td>"
                   f"<td class=l>{_e(c.rule)}</td><td class=l>{_e(c.base.value)}</td>"
                   f"<td class=l>{_e(c.scenario.value)}</td><td class=l>{_e(c.because)}</td></tr>")
    if len(changes) > 2000:
        out.append(f"<tr><td class=l colspan=9>… {len(changes) - 2000} more in the JSON and Excel reports</td></tr>")
    out.append("</table></body></html>")
    return "\n".join(out)


def _pct(v: float | None) -> float | None:
    return None if v is None else 100 * v


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.0f}%"
