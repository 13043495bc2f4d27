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
from indexing.section_ref import SectionRef


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


def test_same_numbered_sections_of_two_documents_are_fused_apart():
    """The retriever keys channels by SectionRef: one document's （十六） adds nothing to another's."""
    ours, theirs = SectionRef("measure", "clause", "十六"), SectionRef("district", "clause", "十六")
    channels = {"bm25_text": aggregate_max([(ours, 4.0), (theirs, 8.0), (theirs, 2.0)]),
                "dense_text": {ours: 0.9, theirs: 0.8, SectionRef("measure", "preamble"): 0.7}}
    fused = fuse(channels, FusionWeights(dense_text=1.0))
    assert fused[theirs] == (1.0 * 1.0 + 1.0 * 0.0) / 2 and fused[ours] == (1.0 * 0.5 + 1.0 * 1.0) / 2
