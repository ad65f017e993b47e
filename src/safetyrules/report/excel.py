"""The what-if tables as an Excel workbook (one sheet per table), for regulators who work in Excel."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from safetyrules.whatif.run import WhatIfResult


def write_workbook(result: WhatIfResult, path: Path) -> None:
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.title = "by_rule"
    sheet.append(["as_of", "id", "rule", "title", "violated_base", "violated_scenario", "delta",
                  "compliance_base", "compliance_scenario"])
    for d in result.dates:
        for rule, ids, title in result.rules:
            b = d.count("base", rule)
            s = d.count("scenario", rule)
            sheet.append([d.as_of, ", ".join(ids), rule, title, b, s, s - b,
                          result.compliance("base", rule, d), result.compliance("scenario", rule, d)])
    villages = wb.create_sheet("by_village")
    villages.append(["as_of", "village", "enterprises", "with_violation_base", "with_violation_scenario"])
    for d in result.dates:
        for v in sorted(set(d.by_village["base"]) | set(d.by_village["scenario"])):
            villages.append([d.as_of, v, d.by_village["base"][v]["enterprises"],
                             d.by_village["base"][v]["with_violation"], d.by_village["scenario"][v]["with_violation"]])
    industries = wb.create_sheet("by_industry")
    industries.append(["as_of", "industry", "enterprises", "with_violation_base", "with_violation_scenario"])
    for d in result.dates:
        for v in sorted(set(d.by_industry["base"]) | set(d.by_industry["scenario"])):
            industries.append([d.as_of, v, d.by_industry["base"][v]["enterprises"],
                               d.by_industry["base"][v]["with_violation"],
                               d.by_industry["scenario"][v]["with_violation"]])
    changes = wb.create_sheet("changes")
    changes.append(["as_of", "enterprise", "name", "village", "industry", "id", "rule", "base", "scenario", "because"])
    for d in result.dates:
        for c in d.changes:
            changes.append([c.as_of, c.enterprise, c.name, c.village, c.industry, ", ".join(c.implements), c.rule,
                            c.base.value, c.scenario.value, c.because])
    for ws in wb.worksheets:
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
    wb.save(path)
