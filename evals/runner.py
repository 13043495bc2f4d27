"""Run a question set through the assistant (or read answers produced elsewhere) and grade the answers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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


class AnswerLike(Protocol):
    def to_json(self) -> dict[str, Any]: ...


class Asker(Protocol):
    """What the runner needs from an assistant: ``PolicyAssistant.ask`` (the ``ask --jsonl`` path)."""

    def ask(self, turns: list[str], id: str | None = None) -> AnswerLike: ...


Progress = Callable[[int, int, EvalCase], None]


@dataclass
class EvalRun:
    """The graded answers of one configuration on one question set.

    ``retrieval_only`` marks runs that produce a ranked list but no composed answer (the plain
    VectorStoreIndex baseline): only retrieval metrics mean anything for them.
    """

    label: str
    graded: list[Graded]
    answers: list[dict[str, Any]] = field(default_factory=list)
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


def error_json(case: EvalCase, message: str) -> dict[str, Any]:
    """An answer in the contract's shape for a question the assistant failed on."""
    return {
        "id": case.id, "question": case.question, "rewritten_question": "", "answer": "", "citations": [],
        "caps": [], "refused": False, "notices": [], "latency_ms": 0.0, "intent": "error", "retrieved": [],
        "error": message,
    }


def ask_all(assistant: Asker, cases: Sequence[EvalCase], progress: Progress | None = None) -> list[dict[str, Any]]:
    """Ask every question and collect the answers' JSON.

    An exception on one question is recorded as that answer's ``error`` so the run goes on; the
    wall-clock time is used as ``latency_ms`` when the answer does not report one.

    Args:
        assistant: anything with ``ask(turns, id=...)`` returning an object with ``to_json()``.
        cases: the questions.
        progress: called with (index, total, case) before each question.

    Returns:
        The answers, one per case, in order, each with the case's ``id``.
    """
    answers: list[dict[str, Any]] = []
    for index, case in enumerate(cases):
        if progress:
            progress(index, len(cases), case)
        started = time.perf_counter()
        try:
            data = dict(assistant.ask(list(case.turns), id=case.id).to_json())
        except Exception as exc:  # noqa: BLE001 - one failing question must not end the run; it is graded
            data = error_json(case, f"{type(exc).__name__}: {exc}")
        elapsed = (time.perf_counter() - started) * 1000
        if not data.get("latency_ms"):
            data["latency_ms"] = round(elapsed, 1)
        data["id"] = case.id
        answers.append(data)
    return answers


def grade_answers(
    cases: Sequence[EvalCase],
    answers: Mapping[str, Mapping[str, Any]] | Iterable[Mapping[str, Any]],
    known_amounts: Iterable[float] | None = None,
) -> list[Graded]:
    """Grade answers against cases, matching by id; a case without an answer is graded as missing.

    Args:
        cases: the questions with gold.
        answers: answer objects keyed by id, or a list of them (each with ``id``).
        known_amounts: the cap table's figures in 万元 (``None`` skips the unsupported-amount check).

    Returns:
        One graded record per case, in case order.
    """
    if not isinstance(answers, Mapping):
        answers = {str(a.get("id")): a for a in answers}
    known = None if known_amounts is None else tuple(known_amounts)
    graded = []
    for case in cases:
        data = answers.get(case.id)
        view = AnswerView.from_json(data) if data is not None else AnswerView.missing(case.id)
        graded.append(grade(case, view, known))
    return graded


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
    answers = ask_all(assistant, cases, progress)
    graded = grade_answers(cases, answers, known_amounts)
    return EvalRun(label, graded, answers, retrieval_only=retrieval_only, settings=dict(settings or {}))


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
    ordered = [answers[c.id] for c in cases if c.id in answers]
    return EvalRun(label or Path(path).name, graded, ordered, settings={"answers": str(path)}), extra


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


def known_amounts_of(assistant: Any) -> set[float] | None:
    """The cap table's figures from ``assistant.knowledge.caps``, or ``None`` if it has no knowledge."""
    knowledge = getattr(assistant, "knowledge", None)
    caps = getattr(knowledge, "caps", None)
    return set(caps.amounts()) if caps is not None else None
