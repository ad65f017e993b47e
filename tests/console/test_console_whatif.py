"""The console's what-if page and its posted population: the form from the policy's params and rules, the
headline's change first, changes grouped by obligation, bars only where something differs; the token and
read-only mode as `/v1/whatif` has them; nothing stored."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from safetyrules.api import bundled_policy_path, load_policy
from safetyrules.service.app import create_app

from .helpers import TOKEN, TOWN, check_html, rule_names_in, small_town, visible

POLICY = load_policy()
TITLES = {r.name: r.title for r in POLICY.rules()}


def test_the_form_offers_every_param_with_its_doc_and_every_rule(client: TestClient) -> None:
    page = client.get("/console/whatif").text
    check_html(page)
    for p in POLICY.params():
        if not p.builtin:
            assert f'name="p.{p.name}"' in page
    assert "高危行业领域" in page  # a param's doc
    for p in POLICY.params():  # each by its label, what a regulator calls it
        if not p.builtin and p.label is not None:
            assert f"{p.label.zh} <code>{p.name}</code>" in page
    for r in POLICY.rules():
        assert f'value="{r.name}"' in page  # the rule's name is the checkbox's value …
    text = visible(page)
    assert TITLES["apprenticeship"].zh in text  # … its title what a person reads
    assert '<form class="whatif" method="get"' in page  # no token: a shareable GET
    assert page.index('id="headline"') < page.index('id="form"')  # the base's headline first


def test_a_run_opens_with_the_headline_change_then_changes_by_obligation(client: TestClient) -> None:
    response = client.get("/console/whatif", params={"run": "1", "p.other_assessment_period": "2 years",
                                                     "off": "apprenticeship", "as_of": "2022-12-31"})
    assert response.status_code == 200, response.text
    page = response.text
    check_html(page)
    text = visible(page)
    assert rule_names_in(text.replace("other_assessment_period", "")) == []
    assert page.index('id="headline"') < page.index('id="charts"') < page.index('id="changes"')
    assert re.search(r'<b>\d+ <span class="delta up">\+\d+</span></b><span class="what">项违反', page)
    assert "3 years → <b>2 years</b>" in page
    assert "其他行业风险辨识评估周期（<code>other_assessment_period</code>）" in page  # the changed param's label
    assert f'停用<span class="alt">switched off</span>：{TITLES["apprenticeship"].zh}' in page
    changes = page[page.index('id="changes"'):]
    assert TITLES["risk_assessment_other"].zh in changes and TITLES["apprenticeship"].zh in changes
    assert "参数调整：其他行业风险辨识评估周期 = 2 years" in changes and "该义务在情景中停用" in changes
    bars = page[page.index('id="charts"'):page.index('id="changes"')]
    assert bars.count("<svg") == 2  # by obligation and by village, where they differ …
    assert TITLES["risk_assessment_other"].zh[:20] in bars
    assert TITLES["dual_report"].zh[:20] not in bars  # … and only there
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # no network
    assert client.get("/v1/health").json()["decisions"] == 0


def test_a_run_that_changes_nothing_draws_no_chart(client: TestClient) -> None:
    page = client.get("/console/whatif", params={"run": "1"}).text
    check_html(page)
    assert "<svg" not in page and 'id="changes"' not in page
    assert "情景与基准的结果完全相同" in page


def test_bad_values_are_named_on_the_form(client: TestClient) -> None:
    bad = client.get("/console/whatif", params={"run": "1", "p.other_assessment_period": "2 yearz"})
    assert bad.status_code == 422
    check_html(bad.text)
    assert "other_assessment_period" in bad.text and "2 yearz" in bad.text
    assert 'value="2 yearz"' in bad.text  # the form keeps what was typed
    unknown = client.get("/console/whatif", params={"run": "1", "p.no_such_param": "1", "off": "no_such_rule"})
    assert unknown.status_code == 422
    assert "no_such_param" in unknown.text and "no_such_rule" in unknown.text


def test_a_run_posted_as_a_form(client: TestClient) -> None:
    response = client.post("/console/whatif?lang=en", data={"run": "1", "p.risk_report_period": "6 months"})
    assert response.status_code == 200
    check_html(response.text)
    assert "What changes" in visible(response.text)


def test_with_a_token_a_run_needs_it(guarded: TestClient) -> None:
    form = guarded.get("/console/whatif").text
    assert '<form class="whatif" method="post"' in form and 'type="password" name="token"' in form
    assert guarded.get("/console/").status_code == 200  # reading needs no token
    refused = guarded.post("/console/whatif", data={"run": "1", "p.other_assessment_period": "2 years"})
    assert refused.status_code == 401
    assert 'id="changes"' not in refused.text and "Bearer" in refused.text
    wrong = guarded.post("/console/whatif", data={"run": "1", "token": "nope"})
    assert wrong.status_code == 401
    by_form = guarded.post("/console/whatif", data={"run": "1", "p.other_assessment_period": "2 years",
                                                    "token": TOKEN})
    assert by_form.status_code == 200 and 'id="changes"' in by_form.text
    by_header = guarded.get("/console/whatif", params={"run": "1", "p.other_assessment_period": "2 years"},
                            headers={"Authorization": f"Bearer {TOKEN}"})
    assert by_header.status_code == 200 and 'id="changes"' in by_header.text
    assert guarded.get("/v1/health").json()["decisions"] == 0


def test_a_read_only_service_shows_pages_and_refuses_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAFETYRULES_TOKEN", raising=False)
    app = create_app(bundled_policy_path(), f"sqlite:///{tmp_path / 'd.db'}", token=None, read_only=True,
                     facts=small_town(tmp_path))
    with TestClient(app) as c:
        assert c.get("/console/").status_code == 200
        form = c.get("/console/whatif").text
        assert "只读模式" in form and "<form class=\"whatif\"" not in form
        assert 'enctype="multipart/form-data"' not in c.get("/console/").text  # no upload either
        assert c.get("/console/whatif", params={"run": "1"}).status_code == 403


def test_the_configured_facts_are_the_population(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAFETYRULES_TOKEN", raising=False)
    path = small_town(tmp_path, 12)
    with TestClient(create_app(None, f"sqlite:///{tmp_path / 'd.db'}", token=None, facts=path)) as c:
        page = c.get("/console/").text
        assert "12 家企业" in visible(page) and "small.jsonl" in page
        assert "as_of=" not in page  # today, the default for a configured file: links need not carry it
        assert c.get(f"/console/enterprise/{TOWN[0]['id']}").status_code == 200
        assert c.get(f"/console/enterprise/{TOWN[20]['id']}").status_code == 404


def test_facts_that_cannot_be_read_make_an_error_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAFETYRULES_TOKEN", raising=False)
    path = tmp_path / "broken.jsonl"
    path.write_text("", encoding="utf-8")
    path.unlink()
    with TestClient(create_app(None, f"sqlite:///{tmp_path / 'd.db'}", token=None, facts=path)) as c:
        response = c.get("/console/")
        assert response.status_code == 503
        check_html(response.text)
        assert "no such file" in response.text


def test_a_posted_facts_file_is_shown_and_not_kept(guarded: TestClient) -> None:
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in TOWN[:30]).encode()
    refused = guarded.post("/console/?as_of=2022-06-30", content=body,
                           headers={"Content-Type": "application/x-ndjson"})
    assert refused.status_code == 401
    shown = guarded.post("/console/?as_of=2022-06-30", content=body,
                         headers={"Content-Type": "application/x-ndjson", "Authorization": f"Bearer {TOKEN}"})
    assert shown.status_code == 200, shown.text
    check_html(shown.text)
    text = visible(shown.text)
    assert "30 家企业" in text and "截至 2022-06-30" in text and "未保存" in text
    assert "/console/enterprise/" not in shown.text  # the page stands alone: its enterprises are not served
    assert rule_names_in(text) == []
    upload = guarded.post("/console/", files={"facts": ("mine.jsonl", body, "application/octet-stream")},
                          data={"token": TOKEN, "lang": "en", "as_of": "2022-12-31"})
    assert upload.status_code == 200, upload.text
    assert "30 enterprises" in visible(upload.text) and "mine.jsonl" in upload.text
    bad = guarded.post("/console/", content=b"{not json\n", headers={"Content-Type": "application/x-ndjson",
                                                                    "Authorization": f"Bearer {TOKEN}"})
    assert bad.status_code == 200 and "0 家企业" in visible(bad.text) and "拒收 1 条记录" in visible(bad.text)
    odd = guarded.post("/console/", content=b"x", headers={"Content-Type": "text/plain",
                                                           "Authorization": f"Bearer {TOKEN}"})
    assert odd.status_code == 415
    assert guarded.get("/v1/health").json()["decisions"] == 0


def test_more_posted_records_than_allowed_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAFETYRULES_TOKEN", raising=False)
    app = create_app(None, f"sqlite:///{tmp_path / 'd.db'}", token=None, max_records=10)
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in TOWN[:11]).encode()
    with TestClient(app) as c:
        response = c.post("/console/", content=body, headers={"Content-Type": "application/x-ndjson"})
        assert response.status_code == 413
        check_html(response.text)


def test_serve_refuses_a_facts_file_that_does_not_exist(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from safetyrules.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--facts", str(tmp_path / "nope.jsonl"), "--db",
                                      f"sqlite:///{tmp_path / 'd.db'}"])
    assert result.exit_code == 2
    assert "no such facts file (--facts)" in result.stderr
    assert "--facts" in CliRunner().invoke(cli, ["serve", "--help"]).output


def test_the_base_is_evaluated_once_per_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs on one date reuse the population's base evaluation: each run evaluates only its scenario, and
    gives what a run from scratch gives."""
    from safetyrules.console import whatif as console_whatif
    from safetyrules.whatif import run as whatif_run

    monkeypatch.delenv("SAFETYRULES_TOKEN", raising=False)
    calls: list[tuple[str, ...]] = []
    plain = whatif_run.evaluate_rows

    def counted(policy, records, day, params, disabled, compiled=True):  # type: ignore[no-untyped-def]
        calls.append(tuple(sorted(params)))
        return plain(policy, records, day, params, disabled, compiled)

    monkeypatch.setattr(console_whatif, "evaluate_rows", counted)
    app = create_app(bundled_policy_path(), f"sqlite:///{tmp_path / 'd.db'}", facts=small_town(tmp_path, 40))
    pages = []
    with TestClient(app) as c:
        for period in ("2 years", "5 years", "2 years"):
            response = c.get("/console/whatif", params={"run": "1", "p.other_assessment_period": period,
                                                        "as_of": "2022-12-31"})
            assert response.status_code == 200, response.text
            pages.append(visible(response.text))
        c.get("/console/whatif", params={"run": "1", "off": "apprenticeship", "as_of": "2022-06-30"})
    assert calls == [(), ("other_assessment_period",), ("other_assessment_period",), ("other_assessment_period",),
                     (), ()]  # the base once per date, then each run's scenario
    assert pages[0] == pages[2]  # a kept base gives the page a fresh one gave
