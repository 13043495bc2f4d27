"""The award shape a question asks for (``assistant.award_shapes``) and which document it lets lead, on the bundled
measure and the fictional application notice, which restates the measure's awards in other shapes."""

from __future__ import annotations

import pytest
from document_fixtures import NOTICE, PRIMARY, ROOT

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
