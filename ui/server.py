"""The ASGI app ``serve`` runs: the JSON API under /api and the Gradio Blocks at /, on one port.

The parts come from their own modules — :mod:`ui.config` (settings), :mod:`ui.holder` (the assistant, loaded in
the background), :mod:`ui.api` (routes, error handlers and the guard middleware), :mod:`ui.app` (the page) —
and are put together here; ``ui.command`` starts the result with uvicorn.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ui.config import ServeConfig
from ui.holder import AssistantHolder

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import AsyncIterator

    from fastapi import FastAPI

    from ui.feedback import FeedbackStore


def create_app(config: ServeConfig | None = None, holder: AssistantHolder | None = None,
               feedback: FeedbackStore | None = None, load: bool = True) -> FastAPI:
    """The FastAPI app with the API routes and the Gradio Blocks mounted at ``/``.

    Args:
        config: address, admin access and limits (defaults from the environment).
        holder: the assistant holder (a new one that opens ``PolicyAssistant`` by default).
        feedback: the feedback store (``feedback.sqlite3`` under the home directory by default).
        load: start loading the assistant in the background when the server starts.

    Returns:
        The ASGI app, ready for ``uvicorn.run``.
    """
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from contextlib import asynccontextmanager

    import gradio as gr
    from fastapi import FastAPI

    from ui.api import install_api
    from ui.app import APP_CSS, build_blocks, build_theme
    from ui.feedback import FeedbackStore
    from ui.gradio_routes import GradioRoutes

    config = config or ServeConfig()
    holder = holder or AssistantHolder(max_question_chars=config.max_question_chars, max_turns=config.max_turns)
    store = feedback or FeedbackStore(config.home / "feedback.sqlite3")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if load and holder.state == "loading" and not holder.wait(0):
            holder.load_in_background()
        yield
        store.close()

    app = FastAPI(
        title="深圳数字创意产业政策助手 API",
        description="问答、条款检索、条款原文、资助上限、反馈。错误统一为 {\"error\": {\"code\", \"message\"}}。",
        version=_version(),
        lifespan=lifespan,
        docs_url=None,   # Swagger UI loads its scripts from a CDN; the page must work offline
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.holder = holder
    app.state.feedback = store
    app.state.config = config
    blocks = build_blocks(holder, config, feedback=store)
    install_api(app, holder, store, config, gradio=GradioRoutes.from_blocks(blocks))
    app = gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        server_name=config.host,
        server_port=config.port,
        footer_links=[],
        run_history=False,
        allowed_paths=[],
        blocked_paths=blocked_paths(config.home),
        max_file_size=config.max_upload_bytes,
        show_error=True,
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        theme=build_theme(),
        css=APP_CSS,
        enable_monitoring=False,
    )
    # Gradio checks the file paths a client sends (only its upload folder; never ``blocked_paths``) only once it
    # believes it was started by ``Blocks.launch``; mounted, it skips the check and copies whatever path it is
    # given into its cache. The guard middleware refuses such requests first; this turns Gradio's own check on too.
    blocks.has_launched = True
    if config.trusted_proxies:
        # Outermost, so the client address every check uses is the one the trusted proxy reports. uvicorn's own
        # handling is switched off in ``ui.command`` (by default it believes any header sent from 127.0.0.1).
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=config.trusted_proxies)
    return app


def blocked_paths(home: Path) -> list[str]:
    """Folders Gradio must never read or serve: the data directory and the system's own, minus Gradio's upload
    folder and the temp folder (an export is written there before Gradio copies it into its cache)."""
    import tempfile

    from gradio.utils import get_upload_folder

    needed = [Path(os.path.realpath(p)) for p in (get_upload_folder(), tempfile.gettempdir())]
    # Not /var or /root: an installation (its virtualenv, Gradio's static files) may well live there.
    candidates = [Path(os.path.realpath(home)), *(Path(p) for p in ("/proc", "/sys", "/dev", "/etc"))]
    return [str(p) for p in candidates if not any(n == p or n.is_relative_to(p) for n in needed)]


def _version() -> str:
    from assistant import __version__

    return __version__
