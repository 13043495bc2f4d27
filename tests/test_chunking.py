"""Chunking on the real text: clause boundaries, sentence boundaries, offsets, headers, sizes."""

from __future__ import annotations

import pytest

from indexing.chunking import ChunkConfig, chunk_document, count_tokens, pack_sentences
from indexing.document import Sentence


@pytest.mark.parametrize("size,overlap", [(160, 30), (40, 10), (12, 0)])
def test_chunks_stay_inside_one_section_and_keep_offsets(knowledge, measure_text, size, overlap):
    document = knowledge.primary.document
    chunks = chunk_document(document, ChunkConfig(size, overlap), "数字创意若干措施")
    for chunk in chunks:
        section = document.section(chunk.section_key)
        assert section.start <= chunk.start < chunk.end <= section.end
        assert measure_text[chunk.start:chunk.end] == chunk.text
        assert not chunk.embed_as_query and chunk.embed_text.startswith("数字创意若干措施")
    covered = {c.section_key for c in chunks}
    assert covered == {s.key for s in document.sections}


def test_small_chunks_end_on_sentence_or_word_boundaries(knowledge):
    document = knowledge.primary.document
    chunks = chunk_document(document, ChunkConfig(40, 30))
    long_clause = [c for c in chunks if c.section_key == "二十一"]
    assert len(long_clause) > 1
    assert long_clause[0].text.startswith("（二十一）")
    sentence_ends = {s.end for s in document.section("二十一").sentences}
    assert all(c.end in sentence_ends for c in long_clause)
    # consecutive chunks overlap by whole sentences when one fits in the overlap budget
    starts = {s.start for s in document.section("二十一").sentences}
    overlapping = [(a, b) for a, b in zip(long_clause, long_clause[1:], strict=False) if b.start < a.end]
    assert overlapping and all(b.start in starts for _, b in overlapping)


def test_header_names_document_chapter_and_clause(knowledge):
    chunk = next(c for c in chunk_document(knowledge.primary.document, ChunkConfig(), "数字创意若干措施")
                 if c.section_key == "十六")
    assert chunk.header == "数字创意若干措施 · 七、加快推进创新体系建设 · （十六）建设数字创意孵化器"


def test_pack_sentences_overlap_and_progress():
    sentences = [Sentence(f"句子{i}。", i * 10, i * 10 + 4) for i in range(6)]
    groups = pack_sentences(sentences, ChunkConfig(8, 2), measure=lambda text: 3)
    assert groups[0] == (0, 1)
    assert all(b[0] > a[0] for a, b in zip(groups, groups[1:], strict=False))
    assert groups[-1][1] == 5


def test_config_is_validated():
    with pytest.raises(ValueError, match="overlap"):
        ChunkConfig(50, 50)
    with pytest.raises(ValueError, match="at least"):
        ChunkConfig(4, 0)


def test_user_dictionary_keeps_domain_words_whole():
    from indexing.tokenize_zh import segment, tokenize

    assert "经认定" in segment("对经认定的优秀数字装备研发项目")
    assert "众创空间" in tokenize("孵化器和众创空间")
    assert count_tokens("第五条") >= 1 and any("第" in t for t in tokenize("第五条"))
