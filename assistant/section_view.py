"""What a reader sees of one section (``clause --json``, /api/clauses, the clause panel) and of a lookup search.

``SectionView`` is one section's text, place, caps and linked documents; ``SearchHit`` is a section view ranked by a
lookup query, with the reasons it was found; ``SearchResult`` the ranked hits. They flow typed to the web page and
the CLI; ``to_json`` is their JSON where it leaves the process (``clause --json``, ``search --json``, the API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from indexing.caps import Award


@dataclass(frozen=True)
class LinkedView:
    """A document a section refers to, and whether its text is in the corpus."""

    id: str
    title: str
    doc_number: str
    in_corpus: bool

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "doc_number": self.doc_number, "in_corpus": self.in_corpus}


@dataclass(frozen=True)
class SectionView:
    """One section of one document as shown: its text and offsets, chapter, caps and linked documents.

    ``section`` is the section key (``十六`` / ``chapter:一`` / ``preamble``); ``clause`` its clause numeral (None for a
    chapter's text or the preamble).
    """

    doc: str
    doc_title: str
    status: str
    clause: str | None
    chapter: str | None
    chapter_title: str
    section: str
    label: str
    title: str
    text: str
    start: int
    end: int
    caps: tuple[Award, ...] = ()
    linked: tuple[LinkedView, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``clause --json`` object."""
        return {
            "doc": self.doc,
            "doc_title": self.doc_title,
            "status": self.status,
            "clause": self.clause,
            "chapter": self.chapter,
            "chapter_title": self.chapter_title,
            "section": self.section,
            "label": self.label,
            "title": self.title,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "caps": [a.to_json() for a in self.caps],
            "linked": [d.to_json() for d in self.linked],
        }


@dataclass(frozen=True)
class SearchHit:
    """A section found by a lookup query: its view, score and why it was found.

    ``via`` names the routes (``reference``, ``meta``, ``text``, ``profile``…); a clause named in the query scores 1.0.
    """

    view: SectionView
    score: float
    matched_terms: list[str] = field(default_factory=list)
    bm25_rank: int | None = None
    dense_rank: int | None = None
    via: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The section view's object with the ranking fields added."""
        return {**self.view.to_json(), "score": self.score, "matched_terms": self.matched_terms,
                "bm25_rank": self.bm25_rank, "dense_rank": self.dense_rank, "via": self.via}


@dataclass
class SearchResult:
    """Ranked sections for a lookup-desk query (``query`` is the text as ``validate_question`` cleaned it)."""

    query: str
    rewritten: str
    expansion: list[str]
    results: list[SearchHit]
    latency_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"query": self.query, "rewritten": self.rewritten, "expansion": self.expansion,
                "results": [hit.to_json() for hit in self.results], "latency_ms": round(self.latency_ms, 1)}
