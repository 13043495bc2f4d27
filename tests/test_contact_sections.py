"""A notice's contact listing answers whom to call, not the procedure it names (``assistant.contact_sections``), on
the real texts: the fictional notice's 六、联系方式 beside its 四、申报时间和方式, and the training guides' listings."""

from __future__ import annotations

import pytest
from document_fixtures import DISTRICT, FUND, NOTICE, ROOT

from assistant.contact_sections import contacts_give_way, is_contact_listing, number_not_given
from assistant.document_names import districts
from assistant.knowledge import KnowledgeBase
from assistant.query import plan_query
from evals.document_questions import DOCUMENTS_DIR, TRAINING_DOCUMENTS_DIR
from indexing.corpus import load_corpus, load_document
from indexing.retrieval.hits import ClauseHit

FILM = "film-tv-guide-2024"
INCUBATOR = "creative-incubator-rules"
LONGGANG = "longgang-animation-game-measures"
LUOHU = "luohu-culture-fund-notice-2025"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase([*load_corpus(ROOT / "corpus"),
                          *(load_document(DOCUMENTS_DIR / d / f"{d}.txt") for d in (NOTICE, FUND, DISTRICT)),
                          *(load_document(TRAINING_DOCUMENTS_DIR / d / f"{d}.txt") for d in (FILM, INCUBATOR, LONGGANG, LUOHU))])


def _hit(doc: str, key: str) -> ClauseHit:
    return ClauseHit(doc_id=doc, section_key=key, score=1.0)


def test_a_contact_listing_is_an_item_of_a_contact_part_giving_a_number(kb):
    assert is_contact_listing(kb, _hit(NOTICE, "六/三"))      # （三）纸质材料受理：…联系电话：0755-88863579。
    assert is_contact_listing(kb, _hit(FILM, "八/五"))        # each district's number
    assert not is_contact_listing(kb, _hit(NOTICE, "六/四"))  # 联系方式详见申报系统: a part's item, but no number
    assert not is_contact_listing(kb, _hit(NOTICE, "四/二"))  # how to apply, with the window's address
    # An article on the procedure that gives a number is no contact listing: its document has no contact part.
    assert "0755" in kb.section("十三", INCUBATOR).text
    assert not is_contact_listing(kb, _hit(INCUBATOR, "十三"))


def test_a_leading_contact_listing_gives_way_unless_a_contact_is_asked(kb):
    hits = [_hit(NOTICE, "六/三"), _hit(NOTICE, "六/一"), _hit(NOTICE, "四/二"), _hit(NOTICE, "四/一")]
    moved = contacts_give_way(hits, plan_query("纸质材料能不能寄过去？送到哪里？").normalized, kb)
    assert [h.section_key for h in moved] == ["四/二", "六/三", "六/一", "四/一"]
    for asked in ("纸质材料受理窗口的电话是多少", "交纸质材料有问题找谁", "Who do we call about paper materials?"):
        assert contacts_give_way(hits, plan_query(asked).normalized, kb) == hits
    only_contacts = hits[:2]
    assert contacts_give_way(only_contacts, plan_query("纸质材料能不能寄").normalized, kb) == only_contacts


@pytest.mark.parametrize("question", ["南山区文旅体主管部门 联系电话", "来电单位要南山区主管部门负责初审的联系电话，号码是多少",
                                      "龙岗区文旅体主管部门 咨询电话"])
def test_a_district_offices_number_is_not_given_by_another_bodys_listing(kb, question):
    folded = plan_query(question).normalized
    for key in ("六/一", "六/三", "六/五"):          # the city bureau's, the window's, the discipline office's
        assert number_not_given(folded, kb.section(key, NOTICE).text)
    assert number_not_given(folded, kb.section("六/四", NOTICE).text)   # 详见申报系统: no number at all


def test_a_listing_naming_the_district_gives_its_number_and_other_questions_are_left_alone(kb):
    futian = plan_query("福田区 影视项目 咨询电话").normalized
    assert "福田" in kb.section("八/五", FILM).text
    assert not number_not_given(futian, kb.section("八/五", FILM).text)
    # No district asked: any listing with a number may answer ("政策咨询电话" of the notice's 六（一）).
    assert not number_not_given(plan_query("政策咨询电话是多少").normalized, kb.section("六/一", NOTICE).text)
    # Mentioning a call is not asking for a number.
    assert not number_not_given(plan_query("有意见的话怎么提，打电话匿名反映可以吗").normalized,
                                kb.section("五/四", NOTICE).text)


def test_a_districts_own_notice_answers_for_its_offices_and_a_question_asking_more_is_left_alone(kb):
    # "（一）各扶持方向政策咨询：1. 黄金珠宝原创设计类：产业发展科陈先生，电话…": the district's own office, unnamed.
    listing = kb.section("九/一", LUOHU).text
    assert "罗湖" not in listing and districts(kb.document(LUOHU)) == ["罗湖"]
    asked = plan_query("罗湖区 黄金珠宝类 政策咨询电话").normalized
    assert not number_not_given(asked, listing, districts(kb.document(LUOHU)))
    assert number_not_given(asked, listing)          # the same listing in a document of no district
    # "共几条" and "主管部门" are answered by a section without a number: no decline for want of the number.
    own, no_number = districts(kb.document(LONGGANG)), kb.section("四", LONGGANG).text
    assert number_not_given(plan_query("龙岗动漫游戏措施 咨询电话").normalized, no_number, own)
    assert not number_not_given(plan_query("龙岗动漫游戏若干措施 共几条 主管部门 咨询电话").normalized, no_number, own)


def test_the_assistant_declines_a_district_number_no_text_gives(documents_assistant):
    answer = documents_assistant.ask("我们在南山，区级初审要找南山区文体主管部门，他们的联系电话是多少？")
    assert answer.refused and answer.refusal_reason == "lacks-detail"
    given = documents_assistant.ask("申报系统技术支持的联系电话是多少？")
    assert not given.refused and "0755-88862468" in given.text


def test_the_assistant_answers_mailing_paper_materials_from_how_to_apply(documents_assistant):
    answer = documents_assistant.ask("纸质版能不能邮寄，送到哪个地址？")
    cited = [(c.doc, c.section) for c in answer.citations]
    assert cited[0] == (NOTICE, "四/二")       # 不接受邮寄或快递方式报送; the window's address
    assert (NOTICE, "六/三") in cited          # the window's number, cited beside it
