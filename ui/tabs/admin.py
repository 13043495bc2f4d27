"""The 管理 tab (``serve --admin`` or a token): index health and the corpus table, adding, removing or rebuilding,
and the feedback.

While a token is set, the admin functions serve only browser sessions that gave it (``ui.sessions``): the session
is the ``pa_session`` cookie the server set when the page loaded, not the page's own state.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import gradio as gr

from ui.gradio_routes import does_work
from ui.health_view import health_html
from ui.ratelimit import client_of
from ui.sessions import wait_message
from ui.tabs.context import TabContext, export_dir
from ui.text_markup import md_escape

log = logging.getLogger("policy_assistant.ui")

UPLOAD_SUFFIXES: tuple[str, ...] = (".txt", ".md", ".docx", ".pdf")
FEEDBACK_HEADERS = ["ID", "时间", "评价", "问题", "意见", "答复摘要"]
BUILD_STAGES = {
    "corpus": ("读取语料", 0.05),
    "chunks": ("切分段落", 0.1),
    "bm25": ("建立 BM25", 0.15),
    "embed": ("计算向量", 0.2),
    "store": ("写入向量库", 0.8),
    "swap": ("启用新索引", 0.88),
}


class BuildFailed(Exception):
    """An index build from the admin tab that did not happen; the message is Chinese."""


def save_upload_atomically(source: Path, uploads_dir: Path, max_bytes: int) -> Path:
    """Copy an uploaded document into ``uploads_dir`` (temp file + ``os.replace``); never executed.

    Raises:
        ValueError: wrong suffix, empty or oversized file (Chinese message).
    """
    suffix = source.suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise ValueError(f"只接受 {' / '.join(UPLOAD_SUFFIXES)} 文件，收到：{source.name}")
    size = source.stat().st_size
    if size == 0:
        raise ValueError("上传的文件是空的。")
    if size > max_bytes:
        raise ValueError(f"文件过大（{size} 字节，上限 {max_bytes} 字节）。")
    stem = re.sub(r"[^\w\u4e00-\u9fff.-]+", "_", source.stem).strip("._") or "document"
    uploads_dir.mkdir(parents=True, exist_ok=True)
    target = uploads_dir / f"{stem[:80]}{suffix}"
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=suffix, dir=uploads_dir)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def admin_tab(ctx: TabContext) -> None:
    """Lay out the 管理 tab (inside ``gr.Tabs``) and wire its events; call it only when ``config.admin_enabled``."""
    config, holder, store = ctx.config, ctx.holder, ctx.feedback
    gate = config.admin_gate

    def session_of(request: gr.Request | None) -> str | None:
        headers = getattr(request, "headers", None) if request is not None else None
        return gate.session_from_cookie(headers.get("cookie") if headers is not None else None)

    def admin_allowed(request: gr.Request | None) -> bool:
        return not config.admin_token or gate.allows(session_of(request))

    def require_admin(request: gr.Request | None) -> None:
        if not admin_allowed(request):
            raise gr.Error("请先输入管理员令牌。", print_exception=False)

    @does_work
    def unlock(token: str, request: gr.Request) -> tuple[Any, ...]:
        locked = (gr.update(visible=False), gr.update(visible=True), gr.update(), gr.update(), "", gr.update())
        expected = config.admin_token or ""
        if not expected:
            return (gr.update(visible=True), gr.update(visible=False), admin_status(), admin_feedback(), "",
                    removable_choices())
        client = client_of(request)
        wait = gate.wait(client)
        if wait > 0:                      # locked out: the token is not even compared
            gr.Warning(wait_message(wait))
            return locked
        session = session_of(request)
        if hmac.compare_digest((token or "").encode(), expected.encode()):
            if not gate.unlock(session):
                gr.Warning("浏览器没有本站的会话 Cookie：请允许 Cookie 并刷新页面后再输入令牌。")
                return locked
            gate.succeeded(client)
            return (gr.update(visible=True), gr.update(visible=False), admin_status(), admin_feedback(), "",
                    removable_choices())
        lockout = gate.failed(client)
        log.warning("管理员令牌不正确（%s）", client)
        gr.Warning(wait_message(lockout) if lockout else "令牌不正确。")
        return locked

    def admin_status() -> str:
        _, body = holder.health()
        if "model" not in body:
            body = {**body, "model": "", "built_at": "", "counts": {}}
        return health_html(body)

    def removable_choices() -> Any:
        """The documents the remove box offers: those the corpus table marks removable (added ones)."""
        _, body = holder.health()
        found = body.get("documents")
        documents: list[Any] = found if isinstance(found, list) else []
        choices = [(f"{d['title']}（{d['id']}）", d["id"]) for d in documents if d.get("removable")]
        return gr.update(choices=choices, value=None)

    def admin_feedback() -> list[list[Any]]:
        rows = []
        for r in store.records(limit=500):
            data = r.to_json()
            rows.append([r.id, data["created_at"], "👎 没帮助" if r.rating == "down" else "👍 有帮助", r.question, r.comment,
                         str(r.answer.get("answer") or "")[:80]])
        return rows

    def status_html(request: gr.Request) -> str:
        require_admin(request)
        return admin_status()

    def removable_documents(request: gr.Request) -> Any:
        require_admin(request)
        return removable_choices()

    def feedback_rows(request: gr.Request) -> list[list[Any]]:
        require_admin(request)
        return admin_feedback()

    def export_feedback(request: gr.Request) -> Any:
        require_admin(request)
        path = export_dir() / f"feedback-eval-cases-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
        path.write_text(store.export_eval_cases(), encoding="utf-8")
        return gr.update(value=str(path), visible=True)

    @does_work
    def add_document(file_path: str | None, request: gr.Request,
                     progress: gr.Progress = gr.Progress()) -> tuple[str, str, Any]:
        require_admin(request)
        if not file_path:
            raise gr.Error("请先选择要上传的文件（.txt/.md/.docx/.pdf）。", print_exception=False)
        try:
            saved = save_upload_atomically(Path(file_path), config.home / "uploads", config.max_upload_bytes)
        except ValueError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        progress(0.1, desc="正在校验并加入索引…")
        try:
            message = run_build(progress, add_files=[saved])
        except BuildFailed as exc:
            saved.unlink(missing_ok=True)  # rejected: the corpus and the index are unchanged, keep no copy
            return f"**未加入**：{md_escape(exc)}", admin_status(), gr.update()
        return md_escape(message), admin_status(), removable_choices()   # one more to offer for removal

    @does_work
    def rebuild(request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple[str, str]:
        require_admin(request)
        progress(0.05, desc="正在重建索引…")
        try:
            message = run_build(progress, rebuild=True)
        except BuildFailed as exc:
            return f"**重建失败**：{md_escape(exc)}", admin_status()
        return md_escape(message), admin_status()

    @does_work
    def remove_document(doc_id: str | None, confirmed: bool, request: gr.Request,
                        progress: gr.Progress = gr.Progress()) -> tuple[str, str, Any, bool]:
        """``index --remove`` from the tab: only with the confirmation box ticked; the box is cleared afterwards."""
        require_admin(request)
        if not doc_id:
            raise gr.Error("请先选择要删除的文档。", print_exception=False)
        if not confirmed:
            raise gr.Error("请先勾选“确认删除”：删除后要恢复只能重新加入该文档。", print_exception=False)
        progress(0.05, desc=f"正在删除 {doc_id} 并重建索引…")
        try:
            message = run_build(progress, remove_ids=[doc_id])
        except BuildFailed as exc:
            return f"**未删除**：{md_escape(exc)}", admin_status(), removable_choices(), False
        return md_escape(message), admin_status(), removable_choices(), False

    def run_build(progress: gr.Progress, **kwargs: Any) -> str:
        """Build through ``indexing.build.build_index`` under the holder's lock, then reload the assistant."""
        from indexing.additions import DocumentRejected
        from indexing.build import build_index
        from indexing.config import IndexConfig
        from indexing.removal import RemovalRefused
        from indexing.staging import BuildInProgress

        started = time.monotonic()
        try:
            result = _call_build(build_index, IndexConfig(home=config.home), progress, **kwargs)
        except DocumentRejected as exc:
            raise BuildFailed(f"文档被拒绝：{exc}。索引和语料都没有改动。") from None
        except RemovalRefused as exc:
            raise BuildFailed(f"无法删除：{exc}。索引和语料都没有改动。") from None
        except BuildInProgress as exc:
            raise BuildFailed(f"另一个建索引任务正在进行：{exc}") from None
        except Exception as exc:  # noqa: BLE001 - shown to the admin in Chinese, logged with traceback
            log.exception("建立索引失败")
            raise BuildFailed(f"建立索引失败：{exc}") from None
        progress(0.9, desc="正在重新加载助手…")
        holder.load()
        took = time.monotonic() - started
        summary = (
            f"索引已建立（{took:.1f} 秒）：{result.documents} 篇文档，{result.clauses} 条条款，{result.chunks} 段；"
            f"新计算向量 {result.embedded}，复用 {result.reused}。"
        )
        if result.added:
            summary += " 已加入：" + "、".join(Path(p).name for p in result.added) + "。"
        if result.removed:
            summary += " 已删除：" + "、".join(result.removed) + "。"
        if result.warnings:
            summary += " 注意：" + "；".join(result.warnings)
        if holder.state != "ready":
            summary += f" 但助手未能加载：{holder.problem}"
        return summary

    # ---- layout ---------------------------------------------------------------------------------
    with gr.Tab("管理", id="admin", elem_id="pa-tab-admin") as tab:
        with gr.Row(visible=bool(config.admin_token)) as token_row:
            token_box = gr.Textbox(label="管理员令牌", type="password", scale=4, elem_id="pa-admin-token")
            token_btn = gr.Button("解锁", scale=1, elem_id="pa-admin-unlock")
        with gr.Column(visible=not config.admin_token) as admin_panel:
            gr.Markdown("#### 索引状态")
            health_view = gr.HTML("", elem_id="pa-admin-health")
            refresh_btn = gr.Button("刷新状态", size="sm")
            gr.Markdown(
                f"#### 添加文档\n只接受 .txt / .md / .docx / .pdf，单个文件不超过 "
                f"{config.max_upload_bytes // (1024 * 1024) or 1} MB；保存到 `uploads/` 后按 `index --add` 的规则校验并加入索引。"
            )
            upload = gr.File(file_types=list(UPLOAD_SUFFIXES), file_count="single", type="filepath",
                             label="文档", elem_id="pa-admin-upload")
            with gr.Row():
                add_btn = gr.Button("加入索引", variant="primary", elem_id="pa-admin-add")
                rebuild_btn = gr.Button("重建索引", variant="stop", elem_id="pa-admin-rebuild")
            gr.Markdown("#### 删除文档\n只能删除用 `index --add` 或上面“加入索引”加入的文档；内置措施不能删除。"
                        "删除即不带该文档重建索引，完成后才从语料中移除文件，中途失败时旧索引和语料不变。")
            with gr.Row():
                remove_choice = gr.Dropdown(choices=[], label="要删除的文档", scale=3, elem_id="pa-admin-remove-doc")
                remove_confirm = gr.Checkbox(label="确认删除", value=False, scale=1, elem_id="pa-admin-remove-confirm")
                remove_btn = gr.Button("删除文档", variant="stop", scale=1, elem_id="pa-admin-remove")
            build_status = gr.Markdown("", elem_id="pa-admin-build-status")
            gr.Markdown("#### 用户反馈（“没帮助”在前）")
            # Widths fixed rather than left to Gradio's sizing from content: with few or no rows it gave the ID
            # column 39 px in CI's Chromium (the header alone), below the readable 40 px the layout test holds.
            fb_table = gr.Dataframe(headers=FEEDBACK_HEADERS, interactive=False, wrap=True,
                                    column_widths=["7%", "15%", "9%", "22%", "20%", "27%"],
                                    elem_id="pa-admin-feedback")
            with gr.Row():
                fb_refresh = gr.Button("刷新反馈", size="sm", elem_id="pa-admin-fb-refresh")
                fb_export = gr.Button("导出为评测用例（JSONL）", size="sm", elem_id="pa-admin-fb-export")
                fb_file = gr.DownloadButton("下载 JSONL", visible=False, size="sm", elem_id="pa-admin-fb-file")

    # ---- events ---------------------------------------------------------------------------------
    unlock_outputs = [admin_panel, token_row, health_view, fb_table, token_box, remove_choice]
    token_btn.click(unlock, [token_box], unlock_outputs)
    token_box.submit(unlock, [token_box], unlock_outputs)
    tab.select(_when_admin(status_html), None, [health_view])
    tab.select(_when_admin(removable_documents), None, [remove_choice])
    tab.select(_when_admin(feedback_rows), None, [fb_table])
    refresh_btn.click(status_html, None, [health_view])
    refresh_btn.click(removable_documents, None, [remove_choice])
    fb_refresh.click(feedback_rows, None, [fb_table])
    fb_export.click(export_feedback, None, [fb_file])
    add_btn.click(add_document, [upload], [build_status, health_view, remove_choice])
    rebuild_btn.click(rebuild, None, [build_status, health_view])
    remove_btn.click(remove_document, [remove_choice, remove_confirm], [build_status, health_view, remove_choice,
                                                                         remove_confirm])


def _when_admin(fn: Any) -> Any:
    """Run an admin view function on tab select, silently doing nothing before the token is given."""

    def run(request: gr.Request) -> Any:
        try:
            return fn(request)
        except gr.Error:
            return gr.update()

    return run


def _call_build(build_index: Any, config: Any, progress: gr.Progress, **kwargs: Any) -> Any:
    """``build_index(config, ...)`` with its ``progress(stage, done, total)`` shown as a Gradio progress bar."""

    def report(stage: str, done: int, total: int) -> None:
        name, base = BUILD_STAGES.get(stage, (stage, 0.5))
        span = 0.6 if stage == "embed" else 0.05
        fraction = base + span * (done / total if total else 1.0)
        progress(min(fraction, 0.9), desc=f"{name} {done}/{total}" if total > 1 else name)

    return build_index(config, progress=report, **kwargs)
