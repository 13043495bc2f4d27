"""The folders of the effective corpus: the configured one, plus ``<home>/corpus`` beside the bundled corpus.

The configured ``corpus_dir`` is read as is. When it is the bundled corpus (read-only, part of the package),
documents added with ``policy-assistant index --add`` go to ``<home>/corpus/documents/`` (with a ``.toml``
sidecar) and the effective corpus is the bundled documents plus those; optional profiles in
``<home>/corpus/profiles/`` apply to that folder's first document. With a user ``--corpus DIR``, added documents
go into that folder (its ``documents/`` subfolder when it has one) and the corpus is just that folder.
``corpus_dirs(config)`` and ``writable_corpus_dir(config)`` say which folders these are.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from indexing.config import IndexConfig
from indexing.corpus import BUNDLED_CORPUS, CorpusDocument, document_paths, load_document
from indexing.profiles import Profile, load_profiles

if TYPE_CHECKING:
    from indexing.build_workers import WorkerPool

HOME_CORPUS = "corpus"


@dataclass
class CorpusFolder:
    """One corpus folder's documents and profiles; ``origin`` is ``corpus`` or ``home``."""

    path: Path
    origin: str
    documents: list[CorpusDocument]
    profiles: dict[str, Profile] = field(default_factory=dict)


def is_bundled(corpus_dir: Path) -> bool:
    return Path(corpus_dir).resolve() == BUNDLED_CORPUS.resolve()


def home_corpus_dir(config: IndexConfig) -> Path:
    """Where added documents go when the corpus is the bundled one: ``<home>/corpus``."""
    return config.home / HOME_CORPUS


def corpus_dirs(config: IndexConfig) -> list[Path]:
    """The folders of the effective corpus: the configured one, plus ``<home>/corpus`` for the bundled corpus."""
    dirs = [config.corpus_dir]
    if is_bundled(config.corpus_dir):
        dirs.append(home_corpus_dir(config))
    return dirs


def writable_corpus_dir(config: IndexConfig) -> Path:
    """The folder ``index --add`` copies documents into (its ``documents/`` subfolder is used when present)."""
    if is_bundled(config.corpus_dir):
        return home_corpus_dir(config) / "documents"
    documents = config.corpus_dir / "documents"
    return documents if documents.is_dir() else config.corpus_dir


def folder_documents(folder: Path) -> list[Path]:
    """The document files of a corpus folder; none when the folder does not exist (yet)."""
    if not folder.is_dir():
        return []
    return document_paths(folder)


def _load_or_none(path: Path) -> CorpusDocument | None:
    try:
        return load_document(path)
    except Exception:  # noqa: BLE001 - the parent loads it again to raise the real error
        return None


def load_corpus_folders(config: IndexConfig, pool: WorkerPool | None = None) -> list[CorpusFolder]:
    """Parse every document of the effective corpus, folder by folder.

    Args:
        config: which folders.
        pool: worker processes to parse in (None: this process); the result is the same.

    Raises:
        ParseError: a document already in the corpus cannot be structured.
        FileNotFoundError: the configured corpus folder does not exist or holds no document.
    """
    dirs = corpus_dirs(config)
    if not dirs[0].is_dir():
        raise FileNotFoundError(f"语料目录不存在：{dirs[0]}")
    paths = [folder_documents(path) for path in dirs]
    flat = [p for folder_paths in paths for p in folder_paths]
    if pool is None:
        loaded = [load_document(p) for p in flat]
    else:
        # A worker returns None for a document it cannot load; loading it again here raises the real error
        # (exceptions with extra fields, like ParseError's line, do not survive the trip between processes).
        loaded = [doc if doc is not None else load_document(path)
                  for path, doc in zip(flat, pool.map(_load_or_none, flat), strict=True)]
    folders: list[CorpusFolder] = []
    for index, (path, folder_paths) in enumerate(zip(dirs, paths, strict=True)):
        origin = "corpus" if index == 0 else "home"
        documents, loaded = loaded[:len(folder_paths)], loaded[len(folder_paths):]
        folders.append(CorpusFolder(path, origin, documents, load_profiles(path) if path.is_dir() else {}))
    if not any(f.documents for f in folders):
        raise FileNotFoundError(f"语料目录中没有文档：{config.corpus_dir}")
    return folders


def load_effective_corpus(config: IndexConfig) -> list[CorpusDocument]:
    """Every document of the effective corpus (bundled + home documents), in index order."""
    return [doc for folder in load_corpus_folders(config) for doc in folder.documents]


def profiles_hash(folders: list[CorpusFolder]) -> str:
    """sha256 of every folder's profile files (names and bytes), recorded in the manifest."""
    digest = hashlib.sha256()
    for folder in folders:
        profile_dir = folder.path / "profiles"
        if profile_dir.is_dir():
            for path in sorted(profile_dir.glob("*.toml")):
                digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
