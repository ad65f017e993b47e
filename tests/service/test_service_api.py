"""The decision service's HTTP API, in process (starlette's TestClient): every endpoint, the refusals (bad JSON,
a record failing validation, an unknown rule, a missing or wrong token, read-only, a body too large, too many
records), JSON Lines streaming, and the OpenAPI document listing every route."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from click.testing import CliRunner
from starlette.routing import Route
from starlette.testclient import TestClient

from safetyrules.api import bundled_example_path, bundled_policy_path, load_policy
from safetyrules.cli import cli
from safetyrules.service.app import create_app
from safetyrules.service.bundle import policy_digest
from safetyrules.service.records import sha256_hex

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
AS_OF = "2022-12-31"
TOWN: list[dict[str, Any]] = [json.loads(line) for line in
                              bundled_example_path().read_text(encoding="utf-8").splitlines() if line.strip()]
E1 = {"id": "E1", "industry": "construction", "risk_assessments": [{"date": "2020-11-03", "comprehensive": True}]}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("service") / "decisions.db"
    app = create_app(bundled_policy_path(), f"sqlite:///{db}", token=TOKEN, max_body=2 * 1024 * 1024, max_records=500)
    with TestClient(app) as test_client:
        yield test_client


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    assert body["message"] and body["message_zh"]
    return dict(body)


# ---------------------------------------------------------------------- evaluate
def test_evaluate_one_record_gives_the_library_result_and_a_stored_decision(client: TestClient) -> None:
    response = client.post("/v1/evaluate", json={"record": E1, "as_of": "2022-06-30"}, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    expected = load_policy().evaluate(E1, "2022-06-30", explain=False).to_json(explanation=False)
    assert body["results"] == expected["results"]
    assert body["enterprise"] == "E1" and body["as_of"] == "2022-06-30"
    assert body["policy"]["digest"] == policy_digest(bundled_policy_path())
    r = next(x for x in body["results"] if "3.1-a" in x["implements"])
    assert r["outcome"] == "violated" and r["days_overdue"] == 239
    assert r["message"]["zh"].startswith("违反 3.1-a") and r["message"]["en"].startswith("Violated 3.1-a")
    assert "explanation" not in r

    stored = client.get(f"/v1/decisions/{body['decision_id']}", headers=AUTH)
    assert stored.status_code == 200
    decision = stored.json()
    assert decision["facts"] == E1 and decision["facts_sha256"] == sha256_hex(E1)
    assert decision["as_of"] == "2022-06-30" and decision["subject"] == "E1"
    assert decision["policy"] == body["policy"]
    assert [o["outcome"] for o in decision["outcomes"]] == [x["outcome"] for x in body["results"]]
    # anyone can check a decision from its JSON alone
    assert decision["hash"] == sha256_hex({k: v for k, v in decision.items() if k != "hash"})


def test_evaluate_a_list_with_params_and_explanations(client: TestClient) -> None:
    records = TOWN[:5]
    response = client.post("/v1/evaluate", headers=AUTH, json={
        "records": records, "as_of": AS_OF, "params": {"other_assessment_period": "2 years"}, "explain": True})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 5 and body["params"] == {"other_assessment_period": "2 years"}
    assert [x["enterprise"] for x in body["results"]] == [r["id"] for r in records]
    ids = [x["decision_id"] for x in body["results"]]
    assert ids == list(range(ids[0], ids[0] + 5))
    policy = load_policy()
    for item, record in zip(body["results"], records, strict=True):
        expected = policy.evaluate(record, AS_OF, params={"other_assessment_period": "2 years"})
        assert item["results"] == expected.to_json()["results"]
    stored = client.get(f"/v1/decisions/{ids[2]}", headers=AUTH).json()
    assert stored["params"] == {"other_assessment_period": "2 years"}


def test_evaluate_streams_json_lines_when_asked(client: TestClient) -> None:
    records = TOWN  # 300: more than one stored batch
    headers = {**AUTH, "Accept": "application/x-ndjson"}
    with client.stream("POST", "/v1/evaluate", json={"records": records, "as_of": AS_OF}, headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert [x["enterprise"] for x in lines] == [r["id"] for r in records]
    ids = [x["decision_id"] for x in lines]
    assert ids == list(range(ids[0], ids[0] + len(records)))
    policy = load_policy()
    assert lines[123]["results"] == policy.evaluate(records[123], AS_OF, explain=False).to_json(False)["results"]
    assert client.get(f"/v1/decisions/{ids[-1]}", headers=AUTH).json()["subject"] == records[-1]["id"]


def test_a_record_failing_validation_is_named_by_place_and_field(client: TestClient) -> None:
    bad = {**TOWN[1], "hazards": [{"found_on": "2022-03-01", "remediated_on": "2022-13-01"}]}
    before = client.get("/v1/health").json()["decisions"]
    response = client.post("/v1/evaluate", json={"records": [TOWN[0], bad, {"id": 5}], "as_of": AS_OF},
                           headers=AUTH)
    error = _error(response, 422, "invalid_record")
    places = [(e["at"], e["path"]) for e in error["errors"]]
    assert ("records[1]", "hazards[0].remediated_on") in places
    assert any(at == "records[2]" for at, _ in places)
    first = next(e for e in error["errors"] if e["at"] == "records[1]")
    assert first["subject"] == TOWN[1]["id"] and first["code"]
    assert first["text"].startswith(f"records[1] ({TOWN[1]['id']}): hazards[0].remediated_on: ")
    assert "记录" in error["message_zh"] and first["message_zh"]
    # the same messages as the library's FactError
    from safetyrules.api import FactError

    with pytest.raises(FactError) as raised:
        load_policy().evaluate(bad, AS_OF)
    assert {(e["path"], e["message"]) for e in raised.value.errors} == \
        {(e["path"], e["message"]) for e in error["errors"] if e["at"] == "records[1]"}
    assert client.get("/v1/health").json()["decisions"] == before  # refused whole: nothing decided


def test_duplicate_ids_and_unknown_fields(client: TestClient) -> None:
    response = client.post("/v1/evaluate", json={"records": [E1, E1], "as_of": AS_OF}, headers=AUTH)
    error = _error(response, 422, "invalid_record")
    assert error["errors"][0]["at"] == "records[1]" and error["errors"][0]["code"] == "duplicate_id"
    response = client.post("/v1/evaluate", json={"record": {**E1, "industy": "mining"}, "as_of": AS_OF},
                           headers=AUTH)
    assert response.status_code == 200
    assert any("industy" in w and "industry" in w for w in response.json()["warnings"])


@pytest.mark.parametrize(("body", "status", "code"), [
    (b'{"record": ', 400, "bad_json"),
    (b"[1, 2]", 400, "bad_request"),
    (b"", 400, "bad_json"),
    (b"\xff\xfe", 400, "bad_json"),
    (b"[" * 100_000 + b"]" * 100_000, 400, "bad_json"),
    (json.dumps({"record": E1}).encode(), 422, "bad_date"),
    (json.dumps({"record": E1, "as_of": "2022-13-01"}).encode(), 422, "bad_date"),
    (json.dumps({"record": E1, "as_of": 20220101}).encode(), 422, "bad_date"),
    (json.dumps({"record": E1, "as_of": AS_OF, "param": {}}).encode(), 400, "bad_request"),
    (json.dumps({"record": E1, "records": [E1], "as_of": AS_OF}).encode(), 400, "bad_request"),
    (json.dumps({"records": E1, "as_of": AS_OF}).encode(), 400, "bad_request"),
    (json.dumps({"record": E1, "as_of": AS_OF, "params": {"nope": "1"}}).encode(), 422, "bad_param"),
    (json.dumps({"record": E1, "as_of": AS_OF, "params": {"high_risk_industries": "[foo]"}}).encode(), 422,
     "bad_param"),
    (json.dumps({"record": E1, "as_of": AS_OF, "params": {"other_assessment_period": {"x": 1}}}).encode(), 422,
     "bad_param"),
    (json.dumps({"record": E1, "as_of": AS_OF, "explain": "yes"}).encode(), 400, "bad_request"),
])
def test_bad_requests_are_refused_with_json(client: TestClient, body: bytes, status: int, code: str) -> None:
    error = _error(client.post("/v1/evaluate", content=body, headers=AUTH), status, code)
    if code == "bad_json" and body.startswith(b"{"):
        assert "line 1, column 12" in error["message"] and "第 1 行第 12 列" in error["message_zh"]
    if body.count(b"nope"):
        assert "did you mean" in error["message"] or "the params are" in error["message"]
        assert "没有名为 `nope` 的参数" in error["message_zh"]


def test_a_bad_param_is_refused_before_a_stream_starts(client: TestClient) -> None:
    response = client.post("/v1/evaluate", json={"records": TOWN[:3], "as_of": AS_OF, "params": {"nope": "1"}},
                           headers={**AUTH, "Accept": "application/x-ndjson"})
    _error(response, 422, "bad_param")


def test_size_limits(client: TestClient) -> None:
    big = {"records": [E1], "as_of": AS_OF, "pad": "x" * (2 * 1024 * 1024)}
    _error(client.post("/v1/evaluate", json=big, headers=AUTH), 413, "too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"as_of": "2022-12-31", "records": ['
        for _ in range(20_000):
            yield json.dumps(E1).encode() * 1 + b","
        yield b"{}]}"

    _error(client.post("/v1/evaluate", content=chunks(), headers=AUTH), 413, "too_large")
    many = {"records": [{"id": f"E{i}"} for i in range(501)], "as_of": AS_OF}
    _error(client.post("/v1/evaluate", json=many, headers=AUTH), 413, "too_many_records")
    _error(client.post("/v1/whatif", json=many, headers=AUTH), 413, "too_many_records")


# ---------------------------------------------------------------------- auth and read-only
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                                     {"Authorization": TOKEN}])
def test_writes_need_the_token(client: TestClient, headers: dict[str, str]) -> None:
    for path, body in (("/v1/evaluate", {"record": E1, "as_of": AS_OF}),
                       ("/v1/whatif", {"records": [E1], "as_of": AS_OF})):
        response = client.post(path, json=body, headers=headers)
        _error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
    # reads do not
    assert client.post("/v1/explain", json={"record": E1, "as_of": AS_OF, "rule": "3.1-a"}).status_code == 200
    assert client.get("/v1/policy").status_code == 200


def test_the_token_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFETYRULES_TOKEN", "from-env")
    app = create_app(None, f"sqlite:///{tmp_path / 'd.db'}")
    with TestClient(app) as c:
        assert c.post("/v1/evaluate", json={"record": E1, "as_of": AS_OF}).status_code == 401
        ok = c.post("/v1/evaluate", json={"record": E1, "as_of": AS_OF},
                    headers={"Authorization": "Bearer from-env"})
        assert ok.status_code == 200 and c.get("/v1/health").json()["auth"] is True
    monkeypatch.delenv("SAFETYRULES_TOKEN")
    with TestClient(create_app(None, f"sqlite:///{tmp_path / 'd.db'}")) as c:
        assert c.post("/v1/evaluate", json={"record": E1, "as_of": AS_OF}).status_code == 200


def test_read_only_refuses_writes(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'd.db'}"
    with TestClient(create_app(None, db)) as c:
        decided = c.post("/v1/evaluate", json={"record": E1, "as_of": AS_OF}).json()["decision_id"]
    with TestClient(create_app(None, db, token=TOKEN, read_only=True)) as c:
        _error(c.post("/v1/evaluate", json={"record": E1, "as_of": AS_OF}, headers=AUTH), 403, "read_only")
        _error(c.post("/v1/whatif", json={"records": [E1], "as_of": AS_OF}, headers=AUTH), 403, "read_only")
        assert c.get(f"/v1/decisions/{decided}", headers=AUTH).json()["subject"] == "E1"
        # a stored decision holds the enterprise's facts: no token, no read (read-only mode too)
        _error(c.get(f"/v1/decisions/{decided}"), 401, "unauthorized")
        assert c.post("/v1/explain", json={"record": E1, "as_of": AS_OF}).status_code == 200
        health = c.get("/v1/health").json()
        assert health["read_only"] is True and health["decisions"] == 1


# ---------------------------------------------------------------------- explain, whatif
def test_explain_one_rule_by_catalogue_id_or_name(client: TestClient) -> None:
    before = client.get("/v1/health").json()["decisions"]
    response = client.post("/v1/explain", json={"record": E1, "rule": "3.1-a", "as_of": "2022-06-30", "lang": "zh"})
    assert response.status_code == 200, response.text
    body = response.json()
    (result,) = body["results"]
    assert result["outcome"] == "violated" and result["explanation"]
    assert result["text"].startswith("违反 3.1-a") and "Violated" not in result["text"]
    by_name = client.post("/v1/explain", json={"record": E1, "rule": result["rule"], "as_of": "2022-06-30"}).json()
    assert [r["rule"] for r in by_name["results"]] == [result["rule"]]
    assert "Violated 3.1-a" in by_name["results"][0]["text"]
    every = client.post("/v1/explain", json={"record": E1, "as_of": "2022-06-30"}).json()
    assert len(every["results"]) == len(load_policy().rules())
    assert client.get("/v1/health").json()["decisions"] == before  # nothing stored


def test_explain_refusals(client: TestClient) -> None:
    error = _error(client.post("/v1/explain", json={"record": E1, "rule": "risk_asessment_high_risk",
                                                    "as_of": AS_OF}), 422, "unknown_rule")
    assert "did you mean `risk_assessment_high_risk`" in error["message"]
    _error(client.post("/v1/explain", json={"rule": "3.1-a", "as_of": AS_OF}), 400, "bad_request")
    _error(client.post("/v1/explain", json={"record": E1, "as_of": AS_OF, "lang": "fr"}), 400, "bad_request")
    error = _error(client.post("/v1/explain", json={"record": {"id": "E1", "industry": "bakery"}, "as_of": AS_OF}),
                   422, "invalid_record")
    assert error["errors"][0]["at"] == "record" and error["errors"][0]["path"] == "industry"


def test_whatif_over_a_posted_population(client: TestClient) -> None:
    before = client.get("/v1/health").json()["decisions"]
    body = {"name": "two years", "records": TOWN[:60], "as_of": ["2021-12-31", AS_OF],
            "params": {"other_assessment_period": "2 years"}, "rules_off": ["apprenticeship"]}
    response = client.post("/v1/whatif", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["scenario"] == "two years" and [d["as_of"] for d in report["dates"]] == ["2021-12-31", AS_OF]
    assert report["rules_off"] == ["apprenticeship"]
    changes = [c for d in report["dates"] for c in d["changes"]]
    assert any(c["rule"] == "apprenticeship" for c in changes)
    assert any("other_assessment_period" in c["because"] for c in changes)
    assert client.get("/v1/health").json()["decisions"] == before  # hypothetical: nothing stored
    error = _error(client.post("/v1/whatif", json={**body, "rules_off": ["aprenticeship"]}, headers=AUTH), 422,
                   "unknown_rule")
    assert "apprenticeship" in error["message"]
    _error(client.post("/v1/whatif", json={**body, "params": {"other_assessment_period": "2 eons"}}, headers=AUTH),
           422, "bad_param")
    _error(client.post("/v1/whatif", json={**body, "as_of": []}, headers=AUTH), 422, "bad_date")
    _error(client.post("/v1/whatif", json={**body, "record": E1}, headers=AUTH), 400, "bad_request")


# ---------------------------------------------------------------------- reads
def test_policy_description(client: TestClient) -> None:
    body = client.get("/v1/policy").json()
    policy = load_policy()
    assert body["name"] == "annex4" and body["digest"].startswith("sha256:") and body["version"]
    assert body["title"]["zh"].startswith("落实企业安全生产主体责任")
    assert [r["name"] for r in body["rules"]] == [r.name for r in policy.rules()]
    rule = next(r for r in body["rules"] if "3.1-a" in r["implements"])
    assert rule["title"]["zh"] and rule["title"]["en"] and rule["clauses"][0]["section"]
    param = next(p for p in body["params"] if p["name"] == "other_assessment_period")
    assert param["default"] == "3 years" and param["type"] == "duration"
    assert any(p["doc"] for p in body["params"])
    assert [p["name"] for p in body["params"]] == [p.name for p in policy.params()]
    assert set(body["catalogue"]) == set(policy.catalogue)


def test_schema_is_what_the_schema_verb_prints(client: TestClient) -> None:
    printed = CliRunner().invoke(cli, ["schema"])
    assert printed.exit_code == 0
    assert client.get("/v1/schema").json() == json.loads(printed.output)


def test_health_and_unknown_routes(client: TestClient) -> None:
    health = client.get("/v1/health").json()
    assert health["status"] == "ok" and health["auth"] is True and health["read_only"] is False
    assert health["policy"]["name"] == "annex4" and isinstance(health["decisions"], int)
    _error(client.get("/v1/decisions/999999", headers=AUTH), 404, "no_decision")
    _error(client.get("/v1/nothing"), 404, "not_found")
    _error(client.get("/v1/evaluate"), 405, "method_not_allowed")
    assert client.get("/v1/decisions/abc", headers=AUTH).status_code == 404


def test_openapi_lists_every_route(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    routes = [r for r in client.app.routes if isinstance(r, Route)]  # type: ignore[attr-defined]
    assert len(routes) >= 8
    for route in routes:
        path = route.path.replace(":int", "")
        assert path in doc["paths"], path
        for method in route.methods or ():
            if method != "HEAD":
                assert method.lower() in doc["paths"][path], (path, method)
    assert set(doc["paths"]) == {r.path.replace(":int", "") for r in routes}
    for path, operations in doc["paths"].items():
        for op in operations.values():
            for ref in json.dumps(op).split('"$ref": "#/components/schemas/')[1:]:
                assert ref.split('"')[0] in doc["components"]["schemas"], path


def test_importing_safetyrules_does_not_import_the_service() -> None:
    code = "import sys, safetyrules, safetyrules.cli; print('starlette' in sys.modules, 'uvicorn' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["False", "False"]


def test_serve_without_the_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # `import uvicorn` raises ImportError
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "pip install 'safetyrules[service]'" in result.output
