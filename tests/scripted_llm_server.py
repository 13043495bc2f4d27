"""A tiny OpenAI-compatible chat-completions server on 127.0.0.1 whose reply is scripted per test.

The network edge is the only thing faked: the real ``LLMPhraser`` talks HTTP to this server. A "good" reply
is built from the cap records and citable clauses found in the request's own messages, so no amount is typed
here; the bad scenarios corrupt that reply in one specific way each.

Usage::

    with ScriptedLLMServer() as server:
        server.scenario = "hallucinated_amount"
        ... LLMConfig(base_url=server.base_url, model=server.model, ...)
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Scenario = Literal[
    "good",
    "good_dropped_notice",
    "hallucinated_amount",
    "unretrieved_clause",
    "wrong_qualifier",
    "slow",
    "error_500",
    "garbage",
    "empty_choices",
    "markup",
    "questions",
]
SCENARIOS: tuple[str, ...] = Scenario.__args__  # type: ignore[attr-defined]

HALLUCINATED_WAN = 1000      # deliberately wrong: no clause of the measure offers it
UNRETRIEVED_CLAUSE = "二十六"
_CLAUSE_RE = re.compile(r"（([零一二三四五六七八九十百]+)）")
_CAP_RE = re.compile(r"^- （(?P<clause>[零一二三四五六七八九十百]+)）(?P<rest>.+)$")


def _user_text(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    return "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")


def _block(text: str, header: str) -> list[str]:
    """The ``- `` lines under a header line that starts with ``header``."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(header):
            out = []
            for item in lines[i + 1:]:
                if not item.startswith("- "):
                    break
                out.append(item)
            return out
    return []


def parse_request(body: dict[str, Any]) -> tuple[list[str], list[dict[str, str]], list[str]]:
    """Citable clauses, cap records and notices, as the prompt states them."""
    text = _user_text(body)
    citable_line = next((ln for ln in text.splitlines() if ln.startswith("可引用条款")), "")
    clauses = _CLAUSE_RE.findall(citable_line)
    caps = []
    for line in _block(text, "资助上限记录"):
        match = _CAP_RE.match(line)
        if match:
            fields = match.group("rest").split("；")
            record = {"clause": match.group("clause"), "amount_text": fields[0]}
            for item in fields[1:]:
                name, _, value = item.partition("：")
                record[name] = value
            caps.append(record)
    notices = [ln[2:] for ln in _block(text, "须知")]
    return clauses, caps, notices


def faithful_reply(body: dict[str, Any], keep_notice: bool = True) -> str:
    """What a well-behaved model says: the given clauses and the records' exact amount texts."""
    clauses, caps, notices = parse_request(body)
    parts = []
    for record in caps:
        target = record.get("对象", "符合条件的项目")
        term = f"，{record['期限']}" if record.get("期限") else ""
        parts.append(f"根据（{record['clause']}），对{target}给予{record['amount_text']}{record.get('类型', '资助')}{term}。")
    if not parts:
        parts = [f"根据（{c}），本条未写明具体金额，请以原文为准。" for c in clauses[:2]] or ["请以原文为准。"]
    if keep_notice:
        parts.extend(notices)
    return "\n".join(parts)


def scripted_reply(scenario: str, body: dict[str, Any]) -> str:
    clauses, caps, _ = parse_request(body)
    first = clauses[0] if clauses else "一"
    if scenario == "hallucinated_amount":
        return f"根据（{first}），符合条件的项目可获最高{HALLUCINATED_WAN}万元资助。"
    if scenario == "unretrieved_clause":
        return faithful_reply(body) + f"\n另见（{UNRETRIEVED_CLAUSE}）。"
    if scenario == "wrong_qualifier":
        record = caps[0]
        words = "一次性" if record["amount_text"].startswith("每年") else "每年"
        wrong = words + record["amount_text"].removeprefix("一次性").removeprefix("每年")
        return f"根据（{record['clause']}），对{record.get('对象', '项目')}{wrong}。"
    if scenario == "markup":
        return faithful_reply(body) + "<script>alert('x')</script>"
    if scenario == "questions":
        return json.dumps(
            [
                "我们想把闲置厂房改成给小团队用的创业空间，能申请吗？",
                "学校想办学生创业园，该找哪一条？",
                "能拿200万吗？",                      # carries an amount: enrich must drop it
                "我们做联合办公，入驻的多是设计团队，有支持吗？",
                "我们想把闲置厂房改成给小团队用的创业空间，能申请吗？",  # duplicate
            ],
            ensure_ascii=False,
        )
    return faithful_reply(body, keep_notice=scenario != "good_dropped_notice")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        return

    def _send(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        if self.path.rstrip("/").endswith("/models"):
            self._send(200, json.dumps({"object": "list", "data": [{"id": self.server.model, "object": "model"}]}).encode())
        else:
            self._send(404, b'{"error": {"message": "not found"}}')

    def do_POST(self) -> None:  # noqa: N802
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._send(404, b'{"error": {"message": "not found"}}')
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._send(400, b'{"error": {"message": "bad json"}}')
            return
        scenario = self.server.scenario
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body, "scenario": scenario})
        if scenario == "slow":
            # Released early by stop(), so teardown never waits for the full delay.
            self.server.stopping.wait(self.server.slow_s)
        if scenario == "error_500":
            # Some gateways echo the credentials they rejected; the phraser must scrub them from its errors.
            echo = self.headers.get("Authorization", "")
            self._send(500, json.dumps({"error": {"message": f"scripted failure ({echo})", "type": "server_error"}}).encode())
            return
        if scenario == "garbage":
            self._send(200, b"<<this is not json>>", "text/plain")
            return
        created = int(time.time())
        if scenario == "empty_choices":
            self._send(200, json.dumps({"id": "x", "object": "chat.completion", "created": created,
                                        "model": self.server.model, "choices": []}).encode())
            return
        text = scripted_reply(scenario, body)
        if body.get("stream"):
            self._stream(text, created)
            return
        reply = {
            "id": "chatcmpl-scripted",
            "object": "chat.completion",
            "created": created,
            "model": self.server.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        self._send(200, json.dumps(reply, ensure_ascii=False).encode("utf-8"))

    def _stream(self, text: str, created: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        pieces = [text[i:i + 20] for i in range(0, len(text), 20)]
        for piece in [*pieces, ""]:
            delta = {"role": "assistant", "content": piece} if piece else {}
            chunk = {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": created,
                     "model": self.server.model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": None if piece else "stop"}]}
            self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    scenario: str
    model: str
    slow_s: float
    requests: list[dict[str, Any]]
    stopping: threading.Event

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (the phraser's timeout) closes the socket; that is expected, not news.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class ScriptedLLMServer:
    """Starts on a free port of 127.0.0.1; ``stop()`` (or leaving the ``with`` block) shuts it down."""

    def __init__(self, scenario: str = "good", model: str = "scripted-model", slow_s: float = 5.0) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.model = model
        self._server.slow_s = slow_s
        self._server.requests = []
        self._server.stopping = threading.Event()
        self.scenario = scenario
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="scripted-llm", daemon=True)

    @property
    def scenario(self) -> str:
        return self._server.scenario

    @scenario.setter
    def scenario(self, value: str) -> None:
        if value not in SCENARIOS:
            raise ValueError(f"unknown scenario {value!r}; choose from {', '.join(SCENARIOS)}")
        self._server.scenario = value

    @property
    def model(self) -> str:
        return self._server.model

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self._server.requests

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> ScriptedLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
