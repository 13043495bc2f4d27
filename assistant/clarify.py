"""The clarifying question offered when the two best sections are close but lead to different caps."""

from __future__ import annotations

from assistant.answer import Clarify, ClarifyOption
from assistant.compose import section_name
from assistant.knowledge import KnowledgeBase
from indexing.section_ref import SectionRef


def clarify_between(kb: KnowledgeBase, first: SectionRef, second: SectionRef) -> Clarify | None:
    """Ask which one when two close clauses lead to different caps: which clause, or, when they are two
    documents' clauses, which document (the best-effort answer still cites both).

    Returns:
        The question with one option per clause, or None when they are not both clauses or pay the same.
    """

    def caps_signature(ref: SectionRef) -> tuple:
        return tuple(sorted((a.amount_wan or -1, a.qualifier) for a in kb.awards(ref)))

    if not (first.is_clause and second.is_clause):
        return None
    if caps_signature(first) == caps_signature(second):
        return None
    if first.doc_id != second.doc_id:
        # Two documents answer it differently: which one the asker means decides the cap.
        names = [kb.facts_of(r.doc_id).name for r in (first, second)]
        options = tuple(ClarifyOption(label=name + section_name(kb.section(r)), clause=r.key, doc=r.doc_id)
                        for name, r in zip(names, (first, second), strict=True))
        return Clarify(question=f"{names[0]}和{names[1]}对此的规定不同，您问的是哪一份文件？", options=options)
    options = tuple(ClarifyOption(label=section_name(kb.section(r)), clause=r.key, doc=r.doc_id) for r in (first, second))
    return Clarify(question="这两条的资助上限不同，您的情况更接近哪一种？", options=options)
