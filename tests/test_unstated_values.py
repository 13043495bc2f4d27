"""A value a section names without a figure (``assistant.detail.value_unstated``), and a description's words kept out
of the topic of what is asked (``assistant.detail.asked_part``), on the real texts: the fictional Nanshan measure's
（八） (its rent subsidy, capped at the 同区域市场指导租金 it does not state) and （二十五） (talent housing by other
rules), the training documents' first-of-a-kind and accelerator articles, and the bundled measure's （二十四）."""

from __future__ import annotations

import pytest
from document_fixtures import DISTRICT, PRIMARY, ROOT

from assistant.detail import asked_part, value_unstated
from assistant.knowledge import KnowledgeBase
from assistant.query import plan_query
from evals.document_questions import DOCUMENTS_DIR, TRAINING_DOCUMENTS_DIR
from indexing.corpus import load_corpus, load_document

GUANGMING = "guangming-digital-culture-equipment-measures"
INCUBATOR = "creative-incubator-rules"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase([*load_corpus(ROOT / "corpus"), load_document(DOCUMENTS_DIR / DISTRICT / f"{DISTRICT}.txt"),
                          *(load_document(TRAINING_DOCUMENTS_DIR / d / f"{d}.txt") for d in (GUANGMING, INCUBATOR))])


def _unstated(kb: KnowledgeBase, question: str, doc: str, key: str) -> bool:
    return value_unstated(plan_query(question).normalized, kb.section(key, doc).text)


@pytest.mark.parametrize(("question", "doc", "key"), [
    ("我们在科技园租的办公室，那边的市场指导租金是多少钱一平米？", DISTRICT, "八"),   # 按市场指导租金计算: no figure
    ("后海片区现在的市场指导租金是每平方米每月多少？", DISTRICT, "八"),
    ("核心人才配租的人才住房租金是市场价的几折？", DISTRICT, "二十五"),            # 按…有关规定执行
    ("市级首台套重大技术装备保险补偿是按保费的多少比例？", GUANGMING, "十四"),     # 已获得…保险补偿的: named only
])
def test_a_value_the_section_names_without_a_figure_is_unstated(kb, question, doc, key):
    assert _unstated(kb, question, doc, key)


@pytest.mark.parametrize(("question", "doc", "key"), [
    ("租金补贴每年最高多少？", DISTRICT, "八"),                 # an award: the cap table's
    ("补贴面积最多多大？", DISTRICT, "八"),
    ("核心人才的工资薪金要多少？", DISTRICT, "三"),               # 工资薪金所得不低于500000元
    ("那加速器认定要多大场地？", INCUBATOR, "十"),               # a sentence ending in a colon: its list gives 10000平方米
    ("战略咨询研究成果每年多少？", PRIMARY, "二十四"),            # 研究成果最高100万元, beside 战略咨询 without one
    ("市场指导租金是多少？", DISTRICT, "九"),                     # a section that does not name it: another may
])
def test_a_value_with_a_figure_beside_it_or_not_named_is_not_unstated(kb, question, doc, key):
    assert not _unstated(kb, question, doc, key)


def test_the_assistant_says_the_text_does_not_give_the_guide_rent(documents_assistant):
    answer = documents_assistant.ask("我们在南山粤海街道租办公室，合同月租每平180元。那粤海街道的市场指导租金是多少一平米？")
    assert answer.refused and answer.refusal_reason == "lacks-detail"
    rent = documents_assistant.ask("南山区办公用房租金补贴每年最高多少？")
    assert not rent.refused and rent.citations[0].doc == DISTRICT


def test_the_asked_part_leaves_out_sentences_that_only_describe():
    described = "我们做手游出海，收入是美元，通过平台结汇回国内。能申请出口资助吗？最高多少？"
    assert asked_part(described) == "能申请出口资助吗？最高多少？"
    assert asked_part("区里配套能给多少？") == "区里配套能给多少？"           # one sentence: all of it
    assert asked_part("我们公司想申请结汇。") == "我们公司想申请结汇。"        # nothing asks: all of it


def test_a_topic_word_in_a_description_does_not_decline_what_the_document_answers(documents_assistant):
    # "租房补贴" in the sentence that describes is the asker's word for the office rent subsidy the Nanshan measure
    # answers; asked for an employee, it is still the talent-housing topic no document covers.
    answer = documents_assistant.ask("我是一家软件公司的财务，想算下租房补贴。我们在南山租了800平米自用办公，去年营收"
                                     "增长20%。一年能补多少？能补几年？")
    assert not answer.refused and answer.citations[0].doc == DISTRICT and answer.citations[0].clause == "八"
    asked = documents_assistant.ask("我们公司在南山，员工想申请租房补贴，能补多少？")
    assert asked.refused and asked.refusal_reason.startswith("topic:")
