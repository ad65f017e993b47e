"""The console's pages (town, obligation, village, enterprise) in process: titles and labels where a person reads
(no rule names, no field paths), the headline before the tables, valid-ish HTML, print CSS, both languages,
the as-of date, the refusals, and nothing stored."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from safetyrules.api import load_policy
from safetyrules.service.app import create_app

from .helpers import RULE_NAMES, TOWN, check_html, parse, rule_names_in, visible

POLICY = load_policy()
TITLES = {r.name: r.title for r in POLICY.rules()}
FIRST = TOWN[0]


def test_the_town_page_opens_with_the_headline_and_names_no_rule(client: TestClient) -> None:
    response = client.get("/console/")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    check_html(page)
    text = visible(page)
    assert rule_names_in(text) == []  # titles where a person reads; names only in URLs and attributes
    assert not re.search(r"\b[a-z_]+\.[a-z_]+\b", text.replace("safetyrules eval", "").replace("town.jsonl", ""))
    assert any(name in page for name in RULE_NAMES)  # the links do carry them
    headline = page.index('id="headline"')
    assert headline < page.index("<table")
    for words in ("项违反", "家查处对象", "条有效失信记录", "总体合规率"):
        assert page.index(words) < page.index("<table")
    for title in (TITLES["risk_assessment_high_risk"].zh, TITLES["dual_report"].zh):
        assert title in text
    assert 'id="obligations"' in page and 'id="villages"' in page and 'id="worst"' in page
    assert "300 家企业" in text


def test_the_headline_counts_what_the_library_decides(client: TestClient) -> None:
    results = list(POLICY.evaluate_many(TOWN, "2022-12-31"))
    high = {r.name for r in POLICY.rules() if r.kind == "obligation" and r.severity == "high"}
    derived = {r.name for r in POLICY.rules() if r.rules_used}
    violations = sum(r.outcome == "violated" and r.rule not in derived for e in results for r in e.results)
    candidates = sum(any((r.outcome == "violated" and r.rule in high) or r.outcome == "triggered" for r in e.results)
                     for e in results)
    listings = sum(r.outcome == "triggered" for e in results for r in e.results)
    cards = re.findall(r'<div class="kpi[^"]*"><b>([^<]+)</b>', client.get("/console/").text)
    assert cards[:3] == [str(violations), str(candidates), str(listings)]


def test_the_town_page_has_a_rate_per_obligation_and_village(client: TestClient) -> None:
    page = client.get("/console/").text
    rows = re.findall(r'<table class="obligations">.*?</table>', page, re.S)[0]
    obligations = [r for r in POLICY.rules() if r.kind == "obligation"]
    assert rows.count("<tr>") == len(obligations) + 1
    assert re.search(r"\d+%</td></tr>", rows)
    villages = re.findall(r'<table class="villages">.*?</table>', page, re.S)[0]
    assert villages.count("/console/village/") == len({r["village"] for r in TOWN})
    assert "<tr class=total><td>合计" in villages


def test_print_css_gives_a_paged_report(client: TestClient) -> None:
    page = client.get("/console/").text
    css = page[page.index("<style>"):page.index("</style>")]
    media = css[css.index("@media print"):]
    assert "header.bar,form,nav" in media and "display:none" in media  # no navigation, no forms
    assert "section{break-before:page" in media  # a page per section
    assert "tr,li" in media and "break-inside:avoid" in media  # rows are not split
    assert "thead{display:table-header-group}" in media
    assert "@page" in css
    assert page.count("<section") >= 4


def test_english_is_a_query_away(client: TestClient) -> None:
    page = client.get("/console/?lang=en").text
    check_html(page)
    assert '<html lang="en">' in page
    text = visible(page)
    assert TITLES["risk_assessment_high_risk"].en in text
    assert "violations" in text and "项违反" in text  # every label bilingual, English first
    assert rule_names_in(text) == []
    assert 'href="/console/whatif?lang=en"' in page  # links keep the language


def test_the_as_of_date_is_chosen_and_kept_in_links(client: TestClient) -> None:
    page = client.get("/console/?as_of=2021-06-30").text
    check_html(page)
    assert "截至 2021-06-30" in visible(page)
    assert "as_of=2021-06-30" in page
    bad = client.get("/console/?as_of=2021-13-01")
    assert bad.status_code == 400
    check_html(bad.text)
    assert "2021-13-01" in visible(bad.text)


def test_an_obligation_page_lists_the_violators_with_their_message(client: TestClient) -> None:
    response = client.get("/console/obligation/risk_assessment_high_risk")
    assert response.status_code == 200
    page = response.text
    check_html(page)
    text = visible(page)
    assert TITLES["risk_assessment_high_risk"].zh in text
    assert page.index('id="headline"') < page.index("<table")
    assert "高危行业企业每年至少开展一次全面的安全风险辨识评估" in text  # the cited clause
    assert re.search(r"行业领域：\S+；", text)  # `industry=mining（矿山）` read as a label and a code's label
    assert "已逾期" in text and "立即开展并记录一次" in text  # message and remedy
    assert rule_names_in(text) == []
    assert "industry=" not in text
    violators = {e.enterprise for e in POLICY.evaluate_many(TOWN, "2022-12-31")
                 if e.by_rule("risk_assessment_high_risk").outcome == "violated"}
    assert page.count("/console/enterprise/") == len(violators)
    by_id = client.get("/console/obligation/3.1-a")  # a catalogue id names its rule
    assert by_id.status_code == 200 and TITLES["risk_assessment_high_risk"].zh in by_id.text


def test_the_enforcement_page_names_rules_by_their_titles(client: TestClient) -> None:
    page = client.get("/console/obligation/enforcement_candidate").text
    check_html(page)
    text = visible(page)
    assert rule_names_in(text) == []
    assert f"「{TITLES['safety_commitment'].zh}」" in text  # 违反的规则：safety_commitment → its title


def test_a_credit_listing_page(client: TestClient) -> None:
    page = client.get("/console/obligation/evading_supervision?lang=en").text
    check_html(page)
    text = visible(page)
    assert "listed until" in text and "Enterprises listed" in text
    assert rule_names_in(text) == []
    assert "inspection_findings" not in text


def test_a_village_page(client: TestClient) -> None:
    village = FIRST["village"]
    response = client.get(f"/console/village/{quote(village)}")
    assert response.status_code == 200
    page = response.text
    check_html(page)
    text = visible(page)
    assert village in text and rule_names_in(text) == []
    members = [r for r in TOWN if r["village"] == village]
    assert f"{len(members)} 家企业" in text
    assert page.index('id="headline"') < page.index("<table")
    assert client.get("/console/village/nowhere").status_code == 404


def test_an_enterprise_page_explains_every_outcome(client: TestClient) -> None:
    key = FIRST["id"]
    response = client.get(f"/console/enterprise/{key}")
    assert response.status_code == 200
    page = response.text
    check_html(page)
    parsed = parse(page)
    text = " ".join(parsed.text)
    assert FIRST["name"] in text
    assert page.count('id="r-') == len(POLICY.rules())  # every outcome, with its title
    findings = sum(r.outcome in ("violated", "triggered", "unknown", "pending")
                   for r in POLICY.evaluate(FIRST, "2022-12-31").results)
    assert page.count('class="outcome"') == findings  # a block each; the others a row each
    assert '<ul class="tree">' in page  # explanation trees as nested lists
    assert "整改建议" in text and "依据" in text  # the remedy, the cited clause
    assert "企业事实" in text and "行业领域" in text and "主要负责人" in text  # the facts, labelled
    # names only in links and in the folded policy text (code); "(apprenticeship)" is a fact's English label and
    # "apprenticeship window" a param's English words
    assert rule_names_in(text.replace("(apprenticeship)", "").replace("apprenticeship window", "")) == []
    assert "five_in_place." not in text
    english = client.get(f"/console/enterprise/{key}?lang=en").text
    check_html(english)
    assert "how it was decided" in visible(english) and "The facts" in visible(english)
    missing = client.get("/console/enterprise/NO-SUCH-ID")
    assert missing.status_code == 404 and "没有这家企业" in missing.text


def test_unknown_obligation_is_a_page_not_json(client: TestClient) -> None:
    response = client.get("/console/obligation/no_such_rule")
    assert response.status_code == 404
    check_html(response.text)


def test_console_redirects_to_its_slash(client: TestClient) -> None:
    response = client.get("/console", follow_redirects=False)
    assert response.status_code in (307, 308)
    assert response.headers["location"].endswith("/console/")


def test_the_console_reads_only(client: TestClient) -> None:
    for path in ("/console/", "/console/obligation/dual_report", f"/console/enterprise/{FIRST['id']}",
                 "/console/whatif?run=1&p.other_assessment_period=2+years"):
        assert client.get(path).status_code == 200
    assert client.get("/v1/health").json()["decisions"] == 0  # nothing stored
    assert client.post("/console/obligation/dual_report").status_code == 405


def test_what_the_facts_say_is_escaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAFETYRULES_TOKEN", raising=False)
    hostile = {**FIRST, "id": "E<1>&\"", "name": "<script>alert(1)</script>", "village": '"><img src=x onerror=1>'}
    path = tmp_path / "hostile.jsonl"
    path.write_text(json.dumps(hostile, ensure_ascii=False) + "\n", encoding="utf-8")
    with TestClient(create_app(None, f"sqlite:///{tmp_path / 'd.db'}", facts=path)) as c:
        pages = [c.get("/console/"), c.get(f"/console/enterprise/{quote(hostile['id'], safe='')}"),
                 c.get(f"/console/village/{quote(hostile['village'], safe='')}"),
                 c.get("/console/obligation/dual_report"), c.get("/console/whatif", params={"run": "1"})]
        for response in pages:
            assert response.status_code == 200, response.url
            check_html(response.text)
            assert "<script" not in response.text and "<img" not in response.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0].text
