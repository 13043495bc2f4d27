"""Whether a document without models of its own answers a question: learned on the training documents' questions.

The bundled measure's answerability model (``assistant.learned``) learned that measure's questions: judging another
document's section with it ranks questions well (AUC about 0.83 on the training and on the test documents) but its
probabilities mean nothing there — almost every question about a notice's procedure is "not answered" for a measure
that has no procedure. This model reads a question about a document without profiles the same way for any
document: the question's embedding, the measure model's judgement of the best section (as one figure among others),
how much of the question's words that section and its document contain, and the retrieval scores. It is fitted on
the questions of the fictional training documents (``evals/training_documents/``), whose writers marked what each
text leaves out, with the regularisation and the threshold chosen leave-one-document-out
(``evals.document_training``); the three test documents are never part of it.

A second regression over the same inputs says whether the question is about any policy at all: the training
documents' writers marked what their text leaves out, almost never a weather question, and a chit-chat question
whose best section is another document's (by a word like 深圳) was answered. It is fitted on those documents'
questions against the chit-chat of ``evals/questions/offtopic-calibration.jsonl`` and ``offtopic-document-model.jsonl``
(``evals.document_training.chit_chat_files``).

It only adds refusals: a question the model judges answered is left to the rules for text alone
(``assistant.text_only``: the out-of-scope topics a document does not cover, "too far").

Pure numpy, one small ``.npz`` of plain arrays beside the bundled models.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.learned import MODELS_DIR

if TYPE_CHECKING:
    from assistant.coverage import WordCoverage

DOCUMENT_MODEL_FILE = MODELS_DIR / "document_answerability.npz"
DOCUMENT_MODEL_FORMAT = 2

# The figures beside the question's embedding, in this order.
DOCUMENT_FIGURES: tuple[str, ...] = (
    "measure_logit",     # log-odds of the bundled measure's answerability model for this section (its own doc's words)
    "cover_section",     # share of the question's topic words in the best section (``assistant.coverage``)
    "cover_document",    # share found in the section's document
    "uncovered",         # how many are found in neither, /5
    "best_bm25",         # the best section's raw BM25 score, /10
    "best_dense",        # its cosine similarity
    "rule_route",        # 1 when a rule chose the section (a clause number, a follow-up)
    "english",           # 1 for an English question
)


@dataclass(frozen=True)
class DocumentFeatures:
    """What the model reads of one question about a document without profiles."""

    vector: np.ndarray    # the question's embedding
    figures: np.ndarray   # ``DOCUMENT_FIGURES``


def document_figures(measure_probability: float, coverage: WordCoverage, best_bm25: float, best_dense: float,
                     rule_route: bool, english: bool) -> np.ndarray:
    """``DOCUMENT_FIGURES`` for one question (``coverage``: against the best section and its own document)."""
    p = min(max(measure_probability, 1e-6), 1 - 1e-6)
    return np.array([math.log(p / (1 - p)), *coverage.figures(), best_bm25 / 10.0, best_dense, float(rule_route),
                     float(english)], dtype=np.float32)


@dataclass(frozen=True)
class Logistic:
    """A logistic regression over standardised (embedding, figures) rows."""

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray

    def probabilities(self, vectors: np.ndarray, figures: np.ndarray) -> np.ndarray:
        """For (n, dim) vectors and (n, len(DOCUMENT_FIGURES)) figures."""
        rows = np.hstack([np.asarray(vectors, dtype=np.float32), np.asarray(figures, dtype=np.float32)])
        return 1.0 / (1.0 + np.exp(-(((rows - self.mean) / self.scale) @ self.weights + self.bias)))


@dataclass(frozen=True)
class DocumentAnswerability:
    """Two logistic regressions over (embedding, figures): the probability that the document does not answer, and
    the probability that the question is about no policy at all (chit-chat: "今天深圳会不会下雨", whose best section a
    word like 深圳 chose)."""

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    threshold: float            # at or above it the answer says the document does not say
    embed_model: str
    inputs_hash: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    chit_chat: Logistic | None = None
    chit_chat_threshold: float = 1.0

    def probabilities(self, vectors: np.ndarray, figures: np.ndarray) -> np.ndarray:
        """For (n, dim) vectors and (n, len(DOCUMENT_FIGURES)) figures: not answered by the document."""
        return Logistic(self.weights, self.bias, self.mean, self.scale).probabilities(vectors, figures)

    def probability(self, features: DocumentFeatures) -> float:
        return float(self.probabilities(features.vector[None, :], features.figures[None, :])[0])

    def chit_chat_probability(self, features: DocumentFeatures) -> float:
        """The probability that the question asks nothing a policy answers (0.0 without that part)."""
        if self.chit_chat is None:
            return 0.0
        return float(self.chit_chat.probabilities(features.vector[None, :], features.figures[None, :])[0])

    def declines(self, features: DocumentFeatures, section_named: bool = False) -> bool:
        """Whether the document does not answer, or the question is chit-chat, at each part's threshold.
        ``section_named``: a rule chose the section (a clause number, the clause a follow-up is about), so the question
        is about a policy by construction and only the not-covered part judges ("那第九条呢" is short and has no
        policy words of its own: the chit-chat part, which reads the question alone, would take it for small talk)."""
        if self.probability(features) >= self.threshold:
            return True
        return not section_named and self.chit_chat_probability(features) >= self.chit_chat_threshold

    def save(self, path: Path | str) -> None:
        meta = {"format": DOCUMENT_MODEL_FORMAT, "bias": self.bias, "threshold": self.threshold,
                "embed_model": self.embed_model, "inputs_hash": self.inputs_hash, "info": self.info,
                "figures": list(DOCUMENT_FIGURES)}
        arrays = {"weights": self.weights, "mean": self.mean, "scale": self.scale}
        if self.chit_chat is not None:
            meta |= {"chit_chat_bias": self.chit_chat.bias, "chit_chat_threshold": self.chit_chat_threshold}
            arrays |= {"chit_chat_weights": self.chit_chat.weights, "chit_chat_mean": self.chit_chat.mean,
                       "chit_chat_scale": self.chit_chat.scale}
        stored = {k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()}
        stored["meta"] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8)
        np.savez_compressed(path, allow_pickle=False, **stored)

    @classmethod
    def load(cls, path: Path | str = DOCUMENT_MODEL_FILE) -> DocumentAnswerability:
        """Raises ValueError for a file of another format or other figures."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            if meta.get("format") != DOCUMENT_MODEL_FORMAT or meta.get("figures") != list(DOCUMENT_FIGURES):
                raise ValueError(f"{path}: not a document answerability model of format {DOCUMENT_MODEL_FORMAT}")
            chit_chat = (Logistic(data["chit_chat_weights"], float(meta["chit_chat_bias"]), data["chit_chat_mean"],
                                  data["chit_chat_scale"]) if "chit_chat_weights" in data.files else None)
            return cls(data["weights"], float(meta["bias"]), data["mean"], data["scale"], float(meta["threshold"]),
                       str(meta["embed_model"]), str(meta.get("inputs_hash", "")), dict(meta.get("info", {})),
                       chit_chat, float(meta.get("chit_chat_threshold", 1.0)))


def fit(vectors: np.ndarray, figures: np.ndarray, labels: np.ndarray, l2: float, steps: int = 1500,
        rate: float = 0.3) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Weights, bias and standardisation of an L2-regularised logistic regression (full-batch gradient descent:
    a few hundred questions, deterministic)."""
    rows = np.hstack([np.asarray(vectors, dtype=np.float64), np.asarray(figures, dtype=np.float64)])
    mean, scale = rows.mean(0), rows.std(0) + 1e-6
    z = (rows - mean) / scale
    y = np.asarray(labels, dtype=np.float64)
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
        w -= rate * (z.T @ (p - y) / len(y) + l2 * w / len(y))
        b -= rate * float((p - y).mean())
    return w.astype(np.float32), float(b), mean.astype(np.float32), scale.astype(np.float32)


@cache
def load_document_model(embed_model: str) -> DocumentAnswerability | None:
    """The shipped model when it exists and was fitted on this embedding model's vectors; else None (rules only)."""
    if not DOCUMENT_MODEL_FILE.exists():
        return None
    try:
        model = DocumentAnswerability.load(DOCUMENT_MODEL_FILE)
    except (ValueError, KeyError, OSError) as exc:
        import logging

        logging.getLogger("policy_assistant").warning("document answerability model not used: %s", exc)
        return None
    return model if model.embed_model == embed_model else None


# ---- recording features for training ---------------------------------------------------------------------------
_recording: list[list[DocumentFeatures]] = []


@contextmanager
def recording() -> Iterator[list[DocumentFeatures]]:
    """Collect the features of every judgement made inside the block (``evals.document_training``: the features
    are those the assistant reads when it answers, conversation and rule routes included)."""
    found: list[DocumentFeatures] = []
    _recording.append(found)
    try:
        yield found
    finally:
        _recording.pop()


def judge(features: DocumentFeatures, model: DocumentAnswerability | None, section_named: bool = False) -> bool | None:
    """True when ``model`` says the document does not answer or the question is chit-chat (not asked when a rule
    named the section: ``DocumentAnswerability.declines``); None: the rules for text alone decide (no model, or it
    judges the question answered). While ``recording`` (training), the features are kept and the model is not used:
    it is what is being fitted."""
    if _recording:
        _recording[-1].append(features)
        return None
    if model is None:
        return None
    return True if model.declines(features, section_named) else None
