"""The parser on the real measure (structure, offsets, inferred chapters) and on other styles."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexing.corpus import load_document, read_meta
from indexing.parser import ParseError, decode_document, parse_policy

FIXTURES = Path(__file__).parent / "fixtures"
ALL_CLAUSES = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四", "十五",
               "十六", "十七", "十八", "十九", "二十", "二十一", "二十二", "二十三", "二十四", "二十五", "二十六"]


@pytest.fixture(scope="module")
def measure(measure_text):
    return parse_policy(measure_text, "m")


def test_real_measure_has_26_clauses_in_order(measure):
    assert [s.key for s in measure.clauses] == ALL_CLAUSES


def test_chapters_with_lost_numbers_are_inferred_from_order(measure):
    chapters = {c.key: c for c in measure.chapters}
    assert list(chapters) == ["一", "二", "三", "四", "五", "六", "七", "八", "九", "附则"]
    assert chapters["二"].title == "加大集群发展统筹力度" and chapters["二"].number_inferred
    assert chapters["八"].title == "拓展数字创意产品和服务贸易" and chapters["八"].number_inferred
    assert not chapters["三"].number_inferred
    assert chapters["八"].section_keys == ("十八", "十九", "二十")
    assert chapters["附则"].section_keys == ("二十五", "二十六")
    codes = [w.code for w in measure.warnings]
    assert codes.count("chapter-number-inferred") == 2


def test_chapter_one_body_is_citable_without_a_clause(measure):
    body = measure.section("chapter:一")
    assert body.kind == "chapter" and body.clause is None
    assert body.text.startswith("本措施主要支持数字创意技术和设备")
    assert body.text.endswith("予以优先支持。")


def test_title_block_and_attachment_label_are_not_sections(measure):
    assert measure.title == "深圳市关于加快培育数字创意产业集群的若干措施（征求意见稿）"
    preamble = measure.section("preamble")
    assert preamble.text.startswith("为贯彻落实") and preamble.text.endswith("制定本措施。")


def test_every_offset_points_at_its_text(measure, measure_text):
    for section in measure.sections:
        assert measure_text[section.start:section.end] == section.text
        for sentence in section.sentences:
            assert measure_text[sentence.start:sentence.end] == sentence.text
            assert section.start <= sentence.start < sentence.end <= section.end


def test_clause_short_titles(measure):
    titles = {s.key: s.title for s in measure.clauses}
    assert titles["十六"] == "建设数字创意孵化器"
    assert titles["一"] == "建立集群发展协同机制"
    assert titles["十一"] == "促进游戏产业健康发展"


def test_clause_text_stops_before_the_next_heading(measure):
    assert "拓展数字创意产品和服务贸易" not in measure.section("十七").text
    assert "附则" not in measure.section("二十四").text
    assert measure.section("十").text.endswith("予以奖励。")  # trailing double space dropped


def test_linked_documents_by_both_spellings(measure_text):
    meta = read_meta(Path(__file__).parent.parent / "corpus" / "documents" /
                     "shenzhen-digital-creative-measures-2022-draft.toml")
    document = parse_policy(measure_text, meta.id, meta.title, meta.linked)
    fund = "sz-cultural-industry-fund-measures"
    mentioning = [s.key for s in document.sections if fund in s.linked]
    assert mentioning == ["十", "十一", "十二", "十九", "二十三"]
    assert len(document.section("preamble").linked) == 5


def test_article_style():
    doc = load_document(FIXTURES / "article-style.txt")
    assert [s.key for s in doc.document.clauses] == ["一", "二", "三", "四", "五"]
    assert [c.key for c in doc.document.chapters] == ["一", "二", "三"]
    assert doc.document.section("四").chapter == "二"
    assert doc.document.section("三").label == "第三条"


def test_list_style():
    doc = load_document(FIXTURES / "list-style.txt")
    assert [s.key for s in doc.document.clauses] == ["一", "二", "三"]
    assert doc.document.section("一").title == "支持数字影棚建设"


def test_unstructured_text_is_rejected_naming_the_line():
    with pytest.raises(ParseError) as info:
        load_document(FIXTURES / "no-structure.txt")
    assert info.value.line == 1 and "条款" in str(info.value)


def test_duplicate_clause_numbers_are_rejected_naming_the_line():
    with pytest.raises(ParseError) as info:
        load_document(FIXTURES / "duplicate-clause.txt")
    assert info.value.line == 5 and "重复" in str(info.value)


def test_numbering_gap_is_accepted_with_a_named_warning():
    doc = load_document(FIXTURES / "gap-clause.txt")
    assert [w.code for w in doc.document.warnings] == ["clause-gap"]
    assert doc.document.warnings[0].line == 4


def test_decoding_rules():
    assert decode_document("（一）甲。".encode())[1] == []
    text, warnings = decode_document("（一）支持研发。".encode("gbk"))
    assert text == "（一）支持研发。" and warnings[0].code == "encoding"
    with pytest.raises(ParseError, match="为空"):
        decode_document(b"  \n ")
    with pytest.raises(ParseError, match="二进制"):
        decode_document(b"\x00\x01\x02abc")


_FRAGMENTS = list("（）一二三十条第章、。，\n 附则支持资助最高万元") + ["（一）", "（二）", "一、", "第一条", "\n（三）", "\n二、"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=80).map("".join) | st.text(max_size=120))
def test_parser_never_crashes_on_arbitrary_text(text):
    try:
        document = parse_policy(text, "x")
    except ParseError:
        return
    for section in document.sections:
        assert text[section.start:section.end] == section.text


EVAL_DOCUMENTS = Path(__file__).parent.parent / "evals" / "documents"


def _eval_document(doc_id: str):
    return load_document(EVAL_DOCUMENTS / doc_id / f"{doc_id}.txt")


def test_notice_items_restarting_in_every_part_are_part_qualified():
    notice = _eval_document("application-notice-2023").document
    assert notice.warnings == ()
    parts = {c.key: c for c in notice.chapters}
    assert list(parts) == ["一", "二", "三", "四", "五", "六", "七"]   # 附件 list, issuer and date are no parts
    assert parts["一"].section_keys == ("chapter:一", "一/一", "一/二", "一/三", "一/四", "一/五", "一/六", "一/七", "一/八")
    assert parts["二"].section_keys == ("二/一", "二/二", "二/三", "二/四")
    basic = notice.section("二/一")
    assert (basic.label, basic.title, basic.chapter, basic.number) == ("二（一）", "基本条件", "二", 1)
    assert basic.text.startswith("（一）基本条件。") and basic.text.endswith("限制期已届满。")
    assert basic.sentences[0].text == "基本条件。"   # the printed label is left out, as for any clause
    assert notice.section("七/五").text.endswith("及相关规定执行。")   # the closing block is not appended
    assert notice.section("preamble").text.startswith("各区文化广电旅游体育主管部门，各有关单位：")


def test_short_items_numbered_in_figures_are_no_parts_without_a_number():
    # A notice's award items are headed "1. 新引进企业落户奖励（对应《办法》第七条）": short and unpunctuated like a
    # part heading whose number was lost, but numbered in figures — they belong to the item above them.
    text = ("关于组织申报的通知\n各有关单位：\n现将有关事项通知如下。\n一、申报条件\n（一）申报主体\n在本区注册的企业。\n"
            "二、申报项目\n（一）企业集聚发展类\n1. 新引进企业落户奖励（对应《办法》第七条）\n支持标准：给予一次性奖励100万元。\n"
            "2. 营业收入突破奖励\n支持标准：分别给予50万元、150万元奖励。\n（二）技术创新类\n1. 研发投入资助\n"
            "每年最高200万元。\n三、申报材料\n（一）通用材料\n营业执照。\n")
    notice = parse_policy(text, "n")
    assert notice.warnings == ()
    assert [c.key for c in notice.chapters] == ["一", "二", "三"]
    assert "1. 新引进企业落户奖励" in notice.section("二/一").text and "营业收入突破奖励" in notice.section("二/一").text
    assert notice.section("二/二").text.endswith("每年最高200万元。")


def test_a_duplicate_inside_one_part_is_still_rejected_when_numbering_restarts():
    with pytest.raises(ParseError) as info:
        load_document(FIXTURES / "restart-duplicate.txt")
    assert info.value.line == 7 and "二（一）" in str(info.value) and "第6行" in str(info.value)


def test_a_gap_inside_a_part_names_the_part():
    text = "通知\n一、甲\n（一）甲。\n（二）乙。\n二、乙\n（一）丙。\n（三）丁。\n"
    document = parse_policy(text, "n")
    assert [s.key for s in document.clauses] == ["一/一", "一/二", "二/一", "二/三"]
    assert [(w.code, w.line, w.message) for w in document.warnings] == [
        ("clause-gap", 7, "条款编号不连续：第二部分中一之后是三")
    ]


def test_numbering_through_the_parts_keeps_bare_keys():
    nanshan = _eval_document("nanshan-digital-economy-measures").document
    assert [s.key for s in nanshan.clauses][:5] == ["一", "二", "三", "四", "五"] and len(nanshan.clauses) == 29
    assert {c.key: c.section_keys[0] for c in nanshan.chapters}["二"] == "五"
    fund = _eval_document("fund-measures-standin").document
    assert len(fund.clauses) == 40 and fund.section("十七").label == "第十七条"
    assert fund.section("十七").chapter_title == "资助项目和标准"
    # A part restarting at （一） only once is not a by-part numbering: the repeat is an error, as before.
    with pytest.raises(ParseError, match="重复"):
        parse_policy("措施\n一、甲\n（一）甲。\n（二）乙。\n二、乙\n（三）丙。\n三、丙\n（一）丁。\n", "m")
