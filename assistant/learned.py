"""Learned understanding: which section a question is about, and whether the documents answer it at all.

Both are small linear models over the question's embedding (the same vector the dense search already computed, so
they add no model inference) and a few retrieval figures; the section model's probabilities are blended with the
votes of the training questions nearest to the question (``Neighbours``). They are trained from the question files by
``policy-assistant train`` (``evals/training.py``), stored as one ``.npz`` of plain arrays beside the corpus, and
loaded on first use. Pure numpy: no pickle, no scikit-learn at run time.

Why learned instead of more patterns: every hand-written rule fitted the writers it was written for, and the next
unseen writer found new gaps (see ``evals/questions/README.md``). A model trained on many writers' wording and
measured leave-one-writer-out generalises instead.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MODEL_FORMAT = 7
MODELS_DIR = Path(__file__).resolve().parent.parent / "corpus" / "models"
DEFAULT_MODELS_FILE = MODELS_DIR / "understanding.npz"

# Retrieval figures the answerability model sees beside the question's embedding, in this order.
ANSWERABILITY_FEATURES: tuple[str, ...] = (
    "best_bm25",        # best section's raw BM25 score (user's words and expansion), /10
    "best_dense",       # best section's cosine similarity
    "topic",            # 1 when an out-of-scope topic of the lexicon is named in the question
    "too_far",          # 1 when both raw scores are under the calibrated scope thresholds
    "p_max",            # the section model's highest probability
    "p_entropy",        # entropy of the section model's distribution (nats)
    "rule_route",       # 1 when a rule chose the section (a clause number, a follow-up, the measure itself)
    "cover_section",    # share of the question's topic words found in the best section (``assistant/coverage.py``)
    "cover_documents",  # share found anywhere in the documents
    "uncovered",        # how many are found nowhere, /5
)

SECTION_NEIGHBOURS = 10        # nearest answered questions whose gold sections vote (``Neighbours.section_votes``)
NEIGHBOUR_SHARPNESS = 20.0     # a vote's weight: exp(sharpness × (its similarity − the nearest one's))
MASKED = -2.0                  # similarity given to a question that must not be its own neighbour (cosines ≥ −1)

NGRAM_DIM = 1 << 12        # the section model's n-gram slots
# The answerability model's n-grams (stored with the model, so the file says how it was trained). With 17 writers,
# 2^14 slots at weight 2 raised not-covered recall but let precision fall (0.966 → 0.957) and refused an answerable
# dev money question, so it waited for more labelled "the text lacks this" questions. With 28 writers (780 of them),
# nested over five writer groups: 2^12 ×1 recall 0.781 / precision 0.973, 2^14 ×1 0.823 / 0.976, 2^14 ×2 0.858 / 0.970
# — what a question asks (a window, a list, whether awards stack) is spread over many rare n-grams that 2^12 slots
# collide away.
ANSWER_NGRAM_DIM = 1 << 14
ANSWER_NGRAM_SCALE = 2.0


def ask_ngrams(text: str, dim: int = NGRAM_DIM) -> np.ndarray:
    """Which character 1–3-grams the question holds, hashed into ``dim`` slots (0/1).

    The embedding says what a question is *about*; whether the text answers it often rests on what it *asks*
    (a deadline, the materials, whether two awards stack, a district's top-up), which short character n-grams
    carry and the section model's embedding blurs. Learned from the refusal labels; no word list.
    """
    vector = np.zeros(dim, dtype=np.float32)
    vector[ngram_indices(text, dim)] = 1.0
    return vector


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


def ngram_indices(text: str, dim: int) -> np.ndarray:
    """The hashed slots of ``ask_ngrams`` that are 1, sorted (what a sparse dot product needs)."""
    compact = "".join(ch for ch in text if not ch.isspace())
    slots = {zlib.crc32(compact[i:i + n].encode("utf-8")) % dim for n in (1, 2, 3) for i in range(len(compact) - n + 1)}
    return np.array(sorted(slots), dtype=np.int64)


@dataclass(frozen=True)
class QuestionReading:
    """A question's and its facets' vectors, and the section model's probabilities for each row.

    Computed once per question: the retrieval prior and the answerability model both read the probabilities.
    """

    texts: tuple[str, ...]                 # the question first, then its facets
    vectors: np.ndarray                    # (len(texts), dim)
    probabilities: np.ndarray | None = None   # (len(texts), n_sections); None without the learned models


@dataclass(frozen=True)
class SectionModel:
    """Multinomial logistic regression: (question vector, its character n-grams) → probability of each section.

    The embedding carries what a founder's words *mean*; the n-grams carry the domain words that decide between
    neighbouring clauses (头显 vs 终端, 孵化 vs 园区). Measured leave-one-writer-out, adding the n-grams lifted the
    held-out writers' top-1 on retrieved questions from 0.86 to 0.94 (README, evaluation).
    """

    sections: tuple[str, ...]
    weights: np.ndarray      # (dim, n_sections) for the vector
    bias: np.ndarray         # (n_sections,)
    ngram_weights: np.ndarray | None = None   # (ngram_dim, n_sections); None: the vector alone
    ngram_scale: float = 1.0

    def probabilities(self, vectors: np.ndarray, texts: Sequence[str] = (),
                      slots: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """(n, n_sections) probabilities for (n, dim) unit vectors and their n texts (``slots``: the texts'
        ``ngram_indices`` at this model's size, when the caller has them already)."""
        logits = np.asarray(vectors, dtype=np.float32) @ self.weights + self.bias
        if self.ngram_weights is not None:
            dim = self.ngram_weights.shape[0]
            for row, text in enumerate(texts):
                grams = slots[row] if slots is not None else ngram_indices(text, dim)
                logits[row] += self.ngram_scale * self.ngram_weights[grams].sum(axis=0)
        return softmax(logits)

    def distribution(self, vector: np.ndarray, text: str = "") -> dict[str, float]:
        probs = self.probabilities(np.asarray(vector)[None, :], [text])[0]
        return {key: float(p) for key, p in zip(self.sections, probs, strict=True)}


@dataclass(frozen=True)
class AnswerabilityModel:
    """Logistic regression: (question vector, its character n-grams × ``ngram_scale``, retrieval figures) →
    probability that the documents do not answer it."""

    weights: np.ndarray      # (dim + ngram_dim + n_features,)
    bias: float
    mean: np.ndarray         # standardisation of the retrieval figures
    scale: np.ndarray
    ngram_dim: int = ANSWER_NGRAM_DIM
    ngram_scale: float = ANSWER_NGRAM_SCALE

    def probability(self, vectors: np.ndarray, figures: np.ndarray, texts: Sequence[str],
                    slots: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """Probability of "not answered" for (n, dim) vectors, (n, n_features) figures and the n question texts
        (``slots``: as in ``SectionModel.probabilities``)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        z = (np.asarray(figures, dtype=np.float32) - self.mean) / self.scale
        dim = vectors.shape[1]
        gram_weights = self.weights[dim:dim + self.ngram_dim]
        logits = vectors @ self.weights[:dim] + z @ self.weights[dim + self.ngram_dim:] + self.bias
        for row, text in enumerate(texts):
            grams = slots[row] if slots is not None else ngram_indices(text, self.ngram_dim)
            logits[row] += self.ngram_scale * gram_weights[grams].sum()
        return sigmoid(logits)


@dataclass(frozen=True)
class Neighbours:
    """The answered training questions themselves: a new question's nearest ones vote for their gold sections.

    Why beside the section model: a linear model draws one boundary per section through the whole embedding space,
    and how founders word a clause's business lies in many small pockets of it that several writers fill in their own
    words. Measured on writers held out in five groups (6,760 training questions), blending the votes into the section
    probabilities lifted top-1 on retrieved questions 0.955 → 0.966 (Chinese) and 0.868 → 0.902 (English), no less
    when neighbours more similar than 0.95 (near copies) were left out.

    Not used for answerability, though it raised held-out "not covered" recall a lot (0.81 → 0.91): the nearest
    questions to "What support is there for a livestreaming base?" or "直播基地能拿什么资助？" are other writers'
    questions about the *details* of that clause the text lacks (who won it last year, the deadline, a district's
    top-up) — the embedding says what a question is about more than what it asks — so plain questions about the
    clauses most asked about were declined.
    """

    vectors: np.ndarray      # (n, dim) unit vectors of answered questions, stored as float16
    gold: np.ndarray         # (n, n_sections) each one's gold distribution
    writers: np.ndarray | None = None   # (n,) writer codes, in training only: a question is not its writer's neighbour

    def __post_init__(self) -> None:
        # Rounded through float16 (how they are stored) once, so a trained model reads as its saved file does.
        object.__setattr__(self, "vectors", np.asarray(self.vectors, dtype=np.float16).astype(np.float32))
        object.__setattr__(self, "gold", np.asarray(self.gold, dtype=np.float32))

    def section_votes(self, vectors: np.ndarray, writers: np.ndarray | None = None) -> np.ndarray:
        """(m, n_sections): the nearest questions' gold sections, weighted by how near each is (``writers``: the m
        questions' writer codes; a neighbour of the same writer does not vote)."""
        sims = np.atleast_2d(np.asarray(vectors, dtype=np.float32)) @ self.vectors.T
        if writers is not None and self.writers is not None:
            writers = np.asarray(writers)
            for writer in np.intersect1d(writers, self.writers):   # a writer at a time: a few dozen small blocks
                sims[np.ix_(np.flatnonzero(writers == writer), np.flatnonzero(self.writers == writer))] = MASKED
        k = min(SECTION_NEIGHBOURS, sims.shape[1])
        if k == 0:
            return np.full((len(sims), self.gold.shape[1]), 1.0 / max(self.gold.shape[1], 1), np.float32)
        top = np.argpartition(sims, sims.shape[1] - k, axis=1)[:, sims.shape[1] - k:]
        near = np.take_along_axis(sims, top, axis=1)
        weights = np.exp(NEIGHBOUR_SHARPNESS * (near - near.max(axis=1, keepdims=True)))
        gold = self.gold[top]                                            # (m, k, n_sections)
        return ((gold * weights[:, :, None]).sum(axis=1) / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def retrieval_figures(
    best_bm25: float, best_dense: float, topic: bool, too_far: bool, probabilities: Sequence[float] | np.ndarray,
    rule_route: bool = False, coverage: Sequence[float] = (1.0, 1.0, 0.0),
) -> np.ndarray:
    """The answerability model's figures for one question, in ``ANSWERABILITY_FEATURES`` order (``coverage`` is
    ``WordCoverage.figures()``)."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)
    entropy = float(-(p * np.log(p)).sum()) if p.size else 0.0
    return np.array(
        [best_bm25 / 10.0, best_dense, float(topic), float(too_far), float(p.max()) if p.size else 0.0, entropy,
         float(rule_route), *coverage],
        dtype=np.float32,
    )


@dataclass(frozen=True)
class Understanding:
    """The learned parts, with the settings chosen for them on held-out writers during training.

    ``prior_weight``: how much of the section probability is added to the fused retrieval score;
    ``refuse_threshold``: "not answered" probability at or above which the answer says the documents do not say;
    ``refuse_thresholds``: the same for the questions of one language (``assistant.language``), where its own
    held-out questions allow a lower one (``evals.training.choose_language_thresholds``); other languages use
    ``refuse_threshold``.
    ``context_weight``: extra bonus for the previous turn's sections in a follow-up. The section model reads only
    the last turn, and its peaked prior outweighed retrieval's small fixed bonus for the conversation's clause
    (leave-one-writer-out, choosing it in the folds: section top-1 0.946 → 0.950, all of it on follow-ups).
    ``neighbours``, ``neighbour_share``: the answered training questions, and the share of their votes in the
    section probabilities (chosen in the folds like the weights).
    """

    embed_model: str
    sections: SectionModel
    answerability: AnswerabilityModel | None
    prior_weight: float
    refuse_threshold: float
    inputs_hash: str = ""
    info: Mapping[str, object] = field(default_factory=dict)
    context_weight: float = 0.0
    refuse_thresholds: Mapping[str, float] = field(default_factory=dict)
    neighbours: Neighbours | None = None
    neighbour_share: float = 0.0     # the neighbours' votes' share in the section probabilities (chosen in training)

    # ---- use -------------------------------------------------------------------------------------
    def read(self, vectors: np.ndarray, texts: Sequence[str]) -> QuestionReading:
        """The section probabilities of a question (row 0) and its facets, kept beside their vectors."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        probabilities = self.sections.probabilities(vectors, texts)
        if self.neighbours is not None and self.neighbour_share > 0:
            votes = self.neighbours.section_votes(vectors)
            probabilities = (1.0 - self.neighbour_share) * probabilities + self.neighbour_share * votes
        return QuestionReading(tuple(texts), vectors, probabilities)

    def prior(self, vectors: np.ndarray, texts: Sequence[str], carried: Sequence[str] = ()) -> dict[str, float]:
        """Bonus per section for a question (row 0) and its facets (later rows, counted at 0.9 like in retrieval),
        plus ``context_weight`` for the ``carried`` sections of the turn before."""
        return self.prior_of(self.read(vectors, texts), carried)

    def prior_of(self, reading: QuestionReading, carried: Sequence[str] = ()) -> dict[str, float]:
        """``prior`` from probabilities computed already."""
        probs = reading.probabilities
        if probs is None:
            return {}
        best = probs[0].copy()
        if len(probs) > 1:
            best = np.maximum(best, 0.9 * probs[1:].max(axis=0))
        bonus = {key: self.prior_weight * float(p) for key, p in zip(self.sections.sections, best, strict=True)}
        for key in dict.fromkeys(carried):
            if key in bonus:
                bonus[key] += self.context_weight
        return bonus

    def threshold_for(self, lang: str) -> float:
        """The "not answered" probability at or above which a question in ``lang`` is declined."""
        return self.refuse_thresholds.get(lang, self.refuse_threshold)

    def not_answered(self, vector: np.ndarray, figures: np.ndarray, text: str) -> float | None:
        """Probability that the documents do not answer the question, or None without that model."""
        if self.answerability is None:
            return None
        return float(self.answerability.probability(np.asarray(vector)[None, :], np.asarray(figures)[None, :], [text])[0])

    # ---- files -----------------------------------------------------------------------------------
    def save(self, path: Path | str) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": MODEL_FORMAT,
            "embed_model": self.embed_model,
            "sections": list(self.sections.sections),
            "prior_weight": self.prior_weight,
            "context_weight": self.context_weight,
            "refuse_threshold": self.refuse_threshold,
            "refuse_thresholds": dict(self.refuse_thresholds),
            "inputs_hash": self.inputs_hash,
            "features": list(ANSWERABILITY_FEATURES),
            "neighbour_share": self.neighbour_share,
            "info": dict(self.info),
        }
        arrays: dict[str, np.ndarray] = {
            "meta": np.frombuffer(json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8"), dtype=np.uint8),
            "section_weights": self.sections.weights.astype(np.float32),
            "section_bias": self.sections.bias.astype(np.float32),
            "section_ngram_scale": np.array([self.sections.ngram_scale], dtype=np.float32),
        }
        if self.sections.ngram_weights is not None:
            arrays["section_ngram_weights"] = self.sections.ngram_weights.astype(np.float32)
        if self.answerability is not None:
            arrays.update(
                answer_weights=self.answerability.weights.astype(np.float32),
                answer_bias=np.array([self.answerability.bias], dtype=np.float32),
                answer_mean=self.answerability.mean.astype(np.float32),
                answer_scale=self.answerability.scale.astype(np.float32),
                answer_ngrams=np.array([self.answerability.ngram_dim, self.answerability.ngram_scale], dtype=np.float32),
            )
        if self.neighbours is not None:
            arrays.update(
                neighbour_vectors=self.neighbours.vectors.astype(np.float16),
                neighbour_gold=self.neighbours.gold.astype(np.float16),
            )
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, allow_pickle=False, **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path | str = DEFAULT_MODELS_FILE) -> Understanding:
        """Read a models file.

        Raises:
            ValueError: when the file is not a models file of this format.
        """
        try:
            if not zipfile.is_zipfile(path):
                raise ValueError(f"{path}: not a models file (expected an .npz archive); run `policy-assistant train`")
            with np.load(Path(path), allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode("utf-8"))
                if meta.get("format") != MODEL_FORMAT or list(meta.get("features", [])) != list(ANSWERABILITY_FEATURES):
                    raise ValueError(f"{path}: models of another format; run `policy-assistant train`")
                neighbours = None
                if "neighbour_vectors" in data:
                    neighbours = Neighbours(data["neighbour_vectors"], data["neighbour_gold"])
                sections = SectionModel(
                    tuple(meta["sections"]), data["section_weights"], data["section_bias"],
                    data["section_ngram_weights"] if "section_ngram_weights" in data else None,
                    float(data["section_ngram_scale"][0]),
                )
                answerability = None
                if "answer_weights" in data:
                    ngram_dim, ngram_scale = data["answer_ngrams"]
                    answerability = AnswerabilityModel(
                        data["answer_weights"], float(data["answer_bias"][0]), data["answer_mean"], data["answer_scale"],
                        int(ngram_dim), float(ngram_scale),
                    )
        except ValueError:
            raise
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{path}: unreadable models file ({exc})") from None
        return cls(
            embed_model=meta["embed_model"],
            sections=sections,
            answerability=answerability,
            prior_weight=float(meta["prior_weight"]),
            refuse_threshold=float(meta["refuse_threshold"]),
            inputs_hash=meta.get("inputs_hash", ""),
            info=meta.get("info", {}),
            context_weight=float(meta["context_weight"]),
            refuse_thresholds={str(k): float(v) for k, v in meta.get("refuse_thresholds", {}).items()},
            neighbours=neighbours,
            neighbour_share=float(meta.get("neighbour_share", 0.0)),
        )


def load_default(embed_model: str) -> Understanding | None:
    """The bundled models when they exist and were trained on this embedding model; else None (rules only)."""
    if not DEFAULT_MODELS_FILE.exists():
        return None
    try:
        models = Understanding.load(DEFAULT_MODELS_FILE)
    except ValueError as exc:
        # An old or damaged file must not stop the assistant: it answers with retrieval and the scope rules alone.
        import logging

        logging.getLogger("policy_assistant").warning("learned models not used: %s", exc)
        return None
    return models if models.embed_model == embed_model else None
