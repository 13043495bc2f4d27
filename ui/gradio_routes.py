"""What the guard middleware needs to know about the mounted Gradio app, read once from the built Blocks.

* **Event routes**: a client runs an event through ``/gradio_api/run|api|call|call/v2/<name>`` or
  ``/gradio_api/queue/join``; Gradio picks the function by the body's ``fn_index`` or else by the name in the
  path. Functions marked with :func:`does_work` (questions, searches, matches, builds, token attempts) take a
  token from the client's rate-limit bucket; a request whose function cannot be told for certain counts as work.
* **File references**: any object with a ``path`` in a request body is a file reference (Gradio's
  ``FileData``). Gradio copies the named file into its cache *before* the event's function runs, and mounted
  with ``gr.mount_gradio_app`` it skips its own path check, so a client could have any readable file copied and
  then served by ``/gradio_api/file=``. Only files that Gradio's upload route stored are acceptable: a regular
  file inside the upload folder, no larger than the upload limit.
* **Closed routes**: ``/gradio_api/process_recording`` (webcam video) and ``/gradio_api/component_server`` take
  uploads or run component functions; they are refused unless some component of the page needs them.

Gradio is not imported here: :meth:`GradioRoutes.from_blocks` receives the built Blocks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

PREFIX = "/gradio_api"
UPLOAD = f"{PREFIX}/upload"
QUEUE_JOIN = f"{PREFIX}/queue/join"
PROCESS_RECORDING = f"{PREFIX}/process_recording"
COMPONENT_SERVER = f"{PREFIX}/component_server"
_EVENT = re.compile(rf"^{PREFIX}/(?:run|api|call/v2|call)/(?P<name>[^/]+)$")
WORK_MARK = "policy_assistant_does_work"


def does_work(fn: F) -> F:
    """Mark a Blocks event function as doing work (retrieval, embedding, a build, a token check)."""
    setattr(fn, WORK_MARK, True)
    return fn


def normalise(path: str) -> str:
    """The route a path reaches: repeated slashes collapsed, no trailing slash (``//gradio_api/x/`` → ``/gradio_api/x``)."""
    collapsed = re.sub(r"/{2,}", "/", path)
    return collapsed.rstrip("/") or "/"


def file_references(data: Any) -> list[object]:
    """The ``path`` value of every object in a JSON value, however deeply nested (non-strings included)."""
    found: list[object] = []
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if "path" in value:
                found.append(value["path"])
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


@dataclass(frozen=True)
class GradioRoutes:
    """The mounted Blocks as the middleware sees it.

    Attributes:
        work_ids / light_ids: ``fn_index`` of functions that do work / that do not.
        work_names / light_names: ``api_name`` of the same.
        closed: routes no component needs (refused).
        upload_dir: Gradio's upload folder (resolved), the only place a file reference may point into.
    """

    work_ids: frozenset[int]
    light_ids: frozenset[int]
    work_names: frozenset[str]
    light_names: frozenset[str]
    closed: frozenset[str]
    upload_dir: Path

    @classmethod
    def from_blocks(cls, blocks: Any, upload_dir: str | Path | None = None) -> GradioRoutes:
        """Read the event functions and components of built Blocks (``upload_dir``: Gradio's own by default)."""
        from gradio.components import Video

        if upload_dir is None:
            from gradio.utils import get_upload_folder

            upload_dir = get_upload_folder()
        work_ids: set[int] = set()
        light_ids: set[int] = set()
        work_names: set[str] = set()
        light_names: set[str] = set()
        for fn_id, block_fn in blocks.fns.items():
            work = bool(getattr(block_fn.fn, WORK_MARK, False))
            (work_ids if work else light_ids).add(int(fn_id))
            if block_fn.api_name:
                (work_names if work else light_names).add(str(block_fn.api_name))
        components = list(blocks.blocks.values())
        closed = set()
        if not any(isinstance(c, Video) for c in components):
            closed.add(PROCESS_RECORDING)
        if not any(getattr(c, "server_fns", None) for c in components):
            closed.add(COMPONENT_SERVER)
        return cls(frozenset(work_ids), frozenset(light_ids), frozenset(work_names), frozenset(light_names - work_names),
                   frozenset(closed), Path(os.path.realpath(upload_dir)))

    # ---- events -----------------------------------------------------------------------------------
    @staticmethod
    def is_event(route: str) -> bool:
        """Whether a (normalised) route runs an event function."""
        return route == QUEUE_JOIN or bool(_EVENT.match(route))

    def does_work(self, route: str, body: Any) -> bool:
        """Whether an event request may run a function that does work.

        Gradio takes ``fn_index`` from the body when it is given and the path's name otherwise (and the
        ``/call`` routes only the name); both candidates are checked, and anything unrecognised counts as work.
        """
        candidates: list[bool] = []
        match = _EVENT.match(route)
        if match:
            name = match.group("name")
            candidates.append(name not in self.light_names)
        if isinstance(body, dict) and body.get("fn_index") is not None:
            index = body["fn_index"]
            known = isinstance(index, int) and not isinstance(index, bool)
            candidates.append(not known or index not in self.light_ids)
        return not candidates or any(candidates)

    # ---- files -------------------------------------------------------------------------------------
    def uploaded_file(self, reference: object, max_bytes: int) -> bool:
        """Whether a file reference names a file Gradio's upload route stored (regular, inside, not too big)."""
        if not isinstance(reference, str) or not reference or "\x00" in reference:
            return False
        real = Path(os.path.realpath(reference))
        if real == self.upload_dir or not real.is_relative_to(self.upload_dir):
            return False
        try:
            return real.is_file() and real.stat().st_size <= max_bytes
        except OSError:
            return False
