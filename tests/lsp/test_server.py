"""The language server, in process: Language Server Protocol messages over pipes to `build_server()` running on
a thread, on the seed policy's policies/annex4/30-risk.policy — one test per capability — and `safetyrules lsp`
started as an editor starts it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pygls")

from tests.lsp.client import Client, in_process, uri

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "policies" / "annex4"
RISK = FOLDER / "30-risk.policy"
TEXT = RISK.read_text(encoding="utf-8")
LINES = TEXT.split("\n")
LAST = uri(sorted(FOLDER.glob("*.policy"))[-1])


def where(snippet: str, nth: int = 1, offset: int = 0) -> dict[str, int]:
    """The LSP position of the `nth` occurrence of `snippet` in 30-risk.policy (plus `offset` characters)."""
    for i, line in enumerate(LINES):
        if snippet in line:
            nth -= 1
            if nth == 0:
                return {"line": i, "character": line.index(snippet) + offset}
    raise AssertionError(f"{snippet!r} is not in {RISK.name}")


def at(doc: str, snippet: str, nth: int = 1, offset: int = 1) -> dict[str, Any]:
    return {"textDocument": {"uri": doc}, "position": where(snippet, nth, offset)}


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    c, thread, to_server = in_process()
    c.initialize(ROOT)
    yield c
    c.stop()
    to_server.close()
    thread.join(10)


@pytest.fixture
def doc(client: Client) -> Iterator[str]:
    """30-risk.policy open in the editor as it is on disk; closed after the test."""
    client.drain()
    opened = client.open(RISK)
    assert client.diagnostics(opened) == []
    client.diagnostics(LAST)  # the last file of the folder: every publication of the open is read
    yield opened
    client.close_document(opened)
    client.drain()


def test_initialize_announces_every_capability() -> None:
    c, thread, to_server = in_process()
    result = c.initialize(ROOT)
    caps = result["capabilities"]
    assert result["serverInfo"]["name"] == "safetyrules"
    assert caps["hoverProvider"] and caps["definitionProvider"] and caps["referencesProvider"]
    assert caps["documentSymbolProvider"] and caps["documentFormattingProvider"]
    assert set(caps["completionProvider"]["triggerCharacters"]) == {".", '"'}
    assert caps["codeActionProvider"]["codeActionKinds"] == ["quickfix"]
    c.stop()
    to_server.close()
    thread.join(10)


def test_diagnostics_on_open_and_change_with_codes_and_did_you_mean(client: Client, doc: str) -> None:
    broken = TEXT.replace("default 30 days", "default 30 dais").replace(
        "by a.date).risk_list_updated", "by a.date).risk_list_updatd")
    client.change(doc, broken, 2)
    diagnostics = {d["code"]: d for d in client.diagnostics(doc)}
    assert set(diagnostics) == {"syntax", "unknown-field"}
    unit, field = diagnostics["syntax"], diagnostics["unknown-field"]
    assert unit["severity"] == 1 and unit["source"] == "safetyrules"
    assert unit["message"].startswith("unknown duration unit `dais`")
    assert unit["message"].endswith("help: did you mean `days`?")
    line = next(i for i, text in enumerate(broken.split("\n")) if "30 dais" in text)
    assert unit["range"] == {"start": {"line": line, "character": 13}, "end": {"line": line, "character": 17}}
    assert "RiskAssessment has no field `risk_list_updatd`" in field["message"]
    assert field["message"].endswith("help: did you mean `risk_list_updated`?")
    client.change(doc, TEXT, 3)  # mended: the diagnostics are cleared
    assert client.diagnostics(doc) == []


def _enforcement_line(snippet: str) -> int:
    """The line (from 0) of 60-enforcement.policy that holds `snippet`."""
    lines = (FOLDER / "60-enforcement.policy").read_text(encoding="utf-8").split("\n")
    return next(i for i, line in enumerate(lines) if snippet in line)


def test_diagnostics_check_the_folder_with_the_edited_text(client: Client, doc: str) -> None:
    # rename a rule that 60-enforcement.policy reads: the error appears in that file, which is not open
    client.change(doc, TEXT.replace("obligation risk_list_reporting", "obligation risk_list_reports"), 2)
    enforcement = uri(FOLDER / "60-enforcement.policy")
    problems = client.diagnostics(enforcement)
    assert [d["code"] for d in problems] == ["not-a-rule"]
    assert problems[0]["message"].endswith("help: did you mean `risk_list_reports`?")
    assert problems[0]["range"]["start"]["line"] == _enforcement_line("violated(risk_list_reporting)")
    client.change(doc, TEXT, 3)
    assert client.diagnostics(enforcement) == []


def test_hover(client: Client, doc: str) -> None:
    def hover(snippet: str, offset: int) -> str:
        result = client.request("textDocument/hover", at(doc, snippet, 1, offset))
        assert result["contents"]["kind"] == "markdown"
        return str(result["contents"]["value"])

    param = hover("due every risk_report_period", len("due every ") + 1)  # a param: doc, default, clause
    assert "**param** `risk_report_period`: duration" in param
    assert "“定期” reporting of the risk list" in param
    assert "default `3 months`" in param
    assert "source 二（三）3 “定期通过“泉州市智慧安监”信息系统平台向相关监管部门报送风险清单”" in param
    field = hover("a.date)", 2)  # a fact field: its type and its Chinese and English label
    assert "**field** `risk_assessment.date`: date" in field and "评估日期 / date of the assessment" in field
    rule = hover("obligation risk_assessment_other", 12)  # a rule: its title and the clause it cites
    assert "**obligation** `risk_assessment_other` — implements 3.1-b" in rule
    assert "Other enterprises assess their risks comprehensively at least once every three years" in rule
    assert "source 二（三）1 “其他行业企业每三年至少开展一次全面的安全风险辨识评估”" in rule
    catalogue = hover('"3.1-a"', 2)  # a catalogue id: where the catalogue is, the rules implementing it
    assert "**catalogue id** `3.1-a` (catalogue at 00-annex4.policy:" in catalogue
    assert "obligation `risk_assessment_high_risk`: 高危行业企业每年至少开展一次全面的安全风险辨识评估" in catalogue
    assert hover('"risk_list"', 2) == "**code** `risk_list` of `report_kind` — 风险清单 / risk list"
    assert client.request("textDocument/hover", {"textDocument": {"uri": doc},
                                                 "position": {"line": 0, "character": 0}}) is None


def test_hover_shows_a_params_dated_values(client: Client) -> None:
    social = FOLDER / "50-social.policy"
    opened = client.open(social)
    text = social.read_text(encoding="utf-8").split("\n")
    line = next(i for i, t in enumerate(text) if t.startswith("param ") and "from 2023-10-01" in "\n".join(
        text[i:i + 4]))
    value = client.request("textDocument/hover", {"textDocument": {"uri": opened},
                                                  "position": {"line": line, "character": 7}})["contents"]["value"]
    assert "from 2023-10-01: `3 years`" in value
    assert "失信记录期限 / how long a behaviour stays on the credit record" in value  # its label
    client.close_document(opened)
    client.drain()


def _place(location: dict[str, Any]) -> tuple[str, int]:
    return Path(location["uri"]).name, location["range"]["start"]["line"]


def test_go_to_definition(client: Client, doc: str) -> None:
    define = client.request("textDocument/definition", at(doc, "last done last_comprehensive_assessment", 1, 11))
    assert _place(define) == ("30-risk.policy", where("define last_comprehensive_assessment")["line"])
    assert define["range"]["start"]["character"] == len("define ")
    param = client.request("textDocument/definition", at(doc, "high_risk_industries"))
    assert _place(param)[0] == "00-annex4.policy"
    field = client.request("textDocument/definition", at(doc, "a.date)", 1, 2))
    facts = (FOLDER / "05-facts.policy").read_text(encoding="utf-8").split("\n")
    assert _place(field)[0] == "05-facts.policy"
    assert facts[field["range"]["start"]["line"]].strip().startswith("field date: date")
    code = client.request("textDocument/definition", at(doc, '"risk_list"', 1, 2))
    assert facts[code["range"]["start"]["line"]].strip().startswith("code risk_list")


def test_find_references(client: Client, doc: str) -> None:
    def refs(snippet: str, declaration: bool, offset: int = 1) -> list[tuple[str, int]]:
        params = {**at(doc, snippet, 1, offset), "context": {"includeDeclaration": declaration}}
        return sorted(_place(loc) for loc in client.request("textDocument/references", params))

    assert refs("param risk_report_period", True, 7) == [("30-risk.policy", where("param risk_report_period")["line"]),
                                                         ("30-risk.policy", where("due every risk_report_period")
                                                          ["line"])]
    assert refs("param risk_report_period", False, 7) == [("30-risk.policy",
                                                           where("due every risk_report_period")["line"])]
    rule = refs("obligation risk_list_reporting", True, 12)
    # read by violated(…) in another file
    assert ("60-enforcement.policy", _enforcement_line("violated(risk_list_reporting)")) in rule and len(rule) == 2
    field = refs("a.date)", False, 2)
    assert len(field) >= 4 and {f for f, _ in field} >= {"30-risk.policy"}


def test_completion(client: Client, doc: str) -> None:
    def labels(text: str, line_of: str, character: int | None = None) -> list[str]:
        client.change(doc, text, 2)
        client.diagnostics(doc)
        lines = text.split("\n")
        line = next(i for i, t in enumerate(lines) if line_of in t)
        position = {"line": line, "character": len(lines[line]) if character is None else character}
        result = client.request("textDocument/completion", {"textDocument": {"uri": doc}, "position": position})
        return [item["label"] for item in result["items"]]

    # after `a.` (the text does not parse yet): the fields of the record `a` ranges over
    typing = TEXT.replace("  require latest(a in risk_assessments by a.date).risk_list_updated",
                          "  require latest(a in risk_assessments by a.date).risk_list_updated\n"
                          "      and all(h in hazards where h.")
    assert labels(typing, "and all(h in hazards where h.") == [
        "id", "major", "found_on", "reported_on", "cause", "plan", "remediated_on", "verified_on"]
    # in a string compared with an enumeration: its codes
    codes = TEXT.replace('r.kind == "risk_list"', 'r.kind == "')
    assert labels(codes, 'r.kind == "', where('r.kind == "risk_list"')["character"] + len('r.kind == "')) == [
        "risk_list", "dual_report", "hazard"]
    # elsewhere: params, definitions, the subject's fields, functions and keywords
    names = labels(TEXT.replace("  applies industry in high_risk_industries\n",
                                "  applies industry in high_risk_industries\n  require \n", 1), "  require ", 10)
    assert {"risk_report_period", "last_comprehensive_assessment", "risk_assessments", "industry", "coalesce",
            "violated", "obligation", "require", "any"} <= set(names)
    # the words of the current revision of the language, not the deprecated ones
    assert {"candidate", "when", "quote", "done", "grace", "late"} <= set(names) and "met" not in names
    client.change(doc, TEXT, 3)
    client.diagnostics(doc)


def test_document_symbols(client: Client, doc: str) -> None:
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": doc}})
    names = [(s["name"], s["kind"]) for s in symbols]
    assert names[:4] == [("high_risk_assessment_period", 14), ("other_assessment_period", 14),
                         ("last_comprehensive_assessment", 13), ("risk_assessment_high_risk", 5)]
    assert ("risk_list_reporting", 5) in names
    rule = next(s for s in symbols if s["name"] == "risk_assessment_high_risk")
    assert rule["detail"].startswith("3.1-a — High-risk enterprises")
    assert rule["selectionRange"]["start"] == where("obligation risk_assessment_high_risk", 1, 11)


def test_formatting(client: Client, doc: str) -> None:
    messy = TEXT.replace("  severity high\n", "    severity    high\n").replace(
        "default 1 year", "default   1   year")
    client.change(doc, messy, 2)
    client.diagnostics(doc)
    edits = client.request("textDocument/formatting", {"textDocument": {"uri": doc},
                                                       "options": {"tabSize": 2, "insertSpaces": True}})
    assert len(edits) == 1
    assert edits[0]["newText"] == TEXT  # the seed file is canonically formatted
    assert edits[0]["range"]["start"] == {"line": 0, "character": 0}
    client.change(doc, TEXT, 3)
    client.diagnostics(doc)
    assert client.request("textDocument/formatting", {"textDocument": {"uri": doc},
                                                      "options": {"tabSize": 2, "insertSpaces": True}}) == []


def test_code_action_for_each_did_you_mean(client: Client, doc: str) -> None:
    broken = TEXT.replace("default 30 days", "default 30 dais").replace(
        "by a.date).risk_list_updated", "by a.date).risk_list_updatd").replace(
        'r.kind == "risk_list"', 'r.kind == "risk_lst"')
    client.change(doc, broken, 2)
    diagnostics = client.diagnostics(doc)
    assert len(diagnostics) == 3
    lines = broken.split("\n")
    fixed = []
    for d in diagnostics:
        actions = client.request("textDocument/codeAction", {
            "textDocument": {"uri": doc}, "range": d["range"], "context": {"diagnostics": [d]}})
        [action] = actions
        assert action["kind"] == "quickfix" and action["isPreferred"]
        assert action["diagnostics"][0]["code"] == d["code"]
        [edit] = action["edit"]["changes"][doc]
        r = edit["range"]
        line = lines[r["start"]["line"]]
        fixed.append((line[r["start"]["character"]:r["end"]["character"]], edit["newText"], action["title"]))
    assert sorted(fixed) == [("dais", "days", "Replace `dais` with `days`"),
                             ("risk_list_updatd", "risk_list_updated",
                              "Replace `risk_list_updatd` with `risk_list_updated`"),
                             ("risk_lst", "risk_list", "Replace `risk_lst` with `risk_list`")]
    client.change(doc, TEXT, 3)
    client.diagnostics(doc)


def test_import_safetyrules_does_not_import_pygls() -> None:
    code = ("import sys, safetyrules, safetyrules.cli, safetyrules.lsp, safetyrules.lsp.analysis; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol'))))")
    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert json.loads(out.stdout) == []


def test_the_lsp_command_speaks_over_stdio() -> None:
    script = Path(sys.executable).with_name("safetyrules")
    process = subprocess.Popen([str(script), "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT)
    assert process.stdin is not None and process.stdout is not None
    c = Client(process.stdin, process.stdout)  # type: ignore[arg-type]
    try:
        assert c.initialize(ROOT)["serverInfo"]["name"] == "safetyrules"
        opened = c.open(RISK)
        assert c.diagnostics(opened) == []
        c.stop()
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_the_lsp_command_without_pygls_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from safetyrules.cli import cli

    for name in ("pygls", "pygls.lsp", "pygls.lsp.server"):  # importing pygls fails, as when it is not installed
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "safetyrules.lsp.server", raising=False)
    result = CliRunner().invoke(cli, ["lsp"])
    assert result.exit_code == 2
    assert "pip install 'safetyrules[lsp]'" in result.stderr
