"""The section a question about a document itself answers from: its preamble, its scope, who interprets it, its term.

The bundled measure's answers are fixed by its structure (the first section that says "负责解释"…); in a document
without models of its own the marker words can also appear in passing ("在有效期内的企业…"), so there the section
retrieval ranks first among those holding the marker is taken.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from indexing.section_ref import PREAMBLE_KEY, SectionRef

if TYPE_CHECKING:
    from assistant.knowledge import KnowledgeBase
    from assistant.query import QueryPlan
    from indexing.document import PolicyDocument
    from indexing.retrieval.hits import ClauseHit


@dataclass(frozen=True)
class DocumentFact:
    """A fact about a document itself that a meta intent asks: its term, its start, who interprets it.

    ``markers``: what the section stating it writes — measures write their start as "自……起实施" or "自……起施行",
    their end as "有效期"; any one counts. ``asked``: the words of a question asking the fact itself — not
    "网上申报什么时候截止" (which the validity intent also reads) nor "施行前已受理的项目按哪个规定" (a transitional
    provision): a named document that never writes a marker then does not say it, and another document's fact is no
    answer to it.
    """

    markers: tuple[str, ...]
    asked: re.Pattern[str]


DOCUMENT_FACTS: dict[str, DocumentFact] = {
    "meta-validity": DocumentFact(
        ("有效期",), re.compile(r"有效期|有效多久|几年有效|(什么时候|哪年|何时|几时)[^，。？?]{0,4}(失效|到期)|valid|expire")),
    "meta-interpret": DocumentFact(
        ("负责解释",), re.compile(r"(谁|哪个|哪家|什么)[^，。？?]{0,6}解释|解释(单位|机关|部门|权)|interpret")),
    "meta-effective": DocumentFact(
        ("起实施", "起施行", "起执行"),
        re.compile(r"(什么时候|哪天|哪一天|何时|几号|日期|从哪)[^，。？?]{0,6}(施行|实施|生效)|"
                   r"(施行|实施|生效)(日期|时间)|起(施行|实施)|effective date|takes? effect|in force")),
}


def asks_document_fact(plan: QueryPlan) -> bool:
    """Whether a turn asks a document's own term, start or interpreter itself (``DocumentFact.asked``)."""
    fact = DOCUMENT_FACTS.get(plan.intent)
    return fact is not None and fact.asked.search(plan.normalized) is not None


# What the sentence giving a document's basis says of the document itself (see ``basis_section``).
BASIS_MARKERS = ("制定本", "通知如下")


def basis_section(document: PolicyDocument) -> str | None:
    """The key of the section stating what a document is made on: the first that says it makes the document
    ("…根据《…》，制定本办法" — a 章/条 measure's 第一条; a measure's preamble, "制定本措施") or sends it ("…通知如下"),
    else the preamble (None: the document has neither)."""
    stated = next((s.key for s in document.sections if any(m in s.text for m in BASIS_MARKERS)), None)
    if stated is not None:
        return stated
    return PREAMBLE_KEY if any(s.kind == "preamble" for s in document.sections) else None


def meta_section(kb: KnowledgeBase, plan: QueryPlan, hits: Sequence[ClauseHit] = ()) -> SectionRef | None:
    """The section of the named document (else the primary) that answers ``plan``'s question about the document.

    Args:
        kb: the corpus.
        plan: the planned question (its ``intent`` and ``documents``).
        hits: the question's retrieval hits; used for a document other than the primary measure, to choose among
            the sections holding the marker.

    Returns:
        The section, or None when the question is not about the document or the document has no such section.
    """
    corpus_doc = kb.document(plan.documents[0] if plan.documents else None)
    document = corpus_doc.document
    doc_id = corpus_doc.meta.id
    key = None
    if plan.intent == "meta-basis":
        key = basis_section(document)
    elif plan.intent == "meta-scope":
        key = next((s.key for s in document.sections if s.kind == "chapter"), None)
    elif fact := DOCUMENT_FACTS.get(plan.intent):
        marked = [s.key for s in document.sections if any(m in s.text for m in fact.markers)]
        retrieved = [h.section_key for h in hits if (h.doc_id or kb.primary.meta.id) == doc_id]
        if doc_id != kb.primary.meta.id:
            marked.sort(key=lambda k: retrieved.index(k) if k in retrieved else len(retrieved))
        key = marked[0] if marked else None
    return SectionRef.parse(key, doc_id) if key else None
