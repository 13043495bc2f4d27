"""English answers to whole-document questions (``assistant.document_routes``): the largest cap, the clauses paying a
figure or a kind of award, no clause paying it, and a document's parts.

The words of ``assistant.compose_en.EnglishWording`` for these routes, for the bundled measure (its English table's
names) and for any other indexed document (its own Chinese titles and numbers). The document read is named when several
are indexed; every figure comes from its cap table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from assistant.decision import Decision
from assistant.document_routes import asked_awards, counts_chapters
from assistant.knowledge import KnowledgeBase
from assistant.query import QueryPlan
from indexing.caps import Award
from indexing.document import Section
from indexing.numerals import format_rmb, format_wan
from indexing.section_ref import clause_label_en, is_clause_key


class EnglishWording(Protocol):
    """What these sentences use of ``assistant.compose_en.EnglishWording`` (named here, not imported: it imports this)."""

    kb: KnowledgeBase

    def measure(self) -> str: ...

    def doc_name(self, doc_id: str) -> str: ...

    def part(self, chapter: str | None) -> str: ...

    def section(self, section: Section) -> str: ...

    def short(self, section: Section) -> str: ...

    def amount_of(self, amount_wan: float) -> str: ...

    def awards(self, awards: Sequence[Award], with_target: bool | None = None) -> str: ...

# "Which clauses give one-off awards?": the kind of award asked about, as the English list names it.
_CAP_KIND_EN = {"一次性最高": "a one-off award", "每年最高": "a yearly award", "追加": "an additional award"}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _docs(words: EnglishWording, decision: Decision) -> tuple[str, ...]:
    return decision.documents or (words.kb.primary.meta.id,)


def _own(words: EnglishWording, doc_id: str) -> bool:
    return doc_id in ("", words.kb.primary.meta.id)


def document_name(words: EnglishWording, doc_id: str) -> str:
    """the Digital Creative Measures (《…》) / the 《深圳市文化产业发展专项资金资助办法》 (Shenzhen Cultural …)."""
    return f"the {words.measure()}" if _own(words, doc_id) else words.doc_name(doc_id)


def _of(words: EnglishWording, decision: Decision) -> str:
    """" of the 《…》": which documents a whole-document answer read, said when several are indexed."""
    if not words.kb.several_documents:
        return ""
    return " of " + " and ".join(document_name(words, d) for d in _docs(words, decision))


def part_name(words: EnglishWording, doc_id: str, chapter: str | None) -> str:
    """A part of a document: the measure's from its English table (part 7 “…”), another's by its number and Chinese
    title (chapter 3 “资助项目和标准”, part 3 “支持技术创新”)."""
    if chapter is None or _own(words, doc_id):
        return words.part(chapter)
    document = words.kb.document(doc_id).document
    found = next((c for c in document.chapters if c.key == chapter), None)
    if found is None or found.number is None:
        return f"“{found.title if found else chapter}”"
    return f"{'chapter' if counts_chapters(document) else 'part'} {found.number} “{found.title}”"


def _listed_label(words: EnglishWording, award: Award) -> str:
    """A clause in a list of caps: (16) for the measure's, Article 13 / clause 1(5) for another document's."""
    if _own(words, award.doc_id):
        return clause_label_en(award.clause)
    return words.short(words.kb.section(award.ref))


def cap_listing(words: EnglishWording, awards: Sequence[Award]) -> str:
    """Caps grouped by amount, largest first, each with its clauses: "RMB 5 million (500万元): (3), (9); … ;
    set per other documents: (10), (19)" (the cap table's figures; a deferred amount is named, never guessed)."""
    by_amount: dict[float, list[str]] = {}
    deferred: list[str] = []
    for award in awards:
        label = _listed_label(words, award) + (" additional" if award.qualifier == "追加" else "")
        group = deferred if award.amount_wan is None else by_amount.setdefault(award.amount_wan, [])
        if label not in group:
            group.append(label)
    listing = [f"{words.amount_of(amount)}: " + ", ".join(labels)
               for amount, labels in sorted(by_amount.items(), reverse=True)]
    if deferred:
        listing.append("set per other documents: " + ", ".join(deferred))
    return "; ".join(listing)


def largest_sentence(words: EnglishWording, decision: Decision, sections: Sequence[Section]) -> str:
    """The largest cap of the documents read and every clause stating it."""
    kb = words.kb
    top = max(a.amount_wan or 0.0 for s in sections for a in kb.awards(s.ref) if a.single)
    return (f"Under the text{_of(words, decision)}, the largest single cap is {format_rmb(top)} ({format_wan(top)}) "
            "(each is an upper limit, not what an applicant will receive), in "
            + "; ".join(words.section(s) for s in sections) + ".")


def amount_list_sentence(words: EnglishWording, plan: QueryPlan, decision: Decision, sections: Sequence[Section]) -> str:
    """The clauses with the figure or kind of award asked about, each with its matching caps; every cap, grouped by
    amount, when the question asks for them all ("list all caps")."""
    kb = words.kb
    where = f"Under the text{_of(words, decision)}"
    if not plan.claimed_amounts and not plan.cap_kind:
        awards = [a for s in sections for a in kb.awards(s.ref)]
        return (f"{where}, {_count(len(sections), 'clause')} give funding or awards (each amount is an upper limit, "
                f"not what an applicant will receive): {cap_listing(words, awards)}.")
    asked = " or ".join(words.amount_of(a) for a in sorted(set(plan.claimed_amounts), reverse=True))
    what = _CAP_KIND_EN.get(plan.cap_kind, plan.cap_kind)
    asked = f"{what} of {asked}" if asked and what else f"a cap of {asked}" if asked else what
    listed = []
    for section in sections:
        matching = asked_awards(plan, kb.awards(section.ref))
        name = words.section(section)
        listed.append(f"{name} ({words.awards(matching, with_target=len(matching) > 1)})" if matching else name)
    return f"{where}, {_count(len(sections), 'clause')} {'has' if len(sections) == 1 else 'have'} {asked}: " \
        + "; ".join(listed) + "."


def no_such_cap(words: EnglishWording, plan: QueryPlan, decision: Decision) -> tuple[str, str]:
    """No clause of the documents read has the cap asked about: the caps they do state, and the 标准答复."""
    kb = words.kb
    docs = _docs(words, decision)
    listings = []
    for doc_id in docs:
        listing = cap_listing(words, [a for a in kb.cap_table(doc_id).awards if a.amount_wan is not None])
        listings.append((f"{document_name(words, doc_id)}: " if len(docs) > 1 else "") + (listing or "none"))
    whose = " and ".join(document_name(words, d) for d in docs) if kb.several_documents else "the measure"
    # "Which clause gives the most?" of a document whose awards name no figure: none of its clauses states one.
    asked = "a cap of the amount you ask about" if plan.claimed_amounts or plan.cap_kind else "a stated amount"
    return (f"Under the text{_of(words, decision)}, no clause has {asked}.\n\n"
            f"The caps the text states are: {'; '.join(listings)} (all are caps, not amounts an applicant will receive; "
            "ask about a clause, e.g. “clause 16”, to see its original text).",
            f"No clause of {whose} has {'a cap of that amount' if plan.claimed_amounts or plan.cap_kind else asked}.")


def structure_lead(words: EnglishWording, decision: Decision) -> str:
    """A question about a document's parts (the measure's unless it names another): each part's title and its
    clauses; the document is named when several are indexed."""
    kb = words.kb
    ask = decision.structure
    assert ask is not None
    doc_id = _docs(words, decision)[0]
    own = _own(words, doc_id)
    document = kb.document(doc_id).document
    chapters = {c.key: c for c in document.chapters}
    lead: list[str] = [f"In {document_name(words, doc_id)}: " if kb.several_documents else ""]
    it = "The measure" if own else "it"   # another document is named before: "In the 《…》: it has …"
    if ask.missing:
        lead.append(f"{it} has no part " + ", ".join(ask.missing) + ". ")
    if ask.toc:
        entries = []
        for chapter in document.chapters:
            clauses = [kb.section(k, doc_id) for k in chapter.section_keys if is_clause_key(k)]
            if own:
                labels = [clause_label_en(c.key) for c in clauses]
                span = (f"clauses {labels[0]} to {labels[-1]}" if len(labels) > 1
                        else f"clause {labels[0]}" if labels else "body text only, no numbered clauses")
            else:
                labels = [words.short(c) for c in clauses]
                span = (f"{labels[0]} to {labels[-1]}" if len(labels) > 1
                        else labels[0] if labels else "body text only, no numbered clauses")
            entries.append(f"{part_name(words, doc_id, chapter.key)}, {span}")
        if own:
            numbered = [c for c in document.chapters if c.number is not None]
            lead.append(f"After the preamble the measure has {len(numbered)} parts and the supplementary provisions, "
                        f"{len(document.clauses)} clauses in all: " + "; ".join(entries) + ". ")
        else:
            unit = "chapter" if counts_chapters(document) else "part"
            lead.append(f"{it} has {_count(len(document.chapters), unit)}, "
                        f"{len(document.clauses)} clauses in all: " + "; ".join(entries) + ". ")
        inferred = [str(c.number) for c in document.chapters if c.number_inferred]
        if inferred:
            lead.append("The headings of parts " + " and ".join(inferred) + " have no number in the text; their "
                        "numbers are inferred from the order. ")
    for key in ask.chapters:
        chapter = chapters[key]
        clauses = [kb.section(k, doc_id) for k in chapter.section_keys if is_clause_key(k)]
        name = part_name(words, doc_id, key)
        subject = f"The part about “{ask.topic}” is {name}, which" if ask.topic else _cap(name)
        has = "have" if name.endswith("provisions") and not ask.topic else "has"
        if not clauses:
            lead.append(f"{subject} {has} only body text, no numbered clauses. ")
        else:
            lead.append(f"{subject} {has} {len(clauses)} clauses: " + "; ".join(words.section(s) for s in clauses) + ". ")
    return "".join(lead).strip()
