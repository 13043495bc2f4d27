"""The index on a real Chroma server (``chroma run`` on loopback): build, query, server down, server back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from chroma_fixtures import ChromaServer, running_chroma
from tiny_models import HashingEmbedder

from indexing.build import build_index
from indexing.config import IndexConfig
from indexing.index_files import StoreUnavailable, check_index, open_index
from indexing.vector_store import COLLECTION_PREFIX, ChromaVectorStore

pytestmark = pytest.mark.slow


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    with running_chroma(tmp_path) as server:
        yield server


def server_config(home: Path, url: str) -> IndexConfig:
    return IndexConfig(home=home, embed_model="fake-hashing", chroma_url=url)


def test_index_on_a_chroma_server_survives_a_restart(chroma_server: ChromaServer, isolated_home: Path) -> None:
    config = server_config(isolated_home, chroma_server.url)
    summary = build_index(config, embedder=HashingEmbedder())
    assert chroma_server.url in summary.chroma

    index = open_index(config, embedder=HashingEmbedder())
    assert index.manifest.chroma.url == chroma_server.url and index.manifest.chroma.path is None
    assert not list(index.index_dir.glob("chroma-*"))                  # no local store for a server build
    assert index.chunks[index.dense.search("建设数字创意孵化器", 1)[0].chunk_index].section_key == "十六"
    assert check_index(config, deep=True) == []

    chroma_server.stop()
    index.store.backoff = 0.05
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        index.dense.search("数字创意孵化器能资助几年", 1)
    assert chroma_server.url in str(info.value) and "3 次" in str(info.value)
    assert time.monotonic() - started < 10                             # bounded retries, no hang
    assert index.bm25.search("孵化器", 1)                              # BM25 still answers without the server
    assert chroma_server.url in check_index(config, deep=True)[0]

    chroma_server.start()
    hits = index.dense.search("建设数字创意孵化器", 1)
    assert index.chunks[hits[0].chunk_index].section_key == "十六"
    index.close()


def test_builds_on_a_server_never_clobber_the_live_collection(chroma_server: ChromaServer, isolated_home: Path) -> None:
    config = server_config(isolated_home, chroma_server.url)
    first = build_index(config, embedder=HashingEmbedder())
    reader = open_index(config, embedder=HashingEmbedder())
    second = build_index(config, embedder=HashingEmbedder())
    assert second.build_id != first.build_id and second.reused == second.chunks
    # The first build's collection is kept while a reader may still use it …
    assert reader.is_stale()
    assert reader.dense.search("孵化器", 1)
    third = build_index(config, embedder=HashingEmbedder())
    store = ChromaVectorStore("probe", url=chroma_server.url)
    names = sorted(n for n in store.list_collections() if n.startswith(COLLECTION_PREFIX))
    store.close()
    # … and pruned one build later: only the live and the previous build's collections remain.
    assert names == sorted([f"{COLLECTION_PREFIX}{second.build_id}", f"{COLLECTION_PREFIX}{third.build_id}"])
    reader.close()


def test_build_with_the_server_down_leaves_the_previous_index(chroma_server: ChromaServer, isolated_home: Path) -> None:
    config = server_config(isolated_home, chroma_server.url)
    first = build_index(config, embedder=HashingEmbedder())
    chroma_server.stop()
    with pytest.raises(StoreUnavailable):
        build_index(config, embedder=HashingEmbedder(), rebuild=True)
    assert not list(isolated_home.glob("index.tmp-*"))
    chroma_server.start()
    index = open_index(config, embedder=HashingEmbedder())
    assert index.manifest.build_id == first.build_id
    assert index.dense.search("孵化器", 1)
    index.close()
