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
    ChunkFilter,
    ChunkHit,
    ClauseHit,
    KeywordSearcher,
    RetrieverMode,
    VectorSearcher,
    check_retriever_mode,
)
from indexing.section_ref import SectionRef
from indexing.tokenize_zh import tokenize


@dataclass(frozen=True)
class RetrievalRequest:
    """What to look for: the question text, lexicon expansion, facets, and follow-up context."""

    text: str
    expansion: Sequence[str] = ()
    facets: Sequence[str] = ()
    carried: Sequence[str | SectionRef] = ()   # previous turn's sections (keys of ``doc_id``, or refs): a small prior
    k: int = 10
    prior: Mapping[str, float] = field(default_factory=dict)   # learned bonus per section (assistant/learned.py)
    vectors: Mapping[str, Any] = field(default_factory=dict)   # text → query vector, when the caller embedded already
    doc_id: str = ""    # the document ``carried`` and ``prior`` keys belong to ("": the index's first document)
    only_doc: str = ""  # rank this document's sections only ("": every document's)
    # Keep these documents' sections only (the documents a question names), scored among every document's: unlike
    # ``only_doc`` the channels still search the whole index, so the scores are those of an unfiltered search.
    docs: Sequence[str] = ()


@dataclass
class ChannelScores:
    """Raw per-section scores of each channel for one query, and the ranks within each (sections of every document)."""

    raw: dict[Channel, dict[SectionRef, float]] = field(default_factory=dict)
    best_chunk: dict[SectionRef, tuple[float, int]] = field(default_factory=dict)
    _ranks: dict[str, dict[SectionRef, int]] = field(default_factory=dict, repr=False)

    def rank_of(self, channel_prefix: str, key: SectionRef) -> int | None:
        """A section's 1-based rank among the sections the channels of ``channel_prefix`` scored (best score first)."""
        # Ranked once per prefix: merging and sorting for every hit cost O(hits × sections), 55 % of the warm-ask
        # profile at 1,000 documents (benchmarks/scale_corpus.py --profile).
        if channel_prefix not in self._ranks:
            merged: dict[SectionRef, float] = {}
            for channel, scores in self.raw.items():
                if channel.startswith(channel_prefix):
                    for k, v in scores.items():
                        merged[k] = max(merged.get(k, float("-inf")), v)
            ordered = sorted(merged, key=lambda k: -merged[k])
            self._ranks[channel_prefix] = {k: rank for rank, k in enumerate(ordered, start=1)}
        return self._ranks[channel_prefix].get(key)

    def raw_of(self, channel_prefix: str, key: SectionRef) -> float:
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
        # Sections are scored by document and key: in a corpus of many measures every document has a （十六）, and
        # one document's （十六） must neither add to another's score nor lend it its matched terms.
        self._refs = [SectionRef.parse(chunk.section_key, chunk.doc_id) for chunk in self.chunks]
        self._section_chunks: dict[SectionRef, list[int]] = {}
        for i, ref in enumerate(self._refs):
            self._section_chunks.setdefault(ref, []).append(i)
        self._pool = min(len(self.chunks), 200)
        # Documents without reviewed profiles (any added document): their sections can only score on the text
        # channels, so they are fused over those alone (see ``score``).
        profiled = {chunk.doc_id for chunk in self.chunks if chunk.source == "profile"}
        self._unprofiled = frozenset(chunk.doc_id for chunk in self.chunks) - profiled
        # Profiled and unprofiled documents side by side: hits then carry their text-channel score as well (see
        # ``ClauseHit.text_score``), the one score measured the same way in every document.
        self._mixed = bool(profiled) and bool(self._unprofiled) and use_profiles
        self._doc_rows: dict[str, ChunkFilter] | None = None   # built on the first filtered search

    def document_filter(self, doc_id: str) -> ChunkFilter | None:
        """The chunk filter of one document (None: no filter); a document without chunks gets an empty one."""
        import numpy as np

        if not doc_id:
            return None
        if self._doc_rows is None:
            rows: dict[str, list[int]] = {}
            for i, chunk in enumerate(self.chunks):
                rows.setdefault(chunk.doc_id, []).append(i)
            self._doc_rows = {d: ChunkFilter(d, np.asarray(r, dtype=np.int64)) for d, r in rows.items()}
        return self._doc_rows.get(doc_id) or ChunkFilter(doc_id, np.zeros(0, dtype=np.int64))

    # ---- channels --------------------------------------------------------------------------------
    def _dense_hits(self, texts: Sequence[str], vectors: Mapping[str, Any] | None = None,
                    within: ChunkFilter | None = None) -> dict[str, list[ChunkHit]]:
        """Dense hits of several texts (a question and its facets), embedded in one call (or given as ``vectors``)."""
        if self.mode not in ("dense", "hybrid") or self.dense is None:
            return {}
        texts = list(dict.fromkeys(texts))
        # A filter is passed only when there is one: searchers written before filters take two arguments.
        extra = {"within": within} if within is not None else {}
        by_vector = getattr(self.dense, "search_vectors", None)
        if vectors and by_vector is not None and all(t in vectors or not t.strip() for t in texts):
            given = [t for t in texts if t in vectors]
            found = dict(zip(given, by_vector([vectors[t] for t in given], self._pool, **extra), strict=True))
            return {t: found.get(t, []) for t in texts}
        return dict(zip(texts, self.dense.search_many(texts, self._pool, **extra), strict=True))

    def _channels(self, text: str, expansion: Sequence[str], dense: dict[str, list[ChunkHit]] | None = None,
                  within: ChunkFilter | None = None) -> ChannelScores:
        scores = ChannelScores()
        if self.mode in ("bm25", "hybrid"):
            # The user's words and the lexicon's expansion (weighted lower) in one pass over the postings.
            queries = [(text, 1.0)] + ([(" ".join(expansion), self.weights.expansion)] if expansion else [])
            extra = {"within": within} if within is not None else {}
            hits = self.bm25.search_weighted(queries, self._pool, **extra)
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
            pairs = [(self._refs[i], s) for i, s in by_chunk.items() if self.chunks[i].source == source]
            # Keyword evidence spread over a profile's fields adds up (as if the profile were one document);
            # everything else counts its best chunk. Tuned on the train split: +1.6 points top-1.
            scores.raw[channel] = aggregate_sum(pairs) if (kind, source) == ("bm25", "profile") else aggregate_max(pairs)
            if source == "text":
                for i, s in by_chunk.items():
                    if self.chunks[i].source != "text":
                        continue
                    key = self._refs[i]
                    if kind == "bm25" or key not in scores.best_chunk:
                        if s > scores.best_chunk.get(key, (float("-inf"), -1))[0]:
                            scores.best_chunk[key] = (s, i)

    def _matched_terms(self, ref: SectionRef, own: set[str], expanded: set[str]) -> list[str]:
        """Terms of the question found in the section (text or profile): the user's own words first."""
        terms: set[str] = set()
        for i in self._section_chunks.get(ref, ()):
            if i not in self._chunk_tokens:
                self._chunk_tokens[i] = frozenset(tokenize(self.chunks[i].text))
            terms |= (own | expanded) & self._chunk_tokens[i]
        return sorted(terms, key=lambda t: (t not in own, -len(t), t))[:12]

    # ---- public ----------------------------------------------------------------------------------
    def keyword_scores(self, text: str, doc_id: str, section_key: str | None = None) -> dict[SectionRef, float]:
        """Raw BM25 scores of ``text`` for the sections of one document (each its best text chunk), or for one of them.

        Raw, on the whole index's statistics, so that scores for two documents compare: what "how close is this
        article to that clause" divides by the clause's own score (``assistant.linked_articles``).
        """
        import numpy as np

        rows = [i for i in self._doc_rows_of(doc_id)
                if self.chunks[i].source == "text" and (section_key is None or self.chunks[i].section_key == section_key)]
        if not rows:
            return {}
        extra = {"within": ChunkFilter(doc_id, np.asarray(rows, dtype=np.int64))}
        hits = self.bm25.search_weighted([(text, 1.0)], len(rows), **extra)
        return aggregate_max((self._refs[h.chunk_index], h.score) for h in hits)

    def _doc_rows_of(self, doc_id: str) -> list[int]:
        found = self.document_filter(doc_id)
        return [int(i) for i in found.rows] if found is not None else []

    def prefetch(self, texts: Sequence[str]) -> None:
        """Embed many query texts in one call ahead of their searches (batch mode); a no-op without dense."""
        if self.mode in ("dense", "hybrid") and self.dense is not None:
            self.dense.prefetch(texts)   # it skips blanks and repeats

    def text_scores(self, channels: ChannelScores) -> dict[SectionRef, float]:
        """Sections fused over the text channels alone: a profiled section as a document without profiles is scored."""
        return fuse({c: raw for c, raw in channels.raw.items() if c.endswith("_text")}, self.weights)

    def score(
        self, text: str, expansion: Sequence[str] = (), dense: dict[str, list[ChunkHit]] | None = None,
        within: ChunkFilter | None = None,
    ) -> tuple[dict[SectionRef, float], ChannelScores]:
        """Fused section scores for one query text (no facets, no prior); ``dense`` holds hits searched already."""
        channels = self._channels(text, expansion, dense, within)
        fused = fuse(channels.raw, self.weights)
        if self._unprofiled and self.use_profiles:
            # ``fuse`` divides by the weight of every channel the query has; a section of a document without profiles
            # has the text channels only, and is divided by theirs, so that a section matching perfectly scores 1
            # in any document (else a profiled measure would outrank every other document by construction).
            present = [c for c, raw in channels.raw.items() if raw and self.weights.of(c) > 0]
            total = sum(self.weights.of(c) for c in present)
            text_only = sum(self.weights.of(c) for c in present if c.endswith("_text"))
            if 0 < text_only < total:
                for ref in fused:
                    if ref.doc_id in self._unprofiled:
                        fused[ref] *= total / text_only
        return fused, channels

    def retrieve(self, request: RetrievalRequest) -> list[ClauseHit]:
        """Rank sections for a request.

        Facets (parts of a long business description) are scored separately and a section keeps its
        best facet score, so a description touching three clauses can surface all three.

        Returns:
            Up to ``request.k`` hits, best first, each with ranks per channel and matched terms.
        """
        within = self.document_filter(request.only_doc)
        dense = self._dense_hits([request.text, *request.facets], request.vectors, within)
        fused, channels = self.score(request.text, request.expansion, dense, within)
        home = request.doc_id or (self.chunks[0].doc_id if self.chunks else "")
        via: dict[SectionRef, list[str]] = {ref: ["text"] for ref in fused}
        text_fused = self.text_scores(channels) if self._mixed else {}
        for facet in request.facets:
            facet_scores, facet_channels = self.score(facet, (), dense, within)
            for ref, value in facet_scores.items():
                # A facet's leader counts a little less than the whole question's leader.
                value *= 0.9
                if value > fused.get(ref, 0.0):
                    fused[ref] = value
                    via.setdefault(ref, []).append("facet")
            if self._mixed:
                for ref, value in self.text_scores(facet_channels).items():
                    text_fused[ref] = max(text_fused.get(ref, 0.0), 0.9 * value)
        base = dict(fused)
        for ref, bonus in ((SectionRef.parse(k, home), b) for k, b in request.prior.items()):
            if bonus > 0 and (ref in fused or bonus >= 0.05):
                fused[ref] = fused.get(ref, 0.0) + bonus
                via.setdefault(ref, [])
                if bonus >= 0.05:
                    via[ref].append("learned")
        for ref in (k if isinstance(k, SectionRef) else SectionRef.parse(k, home) for k in request.carried if k):
            # A document without profiles has no learned context weight on top (the measure's ``context_weight``).
            carried = self.weights.carried_unprofiled if ref.doc_id in self._unprofiled else self.weights.carried
            fused[ref] = fused.get(ref, 0.0) + carried
            via.setdefault(ref, []).append("context")
        if request.only_doc:   # the prior and the carried sections may name another document's sections
            fused = {ref: value for ref, value in fused.items() if ref.doc_id == request.only_doc}
        if request.docs:
            # Before the cut and before the hits are built: a hit costs its ranks and matched terms, and cutting
            # every document's sections deep enough to keep k of one document's made 1,000 documents' hits.
            keep = set(request.docs)
            fused = {ref: value for ref, value in fused.items() if (ref.doc_id or home) in keep}
        ranked = sorted(fused.items(), key=lambda kv: -kv[1])[: request.k]
        own_tokens = set(tokenize(request.text))
        expanded_tokens = {t for t in tokenize(" ".join(request.expansion)) if len(t) > 1 and t.isascii() is False}
        hits = []
        for ref, value in ranked:
            best = channels.best_chunk.get(ref)
            hits.append(
                ClauseHit(
                    doc_id=ref.doc_id,
                    section_key=ref.key,
                    score=value,
                    bm25_rank=channels.rank_of("bm25", ref),
                    dense_rank=channels.rank_of("dense", ref),
                    bm25_score=channels.raw_of("bm25", ref),
                    dense_score=channels.raw_of("dense", ref),
                    matched_terms=self._matched_terms(ref, own_tokens, expanded_tokens),
                    best_chunk_id=self.chunks[best[1]].chunk_id if best else "",
                    via=via.get(ref, []),
                    base_score=base.get(ref, 0.0) if request.prior else None,
                    text_score=text_fused.get(ref, 0.0) if self._mixed else None,
                )
            )
        return hits
