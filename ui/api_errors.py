"""How the server says no: ``{"error": {"code", "message"}}`` with a Chinese message and the right status.

:class:`ApiError` is raised by the routes and the request parsing; :func:`install_error_handlers` turns it, the
holder's ``NotReady`` (503), FastAPI's own validation errors (400 instead of 422), Starlette's HTTP errors and
anything unexpected (500, logged, never a traceback) into that shape.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ui.holder import NotReady

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
    """An error response: HTTP status, a stable code, a Chinese message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error raised while handling a request in the one JSON shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(NotReady)
    async def _not_ready(request: Request, exc: NotReady) -> JSONResponse:
        return error_response(503, exc.code, str(exc))

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
        return error_response(500, "internal_error", "服务器内部错误，请稍后再试。")
