"""Training the learned understanding (``assistant/learned.py``) from the question files, deterministically.

What is learned, and from what:
- the section model: every answerable question's search text (its embedding) → its gold sections (soft labels when
  there are several), plus the clause profiles' example businesses;
- the answerability model: question embedding, retrieval figures and the nearest other writers' questions' figures
  → ``must_refuse``;
- the neighbours: the training questions themselves, kept with the models (``Neighbours``);
- the settings that combine them with retrieval — the neighbours' share, the prior's weight, the conversation
  context's weight and the refusal threshold — chosen on
  *held-out writers inside the training data* (each training writer's questions scored by models trained without
  that writer), so no setting is fitted on the questions it is then judged on.

Features are computed once per question (``collect``) and cached; everything after that is numpy and takes seconds,
which is what makes leave-one-writer-out evaluation (``evals/lowo.py``) affordable.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.learned import (
    ANSWER_NGRAM_DIM,
    ANSWER_NGRAM_SCALE,
    ANSWERABILITY_FEATURES,
    NGRAM_DIM,
    AnswerabilityModel,
    Neighbours,
    SectionModel,
    Understanding,
    holds,
    ngram_indices,
    retrieval_figures,
)
from evals.metrics import EvalCase

if TYPE_CHECKING:
    from assistant.answer import Answer

TRAINING_VERSION = 9          # bump when the features or the fitting change: the bundled models are then stale
SECTION_L2 = 1e-3
SECTION_NGRAM_SCALE = 0.3   # n-gram block's scale beside the unit-length vector (leave-one-writer-out: 0.3 ≈ 1.0)
ANSWER_L2 = 3e-3
PRIOR_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
CONTEXT_GRID = (0.0, 0.25, 0.5, 1.0, 2.0)   # extra bonus for the previous turn's sections, beside the prior
SHARE_GRID = (0.0, 0.1, 0.2, 0.3, 0.5)       # the nearest questions' votes' share in the section probabilities
REFUSAL_PRECISION = 0.95
PRECISION_CONFIDENCE_Z = 1.645   # one-sided 95%: the refusal threshold keeps the precision's lower bound at the target
CONTAINMENT_BLOCK = 1024   # questions at a time when counting shared n-grams (a float32 row block of ~30 MB)
INNER_FOLDS = 5   # writers are held out in this many groups when choosing settings (one group per writer costs 3×)
PROFILE_WRITER = "profile"
# Routes decided by rules (a clause number, a follow-up about the clause in focus, the measure itself, the cap
# table): the learned parts do not choose their sections, so they are not used to tune how retrieval is combined.
RULE_ROUTES = frozenset({"reference", "followup", "meta", "largest", "amount-list", "structure", "awards"})
# Routes answered from the cap table or the document's outline as a whole ("哪条最多", "500万的有哪几条", "第七部分讲
#什么", "这两项各多少、能叠加吗"): they decide what the text does not say themselves, so answerability does not judge them.
TABLE_ROUTES = frozenset({"largest", "amount-list", "structure", "awards"})


@dataclass
class Example:
    """One training question, reduced to what the models see."""

    id: str
    writer: str
    search_text: str
    facets: tuple[str, ...]
    gold: tuple[str, ...]
    must_refuse: bool
    route: str                   # the rule route of the base assistant's decision ("retrieval"/"match" = learned)
    fused: dict[str, float]      # base fused retrieval score of every section
    carried: tuple[str, ...] = ()   # the previous turn's sections (a follow-up's context)
    best_bm25: float = 0.0
    best_dense: float = 0.0
    topic: bool = False
    too_far: bool = False
    coverage: tuple[float, float, float] = (1.0, 1.0, 0.0)   # ``WordCoverage.figures()`` for the best section
    lang: str = "zh"             # the turn's language (``QueryPlan.lang``): the refusal threshold may differ by language


# ---- features -----------------------------------------------------------------------------------
def rules_key(case: EvalCase) -> str:
    """Which question a rules-only answer is for: its id and its turns (one id may be asked differently elsewhere)."""
    return "\x1f".join((case.id, *case.turns))


@dataclass
class Collected:
    """What one pass of a training question through the base assistant gives."""

    example: Example
    answer: Answer              # the rules-only answer (leave-one-writer-out's "before")
    vector: np.ndarray | None   # its search text's vector, from the embedder's cache after answering (None: no embedder)


def collect(assistant: Any, cases: Sequence[EvalCase], workers: int = 1, embedder: Any = None) -> list[Collected]:
    """Run each question through the base assistant (no learned parts) and keep what training needs.

    ``workers``: the questions are spread over this many forked processes (``evals.forked``), in blocks, when that is
    safe; the result is the same and in the same order. ``embedder``: the dense channel's; each question's vector is
    read back from it (answering put it in its cache), so that forked workers embed the training questions too.
    """
    from evals.forked import forked_map

    saved = assistant.understanding
    assistant.understanding = None
    assistant.turn_cache.clear()
    try:
        # Blocks of consecutive questions keep a conversation's turns in one process's turn cache, and several
        # blocks per worker even out the workers' loads.
        size = max(1, -(-len(cases) // (workers * 8)))
        blocks = [range(start, min(start + size, len(cases))) for start in range(0, len(cases), size)]
        done = forked_map(lambda block: _collect_block(assistant, [cases[i] for i in block], embedder), blocks,
                          workers, f"跑完 {len(cases)} 道训练题")
    finally:
        assistant.understanding = saved
        assistant.turn_cache.clear()
    # Every text the workers embedded (questions, earlier turns, facets), kept by this process's embedder: a
    # leave-one-writer-out fold asks these questions again (forked from here), and embedding is most of asking.
    remember = getattr(embedder, "remember_queries", None)
    if remember is not None:
        remember({text: vector for _, seen in done for text, vector in seen.items()})
    return [item for block, _ in done for item in block]


# Room kept in the embedder's cache per question of a block: its turns and a long description's facets.
QUERY_TEXTS_PER_QUESTION = 16


def _collect_block(assistant: Any, cases: Sequence[EvalCase], embedder: Any
                   ) -> tuple[list[Collected], dict[str, np.ndarray]]:
    """``_collect_one`` for consecutive questions, and the query vectors the embedder computed for them (its cache
    grows first, so that none of the block's is dropped)."""
    known, reserve = getattr(embedder, "known_queries", None), getattr(embedder, "reserve_queries", None)
    if known is None or reserve is None:
        return [_collect_one(assistant, case, embedder) for case in cases], {}
    reserve(QUERY_TEXTS_PER_QUESTION * len(cases))
    before = set(known())
    collected = [_collect_one(assistant, case, embedder) for case in cases]
    return collected, {text: vector for text, vector in known().items() if text not in before}


def _collect_one(assistant: Any, case: EvalCase, embedder: Any) -> Collected:
    from assistant.coverage import coverage_in
    from assistant.scope import out_of_scope_topic, too_far
    from indexing.retrieval.hybrid import RetrievalRequest

    started = time.perf_counter()
    answer, last = assistant.answer_turns(assistant.validate_turns(list(case.turns)))
    answer.id = case.id
    answer.latency_ms = (time.perf_counter() - started) * 1000
    plan, decision = last.plan, last.decision
    # The models name the primary measure's sections, by key.
    carried = plan.carried_keys(assistant.knowledge.primary.meta.id)
    request = RetrievalRequest(text=plan.search_text, expansion=plan.expansion, facets=plan.facets,
                               carried=carried, k=64)
    hits = assistant.retriever.retrieve(request) if assistant.retriever is not None else []
    best_bm25 = max((h.bm25_score for h in hits), default=0.0)
    best_dense = max((h.dense_score for h in hits), default=0.0)
    # The section answerability is judged against: the one decided, else the nearest (as ``ask`` does).
    best_section = (decision.sections[0].ref.key if decision.sections
                    else decision.nearest[0].ref.key if decision.nearest else hits[0].section_key if hits else "")
    example = Example(
        id=case.id, writer=case.writer, search_text=plan.search_text, facets=tuple(plan.facets),
        gold=tuple(case.gold_clauses), must_refuse=case.must_refuse, route=decision.route,
        fused={h.section_key: h.score for h in hits}, carried=tuple(carried),
        best_bm25=best_bm25, best_dense=best_dense,
        topic=out_of_scope_topic(plan.normalized) is not None,
        too_far=too_far(best_bm25, best_dense, assistant.config.scope),
        coverage=coverage_in(assistant.knowledge, plan.search_text, best_section).figures(),
        lang=plan.lang,
    )
    vector = embedder.embed_queries([plan.search_text])[0] if embedder is not None and plan.search_text.strip() else None
    return Collected(example, answer, vector)


class VectorCache:
    """Question vectors by text, kept in a file so that repeated trainings embed each question once."""

    def __init__(self, embedder: Any, path: Path | None = None) -> None:
        self.embedder = embedder
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        if path is not None and path.exists():
            try:
                with np.load(path, allow_pickle=False) as data:
                    texts = json.loads(bytes(data["texts"]).decode("utf-8"))
                    self.vectors = dict(zip(texts, data["vectors"], strict=True))
            except (OSError, ValueError, KeyError):
                self.vectors = {}

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        """Vectors embedded elsewhere by the same embedder (``collect`` reads them back from it): kept, and saved."""
        fresh = {t: np.asarray(v, dtype=np.float32) for t, v in vectors.items() if t not in self.vectors}
        self.vectors.update(fresh)
        if fresh and self.path is not None:
            self.save()

    def embed(self, texts: Iterable[str]) -> np.ndarray:
        texts = list(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        for start in range(0, len(missing), 64):
            block = missing[start:start + 64]
            for text, vector in zip(block, self.embedder.embed_queries(block), strict=True):
                self.vectors[text] = np.asarray(vector, dtype=np.float32)
        if missing and self.path is not None:
            self.save()
        return np.stack([self.vectors[t] for t in texts]) if texts else np.zeros((0, 1), dtype=np.float32)

    def save(self) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        texts = list(self.vectors)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as handle:
            np.savez(handle, texts=np.frombuffer(json.dumps(texts, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
                     vectors=np.stack([self.vectors[t] for t in texts]))
        tmp.replace(self.path)


@dataclass
class TrainingData:
    """Examples with their vectors, and the section list the models score."""

    examples: list[Example]
    vectors: np.ndarray                  # (n, dim) search-text vectors
    sections: tuple[str, ...]
    profile_texts: list[tuple[str, str]]  # (example business, section)
    profile_vectors: np.ndarray
    # ``containment``'s matrix once computed (a subset takes its rows and columns).
    contained: np.ndarray | None = field(default=None, repr=False)

    def subset(self, keep: Sequence[int] | np.ndarray) -> TrainingData:
        keep = list(keep)
        contained = None if self.contained is None else _block(self.contained, keep, keep)
        return TrainingData([self.examples[i] for i in keep], self.vectors[keep], self.sections,
                            self.profile_texts, self.profile_vectors, contained)

    def containment(self) -> np.ndarray:
        """(n, n) bool: question i's answerability n-grams are held by question j and not the other way round — for
        every pair at once, what ``Neighbours.containment`` works out for one question. Why here: it depends on the
        two texts alone, and computing it in every fit (about 300 in a leave-one-writer-out run, ~7,000² pairs
        each) was a third of the gate's time. ``prepare`` computes it, before any subset or fork."""
        if self.contained is None:
            slots = _answer_slots([e.search_text for e in self.examples])
            neighbours = build_neighbours(self)
            sizes = np.array([len(s) for s in slots], dtype=np.float32)
            held = np.zeros((len(slots), len(slots)), dtype=bool)
            for start in range(0, len(slots), CONTAINMENT_BLOCK):
                block = slice(start, start + CONTAINMENT_BLOCK)
                held[block] = holds(neighbours.shared_grams(slots[block]), sizes[block])
            self.contained = held & ~held.T
        return self.contained

    def writers(self) -> list[str]:
        return sorted({e.writer for e in self.examples if e.writer})

    def fused_matrix(self, rows: Sequence[int]) -> np.ndarray:
        """The base fused retrieval score of every section (columns in ``sections`` order) for these examples."""
        index = {s: i for i, s in enumerate(self.sections)}
        fused = np.zeros((len(rows), len(self.sections)))
        for r, i in enumerate(rows):
            for key, score in self.examples[i].fused.items():
                if key in index:
                    fused[r, index[key]] = score
        return fused

    def carried_matrix(self, rows: Sequence[int]) -> np.ndarray:
        """1 where a section is among an example's previous-turn sections (columns in ``sections`` order)."""
        index = {s: i for i, s in enumerate(self.sections)}
        carried = np.zeros((len(rows), len(self.sections)))
        for r, i in enumerate(rows):
            for key in self.examples[i].carried:
                if key in index:
                    carried[r, index[key]] = 1.0
        return carried

    def gold_mask(self, rows: Sequence[int]) -> np.ndarray:
        """True where a section is among an example's gold sections (columns in ``sections`` order)."""
        index = {s: i for i, s in enumerate(self.sections)}
        mask = np.zeros((len(rows), len(self.sections)), dtype=bool)
        for r, i in enumerate(rows):
            mask[r, [index[g] for g in self.examples[i].gold if g in index]] = True
        return mask

    def top1_hits(self, rows: Sequence[int], probs: np.ndarray, weight: float, context: float = 0.0) -> int:
        """How many of these examples get a gold section first from fused retrieval plus ``weight`` × ``probs`` plus
        ``context`` on the previous turn's sections."""
        return first_is_gold(self.fused_matrix(rows) + weight * probs + context * self.carried_matrix(rows),
                             self.gold_mask(rows))

    def writer_folds(self, folds: int = INNER_FOLDS) -> list[list[str]]:
        """The writers in ``folds`` groups, dealt round-robin in sorted order (deterministic)."""
        writers = self.writers()
        groups = [writers[i::folds] for i in range(min(folds, len(writers)))]
        return [g for g in groups if g]


def first_is_gold(scores: np.ndarray, gold: np.ndarray) -> int:
    """How many rows of ``scores`` have their highest-scoring section marked in ``gold`` (``TrainingData.gold_mask``)."""
    return int(gold[np.arange(len(scores)), np.argmax(scores, axis=1)].sum())


def profile_examples(knowledge: Any) -> list[tuple[str, str]]:
    """The profiles' example businesses (hand-reviewed, one per line), each with its section."""
    pairs: list[tuple[str, str]] = []
    for key, profile in sorted(knowledge.profiles.items()):
        pairs.extend((text, key) for text in profile.examples)
    return pairs


def prepare(assistant: Any, cases: Sequence[EvalCase], cache: VectorCache, workers: int = 1,
            rules_answers: dict[str, Answer] | None = None) -> TrainingData:
    """Features and vectors for ``cases`` (train side only: never pass held-out questions here).

    ``workers``: see ``collect``. ``rules_answers``: when given, each case's rules-only answer is put in it by
    ``rules_key`` (leave-one-writer-out's "before" column comes from this same pass).
    """
    collected = collect(assistant, cases, workers, cache.embedder)
    examples = [c.example for c in collected]
    cache.put({c.example.search_text: c.vector for c in collected if c.vector is not None})
    if rules_answers is not None:
        rules_answers.update((rules_key(case), c.answer) for case, c in zip(cases, collected, strict=True))
    sections = tuple(s.key for s in assistant.knowledge.primary.document.sections if s.kind in ("clause", "chapter", "preamble"))
    profiles = [(t, k) for t, k in profile_examples(assistant.knowledge) if k in sections]
    vectors = cache.embed([e.search_text for e in examples])
    profile_vectors = cache.embed([t for t, _ in profiles]) if profiles else np.zeros((0, vectors.shape[1]), np.float32)
    data = TrainingData(examples, vectors, sections, profiles, profile_vectors)
    data.containment()   # here, once: every fold's and group's subset takes its part (and forked workers inherit it)
    return data


# ---- fitting ------------------------------------------------------------------------------------
def _minimize(loss_grad: Any, start: np.ndarray) -> np.ndarray:
    """L-BFGS from ``start`` (deterministic; converges in a few hundred cheap iterations on these sizes)."""
    from scipy.optimize import minimize

    result = minimize(loss_grad, start, jac=True, method="L-BFGS-B", options={"maxiter": 200})
    return np.asarray(result.x)


def fit_sections(x: Any, targets: np.ndarray, sections: tuple[str, ...], l2: float = SECTION_L2,
                 vector_dim: int | None = None, ngram_scale: float = 1.0) -> SectionModel:
    """Multinomial logistic regression with soft targets and L2 on the weights (mean cross-entropy).

    ``x`` is dense (vectors only) or a scipy sparse matrix whose first ``vector_dim`` columns are the vector and the
    rest the n-grams already multiplied by ``ngram_scale``.
    """
    import scipy.sparse as sparse

    x = x.astype(np.float64) if not sparse.issparse(x) else x.tocsr().astype(np.float64)
    n, dim = x.shape
    classes = len(sections)
    times, times_transposed = _products(x, vector_dim or 0)

    def loss_grad(flat: np.ndarray) -> tuple[float, np.ndarray]:
        w = flat[: dim * classes].reshape(dim, classes)
        b = flat[dim * classes:]
        logits = times(w) + b
        logits -= logits.max(axis=1, keepdims=True)
        log_z = np.log(np.exp(logits).sum(axis=1, keepdims=True))
        log_p = logits - log_z
        loss = -(targets * log_p).sum() / n + 0.5 * l2 * (w * w).sum()
        d = (np.exp(log_p) - targets) / n
        return float(loss), np.concatenate([(times_transposed(d) + l2 * w).ravel(), d.sum(axis=0)])

    flat = _minimize(loss_grad, np.zeros(dim * classes + classes))
    w = flat[: dim * classes].reshape(dim, classes).astype(np.float32)
    bias = flat[dim * classes:].astype(np.float32)
    if vector_dim is None or vector_dim >= dim:
        return SectionModel(sections, w, bias)
    return SectionModel(sections, w[:vector_dim], bias, w[vector_dim:], ngram_scale)


def _products(x: Any, dense_columns: int) -> tuple[Any, Any]:
    """``w ↦ x @ w`` and ``d ↦ x.T @ d`` for a design matrix whose first ``dense_columns`` columns are dense (the
    question vectors) and the rest sparse (n-grams, figures): each block multiplied its own way. Why: a fold's fits
    spent most of their time multiplying the vector columns as if they were sparse (CI runs a fold per writer).

    The products are taken in float32 (the inputs are float32 vectors and 0/1 n-grams) and returned as float64, in
    which the loss, the gradient's sum and L-BFGS work: it halves a fit's time, and a held-out writer's section
    probabilities move by about 1e-6 (the same first section for every question of the writer it was tried on)."""
    import scipy.sparse as sparse

    if not sparse.issparse(x) or dense_columns <= 0:
        return (lambda w: np.asarray(x @ w)), (lambda d: np.asarray(x.T @ d))
    dense = x[:, :dense_columns].toarray().astype(np.float32)
    rest = x[:, dense_columns:].tocsr().astype(np.float32)
    rest_transposed = rest.T.tocsr()

    def times(w: np.ndarray) -> np.ndarray:
        w32 = w.astype(np.float32)
        return (dense @ w32[:dense_columns] + np.asarray(rest @ w32[dense_columns:])).astype(np.float64)

    def times_transposed(d: np.ndarray) -> np.ndarray:
        d32 = d.astype(np.float32)
        return np.concatenate([dense.T @ d32, np.asarray(rest_transposed @ d32)]).astype(np.float64)

    return times, times_transposed


@functools.cache
def _ngram_slots(text: str, dim: int) -> np.ndarray:
    """``ngram_indices`` once per text and size: every fit of every fold reads the same questions' n-grams (computing
    them again was a third of a fold's time). Training processes only; they see a bounded set of texts."""
    return ngram_indices(text, dim)


def ngram_matrix(texts: Sequence[str], dim: int) -> Any:
    """The texts' hashed n-grams (``ask_ngrams``) as one sparse 0/1 matrix, built without the dense rows."""
    import scipy.sparse as sparse

    slots = [_ngram_slots(t, dim) for t in texts]
    indptr = np.cumsum([0, *[len(s) for s in slots]])
    indices = np.concatenate(slots) if slots else np.zeros(0, dtype=np.int64)
    return sparse.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(len(texts), dim))


def section_features(vectors: np.ndarray, texts: Sequence[str]) -> Any:
    """The section model's inputs: vectors beside the texts' n-grams (scaled), as one sparse matrix."""
    import scipy.sparse as sparse

    return sparse.hstack([sparse.csr_matrix(vectors), ngram_matrix(texts, NGRAM_DIM) * SECTION_NGRAM_SCALE]).tocsr()


def fit_binary(x: Any, y: np.ndarray, l2: float = ANSWER_L2, dense_columns: int = 0) -> tuple[np.ndarray, float]:
    """Logistic regression with the two classes weighted equally, L2 on the weights; ``x`` dense or scipy sparse
    (its first ``dense_columns`` columns dense: see ``_products``)."""
    import scipy.sparse as sparse

    x = x.tocsr().astype(np.float64) if sparse.issparse(x) else x.astype(np.float64)
    y = y.astype(np.float64)
    pos = max(y.sum(), 1.0)
    neg = max(len(y) - y.sum(), 1.0)
    sample_w = np.where(y > 0, 0.5 / pos, 0.5 / neg)
    dim = x.shape[1]
    times, times_transposed = _products(x, dense_columns)

    def loss_grad(flat: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = flat[:dim], flat[dim]
        z = times(w) + b
        # log(1 + e^z) - y z, computed stably
        loss = (sample_w * (np.logaddexp(0.0, z) - y * z)).sum() + 0.5 * l2 * (w * w).sum()
        d = (1.0 / (1.0 + np.exp(-np.clip(z, -40, 40))) - y) * sample_w
        return float(loss), np.concatenate([times_transposed(d) + l2 * w, [d.sum()]])

    flat = _minimize(loss_grad, np.zeros(dim + 1))
    return flat[:dim].astype(np.float32), float(flat[dim])


def _targets(examples: Sequence[Example], sections: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Soft targets for the answerable examples whose gold is among ``sections``; and which rows those are."""
    index = {s: i for i, s in enumerate(sections)}
    rows, targets = [], []
    for row, example in enumerate(examples):
        gold = [index[g] for g in example.gold if g in index]
        if example.must_refuse or not gold:
            continue
        target = np.zeros(len(sections))
        target[gold] = 1.0 / len(gold)
        rows.append(row)
        targets.append(target)
    return np.array(rows, dtype=int), np.array(targets).reshape(-1, len(sections))


def _gold_matrix(examples: Sequence[Example], sections: tuple[str, ...]) -> np.ndarray:
    """Every example's soft target (``_targets``), a zero row where it has none (refused, or no gold section)."""
    gold = np.zeros((len(examples), len(sections)), dtype=np.float32)
    rows, targets = _targets(examples, sections)
    if len(rows):
        gold[rows] = targets
    return gold


def build_neighbours(data: TrainingData) -> Neighbours:
    """The training questions as ``Neighbours`` (vectors, gold sections, refused, judged, writer codes, and their
    answerability n-grams)."""
    slots = _answer_slots([e.search_text for e in data.examples])
    return Neighbours(
        vectors=data.vectors,
        gold=_gold_matrix(data.examples, data.sections),
        refused=np.array([e.must_refuse for e in data.examples], dtype=bool),
        judged=np.array([e.route not in TABLE_ROUTES for e in data.examples], dtype=bool),
        writers=writer_codes(data.examples),
        gram_slots=np.concatenate(slots) if slots else np.zeros(0, dtype=np.int64),
        gram_starts=np.cumsum([0, *[len(s) for s in slots]]),
    )


def _answer_slots(texts: Sequence[str]) -> list[np.ndarray]:
    return [_ngram_slots(t, ANSWER_NGRAM_DIM) for t in texts]


def _block(matrix: np.ndarray, rows: Any, columns: Any) -> np.ndarray:
    """``matrix[np.ix_(rows, columns)]``, the same values, taken one axis at a time: on the (n, n) containment matrix
    of the training questions (~7,000²) it is four times faster, and a leave-one-writer-out fold takes such blocks
    about twenty times."""
    return np.take(np.take(matrix, rows, axis=0), columns, axis=1)


def writer_codes(examples: Sequence[Example]) -> np.ndarray:
    """Each example's writer as a number (within these examples); one without a writer has a number of its own, so
    it is only its own neighbour. Passed with a question's vectors, they keep a training question from being read by
    its own writer's questions: a new writer's question never is."""
    names = [e.writer or f"\x00{i}" for i, e in enumerate(examples)]
    return np.unique(names, return_inverse=True)[1].astype(np.int32)


def section_votes_oof(data: TrainingData) -> np.ndarray:
    """Each example's neighbour votes (``Neighbours.section_votes``) from questions outside its writer's group."""
    votes = np.zeros((len(data.examples), len(data.sections)), dtype=np.float32)
    writers = np.array([e.writer for e in data.examples])
    for group in data.writer_folds():
        held = np.flatnonzero(np.isin(writers, group))
        votes[held] = build_neighbours(data.subset(np.flatnonzero(~np.isin(writers, group)))).section_votes(
            data.vectors[held])
    unassigned = np.flatnonzero(writers == "")
    if len(unassigned):
        votes[unassigned] = build_neighbours(data).section_votes(data.vectors[unassigned],
                                                                 writer_codes(data.examples)[unassigned])
    return votes


def blend(probs: np.ndarray, votes: np.ndarray, share: float) -> np.ndarray:
    """The section probabilities as ``Understanding.read`` computes them: the model's, with ``share`` of the votes."""
    return (1.0 - share) * probs + share * votes


def train_section_model(data: TrainingData) -> SectionModel:
    import scipy.sparse as sparse

    rows, targets = _targets(data.examples, data.sections)
    x = section_features(data.vectors[rows], [data.examples[i].search_text for i in rows])
    y = targets
    if len(data.profile_texts):
        index = {s: i for i, s in enumerate(data.sections)}
        profile_targets = np.zeros((len(data.profile_texts), len(data.sections)))
        for i, (_, key) in enumerate(data.profile_texts):
            profile_targets[i, index[key]] = 1.0
        x = sparse.vstack([x, section_features(data.profile_vectors, [t for t, _ in data.profile_texts])]).tocsr()
        y = np.concatenate([y, profile_targets])
    return fit_sections(x, y, data.sections, vector_dim=data.vectors.shape[1], ngram_scale=SECTION_NGRAM_SCALE)


def _texts(data: TrainingData, rows: Any) -> list[str]:
    return [data.examples[i].search_text for i in np.atleast_1d(rows)]


def section_probabilities_oof(data: TrainingData) -> np.ndarray:
    """Each example's section probabilities from a model trained without its writer's group (held-out writers)."""
    probs = np.zeros((len(data.examples), len(data.sections)), dtype=np.float32)
    writers = np.array([e.writer for e in data.examples])
    for group in data.writer_folds():
        held = np.flatnonzero(np.isin(writers, group))
        rest = np.flatnonzero(~np.isin(writers, group))
        model = train_section_model(data.subset(rest))
        texts = _texts(data, held)
        probs[held] = model.probabilities(data.vectors[held], texts, [_ngram_slots(t, NGRAM_DIM) for t in texts])
    unassigned = np.flatnonzero(writers == "")
    if len(unassigned):
        probs[unassigned] = train_section_model(data).probabilities(data.vectors[unassigned], _texts(data, unassigned))
    return probs


def _figures(data: TrainingData, probs: np.ndarray) -> np.ndarray:
    return np.stack([
        retrieval_figures(e.best_bm25, e.best_dense, e.topic, e.too_far, probs[i], e.route in RULE_ROUTES, e.coverage)
        for i, e in enumerate(data.examples)
    ]) if data.examples else np.zeros((0, len(ANSWERABILITY_FEATURES)), np.float32)


def _answerability_rows(data: TrainingData) -> list[int]:
    """Questions whose answerability the model judges: every route but the whole-table ones."""
    return [i for i, e in enumerate(data.examples) if e.route not in TABLE_ROUTES]


def fit_answerability(data: TrainingData, probs: np.ndarray, neighbours: Neighbours | None = None
                      ) -> AnswerabilityModel | None:
    """The answerability model on ``data`` (``neighbours``: ``build_neighbours(data)`` when the caller has it)."""
    rows = _answerability_rows(data)
    y = np.array([data.examples[i].must_refuse for i in rows], dtype=float)
    if len(rows) < 10 or y.sum() < 3 or y.sum() == len(y):
        return None
    import scipy.sparse as sparse

    neighbours = neighbours or build_neighbours(data)
    contained = data.containment()
    near = neighbours.refusal_figures(data.vectors[rows], writer_codes(data.examples)[rows],
                                      contained=(contained[rows], np.take(contained, rows, axis=1).T))
    figures = np.concatenate([_figures(data, probs)[rows], near], axis=1)
    mean = figures.mean(axis=0)
    scale = figures.std(axis=0) + 1e-6
    grams = ngram_matrix([data.examples[i].search_text for i in rows], ANSWER_NGRAM_DIM)
    x = sparse.hstack([sparse.csr_matrix(data.vectors[rows]), grams * ANSWER_NGRAM_SCALE,
                       sparse.csr_matrix((figures - mean) / scale)]).tocsr()
    w, b = fit_binary(x, y, dense_columns=data.vectors.shape[1])
    return AnswerabilityModel(w, b, mean.astype(np.float32), scale.astype(np.float32), ANSWER_NGRAM_DIM,
                              ANSWER_NGRAM_SCALE)


def _learned_rows(data: TrainingData) -> list[int]:
    return [i for i, e in enumerate(data.examples) if e.route not in RULE_ROUTES]


def choose_prior_weights(data: TrainingData, probs: np.ndarray, votes: np.ndarray | None = None
                         ) -> tuple[float, float, float]:
    """The neighbours' share, the prior's weight and the context's weight that put a gold section first most often
    on held-out writers (ties → the smaller share, then weights, the prior's first). ``votes``: ``section_votes_oof``
    (None: the share stays 0)."""
    rows = [i for i in _learned_rows(data) if not data.examples[i].must_refuse and data.examples[i].gold]
    if not rows:
        return 0.0, 0.0, 0.0
    # The matrices once, not once per setting (``top1_hits`` would build them 250 times).
    fused, carried, gold = data.fused_matrix(rows), data.carried_matrix(rows), data.gold_mask(rows)
    best, best_hits = (0.0, 0.0, 0.0), -1
    for share in SHARE_GRID if votes is not None else (0.0,):
        blended = probs[rows] if votes is None else blend(probs[rows], votes[rows], share)
        for weight in PRIOR_GRID:
            for context in CONTEXT_GRID:
                hits = first_is_gold(fused + weight * blended + context * carried, gold)
                if hits > best_hits:
                    best, best_hits = (share, weight, context), hits
    return best


def precision_lower_bound(right: int, flagged: int, z: float = PRECISION_CONFIDENCE_Z) -> float:
    """Wilson score lower bound of a precision of ``right`` out of ``flagged`` (0.0 when nothing is flagged)."""
    if flagged == 0:
        return 0.0
    p, n = right / flagged, flagged
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float((centre - spread) / (1 + z * z / n))


def choose_refuse_threshold(data: TrainingData, scores: np.ndarray, precision: float = REFUSAL_PRECISION,
                            lang: str | None = None) -> float:
    """The lowest threshold down to which held-out refusals are at least ``precision`` right *with 95% confidence*
    (the Wilson lower bound, scanning down from 0.99 and stopping at the first threshold that falls short).

    Why a bound and not the point figure: the threshold is chosen on the very scores it is judged on, so the lowest
    one whose precision just reaches the target is picked where it is luckily high; on new writers it then falls
    short. Over the 18 training writers the point rule went as low as 0.58, where the last refusals it adds are
    right only two times in three.
    """
    rows = [i for i in _answerability_rows(data) if lang is None or data.examples[i].lang == lang]
    y = np.array([data.examples[i].must_refuse for i in rows], dtype=bool)
    s = scores[rows]
    best = 0.99
    for threshold in np.round(np.arange(0.99, 0.04, -0.01), 2):
        flagged = s >= threshold
        if flagged.sum() == 0:
            continue
        if precision_lower_bound(int(y[flagged].sum()), int(flagged.sum())) < precision:
            break
        best = float(threshold)
    return best


def choose_language_thresholds(data: TrainingData, scores: np.ndarray, pooled: float) -> dict[str, float]:
    """Per language, the threshold its own held-out questions allow (``choose_refuse_threshold`` on them alone),
    where that is below the pooled one.

    Why per language: the model's "not answered" scores are not alike across languages (held-out AUC on the training
    writers: Chinese 0.989, English 0.926), and one threshold for both is set by the weaker one: with English questions
    in the pool it rose 0.69 → 0.73 and the Chinese writers' not-covered recall fell 0.874 → 0.854. Why never above
    the pooled one: a language whose own questions cannot show the target precision (a small or hard set: English
    would get 0.96, recall 0.34) would otherwise decline less, and a confident wrong citation is worse than "the
    documents do not say"; it keeps the pooled threshold.
    """
    thresholds: dict[str, float] = {}
    for lang in sorted({data.examples[i].lang for i in _answerability_rows(data)}):
        own = choose_refuse_threshold(data, scores, lang=lang)
        if own < pooled:
            thresholds[lang] = own
    return thresholds


def answerability_scores_oof(data: TrainingData, probs: np.ndarray) -> np.ndarray:
    """Each example's "not answered" probability from a model trained without its writer's group."""
    scores = np.zeros(len(data.examples), dtype=np.float32)
    writers = np.array([e.writer for e in data.examples])
    figures = _figures(data, probs)
    contained = data.containment()   # before the subsets: they take their part of it
    for group in data.writer_folds():
        held = np.flatnonzero(np.isin(writers, group))
        kept = np.flatnonzero(~np.isin(writers, group))
        rest = data.subset(kept)
        neighbours = build_neighbours(rest)
        model = fit_answerability(rest, probs[kept], neighbours)
        if model is not None:
            texts = _texts(data, held)
            slots = [_ngram_slots(t, model.ngram_dim) for t in texts]
            near = neighbours.refusal_figures(data.vectors[held], contained=(_block(contained, held, kept),
                                                                             _block(contained, kept, held).T))
            scores[held] = model.probability(data.vectors[held], np.concatenate([figures[held], near], axis=1), texts,
                                             slots)
    return scores


def train(data: TrainingData, embed_model: str, inputs_hash: str = "") -> Understanding:
    """Fit both models on all of ``data``, keep its questions as the models' neighbours, and choose the settings on
    its writers held out in groups."""
    votes = section_votes_oof(data)
    model_probs = section_probabilities_oof(data)
    share, prior_weight, context_weight = choose_prior_weights(data, model_probs, votes)
    probs = blend(model_probs, votes, share)
    answer_scores = answerability_scores_oof(data, probs)
    threshold = choose_refuse_threshold(data, answer_scores)
    language_thresholds = choose_language_thresholds(data, answer_scores, threshold)
    neighbours = build_neighbours(data)
    answerability = fit_answerability(data, probs, neighbours)
    return Understanding(
        embed_model=embed_model,
        sections=train_section_model(data),
        answerability=answerability,
        prior_weight=prior_weight,
        refuse_threshold=threshold,
        context_weight=context_weight,
        refuse_thresholds=language_thresholds,
        neighbours=neighbours,
        neighbour_share=share,
        inputs_hash=inputs_hash,
        info={
            "questions": len(data.examples),
            "profile_examples": len(data.profile_texts),
            "writers": data.writers(),
            "training_version": TRAINING_VERSION,
        },
    )


# ---- inputs -------------------------------------------------------------------------------------
# The code that turns a question into the features and routes the models are trained on: when it changes, the same
# question files give other training data, so the bundled models are stale as surely as when a question changes.
FEATURE_SOURCES: tuple[str, ...] = (
    "assistant/query.py", "assistant/lexicon.py", "assistant/scope.py", "assistant/structure.py",
    "assistant/service.py", "assistant/learned.py", "assistant/coverage.py", "evals/training.py",
    "indexing/retrieval/hybrid.py", "indexing/retrieval/fusion.py", "indexing/tokenize_zh.py",
    "assistant/spelling.py", "indexing/bm25_store.py",   # the repair of pinyin slips, read off the index's counts
)


def inputs_hash(question_files: Sequence[Path], profiles_dir: Path, embed_model: str) -> str:
    """What the bundled models were trained from: the question files, the profiles and lexicon, the embedding model,
    and the code that makes their features (``FEATURE_SOURCES``).

    The stale-models test compares it with the hash stored in ``corpus/models/understanding.npz``.
    """
    digest = hashlib.sha256()
    digest.update(f"v{TRAINING_VERSION}:{embed_model}".encode())
    digest_files(digest, sorted(map(Path, question_files), key=lambda p: p.name))
    digest_files(digest, sorted(Path(profiles_dir).glob("*.toml")))
    lexicon = Path(profiles_dir).parent / "lexicon"
    digest_files(digest, [lexicon / name for name in ("synonyms.toml", "out_of_scope.toml", "userdict.txt")
                          if (lexicon / name).exists()])
    digest_sources(digest, FEATURE_SOURCES)
    return digest.hexdigest()[:16]


def digest_files(digest: Any, paths: Iterable[Path]) -> None:
    """Feed each file's name and bytes to ``digest`` (a hashlib object), in the order given."""
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())


def digest_sources(digest: Any, sources: Iterable[str]) -> None:
    """Feed each source file (a path relative to the repository) to ``digest``: the code a model's features depend on."""
    root = Path(__file__).resolve().parent.parent
    for name in sources:
        digest.update(name.encode())
        digest.update((root / name).read_bytes())
