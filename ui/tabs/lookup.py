"""The 热线查询 tab (lookup desk): search by clause number, amount or keyword, a 标准答复 to read out, the full
outline of the measure and the whole cap table."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import gradio as gr

from indexing.section_ref import PREAMBLE_KEY, chapter_heading, clause_label
from ui import render
from ui.assets import static_text
from ui.gradio_routes import does_work
from ui.holder import NotReady
from ui.messages import not_ready_message, say, turns_lang
from ui.ratelimit import ClientBusy
from ui.tabs.context import TabContext, Update, bad_input

if TYPE_CHECKING:  # pragma: no cover
    from assistant.knowledge import KnowledgeBase
    from assistant.section_view import SearchResult

log = logging.getLogger("policy_assistant.ui")

CAP_HEADERS = ["条款", "金额（万元）", "金额说明", "限定", "期限", "对象", "依据"]
# The reply box's label follows the query's language.
REPLY_LABELS = {"zh": "标准答复（可复制）", "en": "Standard reply (copyable)"}
SEARCH_PROMPT = '<p class="pa-muted">请输入条款编号、金额问题或关键词，按回车查询。</p>'


def cap_table_rows(kb: KnowledgeBase, order: str = "clause") -> list[list[Any]]:
    """The full cap table for the Dataframe, in clause order or by amount (largest first)."""
    rows = []
    for a in kb.primary_awards(order):
        amount = a.amount_wan if a.amount_wan is None or not float(a.amount_wan).is_integer() else int(a.amount_wan)
        rows.append([clause_label(a.clause), amount, a.amount_text, a.qualifier, a.term, a.target, a.basis])
    return rows


def outline_chapters(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """The outline: 序言, then every chapter with its body text and clauses (附则 included)."""
    doc = kb.primary.document
    chapters: list[dict[str, Any]] = []
    try:
        preamble = doc.section(PREAMBLE_KEY)
        chapters.append({"heading": "序言", "sections": [kb.section_view(preamble)]})
    except KeyError:
        pass
    for chapter in doc.chapters:
        chapters.append({"heading": chapter_heading(chapter.key, chapter.title), "sections": [kb.section_view(doc.section(k)) for k in chapter.section_keys]})
    return chapters


def lookup_tab(ctx: TabContext) -> None:
    """Lay out the 热线查询 tab (inside ``gr.Tabs``) and wire its events."""
    kb = ctx.kb

    @does_work
    def lookup(query: str, request: gr.Request) -> tuple[str | Update, Update]:
        if not (query or "").strip():
            return SEARCH_PROMPT, gr.update(value="", label=REPLY_LABELS["zh"])
        lang = turns_lang([query])   # an English query: English labels around the results and the reply
        cleared_reply = gr.update(value="", label=REPLY_LABELS[lang])
        assistant = ctx.assistant_or_warn(lang)
        if assistant is None:
            return gr.update(), gr.update()
        try:
            cleaned = assistant.validate_question(query)   # the request's one check: search and ask take it as checked
        except Exception as exc:  # noqa: BLE001
            if not bad_input(exc):
                raise
            return f'<p class="pa-error">{render.esc(exc)}</p>', cleared_reply

        def look_up(pa_: Any) -> tuple[SearchResult, str]:
            result = pa_.search(cleaned, k=5)
            try:
                reply = pa_.ask([cleaned]).reply
            except Exception:  # noqa: BLE001 - the composed reply below is good enough
                log.warning("标准答复生成失败", exc_info=True)
                reply = ""
            return result, reply

        try:
            result, reply = ctx.work(request, look_up)
        except (NotReady, ClientBusy) as exc:
            said = say("busy", lang) if isinstance(exc, ClientBusy) else not_ready_message(exc, lang)
            return f'<p class="pa-error">{render.esc(said)}</p>', cleared_reply
        # each result is already a section view (full text, caps, linked documents) of its own document
        top_doc = result.results[0].view.doc if result.results else None
        reply = reply or render.compose_reply(result, ctx.facts_of(top_doc), lang)
        return render.search_results_html(result, lang=lang), gr.update(value=reply, label=REPLY_LABELS[lang])

    # ---- layout ---------------------------------------------------------------------------------
    with gr.Tab("热线查询", id="lookup", elem_id="pa-tab-lookup") as tab:
        with gr.Row():
            with gr.Column(scale=3, min_width=360):
                search_box = gr.Textbox(placeholder="条款编号（16 / 第十六条）、金额问题或关键词，回车查询",
                                        show_label=False, lines=1, elem_id="pa-search", container=False)
                reply_box = gr.Textbox(label=REPLY_LABELS["zh"], lines=3, buttons=["copy"], interactive=True,
                                       elem_id="pa-reply")
                results = gr.HTML(SEARCH_PROMPT, elem_id="pa-search-results")
            with gr.Column(scale=2, min_width=300):
                with gr.Accordion("措施全文目录（点击展开条款原文）", open=True, elem_id="pa-outline"):
                    gr.HTML(render.outline_html(outline_chapters(kb)))
        with gr.Accordion("资助上限表（全部摘自原文；点表头也可排序）", open=True, elem_id="pa-cap-table"):
            cap_order = gr.Radio([("按条款", "clause"), ("按金额从高到低", "amount")], value="clause",
                                 show_label=False, elem_id="pa-cap-order")
            cap_table = gr.Dataframe(cap_table_rows(kb), headers=CAP_HEADERS, interactive=False, wrap=True,
                                     datatype=["str", "number", "str", "str", "str", "str", "str"],
                                     column_widths=["7%", "8%", "17%", "8%", "14%", "28%", "18%"],
                                     max_height=520, elem_id="pa-cap-dataframe")

    # ---- events ---------------------------------------------------------------------------------
    search_box.submit(lookup, [search_box], [results, reply_box])
    # focus_search.js is a single arrow function that Gradio calls as it is, hence no comment inside that file
    tab.select(None, None, None, js=static_text("focus_search.js"))
    cap_order.change(lambda order: cap_table_rows(kb, order), [cap_order], [cap_table])
