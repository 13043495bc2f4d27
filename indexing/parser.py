"""Parse a Chinese policy text into preamble → chapters → clauses → sentences, keeping offsets.

Three numbering families are recognised:

* ``paren``:  chapters ``一、标题`` (or unnumbered heading lines), clauses ``（一）…`` numbered
  across the document — the bundled measure's style;
* ``article``: chapters ``第一章 总则``, clauses ``第一条 …``;
* ``list``:   clauses ``一、…`` with optional ``第一章`` chapters.

Real documents lose numbers; a heading line without its number is numbered from its position
(the bundled text's 二、 and 八、 are missing), and the unnumbered ``附则`` is kept as its own chapter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from indexing.document import (
    Chapter,
    LinkedDocument,
    ParseWarning,
    PolicyDocument,
    Section,
    Sentence,
    chapter_key,
)
from indexing.numerals import chinese_to_int, fold_width, int_to_chinese
from indexing.section_ref import PREAMBLE_KEY, clause_label, part_clause_key

Style = Literal["paren", "article", "list"]

_NUM = "零〇一二三四五六七八九十百千两"
_CLAUSE_PAREN_RE = re.compile(rf"^[（(]\s*([{_NUM}]+)\s*[）)]")
_CLAUSE_ARTICLE_RE = re.compile(rf"^第\s*([{_NUM}\d]+)\s*条[\s\u3000]*")
_LIST_RE = re.compile(rf"^([{_NUM}]+)\s*[、.．]")
_CHAPTER_ZHANG_RE = re.compile(rf"^第\s*([{_NUM}\d]+)\s*章[\s\u3000]*")
_FINAL_PROVISIONS_RE = re.compile(r"^(?:第\s*[" + _NUM + r"\d]+\s*章[\s\u3000]*)?附\s*则\s*$")
# An item under a clause numbered in Arabic figures ("1. 新引进企业落户奖励", "（2）…"): a notice's item heading, never
# a part heading whose number was left out.
_ARABIC_ITEM_RE = re.compile(r"^\s*(?:\d+\s*[、.．]|[（(]\s*\d+\s*[）)])")
_ATTACHMENT_RE = re.compile(r"^附件\s*[\d一二三四五六七八九十]*\s*$")
# The closing block of a notice: "附件：1. …" with its list, the issuing body and the date it was signed.
_ATTACHMENT_LIST_RE = re.compile(r"^附件\s*[：:]")
_ATTACHMENT_ITEM_RE = re.compile(r"^\d+\s*[.．、]")
_SIGNED_DATE_RE = re.compile(r"^\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$")
_CLOSING_LIST_MAX = 20
_SENTENCE_END = "。！？；!?;"
_HEADING_MAX_CHARS = 30
_TITLE_MAX_CHARS = 25

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


class ParseError(ValueError):
    """A document that cannot be structured; names the line where it went wrong."""

    def __init__(self, message: str, line: int | None = None, source: str = "") -> None:
        self.message = message
        self.line = line
        self.source = source
        where = f"{source}: " if source else ""
        at = f"第{line}行: " if line is not None else ""
        super().__init__(f"{where}{at}{message}")


@dataclass(frozen=True)
class _Line:
    number: int   # 1-based
    start: int    # offset of the first non-blank character
    end: int      # offset after the last non-blank character
    text: str     # stripped text


def decode_document(data: bytes, source: str = "") -> tuple[str, list[ParseWarning]]:
    """Decode a policy file's bytes: UTF-8 (with or without BOM), else GB18030 with a warning.

    Args:
        data: raw file content.
        source: file name for messages.

    Returns:
        The text and any warnings.

    Raises:
        ParseError: for empty, binary or oversized files, or undecodable bytes.
    """
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ParseError(
            f"文件过大（{len(data) / 1024 / 1024:.1f} MB，上限 {MAX_DOCUMENT_BYTES // 1024 // 1024} MB）", source=source
        )
    if not data.strip():
        raise ParseError("文件为空", source=source)
    if b"\x00" in data[:65536]:
        raise ParseError("文件含二进制内容（NUL 字节），不是文本文档", source=source)
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        line = data[: utf8_error.start].count(b"\n") + 1
        raise ParseError("无法识别文件编码（既不是 UTF-8 也不是 GBK/GB18030）", line=line, source=source) from None
    return text, [ParseWarning("encoding", "文件不是 UTF-8 编码，已按 GBK/GB18030 解码", None)]


def _lines(text: str) -> list[_Line]:
    lines: list[_Line] = []
    offset = 0
    for number, raw in enumerate(text.splitlines(keepends=True), start=1):
        body = raw.rstrip("\r\n")
        stripped = body.strip(" \t\u3000\ufeff")
        if stripped:
            lead = len(body) - len(body.lstrip(" \t\u3000\ufeff"))
            lines.append(_Line(number, offset + lead, offset + lead + len(stripped), stripped))
        offset += len(raw)
    return lines


def _numeral(token: str) -> int:
    token = fold_width(token)
    return int(token) if token.isdigit() else chinese_to_int(token)


def _safe_numeral(token: str) -> int | None:
    """A label's number, or None when the characters only look like one ("一一、" is text, not item 11)."""
    try:
        return _numeral(token)
    except ValueError:
        return None


def detect_style(text: str) -> Style:
    """Decide which numbering family a text uses, or raise ParseError naming the first line."""
    lines = _lines(text)
    if not lines:
        raise ParseError("文件为空")
    if sum(1 for ln in lines if _CLAUSE_ARTICLE_RE.match(ln.text)) >= 1:
        return "article"
    if sum(1 for ln in lines if _CLAUSE_PAREN_RE.match(ln.text)) >= 1:
        return "paren"
    if sum(1 for ln in lines if _LIST_RE.match(ln.text) and not _is_heading_text(ln.text[2:])) >= 1:
        return "list"
    first = lines[0]
    raise ParseError(
        "找不到条款结构：没有“第一条”“（一）”或“一、”式编号，无法按条款引用", line=first.number
    )


def _is_heading_text(rest: str) -> bool:
    return len(rest) <= _HEADING_MAX_CHARS and not any(p in rest for p in "。；！？，,;")


def split_sentences(text: str, base: int, skip: int = 0) -> tuple[Sentence, ...]:
    """Split ``text`` (found at offset ``base``) on 。！？； and line ends.

    Args:
        text: the span's exact source text.
        base: its offset in the file.
        skip: characters at the start to leave out (a clause label such as （十六）).

    Returns:
        Sentences with file offsets; whitespace-only pieces are dropped.
    """
    sentences: list[Sentence] = []
    start = skip
    for i, ch in enumerate(text):
        if i < skip:
            continue
        if ch in _SENTENCE_END or ch == "\n" or i == len(text) - 1:
            piece_end = i + 1 if ch != "\n" else i
            piece = text[start:piece_end]
            lead = len(piece) - len(piece.lstrip(" \t\u3000\r"))
            trimmed = piece.strip(" \t\u3000\r")
            if trimmed:
                s = start + lead
                sentences.append(Sentence(trimmed, base + s, base + s + len(trimmed)))
            start = i + 1
    return tuple(sentences)


def short_title(body: str) -> str:
    """A clause's short title: the phrase before the first 。 (or ，when that is too long).

    A line break or a full-width colon ends it too: "申请专项资金资助的单位应当具备下列条件：" heads a list on the next
    lines, "申报主体" is a heading line over its items, "政策咨询：市文化广电旅游体育局…" names what the rest gives.
    """
    head = re.split(r"[。！？；\n]", body.strip(), maxsplit=1)[0].strip()
    colon = head.find("：")
    if colon >= 2:
        head = head[:colon]
    if len(head) > _TITLE_MAX_CHARS:
        head = re.split(r"[，,]", head, maxsplit=1)[0].strip()
    return head[:_TITLE_MAX_CHARS * 2]


_BOOK_TITLE_RE = re.compile(r"《([^《》]{2,80})》")


def find_linked(text: str, linked: Sequence[LinkedDocument]) -> tuple[str, ...]:
    """Ids of linked documents that ``text`` mentions, by title or alias (with or without 《》)."""
    found: list[str] = []
    titles = {m.group(1) for m in _BOOK_TITLE_RE.finditer(text)}
    for doc in linked:
        for name in doc.names:
            if name in titles or (len(name) >= 8 and name in text):
                found.append(doc.id)
                break
    return tuple(found)


def _closing_start(lines: Sequence[_Line]) -> int:
    """Index of the first line of the closing block (attachment list, issuer, date), ``len(lines)`` if none.

    Those lines are no part of any section; read as text they would be taken for unnumbered part headings.
    """
    end = len(lines)
    if end and _SIGNED_DATE_RE.match(lines[end - 1].text):
        end -= 1
        issuer = lines[end - 1].text if end else ""
        if end and _is_heading_text(issuer) and not _LIST_RE.match(issuer) and not _CLAUSE_PAREN_RE.match(issuer):
            end -= 1
    for start in range(end - 1, max(-1, end - 1 - _CLOSING_LIST_MAX), -1):
        if _ATTACHMENT_LIST_RE.match(lines[start].text):
            if all(_ATTACHMENT_ITEM_RE.match(line.text) for line in lines[start + 1:end]):
                return start
            break
    return end


@dataclass
class _OpenSection:
    kind: Literal["preamble", "chapter", "clause"]
    key: str
    number: int | None
    label: str
    chapter: str | None
    chapter_title: str
    lines: list[_Line]
    printed_label: str = ""   # the label as printed (（三）), when ``label`` is part-qualified (二（三）)


@dataclass
class _OpenChapter:
    key: str
    number: int | None
    title: str
    line: _Line
    inferred: bool
    section_keys: list[str]


def _restarts_by_part(clauses: Sequence[_OpenSection]) -> bool:
    """Whether items are numbered within each part: every part holding items starts again at （一）.

    A 申报通知 numbers 一、…七、 parts and restarts （一）（二） in each; a measure numbers （一）…（二十九）
    straight through its parts. Two parts at least, each starting at one, tell them apart; a repeated number
    inside one part is still a duplicate.
    """
    first_in_part: dict[str | None, int | None] = {}
    for clause in clauses:
        first_in_part.setdefault(clause.chapter, clause.number)
    parts = {part: first for part, first in first_in_part.items() if part is not None}
    return len(parts) >= 2 and all(first == 1 for first in parts.values())


def _number_clauses(clauses: Sequence[_OpenSection], by_part: bool, source: str) -> list[ParseWarning]:
    """Give each clause its key and label; reject duplicates and warn of gaps, within a part when ``by_part``.

    Part-qualified items get the key ``二/三`` and the label ``二（三）`` (``indexing.section_ref``); items before
    the first part, and every item of a document numbered straight through, keep the bare numeral (``三``).

    Raises:
        ParseError: for a number used twice where it must be unique, naming both lines.
    """
    warnings: list[ParseWarning] = []
    seen: dict[str, int] = {}
    last: dict[str | None, int] = {}
    for clause in clauses:
        number = clause.number or 0  # every clause was numbered when it was read
        item = int_to_chinese(number)
        qualified = by_part and clause.chapter is not None
        clause.key = part_clause_key(clause.chapter, item) if qualified and clause.chapter else item
        clause.label = clause_label(clause.key) if qualified else clause.printed_label
        line = clause.lines[0].number
        if clause.key in seen:
            raise ParseError(
                f"条款编号重复：{clause.label}（第{seen[clause.key]}行已出现），无法唯一引用", line, source
            )
        group = clause.chapter if by_part else None
        previous = last.get(group, 0)
        if number != previous + 1:
            before = int_to_chinese(previous) if previous else "开头"
            where = f"第{clause.chapter}部分中" if qualified else ""
            warnings.append(ParseWarning("clause-gap", f"条款编号不连续：{where}{before}之后是{item}", line))
        seen[clause.key] = line
        last[group] = number
    return warnings


def parse_policy(
    text: str,
    doc_id: str,
    title: str = "",
    linked: Sequence[LinkedDocument] = (),
    source: str = "",
    warnings: Iterable[ParseWarning] = (),
) -> PolicyDocument:
    """Parse a policy text into its structure.

    Args:
        text: the decoded file content; offsets refer to it.
        doc_id: the document's id.
        title: the document title (taken from the title block when empty).
        linked: documents it may mention, to record which clause mentions which.
        source: file name for error messages.
        warnings: warnings already raised (e.g. by decoding), kept on the result.

    Returns:
        The parsed document.

    Raises:
        ParseError: when the text has no recognisable clause structure, or duplicate clause numbers.
    """
    try:
        style = detect_style(text)
    except ParseError as exc:
        raise ParseError(exc.message, exc.line, source) from None
    lines = _lines(text)
    all_warnings = list(warnings)

    clause_re = {"paren": _CLAUSE_PAREN_RE, "article": _CLAUSE_ARTICLE_RE, "list": _LIST_RE}[style]

    title_lines: list[_Line] = []
    sections: list[_OpenSection] = []
    chapters: list[_OpenChapter] = []
    current: _OpenSection | None = None
    seen_structure = False

    def chapter_heading(line: _Line) -> tuple[str, int | None, str, bool] | None:
        """(key, number, title, inferred) when ``line`` is a chapter heading."""
        m = _CHAPTER_ZHANG_RE.match(line.text)
        number = _safe_numeral(m.group(1)) if m else None
        if m and number and _is_heading_text(line.text[m.end():].strip()):
            return int_to_chinese(number), number, line.text[m.end():].strip(), False
        if _FINAL_PROVISIONS_RE.match(line.text):
            return "附则", None, "附则", False
        if style == "paren":
            m = _LIST_RE.match(line.text)
            number = _safe_numeral(m.group(1)) if m else None
            if m and number and _is_heading_text(line.text[m.end():].strip()):
                return int_to_chinese(number), number, line.text[m.end():].strip(), False
            if (seen_structure and _is_heading_text(line.text) and not clause_re.match(line.text)
                    and not _ARABIC_ITEM_RE.match(line.text)):
                numbered = [c.number for c in chapters if c.number is not None]
                number = (numbered[-1] + 1) if numbered else 1
                return int_to_chinese(number), number, line.text, True
        return None

    for line in lines[:_closing_start(lines)]:
        if not seen_structure and not sections and _ATTACHMENT_RE.match(line.text):
            continue  # the attachment label "附件1" belongs to no section
        heading = chapter_heading(line)
        clause_match = clause_re.match(line.text)
        if clause_match and not _safe_numeral(clause_match.group(1)):
            clause_match = None  # looks like a label but is no number: plain text
        if heading and not (clause_match and style != "paren"):
            key, number, heading_title, inferred = heading
            if number is not None and not inferred:
                numbered = [c.number for c in chapters if c.number is not None]
                if numbered and number != numbered[-1] + 1:
                    all_warnings.append(
                        ParseWarning("chapter-gap", f"章节编号不连续：{int_to_chinese(numbered[-1])}之后是{key}", line.number)
                    )
            if any(c.key == key for c in chapters):
                raise ParseError(f"章节编号重复：{key}", line.number, source)
            if inferred:
                all_warnings.append(
                    ParseWarning("chapter-number-inferred", f"标题“{heading_title}”缺少编号，按顺序推定为{key}", line.number)
                )
            chapters.append(_OpenChapter(key, number, heading_title, line, inferred, []))
            seen_structure = True
            current = None
            continue
        if clause_match:
            # Keys, duplicates and gaps are settled after the loop: whether （一） may restart in every part is
            # known only once the whole document has been read.
            number = _numeral(clause_match.group(1))
            chapter = chapters[-1] if chapters else None
            label = clause_match.group(0).strip()
            current = _OpenSection(
                "clause", int_to_chinese(number), number, label, chapter.key if chapter else None,
                chapter.title if chapter else "", [line], printed_label=label,
            )
            sections.append(current)
            seen_structure = True
            continue
        # Plain text: continues the open clause, or is a chapter's body, or the title block / preamble.
        if current is not None and current.kind in ("clause", "chapter", "preamble"):
            current.lines.append(line)
            continue
        if chapters:
            chapter = chapters[-1]
            current = _OpenSection("chapter", chapter_key(chapter.key), chapter.number, "", chapter.key, chapter.title, [line])
            sections.append(current)
            continue
        # An addressee line (各有关单位：) opens the preamble; it is no part of the title.
        if (not sections and not any(p in line.text for p in "。；！？") and len(line.text) <= 40
                and not line.text.endswith(("：", ":"))):
            title_lines.append(line)
            continue
        current = _OpenSection("preamble", PREAMBLE_KEY, None, "", None, "", [line])
        sections.append(current)

    if not any(s.kind == "clause" for s in sections):
        first = lines[0].number if lines else None
        raise ParseError("没有找到任何条款", first, source)
    clauses = [s for s in sections if s.kind == "clause"]
    all_warnings.extend(_number_clauses(clauses, by_part=style == "paren" and _restarts_by_part(clauses), source=source))
    all_warnings.sort(key=lambda w: (w.line is not None, w.line or 0))  # in reading order, as they were found
    for open_chapter in chapters:
        open_chapter.section_keys = [s.key for s in sections if s.chapter == open_chapter.key]

    doc_title = title or "".join(ln.text for ln in title_lines)
    built: list[Section] = []
    for open_section in sections:
        start, end = open_section.lines[0].start, open_section.lines[-1].end
        body = text[start:end]
        skip = len(open_section.printed_label) if open_section.kind == "clause" else 0
        label_rest = body[skip:].lstrip(" \u3000")
        skip = len(body) - len(label_rest)
        if open_section.kind == "clause":
            section_title = short_title(label_rest)
        elif open_section.kind == "chapter":
            section_title = open_section.chapter_title
        else:
            section_title = "序言"
        built.append(
            Section(
                key=open_section.key,
                kind=open_section.kind,
                number=open_section.number,
                label=open_section.label,
                title=section_title,
                text=body,
                start=start,
                end=end,
                chapter=open_section.chapter,
                chapter_title=open_section.chapter_title,
                sentences=split_sentences(body, start, skip),
                linked=find_linked(body, linked),
                doc_id=doc_id,
            )
        )
    built_chapters = tuple(
        Chapter(c.key, c.number, c.title, c.line.start, c.line.end, c.inferred, tuple(c.section_keys)) for c in chapters
    )
    return PolicyDocument(doc_id, doc_title, text, tuple(built), built_chapters, tuple(all_warnings))
