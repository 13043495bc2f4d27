"""Parallel index builds give exactly the serial result; BM25 tokens are reused by incremental builds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_models import HashingEmbedder

import indexing.build_cache as build_cache
import indexing.build_chunks as build_chunks
from indexing.bm25_store import BM25Store
from indexing.build import build_index
from indexing.build_chunks import chunk_tokens, embed_hash, make_chunks
from indexing.build_workers import PARALLEL_MIN_DOCUMENTS, WorkerPool, build_workers, worker_pool
from indexing.chunking import ChunkConfig
from indexing.config import IndexConfig
from indexing.corpus_folders import load_corpus_folders
from indexing.index_files import BM25_DIR, open_index
from indexing.parser import ParseError
from indexing.tokenize_zh import tokenize

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
FAKE = "fake-hashing"
QUESTIONS = ("孵化器的资助期限", "游戏出海", "超高清视频 产业基地", "第十六条", "杭州市 电子竞技 最高资助")


@pytest.fixture(scope="module")
def synthetic_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real measure (with profiles) and 7 synthetic measures of its family."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.synthetic_corpus import write_corpus

    return write_corpus(tmp_path_factory.mktemp("synthetic") / "corpus", documents=8, seed=3)


def built(corpus: Path, home: Path, workers: str, monkeypatch: pytest.MonkeyPatch, **kwargs: object):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("POLICY_ASSISTANT_BUILD_WORKERS", workers)
    config = IndexConfig(home=home, corpus_dir=corpus, embed_model=FAKE)
    return config, build_index(config, embedder=HashingEmbedder(), **kwargs)  # type: ignore[arg-type]


def test_parallel_build_is_identical_to_serial(synthetic_corpus: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    serial_config, serial = built(synthetic_corpus, tmp_path / "serial", "1", monkeypatch)
    parallel_config, parallel = built(synthetic_corpus, tmp_path / "parallel", "2", monkeypatch)
    assert serial.documents == parallel.documents == 8
    assert (serial.chunks, serial.sections, serial.clauses) == (parallel.chunks, parallel.sections, parallel.clauses)

    one, two = open_index(serial_config, embedder=HashingEmbedder()), open_index(parallel_config, embedder=HashingEmbedder())
    assert one.chunks == two.chunks                                              # same chunks, same order
    assert [embed_hash(c) for c in one.chunks] == [embed_hash(c) for c in two.chunks]
    for name in sorted(p.name for p in (serial_config.index_dir / BM25_DIR).iterdir()):
        assert (serial_config.index_dir / BM25_DIR / name).read_bytes() == (
            parallel_config.index_dir / BM25_DIR / name).read_bytes(), name
    for question in QUESTIONS:
        np.testing.assert_array_equal(one.bm25.scores(question), two.bm25.scores(question))
    one.close()
    two.close()


def test_pool_gives_serial_chunks_and_tokens(synthetic_corpus: Path, tmp_path: Path) -> None:
    config = IndexConfig(home=tmp_path / "home", corpus_dir=synthetic_corpus)
    folders = load_corpus_folders(config)
    chunks, counts = make_chunks(folders, ChunkConfig(48, 8))
    hashes = [embed_hash(c) for c in chunks]
    tokens, tokenised = chunk_tokens(chunks, hashes, {})
    assert tokenised == len(chunks)
    with worker_pool(2) as pool:
        assert pool is not None and pool.workers == 2
        pooled_folders = load_corpus_folders(config, pool)
        pooled, pooled_counts = make_chunks(pooled_folders, ChunkConfig(48, 8), pool)
        pooled_tokens, _ = chunk_tokens(pooled, [embed_hash(c) for c in pooled], {}, pool)
        assert pool.fallbacks == 0
    assert [d.document for f in pooled_folders for d in f.documents] == [d.document for f in folders for d in f.documents]
    assert pooled == chunks and pooled_counts == counts and pooled_tokens == tokens


@pytest.mark.parametrize("corpus", ["bundled", "synthetic"])
def test_chunk_tokens_are_the_tokens_of_the_embedded_text(corpus: str, synthetic_corpus: Path, tmp_path: Path) -> None:
    """Header and body are tokenised apart (headers once); the result must be tokenize(embed_text) exactly."""
    folder = CORPUS if corpus == "bundled" else synthetic_corpus
    chunks, _ = make_chunks(load_corpus_folders(IndexConfig(home=tmp_path, corpus_dir=folder)), ChunkConfig())
    tokens, _ = chunk_tokens(chunks, [embed_hash(c) for c in chunks], {})
    for chunk, chunk_tokens_ in zip(chunks, tokens, strict=True):
        assert chunk_tokens_ == tokenize(chunk.embed_text), chunk.chunk_id
    assert BM25Store.build_from_tokens(tokens).scores("孵化器").tolist() == \
        BM25Store.build([c.embed_text for c in chunks]).scores("孵化器").tolist()


def test_incremental_build_reuses_tokens(synthetic_corpus: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    tokenised: list[int] = []
    original = build_chunks.tokenize_texts

    def counting(texts: list[str]) -> list[list[str]]:
        tokenised.append(len(texts))
        return original(texts)

    monkeypatch.setattr(build_chunks, "tokenize_texts", counting)
    config, first = built(synthetic_corpus, tmp_path / "home", "1", monkeypatch)
    assert sum(tokenised) > first.chunks // 2
    bm25_first = open_index(config, embedder=HashingEmbedder()).bm25.scores("孵化器 资助期限")

    tokenised.clear()
    _, again = built(synthetic_corpus, tmp_path / "home", "1", monkeypatch)
    assert sum(tokenised) == 0 and again.reused == again.chunks
    np.testing.assert_array_equal(open_index(config, embedder=HashingEmbedder()).bm25.scores("孵化器 资助期限"), bm25_first)

    built(synthetic_corpus, tmp_path / "home", "1", monkeypatch, rebuild=True)     # rebuild: tokenise again
    assert sum(tokenised) > 0
    tokenised.clear()
    monkeypatch.setattr(build_cache, "tokenizer_fingerprint", lambda: "another jieba")
    built(synthetic_corpus, tmp_path / "home", "1", monkeypatch)                  # other tokenizer: tokenise again
    assert sum(tokenised) > 0


def test_damaged_token_cache_means_tokenising_again(synthetic_corpus: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    config, first = built(synthetic_corpus, tmp_path / "home", "1", monkeypatch)
    (config.index_dir / build_cache.TOKENS_FILE).write_bytes(b"not a zip")
    _, again = built(synthetic_corpus, tmp_path / "home", "1", monkeypatch)
    assert again.chunks == first.chunks
    index = open_index(config, embedder=HashingEmbedder())
    assert index.chunks[index.bm25.search("孵化器的资助期限", 1)[0].chunk_index].section_key == "十六"
    index.close()


def test_parse_error_in_a_worker_is_the_serial_error(synthetic_corpus: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(synthetic_corpus, corpus)
    (corpus / "documents" / "zz-broken.txt").write_text("没有任何条款结构的一段话。\n", encoding="utf-8")
    errors = []
    for workers in ("1", "2"):
        with pytest.raises(ParseError) as caught:
            built(corpus, tmp_path / f"home-{workers}", workers, monkeypatch)
        errors.append((type(caught.value), str(caught.value), caught.value.line))
    assert errors[0] == errors[1]


def _die_in_worker(item: int) -> int:
    import multiprocessing

    if multiprocessing.parent_process() is not None:     # in a worker (forked or spawned)
        os._exit(3)
    return item * 2


def test_workers_that_die_fall_back_to_this_process() -> None:
    with worker_pool(2) as pool:
        assert isinstance(pool, WorkerPool)
        assert pool.map(_die_in_worker, list(range(10))) == [i * 2 for i in range(10)]
        assert pool.fallbacks == 1
        assert pool.map(_die_in_worker, [5, 6]) == [10, 12]           # later work stays in this process


def test_worker_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLICY_ASSISTANT_BUILD_WORKERS", raising=False)
    assert build_workers(1) == 1 and build_workers(PARALLEL_MIN_DOCUMENTS - 1) == 1
    assert build_workers(PARALLEL_MIN_DOCUMENTS) == len(os.sched_getaffinity(0))
    monkeypatch.setenv("POLICY_ASSISTANT_BUILD_WORKERS", "3")
    assert build_workers(1) == 3
    monkeypatch.setenv("POLICY_ASSISTANT_BUILD_WORKERS", "1")
    assert build_workers(10_000) == 1
    for bad in ("0", "-2", "many"):
        monkeypatch.setenv("POLICY_ASSISTANT_BUILD_WORKERS", bad)
        with pytest.raises(ValueError, match="POLICY_ASSISTANT_BUILD_WORKERS"):
            build_workers(100)


def test_width_folding_table_is_fold_width() -> None:
    from indexing.numerals import fold_width
    from indexing.tokenize_zh import _WIDTH_TABLE

    text = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF)
    assert text.translate(_WIDTH_TABLE) == fold_width(text)


def test_simplified_fast_path_is_opencc() -> None:
    """Text that OpenCC would leave alone skips it; anything else still goes through OpenCC."""
    from indexing.tokenize_zh import _converter, to_simplified

    samples = [CORPUS.joinpath("documents", "shenzhen-digital-creative-measures-2022-draft.txt").read_text("utf-8"),
               "孵化器補貼多少？", "數位創意產業集群", "乾隆 皇后 頭髮 覆蓋", "VR 头显", "", "一"]
    for text in samples + [line for line in samples[0].splitlines() if line]:
        assert to_simplified(text) == _converter().convert(text)


def test_incremental_build_reuses_unchanged_documents_chunks(synthetic_corpus: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(synthetic_corpus, corpus)
    chunked: list[str] = []
    original = build_chunks.document_chunks

    def counting(task):  # type: ignore[no-untyped-def]
        chunked.append(task[0].meta.id)
        return original(task)

    monkeypatch.setattr(build_chunks, "document_chunks", counting)
    config, first = built(corpus, tmp_path / "home", "1", monkeypatch)
    assert len(chunked) == 8
    chunked.clear()
    _, again = built(corpus, tmp_path / "home", "1", monkeypatch)
    assert chunked == [] and again.chunks == first.chunks

    # One document edited: only it is chunked again, and the index holds what a fresh chunking gives.
    document = sorted((corpus / "documents").glob("*.txt"))[-1]
    document.write_text(document.read_text(encoding="utf-8").replace("。", "。\n", 3), encoding="utf-8")
    _, edited = built(corpus, tmp_path / "home", "1", monkeypatch)
    assert len(chunked) == 1
    fresh, _ = make_chunks(load_corpus_folders(config), ChunkConfig(config.chunk_size, config.chunk_overlap))
    index = open_index(config, embedder=HashingEmbedder())
    assert index.chunks == fresh
    index.close()

    chunked.clear()
    built(corpus, tmp_path / "home", "1", monkeypatch, rebuild=True)
    assert len(chunked) == 8
