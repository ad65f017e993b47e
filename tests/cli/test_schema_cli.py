"""`safetyrules schema`: the JSON Schema of the facts a policy declares, and `--diff OLD NEW` between two
versions of a schema (what integrators must change)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from safetyrules.cli import cli
from safetyrules.facts.models import enterprise_json_schema

ROOT = Path(__file__).resolve().parents[2]
FACTS = ROOT / "policies" / "annex4" / "05-facts.policy"


def _without_period_and_english(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_period_and_english(v) for k, v in value.items() if k != "x-labels-en"}
    if isinstance(value, list):
        return [_without_period_and_english(v) for v in value]
    return value.rstrip(".") if isinstance(value, str) else value


def test_the_declared_schema_is_the_built_in_contract() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0, result.output
    declared = json.loads(result.stdout)
    # the same schema but for two documented differences: record descriptions end without a full stop, and
    # every enumeration also carries its English labels
    assert _without_period_and_english(declared) == _without_period_and_english(enterprise_json_schema())
    assert declared["$defs"]["Industry"]["x-labels-en"]["hazardous_goods_trade"] == "hazardous goods trade"


def test_diff_lists_added_removed_and_changed_fields(tmp_path: Path) -> None:
    old = tmp_path / "old.policy"
    shutil.copy(FACTS, old)
    text = FACTS.read_text(encoding="utf-8")
    text = text.replace('  code catering zh "餐饮" en "catering"\n', "")  # a code removed
    text = text.replace("field employee_count: int >= 0", "field employee_count: int >= 1")  # tighter
    text = text.replace("field technical_lead: text", "field technical_lead: bool")  # type changed
    text = text.replace('  field obsolete_equipment_in_use: int',
                        '  field emergency_drills: list<date> dated label zh "应急演练" en "emergency drills"\n'
                        '  field obsolete_equipment_in_use: int')  # added
    text = text.replace('  field ppe: ppe label zh "劳动防护用品" en "personal protective equipment"\n', "")
    text = text.replace('\nrecord ppe {', '\nrecord ppe_unused {')
    new = tmp_path / "new.policy"
    new.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["schema", "--diff", str(old), str(new), "--format", "json"])
    assert result.exit_code == 0, result.output
    changes = {(c["kind"], c["path"]): c for c in json.loads(result.stdout)}
    assert changes["added", "emergency_drills"]["compatible"]
    assert changes["removed", "ppe"]["compatible"]
    assert not changes["changed", "industry"]["compatible"] and "catering" in changes["changed", "industry"]["what"]
    assert not changes["changed", "employee_count"]["compatible"]
    assert not changes["changed", "management.technical_lead"]["compatible"]
    text_run = CliRunner().invoke(cli, ["schema", "--diff", str(old), str(new)])
    assert "+ emergency_drills: new field, list<date>" in text_run.stdout
    assert "- ppe.provided" in text_run.stdout


def test_no_changes_and_bad_inputs(tmp_path: Path) -> None:
    same = CliRunner().invoke(cli, ["schema", "--diff", str(FACTS), str(FACTS)])
    assert same.exit_code == 0 and "no changes" in same.stdout
    missing = CliRunner().invoke(cli, ["schema", "--diff", str(FACTS), str(tmp_path / "nope.policy")])
    assert missing.exit_code == 2
    broken = tmp_path / "broken.policy"
    broken.write_text("subject s {\n  key id\n  field id: txt\n}\n", encoding="utf-8")
    bad = CliRunner().invoke(cli, ["schema", "--policy", str(broken)])
    assert bad.exit_code == 4 and "did you mean `text`?" in bad.stderr
