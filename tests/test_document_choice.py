"""Which document leads when several are indexed (``assistant.document_choice``): like-with-like scores and the
question's own words, on the bundled measure and the three fictional test documents' real text."""

from __future__ import annotations

import pytest
from document_fixtures import FUND, NOTICE, PRIMARY, ROOT

from assistant.coverage import word_coverage
from assistant.document_choice import (
    comparable_score,
    document_scores,
    retrieval_leads,
    weighted_coverage,
    word_weights,
)
from assistant.knowledge import KnowledgeBase
from evals.document_questions import DOCUMENTS_DIR
from indexing.corpus import load_corpus, load_document
from indexing.retrieval.hits import ClauseHit
from indexing.retrieval.hybrid import RetrievalRequest


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    """The bundled measure with the application notice and the fund measures (parsed, no index)."""
    return KnowledgeBase([*load_corpus(ROOT / "corpus"),
                          *(load_document(DOCUMENTS_DIR / d / f"{d}.txt") for d in (NOTICE, FUND))])


def test_a_word_one_document_uses_weighs_more_than_one_every_document_uses(kb):
    texts = [kb.document_text(d) for d in (PRIMARY, NOTICE, FUND)]
    # "初审" is the notice's alone (区级初审); "资助" is in all three; "公积金" in none.
    assert ["初审" in t for t in texts] == [False, True, False]
    assert all("资助" in t for t in texts) and not any("公积金" in t for t in texts)
    weights = word_weights(["初审", "资助", "公积金", "初审"], texts)
    assert list(weights) == ["初审", "资助", "公积金"]
    assert weights["资助"] < weights["初审"] < weights["公积金"]
    assert weights["资助"] == pytest.approx(0.134, abs=1e-3)   # log(4 / 3.5)


def test_weighted_coverage_counts_the_section_s_own_words(kb):
    weights = word_weights(["区级", "初审", "截止"], [kb.document_text(d) for d in (PRIMARY, NOTICE, FUND)])
    notice_item = kb.section("四/二", NOTICE).text      # "区级初审推荐…应于2023年6月21日前完成": no "截止"
    measure_term = kb.section("二十六", PRIMARY).text    # the measure's own term
    held = weights["区级"] + weights["初审"]
    assert weighted_coverage(weights, notice_item) == pytest.approx(held / (held + weights["截止"]))
    assert weights["截止"] < weights["初审"]   # the fund measures write "截止" too
    assert weighted_coverage(weights, measure_term) == 0.0
    assert weighted_coverage({}, measure_term) == 1.0   # no topic words: nothing to tell documents apart


def test_a_profiled_section_compares_by_its_text_channels_when_they_are_better():
    profiled = ClauseHit(PRIMARY, "八", score=1.9, base_score=0.62, text_score=0.88)
    assert profiled.retrieval_score == 0.62 and comparable_score(profiled) == 0.88
    # The learned prior (score beyond base_score) never compares documents.
    assert comparable_score(ClauseHit(PRIMARY, "八", score=1.9, base_score=0.62, text_score=0.1)) == 0.62
    assert comparable_score(ClauseHit(FUND, "三", score=0.77)) == 0.77   # text_score not computed


def test_the_document_whose_text_holds_the_question_s_own_words_leads(kb):
    # "区级初审 截止": the measure's term clause leads by retrieval (its profiles speak of deadlines), the notice's item
    # says 区级初审 and its date.
    hits = [ClauseHit(PRIMARY, "二十六", score=1.4, base_score=0.87, text_score=0.77),
            ClauseHit(NOTICE, "四/二", score=0.72, text_score=0.72),
            ClauseHit(PRIMARY, "二十五", score=0.5, base_score=0.4, text_score=0.3)]
    led = retrieval_leads(hits, "区级初审 截止", kb)
    assert [(h.doc_id, h.section_key) for h in led] == [(NOTICE, "四/二"), (PRIMARY, "二十六"), (PRIMARY, "二十五")]
    scores = document_scores(hits, "区级初审 截止", kb)
    # Weighted over the two documents among the hits; the measure's term clause holds none of the words.
    weights = word_weights(["区级", "初审", "截止"], [kb.document_text(PRIMARY), kb.document_text(NOTICE)])
    expected = 0.72 + 0.4 * weighted_coverage(weights, kb.section("四/二", NOTICE).text)
    assert scores[NOTICE] == pytest.approx(expected) and scores[PRIMARY] == pytest.approx(0.87) and 0.87 < expected
    # Without the texts, scores alone decide: the measure stays first.
    assert retrieval_leads(hits)[0].doc_id == PRIMARY


def test_hits_of_one_document_are_returned_as_they_are(kb):
    hits = [ClauseHit(PRIMARY, "十六", score=2.0, base_score=0.5), ClauseHit(PRIMARY, "十七", score=0.9)]
    assert retrieval_leads(hits, "孵化器上限", kb) is hits


def test_topic_words_read_by_coverage_are_unchanged():
    # ``word_coverage`` reads the same topic words ``document_choice`` weighs (assistant.coverage.topic_words).
    found = word_coverage("孵化器 cap 多少", "数字创意孵化器", "数字创意孵化器")
    assert (found.in_section, found.in_documents, found.outside) == (1.0, 1.0, 0)


def test_text_scores_are_computed_only_where_documents_have_different_channels(assistant, documents_assistant):
    request = RetrievalRequest(text="孵化器上限")
    assert all(h.text_score is None for h in assistant.retriever.retrieve(request))
    hits = documents_assistant.retriever.retrieve(request)
    assert {h.doc_id for h in hits} > {PRIMARY} and all(h.text_score is not None for h in hits)
    # A document without profiles is fused over its text channels already: both scores are one.
    assert all(h.text_score == pytest.approx(h.retrieval_score) for h in hits if h.doc_id != PRIMARY)


@pytest.mark.parametrize(("question", "doc", "section"), [
    # The measure's clause no longer loses to a text-only article leading the text channels on common words.
    ("我们公司做VR头显，主要卖给线下娱乐场馆，有啥支持", PRIMARY, "八"),
    ("我们拍了一部讲深圳老街故事的原创短视频系列，有对口扶持吗", PRIMARY, "五"),
    # "凭证" is the fund measures' word: its export article, not the measure's export clause.
    ("出口收入要用什么凭证来认定？", FUND, "十七"),
])
def test_questions_naming_no_document_are_answered_from_the_right_one(documents_assistant, question, doc, section):
    answer = documents_assistant.ask(question)
    assert (answer.citations[0].doc, answer.citations[0].section) == (doc, section)
