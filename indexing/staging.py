"""Where a build writes before it goes live, the atomic swap, the build lock, and tidying up after a crash.

A build writes everything into ``<home>/index.tmp-<build id>/`` (manifest last), then swaps: ``index`` →
``index.old-<id>``, ``index.tmp-<id>`` → ``index``, and deletes the old folder. A crash at any point leaves the
previous index readable (``index_files.locate_index`` covers the instant between the two renames); the next build
removes stale ``index.tmp-*`` folders, restores an ``index.old-*`` left without a live index, and drops the Chroma
server collections of crashed builds. One build runs at a time (a lock file).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from indexing.config import IndexConfig
from indexing.manifest import IndexManifest, IndexProblem
from indexing.vector_store import COLLECTION_PREFIX, ChromaVectorStore, collection_name

TMP_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"
BUILD_INFO = "build.json"
LOCK_FILE = ".index.lock"


class BuildInProgress(RuntimeError):
    """Another build holds the index lock."""


def new_build_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


@dataclass(frozen=True)
class Staging:
    """One build's staging folder, ``<home>/index.tmp-<build id>/``, and the Chroma collection it fills.

    Until the manifest is written, ``build.json`` in the folder names the collection, so that ``recover`` can drop
    the server collection of a build that crashed.
    """

    build_id: str
    live: Path
    chroma_url: str | None = None

    @classmethod
    def new(cls, config: IndexConfig) -> Staging:
        return cls(new_build_id(), config.index_dir, config.chroma_url)

    @property
    def path(self) -> Path:
        return self.live.with_name(self.live.name + TMP_PREFIX + self.build_id)

    @property
    def collection(self) -> str:
        return collection_name(self.build_id)

    @property
    def chroma_dir(self) -> str:
        """The embedded Chroma store's folder inside the index (unused when the vectors go to a server)."""
        return f"chroma-{self.build_id}"

    def store(self) -> ChromaVectorStore:
        """The (not yet opened) store this build writes its vectors to."""
        return ChromaVectorStore(self.collection, path=self.path / self.chroma_dir, url=self.chroma_url)

    def create(self) -> None:
        self.path.mkdir(parents=True)
        info = {"build_id": self.build_id, "collection": self.collection, "url": self.chroma_url}
        (self.path / BUILD_INFO).write_text(json.dumps(info), encoding="utf-8")

    def sealed(self) -> None:
        """The manifest is written: the folder is a complete index and ``build.json`` is no longer needed."""
        (self.path / BUILD_INFO).unlink()

    def swap(self) -> None:
        swap_into_place(self.path, self.live, self.build_id)

    def discard(self) -> None:
        """After a failure: drop the folder, and the server collection unless it went live."""
        if self.chroma_url and live_build_id(self.live) != self.build_id:   # never drop a collection that went live
            forget_collection_named(self.chroma_url, self.collection)
        shutil.rmtree(self.path, ignore_errors=True)


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
        forget_collection_named(info["url"], info["collection"])


def forget_collection_named(url: str, collection: str) -> None:
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


def prune_server_collections(url: str, keep: set[str]) -> None:
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


def live_build_id(live: Path) -> str | None:
    try:
        return str(json.loads((live / "manifest.json").read_text(encoding="utf-8")).get("build_id"))
    except (OSError, ValueError, AttributeError):
        return None


def previous_collection(config: IndexConfig) -> str | None:
    try:
        return IndexManifest.load(config.index_dir).chroma.collection
    except IndexProblem:
        return None
