"""The 创业者咨询 tab: the chat (our own HTML, not ``gr.Chatbot``), the clause panel beside it and 👍/👎 with comments.

Answers carry clickable clause chips and, in their long form, a cap table; clicks inside that HTML become custom
events (``chip``, ``option``, ``rate``) through ``ui/static/chat_events.js``.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant.answer import Answer
from assistant.language import Lang
from ui import render
from ui.assets import static_text
from ui.feedback import MAX_COMMENT, FeedbackError
from ui.gradio_routes import does_work
from ui.holder import NotReady
from ui.messages import not_ready_message, say, turns_lang
from ui.ratelimit import ClientBusy
from ui.tabs.context import TabContext, Update, bad_input

if TYPE_CHECKING:  # pragma: no cover
    from ui.render import Quoted

log = logging.getLogger("policy_assistant.ui")
FAILED_MESSAGE = say("failed")

EXAMPLES: tuple[str, ...] = (
    "我们是做孵化器的，最多能补多少？",
    "做直播基地能申请什么支持？",
    "原创动漫作品获奖有奖励吗？",
    "这个措施什么时候开始实施？",
)
CHAT_PLACEHOLDER = "请描述您的企业或项目，例如“我们是做孵化器的，最多能补多少？”。答复会标注引用的条款，点击条款可查看原文。"
CLAUSE_PLACEHOLDER = '<p class="pa-muted">点击答复中的条款标签，可在此查看条款原文，引用语句会高亮显示。</p>'


def new_conversation() -> dict[str, Any]:
    """A conversation as the page keeps it: shown messages (each answer an ``Answer``), the turns sent to the
    assistant (each checked once, when it was sent: ``CheckedQuestion``), feedback ids."""
    return {"messages": [], "turns": [], "feedback": {}}


def quotes_for(messages: list[dict[str, Any]], section: str, doc: str | None = None) -> list[Quoted]:
    """Citations (else cap sentences) of ``section`` in the latest answer that mentions it."""
    for message in reversed(messages):
        answer: Answer | None = message.get("answer")
        if answer is None:
            continue
        quotes: list[Quoted] = [c for c in answer.citations
                                if c.section == section and (doc is None or c.doc == doc)]
        if quotes:
            return quotes
        caps: list[Quoted] = [c for c in answer.caps if c.clause == section]
        if caps:
            return caps[:1]
    return []


def chat_tab(ctx: TabContext) -> None:
    """Lay out the 创业者咨询 tab (inside ``gr.Tabs``) and wire its events."""
    known = ctx.known_sections
    store = ctx.feedback

    def chat(conv: dict[str, Any]) -> str:
        return render.chat_html(conv["messages"], known_sections=known, placeholder=CHAT_PLACEHOLDER)

    @does_work
    def send(text: str, conv: dict[str, Any], request: gr.Request) -> Iterator[tuple[Any, ...]]:
        conv = copy.deepcopy(conv) if conv else new_conversation()
        if not (text or "").strip():
            yield chat(conv), gr.update(), conv, gr.update()
            return
        # Everything said around this question is in its language (that of the conversation when it shows none).
        lang = turns_lang([*conv["turns"], text])
        assistant = ctx.assistant_or_warn(lang)
        if assistant is None:
            yield chat(conv), gr.update(), conv, gr.update()
            return
        try:   # the request's one check: the checked text is not checked again by ``ask``
            question = assistant.validate_question(text)
        except Exception as exc:  # noqa: BLE001
            if not bad_input(exc):
                raise
            exc.lang = lang   # type: ignore[attr-defined]  # BadInput: worded in the conversation's language
            gr.Warning(str(exc))
            yield chat(conv), gr.update(), conv, gr.update()
            return
        conv["messages"].append({"role": "user", "text": question})
        conv["turns"].append(question)
        working = render.ANSWER_LABELS[lang]["working"]
        conv["messages"].append({"role": "assistant", "text": working, "answer": None})
        yield chat(conv), "", conv, gr.update()
        try:
            # holder.answer refuses while the index on disk is damaged, with the same message as /api/ask's 503.
            answer: Answer = ctx.work(request, lambda pa_: pa_.ask(list(conv["turns"])))
        except (NotReady, ClientBusy) as exc:
            conv["messages"].pop()
            conv["messages"].pop()
            conv["turns"].pop()
            gr.Warning(say("busy", lang) if isinstance(exc, ClientBusy) else not_ready_message(exc, lang))
            yield chat(conv), text, conv, gr.update()
            return
        except Exception as exc:
            if bad_input(exc):   # e.g. the conversation reached its turn limit: say so, keep the text
                conv["messages"].pop()
                conv["messages"].pop()
                conv["turns"].pop()
                gr.Warning(f"{exc}{' ' if lang == 'en' else ''}{say('new_conversation', lang)}")
                yield chat(conv), text, conv, gr.update()
                return
            log.exception("回答失败")
            answer = Answer.rejected(question, say("failed", lang))
        full = answer.text
        if not answer.error and full:
            for prefix in render.stream_chunks(full):
                conv["messages"][-1] = {"role": "assistant", "text": prefix, "answer": answer, "final": False}
                yield chat(conv), gr.update(), conv, gr.update()
                time.sleep(ctx.config.stream_step)
        conv["messages"][-1] = {"role": "assistant", "text": None, "answer": answer, "final": True}
        side: Any = gr.update()
        citations = answer.citations
        if citations:
            top, top_doc = str(citations[0].section or ""), citations[0].doc
            side = ctx.clause_view(top, [c for c in citations if c.section == top and c.doc == top_doc], top_doc,
                                   answer.lang)
        yield chat(conv), gr.update(), conv, side

    def on_chip(conv: dict[str, Any], evt: gr.EventData) -> str | Update:
        section = str(getattr(evt, "section", "") or "")
        doc = str(getattr(evt, "doc", "") or "") or None
        if not section:
            return gr.update()
        lang = turns_lang((conv or {}).get("turns", []))
        return ctx.clause_view(section, quotes_for((conv or {}).get("messages", []), section, doc), doc, lang)

    @does_work
    def on_option(conv: dict[str, Any], evt: gr.EventData, request: gr.Request) -> Iterator[tuple[Any, ...]]:
        yield from send(str(getattr(evt, "option", "") or ""), conv, request)

    def on_rate(conv: dict[str, Any], evt: gr.EventData) -> tuple[Any, ...]:
        conv = copy.deepcopy(conv) if conv else new_conversation()
        rating = str(getattr(evt, "rating", ""))
        try:
            index = int(getattr(evt, "index", -1))
        except (TypeError, ValueError):
            index = -1
        messages = conv["messages"]
        if rating not in ("up", "down") or not 0 <= index < len(messages) or messages[index].get("role") != "assistant":
            return chat(conv), conv, gr.update(), None, gr.update()
        answer: Answer | None = messages[index].get("answer")
        turns = [m["text"] for m in messages[:index] if m.get("role") == "user"]
        question = turns[-1] if turns else ""
        previous = conv["feedback"].get(str(index))
        if previous:
            store.set_rating(previous, rating)
            record_id = previous
        else:
            # the stored record is JSON (it leaves the process for the feedback file and the eval export)
            record_id = store.add(rating, question, turns, answer.to_json() if answer else {}, source="chat")
            conv["feedback"][str(index)] = record_id
        messages[index]["feedback"] = rating
        lang = answer.lang if answer is not None else "zh"
        label = say("comment_down" if rating == "down" else "comment_up", lang, limit=MAX_COMMENT)
        return chat(conv), conv, gr.update(visible=True), record_id, gr.update(label=label, value="")

    def on_comment(record_id: int | None, comment: str, conv: dict[str, Any] | None = None) -> tuple[Any, ...]:
        lang = _rated_lang(conv, record_id)
        if record_id and (comment or "").strip():
            try:
                store.set_comment(int(record_id), comment.strip())
            except FeedbackError as exc:   # too long: nothing stored, the text stays in the box to be shortened
                said = (f"The comment is too long ({len(comment.strip())} characters; the limit is {MAX_COMMENT}). "
                        if lang == "en" else str(exc))
                gr.Warning(said + say("comment_not_saved", lang))
                return gr.update(), record_id
            gr.Info(say("comment_saved", lang), duration=3)
        return gr.update(visible=False), None

    # ---- layout ---------------------------------------------------------------------------------
    with gr.Tab("创业者咨询", id="chat", elem_id="pa-tab-chat"):
        conv_state = gr.State(new_conversation())
        feedback_target = gr.State(None)
        if ctx.facts.short_notice:   # a draft's notice; an issued text has none
            gr.HTML(f'<p class="pa-draft">ⓘ {render.esc(ctx.facts.short_notice)}</p>', elem_id="pa-draft-notice")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=360):
                chat_view = gr.HTML(chat(new_conversation()), js_on_load=static_text("chat_events.js"),
                                    elem_id="pa-chat-view", padding=False, container=True)
                with gr.Row():
                    chat_input = gr.Textbox(placeholder="输入问题，回车发送", show_label=False, lines=1,
                                            max_lines=4, scale=6, autofocus=True, elem_id="pa-chat-input",
                                            container=False)
                    send_btn = gr.Button("发送", variant="primary", scale=1, min_width=80, elem_id="pa-send")
                    new_btn = gr.Button("新对话", variant="secondary", scale=1, min_width=80, elem_id="pa-new")
                with gr.Column(visible=False, elem_id="pa-fb-box") as fb_box:
                    fb_comment = gr.Textbox(label=f"补充意见（可选，{MAX_COMMENT} 字以内）", lines=2, max_length=MAX_COMMENT,
                                            elem_id="pa-fb-comment")
                    fb_submit = gr.Button("提交意见", size="sm", elem_id="pa-fb-submit")
                gr.HTML('<span class="pa-muted">示例问题（点击即问）：</span>', padding=False)
                with gr.Row(elem_classes=["pa-examples"]):
                    example_buttons = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
            with gr.Column(scale=2, min_width=300):
                gr.Markdown("#### 条款原文")
                clause_panel = gr.HTML(CLAUSE_PLACEHOLDER, js_on_load=static_text("clause_chips.js"),
                                       elem_id="pa-clause-view", container=True)

    # ---- events ---------------------------------------------------------------------------------
    chat_outputs = [chat_view, chat_input, conv_state, clause_panel]
    chat_input.submit(send, [chat_input, conv_state], chat_outputs)
    send_btn.click(send, [chat_input, conv_state], chat_outputs)
    for button, question in zip(example_buttons, EXAMPLES, strict=True):
        button.click(_example_runner(send, question), [conv_state], chat_outputs)
    new_btn.click(
        lambda: (chat(new_conversation()), "", new_conversation(), CLAUSE_PLACEHOLDER, gr.update(visible=False)),
        None, [chat_view, chat_input, conv_state, clause_panel, fb_box],
    )
    chat_view.chip(on_chip, [conv_state], [clause_panel])
    chat_view.option(on_option, [conv_state], chat_outputs)
    chat_view.rate(on_rate, [conv_state], [chat_view, conv_state, fb_box, feedback_target, fb_comment])
    fb_submit.click(on_comment, [feedback_target, fb_comment, conv_state], [fb_box, feedback_target])
    fb_comment.submit(on_comment, [feedback_target, fb_comment, conv_state], [fb_box, feedback_target])
    clause_panel.chip(on_chip, [conv_state], [clause_panel])


def _rated_lang(conv: dict[str, Any] | None, record_id: int | None) -> Lang:
    """The language of the answer whose rating stored ``record_id`` (Chinese when it is not in the conversation)."""
    for index, stored in ((conv or {}).get("feedback") or {}).items():
        if stored == record_id:
            answer = conv["messages"][int(index)].get("answer") if conv else None
            return "en" if answer is not None and answer.lang == "en" else "zh"
    return "zh"


def _example_runner(send: Any, question: str) -> Any:
    """An example button's event: ``send`` with the example's text (a work event like ``send`` itself)."""

    @does_work
    def run(conv: dict[str, Any], request: gr.Request) -> Iterator[tuple[Any, ...]]:
        yield from send(question, conv, request)

    return run
