"""A second document in the corpus: answers cite each document's own clause, search shows each document's own clause."""

from __future__ import annotations

from pathlib import Path

from assistant.compose import Decision, ScoredSection, compose
from assistant.guard import check_generated
from assistant.knowledge import KnowledgeBase
from assistant.query import PreviousTurn, plan_query
from assistant.service import PolicyAssistant
from indexing.corpus import load_corpus, load_document
from indexing.retrieval.hits import ClauseHit
from indexing.section_ref import SectionRef

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
    assert {r for r, _ in decision.sections} == {a.ref for a in kb.primary_caps.awards if a.amount_wan == top}
    assert {r.doc_id for r, _ in decision.sections} == {kb.primary.meta.id}


def test_answers_cite_added_documents_under_their_own_id_and_search_keeps_them_apart():
    kb = _knowledge()
    other = kb.documents[1].meta.id
    hits = [ClauseHit(other, "三", 1.0, bm25_score=9.0, dense_score=0.95),
            ClauseHit(kb.primary.meta.id, "十一", 0.9, bm25_score=8.0, dense_score=0.94)]
    assistant = PolicyAssistant(kb, _StubRetriever(hits))  # type: ignore[arg-type]
    answer = assistant.ask(["新上线的原创游戏产品奖励多少"])
    # The added document's clause leads by retrieval; its citation names its document, not the measure's （三）.
    assert (answer.citations[0].doc, answer.citations[0].section) == (other, "三")
    assert answer.citations[0].document is not None and answer.citations[0].document.id == other
    assert answer.citations[0].quote in kb.section(SectionRef(other, "clause", "三")).text
    results = assistant.search("原创游戏", k=5).to_json()["results"]
    by_doc = {(r["doc"], r["section"]) for r in results}
    assert (other, "三") in by_doc and (kb.primary.meta.id, "十一") in by_doc
    other_three = next(r for r in results if r["doc"] == other)
    assert "原创游戏产品" in other_three["text"]


SIXTEEN = Path(__file__).parent / "fixtures" / "district-sixteen.txt"


def test_two_documents_clause_sixteen_are_searched_and_scored_apart(tmp_path):
    """Both documents have a （十六） on incubators: fusion keys sections by document, so each is its own result."""
    from tiny_models import HashingEmbedder

    from assistant.opening import AssistantParts
    from indexing.build import build_index
    from indexing.config import IndexConfig

    config = IndexConfig(home=tmp_path / "home", corpus_dir=ROOT / "corpus", embed_model="fake-hashing")  # type: ignore[arg-type]
    build_index(config, embedder=HashingEmbedder(), add_files=[SIXTEEN])  # type: ignore[arg-type]
    assistant = PolicyAssistant.open(index_config=config, parts=AssistantParts(embedder=HashingEmbedder()))
    primary, other = assistant.knowledge.primary.meta.id, "district-sixteen"

    results = assistant.search("孵化器运营资助", k=8).to_json()["results"]
    sixteens = {r["doc"]: r for r in results if r["section"] == "十六"}
    assert set(sixteens) == {primary, other}
    assert "文化科技孵化载体" in sixteens[other]["text"] and "文化科技孵化载体" not in sixteens[primary]["text"]
    assert "数字创意孵化器" in sixteens[primary]["text"]

    # Each document's （十六） is scored from its own chunks only: its matched terms are words of its own text.
    hits = assistant._retrieve(plan_query("文化科技孵化载体运营资助", None, 26), k=10, for_search=True)
    by_doc = {h.doc_id: h for h in hits if h.section_key == "十六"}
    assert set(by_doc) == {primary, other}
    # The question is closest to the district's clause on the dense channel; merged, the measure's （十六） would
    # carry that rank and score too.
    assert by_doc[other].dense_rank == 1 and by_doc[primary].dense_rank != 1
    assert by_doc[other].dense_score > by_doc[primary].dense_score and by_doc[other].score != by_doc[primary].score
    assert "载体" in by_doc[other].matched_terms and "载体" not in by_doc[primary].matched_terms
    assert "数字创意" in by_doc[primary].matched_terms and "数字创意" not in by_doc[other].matched_terms
    # Answers still cite the bundled measure's （十六） only.
    answer = assistant.ask(["建设孵化器能拿多少运营资助"])
    assert answer.citations and all(c.doc == primary for c in answer.citations)


def _with_district() -> tuple[KnowledgeBase, str, str]:
    """The measure and the district's measure (its own （十六） on incubators, its own （十一） on laboratories)."""
    kb = KnowledgeBase([*load_corpus(ROOT / "corpus"), load_document(SIXTEEN)])
    return kb, kb.primary.meta.id, kb.documents[1].meta.id


def test_a_decision_on_both_documents_sixteen_cites_and_caps_each_from_its_own_text():
    kb, primary, district = _with_district()
    ours, theirs = SectionRef(primary, "clause", "十六"), SectionRef(district, "clause", "十六")
    assert ours != theirs and ours.key == theirs.key
    plan = plan_query("孵化器能补多少", None, 26, doc_id=primary)
    answer = compose(kb, plan, Decision([ScoredSection(ours, 1.0), ScoredSection(theirs, 0.9)]))
    assert [c.ref for c in answer.citations] == [ours, theirs]
    assert [(c.doc, c.section) for c in answer.citations] == [(primary, "十六"), (district, "十六")]
    assert "数字创意孵化器" in kb.section(ours).text and answer.citations[0].quote in kb.section(ours).text
    assert "文化科技孵化载体" in answer.citations[1].quote and "文化科技孵化载体" not in answer.citations[0].quote
    # Each clause's own cap records: the measure's 200万 and the district's 80万, each of its own document.
    assert [(a.ref, a.amount_wan) for a in answer.caps] == [(ours, 200), (theirs, 80)]
    # Two clauses （十一）, each paying its own figure: both records, each of its own document.
    elevens = [SectionRef(primary, "clause", "十一"), SectionRef(district, "clause", "十一")]
    answer = compose(kb, plan, Decision([ScoredSection(ref, 1.0) for ref in elevens]))
    assert [(a.ref, a.amount_wan) for a in answer.caps] == [(elevens[0], 200), (elevens[1], 100)]


def test_the_guard_backs_an_amount_only_by_the_cited_documents_own_clause():
    kb, primary, district = _with_district()
    ours, theirs = SectionRef(primary, "clause", "十一"), SectionRef(district, "clause", "十一")
    caps = kb.awards(ours) + kb.awards(theirs)
    assert [a.amount_wan for a in caps] == [200, 100]
    text = "按（十一），新认定的文化科技重点实验室最高100万元资助。"
    # Only the measure's （十一） is cited: the district's 100万 has the same clause number but cannot back the figure.
    assert [v.code for v in check_generated(text, {ours}, {ours, theirs}, caps)] == ["amount_not_in_caps"]
    assert check_generated(text, {theirs}, {ours, theirs}, caps) == []
    # A clause number in the text needs a cited section of that number that was itself retrieved.
    assert [v.code for v in check_generated(text, {ours}, {theirs}, caps)] == ["clause_not_cited", "amount_not_in_caps"]


def test_a_follow_up_on_the_district_clause_stays_in_the_district_document():
    kb, _, district = _with_district()
    theirs = SectionRef(district, "clause", "十六")
    assistant = PolicyAssistant(kb, None)
    previous = PreviousTurn(assistant._plan("区里的孵化载体补多少"), (theirs,))
    plan = assistant._plan("这个有期限吗？", previous)
    decision = assistant._decide(plan)
    assert [r for r, _ in decision.sections] == [theirs] and decision.route == "followup"
    answer = compose(kb, plan, decision)
    assert [c.ref for c in answer.citations] == [theirs] and "不超过2年" in answer.text
    assert [(h.doc_id, h.section_key) for h in assistant._ranked(decision)] == [(district, "十六")]
