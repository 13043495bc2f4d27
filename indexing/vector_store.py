"""Chunk vectors in Chroma: an embedded ``PersistentClient`` folder, or a Chroma server over HTTP.

Chroma never embeds anything here: collections are created with ``embedding_function=None`` and every add and
query passes vectors explicitly (Chroma's default embedding function would download a model). Telemetry is
off. Each build writes a new collection named after its build id, so a build never overwrites the collection
a running server is answering from. Reads and (idempotent) upserts against a server are retried with
exponential backoff; when the server stays down, ``StoreUnavailable`` names the URL.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlparse

import numpy as np

from indexing.embedding import Embedder
from indexing.manifest import IndexCorrupt, IndexProblem, StoreUnavailable
from indexing.retrieval.hits import ChunkFilter, ChunkHit

COLLECTION_PREFIX = "policy-chunks-"
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_SECONDS = 0.2
HTTP_TIMEOUT_SECONDS = 30.0
ADD_BATCH = 256

log = logging.getLogger(__name__)
T = TypeVar("T")

MetadataValue = str | int | float | bool


def collection_name(build_id: str) -> str:
    """Collection of one build: ``policy-chunks-<build id>`` (Chroma allows [a-zA-Z0-9._-], 3–512 chars)."""
    return f"{COLLECTION_PREFIX}{build_id}"


def _connection_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    try:
        import httpx

        errors.append(httpx.TransportError)
    except ImportError:  # pragma: no cover - chromadb depends on httpx
        pass
    return tuple(errors)


def _is_unreachable(exc: BaseException) -> bool:
    # HttpClient's constructor reports a refused connection as a ValueError with this text.
    return isinstance(exc, _connection_errors()) or (
        isinstance(exc, ValueError) and "could not connect" in str(exc).lower()
    )


def _is_missing_collection(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, _missing_collection_errors()) or "does not exist" in text or "not found" in text


def _missing_collection_errors() -> tuple[type[BaseException], ...]:
    """chromadb's "no such collection" errors (``InvalidCollectionException`` only in older chromadb)."""
    from chromadb import errors

    return tuple(cls for cls in (getattr(errors, name, None) for name in ("NotFoundError", "InvalidCollectionException"))
                 if isinstance(cls, type) and issubclass(cls, BaseException))


def is_chroma_error(exc: BaseException) -> bool:
    """Whether ``exc`` is one of chromadb's own errors, i.e. the vector store failed, not the request.

    Decided by the module that defines the class: chromadb's errors have no single base class (its migration,
    configuration and auth errors derive from ``Exception`` directly, beside ``chromadb.errors.ChromaError``).
    """
    return type(exc).__module__.partition(".")[0] == "chromadb"


def flat_metadata(values: Mapping[str, Any]) -> dict[str, MetadataValue]:
    """Chroma metadata must be flat scalars: ``None`` dropped, tuples/lists joined with ``|``."""
    flat: dict[str, MetadataValue] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            flat[key] = "|".join(str(v) for v in value)
        elif isinstance(value, (str, int, float, bool)):
            flat[key] = value
        else:
            flat[key] = str(value)
    return flat


class ChromaVectorStore:
    """One collection of chunk vectors (cosine space); the client is opened on first use.

    Args:
        collection: collection name (see ``collection_name``).
        path: folder of the embedded store (``PersistentClient``); ignored when ``url`` is given.
        url: ``http(s)://host:port`` of a Chroma server (``HttpClient``).
        expected_count: when set, the first use checks the collection holds exactly this many vectors.
        retries: attempts for a server call before ``StoreUnavailable``.
        backoff: first retry delay in seconds, doubled each time.
    """

    def __init__(
        self,
        collection: str,
        path: Path | None = None,
        url: str | None = None,
        expected_count: int | None = None,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF_SECONDS,
    ) -> None:
        if not path and not url:
            raise ValueError("ChromaVectorStore needs a path or a url")
        self.collection_name = collection
        self.path = Path(path) if path and not url else None
        self.url = url
        self.expected_count = expected_count
        self.retries = max(1, retries)
        self.backoff = backoff
        self._client: Any = None
        self._collection: Any = None
        self._lock = threading.RLock()   # concurrent first searches open one client, not several

    # ---- connection ---------------------------------------------------------------------------------
    @property
    def location(self) -> str:
        return self.url or str(self.path)

    def _retry(self, what: str, call: Callable[[], T]) -> T:
        """Run ``call``; against a server, retry connection failures with exponential backoff."""
        attempts = self.retries if self.url else 1
        delay = self.backoff
        for attempt in range(1, attempts + 1):
            try:
                return call()
            except Exception as exc:
                if not self.url or not _is_unreachable(exc):
                    raise
                if attempt == attempts:
                    self._client = self._collection = None
                    raise StoreUnavailable(self.url, attempts, f"{what}: {type(exc).__name__}") from None
                log.info("Chroma %s: %s failed (%s), retry in %.1fs", self.url, what, exc, delay)
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def client(self) -> Any:
        """The Chroma client (created once).

        Raises:
            StoreUnavailable: the server does not answer. IndexCorrupt: the embedded store cannot be opened
                (its SQLite file is damaged, for instance).
        """
        with self._lock:
            if self._client is None:
                try:
                    self._client = self._retry("connect", self._make_client)
                except IndexProblem:
                    raise
                except Exception as exc:
                    raise self._unreadable("打开", exc) from None
            return self._client

    def _unreadable(self, action: str, exc: Exception) -> Exception:
        """An embedded store's chromadb error as ``IndexCorrupt`` (with the rebuild hint); others unchanged."""
        if self.url or isinstance(exc, IndexProblem):
            return exc
        detail = (str(exc).splitlines() or [""])[0][:160]
        return IndexCorrupt(
            f"Chroma 数据无法{action}（{type(exc).__name__}{'：' + detail if detail else ''}）",
            self.path.parent if self.path is not None else None,
        )

    def _make_client(self) -> Any:
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        if self.url:
            parsed = urlparse(self.url)
            ssl = parsed.scheme == "https"
            client = chromadb.HttpClient(
                host=parsed.hostname or "localhost", port=parsed.port or (443 if ssl else 8000), ssl=ssl,
                settings=settings,
            )
            # chromadb's HTTP session has no timeout at all; a hung server must not hang a question forever.
            session = getattr(getattr(client, "_server", None), "_session", None)
            if session is not None and hasattr(session, "timeout"):
                import httpx

                session.timeout = httpx.Timeout(HTTP_TIMEOUT_SECONDS, connect=3.0)
            return client
        assert self.path is not None
        return chromadb.PersistentClient(path=str(self.path), settings=settings)

    def create(self, metadata: Mapping[str, Any] | None = None) -> None:
        """Create this store's collection (cosine HNSW, no embedding function); an existing one is replaced."""
        client = self.client()

        def make() -> Any:
            try:
                client.delete_collection(self.collection_name)
            except Exception as exc:  # noqa: BLE001 - absent is the normal case
                if _is_unreachable(exc):
                    raise
            return client.create_collection(
                self.collection_name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata=flat_metadata(metadata or {}) or None,
            )

        self._collection = self._retry("create collection", make)

    def collection(self) -> Any:
        """The collection; raises ``IndexCorrupt`` when it is missing or holds the wrong number of vectors."""
        if self._collection is not None:
            return self._collection
        with self._lock:
            return self._open_collection()

    def _open_collection(self) -> Any:
        if self._collection is not None:
            return self._collection
        if self.path is not None and not self.path.is_dir():
            raise IndexCorrupt(f"缺少 Chroma 数据目录 {self.path}")
        client = self.client()
        try:
            collection = self._retry(
                "get collection", lambda: client.get_collection(self.collection_name, embedding_function=None)
            )
        except StoreUnavailable:
            raise
        except Exception as exc:
            if _is_missing_collection(exc):
                raise IndexCorrupt(f"Chroma 中没有集合 {self.collection_name}（{self.location}）") from None
            raise self._unreadable("读取", exc) from None
        if self.expected_count is not None:
            try:
                count = self._retry("count", collection.count)
            except Exception as exc:
                raise self._unreadable("读取", exc) from None
            if count != self.expected_count:
                raise IndexCorrupt(
                    f"Chroma 集合 {self.collection_name} 有 {count} 个向量，索引应有 {self.expected_count} 个"
                )
        self._collection = collection
        return collection

    # ---- data ---------------------------------------------------------------------------------------
    def add(
        self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[Mapping[str, Any]], batch_size: int = ADD_BATCH
    ) -> None:
        """Store vectors with their metadata (``upsert``, so a retried batch is harmless).

        Each metadata should carry ``chunk_index`` (the chunk's position in the index), which ``search`` returns.
        """
        if len(ids) != len(vectors) or len(ids) != len(metadatas):
            raise ValueError(f"ids ({len(ids)}), vectors ({len(vectors)}) and metadatas ({len(metadatas)}) differ")
        collection = self._collection if self._collection is not None else self.collection()
        for start in range(0, len(ids), batch_size):
            stop = start + batch_size
            batch_ids = list(ids[start:stop])
            batch_vectors = np.asarray(vectors[start:stop], dtype=np.float32).tolist()
            batch_meta = [flat_metadata(m) for m in metadatas[start:stop]]
            self._retry("upsert", partial(collection.upsert, ids=batch_ids, embeddings=batch_vectors, metadatas=batch_meta))

    def count(self) -> int:
        collection = self.collection()
        return int(self._retry("count", collection.count))

    def search(self, vector: np.ndarray, k: int, within: ChunkFilter | None = None) -> list[ChunkHit]:
        """The ``k`` nearest chunks by cosine similarity (``1 - distance``), best first (of ``within``'s document)."""
        if k <= 0:
            return []
        collection = self.collection()
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1).tolist()
        # Every chunk's metadata has its doc_id (build.chunk_metadata): Chroma filters before ranking.
        where = {"where": {"doc_id": within.doc_id}} if within is not None else {}
        try:
            result = self._retry(
                "query",
                lambda: collection.query(query_embeddings=query, n_results=k, include=["distances", "metadatas"],
                                         **where),
            )
        except Exception as exc:
            raise self._unreadable("读取", exc) from None
        distances = (result.get("distances") or [[]])[0]
        metadatas = (result.get("metadatas") or [[]])[0]
        hits = []
        for rank, (distance, metadata) in enumerate(zip(distances, metadatas, strict=True), start=1):
            if not metadata or "chunk_index" not in metadata:
                raise IndexCorrupt(f"Chroma 集合 {self.collection_name} 的向量缺少 chunk_index")
            hits.append(ChunkHit(chunk_index=int(metadata["chunk_index"]), score=1.0 - float(distance), rank=rank))
        return hits

    def delete_collections(self, names: Sequence[str]) -> None:
        """Drop collections (best effort: an absent one is fine)."""
        client = self.client()
        for name in names:
            try:
                self._retry("delete collection", partial(client.delete_collection, name))
            except StoreUnavailable:
                raise
            except Exception as exc:  # noqa: BLE001
                log.debug("delete collection %s: %s", name, exc)

    def list_collections(self) -> list[str]:
        client = self.client()
        collections = self._retry("list collections", client.list_collections)
        return [c if isinstance(c, str) else c.name for c in collections]

    def heartbeat(self) -> bool:
        """True when the store answers (one try, no backoff)."""
        try:
            client = self._make_client() if self._client is None else self._client
            client.heartbeat()
            self._client = client
            return True
        except Exception:  # noqa: BLE001
            return False

    def close(self) -> None:
        """Release the client (an embedded store's SQLite file is closed)."""
        client, self._client, self._collection = self._client, None, None
        close = getattr(client, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass


class VectorSearch(Protocol):
    """Nearest chunks to a query vector (``ChromaVectorStore`` or ``ArrayVectorStore``), optionally of one document."""

    def search(self, vector: np.ndarray, k: int, within: ChunkFilter | None = None) -> list[ChunkHit]: ...


class ArrayVectorStore:
    """Exact cosine search over the index's own ``vectors.npy`` (rows are unit length).

    Gives the same ranking as Chroma's HNSW on a corpus this size (exact rather than approximate), without
    importing chromadb: what ``open_index`` uses by default for an embedded store of up to 512 MiB of vectors
    (0.4 ms a search instead of 15–75 ms through Chroma, and a second less on a cold start).
    """

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.asarray(vectors, dtype=np.float32)

    def search(self, vector: np.ndarray, k: int, within: ChunkFilter | None = None) -> list[ChunkHit]:
        if k <= 0 or not len(self.vectors):
            return []
        if within is not None:
            # Score the document's rows only, then name them by their row in the whole index.
            rows = np.asarray(within.rows, dtype=np.int64)
            found = ArrayVectorStore(self.vectors[rows]).search(vector, k)
            return [ChunkHit(int(rows[h.chunk_index]), h.score, h.rank) for h in found]
        scores = self.vectors @ np.asarray(vector, dtype=np.float32).reshape(-1)
        if k < len(scores):
            # The k best in O(n), then only those sorted (a full sort of 20,000+ scores costs more than the product).
            # Ties keep index order, as the stable full sort did.
            candidates = np.argpartition(-scores, k - 1)[:k]
            top = candidates[np.lexsort((candidates, -scores[candidates]))]
        else:
            top = np.argsort(-scores, kind="stable")
        return [ChunkHit(chunk_index=int(i), score=float(scores[i]), rank=r) for r, i in enumerate(top, start=1)]

    def close(self) -> None:
        return None


class DenseSearcher:
    """``ChunkSearcher`` over vectors: embeds the question with the index's embedder and asks the store."""

    def __init__(self, embedder: Embedder, store: VectorSearch) -> None:
        self.embedder = embedder
        self.store = store

    def search(self, query: str, k: int) -> list[ChunkHit]:
        return self.search_many([query], k)[0]

    def _store_search(self, vector: np.ndarray, k: int, within: ChunkFilter | None) -> list[ChunkHit]:
        # Without a filter the store is called as before (stores written before filters take two arguments).
        return self.store.search(vector, k) if within is None else self.store.search(vector, k, within)

    def search_many(self, queries: Sequence[str], k: int, within: ChunkFilter | None = None) -> list[list[ChunkHit]]:
        """One hit list per query; the queries are embedded in one call (a question and its facets together
        cost less than one after another: the engine batches them across its threads)."""
        wanted = [q for q in dict.fromkeys(queries) if q.strip()] if k > 0 else []
        vectors = dict(zip(wanted, self.embedder.embed_queries(wanted), strict=True)) if wanted else {}
        return [self._store_search(vectors[q], k, within) if q in vectors else [] for q in queries]

    def search_vectors(
        self, vectors: Sequence[np.ndarray], k: int, within: ChunkFilter | None = None
    ) -> list[list[ChunkHit]]:
        """Hit lists for query vectors the caller embedded already (the assistant embeds a question once and uses
        the vector for its learned parts too)."""
        if k <= 0:
            return [[] for _ in vectors]
        return [self._store_search(np.asarray(v, dtype=np.float32), k, within) for v in vectors]

    def prefetch(self, queries: Sequence[str]) -> None:
        """Embed questions ahead of their searches (batch mode): their vectors wait in the embedder's cache."""
        wanted = [q for q in dict.fromkeys(queries) if q.strip()]
        if wanted:
            self.embedder.embed_queries(wanted)
