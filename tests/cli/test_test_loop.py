"""The policy author's test loop: `safetyrules test` on test files and folders, `-k`, `--watch`, and failures
that show what was expected, what came out and why."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from safetyrules.cli import cli
from safetyrules.cli import test as test_cli
from safetyrules.tester import Case, policy_folder_for, select_cases

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "policies" / "annex4"
FIRE = ROOT / "examples" / "fire-safety"

LATE = textwrap.dedent("""\
    cases:
      - name: late construction firm
        as_of: 2022-06-30
        facts:
          industry: construction
          risk_assessments: [{date: 2020-11-03, comprehensive: true, risk_list_updated: true}]
        expect:
          3.1-a: {outcome: violated, due_on: 2021-11-03, days_overdue: DAYS}
      - name: on time the day it falls due
        as_of: 2021-11-03
        facts:
          industry: construction
          risk_assessments: [{date: 2020-11-03, comprehensive: true}]
        expect:
          3.1-a: satisfied
    """)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    """A copy of the seed policy with one test file (its first case expects 238 days: one too few)."""
    folder = tmp_path / "annex4"
    folder.mkdir()
    for source in SEED.glob("*.policy"):
        shutil.copy(source, folder / source.name)
    (folder / "tests").mkdir()
    (folder / "tests" / "risk.test.yaml").write_text(LATE.replace("DAYS", "238"), encoding="utf-8")
    return folder


def test_a_test_file_alone_runs_against_the_nearest_policy_folder_above_it() -> None:
    result = invoke("test", str(SEED / "tests" / "30-risk.test.yaml"))
    assert result.exit_code == 0, result.output
    assert " passed, 0 failed" in result.stdout
    assert policy_folder_for(SEED / "tests" / "30-risk.test.yaml") == SEED


def test_a_folder_of_test_files_runs_against_the_policy_above_it() -> None:
    folder = invoke("test", str(SEED / "tests"))
    whole = invoke("test", str(SEED))
    assert folder.exit_code == whole.exit_code == 0, folder.output
    assert folder.stdout.strip().splitlines()[-1] == whole.stdout.strip().splitlines()[-1]


def test_test_files_of_two_policies_each_run_against_their_own() -> None:
    result = invoke("test", str(SEED / "tests" / "30-risk.test.yaml"), str(FIRE / "tests" / "fire.test.yaml"),
                    "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [Path(p["policy"]).name for p in data["policies"]] == ["annex4", "fire-safety"]
    assert all(p["passed"] > 0 and p["failed"] == 0 for p in data["policies"])


def test_a_test_file_with_no_policy_above_it_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # the search stops at a repository's root
    (tmp_path / "tests").mkdir()
    path = tmp_path / "tests" / "lonely.test.yaml"
    path.write_text(LATE.replace("DAYS", "239"), encoding="utf-8")
    result = invoke("test", str(path))
    assert result.exit_code == 2
    assert "no folder above this test file holds .policy files" in result.stderr
    assert invoke("test", str(path), "--policy", str(SEED)).exit_code == 0  # --policy names it


def test_k_selects_cases_by_name(policy_copy: Path) -> None:
    result = invoke("test", str(policy_copy / "tests"), "-k", "ON TIME", "-v")
    assert result.exit_code == 0, result.output
    assert "on time the day it falls due" in result.stdout
    assert "late construction firm" not in result.stdout
    assert "1 passed, 0 failed, 1 deselected" in result.stdout
    result = invoke("test", str(policy_copy), "-k", "late")
    assert result.exit_code == 1
    assert "0 passed, 1 failed, 1 deselected" in result.stdout


def test_k_that_matches_nothing_is_a_usage_error(policy_copy: Path) -> None:
    result = invoke("test", str(policy_copy), "-k", "no such case")
    assert result.exit_code == 2
    assert "no test case name contains `no such case` (2 case(s) deselected)" in result.stderr


def test_select_cases_ignores_case() -> None:
    cases = [Case("f", i, name, "2022-01-01", {}, {}, {}) for i, name in enumerate(["Late firm", "on time"])]
    assert [c.name for c in select_cases(cases, "LATE")] == ["Late firm"]
    assert select_cases(cases, None) == cases


def test_a_failure_shows_expected_actual_and_the_explanation(policy_copy: Path) -> None:
    result = invoke("test", str(policy_copy / "tests" / "risk.test.yaml"), "--lang", "en")
    assert result.exit_code == 1
    text = result.stdout
    assert "FAIL " in text and "late construction firm" in text
    assert "expected: outcome violated, due_on 2021-11-03, days_overdue 238" in text
    assert "actual:   violated, due_on 2021-11-03, days_overdue 239" in text
    assert "explanation:" in text
    # the reference explanation tree: the message, the steps with their places, the cited clause
    assert "Violated 3.1-a" in text
    assert "[last] last_comprehensive_assessment → 2020-11-03" in text
    assert "30-risk.policy:" in text
    assert "source: 附件4 二（三）1" in text
    assert "1 passed, 1 failed" in text


def test_a_failure_in_json_carries_the_explanation(policy_copy: Path) -> None:
    result = invoke("test", str(policy_copy), "--format", "json", "--lang", "zh")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    [case] = data["failed_cases"]
    assert case["name"] == "late construction firm" and case["line"] == 2
    [mismatch] = case["mismatches"]
    assert mismatch["key"] == "3.1-a" and mismatch["rule"] == "risk_assessment_high_risk"
    assert mismatch["expected"] == {"outcome": "violated", "due_on": "2021-11-03", "days_overdue": "238"}
    assert mismatch["actual"] == "violated, due_on 2021-11-03, days_overdue 239"
    assert mismatch["explanation"].startswith("违反 3.1-a")


def test_watch_runs_again_when_a_test_file_changes(policy_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    test_file = policy_copy / "tests" / "risk.test.yaml"
    pauses: list[float] = []

    def fix_the_test(seconds: float) -> None:  # instead of waiting: the author corrects the expectation
        pauses.append(seconds)
        if len(pauses) == 2:
            test_file.write_text(LATE.replace("DAYS", "239"), encoding="utf-8")

    monkeypatch.setattr(test_cli, "_sleep", fix_the_test)
    result = invoke("test", str(policy_copy), "--watch", "--interval", "0.1", "--max-runs", "2")
    assert result.exit_code == 0, result.output  # the status of the last run
    assert pauses == [0.1, 0.1]  # one look without a change, then the change
    assert result.stdout.count("passed") == 2
    first, second = result.stdout.split("1 passed, 1 failed")
    assert "FAIL" in first and "2 passed, 0 failed" in second
    assert f"changed: {test_file}" in result.stderr.replace("\n", "")


def test_watch_sees_a_policy_file_change_and_survives_policy_errors(policy_copy: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    policy_file = policy_copy / "30-risk.policy"
    good = policy_file.read_text(encoding="utf-8")
    steps = iter([lambda: policy_file.write_text(good + "\nobligation {\n", encoding="utf-8"),
                  lambda: policy_file.write_text(good, encoding="utf-8")])

    def edit(seconds: float) -> None:
        next(steps)()

    monkeypatch.setattr(test_cli, "_sleep", edit)
    result = invoke("test", str(policy_copy / "tests"), "--watch", "--max-runs", "3")
    assert result.exit_code == 1, result.output  # the last run: the policy is back, one case still fails
    assert "error[syntax]" in result.stderr  # the second run: the broken policy reported, the loop went on
    assert result.stdout.count("1 passed, 1 failed") == 2
