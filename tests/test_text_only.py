"""Documents without profiles, lexicon or learned model answer by the rules for text alone (``assistant.text_only``,
``assistant.meta_section``), on the three fictional test documents of ``evals/documents/`` in one real index.

The questions here are written for these tests, not taken from the documents' question sets (held-out measurements).
"""

from __future__ import annotations

import pytest
from document_fixtures import DISTRICT, FUND, NOTICE

from assistant.query import plan_query
from assistant.scope import ScopeThresholds, out_of_scope_topic, scope_topics, too_far
from assistant.text_only import TEXT_ONLY_SCOPE, document_topic
from evals.document_questions import DOCUMENTS_DIR
from indexing.corpus import load_document
from indexing.tokenize_zh import fold


def _document(doc_id: str):
    return load_document(DOCUMENTS_DIR / doc_id / f"{doc_id}.txt")


def _asked(text: str) -> str:
    return plan_query(text).normalized


# ---- topics the bundled measure leaves to others ----------------------------------------------------------------
def test_a_topic_named_by_the_documents_own_kind_does_not_decline():
    notice = _document(NOTICE)
    question = _asked("数字创意申报通知是什么时候发的？")
    section = notice.document.section("preamble").text
    assert out_of_scope_topic(question) is not None          # for the bundled measure: the annual guide it defers to
    assert not out_of_scope_topic(question).stated_in(section)
    assert document_topic(question, section, notice) is None  # for the notice: what it is


def test_a_topic_the_document_writes_about_elsewhere_does_not_decline():
    district = _document(DISTRICT)
    question = _asked("落户奖励有没有条件？")
    headquarters = district.document.section("六").text      # a best section that does not say 落户 itself
    assert out_of_scope_topic(question) is not None
    assert not out_of_scope_topic(question).stated_in(headquarters)
    assert document_topic(question, headquarters, district) is None
    # The fund measures never mention 落户: there the topic still declines.
    fund = _document(FUND)
    assert document_topic(question, fund.document.section("十三").text, fund) is not None


def test_a_section_writing_a_topic_in_its_own_words_does_not_decline():
    district = _document(DISTRICT)
    question = _asked("明年打算去纳斯达克IPO，有没有奖励？")
    listing = district.document.section("九").text            # "首次公开发行股票并上市…奖励", never "IPO"
    topic = out_of_scope_topic(question)
    assert topic is not None and topic.name == "上市与挂牌奖励"
    assert not any(term in listing for term in topic.terms)   # its words are the text's own (``covered_by``)
    assert topic.stated_in(listing)
    assert document_topic(question, listing, district) is None
    # A section of the same document that speaks of something else still leaves the topic uncovered.
    assert document_topic(question, district.document.section("八").text, district) is not None


@pytest.mark.parametrize(("doc_id", "key", "question"), [
    # 欠缴…社会保险费 is a reason to refuse funding: the fund measures' 第九条 answers a question on unpaid 社保.
    (FUND, "九", "我们公司还欠着两个月的社保没交，会影响申报吗？"),
    # 首次公开发行股票并上市: a district's listing award answers a question on 创业板 or 科创板.
    (DISTRICT, "九", "被投企业计划明年报科创板，上市前后能给多少奖励？"),
    (FUND, "二十三", "我们计划明年在创业板上市，按这个办法有奖励吗？"),
])
def test_a_section_covering_a_topic_in_the_texts_own_words_answers(doc_id, key, question):
    document = _document(doc_id)
    section = document.document.section(key).text
    asked = _asked(question)
    topic = out_of_scope_topic(asked)
    assert topic is not None and not any(term in fold(section) for term in topic.terms if term in asked)
    assert document_topic(asked, section, document) is None


def test_a_section_that_does_not_speak_of_the_topic_still_declines_it():
    # The fund measures write 社会保险 only in 第九条: their game R&D article does not answer a question on 社保.
    fund = _document(FUND)
    asked = _asked("我们公司还欠着两个月的社保没交，会影响申报吗？")
    assert document_topic(asked, fund.document.section("十三").text, fund) is not None


def test_the_words_a_text_covers_a_topic_by_are_not_its_question_terms():
    # ``covered_by`` is read of another document's section only: a word that would fire the topic on a question
    # belongs in ``terms``, and one holding a term says nothing ``terms`` does not.
    for topic in scope_topics():
        assert not any(term in word for word in topic.covered_by for term in topic.terms), topic.name


def test_a_chinese_term_the_question_used_says_which_side_of_a_topic_it_asks():
    # 光明's talent article writes 人才 and 补贴 (the topic's term "人才补贴"), but a question asking 人才住房 asks
    # what it does not give: only a question with no Chinese term for the topic borrows the topic's other terms.
    from evals.document_questions import TRAINING_DOCUMENTS_DIR

    doc_id = "guangming-digital-culture-equipment-measures"
    guangming = load_document(TRAINING_DOCUMENTS_DIR / doc_id / f"{doc_id}.txt")
    talent = guangming.document.section("二十三").text
    question = _asked("新引进的研发人员能申请人才住房吗？")
    assert all(word in talent for word in ("人才", "补贴")) and "住房" not in talent
    assert document_topic(question, talent, guangming) is not None


def test_a_longer_term_of_the_topic_the_question_did_not_use_is_another_side_of_it():
    # The district measure writes 所得税 only in "缴纳个人所得税" (its definition of 核心人才): that is not the
    # 企业所得税 a company asks about, though a question on 个人所得税 does find it.
    district = _document(DISTRICT)
    definitions = district.document.section("三").text
    assert "个人所得税" in definitions
    assert document_topic(_asked("我们是一家动漫企业，能享受哪些企业所得税减免？"), definitions, district) is not None
    assert document_topic(_asked("核心人才要在南山缴纳个人所得税吗？"), definitions, district) is None


def test_a_topic_no_document_covers_still_declines():
    notice = _document(NOTICE)
    question = _asked("拿到的扶持资金要不要交企业所得税？")
    assert document_topic(question, notice.document.section("五/五").text, notice) is not None


# ---- how far is too far for text alone ---------------------------------------------------------------------------
def test_a_short_question_a_text_only_article_answers_is_not_too_far(documents_assistant):
    view = documents_assistant.for_document(FUND)
    question = "弄虚作假 有什么后果"
    hits = view._retrieve(view._plan(question))
    best_bm25, best_dense = max(h.bm25_score for h in hits), max(h.dense_score for h in hits)
    # The measure's thresholds (profiles, query-to-query) would decline it; those for text alone do not.
    assert too_far(best_bm25, best_dense, ScopeThresholds())
    assert not too_far(best_bm25, best_dense, TEXT_ONLY_SCOPE)
    answer = view.ask(question)
    assert not answer.refused
    assert (answer.citations[0].doc, answer.citations[0].section) == (FUND, "三十七")


@pytest.mark.parametrize("chit_chat", ["今天深圳天气怎么样", "怎么做红烧肉"])
def test_chit_chat_is_still_too_far_from_a_text_only_document(documents_assistant, chit_chat):
    answer = documents_assistant.for_document(FUND).ask(chit_chat)
    assert answer.refused and answer.refusal_reason == "too-far"


# ---- follow-ups, clause numbers and questions about the document, in any document ----------------------------------
def test_a_follow_up_leans_on_the_previous_answers_article_of_another_document(documents_assistant):
    view = documents_assistant.for_document(FUND)
    first = view.ask("元宇宙项目能资助多少？")
    assert (first.citations[0].doc, first.citations[0].section) == (FUND, "十四")
    answer = view.ask(["元宇宙项目能资助多少？", "那投了500万呢？"])
    leading = [(r.hit.doc_id, r.hit.section_key) for r in answer.retrieved[:3]]
    assert (FUND, "十四") in leading


def test_a_document_view_reads_clause_numbers_as_its_own(documents_assistant):
    answer = documents_assistant.for_document(FUND).ask("第十条讲的是什么")
    assert [(c.doc, c.section) for c in answer.citations][:1] == [(FUND, "十")]


def test_a_question_about_a_text_only_document_cites_its_closing_article_not_a_passing_mention(documents_assistant):
    district = _document(DISTRICT).document
    marked = [s.key for s in district.sections if "有效期" in s.text]
    assert marked[0] != "二十九"          # "有效期" is first written in passing, in an award's conditions
    answer = documents_assistant.for_document(DISTRICT).ask("这个措施的有效期多久？")
    assert [(c.doc, c.section) for c in answer.citations][:1] == [(DISTRICT, "二十九")]


def test_an_abbreviation_finds_the_article_that_writes_the_word_in_full(documents_assistant):
    # 社保 is what askers say, 社会保险费 what the fund measures write (第九条: 欠缴税款、社会保险费…不予资助); the
    # lexicon's group joins them, and the topic the bundled measure leaves to others is covered by that article.
    answer = documents_assistant.for_document(FUND).ask("我们公司还欠着两个月的社保没交，会影响申报吗？")
    assert not answer.refused
    assert (answer.citations[0].doc, answer.citations[0].section) == (FUND, "九")


# ---- what comes after a document expires -----------------------------------------------------------------------
EXPIRY = "文件到期后的延续与替代"


@pytest.mark.parametrize("question", [
    "这个办法有效期5年，到期以后有没有新的办法接上？", "那到期以后会续期吗？", "这个资助办法是不是已经出了新版？",
    "有效期满5年以后，这个措施会延续吗？", "What happens after the five years — is renewal provided for?"])
def test_whether_a_document_is_extended_after_it_expires_is_a_topic(question):
    topic = out_of_scope_topic(_asked(question))
    assert topic is not None and topic.name == EXPIRY


@pytest.mark.parametrize("question", [
    "这个政策啥时候到期啊", "有效期几年？到期怎么办", "我们有一笔银行贷款去年到期后做了展期，利息还能贴息吗？",
    "明年新版本还能再申请吗？", "复核通过的认定有效期延续3年，复核什么时候申请？"])
def test_a_term_of_validity_or_an_expiry_of_something_else_is_not_that_topic(question):
    topic = out_of_scope_topic(_asked(question))
    assert topic is None or topic.name != EXPIRY


def test_a_text_saying_it_will_decide_on_extension_covers_the_topic():
    topic = next(t for t in scope_topics() if t.name == EXPIRY)
    assert topic.stated_in("有效期届满前，由区文化广电旅游体育局组织评估，决定是否修订或者延续。")
    assert not topic.stated_in(_document(FUND).document.section("四十").text)   # 自…起施行，有效期5年


def test_the_term_of_validity_answers_but_what_comes_after_it_is_not_said(documents_assistant):
    term = documents_assistant.ask("资助办法的有效期是多久？")
    assert not term.refused and [(c.doc, c.section) for c in term.citations][:1] == [(FUND, "四十")]
    after = documents_assistant.ask("资助办法有效期5年，到期以后有没有新的办法接上？")
    assert after.refused and after.refusal_reason == "lacks-detail"
    assert after.nearest and after.nearest[0].section == "四十"


def test_which_documents_a_measure_rests_on_is_not_how_many_copies_to_hand_in():
    copies = "申报材料的份数与格式"
    assert out_of_scope_topic(_asked("纸质材料要交几份？")).name == copies
    topic = out_of_scope_topic(_asked("这个办法是依据哪几份文件制定的？"))
    assert topic is None or topic.name != copies
