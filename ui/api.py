"""The JSON HTTP API under /api: ask, search, clauses, caps, health, feedback — for eval suites and scripts.

Every error is ``{"error": {"code", "message"}}`` with a Chinese message and the right status:
400 bad input (empty, too long, malformed or too deeply nested JSON, invalid Unicode, wrong types —
FastAPI's 422 included), 403 refused upload or file reference, 404 unknown clause or route, 405 wrong method,
413 body too large (declared or actual), 415 a POST body that is not declared as JSON (``text/plain`` or no
``Content-Type`` included: a cross-site form can send those without asking), 429 too many requests from one
client (with ``Retry-After``), 503 while the index loads or is broken, 500 for anything else (logged; never a
traceback in the response). The guard middleware in front of everything (the Gradio page too) is described
in :class:`GuardMiddleware`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from ui import render
from ui.gradio_routes import UPLOAD, GradioRoutes, file_references, normalise
from ui.ratelimit import ClientBusy, ClientQueue, TokenBucketLimiter, retry_after_header
from ui.server import AssistantHolder, NotReady, ServeConfig

if TYPE_CHECKING:  # pragma: no cover
    from ui.feedback import FeedbackStore

log = logging.getLogger("policy_assistant.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_REF = 40
KNOWN_ROUTES = frozenset({"ask", "search", "caps", "health", "feedback"})
_QUERY_LABELS = {"q": "查询词 q", "k": "结果数 k", "format": "format", "sort": "sort", "doc": "doc"}
MAX_K = 50
MAX_ID = 200
MAX_JSON_DEPTH = 32
RATE_LIMITED = frozenset({("POST", "/api/ask"), ("POST", "/api/search"), ("GET", "/api/search"), ("POST", "/api/feedback")})
QUEUED = frozenset({("POST", "/api/ask"), ("POST", "/api/search"), ("GET", "/api/search")})   # client_concurrency
JSON_ROUTES = frozenset({"/api/ask", "/api/search", "/api/feedback"})
# A web page event carries the page's inputs as JSON: text pasted far over the question limit must still reach the
# chat, which answers it with the same Chinese message as /api/ask (a 413 would show the user a bare HTTP error).
WEB_BODY_BYTES = 1024 * 1024
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


# ---- middleware -----------------------------------------------------------------------------------
class _BodyTooLarge(Exception):
    pass


class _Disconnected(Exception):
    """The client closed the connection before its request body was complete."""


class GuardMiddleware:
    """Pure ASGI middleware: every request passes here before the API or Gradio sees it.

    * **Identity.** The client is the address that connected (``X-Forwarded-For`` only counts when
      ``--forwarded-allow-ips`` names the proxy, see ``ui.server.create_app``). A page load without a valid
      ``pa_session`` cookie gets one (``ui.sessions``): the admin unlock is keyed to it, not to the address.
    * **Work.** /api/ask, /api/search, /api/feedback and every Gradio event that does work (``ui.gradio_routes``)
      take a token from the client's bucket (429 with ``Retry-After`` when it is empty). At most
      ``client_concurrency`` of one client's /api questions are worked on at once; the rest wait without a thread.
    * **Files.** Gradio's upload route, and any file reference in a request body, are refused when the admin tab
      is off, and while a token is set to sessions that have not unlocked it; a file reference must name a file
      the upload route stored. Routes no component uses are refused; ``/file=<url>`` is never fetched.
    * **Bodies.** /api bodies must be JSON (``Content-Type: application/json``, 415 otherwise) of at most
      ``max_body_bytes`` (413); so must Gradio's (at most ``WEB_BODY_BYTES``), except the upload route's form. A
      client that closes the connection before its body is complete costs one log line, not a traceback.
    """

    def __init__(self, app: Callable[..., Awaitable[None]], config: ServeConfig, gradio: GradioRoutes | None = None) -> None:
        self.app = app
        self.config = config
        self.limit = config.max_body_bytes
        self.gate = config.admin_gate
        self.gradio = gradio
        self.limiter = TokenBucketLimiter(config.rate) if config.rate is not None else None
        self.queue = ClientQueue(config.client_concurrency)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        session = self.gate.session_from_headers(scope.get("headers", ()))
        if session is None and scope.get("method") == "GET" and not path.startswith("/api/"):
            send = self._giving_session(scope, send)
        try:
            if path.startswith("/api/"):
                await self._api(scope, counting_receive, send)
            else:
                await self._web(scope, counting_receive, send, session)
        except (_Disconnected, ClientDisconnect):
            declared = _content_length(scope)
            log.warning("客户端在请求发送完之前断开：%s %s（声明 %s 字节，收到 %d 字节）", scope.get("method"), path,
                        "未知" if declared is None else declared, received)

    # ---- /api ------------------------------------------------------------------------------------
    async def _api(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, route = scope.get("method", ""), scope.get("path", "").rstrip("/")
        client = _client_host(scope)
        if self.limiter is not None and (method, route) in RATE_LIMITED:
            wait = self.limiter.acquire(client)
            if wait > 0:
                await self._rate_limited(wait, scope, receive, send)
                return
        if method == "POST" and route in JSON_ROUTES and not _is_json(_content_type(scope)):
            await _unsupported_type(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and (declared < 0 or declared > self.limit):
            await self._too_large(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            if (method, route) in QUEUED:
                try:
                    async with self.queue.turn(client):
                        await self.app(scope, limited_receive, tracking_send)
                except ClientBusy:
                    busy = error_response(429, "busy", "您同时提交的问题太多，请等前面的问题答完再问。")
                    busy.headers["Retry-After"] = "1"
                    await busy(scope, receive, send)
            else:
                await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._too_large(scope, receive, send)

    # ---- the web page (Gradio) ------------------------------------------------------------------
    async def _web(self, scope: Scope, receive: Receive, send: Send, session: str | None) -> None:
        path: str = scope.get("path", "")
        route = normalise(path)
        method = scope.get("method", "")
        if "/file=" in path:
            target = path.split("/file=", 1)[1].lower().lstrip()
            if target.startswith(("http:", "https:", "//", "ftp:")):
                await error_response(403, "forbidden", "本服务不代为获取外部网址。")(scope, receive, send)
                return
        if self.gradio is not None and route in self.gradio.closed:
            await error_response(404, "not_found", "本服务没有启用这个功能。")(scope, receive, send)
            return
        if route == UPLOAD:
            refusal = self._file_refusal(session, upload=True)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if method not in ("POST", "PUT", "PATCH", "DELETE"):
            await self.app(scope, receive, send)
            return
        content_type = _content_type(scope)
        declared = _content_length(scope)
        limit = max(self.limit, WEB_BODY_BYTES)
        if declared is not None and (declared < 0 or declared > limit):
            await self._too_large(scope, receive, send, limit)
            return
        try:
            body = await _read_body(receive, limit)
        except _BodyTooLarge:
            await self._too_large(scope, receive, send, limit)
            return
        data: Any = None
        if body.strip():
            if not _is_json(content_type):
                await _unsupported_type(scope, receive, send)
                return
            try:
                data = _strict_json(body)
            except ApiError as exc:
                await error_response(exc.status, exc.code, exc.message)(scope, receive, send)
                return
            references = file_references(data)
            if references:
                refusal = self._file_refusal(session, upload=False) or self._reference_refusal(references)
                if refusal is not None:
                    log.warning("拒绝了引用服务器文件的请求：%s %s", method, route)
                    await refusal(scope, receive, send)
                    return
        if self.limiter is not None and GradioRoutes.is_event(route) and (
                self.gradio is None or self.gradio.does_work(route, data)):
            wait = self.limiter.acquire(_client_host(scope))
            if wait > 0:
                await self._rate_limited(wait, scope, receive, send)
                return
        await self.app(scope, _replay(body, receive), send)

    def _file_refusal(self, session: str | None, upload: bool) -> JSONResponse | None:
        """Why a session may not upload (``upload``) or name a file now; None when it may."""
        if not self.config.admin_enabled:
            return error_response(403, "forbidden", f"未开启管理功能，不接受{'上传' if upload else '文件'}。")
        if self.config.admin_token and not self.gate.allows(session):
            action = "上传文件" if upload else "提交文件"
            return error_response(403, "admin_token_required", f"请先在“管理”页输入管理员令牌，再{action}。")
        return None

    def _reference_refusal(self, references: list[object]) -> JSONResponse | None:
        for reference in references:
            if self.gradio is None or not self.gradio.uploaded_file(reference, self.config.max_upload_bytes):
                return error_response(403, "file_not_uploaded",
                                      "只接受通过本页上传的文件（不超过上传上限），不能引用服务器上的其他文件。")
        return None

    def _giving_session(self, scope: Scope, send: Send) -> Send:
        """``send`` that adds a fresh session cookie to the response."""
        cookie = self.gate.cookie_header(self.gate.new_session(), secure=scope.get("scheme") == "https")

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        return sending

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int | None = None) -> None:
        hint = f"问题请控制在 {self.config.max_question_chars} 字以内。" if scope.get("path", "").startswith("/api/ask") else ""
        response = error_response(413, "body_too_large", f"请求体过大（上限 {limit or self.limit} 字节）。{hint}")
        await response(scope, receive, send)

    async def _rate_limited(self, wait: float, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.config.rate is not None
        seconds = retry_after_header(wait)
        response = error_response(
            429, "rate_limited",
            f"请求过于频繁：每个客户端{self.config.rate.describe()}（问答、检索、反馈和网页上的提问合计），请 {seconds} 秒后再试。",
        )
        response.headers["Retry-After"] = seconds
        await response(scope, receive, send)


def _client_host(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def client_of(request: Any) -> str:
    """The client's address of a Starlette or Gradio request: the key of its rate limit and its share of work."""
    client = getattr(request, "client", None)
    host = getattr(client, "host", None) if client is not None else None
    return str(host) if host else "unknown"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


def _content_type(scope: Scope) -> str:
    """The media type of the request body, lower case, without parameters ("" when there is none)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


async def _unsupported_type(scope: Scope, receive: Receive, send: Send) -> None:
    await error_response(415, "unsupported_media_type",
                         "请求体必须是 JSON，并带上请求头 Content-Type: application/json。")(scope, receive, send)


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body (at most ``limit`` bytes: _BodyTooLarge beyond, _Disconnected if the client left)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the app the body already read, then whatever the connection says next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _strict_json(body: bytes) -> Any:
    """The body parsed exactly as Starlette parses it, refusing an object with the same key twice.

    Duplicate keys would let a checker and the app read different values (``json`` keeps the last).
    """
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ApiError(400, "bad_json", "请求体的 JSON 对象中有重复的键。")
        return dict(pairs)

    try:
        return json.loads(body, object_pairs_hook=no_duplicates)
    except ApiError:
        raise
    except RecursionError:
        raise ApiError(400, "bad_json", f"请求体的 JSON 嵌套过深（上限 {MAX_JSON_DEPTH} 层）。") from None
    except ValueError:
        raise ApiError(400, "bad_json", "请求体不是合法的 JSON。") from None


# ---- request parsing ------------------------------------------------------------------------------
async def read_json(request: Request) -> Any:
    """The request body as JSON; ApiError 400 when it is empty or not JSON."""
    try:
        body = await request.body()
    except _BodyTooLarge:
        raise
    if not body.strip():
        raise ApiError(400, "bad_request", "请求体为空：请发送 JSON，例如 {\"question\": \"孵化器最多能补多少？\"}。")
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "bad_request", "请求体不是 UTF-8 编码的 JSON。") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, "bad_json", f"请求体不是合法的 JSON（{exc.msg}，第 {exc.lineno} 行）。") from None
    except RecursionError:
        raise ApiError(400, "bad_json", f"请求体的 JSON 嵌套过深（上限 {MAX_JSON_DEPTH} 层）。") from None
    except ValueError:   # e.g. an integer with more digits than Python converts
        raise ApiError(400, "bad_json", "请求体中有无法处理的数值。") from None
    check_json_value(data)
    return data


def check_json_value(data: Any) -> None:
    """Reject JSON nested deeper than ``MAX_JSON_DEPTH`` or holding strings that are not valid Unicode.

    JSON may spell lone UTF-16 surrogates (``"\\ud800"``); Python keeps them in ``str``, but they cannot be
    encoded, stored or sent back, so they are refused here rather than failing later.
    """
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ApiError(400, "bad_json", f"请求体的 JSON 嵌套过深（上限 {MAX_JSON_DEPTH} 层）。")
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "bad_unicode", "请求中含有无效的 Unicode 字符（孤立的代理码位），请检查文本编码。") from None


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "请求体必须是 JSON 对象。")
    return data


def _optional_str(data: dict[str, Any], key: str, limit: int) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, "bad_type", f"{key} 必须是字符串。")
    if len(value) > limit:
        raise ApiError(400, "too_long", f"{key} 过长（上限 {limit} 字）。")
    return value


def parse_ask(data: Any, max_turns: int) -> tuple[list[str], str | None]:
    """``{"question": str}`` or ``{"turns": [str, ...]}`` (plus optional ``"id"``) → turns and id."""
    data = _object(data)
    question, turns = data.get("question"), data.get("turns")
    if question is not None and turns is not None:
        raise ApiError(400, "bad_request", "question 与 turns 只能提供一个。")
    if turns is None:
        if question is None:
            raise ApiError(400, "bad_request", "缺少 question（字符串）或 turns（字符串数组）。")
        if not isinstance(question, str):
            raise ApiError(400, "bad_type", "question 必须是字符串。")
        turns = [question]
    if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
        raise ApiError(400, "bad_type", "turns 必须是字符串数组。")
    if not turns:
        raise ApiError(400, "empty", "turns 不能为空。")
    if len(turns) > max_turns:
        raise ApiError(400, "too_many_turns", f"对话轮次过多（上限 {max_turns} 轮）。")
    return list(turns), _optional_str(data, "id", MAX_ID)


def parse_search(data: Any) -> tuple[str, int]:
    data = _object(data)
    query, k = data.get("query"), data.get("k", 5)
    if query is None:
        raise ApiError(400, "bad_request", "缺少 query（字符串）。")
    if not isinstance(query, str):
        raise ApiError(400, "bad_type", "query 必须是字符串。")
    if isinstance(k, bool) or not isinstance(k, int):
        raise ApiError(400, "bad_type", "k 必须是整数。")
    if not 1 <= k <= MAX_K:
        raise ApiError(400, "bad_value", f"k 必须在 1 到 {MAX_K} 之间。")
    return query, k


def parse_feedback(data: Any, max_chars: int, max_turns: int) -> dict[str, Any]:
    """``{"rating", "question" | "turns", "answer"?, "comment"?}`` checked with the rules /api/ask applies.

    The question and every turn go through ``assistant.question_text.clean_question`` (what /api/ask refuses —
    empty, over ``max_chars``, only control/bidi/zero-width marks or emoji — is refused here too), and are stored
    as /api/ask reads them. Nothing is cut: a comment over ``MAX_COMMENT`` characters is a 400.
    """
    from assistant.question_text import BadInput, clean_question
    from ui.feedback import MAX_COMMENT

    data = _object(data)
    rating = data.get("rating")
    if rating not in ("up", "down"):
        raise ApiError(400, "bad_value", "rating 必须是 \"up\" 或 \"down\"。")
    question = data.get("question")
    turns = data.get("turns")
    if turns is not None and (not isinstance(turns, list) or not all(isinstance(t, str) for t in turns)):
        raise ApiError(400, "bad_type", "turns 必须是字符串数组。")
    if turns is not None and len(turns) > max_turns:
        raise ApiError(400, "too_many_turns", f"对话轮次过多（上限 {max_turns} 轮）。")
    if question is None and turns:
        question = turns[-1]
    if question is None:
        raise ApiError(400, "bad_request", "缺少 question（字符串）或 turns。")
    if not isinstance(question, str):
        raise ApiError(400, "bad_type", "question 必须是字符串。")
    texts = [question, *(turns or [])]
    cleaned = []
    for number, text in enumerate(texts):
        try:
            cleaned.append(clean_question(text, max_chars))
        except BadInput as exc:
            prefix = f"turns 第 {number} 轮：" if number else "question："
            raise ApiError(400, "bad_input", prefix + str(exc)) from None
    answer = data.get("answer")
    if answer is not None and not isinstance(answer, dict):
        raise ApiError(400, "bad_type", "answer 必须是 JSON 对象（/api/ask 的返回值）。")
    comment = _optional_str(data, "comment", MAX_COMMENT) or ""
    return {"rating": rating, "question": cleaned[0], "turns": cleaned[1:] or cleaned[:1], "answer": answer or {},
            "comment": comment}


def validate_turns(pa: Any, turns: list[str]) -> list[str]:
    """Every turn through ``pa.validate_question``; BadInput becomes a 400."""
    cleaned = []
    for number, turn in enumerate(turns, 1):
        try:
            cleaned.append(pa.validate_question(turn))
        except Exception as exc:  # noqa: BLE001 - only BadInput is expected; others re-raised below
            if type(exc).__name__ != "BadInput":
                raise
            prefix = f"第 {number} 轮：" if len(turns) > 1 else ""
            raise ApiError(400, "bad_input", prefix + str(exc)) from None
    return cleaned


def bad_input_as_400(call: Callable[[], Any]) -> Any:
    """``call()``, with the assistant's BadInput (e.g. a conversation over its turn limit) as a 400."""
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - only BadInput is expected; others re-raised
        if type(exc).__name__ != "BadInput":
            raise
        raise ApiError(400, "bad_input", str(exc)) from None


def primary_awards(kb: Any, order: str = "clause") -> list[Any]:
    """The awards of the measure itself (not of documents added later), in clause order or largest first."""
    awards = [a for section in kb.primary.document.sections for a in kb.awards(section.key)]
    if order == "amount":
        with_figure = sorted((a for a in awards if a.amount_wan is not None), key=lambda a: -a.amount_wan)
        return with_figure + [a for a in awards if a.amount_wan is None]
    return awards


# ---- routes ---------------------------------------------------------------------------------------
def build_router(holder: AssistantHolder, store: FeedbackStore, config: ServeConfig) -> APIRouter:
    from ui.feedback import FeedbackError

    router = APIRouter(prefix="/api")

    def ask_sync(turns: list[str], answer_id: str | None, client: str) -> dict[str, Any]:
        def call(pa: Any) -> dict[str, Any]:
            cleaned = validate_turns(pa, turns)
            return bad_input_as_400(lambda: pa.ask(cleaned, id=answer_id).to_json())

        return holder.answer(call, client)

    @router.post("/ask", summary="问答：引用条款与资助上限（Answer JSON 契约）")
    async def ask(request: Request, format: str = "json") -> Response:
        if format not in ("json", "html"):
            raise ApiError(400, "bad_value", "format 只能是 json 或 html。")
        turns, answer_id = parse_ask(await read_json(request), config.max_turns)
        answer = await run_in_threadpool(ask_sync, turns, answer_id, client_of(request))
        if format == "html":
            known = [s.key for s in holder.knowledge.primary.document.sections]
            page = render.chat_html([{"role": "user", "text": turns[-1]}, {"role": "assistant", "answer": answer}],
                                    known_sections=known)
            return HTMLResponse(page)
        return JSONResponse(answer)

    def search_sync(query: str, k: int, client: str) -> dict[str, Any]:
        def call(pa: Any) -> dict[str, Any]:
            cleaned = validate_turns(pa, [query])[0]
            return bad_input_as_400(lambda: pa.search(cleaned, k=k).to_json())

        return holder.answer(call, client)

    @router.post("/search", summary="条款检索：排序后的条款、得分、命中词、资助上限")
    async def search(request: Request) -> JSONResponse:
        query, k = parse_search(await read_json(request))
        return JSONResponse(await run_in_threadpool(search_sync, query, k, client_of(request)))

    @router.get("/search", summary="条款检索（GET 形式，便于在浏览器地址栏直接查询）")
    async def search_get(request: Request, q: str, k: int = Query(5, ge=1, le=MAX_K)) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(search_sync, q, k, client_of(request)))

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
        view = kb.section_view(section, doc)
        view["display_name"] = section.display_name
        view["chapter_heading"] = kb.chapter_of(section, doc)
        return JSONResponse(view)

    @router.get("/caps", summary="资助上限表（均由原文推导）")
    def caps(sort: str = "clause") -> JSONResponse:
        if sort not in ("clause", "amount"):
            raise ApiError(400, "bad_value", "sort 只能是 clause 或 amount。")
        kb = holder.knowledge
        rows = []
        for award in primary_awards(kb, sort):
            row = award.to_json()
            row["amount_text"] = award.amount_text
            rows.append(row)
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

    app.add_middleware(GuardMiddleware, config=config, gradio=gradio)
    app.include_router(build_router(holder, store, config))
