"""The bundled corpus indexed with the fake ``HashingEmbedder`` (tests/tiny_models.py): its configuration and its build.

The model name ``fake-hashing`` is on no machine, so only an injected embedder can search such an index. The
``fake_built_home`` and ``fake_index`` fixtures (tests/conftest.py) build it once per session and give each test its
own copy; tests that need another corpus or settings call :func:`fake_config` and :func:`build` themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tiny_models import HashingEmbedder

if TYPE_CHECKING:
    from indexing.config import IndexConfig

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
FAKE_MODEL = "fake-hashing"


def fake_config(home: Path, corpus: Path = CORPUS, **overrides: object) -> IndexConfig:
    """The configuration of an index under ``home`` built from ``corpus`` with the fake embedder."""
    from indexing.config import IndexConfig

    return IndexConfig(home=home, corpus_dir=corpus, embed_model=FAKE_MODEL, **overrides)  # type: ignore[arg-type]


def build(config: IndexConfig, embedder: HashingEmbedder | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
    """``build_index`` with the fake embedder (a fresh one unless given); ``kwargs`` go to ``build_index``."""
    from indexing.build import build_index

    return build_index(config, embedder=embedder or HashingEmbedder(), **kwargs)  # type: ignore[arg-type]
