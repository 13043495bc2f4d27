"""The cap extractor on three fictional test documents of other shapes (evals/documents/): 章/条, a district
measure in 元 with percentages and tiers, a 申报通知 whose items restart in every part.

Each is checked against its reviewed golden file, and against the list its writer typed by hand: every
disagreement left is listed below with the side the text supports.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant import linked_articles
from evals.cap_review import compare, document_caps, load_test_document
from indexing.caps import CapTable, deferred_names, extract_awards
from indexing.numerals import format_wan
from indexing.parser import ParseError, parse_policy

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ROOT / "evals" / "documents"
GOLDEN = Path(__file__).parent / "golden"
IDS = ("fund-measures-standin", "nanshan-digital-economy-measures", "application-notice-2023")

# Where the writer's list and the extractor differ, and why the extractor's reading stands.
REVIEWED: dict[str, set[tuple[str, str, object, object]]] = {
    "fund-measures-standin": {
        # The limit on everything a unit receives in a year: the question writers asked it as a cap ("单位 年度 资助总额
        # 上限"); the table says it as 各项合计每年最高 and "哪条补得最多" passes it over (``Award.overall``).
        ("第十一条", "extra", None, 1000.0),
        # 按每个标准展位3000元的标准给予补贴: what one booth gets, the standard the yearly ceiling of 3万元 sums.
        ("第二十四条", "extra", None, 0.3),
    },
    "nanshan-digital-economy-measures": {
        ("（二十六）", "extra", None, 1000.0),   # 同一企业每年获得本措施支持的资金总额原则上不超过1000万元: as 第十一条 above
        # A term is how long an award runs (期限, 连续支持N年: "期限：…" in answers); a count per year is no term.
        ("（十五）", "term", "同一企业每年奖励不超过5项", ""),
        ("（二十二）", "term", "同一主办单位每年最多支持2场", ""),
    },
    "application-notice-2023": {
        # A deferral to the 资助办法 keeps the qualifier the bundled measure's deferrals to it have.
        ("（二）", "qualifier", "按其他文件", "按资助办法"),
        ("（五）", "qualifier", "按其他文件", "按资助办法"),
        ("（七）", "qualifier", "按其他文件", "按资助办法"),
        # 在此基础上追加 adds to the 按《资助办法》 support just before it: the basis of a 追加 is what it is added
        # to, as in the bundled measure's（二十三） (在《资助办法》的基础上追加100万元).
        ("（七）", "basis", "本措施", "深圳市文化产业发展专项资金资助办法"),
    },
}


@pytest.fixture(scope="module", params=IDS)
def document(request):
    return load_test_document(DOCUMENTS / request.param)


def test_cap_table_matches_the_reviewed_golden_file(document):
    """Regenerate after review with: python -m evals.cap_review evals/documents/<id> --golden > tests/golden/caps-<id>.json"""
    golden = json.loads((GOLDEN / f"caps-{document.meta.id}.json").read_text(encoding="utf-8"))
    assert document_caps(document) == golden


def test_every_difference_from_the_writers_list_is_a_reviewed_one(document):
    writer = json.loads((DOCUMENTS / document.meta.id / f"{document.meta.id}.writer-caps.json").read_text(encoding="utf-8"))
    found = {(d.section, d.field, d.writer, d.extracted) for d in compare(document, writer)}
    assert found == REVIEWED[document.meta.id]
    extra = sum(1 for difference in found if difference[1] == "extra")
    assert len(extract_awards(document.document, document.meta.linked)) == len(writer) + extra


def test_every_award_quotes_its_sentence_inside_its_section(document):
    for award in extract_awards(document.document, document.meta.linked):
        assert document.document.text[award.start:award.end] == award.quote
        section = document.document.section(award.clause)
        assert section.start <= award.start and award.end <= section.end


def _caps(doc_id: str) -> CapTable:
    document = load_test_document(DOCUMENTS / doc_id)
    return CapTable(extract_awards(document.document, document.meta.linked))


def _amounts(table: CapTable, key: str) -> list[tuple[float | None, str, float | None]]:
    return [(a.amount_wan, a.qualifier, a.percent) for a in table.for_clause(key)]


def test_amounts_in_yuan_percentages_tiers_and_yearly_caps():
    nanshan = _caps("nanshan-digital-economy-measures")
    # 按其实缴注册资本的2%给予一次性落户奖励，最高不超过1000000元: the percentage wins over 一次性.
    assert _amounts(nanshan, "五") == [(100, "按比例", 2)]
    # 分别给予一次性奖励500000元、1000000元、2000000元: three tiers; 首次突破1亿元、5亿元 are conditions.
    assert _amounts(nanshan, "七") == [(50, "一次性最高", None), (100, "一次性最高", None), (200, "一次性最高", None)]
    assert _amounts(nanshan, "二十三") == [(10, "每年最高", None)]   # 给予每人每年最高100000元奖励
    assert [a.term for a in nanshan.for_clause("二十")] == ["连续支持不超过2年", ""]
    fund = _caps("fund-measures-standin")
    # 按每个标准展位3000元的标准给予补贴，每家企业每年补贴总额最高不超过30000元: the standard per booth, and the
    # yearly ceiling on the sum.
    assert _amounts(fund, "二十四") == [(5, "按比例", 50), (0.3, "最高", None), (3, "每年最高", None)]
    assert fund.for_clause("二十")[0].kind == "补贴" and fund.for_clause("二十二")[0].term == "贴息期限最长不超过3年"


def _training_caps(doc_id: str) -> CapTable:
    """The cap table of one of the training documents (evals/training_documents/)."""
    document = load_test_document(ROOT / "evals" / "training_documents" / doc_id)
    return CapTable(extract_awards(document.document, document.meta.linked))


def test_amounts_stated_after_the_grant_phrase_are_read_and_a_rate_is_passed_over():
    # Shapes from the training documents (evals/training_documents/), read the same way in any document.
    longgang, incubator, futian = (_training_caps(i) for i in (
        "longgang-animation-game-measures", "creative-incubator-rules", "futian-culture-talent-space-rules"))
    # 每款给予5万元奖励，同一企业每年最高不超过30万元: the per-item award and the yearly ceiling on their sum.
    assert _amounts(longgang, "十二") == [(5, "最高", None), (30, "每年最高", None)]
    # 按照其上年度新增毕业企业数量给予奖励，每家10万元，每年最高100万元 (and a 追加 after it).
    assert _amounts(incubator, "二十三") == [(10, "最高", None), (100, "每年最高", None), (20, "追加", None)]
    # 每人每年最高给予30万元奖励: 每年 before 最高 and 给予 is still a yearly cap.
    assert _amounts(futian, "八") == [(30, "每年最高", None), (10, "每年最高", None)]
    # 按照实际租金的50%给予补贴，补贴标准每平方米每月不超过60元，每家企业每年最高100万元: 60元 is a price, not a cap.
    assert _amounts(futian, "十四") == [(100, "按比例", 50), (30, "按比例", 30)]
    assert all(a.amount_wan != 0.006 for t in (longgang, incubator, futian) for a in t.awards)


def test_ceilings_standards_and_one_off_awards_stated_around_the_grant():
    # More shapes from the training documents, each found where the question writers' caps and the table differed.
    longgang, incubator, futian, film = (_training_caps(i) for i in (
        "longgang-animation-game-measures", "creative-incubator-rules", "futian-culture-talent-space-rules",
        "film-tv-guide-2024"))
    # "市级孵化载体运营补贴每年最高300万元、连续支持不超过3年。具体标准如下：…分别给予200万元、120万元、60万元运营补贴":
    # the kind's yearly ceiling, stated with no 给予, and the tiers under it are yearly too.
    operating = incubator.for_clause("二十二")
    assert (operating[0].amount_wan, operating[0].qualifier, operating[0].term) == (300, "每年最高", "连续支持不超过3年")
    assert {a.qualifier for a in operating} == {"每年最高"} and len(operating) == 10
    # "资助比例提高至40%，最高不超过800万元": a raised share and its ceiling.
    assert _amounts(incubator, "二十四") == [(500, "按比例", 30), (800, "按比例", 40), (30, "一次性最高", None)]
    # "按照每人每年2万元给予补助，每家孵化载体每年最高20万元": the standard per mentor (最高: 每人每年 is its unit), then
    # the yearly ceiling on the sum.
    assert _amounts(incubator, "二十六")[:2] == [(2, "最高", None), (20, "每年最高", None)]
    assert _amounts(longgang, "二十六") == [(0.3, "最高", None), (50, "每年最高", None)]   # 按每人3000元给予培训补贴
    # "租房补贴标准为每人每月5000元": a standard stated with no 给予 (每平方米每月 in 十四 stays a price).
    assert _amounts(futian, "九") == [(0.5, "最高", None), (0.3, "最高", None)]
    assert futian.for_clause("九")[0].term == "补贴期限累计不超过36个月"
    # "分别给予300万元、200万元、100万元一次性奖励": 一次性 after the amounts.
    assert [q for _, q, _ in _amounts(futian, "十七")] == ["一次性最高"] * 4
    # "同一企业同一档次只奖励一次": the clause's tiers are one-off.
    assert _amounts(longgang, "七") == [(100, "一次性最高", None), (300, "一次性最高", None), (500, "一次性最高", None)]
    # "…的，再给予200000元奖励": on top of the award before it.
    again = film.for_clause("二/一")[1]
    assert (again.amount_wan, again.qualifier, again.amount_text) == (20, "追加", "追加20万元")
    # Deferrals that name the 文号 and what part of the other document applies.
    (training_fund,) = film.for_clause("二/十")
    assert (training_fund.amount_wan, training_fund.qualifier) == (None, "按资助办法")
    (district_fund,) = longgang.for_clause("二十八")
    assert (district_fund.qualifier, district_fund.basis) == ("按其他文件", "深圳市龙岗区产业发展专项资金管理办法")
    assert deferred_names(longgang.for_clause("二十八")[0].quote) == {"深圳市龙岗区产业发展专项资金管理办法"}
    # "单个企业年度获得本措施扶持资金累计不超过1000万元": a limit on a company's sum, said as one and never the largest.
    (overall,) = longgang.for_clause("三十")
    assert (overall.amount_wan, overall.qualifier, overall.target, overall.overall) == (1000, "每年最高", "单个企业", True)
    assert overall.amount_text == "各项合计每年最高1000万元" and "overall" not in overall.to_json()
    assert longgang.max_amount() == 500 and overall not in longgang.largest()


def test_thresholds_are_no_caps_and_limits_on_a_sum_are_no_single_award():
    fund, nanshan, notice = (_caps(i) for i in IDS)
    # 总额原则上不超过1000万元: a limit on all awards together, stated as such.
    assert [(a.amount_wan, a.qualifier, a.overall, a.target) for a in fund.for_clause("十一")] == [
        (1000, "每年最高", True, "同一单位")]
    assert [(a.amount_wan, a.overall) for a in nanshan.for_clause("二十六")] == [(1000, True)]
    assert fund.max_amount() == 500 and not any(a.overall for t in (fund, nanshan) for a in t.largest())
    for key in ("三", "四", "十一"):     # 不低于500000元, 5亿元以上
        assert nanshan.for_clause(key) == []
    assert {a.clause.split("/")[0] for a in notice.awards} == {"一"}   # parts 二–七: conditions and procedure
    # 项目总投资不低于300万元 is a condition; the 300 of 一（四） is the 影棚's own 给予最高300万元资助.
    assert _amounts(notice, "一/四") == [(500, "按比例", 20), (300, "最高", None)]
    assert "给予最高300万元资助" in notice.for_clause("一/四")[1].quote


def test_deferrals_with_and_without_an_amount():
    notice, fund, nanshan = _caps("application-notice-2023"), _caps("fund-measures-standin"), _caps("nanshan-digital-economy-measures")
    deferred, with_amount, once = notice.for_clause("一/五")
    assert (deferred.amount_wan, deferred.qualifier, deferred.basis_doc) == (None, "按资助办法", "sz-cultural-industry-fund-measures")
    assert deferred.kind == "资助"   # 按…相关规定执行 names no kind: the sentence's 资助标准 does
    assert (with_amount.amount_wan, with_amount.qualifier, with_amount.basis_doc) == (100, "最高", "sz-cultural-industry-fund-measures")
    assert (once.amount_wan, once.qualifier, once.basis) == (30, "一次性最高", "本措施")
    (listing,) = fund.for_clause("二十三")
    assert (listing.qualifier, listing.basis, listing.basis_doc) == ("按其他文件", "深圳市支持企业上市发展若干措施",
                                                                   "sz-listing-support-measures")
    assert nanshan.for_clause("十七")[0].qualifier == "按其他文件"


def test_additions_are_on_top_of_what_they_name():
    notice, fund, nanshan = _caps("application-notice-2023"), _caps("fund-measures-standin"), _caps("nanshan-digital-economy-measures")
    added = [a for a in notice.for_clause("一/七") if a.qualifier == "追加"]
    assert [a.amount_wan for a in added] == [100, 200]
    assert added[0].amount_text == "在《深圳市文化产业发展专项资金资助办法》资助基础上追加100万元"
    (on_article,) = fund.for_clause("十八")      # 在第十七条资助基础上追加: on this document's own award
    assert (on_article.basis, on_article.amount_text) == ("本措施", "追加50万元")
    assert nanshan.for_clause("十九")[1].basis == "本措施"   # 在前述资助基础上追加: after this document's 按比例


def test_an_addition_to_a_documents_own_award_is_worded_by_that_document():
    """在第十七条资助基础上追加 is on top of the stand-in's own award: its words name that document, never 《本措施》
    (the record's ``basis`` stays 本措施, the contract's "set by the document itself", and its JSON is unchanged)."""
    from assistant.compose import award_line
    from assistant.lead import base_phrase, money_phrase

    fund, nanshan, notice = (load_test_document(DOCUMENTS / d) for d in
                             ("fund-measures-standin", "nanshan-digital-economy-measures", "application-notice-2023"))
    (on_article,) = CapTable(extract_awards(fund.document, fund.meta.linked)).for_clause("十八")
    on_earlier = CapTable(extract_awards(nanshan.document, nanshan.meta.linked)).for_clause("十九")[1]
    on_fund = [a for a in CapTable(extract_awards(notice.document, notice.meta.linked)).for_clause("一/七")
               if a.qualifier == "追加"][0]
    assert on_article.on_top_of == fund.meta.title and on_earlier.on_top_of == nanshan.meta.title
    assert on_fund.on_top_of == "深圳市文化产业发展专项资金资助办法"      # the document it names, as before
    assert money_phrase(on_article) == f"在《{fund.meta.title}》资助基础上可追加50万元资助"
    assert award_line(on_earlier, f"《{nanshan.meta.title}》").startswith(f"在《{nanshan.meta.title}》资助基础上追加50万元奖励")
    assert base_phrase(on_article) == f"基础部分按《{fund.meta.title}》相应条款的资助执行"
    for award in (on_article, on_earlier):
        assert "《本措施》" not in money_phrase(award) + award_line(award) + base_phrase(award)
        assert "doc_title" not in award.to_json() and award.to_json()["basis"] == "本措施"


def test_json_records_carry_percent_only_for_percentage_awards():
    notice = _caps("application-notice-2023")
    share, once = notice.for_clause("一/一")
    assert share.to_json()["percent"] == 30 and share.amount_text == "按项目经审计确认的项目投入的30%，最高500万元"
    assert "percent" not in once.to_json()
    # What the share is of is said by amount_text and the quote; the record's JSON keeps its fields.
    assert "percent_of" not in share.to_json() and share.percent_of == "项目经审计确认的项目投入"


def test_a_percentage_award_is_said_with_its_share_and_base_before_its_ceiling(document):
    """按项目经审计确认的项目投入的30%给予资助，单个项目最高不超过500万元: every Chinese wording of the award says the
    share and what it is of, in the text's own words, with the ceiling (not 按比例可获500万元, a sum to read as given)."""
    from assistant.compose import award_line, standard_phrase
    from assistant.lead import money_phrase, share_phrase

    shares = [a for a in extract_awards(document.document, document.meta.linked) if a.qualifier == "按比例"]
    assert shares
    for award in shares:
        assert award.share_text in award.quote and award.percent_of
        said = f"{award.share_text}给予{award.kind}，最高{format_wan(award.amount_wan or 0)}"
        assert share_phrase(award) == said and award.amount_text == f"{award.share_text}，最高{format_wan(award.amount_wan or 0)}"
        for phrase in (money_phrase(award), award_line(award), standard_phrase([award])):
            assert said in phrase and "按比例" not in phrase
    if document.meta.id == "application-notice-2023":
        assert money_phrase(shares[0]) == "按项目经审计确认的项目投入的30%给予资助，最高500万元"


def test_a_percentage_without_a_named_base_keeps_the_share():
    (award,) = extract_awards(parse_policy("措施\n（一）对展会项目，按30%给予补贴，最高不超过50万元。\n", "x"))
    assert (award.qualifier, award.percent, award.percent_of) == ("按比例", 30, "")
    assert award.amount_text == "按30%比例，最高50万元"


def test_one_deferral_pattern_reads_the_cap_records_and_the_linked_articles(document):
    # Each clause's deferral records (按资助办法 / 按其他文件) name exactly the documents its text defers to, as read by
    # the one pattern that assistant.linked_articles also reads.
    assert linked_articles.deferred_names is deferred_names
    awards = extract_awards(document.document)
    assert any(a.amount_wan is None for a in awards)
    for section in document.document.clauses:
        deferring = {a.basis for a in awards if a.clause == section.key and a.amount_wan is None}
        assert deferring <= deferred_names(section.text)


def test_a_deferral_written_with_de_is_the_same_deferral():
    # "按《…》的相关规定" is how some texts write it: linked articles always read it; the cap records now read it too.
    plain, with_de = (parse_policy(f"措施\n（一）对出口项目，按《资助办法》{de}相关规定予以支持。\n", "x") for de in ("", "的"))
    assert deferred_names(with_de.clauses[0].text) == deferred_names(plain.clauses[0].text) == {"资助办法"}
    assert [(a.qualifier, a.basis) for a in extract_awards(with_de)] == [("按资助办法", "资助办法")]


_FRAGMENTS = ["（一）", "\n（二）", "一、", "对企业", "给予", "追加", "一次性", "每年", "最高", "不超过", "最高不超过",
              "100万元", "500000元", "2000000元", "1.5亿元", "30%", "按投入的", "按《资助办法》相关规定", "予以支持", "执行",
              "在此基础上", "分别", "、", "，", "。", "；", "资助", "奖励", "的"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map("".join))
def test_the_extractor_never_crashes_and_every_figure_is_in_its_quote(text):
    try:
        document = parse_policy(text, "x")
    except ParseError:
        return
    for award in extract_awards(document):
        assert text[award.start:award.end] == award.quote
        if award.amount_wan is not None:
            # the figure as written in 万元, 元 or 亿元
            figures = (f"{award.amount_wan:.10g}万元", f"{award.amount_wan * 10_000:.10g}元", f"{award.amount_wan / 10_000:.10g}亿元")
            assert any(f in award.quote for f in figures)
        assert (award.percent is not None) == (award.qualifier == "按比例")


def test_amounts_in_yi_yuan_are_converted():
    document = parse_policy("措施\n（一）对龙头企业，给予最高1.5亿元资助。\n", "x")
    (award,) = extract_awards(document)
    assert (award.amount_wan, award.amount_text) == (15000, "最高1.5亿元")


def test_standards_per_unit_or_area_and_ceilings_naming_only_whom_they_are_for():
    # Shapes of the two training documents written in session 27 (a district notice, a district 办法).
    luohu = _training_caps("luohu-culture-fund-notice-2025")
    guangming = _training_caps("guangming-digital-culture-equipment-measures")
    # 境内展会每个标准展位（9平方米）补贴5000元，境外展会每个标准展位补贴10000元 … 每家单位每年最高不超过30万元: standards
    # with the award word and no 给予, then a ceiling whose phrase names only whom it is for. The 办展 tiers after them
    # stay plain: "同一展会每年只资助一次" is once a year, not one-off, and that ceiling is no kind's yearly ceiling.
    assert _amounts(luohu, "二/七") == [(0.5, "最高", None), (1.0, "最高", None), (30, "每年最高", None),
                                       (30, "最高", None), (60, "最高", None)]
    # 按考核合格人数每人500元给予补贴 / 按改造面积每平方米200元给予补贴: what the standard counts by stands between 按 and
    # the unit; per square metre is a standard here, not a price (it is granted).
    assert _amounts(luohu, "二/八")[:2] == [(0.05, "最高", None), (20, "每年最高", None)]
    assert (0.02, "最高", None) in _amounts(luohu, "二/六")
    assert _amounts(guangming, "十") == [(0.003, "最高", None)]   # 按照实际租赁面积每平方米每月补贴30元
    # 按照…首年度销售合同金额的30%核定资助额，单个企业给予最高500万元资助: the share is reckoned in the phrase before.
    fourteen = guangming.for_clause("十四")
    assert [(a.amount_wan, a.qualifier, a.percent) for a in fourteen] == [(500, "按比例", 30)]
    assert fourteen[0].percent_of == "首台（套）产品首年度销售合同金额"


def test_a_yearly_only_once_is_not_one_off():
    from indexing.caps import _ONLY_ONCE_RE

    assert _ONLY_ONCE_RE.search("同一企业同一档次只奖励一次")
    assert not _ONLY_ONCE_RE.search("同一展会每年只资助一次")


def test_further_ceilings_tiered_ceilings_and_limits_that_are_not_money():
    # Shapes of the training documents written in session 28 (a flat district measure, a draft, city rules).
    baoan = _training_caps("baoan-industrial-fashion-design-measures")
    yantian = _training_caps("yantian-culture-tourism-draft-measures")
    finance = _training_caps("shenzhen-culture-finance-support-rules")
    # 按照展位费的50%给予资助，每个展会最高20万元，单个企业年度最高50万元: the share's ceiling, then one on its sum per
    # year (年度 is per year as 每年 is).
    assert _amounts(baoan, "十三")[:2] == [(20, "按比例", 50), (50, "每年最高", None)]
    # 单个合同最高资助50万元，单个企业年度最高资助100万元: the award word between the ceiling and the amount.
    assert _amounts(baoan, "七") == [(50, "按比例", 30), (100, "每年最高", None)]
    assert (60, "每年最高", None) in _amounts(finance, "十四")   # 每家保险机构每年最高奖励60万元
    # 按照每平方米每月不超过30元的标准给予租金补贴，补贴面积最高不超过2000平方米，连续支持不超过3年，每年最高100万元:
    # the standard per square metre written as its ceiling; the area and the term limit no money and are passed over.
    assert _amounts(baoan, "五") == [(0.003, "最高", None), (100, "每年最高", None)]
    assert (50, "每年最高", None) in _amounts(baoan, "二十")   # 按每人1500元…，单个培训机构年度最高50万元
    # 按赛事实际支出的40%给予资助，分别最高不超过200万元、100万元、50万元: one ceiling per tier.
    assert [(200, "按比例", 40), (100, "按比例", 40), (50, "按比例", 40)] == _amounts(yantian, "十二")[1:4]
    assert (400, "最高", None) in _amounts(finance, "二十八")   # 单笔贷款补偿最高400万元: 补偿 is an award word


def test_counted_units_amounts_with_no_verb_and_the_items_of_a_guide_clause():
    # Shapes of three training documents the extractor missed before session 34.
    yantian = _training_caps("yantian-culture-tourism-draft-measures")
    baoan = _training_caps("baoan-industrial-fashion-design-measures")
    guide = _training_caps("guangming-equipment-application-guide-2026")
    # 每接待1名过夜游客奖励20元，每个团队最高5000元: a unit counted with a verb and a number, then the ceiling of whom the
    # phrase names (每个团队); the 旅行社's yearly total after them.
    assert _amounts(yantian, "十五") == [(0.002, "最高", None), (0.5, "最高", None), (0.005, "最高", None),
                                       (0.8, "最高", None), (0.001, "最高", None), (100, "每年最高", None)]
    assert [a.target for a in yantian.for_clause("十五")[:2]] == ["团队不少于10人的", "每个团队"]
    # 入围国家级设计大赛总决赛但未获奖的作品，每件作品5000元: no verb at all; for whom is the phrase before it.
    finalist = [a for a in baoan.for_clause("九") if a.amount_wan == 0.5]
    assert [(a.qualifier, a.target) for a in finalist] == [("最高", "入围国家级设计大赛总决赛但未获奖的作品")]
    # A guide clause of headed items (1. 研发投入增长资助…, 2. 首台（套）推广资助…): the 首台（套） item's "只支持一次" makes
    # none of the 标准制定 tiers one-off, and "同一企业每年通过本项获得的奖励不超过150万元" (whom it is for, then a total)
    # makes the 工业设计 award after it no yearly one.
    amounts = _amounts(guide, "二/二")
    assert amounts[3:6] == [(100, "最高", None), (50, "最高", None), (30, "最高", None)]
    assert amounts[6:] == [(150, "每年最高", None), (10, "最高", None), (50, "每年最高", None)]


def test_a_numbered_tier_is_no_item_heading():
    from indexing.caps import _ITEM_HEADING_RE

    assert _ITEM_HEADING_RE.search("技术创新类\n1. 研发投入增长资助（对应《办法》第十三条）\n支持标准：")
    assert not _ITEM_HEADING_RE.search("按票房分档给予奖励：\n1.国内票房3000万元（含）至1亿元的，给予100万元奖励；\n")
