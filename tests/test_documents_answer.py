"""Every indexed document answers: the bundled measure plus the three fictional test documents of
``evals/documents/`` in one real index — citations and caps carry their document, questions naming a document are
answered from it, and the bundled measure's answers keep their clauses and caps."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from document_fixtures import DISTRICT, FUND, NOTICE, PRIMARY, ROOT, ask_cli

from assistant.knowledge import KnowledgeBase
from evals.document_questions import (
    DOCUMENT_QUESTIONS_DIR,
    DOCUMENTS_DIR,
    TRAINING_DOCUMENTS_DIR,
    TRAINING_QUESTIONS_DIR,
    fixture_document_ids,
    question_file,
)
from evals.metrics import AnswerView, CapRecord, EvalCase, grade
from evals.questions_io import load_cases
from indexing.corpus import load_corpus, load_document
from indexing.references import label_key


def test_a_question_naming_the_fund_measures_cites_its_article_with_its_own_cap(documents_home):
    answer = ask_cli(documents_home, "资助办法第十三条的功能游戏最多资助多少？")
    first = answer["citations"][0]
    assert (first["doc"], first["section"]) == (FUND, "十三")
    assert first["document"] == {"id": FUND, "title": "深圳市文化产业发展专项资金资助办法",
                                 "short_title": "文化产业发展专项资金资助办法", "status": "现行有效",
                                 "doc_number": "深府规〔2020〕2号"}
    cap = next(c for c in answer["caps"] if c["clause"] == "十三")
    assert (cap["doc"], cap["amount_wan"], cap["qualifier"], cap["percent"]) == (FUND, 200, "按比例", 30)
    # The answer names the document it cites; the bundled draft's notice stays, the cited document's status is added.
    assert answer["answer"].startswith("依据《文化产业发展专项资金资助办法》")
    assert "征求意见稿" in answer["notices"][0]
    assert any("深府规〔2020〕2号" in n and "现行有效" in n for n in answer["notices"][1:])


def test_a_percentage_award_is_answered_with_its_share_and_base(documents_assistant):
    # 一（四）: 按项目建设实际投资额的20%给予补贴，最高不超过500万元. The conclusion, the reply and the cap line say the share
    # and what it is of with the ceiling, in Chinese and in English (not "按比例500万元", "a share of the eligible cost").
    said = "按项目建设实际投资额的20%给予补贴，最高500万元"
    answer = documents_assistant.ask("我们在前海建了一个网络视听创新基地，2022年9月建成投用，实际建设投资3000万元左右。"
                                     "认定下来的话能补多少？")
    assert (answer.citations[0].doc, answer.citations[0].section) == (NOTICE, "一/四")
    assert f"一（四）规定的是{said}；" in answer.reply and f"资助上限：{said}（" in answer.text
    assert "按比例" not in answer.reply
    english = documents_assistant.ask("We built a virtual production studio in Shenzhen that went into use in October "
                                      "2022; total investment was about RMB 8 million. What is the maximum subsidy we "
                                      "can get under this notice?")
    assert "the 补贴 is 20% of “项目建设实际投资额”, up to RMB 5 million (500万元)" in english.reply


def test_an_english_answer_citing_another_document_carries_that_documents_notice(documents_assistant):
    # The English answer says the bundled draft's notice and, like the Chinese one, the cited document's own status
    # and 文号: the reader must not take the fund measures' article for part of a draft.
    question = "What is the maximum funding for functional games under Article 13 of the 资助办法?"
    answer = documents_assistant.ask(question).to_json()
    assert answer["lang"] == "en" and answer["citations"][0]["doc"] == FUND
    assert "draft" in answer["notices"][0]
    assert any("深府规〔2020〕2号" in n and "现行有效" in n and "prevail" in n for n in answer["notices"][1:])


def test_a_district_question_cites_the_district_measure_with_its_cap_converted_from_yuan(documents_home):
    answer = ask_cli(documents_home, "南山那个措施（五）的落户奖励最多给多少？")
    first = answer["citations"][0]
    assert (first["doc"], first["section"], first["document"]["status"]) == (DISTRICT, "五", "试行")
    cap = next(c for c in answer["caps"] if c["doc"] == DISTRICT and c["clause"] == "五")
    # "最高不超过1000000元" is 100万元.
    assert cap["amount_wan"] == 100 and "1000000元" in cap["quote"]
    assert "100万元" in answer["answer"].split("\n")[0]


NANSHAN_TAIL = "《南山区数字经济和数字创意产业若干措施》状态为试行，自2023年10月1日起施行，具体以正式文本和操作规程为准。"
FUND_TAIL = "《文化产业发展专项资金资助办法》状态为现行有效，自2020年4月1日起施行，具体以正式文本和操作规程为准。"


def test_the_reply_about_another_document_ends_with_that_documents_status(documents_home):
    # The 标准答复 a hotline agent reads out: about the district measure or the stand-in, it ends with that document's
    # own status and 施行日期 (from its .toml and its text), not with the bundled draft's sentence.
    for answer, doc_id, tail in (
            (ask_cli(documents_home, "南山那个措施对游戏企业有什么支持？"), DISTRICT, NANSHAN_TAIL),
            (ask_cli(documents_home, "第十八条给多少", "--doc", FUND), FUND, FUND_TAIL),
            (ask_cli(documents_home, "资助办法第三章有哪几条"), FUND, FUND_TAIL)):
        assert {c["doc"] for c in answer["citations"]} == {doc_id}
        assert answer["reply"].endswith("。" + tail) and "征求意见" not in answer["reply"]
        assert "征求意见稿" in answer["notices"][0]   # the notices keep the bundled draft's, then the document's own


def test_a_refusal_ends_with_the_status_of_the_documents_asked(documents_assistant):
    # Named, the district measure alone: its status. Not named: every indexed document's, each once.
    # (Not the listing awards any more: the district measure's （九） pays them, and "港交所IPO" now reaches it.)
    named = documents_assistant.ask("按南山数字经济措施，公司缴的增值税能返还多少？")
    assert named.refused and named.reply.endswith("建议向主管部门咨询。" + NANSHAN_TAIL)
    # (Rent subsidies are no longer an example: the district measure's （八） pays them, see
    # test_a_topic_the_bundled_measure_leaves_to_others_is_answered_by_the_document_that_writes_it.)
    unnamed = documents_assistant.ask("公积金缴存比例是多少")
    assert unnamed.refused and unnamed.reply.endswith("；均以正式文本和操作规程为准。")
    assert [unnamed.reply.count(s) for s in ("为征求意见稿；", "试行", "自2020年4月1日起施行")] == [1, 1, 1]
    # (Not "Is there a rent subsidy?": the district measure pays one, and an English question may yet reach it.)
    english = documents_assistant.ask("What is the provident fund contribution rate?")
    assert english.refused and english.reply.endswith("; the official texts and operating procedures prevail.")


def test_a_topic_the_bundled_measure_leaves_to_others_is_answered_by_the_document_that_writes_it(documents_assistant):
    # Rent subsidies are on the bundled measure's out-of-scope list; the district measure's （八） pays them ("产业用房租金",
    # "按实际租金的50%给予补贴"). Retrieval alone put the fund measures' general article first (its "补贴" and the
    # expansion's "专项资金"), which declined the question; only the district's text holds the topic word "房租".
    # "怎么申请" asks how to apply: the district measure lists its application materials once, in （二十七）, which
    # goes first with the award beside it (``indexing.materials``).
    answer = documents_assistant.ask("房租补贴怎么申请")
    assert not answer.refused
    assert [(c.doc, c.section) for c in answer.citations[:2]] == [(DISTRICT, "二十七"), (DISTRICT, "八")]


def test_handing_paper_materials_in_is_answered_by_the_section_on_submitting(documents_assistant):
    # The notice's 四（二） says where the paper materials go and that post is not accepted; 三（二） lists what to hand
    # in. Asking where and whether by courier is not asking the list (``assistant.detail``).
    answer = documents_assistant.ask("申报通知里的纸质材料可以邮寄报送吗？")
    assert not answer.refused and (answer.citations[0].doc, answer.citations[0].section) == (NOTICE, "四/二")
    listed = documents_assistant.ask("申报通知要准备哪些材料？")
    assert not listed.refused and listed.citations[0].section.startswith("三/")


def test_a_reply_citing_two_documents_names_each_status_once(documents_home, documents_assistant):
    # (十九) of the bundled draft defers to the stand-in's 第十七条, cited with it: each document's status, once.
    answer = ask_cli(documents_home, "数字创意产品出口有什么支持？")
    assert [(c["doc"], c["section"]) for c in answer["citations"]] == [(PRIMARY, "十九"), (FUND, "十七")]
    assert answer["reply"].endswith("。《数字创意若干措施》为征求意见稿；《文化产业发展专项资金资助办法》状态为现行有效，"
                                    "自2020年4月1日起施行；均以正式文本和操作规程为准。")
    assert answer["reply"].count("征求意见稿") == 1 and answer["reply"].count("现行有效") == 1
    english = documents_assistant.ask("What support is there for exporting digital creative products?").to_json()
    assert [c["doc"] for c in english["citations"]] == [PRIMARY, FUND]
    assert english["reply"].endswith(
        " is a draft for comment; the 《深圳市文化产业发展专项资金资助办法》 has the status 现行有效 and is effective "
        "from 2020-04-01; the official texts and operating procedures prevail.")


def test_an_english_reply_about_another_document_ends_with_that_documents_status(documents_assistant):
    answer = documents_assistant.ask("What does 南山那个措施 offer game companies?").to_json()
    assert {c["doc"] for c in answer["citations"]} == {DISTRICT}
    assert answer["reply"].endswith(". The 《深圳市南山区关于促进数字经济和数字创意产业高质量发展的若干措施》 has the status 试行 "
                                    "and is effective from 2023-10-01; the official text and operating procedures prevail.")
    assert "draft" not in answer["reply"]


def test_a_reply_citing_the_bundled_measure_alone_keeps_its_draft_sentence(documents_assistant, assistant):
    # Four documents indexed or one, a reply citing only the bundled measure ends as it always has.
    draft_tail = documents_assistant.knowledge.facts.reply_note
    for question in (["第十六条给多少"], ["第十六条给多少", "需要什么条件"], ["有效期多久"], ["哪条补得最多"]):
        several, alone = documents_assistant.ask(question), assistant.ask(question)
        assert {c.doc for c in several.citations} == {PRIMARY}
        assert several.reply.endswith(draft_tail) and alone.reply.endswith(draft_tail)
        assert several.reply.removeprefix("依据《数字创意若干措施》：") == alone.reply


def test_an_addition_on_the_fund_measures_own_article_names_that_document(documents_home, documents_assistant):
    # 第十八条: "在第十七条资助基础上追加50万元" tops up the stand-in's own 第十七条; the answer names the stand-in,
    # not 《本措施》 (the record keeps basis 本措施: "set by the document itself").
    title = "深圳市文化产业发展专项资金资助办法"
    answer = ask_cli(documents_home, "第十八条给多少", "--doc", FUND)
    assert [(c["doc"], c["section"]) for c in answer["citations"]] == [(FUND, "十八")]
    assert "《本措施》" not in answer["answer"] + answer["reply"]
    assert f"在《{title}》资助基础上可追加50万元资助" in answer["reply"]
    assert f"资助上限：在《{title}》资助基础上追加50万元资助" in answer["answer"]
    assert [(c["basis"], c["amount_text"]) for c in answer["caps"]] == [("本措施", "追加50万元")]
    english = documents_assistant.ask("How much does Article 18 give?", doc=FUND).to_json()
    assert english["citations"][0]["section"] == "十八" and "《本措施》" not in english["answer"]
    assert f"an additional RMB 500,000 (50万元) on top of the funding under the 《{title}》" in english["reply"]


def test_a_notice_item_numbered_within_its_part_is_found_by_its_printed_label(documents_assistant):
    answer = documents_assistant.ask(["2023年申报通知一（一）的研发项目最高资助多少？"])
    assert (answer.citations[0].doc, answer.citations[0].section) == (NOTICE, "一/一")
    assert [(a.doc_id, a.amount_wan) for a in answer.caps if a.clause == "一/一"][0] == (NOTICE, 500)


def test_the_bundled_measures_answers_keep_their_clause_and_cap(documents_assistant, assistant):
    for question in ("我们是做孵化器的，最多能补多少？", "第十五条产学研平台补多少"):
        alone, together = assistant.ask([question]), documents_assistant.ask([question])
        assert [(c.doc, c.section) for c in together.citations][:1] == [(c.doc, c.section) for c in alone.citations][:1]
        assert together.citations[0].doc == PRIMARY
        assert [(a.clause, a.amount_wan, a.qualifier) for a in together.caps] == \
            [(a.clause, a.amount_wan, a.qualifier) for a in alone.caps]
        # With one document indexed answers do not name it; with several, they say which document.
        assert not alone.text.startswith("依据《") and together.text.startswith("依据《数字创意若干措施》")


def test_the_api_answers_from_the_named_document(documents_assistant):
    from starlette.testclient import TestClient

    from ui.config import ServeConfig
    from ui.holder import AssistantHolder
    from ui.server import create_app

    holder = AssistantHolder(opener=lambda: documents_assistant)
    holder.load()
    client = TestClient(create_app(ServeConfig(home=Path(os.environ["POLICY_ASSISTANT_HOME"]), port=0),
                                   holder=holder, load=False))
    body = client.post("/api/ask", json={"question": "资助办法第十三条的功能游戏最多资助多少？"}).json()
    assert (body["citations"][0]["doc"], body["citations"][0]["section"]) == (FUND, "十三")
    assert any(c["doc"] == FUND and c["amount_wan"] == 200 for c in body["caps"])


def test_two_documents_close_and_paying_differently_get_a_clarifying_question():
    from assistant.clarify import clarify_between
    from indexing.section_ref import SectionRef

    kb = KnowledgeBase([*load_corpus(ROOT / "corpus"), load_document(DOCUMENTS_DIR / FUND / f"{FUND}.txt")])
    # The measure's （十一） (new games, 最高200万) and the fund's 第十三条 (30% up to 200万: a different record).
    clarify = clarify_between(kb, SectionRef(PRIMARY, "clause", "十一"), SectionRef(FUND, "clause", "十三"))
    assert clarify is not None and "哪一份文件" in clarify.question
    assert [(o.doc, o.clause) for o in clarify.options] == [(PRIMARY, "十一"), (FUND, "十三")]
    assert clarify.options[1].label.startswith("《文化产业发展专项资金资助办法》")


# ---- grading ------------------------------------------------------------------------------------------
def test_printed_labels_read_as_stored_keys():
    assert [label_key(s) for s in ("第十三条", "（七）", "二（三）", "preamble", "第一部分", "十七条款x")] == \
        ["十三", "七", "二/三", "preamble", "chapter:一", None]


@pytest.mark.parametrize("documents_dir, questions_dir", [(DOCUMENTS_DIR, DOCUMENT_QUESTIONS_DIR),
                                                          (TRAINING_DOCUMENTS_DIR, TRAINING_QUESTIONS_DIR)])
def test_every_document_question_names_sections_of_its_own_document(documents_dir, questions_dir):
    ids = fixture_document_ids(documents_dir)
    assert len(ids) >= 3
    for doc_id in ids:
        cases = load_cases([question_file(doc_id, questions_dir)])
        assert len(cases) >= 30
        keys = {s.key for s in load_document(documents_dir / doc_id / f"{doc_id}.txt").document.sections}
        for case in cases:
            assert case.doc == doc_id
            assert set(case.gold_clauses) <= keys and {c.clause for c in case.gold_caps} <= keys, case.id
            assert not (case.must_refuse and case.gold_clauses), case.id


def test_the_held_out_chit_chat_is_asked_beside_the_test_documents_and_never_trained_on():
    from evals.document_training import chit_chat_files
    from evals.documents_eval import CHIT_CHAT, load_document_sets

    chit_chat = load_document_sets()[CHIT_CHAT]
    assert len(chit_chat) >= 80 and all(c.must_refuse and not c.gold_clauses for c in chit_chat)
    assert CHIT_CHAT not in load_document_sets(documents_dir=TRAINING_DOCUMENTS_DIR, questions_dir=TRAINING_QUESTIONS_DIR)
    trained = {c.turns for c in load_cases(chit_chat_files())}
    assert not trained & {c.turns for c in chit_chat}


def test_later_writers_sets_are_reported_on_their_own_rows_and_never_trained_on():
    from evals.documents_eval import load_document_sets
    from evals.questions_io import split_files

    sets = load_document_sets(with_dev=False)
    for doc_id, writer in ((NOTICE, "fn1"), (FUND, "fn2"), (DISTRICT, "fn3"), (NOTICE, "fn4"), (FUND, "fn5"),
                           (DISTRICT, "fn6")):
        fresh = sets[f"{doc_id} ({writer})"]
        assert len(fresh) >= 30 and {c.doc for c in fresh} == {doc_id}
        assert all(c.id.startswith(writer) for c in fresh)
    trained = {c.turns for c in load_cases([*split_files("train"), *TRAINING_QUESTIONS_DIR.glob("*.jsonl")])}
    assert not trained & {c.turns for name, cases in sets.items() if "(" in name for c in cases}


def test_the_right_number_in_the_wrong_document_is_wrong():
    case = EvalCase("q", ("资助办法第十三条",), gold_clauses=("十三",),
                    gold_caps=(CapRecord("十三", 200.0, "按比例"),), doc=FUND)
    right = AnswerView("q", cited=("十三",), cited_docs=(FUND,), caps=(CapRecord("十三", 200.0, "按比例", FUND),))
    wrong = AnswerView("q", cited=("十三",), cited_docs=(PRIMARY,), caps=(CapRecord("十三", 200.0, "按比例", PRIMARY),))
    assert grade(case, right).top1_correct and grade(case, right).caps_hit
    graded = grade(case, wrong)
    assert not graded.top1_correct and not graded.caps_hit and graded.answer.cited == (f"{PRIMARY}#十三",)
    # A case without a document is graded against the home document the runner gives.
    bare = EvalCase("q", ("第十三条",), gold_clauses=("十三",))
    assert grade(bare, wrong, home_doc=PRIMARY).top1_correct and not grade(bare, wrong, home_doc=FUND).top1_correct


def test_a_yearly_ceiling_is_graded_from_the_records_own_fields():
    yearly = CapRecord("八", 30.0, "每年最高")
    per_year = CapRecord.of_record("八", 30.0, "按比例", DISTRICT, "按实际租金的50%给予补贴，每年最高不超过300000元。", 50)
    per_project = CapRecord.of_record("八", 30.0, "按比例", DISTRICT, "按投入的30%给予资助，最高不超过300000元。", 30)
    assert yearly.matches(per_year) and not yearly.matches(per_project)
    assert CapRecord("八", 30.0, "按比例").matches(per_year) and not per_year.matches(yearly)
    assert CapRecord("十", None, "按其他文件").matches(CapRecord("十", None, "按资助办法"))


def test_a_question_about_a_documents_start_the_measure_cannot_answer_is_searched_in_every_document(
        documents_assistant, assistant):
    # Read as "when does it take effect" (施行), it went to the measure's (二十六), which says nothing of applications
    # already accepted, and was declined; the 办法's 第四十条 says they follow the old rules.
    question = "新规定施行前已经受理、还没审核完的项目，按什么规定执行？"
    answer = documents_assistant.ask([question])
    assert not answer.refused and [(c.doc, c.section) for c in answer.citations][:1] == [(FUND, "四十")]
    assert assistant.ask([question]).refused                          # the measure alone: still "not covered"
    # The measure's own facts keep their clause beside the other documents.
    own = documents_assistant.ask(["有效期多久？"])
    assert [(c.doc, c.section) for c in own.citations][:1] == [(PRIMARY, "二十六")]


def test_a_declined_meta_route_is_searched_once(documents_assistant, monkeypatch):
    # The meta route searched, declined, and the turn fell through to a search of every document: the same search of
    # the same turn, made (and embedded) a second time before.
    calls = []
    search = documents_assistant._retrieve
    # A fresh cache: the module's assistant answered this question in an earlier test, and a cached turn searches nothing.
    monkeypatch.setattr(documents_assistant, "turn_cache", type(documents_assistant.turn_cache)(8))
    monkeypatch.setattr(documents_assistant, "_retrieve", lambda *a, **kw: calls.append(a[0].normalized) or search(*a, **kw))
    answer = documents_assistant.ask(["新规定施行前已经受理、还没审核完的项目，按什么规定执行？"])
    assert [(c.doc, c.section) for c in answer.citations][:1] == [(FUND, "四十")]
    assert len(calls) == 1, calls


def test_a_named_document_that_nowhere_writes_its_term_does_not_state_it(documents_assistant):
    # The notice has no 有效期 and no 施行 date: retrieval answered from its submission deadline before.
    for question in ("本通知的有效期到哪年？", "数字创意申报通知从哪天起施行？"):
        answer = documents_assistant.ask([question])
        assert answer.refused and answer.refusal_reason == "lacks-detail", (question, answer.citations)
    # "什么时候截止" is read as a validity question too, but asks no term of the document: it is searched.
    deadline = documents_assistant.ask(["本通知的网上申报什么时候截止？"])
    assert not deadline.refused and deadline.citations[0].doc == NOTICE
    # The 办法 writes its term in 第四十条.
    term = documents_assistant.ask(["资助办法的有效期是几年？"])
    assert [(c.doc, c.section) for c in term.citations][:1] == [(FUND, "四十")]


def test_what_a_document_is_made_on_is_read_where_the_document_says_it(documents_assistant):
    # A 章/条 measure states its basis in 第一条 ("为……根据……，制定本办法"), it has no preamble; a measure with a
    # preamble states it there, and so does a notice ("……通知如下"). The bundled measure's answer stays its preamble.
    fund = documents_assistant.ask("资助办法是依据什么制定的？")
    assert [(c.doc, c.section) for c in fund.citations[:1]] == [(FUND, "一")]
    district = documents_assistant.ask("南山数字经济措施是依据哪些文件制定的？")
    assert [(c.doc, c.section) for c in district.citations[:1]] == [(DISTRICT, "preamble")]
    bundled = documents_assistant.ask("本措施是依据哪些文件制定的？", doc=PRIMARY)
    assert [(c.doc, c.section) for c in bundled.citations[:1]] == [(PRIMARY, "preamble")]


def test_a_follow_up_about_the_document_itself_reads_that_documents_own_facts(documents_assistant):
    # "那这个办法什么时候施行？" after an article names the measure, not the article: the answer is the article that
    # says when the fund measures take effect ("自……起施行"), and in English its own date, not the draft's blank one.
    first = "资助办法第十三条的功能游戏最多资助多少？"
    answer = documents_assistant.ask([first, "那这个办法什么时候施行？"])
    assert [(c.doc, c.section) for c in answer.citations[:1]] == [(FUND, "四十")]
    english = documents_assistant.ask(["What is the maximum funding for functional games under Article 13 of the 资助办法?",
                                       "When does this measure take effect?"])
    assert [(c.doc, c.section) for c in english.citations[:1]] == [(FUND, "四十")]
    assert "takes effect on 2020-04-01" in english.reply and "blank" not in english.reply
    # A bare "这个有期限吗？" still asks the clause's own term.
    term = documents_assistant.ask(["孵化器能补多少？", "这个有期限吗？"], doc=PRIMARY)
    assert [(c.doc, c.section) for c in term.citations[:1]] == [(PRIMARY, "十六")]


def test_an_english_question_names_a_district_document_by_its_district():
    # "this Nanshan measure" names the district measure (南山区…); "a startup in Nanshan" is only where the asker is,
    # and a city's name names no document (most documents are the city's).
    from assistant.document_names import named_documents

    kb = KnowledgeBase([*load_corpus(ROOT / "corpus"),
                        *(load_document(DOCUMENTS_DIR / d / f"{d}.txt") for d in (FUND, DISTRICT, NOTICE))])
    for text in ("can a university apply for support under this nanshan measure?",
                 "what does nanshan's digital economy policy give for office rent?",
                 "how much rent subsidy do the measures of nanshan district give?"):
        assert named_documents(text, kb.names) == [DISTRICT], text
    for text in ("we are an ai startup in nanshan. what support is there for games?",
                 "what does the shenzhen measure give for incubators?"):
        assert named_documents(text, kb.names) == [], text


@pytest.mark.parametrize("question, doc, section", [
    ("How much of our bank loan interest can be subsidised?", FUND, "二十二"),
    ("We rent an office. Is there a subsidy for the rent?", DISTRICT, "八"),
])
def test_an_english_question_reaches_a_document_without_profiles_in_its_own_words(documents_assistant, question, doc,
                                                                                   section):
    # The English column's general vocabulary ("interest" → 贴息/利息, "rent" → 租金) gives keyword search the
    # documents' words; before it, both were declined: the dense channel alone did not reach these sections.
    answer = documents_assistant.ask([question])
    assert not answer.refused and (answer.citations[0].doc, answer.citations[0].section) == (doc, section), \
        [(c.doc, c.section) for c in answer.citations]


def test_an_english_refusal_names_the_documents_it_speaks_for(documents_assistant):
    # The Chinese refusal lists the documents asked; the English one named the bundled measure whatever was asked.
    answer = documents_assistant.ask("Does the Nanshan measure help foreign staff get work visas?")
    assert answer.refused
    assert "《深圳市南山区关于促进数字经济和数字创意产业高质量发展的若干措施》 says nothing" in answer.text
    assert "Digital Creative Measures" not in answer.text.split("\n")[0]


def test_a_chinese_question_names_a_district_document_by_its_district_and_pieces_of_its_title():
    # The training documents' writers named documents this way ("按龙岗动漫游戏那个措施", "福田这个细则"): the district,
    # pieces of the document's names or pointing words, and the kind of document its title says.
    from assistant.document_names import named_documents
    from indexing.tokenize_zh import fold

    kb = KnowledgeBase([*load_corpus(ROOT / "corpus"),
                        *(load_document(DOCUMENTS_DIR / d / f"{d}.txt") for d in (FUND, DISTRICT, NOTICE))])
    for text in ("按南山数字创意那个措施，游戏企业能拿多少", "南山这个措施的落户奖励", "南山区数字经济的若干措施里有没有算力补贴",
                 # A title said in full as remembered (its 深圳市/关于/的 left out), not the bundled 若干措施's alias.
                 "《南山区促进数字经济和数字创意产业高质量发展若干措施》第九条讲什么",
                 "南山数字经济和数字创意产业若干措施的上市奖励是多少"):
        assert named_documents(fold(text), kb.names) == [DISTRICT], text
    for text in ("南山企业适用这个措施吗",        # 企业适用: no piece of the district measure's names
                 "我们在南山，有什么措施",         # where the asker is, then a new phrase
                 "南山区那个通知什么时候截止"):    # the district measure is no 通知
        assert named_documents(fold(text), kb.names) == [], text


def test_a_title_quoted_without_its_issuer_names_its_document():
    # Official titles run "<issuer>关于<subject>的<kind>" and are quoted from 关于 on, or a district's without its city.
    from assistant.document_names import named_documents, quoted_titles
    from indexing.tokenize_zh import fold

    kb = KnowledgeBase([*load_corpus(ROOT / "corpus"),
                        *(load_document(DOCUMENTS_DIR / d / f"{d}.txt") for d in (FUND, DISTRICT, NOTICE))])
    for text, doc in (("《关于组织申报2023年度数字创意产业扶持项目的通知》由谁负责解释？", NOTICE),
                      ("南山区关于促进数字经济和数字创意产业高质量发展的若干措施一共分几部分？", DISTRICT)):
        assert named_documents(fold(text), kb.names) == [doc], text
    # A short quote might be any document's; a title without 关于 has no issuer to leave out.
    assert quoted_titles("深圳市关于补贴的通知") == [] and quoted_titles("深圳市文化产业发展专项资金资助办法") == []


def test_an_english_question_names_a_district_document_by_its_kind():
    # Two training documents are Guangming's: its 扶持办法 and its 2026 申报通知. The training documents' writers
    # called them "the Guangming digital culture equipment measures" and "the Guangming 2026 digital culture equipment
    # funding notice"; "these Yantian 文旅 support measures" has Chinese between the district and the kind.
    from assistant.document_names import NameIndex
    from evals.document_questions import TRAINING_DOCUMENTS_DIR
    from indexing.tokenize_zh import fold

    measures, notice, yantian = ("guangming-digital-culture-equipment-measures",
                                 "guangming-equipment-application-guide-2026", "yantian-culture-tourism-draft-measures")
    names = NameIndex([*load_corpus(ROOT / "corpus"),
                       *(load_document(TRAINING_DOCUMENTS_DIR / d / f"{d}.txt") for d in (measures, notice, yantian))])
    for text, named in (("Under the Guangming digital culture equipment measures, is it paid in one lump sum?", [measures]),
                        ("the Guangming 2026 digital culture equipment funding notice: which number do we call?", [notice]),
                        ("Who interprets these Yantian 文旅 support measures?", [yantian]),
                        # "policy" renders any kind: both of Guangming's documents.
                        ("Under the Guangming digital culture equipment policy, how much?", [measures, notice]),
                        # Where the asker is, then another phrase: no document named.
                        ("We make AR glasses in Guangming. What does the policy give?", [])):
        assert sorted(names.find(fold(text))) == sorted(named), text


def test_a_document_called_by_its_kind_alone_is_the_one_indexed_of_that_kind():
    # The measure is a 措施; with one 办法 and one 通知 beside it, "这个办法" and "本通知" can mean only those.
    from assistant.document_names import NameIndex, document_kind
    from indexing.tokenize_zh import fold

    documents = [*load_corpus(ROOT / "corpus"),
                 *(load_document(DOCUMENTS_DIR / d / f"{d}.txt") for d in (FUND, DISTRICT, NOTICE))]
    assert [document_kind(d) for d in documents] == ["措施", "办法", "措施", "通知"]   # （征求意见稿） aside
    names = NameIndex(documents)
    for text, doc in (("这个新办法什么时候施行", FUND), ("办法 第十条", FUND), ("按本办法第二十条补多少", FUND),
                      ("本通知由哪个部门解释", NOTICE), ("这个通知里有没有高企奖励", NOTICE),
                      ("who interprets this notice?", NOTICE),
                      ("what is the incubator cap under the 2023 application notice?", NOTICE)):
        assert names.called_by_kind(fold(text)) == [doc], text
    for text in ("这个措施由谁负责解释",           # two 措施 are indexed, the primary among them
                 "配套实施办法什么时候出台",        # a document the measure promises: no pointing word, not first
                 "控制成本办法有哪些",              # 成本 is no pointing 本
                 "这个规定是什么意思",             # 规定 is an ordinary word too
                 "what do these measures give for games?",    # two 措施
                 "what is the incubator cap under the 2024 application notice?"):   # the notice indexed is 2023's
        assert names.called_by_kind(fold(text)) == [], text
    # With the primary alone nothing else can be called.
    assert NameIndex(documents[:1]).called_by_kind(fold("这个办法什么时候施行")) == []


def test_a_part_item_number_names_the_document_whose_item_holds_the_questions_words():
    # The film guide and the Luohu notice both print 二（九）: the guide's is a film festival award, the notice's the
    # yearly limit per unit. Before, the first indexed document printing the label was taken, whatever was asked.
    from assistant.document_names import numbered_documents
    from indexing.tokenize_zh import fold

    film, luohu = "film-tv-guide-2024", "luohu-culture-fund-notice-2025"
    documents = [*load_corpus(ROOT / "corpus"),
                 *(load_document(TRAINING_DOCUMENTS_DIR / d / f"{d}.txt") for d in (film, luohu))]
    assert numbered_documents(fold("二（九）说同一单位一年累计不超过多少？"), documents) == [luohu]
    assert numbered_documents(fold("二（九）国际电影节获奖能奖多少？"), documents) == [film]
    assert numbered_documents(fold("二（九）"), documents) == [film]    # no words: the first indexed


def test_a_documents_word_for_itself_inside_a_quotation_names_no_document():
    # "本措施" is an alias of the primary measure: the measure's own askers say it. Inside a quotation it is the quoted
    # document's word for itself (a district's 措施 says 本措施 too); the quote's other words decide.
    from assistant.document_names import NameIndex
    from indexing.tokenize_zh import fold

    documents = [*load_corpus(ROOT / "corpus"),
                 *(load_document(DOCUMENTS_DIR / d / f"{d}.txt") for d in (FUND, DISTRICT, NOTICE))]
    names = NameIndex(documents)
    assert names.find(fold("本措施第十六条给多少")) == [PRIMARY]
    assert names.find(fold("第二十六条说“单个企业每年获得本措施支持的资金累计不超过1000万元”，有例外吗？")) == []


def test_a_document_called_by_pieces_of_its_title_and_its_kind_is_named():
    # "这份数字创意扶持项目申报通知": no district, no 这个/本 right before the kind, not the title as written; every piece
    # before 通知 is the notice's title's own.
    from assistant.document_names import NameIndex
    from indexing.tokenize_zh import fold

    documents = [*load_corpus(ROOT / "corpus"),
                 *(load_document(DOCUMENTS_DIR / d / f"{d}.txt") for d in (FUND, DISTRICT, NOTICE))]
    names = NameIndex(documents)
    for text, doc in (("请问这份数字创意扶持项目申报通知由哪个部门负责解释？", NOTICE),
                      ("扶持项目申报通知里孵化器给多少", NOTICE),
                      ("文化产业专项资金办法第十条", FUND),
                      ("数字经济若干措施的落户奖励", DISTRICT)):     # the primary's title has no 数字经济
        assert names.described_by_kind(fold(text)) == [doc], text
    for text in ("申报通知由哪个部门负责解释？",      # 申报 alone: any year's call for applications
                 "今年的申报通知出了吗",              # 今年 is no piece of the title
                 "数字创意产业若干措施的落户奖励",    # both 措施 hold 数字创意产业 and 若干措施
                 "数字创意产业集群若干措施的第八条"):  # the primary measure's own: its questions name it all the time
        assert names.described_by_kind(fold(text)) == [], text


def test_a_document_described_by_its_title_answers_who_interprets_it(documents_assistant):
    # Before, no document was named: the notice was asked a fact only the primary's (二十五) was searched for, and
    # the answer declined or cited the measure's interpreter.
    answer = documents_assistant.ask(["请问这份数字创意扶持项目申报通知由哪个部门负责解释？"])
    assert not answer.refused
    assert [(c.doc, c.section) for c in answer.citations][:1] == [(NOTICE, "七/五")]


def test_a_question_calling_a_document_by_its_kind_is_answered_from_it(documents_assistant):
    # Before, the measure's own (二十六) answered: its start date is blank, the 办法's is written in its 第四十条.
    answer = documents_assistant.ask(["这个办法什么时候开始施行？"])
    assert [(c.doc, c.section) for c in answer.citations][:1] == [(FUND, "四十")]
    assert "2020年4月1日" in answer.text


def test_a_section_number_names_the_document_whose_numbering_and_words_it_fits(documents_assistant):
    from assistant.document_names import numbered_documents

    kb = documents_assistant.knowledge
    # "一（五）" is printed only by the notice, whose items restart per part.
    assert numbered_documents("一（五）动漫游戏项目资助标准", kb.documents) == [NOTICE]
    # 第十三条 of the fund measures is 支持游戏研发; the bundled measure's （十三） is 深化数字创意融合.
    assert numbered_documents("第十三条 游戏研发 资助", kb.documents) == [FUND]
    # The bundled measure's own words, or none at all: its numbering, as with it alone.
    assert numbered_documents("第十三条", kb.documents) == []
    assert numbered_documents("第十三条 数字创意融合", kb.documents) == []
    # A clause number the bundled measure lacks: the document that has it.
    assert numbered_documents("第三十五条讲什么", kb.documents) == [FUND]
    answer = documents_assistant.ask(["第十三条 游戏研发 资助"])
    assert (answer.citations[0].doc, answer.citations[0].section) == (FUND, "十三")
    bundled = documents_assistant.ask(["第十三条"])
    assert (bundled.citations[0].doc, bundled.citations[0].section) == (PRIMARY, "十三")


def test_a_named_documents_title_is_searched_as_its_kind_alone():
    # The Nanshan measure's full title shares 数字经济, 数字创意, 高质量发展 with its preamble, which then answered
    # "…里人才那部分有哪几项"; the kind stays ("资助办法现在还有效吗" asks what 本办法's last article says).
    from assistant.document_names import NameIndex
    from indexing.tokenize_zh import fold

    documents = [*load_corpus(ROOT / "corpus"),
                 *(load_document(DOCUMENTS_DIR / d / f"{d}.txt") for d in (FUND, DISTRICT, NOTICE))]
    names = NameIndex(documents)
    title = "《深圳市南山区关于促进数字经济和数字创意产业高质量发展的若干措施》"
    assert names.without_names(fold(f"{title}里人才那部分有哪几项")) == "措施里人才那部分有哪几项"
    assert names.without_names(fold("资助办法现在还有效吗？")) == "办法现在还有效吗？"
    assert names.without_names(fold("深文旅体〔2023〕47号这个通知什么时候截止")) == "通知这个通知什么时候截止"
    # Nothing of its own left: the text as it was.
    assert names.without_names(fold("南山那个措施")) == "南山那个措施"
    assert names.without_names(fold("孵化器上限")) == "孵化器上限"


def test_a_question_naming_a_document_by_its_full_title_is_answered_from_the_part_it_asks(documents_assistant):
    answer = documents_assistant.ask(
        "《深圳市南山区关于促进数字经济和数字创意产业高质量发展的若干措施》里专门讲人才的是哪几条？")
    cited = [c.ref for c in answer.citations]
    assert cited and all(r.doc_id == DISTRICT for r in cited)
    assert {r.key for r in cited} <= {"二十三", "二十四", "二十五"}, cited   # 五、支持人才, not the preamble
