"""Documents added with ``policy-assistant index --add``: validated before anything is written, installed last.

A file is checked (it exists, has a supported suffix, parses into clauses, repeats no id or bytes of the
corpus), staged in memory, merged into the corpus the build indexes, and copied into the writable corpus folder
(``corpus_folders.writable_corpus_dir``) with its ``.toml`` sidecar just before the new index is swapped in.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from indexing.config import IndexConfig
from indexing.corpus import DOCUMENT_SUFFIXES, CorpusDocument, DocumentMeta, load_document, read_meta
from indexing.corpus_folders import CorpusFolder, writable_corpus_dir
from indexing.parser import ParseError


class DocumentRejected(ValueError):
    """A document given to ``index --add`` that cannot be indexed; nothing was changed."""

    def __init__(self, path: Path, reason: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.reason = reason
        self.line = line
        at = f"第{line}行: " if line is not None else ""
        super().__init__(f"{self.path.name}: {at}{reason}")


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


def merge_staged(folders: list[CorpusFolder], staged: list[StagedDocument], config: IndexConfig) -> None:
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


def install_staged(staged: list[StagedDocument], staging: Path) -> None:
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
