"""What-if: scenarios, diffs and their reasons, and the HTML / Excel reports."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from safetyrules.api import Policy, load_policy
from safetyrules.check.pipeline import compile_paths
from safetyrules.report.excel import write_workbook
from safetyrules.report.html import render_html
from safetyrules.whatif.run import run_whatif
from safetyrules.whatif.scenario import Scenario, ScenarioError, load_scenario, month_ends

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads((ROOT / "tests" / "facts" / "data" / "example.json").read_text(encoding="utf-8"))


def population() -> list[dict[str, object]]:
    out = []
    for i, industry in enumerate(["construction", "retail", "manufacturing", "catering", "road_transport"]):
        rec = dict(EXAMPLE, id=f"E{i}", industry=industry, village=["A村", "B村"][i % 2])
        rec["risk_assessments"] = [{"date": "2020-03-01", "comprehensive": True, "risk_list_updated": True}]
        out.append(rec)
    return out


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(ROOT / "policies" / "annex4")


def test_a_scenario_with_no_changes_has_an_empty_diff(policy: Policy) -> None:
    dates = [dt.date(2022, 6, 30), dt.date(2022, 12, 31)]
    result = run_whatif(policy, policy, Scenario("nothing"), population(), dates)
    assert all(not d.changes for d in result.dates)
    assert result.dates[0].counts["base"] == result.dates[0].counts["scenario"]


def test_a_param_change_affects_exactly_the_rules_that_use_it(policy: Policy) -> None:
    scenario = Scenario("two years", params={"other_assessment_period": "2 years"})
    result = run_whatif(policy, policy, scenario, population(), [dt.date(2022, 6, 30)])
    changed = {c.rule for d in result.dates for c in d.changes}
    users = {r.name for r in policy.rules() if "other_assessment_period" in r.params}
    dependants = {r.name for r in policy.rules() if set(r.rules_used) & users}
    assert changed == {"risk_assessment_other"}  # enforcement was already violated in the base (3.1-c)
    assert changed <= users | dependants
    # 2020-03-01 + 2 years = 2022-03-01 < 2022-06-30: the three ordinary firms turn violated
    flips = [c for c in result.dates[0].changes if c.rule == "risk_assessment_other"]
    assert sorted(c.enterprise for c in flips) == ["E1", "E2", "E3"]
    assert all(c.base.value == "satisfied" and c.scenario.value == "violated" for c in flips)
    assert all("other_assessment_period=2 years" in c.because for c in flips)


def test_rules_switched_off_are_not_applicable(policy: Policy) -> None:
    scenario = Scenario("off", rules_off=frozenset({"reassessment_after_major_change"}))
    result = run_whatif(policy, policy, scenario, population(), [dt.date(2022, 6, 30)])
    changes = result.dates[0].changes
    assert {c.rule for c in changes} == {"reassessment_after_major_change", "enforcement_candidate"}
    off = [c for c in changes if c.rule == "reassessment_after_major_change"]
    assert all(c.scenario.value == "not_applicable" and "switched off" in c.because for c in off)


def test_fact_patches_apply_to_matching_enterprises(policy: Policy, tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: assessed\nas_of: 2022-06-30\npatches:\n  - where: {industry: [retail, catering]}\n"
                    "    set: {ppe.worn: false}\n",
                    encoding="utf-8")
    scenario = load_scenario(path)
    result = run_whatif(policy, policy, scenario, population(), list(scenario.dates))
    patched = {(c.enterprise, c.rule) for c in result.dates[0].changes}
    assert patched == {("E1", "protective_equipment"), ("E3", "protective_equipment")}
    assert all("facts patched" in c.because for c in result.dates[0].changes)


def test_rules_can_be_added_from_another_file(policy: Policy, tmp_path: Path) -> None:
    extra = tmp_path / "stricter.policy"
    extra.write_text('obligation ppe_checked {\n  implements "x.1"\n  title zh "新规" en "New rule"\n'
                     '  source "草案" "新增"\n  require ppe.worn\n  due continuous\n}\n', encoding="utf-8")
    compilation = compile_paths([ROOT / "policies" / "annex4"], [extra])
    assert not compilation.errors
    assert any(d.code == "new-catalogue-id" for d in compilation.diagnostics)
    result = run_whatif(policy, Policy(compilation), Scenario("added"), population(), [dt.date(2022, 6, 30)])
    assert {c.rule for c in result.dates[0].changes} == {"ppe_checked"}
    assert all("added" in c.because for c in result.dates[0].changes)


def test_timeline_is_every_month_end() -> None:
    ends = month_ends(dt.date(2021, 1, 15), dt.date(2021, 4, 30))
    assert ends == [dt.date(2021, 1, 31), dt.date(2021, 2, 28), dt.date(2021, 3, 31), dt.date(2021, 4, 30)]


def test_bad_scenarios_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nparamz: {}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="unknown key"):
        load_scenario(path)
    path.write_text("timeline: {from: 2022-13-01, to: 2022-12-31}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not a date"):
        load_scenario(path)


@pytest.fixture(scope="module")
def report(policy: Policy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    scenario = Scenario("two years", params={"other_assessment_period": "2 years"}, timeline=True)
    result = run_whatif(policy, policy, scenario, population(), month_ends(dt.date(2021, 7, 1), dt.date(2022, 12, 31)))
    folder = tmp_path_factory.mktemp("report")
    (folder / "whatif.html").write_text(render_html(result), encoding="utf-8")
    write_workbook(result, folder / "whatif.xlsx")
    return folder


def test_html_report_has_charts_and_tables(report: Path, policy: Policy) -> None:
    page = (report / "whatif.html").read_text(encoding="utf-8")
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained
    # the headline first, then the charts: only the obligations whose compliance the scenario moves
    assert page.index('id="headline"') < page.index('id="curves"') < page.index('id="by-rule"')
    curves = len(re.findall(r"<polyline", page))
    assert 2 <= curves < 2 * len(policy.rules()) and curves % 2 == 0  # base and scenario per moved obligation
    assert re.search(r'<table id="by-rule">.*?<td class=l>3\.1-b</td>', page, re.S)
    assert page.count("<tr>") > 40
    assert "@media print" in page
    # obligations by title, never by rule name, where a person reads
    visible = re.sub(r"<[^>]+>", " ", page.split("</style>", 1)[1])
    assert not [r.name for r in policy.rules() if re.search(rf"\b{re.escape(r.name)}\b", visible)]


def test_html_report_without_changes_draws_no_chart(policy: Policy) -> None:
    result = run_whatif(policy, policy, Scenario("same"), population()[:20], [dt.date(2022, 6, 30)])
    page = render_html(result)
    assert "<polyline" not in page and "<rect " not in page
    assert "changes no obligation" in page and "(+0)" in page


def test_excel_report_has_every_table(report: Path) -> None:
    wb = load_workbook(report / "whatif.xlsx")
    assert wb.sheetnames == ["scenario", "by_rule", "by_village", "by_industry", "changes"]
    assert wb["by_rule"].max_row > 41 and wb["changes"].max_row > 1
    assert wb["by_rule"]["C1"].value == "义务" and wb["by_rule"]["G2"].number_format == "0.0%"
    assert any(row[1] == "其他行业风险辨识评估周期" and "other_assessment_period" in str(row[3])  # label, and name
               for row in wb["scenario"].iter_rows(values_only=True))


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
@pytest.mark.timeout(120)
def test_html_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    assert CHROMIUM is not None
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1300,1600", f"--screenshot={shot}",
                    (report / "whatif.html").as_uri()], check=True, timeout=100, capture_output=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000  # a blank page compresses to a few kilobytes; charts and tables do not


def test_a_toml_scenario_reads_like_its_yaml_twin(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "name: twin\nas_of: [2021-12-31, 2022-06-30]\nparams: {other_assessment_period: 2 years}\n"
        "rules_off: [apprenticeship]\nrules_add: [extra.policy]\npatches:\n"
        "  - where: {industry: [retail, catering]}\n    set: {ppe.worn: false}\n"
        "  - append: {risk_assessments: {date: 2022-01-10, comprehensive: true, risk_list_updated: true}}\n",
        encoding="utf-8")
    (tmp_path / "s.toml").write_text(
        'name = "twin"\nas_of = [2021-12-31, 2022-06-30]\nrules_off = ["apprenticeship"]\n'
        'rules_add = ["extra.policy"]\n\n[params]\nother_assessment_period = "2 years"\n\n'
        '[[patches]]\nwhere = { industry = ["retail", "catering"] }\nset = { "ppe.worn" = false }\n\n'
        '[[patches]]\nappend = { risk_assessments = { date = "2022-01-10", comprehensive = true, '
        'risk_list_updated = true } }\n', encoding="utf-8")
    assert load_scenario(tmp_path / "s.toml") == load_scenario(tmp_path / "s.yaml")


def test_a_bad_toml_scenario_says_where(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('name = "x"\nparams = {other_assessment_period = }\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"s\.toml: not valid TOML: .*line 2"):
        load_scenario(path)


def test_the_documented_yaml_and_toml_scenarios_are_the_same(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "whatif.md").read_text(encoding="utf-8")
    blocks = dict(re.findall(r"```(yaml|toml)\n(.*?)```", doc, flags=re.S))
    for kind, text in blocks.items():
        (tmp_path / f"s.{kind}").write_text(text, encoding="utf-8")
    scenario = load_scenario(tmp_path / "s.yaml")
    assert scenario == load_scenario(tmp_path / "s.toml")
    assert scenario.params and scenario.rules_off and scenario.rules_add and len(scenario.patches) == 2
    assert scenario.dates == (dt.date(2021, 12, 31), dt.date(2022, 12, 31))


def test_a_patch_that_breaks_the_contract_is_an_error(policy: Policy, tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: bad\nas_of: 2022-06-30\npatches:\n  - where: {industry: retail}\n"
                    "    set: {employee_count: -3}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"enterprise E1 break the fact contract: employee_count"):
        run_whatif(policy, policy, load_scenario(path), population(), [dt.date(2022, 6, 30)])
