"""What a build reuses from the live index: its chunks, their BM25 tokens and their vectors.

Each chunk's vector is keyed by the sha256 of its embedded text; vectors of unchanged chunks are copied from the
previous index when it was built with the same model, so editing one clause re-embeds only that clause's chunks.
The chunks' BM25 tokens are kept the same way (``tokens.npz``, reused when the tokenizer's fingerprint — jieba,
OpenCC, user dictionary — is unchanged), and so are an unchanged document's text chunks (``chunk_cache.json``:
keyed by the parsed document, its metadata, the chunk sizes, the tokenizer and the source of the code that
chunks). Anything wrong with a cache only means computing again; ``build_index(rebuild=True)`` skips them all.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from indexing.chunking import Chunk, ChunkConfig
from indexing.config import IndexConfig
from indexing.corpus import CorpusDocument
from indexing.index_files import CHUNKS_FILE, ChunkRows, load_chunk_rows, load_vectors, locate_index
from indexing.manifest import IndexManifest, IndexProblem
from indexing.npz_files import write_npz
from indexing.tokenize_zh import tokenizer_fingerprint

TOKENS_FILE = "tokens.npz"
TOKENS_FORMAT = 1
CHUNK_CACHE_FILE = "chunk_cache.json"
CHUNK_CACHE_FORMAT = 1


# ---- text chunks ----------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _chunking_code() -> str:
    """sha256 of the source of everything that turns a parsed document into text chunks, and the tokenizer's
    fingerprint: editing the code invalidates cached chunks without anyone having to remember a version."""
    digest = hashlib.sha256(tokenizer_fingerprint().encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.glob("*.py")):   # caps.py (the caps line of each chunk) is one of them
        digest.update(b"\0" + path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def document_key(doc: CorpusDocument, config: ChunkConfig) -> str:
    """Key of a document's text chunks: its parsed form and metadata (their full reprs), the chunk sizes, the code."""
    text = f"{_chunking_code()}\0{config.size}/{config.overlap}\0{doc.meta!r}\0{doc.document!r}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ChunkSpan(NamedTuple):
    """Where one document's text chunks are in the index's chunk list."""

    first: int
    length: int   # not `count`: that would shadow tuple.count


@dataclass
class ChunkCache:
    """Text chunks by ``document_key``: ``previous`` from the live index; ``current`` filled by ``make_chunks`` with
    each document's span in the new chunk list, to be saved with the new index."""

    previous: dict[str, list[Chunk]] = field(default_factory=dict)
    current: dict[str, ChunkSpan] = field(default_factory=dict)
    reused: int = 0


def previous_rows(config: IndexConfig) -> ChunkRows | None:
    """The live index's chunks and their embed hashes (None without a readable index)."""
    try:
        return load_chunk_rows(locate_index(config) / CHUNKS_FILE)
    except (IndexProblem, OSError, ValueError, KeyError, TypeError):
        return None


def previous_chunk_cache(config: IndexConfig, rows: ChunkRows | None) -> ChunkCache:
    """Text chunks of the live index's documents by ``document_key`` (empty when unusable)."""
    if rows is None:
        return ChunkCache()
    try:
        data = json.loads((locate_index(config) / CHUNK_CACHE_FILE).read_text(encoding="utf-8"))
        if data.get("format") != CHUNK_CACHE_FORMAT:
            return ChunkCache()
        chunks = rows[0]
        previous = {str(key): chunks[int(first):int(first) + int(length)]
                    for key, (first, length) in data["documents"].items()}
        if any(len(v) != int(data["documents"][k][1]) for k, v in previous.items()):
            return ChunkCache()
    except Exception:  # noqa: BLE001 - a cache: anything wrong with it only means chunking again
        return ChunkCache()
    return ChunkCache(previous=previous)


def save_chunk_cache(path: Path, cache: ChunkCache) -> None:
    data = {"format": CHUNK_CACHE_FORMAT, "documents": {k: list(v) for k, v in cache.current.items()}}
    path.write_text(json.dumps(data), encoding="utf-8")


# ---- BM25 tokens --------------------------------------------------------------------------------------
def save_tokens(path: Path, hashes: list[str], tokens: list[list[str]]) -> None:
    """Token lists keyed by embed hash as plain arrays (vocabulary, ids, offsets), with the tokenizer fingerprint."""
    vocab: dict[str, int] = {}
    ids = np.fromiter((vocab.setdefault(t, len(vocab)) for ts in tokens for t in ts), dtype=np.int64)
    ids = ids.astype(np.uint16 if len(vocab) <= 2**16 else np.int32)   # half the file for most corpora
    offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum([len(ts) for ts in tokens], out=offsets[1:])
    write_npz(path, {"format": np.array(TOKENS_FORMAT), "fingerprint": np.array(tokenizer_fingerprint()),
                      "hashes": np.array(hashes, dtype="S64"), "vocab": np.array(list(vocab), dtype=str),
                      "ids": ids, "offsets": offsets})


def previous_tokens(config: IndexConfig) -> dict[str, list[str]]:
    """hash → tokens saved with the live index when its tokenizer fingerprint is today's; empty when unusable."""
    try:
        with np.load(locate_index(config) / TOKENS_FILE, allow_pickle=False) as data:
            if int(data["format"]) != TOKENS_FORMAT or str(data["fingerprint"]) != tokenizer_fingerprint():
                return {}
            hashes, vocab = [h.decode("ascii") for h in data["hashes"].tolist()], data["vocab"].tolist()
            ids, offsets = data["ids"].tolist(), data["offsets"].tolist()
        if len(offsets) != len(hashes) + 1 or offsets[-1] != len(ids):
            return {}
        words = [vocab[i] for i in ids]
    except Exception:  # noqa: BLE001 - a cache: anything wrong with it only means tokenising again
        return {}
    return {key: words[offsets[k]:offsets[k + 1]] for k, key in enumerate(hashes)}


# ---- vectors -------------------------------------------------------------------------------------------
def previous_vectors(
    config: IndexConfig, model: str, dim: int, rows: ChunkRows | None = None
) -> dict[str, np.ndarray]:
    """hash → vector of the live index when it was built with ``model``; empty when unusable.

    ``rows``: the live index's chunks and hashes when already read (``previous_rows``).
    """
    index_dir = locate_index(config)
    try:
        manifest = IndexManifest.load(index_dir)
        if manifest.embed_model != model or manifest.embed_dim != dim:
            return {}
        _, hashes = rows if rows is not None else load_chunk_rows(index_dir / CHUNKS_FILE)
        vectors = load_vectors(index_dir, len(hashes))
    except (IndexProblem, OSError, ValueError, KeyError, TypeError):
        return {}
    if vectors.shape[1] != dim:
        return {}
    return {h: vectors[i] for i, h in enumerate(hashes)}
