"""The corpus as a table: each document's metadata, counts, links, and whether the index holds its current text.

One shape (``DocumentEntry``) serves ``index --list``, ``/api/health`` and the admin tab. ``document_entries`` is a
pure function over parsed documents, the index's manifest and its chunk counts; ``list_documents`` reads those from
disk for the CLI, and the server passes what its loaded assistant holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from indexing.config import IndexConfig
from indexing.corpus import BUNDLED_CORPUS, CorpusDocument
from indexing.manifest import IndexManifest

DocumentSource = Literal["bundled", "added", "corpus"]
# indexed: the index holds this text; changed: it holds an older text of the document; not-indexed: not in the index
# (added to the folder by hand, or a build is pending); not-in-corpus: the index still has a document whose file
# is gone (removed by hand, or a removal whose build has not finished).
IndexState = Literal["indexed", "changed", "not-indexed", "not-in-corpus", "no-index"]


@dataclass(frozen=True)
class LinkEntry:
    """A document that one in the corpus refers to (its ``[[linked]]`` table), and the corpus document holding its text
    (``corpus_doc``, resolved by ``indexing.links``; None when its text is not in the corpus)."""

    id: str
    title: str
    corpus_doc: str | None = None

    @property
    def in_corpus(self) -> bool:
        return self.corpus_doc is not None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "in_corpus": self.in_corpus, "corpus_doc": self.corpus_doc}


@dataclass(frozen=True)
class DocumentEntry:
    """One row of the corpus table."""

    id: str
    title: str
    short_title: str
    status: str                 # the document's own status: 征求意见稿, 现行有效, 试行…
    doc_number: str             # 文号
    file: str
    source: DocumentSource      # bundled with the package, added with ``index --add``, or in a user ``--corpus`` folder
    removable: bool
    sections: int
    clauses: int
    awards: int
    linked: tuple[LinkEntry, ...]
    linked_from: tuple[str, ...]   # ids of corpus documents whose ``[[linked]]`` names this one
    index_state: IndexState
    indexed_chunks: int
    vectors_current: bool       # the index's vectors were computed from this text, with the index's model

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "short_title": self.short_title, "status": self.status,
            "doc_number": self.doc_number, "file": self.file, "source": self.source, "removable": self.removable,
            "sections": self.sections, "clauses": self.clauses, "awards": self.awards,
            "linked": [link.to_json() for link in self.linked], "linked_from": list(self.linked_from),
            "index_state": self.index_state, "indexed_chunks": self.indexed_chunks,
            "vectors_current": self.vectors_current,
        }


def document_source(path: Path, config: IndexConfig) -> DocumentSource:
    """Where a document file lives: the bundled corpus, ``<home>/corpus`` (``index --add``), or a user folder."""
    resolved = Path(path).resolve()
    if resolved.is_relative_to(BUNDLED_CORPUS.resolve()):
        return "bundled"
    if resolved.is_relative_to((config.home / "corpus").resolve()):
        return "added"
    return "corpus"


def is_removable(position: int, source: DocumentSource) -> bool:
    """The first document is the primary measure (answers, caps and facts rest on it): never removed; nor is a
    bundled one (the package's files are read-only)."""
    return position > 0 and source != "bundled"


def document_entries(
    documents: Sequence[CorpusDocument],
    sources: Sequence[DocumentSource],
    manifest: IndexManifest | None,
    chunk_counts: Counter[str],
) -> list[DocumentEntry]:
    """The corpus table for parsed documents, against an index (``manifest`` None: none built).

    Args:
        documents: the effective corpus, primary first.
        sources: each document's ``document_source``.
        manifest: the index's manifest (the hash of each document's bytes it was built from).
        chunk_counts: chunks (text and profile) per document id in that index.

    Returns:
        One entry per document, then one per document the index holds but the corpus no longer does.
    """
    from indexing.caps import extract_awards
    from indexing.links import LinkResolver

    indexed = {d.id: d for d in manifest.documents} if manifest is not None else {}
    ids = {doc.meta.id for doc in documents}
    resolver = LinkResolver(documents)
    targets = {(doc.meta.id, link.id): resolver.target(link, doc.meta.id) for doc in documents for link in doc.meta.linked}
    linked_from: dict[str, list[str]] = {}
    for (holder, _), target in targets.items():
        if target is not None and holder not in linked_from.get(target, ()):
            linked_from.setdefault(target, []).append(holder)
    entries = []
    for position, (doc, source) in enumerate(zip(documents, sources, strict=True)):
        record = indexed.get(doc.meta.id)
        if manifest is None:
            state: IndexState = "no-index"
        elif record is None:
            state = "not-indexed"
        else:
            state = "indexed" if record.sha256 == doc.sha256 else "changed"
        entries.append(DocumentEntry(
            id=doc.meta.id, title=doc.meta.title, short_title=doc.meta.short_title, status=doc.meta.status,
            doc_number=doc.meta.doc_number, file=doc.path.name, source=source,
            removable=is_removable(position, source),
            sections=len(doc.document.sections), clauses=len(doc.document.clauses),
            awards=len(extract_awards(doc.document, doc.meta.linked)),
            linked=tuple(LinkEntry(link.id, link.title, targets[doc.meta.id, link.id]) for link in doc.meta.linked),
            linked_from=tuple(linked_from.get(doc.meta.id, ())),
            index_state=state, indexed_chunks=chunk_counts.get(doc.meta.id, 0),
            vectors_current=state == "indexed" and chunk_counts.get(doc.meta.id, 0) > 0,
        ))
    for record in (indexed[i] for i in indexed if i not in ids):
        entries.append(DocumentEntry(
            id=record.id, title=record.title, short_title="", status="", doc_number="", file=record.file,
            source="added" if record.origin == "home" else "corpus", removable=False, sections=0, clauses=0, awards=0,
            linked=(), linked_from=(), index_state="not-in-corpus", indexed_chunks=chunk_counts.get(record.id, 0),
            vectors_current=False,
        ))
    return entries


def list_documents(config: IndexConfig) -> list[DocumentEntry]:
    """The corpus table from disk: the corpus folders parsed, the live index's manifest and chunks read.

    Raises:
        ParseError: a corpus document cannot be parsed.
        FileNotFoundError: the corpus folder does not exist or holds no document.
        IndexCorrupt: the index's chunk file cannot be read.
    """
    from indexing.corpus_folders import load_corpus_folders
    from indexing.index_files import CHUNKS_FILE, load_chunk_rows, locate_index
    from indexing.manifest import IndexCorrupt, IndexNotBuilt

    documents = [doc for folder in load_corpus_folders(config) for doc in folder.documents]
    manifest: IndexManifest | None = None
    counts: Counter[str] = Counter()
    try:
        index_dir = locate_index(config)
        manifest = IndexManifest.load(index_dir)
    except IndexNotBuilt:
        pass
    if manifest is not None:
        try:
            counts = Counter(chunk.doc_id for chunk in load_chunk_rows(index_dir / CHUNKS_FILE).chunks)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorrupt(f"chunks.json 无法读取（{type(exc).__name__}: {exc}）", index_dir) from None
    return document_entries(documents, [document_source(d.path, config) for d in documents], manifest, counts)
