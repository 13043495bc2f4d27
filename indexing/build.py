"""Build the search index: corpus → chunks → BM25 → vectors → Chroma, atomically and incrementally.

``build_index`` runs the stages in order; each stage lives in its own module:

- ``corpus_folders``: which folders make the effective corpus, parsed (the bundled corpus plus ``<home>/corpus``);
- ``additions``: documents given to ``index --add``, validated before anything is written, installed last;
- ``removal``: documents given to ``index --remove``, checked first, their files deleted once the index without
  them is live;
- ``build_chunks``: documents → text and profile chunks → BM25 tokens (the CPU-bound part);
- ``build_workers``: the worker processes those stages are shared out to (``POLICY_ASSISTANT_BUILD_WORKERS``);
- ``build_cache``: chunks, tokens and vectors reused from the live index (incremental builds);
- ``seed_vectors``: precomputed vectors a corpus folder ships (a first build of the bundled corpus embeds nothing);
- ``staging``: the staging folder, the atomic swap, the build lock and recovery after a crash.

Embedding and writing the vector store happen here. The callers of ``build_index`` catch
``indexing.additions.DocumentRejected``, ``indexing.removal.RemovalRefused`` and ``indexing.staging.BuildInProgress``
(imported from there).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from indexing.additions import install_staged, merge_staged, validate_additions
from indexing.bm25_store import BM25Store
from indexing.build_cache import (
    CHUNK_CACHE_FILE,
    TOKENS_FILE,
    previous_chunk_cache,
    previous_rows,
    previous_tokens,
    previous_vectors,
    save_chunk_cache,
    save_tokens,
)
from indexing.build_chunks import chunk_tokens, embed_hash, make_chunks
from indexing.build_workers import build_workers, worker_pool
from indexing.chunking import Chunk, ChunkConfig
from indexing.config import IndexConfig
from indexing.corpus_folders import (
    corpus_dirs,
    folder_documents,
    load_corpus_folders,
    profiles_hash,
    writable_corpus_dir,
)
from indexing.embedding import Embedder, canonical_model_name, make_embedder
from indexing.index_files import BM25_DIR, CHUNKS_FILE, VECTORS_FILE, save_chunks
from indexing.manifest import ChromaLocation, IndexManifest, ManifestDocument, library_versions
from indexing.removal import complete_removals, drop_staged, finish_removals, record_removals, validate_removals
from indexing.seed_vectors import seed_vectors_for
from indexing.staging import (
    Staging,
    build_lock,
    previous_collection,
    prune_server_collections,
    recover,
)
from indexing.vector_store import ADD_BATCH, ChromaVectorStore

__all__ = ["BuildSummary", "ProgressFn", "build_index"]

ProgressFn = Callable[[str, int, int], None]

EMBED_BATCH = 32
# Vectors per Chroma upsert, capped by the client's get_max_batch_size() (5,461 for the embedded store):
# fewer, larger upserts (20,637 vectors in the embedded store: 9.1 s in batches of 256, 8.0 s of 5,461).
STORE_BATCH = 4096


@dataclass(frozen=True)
class BuildSummary:
    """What a build did."""

    build_id: str
    index_dir: str
    embed_model: str
    chroma: str
    documents: int
    sections: int
    clauses: int
    text_chunks: int
    profile_chunks: int
    embedded: int
    reused: int
    seconds: float
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()     # ids of the documents removed
    warnings: tuple[str, ...] = ()

    @property
    def chunks(self) -> int:
        return self.text_chunks + self.profile_chunks

    def to_json(self) -> dict[str, Any]:
        return {
            "build_id": self.build_id,
            "index_dir": self.index_dir,
            "embed_model": self.embed_model,
            "chroma": self.chroma,
            "documents": self.documents,
            "sections": self.sections,
            "clauses": self.clauses,
            "chunks": self.chunks,
            "text_chunks": self.text_chunks,
            "profile_chunks": self.profile_chunks,
            "embedded": self.embedded,
            "reused": self.reused,
            "seconds": round(self.seconds, 2),
            "added": list(self.added),
            "removed": list(self.removed),
            "warnings": list(self.warnings),
        }


class EmbeddedChunks(NamedTuple):
    """Every chunk's vector (row i = chunk i), and how many were embedded now and reused."""

    vectors: np.ndarray
    embedded: int
    reused: int


def embed_chunks(
    chunks: list[Chunk], hashes: list[str], embedder: Embedder, reuse: dict[str, np.ndarray], progress: ProgressFn
) -> EmbeddedChunks:
    """Vectors for all chunks, reusing ``reuse[hash]``, and how many were embedded and reused."""
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    todo: dict[str, list[int]] = {}
    reused = 0
    for row, key in enumerate(hashes):
        if key in reuse:
            vectors[row] = reuse[key]
            reused += 1
        else:
            todo.setdefault(key, []).append(row)
    keys = list(todo)
    progress("embed", 0, len(keys))
    for start in range(0, len(keys), EMBED_BATCH):
        batch = keys[start:start + EMBED_BATCH]
        fresh = np.zeros((len(batch), embedder.dim), dtype=np.float32)
        for as_query in (False, True):
            rows = [i for i, k in enumerate(batch) if chunks[todo[k][0]].embed_as_query == as_query]
            if not rows:
                continue
            texts = [chunks[todo[batch[i]][0]].embed_text for i in rows]
            part = embedder.embed_queries(texts) if as_query else embedder.embed_passages(texts)
            if part.shape != (len(rows), embedder.dim):
                raise ValueError(f"embedder returned shape {part.shape}, expected {(len(rows), embedder.dim)}")
            fresh[rows] = part
        for key, vector in zip(batch, fresh, strict=True):
            vectors[todo[key]] = vector
        progress("embed", min(start + EMBED_BATCH, len(keys)), len(keys))
    embedded = sum(len(rows) for rows in todo.values())
    return EmbeddedChunks(vectors, embedded, reused)


def chunk_metadata(index: int, chunk: Chunk, key: str) -> dict[str, Any]:
    """The flat metadata stored with a chunk's vector in Chroma."""
    return {
        "chunk_index": index,
        "chunk_id": chunk.chunk_id,
        "doc_id": chunk.doc_id,
        "section_key": chunk.section_key,
        "section_kind": chunk.section_kind,
        "source": chunk.source,
        "start": chunk.start,
        "end": chunk.end,
        "embed_hash": key,
    }


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def build_index(
    config: IndexConfig,
    add_files: Sequence[Path] = (),
    rebuild: bool = False,
    progress: ProgressFn | None = None,
    embedder: Embedder | None = None,
    remove_ids: Sequence[str] = (),
) -> BuildSummary:
    """Build (or update) the index of the effective corpus, optionally adding documents first.

    Args:
        config: corpus, home, model, chunk sizes, Chroma location.
        add_files: documents to validate and copy into the writable corpus folder (see ``indexing.additions``).
        rebuild: re-embed (and re-tokenise) every chunk instead of reusing the previous index's vectors and
            the corpus folders' seed vectors.
        progress: called as ``progress(stage, done, total)``; stages: corpus, chunks, bm25, embed, store, swap.
        embedder: an already-loaded embedder (tests pass a fake); else ``config.embed_model`` is loaded.
        remove_ids: ids of added documents to leave out; their files are deleted once this build is live
            (see ``indexing.removal``).

    Returns:
        Counts, vectors embedded vs reused, and the time taken.

    Raises:
        DocumentRejected: an added document is invalid; nothing was changed.
        RemovalRefused: a document to remove is unknown, or is the primary or a bundled one; nothing was changed.
        ParseError: a document already in the corpus cannot be parsed; nothing was changed.
        BuildInProgress: another build is running.
        EmbeddingModelUnavailable: the model is not on this machine.
        StoreUnavailable: the Chroma server does not answer.
    """
    started = time.monotonic()
    report = progress or _no_progress
    model = canonical_model_name(config.embed_model)
    if embedder is not None and embedder.model_id != model:
        raise ValueError(f"embedder {embedder.model_id!r} is not the configured model {model!r}")
    with build_lock(config.home):
        recover(config)
        finish_removals(config)
        documents = sum(len(folder_documents(path)) for path in corpus_dirs(config)) + len(add_files)
        with worker_pool(build_workers(documents)) as pool:
            old_rows = None if rebuild else previous_rows(config)
            chunk_cache = previous_chunk_cache(config, old_rows)
            # Parse in the workers only when every document will be chunked too (a first build, a rebuild): an
            # incremental build reuses most chunks and tokens, and parsing (~1 ms a document) does not repay
            # starting the workers.
            folders = load_corpus_folders(config, pool if not chunk_cache.previous else None)
            staged = validate_additions(add_files, folders, writable_corpus_dir(config))
            merge_staged(folders, staged, config)
            removals = validate_removals(remove_ids, folders, config)
            drop_staged(folders, removals)
            report("corpus", sum(len(f.documents) for f in folders), sum(len(f.documents) for f in folders))

            chunk_config = ChunkConfig(config.chunk_size, config.chunk_overlap)
            chunks, counts = make_chunks(folders, chunk_config, pool, chunk_cache)
            chunk_cache.previous.clear()
            hashes = [embed_hash(c) for c in chunks]
            report("chunks", len(chunks), len(chunks))
            tokens, _ = chunk_tokens(chunks, hashes, {} if rebuild else previous_tokens(config), pool)
        if embedder is None:
            embedder = make_embedder(config.embed_model)

        staging = Staging.new(config)
        build_id = staging.build_id
        store = staging.store()
        staging.create()
        old_collection = None
        try:
            store.client()   # a Chroma server that is down fails the build now, not after minutes of embedding
            bm25 = BM25Store.build_from_tokens(tokens)
            bm25.save(staging.path / BM25_DIR)
            save_tokens(staging.path / TOKENS_FILE, hashes, tokens)
            save_chunk_cache(staging.path / CHUNK_CACHE_FILE, chunk_cache)
            del tokens, bm25
            report("bm25", len(chunks), len(chunks))

            reuse: dict[str, np.ndarray] = {}
            seed_warnings: list[str] = []
            if not rebuild:
                reuse = previous_vectors(config, model, embedder.dim, old_rows)
                # Seeds only fill in what the previous index lacks (a first build, new chunks).
                seeds, seed_warnings = seed_vectors_for(folders, model, embedder, set(hashes) - reuse.keys())
                reuse.update(seeds)
            vectors, embedded, reused = embed_chunks(chunks, hashes, embedder, reuse, report)
            del reuse, old_rows
            np.save(staging.path / VECTORS_FILE, vectors, allow_pickle=False)
            save_chunks(staging.path / CHUNKS_FILE, chunks, hashes)

            report("store", 0, len(chunks))
            store.create({"build_id": build_id, "embed_model": model})
            metadata = [chunk_metadata(i, c, h) for i, (c, h) in enumerate(zip(chunks, hashes, strict=True))]
            store.add([c.chunk_id for c in chunks], vectors, metadata, batch_size=_store_batch(store))
            report("store", len(chunks), len(chunks))
            store.close()

            manifest = IndexManifest(
                build_id=build_id,
                built_at=datetime.now(UTC).isoformat(timespec="seconds"),
                embed_model=model,
                embed_dim=int(embedder.dim),
                chunk_size=config.chunk_size,
                chunk_overlap=config.chunk_overlap,
                chroma=ChromaLocation(staging.collection, path=None if config.chroma_url else staging.chroma_dir,
                                      url=config.chroma_url),
                documents=[
                    ManifestDocument(d.meta.id, d.path.name, d.sha256, d.meta.title, f.origin)
                    for f in folders for d in f.documents
                ],
                counts=counts,
                libraries=library_versions(),
                profiles_sha256=profiles_hash(folders),
                corpus_dirs=[str(f.path) for f in folders],
            )
            old_collection = previous_collection(config)
            manifest.save(staging.path)
            staging.sealed()
            # Added documents enter the corpus just before the swap: a crash in between leaves them in the
            # corpus and the previous index live, and the next build indexes them.
            install_staged(staged, staging.path)
            record_removals(removals, config, build_id)
            report("swap", 0, 1)
            staging.swap()
        except BaseException:
            store.close()
            staging.discard()
            raise
        report("swap", 1, 1)
        # Removed documents leave the corpus only now that the index without them is live.
        complete_removals(config, build_id)
        if config.chroma_url:
            prune_server_collections(config.chroma_url, {staging.collection, *([old_collection] if old_collection else [])})
    warnings = tuple(
        f"{d.path.name}: {w.message}" + (f"（第{w.line}行）" if w.line else "")
        for f in folders for d in f.documents for w in d.document.warnings
    ) + tuple(seed_warnings)
    return BuildSummary(
        build_id=build_id,
        index_dir=str(config.index_dir),
        embed_model=model,
        chroma=manifest.chroma.describe,
        documents=counts.documents,
        sections=counts.sections,
        clauses=counts.clauses,
        text_chunks=counts.text_chunks,
        profile_chunks=counts.profile_chunks,
        embedded=embedded,
        reused=reused,
        seconds=time.monotonic() - started,
        added=tuple(str(s.target) for s in staged),
        removed=tuple(r.doc_id for r in removals),
        warnings=warnings,
    )


def _store_batch(store: ChromaVectorStore) -> int:
    try:
        limit = int(store.client().get_max_batch_size())
    except Exception:  # noqa: BLE001 - an older client or server without the call: the store's default
        return ADD_BATCH
    return max(1, min(STORE_BATCH, limit))
