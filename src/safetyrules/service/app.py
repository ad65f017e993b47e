"""The decision service: a versioned JSON API over one loaded policy (docs/service.md).

    from safetyrules.service.app import create_app
    app = create_app("policies/annex4", "sqlite:///decisions.db", token="s3cret")   # any ASGI server runs it

`POST /v1/evaluate` decides and stores each decision (`records.py`); `POST /v1/explain` and `POST /v1/whatif`
store nothing (an explanation re-derives a decision; a what-if is hypothetical). Writes — evaluate and whatif
— need `Authorization: Bearer TOKEN` when a token is configured (argument, else `SAFETYRULES_TOKEN`), and are
refused with 403 by a read-only service. Every refusal is a JSON body `{"error": {code, message, message_zh,
errors}}`; a record that breaks the fact contract is named by its place in the request (`records[3]`) and the
field path, with the library's messages (`FactError`), as `safetyrules eval` reports a rejected record.

Evaluation runs in worker threads (one loaded policy is safe to share: tests/test_threads.py); the records
are validated before any is evaluated, so a request is refused whole or decided whole.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from safetyrules import __version__
from safetyrules.api import as_date
from safetyrules.console import console_routes
from safetyrules.engine.params import ParamError
from safetyrules.engine.results import EnterpriseResult
from safetyrules.engine.values import to_json
from safetyrules.errors import DateError, InputError
from safetyrules.facts import validate_record
from safetyrules.facts.checks import RecordDecoder
from safetyrules.limits import DEFAULT, Limits
from safetyrules.report.vocabulary import Vocabulary
from safetyrules.service.bundle import OpenedPolicy, open_policy
from safetyrules.service.openapi import openapi_document
from safetyrules.service.records import DecisionLog, NewDecision, PolicyRef, open_records, outcomes_of

DEFAULT_MAX_BODY = 16 * 1024 * 1024  # bytes of one request body
DEFAULT_MAX_RECORDS = 10_000  # records in one evaluate or what-if request
MAX_WHATIF_DATES = 24  # dates of one what-if request (each is a base and a scenario run over the records)
MAX_SHOWN_ERRORS = 100  # record errors listed in one refusal (all are counted)
STREAM_BATCH = 200  # records evaluated and stored per transaction when streaming JSON Lines
NDJSON = "application/x-ndjson"

log = logging.getLogger("safetyrules.service")


class ApiError(Exception):
    """A refusal: an HTTP status and a bilingual JSON body."""

    def __init__(self, status: int, code: str, message: str, message_zh: str,
                 errors: Sequence[Mapping[str, Any]] = (), headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.message_zh = status, code, message, message_zh
        self.errors = list(errors)
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"code": self.code, "message": self.message, "message_zh": self.message_zh}
        if self.errors:
            body["errors"] = self.errors
        return JSONResponse({"error": body}, status_code=self.status, headers=self.headers)


def _bad_request(message: str, message_zh: str, code: str = "bad_request") -> ApiError:
    return ApiError(400, code, message, message_zh)


@dataclass(slots=True)
class Checked:
    """The records of a request, validated: (place in the request, record as posted, validated record)."""

    places: list[str]
    raw: list[dict[str, Any]]
    records: list[dict[str, Any]]
    warnings: list[str]


class Service:
    """What the handlers share: the policy, the decision records and the settings."""

    def __init__(self, opened: OpenedPolicy, records: DecisionLog, token: str | None, read_only: bool,
                 max_body: int, max_records: int) -> None:
        self.opened = opened
        self.policy = opened.policy
        self.ref = PolicyRef(opened.name, opened.version, opened.digest)
        self.records = records
        self.token = token
        self.read_only = read_only
        self.max_body = max_body
        self.max_records = max_records

    # ------------------------------------------------------------------ request plumbing
    @property
    def vocabulary(self) -> Vocabulary:
        """The policy's titles and the facts' labels, for explanations in words (built when first needed)."""
        vocab = self.__dict__.get("_vocabulary")
        if vocab is None:
            vocab = self.__dict__["_vocabulary"] = Vocabulary(self.policy)
        return vocab

    def authorize_write(self, request: Request) -> None:
        if self.read_only:
            raise ApiError(403, "read_only", "this service is read-only: evaluate and whatif are refused",
                           "本服务为只读模式，不受理评估和情景推演请求")
        self.authorize(request)

    def authorize(self, request: Request) -> None:
        """The bearer token, when the service has one (a read-only service too: reads of stored decisions
        return an enterprise's facts)."""
        if self.token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            raise ApiError(401, "unauthorized", "a valid `Authorization: Bearer <token>` header is required",
                           "需要有效的 Authorization: Bearer 令牌", headers={"WWW-Authenticate": "Bearer"})

    async def body(self, request: Request) -> dict[str, Any]:
        """The request's JSON object, read within `max_body` bytes and decoded as the fact loaders decode
        records (duplicate keys, huge integers and NaN become errors of the record that holds them)."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                raise self._too_large()
            chunks.append(chunk)
        raw = b"".join(chunks)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _bad_request(f"the request body is not UTF-8 (byte {e.start})",
                               f"请求体不是 UTF-8 编码（第 {e.start} 字节）", "bad_json") from None
        if not text.strip():
            raise _bad_request("the request body is empty: expected a JSON object", "请求体为空，应为 JSON 对象",
                               "bad_json")
        try:
            data = RecordDecoder().decode(text.removeprefix("\ufeff"))
        except json.JSONDecodeError as e:
            raise _bad_request(f"the request body is not JSON: line {e.lineno}, column {e.colno}: {e.msg}",
                               f"请求体不是有效的 JSON：第 {e.lineno} 行第 {e.colno} 列：{e.msg}", "bad_json") from None
        except RecursionError:
            raise _bad_request("the request body is nested too deeply", "请求体嵌套过深", "bad_json") from None
        if not isinstance(data, dict):
            raise _bad_request(f"the request body is a JSON {_kind(data)}: expected an object",
                               f"请求体应为 JSON 对象，实为 {_kind(data)}")
        return data

    def _too_large(self) -> ApiError:
        return ApiError(413, "too_large", f"the request body is larger than {self.max_body:,} bytes",
                        f"请求体超过 {self.max_body:,} 字节上限")

    # ------------------------------------------------------------------ request fields
    def as_of(self, data: Mapping[str, Any], key: str = "as_of") -> dt.date:
        value = data.get(key)
        if value is None:
            raise ApiError(422, "bad_date", f"`{key}` is required: the evaluation date, YYYY-MM-DD",
                           f"缺少 `{key}`：评估日期，格式 YYYY-MM-DD")
        if not isinstance(value, str):
            raise ApiError(422, "bad_date", f"{key}: expected a date as text (YYYY-MM-DD), not a {_kind(value)}",
                           f"{key}：日期应为 YYYY-MM-DD 格式的文本")
        try:
            return as_date(value, self.policy.limits)
        except DateError as e:
            raise ApiError(422, "bad_date", f"{key}: {e}", f"{key}：{value[:40]} 不是有效日期（YYYY-MM-DD，"
                           "0001-01-01 至 9999-12-31）") from None

    @staticmethod
    def params(data: Mapping[str, Any]) -> dict[str, Any]:
        params = data.get("params") or {}
        if not isinstance(params, dict):
            raise _bad_request("`params` is a JSON object: {\"name\": value}", "`params` 应为 JSON 对象")
        for name, value in params.items():
            plain = isinstance(value, str | int | bool) or (
                isinstance(value, list) and all(isinstance(v, str | int | bool) for v in value))
            if not plain:
                raise ApiError(422, "bad_param", f"params.{name}: a value is text, a number, true/false or a list "
                               "of them, as --param takes it", f"params.{name}：参数值应为文本、数字、布尔值或其列表")
        return dict(params)

    @staticmethod
    def known_keys(data: Mapping[str, Any], known: Sequence[str]) -> None:
        unknown = sorted(k for k in data if k not in known)
        if unknown:
            raise _bad_request(f"unknown key(s) {', '.join(unknown)}; the keys are {', '.join(known)}",
                               f"未知字段 {', '.join(unknown)}；可用字段：{', '.join(known)}")

    def records_of(self, data: Mapping[str, Any], one_or_many: bool = True) -> tuple[list[tuple[str, Any]], bool]:
        """The posted records with their places (`record`, `records[3]`), and whether one record was posted."""
        if one_or_many and "record" in data:
            if "records" in data:
                raise _bad_request("give `record` (one) or `records` (a list), not both",
                                   "`record` 与 `records` 只能给出其一")
            return [("record", data["record"])], True
        items = data.get("records")
        if not isinstance(items, list):
            what = "`record` (an object) or `records` (a list)" if one_or_many else "`records` (a list)"
            raise _bad_request(f"expected {what}", f"请求应包含 {what}")
        if len(items) > self.max_records:
            raise ApiError(413, "too_many_records", f"{len(items):,} records: more than {self.max_records:,} in one "
                           "request; send them in parts", f"单次请求 {len(items):,} 条记录，超过 {self.max_records:,} "
                           "条上限，请分批提交")
        return [(f"records[{i}]", item) for i, item in enumerate(items)], False

    def check_records(self, items: list[tuple[str, Any]]) -> Checked:
        """Validate every record as the fact loaders do; refuse the request (422) naming each bad record."""
        contract = self.policy.contract
        checked = Checked([], [], [], [])
        errors: list[dict[str, Any]] = []
        bad = 0
        seen: dict[str, str] = {}
        for place, raw in items:
            check = validate_record(raw, self.policy.limits, model=contract.model)
            subject = raw.get(contract.key) if isinstance(raw, dict) else None
            if check.model is None:
                bad += 1
                errors.extend(_error(place, subject, e.path, e.message, e.message_zh, e.code) for e in check.errors)
                continue
            key = str(subject) if subject is not None else None
            if key is not None and key in seen:
                bad += 1
                errors.append(_error(place, subject, contract.key,
                                     f"duplicate {contract.key} {key!r}: first at {seen[key]}",
                                     f"{contract.key} {key} 重复：首次出现于 {seen[key]}", "duplicate_id"))
                continue
            if key is not None:
                seen[key] = place
            for path, suggestion in check.unknown_fields.items():
                hint = f"; did you mean {suggestion!r}? / 是否应为 {suggestion}？" if suggestion is not None else ""
                checked.warnings.append(f"{place}: unknown field {path!r}: kept, ignored by the rules{hint}")
            checked.places.append(place)
            checked.raw.append(raw)
            checked.records.append(check.model.model_dump(exclude_unset=True))
        if bad:
            shown = errors[:MAX_SHOWN_ERRORS]
            more = f" (the first {len(shown)} problems listed)" if len(errors) > len(shown) else ""
            raise ApiError(422, "invalid_record", f"{bad} record(s) break the fact contract; nothing was "
                           f"evaluated{more}: " + "; ".join(e["text"] for e in shown[:3]),
                           f"{bad} 条记录不符合事实契约，均未评估：" + "；".join(e["text_zh"] for e in shown[:3]),
                           shown)
        return checked

    # ------------------------------------------------------------------ decisions
    def decide(self, checked: Checked, day: dt.date, params: dict[str, Any], explain: bool,
               start: int = 0, stop: int | None = None) -> list[tuple[int, EnterpriseResult]]:
        """Evaluate records `start:stop` and store their decisions in one transaction."""
        end = len(checked.records) if stop is None else min(stop, len(checked.records))
        results = [self.policy.evaluate_record(checked.records[i], day, params, explain=explain)
                   for i in range(start, end)]
        stored = self.records.append([
            NewDecision(self.ref, params, day.isoformat(), r.enterprise, checked.raw[i], outcomes_of(r))
            for i, r in zip(range(start, end), results, strict=True)])
        return [(d.id, r) for d, r in zip(stored, results, strict=True)]

    def decided_lines(self, checked: Checked, day: dt.date, params: dict[str, Any], explain: bool) -> Iterator[str]:
        """JSON Lines of decisions, evaluated and stored a batch at a time."""
        for start in range(0, len(checked.records), STREAM_BATCH):
            try:
                batch = self.decide(checked, day, params, explain, start, start + STREAM_BATCH)
            except Exception as e:
                if start == 0:  # before the first line: the request is refused with a status (a bad param)
                    raise
                # the status line is sent: say so on the stream, and stop
                log.exception("streamed evaluation failed")
                error = (_param_error(e) if isinstance(e, ParamError)
                         else ApiError(500, "internal", f"evaluation stopped: {type(e).__name__}",
                                       "评估中断：服务内部错误"))
                yield json.dumps({"error": {"code": error.code, "message": error.message,
                                            "message_zh": error.message_zh, "at": checked.places[start]}},
                                 ensure_ascii=False) + "\n"
                return
            for decision_id, result in batch:
                yield json.dumps({"decision_id": decision_id, **result.to_json(explain)}, ensure_ascii=False) + "\n"


def _error(place: str, subject: Any, path: str, message: str, message_zh: str, code: str) -> dict[str, Any]:
    who = f" ({subject})" if isinstance(subject, str | int) and not isinstance(subject, bool) else ""
    return {"at": place, "subject": subject if who else None, "path": path, "message": message,
            "message_zh": message_zh, "code": code,
            "text": f"{place}{who}: {path + ': ' if path else ''}{message}",
            "text_zh": f"{place}：{message_zh}"}


def _kind(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


def _wants_ndjson(request: Request) -> bool:
    return NDJSON in request.headers.get("accept", "")


def _param_error(e: ParamError) -> ApiError:
    """The library's message is `English / 中文`: the two halves go to `message` and `message_zh`."""
    en, sep, zh = str(e).rpartition(" / ")
    return ApiError(422, "bad_param", en if sep else str(e), zh if sep else f"参数错误：{e}")


# ---------------------------------------------------------------------- handlers
def _service(request: Request) -> Service:
    service = request.app.state.service
    assert isinstance(service, Service)
    return service


async def evaluate(request: Request) -> Response:
    s = _service(request)
    s.authorize_write(request)
    data = await s.body(request)
    s.known_keys(data, ("record", "records", "as_of", "params", "explain"))
    items, single = s.records_of(data)
    day, params = s.as_of(data), s.params(data)
    explain = data.get("explain", False)
    if not isinstance(explain, bool):
        raise _bad_request("`explain` is true or false", "`explain` 应为 true 或 false")
    checked = await run_in_threadpool(s.check_records, items)
    head = {"policy": s.ref.to_json(), "as_of": day.isoformat(), "params": params}
    if _wants_ndjson(request):
        lines = s.decided_lines(checked, day, params, explain)
        try:
            first = await run_in_threadpool(next, lines, None)  # a bad param is refused before the stream starts
        except ParamError as e:
            raise _param_error(e) from None
        return StreamingResponse(_prepend(first, lines), media_type=NDJSON,
                                 headers={"X-Policy-Digest": s.ref.digest})
    try:
        decided = await run_in_threadpool(s.decide, checked, day, params, explain)
    except ParamError as e:
        raise _param_error(e) from None
    if single:
        decision_id, result = decided[0]
        return JSONResponse({**head, "decision_id": decision_id, **result.to_json(explain),
                             "warnings": checked.warnings})
    return JSONResponse({**head, "count": len(decided), "warnings": checked.warnings,
                         "results": [{"decision_id": i, **r.to_json(explain)} for i, r in decided]})


def _prepend(first: str | None, rest: Iterator[str]) -> Iterator[str]:
    if first is not None:
        yield first
    yield from rest


async def explain(request: Request) -> Response:
    s = _service(request)
    data = await s.body(request)
    s.known_keys(data, ("record", "rule", "as_of", "params", "lang"))
    if "record" not in data:
        raise _bad_request("`record` is required: the subject's facts", "缺少 `record`：被评估对象的事实")
    day, params = s.as_of(data), s.params(data)
    lang = data.get("lang", "both")
    if lang not in ("zh", "en", "both"):
        raise _bad_request("`lang` is zh, en or both", "`lang` 应为 zh、en 或 both")
    rule = data.get("rule")
    names: frozenset[str] | None = None
    if rule is not None:
        if not isinstance(rule, str):
            raise _bad_request("`rule` is a rule name or a catalogue id", "`rule` 应为规则名或条款编号")
        by_id = frozenset(r.name for r in s.policy.rules() if rule in r.implements)
        try:
            names = by_id or s.policy.rules_needed(rule) & {rule}
        except InputError as e:
            raise ApiError(422, "unknown_rule", f"{e}, or give a catalogue id",
                           f"没有名为 `{rule}` 的规则或条款编号（规则名见 GET /v1/policy）") from None
    checked = await run_in_threadpool(s.check_records, [("record", data["record"])])

    def run() -> EnterpriseResult:
        return s.policy.evaluate_record(checked.records[0], day, params, explain=True)

    try:
        result = await run_in_threadpool(run)
    except ParamError as e:
        raise _param_error(e) from None
    from safetyrules.report.explain import render_tree

    chosen = [r for r in result.results if names is None or r.rule in names]
    return JSONResponse({"policy": s.ref.to_json(), "params": params, **result.to_json(True),
                         "results": [{**r.to_json(True), "text": render_tree(r, lang, s.vocabulary)} for r in chosen],
                         "warnings": checked.warnings})


async def whatif(request: Request) -> Response:
    s = _service(request)
    s.authorize_write(request)
    data = await s.body(request)
    s.known_keys(data, ("name", "records", "as_of", "params", "rules_off"))
    items, _ = s.records_of(data, one_or_many=False)
    raw_dates = data.get("as_of")
    dates_in = raw_dates if isinstance(raw_dates, list) else [raw_dates]
    if not dates_in or len(dates_in) > MAX_WHATIF_DATES:
        raise ApiError(422, "bad_date", f"`as_of` is one date or a list of 1 to {MAX_WHATIF_DATES} dates",
                       f"`as_of` 应为一个日期或 1 至 {MAX_WHATIF_DATES} 个日期的列表")
    dates = [s.as_of({"as_of": d}) for d in dates_in]
    params = s.params(data)
    rules_off = data.get("rules_off") or []
    if isinstance(rules_off, str):
        rules_off = [rules_off]
    if not isinstance(rules_off, list) or not all(isinstance(r, str) for r in rules_off):
        raise _bad_request("`rules_off` is a list of rule names", "`rules_off` 应为规则名列表")
    name = data.get("name") or "api"
    if not isinstance(name, str):
        raise _bad_request("`name` is text", "`name` 应为文本")
    checked = await run_in_threadpool(s.check_records, items)
    from safetyrules.whatif.run import run_whatif
    from safetyrules.whatif.scenario import Scenario, ScenarioError

    scenario = Scenario(name=name, dates=tuple(dates), params=params, rules_off=frozenset(rules_off))

    def run() -> dict[str, Any]:
        result = run_whatif(s.policy, s.policy, scenario, checked.records, dates, limits=s.policy.limits)
        return result.to_json()

    try:
        report = await run_in_threadpool(run)
    except ScenarioError as e:
        code = "unknown_rule" if "rules_off" in str(e) else "bad_param"
        raise ApiError(422, code, str(e), f"情景无法使用：{e}") from None
    return JSONResponse({"policy": s.ref.to_json(), **report, "warnings": checked.warnings + report["warnings"]})


async def policy_info(request: Request) -> Response:
    s = _service(request)
    p = s.policy
    rules = [{"name": r.name, "kind": r.kind, "implements": list(r.implements), "title": r.title.to_json(),
              "clauses": [{"section": sec, "quote": quote} for sec, quote in r.sources], "due": r.due,
              "params": list(r.params), "rules_used": list(r.rules_used), "severity": r.severity}
             for r in p.rules()]
    params = [{"name": q.name, "type": q.type, "default": to_json(q.default),
               "dated": [{"from": d.isoformat(), "value": to_json(v)} for d, v in q.dated],
               "doc": q.doc, "clauses": [{"section": sec, "quote": quote} for sec, quote in q.sources],
               "builtin": q.builtin} for q in p.params()]
    return JSONResponse({**s.ref.to_json(), "title": p.title.to_json(), "source": s.opened.source,
                         "engine": {"name": "safetyrules", "version": __version__},
                         "subject": p.contract.subject, "key": p.contract.key,
                         "catalogue": list(p.catalogue), "rules": rules, "params": params})


async def schema(request: Request) -> Response:
    return JSONResponse(_service(request).opened.schema)


async def health(request: Request) -> Response:
    s = _service(request)
    try:
        count = await run_in_threadpool(s.records.count)
    except Exception as e:
        log.exception("decision records unavailable")
        return JSONResponse({"status": "unavailable", "policy": s.ref.to_json(),
                             "error": {"code": "records_unavailable", "message": f"decision records: {e}",
                                       "message_zh": "决定记录数据库不可用"}}, status_code=503)
    return JSONResponse({"status": "ok", "policy": s.ref.to_json(),
                         "engine": {"name": "safetyrules", "version": __version__}, "decisions": count,
                         "read_only": s.read_only, "auth": s.token is not None})


async def decision(request: Request) -> Response:
    s = _service(request)
    s.authorize(request)  # a stored decision holds an enterprise's facts
    decision_id = request.path_params["id"]
    found = await run_in_threadpool(s.records.get, decision_id)
    if found is None:
        raise ApiError(404, "no_decision", f"no decision {decision_id}", f"没有编号为 {decision_id} 的决定记录")
    return JSONResponse(found.to_json())


async def openapi(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


ROUTES = [
    Route("/v1/evaluate", evaluate, methods=["POST"]),
    Route("/v1/explain", explain, methods=["POST"]),
    Route("/v1/whatif", whatif, methods=["POST"]),
    Route("/v1/policy", policy_info, methods=["GET"]),
    Route("/v1/schema", schema, methods=["GET"]),
    Route("/v1/health", health, methods=["GET"]),
    Route("/v1/decisions/{id:int}", decision, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
]


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


_HTTP_ZH = {404: "没有这个地址", 405: "该地址不支持此请求方法"}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = f"{request.method} {request.url.path}: {exc.detail}"
    return ApiError(exc.status_code, code, message, _HTTP_ZH.get(exc.status_code, str(exc.detail)),
                    headers=exc.headers).response()


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("internal error", exc_info=exc)
    return ApiError(500, "internal", "internal error; the request was not completed",
                    "服务内部错误，请求未完成").response()


def create_app(policy_dir: str | Path | None, db_url: str, token: str | None = None, read_only: bool = False,
               *, max_body: int = DEFAULT_MAX_BODY, max_records: int = DEFAULT_MAX_RECORDS,
               limits: Limits = DEFAULT, facts: str | Path | None = None) -> Starlette:
    """The service for the policy at `policy_dir` (a folder, a `.policy` file or a bundle; None: the bundled
    附件4 policy), storing decisions at `db_url` (`sqlite:///decisions.db`, `postgresql://…`). `token`
    (default: `SAFETYRULES_TOKEN`, if set) guards evaluate and whatif; `read_only` refuses them. Raises
    `PolicyError`, `BundleError` or `RecordsError` when the policy or the records cannot be opened. `limits`
    bound the records as the loaders' (docs/limits.md). The console (`/console/`) shows the population in
    `facts` (default: the bundled example town)."""
    opened = open_policy(policy_dir, limits)
    records = open_records(db_url)
    secret = token if token is not None else (os.environ.get("SAFETYRULES_TOKEN") or None)
    service = Service(opened, records, secret, read_only, max_body, max_records)
    routes = [*ROUTES, *console_routes(service, facts)]
    app = Starlette(routes=routes, exception_handlers={ApiError: _api_error, HTTPException: _http_error,
                                                       Exception: _internal_error})
    app.state.service = service
    app.state.openapi = openapi_document(opened.name, opened.version, max_body, max_records)
    return app
