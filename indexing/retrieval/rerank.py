"""Optional cross-encoder reranking of the top sections (any sentence-transformers CrossEncoder on disk).

Off by default: the bundled corpus ships no cross-encoder, and none can be downloaded at run time.
Configure with ``--rerank-model NAME_OR_PATH`` or ``POLICY_ASSISTANT_RERANK_MODEL``; ``policy-assistant eval``
then measures it against the same questions (a reranker is measured, not assumed to help).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

from indexing.retrieval.hits import ClauseHit


class RerankerUnavailable(RuntimeError):
    """The configured cross-encoder cannot be loaded from local files."""


def blend(hits: Sequence[ClauseHit], ce_scores: Sequence[float], weight: float) -> list[ClauseHit]:
    """Mix fused scores with cross-encoder scores and re-sort (pure; testable without a model).

    Cross-encoder logits are squashed with a sigmoid and min-max scaled over the candidates, so that
    ``weight`` means the same thing for any model.

    Args:
        hits: candidates, best first.
        ce_scores: one cross-encoder score per hit.
        weight: 0 keeps the fused order, 1 uses the cross-encoder alone.

    Returns:
        The hits re-scored and re-sorted; each reranked hit notes "rerank" in ``via``.
    """
    if len(hits) != len(ce_scores):
        raise ValueError("one cross-encoder score per hit is required")
    if not hits:
        return []
    squashed = [1.0 / (1.0 + math.exp(-s)) for s in ce_scores]
    low, high = min(squashed), max(squashed)
    spread = high - low
    scaled = [(s - low) / spread if spread > 1e-9 else 0.0 for s in squashed]
    top = max(h.score for h in hits) or 1.0
    out = []
    for hit, ce in zip(hits, scaled, strict=True):
        score = (1.0 - weight) * (hit.score / top) + weight * ce
        out.append(replace(hit, score=score, via=[*hit.via, "rerank"]))
    out.sort(key=lambda h: -h.score)
    return out


class CrossEncoderReranker:
    """Rescores the top ``top_n`` sections with a cross-encoder over (question, section text) pairs."""

    def __init__(self, model: str, top_n: int = 8, weight: float = 0.5) -> None:
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"rerank weight must be within [0, 1], got {weight}")
        self.model_name = model
        self.top_n = top_n
        self.weight = weight
        try:
            from sentence_transformers import CrossEncoder
        except ImportError as exc:  # pragma: no cover - declared dependency
            raise RerankerUnavailable('需要 sentence-transformers：pip install "policy-assistant"') from exc
        try:
            self._model = CrossEncoder(model, device="cpu", local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any loading failure means "not on disk"
            raise RerankerUnavailable(
                f"无法加载重排模型“{model}”：模型须已在本机磁盘或 Hugging Face 缓存中（运行时不联网下载）。原因：{exc}"
            ) from None

    def rerank(self, query: str, hits: Sequence[ClauseHit], text_of: Callable[[ClauseHit], str]) -> list[ClauseHit]:
        """Rerank the first ``top_n`` hits; the rest keep their order below them.

        ``text_of`` gives a hit's section text: from the hit's own document (two documents' （十六） differ).
        """
        head, tail = list(hits[: self.top_n]), list(hits[self.top_n:])
        if len(head) < 2:
            return list(hits)
        pairs = [(query, text_of(h)) for h in head]
        scores = [float(s) for s in self._model.predict(pairs, show_progress_bar=False)]
        reranked = blend(head, scores, self.weight)
        floor = min(h.score for h in reranked)
        return reranked + [replace(h, score=min(h.score, floor)) for h in tail]
