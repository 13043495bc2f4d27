"""The award shape a question asks for (``assistant.award_shapes``) and which document it lets lead, on the bundled
measure and the fictional application notice, which restates the measure's awards in other shapes."""

from __future__ import annotations

import pytest
from document_fixtures import DISTRICT, FUND, NOTICE, PRIMARY, ROOT

from assistant.award_shapes import asked_shapes, shape_agreement
from assistant.document_choice import SHAPE_WEIGHT, document_scores, retrieval_leads
from assistant.knowledge import KnowledgeBase
from assistant.query import plan_query
from evals.document_questions import DOCUMENTS_DIR
from indexing.corpus import load_corpus, load_document
from indexing.retrieval.hits import ClauseHit


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase([*load_corpus(ROOT / "corpus"), load_document(DOCUMENTS_DIR / NOTICE / f"{NOTICE}.txt")])


@pytest.mark.parametrize(("question", "shapes"), [
    ("孵化器 每年上限 支持几年", ("per_year", "term")),
    ("网络视听创新基地补贴比例是多少，封顶多少？", ("share",)),
    ("战略咨询成果是一次性给吗", ("one_off",)),
    ("评上省级平台还能追加多少", ("top_up",)),
    ("What share of the investment is covered, per year?", ("per_year", "share")),
    ("孵化器最多补多少", ()),
    ("南山那个措施，单个企业每年最多拿多少？", ("per_year", "overall")),
    ("我们同时申请了三项，加起来有没有总额上限？", ("overall",)),
    ("一家企业一年累计最多能拿多少钱", ("overall",)),
    # A sum of named awards and a count are not the limit on a company's sum.
    ("两项合计最多能拿多少", ()),
    ("那一家企业每年最多能报几个？", ("per_year",)),
    # Only the last sentence asks: "去年一年营收" says what the company is, "一年" is no per-year figure asked.
    ("我们去年一年营收2000万，每年都有增长。孵化器能补多少？", ()),
])
def test_the_shapes_a_question_asks(question, shapes):
    assert asked_shapes(plan_query(question).normalized) == shapes


def test_a_section_has_the_shapes_its_awards_have(kb):
    measure, notice = kb.awards("十六", PRIMARY), kb.awards("一/六", NOTICE)
    # The measure: 最高200万元资助，资助期限不超过3年; the notice: 每年给予最高100万元资助，连续支持不超过3年.
    assert shape_agreement(("per_year", "term"), measure) == 0.5
    assert shape_agreement(("per_year", "term"), notice) == 1.0
    assert shape_agreement((), notice) == 0.0
    assert shape_agreement(("share",), kb.awards("一/四", NOTICE)) == 1.0   # 按项目建设实际投资额的20%
    assert shape_agreement(("share",), kb.awards("九", PRIMARY)) == 0.0


def test_the_document_stating_the_shape_asked_leads(kb):
    # "补贴比例 封顶": the measure's （九） leads by retrieval (its profiles speak of 网络视听基地), the notice's 一（四）
    # is the one that gives a share. Scores as retrieval gave them on the question.
    hits = [ClauseHit(PRIMARY, "九", score=5.4, base_score=1.0, text_score=0.9),
            ClauseHit(NOTICE, "一/四", score=0.915, text_score=0.915)]
    question = "网络视听创新基地 补贴比例 封顶"
    shapes = asked_shapes(question)
    without = document_scores(hits, question, kb)
    assert without[PRIMARY] > without[NOTICE]
    scores = document_scores(hits, question, kb, shapes)
    assert scores[NOTICE] == pytest.approx(without[NOTICE] + SHAPE_WEIGHT)
    assert scores[PRIMARY] == pytest.approx(without[PRIMARY])
    assert retrieval_leads(hits, question, kb, shapes)[0].doc_id == NOTICE
    assert retrieval_leads(hits, question, kb)[0].doc_id == PRIMARY


def test_a_claimed_shape_does_not_move_the_lead(documents_assistant):
    # "是一次性给100万吧" asks to check a claim about the measure's （二十四）（每年最高100万元）; the notice's 一（八）,
    # 一次性最高50万元, has the shape the claim presumes but is not what was asked about.
    answer = documents_assistant.ask("战略咨询那条是一次性给100万吧？")
    assert answer.citations[0].ref.doc_id == PRIMARY and answer.citations[0].ref.number == "二十四"


def test_a_company_s_yearly_limit_is_the_document_s_limit_on_the_sum(documents_assistant):
    answer = documents_assistant.ask("南山那个数字经济措施，单个企业每年最多拿多少？")
    assert [c.ref.key for c in answer.citations] == ["二十六"] and answer.citations[0].ref.doc_id == DISTRICT
    assert "1000万元" in answer.text
    # A claim is checked against it: the stand-in fund measures limit a unit to 1000万元 a year.
    answer = documents_assistant.ask("听说资助办法里同一家单位一年最多能拿2000万，是这样吗？")
    assert answer.citations[0].ref.doc_id == FUND and answer.citations[0].ref.key == "十一"
    assert "超出" in answer.text


def test_a_company_s_yearly_limit_of_a_document_stating_none_is_left_to_retrieval(assistant):
    # The bundled measure limits no company's sum: the question is answered as before, never from an invented total.
    answer = assistant.ask("单个企业每年最多能拿多少？")
    assert all(not a.overall for c in answer.citations for a in assistant.knowledge.awards(c.ref))


def test_in_a_conversation_the_yearly_limit_is_the_award_just_answered_s(documents_assistant):
    answer = documents_assistant.ask(["资助办法的贷款贴息怎么算？", "单个企业每年的上限是多少？"])
    assert answer.citations and answer.citations[0].ref.key != "十一"
