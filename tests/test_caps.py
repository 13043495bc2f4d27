"""The cap table: derived from the text, checked against a reviewed golden copy, with look-ups."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden" / "caps.json"


def test_cap_table_matches_the_reviewed_golden_file(knowledge):
    """Regenerate after review with: policy-assistant caps --json > tests/golden/caps.json"""
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))["caps"]
    assert knowledge.caps.to_json() == golden


def test_special_clauses(knowledge):
    by = knowledge.caps.for_clause
    assert len(by("二十二")) == 2 and {a.kind for a in by("二十二")} == {"扶持", "奖励"}
    assert [a.qualifier for a in by("二十四")] == ["每年最高", "最高"]
    assert by("十五")[0].qualifier == "一次性最高"
    assert by("十六")[0].term == "资助期限不超过3年"
    eleven = by("十一")[0]
    assert eleven.amount_wan is not None and eleven.basis_doc == "sz-cultural-industry-fund-measures"
    added = by("二十三")[0]
    assert added.qualifier == "追加" and added.basis_doc == "sz-cultural-industry-fund-measures"
    for deferred in ("十", "十九"):
        (award,) = by(deferred)
        assert award.amount_wan is None and award.qualifier == "按资助办法"
    for none in ("一", "二", "十八", "二十五", "二十六"):
        assert by(none) == []


def test_every_award_quotes_its_sentence(knowledge, measure_text):
    for award in knowledge.caps.awards:
        assert measure_text[award.start:award.end] == award.quote
        section = knowledge.section(award.clause)
        assert section.start <= award.start and award.end <= section.end


def test_largest_first(knowledge):
    ranked = knowledge.caps.largest()
    top = ranked[0].amount_wan
    assert all(a.amount_wan <= top for a in ranked)
    assert {a.clause for a in ranked if a.amount_wan == top} == {"三", "九", "十七", "二十二"}


def test_lookup_by_target_words(knowledge):
    hits = knowledge.caps.by_target_words(["孵化器", "众创空间"])
    assert hits[0].clause == "十六"


@pytest.mark.parametrize("reference", ["十六", "16", "（十六）", "第十六条", "16条", "(16)", "１６"])
def test_resolve_any_spelling_of_a_clause(knowledge, reference):
    assert knowledge.resolve(reference).key == "十六"


@pytest.mark.parametrize("reference", ["27", "第三十条", "零", "孵化器"])
def test_unknown_references_raise(knowledge, reference):
    from assistant.knowledge import UnknownSection

    with pytest.raises(UnknownSection):
        knowledge.resolve(reference)


def test_chapter_references(knowledge):
    assert knowledge.resolve("第一章").key == "chapter:一"
    assert knowledge.resolve("序言").key == "preamble"
