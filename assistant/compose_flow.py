"""The one composition flow of an answer, for every language: what an answer holds and in which order.

An answer is the conclusion first, then each cited section (heading, quote, caps, conditions, why it matched, what
to prepare, linked documents), then the clarifying question and the notices; a refusal says what is not covered,
then the nearest sections as "possibly related". The order, the data (citations, cap records, linked documents) and
the choice of quote are decided here once; the words come from a ``Wording`` per language (``assistant.compose``
for Chinese, ``assistant.compose_en`` for English). Adding a language is one ``Wording``; adding a kind of line to
the cited sections is one method of it and one line of ``_cited_sections``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from assistant.answer import Answer, Citation, CitedLink, Clarify, RelatedSection
from assistant.decision import Decision, LinkedArticle, ScoredSection
from assistant.detail import asked_detail
from assistant.document_facts import IssuerAnswer
from assistant.explain import informative_terms
from assistant.knowledge import KnowledgeBase
from assistant.linked_articles import deferrals
from assistant.query import QueryPlan
from assistant.scope import ScopeTopic
from indexing.caps import Award
from indexing.document import LinkedDocument, Section, Sentence
from indexing.materials import line_for, lists_materials
from indexing.profiles import Profile
from indexing.retrieval.hits import ClauseHit
from indexing.section_ref import SectionRef
from indexing.tokenize_zh import tokenize

# The decision rendered here is defined with its parts in assistant.decision; importers of it from here keep working.
__all__ = ["ASKED_TITLES_MAX", "Decision", "LinkedArticle", "ScoredSection", "Wording", "asked_documents", "render"]

_META_MARKERS = {
    "meta-validity": ("有效期",),
    "meta-interpret": ("负责解释", "解释"),
    "meta-effective": ("起实施", "实施"),
}
# A condition is a phrase the text states; shorter pieces are words, not conditions.
MIN_CONDITION_CHARS = 5
# The profiles' advice on what to prepare is shown under the first two cited clauses only, at most four items each.
PREPARE_CLAUSES = 2
PREPARE_ITEMS = 4
# The lines under a cited section's heading are indented by this much.
INDENT = "   "
# A refusal names the documents it looked in: every one up to this many, else the first ones and the count (a
# hotline's 1,000 policies are not one sentence); its 标准答复 ends with the status of those it names.
ASKED_TITLES_MAX = 5


@dataclass(frozen=True)
class ListedMaterials:
    """A cited section that lists what an application submits, and the line it gives for the item cited beside it
    (三（二）分类材料 for 一（五）: "2. 申报第（二）项、第（五）项方向的：作品上线证明，…")."""

    section: Section
    item: Section | None = None
    line: str | None = None


def listed_materials(kb: KnowledgeBase, sections: Sequence[Section]) -> ListedMaterials | None:
    """The materials a "what to submit" answer can state from the text: the first of the first two cited sections
    whose text lists them, with the line it gives for another cited section; None when neither lists any (the bundled
    measure's clauses: the answer then says the text lists none)."""
    lister = next((s for s in sections[:2] if lists_materials(s)), None)
    if lister is None:
        return None
    document = kb.document(lister.doc_id or None)
    made = kb.cross_references(document.meta.id).get(lister.key, ())
    for item in sections[:3]:
        if item is not lister and item.doc_id == lister.doc_id:
            line = line_for(document.document, lister, item, made)
            if line:
                return ListedMaterials(lister, item, line)
    return ListedMaterials(lister)


class Wording(Protocol):
    """The words of one language for the flow: every sentence and line an answer says, none of its order or data.

    Methods that name a line return it without indentation; the flow indents the lines under a heading.
    """

    notice: str           # the notice under every answer (the document's status, what prevails)
    injection_note: str   # said when the question asked to change the rules or the amounts

    def note(self, notice: str) -> str:
        """A notice as its line: 提示：… / Note: …"""
        ...

    def reply_note(self, doc_ids: Sequence[str]) -> str:
        """What a 标准答复 citing these documents ends with: the primary measure's note when they are the primary alone,
        else each one's own status (``reply_note_for`` in ``document_facts`` and ``document_facts_en``)."""
        ...

    # ---- the conclusion ------------------------------------------------------------------------------
    def conclusion(self, plan: QueryPlan, decision: Decision, quotes: dict[SectionRef, Sentence]) -> str:
        """The first sentence(s): the conclusion to the question asked."""
        ...

    def cited_notice(self, doc_id: str) -> str:
        """The notice of a document cited or read beside the primary one: its own status and 文号."""
        ...

    def clarify(self, clarify: Clarify) -> Clarify:
        """The clarifying question and its options in this language."""
        ...

    # ---- the cited sections --------------------------------------------------------------------------
    def basis_heading(self, brief: bool) -> str:
        """The heading over the cited sections (``brief``: a follow-up's one detail, not whole clauses)."""
        ...

    def cited_heading(self, ref: SectionRef, section: Section) -> str:
        """A cited section's heading: its document (when several), name and part."""
        ...

    def quote_line(self, quote: str) -> str: ...

    def cap_line(self, award: Award) -> str: ...

    def no_amount_line(self) -> str: ...

    def conditions_line(self, conditions: Sequence[str]) -> str: ...

    def match_line(self, plan: QueryPlan, terms: Sequence[str]) -> str:
        """Why a section fits a description, from the informative words it matched on."""
        ...

    def prepare_line(self, items: Sequence[str]) -> str: ...

    def linked_line(self, linked: LinkedDocument, in_corpus: bool = False) -> str:
        """A document the section depends on whose text is not in the corpus (``in_corpus``: it is, but no article
        of it is cited with the section)."""
        ...

    def linked_article_heading(self, article: LinkedArticle, section: Section) -> str:
        """The heading of the article a clause defers to, under the clause (``article.cited_above``: where it is)."""
        ...

    def linked_lead(self, article: LinkedArticle, section: Section, awards: Sequence[Award]) -> str:
        """The sentence after the conclusion saying what the article a cited clause defers to sets."""
        ...

    # ---- refusals --------------------------------------------------------------------------------------
    def not_covered(self, plan: QueryPlan, decision: Decision) -> str:
        """The first line of a refusal: what the documents do not cover (or that the nearest does not answer)."""
        ...

    def topic_advice(self, topic: ScopeTopic | None) -> str:
        """Where to ask about an out-of-scope topic ("" when there is no advice)."""
        ...

    def possibly_related(self, refs: Sequence[SectionRef]) -> str:
        """The nearest sections, named as possibly related (not an answer)."""
        ...

    def refusal_reply(self, plan: QueryPlan, decision: Decision) -> str:
        """The 标准答复 of a refusal, before the status of the documents asked (``reply_note``, added by the flow)."""
        ...

    # ---- answers without cited sections, and structure -------------------------------------------------
    def status_answer(self, plan: QueryPlan) -> tuple[str, str]:
        """The answer to "is this the final text?" (before its notice) and its 标准答复."""
        ...

    def issuer_answer(self, plan: QueryPlan, documents: Sequence[str]) -> IssuerAnswer:
        """Who issued the documents asked about and their 文号 (before the notice), and the 标准答复."""
        ...

    def no_such_cap(self, plan: QueryPlan, decision: Decision) -> tuple[str, str]:
        """No clause has the cap asked about: the caps the documents read (``decision.documents``) do state (before the
        notice), and the 标准答复 (before the status of those documents, added by the flow)."""
        ...

    def structure_lead(self, decision: Decision) -> str:
        """The conclusion of a question about a document's parts (``decision.documents``): the parts and their clauses."""
        ...

    def structure_caps(self, sections: Sequence[Section], awards: Sequence[Sequence[Award]]) -> str:
        """A structure question that also asks the money ("这一部分有哪几条？各条上限多少？"): each listed clause's caps."""
        ...

    def structure_heading(self) -> str: ...

    def listed_name(self, section: Section) -> str:
        """A section's name as a structure answer lists it."""
        ...


def _cited_notices(kb: KnowledgeBase, wording: Wording, doc_ids: Sequence[str]) -> list[str]:
    """The notices of the documents cited or read beside the primary one, each once, in the order they come."""
    primary = kb.primary.meta.id
    return [wording.cited_notice(d) for d in dict.fromkeys(doc_ids) if d != primary]

_CLAUSE_BREAK_RE = re.compile(r"[，,。；;？?！!\n]")


def claimed_award(plan: QueryPlan, figures: Sequence[Award]) -> Award:
    """Which of a clause's awards (with amounts) an amount the asker mentions is about.

    A clause with several awards: the one whose target the question names (以商招商 → its 200万, not the 500万 of
    the same clause), else the largest. The words beside the claimed figure decide first: in "引进地区总部最高500万，
    那以商招商的主导企业是不是也是500万？" the premise names one award and the claim is about the other.
    """
    pieces = [p for p in _CLAUSE_BREAK_RE.split(plan.normalized) if re.search(r"\d|万|亿", p)]
    beside = set(tokenize(pieces[-1])) if pieces else set()
    asked = set(tokenize(plan.normalized))

    def named(award: Award) -> tuple[int, int, float]:
        target = set(tokenize(award.target))
        return len(beside & target), len(asked & target), award.amount_wan or 0

    return max(figures, key=named)


def claimed_awards(plan: QueryPlan, awards: Sequence[Award]) -> list[Award]:
    """The award a claim is about (``claimed_award``) when the section states figures, else all its awards: whose
    term a question like "是不是每年都能拿100万？" asks (（二十四）'s 基地 award is 最高, its research results' 每年最高)."""
    figures = [a for a in awards if a.amount_wan is not None]
    return [claimed_award(plan, figures)] if figures else list(awards)


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


def quote_for_listing(section: Section, awards: list[Award]) -> Sentence:
    """The sentence that says what a section is about when it is listed (a part's clauses): its award sentence,
    else its first sentence after the title."""
    sentences = list(section.sentences) or [Sentence(section.text, section.start, section.end)]
    if awards:
        for sentence in sentences:
            if sentence.start == awards[0].start:
                return sentence
    return sentences[1] if section.kind == "clause" and len(sentences) > 1 else sentences[0]


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


def asked_documents(kb: KnowledgeBase, plan: QueryPlan) -> list[str]:
    """The documents a question is about: those it names, else every indexed one."""
    return list(plan.documents) or [d.meta.id for d in kb.documents]


def _with_status(reply: str, note: str) -> str:
    """A 标准答复 ending with the status of the documents it is about, said once: a reply that already says it (its
    wording, or a caller, may have) is left as it is."""
    return reply if note.strip() in reply else reply + note


def decision_refs(decision: Decision) -> list[SectionRef]:
    """The sections a decision rests on, in order."""
    return [ref for ref, _ in decision.sections]


def hit_ref(hit: ClauseHit, kb: KnowledgeBase) -> SectionRef:
    """Which section a retrieval hit is (a hit without a document is the primary measure's, as retrieval reads it)."""
    return kb.qualified(hit.ref)


def render(kb: KnowledgeBase, plan: QueryPlan, decision: Decision, wording: Wording) -> Answer:
    """Render an answer from a decision in one language: the conclusion first, then the cited sections.

    Args:
        kb: the corpus.
        plan: the understood question.
        decision: the sections to cite (or a refusal) chosen by the service.
        wording: the language's words.

    Returns:
        The answer, with citations, cap records, notices and a short 标准答复 (``reply``, the conclusion).
        ``text`` is the conclusion paragraph, a blank line, then the long form (quotes, caps, conditions,
        what to prepare, linked documents) and the notices.
    """
    answer = Answer(question=plan.original, rewritten_question=plan.rewritten, text="", intent=plan.intent)
    answer.expansion = list(plan.expansion)
    answer.notices = [wording.notice]
    answer.clarify = decision.clarify
    if plan.intent == "meta-issuer" and decision.route == "meta" and not decision.sections:
        # Who issued it, its 文号: from the documents' headings and metadata; declined when none has what was asked.
        issued = wording.issuer_answer(plan, decision.documents)
        answer.notices.extend(_cited_notices(kb, wording, decision.documents))
        answer.text = issued.text + "".join(f"\n{wording.note(n)}" for n in answer.notices)
        answer.reply = _with_status(issued.reply, wording.reply_note(list(decision.documents)))
        answer.refused = not issued.answered
        answer.refusal_reason = decision.refusal_reason or None
        return answer
    if decision.refused:
        return _refusal(kb, plan, decision, wording, answer)
    if plan.intent == "meta-status" and not decision.sections:
        text, answer.reply = wording.status_answer(plan)
        answer.text = f"{text}\n{wording.note(wording.notice)}"
        return answer
    if decision.route in ("amount-list", "largest") and not decision.sections:
        text, reply = wording.no_such_cap(plan, decision)
        # Like every answer's, the 标准答复 ends with the status of the documents whose cap tables were read.
        answer.reply = _with_status(reply, wording.reply_note(list(decision.documents) or [kb.primary.meta.id]))
        answer.notices.extend(_cited_notices(kb, wording, decision.documents))
        answer.text = text + "".join(f"\n{wording.note(n)}" for n in answer.notices)
        return answer
    if decision.route == "structure" and decision.structure is not None:
        return _structure(kb, plan, decision, wording, answer)

    detail = asked_detail(plan.normalized)
    # A follow-up asking one detail of the clause in focus gets that detail and the quote, not the clause again.
    brief = (decision.route == "followup" and plan.followup in ("anaphora", "bare", "ordinal")
             and detail is not None)
    quotes = {kb.qualified(ref): choose_quote(kb.section(ref), plan, kb.awards(ref)) for ref, _ in decision.sections}
    body = _cited_sections(kb, plan, decision, wording, answer, quotes, brief)
    refs = decision_refs(decision)
    lead = [wording.conclusion(plan, decision, quotes) + "".join(
        wording.linked_lead(a, kb.section(a.ref), kb.awards(a.ref)) for a in decision.linked)]
    cited_docs = [kb.qualified(r).doc_id for r in refs + [a.ref for a in decision.linked]]
    answer.notices.extend(_cited_notices(kb, wording, cited_docs))
    if plan.injection:
        lead.append(wording.injection_note)
    tail: list[str] = []
    if decision.clarify:
        answer.clarify = wording.clarify(decision.clarify)
        tail.append(answer.clarify.question + " " + " / ".join(o.label for o in answer.clarify.options))
    tail.extend(wording.note(n) for n in answer.notices)
    answer.text = "".join(lead) + "\n\n" + "\n".join([wording.basis_heading(brief), *body, *tail])
    answer.reply = lead[0] + wording.reply_note(cited_docs)
    return answer


def _cited_sections(kb: KnowledgeBase, plan: QueryPlan, decision: Decision, wording: Wording, answer: Answer,
                    quotes: dict[SectionRef, Sentence], brief: bool) -> list[str]:
    """Each cited section's lines (and its citation, caps and linked documents on the answer)."""
    body: list[str] = []
    for number, (ref, score) in enumerate(decision.sections, start=1):
        ref = kb.qualified(ref)
        section = kb.section(ref)
        awards = kb.awards(ref)
        quote = quotes[ref]
        _cite(kb, answer, ref, section, quote, score, decision)
        answer.linked.extend(CitedLink(view, ref.key) for view in kb.linked_views(section, ref.doc_id))
        prefix = f"{number}. " if len(decision.sections) > 1 else ""
        lines = _quote_and_caps(wording, section, quote, awards, brief)
        body.append(prefix + wording.cited_heading(ref, section))
        if not brief:
            profile = kb.profile(ref)
            conditions = conditions_of(section, profile, awards)
            if conditions:
                lines.append(wording.conditions_line(conditions))
            if decision.route == "match":
                hit = next((h for h in decision.hits if hit_ref(h, kb) == ref), None)
                terms = informative_terms(kb, hit.matched_terms) if hit is not None and hit.matched_terms else []
                if terms:
                    lines.append(wording.match_line(plan, terms))
            if profile and profile.prepare and section.kind == "clause" and number <= PREPARE_CLAUSES:
                lines.append(wording.prepare_line(profile.prepare[:PREPARE_ITEMS]))
        lines.extend(_linked_article_lines(kb, plan, decision, wording, answer, ref, brief))
        if not brief:
            lines.extend(wording.linked_line(d) for d in kb.linked_documents(section, ref.doc_id)
                         if not kb.has_document(d, ref.doc_id))
        body.extend(INDENT + line for line in lines)
    return body


def _linked_article_lines(kb: KnowledgeBase, plan: QueryPlan, decision: Decision, wording: Wording, answer: Answer,
                          ref: SectionRef, brief: bool) -> list[str]:
    """Under a clause deferring to an indexed document: the article cited with it (its heading, quote and caps, and its
    citation on the answer), or, when none is relevant enough, that the document is in the library."""
    lines: list[str] = []
    articles = [a for a in decision.linked if a.clause == ref]
    for article in articles:
        section = kb.section(article.ref)
        lines.append(wording.linked_article_heading(article, section))
        if article.cited_above:
            continue
        awards = kb.awards(article.ref)
        quote = choose_quote(section, plan, awards)
        _cite(kb, answer, article.ref, section, quote, article.similarity, decision)
        lines.extend(INDENT + line for line in _quote_and_caps(wording, section, quote, awards, brief))
    if not brief:
        found = {a.link.id for a in articles}
        lines.extend(wording.linked_line(link, in_corpus=True) for link, _ in deferrals(kb, ref) if link.id not in found)
    return lines


def _quote_and_caps(wording: Wording, section: Section, quote: Sentence, awards: list[Award],
                    quote_only: bool = False) -> list[str]:
    """The quote of a section, then its caps (or that a clause states none), unindented."""
    lines = [wording.quote_line(quote.text)]
    if quote_only:
        return lines
    if awards:
        lines.extend(wording.cap_line(award) for award in awards)
    elif section.kind == "clause":
        lines.append(wording.no_amount_line())
    return lines


def _cite(kb: KnowledgeBase, answer: Answer, ref: SectionRef, section: Section, quote: Sentence, score: float,
          decision: Decision | None = None) -> None:
    """Add a section's citation and its cap records to the answer (an article a cited clause defers to names it)."""
    linked_from = next((a.clause for a in decision.linked if a.ref == ref), None) if decision is not None else None
    answer.citations.append(Citation(doc=ref.doc_id, chapter=section.chapter, clause=section.clause,
                                     section=section.key, title=section.title, quote=quote.text,
                                     start=quote.start, end=quote.end, score=score, document=kb.facts_of(ref.doc_id),
                                     linked_from=linked_from))
    answer.caps.extend(a for a in kb.awards(ref) if a not in answer.caps)


def _refusal(kb: KnowledgeBase, plan: QueryPlan, decision: Decision, wording: Wording, answer: Answer) -> Answer:
    """Not covered, said first; the nearest sections only as "possibly related", never as the answer."""
    lines = [wording.not_covered(plan, decision)]
    advice = wording.topic_advice(decision.scope_topic)
    if advice:
        lines.append(advice)
    if decision.nearest:
        lines.append("\n" + wording.possibly_related([ref for ref, _ in decision.nearest[:2]]))
    lines.append(wording.note(wording.notice))
    answer.text = "\n".join(lines)
    answer.refused = True
    answer.refusal_reason = decision.refusal_reason or (
        f"topic:{decision.scope_topic.name}" if decision.scope_topic else "too-far")
    answer.nearest = [
        RelatedSection(ref.key, kb.section(ref).clause, kb.section(ref).title, score,
                       kb.qualified(ref).doc_id if kb.several_documents else None)
        for ref, score in decision.nearest[:3]
    ]
    # A refusal cites nothing: its 标准答复 ends with the status of the documents it says do not cover the question
    # (for the bundled measure alone, its draft sentence), as a hotline agent reads every reply to the end.
    asked = asked_documents(kb, plan)[:ASKED_TITLES_MAX]
    answer.reply = _with_status(wording.refusal_reply(plan, decision), wording.reply_note(asked))
    return answer


def _structure(kb: KnowledgeBase, plan: QueryPlan, decision: Decision, wording: Wording, answer: Answer) -> Answer:
    """A question about a document's parts: each part's title and its clauses, each cited with its quote (and, when
    the question asks the money too, each clause's caps in the conclusion), then the notices of the document read."""
    lead = wording.structure_lead(decision)
    body: list[str] = []
    listed: list[tuple[Section, list[Award]]] = []
    for ref in map(kb.qualified, decision_refs(decision)):
        section = kb.section(ref)
        awards = kb.awards(ref)
        quote = quote_for_listing(section, awards)
        _cite(kb, answer, ref, section, quote, 1.0)
        body.append(wording.listed_name(section))
        body.extend(INDENT + line for line in _quote_and_caps(wording, section, quote, awards))
        if section.kind == "clause":
            listed.append((section, awards))
    if plan.money and listed:
        lead += wording.structure_caps([s for s, _ in listed], [a for _, a in listed])
    answer.notices.extend(_cited_notices(kb, wording, decision.documents))
    note = "\n".join(wording.note(n) for n in answer.notices)
    answer.text = lead + ("\n\n" + "\n".join([wording.structure_heading(), *body, note]) if body else "\n\n" + note)
    answer.reply = lead + wording.reply_note(decision.documents)
    return answer
