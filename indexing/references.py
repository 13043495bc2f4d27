"""Clause references in user text: 十六, 16, （十六）, 第十六条, 16条, 第16款, clause (16) → the key "十六"."""

from __future__ import annotations

import re

from indexing.numerals import chinese_to_int, fold_width, int_to_chinese
from indexing.section_ref import CHAPTER_PREFIX, PREAMBLE_KEY, part_clause_key

_NUM = "零〇一二三四五六七八九十百两"
_WHOLE_RE = re.compile(rf"^\s*(?:第\s*)?[（(【\[]?\s*([{_NUM}]+|\d+)\s*[）)】\]]?\s*(?:条款?|款|项)?\s*$")
# In running text a reference needs a marker: brackets, 第…条, or …条 — bare numbers are amounts or years.
_INLINE_RE = re.compile(
    rf"第\s*([{_NUM}]+|\d+)\s*(?:条款?|款|项|条)"
    # Full-width brackets take digits or numerals; ASCII brackets only numerals ("alert(1)" is not a clause).
    rf"|（\s*([{_NUM}]+|\d+)\s*）|\(\s*([{_NUM}]+)\s*\)"
    # Bare "十六条"/"16条": not a single numeral character ("上一条生产线", "三条建议"), not after 上/这/哪/每.
    rf"|(?<![\d{_NUM}.上下这那哪每几前后])(\d+|[{_NUM}]{{2,}})\s*(?:条款|条)(?![件例])"
    # English: "clause 18", "clause (16)", "Article 16", "clause No. 3".
    r"|(?i:\b(?:clause|article)\s*(?:no\.?\s*)?[(（]?\s*(\d{1,3})\b)"
)


def _to_key(token: str, max_clause: int) -> str | None:
    try:
        number = int(token) if token.isdigit() else chinese_to_int(token)
    except ValueError:
        return None
    if not 1 <= number <= max_clause:
        return None
    return int_to_chinese(number)


def parse_clause_ref(text: str, max_clause: int = 999) -> str | None:
    """Read a whole string as a clause reference.

    Args:
        text: e.g. ``"十六"``, ``"16"``, ``"（十六）"``, ``"第十六条"``, ``"16条"``.
        max_clause: the highest clause number that exists.

    Returns:
        The clause key (``"十六"``) or ``None`` when ``text`` is not a clause reference.
    """
    match = _WHOLE_RE.match(fold_width(text))
    return _to_key(match.group(1), max_clause) if match else None


def find_clause_refs(text: str, max_clause: int = 999) -> list[str]:
    """Find clause references inside a question, in order, without duplicates.

    Args:
        text: free text such as ``"第十六条和（十七）有什么区别"``.
        max_clause: the highest clause number that exists.

    Returns:
        Clause keys in order of appearance.
    """
    folded = fold_width(text)
    whole = parse_clause_ref(folded, max_clause)
    if whole:
        return [whole]
    keys: list[str] = []
    for match in _INLINE_RE.finditer(folded):
        token = next(g for g in match.groups() if g)
        key = _to_key(token, max_clause)
        if key and key not in keys:
            keys.append(key)
    return keys


def label_key(label: str) -> str | None:
    """The stored key of a section named as printed: 第十三条 / （七） → ``十三`` / ``七``; 二（三） → ``二/三`` (item
    （三） of part 二, in a document whose items restart per part); 序言 / preamble → ``preamble``; 第一部分 →
    ``chapter:一``. The inverse of ``SectionRef.label`` (and of the 第X条 style), for question files written by hand.

    Returns:
        The key, or ``None`` when ``label`` names no section.
    """
    text = fold_width(label).strip()
    if text in ("序言", "前言", PREAMBLE_KEY):
        return PREAMBLE_KEY
    part = re.fullmatch(rf"第([{_NUM}]+|\d+)部分", text)
    if part:
        number = _to_key(part.group(1), 999)
        return CHAPTER_PREFIX + number if number else None
    qualified = re.fullmatch(rf"([{_NUM}]+)\s*([（(]\s*[{_NUM}]+\s*[）)])", text)
    if qualified:
        item = parse_clause_ref(qualified.group(2))
        return part_clause_key(qualified.group(1), item) if item else None
    return parse_clause_ref(text)
