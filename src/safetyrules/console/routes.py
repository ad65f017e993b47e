"""The console's routes, mounted by `service.app.create_app` beside the JSON API (`console_routes(service)`).

Every page is a GET and reads only; `POST /console/` (a posted facts file) and a what-if run compute and
store nothing, and need what `/v1/whatif` needs: the service's token when one is configured (the
`Authorization` header, or the form's token field, checked by the service's own helper) and a service that
is not read-only. Query parameters: `lang=en` (default Chinese), `as_of=YYYY-MM-DD` (default: 2022-12-31 for
the bundled town, else today).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from email import policy as email_policy
from email.parser import BytesParser
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from safetyrules.api import Policy, as_date
from safetyrules.console.labels import Vocabulary
from safetyrules.console.layout import BASE, Ctx, e, page
from safetyrules.console.pages import (
    enterprise_page,
    error_page,
    footer,
    obligation_page,
    town_page,
    village_page,
)
from safetyrules.console.population import Population, PopulationError, evaluate_town
from safetyrules.engine.results import Text
from safetyrules.errors import DateError

if TYPE_CHECKING:
    from safetyrules.console.whatif import BaseCache, ConsoleWhatIf

MAX_FORM_FIELDS = 500


class ServiceLike(Protocol):
    """What the console needs of the decision service (`service.app.Service`)."""

    policy: Policy
    token: str | None
    read_only: bool
    max_body: int
    max_records: int

    @property
    def ref(self) -> Any: ...

    def authorize_write(self, request: Request) -> None: ...


class Refused(Exception):
    """A request the console answers with an error page."""

    def __init__(self, status: int, title: Text, message: Text) -> None:
        super().__init__(message.en)
        self.status, self.title, self.message = status, title, message


class Console:
    """The console of one service: its policy's vocabulary and its population."""

    def __init__(self, service: ServiceLike, facts: str | Path | None = None) -> None:
        self.service = service
        self.policy = service.policy
        self.vocab = Vocabulary(self.policy)
        self.population = Population(self.policy, facts)
        self._bases: BaseCache | None = None  # what-if bases of the population, per (policy digest, as-of)
        ref = service.ref
        short = ref.digest[:19]
        version = ref.version if ref.version == short else f"{ref.version} ({short})"
        self.policy_line = e(f"{self.policy.title.zh} · {ref.name} {version}")

    # ------------------------------------------------------------------ plumbing
    def ctx(self, request: Request, fields: Sequence[tuple[str, str]] = ()) -> Ctx:
        values = dict(request.query_params)
        values.update(dict(fields))
        lang = "en" if values.get("lang") == "en" else "zh"
        default = self.population.default_as_of
        raw = values.get("as_of") or ""
        if not raw:
            return Ctx(lang, default, default)
        try:
            day = as_date(raw, self.policy.limits)
        except DateError:
            raise Refused(400, Text("日期有误", "Not a date"),
                          Text(f"评估日期 `{raw[:40]}` 不是有效日期（YYYY-MM-DD）",
                               f"as_of `{raw[:40]}` is not a date (YYYY-MM-DD)")) from None
        return Ctx(lang, day, default)

    def html(self, text: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(text, status_code=status, headers={"Cache-Control": "no-store",
                                                                "X-Content-Type-Options": "nosniff"})

    def refused(self, request: Request, r: Refused) -> HTMLResponse:
        lang = "en" if request.query_params.get("lang") == "en" else "zh"
        default = self.population.default_as_of
        return self.html(error_page(Ctx(lang, default, default), r.title, r.message, self.policy_line), r.status)

    async def view(self, ctx: Ctx) -> Any:
        try:
            return await run_in_threadpool(self.population.view, ctx.as_of)
        except PopulationError as exc:
            raise Refused(503, Text("数据不可用", "No population"), Text(f"企业数据无法读取：{exc}",
                                                                          f"the facts cannot be read: {exc}")) from None

    def authorize(self, request: Request, token: str = "") -> None:
        """What `/v1/whatif` needs (the service's helper decides); a form may carry the token instead of the
        `Authorization` header."""
        checked = request
        if token and "authorization" not in request.headers:
            headers = [*request.scope["headers"], (b"authorization", b"Bearer " + token.encode("utf-8"))]
            checked = Request({**request.scope, "headers": headers})
        try:
            self.service.authorize_write(checked)
        except Exception as exc:  # the service's ApiError (not imported: the service imports the console)
            status = getattr(exc, "status", None)
            if not isinstance(status, int):
                raise
            raise Refused(status, Text("未获授权", "Not allowed"),
                          Text(str(getattr(exc, "message_zh", exc)), str(getattr(exc, "message", exc)))) from None

    async def body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.service.max_body:
            raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.service.max_body:
                raise self._too_large()
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self) -> Refused:
        n = self.service.max_body
        return Refused(413, Text("内容过大", "Too large"), Text(f"提交的内容超过 {n:,} 字节上限",
                                                                f"the request body is larger than {n:,} bytes"))

    async def form_fields(self, request: Request) -> list[tuple[str, str]]:
        """A form's fields: the query string, and a POSTed urlencoded body."""
        fields = list(request.query_params.multi_items())
        if request.method == "POST":
            raw = await self.body(request)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise Refused(400, Text("表单有误", "Bad form"), Text("表单不是 UTF-8 编码",
                                                                      "the form is not UTF-8")) from None
            try:
                fields += parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
            except ValueError:
                raise Refused(400, Text("表单有误", "Bad form"), Text("表单字段过多", "too many form fields")) from None
        return fields

    # ------------------------------------------------------------------ pages
    async def town(self, request: Request) -> Response:
        try:
            if request.method == "POST":
                return await self.posted_town(request)
            ctx = self.ctx(request)
            view = await self.view(ctx)
            text = await run_in_threadpool(town_page, ctx, self.vocab, view, self.population, self.policy_line,
                                           self._upload_form(ctx))
            return self.html(text)
        except Refused as r:
            return self.refused(request, r)

    def _upload_form(self, ctx: Ctx) -> str:
        if self.service.read_only:
            return ""
        token = (f'<label>{ctx.bi("令牌", "token")} <input type="password" name="token"></label> '
                 if self.service.token else "")
        hidden = '<input type="hidden" name="lang" value="en">' if ctx.en else ""
        note = ctx.t("JSON Lines、JSON、CSV 或 Excel；只用于本次查看，不保存。",
                     "JSON Lines, JSON, CSV or Excel; used for this view only, nothing is stored.")
        summary = ctx.bi("上传企业数据查看", "Upload a facts file to view")
        return (f'<details class="noprint"><summary>{summary}</summary>'
                f'<form method="post" enctype="multipart/form-data" action="{e(BASE)}/">{hidden}'
                f'<input type="hidden" name="as_of" value="{ctx.as_of.isoformat()}">'
                f'<label>{ctx.bi("数据文件", "facts file")} <input type="file" name="facts" '
                f'accept=".jsonl,.ndjson,.json,.csv,.xlsx" required></label> {token}'
                f'<button type="submit">{ctx.t("查看", "View")}</button>'
                f'<p class="note">{note}</p>'
                "</form></details>")

    async def posted_town(self, request: Request) -> Response:
        """The town page of a posted facts file (a form upload or the file as the body): evaluated, shown,
        not kept — the page stands alone (no links to pages of the configured population)."""
        raw = await self.body(request)
        ctype = request.headers.get("content-type", "")
        name, data, fields = _posted_file(ctype, raw)
        self.authorize(request, dict(fields).get("token", ""))
        ctx = self.ctx(request, fields)
        ctx = Ctx(ctx.lang, ctx.as_of, ctx.default_as_of, links=False)
        records, rejected = await run_in_threadpool(self._load_posted, name, data)
        population = Population(self.policy, Path(name))
        population.rejected = rejected
        view = await run_in_threadpool(evaluate_town, self.policy, records, ctx.as_of, self.population.sets)
        said = ctx.t(f"上传的数据 {name}：{len(records)} 家企业，未保存；本页不链接到明细页面。",
                     f"Posted facts {name}: {len(records)} enterprises, not stored; this page links to no "
                     "detail pages.")
        notice = f'<p class="notice">{said}</p>'
        text = await run_in_threadpool(town_page, ctx, self.vocab, view, population, self.policy_line, notice)
        return self.html(text)

    def _load_posted(self, name: str, data: bytes) -> tuple[list[dict[str, Any]], int]:
        from safetyrules.facts.errors import FactsFileError
        from safetyrules.facts.loaded import Loaded
        from safetyrules.facts.loaders import SUFFIXES, FactSource

        suffix = Path(name).suffix.lower()
        if suffix not in SUFFIXES:
            raise Refused(415, Text("文件类型不支持", "Unsupported file"),
                          Text(f"{name}：应为 .jsonl、.json、.csv 或 .xlsx 文件", f"{name}: expected a .jsonl, .json, "
                               ".csv or .xlsx file"))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / ("posted" + suffix)
            path.write_bytes(data)
            try:
                source = FactSource(path, limits=self.policy.limits, contract=self.policy.contract)
                records: list[dict[str, Any]] = []
                for item in source:
                    if source.report.total > self.service.max_records:
                        n = self.service.max_records
                        raise Refused(413, Text("记录过多", "Too many records"),
                                      Text(f"超过 {n:,} 条记录上限", f"more than {n:,} records"))
                    if isinstance(item, Loaded):
                        records.append(item.record)
            except FactsFileError as exc:
                raise Refused(400, Text("数据文件有误", "Bad facts file"),
                              Text(f"无法读取：{exc}".replace(str(path), name),
                                   f"cannot be read: {exc}".replace(str(path), name))) from None
        return records, source.report.rejected

    async def obligation(self, request: Request) -> Response:
        try:
            ctx = self.ctx(request)
            rule = request.path_params["rule"]
            if rule not in self.vocab.rules:  # a catalogue id names its rule
                rule = next((r for r, info in self.vocab.rules.items() if rule in info.implements), rule)
            if rule not in self.vocab.rules:
                raise Refused(404, Text("没有这项义务", "No such obligation"),
                              Text("政策中没有这项义务或条款编号", "the policy has no such rule or catalogue id"))
            view = await self.view(ctx)
            text = await run_in_threadpool(obligation_page, ctx, self.vocab, view, self.population, rule,
                                           self.policy_line)
            return self.html(text)
        except Refused as r:
            return self.refused(request, r)

    async def village(self, request: Request) -> Response:
        try:
            ctx = self.ctx(request)
            view = await self.view(ctx)
            name = request.path_params["name"]
            if name not in view.villages:
                raise Refused(404, Text("没有这个村（社区）", "No such village"),
                              Text("数据中没有这个村（社区）的企业", "no enterprise of the facts is in this village"))
            text = await run_in_threadpool(village_page, ctx, self.vocab, view, self.population, name,
                                           self.policy_line)
            return self.html(text)
        except Refused as r:
            return self.refused(request, r)

    async def enterprise(self, request: Request) -> Response:
        try:
            ctx = self.ctx(request)
            view = await self.view(ctx)
            member = view.by_key.get(request.path_params["key"])
            if member is None:
                raise Refused(404, Text("没有这家企业", "No such enterprise"),
                              Text("数据中没有这个编号的企业", "no enterprise of the facts has this id"))

            def render() -> str:
                result = self.policy.evaluate_record(member.record, ctx.as_of, explain=True)
                return enterprise_page(ctx, self.vocab, member, result, self.population, self.policy_line)

            return self.html(await run_in_threadpool(render))
        except Refused as r:
            return self.refused(request, r)

    async def whatif(self, request: Request) -> Response:
        from safetyrules.console.whatif import BaseCache, read_form, run_console_whatif, whatif_body
        from safetyrules.whatif.scenario import ScenarioError

        try:
            fields = await self.form_fields(request)
            ctx = self.ctx(request, fields)
            form = read_form(fields, self.policy, ctx.as_of)
            token_needed = self.service.token is not None
            run: ConsoleWhatIf | None = None
            error = ""
            status = 200
            base = None
            if form.run and form.problems:
                error, status = "<br>".join(e(p) for p in form.problems), 422
            elif form.run:
                try:
                    self.authorize(request, form.token)
                except Refused as r:
                    error, status = f"{ctx.tx(r.message)}", r.status
                else:
                    records = await run_in_threadpool(self._records)
                    if self._bases is None:
                        self._bases = BaseCache()
                    try:
                        run = await run_in_threadpool(run_console_whatif, self.policy, records, form,
                                                      self.population.sets, "console", self._bases,
                                                      self.service.ref.digest)
                    except ScenarioError as exc:
                        error, status = e(str(exc)), 422
            if run is None:
                base = (await self.view(ctx)).headline
            body = whatif_body(ctx, self.vocab, form, run, token_needed=token_needed,
                               read_only=self.service.read_only, error=error, base_headline=base)
            title = Text("情景推演", "What-if")
            return self.html(self._page(ctx, title, body), status)
        except Refused as r:
            return self.refused(request, r)

    def _records(self) -> list[dict[str, Any]]:
        try:
            return self.population.records()
        except PopulationError as exc:
            raise Refused(503, Text("数据不可用", "No population"), Text(f"企业数据无法读取：{exc}",
                                                                          f"the facts cannot be read: {exc}")) from None

    def _page(self, ctx: Ctx, title: Text, body: str) -> str:
        return page(ctx, title, body, here="whatif", footer=footer(ctx, self.policy_line, self.population),
                    path="/whatif")


def _posted_file(ctype: str, raw: bytes) -> tuple[str, bytes, list[tuple[str, str]]]:
    """The posted file's name and bytes, and the other form fields: a multipart form with a `facts` file, or
    the file itself as the body (JSON Lines, JSON or CSV by its content type)."""
    mime = ctype.split(";")[0].strip().lower()
    if mime == "multipart/form-data":
        message = BytesParser(policy=email_policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode("latin-1", "replace") + b"\r\n\r\n" + raw)
        name, data = "", b""
        fields: list[tuple[str, str]] = []
        if message.is_multipart():
            for part in message.iter_parts():
                field = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                if not isinstance(field, str) or not isinstance(payload, bytes):
                    continue
                if field == "facts":
                    name, data = part.get_filename() or "facts.jsonl", payload
                else:
                    fields.append((field, payload.decode("utf-8", "replace")))
        if not name:
            raise Refused(400, Text("缺少数据文件", "No facts file"),
                          Text("表单中没有名为 facts 的文件", "the form has no file named `facts`"))
        return Path(name).name, data, fields
    suffix = {"application/x-ndjson": ".jsonl", "application/jsonl": ".jsonl", "application/json": ".json",
              "text/csv": ".csv"}.get(mime)
    if suffix is None:
        raise Refused(415, Text("内容类型不支持", "Unsupported content type"),
                      Text("请上传文件（multipart/form-data），或以 application/x-ndjson、application/json、text/csv "
                           "提交数据", "post a form with a `facts` file (multipart/form-data), or the facts as "
                           "application/x-ndjson, application/json or text/csv"))
    return "posted" + suffix, raw, []


def console_routes(service: ServiceLike, facts: str | Path | None = None) -> list[BaseRoute]:
    """The console's routes for a service, mounted at `/console`: `/console/` (the town),
    `/console/obligation/{rule}`, `/console/village/{name}`, `/console/enterprise/{id}`, `/console/whatif`.
    One `Mount`: HTML pages, not part of the JSON API's OpenAPI document (`/console` redirects to `/console/`)."""
    console = Console(service, facts)
    return [Mount(BASE, routes=[
        Route("/", console.town, methods=["GET", "POST"]),
        Route("/obligation/{rule}", console.obligation, methods=["GET"]),
        Route("/village/{name:path}", console.village, methods=["GET"]),
        Route("/enterprise/{key:path}", console.enterprise, methods=["GET"]),
        Route("/whatif", console.whatif, methods=["GET", "POST"]),
    ])]
