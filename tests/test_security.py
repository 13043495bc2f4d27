"""Security of ``serve``: loopback by default, the admin tab and uploads behind the token when one is set,
no request path reaching the filesystem, a per-client rate limit, and the LLM API key never shown.

Three real servers: one started exactly as a user would (no ``--host``; ``--admin`` without a token; no index),
one with a token, a small upload limit, its own Gradio temp folder and an LLM endpoint whose errors echo the key,
and one with a token and a low rate limit. Issue #15's attacks are reproduced as reported, against the real
servers and in process (``fake_app``), where Gradio's own path check is also tried without our middleware.
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


def _serving(home: Path, extra: dict[str, str]):
    """A real server on a copy of the built index, with ``extra`` settings in its environment; stopped after."""
    import ui_fixtures

    original = ui_fixtures.server_env
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ui_fixtures, "server_env", lambda h: {**original(h), **extra})
        server = ui_fixtures.start_server(home)
    try:
        yield server
    finally:
        ui_fixtures.stop_server(server)


@pytest.fixture(scope="module")
def locked_server(built_home: Path, tmp_path_factory: pytest.TempPathFactory, llm):
    """A token, a low rate limit, a small upload limit and an LLM whose error replies echo the API key."""
    import shutil

    home = tmp_path_factory.mktemp("locked-home")
    shutil.copytree(built_home / "index", home / "index")
    extra = {
        "POLICY_ASSISTANT_ADMIN_TOKEN": TOKEN,
        "POLICY_ASSISTANT_RATE_LIMIT": "off",
        "POLICY_ASSISTANT_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
        "GRADIO_TEMP_DIR": str(gradio_cache(home)),
        "POLICY_ASSISTANT_LLM_BASE_URL": llm.base_url,
        "POLICY_ASSISTANT_LLM_MODEL": llm.model,
        "POLICY_ASSISTANT_LLM_API_KEY": API_KEY,
        "POLICY_ASSISTANT_LLM_TIMEOUT": "3",
    }
    yield from _serving(home, extra)


@pytest.fixture(scope="module")
def limited_server(built_home: Path, tmp_path_factory: pytest.TempPathFactory):
    """A token and a low rate limit (``RATE`` a minute): the limit on every door, and forged forwarded headers."""
    import shutil

    home = tmp_path_factory.mktemp("limited-home")
    shutil.copytree(built_home / "index", home / "index")
    extra = {"POLICY_ASSISTANT_ADMIN_TOKEN": TOKEN, "POLICY_ASSISTANT_RATE_LIMIT": f"{RATE}/minute"}
    yield from _serving(home, extra)


def gradio_cache(home: Path) -> Path:
    """The locked server's Gradio temp folder (uploads and its file cache): beside its home, not inside."""
    return home.parent / (home.name + "-gradio")


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
    from ui.config import ServeConfig

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


def session_cookie(client) -> str:  # type: ignore[no-untyped-def]
    """The ``pa_session`` cookie a gradio_client got with the page's config."""
    return client.cookies["pa_session"]


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
    admin = gradio(locked_server)
    admin.predict(TOKEN, api_name="/unlock")
    assert "headers" in admin.predict(api_name="/feedback_rows")
    with pytest.raises(AppError, match="令牌"):
        gradio(locked_server).predict(api_name="/feedback_rows")   # another browser session is still locked
    # The unlock belongs to the admin's session cookie, not to the address: the same machine without the cookie,
    # or with a forged X-Forwarded-For, cannot upload; the cookie can.
    assert httpx.post(upload, files={"files": ("note.txt", b"hello")}, timeout=30).status_code == 403
    assert httpx.post(upload, files={"files": ("note.txt", b"hello")}, timeout=30,
                      headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 403
    cookies = {"pa_session": session_cookie(admin)}
    assert httpx.post(upload, files={"files": ("note.txt", b"hello")}, cookies=cookies, timeout=30).status_code == 200
    forged = {"pa_session": session_cookie(admin)[:-4] + "0000"}
    assert httpx.post(upload, files={"files": ("note.txt", b"hello")}, cookies=forged, timeout=30).status_code == 403
    assert TOKEN not in locked_server.log_tail(500_000)


@pytest.mark.slow
def test_uploads_need_the_token_are_size_limited_and_never_executed(locked_server, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    upload = locked_server.api("gradio_api/upload")
    admin = gradio(locked_server)
    admin.predict(TOKEN, api_name="/unlock")
    cookies = {"pa_session": session_cookie(admin)}
    assert httpx.post(upload, files={"files": ("note.txt", "第一条 测试。".encode())}, cookies=cookies, timeout=30).status_code == 200
    too_big = httpx.post(upload, files={"files": ("big.txt", b"x" * (UPLOAD_LIMIT * 4))}, cookies=cookies, timeout=30)
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
    status, *_ = admin.predict(handle_file(str(script)), api_name="/add_document")
    assert "未加入" in status and "找不到条款结构" in status, status
    assert not marker.exists()
    assert not list((locked_server.home / "corpus").glob("**/evil*")) if (locked_server.home / "corpus").exists() else True
    uploads = locked_server.home / "uploads"
    assert not uploads.exists() or not list(uploads.iterdir())      # rejected uploads are not kept


def test_upload_gate_is_per_browser_session_not_per_address(tmp_path):
    from starlette.testclient import TestClient

    app = fake_app(tmp_path, admin_token=TOKEN)
    gate = app.state.config.admin_gate
    files = {"files": ("note.txt", b"hello")}
    alice = TestClient(app, client=("10.0.0.1", 50000))
    alice_again = TestClient(app, client=("10.0.0.9", 50000))       # Alice's browser, from another address
    bob = TestClient(app, client=("10.0.0.1", 50000))               # another browser at Alice's address
    for client in (alice, bob):
        page = client.get("/")
        assert "pa_session=" in page.headers["set-cookie"] and "HttpOnly" in page.headers["set-cookie"]
        assert "SameSite=Strict" in page.headers["set-cookie"]
    assert alice.cookies["pa_session"] != bob.cookies["pa_session"]
    assert alice.post("/gradio_api/upload", files=files).status_code == 403
    assert gate.unlock(alice.cookies["pa_session"])                    # what the 管理 tab's unlock does
    assert alice.post("/gradio_api/upload", files=files).status_code == 200
    own_cookie = {"Cookie": f"pa_session={alice.cookies['pa_session']}"}
    assert alice_again.post("/gradio_api/upload", files=files, headers=own_cookie).status_code == 200
    assert bob.post("/gradio_api/upload", files=files).status_code == 403
    assert bob.post("/gradio_api/upload", files=files, headers={"X-Forwarded-For": "10.0.0.1"}).status_code == 403
    assert not gate.unlock("made-up.value") and not gate.unlock(None)  # only ids the server minted count
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
def test_rate_limit_answers_429_with_retry_after(limited_server):
    responses = [httpx.post(limited_server.api("api/ask"), json={"question": QUESTION}, timeout=60) for _ in range(RATE + 3)]
    limited = [r for r in responses if r.status_code == 429]
    assert limited, [r.status_code for r in responses]
    assert all(r.status_code in (200, 429) for r in responses)
    first = limited[0]
    assert first.headers["content-type"].startswith("application/json")
    assert 1 <= int(first.headers["retry-after"]) <= 60
    error = first.json()["error"]
    assert error["code"] == "rate_limited" and "请求过于频繁" in error["message"] and f"{RATE} 次" in error["message"]
    # Only the expensive routes are limited: health, clauses and caps still answer.
    assert httpx.get(limited_server.api("api/health"), timeout=60).status_code == 200
    assert httpx.get(limited_server.api("api/clauses/16"), timeout=60).status_code == 200


class Fake:
    """The assistant's interface without an index: questions are checked with the real rules, answers are empty."""

    def __init__(self) -> None:
        from assistant.knowledge import load_knowledge

        self.knowledge = load_knowledge()

    def validate_question(self, text: str) -> str:
        from assistant.question_text import clean_question

        return clean_question(text, 2000)

    def ask(self, turns, id=None):  # noqa: A002 - the facade's signature
        from assistant.answer import Answer
        from assistant.limits import DEFAULT_MAX_TURNS
        from assistant.question_text import check_turns

        turns = check_turns(turns, 2000, DEFAULT_MAX_TURNS)   # as PolicyAssistant.ask does: the API relies on it
        return Answer.rejected(turns[-1], "", id)

    def search(self, query, k=5):
        from assistant.section_view import SearchResult

        query = self.validate_question(query)
        return SearchResult(query, query, [], [])

    def match(self, description):
        return self.ask([description])

    def health(self, check_disk: bool = True) -> dict:
        return {"ready": True, "problems": []}


def fake_app(tmp_path: Path, **config):  # type: ignore[no-untyped-def]
    from ui.config import ServeConfig
    from ui.holder import AssistantHolder
    from ui.server import create_app

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
    from ui.config import ServeConfig

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


# ==== issue 15 =======================================================================================
def fn_id(client, api_name: str) -> int:  # type: ignore[no-untyped-def]
    """The ``fn_index`` of a Blocks event, from the page's config."""
    for dependency in client.get("/config").json()["dependencies"]:
        if dependency.get("api_name") == api_name:
            return int(dependency["id"])
    raise AssertionError(f"no event {api_name}")


def file_data(path: Path | str) -> dict:
    return {"path": str(path), "meta": {"_type": "gradio.FileData"}}


def secret_files(home: Path, elsewhere: Path) -> list[Path]:
    """What the outside test had copied: the environment, the feedback database, the index manifest, 25 MB."""
    from ui.feedback import FeedbackStore

    store = FeedbackStore(home / "feedback.sqlite3")
    store.add("up", "孵化器最多补多少", comment="secret-comment")
    store.close()
    (home / "index").mkdir(parents=True, exist_ok=True)
    (home / "index" / "manifest.json").write_text('{"build_id": "secret-build"}', encoding="utf-8")
    big = elsewhere / "big.txt"
    with open(big, "wb") as handle:
        handle.truncate(25 * 1024 * 1024)               # over every upload limit (sparse: cheap to make)
    return [Path("/proc/self/environ"), home / "feedback.sqlite3", home / "index" / "manifest.json", big]


def copies(folder: Path, targets: list[Path]) -> list[Path]:
    names = {t.name for t in targets}
    return [p for p in folder.rglob("*") if p.name in names] if folder.exists() else []


# ---- 1. no file leaves the server -------------------------------------------------------------------
@pytest.mark.parametrize("unlocked", [False, True], ids=["nobody-unlocked", "admin-unlocked"])
def test_file_references_to_server_files_are_refused_before_gradio_copies_them(tmp_path, monkeypatch, unlocked):
    from starlette.testclient import TestClient

    cache = tmp_path / "gradio-cache"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    home = tmp_path / "home"
    targets = secret_files(home, tmp_path)
    app = fake_app(home, admin_token=TOKEN, max_upload_bytes=UPLOAD_LIMIT, rate_limit="off")
    code = "file_not_uploaded" if unlocked else "admin_token_required"
    with TestClient(app) as client:
        client.get("/")
        if unlocked:
            assert app.state.config.admin_gate.unlock(client.cookies["pa_session"])
        add = fn_id(client, "add_document")
        # The reported request, byte for byte:
        exact = client.post("/gradio_api/call/add_document",
                            content=b'{"data":[{"path":"/proc/self/environ","meta":{"_type":"gradio.FileData"}}]}',
                            headers={"content-type": "application/json"})
        assert exact.status_code == 403 and exact.json()["error"]["code"] == code, exact.text
        for target in targets:
            for route, body in (
                ("/gradio_api/call/add_document", {"data": [file_data(target)]}),
                ("/gradio_api/run/add_document", {"data": [file_data(target)]}),
                ("/gradio_api/queue/join", {"data": [file_data(target)], "fn_index": add, "session_hash": "s1"}),
                ("/gradio_api/call/add_document", {"data": [{"path": str(target)}]}),                 # no meta
                ("/gradio_api/run/status_html", {"data": [{"nested": [file_data(target)]}]}),        # anywhere
                ("/gradio_api/call/add_document", {"data": [file_data(f"/tmp/../{target}")]}),
                ("//gradio_api//call/add_document/", {"data": [file_data(target)]}),
            ):
                response = client.post(route, json=body)
                assert response.status_code == 403, (route, target, response.status_code, response.text[:200])
                assert response.json()["error"]["code"] == code
            served = client.get(f"/gradio_api/file={target}")
            assert served.status_code in (403, 404) and b"secret" not in served.content
        # Inside the upload folder is not enough: a link out of it, or a file over the upload limit.
        (cache / "planted").mkdir(parents=True, exist_ok=True)
        (cache / "planted" / "link.txt").symlink_to(home / "feedback.sqlite3")
        (cache / "planted" / "big.txt").write_bytes(b"x" * (UPLOAD_LIMIT + 1))
        for planted in ("link.txt", "big.txt"):
            refused = client.post("/gradio_api/call/add_document", json={"data": [file_data(cache / "planted" / planted)]})
            assert refused.status_code == 403 and refused.json()["error"]["code"] == code
        assert copies(cache, targets[:3]) == [] and not [p for p in copies(cache, targets[3:]) if "planted" not in str(p)]
        if unlocked:   # a real upload still goes through (the check stands aside for what the upload route stored)
            stored = client.post("/gradio_api/upload", files={"files": ("note.txt", b"hello")}).json()[0]
            passed = client.post("/gradio_api/run/status_html", json={"data": [file_data(stored)]})
            assert passed.status_code != 403, passed.text


def test_gradio_itself_no_longer_copies_paths_outside_its_upload_folder(tmp_path, monkeypatch):
    """Our middleware aside: mounted with ``mount_gradio_app``, Gradio skipped its own path check and copied the file."""
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    cache = tmp_path / "gradio-cache"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    home = tmp_path / "home"
    targets = secret_files(home, tmp_path)
    app = fake_app(home, admin=True, rate_limit="off")
    gradio_app = next(route.app for route in app.routes if isinstance(route, Mount))
    with TestClient(app):
        direct = TestClient(gradio_app, raise_server_exceptions=False)
        for target in targets:
            response = direct.post("/gradio_api/run/add_document", json={"data": [file_data(target)]})
            assert response.status_code >= 400, response.text[:200]
    assert copies(cache, targets) == []


@pytest.mark.slow
def test_reported_file_copy_attack_copies_and_serves_nothing(locked_server, tmp_path):
    home = locked_server.home
    cache = gradio_cache(home)
    assert httpx.post(locked_server.api("api/feedback"), json={"rating": "up", "question": "孵化器"}, timeout=30).status_code == 201
    big = tmp_path / "big.txt"
    with open(big, "wb") as handle:
        handle.truncate(25 * 1024 * 1024)
    targets = [Path("/proc/self/environ"), home / "feedback.sqlite3", home / "index" / "manifest.json", big]
    assert all(t.exists() for t in targets)
    before = {p for p in cache.rglob("*") if p.is_file()}
    logged = len(locked_server.log_tail(10_000_000))
    attack = locked_server.api("gradio_api/call/add_document")
    exact = httpx.post(attack, content=b'{"data":[{"path":"/proc/self/environ","meta":{"_type":"gradio.FileData"}}]}',
                       headers={"Content-Type": "application/json"}, timeout=30)
    assert exact.status_code == 403 and exact.json()["error"]["code"] == "admin_token_required", exact.text
    admin = gradio(locked_server)
    admin.predict(TOKEN, api_name="/unlock")
    for cookies, code in (({}, "admin_token_required"), ({"pa_session": session_cookie(admin)}, "file_not_uploaded")):
        for target in targets:
            response = httpx.post(attack, json={"data": [file_data(target)]}, cookies=cookies, timeout=30)
            assert response.status_code == 403 and response.json()["error"]["code"] == code, (target, response.text)
    time.sleep(0.5)
    after = {p for p in cache.rglob("*") if p.is_file()}
    assert after - before == set(), sorted(map(str, after - before))
    assert copies(cache, targets) == []
    for target in [*targets, *(cache / "x" / t.name for t in targets)]:
        status, body = raw_get(locked_server.url, f"/gradio_api/file={target}")
        assert status in (400, 403, 404), (target, status)
        assert not any(leak in body for leak in LEAKS) and TOKEN.encode() not in body
    assert "Traceback" not in locked_server.log_tail(10_000_000)[logged:]


def test_routes_no_component_needs_are_closed(tmp_path):
    from starlette.testclient import TestClient

    client = TestClient(fake_app(tmp_path, admin=True))
    video = {"video": ("clip.mp4", b"\0" * 4096, "video/mp4")}
    for route, kwargs in (("/gradio_api/process_recording", {"files": video}),
                          ("/gradio_api/component_server", {"json": {"data": {}, "component_id": 1, "fn_name": "x",
                                                                     "session_hash": "s"}})):
        response = client.post(route, **kwargs)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", response.text


@pytest.mark.slow
def test_process_recording_takes_no_unauthenticated_upload(plain_server):
    ten_mb = b"\0" * (10 * 1024 * 1024)
    try:
        response = httpx.post(plain_server.api("gradio_api/process_recording"),
                              files={"video": ("clip.mp4", ten_mb, "video/mp4")}, timeout=60)
    except httpx.HTTPError:
        return   # refused before the body was read: the connection closed on the upload
    assert response.status_code == 404 and len(response.content) < 1000


# ---- 2. one client cannot starve the rest ----------------------------------------------------------
def test_client_queue_lets_a_client_run_only_so_many_at_once():
    import asyncio

    from ui.ratelimit import ClientBusy, ClientQueue

    async def scenario() -> None:
        queue = ClientQueue(per_client=2, max_waiting=3)
        running: list[str] = []
        peak = {"flood": 0}
        release = asyncio.Event()

        async def request(client: str) -> None:
            async with queue.turn(client):
                running.append(client)
                peak[client] = max(peak.get(client, 0), running.count(client))
                if client == "flood":
                    await release.wait()
                running.remove(client)

        flood = [asyncio.create_task(request("flood")) for _ in range(5)]
        await asyncio.sleep(0.01)
        assert queue.in_progress("flood") == 2                         # three wait, without a thread
        with pytest.raises(ClientBusy):                                # a sixth is refused at once
            async with queue.turn("flood"):
                pass
        await asyncio.wait_for(request("other"), timeout=1)            # another client goes straight through
        flood[-1].cancel()                                             # a waiter that gives up leaves the line
        release.set()
        await asyncio.gather(*flood, return_exceptions=True)
        assert peak["flood"] == 2 and queue.in_progress("flood") == 0

    asyncio.run(scenario())


def test_client_slots_refuse_a_clients_extra_work_at_once():
    from ui.ratelimit import ClientBusy, ClientSlots

    slots = ClientSlots(per_client=1)
    with slots.hold("a"):
        with pytest.raises(ClientBusy):
            with slots.hold("a"):
                pass
        with slots.hold("b"):
            assert slots.in_progress("a") == slots.in_progress("b") == 1
    assert slots.in_progress("a") == 0


def test_web_page_questions_of_a_busy_client_are_refused_not_queued(tmp_path):
    from starlette.testclient import TestClient

    app = fake_app(tmp_path, client_concurrency=1, rate_limit="off")
    started, finish = __import__("threading").Event(), __import__("threading").Event()
    holder = app.state.holder
    real_answer = holder.answer

    def slow_answer(call, client=None):  # type: ignore[no-untyped-def]
        started.set()
        finish.wait(10)
        return real_answer(call, client)

    holder.answer = slow_answer   # type: ignore[method-assign]
    import threading

    with TestClient(app, client=("10.0.0.5", 1)) as client:
        first = threading.Thread(target=lambda: client.post("/gradio_api/run/lookup", json={"data": ["孵化器"]}))
        first.start()
        assert started.wait(10)
        second = client.post("/gradio_api/run/lookup", json={"data": ["孵化器"]})
        finish.set()
        first.join(10)
    assert second.status_code == 200 and "还有问题正在处理" in second.text


@pytest.mark.slow
def test_a_flood_of_maximum_length_questions_leaves_another_client_under_a_second(built_home, tmp_path):
    """The reported starvation: long questions from one address, a short new one from another (loopback 127.0.0.2)."""
    import concurrent.futures
    import random

    import ui_fixtures

    home = tmp_path / "flood-home"
    import shutil

    shutil.copytree(built_home / "index", home / "index")
    original = ui_fixtures.server_env
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ui_fixtures, "server_env", lambda h: {**original(h), "POLICY_ASSISTANT_CACHE_SIZE": "0"})
        server = ui_fixtures.start_server(home, "--rate-limit", "off")
    rng = random.Random(15)
    alphabet = "孵化器动漫游戏直播设计研发平台出口园区认定奖励资助企业项目申请条件金额最高万元我们公司主要从事数字创意内容"
    try:
        stop = time.monotonic() + 25
        flood_done: list[float] = []

        def flood() -> None:
            transport = httpx.HTTPTransport(local_address="127.0.0.1")
            with httpx.Client(transport=transport, timeout=120) as client:
                while time.monotonic() < stop:
                    text = "".join(rng.choice(alphabet) for _ in range(2000))
                    started = time.perf_counter()
                    client.post(server.api("api/ask"), json={"question": text})
                    flood_done.append(time.perf_counter() - started)

        victim_ms: list[float] = []
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            flooders = [pool.submit(flood) for _ in range(6)]
            time.sleep(3)                          # the flood is under way
            transport = httpx.HTTPTransport(local_address="127.0.0.2")
            with httpx.Client(transport=transport, timeout=60) as victim:
                for number in range(20):
                    started = time.perf_counter()
                    response = victim.post(server.api("api/ask"), json={"question": f"做{QUESTION[:6]}第{number}次能补多少？"})
                    victim_ms.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.text[:200]
            for future in flooders:
                future.result()
        log = server.log_tail(200_000)
    finally:
        ui_fixtures.stop_server(server)
    victim_ms.sort()
    p95 = victim_ms[int(0.95 * (len(victim_ms) - 1))]
    print(f"\n[flood] victim p50 {victim_ms[len(victim_ms) // 2]:.0f} ms, p95 {p95:.0f} ms, max {victim_ms[-1]:.0f} ms; "
          f"flood requests {len(flood_done)}, p50 {sorted(flood_done)[len(flood_done) // 2]:.2f} s")
    assert p95 < 1000, victim_ms
    assert "Traceback" not in log


# ---- 3. nothing is cut silently --------------------------------------------------------------------
def test_feedback_is_stored_whole_or_refused(tmp_path):
    from starlette.testclient import TestClient

    from ui.feedback import FeedbackStore

    client = TestClient(fake_app(tmp_path, rate_limit="off"))
    refused = [
        ({"rating": "down", "question": "孵" * 20_000}, "bad_input"),                       # reported: 201, kept 4,000
        ({"rating": "down", "turns": ["孵化器最多补多少", "孵" * 10_000]}, "bad_input"),       # reported: cut to 4,000
        ({"rating": "down", "question": "孵化器", "comment": "很" * 3_203}, "too_long"),       # reported from the chat
        ({"rating": "down", "turns": ["孵化器"] * 21}, "too_many_turns"),
    ]
    for body, code in refused:
        response = client.post("/api/feedback", json=body)
        assert response.status_code == 400 and response.json()["error"]["code"] == code, response.text[:300]
        assert any(ch in response.json()["error"]["message"] for ch in "长多"), response.text
    whole = {"rating": "down", "question": "孵" * 2000, "turns": ["第十六条", "孵" * 2000], "comment": "很" * 2000}
    created = client.post("/api/feedback", json=whole)
    assert created.status_code == 201, created.text
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    try:
        assert store.count() == 1
        record = store.get(created.json()["id"])
        assert record is not None and record.question == whole["question"] and list(record.turns) == whole["turns"]
        assert record.comment == whole["comment"]
    finally:
        store.close()


def test_chat_comment_over_the_limit_is_refused_with_a_message_not_cut(tmp_path):
    import warnings

    from ui.app import build_blocks
    from ui.config import ServeConfig
    from ui.feedback import MAX_COMMENT, FeedbackStore
    from ui.holder import AssistantHolder

    holder = AssistantHolder(opener=Fake)
    holder.load()
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    blocks = build_blocks(holder, ServeConfig(home=tmp_path, port=0), feedback=store)
    on_comment = next(f.fn for f in blocks.fns.values() if getattr(f.fn, "__name__", "") == "on_comment")
    record = store.add("down", "孵化器最多补多少")
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        box, target = on_comment(record, "很" * 3203)
    assert target == record and box.get("visible") is not False        # the box stays open with the text
    assert any("意见过长" in str(w.message) and "3203" in str(w.message) for w in shown), [str(w.message) for w in shown]
    assert store.get(record).comment == ""                               # nothing stored, nothing cut
    box, target = on_comment(record, "很" * MAX_COMMENT)
    assert target is None and store.get(record).comment == "很" * MAX_COMMENT
    store.close()


JUNK = ["\x00\x00\x00", "\u202e\u202d\u200f\u2066", "\u200b\u200c\u200d\ufeff", "😀🎉👍🏻🇨🇳", "\x00\u202e😀\u200b ？！"]


@pytest.mark.parametrize("junk", JUNK, ids=["nul", "bidi", "zero-width", "emoji", "mixed"])
def test_feedback_refuses_exactly_the_questions_ask_refuses(tmp_path, junk):
    from starlette.testclient import TestClient

    client = TestClient(fake_app(tmp_path, rate_limit="off"))
    asked = client.post("/api/ask", json={"question": junk})
    assert asked.status_code == 400 and asked.json()["error"]["code"] == "bad_input"
    for body in ({"rating": "up", "question": junk}, {"rating": "up", "turns": ["孵化器", junk]}):
        response = client.post("/api/feedback", json=body)
        assert response.status_code == 400 and response.json()["error"]["code"] == "bad_input", response.text
    assert client.post("/api/feedback", json={"rating": "up", "question": "\u200b孵化器\u202e"}).status_code == 201


@pytest.mark.slow
def test_feedback_and_ask_agree_on_junk_on_the_real_server(locked_server):
    for junk in JUNK:
        asked = httpx.post(locked_server.api("api/ask"), json={"question": junk}, timeout=30)
        rated = httpx.post(locked_server.api("api/feedback"), json={"rating": "up", "question": junk}, timeout=30)
        assert (asked.status_code, rated.status_code) == (400, 400), (junk, asked.text, rated.text)


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded", "multipart/form-data"])
def test_json_routes_refuse_other_content_types(tmp_path, content_type):
    from starlette.testclient import TestClient

    client = TestClient(fake_app(tmp_path, rate_limit="off"))
    headers = {"content-type": content_type} if content_type else {}
    for path, body in (("/api/ask", {"question": "孵化器"}), ("/api/search", {"query": "孵化器"}),
                       ("/api/feedback", {"rating": "up", "question": "孵化器"}),
                       ("/gradio_api/run/lookup", {"data": ["孵化器"]})):
        response = client.post(path, content=json.dumps(body).encode(), headers=headers)
        assert response.status_code == 415 and response.json()["error"]["code"] == "unsupported_media_type", (
            path, content_type, response.text[:200])
    ok = client.post("/api/ask", content=json.dumps({"question": "孵化器"}).encode(),
                     headers={"content-type": "application/json; charset=utf-8"})
    assert ok.status_code == 200


# ---- 4. X-Forwarded-For only from a configured proxy ------------------------------------------------
def test_forwarded_for_is_ignored_unless_the_proxy_is_configured(tmp_path, monkeypatch):
    from starlette.testclient import TestClient

    monkeypatch.delenv("POLICY_ASSISTANT_FORWARDED_ALLOW_IPS", raising=False)
    plain = TestClient(fake_app(tmp_path, rate_limit="2/minute"), client=("127.0.0.1", 5000))
    codes = [plain.post("/api/search", json={"query": "孵化器"}, headers={"X-Forwarded-For": f"10.1.0.{i}"}).status_code
             for i in range(6)]
    assert codes == [200, 200, 429, 429, 429, 429]                     # a forged address is still 127.0.0.1
    app = fake_app(tmp_path, rate_limit="2/minute", forwarded_allow_ips="127.0.0.1")
    proxy = TestClient(app, client=("127.0.0.1", 5000))
    assert {proxy.post("/api/search", json={"query": "孵化器"}, headers={"X-Forwarded-For": f"10.1.0.{i}"}).status_code
            for i in range(6)} == {200}                                   # behind the configured proxy: 6 clients
    stranger = TestClient(app, client=("10.9.9.9", 5000))              # not the proxy: its header is not believed
    assert [stranger.post("/api/search", json={"query": "孵化器"}, headers={"X-Forwarded-For": f"10.2.0.{i}"}).status_code
            for i in range(3)] == [200, 200, 429]


def test_forwarded_allow_ips_setting(monkeypatch):
    from ui.config import ServeConfig

    monkeypatch.delenv("POLICY_ASSISTANT_FORWARDED_ALLOW_IPS", raising=False)
    assert ServeConfig().trusted_proxies == []                         # off by default
    assert ServeConfig(forwarded_allow_ips=" 10.0.0.1, 10.1.2.3/16 ").trusted_proxies == ["10.0.0.1", "10.1.0.0/16"]
    assert ServeConfig(forwarded_allow_ips="*").trusted_proxies == ["*"]
    with pytest.raises(ValueError, match="10.0.0.0/8"):
        ServeConfig(forwarded_allow_ips="localhost")
    monkeypatch.setenv("POLICY_ASSISTANT_FORWARDED_ALLOW_IPS", "127.0.0.1")
    assert ServeConfig().trusted_proxies == ["127.0.0.1"]


def test_serve_switches_off_uvicorns_own_forwarded_header_trust(monkeypatch):
    import argparse

    import uvicorn

    from ui import command

    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    monkeypatch.setattr("ui.server.create_app", lambda config: object())
    monkeypatch.delenv("POLICY_ASSISTANT_FORWARDED_ALLOW_IPS", raising=False)
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    from ui_fixtures import free_port

    assert command.run(parser.parse_args(["--no-browser", "--no-build", "--port", str(free_port())])) == 0
    assert seen["proxy_headers"] is False and seen["forwarded_allow_ips"] == ""


@pytest.mark.slow
def test_forged_forwarded_for_does_not_refill_an_empty_bucket(limited_server):
    import time

    search = limited_server.api("api/search")
    started = time.monotonic()
    for _ in range(RATE + 2):
        httpx.post(search, json={"query": "孵化器"}, timeout=30)
    forged = [httpx.post(search, json={"query": "孵化器"}, headers={"X-Forwarded-For": f"10.3.0.{i}"}, timeout=30).status_code
              for i in range(10)]
    earned = int((time.monotonic() - started) * RATE / 60) + 1    # continuous refill on a slow machine, see below
    assert forged.count(429) >= 10 - earned, forged


# ---- 5. the same limit on every door, and on token guesses -------------------------------------------
def test_web_events_that_do_work_take_from_the_clients_bucket(tmp_path):
    from starlette.testclient import TestClient

    app = fake_app(tmp_path, rate_limit="3/minute")
    with TestClient(app, client=("10.0.0.7", 5000)) as client:
        page = client.get("/")
        assert page.status_code == 200
        lookup, chip = fn_id(client, "lookup"), fn_id(client, "on_chip")
        codes = [client.post("/gradio_api/run/lookup", json={"data": ["孵化器"]}).status_code for _ in range(4)]
        assert 429 not in codes[:3] and codes[3] == 429, codes
        limited = client.post("/gradio_api/run/lookup", json={"data": ["孵化器"]})
        assert limited.json()["error"]["code"] == "rate_limited" and "Retry-After" in limited.headers
        for route, body in (("/gradio_api/call/lookup", {"data": ["孵化器"]}),
                            ("/gradio_api/queue/join", {"data": ["孵化器"], "fn_index": lookup, "session_hash": "s"}),
                            ("/gradio_api/run/on_chip", {"data": [None], "fn_index": lookup}),   # a light name, a work index
                            ("/gradio_api/queue/join", {"data": ["孵化器"], "fn_index": "3", "session_hash": "s"}),
                            ("/api/ask", {"question": "孵化器"})):                         # one bucket for every door
            assert client.post(route, json=body).status_code == 429, route
        light = client.post("/gradio_api/queue/join", json={"data": [None], "fn_index": chip, "session_hash": "s",
                                                             "event_data": {"section": "十六"}})
        assert light.status_code == 200, light.text                    # a clause chip is not work
    other = TestClient(app, client=("10.0.0.8", 5000))
    assert other.post("/gradio_api/run/lookup", json={"data": ["孵化器"]}).status_code != 429


@pytest.mark.slow
def test_web_page_routes_are_rate_limited_on_the_real_server(limited_server):
    import time

    started = time.monotonic()
    searches = [httpx.post(limited_server.api("api/search"), json={"query": "孵化器"}, timeout=30).status_code
                for _ in range(RATE + 2)]
    codes = [httpx.post(limited_server.api("gradio_api/run/lookup"), json={"data": ["孵化器"]}, timeout=30).status_code
             for _ in range(20)]
    # The bucket refills continuously (one token every 60/RATE s): a slow, busy machine earns a few tokens back
    # while it sends these, on top of the fraction of a token the earlier tests left (up to one whole token more);
    # more than that means the page's route does not take from the /api bucket.
    earned = int((time.monotonic() - started) * RATE / 60) + 1
    assert set(searches + codes) <= {200, 429}, (searches, codes)
    assert (searches + codes).count(200) <= RATE + earned, (searches, codes)   # reported: 70 × 200 with /api empty
    assert codes.count(429) >= 20 - earned, codes


def test_admin_token_guesses_are_locked_out(tmp_path):
    from starlette.testclient import TestClient

    from ui.sessions import FREE_ATTEMPTS

    app = fake_app(tmp_path, admin_token=TOKEN, rate_limit="off")
    gate = app.state.config.admin_gate
    with TestClient(app) as client:
        client.get("/")
        session = client.cookies["pa_session"]
        for _ in range(FREE_ATTEMPTS):
            client.post("/gradio_api/run/unlock", json={"data": ["guess"]})
        assert gate.wait("testclient") == 0                            # the free attempts
        client.post("/gradio_api/run/unlock", json={"data": ["guess"]})
        assert gate.wait("testclient") > 0                             # locked out now …
        client.post("/gradio_api/run/unlock", json={"data": [TOKEN]})
        assert not gate.allows(session)                                # … even the right token is not compared
    assert TOKEN not in json.dumps(client.cookies.get("pa_session"))


def test_admin_gate_backoff_doubles_is_capped_and_resets():
    from ui.sessions import AdminGate, wait_message

    now = [0.0]
    gate = AdminGate(clock=lambda: now[0], free_attempts=2, max_lockout_s=8, max_entries=3)
    assert [gate.failed("a") for _ in range(7)] == [0, 0, 1, 2, 4, 8, 8]
    assert gate.wait("a") == 8 and gate.wait("b") == 0 and "8 秒" in wait_message(gate.wait("a"))
    now[0] += 8
    assert gate.wait("a") == 0
    gate.succeeded("a")
    assert gate.failed("a") == 0
    session = gate.new_session()
    assert gate.valid_session(session) and not gate.valid_session(session + "x") and not gate.valid_session("a.b")
    assert gate.unlock(session) and gate.allows(session)
    now[0] += gate.ttl_s + 1
    assert not gate.allows(session)                                    # an unlock expires
    assert gate.session_from_cookie(f"other=1; pa_session={session}") == session
    assert gate.session_from_cookie("pa_session=forged.value") is None


# ---- 6. an aborted request is one log line ----------------------------------------------------------
@pytest.mark.slow
def test_aborted_requests_log_one_line_not_tracebacks(locked_server):
    url = urlparse(locked_server.url)
    before = len(locked_server.log_tail(10_000_000))
    for path in ("/api/ask", "/gradio_api/queue/join", "/api/feedback"):
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {url.hostname}\r\nContent-Type: application/json\r\n"
                          "Content-Length: 100\r\n\r\n").encode() + b'{"question":')
        time.sleep(0.3)
    time.sleep(1.0)
    added = locked_server.log_tail(10_000_000)[before:]
    assert "Traceback" not in added and "ERROR" not in added, added[:2000]
    assert added.count("断开") == 3 and len(added) < 1200, added
    assert httpx.get(locked_server.api("api/health"), timeout=30).status_code == 200
