"""Cross-encoder reranking: the blending rule (pure) and a real CrossEncoder built locally (no download)."""

from __future__ import annotations

import pytest

from indexing.retrieval.hits import ClauseHit
from indexing.retrieval.rerank import CrossEncoderReranker, RerankerUnavailable, blend


def hits(*pairs):
    return [ClauseHit("d", key, score, via=["text"]) for key, score in pairs]


def test_weight_zero_keeps_the_fused_order_and_one_follows_the_cross_encoder():
    candidates = hits(("十六", 1.0), ("七", 0.9), ("十七", 0.5))
    kept = blend(candidates, [0.0, 5.0, -5.0], weight=0.0)
    assert [h.section_key for h in kept] == ["十六", "七", "十七"]
    flipped = blend(candidates, [0.0, 5.0, -5.0], weight=1.0)
    assert [h.section_key for h in flipped] == ["七", "十六", "十七"]
    assert all("rerank" in h.via for h in flipped)


def test_blend_validates_its_input():
    with pytest.raises(ValueError):
        blend(hits(("一", 1.0)), [0.1, 0.2], 0.5)
    assert blend([], [], 0.5) == []


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(RerankerUnavailable, match="本机磁盘"):
        CrossEncoderReranker(str(tmp_path / "no-such-model"))


@pytest.mark.slow
def test_tiny_local_cross_encoder_reranks_real_sections(tmp_path, knowledge):
    from tiny_models import build_tiny_cross_encoder

    path = build_tiny_cross_encoder(tmp_path / "ce")
    reranker = CrossEncoderReranker(str(path), top_n=3, weight=1.0)
    candidates = hits(("十六", 1.0), ("七", 0.8), ("十七", 0.6), ("九", 0.2))
    out = reranker.rerank("孵化器最多能补多少", candidates, lambda hit: knowledge.section(hit.section_key).text)
    assert {h.section_key for h in out[:3]} == {"七", "十六", "十七"}
    assert out[3].section_key == "九" and out[3].score <= min(h.score for h in out[:3])
    assert all("rerank" in h.via for h in out[:3])


@pytest.mark.slow
def test_assistant_uses_a_configured_reranker(tmp_path, built_home):
    from conftest import CORPUS
    from tiny_models import build_tiny_cross_encoder

    from assistant.service import PolicyAssistant
    from indexing.config import IndexConfig

    path = build_tiny_cross_encoder(tmp_path / "ce")
    assistant = PolicyAssistant.open(index_config=IndexConfig(home=built_home, corpus_dir=CORPUS), rerank_model=str(path))
    answer = assistant.ask(["孵化器最多能补多少"]).to_json()
    assert any("rerank" in r["via"] for r in answer["retrieved"])
    assert assistant.health()["rerank_model"] == str(path)
