"""What the service decides an answer rests on (``Decision``), rendered by ``assistant.compose_flow`` in each language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from assistant.answer import Clarify
from assistant.scope import ScopeTopic
from assistant.structure import StructureAsk
from indexing.document import LinkedDocument
from indexing.retrieval.hits import ClauseHit
from indexing.section_ref import SectionRef


class ScoredSection(NamedTuple):
    """A section of a document a decision rests on (or offers as nearest), with its score."""

    ref: SectionRef
    score: float


@dataclass(frozen=True)
class LinkedArticle:
    """An article of an indexed document that a cited clause defers to.

    ``clause``: the citing clause; ``link``: how its document names the other (``[[linked]]``); ``ref``: the article;
    ``similarity``: the article's score relative to the clause's own; ``cited_above``: the answer already cites the
    article on its own, before the clause (it is then referred to, not repeated).
    """

    clause: SectionRef
    link: LinkedDocument
    ref: SectionRef
    similarity: float
    cited_above: bool = False


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
    # Why it was declined: "topic:<name>", "too-far" (nothing close), "lacks-detail" (a clause is close — it
    # mentions the subject — but the learned answerability model says it does not answer what was asked), or
    # "business-outside" (policy matching: no clause applies to the business described, by the same model).
    refusal_reason: str = ""
    # The articles of indexed documents that cited clauses defer to (assistant.linked_articles), cited with them.
    linked: tuple[LinkedArticle, ...] = ()
    # The documents a whole-document route read (its cap table, its parts: routes "largest", "amount-list",
    # "structure"; assistant.document_routes), in order; empty for the others.
    documents: tuple[str, ...] = ()
