"""A second document in the corpus: answers stay on the bundled measure, search shows each document's own clause."""

from __future__ import annotations

from pathlib import Path

from assistant.knowledge import KnowledgeBase
from assistant.query import plan_query
from assistant.service import PolicyAssistant
from indexing.corpus import load_corpus, load_document
from indexing.retrieval.hits import ClauseHit

ROOT = Path(__file__).resolve().parent.parent
OTHER = Path(__file__).parent / "fixtures" / "article-style.txt"


class _StubRetriever:
    """Returns fixed hits, one from each document (the real retriever's output shape)."""

    mode = "hybrid"

    def __init__(self, hits: list[ClauseHit]) -> None:
        self.hits = hits

    def retrieve(self, request):  # type: ignore[no-untyped-def]
        return list(self.hits)


def _knowledge() -> KnowledgeBase:
    return KnowledgeBase([*load_corpus(ROOT / "corpus"), load_document(OTHER)])


def test_largest_caps_come_from_the_bundled_measure_only():
    kb = _knowledge()
    assistant = PolicyAssistant(kb, None)
    decision = assistant._decide(plan_query("哪些条款补得最多", None, 26))
    top = kb.primary_caps.max_amount()
    assert {k for k, _ in decision.sections} == {a.clause for a in kb.primary_caps.awards if a.amount_wan == top}


def test_answers_ignore_hits_from_added_documents_and_search_keeps_them_apart():
    kb = _knowledge()
    other = kb.documents[1].meta.id
    hits = [ClauseHit(other, "三", 1.0, bm25_score=9.0, dense_score=0.95),
            ClauseHit(kb.primary.meta.id, "十一", 0.9, bm25_score=8.0, dense_score=0.94)]
    assistant = PolicyAssistant(kb, _StubRetriever(hits))  # type: ignore[arg-type]
    answer = assistant.ask(["新上线的原创游戏产品奖励多少"])
    assert [c.section for c in answer.citations] == ["十一"] and answer.citations[0].doc == kb.primary.meta.id
    results = assistant.search("原创游戏", k=5).to_json()["results"]
    by_doc = {(r["doc"], r["section"]) for r in results}
    assert (other, "三") in by_doc and (kb.primary.meta.id, "十一") in by_doc
    other_three = next(r for r in results if r["doc"] == other)
    assert "原创游戏产品" in other_three["text"]
