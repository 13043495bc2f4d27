"""The 政策匹配 tab: a company's industry, business and plans → the clauses it may apply for, with downloads."""

from __future__ import annotations

import logging
import time
from typing import Any

import gradio as gr

from ui import match_summary
from ui.assets import static_text
from ui.gradio_routes import does_work
from ui.holder import NotReady
from ui.pdf_export import find_cjk_font, write_match_pdf
from ui.ratelimit import ClientBusy
from ui.tabs.context import BUSY_MESSAGE, TabContext, bad_input, export_dir

log = logging.getLogger("policy_assistant.ui")

INDUSTRIES: tuple[str, ...] = (
    "创意设计", "网络视听（直播/短视频）", "动漫", "游戏", "数字文化装备（XR/可穿戴）", "数字内容创作",
    "数字技术应用（云计算/AI/VR/区块链）", "孵化器/众创空间", "产业园区/基地", "研究/咨询机构",
    "公共服务平台/交易平台", "数字创意产品出口", "其他",
)


def match_tab(ctx: TabContext) -> None:
    """Lay out the 政策匹配 tab (inside ``gr.Tabs``) and wire its events."""
    facts = ctx.facts

    @does_work
    def match(industry: str, business: str, plan: str, request: gr.Request) -> tuple[Any, ...]:
        profile = {"行业": (industry or "").strip(), "主要业务": (business or "").strip(), "计划": (plan or "").strip()}
        hidden = gr.update(visible=False)
        if not any(profile.values()):
            gr.Warning("请至少填写行业或主要业务。")
            return gr.update(), hidden, hidden, ""
        assistant = ctx.assistant_or_warn()
        if assistant is None:
            return gr.update(), hidden, hidden, ""
        try:
            cleaned = {k: (assistant.validate_question(v) if v else "") for k, v in profile.items()}
        except Exception as exc:  # noqa: BLE001
            if not bad_input(exc):
                raise
            gr.Warning(str(exc))
            return gr.update(), hidden, hidden, ""
        description = "；".join(f"{k}：{v}" for k, v in cleaned.items() if v)
        try:
            answer = ctx.work(request, lambda pa_: pa_.match(description))
        except (NotReady, ClientBusy) as exc:
            gr.Warning(BUSY_MESSAGE if isinstance(exc, ClientBusy) else str(exc))
            return gr.update(), hidden, hidden, ""
        except Exception as exc:  # noqa: BLE001
            if not bad_input(exc):   # the joined description can be longer than one field may be
                raise
            gr.Warning(str(exc))
            return gr.update(), hidden, hidden, ""
        html_out = match_summary.match_html(answer, cleaned)
        folder = export_dir()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        md_path = folder / f"政策匹配摘要-{stamp}.md"
        md_path.write_text(match_summary.match_markdown(answer, cleaned, facts.title, facts=facts), encoding="utf-8")
        font = find_cjk_font()
        if font is None:
            return (html_out, gr.update(value=str(md_path), visible=True), hidden,
                    "未找到中文字体（`fc-list :lang=zh` 为空），仅提供 Markdown 下载；安装 fonts-noto-cjk 后可导出 PDF。")
        try:
            pdf_path = write_match_pdf(match_summary.match_plain_lines(answer, cleaned, facts.title, facts=facts),
                                       folder / f"政策匹配摘要-{stamp}.pdf", font)
        except Exception:  # noqa: BLE001 - a font the PDF library cannot embed: Markdown still works
            log.warning("PDF 导出失败", exc_info=True)
            return (html_out, gr.update(value=str(md_path), visible=True), hidden,
                    "PDF 导出失败（字体无法嵌入），仅提供 Markdown 下载。")
        return (html_out, gr.update(value=str(md_path), visible=True), gr.update(value=str(pdf_path), visible=True), "")

    def on_match_chip(evt: gr.EventData) -> str:
        return ctx.clause_view(str(getattr(evt, "section", "") or ""), [], str(getattr(evt, "doc", "") or "") or None)

    # ---- layout ---------------------------------------------------------------------------------
    with gr.Tab("政策匹配", id="match", elem_id="pa-tab-match"):
        gr.Markdown("填写企业情况，列出可申请的条款、资助上限、条件和需要准备的材料。")
        with gr.Row():
            with gr.Column(scale=2, min_width=300):
                m_industry = gr.Dropdown(list(INDUSTRIES), value=None, label="行业", allow_custom_value=True,
                                         elem_id="pa-match-industry")
                m_business = gr.Textbox(label="主要业务", lines=3, placeholder="例如：运营一个数字创意孵化器，入驻团队30家",
                                        elem_id="pa-match-business")
                m_plan = gr.Textbox(label="计划", lines=2, placeholder="例如：明年建设动作捕捉影棚，开拓海外市场",
                                    elem_id="pa-match-plan")
                m_btn = gr.Button("匹配政策", variant="primary", elem_id="pa-match-run")
                with gr.Row():
                    m_md = gr.DownloadButton("下载摘要（Markdown）", visible=False, size="sm", elem_id="pa-match-md")
                    m_pdf = gr.DownloadButton("下载摘要（PDF）", visible=False, size="sm", elem_id="pa-match-pdf")
                m_note = gr.Markdown("", elem_id="pa-match-note")
            with gr.Column(scale=3, min_width=360):
                m_result = gr.HTML('<p class="pa-muted">匹配结果会显示在这里。</p>', js_on_load=static_text("clause_chips.js"),
                                   elem_id="pa-match-result")
                m_result_clause = gr.HTML("", elem_id="pa-match-clause")

    # ---- events ---------------------------------------------------------------------------------
    m_btn.click(match, [m_industry, m_business, m_plan], [m_result, m_md, m_pdf, m_note])
    m_result.chip(on_match_chip, None, [m_result_clause])
