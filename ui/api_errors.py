"""How the server says no: ``{"error": {"code", "message"}, "lang"}`` with the right status.

The message is Chinese, or English when the request's question is English (``lang``, as in an answer): a route that
has read the question records its language on the request (:func:`set_request_lang`), so an error raised after that —
the index loading or broken (503), anything unexpected (500) — speaks it too. :class:`ApiError` is raised by the
routes and the request parsing; :func:`install_error_handlers` turns it, the holder's ``NotReady`` (503), FastAPI's
own validation errors (400 instead of 422), Starlette's HTTP errors and anything unexpected (500, logged, never a
traceback) into that shape.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.language import Lang, detect_language
from ui.holder import NotReady
from ui.messages import not_ready_message, say

log = logging.getLogger("policy_assistant.api")

_QUERY_LABELS = {"q": "查询词 q", "k": "结果数 k", "format": "format", "sort": "sort", "doc": "doc"}
_STATUS_MESSAGES = {
    400: "请求不正确",
    401: "需要登录",
    403: "禁止访问",
    404: "没有这个接口",
    405: "不支持该请求方法",
    413: "请求体过大",
    415: "不支持的内容类型",
    429: "请求过于频繁",
}


class ApiError(Exception):
    """An error response: HTTP status, a stable code, a message in ``lang`` (Chinese unless the question is English)."""

    def __init__(self, status: int, code: str, message: str, lang: Lang = "zh") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.lang: Lang = lang


def error_body(code: str, message: str, lang: Lang = "zh") -> dict[str, Any]:
    return {"error": {"code": code, "message": message}, "lang": lang}


def error_response(status: int, code: str, message: str, lang: Lang = "zh") -> JSONResponse:
    return JSONResponse(error_body(code, message, lang), status_code=status)


def set_request_lang(request: Request, lang: Lang) -> None:
    """Record the language of the request's question, for any error raised while it is answered."""
    request.state.lang = lang


def request_lang(request: Request) -> Lang:
    """The language of the request's question: as a route recorded it, else that of a ``q`` query parameter, else
    Chinese."""
    lang = getattr(request.state, "lang", None)
    if lang in ("zh", "en"):
        return lang
    query = request.query_params.get("q")
    return detect_language(query) if query else "zh"


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error raised while handling a request in the one JSON shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.lang)

    @app.exception_handler(NotReady)
    async def _not_ready(request: Request, exc: NotReady) -> JSONResponse:
        lang = request_lang(request)
        return error_response(503, exc.code, not_ready_message(exc, lang), lang)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            names = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            name = _QUERY_LABELS.get(names[-1], names[-1]) if names else "请求"
            kind = str(err.get("type", ""))
            if kind == "missing":
                problems.append(f"缺少{name}")
            elif kind.startswith(("int", "float")):
                problems.append(f"{name} 必须是数字")
            elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
                problems.append(f"{name} 超出允许范围")
            else:
                problems.append(f"{name} 不正确")
        return error_response(400, "bad_request", "请求参数不正确：" + "；".join(problems) + "。")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = _STATUS_MESSAGES.get(exc.status_code, "请求失败")
        response = error_response(exc.status_code, f"http_{exc.status_code}", message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("处理 %s %s 时出错", request.method, request.url.path, exc_info=exc)
        lang = request_lang(request)
        return error_response(500, "internal_error", say("internal", lang), lang)
