"""The console's page frame: the stylesheet (screen and print), navigation, bilingual text, links, numbers and
inline SVG bars. Every string that reaches a page goes through `html.escape` here or in the page functions.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from safetyrules.engine.results import Outcome, Text

BASE = "/console"

CSS = """
:root{--ink:#1d2330;--mute:#667085;--line:#d9dee7;--soft:#f5f7fa;--bad:#b42318;--warn:#b54708;--good:#067647;
--accent:#1f4e9c}
*{box-sizing:border-box}
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif;
margin:0;color:var(--ink);font-size:15px;line-height:1.5;background:#fff}
header.bar{display:flex;flex-wrap:wrap;gap:6px 18px;align-items:center;padding:8px 24px;background:var(--accent);
color:#fff}
header.bar a{color:#fff;text-decoration:none;font-weight:600}header.bar a.here{text-decoration:underline}
header.bar form{margin-left:auto;display:flex;gap:6px;align-items:center}
header.bar input{font:inherit;padding:1px 4px}
main{max-width:1180px;margin:0 auto;padding:12px 24px 32px}
h1{font-size:24px;margin:10px 0 2px}h2{font-size:19px;margin:26px 0 8px;border-bottom:2px solid var(--line);
padding-bottom:3px}h3{font-size:16px;margin:16px 0 6px}
.alt{color:var(--mute);font-size:.82em;font-weight:normal;margin-left:.35em}
.sub{color:var(--mute);margin:0 0 10px}
a{color:var(--accent)}
.headline{display:grid;grid-template-columns:repeat(auto-fit,minmax(210px,1fr));gap:12px;margin:14px 0 6px}
.kpi{border:1px solid var(--line);border-left:6px solid var(--accent);border-radius:6px;padding:10px 14px;
background:var(--soft)}
.kpi b{display:block;font-size:32px;line-height:1.1}.kpi .what{font-weight:600}.kpi small{display:block;
color:var(--mute)}
.kpi.bad{border-left-color:var(--bad)}.kpi.bad b{color:var(--bad)}.kpi.warn{border-left-color:var(--warn)}
.kpi.good{border-left-color:var(--good)}
.delta{font-size:15px;font-weight:600}.up{color:var(--bad)}.down{color:var(--good)}.same{color:var(--mute)}
table{border-collapse:collapse;margin:6px 0 10px;width:100%;font-size:14px}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}td.n,th.n{text-align:right;white-space:nowrap}
th .alt{display:block;margin:0;font-size:.78em}
table.obligations td:nth-child(2),table.triggers td:nth-child(2),table.worst td:last-child{min-width:16em}
tr.total td{font-weight:600;border-top:2px solid var(--line)}
.meter{display:inline-block;width:70px;height:9px;background:#e6e9ef;border-radius:2px;margin-right:6px;
vertical-align:middle;overflow:hidden}.meter span{display:block;height:100%;background:var(--good)}
.meter.low span{background:var(--bad)}.meter.mid span{background:var(--warn)}
.o{display:inline-block;padding:0 6px;border-radius:3px;font-size:13px;white-space:nowrap;border:1px solid}
.o-violated,.o-triggered{color:var(--bad);border-color:var(--bad)}.o-pending,.o-unknown{color:var(--warn);
border-color:var(--warn)}.o-satisfied,.o-not_triggered{color:var(--good);border-color:var(--good)}
.o-not_applicable,.o-expired{color:var(--mute);border-color:var(--line)}
.note{color:var(--mute);font-size:13px}
.notice{border:1px solid var(--warn);background:#fffaeb;padding:8px 12px;border-radius:6px}
.error{border:1px solid var(--bad);background:#fef3f2;padding:8px 12px;border-radius:6px}
blockquote{margin:6px 0;padding:4px 12px;border-left:4px solid var(--line);color:#344054;background:var(--soft)}
.outcome{border:1px solid var(--line);border-radius:6px;padding:8px 14px;margin:10px 0}
.outcome h3{margin:2px 0 6px}
ul.tree{margin:4px 0;padding-left:20px;font-size:13px}ul.tree ul{padding-left:20px}
ul.tree code,code{font-family:"Noto Sans Mono CJK SC",ui-monospace,monospace;font-size:12.5px;background:var(--soft);
padding:0 3px}
.facts dt{font-weight:600;margin-top:4px}.facts dd{margin:0 0 2px 16px}
form.whatif fieldset{border:1px solid var(--line);border-radius:6px;margin:10px 0;padding:8px 14px}
form.whatif label{display:block;margin:6px 0}form.whatif input[type=text]{width:260px;font:inherit}
form.whatif .doc{display:block;color:var(--mute);font-size:13px;margin-left:2px}
button{font:inherit;padding:4px 14px}
svg.chart{display:block;margin:6px 0}
footer{color:var(--mute);font-size:12px;border-top:1px solid var(--line);margin-top:28px;padding-top:6px}
@page{size:A4;margin:14mm 12mm}
@media print{
  body{font-size:10.5pt}
  header.bar,form,nav,button,.noprint{display:none!important}
  main{max-width:none;padding:0}
  section{break-before:page;page-break-before:always}
  section.first,section.flow,section:first-of-type{break-before:auto;page-break-before:auto}
  h2,h3{break-after:avoid;page-break-after:avoid}
  tr,li,.kpi,.outcome,blockquote,svg{break-inside:avoid;page-break-inside:avoid}
  thead{display:table-header-group}
  table{font-size:9.5pt}th,td{padding:2px 5px}
  .meter{width:34px}
  a{color:inherit;text-decoration:none}
  .meter,.kpi,.o{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  details{display:block}details>summary{list-style:none}
  .headline{grid-template-columns:repeat(4,1fr)}
}
"""

PALETTE = ("#8da2c8", "#b42318")  # base, scenario


def e(text: object) -> str:
    return html.escape(str(text), quote=True)


@dataclass(frozen=True, slots=True)
class Ctx:
    """How one request is rendered: the language, the as-of date and whether pages link to each other."""

    lang: str
    as_of: dt.date
    default_as_of: dt.date
    links: bool = True

    @property
    def en(self) -> bool:
        return self.lang == "en"

    def t(self, zh: str, en: str) -> str:
        """One language's text, escaped."""
        return e(en if self.en else zh)

    def tx(self, text: Text) -> str:
        return self.t(text.zh, text.en)

    def bi(self, zh: str, en: str) -> str:
        """A label in the page's language with the other beside it, smaller."""
        first, second = (en, zh) if self.en else (zh, en)
        if first == second:
            return e(first)
        return f'{e(first)}<span class="alt">{e(second)}</span>'

    def bix(self, text: Text) -> str:
        return self.bi(text.zh, text.en)

    def url(self, path: str, **params: str) -> str:
        """A console URL keeping the language and a chosen as-of date (escaped for an attribute)."""
        query: dict[str, str] = {}
        if self.en:
            query["lang"] = "en"
        if self.as_of != self.default_as_of:
            query["as_of"] = self.as_of.isoformat()
        query.update({k: v for k, v in params.items() if v})
        return e(BASE + path + ("?" + urlencode(query) if query else ""))

    def link(self, path: str, text: str, **params: str) -> str:
        """`text` (already escaped) linked to a console page, or plain when the page stands alone."""
        if not self.links:
            return text
        return f'<a href="{self.url(path, **params)}">{text}</a>'


def segment(value: str) -> str:
    """A path segment (an enterprise id, a village name) quoted for a URL."""
    return quote(value, safe="")


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def meter(value: float | None) -> str:
    """A rate as a small bar and its percentage."""
    if value is None:
        return '<span class="note">—</span>'
    level = "low" if value < 0.7 else "mid" if value < 0.9 else ""
    return (f'<span class="meter {level}"><span style="width:{100 * value:.0f}%"></span></span>'
            f"{pct(value)}")


def outcome_badge(ctx: Ctx, outcome: Outcome, zh: str, en: str) -> str:
    return f'<span class="o o-{e(outcome.value)}">{ctx.t(zh, en)}</span>'


def delta(base: int, scenario: int) -> str:
    d = scenario - base
    cls = "up" if d > 0 else "down" if d < 0 else "same"
    return f'<span class="delta {cls}">{d:+d}</span>'


def page(ctx: Ctx, title: Text, body: str, *, here: str = "", footer: str = "", as_of_form: bool = True,
         path: str = "/") -> str:
    """A whole page: head with the stylesheet, the navigation bar (screen only), `body`, a footer."""
    other = "zh" if ctx.en else "en"
    toggle_query: dict[str, str] = {"lang": other} if other == "en" else {}
    if ctx.as_of != ctx.default_as_of:
        toggle_query["as_of"] = ctx.as_of.isoformat()
    toggle = e(BASE + path + ("?" + urlencode(toggle_query) if toggle_query else ""))
    nav = ""
    if ctx.links:
        items = [("town", "/", ctx.bi("全镇概况", "Town")), ("whatif", "/whatif", ctx.bi("情景推演", "What-if"))]
        links = "".join(f'<a href="{ctx.url(p)}"{" class=here" if key == here else ""}>{text}</a>'
                        for key, p, text in items)
        date_form = ""
        if as_of_form:
            hidden = '<input type="hidden" name="lang" value="en">' if ctx.en else ""
            date_form = (f'<form method="get" action="{e(BASE + path)}">{hidden}'
                         f'<label>{ctx.bi("评估日期", "as of")} <input type="date" name="as_of" '
                         f'value="{ctx.as_of.isoformat()}" required></label>'
                         f'<button type="submit">{ctx.t("查看", "Show")}</button></form>')
        nav = (f'<header class="bar"><nav>{links}</nav>'
               f'<a href="{toggle}" lang="{other}">{"中文" if ctx.en else "English"}</a>{date_form}</header>')
    lang = "en" if ctx.en else "zh-CN"
    return (f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title.en if ctx.en else title.zh)}</title><style>{CSS}</style></head>"
            f"<body>{nav}<main>{body}<footer>{footer}</footer></main></body></html>\n")


def bars(ctx: Ctx, title: str, rows: Sequence[tuple[str, int, int]], width: int = 720) -> str:
    """Horizontal bars, base and scenario per row, each with its label above (inline SVG, no script)."""
    bar, label_h, gap, left = 11, 15, 8, 8
    height = 26 + len(rows) * (label_h + 2 * bar + gap)
    top = max([1, *(max(b, s) for _, b, s in rows)])
    scale = (width - left - 60) / top
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{e(title)}">',
             f'<text x="{left}" y="15" font-size="13" font-weight="600">{e(title)}</text>']
    y = 26
    for label, b, s in rows:
        parts.append(f'<text x="{left}" y="{y + 11}" font-size="12">{e(label)}</text>')
        y += label_h
        for k, v in enumerate((b, s)):
            name = ctx.t("基准", "base") if k == 0 else ctx.t("情景", "scenario")
            parts.append(f'<rect x="{left}" y="{y + k * bar}" width="{max(v * scale, 1):.1f}" height="{bar - 2}" '
                         f'fill="{PALETTE[k]}"><title>{name} {v}</title></rect>'
                         f'<text x="{left + v * scale + 4:.1f}" y="{y + k * bar + bar - 3}" font-size="10">'
                         f"{name} {v}</text>")
        y += 2 * bar + gap
    parts.append("</svg>")
    return "".join(parts)
