"""The reviewed English table (corpus/i18n/en.toml): titles, cap vocabulary and notices for English answers.

Data only, read once, each table into the dataclass whose fields are its keys (``indexing.records.record``). A title or phrase the table lacks falls back to the Chinese original (quoted), so a document
added with ``index --add`` still gets English answers, with its Chinese titles; the bundled measure is complete
(tests/test_english.py checks every clause, part, cap target, term, qualifier, kind and out-of-scope topic).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from indexing.corpus import BUNDLED_CORPUS
from indexing.records import record

ENGLISH_TABLE = BUNDLED_CORPUS / "i18n" / "en.toml"


@dataclass(frozen=True)
class DocumentEnglish:
    """One document's English: its titles and facts, the preamble and part bodies, clause and part titles,
    the awards' targets and the clause profiles' advice on what to prepare (both keyed by the Chinese phrase) and the
    linked documents' titles (keyed by id)."""

    title: str = ""
    short_title: str = ""
    status: str = ""
    issuer: str = ""
    interpreter: str = ""
    validity: str = ""
    effective_clause: str = ""
    preamble: str = ""
    chapter_text: Mapping[str, str] = field(default_factory=dict)
    chapters: Mapping[str, str] = field(default_factory=dict)
    clauses: Mapping[str, str] = field(default_factory=dict)
    targets: Mapping[str, str] = field(default_factory=dict)
    prepare: Mapping[str, str] = field(default_factory=dict)
    linked: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TopicEnglish:
    """An out-of-scope topic's English name and advice."""

    name: str
    advice: str = ""


@dataclass(frozen=True)
class EnglishTable:
    """The whole table: the cap vocabulary and the notices (its ``[vocabulary]``), documents by id and out-of-scope
    topics by Chinese name."""

    draft_notice: str = ""
    dated_draft_notice: str = ""
    final_notice: str = ""
    cap_caveat: str = ""
    qualifiers: Mapping[str, str] = field(default_factory=dict)
    kinds: Mapping[str, str] = field(default_factory=dict)
    terms: Mapping[str, str] = field(default_factory=dict)
    documents: Mapping[str, DocumentEnglish] = field(default_factory=dict)
    scope_topics: Mapping[str, TopicEnglish] = field(default_factory=dict)

    def document(self, doc_id: str) -> DocumentEnglish:
        """A document's English (empty, so every look-up falls back to Chinese, when the table lacks it)."""
        return self.documents.get(doc_id, DocumentEnglish())


def read_english_table(path: Path = ENGLISH_TABLE) -> EnglishTable:
    """Load the table.

    Args:
        path: the TOML file (default: the bundled ``corpus/i18n/en.toml``).

    Returns:
        The table; a missing file gives an empty one (English answers then quote Chinese titles).
    """
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    documents = {doc_id: record(DocumentEnglish, doc) for doc_id, doc in data.get("documents", {}).items()}
    topics = {name: record(TopicEnglish, {"name": name, **topic}) for name, topic in data.get("scope_topics", {}).items()}
    return record(EnglishTable, data.get("vocabulary", {}), documents=documents, scope_topics=topics)


@lru_cache(maxsize=2)
def english_table(path: Path = ENGLISH_TABLE) -> EnglishTable:
    """The table, read once per process."""
    return read_english_table(path)
