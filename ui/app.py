"""The Gradio Blocks app: 创业者咨询 (chat), 政策匹配, 热线查询 (lookup desk) and 管理 (admin).

All text that reaches the page is rendered by :mod:`ui.render` with escaping; the chat is our own HTML
(not ``gr.Chatbot``), so answers can carry clickable clause chips and a cap table beside the text. Clicks
inside that HTML are delegated to custom events (``chip``, ``option``, ``rate``) through ``js_on_load``.
"""

from __future__ import annotations

import copy
import hmac
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant.question_text import BadInput
from ui import render
from ui.config import ServeConfig
from ui.feedback import MAX_COMMENT, FeedbackError
from ui.gradio_routes import does_work
from ui.holder import AssistantHolder, NotReady
from ui.ratelimit import ClientBusy, ClientSlots, client_of
from ui.sessions import wait_message

if TYPE_CHECKING:  # pragma: no cover
    from assistant.knowledge import KnowledgeBase
    from ui.feedback import FeedbackStore

log = logging.getLogger("policy_assistant.ui")

EXAMPLES: tuple[str, ...] = (
    "我们是做孵化器的，最多能补多少？",
    "做直播基地能申请什么支持？",
    "原创动漫作品获奖有奖励吗？",
    "这个措施什么时候开始实施？",
)
INDUSTRIES: tuple[str, ...] = (
    "创意设计", "网络视听（直播/短视频）", "动漫", "游戏", "数字文化装备（XR/可穿戴）", "数字内容创作",
    "数字技术应用（云计算/AI/VR/区块链）", "孵化器/众创空间", "产业园区/基地", "研究/咨询机构",
    "公共服务平台/交易平台", "数字创意产品出口", "其他",
)
UPLOAD_SUFFIXES: tuple[str, ...] = (".txt", ".md", ".docx", ".pdf")
CAP_HEADERS = ["条款", "金额（万元）", "金额说明", "限定", "期限", "对象", "依据"]
FEEDBACK_HEADERS = ["ID", "时间", "评价", "问题", "意见", "答复摘要"]
CHAT_PLACEHOLDER = "请描述您的企业或项目，例如“我们是做孵化器的，最多能补多少？”。答复会标注引用的条款，点击条款可查看原文。"
CLAUSE_PLACEHOLDER = '<p class="pa-muted">点击答复中的条款标签，可在此查看条款原文，引用语句会高亮显示。</p>'
BUSY_MESSAGE = "您还有问题正在处理，请等它答完再问。"

# Clicks inside our HTML become custom events; listening on the container survives re-renders.
CHAT_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('button');
  if (!button || !element.contains(button)) return;
  if (button.dataset.rating) { trigger('rate', {rating: button.dataset.rating, index: Number(button.dataset.index)}); return; }
  if (button.dataset.option) { trigger('option', {option: button.dataset.option}); return; }
  if (button.dataset.section) { trigger('chip', {section: button.dataset.section, doc: button.dataset.doc || ''}); }
});
watch('value', () => {
  const chat = element.querySelector('.pa-chat');
  if (chat) chat.scrollTop = chat.scrollHeight;
});
"""
SECTION_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-section]');
  if (button && element.contains(button)) trigger('chip', {section: button.dataset.section, doc: button.dataset.doc || ''});
});
"""
FOCUS_SEARCH_JS = "() => { setTimeout(() => document.querySelector('#pa-search textarea, #pa-search input')?.focus(), 50); }"

APP_CSS = """
.pa-header h1 { font-size: 1.5rem; margin: 0.2rem 0; }
.pa-header p { margin: 0; }
.pa-muted { color: var(--body-text-color-subdued); font-size: 0.9em; }
.pa-draft { color: var(--body-text-color-subdued); font-size: 0.82em; margin: 0.2rem 0; }
.pa-chat { max-height: 62vh; overflow-y: auto; padding: 0.5rem; display: flex; flex-direction: column; gap: 0.6rem; }
.pa-chat.pa-empty { min-height: 12rem; justify-content: center; }
.pa-msg { display: flex; }
.pa-user { justify-content: flex-end; }
.pa-user .pa-bubble { background: var(--color-accent-soft); max-width: 80%; }
.pa-assistant .pa-bubble { background: var(--background-fill-secondary); width: 100%; }
.pa-bubble { border-radius: 10px; padding: 0.5rem 0.8rem; border: 1px solid var(--border-color-primary); }
.pa-bubble p { margin: 0.25rem 0; line-height: 1.6; }
.pa-answer-main { display: flex; gap: 0.8rem; flex-wrap: wrap; align-items: flex-start; }
.pa-answer-main .pa-text { flex: 1 1 20rem; min-width: 0; }
.pa-side { flex: 1 1 24rem; min-width: 0; }
.pa-caps { border-collapse: collapse; font-size: 0.82em; width: 100%; margin: 0.3rem 0; }
.pa-col-clause, .pa-col-qualifier, .pa-col-basis { white-space: nowrap; }
.pa-caps caption { text-align: left; font-weight: 600; padding-bottom: 0.2rem; }
.pa-caps th, .pa-caps td { border: 1px solid var(--border-color-primary); padding: 0.2rem 0.4rem; text-align: left; vertical-align: top; }
.pa-caps th { background: var(--background-fill-primary); white-space: nowrap; }
.pa-amount { font-weight: 600; white-space: nowrap; }
.pa-chips { margin-top: 0.4rem; display: flex; flex-wrap: wrap; gap: 0.3rem; align-items: center; }
.pa-chips-label { font-size: 0.85em; color: var(--body-text-color-subdued); }
.pa-chip, .pa-ref, .pa-option { cursor: pointer; border: 1px solid var(--color-accent); color: var(--color-accent);
  background: var(--background-fill-primary); border-radius: 999px; padding: 0.05rem 0.6rem; font-size: 0.88em; }
.pa-ref { border-radius: 4px; padding: 0 0.2rem; font-size: inherit; border-style: dotted; }
.pa-option { background: var(--color-accent-soft); font-weight: 600; border-radius: 6px; padding: 0.15rem 0.7rem; }
.pa-chip:hover, .pa-ref:hover, .pa-option:hover { background: var(--color-accent-soft); }
.pa-chip-soft { border-style: dashed; }
.pa-clarify { margin-top: 0.5rem; }
.pa-options { display: flex; flex-wrap: wrap; gap: 0.4rem; }
.pa-notices { font-size: 0.82em; color: var(--body-text-color-subdued); margin: 0.3rem 0 0 1rem; }
.pa-feedback { margin-top: 0.3rem; display: flex; gap: 0.3rem; align-items: center; }
.pa-fb { cursor: pointer; background: none; border: 1px solid var(--border-color-primary); border-radius: 6px; opacity: 0.6;
  font-size: 0.8em; padding: 0 0.4rem; }
.pa-fb:hover, .pa-fb.pa-on { opacity: 1; border-color: var(--color-accent); }
.pa-error p { color: var(--error-text-color); }
.pa-cursor { animation: pa-blink 1s step-start infinite; }
@keyframes pa-blink { 50% { opacity: 0; } }
.pa-clause-text { white-space: pre-wrap; line-height: 1.7; margin: 0.3rem 0; }
.pa-clause mark { background: #fde68a; color: inherit; padding: 0 1px; }
.pa-clause-head { margin-bottom: 0.2rem; }
.pa-linked ul { margin: 0.2rem 0 0 1.2rem; }
.pa-results { padding-left: 1.2rem; }
.pa-result { margin-bottom: 0.8rem; border-bottom: 1px solid var(--border-color-primary); padding-bottom: 0.5rem; }
.pa-outline details { margin: 0.15rem 0; }
.pa-outline-section { margin-left: 1rem !important; }
.pa-outline summary { cursor: pointer; }
.pa-badge { font-size: 0.8em; border-radius: 4px; padding: 0 0.3rem; background: var(--color-accent-soft); }
.pa-match-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.4rem 0.6rem; margin: 0.4rem 0; }
.pa-quote { font-size: 0.9em; }
.pa-ok { color: #15803d; } .pa-bad { color: #b91c1c; }
.pa-examples button { font-size: 0.85em !important; }
"""


def build_theme() -> gr.themes.Base:
    """The default theme with system CJK fonts only (nothing is fetched from a font CDN)."""
    return gr.themes.Default(
        primary_hue="blue",
        font=["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "Source Han Sans SC", "system-ui", "sans-serif"],
        font_mono=["Noto Sans Mono CJK SC", "ui-monospace", "monospace"],
    )


# ---- helpers --------------------------------------------------------------------------------------
def _bad_input(exc: BaseException) -> bool:
    return isinstance(exc, BadInput)


def _sections_known(kb: KnowledgeBase) -> list[str]:
    return [s.key for s in kb.primary.document.sections]


def _chapters(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """The outline: 序言, then every chapter with its body text and clauses (附则 included)."""
    doc = kb.primary.document
    chapters: list[dict[str, Any]] = []
    try:
        preamble = doc.section("preamble")
        chapters.append({"heading": "序言", "sections": [kb.section_view(preamble)]})
    except KeyError:
        pass
    for chapter in doc.chapters:
        heading = "附则" if chapter.key == "附则" else f"{chapter.key}、{chapter.title}"
        chapters.append({"heading": heading, "sections": [kb.section_view(doc.section(k)) for k in chapter.section_keys]})
    return chapters


def cap_table_rows(kb: KnowledgeBase, order: str = "clause") -> list[list[Any]]:
    """The full cap table for the Dataframe, in clause order or by amount (largest first)."""
    rows = []
    for a in kb.primary_awards(order):
        amount = a.amount_wan if a.amount_wan is None or not float(a.amount_wan).is_integer() else int(a.amount_wan)
        rows.append([f"（{a.clause}）", amount, a.amount_text, a.qualifier, a.term, a.target, a.basis])
    return rows


def _quotes_for(messages: list[dict[str, Any]], section: str, doc: str | None = None) -> list[dict[str, Any]]:
    """Citations (else cap sentences) of ``section`` in the latest answer that mentions it."""
    for message in reversed(messages):
        answer = message.get("answer") or {}
        quotes = [c for c in answer.get("citations") or []
                  if c.get("section") == section and (doc is None or c.get("doc") == doc)]
        if quotes:
            return quotes
        caps = [c for c in answer.get("caps") or [] if c.get("clause") == section]
        if caps:
            return caps[:1]
    return []


@lru_cache(maxsize=1)
def find_cjk_font() -> tuple[str, int] | None:
    """A system font with Chinese glyphs, from ``fc-list :lang=zh`` (path, collection index), or None."""
    if not shutil.which("fc-list"):
        return None
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file", "index", "family", "style"],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    candidates: list[tuple[int, str, int]] = []
    for line in out.splitlines():
        match = re.match(r"^(?P<file>[^:]+):\s*(?P<family>[^:]*):?(?P<rest>.*)$", line)
        if not match:
            continue
        path = match.group("file").strip()
        if not path.lower().endswith((".ttf", ".otf", ".ttc", ".otc")) or not os.path.exists(path):
            continue
        index_match = re.search(r"index=(\d+)", line)
        index = int(index_match.group(1)) if index_match else 0
        family = line
        score = 0
        score += 4 if re.search(r"\bSC\b|CN|Hans|GB", family) else 0
        score += 2 if "Sans" in family or "Hei" in family else 0
        score += 2 if re.search(r"style=Regular|style=Book|style=Normal", family) else 0
        score -= 3 if "Mono" in family or "Bold" in family.split("style=")[-1] else 0
        candidates.append((score, path, index))
    if not candidates:
        return None
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    return candidates[0][1], candidates[0][2]


def write_match_pdf(lines: list[str], path: Path, font: tuple[str, int]) -> Path:
    """A one-page-ish A4 PDF of the match summary, in a system CJK font."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_font("cjk", "", font[0], collection_font_number=font[1])
    pdf.add_page()
    pdf.set_margins(14, 12, 14)
    for number, line in enumerate(lines):
        size = 14 if number == 0 else 9.5
        pdf.set_font("cjk", size=size)
        if not line.strip():
            pdf.ln(2.5)
            continue
        pdf.multi_cell(0, 5.6 if number else 8, line, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def _export_dir() -> Path:
    """A fresh folder in the system temp dir (Gradio serves returned files from there via its cache)."""
    return Path(tempfile.mkdtemp(prefix="policy-assistant-export-"))


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


# ---- the app --------------------------------------------------------------------------------------
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
    kb = holder.knowledge
    meta = kb.primary.meta
    known = _sections_known(kb)
    draft = meta.is_draft
    slots = ClientSlots(config.client_concurrency)

    def work(request: gr.Request | None, call: Any) -> Any:
        """``holder.answer(call)`` for the client of ``request``; ClientBusy when it has too many in progress."""
        client = client_of(request)
        with slots.hold(client):
            return holder.answer(call, client)

    def assistant_or_warn() -> Any | None:
        try:
            return holder.get()
        except NotReady as exc:
            gr.Warning(str(exc))
            return None

    def clause_view(section: str, quotes: list[dict[str, Any]], doc: str | None = None) -> str:
        """One section's full text; ``doc`` picks another corpus document (citations carry it)."""
        knowledge = holder.knowledge
        try:
            doc_id = doc if doc and doc != knowledge.primary.meta.id else None
            view = knowledge.section_view(knowledge.section(section, doc_id), doc_id)
            is_draft = knowledge.document(doc_id).meta.is_draft
        except KeyError:
            return f'<p class="pa-muted">没有找到条款：{render.esc(section)}</p>'
        return render.clause_html(view, quotes=quotes, draft=is_draft)

    # ---- chat -----------------------------------------------------------------------------------
    def new_conversation() -> dict[str, Any]:
        return {"messages": [], "turns": [], "feedback": {}}

    def chat(conv: dict[str, Any]) -> str:
        return render.chat_html(conv["messages"], known_sections=known, placeholder=CHAT_PLACEHOLDER)

    @does_work
    def send(text: str, conv: dict[str, Any], request: gr.Request) -> Iterator[tuple[Any, ...]]:
        conv = copy.deepcopy(conv) if conv else new_conversation()
        if not (text or "").strip():
            yield chat(conv), gr.update(), conv, gr.update()
            return
        assistant = assistant_or_warn()
        if assistant is None:
            yield chat(conv), gr.update(), conv, gr.update()
            return
        try:
            question = assistant.validate_question(text)
        except Exception as exc:  # noqa: BLE001
            if not _bad_input(exc):
                raise
            gr.Warning(str(exc))
            yield chat(conv), gr.update(), conv, gr.update()
            return
        conv["messages"].append({"role": "user", "text": question})
        conv["turns"].append(question)
        conv["messages"].append({"role": "assistant", "text": "正在检索条款…", "answer": None})
        yield chat(conv), "", conv, gr.update()
        try:
            # holder.answer refuses while the index on disk is damaged, with the same message as /api/ask's 503.
            answer = work(request, lambda pa_: pa_.ask(list(conv["turns"])).to_json())
        except (NotReady, ClientBusy) as exc:
            conv["messages"].pop()
            conv["messages"].pop()
            conv["turns"].pop()
            gr.Warning(BUSY_MESSAGE if isinstance(exc, ClientBusy) else str(exc))
            yield chat(conv), text, conv, gr.update()
            return
        except Exception as exc:
            if _bad_input(exc):   # e.g. the conversation reached its turn limit: say so, keep the text
                conv["messages"].pop()
                conv["messages"].pop()
                conv["turns"].pop()
                gr.Warning(f"{exc}请点“新对话”重新开始。")
                yield chat(conv), text, conv, gr.update()
                return
            log.exception("回答失败")
            answer = {"error": "抱歉，处理这个问题时出错了，请稍后再试或换一种问法。", "answer": ""}
        full = str(answer.get("answer") or "")
        if not answer.get("error") and full:
            for prefix in render.stream_chunks(full):
                conv["messages"][-1] = {"role": "assistant", "text": prefix, "answer": answer, "final": False}
                yield chat(conv), gr.update(), conv, gr.update()
                time.sleep(config.stream_step)
        conv["messages"][-1] = {"role": "assistant", "text": None, "answer": answer, "final": True}
        side: Any = gr.update()
        citations = answer.get("citations") or []
        if citations:
            top, top_doc = str(citations[0].get("section") or ""), citations[0].get("doc")
            side = clause_view(top, [c for c in citations if c.get("section") == top and c.get("doc") == top_doc], top_doc)
        yield chat(conv), gr.update(), conv, side

    def on_chip(conv: dict[str, Any], evt: gr.EventData) -> str:
        section = str(getattr(evt, "section", "") or "")
        doc = str(getattr(evt, "doc", "") or "") or None
        if not section:
            return gr.update()
        return clause_view(section, _quotes_for((conv or {}).get("messages", []), section, doc), doc)

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
        answer = messages[index].get("answer") or {}
        turns = [m["text"] for m in messages[:index] if m.get("role") == "user"]
        question = turns[-1] if turns else ""
        previous = conv["feedback"].get(str(index))
        if previous:
            store.set_rating(previous, rating)
            record_id = previous
        else:
            record_id = store.add(rating, question, turns, answer, source="chat")
            conv["feedback"][str(index)] = record_id
        messages[index]["feedback"] = rating
        label = ("👎 哪里不对？补充意见" if rating == "down" else "👍 还有什么建议？") + f"（可选，{MAX_COMMENT} 字以内）"
        return chat(conv), conv, gr.update(visible=True), record_id, gr.update(label=label, value="")

    def on_comment(record_id: int | None, comment: str) -> tuple[Any, ...]:
        if record_id and (comment or "").strip():
            try:
                store.set_comment(int(record_id), comment.strip())
            except FeedbackError as exc:   # too long: nothing stored, the text stays in the box to be shortened
                gr.Warning(f"{exc}意见没有保存。")
                return gr.update(), record_id
            gr.Info("已收到您的意见，谢谢！", duration=3)
        return gr.update(visible=False), None

    # ---- policy matching ------------------------------------------------------------------------
    @does_work
    def match(industry: str, business: str, plan: str, request: gr.Request) -> tuple[Any, ...]:
        profile = {"行业": (industry or "").strip(), "主要业务": (business or "").strip(), "计划": (plan or "").strip()}
        hidden = gr.update(visible=False)
        if not any(profile.values()):
            gr.Warning("请至少填写行业或主要业务。")
            return gr.update(), hidden, hidden, ""
        assistant = assistant_or_warn()
        if assistant is None:
            return gr.update(), hidden, hidden, ""
        try:
            cleaned = {k: (assistant.validate_question(v) if v else "") for k, v in profile.items()}
        except Exception as exc:  # noqa: BLE001
            if not _bad_input(exc):
                raise
            gr.Warning(str(exc))
            return gr.update(), hidden, hidden, ""
        description = "；".join(f"{k}：{v}" for k, v in cleaned.items() if v)
        try:
            answer = work(request, lambda pa_: pa_.match(description).to_json())
        except (NotReady, ClientBusy) as exc:
            gr.Warning(BUSY_MESSAGE if isinstance(exc, ClientBusy) else str(exc))
            return gr.update(), hidden, hidden, ""
        html_out = render.match_html(answer, cleaned)
        folder = _export_dir()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        md_path = folder / f"政策匹配摘要-{stamp}.md"
        md_path.write_text(render.match_markdown(answer, cleaned, meta.title, draft=draft), encoding="utf-8")
        font = find_cjk_font()
        if font is None:
            return (html_out, gr.update(value=str(md_path), visible=True), hidden,
                    "未找到中文字体（`fc-list :lang=zh` 为空），仅提供 Markdown 下载；安装 fonts-noto-cjk 后可导出 PDF。")
        try:
            pdf_path = write_match_pdf(render.match_plain_lines(answer, cleaned, meta.title, draft=draft),
                                       folder / f"政策匹配摘要-{stamp}.pdf", font)
        except Exception:  # noqa: BLE001 - a font the PDF library cannot embed: Markdown still works
            log.warning("PDF 导出失败", exc_info=True)
            return (html_out, gr.update(value=str(md_path), visible=True), hidden,
                    "PDF 导出失败（字体无法嵌入），仅提供 Markdown 下载。")
        return (html_out, gr.update(value=str(md_path), visible=True), gr.update(value=str(pdf_path), visible=True), "")

    def on_match_chip(evt: gr.EventData) -> str:
        return clause_view(str(getattr(evt, "section", "") or ""), [], str(getattr(evt, "doc", "") or "") or None)

    # ---- lookup desk ----------------------------------------------------------------------------
    @does_work
    def lookup(query: str, request: gr.Request) -> tuple[str, str]:
        if not (query or "").strip():
            return '<p class="pa-muted">请输入条款编号、金额问题或关键词，按回车查询。</p>', ""
        assistant = assistant_or_warn()
        if assistant is None:
            return gr.update(), gr.update()
        try:
            cleaned = assistant.validate_question(query)
        except Exception as exc:  # noqa: BLE001
            if not _bad_input(exc):
                raise
            return f'<p class="pa-error">{render.esc(exc)}</p>', ""
        def look_up(pa_: Any) -> tuple[dict[str, Any], str]:
            result = pa_.search(cleaned, k=5).to_json()
            try:
                reply = pa_.ask([cleaned]).reply
            except Exception:  # noqa: BLE001 - the composed reply below is good enough
                log.warning("标准答复生成失败", exc_info=True)
                reply = ""
            return result, reply

        try:
            result, reply = work(request, look_up)
        except (NotReady, ClientBusy) as exc:
            return f'<p class="pa-error">{render.esc(BUSY_MESSAGE if isinstance(exc, ClientBusy) else exc)}</p>', ""
        # each result is already a section view (full text, caps, linked documents) of its own document
        return render.search_results_html(result), reply or render.compose_reply(result)

    # ---- admin ----------------------------------------------------------------------------------
    # While a token is set, the admin functions serve only browser sessions that gave it (``ui.sessions``): the
    # session is the ``pa_session`` cookie the server set when the page loaded, not the page's own state.
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
        locked = (gr.update(visible=False), gr.update(visible=True), gr.update(), gr.update(), "")
        expected = config.admin_token or ""
        if not expected:
            return gr.update(visible=True), gr.update(visible=False), admin_status(), admin_feedback(), ""
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
            return gr.update(visible=True), gr.update(visible=False), admin_status(), admin_feedback(), ""
        lockout = gate.failed(client)
        log.warning("管理员令牌不正确（%s）", client)
        gr.Warning(wait_message(lockout) if lockout else "令牌不正确。")
        return locked

    def admin_status() -> str:
        _, body = holder.health()
        if "model" not in body:
            body = {**body, "model": "", "built_at": "", "counts": {}}
        return render.health_html(body)

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

    def feedback_rows(request: gr.Request) -> list[list[Any]]:
        require_admin(request)
        return admin_feedback()

    def export_feedback(request: gr.Request) -> Any:
        require_admin(request)
        path = _export_dir() / f"feedback-eval-cases-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
        path.write_text(store.export_eval_cases(), encoding="utf-8")
        return gr.update(value=str(path), visible=True)

    @does_work
    def add_document(file_path: str | None, request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple[str, str]:
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
            return f"**未加入**：{render.md_escape(exc)}", admin_status()
        return render.md_escape(message), admin_status()

    @does_work
    def rebuild(request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple[str, str]:
        require_admin(request)
        progress(0.05, desc="正在重建索引…")
        try:
            message = run_build(progress, rebuild=True)
        except BuildFailed as exc:
            return f"**重建失败**：{render.md_escape(exc)}", admin_status()
        return render.md_escape(message), admin_status()

    def run_build(progress: gr.Progress, **kwargs: Any) -> str:
        """Build through ``indexing.build.build_index`` under the holder's lock, then reload the assistant."""
        from indexing.build import BuildInProgress, DocumentRejected, build_index
        from indexing.config import IndexConfig

        started = time.monotonic()
        try:
            result = _call_build(build_index, IndexConfig(home=config.home), progress, **kwargs)
        except DocumentRejected as exc:
            raise BuildFailed(f"文档被拒绝：{exc}。索引和语料都没有改动。") from None
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
        if result.warnings:
            summary += " 注意：" + "；".join(result.warnings)
        if holder.state != "ready":
            summary += f" 但助手未能加载：{holder.problem}"
        return summary

    # ---- layout ---------------------------------------------------------------------------------
    with gr.Blocks(title="深圳数字创意产业政策助手", analytics_enabled=False) as demo:
        conv_state = gr.State(new_conversation())
        feedback_target = gr.State(None)

        gr.HTML(
            f'<div class="pa-header"><h1>深圳数字创意产业政策助手</h1>'
            f'<p class="pa-muted">依据《{render.esc(meta.title)}》逐条引用作答；资助金额均摘自原文。</p></div>',
            elem_id="pa-header",
        )
        with gr.Tabs(elem_id="pa-tabs"):
            with gr.Tab("创业者咨询", id="chat", elem_id="pa-tab-chat"):
                if draft:
                    gr.HTML(f'<p class="pa-draft">ⓘ {render.esc(render.DRAFT_NOTICE)}</p>', elem_id="pa-draft-notice")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=360):
                        chat_view = gr.HTML(chat(new_conversation()), js_on_load=CHAT_JS, elem_id="pa-chat-view",
                                            padding=False, container=True)
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
                        clause_panel = gr.HTML(CLAUSE_PLACEHOLDER, js_on_load=SECTION_JS, elem_id="pa-clause-view",
                                               container=True)

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
                        m_result = gr.HTML('<p class="pa-muted">匹配结果会显示在这里。</p>', js_on_load=SECTION_JS,
                                           elem_id="pa-match-result")
                        m_result_clause = gr.HTML("", elem_id="pa-match-clause")

            with gr.Tab("热线查询", id="lookup", elem_id="pa-tab-lookup") as lookup_tab:
                with gr.Row():
                    with gr.Column(scale=3, min_width=360):
                        search_box = gr.Textbox(placeholder="条款编号（16 / 第十六条）、金额问题或关键词，回车查询",
                                                show_label=False, lines=1, elem_id="pa-search", container=False)
                        reply_box = gr.Textbox(label="标准答复（可复制）", lines=3, buttons=["copy"], interactive=True,
                                               elem_id="pa-reply")
                        results = gr.HTML('<p class="pa-muted">请输入条款编号、金额问题或关键词，按回车查询。</p>',
                                          elem_id="pa-search-results")
                    with gr.Column(scale=2, min_width=300):
                        with gr.Accordion("措施全文目录（点击展开条款原文）", open=True, elem_id="pa-outline"):
                            gr.HTML(render.outline_html(_chapters(kb)))
                with gr.Accordion("资助上限表（全部摘自原文；点表头也可排序）", open=True, elem_id="pa-cap-table"):
                    cap_order = gr.Radio([("按条款", "clause"), ("按金额从高到低", "amount")], value="clause",
                                         show_label=False, elem_id="pa-cap-order")
                    cap_table = gr.Dataframe(cap_table_rows(kb), headers=CAP_HEADERS, interactive=False, wrap=True,
                                             datatype=["str", "number", "str", "str", "str", "str", "str"],
                                             column_widths=["7%", "8%", "17%", "8%", "14%", "28%", "18%"],
                                             max_height=520, elem_id="pa-cap-dataframe")

            if config.admin_enabled:
                with gr.Tab("管理", id="admin", elem_id="pa-tab-admin") as admin_tab:
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
                        build_status = gr.Markdown("", elem_id="pa-admin-build-status")
                        gr.Markdown("#### 用户反馈（“没帮助”在前）")
                        fb_table = gr.Dataframe(headers=FEEDBACK_HEADERS, interactive=False, wrap=True,
                                                elem_id="pa-admin-feedback")
                        with gr.Row():
                            fb_refresh = gr.Button("刷新反馈", size="sm", elem_id="pa-admin-fb-refresh")
                            fb_export = gr.Button("导出为评测用例（JSONL）", size="sm", elem_id="pa-admin-fb-export")
                            fb_file = gr.DownloadButton("下载 JSONL", visible=False, size="sm", elem_id="pa-admin-fb-file")

        # ---- events -----------------------------------------------------------------------------
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
        fb_submit.click(on_comment, [feedback_target, fb_comment], [fb_box, feedback_target])
        fb_comment.submit(on_comment, [feedback_target, fb_comment], [fb_box, feedback_target])
        clause_panel.chip(on_chip, [conv_state], [clause_panel])

        m_btn.click(match, [m_industry, m_business, m_plan], [m_result, m_md, m_pdf, m_note])
        m_result.chip(on_match_chip, None, [m_result_clause])

        search_box.submit(lookup, [search_box], [results, reply_box])
        lookup_tab.select(None, None, None, js=FOCUS_SEARCH_JS)
        cap_order.change(lambda order: cap_table_rows(kb, order), [cap_order], [cap_table])

        if config.admin_enabled:
            unlock_outputs = [admin_panel, token_row, health_view, fb_table, token_box]
            token_btn.click(unlock, [token_box], unlock_outputs)
            token_box.submit(unlock, [token_box], unlock_outputs)
            admin_tab.select(_when_admin(status_html), None, [health_view])
            admin_tab.select(_when_admin(feedback_rows), None, [fb_table])
            refresh_btn.click(status_html, None, [health_view])
            fb_refresh.click(feedback_rows, None, [fb_table])
            fb_export.click(export_feedback, None, [fb_file])
            add_btn.click(add_document, [upload], [build_status, health_view])
            rebuild_btn.click(rebuild, None, [build_status, health_view])

    demo.queue(default_concurrency_limit=8)
    return demo


class BuildFailed(Exception):
    """An index build from the admin tab that did not happen; the message is Chinese."""


def _example_runner(send: Any, question: str) -> Any:
    @does_work
    def run(conv: dict[str, Any], request: gr.Request) -> Iterator[tuple[Any, ...]]:
        yield from send(question, conv, request)

    return run


def _when_admin(fn: Any) -> Any:
    """Run an admin view function on tab select, silently doing nothing before the token is given."""

    def run(request: gr.Request) -> Any:
        try:
            return fn(request)
        except gr.Error:
            return gr.update()

    return run


BUILD_STAGES = {
    "corpus": ("读取语料", 0.05),
    "chunks": ("切分段落", 0.1),
    "bm25": ("建立 BM25", 0.15),
    "embed": ("计算向量", 0.2),
    "store": ("写入向量库", 0.8),
    "swap": ("启用新索引", 0.88),
}


def _call_build(build_index: Any, config: Any, progress: gr.Progress, **kwargs: Any) -> Any:
    """``build_index(config, ...)`` with its ``progress(stage, done, total)`` shown as a Gradio progress bar."""

    def report(stage: str, done: int, total: int) -> None:
        name, base = BUILD_STAGES.get(stage, (stage, 0.5))
        span = 0.6 if stage == "embed" else 0.05
        fraction = base + span * (done / total if total else 1.0)
        progress(min(fraction, 0.9), desc=f"{name} {done}/{total}" if total > 1 else name)

    return build_index(config, progress=report, **kwargs)


def _ready_holder(pa: Any) -> AssistantHolder:
    """Wrap an already opened assistant in a holder (for callers that build the Blocks directly)."""
    holder = AssistantHolder(opener=lambda: pa)
    holder.load()
    return holder
