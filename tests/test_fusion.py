"""Fusion: scaling per channel, weights, and why it is not plain RRF."""

from __future__ import annotations

from indexing.retrieval.fusion import (
    FusionWeights,
    aggregate_max,
    fuse,
    reciprocal_rank_fusion,
    scale_bm25,
    scale_dense,
)


def test_aggregate_keeps_the_best_chunk():
    assert aggregate_max([("a", 1.0), ("a", 3.0), ("b", 2.0)]) == {"a": 3.0, "b": 2.0}


def test_scaling():
    assert scale_bm25({"a": 10.0, "b": 5.0, "c": 0.0}) == {"a": 1.0, "b": 0.5, "c": 0.0}
    assert scale_bm25({"a": 0.0}) == {"a": 0.0}
    dense = scale_dense({"a": 0.90, "b": 0.85, "c": 0.80, "d": 0.80, "e": 0.79})
    assert dense["a"] == 1.0 and dense["c"] == 0.0 and 0 < dense["b"] < 1


def test_a_clear_bm25_leader_survives_a_weak_dense_disagreement():
    """RRF would tie these; calibrated fusion keeps the margin of the confident channel."""
    channels = {
        "bm25_text": {"a": 12.0, "b": 2.0, "c": 1.0},
        "dense_text": {"b": 0.835, "a": 0.833, "c": 0.80, "d": 0.80},
    }
    fused = fuse(channels, FusionWeights())
    assert max(fused, key=fused.get) == "a"
    rrf = reciprocal_rank_fusion([["a", "b", "c"], ["b", "a", "c", "d"]])
    assert rrf["a"] == rrf["b"]


def test_zero_weight_channels_are_ignored():
    weights = FusionWeights(dense_text=0.0, dense_profile=0.0, bm25_profile=0.0)
    fused = fuse({"bm25_text": {"a": 1.0}, "dense_text": {"b": 0.9, "a": 0.1}}, weights)
    assert fused == {"a": 1.0}
