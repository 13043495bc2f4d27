"""One client floods ``serve`` with maximum-length questions; how long does another client wait for a short one?

Issue #15 measured a 2,000-character question at 7.6 s (7.0 s of it embedding every token) and, with four such
requests in flight, a short new question from someone else waiting 13.3 s. This script starts
``policy-assistant serve --rate-limit off`` with ``POLICY_ASSISTANT_CACHE_SIZE=0`` (every question embedded, as
a new one would be) on a home with a prebuilt index, then on that one server:

1. **one long question alone**: ``--long`` sequential 2,000-character questions (random policy words, all new)
   from 127.0.0.1 — the work one question can now cost;
2. **baseline** (same run): the victim alone — ``--questions`` short eval questions, one after another, from
   127.0.0.2 (another loopback address, so the server sees another client);
3. **flood**: ``--flooders`` threads on 127.0.0.1 each sending 2,000-character questions back to back; after
   ``--warmup`` seconds the victim asks the same short questions again.

Printed: the victim's p50/p95/max alone and under the flood, their ratio, the flood's own latency and request
count, and the server's RSS. Target: the victim's p95 under the flood below 1 s.

Run: ``python benchmarks/flood.py [--quick] [--flooders 8] [--questions 40] [--warmup 5]``
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from benchmarks.common import (  # noqa: E402
    TargetCheck,
    index_home,
    load_note,
    load_questions,
    print_table,
    print_targets,
    stop_process,
    summarize,
    tree_rss_mb,
    write_results,
)
from benchmarks.concurrency import ServeUnavailable, start_server  # noqa: E402

TARGET_P95_MS = 1000.0
MAX_CHARS = 2000
FLOODER, VICTIM = "127.0.0.1", "127.0.0.2"
WORDS = ("我们公司主要从事数字创意内容研发，包括动漫游戏直播短视频虚拟现实头显工业设计数字孵化器园区平台出口，"
         "想了解能申请哪些资助奖励扶持补贴最高多少万元条件是什么需要什么材料什么时候申报，")


def long_question(rng: random.Random) -> str:
    """A new 2,000-character question (the longest accepted) of policy words in random order."""
    return "".join(rng.choice(WORDS) for _ in range(MAX_CHARS))


def client(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=300)


def ask(http: httpx.Client, port: int, question: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = http.post(f"http://127.0.0.1:{port}/api/ask", json={"question": question})
    return (time.perf_counter() - started) * 1000, response.status_code


def victim_pass(port: int, questions: list[str]) -> dict:
    latencies, errors = [], 0
    with client(VICTIM) as http:
        for question in questions:
            ms, status = ask(http, port, question)
            latencies.append(ms)
            errors += status != 200
    return {**{f"{k}_ms" if k != "n" else "n": v for k, v in summarize(latencies).items()}, "errors": errors}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 flooders, 15 victim questions, 3 long ones")
    parser.add_argument("--flooders", type=int, default=8, help="threads sending long questions (default 8)")
    parser.add_argument("--questions", type=int, default=40, help="victim questions per pass (default 40)")
    parser.add_argument("--long", type=int, default=5, help="long questions timed alone (default 5)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of flood before the victim starts")
    parser.add_argument("--ready-timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    if args.quick:
        args.flooders, args.questions, args.long = 4, 15, 3
    print(f"flood: {args.flooders} flooders × {MAX_CHARS}-character questions from {FLOODER}; victim "
          f"{args.questions} short questions from {VICTIM}; {load_note()}")
    rng = random.Random(15)
    victim_questions = [q.turns[-1] for q in load_questions(("dev",))][: args.questions]
    index = index_home()
    try:
        proc, port, ready_s = start_server(index, args.ready_timeout, rate_limit="off", cache=False)
    except ServeUnavailable as exc:
        print(f"\nserve not available — cannot run the flood benchmark:\n{exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    flood_ms: list[float] = []
    flood_errors: list[int] = []
    try:
        rss_start = tree_rss_mb(proc.pid)
        with client(FLOODER) as http:
            alone = [ask(http, port, long_question(rng)) for _ in range(args.long)]
        long_alone = summarize([ms for ms, _ in alone])
        print(f"one {MAX_CHARS}-character question alone: p50 {long_alone['p50']:.0f} ms, max {long_alone['max']:.0f} ms "
              f"(issue #15: 7,600 ms)", flush=True)
        baseline = victim_pass(port, victim_questions)
        print(f"baseline, victim alone: p50 {baseline['p50_ms']:.0f} ms, p95 {baseline['p95_ms']:.0f} ms", flush=True)

        def flooder(number: int) -> None:
            own = random.Random(number)
            with client(FLOODER) as http:
                while not stop.is_set():
                    ms, status = ask(http, port, long_question(own))
                    flood_ms.append(ms)
                    if status != 200:
                        flood_errors.append(status)

        threads = [threading.Thread(target=flooder, args=(n,), daemon=True) for n in range(args.flooders)]
        for thread in threads:
            thread.start()
        time.sleep(args.warmup)
        flooded = victim_pass(port, victim_questions)
        rss_flood = tree_rss_mb(proc.pid)
        stop.set()
        for thread in threads:
            thread.join(600)
        rss_end = tree_rss_mb(proc.pid)
    finally:
        stop.set()
        stop_process(proc)
    flood = summarize(flood_ms)
    ratio = flooded["p95_ms"] / baseline["p95_ms"] if baseline["p95_ms"] else float("nan")
    rows = [{"pass": "victim alone (baseline)", **baseline},
            {"pass": f"victim under {args.flooders} flooders", **flooded}]
    print_table(rows, ["pass", "n", "errors", "p50_ms", "p95_ms", "p99_ms", "max_ms"],
                title=f"POST /api/ask from {VICTIM}, short new questions (cache off)")
    print(f"victim p95 under the flood / alone: {ratio:.2f}×")
    print(f"flood: {len(flood_ms)} long questions answered, p50 {flood.get('p50', 0):.0f} ms, "
          f"p95 {flood.get('p95', 0):.0f} ms, non-200: {len(flood_errors)}")
    print(f"server RSS: {rss_start:.0f} MiB at start → {rss_flood:.0f} MiB under the flood → {rss_end:.0f} MiB after")
    checks = [TargetCheck("victim p95 under the flood", TARGET_P95_MS, flooded["p95_ms"], "ms"),
              TargetCheck("victim errors under the flood", 0, flooded["errors"], "")]
    print_targets(checks)
    print(load_note())
    write_results("flood", {"flooders": args.flooders, "long_question_chars": MAX_CHARS, "ready_seconds": ready_s,
                            "long_question_alone_ms": long_alone, "baseline": baseline, "flooded": flooded,
                            "p95_ratio": ratio, "flood_ms": flood, "flood_requests": len(flood_ms),
                            "flood_non_200": len(flood_errors),
                            "rss_mb": {"start": rss_start, "flood": rss_flood, "end": rss_end},
                            "targets": [c.row() for c in checks], "load_after": load_note()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
