"""One ASGI app for ``serve``: the JSON API under /api and the Gradio Blocks at /, on one port.

The assistant (corpus, cap table, index, embedding model) loads in a background thread when the server
starts, so the port answers at once: ``/api/health`` says 503 "索引正在加载" until the assistant is ready,
and 503 with the index problem (not built, corrupt, model mismatch) if loading failed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from indexing.config import ENV_PREFIX, env, home_dir

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

    from assistant.knowledge import KnowledgeBase
    from ui.feedback import FeedbackStore

log = logging.getLogger("policy_assistant.serve")

LoadState = Literal["loading", "ready", "failed"]
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


def _int_setting(name: str, default: int) -> int:
    raw = env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{ENV_PREFIX}{name} 必须是整数，收到 {raw!r}") from None


@dataclass
class ServeConfig:
    """How ``serve`` runs: address, admin access and request limits (argument > env var > default).

    ``max_body_bytes``: largest accepted /api request body (413 above it). ``max_upload_bytes``: largest
    document the admin tab accepts. ``stream_step``: seconds between streamed chunks of an answer.
    """

    host: str = field(default_factory=lambda: env("HOST", DEFAULT_HOST) or DEFAULT_HOST)
    port: int = field(default_factory=lambda: _int_setting("PORT", DEFAULT_PORT))
    admin: bool = False
    admin_token: str | None = field(default_factory=lambda: env("ADMIN_TOKEN"))
    max_body_bytes: int = field(default_factory=lambda: _int_setting("MAX_BODY_BYTES", 64 * 1024))
    max_upload_bytes: int = field(default_factory=lambda: _int_setting("MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
    max_turns: int = 20
    stream_step: float = 0.012
    home: Path = field(default_factory=home_dir)

    def __post_init__(self) -> None:
        self.home = Path(self.home).expanduser()
        if not 0 <= self.port <= 65535:
            raise ValueError(f"端口必须在 0–65535 之间，收到 {self.port}")
        if self.max_body_bytes < 1024:
            raise ValueError(f"max_body_bytes 至少为 1024，收到 {self.max_body_bytes}")
        if self.max_upload_bytes < 1024:
            raise ValueError(f"max_upload_bytes 至少为 1024，收到 {self.max_upload_bytes}")
        if self.admin_token is not None and not self.admin_token.strip():
            self.admin_token = None

    @property
    def admin_enabled(self) -> bool:
        """The 管理 tab exists with ``--admin`` or when a token is set (then the token is required)."""
        return self.admin or bool(self.admin_token)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"http://{host}:{self.port}/"


class NotReady(Exception):
    """The assistant is still loading, or could not be loaded; ``code`` is ``index_not_ready``/``index_problem``."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class AssistantHolder:
    """The PolicyAssistant behind the UI and the API, loaded in the background and swappable after a rebuild.

    Calls into the assistant go through :meth:`use`, which holds a lock: the facade and its stores are not
    promised to be thread-safe, and one answer takes well under a second.
    """

    def __init__(self, opener: Callable[[], Any] | None = None, corpus_dir: Path | None = None) -> None:
        self._opener = opener
        self._corpus_dir = corpus_dir
        self._pa: Any = None
        self.state: LoadState = "loading"
        self.problem: str | None = None
        self.problem_kind: str | None = None
        self.loaded_at: float | None = None
        self._lock = threading.RLock()
        self._loaded = threading.Event()

    # ---- loading --------------------------------------------------------------------------------
    def _open(self) -> Any:
        if self._opener is not None:
            return self._opener()
        from assistant.service import PolicyAssistant

        return PolicyAssistant.open()

    def load(self) -> None:
        """Open the assistant now (in the calling thread); records the problem instead of raising."""
        started = time.monotonic()
        with self._lock:
            # A reload (after a rebuild) keeps serving the previous assistant until the new one is ready.
            if not self.ready:
                self.state = "loading"
                self._loaded.clear()
        try:
            pa = self._open()
            _warm_up(pa)
        except Exception as exc:  # noqa: BLE001 - any failure is reported by /api/health, not a crash
            with self._lock:
                self._pa = None
                self.state = "failed"
                self.problem = str(exc) or type(exc).__name__
                self.problem_kind = type(exc).__name__
            if _is_index_problem(exc):
                log.warning("索引不可用：%s", exc)
            else:
                log.exception("加载政策助手失败")
        else:
            with self._lock:
                self._pa = pa
                self.state = "ready"
                self.problem = None
                self.problem_kind = None
                self.loaded_at = time.time()
            log.info("政策助手已就绪（%.1f 秒）", time.monotonic() - started)
        finally:
            self._loaded.set()

    def load_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.load, name="policy-assistant-load", daemon=True)
        thread.start()
        return thread

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until a load attempt has finished; True when it did within ``timeout``."""
        return self._loaded.wait(timeout)

    # ---- access ---------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.state == "ready" and self._pa is not None

    def get(self) -> Any:
        """The loaded assistant; raises :class:`NotReady` while loading or after a failed load."""
        with self._lock:
            if self.ready:
                return self._pa
            if self.state == "failed":
                raise NotReady(self.problem or "索引不可用", "index_problem")
            raise NotReady("索引正在加载，请稍候再试。", "index_not_ready")

    @contextmanager
    def use(self) -> Iterator[Any]:
        """``with holder.use() as pa:`` — the assistant, under the holder's lock."""
        pa = self.get()
        with self._lock:
            yield pa

    @property
    def knowledge(self) -> KnowledgeBase:
        """The corpus (clauses, caps); available while the index is still loading or broken."""
        if self.ready:
            return self._pa.knowledge
        from assistant.knowledge import load_knowledge
        from indexing.config import IndexConfig

        return load_knowledge(self._corpus_dir or IndexConfig().corpus_dir)

    def health(self) -> tuple[bool, dict[str, Any]]:
        """``(ok, body)`` for /api/health: ok only when loaded and the index reports no problems."""
        if not self.ready:
            if self.state == "failed":
                return False, {
                    "ready": False,
                    "state": "failed",
                    "problems": [self.problem or ""],
                    "error": {"code": "index_problem", "message": self.problem or "索引不可用"},
                }
            return False, {
                "ready": False,
                "state": "loading",
                "problems": [],
                "error": {"code": "index_not_ready", "message": "索引正在加载，请稍候再试。（index not ready）"},
            }
        with self.use() as pa:
            body = _jsonable(dict(pa.health()))
        body["state"] = "ready"
        problems = list(body.get("problems") or [])
        if self._opener is None:
            problems += [p for p in _index_problems() if p not in problems]
        body["problems"] = problems
        ok = bool(body.get("ready")) and not problems
        if not ok:
            body["error"] = {"code": "index_problem", "message": "；".join(map(str, body.get("problems") or [])) or "索引不可用"}
        return ok, body


def _index_problems() -> list[str]:
    """Problems of the index on disk (cheap: manifest and file presence), e.g. deleted after loading."""
    try:
        from indexing.index_files import check_index

        return check_index()
    except Exception as exc:  # noqa: BLE001 - a broken check is itself a problem to report
        return [f"无法检查索引：{exc}"]


def _jsonable(value: Any) -> Any:
    """Dataclasses (IndexCounts) and other objects in health data as plain JSON values."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _warm_up(pa: Any) -> None:
    """Run one search so the first user does not pay for lazy model and store loading."""
    try:
        pa.search("孵化器", k=1)
    except Exception:  # noqa: BLE001 - warm-up is best effort; real errors show on real requests
        log.warning("预热检索失败", exc_info=True)


def _is_index_problem(exc: BaseException) -> bool:
    return any(cls.__name__ == "IndexProblem" for cls in type(exc).__mro__)


# ---- the app --------------------------------------------------------------------------------------
def create_app(config: ServeConfig | None = None, holder: AssistantHolder | None = None,
               feedback: FeedbackStore | None = None, load: bool = True) -> FastAPI:
    """The FastAPI app with the API routes and the Gradio Blocks mounted at ``/``.

    Args:
        config: address, admin access and limits (defaults from the environment).
        holder: the assistant holder (a new one that opens ``PolicyAssistant`` by default).
        feedback: the feedback store (``feedback.sqlite3`` under the home directory by default).
        load: start loading the assistant in the background when the server starts.

    Returns:
        The ASGI app, ready for ``uvicorn.run``.
    """
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from contextlib import asynccontextmanager

    import gradio as gr
    from fastapi import FastAPI

    from ui.api import install_api
    from ui.app import APP_CSS, build_blocks, build_theme
    from ui.feedback import FeedbackStore

    config = config or ServeConfig()
    holder = holder or AssistantHolder()
    store = feedback or FeedbackStore(config.home / "feedback.sqlite3")

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        if load and holder.state == "loading" and not holder.wait(0):
            holder.load_in_background()
        yield
        store.close()

    app = FastAPI(
        title="深圳数字创意产业政策助手 API",
        description="问答、条款检索、条款原文、资助上限、反馈。错误统一为 {\"error\": {\"code\", \"message\"}}。",
        version=_version(),
        lifespan=lifespan,
        docs_url=None,   # Swagger UI loads its scripts from a CDN; the page must work offline
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.holder = holder
    app.state.feedback = store
    app.state.config = config
    install_api(app, holder, store, config)

    blocks = build_blocks(holder, config, feedback=store)
    app = gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        server_name=config.host,
        server_port=config.port,
        footer_links=[],
        run_history=False,
        allowed_paths=[],
        blocked_paths=[str(config.home)],
        max_file_size=config.max_upload_bytes,
        show_error=True,
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        theme=build_theme(),
        css=APP_CSS,
        enable_monitoring=False,
    )
    return app


def _version() -> str:
    from assistant import __version__

    return __version__
