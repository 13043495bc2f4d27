"""English answers to English questions: the Chinese answer's decision, citations and caps, said in English.

Deterministic templates only (an LLM never phrases an English answer). The order of an answer and its data are those of
the one flow (``assistant.compose_flow``); this module is its English words (``EnglishWording``), as
``assistant.compose`` and ``assistant.lead`` are its Chinese: the conclusion first — for money, the amount with its qualifier, term and clause ("Under clause
(16) Building digital creative incubators, the funding is up to RMB 2 million (200万元), for no more than 3
years.") — then, after a blank line, each cited clause with its Chinese quote (原文) verbatim, its caps, conditions
and linked documents, and the draft notice. Titles and the cap vocabulary come from the reviewed English table
(``corpus/i18n/en.toml``); every amount comes from an ``Award`` of the cap table, shown in RMB and in 万元.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from assistant import document_routes_en
from assistant.answer import Answer, Clarify
from assistant.compose_flow import (
    ASKED_TITLES_MAX,
    PREPARE_ITEMS,
    Decision,
    asked_documents,
    claimed_award,
    claimed_awards,
    conditions_of,
    decision_refs,
    listed_materials,
    render,
)
from assistant.detail import Detail, asked_detail, sets_out_conditions
from assistant.document_facts import IssuerAnswer
from assistant.document_facts_en import english_facts, issuer_answer_en, reply_note_for
from assistant.english_table import DocumentEnglish, EnglishTable, TopicEnglish, english_table
from assistant.knowledge import KnowledgeBase
from assistant.linked_articles import LinkedArticle
from assistant.query import QueryPlan, asked_issuer_facts
from assistant.scope import ScopeTopic
from indexing.caps import THIS_MEASURE, Award
from indexing.document import LinkedDocument, Section, Sentence
from indexing.numerals import chinese_to_int, format_rmb, format_wan
from indexing.section_ref import SectionRef, clause_label_en

# "Can we apply?", "Is an incubator eligible?": a yes or no first (unless it also asks how much, which, what).
_YES_NO_RE = re.compile(r"^(can|could|may|is|are|do|does|would|will)\b[^?]*\b(apply|eligible|qualify|get|receive|"
                        r"covered|supported|funded|count)\b")
_OPEN_RE = re.compile(r"\b(how|what|which|who|when|where)\b")
_COMPARE_RE = re.compile(r"\b(higher|more|larger|bigger|less|lower)\b[^?]{0,30}\bthan\b|which [^?]{0,20}\b(more|higher|most)\b")
_STACKING_RE = re.compile(r"\b(both|combine[sd]?|combining|stack(ed|ing)?|at the same time|together|on top of each other|"
                          r"twice|in addition to)\b")
_STATES_CAP_RE = re.compile(r"\b(at most|maximum|max|only|just|capped at)\b")
STACKING_NOTE = ("The text does not say whether these awards can be combined or received together; the official text "
                 "and the operating procedures prevail.")
NOTE_PREFIX = "Note: "
CLARIFY_QUESTION = "These two clauses have different caps; which one is closer to your case?"


class EnglishWording:
    """The English words of an answer (see ``assistant.compose_flow.Wording``): names of sections, parts and linked
    documents and the cap vocabulary of one document, from the English table, and the sentences built of them."""

    injection_note = (" (Your question asked to change the rules or the amounts; that was ignored: amounts come only "
                      "from the cap table of the original text.)")

    def __init__(self, kb: KnowledgeBase, table: EnglishTable) -> None:
        self.kb = kb
        self.table = table
        self.facts = english_facts(kb.facts, table)   # the measure's status, said in English
        self.doc: DocumentEnglish = self.facts.doc
        self.notice = self.facts.notice

    # ---- names ------------------------------------------------------------------------------------
    def title(self) -> str:
        """The measure: its English title with the Chinese one (the Chinese alone when the table lacks it)."""
        return self.facts.title

    def part(self, chapter: str | None) -> str:
        """part 7 “Accelerating the building of the innovation system” / the supplementary provisions."""
        if chapter is None:
            return ""
        title = self.doc.chapters.get(chapter, "")
        if chapter == "附则":
            return "the supplementary provisions" if title else "附则"
        try:
            number = str(chinese_to_int(chapter))
        except ValueError:
            number = chapter
        zh_title = next((c.title for c in self.kb.primary.document.chapters if c.key == chapter), "")
        return f"part {number} “{title or zh_title}”"

    def section(self, section: Section) -> str:
        """clause (16) Building digital creative incubators / part 1 “Key areas of support” / the preamble; another
        document's clause by its own number and Chinese title (Article 13 “支持游戏研发”): the table is the measure's."""
        if section.kind == "clause" and section.doc_id not in ("", self.kb.primary.meta.id):
            return f"{self.short(section)} “{section.title}”"
        if section.kind == "clause":
            title = self.doc.clauses.get(section.key) or section.title
            return f"clause {clause_label_en(section.key)} {title}"
        if section.kind == "chapter":
            return document_routes_en.part_name(self, section.doc_id, section.chapter)
        return "the preamble"

    def measure(self) -> str:
        """The measure by its short name, for sentences that name it in passing."""
        meta = self.kb.primary.meta
        return f"{self.doc.short_title} (《{meta.title}》)" if self.doc.short_title else f"《{meta.title}》"

    def short(self, section: Section) -> str:
        """clause (16), Article 13 — for a clause whose title is its only sentence, or in lists of numbers."""
        if section.kind != "clause":
            return self.section(section)
        article = re.fullmatch(r"第(.+)条", section.label)
        return f"Article {chinese_to_int(article[1])}" if article else f"clause {clause_label_en(section.key)}"

    def linked(self, doc_id: str | None, zh_title: str) -> str:
        """the 《深圳市文化产业发展专项资金资助办法》 (Shenzhen Cultural Industry …)."""
        english = self.doc.linked.get(doc_id or "", "")
        return f"the 《{zh_title}》 ({english})" if english else f"the 《{zh_title}》"

    def own(self, doc_id: str) -> str:
        """The document a section or award belongs to: "this measure" for the bundled measure, else its 《title》."""
        return "this measure" if doc_id in ("", self.kb.primary.meta.id) else self.doc_name(doc_id)

    def doc_name(self, doc_id: str) -> str:
        """Another corpus document: the 《title》, with the English title the measure's table gives the link naming it."""
        link = next((d for d in self.kb.primary.meta.linked if self.kb.linked_target(d) == doc_id), None)
        return self.linked(link.id if link else None, self.kb.facts_of(doc_id).title)

    def target(self, zh: str) -> str:
        english = self.doc.targets.get(zh, "")
        return f"{english} (“{zh}”)" if english else f"“{zh}”"

    def prepare(self, items: Sequence[str]) -> str:
        """The profile's advice on what to prepare, in the table's English (a phrase it lacks quoted in Chinese)."""
        return "; ".join(self.doc.prepare.get(item) or f"“{item}”" for item in items)

    # ---- money ------------------------------------------------------------------------------------
    def amount(self, award: Award) -> str:
        """RMB 2 million (200万元)."""
        return self.amount_of(award.amount_wan or 0.0)

    @staticmethod
    def amount_of(amount_wan: float) -> str:
        """RMB 2 million (200万元), for a figure of the cap table."""
        return f"{format_rmb(amount_wan)} ({format_wan(amount_wan)})"

    def kind(self, award: Award) -> str:
        return self.table.kinds.get(award.kind, award.kind)

    def predicate(self, award: Award, with_basis: bool = True) -> str:
        """What the award is: up to RMB 2 million (200万元) / a one-off award of up to … / 30% of “项目投入”, up to … /
        set per the 《…》 …
        (``with_basis``: name the fund's measures when they, not this measure, set the amount)."""
        english_basis = self.doc.linked.get(award.basis_doc or "", "")
        template = self.table.qualifiers.get(award.qualifier, "{amount}")
        amount = self.amount(award) if award.amount_wan is not None else ""
        if award.qualifier == "追加" and award.basis == THIS_MEASURE:
            # On top of the stating document's own award ("在第十七条资助基础上"): that document, by its name.
            return f"an additional {amount} on top of the funding under {self.doc_name(award.doc_id)}"
        # 按比例: the share and its base before the ceiling, as the Chinese says it (assistant.lead.share_phrase).
        share_of = f"“{award.percent_of}”" if award.percent_of else "the eligible cost"
        said = template.format(amount=amount, basis=award.basis, basis_en=english_basis or award.basis,
                               percent=f"{award.percent or 0:g}", percent_of=share_of)
        if with_basis and award.basis != THIS_MEASURE and award.qualifier not in ("追加", "按资助办法"):
            said += f", per {self.linked(award.basis_doc, award.basis)}"
        return said

    def term(self, award: Award) -> str:
        return self.table.terms.get(award.term, f"(“{award.term}”)") if award.term else ""

    def award(self, award: Award, with_target: bool = False, with_basis: bool = True) -> str:
        """for <target>, the funding is up to RMB 2 million (200万元), for no more than 3 years."""
        target = f"for {self.target(award.target)}, " if with_target and award.target else ""
        term = f", {self.term(award)}" if award.term else ""
        return f"{target}the {self.kind(award)} is {self.predicate(award, with_basis)}{term}"

    def awards(self, awards: Sequence[Award], with_target: bool | None = None) -> str:
        with_target = len(awards) > 1 if with_target is None else with_target
        return "; ".join(self.award(a, with_target) for a in awards)

    def cap_record(self, award: Award) -> str:
        """One cap record in full: the award, whom it is for and what sets it (another document's own: that document)."""
        own = self.own(award.doc_id)
        basis = own if award.basis == THIS_MEASURE else self.linked(award.basis_doc, award.basis)
        return f"{self.award(award, with_basis=False)} (for: {self.target(award.target)}; basis: {basis})"

    # ---- the flow's lines (assistant.compose_flow.Wording) ---------------------------------------------
    def note(self, notice: str) -> str:
        return f"{NOTE_PREFIX}{notice}"

    def reply_note(self, doc_ids: Sequence[str]) -> str:
        return reply_note_for(self.facts, [english_facts(self.kb.facts_of(d), self.table) for d in doc_ids])

    def conclusion(self, plan: QueryPlan, decision: Decision, quotes: dict[SectionRef, Sentence]) -> str:
        return _lead(self, plan, decision, quotes)

    def cited_notice(self, doc_id: str) -> str:
        return english_facts(self.kb.facts_of(doc_id), self.table).cited_notice

    def clarify(self, clarify: Clarify) -> Clarify:
        return Clarify(CLARIFY_QUESTION, tuple(
            dataclasses.replace(o, label=_cap(self.section(self.kb.section(o.ref)))) for o in clarify.options))

    def basis_heading(self, brief: bool) -> str:
        return "Basis:" if brief else "Clauses cited:"

    def cited_heading(self, ref: SectionRef, section: Section) -> str:
        primary = section.doc_id in ("", self.kb.primary.meta.id)
        part = self.part(section.chapter) if section.kind == "clause" and primary else ""
        return _cap(self.section(section)) + (f" ({part})" if part else "") + (
            "" if primary else f" of {self.doc_name(section.doc_id)}")

    def quote_line(self, quote: str) -> str:
        return f"Original text (原文): “{quote}”"

    def cap_line(self, award: Award) -> str:
        return f"Cap: {self.cap_record(award)}"

    def no_amount_line(self) -> str:
        return "Amount: this clause states no amount."

    def conditions_line(self, conditions: Sequence[str]) -> str:
        return "Conditions (the text's words): " + "; ".join(self.target(c) for c in conditions)

    def match_line(self, plan: QueryPlan, terms: Sequence[str]) -> str:
        return "Matched on: " + ", ".join(f"“{t}”" for t in terms[:6])

    def prepare_line(self, items: Sequence[str]) -> str:
        return f"{PREPARE_LABEL}: {self.prepare(items)}"

    def linked_line(self, linked: LinkedDocument, in_corpus: bool = False) -> str:
        number = f", {linked.doc_number}" if linked.doc_number else ""
        where = ("is in this assistant's library: ask about its articles" if in_corpus else
                 "full text is not in this assistant's library, so check the original")
        return f"This clause relies on {self.linked(linked.id, linked.title)}{number}; its {where} for the exact standard."

    def article(self, article: LinkedArticle, section: Section) -> str:
        """“The detailed standard is in Article 13 “支持游戏研发” of the 《…》 (English title)”: what a clause defers to."""
        return f"The detailed standard is in {self.section(section)} of {self.doc_name(article.ref.doc_id)}"

    def linked_article_heading(self, article: LinkedArticle, section: Section) -> str:
        return self.article(article, section) + (" (cited above)." if article.cited_above else ":")

    def linked_lead(self, article: LinkedArticle, section: Section, awards: Sequence[Award]) -> str:
        if article.cited_above:
            return f" For {self.short(self.kb.section(article.clause))}, {self.article(article, section)[0].lower()}" \
                   f"{self.article(article, section)[1:]}."
        return f" {self.article(article, section)}: {self.awards(awards) or 'see its text below'}."

    def _topic(self, decision: Decision) -> tuple[TopicEnglish | None, str]:
        """The out-of-scope topic's English and what the refusal says it is about."""
        topic = decision.scope_topic
        english = self.table.scope_topics.get(topic.name) if topic is not None else None
        about = f" about {english.name}" if english is not None else (f" about “{topic.name}”" if topic else " about this")
        return english, about

    def _named(self, doc_ids: Sequence[str]) -> tuple[str, bool]:
        """How a refusal names the documents it speaks for, and whether they are one: the bundled measure by its
        English short name, another document by its Chinese title (as the Chinese refusal lists them)."""
        primary = self.kb.primary.meta.id
        titles = ", ".join(f"the {self.measure()}" if d == primary else f"《{self.kb.facts_of(d).title}》"
                           for d in doc_ids[:ASKED_TITLES_MAX])
        more = f" and {len(doc_ids) - ASKED_TITLES_MAX} more" if len(doc_ids) > ASKED_TITLES_MAX else ""
        return titles + more, len(doc_ids) == 1

    def not_covered(self, plan: QueryPlan, decision: Decision) -> str:
        if decision.refusal_reason in ("lacks-detail", "business-outside") and decision.nearest:
            near = decision.nearest[0].ref
            nearest = self.section(self.kb.section(near))
            document, _ = self._named([self.kb.qualified(near).doc_id])
            if decision.refusal_reason == "lacks-detail":
                return (f"The documents do not cover this: {document} does not say what you asked. The nearest "
                        f"is {nearest}, which mentions the subject but does not answer this question.")
            return (f"From your description, no clause of {document} applies to this kind of business. The "
                    f"nearest is {nearest}, but it does not support the main business you describe.")
        documents, one = self._named(asked_documents(self.kb, plan))
        return (f"The documents do not cover this: {documents} {'says' if one else 'say'} nothing"
                f"{self._topic(decision)[1]}, so {'it' if one else 'they'} cannot answer this question.")

    def topic_advice(self, topic: ScopeTopic | None) -> str:
        english = self.table.scope_topics.get(topic.name) if topic is not None else None
        return english.advice if english is not None else ""

    def possibly_related(self, refs: Sequence[SectionRef]) -> str:
        names = "; ".join(self.section(self.kb.section(ref)) for ref in refs)
        return f"Possibly related (for reference only, not an answer to your question): {names}."

    def refusal_reply(self, plan: QueryPlan, decision: Decision) -> str:
        documents, one = self._named(asked_documents(self.kb, plan))
        return (f"{_cap(documents)} {'says' if one else 'say'} nothing{self._topic(decision)[1]}; please ask the "
                "competent department.")

    def status_answer(self, plan: QueryPlan) -> tuple[str, str]:
        return self.facts.status_answer()

    def issuer_answer(self, plan: QueryPlan, documents: Sequence[str]) -> IssuerAnswer:
        return issuer_answer_en([english_facts(self.kb.facts_of(d), self.table) for d in documents],
                                *asked_issuer_facts(plan.normalized))

    def no_such_cap(self, plan: QueryPlan, decision: Decision) -> tuple[str, str]:
        return document_routes_en.no_such_cap(self, plan, decision)

    def structure_lead(self, decision: Decision) -> str:
        return document_routes_en.structure_lead(self, decision)

    def structure_caps(self, sections: Sequence[Section], awards: Sequence[Sequence[Award]]) -> str:
        def caps(section_awards: Sequence[Award]) -> str:
            if not section_awards:
                return "states no amount"
            return "; ".join(self.predicate(a) + (f", {self.term(a)}" if a.term else "") for a in section_awards)
        return " Caps: " + "; ".join(f"{self.short(s)}: {caps(a)}" for s, a in zip(sections, awards, strict=True)) + "."

    def structure_heading(self) -> str:
        return "Original text of each clause:"

    def listed_name(self, section: Section) -> str:
        return _cap(self.section(section))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---- the conclusion ---------------------------------------------------------------------------------
# What the English answer calls the profiles' ``prepare`` (the Chinese answer's 建议准备): advice, not the text's rule.
PREPARE_LABEL = "Suggested preparation (advice, not a requirement of the text)"


def _detail_sentence(words: EnglishWording, detail: Detail, section: Section, awards: Sequence[Award],
                     conditions: Sequence[str], prepare: Sequence[str] = ()) -> str:
    name = words.section(section)
    if detail == "term":
        terms = [a for a in awards if a.term]
        once = [a for a in awards if a.qualifier == "一次性最高"]
        yearly = [a for a in awards if a.qualifier == "每年最高"]
        if terms:
            return f"Under {name}, {words.award(terms[0])}."
        if once:
            return f"Under {name}, {words.award(once[0])}: it is paid once, and the text sets no number of years."
        if yearly:
            return (f"{_cap(name)} gives its {words.kind(yearly[0])} every year ({words.award(yearly[0])}); "
                    "the text does not say for how many years.")
        if awards:
            return f"{_cap(name)} sets no term or number of years ({words.awards(awards)})."
        return f"{_cap(name)} sets no term and states no amount."
    if detail == "conditions":
        if not conditions and sets_out_conditions(section.title, section.text):
            return f"{_cap(name)} sets out the conditions (text below)."
        if not conditions:
            return f"{_cap(name)} states no specific conditions; the operating procedures will set them."
        money = f"; {words.awards(awards)}" if awards else ""
        return (f"The conditions for {name}, in the text's words: "
                + "; ".join(words.target(c) for c in conditions) + f"{money}.")
    if detail == "basis":
        own = words.own(section.doc_id)
        outside = [a for a in awards if a.basis != THIS_MEASURE]
        if outside:
            return (f"The basis of {name} is {own} and {words.linked(outside[0].basis_doc, outside[0].basis)}: "
                    f"{words.awards(awards)}.")
        if awards:
            return f"The basis of {name} is the clause's own text in {own}: {words.awards(awards)}."
        return f"The basis of {name} is the clause's own text in {own}, which states no amount."
    if detail == "who":
        targets = [a.target for a in awards if a.target and a.target != section.title]
        if targets:
            return f"{_cap(name)} is open to " + "; ".join(words.target(t) for t in dict.fromkeys(targets)) + "."
        return f"{_cap(name)} names no separate group of applicants."
    if detail == "prepare":
        # The same data as the Chinese answer (lead.prepare_sentence): the profile's advice, and the conditions the
        # clause itself states, which an application has to show.
        stated = (" The conditions the text states: " + "; ".join(words.target(c) for c in conditions) + "."
                  if conditions else "")
        if prepare:
            return (f"{_cap(name)} lists no application materials. {PREPARE_LABEL}: {words.prepare(prepare)}."
                    + stated)
        return (f"{_cap(name)} lists no application materials; the operating procedures and the annual application "
                "guide will set them." + stated)
    return _amount_sentence(words, section, awards)


def _amount_sentence(words: EnglishWording, section: Section, awards: Sequence[Award], yes: bool = False) -> str:
    name = words.section(section)
    if not awards:
        return f"{_cap(name)} states no amount of funding."
    return f"{'Yes. ' if yes else ''}Under {name}, {words.awards(awards)}."


def _eligibility_sentence(words: EnglishWording, section: Section, conditions: Sequence[str], awards: Sequence[Award]) -> str:
    condition = f"; the condition the text states is {words.target(conditions[0])}" if conditions else ""
    money = f"; {words.awards(awards)}" if awards else "; this clause states no amount"
    return f"You can apply under {words.section(section)}{condition}{money}."


def _claims_sentence(words: EnglishWording, plan: QueryPlan, awards: Sequence[Award], section: Section) -> str | None:
    """An amount the asker mentioned, checked against the table; the asker's own figure is never repeated."""
    if not plan.claimed_amounts:
        return None
    name = words.section(section)
    figures = [a for a in awards if a.amount_wan is not None]
    if not figures:
        if awards:
            return (f"The amount you mention has no basis in the text: the amount under {name} is "
                    f"{words.predicate(awards[0])}.")
        return f"The amount you mention has no basis in the text: {name} states no amount at all."
    claimed = max(plan.claimed_amounts)
    top = claimed_award(plan, figures)
    cap = top.amount_wan or 0
    if top.qualifier != "追加":
        base = ""
    elif top.basis == THIS_MEASURE:
        base = f"; the base funding is set by the corresponding articles of {words.doc_name(top.doc_id)}"
    else:
        base = f"; the base funding follows {words.linked(top.basis_doc, top.basis)}, which this measure does not state"
    caveat = "a cap is not the amount you will receive; the actual amount depends on the assessment."
    if claimed > cap:
        return (f"The amount you mention exceeds the cap in the text and cannot be relied on: under {name}, "
                f"{words.award(top)}{base}.")
    if claimed == cap:
        return f"The amount you mention matches the cap under {name} ({words.predicate(top)}){base}; {caveat}"
    if _STATES_CAP_RE.search(plan.normalized):
        return (f"Under the text, the cap under {name} is {words.predicate(top)}, higher than the amount you "
                f"mention{base}; {caveat}")
    return f"The amount you mention is within the cap under {name} ({words.predicate(top)}){base}; {caveat}"


def _meta_sentence(words: EnglishWording, plan: QueryPlan, section: Section, quote: str) -> str:
    """The measure itself: who interprets it, how long it is valid, when it takes effect, what it rests on."""
    kb = words.kb
    # The facts of the document the section is in: another document's date is not the bundled draft's blank one.
    primary = section.doc_id in ("", kb.primary.meta.id)
    doc = words.doc if primary else None          # the English table is the bundled measure's
    meta = kb.document(section.doc_id or None).meta
    facts = kb.facts_of(meta.id)
    quoted = f"“{quote.rstrip('。；;')}。”"
    name = words.short(section)
    if plan.intent == "meta-interpret" and section.kind == "clause":
        who = (doc.interpreter if doc else "") or meta.interpreter
        return f"Under {name}, {who} is responsible for interpreting the measure: {quoted}"
    validity = doc.validity if doc else meta.validity
    if plan.intent == "meta-validity" and section.kind == "clause" and validity:
        blank = ", which the text leaves blank" if facts.date_left_blank else ""
        return f"Under {name}, the measure is {validity} from its effective date{blank}: {quoted}"
    if plan.intent in ("meta-validity", "meta-effective") and section.kind == "clause":
        english = doc.clauses.get(section.key, "") if doc else ""
        said = f" (“{english}”)" if english and section.title in quote else ""
        if facts.date_left_blank:
            return f"The text leaves the effective date blank: {name} reads {quoted}{said}"
        if meta.effective_date:
            return f"Under {name}, the measure takes effect on {meta.effective_date}: {quoted}{said}"
        return f"{_cap(name)} reads {quoted}{said}"
    if section.kind == "preamble":
        named = [d for d in meta.linked if any(n in section.text for n in d.names)]
        if named:
            return ("Under the preamble, the measure is formulated to implement and in the spirit of: "
                    + "; ".join(words.linked(d.id, d.title) for d in named) + ".")
        return f"The preamble reads {quoted}" + (f" In English: {doc.preamble}" if doc and doc.preamble else "")
    if section.kind == "chapter":
        english = doc.chapter_text.get(section.chapter or "", "") if doc else ""
        return f"{_cap(words.section(section))} reads {quoted}" + (f" In English: {english}" if english else "")
    return f"{_cap(name)} reads {quoted}"


def _lead(words: EnglishWording, plan: QueryPlan, decision: Decision, quotes: dict[SectionRef, Sentence]) -> str:
    kb = words.kb
    refs = [kb.qualified(ref) for ref in decision_refs(decision)]
    sections = [kb.section(ref) for ref in refs]
    first, awards = sections[0], kb.awards(refs[0])
    names = [words.section(s) for s in sections]

    def conditions(section: Section) -> list[str]:
        return conditions_of(section, kb.profile(section.ref), kb.awards(section.ref))

    def prepare_of(section: Section) -> list[str]:
        profile = kb.profile(section.ref)
        return list(profile.prepare[:PREPARE_ITEMS]) if profile and section.kind == "clause" else []

    def caps_or_none(section: Section, with_target: bool | None = None) -> str:
        return words.awards(kb.awards(section.ref), with_target) or "no amount is stated"

    if plan.intent == "largest":
        return document_routes_en.largest_sentence(words, decision, sections)
    if decision.route == "amount-list":
        return document_routes_en.amount_list_sentence(words, plan, decision, sections)
    if decision.route == "awards":
        stacking = f" {STACKING_NOTE}" if _STACKING_RE.search(plan.normalized) else ""
        return ("Under the text: " + "; ".join(f"{n}: {caps_or_none(s, False)}"
                                               for n, s in zip(names, sections, strict=True)) + "." + stacking)
    claims = _claims_sentence(words, plan, awards, first)
    if claims and asked_detail(plan.normalized) == "term":
        # "So it pays RMB 1m every year?": the term first, then the amount checked against the table.
        claims = _detail_sentence(words, "term", first, claimed_awards(plan, awards), ()) + " " + claims
    if claims:
        others = [f"{n}: {caps_or_none(s)}" for n, s in zip(names[1:], sections[1:], strict=True)]
        return claims if not others else claims.rstrip(".") + "; see also " + "; ".join(others) + "."
    quote = quotes[refs[0]].text
    if decision.route == "meta" or all(s.kind != "clause" for s in sections):
        return _meta_sentence(words, plan, first, quote)
    if decision.route == "match":
        if len(sections) > 1:
            return (f"From your description, {len(sections)} clauses may apply: " + "; ".join(
                f"{n} ({caps_or_none(s, False)})" for n, s in zip(names, sections, strict=True)) + ".")
        return "From your description: " + _eligibility_sentence(words, first, conditions(first), awards)
    detail = asked_detail(plan.normalized)
    listed = listed_materials(kb, sections) if detail == "prepare" else None
    if listed is not None:
        if listed.item is not None and listed.line:
            return (f"{_cap(words.section(listed.section))} lists the application materials for "
                    f"{words.section(listed.item)}: “{listed.line.rstrip('。；;')}”.")
        return f"{_cap(words.section(listed.section))} lists the application materials (text below)."
    if detail is not None and detail != "amount":
        return " ".join(_detail_sentence(words, detail, s, kb.awards(s.ref), conditions(s), prepare_of(s))
                        for s in sections[:2])
    text = plan.normalized
    yes = bool(_YES_NO_RE.search(text)) and not _OPEN_RE.search(text)
    if plan.money or detail == "amount" or _COMPARE_RE.search(text):
        if len(sections) == 1:
            return _amount_sentence(words, first, awards, yes=yes and bool(awards))
        return "Under the text: " + "; ".join(f"{n}: {caps_or_none(s)}" for n, s in zip(names, sections, strict=True)) + "."
    if yes and first.kind == "clause":
        return _eligibility_sentence(words, first, conditions(first), awards)
    if len(sections) > 1:
        return f"{len(sections)} clauses are relevant: " + "; ".join(names) + "."
    if awards:
        return f"The relevant clause is {names[0]}: {words.awards(awards, with_target=True)}."
    return f"The relevant clause is {names[0]}: “{quote.rstrip('。；;')}。”"


# ---- the whole answer -------------------------------------------------------------------------------
def compose_english(kb: KnowledgeBase, plan: QueryPlan, decision: Decision, answer: Answer,
                    table: EnglishTable | None = None) -> Answer:
    """The English answer for a decision already rendered in Chinese by ``assistant.compose.compose``.

    Args:
        kb: the corpus.
        plan: the understood question.
        decision: the sections to cite (or a refusal).
        answer: the Chinese answer: its citations, caps, nearest and linked documents are kept as they are.
        table: the English table (default: ``corpus/i18n/en.toml``).

    Returns:
        A copy with English ``text``, ``reply``, ``notices`` and ``clarify`` and ``lang="en"``.
    """
    english = render(kb, plan, decision, EnglishWording(kb, table or english_table()))
    return dataclasses.replace(answer, lang="en", text=english.text, reply=english.reply, notices=english.notices,
                               clarify=english.clarify)
