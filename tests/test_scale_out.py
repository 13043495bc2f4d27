"""Scaling out: several ``serve`` processes answer from one index whose vectors are on one Chroma server.

Two processes share one home (the same ``index/`` folder: manifest, chunks, BM25, read-only while serving); a third
stands for a second machine, with its own home holding a copy of that folder. All three read the vectors from the
same Chroma collection and answer alike; after ``index --rebuild`` the two on the shared home switch to the new
build, and the copy keeps answering from the previous collection, which the server keeps until the next build.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from chroma_fixtures import running_chroma
from ui_fixtures import ROOT, RunningServer, server_env, start_server, stop_server, wait_until_ready

pytestmark = pytest.mark.slow

CONVERSATIONS = (
    ["建设数字创意孵化器能拿多少资助？"],
    ["第十九条讲什么"],
    ["我们做游戏出海，有什么支持？"],
    ["孵化器有什么支持？", "资助期限多长？"],
)


def build(home: Path, url: str, *extra: str) -> None:
    run = subprocess.run([sys.executable, "-m", "assistant", "index", "--chroma-url", url, "--quiet", *extra],
                         cwd=ROOT, env=server_env(home), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]


def answers(server: RunningServer) -> list[tuple[list[tuple[str, str]], str]]:
    """Each conversation's citations (document, section) and answer text from one server's ``POST /api/ask``."""
    out = []
    for turns in CONVERSATIONS:
        response = httpx.post(server.api("api/ask"), json={"turns": turns}, timeout=30)
        assert response.status_code == 200, (response.text[:500], server.log_tail())
        body = response.json()
        out.append(([(c["document"]["id"], c["section"]) for c in body["citations"]], body["answer"]))
    return out


def health(server: RunningServer) -> dict:
    response = httpx.get(server.api("api/health"), timeout=10)
    assert response.status_code == 200, response.text[:500]
    return response.json()


def test_serve_processes_share_one_chroma_server_and_one_index(tmp_path: Path) -> None:
    with running_chroma(tmp_path, skip_if_it_fails=True) as chroma:
        home, other = tmp_path / "home", tmp_path / "second-machine"
        build(home, chroma.url)
        assert not list((home / "index").glob("chroma-*"))   # the vectors are on the server only
        shutil.copytree(home / "index", other / "index")     # what a second machine needs of the home
        env = {"POLICY_ASSISTANT_CHROMA_URL": chroma.url}
        servers = [start_server(home, wait_ready=False, env=env), start_server(home, wait_ready=False, env=env),
                   start_server(other, wait_ready=False, env=env)]
        try:
            for server in servers:
                wait_until_ready(server)
            statuses = [health(s) for s in servers]
            build_id = statuses[0]["build_id"]
            assert {s["build_id"] for s in statuses} == {build_id}
            assert {(s["vector_store"]["kind"], s["vector_store"]["collection"]) for s in statuses} == {
                ("server", f"policy-chunks-{build_id}")}

            first = answers(servers[0])
            assert first[0][0] == [("sz-digital-creative-2022", "十六")] and "200万元" in first[0][1]
            assert first[1][0][0] == ("sz-digital-creative-2022", "十九")
            assert all(citations for citations, _ in first)
            assert answers(servers[1]) == first
            assert answers(servers[2]) == first

            # A new build on the shared home: both of its servers reload it; the second machine's copy still
            # answers from the previous collection (kept on the server until the next build).
            build(home, chroma.url, "--rebuild")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and {health(s)["build_id"] for s in servers[:2]} == {build_id}:
                time.sleep(0.5)
            rebuilt = {health(s)["build_id"] for s in servers[:2]}
            assert len(rebuilt) == 1 and build_id not in rebuilt
            assert health(servers[2])["build_id"] == build_id
            for server in servers:
                assert answers(server) == first
        finally:
            for server in servers:
                stop_server(server)
