"""Build the search index: corpus → chunks → BM25 → vectors → Chroma, atomically and incrementally.

Corpus folders. The configured ``corpus_dir`` is read as is. When it is the bundled corpus (read-only, part
of the package), documents added with ``policy-assistant index --add`` go to ``<home>/corpus/documents/``
(with a ``.toml`` sidecar) and the effective corpus is the bundled documents plus those; optional profiles in
``<home>/corpus/profiles/`` apply to that folder's first document. With a user ``--corpus DIR``, added
documents go into that folder (its ``documents/`` subfolder when it has one) and the corpus is just that folder.
``corpus_dirs(config)`` and ``writable_corpus_dir(config)`` say which folders these are.

Atomic. A build writes everything into ``<home>/index.tmp-<build id>/`` (manifest last), then swaps:
``index`` → ``index.old-<id>``, ``index.tmp-<id>`` → ``index``, and deletes the old folder. A crash at any
point leaves the previous index readable (``index_files.locate_index`` covers the instant between the two
renames); the next build removes stale ``index.tmp-*`` folders, restores an ``index.old-*`` left without a
live index, and drops the Chroma server collections of crashed builds. One build runs at a time (a lock file).

Incremental. Each chunk's vector is keyed by the sha256 of its embedded text; vectors of unchanged chunks are
copied from the previous index when it was built with the same model, so editing one clause re-embeds only
that clause's chunks. ``rebuild=True`` re-embeds everything.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from assistant.caps import awards_of_section
from indexing.bm25_store import BM25Store
from indexing.chunking import Chunk, ChunkConfig, chunk_document
from indexing.config import IndexConfig
from indexing.corpus import (
    BUNDLED_CORPUS,
    DOCUMENT_SUFFIXES,
    CorpusDocument,
    DocumentMeta,
    document_paths,
    load_document,
    read_meta,
)
from indexing.embedding import Embedder, canonical_model_name, make_embedder
from indexing.index_files import (
    BM25_DIR,
    CHUNKS_FILE,
    VECTORS_FILE,
    load_chunk_rows,
    load_vectors,
    save_chunks,
)
from indexing.manifest import (
    ChromaLocation,
    IndexCounts,
    IndexManifest,
    IndexProblem,
    ManifestDocument,
    library_versions,
)
from indexing.parser import ParseError
from indexing.profiles import Profile, load_profiles, profile_chunks
from indexing.vector_store import COLLECTION_PREFIX, ChromaVectorStore, collection_name

ProgressFn = Callable[[str, int, int], None]

HOME_CORPUS = "corpus"
TMP_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"
BUILD_INFO = "build.json"
LOCK_FILE = ".index.lock"
EMBED_BATCH = 32


class DocumentRejected(ValueError):
    """A document given to ``index --add`` that cannot be indexed; nothing was changed."""

    def __init__(self, path: Path, reason: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.reason = reason
        self.line = line
        at = f"第{line}行: " if line is not None else ""
        super().__init__(f"{self.path.name}: {at}{reason}")


class BuildInProgress(RuntimeError):
    """Another build holds the index lock."""


@dataclass(frozen=True)
class BuildSummary:
    """What a build did."""

    build_id: str
    index_dir: str
    embed_model: str
    chroma: str
    documents: int
    sections: int
    clauses: int
    text_chunks: int
    profile_chunks: int
    embedded: int
    reused: int
    seconds: float
    added: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def chunks(self) -> int:
        return self.text_chunks + self.profile_chunks

    def to_json(self) -> dict[str, Any]:
        return {
            "build_id": self.build_id,
            "index_dir": self.index_dir,
            "embed_model": self.embed_model,
            "chroma": self.chroma,
            "documents": self.documents,
            "sections": self.sections,
            "clauses": self.clauses,
            "chunks": self.chunks,
            "text_chunks": self.text_chunks,
            "profile_chunks": self.profile_chunks,
            "embedded": self.embedded,
            "reused": self.reused,
            "seconds": round(self.seconds, 2),
            "added": list(self.added),
            "warnings": list(self.warnings),
        }


@dataclass
class CorpusFolder:
    """One corpus folder's documents and profiles; ``origin`` is ``corpus`` or ``home``."""

    path: Path
    origin: str
    documents: list[CorpusDocument]
    profiles: dict[str, Profile] = field(default_factory=dict)


# ---- corpus folders ---------------------------------------------------------------------------------
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


def _folder_documents(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return document_paths(folder)


def load_corpus_folders(config: IndexConfig) -> list[CorpusFolder]:
    """Parse every document of the effective corpus, folder by folder.

    Raises:
        ParseError: a document already in the corpus cannot be structured.
        FileNotFoundError: the configured corpus folder does not exist or holds no document.
    """
    folders: list[CorpusFolder] = []
    for index, path in enumerate(corpus_dirs(config)):
        origin = "corpus" if index == 0 else "home"
        if index == 0 and not path.is_dir():
            raise FileNotFoundError(f"语料目录不存在：{path}")
        documents = [load_document(p) for p in _folder_documents(path)]
        folders.append(CorpusFolder(path, origin, documents, load_profiles(path) if path.is_dir() else {}))
    if not any(f.documents for f in folders):
        raise FileNotFoundError(f"语料目录中没有文档：{config.corpus_dir}")
    return folders


def load_effective_corpus(config: IndexConfig) -> list[CorpusDocument]:
    """Every document of the effective corpus (bundled + home documents), in index order."""
    return [doc for folder in load_corpus_folders(config) for doc in folder.documents]


# ---- adding documents -------------------------------------------------------------------------------
@dataclass(frozen=True)
class StagedDocument:
    """A validated document to copy into the writable corpus folder."""

    source: Path
    target: Path
    sidecar_text: str
    document: CorpusDocument


def _toml_string(value: str) -> str:
    # A JSON string literal is a valid TOML basic string (same escapes, \uXXXX for control characters).
    return json.dumps(value, ensure_ascii=False)


def sidecar_toml(meta: DocumentMeta, title: str) -> str:
    """The ``.toml`` metadata written beside an added document that came without one."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    return (
        f"# Written by `policy-assistant index --add` on {stamp}. Edit freely; the id must stay unique.\n"
        f"id = {_toml_string(meta.id)}\n"
        f"file = {_toml_string(meta.file)}\n"
        f"title = {_toml_string(title)}\n"
        f'short_title = ""\n'
    )


def validate_additions(paths: Sequence[Path], folders: list[CorpusFolder], target_dir: Path) -> list[StagedDocument]:
    """Check documents before anything is written.

    A file must exist, have a supported suffix, parse into clauses, and not repeat an id or the exact bytes of
    a document already in the corpus. A file with the name of one added earlier replaces it (and keeps that
    one's ``.toml`` unless it brings its own).

    Raises:
        DocumentRejected: for the first file that fails, naming the reason and line.
    """
    existing = [doc for folder in folders for doc in folder.documents]
    staged: list[StagedDocument] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise DocumentRejected(path, "文件不存在")
        if path.suffix.lower() not in DOCUMENT_SUFFIXES:
            raise DocumentRejected(path, f"不支持的文件类型“{path.suffix or '无扩展名'}”（支持 {' '.join(DOCUMENT_SUFFIXES)}）")
        target = target_dir / path.name
        own_sidecar = path.with_suffix(".toml")
        old_sidecar = target.with_suffix(".toml")
        try:
            if own_sidecar.is_file():
                meta = read_meta(own_sidecar)
                if meta.file != path.name:
                    raise DocumentRejected(path, f"{own_sidecar.name} 中 file = “{meta.file}”，与文件名不符")
                sidecar_text = own_sidecar.read_text(encoding="utf-8")
            elif old_sidecar.is_file() and target.resolve() != path.resolve():
                meta = read_meta(old_sidecar)
                sidecar_text = old_sidecar.read_text(encoding="utf-8")
            else:
                meta = DocumentMeta(id=path.stem, file=path.name, title="")
                sidecar_text = ""
            document = load_document(path, meta)
        except ParseError as exc:
            raise DocumentRejected(path, exc.message, exc.line) from None
        except (OSError, ValueError, KeyError) as exc:  # unreadable sidecar
            if isinstance(exc, DocumentRejected):
                raise
            raise DocumentRejected(path, f"元数据文件无法读取：{exc}") from None
        if not sidecar_text:
            sidecar_text = sidecar_toml(document.meta, document.meta.title or document.document.title or path.stem)
        for other in existing + [s.document for s in staged]:
            replacing = other.path.resolve() == target.resolve()
            if replacing:
                continue
            if other.meta.id == document.meta.id:
                raise DocumentRejected(
                    path, f"文档 id“{document.meta.id}”与语料中的 {other.path.name} 重复：请改文件名或在同名 .toml 中设置不同的 id"
                )
            if other.sha256 == document.sha256:
                raise DocumentRejected(path, f"与语料中的 {other.path.name} 内容完全相同")
        staged.append(StagedDocument(path, target, sidecar_text, document))
    return staged


def _merge_staged(folders: list[CorpusFolder], staged: list[StagedDocument], config: IndexConfig) -> None:
    """Put staged documents into the folder they will live in, replacing same-named ones."""
    if not staged:
        return
    writable = writable_corpus_dir(config)
    folder = next((f for f in folders if writable == f.path or writable.parent == f.path), folders[-1])
    for item in staged:
        folder.documents = [d for d in folder.documents if d.path.name != item.target.name]
        folder.documents.append(
            CorpusDocument(item.document.meta, item.document.document, item.document.sha256, item.target)
        )
    folder.documents.sort(key=lambda d: d.path.name)


def _install_staged(staged: list[StagedDocument], staging: Path) -> None:
    """Copy staged documents into the corpus: each file written beside its target, then ``os.replace``d."""
    if not staged:
        return
    for item in staged:
        item.target.parent.mkdir(parents=True, exist_ok=True)
        copies = [(item.target, item.source.read_bytes()), (item.target.with_suffix(".toml"), item.sidecar_text.encode())]
        for target, data in copies:
            tmp = target.with_name(f".{target.name}.{staging.name}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)


# ---- chunks -----------------------------------------------------------------------------------------
def caps_summary(section: Any, linked: Sequence[Any]) -> str:
    """One line of the awards a section states, e.g. ``最高200万元资助（资助期限不超过3年）``."""
    parts = []
    for award in awards_of_section(section, linked):
        term = f"（{award.term}）" if award.term else ""
        text = award.amount_text if award.amount_wan is None else f"{award.amount_text}{award.kind}"
        parts.append(f"{text}{term}")
    return "；".join(dict.fromkeys(parts))


def make_chunks(folders: list[CorpusFolder], config: ChunkConfig) -> tuple[list[Chunk], IndexCounts]:
    """Text chunks of every document, then the profile chunks, folder by folder, in a stable order."""
    chunks: list[Chunk] = []
    documents = sections = clauses = text_chunks = profile_count = 0
    for folder in folders:
        for position, doc in enumerate(folder.documents):
            short = doc.meta.short_title or doc.meta.title
            caps = {s.key: caps_summary(s, doc.meta.linked) for s in doc.document.sections}
            text = chunk_document(doc.document, config, short, caps)
            # A folder's profiles describe its first document (profile files carry no document id).
            profiles = profile_chunks(doc.document, folder.profiles, short) if position == 0 else []
            chunks.extend(text)
            chunks.extend(profiles)
            documents += 1
            sections += len(doc.document.sections)
            clauses += len(doc.document.clauses)
            text_chunks += len(text)
            profile_count += len(profiles)
    ids = [c.chunk_id for c in chunks]
    if len(set(ids)) != len(ids):
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"chunk id 重复（文档 id 重复？）：{', '.join(duplicated[:5])}")
    return chunks, IndexCounts(documents, sections, clauses, text_chunks, profile_count)


def embed_hash(chunk: Chunk) -> str:
    """Key of a chunk's vector: the sha256 of the exact text that is embedded."""
    mode = "query:" if chunk.embed_as_query else "passage:"
    return hashlib.sha256((mode + chunk.embed_text).encode("utf-8")).hexdigest()


def profiles_hash(folders: list[CorpusFolder]) -> str:
    digest = hashlib.sha256()
    for folder in folders:
        profile_dir = folder.path / "profiles"
        if profile_dir.is_dir():
            for path in sorted(profile_dir.glob("*.toml")):
                digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _previous_vectors(config: IndexConfig, model: str, dim: int) -> dict[str, np.ndarray]:
    """hash → vector of the live index when it was built with ``model``; empty when unusable."""
    from indexing.index_files import locate_index

    index_dir = locate_index(config)
    try:
        manifest = IndexManifest.load(index_dir)
        if manifest.embed_model != model or manifest.embed_dim != dim:
            return {}
        _, hashes = load_chunk_rows(index_dir / CHUNKS_FILE)
        vectors = load_vectors(index_dir, len(hashes))
    except (IndexProblem, OSError, ValueError, KeyError, TypeError):
        return {}
    if vectors.shape[1] != dim:
        return {}
    return {h: vectors[i] for i, h in enumerate(hashes)}


def embed_chunks(
    chunks: list[Chunk], hashes: list[str], embedder: Embedder, reuse: dict[str, np.ndarray], progress: ProgressFn
) -> tuple[np.ndarray, int, int]:
    """Vectors for all chunks, reusing ``reuse[hash]``; returns (vectors, embedded, reused)."""
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    todo: dict[str, list[int]] = {}
    reused = 0
    for row, key in enumerate(hashes):
        if key in reuse:
            vectors[row] = reuse[key]
            reused += 1
        else:
            todo.setdefault(key, []).append(row)
    keys = list(todo)
    progress("embed", 0, len(keys))
    for start in range(0, len(keys), EMBED_BATCH):
        batch = keys[start:start + EMBED_BATCH]
        fresh = np.zeros((len(batch), embedder.dim), dtype=np.float32)
        for as_query in (False, True):
            rows = [i for i, k in enumerate(batch) if chunks[todo[k][0]].embed_as_query == as_query]
            if not rows:
                continue
            texts = [chunks[todo[batch[i]][0]].embed_text for i in rows]
            part = embedder.embed_queries(texts) if as_query else embedder.embed_passages(texts)
            if part.shape != (len(rows), embedder.dim):
                raise ValueError(f"embedder returned shape {part.shape}, expected {(len(rows), embedder.dim)}")
            fresh[rows] = part
        for key, vector in zip(batch, fresh, strict=True):
            vectors[todo[key]] = vector
        progress("embed", min(start + EMBED_BATCH, len(keys)), len(keys))
    embedded = sum(len(rows) for rows in todo.values())
    return vectors, embedded, reused


def chunk_metadata(index: int, chunk: Chunk, key: str) -> dict[str, Any]:
    """The flat metadata stored with a chunk's vector in Chroma."""
    return {
        "chunk_index": index,
        "chunk_id": chunk.chunk_id,
        "doc_id": chunk.doc_id,
        "section_key": chunk.section_key,
        "section_kind": chunk.section_kind,
        "source": chunk.source,
        "start": chunk.start,
        "end": chunk.end,
        "embed_hash": key,
    }


# ---- folders, lock, recovery ------------------------------------------------------------------------
def new_build_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


@contextlib.contextmanager
def build_lock(home: Path) -> Iterator[None]:
    """Hold ``<home>/.index.lock`` for the build; another build running raises ``BuildInProgress``."""
    home.mkdir(parents=True, exist_ok=True)
    handle = open(home / LOCK_FILE, "a+")  # noqa: SIM115 - held for the whole block
    try:
        try:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - non-POSIX: no lock
            pass
        except OSError:
            raise BuildInProgress(f"另一个 `policy-assistant index` 正在运行（{home}），请等它结束后再试。") from None
        yield
    finally:
        handle.close()


def _forget_collection(info_path: Path) -> None:
    """Best effort: drop the server collection a crashed build had started (recorded in its build.json)."""
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if info.get("url") and info.get("collection"):
        _forget_collection_named(info["url"], info["collection"])


def _forget_collection_named(url: str, collection: str) -> None:
    store = ChromaVectorStore(collection, url=url, retries=1)
    try:
        store.delete_collections([collection])
    except Exception:  # noqa: BLE001 - server down: leave it, it is named after its build
        pass
    finally:
        store.close()


def recover(config: IndexConfig) -> list[str]:
    """Tidy up after a crashed build (call with the build lock held); returns what was done.

    Restores ``index.old-*`` when no live index exists (the crash hit between the two renames), then removes
    leftover ``index.tmp-*`` and ``index.old-*`` folders (and a crashed build's server collection).
    """
    done: list[str] = []
    live = config.index_dir
    home = config.home
    if not live.exists():
        aside = sorted(
            (p for p in home.glob(live.name + OLD_PREFIX + "*") if (p / "manifest.json").is_file()),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        if aside:
            os.replace(aside[0], live)
            done.append(f"restored {aside[0].name}")
    for stale in sorted(home.glob(live.name + TMP_PREFIX + "*")):
        _forget_collection(stale / BUILD_INFO)
        shutil.rmtree(stale, ignore_errors=True)
        done.append(f"removed {stale.name}")
    for stale in sorted(home.glob(live.name + OLD_PREFIX + "*")):
        shutil.rmtree(stale, ignore_errors=True)
        done.append(f"removed {stale.name}")
    return done


def swap_into_place(tmp: Path, live: Path, build_id: str) -> None:
    """Make ``tmp`` the live index with two renames; the previous index is deleted afterwards."""
    old = live.with_name(live.name + OLD_PREFIX + build_id)
    if live.exists():
        os.replace(live, old)
    os.replace(tmp, live)
    shutil.rmtree(old, ignore_errors=True)


def _prune_server_collections(url: str, keep: set[str]) -> None:
    """Drop this project's older collections on the server, keeping the new and the previous build's.

    The previous one is kept so a server process still reading it keeps working until it reopens the index.
    """
    store = ChromaVectorStore(next(iter(keep)), url=url, retries=1)
    try:
        names = [n for n in store.list_collections() if n.startswith(COLLECTION_PREFIX) and n not in keep]
        store.delete_collections(names)
    except Exception:  # noqa: BLE001 - tidying is best effort
        pass
    finally:
        store.close()


# ---- the build --------------------------------------------------------------------------------------
def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def build_index(
    config: IndexConfig,
    add_files: Sequence[Path] = (),
    rebuild: bool = False,
    progress: ProgressFn | None = None,
    embedder: Embedder | None = None,
) -> BuildSummary:
    """Build (or update) the index of the effective corpus, optionally adding documents first.

    Args:
        config: corpus, home, model, chunk sizes, Chroma location.
        add_files: documents to validate and copy into the writable corpus folder (see module docstring).
        rebuild: re-embed every chunk instead of reusing unchanged vectors of the previous index.
        progress: called as ``progress(stage, done, total)``; stages: corpus, chunks, bm25, embed, store, swap.
        embedder: an already-loaded embedder (tests pass a fake); else ``config.embed_model`` is loaded.

    Returns:
        Counts, vectors embedded vs reused, and the time taken.

    Raises:
        DocumentRejected: an added document is invalid; nothing was changed.
        ParseError: a document already in the corpus cannot be parsed; nothing was changed.
        BuildInProgress: another build is running.
        EmbeddingModelUnavailable: the model is not on this machine.
        StoreUnavailable: the Chroma server does not answer.
    """
    started = time.monotonic()
    report = progress or _no_progress
    model = canonical_model_name(config.embed_model)
    if embedder is not None and embedder.model_id != model:
        raise ValueError(f"embedder {embedder.model_id!r} is not the configured model {model!r}")
    with build_lock(config.home):
        recover(config)
        folders = load_corpus_folders(config)
        staged = validate_additions(add_files, folders, writable_corpus_dir(config))
        _merge_staged(folders, staged, config)
        report("corpus", sum(len(f.documents) for f in folders), sum(len(f.documents) for f in folders))

        chunks, counts = make_chunks(folders, ChunkConfig(config.chunk_size, config.chunk_overlap))
        report("chunks", len(chunks), len(chunks))
        if embedder is None:
            embedder = make_embedder(config.embed_model)

        build_id = new_build_id()
        live = config.index_dir
        tmp = live.with_name(live.name + TMP_PREFIX + build_id)
        collection = collection_name(build_id)
        chroma_path = f"chroma-{build_id}"
        store = ChromaVectorStore(collection, path=tmp / chroma_path, url=config.chroma_url)
        tmp.mkdir(parents=True)
        (tmp / BUILD_INFO).write_text(
            json.dumps({"build_id": build_id, "collection": collection, "url": config.chroma_url}), encoding="utf-8"
        )
        previous_collection = None
        try:
            store.client()   # a Chroma server that is down fails the build now, not after minutes of embedding
            hashes = [embed_hash(c) for c in chunks]
            bm25 = BM25Store.build([c.embed_text for c in chunks])
            bm25.save(tmp / BM25_DIR)
            report("bm25", len(chunks), len(chunks))

            reuse = {} if rebuild else _previous_vectors(config, model, embedder.dim)
            vectors, embedded, reused = embed_chunks(chunks, hashes, embedder, reuse, report)
            np.save(tmp / VECTORS_FILE, vectors, allow_pickle=False)
            save_chunks(tmp / CHUNKS_FILE, chunks, hashes)

            report("store", 0, len(chunks))
            store.create({"build_id": build_id, "embed_model": model})
            metadata = [chunk_metadata(i, c, h) for i, (c, h) in enumerate(zip(chunks, hashes, strict=True))]
            store.add([c.chunk_id for c in chunks], vectors, metadata)
            report("store", len(chunks), len(chunks))
            store.close()

            manifest = IndexManifest(
                build_id=build_id,
                built_at=datetime.now(UTC).isoformat(timespec="seconds"),
                embed_model=model,
                embed_dim=int(embedder.dim),
                chunk_size=config.chunk_size,
                chunk_overlap=config.chunk_overlap,
                chroma=ChromaLocation(collection, path=None if config.chroma_url else chroma_path, url=config.chroma_url),
                documents=[
                    ManifestDocument(d.meta.id, d.path.name, d.sha256, d.meta.title, f.origin)
                    for f in folders for d in f.documents
                ],
                counts=counts,
                libraries=library_versions(),
                profiles_sha256=profiles_hash(folders),
                corpus_dirs=[str(f.path) for f in folders],
            )
            previous_collection = _previous_collection(config)
            manifest.save(tmp)
            (tmp / BUILD_INFO).unlink()
            # Added documents enter the corpus just before the swap: a crash in between leaves them in the
            # corpus and the previous index live, and the next build indexes them.
            _install_staged(staged, tmp)
            report("swap", 0, 1)
            swap_into_place(tmp, live, build_id)
        except BaseException:
            store.close()
            if config.chroma_url and _live_build_id(live) != build_id:   # never drop a collection that went live
                _forget_collection_named(config.chroma_url, collection)
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        report("swap", 1, 1)
        if config.chroma_url:
            _prune_server_collections(config.chroma_url, {collection, *([previous_collection] if previous_collection else [])})
    warnings = tuple(
        f"{d.path.name}: {w.message}" + (f"（第{w.line}行）" if w.line else "")
        for f in folders for d in f.documents for w in d.document.warnings
    )
    return BuildSummary(
        build_id=build_id,
        index_dir=str(live),
        embed_model=model,
        chroma=manifest.chroma.describe,
        documents=counts.documents,
        sections=counts.sections,
        clauses=counts.clauses,
        text_chunks=counts.text_chunks,
        profile_chunks=counts.profile_chunks,
        embedded=embedded,
        reused=reused,
        seconds=time.monotonic() - started,
        added=tuple(str(s.target) for s in staged),
        warnings=warnings,
    )


def _live_build_id(live: Path) -> str | None:
    try:
        return str(json.loads((live / "manifest.json").read_text(encoding="utf-8")).get("build_id"))
    except (OSError, ValueError, AttributeError):
        return None


def _previous_collection(config: IndexConfig) -> str | None:
    try:
        return IndexManifest.load(config.index_dir).chroma.collection
    except IndexProblem:
        return None
