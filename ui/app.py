"""The Gradio Blocks app: 创业者咨询 (chat), 政策匹配, 热线查询 (lookup desk) and 管理 (admin).

Each tab is a module under :mod:`ui.tabs` that lays itself out and wires its own events from one shared
:class:`~ui.tabs.context.TabContext`; the stylesheet and the scripts are files under ``ui/static/``. All text
that reaches the page is rendered by :mod:`ui.render` with escaping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gradio as gr

from ui import render
from ui.assets import static_text
from ui.config import ServeConfig
from ui.holder import AssistantHolder
from ui.tabs.admin import admin_tab
from ui.tabs.chat import chat_tab
from ui.tabs.context import TabContext
from ui.tabs.lookup import lookup_tab
from ui.tabs.match import match_tab

if TYPE_CHECKING:  # pragma: no cover
    from ui.feedback import FeedbackStore

# Gradio 6 takes the stylesheet at mount time (``ui.server`` passes it to ``gr.mount_gradio_app``).
APP_CSS = static_text("app.css")


def build_theme() -> gr.themes.Base:
    """The default theme with system CJK fonts only (nothing is fetched from a font CDN)."""
    return gr.themes.Default(
        primary_hue="blue",
        font=["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "Source Han Sans SC", "system-ui", "sans-serif"],
        font_mono=["Noto Sans Mono CJK SC", "ui-monospace", "monospace"],
    )


def build_blocks(pa: AssistantHolder | Any, config: ServeConfig | None = None,
                 feedback: FeedbackStore | None = None) -> gr.Blocks:
    """Build the Blocks UI.

    Args:
        pa: an :class:`~ui.holder.AssistantHolder` (loads in the background), or a ready ``PolicyAssistant``.
        config: serve settings (admin access, upload limit, streaming pace).
        feedback: where 👍/👎 go (``feedback.sqlite3`` under the home directory by default).

    Returns:
        The Blocks, to mount with ``gr.mount_gradio_app`` (theme and CSS are passed there: Gradio 6).
    """
    from ui.feedback import FeedbackStore

    config = config or ServeConfig()
    holder = pa if isinstance(pa, AssistantHolder) else _ready_holder(pa)
    store = feedback or FeedbackStore(config.home / "feedback.sqlite3")
    ctx = TabContext.create(holder, config, store)

    with gr.Blocks(title="深圳数字创意产业政策助手", analytics_enabled=False) as demo:
        gr.HTML(
            f'<div class="pa-header"><h1>深圳数字创意产业政策助手</h1>'
            f'<p class="pa-muted">依据《{render.esc(ctx.title)}》逐条引用作答；资助金额均摘自原文。</p></div>',
            elem_id="pa-header",
        )
        # "wrap", not Gradio's default "menu": the menu measures the tab bar once per layout, and a narrow window
        # measured mid-layout (a scroll bar appearing on a loaded machine) hid 政策匹配 and 管理 behind "⋯" for good.
        # Wrapped, every tab stays in the bar; at phone widths the CSS keeps all four on one line.
        with gr.Tabs(elem_id="pa-tabs", overflow_behavior="wrap"):
            chat_tab(ctx)
            match_tab(ctx)
            lookup_tab(ctx)
            if config.admin_enabled:
                admin_tab(ctx)

    demo.queue(default_concurrency_limit=8)
    return demo


def _ready_holder(pa: Any) -> AssistantHolder:
    """Wrap an already opened assistant in a holder (for callers that build the Blocks directly)."""
    holder = AssistantHolder(opener=lambda: pa)
    holder.load()
    return holder
