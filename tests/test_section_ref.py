"""SectionRef: the one parser of stored section keys and the one label formatter, on the real measure's sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexing.parser import parse_policy
from indexing.section_ref import SectionRef, chapter_heading, clause_label_en, is_clause_key, key_kind

FIXTURES = Path(__file__).parent / "fixtures"
EVAL_DOCUMENTS = Path(__file__).parent.parent / "evals" / "documents"


@pytest.fixture(scope="module")
def measure(measure_text):
    return parse_policy(measure_text, "measure")


def test_every_section_of_the_measure_round_trips_through_its_key(measure):
    for section in measure.sections:
        ref = SectionRef.parse(section.key, measure.doc_id)
        assert ref == section.ref
        assert ref.key == section.key and ref.doc_id == "measure" and ref.kind == section.kind


def test_labels_are_the_ones_answers_print(measure):
    # Clause labels are the measure's own printed labels; the parts are named 第…部分, the last one 附则.
    for section in measure.clauses:
        assert section.ref.label == section.label
    labels = {s.key: s.ref.label for s in measure.sections if s.kind != "clause"}
    assert labels == {"preamble": "序言", "chapter:一": "第一部分"}
    assert SectionRef.parse("十六").label == "（十六）"
    assert SectionRef.chapter_of("附则").label == "附则"
    assert SectionRef.chapter_of("八").key == "chapter:八"


def test_titled_labels_read_as_the_web_page_names_sections(measure):
    sixteen = measure.section("十六")
    assert sixteen.ref.titled(sixteen.title) == "（十六）建设数字创意孵化器"
    part_one = measure.section("chapter:一")
    assert part_one.ref.titled(part_one.title) == "第一部分 重点支持领域"
    assert part_one.ref.titled() == "第一部分"
    assert measure.section("preamble").ref.titled("序言") == "序言"


def test_same_number_in_two_documents_is_two_sections(measure):
    other = parse_policy((FIXTURES / "article-style.txt").read_text(encoding="utf-8"), "other")
    ours, theirs = measure.section("三").ref, other.section("三").ref
    assert ours.key == theirs.key and ours != theirs
    assert len({ours, theirs}) == 2
    # An article-style text prints 第三条; citations still name it （三）, and display_name keeps the printed label.
    assert theirs.label == "（三）" and other.section("三").display_name == other.section("三").label


def test_chapter_headings_read_as_the_text_writes_them(measure):
    # Every heading whose number the text prints is rebuilt exactly; the two without one get their inferred number.
    for chapter in measure.chapters:
        written = measure.text[chapter.heading_start:chapter.heading_end]
        heading = chapter_heading(chapter.key, chapter.title)
        assert heading == written if not chapter.number_inferred else heading == f"{chapter.key}、{written}"
    assert chapter_heading("附则", "附则") == "附则" and chapter_heading(None, "") == ""
    sixteen = measure.section("十六")
    assert chapter_heading(sixteen.chapter, sixteen.chapter_title) == "七、加快推进创新体系建设"


def test_clause_keys_and_bad_keys():
    assert is_clause_key("十六") and not is_clause_key("chapter:一") and not is_clause_key("preamble")
    assert not is_clause_key("") and not is_clause_key("chapter:")
    assert key_kind("chapter:附则") == "chapter" and key_kind("二十六") == "clause"
    with pytest.raises(ValueError):
        SectionRef.parse("")
    with pytest.raises(ValueError):
        SectionRef.parse("chapter:")
    with pytest.raises(ValueError):
        SectionRef("d", "part", "一")  # type: ignore[arg-type]


def test_english_clause_labels_number_as_the_chinese_ones(measure):
    # Every clause of the measure reads in English with the number its Chinese label has: （十六） → (16).
    for section in measure.clauses:
        assert clause_label_en(section.key) == f"({section.number})"
    # An item numbered within its part keeps its part, as 二（三） does: clause (3) of part 2 is not clause (3).
    assert clause_label_en("二/三") == "2(3)" and clause_label_en("16") == "(16)"


def test_items_numbered_within_their_part_have_part_qualified_keys():
    ref = SectionRef.parse("二/三", "notice")
    assert (ref.kind, ref.number, ref.part, ref.item) == ("clause", "二/三", "二", "三")
    assert ref.key == "二/三" and ref.label == "二（三）" and ref.titled("事业单位") == "二（三）事业单位"
    plain = SectionRef.parse("十六")
    assert (plain.part, plain.item) == (None, "十六")
    assert SectionRef.chapter_of("二").part is None and SectionRef.chapter_of("二").item == ""
    assert is_clause_key("二/三") and ref != SectionRef.parse("三", "notice")
    for bad in ("二/", "/三", "一/二/三"):
        with pytest.raises(ValueError, match="part"):
            SectionRef.parse(bad)


def test_every_section_of_the_notice_round_trips_and_labels_as_printed_with_its_part():
    notice = parse_policy((EVAL_DOCUMENTS / "application-notice-2023" / "application-notice-2023.txt")
                          .read_text(encoding="utf-8"), "notice")
    for section in notice.sections:
        assert SectionRef.parse(section.key, "notice") == section.ref
    for section in notice.clauses:
        assert section.ref.label == section.label == f"{section.chapter}（{section.ref.item}）"
        assert section.ref.part == section.chapter
    assert len({s.ref for s in notice.clauses}) == len(notice.clauses) == 33
