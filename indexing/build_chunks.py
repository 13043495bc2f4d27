"""From parsed documents to chunks and their BM25 tokens: the CPU-bound stages, shared out to worker processes.

Each stage's unit of work (``document_chunks``: one document; ``tokenize_texts``: a batch of texts) is a plain
function a worker can run; results are gathered in order, so a parallel build makes exactly a serial build's
chunks and tokens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from indexing.build_cache import ChunkCache, ChunkSpan, document_key
from indexing.caps import awards_of_section
from indexing.chunking import Chunk, ChunkConfig, chunk_document
from indexing.corpus import CorpusDocument
from indexing.corpus_folders import CorpusFolder
from indexing.manifest import IndexCounts
from indexing.profiles import profile_chunks
from indexing.tokenize_zh import tokenize

if TYPE_CHECKING:
    from indexing.build_workers import WorkerPool

TOKEN_BATCH = 256


class ChunkTokens(NamedTuple):
    """BM25 tokens of every chunk, in chunk order, and how many chunks were tokenised (not reused)."""

    tokens: list[list[str]]
    tokenised: int


# ---- chunks -----------------------------------------------------------------------------------------
def caps_summary(section: Any, linked: Sequence[Any]) -> str:
    """One line of the awards a section states, e.g. ``最高200万元资助（资助期限不超过3年）``."""
    parts = []
    for award in awards_of_section(section, linked):
        term = f"（{award.term}）" if award.term else ""
        text = award.amount_text if award.amount_wan is None else f"{award.amount_text}{award.kind}"
        parts.append(f"{text}{term}")
    return "；".join(dict.fromkeys(parts))


def document_chunks(task: tuple[CorpusDocument, ChunkConfig]) -> list[Chunk]:
    """Text chunks of one document, with each section's caps line: the unit of chunking work (runs in a worker)."""
    doc, config = task
    short = doc.meta.short_title or doc.meta.title
    caps = {s.key: caps_summary(s, doc.meta.linked) for s in doc.document.sections}
    return chunk_document(doc.document, config, short, caps)


def make_chunks(
    folders: list[CorpusFolder], config: ChunkConfig, pool: WorkerPool | None = None, cache: ChunkCache | None = None
) -> tuple[list[Chunk], IndexCounts]:
    """Text chunks of every document, then the profile chunks, folder by folder, in a stable order.

    Args:
        folders: the corpus.
        config: chunk sizes.
        pool: chunk documents in worker processes; the chunks and their order are the same.
        cache: take an unchanged document's chunks from ``cache.previous``; record ``cache.current``.
    """
    docs = [doc for folder in folders for doc in folder.documents]
    keys = [document_key(doc, config) for doc in docs] if cache is not None else [""] * len(docs)
    known = cache.previous if cache is not None else {}
    tasks = [(doc, config) for doc, key in zip(docs, keys, strict=True) if key not in known]
    fresh = iter(pool.map(document_chunks, tasks) if pool is not None else [document_chunks(t) for t in tasks])
    texts = iter([known[key] if key in known else next(fresh) for key in keys])
    chunks: list[Chunk] = []
    documents = sections = clauses = text_chunks = profile_count = 0
    for folder in folders:
        for position, doc in enumerate(folder.documents):
            short = doc.meta.short_title or doc.meta.title
            text = next(texts)
            if cache is not None:
                key = keys[documents]
                cache.current[key] = ChunkSpan(len(chunks), len(text))
                cache.reused += key in known
            # A folder's profiles describe its first document (profile files carry no document id).
            profiles = profile_chunks(doc.document, folder.profiles, short) if position == 0 else []
            chunks.extend(text)
            chunks.extend(profiles)
            documents += 1
            sections += len(doc.document.sections)
            clauses += len(doc.document.clauses)
            text_chunks += len(text)
            profile_count += len(profiles)
    ids = [c.chunk_id for c in chunks]
    if len(set(ids)) != len(ids):
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"chunk id 重复（文档 id 重复？）：{', '.join(duplicated[:5])}")
    return chunks, IndexCounts(documents, sections, clauses, text_chunks, profile_count)


def embed_hash(chunk: Chunk) -> str:
    """Key of a chunk's vector: the sha256 of the exact text that is embedded."""
    mode = "query:" if chunk.embed_as_query else "passage:"
    return hashlib.sha256((mode + chunk.embed_text).encode("utf-8")).hexdigest()


# ---- BM25 tokens --------------------------------------------------------------------------------------
def _token_pieces(chunk: Chunk) -> tuple[str, ...]:
    """The texts whose tokens, joined, are ``tokenize(chunk.embed_text)``.

    A text chunk embeds its header, a newline, then its text (and the line of titles it refers to); OpenCC and jieba both cut at the newline (a
    separator, not a word character), so its tokens are the header's followed by the text's, and a header shared
    by several chunks is tokenised once (``tests/test_parallel_build.py`` checks the equality on real text).
    """
    if chunk.source == "profile":
        return (chunk.embed_text,)
    return (chunk.header, chunk.text, chunk.references_line) if chunk.references else (chunk.header, chunk.text)


def tokenize_texts(texts: list[str]) -> list[list[str]]:
    """``tokenize`` of each text: the unit of tokenising work (runs in a worker)."""
    return [tokenize(text) for text in texts]


def chunk_tokens(
    chunks: list[Chunk], hashes: list[str], reuse: dict[str, list[str]], pool: WorkerPool | None = None
) -> ChunkTokens:
    """BM25 tokens of every chunk (``tokenize(chunk.embed_text)``), ``reuse[hash]`` when known.

    Returns:
        The token lists in chunk order, and how many chunks were tokenised (not reused).
    """
    pieces: dict[str, list[str]] = {}
    todo = [i for i, key in enumerate(hashes) if key not in reuse]
    texts = list(dict.fromkeys(piece for i in todo for piece in _token_pieces(chunks[i])))
    batches = [texts[start:start + TOKEN_BATCH] for start in range(0, len(texts), TOKEN_BATCH)]
    results = pool.map(tokenize_texts, batches) if pool is not None else [tokenize_texts(b) for b in batches]
    for batch, tokens in zip(batches, results, strict=True):
        pieces.update(zip(batch, tokens, strict=True))
    out = [reuse[key] if key in reuse else [] for key in hashes]
    for i in todo:
        out[i] = [token for piece in _token_pieces(chunks[i]) for token in pieces[piece]]
    return ChunkTokens(out, len(todo))
