"""Run a question set through the assistant (or read answers produced elsewhere) and grade the answers.

The assistant's answers are graded as the typed ``Answer`` it returns; only answers read from a file (``eval
--answers``: ``ask --jsonl`` output or another system's) are read from JSON, by ``AnswerView.from_json``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from assistant.answer import Answer
from evals.metrics import (
    AnswerView,
    ClauseStats,
    EvalCase,
    Graded,
    Summary,
    by_clause,
    by_persona,
    by_tag,
    grade,
    summarize,
)
from indexing.retrieval.hits import DEFAULT_RETRIEVER_MODE, RetrieverMode


class Asker(Protocol):
    """What the runner needs from an assistant: ``PolicyAssistant.ask`` (the ``ask --jsonl`` path)."""

    def ask(self, turns: list[str], id: str | None = None) -> Answer: ...


Progress = Callable[[int, int, EvalCase], None]


@dataclass
class Matching:
    """An assistant graded on policy matching (``eval --match``, the match tab's path): each case's last turn is a
    company description, answered by ``match``."""

    assistant: Any

    @property
    def knowledge(self) -> Any:
        return self.assistant.knowledge

    def ask(self, turns: list[str], id: str | None = None) -> Answer:
        answer: Answer = self.assistant.match(turns[-1])
        answer.id = id
        return answer


@dataclass
class EvalRun:
    """The graded answers of one configuration on one question set.

    ``retrieval_only`` marks runs that produce a ranked list but no composed answer (the plain
    VectorStoreIndex baseline): only retrieval metrics mean anything for them.
    """

    label: str
    graded: list[Graded]
    retrieval_only: bool = False
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> Summary:
        return summarize(self.graded)

    @property
    def by_persona(self) -> dict[str, Summary]:
        return by_persona(self.graded)

    @property
    def by_tag(self) -> dict[str, Summary]:
        return by_tag(self.graded)

    @property
    def by_clause(self) -> dict[str, ClauseStats]:
        return by_clause(self.graded)

    def to_json(self, cases: bool = True) -> dict[str, Any]:
        """One JSON object with the summary, the breakdowns and (optionally) every graded case."""
        data: dict[str, Any] = {
            "label": self.label,
            "retrieval_only": self.retrieval_only,
            "settings": self.settings,
            "summary": self.summary.to_json(),
            "by_persona": {k: v.to_json() for k, v in self.by_persona.items()},
            "by_tag": {k: v.to_json() for k, v in self.by_tag.items()},
            "by_clause": {
                k: {"n": s.n, "top1_accuracy": round(s.top1_accuracy, 4), "cited_rate": round(s.cited_rate, 4),
                    "retrieved_at_5": s.retrieved_at_5, "n_retrieval": s.n_retrieval}
                for k, s in self.by_clause.items()
            },
        }
        if cases:
            data["cases"] = [g.to_json() for g in self.graded]
        return data


# An answer to grade: the assistant's typed answer, or one in the JSON contract read from a file.
Gradable = Answer | Mapping[str, Any]


def ask_all(assistant: Asker, cases: Sequence[EvalCase], progress: Progress | None = None) -> list[Answer]:
    """Ask every question and collect the typed answers.

    An exception on one question is recorded as that answer's ``error`` (``Answer.rejected``) so the run goes on;
    the wall-clock time is used as ``latency_ms`` when the answer does not report one.

    Args:
        assistant: anything with ``ask(turns, id=...)`` returning an ``Answer``.
        cases: the questions.
        progress: called with (index, total, case) before each question.

    Returns:
        The answers, one per case, in order, each with the case's ``id``.
    """
    answers: list[Answer] = []
    for index, case in enumerate(cases):
        if progress:
            progress(index, len(cases), case)
        started = time.perf_counter()
        try:
            answer = assistant.ask(list(case.turns), id=case.id)
        except Exception as exc:  # noqa: BLE001 - one failing question must not end the run; it is graded
            answer = Answer.rejected(case.question, f"{type(exc).__name__}: {exc}", case.id)
        elapsed = (time.perf_counter() - started) * 1000
        if not round(answer.latency_ms, 1):   # reported as 0.0: not measured by the answerer
            answer.latency_ms = elapsed
        answer.id = case.id
        answers.append(answer)
    return answers


def view_of(answer: Gradable) -> AnswerView:
    """What grading reads of an answer: a typed one directly, one from a file through ``AnswerView.from_json``."""
    return AnswerView.of(answer) if isinstance(answer, Answer) else AnswerView.from_json(answer)


def grade_answers(
    cases: Sequence[EvalCase],
    answers: Mapping[str, Gradable] | Iterable[Gradable],
    known_amounts: Iterable[float] | None = None,
    home_doc: str = "",
) -> list[Graded]:
    """Grade answers against cases, matching by id; a case without an answer is graded as missing.

    Args:
        cases: the questions with gold.
        answers: answers keyed by id, or a list of them (each with its ``id``): typed ``Answer`` objects, or JSON
            objects of the contract read from a file.
        known_amounts: the cap table's figures in 万元 (``None`` skips the unsupported-amount check).
        home_doc: the document of cases that name none (the answering assistant's primary document); "" grades
            those by section key alone.

    Returns:
        One graded record per case, in case order.
    """
    if isinstance(answers, Mapping):
        views = {key: view_of(a) for key, a in answers.items()}
    else:
        views = {str(view.id): view for view in map(view_of, answers)}
    known = None if known_amounts is None else tuple(known_amounts)
    return [grade(case, views.get(case.id) or AnswerView.missing(case.id), known, home_doc) for case in cases]


def evaluate(
    assistant: Asker,
    cases: Sequence[EvalCase],
    known_amounts: Iterable[float] | None,
    label: str,
    *,
    retrieval_only: bool = False,
    settings: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> EvalRun:
    """Ask every question, then grade: one :class:`EvalRun`."""
    graded = grade_answers(cases, ask_all(assistant, cases, progress), known_amounts, primary_doc_of(assistant))
    return EvalRun(label, graded, retrieval_only=retrieval_only, settings=dict(settings or {}))


def evaluate_answers_file(
    cases: Sequence[EvalCase], path: Path | str, known_amounts: Iterable[float] | None, label: str | None = None
) -> tuple[EvalRun, list[str]]:
    """Grade an answers JSONL produced elsewhere (``ask --jsonl`` or an external system) by id.

    Returns:
        The run, and the ids present in the file but not in the question set (ignored).

    Raises:
        evals.questions_io.QuestionFileError: if the answers file is malformed.
    """
    from evals.questions_io import load_answers

    answers = load_answers(path)
    graded = grade_answers(cases, answers, known_amounts)
    wanted = {c.id for c in cases}
    extra = [answer_id for answer_id in answers if answer_id not in wanted]
    return EvalRun(label or Path(path).name, graded, settings={"answers": str(path)}), extra


def open_assistant(retriever: RetrieverMode = DEFAULT_RETRIEVER_MODE, use_profiles: bool = True, expand: bool = True,
                   rerank: bool | None = None) -> Asker:
    """Open the real assistant (imports ``assistant.service`` only when called).

    ``rerank``: None follows the environment; False switches a configured cross-encoder off, so that
    baselines compare with and without it.
    """
    from assistant.service import PolicyAssistant
    from assistant.settings import AssistantConfig

    settings: dict[str, Any] = {"rerank_model": None} if rerank is False else {}
    config = AssistantConfig(retriever=retriever, use_profiles=use_profiles, expand=expand, **settings)
    return PolicyAssistant.open(config=config)


def primary_doc_of(assistant: Any) -> str:
    """The id of the assistant's primary document ("" for an answerer without a knowledge base)."""
    primary = getattr(getattr(assistant, "knowledge", None), "primary", None)
    return str(primary.meta.id) if primary is not None else ""


def known_amounts_of(assistant: Any) -> set[float] | None:
    """The cap table's figures from ``assistant.knowledge.caps``, or ``None`` if it has no knowledge."""
    knowledge = getattr(assistant, "knowledge", None)
    caps = getattr(knowledge, "caps", None)
    return set(caps.amounts()) if caps is not None else None
