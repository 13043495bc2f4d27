"""Which section of a document lists the materials for an award that lists none itself.

Read from two training documents' real shapes: the 2024 film and TV guide lists the materials of each direction in
a section of its own ("（五）纪录片方向，另须提交："), the 2025 Luohu notice in the lines of one section ("（二）专项材料。
按申报方向分别提供：… 3. 演艺类：…"); the Longgang measure has three lists inside award articles and names none of
its awards in them.
"""

from __future__ import annotations

import pytest
from document_fixtures import DISTRICT

from evals.document_questions import TRAINING_DOCUMENTS_DIR
from indexing.corpus import load_document
from indexing.cross_references import cross_references, referred_by
from indexing.document import PolicyDocument
from indexing.materials import line_for, lister_for, lists_materials


def _training(doc_id: str) -> PolicyDocument:
    return load_document(TRAINING_DOCUMENTS_DIR / doc_id / f"{doc_id}.txt").document


@pytest.fixture(scope="module")
def film() -> PolicyDocument:
    return _training("film-tv-guide-2024")


@pytest.fixture(scope="module")
def luohu() -> PolicyDocument:
    return _training("luohu-culture-fund-notice-2025")


def _lister(document: PolicyDocument, key: str) -> str | None:
    found = lister_for(document, document.by_key[key], referred_by(cross_references(document)).get(key, ()))
    return found.key if found else None


def test_a_list_headed_by_the_awards_name(film):
    assert _lister(film, "二/四") == "三/五"      # （四）纪录片 → （五）纪录片方向，另须提交：
    assert _lister(film, "二/九") == "三/十"      # 国际电影节获奖奖励
    assert _lister(film, "二/一") == "三/二"      # 电影剧本孵化


def test_a_line_of_one_list_headed_by_the_awards_kind(luohu):
    # "按申报方向分别提供：" lists materials although no line says 材料：
    assert lists_materials(luohu.by_key["五/二"])
    assert _lister(luohu, "二/三") == "五/二"
    line = line_for(luohu, luohu.by_key["五/二"], luohu.by_key["二/三"], ())
    assert line is not None and line.startswith("3. 演艺类：营业性演出许可文件")


def test_an_article_opening_with_its_award_is_no_heading_to_match():
    # "第七条　对动漫游戏企业年度营业收入首次突破…" shares 动漫游戏 with the list of 第九条 (animated series):
    # matching its words would send the revenue award's materials question to the animation list.
    longgang = _training("longgang-animation-game-measures")
    assert [s.key for s in longgang.sections if lists_materials(s)] == ["六", "九", "二十九"]
    assert _lister(longgang, "七") is None


def test_the_documents_only_list(documents_assistant):
    # The Nanshan measure lists materials once, in its （二十七）: a materials follow-up on any of its awards is
    # answered from it, the award cited beside it.
    answer = documents_assistant.ask(["南山那个措施的办公用房租金补贴怎么算？", "这个要交什么材料？"]).to_json()
    cited = [(c["doc"], c["section"]) for c in answer["citations"]]
    assert cited[:2] == [(DISTRICT, "二十七"), (DISTRICT, "八")]
    assert "列出了申请材料" in answer["answer"]
