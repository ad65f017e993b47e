"""Every result says where it comes from: the policy's name and digest, the engine, the params overridden."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from safetyrules import __version__, load_policy
from safetyrules.api import bundled_policy_path, load_policy_text
from safetyrules.cli import cli
from safetyrules.service.bundle import policy_digest

RECORD = {"id": "E1", "industry": "mining", "employee_count": 20}


def test_library_results_carry_the_policy_digest_engine_and_params(tmp_path: Path) -> None:
    policy = load_policy()
    got = policy.evaluate(RECORD, "2022-06-30", params={"other_assessment_period": "2 years"}).to_json(False)
    assert got["provenance"] == {"policy": "annex4", "digest": policy_digest(), "engine": "compiled",
                                 "safetyrules": __version__, "params": {"other_assessment_period": "2 years"}}
    assert policy.evaluate(RECORD, "2022-06-30", engine="reference").provenance["engine"] == "reference"
    # the same policy loaded from a copy has the same digest; a changed one another
    copy = tmp_path / "annex4"
    shutil.copytree(bundled_policy_path(), copy)
    assert load_policy(copy).digest == policy.digest
    first = sorted(copy.glob("*.policy"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert load_policy(copy).digest != policy.digest


def test_a_policy_from_text_has_a_digest_of_its_text() -> None:
    one = load_policy_text('policy p {\n  title zh "甲" en "a"\n}\n')
    two = load_policy_text('policy p {\n  title zh "乙" en "b"\n}\n')
    assert one.digest.startswith("sha256:") and one.digest != two.digest
    assert one.digest == load_policy_text('policy p {\n  title zh "甲" en "a"\n}\n').digest


def test_cli_json_carries_provenance() -> None:
    result = CliRunner().invoke(cli, ["eval", "--format", "json", "--param", "other_assessment_period=2 years"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["provenance"]["digest"] == policy_digest()
    assert doc["provenance"]["params"] == {"other_assessment_period": "2 years"}
    town = [json.loads(line) for line in (Path(__file__).parents[1] / "examples" / "town.jsonl").open()]
    explained = CliRunner().invoke(cli, ["explain", "--enterprise", town[0]["id"], "--format", "json"])
    assert explained.exit_code == 0, explained.output
    assert json.loads(explained.stdout)["provenance"]["policy"] == "annex4"
