"""Security of ``serve``: loopback by default, the admin tab and uploads behind the token when one is set,
no request path reaching the filesystem, a per-client rate limit, and the LLM API key never shown.

Two real servers: one started exactly as a user would (no ``--host``; ``--admin`` without a token; no index),
one with a token, a low rate limit, a small upload limit and an LLM endpoint whose errors echo the key.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

pytest_plugins = ("ui_fixtures",)  # session fixtures (built_home, serve_env); helpers imported lazily

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "adm-" + uuid.uuid4().hex
API_KEY = "sk-security-DO-NOT-LOG-" + uuid.uuid4().hex[:12]
RATE = 4                       # per minute, on the token server
UPLOAD_LIMIT = 4096
LEAKS = (b"root:x:0:", b"[project]", b"SQLite format 3", b"\"build_id\"", b"POLICY_ASSISTANT_", b"PATH=", b"/bin/bash")
QUESTION = "我们是做孵化器的，最多能补多少？"


# ---- servers --------------------------------------------------------------------------------------
def _wait(server, path: str, timeout: float = 180) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.process.poll() is None, server.log_tail()
        try:
            if httpx.get(server.api(path), timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{path} not 200 within {timeout:.0f}s:\n{server.log_tail()}")


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory, serve_env):
    """``policy-assistant serve --admin --no-build --port P``: no --host, no token, no index."""
    from ui_fixtures import RunningServer, free_port, stop_server

    home = tmp_path_factory.mktemp("plain-home")
    port = free_port()
    log = home / "serve.log"
    with open(log, "w", encoding="utf-8") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--port", str(port), "--no-browser", "--admin", "--no-build"],
            cwd=ROOT, env=serve_env(home), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = RunningServer(f"http://127.0.0.1:{port}/", home, log, process)
    try:
        _wait(server, "api/caps")
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def llm():
    from scripted_llm_server import ScriptedLLMServer

    with ScriptedLLMServer(scenario="error_500") as server:
        yield server


@pytest.fixture(scope="module")
def locked_server(built_home: Path, tmp_path_factory: pytest.TempPathFactory, llm):
    """A token, a low rate limit, a small upload limit and an LLM whose error replies echo the API key."""
    import shutil

    import ui_fixtures

    home = tmp_path_factory.mktemp("locked-home")
    shutil.copytree(built_home / "index", home / "index")
    extra = {
        "POLICY_ASSISTANT_ADMIN_TOKEN": TOKEN,
        "POLICY_ASSISTANT_RATE_LIMIT": f"{RATE}/minute",
        "POLICY_ASSISTANT_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
        "POLICY_ASSISTANT_LLM_BASE_URL": llm.base_url,
        "POLICY_ASSISTANT_LLM_MODEL": llm.model,
        "POLICY_ASSISTANT_LLM_API_KEY": API_KEY,
        "POLICY_ASSISTANT_LLM_TIMEOUT": "3",
    }
    original = ui_fixtures.server_env
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ui_fixtures, "server_env", lambda h: {**original(h), **extra})
        server = ui_fixtures.start_server(home)
    try:
        yield server
    finally:
        ui_fixtures.stop_server(server)


def raw_get(base: str, target: str) -> tuple[int, bytes]:
    """GET with the request target sent byte for byte (HTTP clients normalise ``..`` away)."""
    url = urlparse(base)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {url.hostname}:{url.port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def gradio(server):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    return Client(server.url, verbose=False, download_files=False)


# ---- binding ---------------------------------------------------------------------------------------
def listening_addresses(port: int) -> set[str]:
    """Local addresses of LISTEN sockets on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":   # 0A = LISTEN
                found.add(address)
    return found


@pytest.mark.slow
def test_serve_binds_loopback_by_default(plain_server):
    port = urlparse(plain_server.url).port
    assert listening_addresses(port) == {"0100007F"}            # 127.0.0.1 only, no 0.0.0.0 / ::
    assert "0.0.0.0" not in plain_server.log_tail() and "所有网络接口" not in plain_server.log_tail()


def test_all_interfaces_only_when_asked(monkeypatch):
    import argparse

    from ui import command
    from ui.server import ServeConfig

    monkeypatch.delenv("POLICY_ASSISTANT_HOST", raising=False)
    assert ServeConfig().host == "127.0.0.1"
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    assert command._serve_config(parser.parse_args([])).host == "127.0.0.1"
    assert command._serve_config(parser.parse_args(["--host", "0.0.0.0"])).host == "0.0.0.0"


# ---- the admin tab and uploads ------------------------------------------------------------------
ADMIN_FUNCTIONS = ("/feedback_rows", "/status_html", "/export_feedback", "/rebuild")


@pytest.mark.slow
def test_admin_without_a_token_is_open_to_whoever_reaches_the_page(plain_server):
    """``--admin`` without a token: documented as open (the server only listens on loopback by default)."""
    client = gradio(plain_server)
    assert "headers" in client.predict(api_name="/feedback_rows")
    response = httpx.post(plain_server.api("gradio_api/upload"), files={"files": ("a.txt", b"hello")}, timeout=30)
    assert response.status_code == 200, response.text


@pytest.mark.slow
def test_admin_needs_the_token_when_one_is_set(locked_server):
    from gradio_client.exceptions import AppError

    upload = locked_server.api("gradio_api/upload")
    refused = httpx.post(upload, files={"files": ("note.txt", b"hello")}, timeout=30)   # nobody unlocked yet
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "admin_token_required", refused.text
    assert "令牌" in refused.json()["error"]["message"]
    stranger = gradio(locked_server)
    for name in ADMIN_FUNCTIONS:
        with pytest.raises(AppError, match="令牌"):
            stranger.predict(api_name=name)
    stranger.predict("wrong-" + TOKEN, api_name="/unlock")
    with pytest.raises(AppError, match="令牌"):
        stranger.predict(api_name="/feedback_rows")
    # A session's unlock is the server's own state: another session is still locked.
    assert httpx.post(upload, files={"files": ("note.txt", b"hello")}, timeout=30).status_code == 403
    admin = gradio(locked_server)
    admin.predict(TOKEN, api_name="/unlock")
    assert "headers" in admin.predict(api_name="/feedback_rows")
    with pytest.raises(AppError, match="令牌"):
        gradio(locked_server).predict(api_name="/feedback_rows")
    assert httpx.post(upload, files={"files": ("note.txt", b"hello")}, timeout=30).status_code == 200
    assert TOKEN not in locked_server.log_tail(500_000)


@pytest.mark.slow
def test_uploads_need_the_token_are_size_limited_and_never_executed(locked_server, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    upload = locked_server.api("gradio_api/upload")
    admin = gradio(locked_server)
    admin.predict(TOKEN, api_name="/unlock")
    assert httpx.post(upload, files={"files": ("note.txt", "第一条 测试。".encode())}, timeout=30).status_code == 200
    too_big = httpx.post(upload, files={"files": ("big.txt", b"x" * (UPLOAD_LIMIT * 4))}, timeout=30)
    assert too_big.status_code in (400, 413), too_big.text[:200]

    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    payload = f"#!/bin/sh\ntouch {marker}\n".encode()
    for name in ("evil.sh", "evil.py"):             # refused by type before our code sees them
        path = tmp_path / name
        path.write_bytes(payload)
        path.chmod(0o755)
        with pytest.raises(AppError, match="file type"):
            admin.predict(handle_file(str(path)), api_name="/add_document")
    script = tmp_path / "evil.txt"                  # an allowed type: parsed as a policy, rejected, not run
    script.write_bytes(payload)
    script.chmod(0o755)
    status, _ = admin.predict(handle_file(str(script)), api_name="/add_document")
    assert "未加入" in status and "找不到条款结构" in status, status
    assert not marker.exists()
    assert not list((locked_server.home / "corpus").glob("**/evil*")) if (locked_server.home / "corpus").exists() else True
    uploads = locked_server.home / "uploads"
    assert not uploads.exists() or not list(uploads.iterdir())      # rejected uploads are not kept


def test_upload_gate_is_per_client_address(tmp_path):
    from starlette.testclient import TestClient

    app = fake_app(tmp_path, admin_token=TOKEN)
    files = {"files": ("note.txt", b"hello")}
    alice = TestClient(app, client=("10.0.0.1", 50000))
    bob = TestClient(app, client=("10.0.0.2", 50000))
    assert alice.post("/gradio_api/upload", files=files).status_code == 403
    app.state.config.admin_gate.unlock("10.0.0.1")            # what the 管理 tab's unlock does
    assert alice.post("/gradio_api/upload", files=files).status_code == 200
    assert bob.post("/gradio_api/upload", files=files).status_code == 403
    no_token = TestClient(fake_app(tmp_path, admin=True), client=("10.0.0.2", 50000))
    assert no_token.post("/gradio_api/upload", files=files).status_code == 200
    closed = TestClient(fake_app(tmp_path), client=("10.0.0.2", 50000))   # no admin tab: no upload at all
    assert closed.post("/gradio_api/upload", files=files).status_code == 403


# ---- no request path reaches the filesystem ---------------------------------------------------------
def file_targets(home: Path) -> list[str]:
    return [
        "/gradio_api/file=/etc/passwd",
        "/gradio_api/file=../../../../../../../../etc/passwd",
        "/gradio_api/file=..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/gradio_api/file=%2Fetc%2Fpasswd",
        "/gradio_api/file=//etc/passwd",
        "/gradio_api/file=/tmp/../etc/passwd",
        "/gradio_api/file=/proc/self/environ",
        "/gradio_api/file=/proc/self/cmdline",
        "/gradio_api/file=~/.bashrc",
        "/gradio_api/file=README.md",
        "/gradio_api/file=pyproject.toml",
        f"/gradio_api/file={ROOT}/pyproject.toml",
        f"/gradio_api/file={home}/feedback.sqlite3",
        f"/gradio_api/file={home}/index/manifest.json",
        f"/gradio_api/file={home}/serve.log",
        "/file=/etc/passwd",
        "/gradio_api/file=file:///etc/passwd",
        "/gradio_api/file=http://169.254.169.254/latest/meta-data/",
        "/static/../../../../../../etc/passwd",
        "/static/..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/assets/../../../../../../etc/passwd",
        "/gradio_api/static/../../../../etc/passwd",
        "/favicon.ico/../../../../etc/passwd",
    ]


@pytest.mark.slow
def test_no_request_path_reads_a_file(locked_server):
    home = locked_server.home
    for target in file_targets(home):
        status, body = raw_get(locked_server.url, target)
        assert status in (400, 403, 404, 405), (target, status, body[:200])
        assert not any(leak in body for leak in LEAKS), (target, body[:300])
        assert API_KEY.encode() not in body


CLAUSE_TARGETS = [
    "../../../../etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd", "%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/etc/passwd",
    "....//....//etc/passwd", "十六/../../../../etc/passwd", "%00", "16%00.json", "..\\..\\..\\windows\\win.ini",
    "chapter:../../etc/passwd", "a" * 41,
]


@pytest.mark.slow
@pytest.mark.parametrize("ref", CLAUSE_TARGETS)
def test_clause_references_never_reach_the_filesystem(locked_server, ref):
    from urllib.parse import quote

    status, body = raw_get(locked_server.url, "/api/clauses/" + quote(ref, safe="/%:.\\"))
    assert status in (400, 404), (ref, status, body[:200])
    error = json.loads(body)["error"]
    assert error["code"] in ("unknown_clause", "bad_request", "not_found") and error["message"]
    assert not any(leak in body for leak in LEAKS)


# ---- the LLM API key ----------------------------------------------------------------------------
@pytest.mark.slow
def test_llm_api_key_never_appears_in_logs_or_responses(locked_server, llm):
    llm.requests.clear()
    for _ in range(20):     # this module's other tests may have used the rate limit: wait it out
        response = httpx.post(locked_server.api("api/ask"), json={"question": QUESTION}, timeout=60)
        if response.status_code != 429:
            break
        time.sleep(int(response.headers["retry-after"]))
    assert response.status_code == 200, response.text[:300]
    assert response.json()["llm_used"] is False                     # the endpoint failed: deterministic answer
    sent = [r["headers"].get("Authorization", "") for r in llm.requests]
    assert sent and all(API_KEY in h for h in sent)                 # the key was really in use …
    time.sleep(0.5)
    log = locked_server.log_tail(2_000_000)
    assert "llm_call_failed" in log                                 # … the failure was logged …
    surfaces = {
        "log": log.encode(),
        "answer": response.content,
        "health": httpx.get(locked_server.api("api/health"), timeout=60).content,
        "config": httpx.get(locked_server.api("config"), timeout=60).content,
        "openapi": httpx.get(locked_server.api("api/openapi.json"), timeout=60).content,
        "gradio info": httpx.get(locked_server.api("gradio_api/info"), timeout=60).content,
        "cmdline": Path(f"/proc/{locked_server.process.pid}/cmdline").read_bytes(),
    }
    admin = gradio(locked_server)
    admin.predict(TOKEN, api_name="/unlock")
    surfaces["admin status"] = str(admin.predict(api_name="/status_html")).encode()
    for name, content in surfaces.items():                          # … and the key is nowhere to be seen
        assert API_KEY.encode() not in content, name
        assert API_KEY[-12:].encode() not in content, name
    assert os.environ.get("POLICY_ASSISTANT_LLM_API_KEY") is None   # the test process never had it either


# ---- rate limiting -------------------------------------------------------------------------------
@pytest.mark.slow
def test_rate_limit_answers_429_with_retry_after(locked_server):
    responses = [httpx.post(locked_server.api("api/ask"), json={"question": QUESTION}, timeout=60) for _ in range(RATE + 1)]
    limited = [r for r in responses if r.status_code == 429]
    assert limited, [r.status_code for r in responses]
    assert all(r.status_code in (200, 429) for r in responses)
    first = limited[0]
    assert first.headers["content-type"].startswith("application/json")
    assert 1 <= int(first.headers["retry-after"]) <= 60
    error = first.json()["error"]
    assert error["code"] == "rate_limited" and "请求过于频繁" in error["message"] and f"{RATE} 次" in error["message"]
    # Only the expensive routes are limited: health, clauses and caps still answer.
    assert httpx.get(locked_server.api("api/health"), timeout=60).status_code == 200
    assert httpx.get(locked_server.api("api/clauses/16"), timeout=60).status_code == 200


def fake_app(tmp_path: Path, **config):  # type: ignore[no-untyped-def]
    from ui.server import AssistantHolder, ServeConfig, create_app

    class Fake:
        def __init__(self) -> None:
            from assistant.knowledge import load_knowledge

            self.knowledge = load_knowledge()

        def validate_question(self, text: str) -> str:
            return text.strip()

        def ask(self, turns, id=None):  # noqa: A002 - the facade's signature
            from assistant.answer import error_answer

            class Result:
                def to_json(self) -> dict:
                    return error_answer(turns[-1], "", id)

            return Result()

        def search(self, query, k=5):
            return self.ask([query])

        def health(self, check_disk: bool = True) -> dict:
            return {"ready": True, "problems": []}

    holder = AssistantHolder(opener=Fake)
    holder.load()
    return create_app(ServeConfig(home=tmp_path, port=0, **config), holder=holder, load=False)


def test_rate_limit_is_per_client_and_configurable(tmp_path):
    from starlette.testclient import TestClient

    app = fake_app(tmp_path, rate_limit="3/minute")
    alice = TestClient(app, client=("10.0.0.1", 50000))
    bob = TestClient(app, client=("10.0.0.2", 50000))
    codes = [alice.post("/api/ask", json={"question": "孵化器"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert alice.post("/api/search", json={"query": "孵化器"}).status_code == 429     # one bucket per client
    assert alice.post("/api/feedback", json={"rating": "up", "question": "x"}).status_code == 429
    assert bob.post("/api/ask", json={"question": "孵化器"}).status_code == 200        # another client is not affected
    assert alice.get("/api/health").status_code == 200
    off = TestClient(fake_app(tmp_path, rate_limit="off"), client=("10.0.0.1", 50000))
    assert {off.post("/api/ask", json={"question": "孵化器"}).status_code for _ in range(20)} == {200}


def test_token_bucket_refills_and_reports_the_wait():
    from ui.ratelimit import RateLimit, TokenBucketLimiter, retry_after_header

    now = [0.0]
    limiter = TokenBucketLimiter(RateLimit.parse("60/minute"), clock=lambda: now[0], max_clients=2)
    assert all(limiter.acquire("a") == 0.0 for _ in range(60))        # a burst of the full minute
    wait = limiter.acquire("a")
    assert 0.9 < wait <= 1.0 and retry_after_header(wait) == "1"
    now[0] += 0.5
    assert 0.4 < limiter.acquire("a") <= 0.5
    now[0] += 0.6
    assert limiter.acquire("a") == 0.0 and limiter.acquire("a") > 0
    limiter.acquire("b")
    limiter.acquire("c")
    assert len(limiter) == 2                                           # bounded memory: least recent dropped
    assert limiter.acquire("a") == 0.0                                 # … and a dropped client starts full


@pytest.mark.parametrize(
    ("text", "expected"),
    [("60/minute", (60, 60.0)), ("5/second", (5, 1.0)), ("1000/hour", (1000, 3600.0)), (" 10 / min ", (10, 60.0)),
     ("2/s", (2, 1.0)), ("30/minutes", (30, 60.0)), ("off", None), ("0", None), ("OFF", None)],
)
def test_rate_limit_setting_parses(text, expected):
    from ui.ratelimit import RateLimit

    parsed = RateLimit.parse(text)
    assert (parsed.requests, parsed.period_s) == expected if expected else parsed is None


@pytest.mark.parametrize("text", ["60", "sixty/minute", "60/fortnight", "-1/minute", "60/minute/2", ""])
def test_bad_rate_limit_setting_is_a_clear_error(text, monkeypatch):
    from ui.server import ServeConfig

    if text == "":
        monkeypatch.setenv("POLICY_ASSISTANT_RATE_LIMIT", "")
        assert ServeConfig().rate is not None                          # empty = unset = the default
        return
    with pytest.raises(ValueError, match="minute"):
        ServeConfig(rate_limit=text)


def test_serve_refuses_a_bad_rate_limit_in_one_line(capsys):
    from assistant.cli import main

    assert main(["serve", "--rate-limit", "lots", "--no-browser", "--no-build"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：参数错误") and "60/minute" in err and "Traceback" not in err
