"""Calibrated fusion of retrieval channels into one score per section (pure functions over plain data).

Why not plain reciprocal-rank fusion: on this measure RRF of BM25 and dense is *worse* than BM25 alone,
because it throws away how far ahead the leader is and gives the weaker channel an equal vote. Here each
channel's section scores are scaled to [0, 1] within the query (BM25 by its maximum, cosine similarity by
its spread above the median), then added with weights tuned on the training split of the eval set
(``policy-assistant eval --split train`` reproduces the tuning figures).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

Channel = Literal["bm25_text", "bm25_profile", "dense_text", "dense_profile"]
# What a score belongs to: the retriever uses ``SectionRef`` (document and section), so that two documents' clause
# （十六） are scored apart; these functions only need keys that hash.
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class FusionWeights:
    """Weights of each channel, of expansion terms, and of the previous turn's sections."""

    bm25_text: float = 1.0
    bm25_profile: float = 0.8
    dense_text: float = 0.3
    dense_profile: float = 0.7
    expansion: float = 0.35    # BM25 score of lexicon-expansion terms, relative to the user's own words
    carried: float = 0.25      # bonus for the previous turn's sections in a follow-up
    # The same for a section of a document without profiles: no learned context weight adds to it, as the measure's
    # ``context_weight`` does. Chosen on the training documents' 80 follow-ups (0.25 / 0.5 / 1.0: top-1 0.388 /
    # 0.400 / 0.412; every training document's figure the same or higher).
    carried_unprofiled: float = 1.0

    def of(self, channel: Channel) -> float:
        return float(getattr(self, channel))


def aggregate_max(pairs: Iterable[tuple[K, float]]) -> dict[K, float]:
    """A section's score in one channel is its best chunk's score."""
    best: dict[K, float] = {}
    for key, score in pairs:
        if score > best.get(key, float("-inf")):
            best[key] = score
    return best


def aggregate_sum(pairs: Iterable[tuple[K, float]]) -> dict[K, float]:
    """A section's score in one channel is the sum over its chunks (for many short profile fields)."""
    total: dict[K, float] = {}
    for key, score in pairs:
        total[key] = total.get(key, 0.0) + score
    return total


def scale_bm25(scores: Mapping[K, float]) -> dict[K, float]:
    """BM25 scores divided by the query's best score (0 when nothing matched)."""
    top = max(scores.values(), default=0.0)
    if top <= 0:
        return {k: 0.0 for k in scores}
    return {k: max(v, 0.0) / top for k, v in scores.items()}


def scale_dense(scores: Mapping[K, float]) -> dict[K, float]:
    """Cosine similarities mapped to [0, 1]: the median section scores 0, the best scores 1.

    Dense scores of unrelated sections sit in a narrow band (e5 cosine ≈ 0.75–0.85), so the raw value
    says little; how far a section stands above the crowd says a lot.
    """
    if not scores:
        return {}
    values = sorted(scores.values())
    median = values[len(values) // 2]
    top = values[-1]
    spread = top - median
    if spread <= 1e-9:
        return {k: 0.0 for k in scores}
    return {k: max(0.0, (v - median) / spread) for k, v in scores.items()}


def fuse(channels: Mapping[Channel, Mapping[K, float]], weights: FusionWeights) -> dict[K, float]:
    """Weighted sum of scaled channel scores, normalised by the weight of the channels present.

    Args:
        channels: per channel, section (a ``SectionRef`` in the retriever) → raw aggregated score.
        weights: channel weights.

    Returns:
        Section → fused score in [0, 1].
    """
    fused: dict[K, float] = {}
    total_weight = 0.0
    for channel, raw in channels.items():
        if not raw:
            continue
        weight = weights.of(channel)
        if weight <= 0:
            continue
        total_weight += weight
        scaled = scale_bm25(raw) if channel.startswith("bm25") else scale_dense(raw)
        for key, value in scaled.items():
            fused[key] = fused.get(key, 0.0) + weight * value
    if total_weight <= 0:
        return {}
    return {k: v / total_weight for k, v in fused.items()}


def reciprocal_rank_fusion(rankings: Iterable[list[str]], k: int = 60) -> dict[str, float]:
    """Plain RRF, kept as the documented baseline that calibrated fusion beats."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return fused
