"""Documents removed with ``policy-assistant index --remove``: checked before anything is written, deleted last.

A removal is a build without the document. Its files stay in the corpus until the index built without it is live:
before the swap the build writes a journal, ``<home>/.removing-<build id>.json``, naming the files and the hash of
their bytes; after the swap it deletes them, then the journal. A crash before the swap leaves the old corpus and the
old index (the next build finds the journal of a build that never went live and drops it); a crash after the swap
leaves the new index live with the files still there, and the next build (``finish_removals``, under the build lock)
deletes them. In between the corpus has a document the index lacks (answers are unaffected, ``index --list`` says
"not-indexed"); the opposite — an index holding a document the corpus lacks — never happens. The journal lives
outside the index folder: a running server watches that folder's files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from indexing.config import IndexConfig
from indexing.corpus_folders import CorpusFolder
from indexing.document_list import document_source, is_removable
from indexing.manifest import write_json_atomic

JOURNAL_PREFIX = ".removing-"


class RemovalRefused(ValueError):
    """A document ``index --remove`` will not remove (unknown id, the primary or a bundled measure); nothing changed."""


@dataclass(frozen=True)
class StagedRemoval:
    """A document to drop from the corpus: its id and the files (document and ``.toml`` sidecar) to delete."""

    doc_id: str
    files: tuple[Path, ...]


def validate_removals(doc_ids: Sequence[str], folders: list[CorpusFolder], config: IndexConfig) -> list[StagedRemoval]:
    """Check that every id names a removable document of the effective corpus.

    Raises:
        RemovalRefused: for the first id that cannot be removed, naming the ids there are.
    """
    documents = [doc for folder in folders for doc in folder.documents]
    positions = {doc.meta.id: i for i, doc in enumerate(documents)}
    staged: list[StagedRemoval] = []
    for doc_id in dict.fromkeys(doc_ids):
        if doc_id not in positions:
            raise RemovalRefused(f"语料中没有文档“{doc_id}”。现有文档：{'、'.join(positions)}")
        doc = documents[positions[doc_id]]
        source = document_source(doc.path, config)
        if not is_removable(positions[doc_id], source):
            why = "主文档（回答、上限表和文件信息都以它为准）" if positions[doc_id] == 0 else "随软件安装的内置文档"
            raise RemovalRefused(f"“{doc_id}”是{why}，不能删除；只能删除用 index --add 加入的文档")
        sidecar = doc.path.with_suffix(".toml")
        files = (doc.path, sidecar) if sidecar.is_file() else (doc.path,)
        staged.append(StagedRemoval(doc_id, files))
    return staged


def drop_staged(folders: list[CorpusFolder], removals: list[StagedRemoval]) -> None:
    """Leave the removed documents out of the corpus this build indexes (their files are untouched yet)."""
    gone = {r.doc_id for r in removals}
    for folder in folders:
        folder.documents = [d for d in folder.documents if d.meta.id not in gone]


def _journal(config: IndexConfig, build_id: str) -> Path:
    return config.home / f"{JOURNAL_PREFIX}{build_id}.json"


def record_removals(removals: list[StagedRemoval], config: IndexConfig, build_id: str) -> None:
    """Write the journal of what this build removes, before its swap."""
    if removals:
        # Each file with the hash of its bytes: a file changed since is not the one removed, and stays.
        write_json_atomic(_journal(config, build_id), {"build_id": build_id, "removed": [
            {"id": r.doc_id, "files": [{"path": str(p), "sha256": _sha256(p)} for p in r.files]} for r in removals
        ]})


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def complete_removals(config: IndexConfig, build_id: str) -> list[str]:
    """Delete the files the journal of ``build_id`` names (its index is live), then the journal; returns those deleted.

    A file that cannot be deleted now (permissions) keeps the journal, and the next build tries again.
    """
    journal = _journal(config, build_id)
    try:
        record = json.loads(journal.read_text(encoding="utf-8"))
        files = [(Path(f["path"]), str(f["sha256"])) for item in record["removed"] for f in item["files"]]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError):
        journal.unlink(missing_ok=True)   # unreadable: the document stays; ``index --remove`` can name it again
        return []
    deleted = []
    try:
        for path, digest in files:
            if path.is_file() and _sha256(path) == digest:
                path.unlink()
                deleted.append(str(path))
    except OSError:
        return deleted
    journal.unlink(missing_ok=True)
    return deleted


def finish_removals(config: IndexConfig) -> list[str]:
    """After a crash (call with the build lock held, after ``staging.recover``): complete the removal of the live
    build, drop the journals of builds that never went live. Returns the files deleted."""
    from indexing.index_files import locate_index
    from indexing.staging import live_build_id

    live = live_build_id(locate_index(config))
    deleted: list[str] = []
    for journal in sorted(config.home.glob(JOURNAL_PREFIX + "*.json")):
        build_id = journal.name[len(JOURNAL_PREFIX):-len(".json")]
        if build_id == live:
            deleted += complete_removals(config, build_id)
        else:
            journal.unlink(missing_ok=True)
    return deleted
