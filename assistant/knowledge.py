"""The parsed corpus in memory: documents, sections, the cap table and the profiles, with look-ups."""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.document_facts import DocumentFacts, document_facts
from assistant.section_view import LinkedView, SectionView
from indexing.caps import Award, CapTable, extract_awards
from indexing.corpus import BUNDLED_CORPUS, CorpusDocument, load_corpus
from indexing.document import LinkedDocument, Section
from indexing.links import LinkResolver
from indexing.numerals import chinese_to_int
from indexing.profiles import Profile, load_profiles
from indexing.references import parse_clause_ref
from indexing.section_ref import PREAMBLE_KEY, SectionRef, chapter_heading, clause_label, is_clause_key

if TYPE_CHECKING:
    from assistant.document_names import NameIndex
    from indexing.cross_references import CrossReference


class UnknownSection(KeyError):
    """A clause reference that names nothing in the corpus."""

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownDocument(UnknownSection):
    """A document id that names nothing in the corpus (``--doc``, ``"doc"``); the message lists the ids there are."""


class KnowledgeBase:
    """Documents, sections, awards and profiles of one corpus folder."""

    def __init__(self, documents: list[CorpusDocument], profiles: dict[str, Profile] | None = None) -> None:
        self.documents = documents
        self.primary = documents[0]
        self.profiles = profiles or {}
        awards: list[Award] = []
        for doc in documents:
            awards.extend(extract_awards(doc.document, doc.meta.linked))
        # Only the primary measure's awards are keyed by bare clause number; others are kept per document.
        self.caps = CapTable(a for a in awards)
        self._awards_by_doc = {
            doc.meta.id: CapTable(extract_awards(doc.document, doc.meta.linked)) for doc in documents
        }
        self._by_id = {doc.meta.id: doc for doc in documents}
        self._links = LinkResolver(documents)
        # What answers say about the measure itself (title, status, effective date): from its sidecar and text.
        self.facts: DocumentFacts = document_facts(self.primary)
        self._facts = {self.primary.meta.id: self.facts}
        self._texts: dict[str, str] = {}
        self._references: dict[str, dict[str, tuple[CrossReference, ...]]] = {}
        self._referred: dict[str, dict[str, tuple[str, ...]]] = {}

    @property
    def several_documents(self) -> bool:
        """More than one document is indexed: answers then name the document of each section they cite."""
        return len(self.documents) > 1

    def facts_of(self, doc_id: str | None = None) -> DocumentFacts:
        """A document's facts (the primary's by default), from its sidecar and text."""
        doc = self.document(doc_id or None)
        if doc.meta.id not in self._facts:
            self._facts[doc.meta.id] = document_facts(doc)
        return self._facts[doc.meta.id]

    @cached_property
    def names(self) -> NameIndex:
        """The names of every document (title, short title, aliases, 文号), for finding the ones a question names."""
        from assistant.document_names import NameIndex

        return NameIndex(self.documents)

    @cached_property
    def documents_text(self) -> str:
        """Every section's text of every document, joined (what "does the text contain this word" looks in)."""
        return "\n".join(s.text for doc in self.documents for s in doc.document.sections)

    @cached_property
    def implementing_primary(self) -> frozenset[str]:
        """Ids of the other documents that link to the primary measure (a 申报通知 "为贯彻落实《若干措施》"): the
        annual guides its topic list leaves application matters to."""
        primary = self.primary.meta.id
        return frozenset(doc.meta.id for doc in self.documents[1:]
                         if any(self.linked_target(link, doc.meta.id) == primary for link in doc.meta.linked))

    def cross_references(self, doc_id: str) -> dict[str, tuple[CrossReference, ...]]:
        """The references each section of a document makes to others of it (``indexing.cross_references``); read once
        per document."""
        if doc_id not in self._references:
            from indexing.cross_references import cross_references

            self._references[doc_id] = cross_references(self.document(doc_id).document)
        return self._references[doc_id]

    def referred_by(self, doc_id: str) -> dict[str, tuple[str, ...]]:
        """Keys of the sections of a document that refer to each of its sections: the references inverted, once."""
        if doc_id not in self._referred:
            from indexing.cross_references import referred_by

            self._referred[doc_id] = referred_by(self.cross_references(doc_id))
        return self._referred[doc_id]

    def document_text(self, doc_id: str) -> str:
        """One document's section texts, joined (what "does this document contain this word" looks in); cached."""
        if doc_id not in self._texts:
            self._texts[doc_id] = "\n".join(s.text for s in self.document(doc_id).document.sections)
        return self._texts[doc_id]

    @property
    def primary_caps(self) -> CapTable:
        """The bundled measure's awards only (``caps`` holds every document's)."""
        return self._awards_by_doc[self.primary.meta.id]

    def cap_table(self, doc_id: str | None = None) -> CapTable:
        """One document's awards (the primary's by default): what "which clause pays most" reads for it."""
        return self._awards_by_doc[self.document(doc_id).meta.id]

    # ---- look-ups -------------------------------------------------------------------------------
    def document(self, doc_id: str | None = None) -> CorpusDocument:
        if doc_id is None:
            return self.primary
        try:
            return self._by_id[doc_id]
        except KeyError:
            raise UnknownDocument(f"没有这个文档：{doc_id}（现有文档：{'、'.join(self._by_id)}）") from None

    def ref(self, key: str) -> SectionRef:
        """The primary measure's section named by a stored key: what question files, the learned models and a
        question's own clause numbers name."""
        return SectionRef.parse(key, self.primary.meta.id)

    def qualified(self, ref: SectionRef) -> SectionRef:
        """``ref`` with its document named: a reference without one (``""``) is the primary measure's."""
        return ref if ref.doc_id else SectionRef(self.primary.meta.id, ref.kind, ref.number)

    def section(self, key: str | SectionRef, doc_id: str | None = None) -> Section:
        """A section by reference, or by key (``十六``, ``chapter:一``, ``preamble``) of a document (primary by default).

        A ``SectionRef`` names its own document (``""``: the primary); ``doc_id`` is then ignored.
        """
        if isinstance(key, SectionRef):
            doc_id = key.doc_id or None
            key = key.key
        doc = self.document(doc_id)
        try:
            return doc.document.section(key)
        except KeyError:
            raise UnknownSection(f"《{doc.meta.title}》中没有“{key}”") from None

    def has_section(self, ref: SectionRef) -> bool:
        try:
            self.section(ref)
            return True
        except KeyError:
            return False

    def resolve(self, reference: str, doc_id: str | None = None) -> Section:
        """Resolve what a user typed (十六 / 16 / （十六） / 第十六条 / 第一章 / 一章 / 序言) to a section."""
        text = reference.strip()
        doc = self.document(doc_id)
        max_clause = len(doc.document.clauses)
        if text in ("序言", "前言"):
            text = PREAMBLE_KEY
        if text and not is_clause_key(text):   # a stored key: preamble, chapter:一
            return self.section(text, doc_id)
        for prefix, suffix in (("第", "章"), ("", "章"), ("第", "部分"), ("", "部分")):
            if text.startswith(prefix) and text.endswith(suffix) and len(text) > len(prefix) + len(suffix):
                numeral = text[len(prefix):-len(suffix)]
                try:
                    number = int(numeral) if numeral.isdigit() else chinese_to_int(numeral)
                except ValueError:
                    break
                for chapter in doc.document.chapters:
                    if chapter.number == number:
                        body = SectionRef.chapter_of(chapter.key, doc.meta.id)
                        if body.key in chapter.section_keys:
                            return self.section(body.key, doc_id)
                        raise UnknownSection(
                            f"{body.label}“{chapter.title}”没有正文，只含条款：" + "、".join(
                                clause_label(k) for k in chapter.section_keys)
                        )
                break
        key = parse_clause_ref(text, max_clause)
        if key is None:
            raise UnknownSection(
                f"无法识别的条款编号：“{reference}”（可用：一至{doc.document.clauses[-1].key}，如 十六、16、（十六）、第十六条；"
                "或 第一章、序言）"
            )
        return self.section(key, doc_id)

    def awards(self, key: str | SectionRef, doc_id: str | None = None) -> list[Award]:
        """The awards a section states, by reference or by key of a document (primary by default)."""
        if isinstance(key, SectionRef):
            doc_id = key.doc_id or None
            key = key.key
        return self._awards_by_doc[self.document(doc_id).meta.id].for_clause(key)

    def profile(self, ref: SectionRef) -> Profile | None:
        """A section's reviewed profile: profiles describe the primary measure's sections only."""
        return self.profiles.get(ref.key) if self.qualified(ref).doc_id == self.primary.meta.id else None

    def primary_awards(self, order: str = "clause") -> list[Award]:
        """The measure's own awards (not those of documents added later): in clause order, or with ``"amount"``
        largest first and the awards that name no figure last."""
        awards = [a for section in self.primary.document.sections for a in self.awards(section.key)]
        if order == "amount":
            by_amount = sorted(((a.amount_wan, a) for a in awards if a.amount_wan is not None), key=lambda p: -p[0])
            return [a for _, a in by_amount] + [a for a in awards if a.amount_wan is None]
        return awards

    def linked_documents(self, section: Section, doc_id: str | None = None) -> list[LinkedDocument]:
        doc = self.document(doc_id)
        return [d for d in doc.meta.linked if d.id in section.linked]

    def linked_views(self, section: Section, doc_id: str | None = None) -> tuple[LinkedView, ...]:
        """The documents a section relies on as a reader sees them: title, 文号 and whether the corpus has the text."""
        holder = self.document(doc_id).meta.id
        return tuple(LinkedView(d.id, d.title, d.doc_number, self.has_document(d, holder))
                     for d in self.linked_documents(section, doc_id))

    def chapter_of(self, section: Section, doc_id: str | None = None) -> str:
        """The chapter heading as written: 七、加快推进创新体系建设 / 附则 ("" outside chapters)."""
        return chapter_heading(section.chapter, section.chapter_title)

    def section_view(self, section: Section, doc_id: str | None = None) -> SectionView:
        """One section as shown (the ``clause --json`` object, typed): text, place, caps, linked documents."""
        doc = self.document(doc_id)
        return SectionView(
            doc=doc.meta.id,
            doc_title=doc.meta.title,
            status=doc.meta.status,
            clause=section.clause,
            chapter=section.chapter,
            chapter_title=section.chapter_title,
            section=section.key,
            label=section.label,
            title=section.title,
            text=section.text,
            start=section.start,
            end=section.end,
            caps=tuple(self.awards(section.key, doc_id)),
            linked=self.linked_views(section, doc_id),
        )

    def has_document(self, linked: LinkedDocument, holder: str = "") -> bool:
        """Whether a linked document's text is in the corpus (matched by id, title or 文号: ``indexing.links``);
        ``holder``: the document whose ``[[linked]]`` it is (never its own target)."""
        return self.linked_target(linked, holder) is not None

    def linked_target(self, linked: LinkedDocument, holder: str = "") -> str | None:
        """The id of the corpus document holding a linked document's text (None: not in the corpus).

        Dictionary look-ups, not a scan of every document: compose asks this for each linked document of each cited
        section (a scan was 76 ms of an answer's p95 at 10,000 documents, benchmarks/scale.py).
        """
        return self._links.target(linked, holder)


_cache: dict[Path, KnowledgeBase] = {}
_cache_lock = threading.Lock()


def load_knowledge(corpus_dir: Path = BUNDLED_CORPUS) -> KnowledgeBase:
    """Parse a corpus folder once per process.

    Raises:
        indexing.parser.ParseError: if a document cannot be structured.
    """
    corpus_dir = Path(corpus_dir).resolve()
    with _cache_lock:
        if corpus_dir not in _cache:
            _cache[corpus_dir] = KnowledgeBase(load_corpus(corpus_dir), load_profiles(corpus_dir))
        return _cache[corpus_dir]
