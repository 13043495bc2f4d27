"""The JSON HTTP API under /api: ask, search, clauses, caps, health, feedback — for eval suites and scripts.

Every error is ``{"error": {"code", "message"}, "lang"}`` with the right status and a Chinese message, or an English
one when the request's question is English (its refusal, the rate limit, the index loading or broken, a server error):
400 bad input (empty, too long, malformed or too deeply nested JSON, invalid Unicode, wrong types —
FastAPI's 422 included), 403 refused upload or file reference, 404 unknown clause or route, 405 wrong method,
413 body too large (declared or actual), 415 a POST body that is not declared as JSON (``text/plain`` or no
``Content-Type`` included: a cross-site form can send those without asking), 429 too many requests from one
client (with ``Retry-After``), 503 while the index loads or is broken, 500 for anything else (logged; never a
traceback in the response). Requests are parsed in :mod:`ui.api_input`, errors shaped in :mod:`ui.api_errors`,
and the guard middleware in front of everything (the Gradio page too) is :class:`ui.guard.GuardMiddleware`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from assistant.knowledge import UnknownDocument
from assistant.question_text import BadInput
from ui import render
from ui.api_errors import ApiError, install_error_handlers, set_request_lang
from ui.api_input import MAX_K, parse_ask, parse_doc, parse_feedback, parse_search, read_json, refused_input
from ui.config import ServeConfig
from ui.feedback import FeedbackError
from ui.gradio_routes import GradioRoutes
from ui.guard import GuardMiddleware
from ui.holder import AssistantHolder
from ui.messages import turns_lang
from ui.ratelimit import client_of

if TYPE_CHECKING:  # pragma: no cover
    from assistant.answer import Answer
    from assistant.section_view import SearchResult
    from ui.feedback import FeedbackStore

MAX_REF = 40
KNOWN_ROUTES = frozenset({"ask", "search", "caps", "health", "feedback"})


# ---- routes ---------------------------------------------------------------------------------------
def build_router(holder: AssistantHolder, store: FeedbackStore, config: ServeConfig) -> APIRouter:
    router = APIRouter(prefix="/api")

    def ask_sync(turns: list[str], answer_id: str | None, client: str, doc: str | None = None) -> Answer:
        def call(pa: Any) -> Answer:
            try:
                # checks the turns: the request's one check (``doc`` only when given: test fakes take none)
                return pa.ask(turns, id=answer_id, doc=doc) if doc else pa.ask(turns, id=answer_id)
            except BadInput as exc:
                raise refused_input(exc, len(turns)) from None
            except UnknownDocument as exc:
                raise ApiError(400, "unknown_document", str(exc)) from None

        return holder.answer(call, client)

    @router.post("/ask", summary="问答：引用条款与资助上限（Answer JSON 契约）")
    async def ask(request: Request, format: str = "json") -> Response:
        if format not in ("json", "html"):
            raise ApiError(400, "bad_value", "format 只能是 json 或 html。")
        data = await read_json(request)
        turns, answer_id = parse_ask(data)
        set_request_lang(request, turns_lang(turns))
        answer = await run_in_threadpool(ask_sync, turns, answer_id, client_of(request), parse_doc(data))
        if format == "html":
            known = [s.key for s in holder.knowledge.primary.document.sections]
            page = render.chat_html([{"role": "user", "text": turns[-1]}, {"role": "assistant", "answer": answer}],
                                    known_sections=known)
            return HTMLResponse(page)
        return JSONResponse(answer.to_json())

    def search_sync(query: str, k: int, client: str, doc: str | None = None) -> SearchResult:
        def call(pa: Any) -> SearchResult:
            try:
                # checks the query like a question: the request's one check (``doc`` only when given)
                return pa.search(query, k=k, doc=doc) if doc else pa.search(query, k=k)
            except BadInput as exc:
                raise refused_input(exc) from None
            except UnknownDocument as exc:
                raise ApiError(400, "unknown_document", str(exc)) from None

        return holder.answer(call, client)

    @router.post("/search", summary="条款检索：排序后的条款、得分、命中词、资助上限")
    async def search(request: Request) -> JSONResponse:
        data = await read_json(request)
        query, k = parse_search(data)
        set_request_lang(request, turns_lang([query]))
        result = await run_in_threadpool(search_sync, query, k, client_of(request), parse_doc(data))
        return JSONResponse(result.to_json())

    @router.get("/search", summary="条款检索（GET 形式，便于在浏览器地址栏直接查询）")
    async def search_get(request: Request, q: str, k: int = Query(5, ge=1, le=MAX_K),
                         doc: str | None = Query(None, max_length=200)) -> JSONResponse:
        result = await run_in_threadpool(search_sync, q, k, client_of(request), doc or None)
        return JSONResponse(result.to_json())

    @router.get("/clauses/{ref:path}", summary="条款原文：十六 / 16 / 第十六条 / chapter:一 / 第一章 / 序言")
    def clause(ref: str, doc: str | None = None) -> JSONResponse:
        from assistant.knowledge import UnknownSection

        if not ref.strip() or len(ref) > MAX_REF:
            raise ApiError(400, "bad_request", f"条款编号不正确：长度应为 1 到 {MAX_REF} 个字符。")
        kb = holder.knowledge
        try:
            section = kb.resolve(ref, doc)
        except UnknownSection as exc:
            raise ApiError(404, "unknown_clause", str(exc)) from None
        view = kb.section_view(section, doc).to_json()
        view["display_name"] = section.display_name
        view["chapter_heading"] = kb.chapter_of(section, doc)
        return JSONResponse(view)

    @router.get("/caps", summary="资助上限表（均由原文推导）")
    def caps(sort: str = "clause") -> JSONResponse:
        if sort not in ("clause", "amount"):
            raise ApiError(400, "bad_value", "sort 只能是 clause 或 amount。")
        kb = holder.knowledge
        rows = [award.to_json() for award in kb.primary_awards(sort)]   # amount_text included
        return JSONResponse({"doc": kb.primary.meta.id, "title": kb.primary.meta.title,
                             "status": kb.primary.meta.status, "caps": rows})

    @router.get("/health", summary="就绪状态：200 就绪；503 加载中或索引有问题")
    def health() -> JSONResponse:
        ok, body = holder.health()
        return JSONResponse(body, status_code=200 if ok else 503)

    @router.post("/feedback", status_code=201, summary="对答复的评价（up/down，可附意见）")
    async def feedback(request: Request) -> JSONResponse:
        item = parse_feedback(await read_json(request), config.max_question_chars, config.max_turns)
        try:
            record_id = await run_in_threadpool(
                store.add, item["rating"], item["question"], item["turns"], item["answer"], item["comment"], "api"
            )
        except FeedbackError as exc:
            raise ApiError(400, "bad_value", str(exc)) from None
        return JSONResponse({"id": record_id}, status_code=201)

    @router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def unknown(rest: str) -> JSONResponse:
        if rest.rstrip("/") in KNOWN_ROUTES or rest.startswith("clauses/"):
            raise ApiError(405, "method_not_allowed", f"/api/{rest} 不支持该请求方法。")
        raise ApiError(404, "not_found", f"没有这个接口：/api/{rest}")

    return router


def install_api(app: FastAPI, holder: AssistantHolder, store: FeedbackStore, config: ServeConfig,
                gradio: GradioRoutes | None = None) -> None:
    """Add the /api routes, the guard middleware and the JSON error handlers to ``app``.

    ``gradio`` describes the Blocks mounted beside the API (its event functions, upload folder and unused
    routes); without it no file reference is accepted and every Gradio event counts as work.
    """
    install_error_handlers(app)
    app.add_middleware(GuardMiddleware, config=config, gradio=gradio)
    app.include_router(build_router(holder, store, config))
