"""Pinyin-input slips repaired against the indexed documents' words (``assistant.spelling``).

The slips are the writers' own (w33 "动慢", fn1 "冬漫"/"审合", w29 "网络视厅", w18 "政俯"); the phrases that must stay
as written were each repaired by a looser first version ("vr逛店" → 广电, "想建一个" → 详见, "我是" → 我市).
"""

from __future__ import annotations

import pytest

from assistant.spelling import MIN_COUNT, Spelling
from indexing.tokenize_zh import fold

# Chunk counts as an index would give them: the words a slip may be repaired to, and one too rare to be.
COUNTS = {"动漫": 21, "审核": 13, "补贴": 9, "视听": 8, "政府": 6, "广电": 18, "详见": 7, "我市": 12, "影棚": MIN_COUNT - 1}


@pytest.fixture(scope="module")
def spelling() -> Spelling:
    return Spelling(lambda: COUNTS)


@pytest.mark.parametrize(("typed", "repaired"), [
    ("我们是做冬漫的小团队，原创冬漫作品能拿多少", "我们是做动漫的小团队，原创动漫作品能拿多少"),
    ("注册以后是谁审合？", "注册以后是谁审核？"),
    ("网络视厅创新基地最高能补多少钱", "网络视听创新基地最高能补多少钱"),
    ("问一下政俯这边有没有补帖", "问一下政府这边有没有补贴"),
])
def test_a_slip_of_one_character_is_repaired_to_the_documents_word(spelling, typed, repaired):
    assert spelling.repair(fold(typed)) == repaired


@pytest.mark.parametrize("typed", [
    "我们在商场里开了个vr逛店的体验区",   # 逛店 sounds like 广电 but changes both characters: another phrase
    "我们想建一个数字展陈平台",           # 想 and 建 are common words side by side
    "我是南山的一家公司",                 # grammar characters are never half of a slip (我市)
    "我们已经拿过资助",                   # a word jieba knows
    "数字影蓬多少钱",                     # 影棚 is written too rarely in these counts to repair to
])
def test_phrases_that_are_no_slip_stay_as_written(spelling, typed):
    assert spelling.repair(fold(typed)) == fold(typed)


def test_the_assistant_answers_the_repaired_question_and_echoes_the_typed_one(assistant):
    answer = assistant.ask("原创冬漫作品获奖有奖励吗")
    assert answer.question == "原创冬漫作品获奖有奖励吗"
    assert "动漫" in answer.rewritten_question
    assert any(c.ref.key == "十" for c in answer.citations)   # （十）: 动漫 works


def test_the_index_counts_chunks_per_word(assistant):
    counts = assistant.retriever.bm25.chunk_counts()
    assert counts["动漫"] >= MIN_COUNT
    assert all(isinstance(n, int) and 0 < n <= assistant.retriever.bm25.num_docs for n in counts.values())
