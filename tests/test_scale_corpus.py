"""The many-document corpus of ``benchmarks/scale_corpus.py``: its documents, the benchmark's run, and answers over it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.clause_shapes import write_documents  # noqa: E402
from indexing.corpus import load_document  # noqa: E402


def test_synthetic_documents_are_seeded_parse_and_take_every_shape(tmp_path: Path) -> None:
    first = write_documents(tmp_path / "a", 30, seed=4)
    again = write_documents(tmp_path / "b", 30, seed=4)
    other = write_documents(tmp_path / "c", 3, seed=5)
    assert [d.text for d in first] == [d.text for d in again]
    assert [d.text for d in first[:3]] != [d.text for d in other]
    assert {d.style for d in first} == {"measures", "articles", "notice"}
    labels = set()
    for doc in first:
        parsed = load_document(tmp_path / "a" / f"{doc.id}.txt")
        assert parsed.meta.doc_number == doc.doc_number and parsed.meta.title == doc.title
        assert len(parsed.document.clauses) == len(doc.clause_titles), doc.id   # every clause the generator wrote
        labels |= {s.label[0] for s in parsed.document.clauses}
        if doc.style == "notice":   # items restart in every part: keys name the part
            assert all("/" in s.key for s in parsed.document.clauses)
    assert {"（", "第"} <= labels                 # （一）-style and 第X条-style clauses
    text = "".join(d.text for d in first)
    assert re.search(r"\d万元", text) and re.search(r"\d元", text) and re.search(r"\d%", text)
    assert "本本" not in text and "深圳市深圳" not in text


@pytest.mark.slow
def test_the_benchmark_runs_on_twenty_documents_and_prints_its_figures() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "scale_corpus.py"), "--docs", "20", "--reps", "1",
         "--questions", "12", "--no-results"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    assert "20 documents (16 synthetic)" in out
    assert "FastHashEmbedder" in out and "excluded" in out
    assert "warm ask by stage, ms — 20 documents (n=12)" in out
    assert "baseline: the bundled corpus alone (n=12)" in out
    assert "ratio 20 documents / bundled corpus alone" in out
    assert "total (no embedding)" in out and "warm ask p95, 20 documents" in out


@pytest.fixture(scope="module")
def many_documents(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The bundled measure, the three test documents and 16 synthetic documents, indexed with hashed vectors."""
    from benchmarks.common import FastHashEmbedder, index_home, open_assistant
    from benchmarks.scale_corpus import stage_corpus

    home = tmp_path_factory.mktemp("many-documents")
    synthetic = stage_corpus(home, 20, seed=0)
    index = index_home(embed_model="bench-hash", embedder=FastHashEmbedder(), home=home)
    return open_assistant(index, embedder=FastHashEmbedder()), synthetic


@pytest.mark.slow
def test_a_question_naming_one_of_twenty_documents_is_answered_from_it(many_documents) -> None:  # type: ignore[no-untyped-def]
    pa, synthetic = many_documents
    for doc in synthetic[:6]:
        label = {"measures": "（三）", "articles": "第三条", "notice": "一（二）"}[doc.style]
        answer = pa.ask(f"{doc.doc_number}{label}讲的是什么？").to_json()
        assert answer["citations"], doc.id
        assert {c["document"]["id"] for c in answer["citations"]} == {doc.id}
        assert doc.short_title in answer["answer"]


@pytest.mark.slow
def test_a_refusal_over_many_documents_names_a_few_and_counts_them(many_documents) -> None:  # type: ignore[no-untyped-def]
    pa, _ = many_documents
    answer = pa.ask("住房公积金怎么提取？").to_json()
    assert answer["refused"]
    looked_in = answer["answer"].split("没有涉及")[0]
    assert looked_in.endswith("等20份文件）") and looked_in.count("《") == 5


def test_name_index_finds_what_a_scan_of_every_name_finds(tmp_path: Path) -> None:
    """The index looks names up by their first characters; the result is the longest-first scan's."""
    from assistant.document_names import NameIndex, document_names
    from evals.documents_eval import fixture_document_ids, stage_documents
    from indexing.config import IndexConfig
    from indexing.corpus import BUNDLED_CORPUS
    from indexing.corpus_folders import load_effective_corpus
    from indexing.tokenize_zh import fold

    home = tmp_path / "home"
    stage_documents(home, fixture_document_ids())
    synthetic = write_documents(home / "corpus" / "documents", 12, seed=1)
    documents = load_effective_corpus(IndexConfig(home=home, corpus_dir=BUNDLED_CORPUS))

    def scan(text: str) -> list[str]:
        names = sorted(((n, d.meta.id) for d in documents for n in document_names(d)), key=lambda p: -len(p[0]))
        taken = [False] * len(text)
        found = []
        for name, doc_id in names:
            start = text.find(name)
            while start >= 0:
                if not any(taken[start:start + len(name)]):
                    taken[start:start + len(name)] = [True] * len(name)
                    found.append((start, doc_id))
                start = text.find(name, start + 1)
        return list(dict.fromkeys(d for _, d in sorted(found)))

    index = NameIndex(documents)
    texts = ["南山区若干措施第五条和资助办法第十条", "若干措施的有效期", "深文旅体〔2023〕47号的研发项目",
             f"{synthetic[0].doc_number}和{synthetic[3].short_title}哪个补得多", f"《{synthetic[5].title}》（二）",
             "公积金怎么提取", ""]
    for text in map(fold, texts):
        assert index.find(text) == scan(text), text
    assert index.find(fold(texts[0]))[0] == "nanshan-digital-economy-measures"
    assert index.find(fold(texts[3])) == [synthetic[0].id, synthetic[3].id]
