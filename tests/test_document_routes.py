"""Whole-document questions about any indexed document: "资助办法里补得最多的是哪条", "南山那个措施一次性的是哪条",
"…800万的有哪几条", "资助办法第三章有哪几条", "一共几部分" — answered from the cap table and the parts of the document the
question names (or ``ask --doc`` keeps answers to), in Chinese and English; unnamed, they stay the bundled measure's.

The bundled measure plus the three fictional documents of ``evals/documents/`` in one real index, as
``tests/test_documents_answer.py`` builds it; every expected clause and figure is read from that document's cap table
and parsed chapters.
"""

from __future__ import annotations

import pytest
from document_fixtures import DISTRICT, FUND, NOTICE, PRIMARY, ROOT, ask_cli

from indexing.caps import CapTable
from indexing.numerals import find_amounts_wan, format_rmb, format_wan
from indexing.section_ref import SectionRef, is_clause_key


def _table(documents_assistant, doc_id: str) -> CapTable:
    return documents_assistant.knowledge.cap_table(doc_id)


def _refs(awards) -> list[tuple[str, str]]:
    return list(dict.fromkeys((a.doc_id, a.clause) for a in awards))


def _cited(answer: dict) -> list[tuple[str, str]]:
    return [(c["doc"], c["section"]) for c in answer["citations"]]


def _lead(answer: dict) -> str:
    return answer["answer"].split("\n")[0]


# ---- the largest cap ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("question", "doc_id"), [("资助办法里补得最多的是哪条", FUND),
                                                  ("南山那个措施里最高的是哪条", DISTRICT),
                                                  ("2023年申报通知里补得最多的是哪条", NOTICE)])
def test_the_largest_cap_of_a_named_document_comes_from_its_own_table(documents_assistant, question, doc_id):
    answer = documents_assistant.ask([question]).to_json()
    table = _table(documents_assistant, doc_id)
    top = table.max_amount()
    assert answer["intent"] == "largest"
    assert _cited(answer) == _refs(a for a in table.awards if a.single and a.amount_wan == top)
    assert {c["doc"] for c in answer["caps"]} == {doc_id}
    lead = _lead(answer)
    # Named first, then its top figure; no figure of the lead is outside that document's table.
    assert lead.startswith(f"依据{documents_assistant.knowledge.facts_of(doc_id).name}：") and format_wan(top) in lead
    assert {amount for amount, _, _ in find_amounts_wan(lead)} <= table.amounts()


def test_the_largest_cap_through_the_cli_cites_the_fund_measures_article(documents_home):
    answer = ask_cli(documents_home, "资助办法里补得最多的是哪条")
    fund = [c for c in answer["caps"] if c["doc"] == FUND]
    top = max(c["amount_wan"] for c in fund)
    assert {c["doc"] for c in answer["citations"]} == {FUND}
    assert {c["section"] for c in answer["citations"]} == {c["clause"] for c in fund if c["amount_wan"] == top}
    assert all(c["document"]["id"] == FUND for c in answer["citations"])
    # The cited document's status and 文号 are said beside the bundled draft's notice.
    assert any("深府规〔2020〕2号" in n for n in answer["notices"][1:])


# ---- which clauses pay a figure or a kind of award -----------------------------------------------------
def test_one_off_awards_of_the_district_measure_are_listed_with_figures_from_its_table(documents_assistant):
    answer = documents_assistant.ask(["南山那个措施一次性的是哪条"]).to_json()
    one_off = [a for a in _table(documents_assistant, DISTRICT).awards if a.qualifier == "一次性最高"]
    assert answer["intent"] == "amount-list" and _cited(answer) == _refs(one_off)
    lead = _lead(answer)
    assert lead.startswith("依据《南山区数字经济和数字创意产业若干措施》：") and f"有{len(_refs(one_off))}条" in lead
    # （七） states its awards in 元 ("500000元"): the answer says the table's figure in 万元, never the 元 digits.
    assert "500000元" in documents_assistant.knowledge.section(SectionRef(DISTRICT, "clause", "七")).text
    assert all(format_wan(a.amount_wan) in lead for a in one_off) and "500000元" not in lead


def test_a_figure_asked_of_the_fund_measures_through_the_cli_lists_its_articles_only(documents_home,
                                                                                    documents_assistant):
    answer = ask_cli(documents_home, "资助办法500万的有哪几条")
    paying = [a for a in _table(documents_assistant, FUND).awards if a.amount_wan == 500]
    assert paying and _cited(answer) == _refs(paying)
    # The bundled measure pays 500万 in four clauses; none of them is cited.
    assert all(c["doc"] == FUND for c in answer["caps"])


def test_no_article_of_the_named_document_pays_the_figure_and_its_own_caps_are_listed(documents_assistant):
    answer = documents_assistant.ask(["资助办法里800万的有哪几条"]).to_json()
    fund = _table(documents_assistant, FUND)
    assert 800 not in fund.amounts() and answer["citations"] == []
    assert answer["answer"].startswith("按《文化产业发展专项资金资助办法》，没有资助上限为800万元的条款。")
    listing = answer["answer"].split("\n\n")[1].split("\n")[0]
    assert "第二十一条" in listing and "（三）" not in listing   # its articles, not the measure's clauses
    assert {amount for amount, _, _ in find_amounts_wan(listing)} == fund.amounts()
    assert answer["reply"].startswith("《深圳市文化产业发展专项资金资助办法》中没有")
    # Like an answer citing it, the 标准答复 ends with the status of the document whose caps were read.
    assert answer["reply"].endswith("。《文化产业发展专项资金资助办法》状态为现行有效，自2020年4月1日起施行，"
                                    "具体以正式文本和操作规程为准。")
    assert any("深府规〔2020〕2号" in n for n in answer["notices"][1:])


# ---- parts ------------------------------------------------------------------------------------------------
def test_a_chapter_of_the_fund_measures_lists_its_articles(documents_assistant):
    answer = documents_assistant.ask(["资助办法第三章有哪几条"]).to_json()
    document = documents_assistant.knowledge.document(FUND).document
    chapter = next(c for c in document.chapters if c.key == "三")
    clauses = [k for k in chapter.section_keys if is_clause_key(k)]
    assert answer["intent"] == "structure"
    assert _cited(answer) == [(FUND, k) for k in chapter.section_keys]
    assert _lead(answer).startswith(f"依据《文化产业发展专项资金资助办法》：第三章“{chapter.title}”包括{len(clauses)}条：")


def test_how_many_chapters_and_parts_each_document_has(documents_assistant):
    kb = documents_assistant.knowledge
    fund = kb.document(FUND).document
    answer = documents_assistant.ask(["资助办法一共几章"]).to_json()
    assert answer["intent"] == "structure"
    assert f"该文件分为{len(fund.chapters)}章，共{len(fund.clauses)}条：第一章" in _lead(answer)
    notice = kb.document(NOTICE).document
    scoped = documents_assistant.for_document(NOTICE).ask(["一共几部分"]).to_json()
    assert _lead(scoped).startswith(f"依据{kb.facts_of(NOTICE).name}：该文件分为{len(notice.chapters)}个部分，"
                                    f"共{len(notice.clauses)}条：一、")


def test_a_part_asked_by_topic_is_found_in_the_named_document(documents_assistant):
    answer = documents_assistant.ask(["南山那个措施哪一部分讲人才"]).to_json()
    document = documents_assistant.knowledge.document(DISTRICT).document
    chapter = next(c for c in document.chapters if "人才" in c.title)
    assert _cited(answer) == [(DISTRICT, k) for k in chapter.section_keys]


# ---- one document's assistant ----------------------------------------------------------------------------
def test_ask_doc_answers_the_largest_and_a_missing_figure_from_that_document(documents_home, documents_assistant):
    table = _table(documents_assistant, DISTRICT)
    top = table.max_amount()
    answer = ask_cli(documents_home, "哪条补得最多", "--doc", DISTRICT)
    assert _cited(answer) == _refs(a for a in table.awards if a.single and a.amount_wan == top)
    missing = documents_assistant.for_document(DISTRICT).ask(["800万的有哪几条"]).to_json()
    assert missing["citations"] == [] and missing["answer"].startswith("按《南山区数字经济和数字创意产业若干措施》，没有")


# ---- English ----------------------------------------------------------------------------------------------
def test_english_largest_and_one_off_awards_of_a_named_document(documents_assistant):
    kb = documents_assistant.knowledge
    fund = _table(documents_assistant, FUND)
    top = fund.max_amount()
    largest = documents_assistant.ask(["In the 资助办法, what is the largest single award?"]).to_json()
    assert largest["lang"] == "en" and _cited(largest) == _refs(a for a in fund.awards if a.single and a.amount_wan == top)
    lead = _lead(largest)
    assert lead.startswith(f"Under the text of the 《{kb.facts_of(FUND).title}》")
    assert f"the largest single cap is {format_rmb(top)} ({format_wan(top)})" in lead and "Article 21" in lead
    one_off = documents_assistant.ask(["Which clauses give one-off awards under the 南山那个措施?"]).to_json()
    expected = [a for a in _table(documents_assistant, DISTRICT).awards if a.qualifier == "一次性最高"]
    assert one_off["intent"] == "amount-list" and _cited(one_off) == _refs(expected)
    assert f"{len(_refs(expected))} clauses have a one-off award" in _lead(one_off)


def test_english_missing_figure_and_chapter_of_a_named_document(documents_assistant):
    fund = _table(documents_assistant, FUND)
    missing = documents_assistant.ask(["Under the 资助办法, which clauses pay 8 million?"]).to_json()
    assert missing["citations"] == [] and "no clause has a cap of the amount you ask about" in missing["answer"]
    listing = missing["answer"].split("\n\n")[1].split("\n")[0]
    assert "Article 21" in listing and "(3)" not in listing
    assert {amount for amount, _, _ in find_amounts_wan(listing)} == fund.amounts()
    part = documents_assistant.ask(["What does part 3 cover in the 资助办法?"]).to_json()
    chapter = next(c for c in documents_assistant.knowledge.document(FUND).document.chapters if c.key == "三")
    assert _cited(part) == [(FUND, k) for k in chapter.section_keys]
    assert f"Chapter 3 “{chapter.title}” has" in _lead(part)


# ---- follow-ups stay with the document the previous turn's answer was about -------------------------------
ABOUT_DISTRICT = "南山那个措施对游戏企业有什么支持？"


def _part(documents_assistant, doc_id: str, key: str) -> list[tuple[str, str]]:
    document = documents_assistant.knowledge.document(doc_id).document
    return [(doc_id, k) for k in next(c for c in document.chapters if c.key == key).section_keys]


def test_follow_ups_after_a_turn_about_the_district_measure_read_its_table_and_parts(documents_assistant):
    table = _table(documents_assistant, DISTRICT)
    top = table.max_amount()
    first = documents_assistant.ask([ABOUT_DISTRICT]).to_json()
    assert {d for d, _ in _cited(first)} == {DISTRICT}
    expected = {
        "一次性的是哪条？": _refs(a for a in table.awards if a.qualifier == "一次性最高"),
        "最多的是哪条": _refs(a for a in table.awards if a.single and a.amount_wan == top),
        "第三章有哪几条": _part(documents_assistant, DISTRICT, "三"),   # its part 三, as the bundled measure's would be
        "那上限呢": _cited(first)[:2],                                # the clauses just cited, with their caps
        "那第九条呢": [(DISTRICT, "九")],
        "有效期多久": [(DISTRICT, "二十九")],                          # its own 解释和施行, not the draft's （二十六）
    }
    for follow_up, cited in expected.items():
        answer = documents_assistant.ask([ABOUT_DISTRICT, follow_up]).to_json()
        assert _cited(answer) == cited, follow_up
        assert _lead(answer).startswith("依据《南山区数字经济和数字创意产业若干措施》："), follow_up
        assert {c["doc"] for c in answer["caps"]} <= {DISTRICT}, follow_up


def test_a_follow_up_through_the_cli_stays_with_the_document_retrieval_answered_from(documents_home,
                                                                                     documents_assistant):
    # The first turn names no document; its answer cites the district measure only, so "一次性的是哪条" is its.
    one_off = _refs(a for a in _table(documents_assistant, DISTRICT).awards if a.qualifier == "一次性最高")
    first = ask_cli(documents_home, "落户南山有什么奖励")
    assert {d for d, _ in _cited(first)} == {DISTRICT}
    # ``ask_cli`` puts its extra arguments before the question: `ask --json "落户南山有什么奖励" "一次性的是哪条？"`.
    answer = ask_cli(documents_home, "一次性的是哪条？", "落户南山有什么奖励")
    assert answer["intent"] == "amount-list" and _cited(answer) == one_off
    named = ask_cli(documents_home, "一次性的是哪条？", ABOUT_DISTRICT)
    assert _cited(named) == one_off


def test_a_follow_up_with_a_topic_of_its_own_is_not_kept_to_the_document_retrieval_chose(documents_assistant):
    # w21-076: "专精特新" is answered from the district measure's （十）, the document nobody named; "产业链创新示范企业"
    # is the bundled measure's （二十一）, which a search kept to the district measure would not find.
    first = documents_assistant.ask(["专精特新有支持吗"]).to_json()
    assert {d for d, _ in _cited(first)} == {DISTRICT}
    answer = documents_assistant.ask(["专精特新有支持吗", "那产业链创新示范企业给多少"]).to_json()
    assert _cited(answer)[0] == (PRIMARY, "二十一")
    # Named, the district measure is kept: the follow-up is searched in it (it has no such clause).
    named = documents_assistant.ask(["南山那个措施专精特新有支持吗", "那产业链创新示范企业给多少"]).to_json()
    assert {d for d, _ in _cited(named)} <= {DISTRICT}


def test_a_follow_up_without_a_topic_of_its_own_stays_with_the_document_the_answer_led_with(documents_assistant):
    # "专精特新" is answered from the district measure, which nobody named. A follow-up made of words no other document
    # writes alone ("国家级", "这笔钱怎么申请") is about that measure, not a search of every document.
    for follow_up in ("那如果是国家级的呢？", "这笔钱怎么申请？"):
        answer = documents_assistant.ask(["专精特新有支持吗", follow_up]).to_json()
        assert _cited(answer) and {d for d, _ in _cited(answer)} == {DISTRICT}, follow_up


def test_whether_a_turn_brings_a_topic_only_other_documents_write(documents_assistant):
    from assistant.document_names import brings_other_topic

    documents = documents_assistant.knowledge.documents
    assert brings_other_topic("那产业链创新示范企业给多少", [DISTRICT], documents)   # the bundled measure's （二十一）
    assert not brings_other_topic("那如果是国家级的呢", [DISTRICT], documents)
    assert not brings_other_topic("这笔钱怎么申请，什么时候能拿到", [DISTRICT], documents)   # words of asking only
    assert not brings_other_topic("那产业链创新示范企业给多少", [DISTRICT, PRIMARY], documents)
    # A word another document writes only in passing is no topic: 自动 is in the notice's "申报系统…自动关闭".
    assert not brings_other_topic("那能连着给几年？第二年的钱是自动拨的吗？", [FUND], documents)


def test_a_follow_up_stays_with_its_document_for_words_written_elsewhere_in_passing(documents_assistant):
    # Before, the follow-up went to the notice's 四（三）注意事项 ("申报系统将于…自动关闭") first.
    answer = documents_assistant.ask(["经认定的市级文化产业公共服务平台有运营补贴吗？每年多少？",
                                      "那能连着给几年？第二年的钱是自动拨的吗？"]).to_json()
    assert _cited(answer)[:1] == [(FUND, "二十")]


def test_a_follow_up_calling_its_documents_kind_stays_with_it(documents_assistant):
    names = documents_assistant.knowledge.names
    assert names.calls_kind_of("那这个办法有没有上市奖励", [FUND])
    assert not names.calls_kind_of("那这个办法有没有上市奖励", [DISTRICT])   # the district measure is a 措施
    assert not names.calls_kind_of("那有没有上市奖励", [FUND])


def test_a_named_document_or_ask_doc_still_wins_over_the_previous_turns(documents_assistant):
    fund_one_off = _refs(a for a in _table(documents_assistant, FUND).awards if a.qualifier == "一次性最高")
    assert _cited(documents_assistant.ask([ABOUT_DISTRICT, "资助办法一次性的是哪条？"]).to_json()) == fund_one_off
    scoped = documents_assistant.ask([ABOUT_DISTRICT, "一次性的是哪条？"], doc=FUND).to_json()
    assert _cited(scoped) == fund_one_off


def test_english_follow_ups_stay_with_the_district_measure(documents_assistant):
    table = _table(documents_assistant, DISTRICT)
    first = "What does 南山那个措施 offer game companies?"
    one_off = documents_assistant.ask([first, "Which clauses give one-off awards?"]).to_json()
    assert one_off["lang"] == "en" and _cited(one_off) == _refs(a for a in table.awards if a.qualifier == "一次性最高")
    largest = documents_assistant.ask([first, "Which clause pays the most?"]).to_json()
    assert _cited(largest) == _refs(a for a in table.awards if a.single and a.amount_wan == table.max_amount())
    assert _lead(largest).startswith(f"Under the text of the 《{documents_assistant.knowledge.facts_of(DISTRICT).title}》")


def test_follow_ups_after_the_bundled_measure_or_several_documents_read_the_bundled_measure(documents_assistant,
                                                                                           assistant):
    # After an answer on the bundled measure alone (or on two documents: no one document to stay with), a follow-up
    # reads the bundled measure, as with the bundled measure alone indexed.
    for turns in (["第十六条给多少", "一次性的是哪条？"], ["第十六条给多少", "那上限呢"], ["有效期多久", "第三章有哪几条"],
                  ["第十六条给多少", "最多的是哪条"], ["孵化器最多补多少", "一次性的是哪条？"]):
        together, alone = documents_assistant.ask(turns).to_json(), assistant.ask(turns).to_json()
        assert _cited(together) == _cited(alone) and {d for d, _ in _cited(together)} == {PRIMARY}, turns
        assert together["reply"].removeprefix("依据《数字创意若干措施》：") == alone["reply"], turns
    two = documents_assistant.ask(["孵化器最多补多少"]).to_json()
    assert {d for d, _ in _cited(two)} == {PRIMARY, NOTICE}   # the follow-up above stayed on the bundled measure


def test_which_documents_a_turn_naming_none_stays_with():
    from assistant.document_names import carried_documents
    from assistant.query import PreviousTurn, plan_query

    def previous(question: str, *refs: SectionRef) -> PreviousTurn:
        return PreviousTurn(plan_query(question), refs)

    district, fund, ours = (SectionRef(DISTRICT, "clause", "五"), SectionRef(FUND, "clause", "十三"),
                            SectionRef(PRIMARY, "clause", "十六"))
    assert carried_documents(previous("落户奖励", district, SectionRef(DISTRICT, "clause", "十")), PRIMARY) == [DISTRICT]
    assert carried_documents(previous("孵化器", ours), PRIMARY) == []
    assert carried_documents(previous("孵化器", SectionRef("", "clause", "十六")), PRIMARY) == []
    assert carried_documents(previous("游戏", ours, fund), PRIMARY) == []              # led by the primary: none
    assert carried_documents(previous("游戏", fund, ours), PRIMARY) == [FUND]          # the document it led with
    named = previous("游戏", fund)
    named.plan.documents = [DISTRICT]
    assert carried_documents(named, PRIMARY) == [DISTRICT]                            # what it named comes first


# ---- unnamed: the bundled measure, named when several documents are indexed ------------------------------
def test_unnamed_questions_stay_on_the_bundled_measure_and_name_it(documents_assistant, assistant):
    for question in ("哪条补得最多", "一次性的是哪条", "500万的有哪几条", "第三部分有哪几条"):
        alone, together = assistant.ask([question]).to_json(), documents_assistant.ask([question]).to_json()
        assert _cited(together) == _cited(alone) and {d for d, _ in _cited(together)} == {PRIMARY}, question
        assert together["answer"].startswith("依据《数字创意若干措施》：") and not alone["answer"].startswith("依据"), question
    english = documents_assistant.ask(["What is the largest single award?"]).to_json()
    assert "Under the text of the " in _lead(english) and "《深圳市关于加快培育数字创意产业集群的若干措施" in _lead(english)


def test_bundled_only_answers_of_these_routes_are_unchanged(assistant, knowledge):
    """One document indexed: the answers read as before — no document named, the measure's table and parts."""
    table = knowledge.primary_caps
    top = table.max_amount()
    largest = assistant.ask(["哪条补得最多"])
    names = "、".join(f"{knowledge.section(r).label}{knowledge.section(r).title}"
                     for r in dict.fromkeys(a.ref for a in table.awards if a.single and a.amount_wan == top))
    assert largest.text.split("\n")[0] == f"按原文，单项资助上限最高为{format_wan(top)}（均为“最高”，是上限而非实际可得），见{names}。"
    missing = assistant.ask(["800万的有哪几条"])
    assert missing.text.startswith("按原文，没有资助上限为800万元的条款。\n\n原文写明的资助上限有：500万元：（三）、（九）")
    assert missing.reply == f"《{knowledge.primary.meta.title}》中没有资助上限为800万元的条款。{knowledge.facts.reply_note}"
    assert missing.notices == [knowledge.facts.notice]
    toc = assistant.ask(["一共几部分"])
    assert toc.text.startswith(f"本措施在序言之后分为9个部分和附则，共{len(knowledge.primary.document.clauses)}条：一、重点支持领域")
    part = assistant.ask(["第三部分有哪几条"])
    assert part.text.startswith("第三部分“加强数字创新技术研发与应用”包括2条：（三）")
    english = assistant.ask(["What is the largest single award?"])
    assert english.text.startswith(f"Under the text, the largest single cap is {format_rmb(top)} ({format_wan(top)})")
    english_missing = assistant.ask(["Which clauses pay 8 million?"])
    assert english_missing.text.startswith("Under the text, no clause has a cap of the amount you ask about.\n\n"
                                           "The caps the text states are: RMB 5 million (500万元): (3), (9)")
    assert english_missing.reply == ("No clause of the measure has a cap of that amount. This measure is a draft for "
                                     "comment; the official text and operating procedures prevail.")


def test_a_document_stating_no_amount_has_no_largest_cap(tmp_path):
    """"哪条补得最多" of a document whose text names no figure: no clause is cited and no amount is made up."""
    from assistant.compose import compose
    from assistant.compose_en import compose_english
    from assistant.document_names import plan_documents
    from assistant.document_routes import largest_decision
    from assistant.knowledge import KnowledgeBase
    from assistant.query import plan_query
    from indexing.corpus import load_corpus, load_document

    text = tmp_path / "publicity-plan.txt"
    text.write_text("深圳市数字创意产业宣传工作方案\n\n一、总体要求\n（一）加强统筹。建立数字创意产业宣传工作机制，明确责任分工。\n"
                    "（二）强化保障。各区加强宣传引导，营造良好氛围。\n二、附则\n（三）本方案自印发之日起实施。\n", encoding="utf-8")
    kb = KnowledgeBase([*load_corpus(ROOT / "corpus"), load_document(text)])
    for question in ("深圳市数字创意产业宣传工作方案里补得最多的是哪条",
                     "In the 深圳市数字创意产业宣传工作方案, what is the largest single award?"):
        plan = plan_query(question, None, len(kb.primary.document.clauses), doc_id=PRIMARY)
        plan = plan_documents(plan, question, None, kb.documents, kb.names)
        decision = largest_decision(kb, plan)
        assert plan.intent == "largest" and decision.sections == [] and decision.documents == ("publicity-plan",)
        answer = compose(kb, plan, decision)
        if plan.lang == "en":
            answer = compose_english(kb, plan, decision, answer)
            assert "no clause has a stated amount" in answer.text and "none" in answer.text
        else:
            assert answer.text.startswith("按《深圳市数字创意产业宣传工作方案》，没有写明资助金额的条款。")
        assert answer.citations == [] and not find_amounts_wan(answer.text.split("\n")[0])


@pytest.mark.parametrize(("turns", "cited"), [
    (["资助办法里形式审查要几个工作日？", "那材料不齐呢？"], (FUND, "三十")),
    (["南山那个措施对重点企业有什么服务？", "那名单谁来定？"], (DISTRICT, "十一")),
])
def test_a_short_follow_up_on_the_section_just_answered_is_not_too_far(documents_assistant, turns, cited):
    # A follow-up of a few words finds the section the previous answer gave, but scores under the thresholds for text
    # alone: it was declined "too far" before; the conversation makes that section near.
    answer = documents_assistant.ask(turns).to_json()
    assert not answer["refused"] and _cited(answer)[:1] == [cited]
