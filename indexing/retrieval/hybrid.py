"""The clause retriever: BM25 and dense chunk searches → per-section channels → calibrated fusion.

One class serves the three modes (``bm25``, ``dense``, ``hybrid``) so that evaluations compare like
with like; profile chunks (source="profile") feed their own channels and can be switched off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from indexing.chunking import Chunk
from indexing.retrieval.fusion import Channel, FusionWeights, aggregate_max, aggregate_sum, fuse
from indexing.retrieval.hits import (
    DEFAULT_RETRIEVER_MODE,
    ChunkHit,
    ClauseHit,
    KeywordSearcher,
    RetrieverMode,
    VectorSearcher,
    check_retriever_mode,
)
from indexing.tokenize_zh import tokenize


@dataclass(frozen=True)
class RetrievalRequest:
    """What to look for: the question text, lexicon expansion, facets, and follow-up context."""

    text: str
    expansion: Sequence[str] = ()
    facets: Sequence[str] = ()
    carried: Sequence[str] = ()     # previous turn's sections: a small prior
    k: int = 10
    prior: Mapping[str, float] = field(default_factory=dict)   # learned bonus per section (assistant/learned.py)
    vectors: Mapping[str, Any] = field(default_factory=dict)   # text → query vector, when the caller embedded already


@dataclass
class ChannelScores:
    """Raw per-section scores of each channel for one query, and the ranks within each."""

    raw: dict[Channel, dict[str, float]] = field(default_factory=dict)
    best_chunk: dict[str, tuple[float, int]] = field(default_factory=dict)

    def rank_of(self, channel_prefix: str, key: str) -> int | None:
        merged: dict[str, float] = {}
        for channel, scores in self.raw.items():
            if channel.startswith(channel_prefix):
                for k, v in scores.items():
                    merged[k] = max(merged.get(k, float("-inf")), v)
        ordered = sorted(merged, key=lambda k: -merged[k])
        return ordered.index(key) + 1 if key in merged else None

    def raw_of(self, channel_prefix: str, key: str) -> float:
        return max((s.get(key, 0.0) for c, s in self.raw.items() if c.startswith(channel_prefix)), default=0.0)


class HybridRetriever:
    """Ranks sections (clauses, chapter text, preamble) for a question."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        bm25: KeywordSearcher,
        dense: VectorSearcher | None,
        mode: RetrieverMode = DEFAULT_RETRIEVER_MODE,
        weights: FusionWeights = FusionWeights(),
        use_profiles: bool = True,
    ) -> None:
        check_retriever_mode(mode)
        if mode != "bm25" and dense is None:
            raise ValueError(f"retriever mode {mode!r} needs a dense store")
        self.chunks = list(chunks)
        self.bm25 = bm25
        self.dense = dense
        self.mode = mode
        self.weights = weights
        self.use_profiles = use_profiles
        self._chunk_tokens: dict[int, frozenset[str]] = {}
        # Keyed by document too: in a corpus of many measures every document has a （十六）, and the terms of one
        # hit must not be read from (and tokenise on first use) the same-numbered clause of every document.
        self._section_chunks: dict[tuple[str, str], list[int]] = {}
        for i, chunk in enumerate(self.chunks):
            self._section_chunks.setdefault((chunk.doc_id, chunk.section_key), []).append(i)
        self._pool = min(len(self.chunks), 200)

    # ---- channels --------------------------------------------------------------------------------
    def _dense_hits(self, texts: Sequence[str], vectors: Mapping[str, Any] | None = None) -> dict[str, list[ChunkHit]]:
        """Dense hits of several texts (a question and its facets), embedded in one call (or given as ``vectors``)."""
        if self.mode not in ("dense", "hybrid") or self.dense is None:
            return {}
        texts = list(dict.fromkeys(texts))
        by_vector = getattr(self.dense, "search_vectors", None)
        if vectors and by_vector is not None and all(t in vectors or not t.strip() for t in texts):
            given = [t for t in texts if t in vectors]
            found = dict(zip(given, by_vector([vectors[t] for t in given], self._pool), strict=True))
            return {t: found.get(t, []) for t in texts}
        return dict(zip(texts, self.dense.search_many(texts, self._pool), strict=True))

    def _channels(self, text: str, expansion: Sequence[str], dense: dict[str, list[ChunkHit]] | None = None) -> ChannelScores:
        scores = ChannelScores()
        if self.mode in ("bm25", "hybrid"):
            # The user's words and the lexicon's expansion (weighted lower) in one pass over the postings.
            queries = [(text, 1.0)] + ([(" ".join(expansion), self.weights.expansion)] if expansion else [])
            hits = self.bm25.search_weighted(queries, self._pool)
            self._add(scores, "bm25", {hit.chunk_index: hit.score for hit in hits})
        if self.mode in ("dense", "hybrid") and self.dense is not None:
            hits = dense[text] if dense is not None and text in dense else self.dense.search(text, self._pool)
            self._add(scores, "dense", {h.chunk_index: h.score for h in hits})
        return scores

    def _add(self, scores: ChannelScores, kind: str, by_chunk: dict[int, float]) -> None:
        for source in ("text", "profile"):
            if source == "profile" and not self.use_profiles:
                continue
            channel: Channel = f"{kind}_{source}"  # type: ignore[assignment]
            pairs = [(self.chunks[i].section_key, s) for i, s in by_chunk.items() if self.chunks[i].source == source]
            # Keyword evidence spread over a profile's fields adds up (as if the profile were one document);
            # everything else counts its best chunk. Tuned on the train split: +1.6 points top-1.
            scores.raw[channel] = aggregate_sum(pairs) if (kind, source) == ("bm25", "profile") else aggregate_max(pairs)
            if source == "text":
                for i, s in by_chunk.items():
                    chunk = self.chunks[i]
                    if chunk.source != "text":
                        continue
                    key = chunk.section_key
                    if kind == "bm25" or key not in scores.best_chunk:
                        if s > scores.best_chunk.get(key, (float("-inf"), -1))[0]:
                            scores.best_chunk[key] = (s, i)

    def _matched_terms(self, doc_id: str, key: str, own: set[str], expanded: set[str]) -> list[str]:
        """Terms of the question found in the section (text or profile): the user's own words first."""
        terms: set[str] = set()
        for i in self._section_chunks.get((doc_id, key), ()):
            if i not in self._chunk_tokens:
                self._chunk_tokens[i] = frozenset(tokenize(self.chunks[i].text))
            terms |= (own | expanded) & self._chunk_tokens[i]
        return sorted(terms, key=lambda t: (t not in own, -len(t), t))[:12]

    # ---- public ----------------------------------------------------------------------------------
    def prefetch(self, texts: Sequence[str]) -> None:
        """Embed many query texts in one call ahead of their searches (batch mode); a no-op without dense."""
        if self.mode in ("dense", "hybrid") and self.dense is not None:
            self.dense.prefetch(texts)   # it skips blanks and repeats

    def score(
        self, text: str, expansion: Sequence[str] = (), dense: dict[str, list[ChunkHit]] | None = None
    ) -> tuple[dict[str, float], ChannelScores]:
        """Fused section scores for one query text (no facets, no prior); ``dense`` holds hits searched already."""
        channels = self._channels(text, expansion, dense)
        return fuse(channels.raw, self.weights), channels

    def retrieve(self, request: RetrievalRequest) -> list[ClauseHit]:
        """Rank sections for a request.

        Facets (parts of a long business description) are scored separately and a section keeps its
        best facet score, so a description touching three clauses can surface all three.

        Returns:
            Up to ``request.k`` hits, best first, each with ranks per channel and matched terms.
        """
        dense = self._dense_hits([request.text, *request.facets], request.vectors)
        fused, channels = self.score(request.text, request.expansion, dense)
        via: dict[str, list[str]] = {key: ["text"] for key in fused}
        for facet in request.facets:
            facet_scores, _ = self.score(facet, (), dense)
            for key, value in facet_scores.items():
                # A facet's leader counts a little less than the whole question's leader.
                value *= 0.9
                if value > fused.get(key, 0.0):
                    fused[key] = value
                    via.setdefault(key, []).append("facet")
        base = dict(fused)
        for key, bonus in request.prior.items():
            if bonus > 0 and (key in fused or bonus >= 0.05):
                fused[key] = fused.get(key, 0.0) + bonus
                via.setdefault(key, [])
                if bonus >= 0.05:
                    via[key].append("learned")
        for key in request.carried:
            if key:
                fused[key] = fused.get(key, 0.0) + self.weights.carried
                via.setdefault(key, []).append("context")
        ranked = sorted(fused.items(), key=lambda kv: -kv[1])[: request.k]
        own_tokens = set(tokenize(request.text))
        expanded_tokens = {t for t in tokenize(" ".join(request.expansion)) if len(t) > 1 and t.isascii() is False}
        hits = []
        for key, value in ranked:
            best = channels.best_chunk.get(key)
            doc_id = self.chunks[best[1]].doc_id if best else (self.chunks[0].doc_id if self.chunks else "")
            hits.append(
                ClauseHit(
                    doc_id=doc_id,
                    section_key=key,
                    score=value,
                    bm25_rank=channels.rank_of("bm25", key),
                    dense_rank=channels.rank_of("dense", key),
                    bm25_score=channels.raw_of("bm25", key),
                    dense_score=channels.raw_of("dense", key),
                    matched_terms=self._matched_terms(doc_id, key, own_tokens, expanded_tokens),
                    best_chunk_id=self.chunks[best[1]].chunk_id if best else "",
                    via=via.get(key, []),
                    base_score=base.get(key, 0.0) if request.prior else None,
                )
            )
        return hits
