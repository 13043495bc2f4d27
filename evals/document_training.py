"""``policy-assistant train --documents``: fit the document answerability model on the training documents.

The bundled measure and the fictional training documents (``evals/training_documents/``, never the three test
documents of ``evals/documents/``) are indexed together; every question of the training documents is asked as the
assistant asks it, and the features its answer was judged on (``assistant.document_answerability.recording``) are
kept for each question the rules did not already decline, labelled by whether its writer marked it not covered.
The regularisation and the threshold are chosen leave-one-document-out: each training document's questions are
judged by a model fitted on the other documents' questions, and among the pairs whose refusals are right at least
``MIN_PRECISION`` of the time — the standard the bundled measure's refusals are held to in CI — the one declining
the most not-covered questions wins. (Session 27 weighed a wrong refusal twice a caught one instead; with ten
documents that choice declined 17 answerable questions leave-one-document-out and, on the held-out test documents,
more answerable questions than not-covered ones: how many of a set's questions are not covered moves such a score,
a precision floor much less.) Deterministic: same questions, same model.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

L2_GRID = (10.0, 30.0, 100.0, 300.0)
THRESHOLD_GRID = tuple(round(0.5 + 0.05 * i, 2) for i in range(9))   # 0.50 … 0.90
MIN_PRECISION = 0.95
# What the document model's features are made by, beside the bundled models (whose own hash covers the rest).
FEATURE_SOURCES = ("assistant/document_answerability.py", "assistant/coverage.py", "evals/document_training.py")


@dataclass(frozen=True)
class Sample:
    """One training document question's features and label."""

    doc: str
    vector: np.ndarray
    figures: np.ndarray
    not_covered: bool


@dataclass(frozen=True)
class Choice:
    """A (regularisation, threshold) pair and what it did leave-one-document-out."""

    l2: float
    threshold: float
    caught: int      # not-covered questions declined
    wrong: int       # answerable questions declined

    @property
    def precision(self) -> float:
        """The share of its refusals that were right (1.0 when it declines nothing)."""
        declined = self.caught + self.wrong
        return self.caught / declined if declined else 1.0


def inputs_hash(documents_dir: Path, questions_dir: Path, bundled_hash: str) -> str:
    """What the model was fitted from: the training documents and their questions, the bundled models, the code."""
    from evals.training import digest_files, digest_sources

    digest = hashlib.sha256(f"v1:{bundled_hash}".encode())
    digest_files(digest, sorted([*documents_dir.glob("*/*.txt"), *documents_dir.glob("*/*.toml"),
                                 *questions_dir.glob("*.jsonl")]))
    digest_sources(digest, FEATURE_SOURCES)
    return digest.hexdigest()[:16]


def collect(assistant: Any, sets: dict[str, list[Any]], progress: Callable[[str], None] | None = None) -> list[Sample]:
    """Ask every question; keep the features of its last turn's judgement when the rules did not decline it."""
    from assistant.document_answerability import recording

    samples = []
    for doc_id, cases in sets.items():
        if progress:
            progress(doc_id)
        for case in cases:
            turns = list(case.turns)
            if len(turns) > 1:
                assistant.ask(turns[:-1])   # the earlier turns, cached: only the last one is judged while recording
            with recording() as judged:
                answer = assistant.ask(turns)
            if judged and not answer.refused:
                samples.append(Sample(doc_id, judged[-1].vector, judged[-1].figures, case.must_refuse))
    return samples


def _arrays(samples: Sequence[Sample]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.stack([s.vector for s in samples]), np.stack([s.figures for s in samples]),
            np.array([s.not_covered for s in samples], dtype=np.float64))


def choose(samples: Sequence[Sample]) -> tuple[Choice, list[Choice]]:
    """The best (l2, threshold) leave-one-document-out, and every pair's figures."""
    from assistant.document_answerability import DocumentAnswerability, fit

    vectors, figures, labels = _arrays(samples)
    docs = np.array([s.doc for s in samples])
    grid = []
    for l2 in L2_GRID:
        held = np.zeros(len(samples))
        for doc in sorted(set(docs)):
            train = docs != doc
            w, b, mean, scale = fit(vectors[train], figures[train], labels[train], l2)
            model = DocumentAnswerability(w, b, mean, scale, threshold=1.0, embed_model="")
            held[~train] = model.probabilities(vectors[~train], figures[~train])   # as the shipped model reads
        for threshold in THRESHOLD_GRID:
            declined = held >= threshold
            grid.append(Choice(l2, threshold, int((declined & (labels == 1)).sum()), int((declined & (labels == 0)).sum())))
    return max(grid, key=_preference), grid


def _preference(choice: Choice) -> tuple[bool, int, float, float]:
    """How ``choose`` ranks a pair: precise enough first, then the most caught (the fewest wrong when none is
    precise enough); ties to the higher threshold, then the stronger regularisation (the more cautious model)."""
    precise = choice.precision >= MIN_PRECISION
    return precise, choice.caught if precise else -choice.wrong, choice.threshold, choice.l2


def train_documents(documents_dir: Path, questions_dir: Path, home: Path | None = None,
                    progress: Callable[[str], None] | None = None) -> Any:
    """Index, ask, choose and fit: the model to ship (``DocumentAnswerability``)."""
    from assistant.document_answerability import DocumentAnswerability, fit
    from evals.documents_eval import load_document_sets, open_multi_document_assistant

    sets = load_document_sets(with_dev=False, documents_dir=documents_dir, questions_dir=questions_dir)
    with tempfile.TemporaryDirectory(prefix="pa-document-training-") as scratch:
        assistant = open_multi_document_assistant(Path(home or scratch), list(sets), documents_dir)
        understanding = assistant.understanding
        if understanding is None:
            raise ValueError("the bundled models are needed: run policy-assistant train first")
        samples = collect(assistant, sets, progress)
    best, _ = choose(samples)
    vectors, figures, labels = _arrays(samples)
    w, b, mean, scale = fit(vectors, figures, labels, best.l2)
    info = {"documents": sorted(sets), "questions": len(samples), "not_covered": int(labels.sum()),
            "l2": best.l2, "lodo_caught": best.caught, "lodo_wrong": best.wrong}
    return DocumentAnswerability(w, b, mean, scale, best.threshold, understanding.embed_model,
                                 inputs_hash(documents_dir, questions_dir, understanding.inputs_hash), info)
