"""BM25 over the chunks' jieba tokens (bm25s), saved as plain .npy/.json files — no pickle."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from indexing.retrieval.hits import ChunkFilter, ChunkHit
from indexing.tokenize_zh import tokenize

BM25_FILES = ("params.index.json", "vocab.index.json", "data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy")


class BM25Store:
    """Lucene-style BM25 over token lists; ``search`` ranks chunk positions for a question.

    Build with ``BM25Store.build(texts)``; ``save(folder)`` / ``BM25Store.load(folder)`` round-trip through
    bm25s's array files (``allow_pickle=False``).
    """

    def __init__(self, model: Any, num_docs: int) -> None:
        self._model = model
        self.num_docs = num_docs

    @classmethod
    def build(cls, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> BM25Store:
        """Index texts (tokenised with ``tokenize_zh.tokenize``); position ``i`` is chunk ``i``."""
        return cls.build_from_tokens([tokenize(t) for t in texts], k1=k1, b=b)

    @classmethod
    def build_from_tokens(cls, corpus_tokens: Sequence[list[str]], k1: float = 1.2, b: float = 0.75) -> BM25Store:
        import bm25s

        model = bm25s.BM25(k1=k1, b=b, method="lucene")
        # bm25s needs at least one token per document; an empty chunk gets a token that no query produces.
        tokens = [list(t) if t else ["\x00empty"] for t in corpus_tokens]
        model.index(tokens, show_progress=False)
        return cls(model, len(tokens))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._model.save(str(folder), allow_pickle=False, show_progress=False)

    @classmethod
    def load(cls, folder: Path, mmap: bool = False) -> BM25Store:
        """Load a saved index.

        Raises:
            FileNotFoundError: when a file is missing. ValueError / OSError: when one is unreadable.
        """
        import bm25s

        missing = [name for name in BM25_FILES if not (folder / name).is_file()]
        if missing:
            raise FileNotFoundError(f"BM25 文件缺失：{', '.join(missing)}")
        model = bm25s.BM25.load(str(folder), mmap=mmap, allow_pickle=False, show_progress=False)
        return cls(model, int(model.scores["num_docs"]))

    @property
    def vocabulary(self) -> dict[str, int]:
        return dict(self._model.vocab_dict)

    def chunk_counts(self) -> dict[str, int]:
        """How many chunks write each token (its document frequency, read off the index's columns)."""
        indptr = np.asarray(self._model.scores["indptr"])
        # bm25s's vocabulary also holds its empty token, which has no column.
        return {token: int(indptr[i + 1] - indptr[i]) for token, i in self._model.vocab_dict.items()
                if i + 1 < len(indptr)}

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query`` (zeros when no token is known)."""
        return self.weighted_scores([(query, 1.0)])

    def weighted_scores(self, queries: Sequence[tuple[str, float]]) -> np.ndarray:
        """Σ weight × BM25 score of every chunk over several query texts, in one pass over the postings.

        A question and its lexicon expansion (weighted lower) cost one pass instead of two: at 10,000 documents
        BM25 was the largest part of an answer. Each token occurrence counts, as in bm25s's own scoring.
        """
        vocab = self._model.vocab_dict
        weights: dict[int, float] = {}
        for text, weight in queries:
            for token in tokenize(text) if weight else ():
                if token in vocab:
                    weights[vocab[token]] = weights.get(vocab[token], 0.0) + weight
        if not weights:
            return np.zeros(self.num_docs, dtype=np.float32)
        data, indices, indptr = (self._model.scores[name] for name in ("data", "indices", "indptr"))
        ids = np.fromiter(weights, dtype=np.int64, count=len(weights))
        starts, ends = indptr[ids], indptr[ids + 1]
        rows = np.concatenate([indices[a:b] for a, b in zip(starts, ends, strict=True)])
        values = np.concatenate([data[a:b] * np.float32(w) for a, b, w in zip(starts, ends, weights.values(), strict=True)])
        scores = np.bincount(rows, weights=values, minlength=self.num_docs).astype(np.float32)
        nonoccurrence = getattr(self._model, "nonoccurrence_array", None)
        if nonoccurrence is not None:   # BM25L/BM25+ variants; "lucene" (ours) has none
            scores += np.float32(sum(w * float(nonoccurrence[i]) for i, w in weights.items()))
        return scores

    def search(self, query: str, k: int) -> list[ChunkHit]:
        """The ``k`` best chunks with a positive score, best first (ties in chunk order)."""
        return self.search_weighted([(query, 1.0)], k)

    def search_weighted(
        self, queries: Sequence[tuple[str, float]], k: int, within: ChunkFilter | None = None
    ) -> list[ChunkHit]:
        """``search`` over ``weighted_scores`` (a question and its expansion together), over ``within``'s chunks only
        when given (scored against the whole index's statistics, so a document's scores do not change with the filter)."""
        if k <= 0:
            return []
        scores = self.weighted_scores(queries)
        if within is not None:
            kept = np.zeros_like(scores)
            kept[within.rows] = scores[within.rows]
            scores = kept
        return top_hits(scores, k)


def top_hits(scores: np.ndarray, k: int) -> list[ChunkHit]:
    """The ``k`` highest positive scores, best first, ties in chunk order — without sorting every positive score
    (at 10,000 documents a common word gives 100,000 of them)."""
    positive = np.flatnonzero(scores > 0)
    if positive.size > k:
        values = scores[positive]
        kth = -np.partition(-values, k - 1)[k - 1]
        above, tied = positive[values > kth], positive[values == kth]
        positive = np.concatenate([above, tied[: k - above.size]])
    order = positive[np.lexsort((positive, -scores[positive]))][:k]
    return [ChunkHit(chunk_index=int(i), score=float(scores[i]), rank=rank) for rank, i in enumerate(order, start=1)]
