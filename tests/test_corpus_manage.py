"""Managing the corpus with the fictional test documents: list, remove (atomically), ``--doc`` filters, health, admin."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hashing_index import FAKE_MODEL, build
from tiny_models import HashingEmbedder

from indexing.config import IndexConfig
from indexing.document_list import list_documents
from indexing.removal import JOURNAL_PREFIX, RemovalRefused

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ROOT / "evals" / "documents"
NANSHAN = DOCUMENTS / "nanshan-digital-economy-measures" / "nanshan-digital-economy-measures.txt"
FUND = DOCUMENTS / "fund-measures-standin" / "fund-measures-standin.txt"
PRIMARY = "sz-digital-creative-2022"
NANSHAN_ID = "nanshan-digital-economy-measures"
FUND_ID = "fund-measures-standin"
# What the bundled measure answers, before and after another document comes and goes.
BUNDLED_QUESTION = "建设孵化器最多能拿多少资助？"
# The Nanshan text's （十四）: up to 1000万 for a new national laboratory (the bundled measure's （十一） pays 200万).
NANSHAN_QUESTION = "新获批建设国家级重点实验室，最高能拿多少资助？"


def open_assistant(config: IndexConfig):  # type: ignore[no-untyped-def]
    from assistant.opening import AssistantParts
    from assistant.service import PolicyAssistant

    return PolicyAssistant.open(index_config=config, parts=AssistantParts(embedder=HashingEmbedder()))


def entries(config: IndexConfig) -> dict[str, dict]:
    return {e.id: e.to_json() for e in list_documents(config)}


def bundled_figures(config: IndexConfig) -> tuple:
    """The bundled measure's row of the table, and its answer to one question (cited sections and cap records)."""
    answer = open_assistant(config).ask([BUNDLED_QUESTION])
    return (entries(config)[PRIMARY],
            [(c.doc, c.section) for c in answer.citations], [(a.doc_id, a.clause, a.amount_wan) for a in answer.caps])


def test_add_list_ask_from_it_remove_and_the_bundled_measure_is_unchanged(fake_index: IndexConfig) -> None:
    before = bundled_figures(fake_index)
    assert before[1] == [(PRIMARY, "十六")] and before[2] == [(PRIMARY, "十六", 200)]

    build(fake_index, add_files=[NANSHAN])
    table = entries(fake_index)
    assert list(table) == [PRIMARY, NANSHAN_ID]
    row = table[NANSHAN_ID]
    assert (row["source"], row["removable"], row["status"], row["doc_number"]) == ("added", True, "试行", "深南府规〔2023〕6号")
    assert row["clauses"] == 29 and row["awards"] > 0
    assert row["index_state"] == "indexed" and row["vectors_current"] and row["indexed_chunks"] >= row["sections"]
    assert (table[PRIMARY]["source"], table[PRIMARY]["removable"]) == ("bundled", False)

    assistant = open_assistant(fake_index)
    answer = assistant.ask([NANSHAN_QUESTION], doc=NANSHAN_ID)
    assert answer.citations and {c.doc for c in answer.citations} == {NANSHAN_ID}
    assert answer.citations[0].section == "十四" and "国家级重点实验室" in answer.citations[0].quote
    assert (NANSHAN_ID, "十四", 1000) in [(a.doc_id, a.clause, a.amount_wan) for a in answer.caps]
    # Without a filter every indexed document answers, so the lab question finds the district measure; filtered to
    # the bundled measure, it cites nothing else.
    assert NANSHAN_ID in {c.doc for c in assistant.ask([NANSHAN_QUESTION]).citations}
    assert {c.doc for c in assistant.ask([NANSHAN_QUESTION], doc=PRIMARY).citations} <= {PRIMARY}
    hits = assistant.search("办公用房补贴", k=8, doc=NANSHAN_ID).results
    assert hits and {h.view.doc for h in hits} == {NANSHAN_ID}
    assert assistant.search("第八条", k=1, doc=NANSHAN_ID).results[0].view.title == "支持企业租用办公用房"

    summary = build(fake_index, remove_ids=[NANSHAN_ID])
    assert summary.removed == (NANSHAN_ID,) and summary.documents == 1 and summary.clauses == 26
    assert list(entries(fake_index)) == [PRIMARY]
    assert not list((fake_index.home / "corpus" / "documents").iterdir())
    assert not list(fake_index.home.glob(JOURNAL_PREFIX + "*"))
    assert bundled_figures(fake_index) == before


def test_removing_a_linked_document_marks_the_link_not_in_corpus_again(fake_index: IndexConfig) -> None:
    build(fake_index, add_files=[FUND])
    table = entries(fake_index)
    # The bundled measure's [[linked]] names the fund measures by title; the stand-in carries that title.
    fund_link = next(link for link in table[PRIMARY]["linked"] if link["id"] == "sz-cultural-industry-fund-measures")
    assert fund_link["in_corpus"] and table[FUND_ID]["linked_from"] == [PRIMARY]
    kb = open_assistant(fake_index).knowledge
    link = next(d for d in kb.primary.meta.linked if d.id == "sz-cultural-industry-fund-measures")
    assert kb.has_document(link)

    build(fake_index, remove_ids=[FUND_ID])
    fund_link = next(link for link in entries(fake_index)[PRIMARY]["linked"] if link["id"] == "sz-cultural-industry-fund-measures")
    assert not fund_link["in_corpus"]
    assert not open_assistant(fake_index).knowledge.has_document(link)


def test_the_bundled_measure_and_unknown_ids_are_refused_cleanly(fake_index: IndexConfig, capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.cli import main

    build(fake_index, add_files=[NANSHAN])
    built = json.loads((fake_index.index_dir / "manifest.json").read_text(encoding="utf-8"))["build_id"]
    with pytest.raises(RemovalRefused, match="主文档"):
        build(fake_index, remove_ids=[PRIMARY])
    assert main(["index", "--remove", PRIMARY, "--embed-model", FAKE_MODEL, "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and PRIMARY in err and "不能删除" in err and "没有改动" in err
    assert main(["index", "--remove", "no-such-document", "--embed-model", FAKE_MODEL, "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert "no-such-document" in err and f"{PRIMARY}、{NANSHAN_ID}" in err
    assert main(["index", "--list", "--remove", NANSHAN_ID]) == 2
    capsys.readouterr()
    # Nothing changed: the same build is live and both documents are listed.
    assert json.loads((fake_index.index_dir / "manifest.json").read_text(encoding="utf-8"))["build_id"] == built
    assert main(["index", "--list", "--json", "--embed-model", FAKE_MODEL]) == 0
    listed = json.loads(capsys.readouterr().out)["documents"]
    assert [(d["id"], d["index_state"]) for d in listed] == [(PRIMARY, "indexed"), (NANSHAN_ID, "indexed")]


def test_a_crash_before_the_swap_leaves_the_old_index_and_corpus(fake_index: IndexConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexing.vector_store import ChromaVectorStore

    build(fake_index, add_files=[NANSHAN])
    before = entries(fake_index)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated crash while writing vectors")

    monkeypatch.setattr(ChromaVectorStore, "add", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        build(fake_index, remove_ids=[NANSHAN_ID])
    monkeypatch.undo()
    assert entries(fake_index) == before
    answer = open_assistant(fake_index).ask([NANSHAN_QUESTION], doc=NANSHAN_ID)
    assert {c.doc for c in answer.citations} == {NANSHAN_ID}


def test_a_crash_between_the_renames_keeps_the_document(fake_index: IndexConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    build(fake_index, add_files=[NANSHAN])
    real_replace = os.replace

    def replace_then_die(src: str, dst: str) -> None:
        if Path(src).name.startswith("index.tmp-"):
            raise OSError("simulated power cut before the new index was moved in")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_die)
    with pytest.raises(OSError, match="power cut"):
        build(fake_index, remove_ids=[NANSHAN_ID])
    monkeypatch.setattr(os, "replace", real_replace)
    # The previous index (with the document) is aside and still answers; the journal names a build never live.
    assert open_assistant(fake_index).ask([NANSHAN_QUESTION], doc=NANSHAN_ID).citations
    assert list(fake_index.home.glob(JOURNAL_PREFIX + "*"))
    summary = build(fake_index)
    assert summary.documents == 2 and not list(fake_index.home.glob(JOURNAL_PREFIX + "*"))
    assert entries(fake_index)[NANSHAN_ID]["index_state"] == "indexed"


def test_a_crash_after_the_swap_is_finished_by_the_next_build(fake_index: IndexConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    import indexing.build

    build(fake_index, add_files=[NANSHAN])

    def die(*args: object) -> None:
        raise KeyboardInterrupt("killed right after the swap")

    monkeypatch.setattr(indexing.build, "complete_removals", die)
    with pytest.raises(KeyboardInterrupt):
        build(fake_index, remove_ids=[NANSHAN_ID])
    monkeypatch.undo()
    # The index without the document is live; its file is still in the corpus: listed as not indexed, harmless.
    assert entries(fake_index)[NANSHAN_ID]["index_state"] == "not-indexed"
    assistant = open_assistant(fake_index)
    assert assistant.ask([BUNDLED_QUESTION]).citations[0].section == "十六"
    assert assistant.search("办公用房补贴", k=5, doc=NANSHAN_ID).results == []
    summary = build(fake_index)
    assert summary.documents == 1 and list(entries(fake_index)) == [PRIMARY]
    assert not (fake_index.home / "corpus" / "documents" / NANSHAN.name).exists()
    assert not list(fake_index.home.glob(JOURNAL_PREFIX + "*"))


def test_api_health_lists_documents_and_doc_filters_search_and_ask(fake_index: IndexConfig) -> None:
    from starlette.testclient import TestClient

    from ui.config import ServeConfig
    from ui.holder import AssistantHolder
    from ui.server import create_app

    build(fake_index, add_files=[NANSHAN])
    holder = AssistantHolder(opener=lambda: open_assistant(fake_index))
    holder.load()
    client = TestClient(create_app(ServeConfig(home=fake_index.home, port=0, rate_limit="off"), holder=holder, load=False))

    health = client.get("/api/health")
    assert health.status_code == 200
    documents = {d["id"]: d for d in health.json()["documents"]}
    assert list(documents) == [PRIMARY, NANSHAN_ID]
    for doc in documents.values():
        assert doc["index_state"] == "indexed" and doc["vectors_current"] and doc["indexed_chunks"] > 0
        assert doc["sections"] > 0 and doc["title"] and doc["status"]
    assert documents[NANSHAN_ID]["awards"] == entries(fake_index)[NANSHAN_ID]["awards"]

    found = client.post("/api/search", json={"query": "办公用房补贴", "doc": NANSHAN_ID}).json()["results"]
    assert found and {r["doc"] for r in found} == {NANSHAN_ID}
    got = client.get("/api/search", params={"q": "办公用房补贴", "doc": NANSHAN_ID}).json()["results"]
    assert [r["section"] for r in got] == [r["section"] for r in found]
    answer = client.post("/api/ask", json={"question": NANSHAN_QUESTION, "doc": NANSHAN_ID}).json()
    assert answer["citations"] and {c["doc"] for c in answer["citations"]} == {NANSHAN_ID}
    for route, body in (("/api/ask", {"question": NANSHAN_QUESTION, "doc": "nope"}),
                        ("/api/search", {"query": "办公用房", "doc": "nope"})):
        refused = client.post(route, json=body)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "unknown_document"
        assert "nope" in refused.json()["error"]["message"] and NANSHAN_ID in refused.json()["error"]["message"]
    bad = client.post("/api/ask", json={"question": NANSHAN_QUESTION, "doc": 3})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_type"


def test_cli_doc_filter_and_unknown_doc(fake_index: IndexConfig, capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.cli import main

    build(fake_index, add_files=[NANSHAN])
    assert main(["search", "办公用房补贴", "--doc", NANSHAN_ID, "--json", "--embed-model", FAKE_MODEL,
                 "--retriever", "bm25"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert results and {r["doc"] for r in results} == {NANSHAN_ID}
    assert main(["ask", "办公用房补贴", "--doc", "nope", "--embed-model", FAKE_MODEL, "--retriever", "bm25"]) == 2
    assert "nope" in capsys.readouterr().err


def _admin_functions(config: IndexConfig, monkeypatch: pytest.MonkeyPatch, token: str | None = None):  # type: ignore[no-untyped-def]
    """The admin tab's event functions by name, over a holder of the real assistant (fake embedder)."""
    import indexing.build
    from ui.app import build_blocks
    from ui.config import ServeConfig
    from ui.holder import AssistantHolder

    # The tab builds with the configured model: here the fake one the index was built with.
    monkeypatch.setenv("POLICY_ASSISTANT_EMBED_MODEL", FAKE_MODEL)
    monkeypatch.setattr(indexing.build, "make_embedder", lambda name: HashingEmbedder())
    holder = AssistantHolder(opener=lambda: open_assistant(config))
    holder.load()
    serve = ServeConfig(home=config.home, port=0, admin=True, admin_token=token)
    blocks = build_blocks(holder, serve)
    return {f.api_name: f.fn for f in blocks.fns.values()}, holder


class _Request:
    """What the admin functions read of a Gradio request: the headers (no session cookie here)."""

    headers: dict[str, str] = {}


def test_admin_lists_documents_and_removes_an_added_one_after_confirmation(
    fake_index: IndexConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gradio as gr

    build(fake_index, add_files=[NANSHAN])
    functions, holder = _admin_functions(fake_index, monkeypatch)
    status = functions["status_html"](_Request())
    assert "语料中的文档" in status and NANSHAN_ID in status and PRIMARY in status and "已入索引" in status
    offered = functions["removable_documents"](_Request())
    assert [value for _, value in offered["choices"]] == [NANSHAN_ID]   # the bundled measure is not offered

    remove = functions["remove_document"]
    with pytest.raises(gr.Error, match="确认删除"):
        remove(NANSHAN_ID, False, _Request())
    assert list(entries(fake_index)) == [PRIMARY, NANSHAN_ID]
    message, status, offered, confirmed = remove(PRIMARY, True, _Request())   # not offered, but sent anyway
    assert "未删除" in message and "不能删除" in message and list(entries(fake_index)) == [PRIMARY, NANSHAN_ID]

    message, status, offered, confirmed = remove(NANSHAN_ID, True, _Request())
    assert f"已删除：{NANSHAN_ID}" in message.replace("\\", "") and confirmed is False   # Markdown-escaped
    assert list(entries(fake_index)) == [PRIMARY] and offered["choices"] == []
    assert NANSHAN_ID not in status
    assert [d["id"] for d in holder.health()[1]["documents"]] == [PRIMARY]   # the reloaded assistant


def test_admin_remove_needs_the_token_when_one_is_set(fake_index: IndexConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    import gradio as gr

    build(fake_index, add_files=[NANSHAN])
    functions, _ = _admin_functions(fake_index, monkeypatch, token="s3cret-token")
    for name, args in (("remove_document", (NANSHAN_ID, True)), ("removable_documents", ())):
        with pytest.raises(gr.Error, match="令牌"):
            functions[name](*args, _Request())
    assert list(entries(fake_index)) == [PRIMARY, NANSHAN_ID]


@pytest.mark.parametrize("backend", ["memory", "chroma"])
def test_each_store_searches_only_the_filtered_documents_chunks(fake_index: IndexConfig, backend: str) -> None:
    """The filter reaches the stores: the document's own best chunks, in the order the whole index ranks them."""
    from indexing.index_files import open_index
    from indexing.retrieval.hybrid import HybridRetriever

    build(fake_index, add_files=[NANSHAN])
    index = open_index(fake_index, embedder=HashingEmbedder(), dense_backend=backend)  # type: ignore[arg-type]
    try:
        within = HybridRetriever(index.chunks, index.bm25, index.dense).document_filter(NANSHAN_ID)
        assert within is not None and {index.chunks[i].doc_id for i in within.rows} == {NANSHAN_ID}
        query = "国家级重点实验室资助"
        dense = index.dense.search_many([query], 5, within=within)[0]
        everything = index.dense.search_many([query], len(index.chunks))[0]
        assert [h.chunk_index for h in dense] == [
            h.chunk_index for h in everything if index.chunks[h.chunk_index].doc_id == NANSHAN_ID][:5]
        words = index.bm25.search_weighted([(query, 1.0)], 5, within=within)
        assert words and {index.chunks[h.chunk_index].doc_id for h in words} == {NANSHAN_ID}
        assert index.chunks[words[0].chunk_index].section_key == "十四"
    finally:
        index.close()
