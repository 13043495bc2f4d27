"""Answer composition: from the chosen sections, the cap table and the query plan to natural Chinese.

Every amount in the text is rendered from an ``Award`` record; every quote is a sentence of the cited
section, with its offsets. Nothing here invents a figure: a clause without one says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from assistant.answer import Answer, Citation, Clarify
from assistant.detail import asked_detail
from assistant.explain import informative_terms
from assistant.knowledge import KnowledgeBase
from assistant.lead import (
    ELIGIBILITY_RE,
    STACKING_NOTE,
    STACKING_RE,
    amount_sentence,
    awards_phrase,
    clause_name,
    detail_sentence,
    eligibility_sentence,
)
from assistant.query import QueryPlan
from assistant.scope import ScopeTopic
from assistant.structure import StructureAsk
from indexing.caps import Award
from indexing.document import Section, Sentence
from indexing.numerals import format_wan
from indexing.profiles import Profile
from indexing.retrieval.hits import ClauseHit
from indexing.section_ref import SectionRef, chapter_heading, clause_label, is_clause_key, key_kind
from indexing.tokenize_zh import tokenize

_META_MARKERS = {
    "meta-validity": ("有效期",),
    "meta-interpret": ("负责解释", "解释"),
    "meta-effective": ("起实施", "实施"),
}
_OPEN_QUESTION_RE = re.compile(r"多少|几|哪|什么|怎么|如何")
# "九和十七哪个高", "哪条补得多": a comparison of caps is a money question.
_COMPARE_RE = re.compile(r"哪(个|条|项)[^，。？?]{0,4}(高|多|大|少|低)|比[^，。？?]{1,12}(高|多|少|低)")
_STATES_CAP_RE = re.compile(r"(最多|最高|上限|封顶|顶格)(就|只有|只能|才|也就)?")
# A condition is a phrase the text states; shorter pieces are words, not conditions.
MIN_CONDITION_CHARS = 5


class ScoredSection(NamedTuple):
    """A section of a document a decision rests on (or offers as nearest), with its score."""

    ref: SectionRef
    score: float


@dataclass
class Decision:
    """Which sections an answer rests on, and why; made by the service, rendered here.

    Sections are ``SectionRef``s, not bare keys: clause （十六） of two documents are two entries, each rendered and
    cited from its own document.
    """

    sections: list[ScoredSection]
    refused: bool = False
    scope_topic: ScopeTopic | None = None
    nearest: list[ScoredSection] = field(default_factory=list)
    clarify: Clarify | None = None
    hits: list[ClauseHit] = field(default_factory=list)
    route: str = "retrieval"   # retrieval | reference | meta | largest | followup | match | structure | awards
    structure: StructureAsk | None = None   # the parts a structure question asks about (route "structure")
    # Why it was declined: "topic:<name>", "too-far" (nothing close), or "lacks-detail" (a clause is close — it
    # mentions the subject — but the learned answerability model says it does not answer what was asked).
    refusal_reason: str = ""


def document_name(kb: KnowledgeBase, ref: SectionRef) -> str:
    """《short title》 of a section's document when several documents are indexed ("" with one: the measure)."""
    return kb.facts_of(kb.qualified(ref).doc_id).name if kb.several_documents else ""


def whose(kb: KnowledgeBase, refs: list[SectionRef]) -> str:
    """Which document says what, before the conclusion of an answer citing sections while several documents are
    indexed: "依据《A》：" for one document, "依据《A》（五）、《B》第十九条：" for several ("" with one document)."""
    if not kb.several_documents or not refs:
        return ""
    docs = list(dict.fromkeys(kb.qualified(r).doc_id for r in refs))
    if len(docs) == 1:
        return f"依据{kb.facts_of(docs[0]).name}："
    return "依据" + "、".join(f"{document_name(kb, r)}{kb.section(r).display_name}" for r in refs) + "："


def cited_notices(kb: KnowledgeBase, refs: list[SectionRef]) -> list[str]:
    """The notices of the documents cited beside the primary one (each its own status and 文号)."""
    primary = kb.primary.meta.id
    docs = dict.fromkeys(kb.qualified(r).doc_id for r in refs)
    return [kb.facts_of(d).cited_notice for d in docs if d != primary]


def draft_notice(kb: KnowledgeBase) -> str:
    """The notice under every answer: the draft's blank effective date, or that the official text prevails."""
    return kb.facts.notice


def section_name(section: Section) -> str:
    if section.kind == "clause":
        return f"{section.label}{section.title}"
    if section.kind == "chapter":
        return f"“{chapter_heading(section.chapter, section.chapter_title)}”部分"
    return "序言"


def choose_quote(section: Section, plan: QueryPlan, awards: list[Award]) -> Sentence:
    """The decisive sentence: the award sentence for money questions, the best-matching one otherwise."""
    sentences = list(section.sentences) or [Sentence(section.text, section.start, section.end)]
    if plan.intent in _META_MARKERS:
        for marker in _META_MARKERS[plan.intent]:
            for sentence in sentences:
                if marker in sentence.text:
                    return sentence
    if (plan.money or plan.asks_term or plan.claimed_amounts) and awards:
        award = awards[min(plan.ordinal or 0, len(awards) - 1)]
        for sentence in sentences:
            if sentence.start == award.start:
                return sentence
    query = set(tokenize(plan.search_text)) | set(tokenize(" ".join(plan.expansion[:20])))
    candidates = sentences[1:] if section.kind == "clause" and len(sentences) > 1 else sentences
    best = max(candidates, key=lambda s: (len(query & set(tokenize(s.text))), -s.start))
    if not query & set(tokenize(best.text)) and awards:
        for sentence in sentences:
            if sentence.start == awards[0].start:
                return sentence
    return best


def award_line(award: Award) -> str:
    """One cap record in words: 最高200万元资助（资助期限不超过3年；对象：…；依据：本措施）."""
    details = []
    if award.term:
        details.append(award.term)
    details.append(f"对象：{award.target}")
    details.append(f"依据：{'本措施' if award.basis == '本措施' else '《' + award.basis + '》'}")
    if award.amount_wan is None:
        return f"{award.kind}金额按《{award.basis}》相关规定执行，本措施未写明具体金额（{'；'.join(details[1:])}）"
    if award.qualifier == "追加":
        return f"在《{award.basis}》资助基础上追加{format_wan(award.amount_wan)}{award.kind}（{details[1]}）"
    return f"{award.qualifier}{format_wan(award.amount_wan)}{award.kind}（{'；'.join(details)}）"


def conditions_of(section: Section, profile: Profile | None, awards: list[Award] | None = None) -> list[str]:
    """The conditions a clause states, as whole phrases of its text (经认定的…, 具有示范引领作用、…的孵化器和众创空间).

    The award's 对… phrase comes first; the profile's reviewed conditions are added when the text contains them.
    A phrase contained in another is dropped (the whole is shown, not its pieces), and so is anything shorter than
    ``MIN_CONDITION_CHARS`` ("分档次" is how awards are graded, "优秀" an adjective, neither a condition).
    """
    if section.kind != "clause":
        return []
    found: list[str] = []
    for award in awards or ():
        if award.target and award.target != section.title and award.target in section.text:
            found.append(award.target)
    if profile:
        found.extend(c for c in profile.conditions
                     if c in section.text and not c.startswith(("按《", "在《", "每年")) and "期限" not in c)
    found = [c for c in dict.fromkeys(found) if len(c) >= MIN_CONDITION_CHARS]
    whole = [c for c in found if not any(o != c and c in o for o in found)]
    return whole[:3]


def _claims_line(plan: QueryPlan, awards: list[Award], section: Section) -> str | None:
    """Compare amounts the user mentioned with the table: a false premise is corrected, a wish checked.

    The user's own figure is never repeated: every amount in an answer comes from the cap table.
    """
    if not plan.claimed_amounts:
        return None
    figures = [a for a in awards if a.amount_wan is not None]
    claimed = max(plan.claimed_amounts)
    name = section.label or section_name(section)
    if not figures:
        if awards:
            return (f"您提到的金额在原文中没有依据：{name}的金额按《{awards[0].basis}》相关规定执行，"
                    "本措施未写明具体金额。")
        return f"您提到的金额在原文中没有依据：{name}没有写明任何资助金额。"
    # A clause with several awards: the one whose target the question names (以商招商 → its 200万, not the 500万 of
    # the same clause), else the largest.
    asked = set(tokenize(plan.normalized))
    top = max(figures, key=lambda a: (len(asked & set(tokenize(a.target))), a.amount_wan or 0))
    cap = top.amount_wan or 0
    # 追加 is on top of the fund's own award, which this text does not state.
    base = (f"；基础部分按《{top.basis}》相关规定执行，本措施未写明具体金额" if top.qualifier == "追加" else "")
    if claimed > cap:
        return f"您提到的金额超出了原文上限，不能按此计算：{name}规定的是{top.qualifier}{format_wan(cap)}{base}。"
    if claimed == cap:
        return f"您提到的金额与{name}的上限一致（{top.qualifier}{format_wan(cap)}）{base}，实际金额以评审结果为准。"
    if _STATES_CAP_RE.search(plan.normalized):
        # "最多就200万是吧": the asker states the cap, and states it too low.
        return (f"按原文，{name}的上限是{top.qualifier}{format_wan(cap)}，比您提到的金额高{base}；"
                "上限不等于实际可得，具体金额以评审结果为准。")
    return (f"您提到的金额在{name}的上限（{top.qualifier}{format_wan(cap)}）以内{base}；"
            "上限不等于实际可得，具体金额以评审结果为准。")


def _linked_lines(kb: KnowledgeBase, section: Section, doc_id: str | None = None) -> list[str]:
    lines = []
    for linked in kb.linked_documents(section, doc_id):
        if kb.has_document(linked):
            continue
        number = f"（{linked.doc_number}）" if linked.doc_number else ""
        lines.append(f"本条依赖《{linked.title}》{number}，该文件全文不在本助手的资料库中，具体标准请以其原文为准。")
    return lines


def _cap_list_label(plan: QueryPlan) -> str:
    """What a "which clauses pay …" question asked for: 一次性最高200万元, 500万元, 每年最高 …"""
    figures = "、".join(format_wan(a) for a in dict.fromkeys(plan.claimed_amounts))
    return f"{plan.cap_kind}{figures}" if plan.cap_kind else figures


def _quote_for_listing(section: Section, awards: list[Award]) -> Sentence:
    """The sentence that says what a section is about when it is listed (a part's clauses): its award sentence,
    else its first sentence after the title."""
    sentences = list(section.sentences) or [Sentence(section.text, section.start, section.end)]
    if awards:
        for sentence in sentences:
            if sentence.start == awards[0].start:
                return sentence
    return sentences[1] if section.kind == "clause" and len(sentences) > 1 else sentences[0]


def _named_first(plan: QueryPlan, awards: list[Award]) -> list[Award]:
    """A clause's awards with the one the question names first ("牵线的企业能拿奖励吗" → the 奖励 of 以商招商)."""
    asked = set(tokenize(plan.normalized))
    return sorted(awards, key=lambda a: -len(asked & (set(tokenize(a.target)) | {a.kind})))


def _yes_no(text: str) -> bool:
    """A question that wants a yes or no ("能不能申请", "可以吗"), not a figure or a list."""
    return bool(ELIGIBILITY_RE.search(text)) and not _OPEN_QUESTION_RE.search(text)


def _lead(kb: KnowledgeBase, plan: QueryPlan, decision: Decision, quotes: dict[SectionRef, Sentence]) -> str:
    """The first sentence(s): the conclusion to the question asked (see ``assistant.lead``)."""
    refs = [kb.qualified(ref) for ref in decision_refs(decision)]
    sections = [kb.section(ref) for ref in refs]
    first, awards = sections[0], kb.awards(refs[0])
    names = [clause_name(s) for s in sections]

    def conditions(section: Section) -> list[str]:
        return conditions_of(section, kb.profile(section.ref), kb.awards(section.ref))

    if plan.intent == "largest":
        top = kb.primary_caps.max_amount()
        return (f"按原文，单项资助上限最高为{format_wan(top)}（均为“最高”，是上限而非实际可得），见" + "、".join(names) + "。")
    if decision.route == "amount-list":
        asked = (f"资助上限为{_cap_list_label(plan)}" if plan.claimed_amounts else f"写明“{plan.cap_kind}”资助")
        wanted = set(plan.claimed_amounts)
        listed = []
        for name, s in zip(names, sections, strict=True):
            matching = [a for a in kb.awards(s.ref) if (not wanted or a.amount_wan in wanted)
                        and (not plan.cap_kind or a.qualifier == plan.cap_kind)]
            listed.append(f"{name}（{awards_phrase(matching, with_target=len(matching) > 1)}）" if matching else name)
        return f"按原文，{asked}的条款有{len(refs)}条：" + "、".join(listed) + "。"
    if decision.route == "awards":
        parts = [f"{name}{awards_phrase(kb.awards(s.ref), with_target=False) or '没有写明资助金额'}"
                 for name, s in zip(names, sections, strict=True)]
        stacking = f"{STACKING_NOTE}" if STACKING_RE.search(plan.normalized) else ""
        return "按原文：" + "；".join(parts) + "。" + stacking
    claims = _claims_line(plan, awards, first)
    if claims:
        others = [f"{name}{awards_phrase(kb.awards(s.ref)) or '没有写明资助金额'}"
                  for name, s in zip(names[1:], sections[1:], strict=True)]
        return claims if not others else claims.rstrip("。") + "；另见" + "；".join(others) + "。"
    quote = quotes[refs[0]]
    # A clause titled by its only sentence ("（二十六）本措施自…起实施，有效期…") is named by its number alone.
    name = first.label if first.kind == "clause" and first.title and first.title in quote.text else names[0]
    if decision.route == "meta" or all(s.kind != "clause" for s in sections):
        # The measure itself, the preamble or part 一's body text: what the text says, quoted.
        return f"按{name}：“{quote.text.rstrip('。；;')}。”"
    if decision.route == "match":
        if len(sections) > 1:
            return (f"根据您的描述，可能适用{len(sections)}条：" + "；".join(
                f"{name}（{awards_phrase(kb.awards(s.ref), with_target=False) or '本条没有写明资助金额'}）"
                for name, s in zip(names, sections, strict=True)) + "。")
        return "根据您的描述，" + eligibility_sentence(first, conditions(first), awards)
    detail = asked_detail(plan.normalized)
    if detail is not None and detail != "amount":
        return "".join(detail_sentence(detail, s, kb.awards(s.ref), conditions(s), kb.profile(s.ref))
                       for s in sections[:2])
    yes = _yes_no(plan.normalized)
    if plan.money or detail == "amount" or _COMPARE_RE.search(plan.normalized):
        if len(sections) == 1:
            return amount_sentence(first, _named_first(plan, awards), yes=yes and bool(awards))
        return "按原文：" + "；".join(
            f"{name}{awards_phrase(kb.awards(s.ref)) or '没有写明资助金额'}"
            for name, s in zip(names, sections, strict=True)) + "。"
    if yes and first.kind == "clause":
        return eligibility_sentence(first, conditions(first), awards)
    if len(sections) > 1:
        return f"相关条款有{len(sections)}条：" + "、".join(names) + "。"
    if awards:
        return f"相关条款是{names[0]}：{awards_phrase(awards, with_target=True)}。"
    return f"相关条款是{name}：“{quote.text.rstrip('。；;')}。”"


def compose(kb: KnowledgeBase, plan: QueryPlan, decision: Decision) -> Answer:
    """Render an answer from a decision: the conclusion first, then the cited clauses (the long form).

    Args:
        kb: the corpus.
        plan: the understood question.
        decision: the sections to cite (or a refusal) chosen by the service.

    Returns:
        The answer, with citations, cap records, notices and a short 标准答复 (``reply``, the conclusion).
        ``text`` is the conclusion paragraph, a blank line, then the long form (quotes, caps, conditions,
        what to prepare, linked documents) and the draft notice.
    """
    notice = draft_notice(kb)
    answer = Answer(question=plan.original, rewritten_question=plan.rewritten, text="", intent=plan.intent)
    answer.expansion = list(plan.expansion)
    answer.notices = [notice]
    answer.clarify = decision.clarify
    doc_title = kb.primary.meta.title
    # The documents a question is about: those it names, else every indexed one.
    asked_docs = [kb.facts_of(d) for d in plan.documents] or [kb.facts_of(d.meta.id) for d in kb.documents]
    titles = "".join(f"《{f.title}》" for f in asked_docs)

    if decision.refused:
        topic = f"“{decision.scope_topic.name}”方面的" if decision.scope_topic else "这个问题的"
        lacks_detail = decision.refusal_reason == "lacks-detail" and bool(decision.nearest)
        if lacks_detail:
            near = decision.nearest[0].ref
            nearest = section_name(kb.section(near))
            lines = [f"《{kb.facts_of(kb.qualified(near).doc_id).title}》没有规定您问的这一点：最接近的是{nearest}，"
                     "它提到相关内容，但没有回答这个问题。"]
        else:
            lines = [f"抱歉，现有文件（{titles}）没有涉及{topic}内容，无法据此回答。"]
        if decision.scope_topic and decision.scope_topic.advice:
            lines.append(decision.scope_topic.advice)
        if decision.nearest:
            names = "、".join(document_name(kb, ref) + section_name(kb.section(ref)) for ref, _ in decision.nearest[:2])
            lines.append(f"\n可能相关（仅供参考，并非对您问题的回答）：{names}。")
        lines.append(f"提示：{notice}")
        answer.text = "\n".join(lines)
        answer.refused = True
        answer.refusal_reason = decision.refusal_reason or (
            f"topic:{decision.scope_topic.name}" if decision.scope_topic else "too-far")
        answer.nearest = [
            {"section": ref.key, "clause": kb.section(ref).clause, "title": kb.section(ref).title, "score": round(score, 4),
             **({"doc": kb.qualified(ref).doc_id} if kb.several_documents else {})}
            for ref, score in decision.nearest[:3]
        ]
        answer.reply = f"您咨询的{topic}内容，现行资料{titles}未作规定，建议向主管部门咨询。"
        return answer

    if plan.intent == "meta-status" and not decision.sections:
        text, answer.reply = kb.facts_of(plan.documents[0] if plan.documents else None).status_answer()
        answer.text = f"{text}\n提示：{notice}"
        return answer

    if decision.route == "amount-list" and not decision.sections:
        figures = _cap_list_label(plan)
        by_amount: dict[float, list[str]] = {}
        for award in kb.primary_caps.awards:
            if award.amount_wan is not None:
                label = clause_label(award.clause) + ("追加" if award.qualifier == "追加" else "")
                if label not in by_amount.setdefault(award.amount_wan, []):
                    by_amount[award.amount_wan].append(label)
        listing = "；".join(f"{format_wan(amount)}：" + "、".join(keys)
                           for amount, keys in sorted(by_amount.items(), key=lambda item: -item[0]))
        answer.text = (f"按原文，没有资助上限为{figures}的条款。\n\n原文写明的资助上限有：{listing}"
                       "（均为上限，不是实际可得金额；问“第X条”可看原文）。\n"
                       f"提示：{notice}")
        answer.reply = f"《{doc_title}》中没有资助上限为{figures}的条款。"
        return answer

    if decision.route == "structure" and decision.structure is not None:
        return _compose_structure(kb, decision, answer, notice)

    detail = asked_detail(plan.normalized)
    # A follow-up asking one detail of the clause in focus gets that detail and the quote, not the clause again.
    brief = (decision.route == "followup" and plan.followup in ("anaphora", "bare", "ordinal")
             and detail is not None)
    quotes: dict[SectionRef, Sentence] = {}
    body: list[str] = []
    for number, (ref, score) in enumerate(decision.sections, start=1):
        ref = kb.qualified(ref)
        section = kb.section(ref)
        awards = kb.awards(ref)
        quote = choose_quote(section, plan, awards)
        quotes[ref] = quote
        answer.citations.append(
            Citation(
                doc=ref.doc_id,
                chapter=section.chapter,
                clause=section.clause,
                section=section.key,
                title=section.title,
                quote=quote.text,
                start=quote.start,
                end=quote.end,
                score=score,
                document=kb.facts_of(ref.doc_id),
            )
        )
        for award in awards:
            if award not in answer.caps:
                answer.caps.append(award)
        answer.linked.extend(
            {"id": d.id, "title": d.title, "doc_number": d.doc_number, "in_corpus": kb.has_document(d), "section": ref.key}
            for d in kb.linked_documents(section, ref.doc_id)
        )
        chapter = kb.chapter_of(section)
        prefix = f"{number}. " if len(decision.sections) > 1 else ""
        body.append(f"{prefix}{document_name(kb, ref)}{section_name(section)}"
                    + (f"（{chapter}）" if chapter and section.kind == "clause" else ""))
        body.append(f"   原文：“{quote.text}”")
        if brief:
            continue
        if awards:
            body.extend(f"   资助上限：{award_line(award)}" for award in awards)
        elif section.kind == "clause":
            body.append("   金额：本条没有写明资助金额。")
        profile = kb.profile(ref)
        conditions = conditions_of(section, profile, awards)
        if conditions:
            body.append("   申请条件（原文）：" + "；".join(f"“{c}”" for c in conditions))
        if decision.route == "match":
            hit = next((h for h in decision.hits if hit_ref(h, kb) == ref), None)
            reasons = _match_reasons(kb, plan, hit)
            if reasons:
                body.append(f"   匹配依据：{reasons}")
        if profile and profile.prepare and section.kind == "clause" and number <= 2:
            body.append("   建议准备：" + "；".join(profile.prepare[:4]))
        body.extend(f"   {line}" for line in _linked_lines(kb, section, ref.doc_id))

    lead = [whose(kb, decision_refs(decision)) + _lead(kb, plan, decision, quotes)]
    answer.notices.extend(cited_notices(kb, decision_refs(decision)))
    if plan.injection:
        lead.append("（您的问题中包含修改规则或金额的要求，已忽略：金额只按原文上限表回答。）")
    tail: list[str] = []
    if decision.clarify:
        tail.append(decision.clarify.question + " " + " / ".join(o.label for o in decision.clarify.options))
    tail.extend(f"提示：{n}" for n in answer.notices)
    heading = "依据：" if brief else "依据条款："
    answer.text = "".join(lead) + "\n\n" + "\n".join([heading, *body, *tail])
    answer.reply = lead[0] + kb.facts.reply_note
    return answer


def _match_reasons(kb: KnowledgeBase, plan: QueryPlan, hit: ClauseHit | None) -> str:
    """Why a clause fits a description: the informative words the founder used, else the profile's near words."""
    if hit is None or not hit.matched_terms:
        return ""
    terms = informative_terms(kb, hit.matched_terms)
    own = set(tokenize(plan.search_text))
    said = [t for t in terms if t in own]
    related = [t for t in terms if t not in own]
    if said:
        return "您提到的“" + "、".join(said[:6]) + "”"
    if related:
        return "与您描述相近的说法“" + "、".join(related[:4]) + "”"
    return ""


def _compose_structure(kb: KnowledgeBase, decision: Decision, answer: Answer, notice: str) -> Answer:
    """A question about the measure's parts: each part's title and its clauses, each cited."""
    from assistant.structure import chapter_name

    ask = decision.structure
    assert ask is not None
    document = kb.primary.document
    chapters = {c.key: c for c in document.chapters}
    lead: list[str] = []
    if ask.missing:
        lead.append("本措施没有" + "、".join(SectionRef.chapter_of(m).label for m in ask.missing) + "。")
    if ask.toc:
        numbered = [c for c in document.chapters if c.number is not None]
        entries = []
        for chapter in document.chapters:
            clauses = [k for k in chapter.section_keys if is_clause_key(k)]
            head = chapter_heading(chapter.key, chapter.title)
            last = f"至{clause_label(clauses[-1])}" if len(clauses) > 1 else ""
            span = clause_label(clauses[0]) + last if clauses else ""
            entries.append(head + (f"，{span}" if span else "，只有正文、没有编号条款"))
        inferred = [c.key for c in document.chapters if c.number_inferred]
        lead.append(f"本措施在序言之后分为{len(numbered)}个部分和附则，共{len(document.clauses)}条："
                    + "；".join(entries) + "。")
        if inferred:
            lead.append("其中" + "、".join(f"“{k}”" for k in inferred) + "部分的标题在原文中缺少序号，按顺序推定。")
    for key in ask.chapters:
        chapter = chapters[key]
        clauses = [k for k in chapter.section_keys if is_clause_key(k)]
        intro = f"讲“{ask.topic}”的是" if ask.topic else ""
        if not clauses:
            body_key = next(k for k in chapter.section_keys if key_kind(k) == "chapter")
            sentence = _quote_for_listing(kb.section(body_key), [])
            lead.append(f"{intro}{chapter_name(chapter)}只有一段正文、没有编号条款：“{sentence.text.rstrip('。')}。”")
        else:
            lead.append(f"{intro}{chapter_name(chapter)}{'，' if intro else ''}包括{len(clauses)}条："
                        + "、".join(clause_name(kb.section(k)) for k in clauses) + "。")
    body: list[str] = []
    for ref in map(kb.qualified, decision_refs(decision)):
        section = kb.section(ref)
        awards = kb.awards(ref)
        quote = _quote_for_listing(section, awards)
        answer.citations.append(Citation(doc=ref.doc_id, chapter=section.chapter, clause=section.clause,
                                         section=section.key, title=section.title, quote=quote.text,
                                         start=quote.start, end=quote.end, score=1.0,
                                         document=kb.facts_of(ref.doc_id)))
        body.append(section_name(section))
        body.append(f"   原文：“{quote.text}”")
        if awards:
            body.extend(f"   资助上限：{award_line(award)}" for award in awards)
            answer.caps.extend(a for a in awards if a not in answer.caps)
        elif section.kind == "clause":
            body.append("   金额：本条没有写明资助金额。")
    tail = [f"提示：{notice}"]
    answer.text = "".join(lead) + ("\n\n" + "\n".join(["各条原文：", *body, *tail]) if body else "\n\n" + tail[0])
    answer.reply = "".join(lead) + kb.facts.reply_note
    return answer


def decision_refs(decision: Decision) -> list[SectionRef]:
    """The sections a decision rests on, in order."""
    return [ref for ref, _ in decision.sections]


def hit_ref(hit: ClauseHit, kb: KnowledgeBase) -> SectionRef:
    """Which section a retrieval hit is (a hit without a document is the primary measure's, as retrieval reads it)."""
    return SectionRef.parse(hit.section_key, hit.doc_id or kb.primary.meta.id)
