"""N concurrent clients on ``POST /api/ask`` of ``policy-assistant serve`` on loopback: throughput, latency, errors.

The script starts ``policy-assistant serve --port P --no-build`` in a subprocess on a home with a prebuilt
index, waits for ``/api/health`` to say 200, sends every eval question once in sequence (the uncached service
time: each question's vector is computed), then runs closed-loop levels of N = 1, 8, 32, 64 clients. Each
client keeps one HTTP connection and sends its questions one after another; a level stops after
``--requests`` requests per client or ``--max-seconds``, whichever comes first. Questions cycle through the
eval set (so after the sequential pass every question was seen before: its vector and its decision are cached,
like a hotline hearing the same things). A second server with ``POLICY_ASSISTANT_CACHE_SIZE=0`` then runs the
same levels with every request embedded and retrieved ("new questions"). Baseline, same run, same clients:
``GET /api/health`` at each N — the HTTP stack's own cost. Server RSS is read from /proc after each level.

serve's per-client rate limit is switched off (``--rate-limit off``): every client here is 127.0.0.1, so the
default 60/minute would turn the test into a 429 count (``--rate-limit default`` keeps it, to test exactly that).
If the server cannot start (UI not finished, import error, no index) the script stops with a clear message
and exit code 2.

Run: ``python benchmarks/concurrency.py [--quick] [--levels 1,8,32,64] [--requests 8] [--max-seconds 60]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    ROOT,
    VENV_BIN,
    TargetCheck,
    free_port,
    http_get_json,
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

TARGET_P95_MS = 300.0
TARGET_RSS_MB = 1024.0


class ServeUnavailable(RuntimeError):
    """The server could not be started or never became ready."""


def start_server(index, timeout: float, rate_limit: str | None = "off", cache: bool = True) -> tuple[subprocess.Popen, int, float]:  # type: ignore[no-untyped-def]
    """Start serve; the per-client rate limit is off by default (all clients here share 127.0.0.1).

    ``cache=False`` starts it with ``POLICY_ASSISTANT_CACHE_SIZE=0``: every request is embedded and retrieved.
    """
    if not (ROOT / "ui" / "command.py").is_file():
        raise ServeUnavailable("ui/command.py does not exist yet (the UI is still being written)")
    port = free_port()
    log_path = Path(index.home) / f"serve-{port}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    cmd = [str(VENV_BIN / "policy-assistant"), "serve", "--port", str(port), "--no-browser", "--no-build"]
    if rate_limit is not None:
        cmd += ["--rate-limit", rate_limit]
    env = index.env()
    if not cache:
        env["POLICY_ASSISTANT_CACHE_SIZE"] = "0"
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    started = time.perf_counter()
    body = None
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            log.close()
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-1200:]
            raise ServeUnavailable(f"serve exited with code {proc.returncode}:\n{tail}")
        status, body = http_get_json(f"http://127.0.0.1:{port}/api/health", timeout=1.0)
        if status == 200:
            return proc, port, time.perf_counter() - started
        time.sleep(0.1)
    stop_process(proc)
    raise ServeUnavailable(f"/api/health did not return 200 within {timeout:.0f}s (last body: {body})")


def request(conn: http.client.HTTPConnection, method: str, path: str, payload: dict | None) -> tuple[int, bytes]:
    body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def run_level(port: int, clients: int, per_client: int, max_seconds: float, questions, path: str) -> dict:  # type: ignore[no-untyped-def]
    """Closed loop: ``clients`` threads, each with its own connection, ``per_client`` requests or until the deadline."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    deadline_holder: list[float] = []

    def client(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        barrier.wait()
        for i in range(per_client):
            if time.perf_counter() > deadline_holder[0]:
                break
            question = questions[(number * per_client + i) % len(questions)]
            payload = {"turns": question.turns, "id": question.id} if path == "/api/ask" else None
            t0 = time.perf_counter()
            try:
                status, body = request(conn, "POST" if payload else "GET", path, payload)
                ok = status == 200
                detail = f"HTTP {status}: {body.decode('utf-8', 'replace')[:100]}" if not ok else ""
            except (OSError, http.client.HTTPException) as exc:
                ok, detail = False, f"{type(exc).__name__}: {exc}"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                latencies.append(elapsed)
                if not ok:
                    errors.append(detail)
        conn.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    deadline_holder.append(time.perf_counter() + max_seconds)
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join(max_seconds + 120)
    wall = time.perf_counter() - started
    stats = summarize(latencies)
    return {"clients": clients, "requests": len(latencies), "errors": len(errors), "wall_s": wall,
            "throughput_rps": len(latencies) / wall if wall else 0.0, "p50_ms": stats.get("p50"),
            "p95_ms": stats.get("p95"), "p99_ms": stats.get("p99"), "max_ms": stats.get("max"),
            "errors_by_kind": {k: sum(1 for e in errors if e.split(":")[0] == k) for k in {e.split(":")[0] for e in errors}},
            "error_samples": errors[:3]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="levels 1 and 8, 3 requests per client")
    parser.add_argument("--levels", default="1,8,32,64", help="client counts (default 1,8,32,64)")
    parser.add_argument("--requests", type=int, default=8, help="requests per client per level (default 8)")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time bound per level (default 60)")
    parser.add_argument("--ready-timeout", type=float, default=120.0, help="seconds to wait for /api/health")
    parser.add_argument("--no-warm-pass", action="store_true", help="skip the sequential pass over all questions")
    parser.add_argument("--no-uncached", action="store_true",
                        help="skip the second server with caches off (every request a new question)")
    parser.add_argument("--rate-limit", default="off",
                        help="serve --rate-limit (default off: every client here is 127.0.0.1; 'default' keeps serve's)")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    per_client = args.requests
    if args.quick:
        levels, per_client = [1, 8], 3
    if max(levels) > 256:
        parser.error("at most 256 clients (this is a loopback test on a small machine)")
    print(f"concurrency: levels {levels}, ≤{per_client} requests/client, ≤{args.max_seconds:.0f}s/level; {load_note()}")

    index = index_home()
    rate_limit = None if args.rate_limit == "default" else args.rate_limit
    questions = load_questions()
    scenarios = {}
    for name, cache, warm_pass in (("repeated", True, not args.no_warm_pass), ("new", False, False)):
        if name == "new" and args.no_uncached:
            continue
        try:
            scenarios[name] = run_scenario(index, args, levels, per_client, questions, rate_limit, cache, warm_pass)
        except ServeUnavailable as exc:
            print(f"\nserve not available — cannot run the concurrency benchmark:\n{exc}", file=sys.stderr)
            return 2
    rows, health_rows = scenarios["repeated"]["levels"], scenarios["repeated"]["health_baseline"]
    warm = scenarios["repeated"]["sequential_uncached"]
    ready_s = scenarios["repeated"]["ready_seconds"]
    checks = []
    for name, scenario in scenarios.items():
        rows = scenario["levels"]
        top = next((r for r in rows if r["clients"] == 64), rows[-1] if rows else None)
        if top:
            label = f"{top['clients']} clients, {name} questions"
            checks += [TargetCheck(f"{label}: errors", 0, top["errors"], ""),
                       TargetCheck(f"{label}: p95", TARGET_P95_MS, top["p95_ms"], "ms"),
                       TargetCheck(f"serve RSS under load ({name})", TARGET_RSS_MB,
                                   max(r["server_rss_mb"] for r in rows), "MiB")]
    print_targets(checks)
    print(load_note())
    write_results("concurrency", {"levels": rows_of(scenarios, "repeated"), "health_baseline": health_rows,
                                  "sequential_uncached": warm, "ready_seconds": ready_s,
                                  "new_questions": scenarios.get("new"), "requests_per_client": per_client,
                                  "targets": [c.row() for c in checks], "load_after": load_note()})
    return 0


def rows_of(scenarios: dict, name: str) -> list:
    return scenarios[name]["levels"] if name in scenarios else []


def run_scenario(index, args, levels, per_client, questions, rate_limit, cache: bool, warm_pass: bool) -> dict:  # type: ignore[no-untyped-def]
    """One server, one set of levels. ``repeated``: caches on, after a sequential pass (a hotline hears the same
    questions again); ``new``: caches off (POLICY_ASSISTANT_CACHE_SIZE=0), every request embedded and retrieved."""
    name = "repeated" if cache else "new"
    proc, port, ready_s = start_server(index, args.ready_timeout, rate_limit, cache=cache)
    rows, health_rows = [], []
    warm = None
    try:
        print(f"[{name} questions] server ready in {ready_s:.1f}s on 127.0.0.1:{port}; RSS {tree_rss_mb(proc.pid):.0f} MiB",
              flush=True)
        if warm_pass:
            warm = run_level(port, 1, len(questions), 600, questions, "/api/ask")
            print(f"sequential pass over {warm['requests']} questions (uncached): p50 {warm['p50_ms']:.1f} ms, "
                  f"p95 {warm['p95_ms']:.1f} ms, {warm['throughput_rps']:.1f} req/s, errors {warm['errors']}", flush=True)
        for clients in levels:
            level = run_level(port, clients, per_client, args.max_seconds, questions, "/api/ask")
            level["server_rss_mb"] = tree_rss_mb(proc.pid)
            rows.append(level)
            health = run_level(port, clients, per_client, args.max_seconds, questions, "/api/health") if cache else None
            if health:
                health_rows.append(health)
            print(f"  N={clients}: {level['requests']} asks, {level['throughput_rps']:.1f} req/s, p95 "
                  f"{level['p95_ms']:.0f} ms, errors {level['errors']}"
                  + (f"; health p95 {health['p95_ms']:.0f} ms" if health else ""), flush=True)
            if proc.poll() is not None:
                print("server died during the run", file=sys.stderr)
                break
    finally:
        stop_process(proc)
    print_table(rows, ["clients", "requests", "errors", "wall_s", "throughput_rps", "p50_ms", "p95_ms", "p99_ms",
                       "max_ms", "server_rss_mb"], title=f"POST /api/ask, closed loop on loopback — {name} questions", digits=1)
    if health_rows:
        print_table(health_rows, ["clients", "requests", "errors", "throughput_rps", "p50_ms", "p95_ms", "max_ms"],
                    title="baseline: GET /api/health, same clients", digits=1)
    for row in rows:
        if row["error_samples"]:
            print(f"errors at N={row['clients']}: {row['errors_by_kind']}; e.g. {row['error_samples'][0]}")
    return {"levels": rows, "health_baseline": health_rows, "sequential_uncached": warm, "ready_seconds": ready_s}


if __name__ == "__main__":
    sys.exit(main())
