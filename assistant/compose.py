"""Chinese answers: the words of the one composition flow (``assistant.compose_flow``) in Chinese.

Every amount in the text is rendered from an ``Award`` record; every quote is a sentence of the cited
section, with its offsets. Nothing here invents a figure: a clause without one says so. The order of an answer
and its data (citations, caps, linked documents) are the flow's; this module says them in Chinese
(``ChineseWording``), and ``compose`` renders a decision with it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answer import Answer, Clarify
from assistant.compose_flow import (
    ASKED_TITLES_MAX,
    MIN_CONDITION_CHARS,
    Decision,
    ScoredSection,
    asked_documents,
    claimed_award,
    claimed_awards,
    conditions_of,
    decision_refs,
    hit_ref,
    listed_materials,
    quote_for_listing,
    render,
)
from assistant.detail import asked_detail
from assistant.document_facts import IssuerAnswer, issuer_answer, reply_note_for
from assistant.document_routes import asked_awards, counts_chapters, part_name, written_heading
from assistant.knowledge import KnowledgeBase
from assistant.lead import (
    ELIGIBILITY_RE,
    STACKING_NOTE,
    STACKING_RE,
    amount_sentence,
    awards_phrase,
    base_phrase,
    clause_name,
    detail_sentence,
    eligibility_sentence,
    on_top_phrase,
    share_phrase,
)
from assistant.linked_articles import LinkedArticle
from assistant.query import QueryPlan, asked_issuer_facts
from assistant.scope import ScopeTopic
from indexing.caps import THIS_MEASURE, Award
from indexing.document import LinkedDocument, Section, Sentence
from indexing.numerals import format_wan
from indexing.section_ref import SectionRef, chapter_heading, is_clause_key, key_kind
from indexing.tokenize_zh import tokenize

# Importers of the flow's shared pieces from here (the service, tests) keep working.
__all__ = ["MIN_CONDITION_CHARS", "ChineseWording", "Decision", "ScoredSection", "compose", "conditions_of",
           "decision_refs", "hit_ref", "section_name"]

_OPEN_QUESTION_RE = re.compile(r"多少|几|哪|什么|怎么|如何")
# "九和十七哪个高", "哪条补得多": a comparison of caps is a money question.
_COMPARE_RE = re.compile(r"哪(个|条|项)[^，。？?]{0,4}(高|多|大|少|低)|比[^，。？?]{1,12}(高|多|少|低)")
_STATES_CAP_RE = re.compile(r"(最多|最高|上限|封顶|顶格)(就|只有|只能|才|也就)?")


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


def own_document(kb: KnowledgeBase, doc_id: str, formal: bool = True) -> str:
    """How an answer names the document a section or award belongs to: 本措施 for the bundled measure, else its
    《title》 (``formal``: a cap record's basis) or the short name the answer leads with (依据《…申报通知》)."""
    if doc_id in ("", kb.primary.meta.id):
        return THIS_MEASURE
    facts = kb.facts_of(doc_id)
    return f"《{facts.title}》" if formal else facts.name


def section_name(section: Section) -> str:
    if section.kind == "clause":
        return f"{section.label}{section.title}"
    if section.kind == "chapter":
        return f"“{chapter_heading(section.chapter, section.chapter_title)}”部分"
    return "序言"


def award_line(award: Award, own: str = THIS_MEASURE) -> str:
    """One cap record in words: 最高200万元资助（资助期限不超过3年；对象：…；依据：本措施）; ``own``: how the basis of an
    award its own document sets is named (本措施 for the measure, 《title》 for another document)."""
    details = []
    if award.term:
        details.append(award.term)
    details.append(f"对象：{award.target}")
    details.append(f"依据：{own if award.basis == THIS_MEASURE else '《' + award.basis + '》'}")
    if award.amount_wan is None:
        return f"{award.kind}金额按《{award.basis}》相关规定执行，本措施未写明具体金额（{'；'.join(details[1:])}）"
    if award.qualifier == "追加":
        return f"{on_top_phrase(award)}追加{format_wan(award.amount_wan)}{award.kind}（{details[1]}）"
    if award.qualifier == "按比例":
        return f"{share_phrase(award)}（{'；'.join(details)}）"
    return f"{award.qualifier}{format_wan(award.amount_wan)}{award.kind}（{'；'.join(details)}）"


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
    top = claimed_award(plan, figures)
    cap = top.amount_wan or 0
    stated = share_phrase(top) if top.qualifier == "按比例" else f"{top.qualifier}{format_wan(cap)}"
    # 追加 is on top of another award: the fund's (which this text does not state) or one of the document's own.
    base = f"；{base_phrase(top)}" if top.qualifier == "追加" else ""
    if claimed > cap:
        return f"您提到的金额超出了原文上限，不能按此计算：{name}规定的是{stated}{base}。"
    if claimed == cap:
        return f"您提到的金额与{name}的上限一致（{stated}）{base}，实际金额以评审结果为准。"
    if _STATES_CAP_RE.search(plan.normalized):
        # "最多就200万是吧": the asker states the cap, and states it too low.
        return (f"按原文，{name}的上限是{stated}，比您提到的金额高{base}；"
                "上限不等于实际可得，具体金额以评审结果为准。")
    return (f"您提到的金额在{name}的上限（{stated}）以内{base}；"
            "上限不等于实际可得，具体金额以评审结果为准。")


def _linked_line(linked: LinkedDocument, in_corpus: bool = False) -> str:
    number = f"（{linked.doc_number}）" if linked.doc_number else ""
    if in_corpus:
        return f"本条依赖《{linked.title}》{number}，该文件已收入本助手的资料库，具体标准可直接询问该文件的条文。"
    return f"本条依赖《{linked.title}》{number}，该文件全文不在本助手的资料库中，具体标准请以其原文为准。"


def standard_phrase(awards: Sequence[Award]) -> str:
    """What an article a clause defers to sets, from its cap records: 按项目实际研发投入的30%给予资助，最高200万元 /
    一次性最高100万元奖励 (each with its target when there are several)."""
    parts = []
    for award in awards:
        target = f"对{award.target}，" if len(awards) > 1 and award.target else ""
        if award.amount_wan is None:
            said = f"按《{award.basis}》相关规定{award.kind}"
        else:
            said = share_phrase(award) if award.qualifier == "按比例" else f"{award.amount_text}{award.kind}"
        parts.append(f"{target}{said}" + (f"，{award.term}" if award.term else ""))
    return "；".join(parts)


def _cap_list_label(plan: QueryPlan) -> str:
    """What a "which clauses pay …" question asked for: 一次性最高200万元, 500万元, 每年最高 …"""
    figures = "、".join(format_wan(a) for a in dict.fromkeys(plan.claimed_amounts))
    return f"{plan.cap_kind}{figures}" if plan.cap_kind else figures


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
        # The cited clauses are those stating the top figure of the cap table read (assistant.document_routes).
        tops = [a for ref in refs for a in kb.awards(ref) if a.single]
        top = max(a.amount_wan or 0.0 for a in tops)
        kind = "均为“最高”，是上限而非实际可得" if all("最高" in a.amount_text for a in tops if a.amount_wan == top) \
            else "是上限而非实际可得"
        return f"按原文，单项资助上限最高为{format_wan(top)}（{kind}），见" + "、".join(names) + "。"
    if decision.route == "amount-list":
        asked = (f"资助上限为{_cap_list_label(plan)}" if plan.claimed_amounts else f"写明“{plan.cap_kind}”资助")
        listed = []
        for name, s in zip(names, sections, strict=True):
            matching = asked_awards(plan, kb.awards(s.ref))
            listed.append(f"{name}（{awards_phrase(matching, with_target=len(matching) > 1)}）" if matching else name)
        return f"按原文，{asked}的条款有{len(refs)}条：" + "、".join(listed) + "。"
    if decision.route == "awards":
        parts = [f"{name}{awards_phrase(kb.awards(s.ref), with_target=False) or '没有写明资助金额'}"
                 for name, s in zip(names, sections, strict=True)]
        stacking = f"{STACKING_NOTE}" if STACKING_RE.search(plan.normalized) else ""
        return "按原文：" + "；".join(parts) + "。" + stacking
    claims = _claims_line(plan, awards, first)
    if claims and asked_detail(plan.normalized) == "term":
        # "是不是每年都能拿100万？" claims an amount *and* asks the term: the term the text sets for the award claimed
        # (or that it sets none) comes first, then the amount checked against the table.
        claims = detail_sentence("term", first, claimed_awards(plan, awards), (), None) + claims
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
    materials = listed_materials(kb, sections) if detail == "prepare" else None
    if materials is not None:
        lister = clause_name(materials.section)
        if materials.item is not None and materials.line:
            return f"{lister}写明了{clause_name(materials.item)}的申请材料：“{materials.line.rstrip('。；;')}。”"
        return f"{lister}列出了申请材料，见下方原文。"
    if detail is not None and detail != "amount":
        return "".join(detail_sentence(detail, s, kb.awards(s.ref), conditions(s), kb.profile(s.ref),
                                       own_document(kb, s.doc_id, formal=False)) for s in sections[:2])
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


def _match_reasons(plan: QueryPlan, terms: Sequence[str]) -> str:
    """Why a clause fits a description: the informative words the founder used, else the profile's near words."""
    own = set(tokenize(plan.search_text))
    said = [t for t in terms if t in own]
    related = [t for t in terms if t not in own]
    if said:
        return "您提到的“" + "、".join(said[:6]) + "”"
    return "与您描述相近的说法“" + "、".join(related[:4]) + "”"


def _structure_lead(kb: KnowledgeBase, decision: Decision) -> str:
    """A question about a document's parts (the measure's unless it names another): each part's title and its
    clauses; the document is named when several are indexed."""
    ask = decision.structure
    assert ask is not None
    doc_id = decision.documents[0] if decision.documents else kb.primary.meta.id
    document = kb.document(doc_id).document
    own = doc_id == kb.primary.meta.id
    chapters = {c.key: c for c in document.chapters}
    lead: list[str] = [f"依据{kb.facts_of(doc_id).name}：" if kb.several_documents else ""]
    if ask.missing:
        by_chapter = not own and counts_chapters(document)   # "第九章": a document counting chapters
        lead.append(("本措施" if own else "该文件") + "没有" + "、".join(
            f"第{m}章" if by_chapter else SectionRef.chapter_of(m).label for m in ask.missing) + "。")
    if ask.toc:
        numbered = [c for c in document.chapters if c.number is not None]
        entries = []
        for chapter in document.chapters:
            clauses = [kb.section(k, doc_id).label for k in chapter.section_keys if is_clause_key(k)]
            head = chapter_heading(chapter.key, chapter.title) if own else written_heading(document, chapter)
            span = clauses[0] + (f"至{clauses[-1]}" if len(clauses) > 1 else "") if clauses else ""
            entries.append(head + (f"，{span}" if span else "，只有正文、没有编号条款"))
        inferred = [c.key for c in document.chapters if c.number_inferred]
        if own:
            lead.append(f"本措施在序言之后分为{len(numbered)}个部分和附则，共{len(document.clauses)}条：")
        else:
            lead.append(f"该文件分为{len(document.chapters)}{'章' if counts_chapters(document) else '个部分'}，"
                        f"共{len(document.clauses)}条：")
        lead.append("；".join(entries) + "。")
        if inferred:
            lead.append("其中" + "、".join(f"“{k}”" for k in inferred) + "部分的标题在原文中缺少序号，按顺序推定。")
    for key in ask.chapters:
        chapter = chapters[key]
        clauses = [k for k in chapter.section_keys if is_clause_key(k)]
        intro = f"讲“{ask.topic}”的是" if ask.topic else ""
        if not clauses:
            body_key = next(k for k in chapter.section_keys if key_kind(k) == "chapter")
            sentence = quote_for_listing(kb.section(body_key, doc_id), [])
            lead.append(f"{intro}{part_name(document, chapter)}只有一段正文、没有编号条款：“{sentence.text.rstrip('。')}。”")
        else:
            lead.append(f"{intro}{part_name(document, chapter)}{'，' if intro else ''}包括{len(clauses)}条："
                        + "、".join(clause_name(kb.section(k, doc_id)) for k in clauses) + "。")
    return "".join(lead)


class ChineseWording:
    """The Chinese words of an answer (see ``assistant.compose_flow.Wording``)."""

    injection_note = "（您的问题中包含修改规则或金额的要求，已忽略：金额只按原文上限表回答。）"

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.notice = kb.facts.notice

    def note(self, notice: str) -> str:
        return f"提示：{notice}"

    def reply_note(self, doc_ids: Sequence[str]) -> str:
        return reply_note_for(self.kb.facts, [self.kb.facts_of(d) for d in doc_ids])

    # ---- the conclusion ------------------------------------------------------------------------------
    def conclusion(self, plan: QueryPlan, decision: Decision, quotes: dict[SectionRef, Sentence]) -> str:
        return whose(self.kb, decision_refs(decision)) + _lead(self.kb, plan, decision, quotes)

    def cited_notice(self, doc_id: str) -> str:
        return self.kb.facts_of(doc_id).cited_notice

    def clarify(self, clarify: Clarify) -> Clarify:
        return clarify

    # ---- the cited sections --------------------------------------------------------------------------
    def basis_heading(self, brief: bool) -> str:
        return "依据：" if brief else "依据条款："

    def cited_heading(self, ref: SectionRef, section: Section) -> str:
        chapter = self.kb.chapter_of(section)
        return (f"{document_name(self.kb, ref)}{section_name(section)}"
                + (f"（{chapter}）" if chapter and section.kind == "clause" else ""))

    def quote_line(self, quote: str) -> str:
        return f"原文：“{quote}”"

    def cap_line(self, award: Award) -> str:
        return f"资助上限：{award_line(award, own_document(self.kb, award.doc_id))}"

    def no_amount_line(self) -> str:
        return "金额：本条没有写明资助金额。"

    def conditions_line(self, conditions: Sequence[str]) -> str:
        return "申请条件（原文）：" + "；".join(f"“{c}”" for c in conditions)

    def match_line(self, plan: QueryPlan, terms: Sequence[str]) -> str:
        return f"匹配依据：{_match_reasons(plan, terms)}"

    def prepare_line(self, items: Sequence[str]) -> str:
        return "建议准备：" + "；".join(items)

    def linked_line(self, linked: LinkedDocument, in_corpus: bool = False) -> str:
        return _linked_line(linked, in_corpus)

    def linked_article_heading(self, article: LinkedArticle, section: Section) -> str:
        where = "（见上文）" if article.cited_above else "："
        return f"具体标准见《{self.kb.facts_of(article.ref.doc_id).title}》{section_name(section)}{where}"

    def linked_lead(self, article: LinkedArticle, section: Section, awards: Sequence[Award]) -> str:
        document = f"《{self.kb.facts_of(article.ref.doc_id).title}》{section.display_name}"
        if article.cited_above:
            return f"{self.kb.section(article.clause).display_name}所依据的具体标准即{document}。"
        said = standard_phrase(awards) or f"“{quote_for_listing(section, list(awards)).text.rstrip('。；;')}”"
        return f"具体标准见{document}：{said}。"

    # ---- refusals --------------------------------------------------------------------------------------
    def _topic(self, decision: Decision) -> str:
        return f"“{decision.scope_topic.name}”方面的" if decision.scope_topic else "这个问题的"

    def _asked_titles(self, plan: QueryPlan) -> str:
        """The documents a question is about: those it names, else every indexed one."""
        kb = self.kb
        ids = asked_documents(kb, plan)
        titles = "".join(f"《{kb.facts_of(d).title}》" for d in ids[:ASKED_TITLES_MAX])
        return titles if len(ids) <= ASKED_TITLES_MAX else f"{titles}等{len(ids)}份文件"

    def not_covered(self, plan: QueryPlan, decision: Decision) -> str:
        kb = self.kb
        if decision.refusal_reason == "lacks-detail" and decision.nearest:
            near = decision.nearest[0].ref
            return (f"《{kb.facts_of(kb.qualified(near).doc_id).title}》没有规定您问的这一点：最接近的是"
                    f"{section_name(kb.section(near))}，它提到相关内容，但没有回答这个问题。")
        if decision.refusal_reason == "business-outside" and decision.nearest:
            near = decision.nearest[0].ref
            return (f"根据您的描述，《{kb.facts_of(kb.qualified(near).doc_id).title}》没有适用于这类业务的条款：最接近的是"
                    f"{section_name(kb.section(near))}，但它支持的不是您描述的主营业务。")
        return f"抱歉，现有文件（{self._asked_titles(plan)}）没有涉及{self._topic(decision)}内容，无法据此回答。"

    def topic_advice(self, topic: ScopeTopic | None) -> str:
        return topic.advice if topic else ""

    def possibly_related(self, refs: Sequence[SectionRef]) -> str:
        names = "、".join(document_name(self.kb, ref) + section_name(self.kb.section(ref)) for ref in refs)
        return f"可能相关（仅供参考，并非对您问题的回答）：{names}。"

    def refusal_reply(self, plan: QueryPlan, decision: Decision) -> str:
        return f"您咨询的{self._topic(decision)}内容，现行资料{self._asked_titles(plan)}未作规定，建议向主管部门咨询。"

    # ---- answers without cited sections, and structure -------------------------------------------------
    def status_answer(self, plan: QueryPlan) -> tuple[str, str]:
        return self.kb.facts_of(plan.documents[0] if plan.documents else None).status_answer()

    def issuer_answer(self, plan: QueryPlan, documents: Sequence[str]) -> IssuerAnswer:
        return issuer_answer([self.kb.facts_of(d) for d in documents], *asked_issuer_facts(plan.normalized))

    def no_such_cap(self, plan: QueryPlan, decision: Decision) -> tuple[str, str]:
        kb = self.kb
        docs = decision.documents or (kb.primary.meta.id,)
        # "哪条补得最多" of a document whose awards name no figure asks no amount: none of its clauses states one.
        asked = f"资助上限为{_cap_list_label(plan)}" if plan.claimed_amounts or plan.cap_kind else "写明资助金额"
        listings = []
        for doc_id in docs:
            by_amount: dict[float, list[str]] = {}
            for award in kb.cap_table(doc_id).awards:
                if award.amount_wan is not None:
                    label = kb.section(award.ref).label + ("追加" if award.qualifier == "追加" else "")
                    if label not in by_amount.setdefault(award.amount_wan, []):
                        by_amount[award.amount_wan].append(label)
            listing = "；".join(f"{format_wan(amount)}：" + "、".join(keys)
                               for amount, keys in sorted(by_amount.items(), key=lambda item: -item[0]))
            listings.append((kb.facts_of(doc_id).name if len(docs) > 1 else "") + (listing or "没有写明具体金额"))
        where = "".join(kb.facts_of(d).name for d in docs) if kb.several_documents else "原文"
        text = (f"按{where}，没有{asked}的条款。\n\n原文写明的资助上限有：{'；'.join(listings)}"
                "（均为上限，不是实际可得金额；问“第X条”可看原文）。")
        return text, "".join(f"《{kb.facts_of(d).title}》" for d in docs) + f"中没有{asked}的条款。"

    def structure_lead(self, decision: Decision) -> str:
        return _structure_lead(self.kb, decision)

    def structure_caps(self, sections: Sequence[Section], awards: Sequence[Sequence[Award]]) -> str:
        return "各条上限：" + "；".join(
            f"{s.label}{awards_phrase(a) if a else '未写明资助金额'}" for s, a in zip(sections, awards, strict=True)) + "。"

    def structure_heading(self) -> str:
        return "各条原文："

    def listed_name(self, section: Section) -> str:
        return section_name(section)


def compose(kb: KnowledgeBase, plan: QueryPlan, decision: Decision) -> Answer:
    """Render an answer in Chinese from a decision: the conclusion first, then the cited clauses (the long form).

    Args:
        kb: the corpus.
        plan: the understood question.
        decision: the sections to cite (or a refusal) chosen by the service.

    Returns:
        The answer, with citations, cap records, notices and a short 标准答复 (``reply``, the conclusion).
        ``text`` is the conclusion paragraph, a blank line, then the long form (quotes, caps, conditions,
        what to prepare, linked documents) and the draft notice.
    """
    return render(kb, plan, decision, ChineseWording(kb))
