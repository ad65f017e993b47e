"""The language revision for readers: the new forms parse to the nodes of the old ones, the old forms still
parse with a positioned warning each, and `safetyrules fmt` rewrites every `.policy` file of the repository
into the new forms — idempotently, keeping its comments and its meaning."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from safetyrules.check.pipeline import subject_established
from safetyrules.cli.fmt import fmt_command
from safetyrules.diagnostics import Severity
from safetyrules.syntax import ast
from safetyrules.syntax.formatter import format_module
from safetyrules.syntax.parser import parse
from safetyrules.syntax.revision import canonical

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(p for folder in ("tests", "benchmarks", "examples", "policies")
               for p in (ROOT / folder).rglob("*.policy") if "node_modules" not in p.parts)


def _rule(text: str) -> ast.RuleDecl:
    result = parse(text)
    assert result.ok, result.diagnostics
    (decl,) = result.module.decls
    assert isinstance(decl, ast.RuleDecl)
    return decl


OLD = '''obligation o {
  source "二（三）1" "高危行业企业每年至少开展一次"
  due every 1 year
    last max(a in risk_assessments: a.date)
    first 2020-07-01
}'''
NEW = '''obligation o {
  source "二（三）1" quote "高危行业企业" "每年至少开展一次"
  due every 1 year
    last done max(a in risk_assessments: a.date)
    first due 2020-07-01
}'''


def test_new_forms_parse_to_the_nodes_of_the_old_ones() -> None:
    assert _rule(OLD) == _rule(NEW)
    assert _rule("obligation o { due by 2020-12-31 met x }") == _rule("obligation o { due by 2020-12-31 done x }")
    title = _rule('obligation o { title zh "一" "二"\n  en "one, " "two" }').first(ast.Title)
    assert title is not None and title.text == ast.Bilingual("一二", "one, two")


def test_each_old_form_is_a_positioned_warning_that_says_what_to_write() -> None:
    text = OLD.replace("due every", "due by 2020-12-31 met as_of\n  due every")
    result = parse(text, "old.policy")
    assert result.ok
    found = [(d.code, d.span.line, d.span.column) for d in result.diagnostics]
    assert found == [("deprecated-source", 2, 18), ("deprecated-met", 3, 21), ("deprecated-every", 5, 5),
                     ("deprecated-every", 6, 5)]
    for d in result.diagnostics:
        assert d.severity is Severity.WARNING
        assert re.search(r"[\u4e00-\u9fff]", d.message) and " / deprecated " in d.message  # Chinese, English
        assert d.suggestion is not None and "safetyrules fmt" in d.suggestion
    assert parse(NEW).diagnostics == []


def test_a_candidate_is_run_as_the_obligation_it_replaces() -> None:
    candidate = _rule('candidate c {\n  severity high\n  when violated(a) or violated(b)\n}')
    obligation = _rule('obligation c {\n  severity high\n  require not (violated(a) or violated(b))\n'
                       '  due continuous\n}')
    assert candidate.kind == "candidate" and candidate.outcome_kind == "obligation"
    assert canonical(candidate) == obligation
    assert canonical(obligation) is obligation


def test_engine_param_names_are_not_part_of_what_engines_run() -> None:
    named = _rule("obligation o { each h in hazards due on h.limit done h.done_on late for late_act_memory }")
    due = named.due
    assert isinstance(due, ast.DueOn) and due.reserved == ast.Name("late_act_memory")
    assert canonical(named) == _rule("obligation o { each h in hazards due on h.limit done h.done_on }")


# ------------------------------------------------------------------------------------------ fmt on every file


def _comparable(module: ast.Module) -> list[object]:
    """What a file means: its declarations as engines run them (rule items in any order)."""
    out: list[object] = []
    for decl in module.decls:
        if isinstance(decl, ast.RuleDecl):
            decl = canonical(decl)
            out.append((decl.kind, decl.name, decl.doc, sorted(map(repr, decl.items))))
        else:
            out.append(decl)
    return out


def test_there_are_policy_files_everywhere() -> None:
    folders = {p.relative_to(ROOT).parts[0] for p in FILES}
    assert folders == {"tests", "benchmarks", "examples", "policies"}
    assert len(FILES) > 100


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_fmt_rewrites_every_policy_file_to_the_new_forms(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    first = parse(text, path.name)
    if not first.ok:
        pytest.skip("a file with a syntax error on purpose: fmt leaves it alone")
    established = subject_established(path.parent)
    formatted = format_module(first.module, established)
    again = parse(formatted, path.name)
    assert again.ok and [d for d in again.diagnostics if d.code.startswith("deprecated-")] == [], formatted
    assert format_module(again.module, established) == formatted  # idempotent
    assert [c.text for c in again.module.comments] == [c.text for c in first.module.comments]  # comments kept
    assert _comparable(again.module) == _comparable(first.module)  # meaning kept


def test_shipped_policies_use_only_the_new_forms() -> None:
    for path in FILES:
        if path.relative_to(ROOT).parts[0] in ("policies", "examples", "benchmarks"):
            text = path.read_text(encoding="utf-8")
            assert format_module(parse(text).module, subject_established(path.parent)) == text, path


def test_fmt_check_reports_the_deprecated_forms_and_fmt_rewrites_them(tmp_path: Path) -> None:
    path = tmp_path / "old.policy"
    path.write_text(OLD.replace("obligation o {", 'obligation o {\n  # kept\n  implements "x"') + "\n",
                    encoding="utf-8")
    runner = CliRunner()
    check = runner.invoke(fmt_command, ["--check", str(path)])
    assert check.exit_code == 1
    assert "warning[deprecated-source]" in check.stderr and "warning[deprecated-every]" in check.stderr
    assert "uses 3 deprecated form(s)" in " ".join(check.stderr.split())  # the quote, `last`, `first`
    assert runner.invoke(fmt_command, [str(path)]).exit_code == 0
    rewritten = path.read_text(encoding="utf-8")
    assert "# kept" in rewritten and "last done" in rewritten and "first due" in rewritten
    assert parse(rewritten).diagnostics == []
    assert runner.invoke(fmt_command, ["--check", str(path)]).exit_code == 0
