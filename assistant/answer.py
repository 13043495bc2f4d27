"""What an answer is: citations, cap records, notices, a clarifying question — and its JSON contract.

The JSON shape is shared by ``ask --json``, ``ask --jsonl``, ``POST /api/ask`` and the eval runner:
``{"id", "question", "rewritten_question", "answer", "citations": [...], "caps": [...], "refused",
"notices", "latency_ms"}`` plus ``"clarify"`` (or null), ``"expansion"``, ``"nearest"``, ``"intent"``,
``"retrieved"``, ``"lang"`` (``"zh"`` or ``"en"``: the language of the question and of the answer) and ``"error"``
(null unless the question was rejected: :meth:`Answer.rejected`). The objects flow typed to every edge (CLI, API,
web page, eval runner); ``to_json`` is called once, where JSON leaves the process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.document_facts import DocumentFacts
from assistant.language import Lang
from assistant.section_view import LinkedView
from indexing.caps import Award
from indexing.retrieval.hits import ClauseHit
from indexing.section_ref import SectionRef


@dataclass(frozen=True)
class Citation:
    """A cited section, with the decisive sentence quoted exactly from the source.

    ``section`` is the key within ``doc`` (the JSON contract's); ``ref`` is the section across documents.
    """

    doc: str
    chapter: str | None
    clause: str | None          # Chinese numeral without brackets; None for chapter text / preamble
    section: str                # 十六 / chapter:一 / preamble
    title: str
    quote: str
    start: int
    end: int
    score: float
    document: DocumentFacts | None = None   # the cited document (JSON ``document``: id, title, short title, status, 文号)
    # For an article of another document that a cited clause defers to (按《…》相关规定): that clause.
    linked_from: SectionRef | None = None

    @property
    def ref(self) -> SectionRef:
        """Which section of which document is cited."""
        return SectionRef.parse(self.section, self.doc)

    def to_json(self) -> dict[str, Any]:
        return {
            "doc": self.doc,
            "chapter": self.chapter,
            "clause": self.clause,
            "section": self.section,
            "title": self.title,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
            "document": self.document.badge() if self.document is not None else None,
            "linked_from": ({"doc": self.linked_from.doc_id, "section": self.linked_from.key}
                            if self.linked_from is not None else None),
        }


@dataclass(frozen=True)
class ClarifyOption:
    """One choice of a clarifying question: ``clause`` is the key within ``doc`` (the JSON has the key alone)."""

    label: str
    clause: str
    doc: str = ""

    @property
    def ref(self) -> SectionRef:
        return SectionRef.parse(self.clause, self.doc)


@dataclass(frozen=True)
class Clarify:
    """One short question offered when the top clauses are close and lead to different caps."""

    question: str
    options: tuple[ClarifyOption, ...]

    def to_json(self) -> dict[str, Any]:
        return {"question": self.question,
                "options": [{"label": o.label, "clause": o.clause, "doc": o.doc} for o in self.options]}


@dataclass(frozen=True)
class RankedSection:
    """One entry of the answer's ranked retrieval list (JSON ``retrieved``): the retriever's hit and the section's
    title. The hit may belong to a cached decision: it is read, never changed."""

    hit: ClauseHit
    title: str = ""

    def to_json(self) -> dict[str, Any]:
        return {**self.hit.to_json(), "title": self.title}


@dataclass(frozen=True)
class RelatedSection:
    """A section offered as "possibly related" with a refusal (JSON ``nearest``): not an answer, so it has no quote.

    ``doc`` is None when the corpus holds one document; the JSON then leaves ``doc`` out.
    """

    section: str
    clause: str | None
    title: str
    score: float
    doc: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"section": self.section, "clause": self.clause, "title": self.title,
                                "score": round(self.score, 4)}
        if self.doc is not None:
            data["doc"] = self.doc
        return data


@dataclass(frozen=True)
class CitedLink:
    """A document a cited section relies on (JSON ``linked``): the document as a section view shows it, and the key
    of the cited section that names it."""

    document: LinkedView
    section: str

    def to_json(self) -> dict[str, Any]:
        return {**self.document.to_json(), "section": self.section}


@dataclass
class Answer:
    """The assistant's answer to the last turn of a conversation."""

    question: str
    rewritten_question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    caps: list[Award] = field(default_factory=list)
    refused: bool = False
    notices: list[str] = field(default_factory=list)
    latency_ms: float = 0.0
    id: str | None = None
    intent: str = ""
    clarify: Clarify | None = None
    expansion: list[str] = field(default_factory=list)
    nearest: list[RelatedSection] = field(default_factory=list)   # "可能相关" sections on refusals
    retrieved: list[RankedSection] = field(default_factory=list)  # ranked sections with reasons
    linked: list[CitedLink] = field(default_factory=list)         # documents the cited sections rely on
    reply: str = ""             # the short 标准答复 a hotline agent can read out
    llm_used: bool = False
    refusal_reason: str | None = None   # "topic:<name>" (out-of-scope lexicon) or "too-far" (scores below thresholds)
    lang: Lang = "zh"           # the question's language, and the answer's (assistant.language)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "rewritten_question": self.rewritten_question,
            "answer": self.text,
            "citations": [c.to_json() for c in self.citations],
            # Each cap names the document whose clause states it (the cap table's own records leave it out).
            "caps": [{**a.to_json(), "doc": a.doc_id} for a in self.caps],
            "refused": self.refused,
            "notices": self.notices,
            "latency_ms": round(self.latency_ms, 1),
            "intent": self.intent,
            "clarify": self.clarify.to_json() if self.clarify else None,
            "expansion": self.expansion,
            "nearest": [n.to_json() for n in self.nearest],
            "retrieved": [r.to_json() for r in self.retrieved],
            "linked": [link.to_json() for link in self.linked],
            "reply": self.reply,
            "llm_used": self.llm_used,
            "refusal_reason": self.refusal_reason,
            "lang": self.lang,
            "error": self.error,
        }

    @classmethod
    def rejected(cls, question: str, message: str, id: str | None = None) -> Answer:
        """The answer to an input that was not answered (empty, too long, a malformed batch line, a failure).

        It is an ``Answer`` like any other, so its JSON has exactly the contract's keys; ``error`` holds the
        message (Chinese) and ``intent`` is ``"error"``.
        """
        from assistant.language import detect_language

        return cls(question=question, rewritten_question="", text="", id=id, intent="error",
                   lang=detect_language(question) if question else "zh", error=message)
