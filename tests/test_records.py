"""One loader over dataclass fields (indexing.records.record) reads the corpus's tables: sidecars, the English table,
and a document's facts from its metadata — on the real files, so a key the dataclass does not know shows up here."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from assistant.document_facts import DocumentFacts, document_facts
from assistant.english_table import ENGLISH_TABLE, DocumentEnglish, EnglishTable, TopicEnglish, read_english_table
from indexing.corpus import DocumentMeta, load_corpus, read_meta
from indexing.document import LinkedDocument
from indexing.records import record

ROOT = Path(__file__).resolve().parent.parent
# The test documents' sidecars also carry ``fixture``, a note for people (a fictional text), which no record reads.
NOTES = {"fixture"}
SIDECARS = sorted((ROOT / "corpus" / "documents").glob("*.toml")) + sorted((ROOT / "evals" / "documents").glob("*/*.toml"))


def _names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("sidecar", SIDECARS, ids=lambda p: p.stem)
def test_every_sidecar_key_is_a_field_and_reads_back_as_written(sidecar):
    data = tomllib.loads(sidecar.read_text(encoding="utf-8"))
    assert set(data) - NOTES <= _names(DocumentMeta), set(data) - _names(DocumentMeta)
    meta = read_meta(sidecar)
    for key, value in data.items():
        if key not in NOTES | {"linked"}:
            assert getattr(meta, key) == (tuple(value) if isinstance(value, list) else value), key
    assert isinstance(meta.aliases, tuple)   # frozen records hold no lists
    for written, linked in zip(data.get("linked", ()), meta.linked, strict=True):
        assert set(written) <= _names(LinkedDocument)
        assert (linked.id, linked.title, linked.aliases) == (written["id"], written["title"],
                                                            tuple(written.get("aliases", ())))


def test_every_key_of_the_english_table_is_a_field():
    data = tomllib.loads(ENGLISH_TABLE.read_text(encoding="utf-8"))
    assert set(data["vocabulary"]) <= _names(EnglishTable)
    for doc in data["documents"].values():
        assert set(doc) <= _names(DocumentEnglish), set(doc) - _names(DocumentEnglish)
    for topic in data["scope_topics"].values():
        assert set(topic) <= _names(TopicEnglish)
    table = read_english_table()
    assert table.qualifiers == data["vocabulary"]["qualifiers"] and table.draft_notice == data["vocabulary"]["draft_notice"]
    for doc_id, doc in data["documents"].items():
        assert dataclasses.asdict(table.documents[doc_id]) | doc == dataclasses.asdict(table.documents[doc_id])


def test_a_missing_english_table_reads_as_empty(tmp_path):
    assert read_english_table(tmp_path / "none.toml") == EnglishTable()


def test_document_facts_are_the_sidecar_metadata_and_one_draft_rule():
    doc = load_corpus()[0]
    facts = document_facts(doc)
    assert isinstance(facts, DocumentMeta)
    assert all(getattr(facts, name) == getattr(doc.meta, name) for name in _names(DocumentMeta))
    assert facts.effective_sentence and facts.is_draft == doc.meta.is_draft
    # what a draft is is said once, by DocumentMeta
    assert "is_draft" not in vars(DocumentFacts)


def test_a_required_field_missing_from_the_table_is_a_key_error():
    with pytest.raises(KeyError, match="title"):
        record(LinkedDocument, {"id": "x"})
    assert record(LinkedDocument, {"id": "x", "title": "t", "aliases": ["a"], "unknown": 1}).aliases == ("a",)
