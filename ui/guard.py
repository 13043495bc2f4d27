"""The guard in front of everything the server answers (the API and the Gradio page): identity, work, files, bodies.

A pure ASGI middleware, so it sees a request before FastAPI or Gradio parse anything; see :class:`GuardMiddleware`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from assistant.language import Lang
from ui.api_errors import ApiError, error_response
from ui.api_input import strict_json
from ui.config import ServeConfig
from ui.gradio_routes import UPLOAD, GradioRoutes, file_references, normalise
from ui.messages import body_lang, say, turns_lang
from ui.ratelimit import ClientBusy, ClientQueue, TokenBucketLimiter, retry_after_header

log = logging.getLogger("policy_assistant.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

RATE_LIMITED = frozenset({("POST", "/api/ask"), ("POST", "/api/search"), ("GET", "/api/search"), ("POST", "/api/feedback")})
QUEUED = frozenset({("POST", "/api/ask"), ("POST", "/api/search"), ("GET", "/api/search")})   # client_concurrency
JSON_ROUTES = frozenset({"/api/ask", "/api/search", "/api/feedback"})
# A web page event carries the page's inputs as JSON: text pasted far over the question limit must still reach the
# chat, which answers it with the same Chinese message as /api/ask (a 413 would show the user a bare HTTP error).
WEB_BODY_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    """The request body is over its limit (raised while it is read, also from inside the app)."""


class Disconnected(Exception):
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
        except (Disconnected, ClientDisconnect):
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
                await self._rate_limited(wait, scope, receive, send, await self._question_lang(scope, receive))
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
                    raise BodyTooLarge()
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
                    lang = await self._question_lang(scope, receive)
                    busy = error_response(429, "busy", say("busy_api", lang), lang)
                    busy.headers["Retry-After"] = "1"
                    await busy(scope, receive, send)
            else:
                await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
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
        except BodyTooLarge:
            await self._too_large(scope, receive, send, limit)
            return
        data: Any = None
        if body.strip():
            if not _is_json(content_type):
                await _unsupported_type(scope, receive, send)
                return
            try:
                data = strict_json(body)
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
                await self._rate_limited(wait, scope, receive, send, body_lang(data))
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

    async def _question_lang(self, scope: Scope, receive: Receive) -> Lang:
        """The language of a refused /api request's question, to word the refusal in (Chinese when it cannot be told:
        no question, a body that is not JSON or is over the limit). Reads the body, which nothing else will."""
        if scope.get("method") == "GET":
            query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("q", [])
            return turns_lang(query[-1:])
        declared = _content_length(scope)
        if declared is not None and not 0 <= declared <= self.limit:
            return "zh"
        try:
            return body_lang(await _read_body(receive, self.limit))
        except (BodyTooLarge, Disconnected, ClientDisconnect):
            return "zh"

    async def _rate_limited(self, wait: float, scope: Scope, receive: Receive, send: Send, lang: Lang = "zh") -> None:
        assert self.config.rate is not None
        seconds = retry_after_header(wait)
        response = error_response(
            429, "rate_limited",
            say("rate_limited", lang, rate=self.config.rate.describe(), rate_en=self.config.rate.describe_en(),
                    seconds=seconds), lang,
        )
        response.headers["Retry-After"] = seconds
        await response(scope, receive, send)


def _client_host(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


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
    """The whole request body (at most ``limit`` bytes: BodyTooLarge beyond, Disconnected if the client left)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
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
