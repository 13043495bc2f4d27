"""Calibrate the "not covered" thresholds on a question set (``policy-assistant eval --calibrate``).

A question that no out-of-scope topic catches is still declined when both retrieval channels are weak:
the best section's raw BM25 score and its cosine similarity are below ``ScopeThresholds``. This module
replays that rule over graded answers for a grid of thresholds, so that the values in
``assistant/scope.py`` can be re-derived from the train split at any time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from evals.metrics import AnswerView

BM25_GRID = (0.0, 1.0, 2.0, 3.0, 4.0)
RULE_ROUTES = frozenset({"reference", "followup", "meta", "largest", "amount-list"})
DENSE_GRID = (0.84, 0.86, 0.88, 0.89, 0.90, 0.91, 0.92, 0.94)


@dataclass(frozen=True)
class Observation:
    """What the threshold rule sees for one question."""

    must_refuse: bool
    topic_refusal: bool      # declined by the out-of-scope lexicon (independent of thresholds)
    best_bm25: float
    best_dense: float
    has_scores: bool         # False for answers routed without retrieval (clause references, meta questions)


@dataclass(frozen=True)
class CalibrationRow:
    bm25: float
    dense: float
    refused_in_scope: int    # in-scope questions the rule would decline (each one is a lost answer)
    caught_out_of_scope: int
    out_of_scope: int

    @property
    def recall(self) -> float:
        return self.caught_out_of_scope / self.out_of_scope if self.out_of_scope else 1.0


def observe(case_must_refuse: bool, answer: AnswerView) -> Observation:
    """Read the rule's inputs from one graded answer (its ranked sections, intent and refusal reason)."""
    retrieved = answer.retrieved
    bm25 = max((r.bm25_score or 0.0 for r in retrieved), default=0.0)
    dense = max((r.dense_score or 0.0 for r in retrieved), default=0.0)
    # Sections chosen by a rule (a clause reference, a follow-up, a meta question, a cap-table list) never
    # meet the threshold rule; the assistant marks them in their "via".
    first_via = retrieved[0].via if retrieved else ()
    routed = (answer.intent in ("reference", "largest", "amount-list") or not retrieved
              or any(v in RULE_ROUTES for v in first_via))
    return Observation(case_must_refuse, answer.refusal_reason.startswith("topic:"), bm25, dense, not routed)


def calibrate(observations: Sequence[Observation], bm25_grid: Iterable[float] = BM25_GRID,
              dense_grid: Iterable[float] = DENSE_GRID) -> list[CalibrationRow]:
    """Outcome of every threshold pair: lost in-scope answers and out-of-scope questions caught."""
    rows = []
    out_of_scope = sum(1 for o in observations if o.must_refuse)
    for bm25 in bm25_grid:
        for dense in dense_grid:
            lost = caught = 0
            for o in observations:
                declined = o.topic_refusal or (o.has_scores and o.best_bm25 < bm25 and o.best_dense < dense)
                if declined and not o.must_refuse:
                    lost += 1
                if declined and o.must_refuse:
                    caught += 1
            rows.append(CalibrationRow(bm25, dense, lost, caught, out_of_scope))
    return rows


def recommend(rows: Sequence[CalibrationRow]) -> CalibrationRow:
    """The most lenient pair that declines no more in-scope questions than the minimum while catching as
    many out-of-scope questions as any pair does.

    Leniency decides among equally good pairs: a stricter pair tried earlier declined in-scope questions of
    the held-out split, so the thresholds stay as low as the calibration questions allow. Calibrate on
    the train split plus ``evals/questions/offtopic-calibration.jsonl`` (chit-chat the lexicon cannot know).
    """
    floor = min(r.refused_in_scope for r in rows)
    safe = [r for r in rows if r.refused_in_scope == floor]
    most = max(r.caught_out_of_scope for r in safe)
    return min((r for r in safe if r.caught_out_of_scope == most), key=lambda r: (r.bm25 + 10 * r.dense))


def format_table(rows: Sequence[CalibrationRow], current: tuple[float, float]) -> str:
    lines = ["bm25   dense  in-scope declined  out-of-scope caught", "-----  -----  -----------------  -------------------"]
    for r in rows:
        mark = "  ← current" if (r.bm25, r.dense) == current else ""
        lines.append(f"{r.bm25:<5}  {r.dense:<5}  {r.refused_in_scope:>17}  {r.caught_out_of_scope:>10}/{r.out_of_scope:<8}{mark}")
    return "\n".join(lines)
