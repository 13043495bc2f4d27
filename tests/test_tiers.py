"""Tiers a text names but does not price (``assistant.detail.tiers_unstated``), on the real texts: the bundled
measure's （五） "分档次给予最高200万元资助", the fictional notice's "分A、B、C三档…最高不超过200万元", the stand-in fund
measures' 第十二条 (one tiered item beside priced ones), and training documents that do price their tiers."""

from __future__ import annotations

import pytest
from document_fixtures import FUND, NOTICE, PRIMARY, ROOT

from assistant.detail import tiers_unstated
from assistant.knowledge import KnowledgeBase
from assistant.query import plan_query
from evals.document_questions import DOCUMENTS_DIR, TRAINING_DOCUMENTS_DIR
from indexing.corpus import load_corpus, load_document


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    training = ("creative-incubator-rules", "futian-culture-talent-space-rules")
    return KnowledgeBase([*load_corpus(ROOT / "corpus"),
                          *(load_document(DOCUMENTS_DIR / d / f"{d}.txt") for d in (NOTICE, FUND)),
                          *(load_document(TRAINING_DOCUMENTS_DIR / d / f"{d}.txt") for d in training)])


def _unstated(kb: KnowledgeBase, question: str, doc: str, key: str) -> bool:
    return tiers_unstated(plan_query(question).normalized, kb.section(key, doc).text)


@pytest.mark.parametrize("question", ["每一档分别是多少钱？", "A档具体给多少钱？B档C档呢？", "具体算哪一档、能给多少钱？",
                                      "最低一档给多少"])
def test_what_each_tier_pays_is_not_stated_where_tiers_share_one_ceiling(kb, question):
    assert _unstated(kb, question, PRIMARY, "五")
    assert _unstated(kb, question, NOTICE, "一/二")
    # 第十二条 prices its other items (100万元, 50万元…); its tiered one, 优秀动漫作品, has one ceiling.
    assert _unstated(kb, question, FUND, "十二")


def test_tiers_priced_one_by_one_are_stated(kb):
    # "孵化器年度考核结果为A档、B档、C档的，分别给予200万元、120万元、60万元"; "按照营业收入规模分档…分别给予20万元、50万元、
    # 100万元".
    incubator = kb.section("二十二", "creative-incubator-rules").text
    assert "A档、B档、C档" in incubator
    assert not tiers_unstated("孵化器每一档分别是多少钱", incubator)
    futian = next(s for s in kb.document("futian-culture-talent-space-rules").document.sections
                  if "按照营业收入规模分档" in s.text)
    assert not tiers_unstated("营收增长奖励每档多少钱", futian.text)
    assert not tiers_unstated("分几档", futian.text)     # a figure for each says how many


def test_the_top_tier_is_the_ceiling_and_other_questions_are_not_about_tiers(kb):
    assert not _unstated(kb, "最高一档是多少？", PRIMARY, "五")
    assert not _unstated(kb, "最高能补多少", NOTICE, "一/二")
    assert not _unstated(kb, "孵化器每年最多补多少", PRIMARY, "十六")   # no tiers named


def test_how_many_tiers(kb):
    assert _unstated(kb, "具体分几档？", PRIMARY, "五")           # 分档次: no number
    assert not _unstated(kb, "具体分几档？", NOTICE, "一/二")     # 分A、B、C三档


def test_an_answer_asked_what_each_tier_pays_says_the_text_does_not(documents_assistant):
    answer = documents_assistant.ask("2023年申报通知里数字内容原创精品项目的A档、B档、C档分别资助多少钱？")
    assert answer.refused and answer.refusal_reason == "lacks-detail"
    assert "一（二）" in answer.text
