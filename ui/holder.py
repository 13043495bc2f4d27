"""The assistant behind the web page and the API: loaded in the background, watched, swapped after a rebuild.

The assistant (corpus, cap table, index, embedding model) loads in a background thread when the server
starts, so the port answers at once: ``/api/health`` says 503 "索引正在加载" until the assistant is ready,
and 503 with the index problem (not built, corrupt, model mismatch) if loading failed.

While it runs, the holder re-checks the index on disk at most once a second (manifest, file presence, the
size and time of the BM25/chunk/vector files it loaded, the Chroma server's heartbeat): when files were
deleted or overwritten, or an answer failed on the index, /api/health and /api/ask say 503 with the problem
instead of answering from a broken index. A new build (``policy-assistant index`` run beside the server) is
picked up by reloading in the background; the previous assistant serves until the new one is ready.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from indexing.manifest import REBUILD_HINT, IndexProblem, StoreUnavailable

if TYPE_CHECKING:  # pragma: no cover
    from assistant.knowledge import KnowledgeBase

log = logging.getLogger("policy_assistant.serve")

LoadState = Literal["loading", "ready", "failed"]
CHECK_INTERVAL_S = 1.0       # how often (at most) the index on disk is re-checked
RETRY_INTERVAL_S = 5.0       # how often (at most) a failed load is retried while the Chroma server is down


class NotReady(Exception):
    """The assistant is still loading, or could not be loaded; ``code`` is ``index_not_ready``/``index_problem``."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class AssistantHolder:
    """The PolicyAssistant behind the UI and the API, loaded in the background and swappable after a rebuild.

    Calls into the assistant go through :meth:`use`, which holds a lock: the facade and its stores are not
    promised to be thread-safe, and one answer takes well under a second. :meth:`check` (called by the API
    before answering and by /api/health) re-checks the index on disk at most every ``CHECK_INTERVAL_S``.

    Args:
        opener: opens the assistant (tests pass a fake); default ``PolicyAssistant.open`` with the limits below.
        corpus_dir: where clause texts come from while the index is loading or broken.
        max_question_chars: longest accepted question (default: ``AssistantConfig``'s, from the environment).
        max_turns: longest accepted conversation (same).
    """

    def __init__(self, opener: Callable[[], Any] | None = None, corpus_dir: Path | None = None,
                 max_question_chars: int | None = None, max_turns: int | None = None) -> None:
        self._opener = opener
        self._corpus_dir = corpus_dir
        self._limits: dict[str, Any] = {k: v for k, v in (("max_question_chars", max_question_chars), ("max_turns", max_turns)) if v}
        self._pa: Any = None
        self.state: LoadState = "loading"
        self.problem: str | None = None
        self._retry_failed_load = False       # the failed load may succeed later (the Chroma server was down)
        self.loaded_at: float | None = None
        self._lock = threading.RLock()
        self._in_use: dict[int, int] = {}     # id(assistant) → requests using it now
        self._retired: list[Any] = []         # replaced by a reload, still in use: closed when the last one ends
        self._loaded = threading.Event()
        # Watching the index on disk (see check()).
        self._check_lock = threading.Lock()
        self._checked_at = -1e9
        self._disk_problems: list[str] = []
        self._runtime_problem: str | None = None
        self._fingerprint: dict[str, tuple[int, int] | None] = {}
        self._loaded_build: str | None = None
        self._failed_build: str | None = None
        self._attempted_at = -1e9
        self._reloading = threading.Lock()
        self._load_lock = threading.Lock()
        self._documents: tuple[Any, list[dict[str, Any]]] | None = None   # (assistant, its corpus table)

    # ---- loading --------------------------------------------------------------------------------
    def _open(self) -> Any:
        if self._opener is not None:
            return self._opener()
        from assistant.service import AssistantConfig, PolicyAssistant

        return PolicyAssistant.open(config=AssistantConfig(**self._limits))

    def load(self) -> None:
        """Open the assistant now (in the calling thread); records the problem instead of raising.

        Loads run one at a time (a reload after a rebuild and the admin tab's own reload may coincide).
        """
        with self._load_lock:
            self._load()

    def _load(self) -> None:
        started = time.monotonic()
        self._attempted_at = started
        build = _live_build_id()
        # Taken before opening: a file deleted while the assistant loads is then caught by the next check.
        fingerprint = _fingerprint(_live_index_dir()) if self._opener is None else {}
        with self._lock:
            # A reload (after a rebuild) keeps serving the previous assistant until the new one is ready.
            if not self.ready:
                self.state = "loading"
                self._loaded.clear()
        try:
            pa = self._open()
            # The warm-up search opens the vector store: an index that cannot answer is a failed load.
            _warm_up(pa)
        except Exception as exc:  # noqa: BLE001 - any failure is reported by /api/health, not a crash
            with self._lock:
                self._pa = None
                self.state = "failed"
                self.problem = _problem_text(exc)
                self._retry_failed_load = isinstance(exc, StoreUnavailable)
                self._failed_build = build
                self._checked_at = -1e9
            if isinstance(exc, IndexProblem):
                log.warning("索引不可用：%s", self.problem)
            else:
                log.error("加载政策助手失败：%s", self.problem, exc_info=exc)
        else:
            with self._lock:
                previous, self._pa = self._pa, pa
                self.state = "ready"
                self.problem = None
                self._retry_failed_load = False
                self.loaded_at = time.time()
                self._loaded_build = _build_id_of(pa) or build
                self._failed_build = None
                self._fingerprint = fingerprint
                self._runtime_problem = None
                self._disk_problems = []
                self._checked_at = -1e9
                if previous is not None and previous is not pa:
                    if self._in_use.get(id(previous)):
                        self._retired.append(previous)   # closed by use() when its last request ends
                    else:
                        _close(previous)
            log.info("政策助手已就绪（%.1f 秒）", time.monotonic() - started)
        finally:
            self._loaded.set()

    def load_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.load, name="policy-assistant-load", daemon=True)
        thread.start()
        return thread

    def _reload_in_background(self) -> None:
        """One reload at a time; the current assistant (if any) serves until the new one is ready."""
        if not self._reloading.acquire(blocking=False):
            return

        def run() -> None:
            try:
                self.load()
            finally:
                self._reloading.release()

        threading.Thread(target=run, name="policy-assistant-reload", daemon=True).start()

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
        """``with holder.use() as pa:`` — the current assistant, for one request.

        Requests run concurrently (the assistant is read-only once loaded; its caches have their own locks), so
        two questions are embedded on two cores at once. A reload swaps in the new assistant at once and closes
        the previous one when its last request is done.
        """
        with self._lock:
            pa = self.get()
            self._in_use[id(pa)] = self._in_use.get(id(pa), 0) + 1
        try:
            yield pa
        finally:
            with self._lock:
                left = self._in_use[id(pa)] - 1
                if left:
                    self._in_use[id(pa)] = left
                else:
                    del self._in_use[id(pa)]
                    if any(old is pa for old in self._retired):
                        self._retired = [old for old in self._retired if old is not pa]
                        _close(pa)

    def answer(self, call: Callable[[Any], Any], client: str | None = None) -> Any:
        """``call(pa)`` for one request of ``client``, refusing (NotReady, 503) while the index on disk is broken.

        The question's embedding is done for ``client`` (``indexing.embedding.embedding_owner``): one client's
        questions never take every core. An index error raised while answering (a vector store that cannot be
        read, a Chroma server that went away) is recorded, so /api/health reports it too, and becomes NotReady;
        the next request tries again and a success clears it.
        """
        from indexing.embedding import embedding_owner

        problems = self.check()
        if self.ready and self._disk_problems:
            raise NotReady("；".join(problems), "index_problem")
        with self.use() as pa, embedding_owner(client):
            try:
                result = call(pa)
            except Exception as exc:
                if not _is_index_failure(exc):
                    raise
                message = _problem_text(exc)
                self._runtime_problem = message
                log.warning("回答时索引出错：%s", message)
                raise NotReady(message, "index_problem") from None
        if self._runtime_problem is not None:
            self._runtime_problem = None
            log.info("索引恢复正常")
        return result

    @property
    def knowledge(self) -> KnowledgeBase:
        """The corpus (clauses, caps); available while the index is still loading or broken."""
        if self.ready:
            return self._pa.knowledge
        from assistant.knowledge import load_knowledge
        from indexing.config import IndexConfig

        return load_knowledge(self._corpus_dir or IndexConfig().corpus_dir)

    # ---- watching the index ---------------------------------------------------------------------
    def check(self, force: bool = False) -> list[str]:
        """Problems of the loaded index now (empty when healthy); re-checks disk at most once a second.

        Also starts a background reload when a new build replaced the loaded one, or when a failed load may
        succeed now (a new build appeared; the Chroma server may be back).
        """
        now = time.monotonic()
        with self._check_lock:
            if force or now - self._checked_at >= CHECK_INTERVAL_S:
                self._checked_at = now
                self._recheck(now)
            problems = list(self._disk_problems)
        if self._runtime_problem and self._runtime_problem not in problems:
            problems.append(self._runtime_problem)
        return problems

    def _recheck(self, now: float) -> None:
        self._disk_problems = []
        if self._opener is not None:   # an injected assistant (tests): no index files to watch
            return
        live_build = _live_build_id()
        if not self.ready:
            if self.state == "failed" and (
                live_build != self._failed_build
                or (self._retry_failed_load and now - self._attempted_at >= RETRY_INTERVAL_S)
            ):
                self._reload_in_background()
            return
        if live_build is not None and self._loaded_build is not None and live_build != self._loaded_build:
            # A newer build is live: the files of the loaded one are gone on purpose. Serve until reloaded.
            self._disk_problems = []
            self._reload_in_background()
            return
        problems = _index_problems()
        problems += [p for p in _changed_files(self._fingerprint) if p not in problems]
        store_url = _store_url_of(self._pa)
        if store_url and not problems:
            down = _chroma_down(store_url)
            if down:
                problems.append(down)
        self._disk_problems = problems

    def health(self) -> tuple[bool, dict[str, Any]]:
        """``(ok, body)`` for /api/health: ok only when loaded and the index reports no problems."""
        problems_now = self.check()
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
            # The disk was just looked at by check() (at most once a second), the same look /api/ask refuses on:
            # health and answers agree, and a health probe costs no file reads of its own.
            body = _jsonable(dict(pa.health(check_disk=False)))
            body["documents"] = self._document_rows(pa)
        body["state"] = "ready"
        problems = list(body.get("problems") or [])
        problems += [p for p in problems_now if p not in problems]
        body["problems"] = problems
        ok = bool(body.get("ready")) and not problems
        if not ok:
            body["ready"] = False
            body["error"] = {"code": "index_problem", "message": "；".join(map(str, body.get("problems") or [])) or "索引不可用"}
        return ok, body


    def _document_rows(self, pa: Any) -> list[dict[str, Any]]:
        """The corpus table of the loaded assistant (``indexing.document_list``), worked out once per assistant: its
        corpus and index do not change while it serves (a rebuild brings a new assistant)."""
        cached = self._documents
        if cached is not None and cached[0] is pa:
            return cached[1]
        rows = _document_table(pa)
        self._documents = (pa, rows)
        return rows


def _document_table(pa: Any) -> list[dict[str, Any]]:
    """Each document the assistant serves, with its index state, from what it loaded (no file is read): its text's
    hash against the manifest's, and its chunks in the loaded index."""
    from collections import Counter

    from indexing.config import IndexConfig
    from indexing.document_list import document_entries, document_source
    from indexing.manifest import IndexManifest

    documents = getattr(getattr(pa, "knowledge", None), "documents", None)
    if not documents:
        return []
    index = _index_of(pa)
    manifest = getattr(index, "manifest", None)
    counts = Counter(chunk.doc_id for chunk in getattr(index, "chunks", None) or ())
    config = getattr(pa, "_index_config", None) or IndexConfig()
    entries = document_entries(documents, [document_source(d.path, config) for d in documents],
                               manifest if isinstance(manifest, IndexManifest) else None, counts)
    return [entry.to_json() for entry in entries]


def _problem_text(exc: BaseException) -> str:
    """A one-line Chinese description of why the index cannot answer, naming the repair command."""
    if isinstance(exc, IndexProblem):
        return str(exc)

    detail = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"检索索引无法读取（{type(exc).__name__}{'：' + detail if detail else ''}）。{REBUILD_HINT}"


def _is_index_failure(exc: BaseException) -> bool:
    """An error of the index or of the vector store (chromadb's own errors included), not of the request."""
    from indexing.vector_store import is_chroma_error

    return isinstance(exc, IndexProblem) or is_chroma_error(exc)


def _live_index_dir() -> Path | None:
    """The folder ``PolicyAssistant.open()`` reads (``<home>/index``, or the previous one after a crash)."""
    try:
        from indexing.config import IndexConfig
        from indexing.index_files import locate_index

        return locate_index(IndexConfig())
    except (OSError, ValueError):
        return None


def _live_build_id() -> str | None:
    """The build id in the live index's manifest.json (None when absent or unreadable)."""
    index_dir = _live_index_dir()
    try:
        data = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8")) if index_dir else None
        return str(data.get("build_id")) if isinstance(data, dict) and data.get("build_id") else None
    except (OSError, ValueError):
        return None


def _index_of(pa: Any) -> Any:
    return getattr(pa, "index", None)


def _build_id_of(pa: Any) -> str | None:
    manifest = getattr(_index_of(pa), "manifest", None)
    build = getattr(manifest, "build_id", None)
    return str(build) if build else None


def _store_url_of(pa: Any) -> str | None:
    store = getattr(_index_of(pa), "store", None)
    url = getattr(store, "url", None)
    return str(url) if url else None


def _close(pa: Any) -> None:
    try:
        close = getattr(_index_of(pa), "close", None)
        if close is not None:
            close()
    except Exception:  # noqa: BLE001 - the old assistant is being dropped anyway
        log.debug("关闭旧索引失败", exc_info=True)


def _fingerprint(index_dir: Path | None) -> dict[str, tuple[int, int] | None]:
    """Size and modification time of the files an assistant loaded; Chroma's own files by presence only.

    Chroma rewrites its files when it opens them, so their times say nothing; the loaded BM25 arrays,
    chunks and vectors never change in place (a build writes a new folder).
    """
    if index_dir is None or not index_dir.is_dir():
        return {}
    prints: dict[str, tuple[int, int] | None] = {}
    for path in sorted(index_dir.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(index_dir).as_posix()
        if relative.startswith("chroma-"):
            prints[str(path)] = None
        else:
            stat = path.stat()
            prints[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return prints


def _changed_files(prints: dict[str, tuple[int, int] | None]) -> list[str]:
    """Problems for files deleted or rewritten since the assistant loaded them."""
    missing: list[str] = []
    changed: list[str] = []
    for name, expected in prints.items():
        path = Path(name)
        try:
            stat = path.stat()
        except OSError:
            missing.append(path.name)
            continue
        if expected is not None and (stat.st_size, stat.st_mtime_ns) != expected:
            changed.append(path.name)
    problems = []
    if missing:
        problems.append(f"检索索引已损坏：服务启动后有文件被删除（{'、'.join(missing[:5])}）。{REBUILD_HINT}")
    if changed:
        problems.append(f"检索索引已损坏：服务启动后有文件被改写（{'、'.join(changed[:5])}）。{REBUILD_HINT}")
    return problems


def _chroma_down(url: str) -> str | None:
    """A problem line when the Chroma server does not answer its heartbeat within a second."""
    import httpx

    try:
        response = httpx.get(url.rstrip("/") + "/api/v2/heartbeat", timeout=1.0)
        if response.status_code < 500:
            return None
        cause = f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        cause = type(exc).__name__
    return (f"无法连接 Chroma 服务器 {url}（{cause}）。请确认服务器已启动且地址正确"
            "（--chroma-url / POLICY_ASSISTANT_CHROMA_URL）；恢复后服务会自动继续回答。")


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
    """Run one search so the first user does not pay for lazy model and store loading.

    Raises:
        the index's error when the index cannot answer (IndexProblem, a chromadb error): the load failed.
    """
    try:
        pa.search("孵化器", k=1)
    except Exception as exc:  # noqa: BLE001 - other errors show on real requests
        if _is_index_failure(exc):
            raise
        log.warning("预热检索失败：%s", type(exc).__name__)
