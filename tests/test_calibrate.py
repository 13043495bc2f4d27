"""The scope-threshold calibration replays the refusal rule over answers (hand-made cases)."""

from __future__ import annotations

from evals.calibrate import Observation, calibrate, observe, recommend
from evals.metrics import AnswerView


def test_observe_reads_the_graded_answer():
    answer = AnswerView.from_json({
        "intent": "general", "refusal_reason": "topic:税收优惠",
        "retrieved": [{"section": "九", "bm25_score": 3.5, "dense_score": 0.83},
                      {"section": "十", "bm25_score": 1.0, "dense_score": 0.86}]})
    o = observe(True, answer)
    assert (o.best_bm25, o.best_dense, o.topic_refusal, o.has_scores) == (3.5, 0.86, True, True)
    reference = AnswerView.from_json({"intent": "reference", "retrieved": [{"section": "九", "bm25_score": 0}]})
    assert not observe(False, reference).has_scores
    followup = AnswerView.from_json({"intent": "match", "retrieved": [
        {"section": "九", "bm25_score": 0.2, "dense_score": 0.86, "via": ["text", "followup"]}]})
    assert not observe(False, followup).has_scores        # chosen by the follow-up rule, not by its scores
    assert not observe(True, AnswerView.missing("q")).has_scores   # no answer: nothing for the rule to replay


def test_recommendation_never_loses_an_in_scope_answer_for_a_catch():
    observations = [
        Observation(True, False, 0.5, 0.81, True),    # out of scope, weak everywhere: catchable
        Observation(True, True, 9.0, 0.90, True),     # caught by the lexicon whatever the thresholds
        Observation(False, False, 0.8, 0.83, True),   # in scope but weak: must not be declined
        Observation(False, False, 0.0, 0.50, False),  # routed by reference: thresholds do not apply
    ]
    rows = calibrate(observations, bm25_grid=(0.0, 0.6, 0.7, 1.0), dense_grid=(0.80, 0.82, 0.83, 0.84))
    best = recommend(rows)
    assert best.refused_in_scope == 0 and best.caught_out_of_scope == 2
    # the most lenient pair that still catches both without a loss
    assert (best.bm25, best.dense) == (0.6, 0.82)
    worst = next(r for r in rows if (r.bm25, r.dense) == (1.0, 0.84))
    assert worst.refused_in_scope == 1
