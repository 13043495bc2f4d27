"""Word coverage on the real text: what the answerability model reads about the words a question asks."""

from __future__ import annotations

import pytest

from assistant.coverage import UNCOVERED_CAP, WordCoverage, word_coverage


def test_a_question_in_the_clause_own_words_is_covered(knowledge):
    games = knowledge.section("十一").text
    coverage = word_coverage("游戏那条说按资助办法，最高多少？", games, knowledge.documents_text)
    assert coverage == WordCoverage(1.0, 1.0, 0)


def test_a_detail_the_text_never_writes_is_not_covered(knowledge):
    incubator = knowledge.section("十六").text
    coverage = word_coverage("孵化器的申报截止日期和受理窗口电话", incubator, knowledge.documents_text)
    assert "孵化" in incubator
    assert 0.0 < coverage.in_section < 1.0
    assert coverage.in_documents < 1.0 and coverage.outside >= 2


def test_a_neighbouring_clause_covers_less_than_the_right_one(knowledge):
    question = "制定配套实施办法，本措施由谁负责解释"
    right = word_coverage(question, knowledge.section("二十五").text, knowledge.documents_text)
    other = word_coverage(question, knowledge.section("十一").text, knowledge.documents_text)
    assert right.in_section > other.in_section
    assert right.in_documents == other.in_documents   # the documents as a whole do not depend on the section


def test_asking_words_alone_leave_nothing_to_cover(knowledge):
    # "cap", one-character words and intent words are not topics: no topic word means nothing is missing.
    assert word_coverage("cap多少？谁给？", "", knowledge.documents_text) == WordCoverage()


def test_outside_is_capped_and_scaled(knowledge):
    words = "量子纠缠 火星殖民 深海采矿 恒星引擎 时间旅行 反物质 曲速航行"
    coverage = word_coverage(words, "", knowledge.documents_text)
    assert coverage.outside == UNCOVERED_CAP
    assert coverage.in_section == 0.0 and coverage.in_documents < 0.2
    assert coverage.figures()[2] == pytest.approx(1.0)
