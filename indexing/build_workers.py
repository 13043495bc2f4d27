"""Worker processes for the CPU-bound build stages: an ordered ``map`` that falls back to this process.

Parsing, chunking and BM25 tokenising — jieba and OpenCC, pure Python, most of a large build — run in
``POLICY_ASSISTANT_BUILD_WORKERS`` processes (default: one per CPU for corpora of at least
``PARALLEL_MIN_DOCUMENTS`` documents; 1 = serial). Work is split by document (by batches of texts for tokens)
and gathered in order, so the chunks, hashes and BM25 index are exactly those of a serial build.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from indexing.config import env, int_env
from indexing.tokenize_zh import warm_up

# Below this many documents a serial build is done before worker processes would have started (~1 s each).
PARALLEL_MIN_DOCUMENTS = 50


def build_workers(documents: int) -> int:
    """Processes for parsing, chunking and tokenising a corpus of ``documents`` documents (1 = this process).

    ``POLICY_ASSISTANT_BUILD_WORKERS`` when set (any corpus size), else one per usable CPU from
    ``PARALLEL_MIN_DOCUMENTS`` documents on (below, starting the workers costs more than it saves).

    Raises:
        ValueError: the variable is not a positive integer.
    """
    if env("BUILD_WORKERS") is not None:
        configured = int_env("BUILD_WORKERS", 1)
        if configured < 1:
            raise ValueError(f"POLICY_ASSISTANT_BUILD_WORKERS 必须是正整数（1 = 不并行），收到 {configured}")
        return configured
    if documents < PARALLEL_MIN_DOCUMENTS:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus)


def _init_worker() -> None:
    # Same loader as the parent (tokenize_zh._jieba: the bundled user dictionary), so workers cut text alike;
    # a no-op for forked workers whose parent had loaded it.
    warm_up()


def _start_method() -> str:
    """``fork`` when this process runs a single Python thread, else ``spawn``.

    A forked worker starts in milliseconds with jieba already loaded and never re-imports ``__main__`` (spawn
    does, which fails in a script without an ``if __name__ == "__main__"`` guard). But a fork copies the locks
    other Python threads hold (a server's request threads, logging) in whatever state they are, so a process
    with more than one, such as ``serve`` rebuilding after an upload, spawns instead. Native threads (OpenBLAS,
    OpenMP, Chroma's runtime) are not counted: workers never call into those libraries.
    """
    import multiprocessing
    import threading

    single = threading.active_count() == 1
    return "fork" if single and "fork" in multiprocessing.get_all_start_methods() else "spawn"


class WorkerPool:
    """An ordered ``map`` over worker processes, started on the first call with work to share.

    Starting is lazy because an incremental build often has nothing to chunk or tokenise (all reused): it then
    never pays for starting workers (~1 s: each loads jieba). Workers that die or cannot start
    (``BrokenProcessPool``) never fail or hang a build: the work is redone here, with the same functions, so the
    result is the same, and later calls stay here.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.start_method = ""
        self.fallbacks = 0
        self._executor: Any = None
        self._broken = False

    def _start(self) -> Any:
        if self._executor is None and not self._broken:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.start_method = _start_method()
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context(self.start_method), initializer=_init_worker
            )
        return self._executor

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``[fn(item) for item in items]``, computed in the workers (here for fewer than two items), in order."""
        if len(items) > 1 and self._start() is not None:
            from concurrent.futures.process import BrokenProcessPool

            try:
                return list(self._executor.map(fn, items, chunksize=max(1, len(items) // (4 * self.workers))))
            except BrokenProcessPool:
                self.close()
                self._broken = True
                self.fallbacks += 1
        return [fn(item) for item in items]

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[WorkerPool | None]:
    """Worker processes for the duration of the block (None for ``workers <= 1``: work in this process)."""
    if workers <= 1:
        yield None
        return
    pool = WorkerPool(workers)
    try:
        yield pool
    finally:
        pool.close()
