"""The command line, through click's CliRunner (and one subprocess run of the installed script).

Exit codes (src/safetyrules/cli/__init__.py, docs/cli.md): 0 success; 1 findings; 2 usage error; 3 bad input
data; 4 policy errors.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from safetyrules.api import load_policy
from safetyrules.cli import cli
from safetyrules.engine.results import Outcome
from safetyrules.facts.loaders import FactSource, Loaded, Rejected

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / "safetyrules"
RULES = len(load_policy().rules())

E1 = {"id": "E1", "name": "永春县某建筑工程有限公司", "village": "桃城镇", "industry": "construction",
      "risk_assessments": [{"date": "2020-11-03", "comprehensive": True}]}
E2 = {"id": "E2", "industry": "retail", "risk_assessments": [{"date": "2020-11-03", "comprehensive": True}]}
E3 = {"id": "E3", "industry": "mining", "established_on": "2012-05-18", "risk_assessments": []}

BROKEN_POLICY = """policy p {
  title zh "测试" en "Test"
}

obligation r {
  implements "r"
  title zh "规则" en "Rule"
  source "s" quote "q"
  require hazards_system.established_on is not null
  due continuous
}
"""
SYNTAX_ERROR_POLICY = """policy p {
  title zh "测试" en "Test"
}

obligation s {
  implements "s"
  title zh "规则" en "Rule"
  source "s" quote "q"
  require obsolete_equipment_in_use == 0 and
  due continuous
}
"""


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def write_jsonl(path: Path, *lines: dict[str, Any] | str) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n"
                            for x in lines), encoding="utf-8")
    return path


@pytest.fixture
def facts(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "town.jsonl", E1, E2)


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(ROOT)
    return ROOT


def results_of(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def find(results: list[dict[str, Any]], enterprise: str, cid: str) -> dict[str, Any]:
    [r] = [r for r in results if r["enterprise"] == enterprise and cid in r["implements"]]
    return r


# ============================================================================ check

def test_check_seed_policy_is_clean(at_root: Path) -> None:
    result = invoke("check", "policies/")
    assert result.exit_code == 0, result.output
    assert re.search(rf"\d+ file\(s\) checked: 0 error\(s\), 0 warning\(s\); {RULES} rules", result.stdout)


def test_check_json_of_clean_policy_is_an_empty_list(at_root: Path) -> None:
    result = invoke("check", "policies/", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_check_broken_policy(tmp_path: Path, at_root: Path) -> None:
    bad = tmp_path / "bad.policy"
    bad.write_text(BROKEN_POLICY, encoding="utf-8")
    result = invoke("check", str(bad))
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert re.fullmatch(r"\S+:\d+:\d+: error\[[a-z-]+\]: .+", first), first
    assert first == "bad.policy:9:11: error[unknown-name]: unknown name `hazards_system`"
    assert "help: did you mean `hazard_system`?" in result.stdout
    assert "1 error(s)" in result.stdout


def test_check_syntax_error_position(tmp_path: Path, at_root: Path) -> None:
    bad = tmp_path / "syntax.policy"
    bad.write_text(SYNTAX_ERROR_POLICY, encoding="utf-8")
    result = invoke("check", str(bad))
    assert result.exit_code == 1
    assert result.stdout.startswith("syntax.policy:10:3: error[syntax]: unexpected `due`")


def test_check_error_on_line_100_keeps_its_position(tmp_path: Path, at_root: Path) -> None:
    head, _, rule = BROKEN_POLICY.partition("obligation")
    bad = tmp_path / "l100.policy"
    bad.write_text(head + "\n" * 91 + "obligation" + rule, encoding="utf-8")
    result = invoke("check", str(bad))
    assert result.exit_code == 1
    assert result.stdout.startswith("l100.policy:100:11: error[unknown-name]")


def test_check_broken_policy_json(tmp_path: Path, at_root: Path) -> None:
    bad = tmp_path / "bad.policy"
    bad.write_text(BROKEN_POLICY, encoding="utf-8")
    result = invoke("check", str(bad), "--format", "json")
    assert result.exit_code == 1
    [diag] = json.loads(result.stdout)
    assert (diag["code"], diag["severity"]) == ("unknown-name", "error")
    assert (diag["span"]["line"], diag["span"]["column"]) == (9, 11)
    assert diag["suggestion"] == "did you mean `hazard_system`?"


def test_check_missing_path_fails(tmp_path: Path) -> None:
    result = invoke("check", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert "no such file or folder" in result.stdout


# ============================================================================ fmt

def test_fmt_check_seed_policy(at_root: Path) -> None:
    result = invoke("fmt", "--check", "policies/")
    assert result.exit_code == 0, result.output
    assert "0 file(s) would reformat" in result.stderr


def test_fmt_check_reports_a_file_to_reformat_and_leaves_it(tmp_path: Path) -> None:
    messy = tmp_path / "messy.policy"
    text = 'policy p {  title zh "测试"   en "Test" }\n'
    messy.write_text(text, encoding="utf-8")
    result = invoke("fmt", "--check", str(messy))
    assert result.exit_code == 1
    assert "1 file(s) would reformat" in result.stderr
    assert messy.read_text(encoding="utf-8") == text


def test_fmt_syntax_error_is_a_policy_error(tmp_path: Path) -> None:
    bad = tmp_path / "syntax.policy"
    bad.write_text(SYNTAX_ERROR_POLICY, encoding="utf-8")
    assert invoke("fmt", "--check", str(bad)).exit_code == 4


# ============================================================================ eval

def test_eval_json(facts: Path) -> None:
    result = invoke("eval", "--facts", str(facts), "--as-of", "2022-06-30", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["as_of"], doc["loaded"], doc["rejected"]) == ("2022-06-30", 2, 0)
    results = doc["results"]
    assert len(results) == 2 * RULES
    for r in results:
        for key in ("enterprise", "rule", "implements", "outcome", "due_on", "message", "explanation"):
            assert key in r, key
        assert set(r["message"]) == {"zh", "en"}
        assert isinstance(r["explanation"], list)
    r = find(results, "E1", "3.1-a")
    assert (r["rule"], r["outcome"], r["due_on"], r["days_overdue"]) == (
        "risk_assessment_high_risk", "violated", "2021-11-03", 239)
    assert "逾期 239 天" in r["message"]["zh"]
    assert r["explanation"][0]["note"] == "applies"
    r2 = find(results, "E2", "3.1-b")
    assert (r2["outcome"], r2["due_on"]) == ("satisfied", "2023-11-03")


def test_eval_jsonl(facts: Path) -> None:
    result = invoke("eval", "--facts", str(facts), "--as-of", "2022-06-30", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    results = results_of(result)
    assert len(results) == 2 * RULES
    assert [r["enterprise"] for r in results] == ["E1"] * RULES + ["E2"] * RULES
    assert all("explanation" in r for r in results)
    assert find(results, "E1", "3.1-a")["outcome"] == "violated"
    assert "loaded 2, rejected 0" in result.stderr


def test_eval_jsonl_no_explain(facts: Path) -> None:
    result = invoke("eval", "--facts", str(facts), "--as-of", "2022-06-30", "--format", "jsonl", "--no-explain")
    assert result.exit_code == 0
    assert all("explanation" not in r for r in results_of(result))


def test_eval_table(facts: Path) -> None:
    result = invoke("eval", "--facts", str(facts), "--as-of", "2022-06-30")
    assert result.exit_code == 0, result.stderr
    assert "3.1-a" in result.stdout


def test_eval_fail_on_violated(facts: Path) -> None:
    result = invoke("eval", "--facts", str(facts), "--as-of", "2022-06-30", "--format", "jsonl",
                    "--fail-on", "violated")
    assert result.exit_code == 1


def test_eval_param_changes_an_outcome(facts: Path) -> None:
    args = ("eval", "--facts", str(facts), "--as-of", "2022-11-04", "--format", "jsonl")
    plain = find(results_of(invoke(*args)), "E2", "3.1-b")
    assert (plain["outcome"], plain["due_on"]) == ("satisfied", "2023-11-03")
    what_if = invoke(*args, "--param", "other_assessment_period=2 years")
    assert what_if.exit_code == 0, what_if.stderr
    r = find(results_of(what_if), "E2", "3.1-b")
    assert (r["outcome"], r["due_on"], r["days_overdue"]) == ("violated", "2022-11-03", 1)
    assert {"name": "other_assessment_period", "value": "2 years", "overridden": True, "dated": []} in r["params"]


def test_eval_param_in_json_header(facts: Path) -> None:
    result = invoke("eval", "--facts", str(facts), "--as-of", "2022-11-04", "--format", "json",
                    "--param", "other_assessment_period=2 years")
    assert json.loads(result.stdout)["params"] == {"other_assessment_period": "2 years"}


@pytest.mark.parametrize(("param", "message"), [
    ("other_assessment_period=banana", "`banana` does not fit `other_assessment_period`"),
    ("other_assessment_period=3", "other_assessment_period"),
    ("no_such_param=1 year", "no param named `no_such_param`"),
    ("other_assessment_period", "`other_assessment_period`: expected name=value"),
])
def test_eval_bad_param_is_a_usage_error(facts: Path, param: str, message: str) -> None:
    result = invoke("eval", "--facts", str(facts), "--as-of", "2022-06-30", "--param", param)
    assert result.exit_code == 2
    assert "Invalid value for --param" in result.stderr
    assert message in result.stderr
    assert result.stdout == ""


def test_eval_bad_as_of_is_a_usage_error(facts: Path) -> None:
    result = invoke("eval", "--facts", str(facts), "--as-of", "2022-02-30")
    assert result.exit_code == 2
    assert "`2022-02-30` is not a date" in result.stderr


def test_eval_missing_facts_file(tmp_path: Path) -> None:
    result = invoke("eval", "--facts", str(tmp_path / "none.jsonl"), "--as-of", "2022-06-30")
    assert result.exit_code == 3
    assert "no such file" in result.stderr


def test_eval_bad_lines_are_reported_and_the_rest_evaluated(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "mixed.jsonl", E1, E2, "{not json", E3,
                       {"id": "E5", "industry": "bogus"}, {"id": "E1", "industry": "retail"})
    result = invoke("eval", "--facts", str(path), "--as-of", "2022-06-30", "--format", "jsonl")
    assert result.exit_code == 3
    results = results_of(result)
    assert sorted({r["enterprise"] for r in results}) == ["E1", "E2", "E3"]
    assert len(results) == 3 * RULES
    assert find(results, "E1", "3.1-a")["outcome"] == "violated"  # the first E1, not the duplicate
    stderr = result.stderr
    assert f"{path}:3: invalid JSON" in stderr
    assert f"{path}:5: industry:" in stderr
    assert "(got 'bogus')" in stderr
    assert f"{path}:6: id: duplicate id 'E1': first at {path}:1" in stderr
    assert "loaded 3, rejected 3" in stderr


# ============================================================================ explain

def test_explain_prints_zh_and_en(facts: Path) -> None:
    result = invoke("explain", "--facts", str(facts), "--as-of", "2022-06-30", "--enterprise", "E1",
                    "--rule", "3.1-a")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("违反 3.1-a（附件4 二（三）1）：")
    assert "截至 2022-06-30 已逾期 239 天" in lines[0]
    assert lines[1].startswith("Violated 3.1-a (附件4 二（三）1): ")
    assert "239 days overdue" in lines[1]
    assert "  适用条件：行业领域 属于 高危行业领域（" in result.stdout  # each step in words, not policy text
    assert "  applies when: industry is one of high-risk industries (" in result.stdout  # the param's label
    assert "industry in high_risk_industries" not in result.stdout
    assert "remedy: " in result.stdout


def test_explain_by_rule_name_and_language(facts: Path) -> None:
    result = invoke("explain", "--facts", str(facts), "--as-of", "2022-06-30", "--enterprise", "E1",
                    "--rule", "risk_assessment_high_risk", "--lang", "en")
    assert result.exit_code == 0
    assert result.stdout.startswith("Violated 3.1-a")
    assert "违反" not in result.stdout


def test_explain_json(facts: Path) -> None:
    result = invoke("explain", "--facts", str(facts), "--as-of", "2022-06-30", "--enterprise", "E2",
                    "--rule", "3.1-b", "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    [r] = doc["results"]
    assert (doc["enterprise"], r["outcome"], r["due_on"]) == ("E2", "satisfied", "2023-11-03")


def test_explain_unknown_enterprise(facts: Path) -> None:
    result = invoke("explain", "--facts", str(facts), "--as-of", "2022-06-30", "--enterprise", "NOPE",
                    "--rule", "3.1-a")
    assert result.exit_code == 3
    assert "no enterprise with id `NOPE`" in result.stderr


def test_explain_unknown_rule(facts: Path) -> None:
    result = invoke("explain", "--facts", str(facts), "--as-of", "2022-06-30", "--enterprise", "E1",
                    "--rule", "9.9-z")
    assert result.exit_code == 2
    assert "no rule or catalogue id 9.9-z" in result.stderr


# ============================================================================ schema, installed script

def test_schema_is_json_schema() -> None:
    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["required"] == ["id"]
    assert "risk_assessments" in schema["properties"]


def test_installed_script_runs(facts: Path) -> None:
    proc = subprocess.run([str(SCRIPT), "eval", "--facts", str(facts), "--as-of", "2022-06-30", "--format", "jsonl",
                           "--no-explain"], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 2 * RULES


# ============================================================================ many records, 1% bad

def many_records(path: Path, count: int) -> Path:
    """`count` lines: copies of one valid record with new ids; every 100th line breaks the contract."""
    record = json.loads((ROOT / "tests" / "facts" / "data" / "example.json").read_text(encoding="utf-8"))
    head, _, tail = json.dumps(record, ensure_ascii=False).partition(json.dumps(record["id"]))
    with path.open("w", encoding="utf-8") as out:
        for line in range(1, count + 1):
            if line % 100 == 0:
                out.write(f'{{"id": "BAD{line:06d}", "employee_count": -{line}}}\n')
            else:
                out.write(f'{head}"E{line:06d}"{tail}\n')
    return path


def test_many_records_cli_jsonl(tmp_path: Path) -> None:
    """500 records, 5 bad, through `eval --format jsonl`: every good one evaluated, every bad one reported."""
    path = many_records(tmp_path / "many.jsonl", 500)
    result = invoke("eval", "--facts", str(path), "--as-of", "2022-06-30", "--format", "jsonl", "--no-explain")
    assert result.exit_code == 3
    results = results_of(result)
    assert len(results) == 495 * RULES
    assert len({r["enterprise"] for r in results}) == 495
    rejected = [line for line in result.stderr.splitlines() if line.startswith("rejected ")]
    assert len(rejected) == 5
    # line 100 is mangled by rich (see test_rejected_line_100_keeps_its_position)
    assert rejected[1:] == [f"rejected {path}:{n}: employee_count: Input should be greater than or equal to 0 "
                            f"(got -{n})" for n in range(200, 501, 100)]
    assert "loaded 495, rejected 5" in result.stderr


def test_rejected_line_100_keeps_its_position(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "f.jsonl", *[{**E2, "id": f"E{i}"} for i in range(1, 100)],
                       {"id": "BAD", "employee_count": -1})
    result = invoke("eval", "--facts", str(path), "--as-of", "2022-06-30", "--format", "jsonl", "--no-explain")
    assert result.exit_code == 3
    assert f"rejected {path}:100: employee_count" in result.stderr


def test_rejected_value_is_reported_verbatim(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "f.jsonl", {"id": "BAD", "industry": "[b]x[/b]"})
    result = invoke("eval", "--facts", str(path), "--as-of", "2022-06-30", "--format", "jsonl")
    assert result.exit_code == 3
    assert "(got '[b]x[/b]')" in result.stderr


@pytest.mark.slow
def test_hundred_thousand_records_with_one_percent_bad(tmp_path: Path) -> None:
    """100,000 JSON Lines, every 100th bad, through FactSource + Policy.evaluate_record (bounded memory)."""
    path = many_records(tmp_path / "big.jsonl", 100_000)
    policy = load_policy()
    day = dt.date(2022, 6, 30)
    start = time.perf_counter()
    source = FactSource(path)
    evaluated, bad_lines, outcomes = 0, [], {o: 0 for o in Outcome}
    for item in source:
        if isinstance(item, Rejected):
            bad_lines.append(item.position.line)
            continue
        assert isinstance(item, Loaded)
        for r in policy.evaluate_record(item.record, day).results:
            outcomes[r.outcome] += 1
        evaluated += 1
    elapsed = time.perf_counter() - start
    print(f"\n100,000 records evaluated in {elapsed:.1f} s ({elapsed / 100_000 * 1000:.2f} ms per record)")
    assert evaluated == 99_000
    assert bad_lines == list(range(100, 100_001, 100))
    assert (source.report.loaded, source.report.rejected) == (99_000, 1_000)
    assert sum(outcomes.values()) == 99_000 * RULES
    assert outcomes[Outcome.VIOLATED] == 99_000 * 2  # 3.1-c and enforcement, for every copy of the record


def test_error_messages_are_printed_verbatim(tmp_path: Path) -> None:
    """Square brackets in an error (a path, `safetyrules[columnar]`) are text, not console markup."""
    path = tmp_path / "[bad].yaml"
    path.write_text("name: x\nrules_off: [nope]\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["whatif", str(path)])
    assert result.exit_code == 3
    assert f"{path}: rules_off: no rule named `nope`" in result.stderr


def test_inspect_shows_which_rules_run_on_durable_rules() -> None:
    from safetyrules.api import load_policy
    from safetyrules.stream.rete import paths

    result = CliRunner().invoke(cli, ["inspect", "--format", "json"])
    assert result.exit_code == 0, result.output
    rules = json.loads(result.stdout)["rules"]
    expected = paths(load_policy())
    assert {r["name"]: r["stream"]["path"] for r in rules} == expected
    assert all(r["stream"]["why"] for r in rules)  # a shape on durable-rules, or why not
    on_rete = sum(1 for p in expected.values() if p == "rete")
    assert 0 < on_rete < len(expected)
    text = CliRunner().invoke(cli, ["inspect"]).stdout
    assert f"stream: {on_rete} rules run on durable-rules" in text
