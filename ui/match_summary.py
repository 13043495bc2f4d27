"""The policy-matching result: one card per clause on the page, and the same summary as Markdown and as plain lines
(the PDF export). User text is escaped (:func:`esc`, :func:`md_escape`) as everywhere in :mod:`ui.render`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from assistant.document_facts import DocumentFacts, bundled_facts
from ui.render import cap_table_html, notices_html, section_label
from ui.text_markup import esc, md_escape, text_block

if TYPE_CHECKING:  # pragma: no cover
    from assistant.answer import Answer, Citation
    from indexing.caps import Award


def _citation_by_section(answer: Answer) -> dict[str, Citation]:
    cited: dict[str, Citation] = {}
    for citation in answer.citations:
        cited.setdefault(str(citation.section or ""), citation)
    return cited


def _caps_by_clause(answer: Answer) -> dict[str, list[Award]]:
    grouped: dict[str, list[Award]] = {}
    for cap in answer.caps:
        grouped.setdefault(str(cap.clause or ""), []).append(cap)
    return grouped


def match_html(answer: Answer, profile: Mapping[str, str]) -> str:
    """The policy-matching result on screen: the assistant's explanation, then one card per clause."""
    if answer.error:
        return f'<div class="pa-error"><p>{esc(answer.error)}</p></div>'
    caps = _caps_by_clause(answer)
    cards = []
    for section, citation in _citation_by_section(answer).items():
        if not section:
            continue
        cards.append(
            f'<div class="pa-match-card"><div class="pa-clause-head">'
            f'<button type="button" class="pa-chip" data-section="{esc(section)}">'
            f'{esc(section_label(section, citation.title))}</button></div>'
            f'<p class="pa-quote">条件（原文）：{esc(citation.quote)}</p>'
            f"{cap_table_html(caps.get(section, []), caption='资助上限', empty='本条未写明资助金额')}</div>"
        )
    described = "；".join(f"{esc(k)}：{esc(v)}" for k, v in profile.items() if v)
    return (
        f'<div class="pa-match"><p class="pa-muted">企业情况：{described or "（未填写）"}</p>'
        f'<div class="pa-text">{text_block(answer.text)}</div>'
        f'{"".join(cards) or "<p class=pa-muted>没有找到匹配的条款。</p>"}'
        f"{notices_html([n for n in answer.notices if n not in answer.text])}</div>"
    )


def match_markdown(answer: Answer, profile: Mapping[str, str], title: str, draft: bool = True,
                   facts: DocumentFacts | None = None) -> str:
    """A one-page Markdown summary of a policy match, with user text escaped.

    Args:
        answer: ``pa.match(...)``.
        profile: the form as filled in (行业, 主要业务, 计划).
        title: the measure's title.
        draft: add the document's status notice (a draft's; an issued text has none).
        facts: the document's facts (the bundled measure's by default).
    """
    lines = [f"# 政策匹配摘要：《{md_escape(title)}》", ""]
    lines.append("## 企业情况")
    lines.append("")
    for key, value in profile.items():
        lines.append(f"- **{md_escape(key)}**：{md_escape(value) or '（未填写）'}")
    lines += ["", "## 可申请的条款", ""]
    caps = _caps_by_clause(answer)
    cited = _citation_by_section(answer)
    if not cited:
        lines.append("没有找到匹配的条款。")
    lines.append("| 条款 | 金额 | 期限 | 对象 | 依据 |")
    lines.append("| --- | --- | --- | --- | --- |")
    for section, citation in cited.items():
        label = md_escape(section_label(section, citation.title))
        section_caps: list[Award | None] = [*caps.get(section, [])] or [None]
        for cap in section_caps:
            lines.append(
                f"| {label} | {md_escape(cap.amount_text if cap else '未写明金额')} | {md_escape((cap and cap.term) or '—')} "
                f"| {md_escape((cap and cap.target) or '—')} | {md_escape((cap and cap.basis) or '—')} |"
            )
    lines += ["", "## 条件（原文摘录）", ""]
    for section, citation in cited.items():
        lines.append(f"- {md_escape(section_label(section))}：{md_escape(citation.quote)}")
    lines += ["", "## 说明与准备材料", ""]
    for paragraph in answer.text.splitlines():
        if paragraph.strip():
            lines.append(md_escape(paragraph.strip()))
            lines.append("")
    notice = (facts or bundled_facts()).short_notice if draft else ""
    if notice:
        lines += ["---", "", f"*{md_escape(notice)}*", ""]
    return "\n".join(lines).rstrip() + "\n"


def match_plain_lines(answer: Answer, profile: Mapping[str, str], title: str, draft: bool = True,
                      facts: DocumentFacts | None = None) -> list[str]:
    """The same summary as plain lines (for the PDF export, which has no Markdown)."""
    lines = [f"政策匹配摘要：《{title}》", ""]
    for key, value in profile.items():
        lines.append(f"{key}：{value or '（未填写）'}")
    lines.append("")
    caps = _caps_by_clause(answer)
    for section, citation in _citation_by_section(answer).items():
        lines.append(section_label(section, citation.title))
        for cap in caps.get(section) or []:
            term = f"，{cap.term}" if cap.term else ""
            lines.append(f"· {cap.amount_text}{term}；对象：{cap.target}；依据：{cap.basis}")
        lines.append(f"· 条件（原文）：{citation.quote or ''}")
    lines.append("")
    lines += [p.strip() for p in answer.text.splitlines() if p.strip()]
    notice = (facts or bundled_facts()).short_notice if draft else ""
    if notice:
        lines += ["", notice]
    return lines
