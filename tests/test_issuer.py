"""Who issued a document and its 文号: a hotline's everyday look-up, answered from the document's text and sidecar.

Before this route such a question was answered from whichever section retrieval put first ("这个通知是哪个单位发的"
→ the notice's 形式审查 clause). The 文号 of the test documents stands in the notice's and the 资助办法's own headings;
the Nanshan measure's text leaves it out and only its sidecar gives it; the bundled draft has none at all.
"""

from __future__ import annotations

import pytest
from document_fixtures import DISTRICT, FUND, NOTICE

from assistant.query import asked_issuer_facts, plan_query


@pytest.mark.parametrize("question", [
    "这个通知是哪个单位发的", "数字创意申报通知是哪个部门发的？文号是多少？", "资助办法的发文字号", "这份措施是谁印发的",
    "Who issued the Nanshan measures?", "What is the document number of the fund measures?",
])
def test_questions_about_issuer_or_number_read_as_such(question):
    assert plan_query(question).intent == "meta-issuer"


@pytest.mark.parametrize("question", [
    # Who pays, who receives, who reviews: not who issued the document.
    "补贴是哪个部门发的", "申报材料交给哪个部门", "资助资金由哪个部门拨付", "初审由哪个部门负责",
    "孵化器每年最高多少", "Which department reviews the applications?",
])
def test_other_questions_naming_a_department_are_not_about_the_issuer(question):
    assert plan_query(question).intent != "meta-issuer"


def test_which_facts_are_asked():
    assert asked_issuer_facts("文号是多少") == (True, False)
    assert asked_issuer_facts("哪个部门发的？文号是多少？") == (True, True)
    assert asked_issuer_facts("这个通知是哪个单位发的") == (False, True)


def test_the_bundled_draft_has_no_number_and_says_so(assistant):
    answer = assistant.ask("这份措施的发文字号是什么？")
    assert answer.refused and answer.refusal_reason == "lacks-detail"
    assert "没有写明文号" in answer.text and "征求意见稿" in answer.text
    assert not answer.citations


def test_the_bundled_drafts_issuer_comes_from_its_sidecar(assistant, knowledge):
    answer = assistant.ask("这个措施是哪个部门发布的？")
    issuer = knowledge.facts.issuer
    assert issuer and not answer.refused
    assert issuer in answer.text and issuer in answer.reply
    assert not answer.citations


def test_a_number_the_text_writes_is_quoted_as_written(documents_assistant):
    answer = documents_assistant.ask("数字创意申报通知是哪个部门发的？文号是多少？")
    facts = documents_assistant.knowledge.facts_of(NOTICE)
    assert not answer.refused
    assert f"{facts.issuer}印发，文号为{facts.doc_number}（原文写明）" in answer.text
    assert facts.doc_number in answer.reply
    # The draft notice stays (rule 4), and the notice's own status is added.
    assert any("征求意见稿" in n for n in answer.notices) and any(facts.title in n for n in answer.notices)


def test_a_number_only_the_sidecar_gives_is_said_to_be_from_it(documents_assistant):
    answer = documents_assistant.ask("南山那个数字经济措施的文号是多少？")
    number = documents_assistant.knowledge.facts_of(DISTRICT).doc_number
    assert number not in documents_assistant.knowledge.document(DISTRICT).document.text
    assert f"文号为{number}（据文件登记信息，原文未写明）" in answer.text


def test_a_number_asked_of_no_named_document_lists_every_document(documents_assistant):
    answer = documents_assistant.ask("文号是多少")
    kb = documents_assistant.knowledge
    assert not answer.refused
    for doc in (NOTICE, FUND, DISTRICT):
        assert kb.facts_of(doc).doc_number in answer.text
    assert "没有写明文号" in answer.text   # the bundled draft's line


def test_english_issuer_answer(documents_assistant):
    answer = documents_assistant.ask("Who issued the Nanshan measures, and what is its document number?")
    facts = documents_assistant.knowledge.facts_of(DISTRICT)
    assert answer.lang == "en" and not answer.refused
    assert f"was issued by {facts.issuer}; its document number is {facts.doc_number}" in answer.text
    assert "registered details" in answer.text
