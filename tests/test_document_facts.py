"""Document facts (title, status, validity, effective date) come from the sidecar and the text, never from code.

The bundled measure is a draft for comment whose effective date is left blank; a copy of the corpus re-issued as
a final text (status 正式, a new title, a filled-in date and another validity, in the sidecar and in the text) must
get its own facts in every answer, notice, hotline reply, page notice and LLM prompt, and no draft wording at all.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from assistant.document_facts import document_facts
from assistant.knowledge import KnowledgeBase
from indexing.corpus import load_corpus

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SIDECAR = CORPUS / "documents" / "shenzhen-digital-creative-measures-2022-draft.toml"
TEXT = SIDECAR.with_suffix(".txt")

NEW_ID = "sz-digital-creative-issued"   # another id: the English table's reviewed (draft) titles are not its own
NEW_TITLE = "深圳市促进数字创意产业集群高质量发展的若干措施"
NEW_VALIDITY = "有效期3年"
NEW_EFFECTIVE = "本措施自2023年3月1日起实施，有效期3年"
DRAFT_WORDS = ("征求意见", "2022年 月 日", "空白", "留空")


def _sidecar() -> dict:
    return tomllib.loads(SIDECAR.read_text(encoding="utf-8"))


def _issued_corpus(folder: Path) -> Path:
    """The bundled corpus with its measure re-issued: sidecar and text edited the way an issued text differs."""
    shutil.copytree(CORPUS, folder, ignore=shutil.ignore_patterns("documents"))
    (folder / "documents").mkdir()
    old = _sidecar()
    sidecar = SIDECAR.read_text(encoding="utf-8")
    for key, value in (("id", NEW_ID), ("title", NEW_TITLE), ("status", "正式"), ("validity", NEW_VALIDITY),
                       ("effective_date", "2023-03-01")):
        sidecar, count = re.subn(rf'^{key} = ".*?"', f'{key} = "{value}"', sidecar, count=1, flags=re.M)
        assert count == 1, key
    (folder / "documents" / SIDECAR.name).write_text(sidecar, encoding="utf-8")
    effective = document_facts(load_corpus(CORPUS)[0]).effective_sentence
    text = TEXT.read_text(encoding="utf-8")
    assert effective in text and "（征求意见稿）\n" in text
    text = text.replace(effective, NEW_EFFECTIVE).replace("（征求意见稿）\n", "", 1)
    text = text.replace("深圳市关于加快培育数字创意产业集群的\n若干措施", NEW_TITLE, 1)
    (folder / "documents" / TEXT.name).write_text(text, encoding="utf-8")
    assert old["title"] != NEW_TITLE and old["validity"] != NEW_VALIDITY
    return folder


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory):
    """The real assistant over the re-issued copy (indexed with the bundled model)."""
    from assistant.service import PolicyAssistant
    from indexing.build import build_index
    from indexing.config import IndexConfig

    base = tmp_path_factory.mktemp("issued")
    config = IndexConfig(home=base / "home", corpus_dir=_issued_corpus(base / "corpus"))
    build_index(config)
    return PolicyAssistant.open(index_config=config)


def _said(answer) -> str:
    return "\n".join([answer.text, answer.reply, *answer.notices])


# ---- the bundled draft -------------------------------------------------------------------------------
def test_bundled_facts_come_from_the_sidecar_and_the_texts_last_clause(knowledge):
    facts, meta = knowledge.facts, knowledge.primary.meta
    assert (facts.title, facts.status, facts.validity, facts.interpreter) == (
        meta.title, meta.status, meta.validity, meta.interpreter)
    last = knowledge.primary.document.clauses[-1]
    assert facts.effective_sentence == last.sentences[-1].text.rstrip("。")
    assert facts.is_draft and facts.date_left_blank and meta.validity in facts.effective_sentence
    assert facts.effective_clause in facts.effective_sentence and meta.validity not in facts.effective_clause
    assert facts.date_text in facts.effective_clause and facts.date_text in facts.short_notice
    assert facts.effective_clause in facts.notice and facts.title in facts.notice


def test_a_draft_that_states_its_date_is_not_said_to_leave_it_blank(tmp_path):
    kb = KnowledgeBase(load_corpus(_issued_corpus(tmp_path / "corpus")))
    draft = dataclasses.replace(kb.facts, status=_sidecar()["status"], effective_date="")
    assert draft.is_draft and not draft.date_left_blank
    assert draft.status in draft.notice and "空白" not in draft.notice and "空白" not in draft.short_notice
    text, reply = draft.status_answer()
    assert NEW_EFFECTIVE in text and "留空" not in text and "尚未确定" not in reply


def test_no_code_names_the_bundled_measures_facts(knowledge):
    facts = knowledge.facts
    named = {facts.title, facts.short_title, facts.issuer, facts.interpreter, facts.validity, facts.date_text,
             facts.effective_clause}
    assert all(named)
    offenders = [f"{path.relative_to(ROOT)}: {fact}"
                 for folder in ("assistant", "ui") for path in sorted((ROOT / folder).rglob("*.py"))
                 for fact in named if fact in path.read_text(encoding="utf-8")]
    assert offenders == []


def test_the_english_tables_draft_wording_agrees_with_the_sidecars_status():
    """Re-issuing the measure means editing its sidecar and its reviewed English together: an English title or
    status still saying "draft" for an issued text (or not saying it for a draft) fails here."""
    from assistant.english_table import english_table

    for doc in load_corpus(CORPUS):
        english = english_table().document(doc.meta.id)
        if english.title or english.status:
            assert ("draft" in f"{english.title} {english.status}".lower()) == doc.meta.is_draft, doc.meta.id


def test_when_each_test_document_takes_effect_comes_from_its_text_or_sidecar():
    """What a 标准答复 citing another document says of its 施行日期: the text's words when it states a whole date, else
    the sidecar's date; nothing for a draft's blank date or a document stating none."""
    from evals.document_questions import DOCUMENTS_DIR
    from indexing.corpus import load_document

    ids = ("fund-measures-standin", "nanshan-digital-economy-measures", "application-notice-2023")
    facts = {doc.meta.id: document_facts(doc)
             for doc in [load_corpus(CORPUS)[0], *(load_document(DOCUMENTS_DIR / d / f"{d}.txt") for d in ids)]}
    fund, nanshan, notice = (facts[d] for d in ids)
    assert (fund.takes_effect, fund.effective_on) == ("自2020年4月1日起施行", "2020-04-01")
    assert (nanshan.takes_effect, nanshan.effective_on) == ("自2023年10月1日起施行", "2023-10-01")
    assert (notice.takes_effect, notice.effective_on) == ("", "")   # the notice states no date, nor does its sidecar
    bundled = facts["sz-digital-creative-2022"]
    assert (bundled.takes_effect, bundled.effective_on) == ("", "")   # "2022年 月 日" is blank
    sidecar_only = dataclasses.replace(notice, effective_date="2023-05-01")
    assert (sidecar_only.takes_effect, sidecar_only.effective_on) == ("自2023年5月1日起施行", "2023-05-01")
    assert nanshan.reply_status == "《南山区数字经济和数字创意产业若干措施》状态为试行，自2023年10月1日起施行"
    assert notice.reply_status == "《2023年度数字创意产业扶持项目申报通知》状态为现行有效"
    assert bundled.reply_status == "《数字创意若干措施》为征求意见稿"


# ---- a re-issued copy --------------------------------------------------------------------------------
def test_issued_facts_come_from_the_edited_sidecar_and_text(issued):
    facts = issued.knowledge.facts
    assert (facts.id, facts.title, facts.status, facts.validity) == (NEW_ID, NEW_TITLE, "正式", NEW_VALIDITY)
    assert facts.effective_sentence == NEW_EFFECTIVE and not facts.is_draft and not facts.date_left_blank
    assert facts.short_notice == "" and NEW_TITLE in facts.notice


@pytest.mark.parametrize("question", [
    "这个措施是正式的吗", "是不是正式版", "有效期多久", "什么时候开始实施", "孵化器最多补多少", "房租补贴怎么申请",
    "这个措施有几个部分", "有没有补贴3000万的条款", "第十六条",
])
def test_chinese_answers_state_the_issued_facts_and_no_draft_wording(issued, question):
    answer = issued.ask([question])
    said = _said(answer)
    assert not [w for w in DRAFT_WORDS if w in said], said
    assert _sidecar()["title"] not in said
    assert answer.notices and all(NEW_TITLE in n for n in answer.notices)
    assert answer.reply and not answer.error


def test_a_refusal_of_the_issued_text_ends_with_its_status_and_no_draft_wording(issued):
    for question in ("房租补贴怎么申请", "有没有补贴3000万的条款"):
        answer = issued.ask([question])
        assert answer.reply.endswith("。" + issued.knowledge.facts.reply_note), answer.reply
        assert not [w for w in DRAFT_WORDS if w in answer.reply]


def test_status_validity_and_effective_date_answers_quote_the_issued_text(issued):
    status = issued.ask(["是不是正式版"])
    assert NEW_TITLE in status.text and ("正式" in status.reply)
    for question in ("有效期多久", "什么时候开始实施"):
        answer = issued.ask([question])
        assert NEW_EFFECTIVE in answer.text and NEW_VALIDITY in answer.reply


@pytest.mark.parametrize("question", [
    "Is this measure still a draft?", "How long is it valid?", "When does it take effect?",
    "How much can an incubator get?", "What are the parts of the measure?",
])
def test_english_answers_say_nothing_of_a_draft(issued, question):
    answer = issued.ask([question])
    said = _said(answer)
    assert answer.lang == "en"
    assert "draft" not in said.lower() and not [w for w in DRAFT_WORDS if w in said], said
    assert all(NEW_TITLE in n for n in answer.notices)


def test_english_status_answer_quotes_the_issued_effective_sentence(issued):
    answer = issued.ask(["Is this measure still a draft?"])
    assert "officially issued" in answer.text and NEW_EFFECTIVE in answer.text


def test_hotline_reply_page_notices_and_exports_use_the_issued_facts(issued):
    from assistant.section_view import SearchResult
    from ui import match_summary, render

    facts = issued.knowledge.facts
    result = issued.search("孵化器上限", k=3)
    reply = render.compose_reply(result, facts)
    assert NEW_TITLE in reply and "（十六）" in reply and "征求意见" not in reply
    nothing = render.compose_reply(SearchResult("x", "x", [], []), facts)
    assert NEW_TITLE in nothing and facts.interpreter in nothing and "征求意见" not in nothing
    view = issued.knowledge.section_view(issued.knowledge.resolve("十六"))
    assert "pa-draft" not in render.clause_html(view, draft=True, facts=facts)
    answer = issued.match("运营一个数字创意孵化器")
    markdown = match_summary.match_markdown(answer, {"行业": "孵化器"}, facts.title, facts=facts)
    lines = match_summary.match_plain_lines(answer, {"行业": "孵化器"}, facts.title, facts=facts)
    assert NEW_TITLE in markdown and not [w for w in DRAFT_WORDS if w in markdown + "".join(lines)]


def test_llm_prompt_names_the_issued_title_and_no_draft(issued):
    from assistant.llm import build_messages

    answer = issued.ask(["孵化器最多补多少"])
    sections = [issued.knowledge.section(c.section) for c in answer.citations]
    system, user = (m["content"] for m in build_messages(answer.question, answer, sections, issued.knowledge.facts))
    assert NEW_TITLE in system and "征求意见" not in system + user
    bare = dataclasses.replace(answer, notices=[])
    user = build_messages(bare.question, bare, sections, issued.knowledge.facts)[1]["content"]
    assert NEW_TITLE in user and "征求意见" not in user


def test_english_status_wording_has_one_place_that_answers_and_pages_read(knowledge, issued):
    from assistant.document_facts_en import english_facts
    from ui import render

    for kb, assistant in ((knowledge, None), (issued.knowledge, issued)):
        english = english_facts(kb.facts)
        drafted = kb.facts.is_draft
        text, reply = english.status_answer()
        for phrase in (english.notice, english.reply_note, english.hotline_note, reply):
            assert ("draft" in phrase.lower()) == drafted, phrase
        assert ("not a measure in force" in text) == drafted and ("is the officially issued text" in text) != drafted
        if assistant is not None:
            # an English answer and the lookup desk's English reply say the same words
            assert assistant.ask(["How much can an incubator get?"]).notices == [english.notice]
            hit = assistant.search("incubator cap", k=1)
            assert render.compose_reply(hit, kb.facts, lang="en").endswith(english.hotline_note)


# ---- refusals and missing caps end like every 标准答复 ---------------------------------------------------
@pytest.mark.parametrize("question", ["房租补贴怎么申请", "800万的有哪几条", "Is there a rent subsidy?",
                                      "Which clauses pay 8 million?"])
def test_refusals_and_missing_caps_end_with_the_bundled_drafts_status_once(assistant, knowledge, question):
    # A hotline agent reads the 标准答复 out: a refusal, or "no clause pays that", is about the bundled draft too.
    from assistant.document_facts_en import english_facts

    answer = assistant.ask([question])
    assert answer.refused or not answer.citations
    tail = knowledge.facts.reply_note if answer.lang == "zh" else english_facts(knowledge.facts).reply_note
    assert answer.reply.endswith(tail) and answer.reply.count(tail.strip()) == 1


def test_a_reply_that_already_says_the_status_does_not_say_it_twice(assistant):
    from assistant.compose import ChineseWording
    from assistant.compose_flow import render

    kb = assistant.knowledge

    class SaysItself(ChineseWording):   # a wording whose refusal already ends with the status
        def refusal_reply(self, plan, decision):
            return super().refusal_reply(plan, decision) + self.reply_note([kb.primary.meta.id])

    plan = assistant._plan("房租补贴怎么申请")
    decision = assistant._decide(plan)
    reply = render(kb, plan, decision, SaysItself(kb)).reply
    assert decision.refused and reply.count(kb.facts.reply_note) == 1
    assert reply == assistant.ask(["房租补贴怎么申请"]).reply
