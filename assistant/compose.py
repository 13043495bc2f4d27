"""Answer composition: from the chosen sections, the cap table and the query plan to natural Chinese.

Every amount in the text is rendered from an ``Award`` record; every quote is a sentence of the cited
section, with its offsets. Nothing here invents a figure: a clause without one says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.answer import Answer, Citation, Clarify
from assistant.knowledge import KnowledgeBase
from assistant.query import QueryPlan
from assistant.scope import ScopeTopic
from indexing.caps import Award
from indexing.document import Section, Sentence
from indexing.numerals import format_wan
from indexing.profiles import Profile
from indexing.retrieval.hits import ClauseHit
from indexing.tokenize_zh import tokenize

_META_MARKERS = {
    "meta-validity": ("有效期",),
    "meta-interpret": ("负责解释", "解释"),
    "meta-effective": ("起实施", "实施"),
}
_CONDITION_WORDS = ("经认定", "符合条件", "被评为", "入选", "具有", "新上线", "新引进", "成功的", "作用发挥好", "优秀")


@dataclass
class Decision:
    """Which sections an answer rests on, and why; made by the service, rendered here."""

    sections: list[tuple[str, float]]
    refused: bool = False
    scope_topic: ScopeTopic | None = None
    nearest: list[tuple[str, float]] = field(default_factory=list)
    clarify: Clarify | None = None
    hits: list[ClauseHit] = field(default_factory=list)
    route: str = "retrieval"   # retrieval | reference | meta | largest | followup | match
    # Why it was declined: "topic:<name>", "too-far" (nothing close), or "lacks-detail" (a clause is close — it
    # mentions the subject — but the learned answerability model says it does not answer what was asked).
    refusal_reason: str = ""


def draft_notice(kb: KnowledgeBase) -> str:
    meta = kb.primary.meta
    if meta.is_draft:
        return (
            f"《{meta.title}》为{meta.status}，原文施行日期为空白（“本措施自2022年 月 日起实施”），"
            "最终以正式发布的文本及配套操作规程为准。"
        )
    return f"以《{meta.title}》正式文本及配套操作规程为准。"


def section_name(section: Section) -> str:
    if section.kind == "clause":
        return f"{section.label}{section.title}"
    if section.kind == "chapter":
        return f"“{section.chapter}、{section.chapter_title}”部分"
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


def conditions_of(section: Section, profile: Profile | None) -> list[str]:
    """Conditions a user must still check, quoted from the clause text."""
    found: list[str] = []
    if profile:
        found.extend(c for c in profile.conditions
                     if c in section.text and not c.startswith(("按《", "在《", "每年")) and "期限" not in c)
    for word in _CONDITION_WORDS:
        if word in section.text and not any(word in c for c in found):
            found.append(word)
    # Keep the atomic conditions: drop one that merely strings others together.
    atomic = [c for c in found if not any(o != c and o in c for o in found)]
    return atomic[:4]


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
    top = max(figures, key=lambda a: a.amount_wan or 0)
    cap = top.amount_wan or 0
    if claimed > cap:
        return f"您提到的金额超出了原文上限，不能按此计算：{name}规定的是{top.qualifier}{format_wan(cap)}。"
    if claimed == cap:
        return f"您提到的金额与{name}的上限一致（{top.qualifier}{format_wan(cap)}），实际金额以评审结果为准。"
    return (f"您提到的金额在{name}的上限（{top.qualifier}{format_wan(cap)}）以内；"
            "上限不等于实际可得，具体金额以评审结果为准。")


def _linked_lines(kb: KnowledgeBase, section: Section) -> list[str]:
    lines = []
    for linked in kb.linked_documents(section):
        if kb.has_document(linked):
            continue
        number = f"（{linked.doc_number}）" if linked.doc_number else ""
        lines.append(f"本条依赖《{linked.title}》{number}，该文件全文不在本助手的资料库中，具体标准请以其原文为准。")
    return lines


def _cap_list_label(plan: QueryPlan) -> str:
    """What a "which clauses pay …" question asked for: 一次性最高200万元, 500万元, 每年最高 …"""
    figures = "、".join(format_wan(a) for a in dict.fromkeys(plan.claimed_amounts))
    return f"{plan.cap_kind}{figures}" if plan.cap_kind else figures


def compose(kb: KnowledgeBase, plan: QueryPlan, decision: Decision) -> Answer:
    """Render an answer from a decision.

    Args:
        kb: the corpus.
        plan: the understood question.
        decision: the sections to cite (or a refusal) chosen by the service.

    Returns:
        The answer, with citations, cap records, notices and a short 标准答复.
    """
    notice = draft_notice(kb)
    answer = Answer(question=plan.original, rewritten_question=plan.rewritten, text="", intent=plan.intent)
    answer.expansion = list(plan.expansion)
    answer.notices = [notice]
    answer.clarify = decision.clarify
    doc_title = kb.primary.meta.title

    if decision.refused:
        topic = f"“{decision.scope_topic.name}”方面的" if decision.scope_topic else "这个问题的"
        lacks_detail = decision.refusal_reason == "lacks-detail" and bool(decision.nearest)
        if lacks_detail:
            nearest = section_name(kb.section(decision.nearest[0][0]))
            lines = [f"《{doc_title}》没有规定您问的这一点：最接近的是{nearest}，它提到相关内容，但没有回答这个问题。"]
        else:
            lines = [f"抱歉，现有文件（《{doc_title}》）没有涉及{topic}内容，无法据此回答。"]
        if decision.scope_topic and decision.scope_topic.advice:
            lines.append(decision.scope_topic.advice)
        if decision.nearest:
            names = "、".join(section_name(kb.section(key)) for key, _ in decision.nearest[:2])
            lines.append(f"可能相关（仅供参考，并非对您问题的回答）：{names}。")
        lines.append(f"提示：{notice}")
        answer.text = "\n".join(lines)
        answer.refused = True
        answer.refusal_reason = decision.refusal_reason or (
            f"topic:{decision.scope_topic.name}" if decision.scope_topic else "too-far")
        answer.nearest = [
            {"section": key, "clause": kb.section(key).clause, "title": kb.section(key).title, "score": round(score, 4)}
            for key, score in decision.nearest[:3]
        ]
        answer.reply = f"您咨询的{topic}内容，现行资料《{doc_title}》未作规定，建议向主管部门咨询。"
        return answer

    if plan.intent == "meta-status" and not decision.sections:
        meta = kb.primary.meta
        answer.text = (
            f"《{meta.title}》是{meta.status or '正式文本'}，不是正式施行的文件：原文的施行日期留空"
            "（“本措施自2022年 月 日起实施，有效期5年”）。征求意见稿的内容在正式发布时可能调整，"
            "申报应以正式发布的文本和主管部门的年度申报指南、操作规程为准。\n"
            f"提示：{notice}"
        )
        answer.reply = f"该措施目前为{meta.status}，施行日期尚未确定，请以正式发布文本为准。"
        return answer

    if decision.route == "amount-list" and not decision.sections:
        figures = _cap_list_label(plan)
        by_amount: dict[float, list[str]] = {}
        for award in kb.primary_caps.awards:
            if award.amount_wan is not None:
                label = f"（{award.clause}）" + ("追加" if award.qualifier == "追加" else "")
                if label not in by_amount.setdefault(award.amount_wan, []):
                    by_amount[award.amount_wan].append(label)
        listing = "；".join(f"{format_wan(amount)}：" + "、".join(keys)
                           for amount, keys in sorted(by_amount.items(), key=lambda item: -item[0]))
        answer.text = (f"按原文，没有资助上限为{figures}的条款。原文写明的资助上限有：{listing}"
                       "（均为上限，不是实际可得金额；问“第X条”可看原文）。\n"
                       f"提示：{notice}")
        answer.reply = f"《{doc_title}》中没有资助上限为{figures}的条款。"
        return answer

    body: list[str] = []
    reply_parts: list[str] = []
    if plan.intent == "largest":
        body.append("按原文，单项资助上限最高的条款如下（金额均摘自原文，是上限而非实际可得）：")
    elif decision.route == "amount-list":
        asked = (f"资助上限为{_cap_list_label(plan)}" if plan.claimed_amounts else f"写明“{plan.cap_kind}”资助")
        body.append(f"按原文，{asked}的条款如下（金额均摘自原文，是上限而非实际可得）：")
    elif decision.route == "match" and len(decision.sections) > 1:
        body.append(f"根据您的描述，《{doc_title}》中可能适用的条款有 {len(decision.sections)} 条（按相关程度排序）：")
    else:
        body.append(f"根据《{doc_title}》：")
    if plan.injection:
        body.append("（您的问题中包含修改规则或金额的要求，已忽略：金额只按原文上限表回答。）")

    for number, (key, score) in enumerate(decision.sections, start=1):
        section = kb.section(key)
        awards = kb.awards(key)
        quote = choose_quote(section, plan, awards)
        answer.citations.append(
            Citation(
                doc=kb.primary.meta.id,
                chapter=section.chapter,
                clause=section.clause,
                section=section.key,
                title=section.title,
                quote=quote.text,
                start=quote.start,
                end=quote.end,
                score=score,
            )
        )
        chapter = kb.chapter_of(section)
        prefix = f"{number}. " if len(decision.sections) > 1 else ""
        body.append(f"{prefix}{section_name(section)}" + (f"（{chapter}）" if chapter and section.kind == "clause" else ""))
        body.append(f"   原文：“{quote.text}”")
        if awards:
            for award in awards:
                body.append(f"   资助上限：{award_line(award)}")
                if award not in answer.caps:
                    answer.caps.append(award)
        elif section.kind == "clause":
            body.append("   金额：本条没有写明资助金额。")
        claims = _claims_line(plan, awards, section) if number == 1 else None
        if claims:
            body.append(f"   {claims}")
        if plan.asks_term and number == 1 and awards:
            terms = [a.term for a in awards if a.term]
            once = [a for a in awards if a.qualifier == "一次性最高"]
            yearly = [a for a in awards if a.qualifier == "每年最高"]
            if terms:
                body.append(f"   期限：原文规定“{terms[0]}”。")
            elif once:
                body.append("   期限：原文写明为“一次性”资助。")
            elif yearly:
                body.append("   期限：原文写明“每年”给予，未写明总年限。")
            else:
                body.append("   期限：本条原文没有规定资助期限或年限。")
        conditions = conditions_of(section, kb.profiles.get(key))
        if conditions and section.kind == "clause":
            body.append("   需要确认：" + "；".join(f"是否满足“{c}”" for c in conditions))
        if decision.route == "match":
            profile = kb.profiles.get(key)
            hit = next((h for h in decision.hits if h.section_key == key), None)
            if hit and hit.matched_terms:
                own = set(tokenize(plan.search_text))
                said = [t for t in hit.matched_terms if t in own]
                related = [t for t in hit.matched_terms if t not in own]
                if said:
                    body.append("   匹配依据：您提到的“" + "、".join(said[:6]) + "”")
                elif related:
                    body.append("   匹配依据：与您描述相近的说法“" + "、".join(related[:4]) + "”")
            if profile and profile.prepare:
                body.append("   建议准备：" + "；".join(profile.prepare[:4]))
        body.extend(f"   {line}" for line in _linked_lines(kb, section))
        answer.linked.extend(
            {"id": d.id, "title": d.title, "doc_number": d.doc_number, "in_corpus": kb.has_document(d), "section": key}
            for d in kb.linked_documents(section)
        )
        if number <= 2:
            money = "；".join(
                (f"{a.qualifier}{format_wan(a.amount_wan)}" if a.amount_wan is not None and a.qualifier != "追加"
                 else (f"追加{format_wan(a.amount_wan)}" if a.amount_wan is not None else f"金额按《{a.basis}》执行"))
                + (f"，{a.term}" if a.term else "")
                for a in awards
            )
            reply_parts.append(f"{section.display_name}{section.title if section.kind == 'clause' else ''}"
                               + (f"：{money}" if money else ""))

    if decision.clarify:
        body.append(decision.clarify.question + " " + " / ".join(o.label for o in decision.clarify.options))
    body.append(f"提示：{notice}")
    answer.text = "\n".join(body)
    short_title = kb.primary.meta.short_title or doc_title
    answer.reply = (f"根据《{short_title}》（征求意见稿）" + "；".join(reply_parts)
                    + "。具体以正式文本和操作规程为准。") if reply_parts else ""
    return answer
