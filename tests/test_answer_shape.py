"""The answer's shape on the real measure: the conclusion first, whole-phrase conditions, clean match reasons,
follow-ups that answer the detail asked, the measure's structure and several awards in one question.

Expected clauses come from the parser and amounts from the cap table, never typed here.
"""

from __future__ import annotations

import re

import pytest

from assistant.compose import MIN_CONDITION_CHARS, conditions_of
from assistant.explain import FUNCTION_WORDS, informative_terms
from assistant.lead import STACKING_NOTE
from evals.answer_quality import first_sentence, is_single_word
from indexing.numerals import format_wan


def cited(answer) -> list[str]:
    return [c.section for c in answer.citations]


def lead(answer) -> str:
    return answer.text.split("\n\n")[0]


def test_money_answer_opens_with_the_cap_its_qualifier_term_and_clause(assistant, knowledge):
    answer = assistant.ask(["孵化器最多能补多少？"])
    award = knowledge.caps.for_clause("十六")[0]
    sentence = first_sentence(answer.text)
    assert "（十六）" in sentence and award.qualifier in sentence
    assert format_wan(award.amount_wan) in sentence and award.term in sentence
    # the long form (quote, cap line, conditions) comes after the conclusion, the notice last
    assert answer.text.index("原文：") > len(lead(answer)) and answer.text.rstrip().splitlines()[-1].startswith("提示：")
    assert answer.reply.startswith(lead(answer))


def test_yes_no_question_opens_with_yes_the_clause_and_its_condition(assistant, knowledge):
    answer = assistant.ask(["孵化器能申请资助吗"])
    award = knowledge.caps.for_clause("十六")[0]
    assert lead(answer).startswith("可以") and "（十六）" in lead(answer)
    assert format_wan(award.amount_wan) in first_sentence(answer.text)


def test_a_clause_without_a_figure_says_so_first(assistant):
    answer = assistant.ask(["第一条能补多少钱"])
    assert cited(answer) == ["一"] and "没有写明资助金额" in first_sentence(answer.text)


@pytest.mark.parametrize("key", [f"{n}" for n in ("三", "五", "八", "十", "十五", "十六", "二十二", "二十四")])
def test_conditions_are_whole_phrases_of_the_text(knowledge, key):
    section = knowledge.section(key)
    conditions = conditions_of(section, knowledge.profiles.get(key), knowledge.awards(key))
    assert conditions, key
    for condition in conditions:
        assert condition in section.text and len(condition) >= MIN_CONDITION_CHARS and not is_single_word(condition)
        assert not any(other != condition and condition in other for other in conditions)


def test_incubator_condition_is_the_whole_phrase_not_its_words(knowledge):
    award = knowledge.caps.for_clause("十六")[0]
    conditions = conditions_of(knowledge.section("十六"), knowledge.profiles.get("十六"), [award])
    assert conditions == [award.target]


def test_match_reasons_hold_no_function_words(assistant, knowledge):
    answer = assistant.match("我们是做VR头显的初创公司，一家小团队")
    reasons = [line for line in answer.text.splitlines() if "匹配依据" in line]
    words = [w for line in reasons for q in re.findall(r"“([^”]+)”", line) for w in q.split("、")]
    assert not set(words) & FUNCTION_WORDS and all(len(w) > 1 for w in words)


def test_informative_terms_drop_frequent_and_listed_words(knowledge):
    assert informative_terms(knowledge, ["公司", "一家", "做", "我们", "团队", "头显", "孵化器"]) == ["头显", "孵化器"]


@pytest.mark.parametrize("follow_up,markers", [
    ("那能补几年？", ("期限", "年限", "一次性", "每年")),
    ("要满足什么条件？", ("条件",)),
    ("钱呢", ("万元", "金额")),
])
def test_follow_up_answers_the_detail_asked_in_one_or_two_sentences(assistant, follow_up, markers):
    answer = assistant.ask(["孵化器最多能补多少", follow_up])
    assert cited(answer) == ["十六"]
    sentence = first_sentence(answer.text)
    assert any(m in sentence for m in markers) and "（十六）" in lead(answer)
    assert len(re.findall(r"[。！？]", lead(answer))) <= 2
    if follow_up != "钱呢":
        assert "资助上限：" not in answer.text   # the clause is not printed again


def test_term_follow_up_says_when_the_text_sets_none(assistant):
    answer = assistant.ask(["数字装备研发项目能补多少", "那能补几年？"])
    assert cited(answer) == ["八"] and "没有规定资助期限" in first_sentence(answer.text)


@pytest.mark.parametrize("question,part", [("第八部分讲什么", "八"), ("第七部分有哪几条", "七"), ("附则部分有几条，分别讲什么？", "附则"),
                                           ("“加大集群发展统筹力度”这部分有哪几条？", "二"),
                                           ("讲对外贸易的那一部分包括哪几条？", "八")])
def test_a_part_is_answered_with_its_title_and_its_clauses(assistant, knowledge, question, part):
    chapter = next(c for c in knowledge.primary.document.chapters if c.key == part)
    answer = assistant.ask([question])
    assert cited(answer) == list(chapter.section_keys) and not answer.refused
    assert chapter.title in lead(answer)
    assert all(f"（{k}）" in lead(answer) for k in chapter.section_keys)



@pytest.mark.parametrize("question", ["“加快推进创新体系建设”这一部分有哪几条？各条资助上限分别是多少？",
                                      "第四部分包括哪几条，分别最多能补多少钱？"])
def test_a_part_asked_with_its_money_gets_each_clauses_caps_in_the_conclusion(assistant, knowledge, question):
    answer = assistant.ask([question])
    keys = [k for k in cited(answer) if not k.startswith("chapter")]
    assert keys and lead(answer).count("万元") >= sum(1 for k in keys for a in knowledge.caps.for_clause(k)
                                                     if a.amount_wan is not None)
    for key in keys:
        for award in knowledge.caps.for_clause(key):
            if award.amount_wan is not None:
                assert format_wan(award.amount_wan) in lead(answer)
    # Without the money asked, the conclusion stays the list of clauses.
    assert "万元" not in lead(assistant.ask(["第七部分有哪几条"]))

def test_part_number_is_never_read_as_a_clause_number(assistant):
    answer = assistant.ask(["第七部分讲什么"])
    assert "七" not in cited(answer)
    assert cited(answer) == ["十五", "十六", "十七"]


def test_part_one_and_the_preamble_are_citable(assistant):
    assert cited(assistant.ask(["第一部分讲什么"])) == ["chapter:一"]
    answer = assistant.ask(["这份措施一共分成哪几部分？"])
    document = assistant.knowledge.primary.document
    numbered = [c for c in document.chapters if c.number is not None]
    assert f"{len(numbered)}个部分" in lead(answer) and all(c.title in lead(answer) for c in document.chapters)
    assert not answer.refused and answer.citations == []


def test_several_awards_get_each_cap_then_the_stacking_note(assistant, knowledge):
    answer = assistant.ask(["孵化器和产学研平台分别最多补多少，能同时享受吗"])
    assert not answer.refused and set(cited(answer)) == {"十五", "十六"}
    text = lead(answer)
    for key in ("十五", "十六"):
        award = knowledge.caps.for_clause(key)[0]
        assert f"（{key}）" in text and award.qualifier in text
    assert text.index(STACKING_NOTE) > text.index(format_wan(knowledge.caps.for_clause("十五")[0].amount_wan))


def test_a_stacking_question_that_asks_no_cap_is_still_declined(assistant):
    answer = assistant.ask(["我们一部原创动画，按热度拿了新上线作品的资助，还能再拿优秀动漫作品的奖励吗？两个能叠加吗？"])
    assert answer.refused


def test_false_premise_is_checked_against_the_award_the_question_names(assistant, knowledge):
    answer = assistant.ask(["以商招商成功的企业，也能拿500万吧？"])
    named = next(a for a in knowledge.caps.for_clause("二十二") if "以商招商" in a.target)
    assert cited(answer)[0] == "二十二" and "超出了原文上限" in first_sentence(answer.text)
    assert format_wan(named.amount_wan) in first_sentence(answer.text)



@pytest.mark.parametrize("question", [
    "引进领军企业地区总部最高500万，那以商招商的主导企业是不是也是500万？",
    "Attracting a regional HQ gets up to 5 million yuan; does the lead enterprise in 以商招商 also get 5 million yuan?",
])
def test_a_claim_after_a_premise_is_checked_against_the_award_beside_the_claim(assistant, knowledge, question):
    # The premise names the 500万 award of （二十二）; the claim is about the other one, whose cap is 200万: the answer
    # must not confirm 500万 for it.
    answer = assistant.ask([question])
    named = next(a for a in knowledge.caps.for_clause("二十二") if "以商招商" in a.target)
    lead = first_sentence(answer.text)
    assert cited(answer)[0] == "二十二"
    assert format_wan(named.amount_wan) in lead or "2 million" in lead, lead
    assert "500万元" not in lead and "5 million" not in lead, lead

@pytest.mark.parametrize("turns, key", [
    (["我们学院想和企业共建数字创意人才培养基地。", "那这个基地是不是每年都能拿100万？"], "二十四"),
    (["我们是云渲染平台，准备申请省级公共服务平台。", "评上省级的话，是不是市里直接一次性给100万就完了？"], "二十三"),
    (["孵化器是不是每年都给200万？"], "十六"),
])
def test_a_claim_that_also_asks_the_term_leads_with_the_term_of_the_award_claimed(assistant, knowledge, turns, key):
    # "是不是每年都能拿100万" claims an amount and asks whether it is yearly: the first sentence must say what the text
    # sets for that award's term (and not the term of another award of the same clause), then check the amount.
    from assistant.detail import mentions_detail

    answer = assistant.ask(turns)
    assert cited(answer)[0] == key
    lead = first_sentence(answer.text)
    assert mentions_detail(lead, "term"), lead
    assert any(a.amount_wan is not None and format_wan(a.amount_wan) in lead for a in knowledge.caps.for_clause(key))
    if key == "二十四":   # the 基地 award is 最高100万, not the research results' 每年最高100万
        assert "没有规定资助期限" in lead and "每年最高" not in lead, lead
    assert "您提到的金额" in answer.text


def test_the_detail_asked_is_read_from_the_last_sentence_a_question_mark_ends_one_too():
    from assistant.detail import asked_detail, mentions_detail

    # "面向公众的" describes the project; the question asks the cap.
    assert asked_detail("如果我们同时在馆里建一个面向公众的数字体验中心呢？上限多少？") == "amount"
    assert asked_detail("这个政策面向哪些企业？") == "who"
    assert asked_detail("And when does it take effect? How long is it valid?") == "term"
    # An English lead that says the clause sets no term states the term detail, as "没有规定期限" does.
    assert mentions_detail("Clause (25) … sets no term and states no amount.", "term")
    assert not mentions_detail("Clause (25) … states no amount.", "term")


def test_handing_materials_in_is_not_asking_which_materials_to_prepare():
    from assistant.detail import asked_detail

    # Where, by post, how many copies: a step of the procedure (the section on submitting answers it).
    for question in ("纸质材料 报送地址 能不能快递", "那纸质材料什么时候交，送到哪里",
                     "Can we courier the printed documents instead of dropping them off in person?"):
        assert asked_detail(question) != "prepare", question
    # Asking which materials still asks what to prepare, with or without the handing-in words beside it.
    for question in ("申请要准备哪些材料，营业执照要复印几份", "要交什么材料", "What materials do we need to submit?"):
        assert asked_detail(question) == "prepare", question
