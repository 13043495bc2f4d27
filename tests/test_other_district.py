"""Another district's policy is not in a district's measure (``assistant.other_district``), on the real titles of the
fictional Nanshan measure, the training documents' district measures, and city-wide documents."""

from __future__ import annotations

import pytest
from document_fixtures import DISTRICT, NOTICE

from assistant.document_names import districts
from assistant.other_district import asks_other_district
from assistant.query import plan_query
from evals.document_questions import DOCUMENTS_DIR, TRAINING_DOCUMENTS_DIR
from indexing.corpus import load_document

NANSHAN = districts(load_document(DOCUMENTS_DIR / DISTRICT / f"{DISTRICT}.txt"))
CITY_NOTICE = districts(load_document(DOCUMENTS_DIR / NOTICE / f"{NOTICE}.txt"))
GUANGMING = districts(load_document(TRAINING_DOCUMENTS_DIR / "guangming-digital-culture-equipment-measures"
                                    / "guangming-digital-culture-equipment-measures.txt"))


def _asks(question: str, own: list[str]) -> bool:
    return asks_other_district(plan_query(question).normalized, own)


def test_a_documents_districts_come_from_its_names():
    assert NANSHAN == ["南山"] and GUANGMING == ["光明"]
    assert CITY_NOTICE == []


@pytest.mark.parametrize("question", ["福田区对新落户企业的奖励标准是多少？", "宝安有没有类似的租算力补贴？比例多少？",
                                      "前海那边有没有类似的办公用房租金补贴？"])
def test_what_another_district_gives_is_not_in_the_nanshan_measure(question):
    assert _asks(question, NANSHAN)


@pytest.mark.parametrize("question", [
    "南山区有没有类似光明区这样的数字文化装备扶持资金？"])
def test_a_district_named_with_a_policy_word_beside_the_documents_own_is_still_another(question):
    assert _asks(question, GUANGMING)


@pytest.mark.parametrize("question", [
    "听说南山新落户的企业落户奖励最高能拿1000万？",      # the document's own district
    "我们公司在宝安，能申请租金补贴吗？",                  # where the asker is, in its own clause
    "我们打算从龙华搬到南山，落户奖励怎么算？"])            # a move, no policy of 龙华 asked
def test_the_documents_own_district_or_the_askers_place_is_not_another_districts_policy(question):
    assert not _asks(question, NANSHAN)


def test_a_city_wide_document_is_left_alone():
    assert not _asks("福田区对新落户企业的奖励标准是多少？", CITY_NOTICE)


def test_the_assistant_declines_what_another_district_gives(documents_assistant):
    answer = documents_assistant.ask("福田区对数字创意企业的落户奖励标准是多少？")
    assert answer.refused and answer.refusal_reason == "lacks-detail"
    own = documents_assistant.ask("南山区对新落户的数字经济企业有什么落户奖励？")
    assert not own.refused and own.citations[0].doc == DISTRICT
