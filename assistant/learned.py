"""Learned understanding: which section a question is about, and whether the documents answer it at all.

Both are small linear models over the question's embedding (the same vector the dense search already computed, so
they add no model inference) and a few retrieval figures, read beside the training questions nearest to it
(``Neighbours``: their gold sections vote, and how near the refused ones are is a figure). They are trained from the
question files by ``policy-assistant train`` (``evals/training.py``), stored as one ``.npz`` of plain arrays beside
the corpus, and loaded on first use. Pure numpy: no pickle, no scikit-learn at run time.

Why learned instead of more patterns: every hand-written rule fitted the writers it was written for, and the next
unseen writer found new gaps (see ``evals/questions/README.md``). A model trained on many writers' wording and
measured leave-one-writer-out generalises instead.
"""

from __future__ import annotations

import functools
import json
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MODEL_FORMAT = 8
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

# What the answerability model reads of the nearest training questions (``Neighbours.refusal_figures``), after the
# retrieval figures, in this order.
NEIGHBOUR_FEATURES: tuple[str, ...] = (
    "near_refused",      # mean similarity of the REFUSAL_NEIGHBOURS nearest questions the documents do not answer
    "nearest_refused",   # similarity of the nearest one
    "near_answered",     # the same for questions they answer
    "nearest_answered",
    "neighbour_vote",    # share not answered among the VOTE_NEIGHBOURS nearest questions
    "near_gap",          # near_refused − near_answered
)
SECTION_NEIGHBOURS = 10        # nearest answered questions whose gold sections vote (``Neighbours.section_votes``)
NEIGHBOUR_SHARPNESS = 20.0     # a vote's weight: exp(sharpness × (its similarity − the nearest one's))
REFUSAL_NEIGHBOURS = 5
VOTE_NEIGHBOURS = 10
MASKED = -2.0                  # similarity given to a question that must not be its own neighbour (cosines ≥ −1)
CONTAINED = 0.9                # a neighbour holds a question when it has this share of the question's n-grams

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
    """The training questions themselves, for reading a new question by the labelled questions nearest to it.

    Why beside the linear models: a linear model draws one boundary through the whole embedding space, and what the
    documents do not answer is scattered in small pockets of it (a register of winners, the 发文字号, a district's
    top-up, chit-chat far from every clause) that several writers ask in their own words. The nearest questions of
    other writers carry those pockets. Measured on writers held out in five groups (6,760 training questions):
    "not covered" recall at the same precision 0.81 → 0.89 (Chinese) and 0.61 → 0.77 (English); blending the
    neighbours' gold sections into the section probabilities, top-1 on retrieved questions 0.955 → 0.966 and
    0.868 → 0.902 — and no smaller when neighbours more similar than 0.95 (near copies) are left out.

    The embedding says what a question is *about* more than what it *asks*: when most training questions about a
    clause are other writers' details the text lacks (last year's winners, the deadline, a district's top-up), a plain
    "直播基地能拿什么资助？" has refused neighbours. This figure was withdrawn once for that (stop 22) and came back
    with two writers of plain questions (p01–p02, ``evals/questions/writers/README.md``): answered questions of the
    plain kind are then the nearest ones, and leave-one-writer-out counts such a question declined against precision.
    One case the embedding cannot tell apart is kept out by the texts: a refused neighbour that holds the whole
    question and more ("广州那边对游戏公司有什么补贴？" beside "游戏公司有什么补贴？") is refused for its extra words,
    so it is no evidence about the question; nor is an answered neighbour the question holds with words of its own.
    Measured on writers held out in five groups, leaving such neighbours out cost nothing ("not covered" recall
    0.900 → 0.896 Chinese, 0.831 → 0.828 English, at the same precision) and stopped that plain question being declined.
    """

    vectors: np.ndarray      # (n, dim) unit vectors, stored as float16
    gold: np.ndarray         # (n, n_sections) gold distribution; a zero row for a question without an answer
    refused: np.ndarray      # (n,) bool: the documents do not answer it
    judged: np.ndarray       # (n,) bool: its answerability is learned (not a question about the whole cap table)
    writers: np.ndarray | None = None   # (n,) writer codes, in training only: a question is not its writer's neighbour
    # Each question's answerability n-gram slots (``ngram_indices`` at ``ANSWER_NGRAM_DIM``), end to end, and where
    # each question's slots start (n + 1,): what ``CONTAINED`` compares. None: no texts (containment not checked).
    gram_slots: np.ndarray | None = None
    gram_starts: np.ndarray | None = None

    def __post_init__(self) -> None:
        # Rounded through float16 (how they are stored) once, so a trained model reads as its saved file does; and
        # kept in the three blocks the readings compare with (contiguous: one matrix product each).
        vectors = np.asarray(self.vectors, dtype=np.float16).astype(np.float32)
        object.__setattr__(self, "vectors", vectors)
        blocks = {}
        for name, mask in (("gold", self.gold.sum(axis=1) > 0), ("refused", self.judged & self.refused),
                           ("answered", self.judged & ~self.refused)):
            rows = np.flatnonzero(mask)
            blocks[name] = (rows, np.ascontiguousarray(vectors[rows]))
        object.__setattr__(self, "_blocks", blocks)
        object.__setattr__(self, "_gold_block", np.asarray(self.gold, dtype=np.float32)[blocks["gold"][0]])

    @functools.cached_property
    def _holders(self) -> tuple[np.ndarray, np.ndarray]:
        """Which questions hold each n-gram slot (slot-major), and where each slot's holders start. Built on first
        use: training builds many ``Neighbours`` that are handed their containment ready-made."""
        assert self.gram_slots is not None and self.gram_starts is not None
        slots = np.asarray(self.gram_slots, dtype=np.int64)
        owners = np.repeat(np.arange(len(self.gram_starts) - 1), np.diff(self.gram_starts))
        order = np.argsort(slots, kind="stable")
        return owners[order], np.searchsorted(slots[order], np.arange(int(slots.max(initial=0)) + 2))

    def shared_grams(self, query_slots: Sequence[np.ndarray]) -> np.ndarray:
        """(m, n): how many of each query's n-gram slots each training question holds."""
        holders, start = self._holders
        shared = np.zeros((len(query_slots), len(self.vectors)), dtype=np.float32)
        for row, slots in enumerate(query_slots):
            slots = np.asarray(slots, dtype=np.int64)
            slots = slots[slots < len(start) - 1]
            if len(slots):
                owners = np.concatenate([holders[start[s]:start[s + 1]] for s in slots])
                shared[row] = np.bincount(owners, minlength=len(self.vectors))
        return shared

    def _similarities(self, block: str, vectors: np.ndarray, writers: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The block's rows, and the cosine similarities of ``vectors`` to them (``MASKED`` where ``writers``, the
        questions' writer codes, name the neighbour's writer)."""
        rows, block_vectors = self._blocks[block]  # type: ignore[attr-defined]
        sims = np.atleast_2d(np.asarray(vectors, dtype=np.float32)) @ block_vectors.T
        if writers is not None and self.writers is not None:
            writers, theirs = np.asarray(writers), self.writers[rows]
            for writer in np.intersect1d(writers, theirs):   # a writer at a time: a few dozen small blocks
                sims[np.ix_(np.flatnonzero(writers == writer), np.flatnonzero(theirs == writer))] = MASKED
        return rows, sims

    def section_votes(self, vectors: np.ndarray, writers: np.ndarray | None = None) -> np.ndarray:
        """(m, n_sections): the nearest answered questions' gold sections, weighted by how near each is."""
        rows, sims = self._similarities("gold", vectors, writers)
        k = min(SECTION_NEIGHBOURS, sims.shape[1])
        if k == 0:
            return np.full((len(sims), self.gold.shape[1]), 1.0 / max(self.gold.shape[1], 1), np.float32)
        top = np.argpartition(sims, sims.shape[1] - k, axis=1)[:, sims.shape[1] - k:]
        near = np.take_along_axis(sims, top, axis=1)
        weights = np.exp(NEIGHBOUR_SHARPNESS * (near - near.max(axis=1, keepdims=True)))
        gold = self._gold_block[top]  # type: ignore[attr-defined]     # (m, k, n_sections)
        return ((gold * weights[:, :, None]).sum(axis=1) / weights.sum(axis=1, keepdims=True)).astype(np.float32)

    def containment(self, slots: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(m, n) bool each, for questions with these answerability n-gram slots: the neighbours that hold a question
        and say more (no evidence on the refused side), and those a question holds and says more than (none on the
        answered side)."""
        assert self.gram_starts is not None
        shared = self.shared_grams(slots)
        query_in_neighbour = holds(shared, np.array([len(s) for s in slots], dtype=np.float32))
        neighbour_in_query = holds(shared.T, np.diff(self.gram_starts).astype(np.float32)).T
        return query_in_neighbour & ~neighbour_in_query, neighbour_in_query & ~query_in_neighbour

    def refusal_figures(self, vectors: np.ndarray, writers: np.ndarray | None = None,
                        slots: Sequence[np.ndarray] | None = None,
                        contained: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """(m, len(NEIGHBOUR_FEATURES)): how near the questions the documents do / do not answer are. ``slots``: the
        m questions' answerability n-gram slots; with them, a refused neighbour that holds a question and more, and an
        answered one a question holds and more, are left out (see the class). ``contained``: ``containment``'s two
        masks when the caller has them already (training computes them once for all its questions)."""
        if contained is None and slots is not None and self.gram_starts is not None:
            contained = self.containment(slots)
        nearest = []
        for side, masked in zip(("refused", "answered"), contained or (None, None), strict=True):
            rows, sims = self._similarities(side, vectors, writers)
            if masked is not None:
                sims[np.take(masked, rows, axis=1)] = MASKED   # ``masked[:, rows]``; faster on training-sized masks
            nearest.append(_largest(sims, VOTE_NEIGHBOURS))
        columns = []
        for near in nearest:
            k = min(REFUSAL_NEIGHBOURS, near.shape[1])
            columns += ([near[:, :k].mean(axis=1), near[:, 0]] if k else [np.zeros(len(near)), np.zeros(len(near))])
        # The VOTE_NEIGHBOURS nearest of both sides are among each side's VOTE_NEIGHBOURS nearest.
        both = np.concatenate(nearest, axis=1)
        is_refused = np.concatenate([np.ones(nearest[0].shape[1]), np.zeros(nearest[1].shape[1])])
        k = min(VOTE_NEIGHBOURS, both.shape[1])
        vote = is_refused[np.argsort(-both, axis=1, kind="stable")[:, :k]].mean(axis=1) if k else np.zeros(len(both))
        columns += [vote, columns[0] - columns[2]]
        return np.stack(columns, axis=1).astype(np.float32)


def holds(shared: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """(m, n) bool: the n-grams counted in ``shared`` (``Neighbours.shared_grams``) are at least ``CONTAINED`` of each
    row's own ``sizes`` n-grams (a row of no n-grams is held by nothing)."""
    return shared / np.maximum(sizes, 1.0)[:, None] >= CONTAINED


def _largest(values: np.ndarray, k: int) -> np.ndarray:
    """Each row's ``k`` largest values (fewer when the row is shorter), largest first. Reorders ``values`` in place
    (a copy of a training-sized matrix cost as much as the rest of the reading)."""
    k = min(k, values.shape[1])
    if k == 0:
        return np.zeros((len(values), 0), dtype=values.dtype)
    values.partition(values.shape[1] - k, axis=1)
    return -np.sort(-values[:, values.shape[1] - k:], axis=1)


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
    ``neighbours``, ``neighbour_share``: the training questions, and the share of their votes in the section
    probabilities (chosen in the folds like the weights); the answerability model reads their figures too.
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
        """Probability that the documents do not answer the question, or None without that model. ``figures``:
        ``retrieval_figures``; the nearest training questions' figures are added here."""
        if self.answerability is None:
            return None
        figures = np.asarray(figures, dtype=np.float32)[None, :]
        slots = [ngram_indices(text, self.answerability.ngram_dim)]   # read once: the neighbours and the model
        if self.neighbours is not None:
            figures = np.concatenate([figures, self.neighbours.refusal_figures(vector, slots=slots)], axis=1)
        return float(self.answerability.probability(np.asarray(vector)[None, :], figures, [text], slots)[0])

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
            "features": list(ANSWERABILITY_FEATURES) + list(NEIGHBOUR_FEATURES if self.neighbours is not None else ()),
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
                neighbour_refused=self.neighbours.refused.astype(np.uint8),
                neighbour_judged=self.neighbours.judged.astype(np.uint8),
            )
            if self.neighbours.gram_slots is not None and self.neighbours.gram_starts is not None:
                arrays.update(neighbour_gram_slots=self.neighbours.gram_slots.astype(np.uint16),
                              neighbour_gram_starts=self.neighbours.gram_starts.astype(np.int32))
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
                neighbours = None
                if "neighbour_vectors" in data:
                    grams = ((data["neighbour_gram_slots"].astype(np.int64), data["neighbour_gram_starts"].astype(np.int64))
                             if "neighbour_gram_slots" in data else (None, None))
                    neighbours = Neighbours(data["neighbour_vectors"], data["neighbour_gold"],
                                            data["neighbour_refused"].astype(bool), data["neighbour_judged"].astype(bool),
                                            None, *grams)
                features = [*ANSWERABILITY_FEATURES, *(NEIGHBOUR_FEATURES if neighbours is not None else ())]
                if meta.get("format") != MODEL_FORMAT or list(meta.get("features", [])) != features:
                    raise ValueError(f"{path}: models of another format; run `policy-assistant train`")
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
