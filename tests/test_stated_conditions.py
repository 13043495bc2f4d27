"""An answer never says a section "states no conditions" when its text sets them out.

The sentence "原文没有写明具体申请条件，以配套操作规程为准" was written for the bundled measure, whose conditions are
phrases of each award ("经认定的…"). Other documents set conditions out in sections of their own (the notice's
二（一）基本条件, the 资助办法's 第八条 "应当具备下列条件：", the Nanshan measure's （二）申请条件); answers said of each
of them that it states none.
"""

from __future__ import annotations

import pytest
from document_fixtures import DISTRICT, FUND, NOTICE

from assistant.detail import sets_out_conditions


def test_sections_that_set_out_conditions(knowledge):
    assert sets_out_conditions("基本条件", "申报单位应当同时符合以下条件：\n1. 在本市依法登记注册")
    assert sets_out_conditions("申请专项资金资助的单位应当具备下列条件", "第八条　申请专项资金资助的单位应当具备下列条件：")
    assert not sets_out_conditions("材料要求", "纸质材料一式两份，A4纸双面打印")
    # The bundled measure's clauses set out none in this sense: its answers keep their conditions from the awards.
    assert not any(sets_out_conditions(s.title, s.text) for s in knowledge.primary.document.sections)


@pytest.mark.parametrize(("question", "doc"), [
    ("2023年申报通知的申报单位要满足什么条件？", NOTICE),
    ("资助办法里申请专项资金要具备什么条件", FUND),
    ("南山措施的申请条件是什么", DISTRICT),
])
def test_a_conditions_answer_points_to_the_conditions_the_text_sets_out(documents_assistant, question, doc):
    answer = documents_assistant.ask(question)
    assert not answer.refused and answer.citations[0].ref.doc_id == doc
    assert "列出了申请条件" in answer.text
    first = answer.text.split("\n")[0]
    assert "没有写明具体申请条件" not in first.split("。")[0]


def test_english_says_so_too(documents_assistant):
    answer = documents_assistant.ask("What are the conditions for applying under the Nanshan measures?")
    assert "sets out the conditions" in answer.text
