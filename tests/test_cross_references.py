"""References between the sections of one document, and what answers do with them.

A 申报通知 lists the extra materials of each direction under "申报第（六）项方向的：…" and never names 孵化器 there; a
资助办法 sets conditions "符合本办法第十一条规定的". The referring text is indexed with the title of the section it
names, a follow-up asking the materials of the item in focus is answered from the section that lists them, and the
answer quotes the line for that item instead of saying the text lists none.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from document_fixtures import DISTRICT, FUND, NOTICE

from indexing.chunking import ChunkConfig, chunk_document
from indexing.cross_references import cross_references, referring_line
from indexing.materials import lists_materials
from indexing.parser import parse_policy
from indexing.section_ref import SectionRef

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ROOT / "evals" / "documents"
TRAINING = ROOT / "evals" / "training_documents"


def _parsed(folder: Path, doc_id: str):  # type: ignore[no-untyped-def]
    return parse_policy((folder / doc_id / f"{doc_id}.txt").read_text(encoding="utf-8"), doc_id=doc_id)


def _targets(document) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {key: [r.target for r in refs] for key, refs in cross_references(document).items()}


def test_items_of_a_notice_are_read_in_the_part_named_before():
    targets = _targets(_parsed(DOCUMENTS, NOTICE))
    # "本通知第一部分第（一）项方向", then "第（六）项、第（七）项方向" with the part left out: still part 一.
    assert targets["二/二"] == ["一/一", "一/六", "一/七"]
    assert targets["三/二"] == ["一/一", "一/二", "一/五", "一/三", "一/四", "一/六", "一/七", "一/八"]
    assert targets["七/一"] == ["一/六"]
    assert "三/一" not in targets   # 通用材料 refers to no item


def test_articles_and_ranges_of_articles():
    targets = _targets(_parsed(DOCUMENTS, FUND))
    assert targets["八"] == ["二十一"]
    assert targets["二十八"] == ["十二", "十三", "十四", "十五", "十六", "十七"]   # 本章第十二条至第十七条
    assert _targets(_parsed(DOCUMENTS, DISTRICT)) == {"二十六": ["五", "六"]}    # 本措施第（五）项、第（六）项


def test_sub_items_and_other_documents_articles_are_not_sections():
    # 前款第（二）项至第（四）项 and 第三条第一款第（五）项 are sub-items of an article; in an article-style text an
    # item is never a section; 《办法》第七条 is another document's article.
    longgang = _targets(_parsed(TRAINING, "longgang-animation-game-measures"))
    assert "三" not in longgang
    assert longgang["三十一"] == ["三"]
    assert _targets(_parsed(TRAINING, "guangming-equipment-application-guide-2026")) == {}


def test_the_bundled_measure_refers_to_none_of_its_clauses(knowledge):
    # Its chunks, and so its vectors and seed file, are the same as before references were read.
    assert cross_references(knowledge.primary.document) == {}


def test_the_referring_chunk_is_indexed_with_the_titles_it_names():
    document = _parsed(DOCUMENTS, NOTICE)
    chunks = [c for c in chunk_document(document, ChunkConfig()) if c.section_key == "三/二"]
    indexed = "".join(c.embed_text for c in chunks)
    assert "数字创意孵化器和众创空间项目" in indexed and "动漫游戏精品项目" in indexed
    assert all("孵化器" not in c.text for c in chunks)   # the text itself, quoted in answers, is unchanged
    plain = [c for c in chunk_document(document, ChunkConfig()) if c.section_key == "三/一"]
    assert all(c.references == () and c.embed_text == f"{c.header}\n{c.text}" for c in plain)


def test_the_line_for_an_item_and_which_sections_list_materials():
    document = _parsed(DOCUMENTS, NOTICE)
    references = cross_references(document)

    def line_of(source: str, target: str) -> str | None:
        return referring_line(document.text, document.by_key[source], document.by_key[target],
                              references.get(source, ()))

    line = line_of("三/二", "一/六")
    assert line is not None and line.startswith("4. 申报第（六）项方向的：孵化场地证明")
    assert line_of("三/一", "一/六") is None
    # 三（三）材料要求 sets their format, 六（三）纸质材料受理 gives a telephone number, 七（二） makes the applicant
    # answer for them: none lists what to submit.
    assert [s.key for s in document.sections if lists_materials(s)] == ["三/一", "三/二"]
    district = _parsed(DOCUMENTS, DISTRICT)
    assert [s.key for s in district.sections if lists_materials(s)] == ["二十七"]   # 申请材料主要包括…


@pytest.mark.parametrize("turns", [
    ["我们游戏2022年海外营业收入首次超过了5000万元，应该能拿那个出海奖励吧？", "那申请这个要额外交什么材料？"],
    ["我们作为第一起草单位主导制定的数字人国家标准去年发布了，申报通知里有奖励吗？", "这个要交什么材料证明？"],
    ["2023年申报通知里，孵化器项目每年最高多少？", "申请要交什么材料？"],
])
def test_a_follow_up_on_materials_goes_where_the_item_is_referred_to(documents_assistant, turns):
    answer = documents_assistant.ask(turns)
    assert not answer.refused
    assert answer.citations[0].ref == SectionRef(NOTICE, "clause", "三/二")
    assert "没有列出申请材料" not in answer.text
    assert "写明了" in answer.text and "申报第（" in answer.text   # the item's own line, quoted


def test_materials_of_a_direction_the_measure_leaves_to_the_annual_notice(documents_assistant):
    # The measure's topic list declines application materials ("以年度申报指南为准"); the notice, which implements
    # the measure, is that guide.
    answer = documents_assistant.ask("我们申报的是孵化器方向，除了通用材料还要交什么？")
    assert not answer.refused
    assert answer.citations[0].ref == SectionRef(NOTICE, "clause", "三/二")
    assert "孵化场地证明" in answer.text


def test_a_topic_the_measure_leaves_to_others_is_not_handed_to_an_implementing_document_that_lacks_it(
        documents_assistant):
    # Tax relief: the notice implements the measure but has no section about it, so the topic is not handed to the
    # notice; nor does the Nanshan measure's definition of 核心人才 ("缴纳个人所得税") cover 企业所得税.
    answer = documents_assistant.ask("我们是一家动漫企业，能享受哪些企业所得税减免？")
    assert answer.refused and "税收优惠" in answer.text
    assert NOTICE not in {c.ref.doc_id for c in answer.citations}


@pytest.mark.parametrize("question", ["申报数字创意扶持项目的通用材料需要提交什么？", "2023年申报通知的通用材料要准备哪些"])
def test_a_section_that_lists_materials_is_never_said_to_list_none(documents_assistant, question):
    # The second question's first citation is 三（三）材料要求; 三（一）, cited beside it, is the one that lists them.
    answer = documents_assistant.ask(question)
    assert SectionRef(NOTICE, "clause", "三/一") in [c.ref for c in answer.citations[:2]]
    assert "三（一）通用材料列出了申请材料" in answer.text
    assert "没有列出" not in answer.text
