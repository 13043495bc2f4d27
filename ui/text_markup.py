"""Plain text made safe for the page: HTML and Markdown escaping, and quotes located and highlighted in a text.

Every function takes raw text and returns escaped markup, so a caller never escapes twice or forgets to.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

_MD_SPECIAL_RE = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def esc(text: object) -> str:
    """HTML-escape any value (``None`` → empty), quotes included so it is safe inside attributes."""
    if text is None:
        return ""
    return html.escape(str(text), quote=True)


def md_escape(text: object) -> str:
    """Escape Markdown syntax so user text renders literally (links, images, emphasis, HTML tags)."""
    if text is None:
        return ""
    escaped = _MD_SPECIAL_RE.sub(r"\\\1", str(text))
    # A line break inside a table cell or list item would break the structure.
    return escaped.replace("\r", " ").replace("\n", " ")


@dataclass(frozen=True)
class Span:
    """A half-open character range ``[start, end)`` inside one text."""

    start: int
    end: int


def locate_quote(text: str, quote: str, start: int | None, end: int | None, base: int = 0) -> Span | None:
    """Where ``quote`` sits in ``text``: at the given document offsets when they agree, else by search.

    Args:
        text: the section text.
        quote: the sentence to highlight.
        start: the quote's start offset in the document (``None`` when unknown).
        end: the quote's end offset in the document.
        base: the document offset at which ``text`` starts.

    Returns:
        The span relative to ``text``, or ``None`` when the quote is not in the text.
    """
    if start is not None and end is not None:
        local = Span(start - base, end - base)
        if 0 <= local.start < local.end <= len(text) and (not quote or text[local.start:local.end] == quote):
            return local
    if quote:
        found = text.find(quote)
        if found >= 0:
            return Span(found, found + len(quote))
    return None


def merge_spans(spans: Iterable[Span], length: int) -> list[Span]:
    """Clip spans to ``[0, length)``, drop empty ones, merge overlaps; sorted by start."""
    clipped = sorted(
        (Span(max(0, s.start), min(length, s.end)) for s in spans),
        key=lambda s: (s.start, s.end),
    )
    merged: list[Span] = []
    for span in clipped:
        if span.end <= span.start:
            continue
        if merged and span.start <= merged[-1].end:
            merged[-1] = Span(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return merged


def highlight(text: str, spans: Iterable[Span], tag: str = "mark") -> str:
    """Escape ``text`` and wrap each span in ``<tag>``; offsets refer to the raw text, not the escaped one."""
    out: list[str] = []
    pos = 0
    for span in merge_spans(spans, len(text)):
        out.append(esc(text[pos:span.start]))
        out.append(f"<{tag}>{esc(text[span.start:span.end])}</{tag}>")
        pos = span.end
    out.append(esc(text[pos:]))
    return "".join(out)


def term_spans(text: str, terms: Iterable[str]) -> list[Span]:
    """Every occurrence of each non-empty term (for keyword highlighting in search results)."""
    spans: list[Span] = []
    for term in {t for t in terms if t and t.strip()}:
        for match in re.finditer(re.escape(term), text):
            spans.append(Span(match.start(), match.end()))
    return spans


def text_block(text: str) -> str:
    """Escaped plain text as paragraphs: blank lines split paragraphs, single newlines become <br>."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(f"<p>{esc(p.strip()).replace(chr(10), '<br>')}</p>" for p in paragraphs)
