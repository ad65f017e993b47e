"""The what-if tables as an Excel workbook, for regulators who work in Excel: first a sheet saying what the
scenario changed, then one sheet per table (by obligation, by village, by industry, the changed outcomes).

Headers are Chinese; obligations are named by their catalogue ids and titles (the rule's name is the last
column, to join with `whatif.json`); compliance rates are numbers formatted as percentages; dates are dates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from safetyrules.engine.results import OUTCOME_ZH, Outcome, Text
from safetyrules.facts.models import ENUM_LABELS_ZH, Industry
from safetyrules.report.explain import value_text
from safetyrules.report.reasons import because_text
from safetyrules.whatif.run import Change, WhatIfResult

INDUSTRY_ZH = ENUM_LABELS_ZH[Industry]
PERCENT = "0.0%"
DATE = "yyyy-mm-dd"


def write_workbook(result: WhatIfResult, path: Path) -> None:
    wb = Workbook()
    about = wb.active
    assert about is not None
    about.title = "scenario"
    _scenario_sheet(about, result)
    titles = {name: title for name, _, title in result.rules}

    by_rule = wb.create_sheet("by_rule")
    by_rule.append(["评估日期", "条款", "义务", "违反（基准）", "违反（情景）", "变化", "合规率（基准）",
                    "合规率（情景）", "规则名"])
    for d in result.dates:
        for rule, ids, title in result.rules:
            b = d.count("base", rule)
            s = d.count("scenario", rule)
            by_rule.append([d.as_of, ", ".join(ids), title, b, s, s - b,
                            result.compliance("base", rule, d), result.compliance("scenario", rule, d), rule])
    _format(by_rule, dates=(1,), percents=(7, 8), widths={3: 60, 9: 30})

    villages = wb.create_sheet("by_village")
    villages.append(["评估日期", "村（社区）", "企业数", "有违反的企业（基准）", "有违反的企业（情景）", "变化"])
    for d in result.dates:
        for v in sorted(set(d.by_village["base"]) | set(d.by_village["scenario"])):
            b, s = d.by_village["base"][v]["with_violation"], d.by_village["scenario"][v]["with_violation"]
            villages.append([d.as_of, v, d.by_village["base"][v]["enterprises"], b, s, s - b])
    _format(villages, dates=(1,))

    industries = wb.create_sheet("by_industry")
    industries.append(["评估日期", "行业", "企业数", "有违反的企业（基准）", "有违反的企业（情景）", "变化"])
    for d in result.dates:
        for v in sorted(set(d.by_industry["base"]) | set(d.by_industry["scenario"])):
            b, s = d.by_industry["base"][v]["with_violation"], d.by_industry["scenario"][v]["with_violation"]
            industries.append([d.as_of, _industry(v), d.by_industry["base"][v]["enterprises"], b, s, s - b])
    _format(industries, dates=(1,), widths={2: 18})

    changes = wb.create_sheet("changes")
    changes.append(["评估日期", "企业", "名称", "村（社区）", "行业", "条款", "义务", "基准结果", "情景结果", "原因",
                    "规则名"])
    for d in result.dates:
        for c in d.changes:
            industry = _industry(c.industry)
            changes.append([c.as_of, c.enterprise, c.name, c.village, industry, ", ".join(c.implements),
                            titles.get(c.rule, c.rule), _outcome(c.base), _outcome(c.scenario),
                            because_zh(c, result.param_labels), c.rule])
    _format(changes, dates=(1,), widths={2: 22, 3: 28, 5: 22, 7: 50, 10: 40, 11: 30})
    wb.save(path)


def _scenario_sheet(sheet: Worksheet, result: WhatIfResult) -> None:
    """What the scenario changed against the base, one row per change."""
    s = result.scenario
    titles = {name: (ids, title) for name, ids, title in result.rules}
    sheet.append(["项目", "名称", "情景取值", "说明"])
    sheet.append(["情景", s.name, None, "基准：政策原样；情景：下列调整"])
    sheet.append(["评估日期", ", ".join(d.as_of.isoformat() for d in result.dates), None,
                  f"共 {len(result.dates)} 个日期"])
    values = result.params if result.params is not None else dict(s.params)
    for name, value in values.items():
        shown = value_text(value, "zh") if result.params is not None else str(value)
        label = result.param_labels.get(name)
        sheet.append(["调整参数", label.zh if label is not None else name, shown,
                      f"情景文件写作：{name} = {s.params.get(name, '')}"])
    for name in sorted(s.rules_off):
        ids, title = titles.get(name, ((), name))
        sheet.append(["停用义务", f"{', '.join(ids)} {title}".strip(), "不适用", f"规则名 {name}"])
    for p in s.rules_add:
        sheet.append(["新增规则", str(p), None, "情景中加入这些规则"])
    for i, patch in enumerate(s.patches):
        what = {"where": dict(patch.where), "set": dict(patch.set), "append": dict(patch.append)}
        shown = json.dumps({k: v for k, v in what.items() if v}, ensure_ascii=False, default=str)
        sheet.append(["修改事实", f"patches[{i}]", shown, "符合条件的企业的事实"])
    if not (s.params or s.rules_off or s.rules_add or s.patches):
        sheet.append(["（无调整）", None, None, "情景即基准：结果相同"])
    for w in result.warnings:
        sheet.append(["警告", w.key, None, w.message_zh])
    day = result.dates[-1] if result.dates else None
    if day is not None:
        changed = {c.enterprise for c in day.changes}
        sheet.append(["结果改变", f"{len(changed)} 家企业", len(day.changes),
                      f"截至 {day.as_of}：结果改变的（企业，义务）数"])
    _format(sheet, widths={1: 14, 2: 48, 3: 28, 4: 48})


def _industry(code: str) -> str:
    """An industry by its Chinese label (a code the 附件4 contract does not know stays as it is)."""
    return INDUSTRY_ZH.get(code, code)


def _outcome(o: Outcome) -> str:
    return f"{OUTCOME_ZH[o]} {o.value}"


def because_zh(change: Change, labels: Mapping[str, Text] | None = None) -> str:
    """Why an outcome changed, in Chinese (the reasons `whatif.run` gives, in English, in `whatif.json`), each
    param by its label."""
    return because_text(change.because, labels or {}, "zh")


def _format(sheet: Worksheet, dates: tuple[int, ...] = (), percents: tuple[int, ...] = (),
            widths: dict[int, int] | None = None) -> None:
    """Bold wrapped headers, frozen, filtered; dates as dates and rates as percentages; readable widths."""
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    if sheet.max_row > 1:
        sheet.auto_filter.ref = sheet.dimensions
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            column = cell.column
            if not isinstance(column, int):
                continue
            if column in dates:
                cell.number_format = DATE
            elif column in percents:
                cell.number_format = PERCENT
    for column in range(1, sheet.max_column + 1):
        width: Any = (widths or {}).get(column, 14)
        sheet.column_dimensions[get_column_letter(column)].width = width
