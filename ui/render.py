"""Pure HTML rendering of answers, sections and lookups for the web UI: every piece of text is escaped before it is
marked up. The policy-matching summary is :mod:`ui.match_summary`; the admin tab's status, :mod:`ui.health_view`.

Nothing here imports gradio or touches the network or disk: functions take the assistant's typed objects
(``Answer`` with its ``Citation`` and ``Award`` records, ``SearchResult``, ``SectionView``) and return strings; JSON
is made only where it leaves the process. Clause text, user input and any LLM text go through :func:`esc` (or
:func:`md_escape` for Markdown files), so ``<script>`` and ``![x](http://evil/x.png)`` stay inert text.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from assistant.document_facts import DocumentFacts, bundled_facts
from assistant.document_facts_en import english_facts
from indexing.section_ref import SectionRef, chapter_heading, clause_label, clause_label_en
from ui.messages import VIEW_LABELS
from ui.text_markup import esc, highlight, locate_quote, term_spans, text_block

if TYPE_CHECKING:  # pragma: no cover
    from assistant.answer import Answer, Citation, Clarify, RelatedSection
    from assistant.section_view import SearchResult, SectionView
    from indexing.caps import Award

JsonDict = Mapping[str, Any]


class Quoted(Protocol):
    """A sentence quoted from a document at known offsets: a ``Citation``, or an ``Award``'s sentence."""

    @property
    def quote(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


CAP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("clause", "条款"),
    ("amount_text", "金额"),
    ("qualifier", "限定"),
    ("term", "期限"),
    ("target", "对象"),
    ("basis", "依据"),
)
# The same columns around an English answer; the cells keep the cap table's Chinese wording (the caption says so).
CAP_COLUMNS_EN: dict[str, str] = {"clause": "Clause", "amount_text": "Amount", "qualifier": "Qualifier",
                                  "term": "Term", "target": "For", "basis": "Basis"}
_CLAUSE_REF_RE = re.compile(r"（([零一二三四五六七八九十百]+)）")
_EN_CLAUSE_REF_RE = re.compile(r"\b[Cc]lause \((\d{1,3})\)")
# The chrome of one answer, in the answer's language ("lang" of the JSON contract); the answer text is the service's.
ANSWER_LABELS: dict[str, dict[str, str]] = {
    "zh": {"more": "详细依据：原文、上限、条件与准备材料", "cited": "引用条款：", "nearest": "可能相关：",
           "caps": "资助上限（摘自原文）", "up": "👍 有帮助", "up_title": "有帮助", "down": "👎 没帮助",
           "down_title": "没帮助", "thanks": "已记录，谢谢反馈", "working": "正在检索条款…"},
    "en": {"more": "Details: original text, caps, conditions and what to prepare", "cited": "Clauses cited:",
           "nearest": "Possibly related:", "caps": "Caps (the original Chinese wording)", "up": "👍 Helpful",
           "up_title": "Helpful", "down": "👎 Not helpful", "down_title": "Not helpful",
           "thanks": "Recorded, thank you for the feedback", "working": "Looking up the clauses…"},
}
# Lines of an answer that carry the draft notice: "提示：…" (Chinese answers), "Note: …" (English answers).
_NOTICE_PREFIXES = ("提示：", "Note: ")
# ---- labels ---------------------------------------------------------------------------------------
def section_label(section: str | None, title: str = "") -> str:
    """How a person names a cited section: （十六）建设数字创意孵化器, 第一部分, 附则, 序言."""
    if not section:
        return title or ""
    return SectionRef.parse(section).titled(title)


def link_clause_refs(escaped: str, known: Iterable[str]) -> str:
    """Turn （十六） (and "clause (16)" in English answers) in already-escaped text into chips, for sections that exist."""
    from indexing.numerals import int_to_chinese

    keys = set(known)

    def chip(match: re.Match[str], key: str | None = None) -> str:
        key = key or match.group(1)
        if key not in keys:
            return match.group(0)
        return f'<button type="button" class="pa-ref" data-section="{esc(key)}">{esc(match.group(0))}</button>'

    def english_chip(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return chip(match, int_to_chinese(number)) if 0 < number < 10_000 else match.group(0)

    return _EN_CLAUSE_REF_RE.sub(english_chip, _CLAUSE_REF_RE.sub(chip, escaped))


# ---- answer pieces --------------------------------------------------------------------------------
def citation_chips_html(citations: Sequence[Citation], heading: str = ANSWER_LABELS["zh"]["cited"]) -> str:
    """One clickable chip per cited section (deduplicated by section, first quote wins)."""
    seen: set[str] = set()
    chips: list[str] = []
    for citation in citations:
        section = str(citation.section or citation.clause or "")
        if not section or section in seen:
            continue
        seen.add(section)
        label = section_label(section, citation.title)
        chips.append(
            f'<button type="button" class="pa-chip" data-section="{esc(section)}" data-doc="{esc(citation.doc)}" '
            f'title="{esc(citation.quote)}">{esc(label)}</button>'
        )
    if not chips:
        return ""
    return f'<div class="pa-chips"><span class="pa-chips-label">{esc(heading)}</span>' + "".join(chips) + "</div>"


def cap_columns(lang: str = "zh") -> tuple[tuple[str, str], ...]:
    """``CAP_COLUMNS`` with their headers in ``lang`` ("en": Clause, Amount, …; else 条款, 金额, …)."""
    if lang != "en":
        return CAP_COLUMNS
    return tuple((key, CAP_COLUMNS_EN[key]) for key, _ in CAP_COLUMNS)


def cap_rows(caps: Sequence[Award], lang: str = "zh") -> list[list[str]]:
    """Cap records as table rows of strings, in ``CAP_COLUMNS`` order (clause as （十六）, or (16) in English)."""
    rows = []
    for cap in caps:
        row = []
        for key, _ in CAP_COLUMNS:
            value = getattr(cap, key)
            if key == "clause" and value:
                value = clause_label_en(str(value)) if lang == "en" else clause_label(str(value))
            row.append("" if value is None else str(value))
        rows.append(row)
    return rows


def cap_table_html(caps: Sequence[Award], caption: str = "资助上限（摘自原文）", empty: str = "", lang: str = "zh") -> str:
    """A small table of award caps: 条款, 金额, 限定, 期限, 对象, 依据 (English headers for ``lang="en"``). Empty
    string (or ``empty``) when none."""
    if not caps:
        return f'<p class="pa-muted">{esc(empty)}</p>' if empty else ""
    columns = cap_columns(lang)
    head = "".join(f"<th>{esc(label)}</th>" for _, label in columns)
    body = []
    for row, cap in zip(cap_rows(caps, lang), caps, strict=True):
        cells = []
        for (key, label), value in zip(columns, row, strict=True):  # data-label: phones show rows as cards
            if key == "clause" and cap.clause:
                cells.append(
                    f'<td class="pa-col-clause" data-label="{esc(label)}"><button type="button" class="pa-ref" '
                    f'data-section="{esc(cap.clause)}">{esc(value)}</button></td>'
                )
            elif key == "amount_text":
                cells.append(f'<td class="pa-amount" data-label="{esc(label)}">{esc(value)}</td>')
            else:
                cells.append(f'<td class="pa-col-{key}" data-label="{esc(label)}">{esc(value)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table class="pa-caps"><caption>{esc(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def clarify_html(clarify: Clarify | None) -> str:
    """The clarifying question with one button per option (clicking sends the option as the next turn)."""
    if not clarify:
        return ""
    buttons = "".join(
        f'<button type="button" class="pa-option" data-option="{esc(o.label)}" '
        f'data-section="{esc(o.clause or "")}">{esc(o.label)}</button>'
        for o in clarify.options
    )
    return (
        f'<div class="pa-clarify"><p>{esc(clarify.question)}</p>'
        f'<div class="pa-options">{buttons}</div></div>'
    )


def notices_html(notices: Sequence[str]) -> str:
    if not notices:
        return ""
    return '<ul class="pa-notices">' + "".join(f"<li>{esc(n)}</li>" for n in notices) + "</ul>"


def nearest_html(nearest: Sequence[RelatedSection], heading: str = ANSWER_LABELS["zh"]["nearest"]) -> str:
    """The “可能相关” sections offered with a refusal."""
    chips = [
        f'<button type="button" class="pa-chip pa-chip-soft" data-section="{esc(item.section)}">'
        f'{esc(section_label(item.section, item.title))}</button>'
        for item in nearest if item.section
    ]
    if not chips:
        return ""
    return f'<div class="pa-chips"><span class="pa-chips-label">{esc(heading)}</span>' + "".join(chips) + "</div>"


def feedback_html(index: int, state: str | None, lang: str = "zh") -> str:
    """👍/👎 buttons of one answer, labelled in the answer's ``lang``; ``state`` is ``"up"``/``"down"`` once given."""
    labels = ANSWER_LABELS["en" if lang == "en" else "zh"]
    up_cls = " pa-on" if state == "up" else ""
    down_cls = " pa-on" if state == "down" else ""
    thanks = f'<span class="pa-muted">{esc(labels["thanks"])}</span>' if state else ""
    return (
        f'<div class="pa-feedback" data-index="{index}">'
        f'<button type="button" class="pa-fb{up_cls}" data-rating="up" data-index="{index}" '
        f'title="{esc(labels["up_title"])}">{esc(labels["up"])}</button>'
        f'<button type="button" class="pa-fb{down_cls}" data-rating="down" data-index="{index}" '
        f'title="{esc(labels["down_title"])}">{esc(labels["down"])}</button>'
        f"{thanks}</div>"
    )


def split_answer(text: str, notices: Sequence[str] = ()) -> tuple[str, str]:
    """An answer's conclusion (its first paragraph) and its long form (the rest), without the draft-notice lines.

    ``compose`` writes the conclusion, a blank line, then the cited clauses; the notice line ("提示：…", in English
    answers "Note: …") is dropped from the long form because the chat shows the notice once per conversation, apart
    from the text.
    """
    def is_notice(line: str) -> bool:
        return line.startswith(_NOTICE_PREFIXES) and (not notices or any(n in line for n in notices))

    lead, _, rest = text.strip().partition("\n\n")
    kept = [line for line in rest.splitlines() if not is_notice(line)]
    lead_lines = [line for line in lead.splitlines() if not is_notice(line)]
    return "\n".join(lead_lines).strip(), "\n".join(kept).strip()


def answer_html(answer: Answer, text: str | None = None, index: int = 0, feedback: str | None = None,
                known_sections: Iterable[str] = (), final: bool = True, show_notice: bool = True) -> str:
    """One assistant message: the conclusion, then the long form one click away (a ``<details>`` with the cited
    clauses, conditions, what to prepare and the cap table), the citation chips, the clarifying options, the draft
    notice (once per conversation: ``show_notice``) and 👍/👎.

    Args:
        answer: the assistant's answer (a rejected one shows its ``error``).
        text: the part of the answer shown so far (streaming); defaults to the whole answer.
        index: the message's position, carried by the feedback buttons.
        feedback: the rating already given to this answer.
        known_sections: section keys that exist, so （十六） in the text becomes a chip.
        final: when False only the conclusion streamed so far is shown (with a cursor), not the long form.
        show_notice: show the draft notice under this answer (the chat shows it under its first answer only).
    """
    if answer.error:
        return f'<div class="pa-answer pa-error"><p>{esc(answer.error)}</p></div>'
    notices = [str(n) for n in answer.notices]
    shown = answer.text if text is None else text
    lead, rest = split_answer(str(shown or ""), notices)
    if not final:
        return (f'<div class="pa-answer pa-streaming"><div class="pa-text">{text_block(lead)}'
                '<span class="pa-cursor">▍</span></div></div>')
    known = tuple(known_sections)
    lang = "en" if answer.lang == "en" else "zh"
    labels = ANSWER_LABELS[lang]
    caps = cap_table_html(answer.caps, caption=labels["caps"], lang=lang)
    more = ""
    if rest or caps:
        more = (f'<details class="pa-more"><summary>{esc(labels["more"])}</summary>'
                f'<div class="pa-text">{link_clause_refs(text_block(rest), known)}</div>{caps}</details>')
    parts = [
        f'<div class="pa-answer{" pa-refused" if answer.refused else ""}" lang="{lang}">',
        f'<div class="pa-answer-main"><div class="pa-text pa-lead">{link_clause_refs(text_block(lead), known)}</div></div>',
        more,
        citation_chips_html(answer.citations, labels["cited"]),
        nearest_html(answer.nearest, labels["nearest"]) if answer.refused else "",
        clarify_html(answer.clarify),
        notices_html(notices) if show_notice else "",
        feedback_html(index, feedback, lang),
        "</div>",
    ]
    return "".join(parts)


def chat_html(messages: Sequence[JsonDict], known_sections: Iterable[str] = (), placeholder: str = "") -> str:
    """The whole conversation. Each message is ``{"role": "user"|"assistant", "text", "answer"?, "feedback"?,
    "final"?}`` (``answer``: an ``Answer``, None while it is being worked on); user text and answer text are escaped. The draft notice is shown under the first answer only."""
    known = tuple(known_sections)
    if not messages:
        return f'<div class="pa-chat pa-empty"><p class="pa-muted">{esc(placeholder)}</p></div>'
    out = ['<div class="pa-chat">']
    notice_shown = False
    for index, message in enumerate(messages):
        if message.get("role") == "user":
            out.append(f'<div class="pa-msg pa-user"><div class="pa-bubble">{text_block(str(message.get("text", "")))}</div></div>')
            continue
        answer = message.get("answer")
        if answer is None:
            inner = f'<div class="pa-answer pa-streaming"><p class="pa-muted">{esc(message.get("text", ""))}</p></div>'
        else:
            final = bool(message.get("final", True))
            show = final and not notice_shown and not answer.error
            inner = answer_html(answer, text=message.get("text"), index=index, feedback=message.get("feedback"),
                                known_sections=known, final=final, show_notice=show)
            notice_shown = notice_shown or show
        out.append(f'<div class="pa-msg pa-assistant"><div class="pa-bubble">{inner}</div></div>')
    out.append("</div>")
    return "".join(out)


def stream_chunks(text: str, size: int = 12) -> list[str]:
    """Growing prefixes of ``text`` for a streamed display: ends at sentence marks or every ``size`` chars."""
    prefixes: list[str] = []
    pos = 0
    while pos < len(text):
        stop = min(len(text), pos + size)
        mark = max(text.rfind(ch, pos, stop) for ch in "。；！？\n")
        pos = mark + 1 if mark >= pos else stop
        prefixes.append(text[:pos])
    return prefixes or [text]


# ---- clause view ----------------------------------------------------------------------------------
def clause_html(view: SectionView, quotes: Sequence[Quoted] = (), terms: Iterable[str] = (),
                draft: bool = False, facts: DocumentFacts | None = None, lang: str = "zh",
                notice: str | None = None) -> str:
    """The full text of one section with cited sentences in ``<mark>``, its caps and linked documents.

    Args:
        view: ``KnowledgeBase.section_view(section)``: text, start, label, title, chapter, caps, linked.
        quotes: sentences to highlight (citations, or an award's sentence); offsets are document offsets.
        terms: keywords to emphasise (``<b>``) when no quote is given.
        draft: add the document's status notice (a draft's; an issued text has none).
        facts: the document's facts (the bundled measure's by default).
        lang: the language of the labels around the text (the text itself is the document's).
        notice: the status notice to show with ``draft`` instead of the facts' Chinese one (an English notice).
    """
    labels = VIEW_LABELS["en" if lang == "en" else "zh"]
    text = view.text
    base = view.start
    spans = [
        span for q in quotes
        if (span := locate_quote(text, q.quote or "", q.start, q.end, base)) is not None
    ]
    body = highlight(text, spans) if spans else highlight(text, term_spans(text, terms), tag="b")
    section = view.section
    title = view.title if view.clause else view.chapter_title
    heading = section_label(section, title)
    chapter = view.chapter
    chapter_text = chapter_heading(chapter, view.chapter_title or "") if chapter and view.clause else ""
    linked_html = ""
    if view.linked:
        comma = ", " if lang == "en" else "，"
        items = "".join(
            f"<li>《{esc(d.title)}》{(comma + esc(d.doc_number)) if d.doc_number else ''}"
            f"<span class=\"pa-muted\">{esc(labels['in_corpus' if d.in_corpus else 'not_in_corpus'])}</span></li>"
            for d in view.linked
        )
        linked_html = f'<div class="pa-linked"><b>{esc(labels["linked"])}</b><ul>{items}</ul></div>'
    caps = view.caps
    caps_html = (cap_table_html(caps, caption=labels["caps"], lang=lang) if caps
                 else f'<p class="pa-muted">{esc(labels["no_caps"])}</p>')
    short_notice = (notice if notice is not None else (facts or bundled_facts()).short_notice) if draft else ""
    notice = f'<p class="pa-draft">{esc(short_notice)}</p>' if short_notice else ""
    return (
        f'<div class="pa-clause" data-section="{esc(section)}">'
        f'<div class="pa-clause-head"><b>{esc(heading)}</b>'
        f'{f"<span class=pa-muted> · {esc(chapter_text)}</span>" if chapter_text else ""}</div>'
        f'<div class="pa-clause-text">{body}</div>{caps_html}{linked_html}{notice}</div>'
    )


# ---- lookup desk ----------------------------------------------------------------------------------
def search_results_html(result: SearchResult, views: Mapping[str, SectionView] | None = None,
                        lang: str = "zh") -> str:
    """Ranked sections of a lookup search, each with full text (matched terms in bold), caps and linked documents.
    Results are section views already; ``views`` (section key → ``section_view``) can supply another view of a
    result's section (its caps are kept when that view has none). ``lang``: the language of the labels (the query's)."""
    views = views or {}
    labels = VIEW_LABELS["en" if lang == "en" else "zh"]
    if not result.results:
        return f'<p class="pa-muted">{esc(labels["none"].format(query=result.query))}</p>'
    out = ['<ol class="pa-results">']
    for rank, hit in enumerate(result.results, 1):
        section = str(hit.view.section or hit.view.clause or "")
        view = views.get(section) or hit.view
        if not view.caps and hit.view.caps:
            view = dataclasses.replace(view, caps=hit.view.caps)
        reasons = []
        if hit.matched_terms:
            reasons.append(labels["matched"] + labels["and"].join(str(t) for t in hit.matched_terms))
        if hit.via:
            reasons.append(labels["via"] + labels["and"].join(str(v) for v in hit.via))
        meta = f'<span class="pa-muted">#{rank} · {labels["score"]} {float(hit.score):.3f}'
        meta += (" · " + esc(labels["reasons"].join(reasons))) if reasons else ""
        meta += "</span>"
        out.append(
            f'<li class="pa-result" data-section="{esc(section)}">{meta}'
            f"{clause_html(view, terms=hit.matched_terms, lang=lang)}</li>"
        )
    out.append("</ol>")
    return "".join(out)


def compose_reply(result: SearchResult, facts: DocumentFacts | None = None, lang: str = "zh") -> str:
    """A 标准答复 from the top search hit, when the assistant gave none: clause number, title, caps.

    Args:
        result: the lookup search.
        facts: the searched document's facts (the bundled measure's by default): its title, status and contact.
        lang: ``"en"`` for an English query: the reply's words are English, the clause and caps as the text has them.
    """
    facts = facts or bundled_facts()
    if lang == "en":
        return _compose_reply_en(result, facts)
    if not result.results:
        return f"您好，经查询，《{facts.title}》中未找到与您问题直接对应的条款，建议咨询{facts.contact}。"
    top = result.results[0].view
    label = section_label(top.section, top.title)
    amounts = "；".join(
        f"{c.target or ''}{c.amount_text}{('，' + c.term) if c.term else ''}" for c in top.caps
    )
    money = f"，{amounts}" if amounts else "，本条未写明资助金额"
    return (
        f"您好，根据《{facts.title}》{label}{money}。{facts.hotline_note}"
    )


def _compose_reply_en(result: SearchResult, facts: DocumentFacts) -> str:
    prevails = english_facts(facts).hotline_note
    if not result.results:
        return (f"Hello. No clause of the 《{facts.title}》 answers your question directly; please ask the competent "
                f"department ({facts.contact}).")
    top = result.results[0].view
    label = section_label(top.section, top.title)
    amounts = "; ".join(f"{c.target or ''}{c.amount_text}{('，' + c.term) if c.term else ''}" for c in top.caps)
    money = f": {amounts} (the original Chinese wording)" if amounts else "; this clause states no amount"
    return f"Hello. Under {label} of the 《{facts.title}》{money}.{prevails}"


def outline_html(chapters: Sequence[JsonDict]) -> str:
    """The measure as a browsable outline: chapters → sections, each expandable to its full text.

    ``chapters`` is ``[{"heading", "sections": [SectionView, ...]}]`` (chapter body text included as a section).
    """
    out = ['<div class="pa-outline">']
    for chapter in chapters:
        out.append(f'<details class="pa-outline-chapter"><summary>{esc(chapter.get("heading"))}</summary>')
        for view in chapter.get("sections") or ():
            section = view.section
            title = view.title if view.clause else "正文"
            label = clause_label(section) + title if view.clause else title
            badge = f' <span class="pa-badge">{esc(view.caps[0].amount_text)}</span>' if view.caps else ""
            out.append(
                f'<details class="pa-outline-section" data-section="{esc(section)}"><summary>{esc(label)}{badge}</summary>'
                f"{clause_html(view)}</details>"
            )
        out.append("</details>")
    out.append("</div>")
    return "".join(out)
