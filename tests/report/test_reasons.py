"""What-if reasons in words: each param by its label, a set value's own commas kept, both languages."""

from __future__ import annotations

from safetyrules.engine.results import Text
from safetyrules.report.reasons import because_text

LABELS = {"other_assessment_period": Text("其他行业风险辨识评估周期", "risk assessment period of other industries"),
          "high_risk_industries": Text("高危行业领域", "high-risk industries")}


def test_params_by_their_labels_and_values_with_commas_kept() -> None:
    because = "params high_risk_industries=[construction, mining], other_assessment_period=2 years, x_y=3"
    assert because_text(because, LABELS, "zh") == (
        "参数调整：高危行业领域 = [construction, mining]；其他行业风险辨识评估周期 = 2 years；x_y = 3")
    assert because_text(because, LABELS, "en") == (
        "changed params: high-risk industries = [construction, mining]; risk assessment period of other "
        "industries = 2 years; x_y = 3")


def test_the_other_reasons() -> None:
    because = "rule apprenticeship switched off; facts patched"
    assert because_text(because, LABELS, "zh") == "该义务在情景中停用；事实已修改"
    assert because_text("depends on a changed rule", {}, "en") == "depends on another obligation whose outcome changed"
    assert because_text("rule extra added", {}, "zh") == "情景新增的规则"
