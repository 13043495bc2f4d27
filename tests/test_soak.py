"""Soak: 64 concurrent clients on loopback for POLICY_ASSISTANT_SOAK_SECONDS (default 30) against one ``serve``.

The clients mix /api/ask, /api/search, follow-up conversations (``turns``) and /api/feedback. Afterwards:
no 5xx (in fact nothing but 200/201), the server's resident memory grew by less than ``RSS_GROWTH_LIMIT_MB``,
every feedback row the server acknowledged is in the SQLite file, and the server is still healthy. The
figures (requests, throughput, p50/p95 per kind, errors, RSS) are printed for the CI log. The server runs
with a rate limit far above what 64 clients can reach, so that the limiter is exercised but never refuses.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import sqlite3
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import pytest

pytest_plugins = ("ui_fixtures",)  # session fixtures (built_home); helpers imported lazily

CLIENTS = 64
# 30 s in the test run: CI runs the tests beside the leave-one-writer-out gate on two cores, and every second of a
# soak that saturates both is a second the gate waits; longer soaks (the README's figures are of 60 s) by the variable.
SOAK_SECONDS = float(os.environ.get("POLICY_ASSISTANT_SOAK_SECONDS") or 30)
RSS_GROWTH_LIMIT_MB = 150
MIX = (("ask", 0.40), ("search", 0.25), ("turns", 0.20), ("feedback", 0.15))
QUESTIONS = [
    "我们是做孵化器的，最多能补多少？", "动漫企业有什么支持？", "游戏出海有奖励吗", "第十六条", "VR头显研发能补多少",
    "电竞赛事有没有资助", "数字创意产业园区认定奖励", "这个措施有效期多久", "怎么申请", "我们做数字文化装备，有什么政策",
]
CONVERSATIONS = [
    ["我们是做孵化器的，最多能补多少？", "有期限吗？"],
    ["动漫企业有什么支持？", "那游戏呢？", "最多多少钱？"],
    ["VR头显研发能补多少", "应用推广呢？"],
    ["第十六条", "需要什么条件？"],
]
SEARCHES = ["孵化器上限", "16", "游戏出海", "电竞", "动漫", "最高资助", "有效期"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def client_loop(url: str, number: int, deadline: float, results: list[tuple[str, int, float]],
                      feedback: dict[int, str]) -> None:
    rng = random.Random(number)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        sent = 0
        while time.monotonic() < deadline:
            kind = rng.choices(kinds, weights)[0]
            started = time.perf_counter()
            marker = ""
            if kind == "ask":
                response = await client.post("/api/ask", json={"question": rng.choice(QUESTIONS), "id": f"c{number}-{sent}"})
            elif kind == "search":
                response = await client.post("/api/search", json={"query": rng.choice(SEARCHES), "k": 5})
            elif kind == "turns":
                conversation = rng.choice(CONVERSATIONS)
                response = await client.post("/api/ask", json={"turns": conversation[: rng.randint(2, len(conversation))]})
            else:
                marker = f"soak-{number}-{sent}"
                response = await client.post("/api/feedback", json={
                    "rating": rng.choice(["up", "down"]), "question": rng.choice(QUESTIONS), "comment": marker,
                    "answer": {"id": marker, "answer": "最高200万元"}})
            elapsed = time.perf_counter() - started
            results.append((kind, response.status_code, elapsed))
            if kind == "feedback" and response.status_code == 201:
                feedback[int(response.json()["id"])] = marker
            sent += 1


async def sample_rss(pid: int, deadline: float, samples: list[tuple[float, float]]) -> None:
    start = time.monotonic()
    while time.monotonic() < deadline:
        samples.append((time.monotonic() - start, rss_mb(pid)))
        await asyncio.sleep(1.0)


async def soak(url: str, pid: int, seconds: float) -> tuple[list[tuple[str, int, float]], dict[int, str], list[tuple[float, float]]]:
    results: list[tuple[str, int, float]] = []
    feedback: dict[int, str] = {}
    samples: list[tuple[float, float]] = []
    deadline = time.monotonic() + seconds
    await asyncio.gather(sample_rss(pid, deadline, samples),
                         *(client_loop(url, n, deadline, results, feedback) for n in range(CLIENTS)))
    return results, feedback, samples


@pytest.mark.slow
def test_soak_64_clients(built_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ui_fixtures import start_server, stop_server

    home = tmp_path / "soak-home"
    shutil.copytree(built_home / "index", home / "index")
    server = start_server(home, "--rate-limit", "1000000/minute")
    try:
        pid = server.process.pid
        # Warm every path once (model, Chroma, jieba, the threadpool) before the baseline is taken.
        warm = httpx.Client(base_url=server.url, timeout=120)
        for _ in range(3):
            assert warm.post("/api/ask", json={"question": QUESTIONS[0]}).status_code == 200
            assert warm.post("/api/ask", json={"turns": CONVERSATIONS[0]}).status_code == 200
            assert warm.post("/api/search", json={"query": SEARCHES[0]}).status_code == 200
        warm.close()
        rss_before = rss_mb(pid)

        started = time.monotonic()
        results, feedback, samples = asyncio.run(soak(server.url, pid, SOAK_SECONDS))
        wall = time.monotonic() - started
        rss_after = rss_mb(pid)
        health = httpx.get(server.api("api/health"), timeout=60)
        log = server.log_tail(500_000)
    finally:
        stop_server(server)

    statuses = Counter(status for _, status, _ in results)
    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, _, elapsed in results:
        by_kind[kind].append(elapsed * 1000)
    all_ms = [ms for values in by_kind.values() for ms in values]
    half_rss = next((r for t, r in samples if t >= SOAK_SECONDS / 2), rss_after)
    lines = [
        f"[soak] {CLIENTS} clients × {SOAK_SECONDS:.0f} s (wall {wall:.1f} s): {len(results)} requests, "
        f"{len(results) / wall:.1f} req/s; statuses {dict(sorted(statuses.items()))}; "
        f"5xx {sum(n for s, n in statuses.items() if s >= 500)}",
        f"[soak] latency all: p50 {statistics.median(all_ms):.0f} ms, p95 {percentile(all_ms, 0.95):.0f} ms, "
        f"max {max(all_ms):.0f} ms",
        *(f"[soak]   {kind:8s} n={len(v):5d}  p50 {statistics.median(v):6.0f} ms  p95 {percentile(v, 0.95):6.0f} ms"
          for kind, v in sorted(by_kind.items())),
        f"[soak] server RSS {rss_before:.0f} MB → {rss_after:.0f} MB (growth {rss_after - rss_before:+.0f} MB, "
        f"bound {RSS_GROWTH_LIMIT_MB} MB; at half time {half_rss:.0f} MB, peak {max(r for _, r in samples):.0f} MB); "
        f"feedback rows acknowledged {len(feedback)}",
    ]
    with capsys.disabled():
        print("\n" + "\n".join(lines))

    assert results and set(by_kind) == {k for k, _ in MIX}
    assert not [s for s in statuses if s >= 500], statuses
    assert set(statuses) <= {200, 201}, statuses                 # no 4xx either: 429 would mean the limit leaked
    assert health.status_code == 200, health.text
    assert "Traceback" not in log
    assert rss_after - rss_before < RSS_GROWTH_LIMIT_MB
    connection = sqlite3.connect(home / "feedback.sqlite3")
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = dict(connection.execute("SELECT id, comment FROM feedback WHERE comment LIKE 'soak-%'").fetchall())
    finally:
        connection.close()
    assert {i: stored.get(i) for i in feedback} == feedback
