"""What retrievers return: scored chunks, and clauses with the reasons they were found."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, get_args

from indexing.section_ref import SectionRef, is_clause_key

if TYPE_CHECKING:
    import numpy as np

# The retriever modes, defined here only: CLI choices, configuration checks and defaults all come from these.
RetrieverMode = Literal["bm25", "dense", "hybrid"]
RETRIEVER_MODES: tuple[RetrieverMode, ...] = get_args(RetrieverMode)
DEFAULT_RETRIEVER_MODE: RetrieverMode = "hybrid"


def check_retriever_mode(mode: object) -> RetrieverMode:
    """``mode`` when it is a retriever mode.

    Raises:
        ValueError: naming the modes there are.
    """
    if mode not in RETRIEVER_MODES:
        raise ValueError(f"retriever mode must be one of {', '.join(RETRIEVER_MODES)}; got {mode!r}")
    return mode


@dataclass(frozen=True)
class ChunkFilter:
    """Search only one document's chunks (``search --doc``): its id (what Chroma filters on) and its chunk rows."""

    doc_id: str
    rows: np.ndarray   # indexes into the index's chunk list, ascending


@dataclass(frozen=True)
class ChunkHit:
    """One chunk found by one retriever: index into the index's chunk list, raw score, 1-based rank."""

    chunk_index: int
    score: float
    rank: int


@dataclass
class ClauseHit:
    """A section (clause, chapter text or preamble) with its fused score and why it was found."""

    doc_id: str
    section_key: str
    score: float
    bm25_rank: int | None = None
    dense_rank: int | None = None
    bm25_score: float = 0.0
    dense_score: float = 0.0
    matched_terms: list[str] = field(default_factory=list)
    best_chunk_id: str = ""
    via: list[str] = field(default_factory=list)   # "reference", "text", "profile", "expansion", "facet", "rerank"
    base_score: float | None = None   # the fused score before the learned prior (None: no prior was added)
    # The fused score over the text channels alone, the channels every document has (None: not computed, when the
    # index's documents all have the same channels): what compares a profiled section with another document's.
    text_score: float | None = None

    @property
    def ref(self) -> SectionRef:
        """Which section of which document this hit is."""
        return SectionRef.parse(self.section_key, self.doc_id)

    @property
    def retrieval_score(self) -> float:
        """The score retrieval alone gave (what "nearly as strong as the best" compares)."""
        return self.score if self.base_score is None else self.base_score

    def to_json(self) -> dict[str, object]:
        return {
            "doc": self.doc_id,
            "clause": self.section_key if is_clause_key(self.section_key) else None,
            "section": self.section_key,
            "score": round(self.score, 4),
            "bm25_rank": self.bm25_rank,
            "dense_rank": self.dense_rank,
            "bm25_score": round(self.bm25_score, 4),
            "dense_score": round(self.dense_score, 4),
            "matched_terms": self.matched_terms,
            "best_chunk": self.best_chunk_id,
            "via": self.via,
        }


class ChunkSearcher(Protocol):
    """A store that ranks chunks for a query (BM25 over tokens, or dense over vectors)."""

    def search(self, query: str, k: int) -> list[ChunkHit]: ...


class KeywordSearcher(ChunkSearcher, Protocol):
    """BM25: several weighted query texts (a question and its expansion) scored in one pass."""

    def search_weighted(self, queries: Sequence[tuple[str, float]], k: int) -> list[ChunkHit]: ...


class VectorSearcher(ChunkSearcher, Protocol):
    """Dense search: several questions embedded in one call, or embedded ahead of their searches."""

    def search_many(self, queries: Sequence[str], k: int) -> list[list[ChunkHit]]: ...

    def prefetch(self, queries: Sequence[str]) -> None: ...
