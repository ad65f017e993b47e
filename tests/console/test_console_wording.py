"""The same wording wherever a person reads: the console's vocabulary (titles for rule names, labels for fact
paths and codes), the CLI summary table, the Excel what-if report, and a policy that declares its own facts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from starlette.testclient import TestClient

from safetyrules.api import load_policy
from safetyrules.cli import cli
from safetyrules.console.labels import Vocabulary
from safetyrules.report.excel import write_workbook
from safetyrules.service.app import create_app
from safetyrules.whatif.run import run_whatif
from safetyrules.whatif.scenario import Scenario

from .helpers import TOWN, check_html, rule_names_in, visible

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy()
VOCAB = Vocabulary(POLICY)
TITLES = {r.name: r.title for r in POLICY.rules()}


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("违反的规则：safety_commitment、dual_report。", "zh",
     f"违反的规则：「{TITLES['safety_commitment'].zh}」、「{TITLES['dual_report'].zh.rstrip('。')}」。"),
    ("violated rules: safety_commitment.", "en", f"violated rules: “{TITLES['safety_commitment'].en.rstrip('.')}”."),
    ("缺少事实：ppe, ppe.provided, ppe.worn。", "zh",
     "缺少事实：劳动防护用品 · 已配备、劳动防护用品 · 按规定佩戴使用。"),
    ("missing facts: accidents.", "en", "missing facts: accidents."),
    ("industry=construction（建筑施工）；期限 2021-12-31", "zh", "行业领域：建筑施工；期限 2021-12-31"),
    ("industry=road_transport (道路运输); missing", "en", "industry: road transport; missing"),
    ("hazards[H-2021-001]: violated, due 2022-01-03", "en", "hazards H-2021-001: violated, due 2022-01-03"),
    ("使以下条件成立：five_in_place.responsibility；a.b >= 3", "zh", "使以下条件成立：五到位 · 责任到位；a.b >= 3"),
    # not a rule list, not a fact path: left alone
    ("the rule applies only when industry in technical_team_industries", "en",
     "the rule applies only when industry in technical_team_industries"),
    ("A safety management body (apprenticeship) as the law requires", "en",
     "A safety management body (apprenticeship) as the law requires"),
])
def test_messages_read_with_titles_and_labels(text: str, lang: str, expected: str) -> None:
    assert VOCAB.humanize(text, lang) == expected


def test_fact_paths_and_values_read_as_labels() -> None:
    assert VOCAB.field("risk_assessments[2022-08-24].comprehensive", "zh") == "风险辨识评估 2022-08-24 · 全面辨识评估"
    assert VOCAB.field("principal.role", "en") == "the principal · legal representative or actual controller"
    assert VOCAB.value("industry", "mining", "zh") == "矿山"
    assert VOCAB.value("risk_control.levels", ["enterprise", "team"], "en") == "enterprise, team"
    assert VOCAB.value("ppe.worn", False, "zh") == "否"
    assert VOCAB.value("established_on", dt.date(2020, 1, 2), "en") == "2020-01-02"
    assert VOCAB.param_value("high_risk_industries", frozenset({"mining", "construction"}), "zh") == "建筑施工、矿山"


def test_the_cli_summary_names_obligations_by_their_titles() -> None:
    result = CliRunner().invoke(cli, ["eval", "--top", "10"], env={"COLUMNS": "240"})
    assert result.exit_code == 0, result.output
    table = result.stdout.split("详情 Details")[0]
    assert rule_names_in(table) == []
    assert "义务 obligation" in table and "依法查处对象 Enforcement candidates" in table
    assert TITLES["risk_list_reporting"].zh[:12] in table  # the most overdue items, by title


def test_the_excel_report_says_what_changed_in_chinese(tmp_path: Path) -> None:
    scenario = Scenario("两年 two years", params={"other_assessment_period": "2 years"},
                        rules_off=frozenset({"apprenticeship"}))
    result = run_whatif(POLICY, POLICY, scenario, TOWN, [dt.date(2022, 12, 31)])
    write_workbook(result, tmp_path / "w.xlsx")
    wb = load_workbook(tmp_path / "w.xlsx")
    assert wb.sheetnames[0] == "scenario" and wb.active is not None and wb.active.title == "scenario"
    about = [row for row in wb["scenario"].iter_rows(values_only=True)]
    assert about[0] == ("项目", "名称", "情景取值", "说明")
    assert ("调整参数", "其他行业风险辨识评估周期", "2年", "情景文件写作：other_assessment_period = 2 years") in about
    assert any(row[0] == "停用义务" and TITLES["apprenticeship"].zh in str(row[1]) for row in about)
    assert any(row[0] == "结果改变" for row in about)
    by_rule = wb["by_rule"]
    assert [c.value for c in by_rule[1]][:8] == ["评估日期", "条款", "义务", "违反（基准）", "违反（情景）", "变化",
                                                "合规率（基准）", "合规率（情景）"]
    assert by_rule["G2"].number_format == by_rule["H2"].number_format == "0.0%"
    assert isinstance(by_rule["G2"].value, float) and 0 <= by_rule["G2"].value <= 1
    assert by_rule["A2"].number_format == "yyyy-mm-dd"
    changes = wb["changes"]
    assert [c.value for c in changes[1]][6:10] == ["义务", "基准结果", "情景结果", "原因"]
    reasons = {row[9] for row in changes.iter_rows(min_row=2, values_only=True)}
    assert "该义务在情景中停用" in reasons and "参数调整：其他行业风险辨识评估周期 = 2 years" in reasons
    assert {row[4] for row in changes.iter_rows(min_row=2, values_only=True)} <= {
        "建筑施工", "危险物品生产", "危险物品经营", "危险物品储存", "矿山", "金属冶炼", "道路运输", "烟花爆竹", "工贸",
        "制造业", "零售", "餐饮", "其他", ""}


def test_a_policy_with_its_own_facts_reads_with_its_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAFETYRULES_TOKEN", raising=False)
    folder = ROOT / "examples" / "fire-safety"
    policy = load_policy(folder / "fire.policy")
    app = create_app(folder / "fire.policy", f"sqlite:///{tmp_path / 'd.db'}", facts=folder / "venues.jsonl")
    names = sorted((r.name for r in policy.rules()), key=len, reverse=True)
    with TestClient(app) as c:
        for path in ("/console/", "/console/?lang=en", "/console/whatif?run=1"):
            response = c.get(path)
            assert response.status_code == 200, (path, response.text)
            check_html(response.text)
            text = visible(response.text)
            assert not [n for n in names if n in text], path
        town = c.get("/console/").text
        assert 'id="villages"' not in town  # its records have no village: no table of them
        venue = c.get("/console/enterprise/V002")
        assert venue.status_code == 200
        assert Vocabulary(policy).fields["name"].zh in visible(venue.text)  # its own labels
    bare = create_app(folder / "fire.policy", f"sqlite:///{tmp_path / 'e.db'}")
    with TestClient(bare) as c:
        refused = c.get("/console/")
        assert refused.status_code == 503 and "--facts" in refused.text  # the example town is not its facts
