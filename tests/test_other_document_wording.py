"""Sentences written for the bundled measure say the right thing of another document's sections.

Three slips found by asking the test documents directly: a basis answer said "依据是本措施本条原文" of the notice's
item; a question naming the 资助办法 was read as asking the basis whatever it asked ("资助办法第十三条的申请对象是谁");
and an article-style clause was named by its whole first line and the next ("第八条申请专项资金资助的单位应当具备下列
条件：\n（一）在本市依法注册登记").
"""

from __future__ import annotations

from document_fixtures import FUND, NOTICE

from assistant.detail import asked_detail
from indexing.parser import short_title


def test_a_basis_answer_names_the_cited_document(documents_assistant):
    answer = documents_assistant.ask("2023年申报通知里一（四）按什么标准资助")
    assert answer.citations[0].ref.doc_id == NOTICE
    lead = answer.text.split("\n")[0]
    assert "的依据是《" in lead and "本措施" not in lead


def test_the_bundled_measure_keeps_its_own_wording(assistant):
    lead = assistant.ask("孵化器那条的依据是什么").text.split("\n")[0]
    assert "的依据是本措施" in lead


def test_english_names_the_cited_document_too(documents_assistant):
    from assistant.compose_en import EnglishWording, _detail_sentence
    from assistant.english_table import english_table

    kb = documents_assistant.knowledge
    words = EnglishWording(kb, english_table())
    item = kb.section("一/四", NOTICE)
    said = _detail_sentence(words, "basis", item, kb.awards(item.ref), ())
    assert "this measure" not in said and "《" in said
    measure = kb.section("十六")
    assert "this measure" in _detail_sentence(words, "basis", measure, kb.awards(measure.ref), ())


def test_the_fund_measures_name_is_no_detail_of_its_own():
    assert asked_detail("资助办法第十三条的申请对象是谁") == "who"
    assert asked_detail("资助办法第十条给多少钱") == "amount"
    # Asked alone it still asks the basis: whether the amount follows the 资助办法.
    assert asked_detail("这个是按资助办法吗") == "basis"
    assert asked_detail("按什么标准给钱") == "basis"


def test_a_who_question_naming_the_fund_measures_is_answered_as_one(documents_assistant):
    answer = documents_assistant.ask("资助办法第十三条的申请对象是谁")
    assert answer.citations[0].ref.doc_id == FUND
    assert "申请对象" in answer.text.split("\n")[0]


def test_a_clause_title_ends_at_its_colon_or_line_break(knowledge):
    assert short_title("申请专项资金资助的单位应当具备下列条件：\n（一）在本市依法注册登记；") == "申请专项资金资助的单位应当具备下列条件"
    assert short_title("申报主体\n1. 在光明区依法登记注册、具有独立法人资格的企业。") == "申报主体"
    assert short_title("政策咨询：市文化广电旅游体育局文化产业发展处，电话0755-8888") == "政策咨询"
    assert short_title("建设数字创意孵化器。支持……") == "建设数字创意孵化器"
    # The bundled measure's titles have neither: each is its clause's first phrase, as before.
    titles = [s.title for s in knowledge.primary.document.clauses]
    assert titles[15] == "建设数字创意孵化器" and all("：" not in t and "\n" not in t for t in titles)


def test_an_article_is_named_by_its_short_title(documents_assistant):
    answer = documents_assistant.ask("资助办法里申请专项资金要具备什么条件")
    first = answer.text.split("\n")[0]
    assert "第八条申请专项资金资助的单位应当具备下列条件列出了申请条件" in first
