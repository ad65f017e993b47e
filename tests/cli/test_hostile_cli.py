"""Hostile input on the command line: no traceback, a message naming the file or option, the documented exit
code (2 usage, 3 bad input, 4 policy) — and checked before the work starts."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from safetyrules.api import as_date, load_policy
from safetyrules.check.pipeline import compile_paths, read_policy_file
from safetyrules.cli import cli
from safetyrules.errors import DateError
from safetyrules.limits import Limits

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "policies" / "annex4"
E1 = {"id": "E1", "industry": "construction", "risk_assessments": [{"date": "2020-11-03", "comprehensive": True}]}


def invoke(*args: str) -> Result:
    """Run a command; any exception other than the exit is a failure (catch_exceptions=False)."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def facts(tmp_path: Path) -> Path:
    path = tmp_path / "town.jsonl"
    path.write_text(json.dumps(E1) + "\n", encoding="utf-8")
    return path


def can_refuse_writes(folder: Path) -> bool:
    """Whether writing into `folder` really fails here (root writes through permission bits)."""
    try:
        (folder / ".probe").write_text("x")
    except OSError:
        return True
    (folder / ".probe").unlink()
    return False


# ============================================================================ dates


@pytest.mark.parametrize("day", ["2022-13-01", "2022-02-30", "10000-01-01", "0000-01-01", "20220630", "tomorrow",
                                 "2022-06-30T00:00", ""])
@pytest.mark.parametrize("command", [["eval"], ["explain", "--enterprise", "E1"]])
def test_a_bad_as_of_is_a_usage_error(facts: Path, command: list[str], day: str) -> None:
    result = invoke(*command, "--facts", str(facts), "--as-of", day)
    assert result.exit_code == 2, result.output
    assert f"`{day}` is not a date (YYYY-MM-DD)" in result.stderr
    assert result.stdout == ""


def test_a_bad_until_of_monitor_is_a_usage_error(tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text("", encoding="utf-8")
    result = invoke("monitor", "--events", str(events), "--until", "2022-13-01")
    assert result.exit_code == 2
    assert "`2022-13-01` is not a date" in result.stderr


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_the_ends_of_the_calendar_are_dates(facts: Path, day: str) -> None:
    result = invoke("eval", "--facts", str(facts), "--as-of", day, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["as_of"] == day


def test_the_library_refuses_a_bad_date_with_date_error() -> None:
    policy = load_policy()
    for bad in ("2022-13-01", "20220630", "", "x" * 1000):
        with pytest.raises(DateError, match="is not a date"):
            policy.evaluate(E1, bad)
    with pytest.raises(DateError, match="not a int"):
        policy.evaluate(E1, 20220630)  # type: ignore[arg-type]
    with pytest.raises(DateError, match="outside the calendar"):
        as_date("2022-06-30", Limits(max_date=dt.date(2021, 12, 31)))
    record = policy.evaluate(E1, "2022-06-30")
    by_text = policy.evaluate_record({"id": "E1", "industry": "construction"}, "2022-06-30")
    assert by_text.as_of == record.as_of == dt.date(2022, 6, 30)
    assert next(policy.evaluate_many([E1], dt.datetime(2022, 6, 30, 8))).as_of == dt.date(2022, 6, 30)


# ============================================================================ --out and --policy


def out_cases(tmp_path: Path) -> list[tuple[Path, str]]:
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    (tmp_path / "a-folder").mkdir()
    return [
        (tmp_path / "missing" / "x.json", "does not exist"),
        (tmp_path / "a-folder", "is a folder"),
        (tmp_path / "a-file" / "x.json", "is not a folder"),
    ]


@pytest.mark.parametrize("command", [
    ["eval", "--format", "json"],
    ["synth", "--count", "3"],
])
def test_an_output_file_that_cannot_be_written_is_refused_first(tmp_path: Path, command: list[str]) -> None:
    for out, reason in out_cases(tmp_path):
        result = invoke(*command, "--out", str(out))
        assert result.exit_code == 2, (out, result.output)
        assert f"--out {out}: " in result.stderr and reason in result.stderr
        assert "as of" not in result.stderr and "wrote" not in result.stderr  # refused before the work
        assert not (tmp_path / "missing").exists()


def test_an_unwritable_output_folder_is_refused_first(tmp_path: Path) -> None:
    readonly = Path("/sys") if Path("/sys").is_dir() and can_refuse_writes(Path("/sys")) else tmp_path / "ro"
    if readonly != Path("/sys"):
        readonly.mkdir()
        readonly.chmod(0o500)
        if not can_refuse_writes(readonly):
            pytest.skip("this user writes through permission bits and /sys is not here")
    for command in (["eval"], ["synth"]):
        result = invoke(*command, "--out", str(readonly / "x.json"))
        assert result.exit_code == 2
        assert "cannot write in" in result.stderr


def test_whatif_out_is_checked_before_the_scenario_runs(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("as_of: 2022-06-30\n", encoding="utf-8")
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    result = invoke("whatif", str(scenario), "--out", str(tmp_path / "a-file"))
    assert result.exit_code == 2 and "exists and is not a folder" in result.stderr
    (tmp_path / "r" / "whatif.json").mkdir(parents=True)
    result = invoke("whatif", str(scenario), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2 and "whatif.json is a folder" in result.stderr
    result = invoke("whatif", str(scenario), "--out", str(tmp_path / "new" / "deeper"))  # created, with parents
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "new" / "deeper" / "whatif.json").is_file()


def test_eval_out_writes_the_results_to_the_file(facts: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    result = invoke("eval", "--facts", str(facts), "--as-of", "2022-06-30", "--format", "json", "--out", str(out))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8"))["as_of"] == "2022-06-30"


@pytest.mark.parametrize("command", [["eval"], ["inspect"], ["explain", "--enterprise", "E1"]])
def test_a_missing_policy_path_is_a_usage_error(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "nowhere.policy"
    args = [*command, str(missing)] if command == ["inspect"] else [*command, "--policy", str(missing)]
    result = invoke(*args)
    assert result.exit_code == 2
    assert f"{missing}: no such policy file or folder" in result.stderr


# ============================================================================ policy files


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("command", [["check"], ["fmt"], ["eval", "--policy"], ["inspect"]])
def test_a_fifo_as_a_policy_is_refused_not_waited_on(tmp_path: Path, command: list[str]) -> None:
    fifo = tmp_path / "p.policy"
    os.mkfifo(fifo)
    result = invoke(*command, str(fifo))
    assert result.exit_code in (1, 4)  # `check` reports errors as findings (1), the others stop (4)
    assert "p.policy:1:1: error[io]: is not a regular file" in result.output


def test_a_policy_that_is_not_utf8_is_a_diagnostic_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "p.policy"
    path.write_bytes(b'policy p {\n  title zh "\xe9t\xe9" en "x"\n}\n')
    for command, code in ((["fmt"], 4), (["check"], 1), (["eval", "--policy"], 4)):
        result = invoke(*command, str(path))
        assert result.exit_code == code
        assert "p.policy:2:13: error[io]: byte 0xe9 is not UTF-8" in result.output


def test_a_byte_order_mark_is_not_part_of_the_policy(tmp_path: Path) -> None:
    for source in SEED.glob("*.policy"):
        (tmp_path / source.name).write_bytes(b"\xef\xbb\xbf" + source.read_bytes())
    compilation = compile_paths([tmp_path])
    assert compilation.errors == []
    assert invoke("fmt", "--check", str(tmp_path)).exit_code == 0


def test_a_policy_larger_than_the_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "p.policy"
    path.write_text("// padding\n" * 200, encoding="utf-8")
    text, problem = read_policy_file(path, limits=Limits(max_document_bytes=1000))
    assert text == "" and problem is not None
    assert problem.code == "io" and "max_document_bytes" in problem.message
    assert read_policy_file(path, limits=Limits(max_document_bytes=10_000))[1] is None


def test_fmt_reports_a_file_it_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "p.policy"
    path.write_text((SEED / "00-annex4.policy").read_text(encoding="utf-8") + "\n\n\n", encoding="utf-8")
    path.chmod(0o400)
    if not can_refuse_writes(tmp_path) and os.access(path, os.W_OK):
        pytest.skip("this user writes through permission bits")
    result = invoke("fmt", str(path))
    assert result.exit_code == 2
    assert f"{path}: cannot write" in result.stderr


# ============================================================================ whatif and test files


@pytest.mark.parametrize(("text", "message"), [
    ("- a\n", "a scenario is a mapping"),
    ("policy: 5\n", "policy: expected a file or folder path"),
    ("params: {high_risk_industries: [minning]}\n", "params.high_risk_industries: `[minning]` does not fit"),
    ("params: {other_assessment_period: 3}\n", "params.other_assessment_period"),
    ("rules_off: nope\n", "rules_off: no rule named `nope`"),
    ("as_of: 2022-13-01\n", "as_of: `2022-13-01` is not a date"),
    ("policy: nowhere\n", "policy: "),
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "\n".join(
        f"{b}: &{b} [{', '.join([f'*{a}'] * 10)}]" for a, b in zip("abcdefgh", "bcdefghi", strict=True)),
     "max_yaml_nodes"),
])
def test_whatif_on_a_bad_scenario_says_where_exit_3(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    result = invoke("whatif", str(path), "--out", str(tmp_path / "out"))
    assert result.exit_code == 3, result.output
    assert f"{path}: " in result.stderr and message in result.stderr
    assert not (tmp_path / "out").exists()


def test_whatif_param_syntax_is_the_command_lines(tmp_path: Path, facts: Path) -> None:
    """docs/whatif.md writes `[construction, mining]`: `--param` and scenario files take the same values."""
    path = tmp_path / "s.yaml"
    path.write_text("as_of: 2022-06-30\nparams: {high_risk_industries: [construction, mining]}\n", encoding="utf-8")
    assert invoke("whatif", str(path), "--facts", str(facts), "--out", str(tmp_path / "o")).exit_code == 0
    result = invoke("eval", "--facts", str(facts), "--as-of", "2022-06-30", "--format", "json",
                    "--param", "high_risk_industries=[construction, mining]")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["params"] == {"high_risk_industries": ["construction", "mining"]}


def test_whatif_warns_about_a_patch_that_matches_nothing(tmp_path: Path, facts: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("as_of: 2022-06-30\npatches:\n  - where: {industry: minning}\n    set: {employee_count: 3}\n",
                    encoding="utf-8")
    result = invoke("whatif", str(path), "--facts", str(facts), "--out", str(tmp_path / "o"))
    assert result.exit_code == 0
    assert f"warning {path}: patches[0]: 未匹配任何企业" in result.stderr
    assert "matches no enterprise" in result.stderr


def test_policy_test_files_that_cannot_be_used_are_reported_and_the_others_run(tmp_path: Path) -> None:
    for source in SEED.glob("*.policy"):
        (tmp_path / source.name).write_bytes(source.read_bytes())
    (tmp_path / "a.test.yaml").write_text(
        "cases:\n  - as_of: 2022-06-30\n    facts: {id: T1, industry: construction}\n    expect: {3.1-a: violated}\n"
        "  - as_of: 2022-06-30\n    facts: [1]\n    expect: {3.1-a: violated}\n", encoding="utf-8")
    (tmp_path / "b.test.yaml").write_text("cases:\n  - as_of: 2022-06-30\n    facts: {id: T1, industry: construction}\n"
                                          "    expect: {3.1-a: unknown}\n", encoding="utf-8")
    (tmp_path / "c.test.yaml").write_bytes(b"cases: [\xff]\n")
    result = invoke("test", str(tmp_path))
    assert result.exit_code == 3
    assert f"{tmp_path / 'a.test.yaml'}:5: cases[1].facts: expected a mapping" in result.stderr
    assert f"{tmp_path / 'c.test.yaml'}: line 1, column 9: byte 0xff is not UTF-8" in result.stderr
    assert "1 passed, 0 failed" in result.stdout  # b.test.yaml ran
