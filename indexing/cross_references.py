"""References from one section of a document to another of the same document: 本办法第十一条, 第（六）项方向,
本通知第一部分第（一）项, 本部分第（十一）项.

A 申报通知 lists the materials "申报第（六）项方向的" must add, and a 资助办法 gives conditions "符合本办法第十一条规定
的"; the section that says so never names the topic itself (孵化器, 在孵企业). A question names the topic ("孵化器方向
要交什么材料"), so the referring chunk is indexed with the title of the section it refers to (``Chunk.references``).

Only references that resolve within the document are read. Not read: another document's article (《办法》第七条,
the 》 says whose), 前款第（二）项 and 本条第（三）项 (a sub-item of the same article, not a section), and items of a
document whose items restart in every part when no part is named or was named before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from indexing.document import PolicyDocument, Section
from indexing.numerals import chinese_to_int, int_to_chinese
from indexing.section_ref import PART_SEPARATOR

_NUM = "一二三四五六七八九十百零〇两"
# "[本X]第N部分" names a part; "第（N）项" an item; "第N条" an article. A reference inside another document's
# name, or after 前款 / 本条 / 同条, is told apart by what precedes it (_skip).
_REFERENCE_RE = re.compile(
    rf"(?:第([{_NUM}]+)部分)?第[（(]([{_NUM}]+)[）)]项"
    rf"|第([{_NUM}]+)条(?:[至到]第([{_NUM}]+)条)?"
)
_PART_RE = re.compile(rf"第([{_NUM}]+)部分")
# 前款第（二）项, 本条第（三）项, 第三条第一款第（五）项: a sub-item of an article, not a section.
_LOCAL_BEFORE_RE = re.compile(r"(?:前款|本款|本条|同条|该条|本项|前项|本目|[条款])$")
# "第（二）项至第（四）项", "第（六）项、第（七）项": the second is read as the first was.
_CHAINED_RE = re.compile(r"^[至到、和及或]$")
_THIS_PART_RE = re.compile(r"本(?:部分|章)$")
# Title words only: a heading such as "在孵企业应当同时符合下列条件：（一）…" keeps its words before the colon.
_TITLE_END_RE = re.compile(r"[：:\n]")
_MAX_TITLE_CHARS = 24
_MAX_RANGE = 8


@dataclass(frozen=True)
class CrossReference:
    """One reference: where it stands in the document text and the section it names."""

    start: int
    end: int
    target: str          # the section key
    title: str           # the named section's title words, as indexed with the referring chunk


def _number(token: str) -> int | None:
    try:
        return chinese_to_int(token)
    except ValueError:
        return None


def _title_words(section: Section) -> str:
    return _TITLE_END_RE.split(section.title, maxsplit=1)[0].strip()[:_MAX_TITLE_CHARS]


def _external(before: str) -> bool:
    """Another document's article: 《深圳市…办法》第十条, 《办法》第七条规定的."""
    return before.rstrip().endswith("》")


def cross_references(document: PolicyDocument) -> dict[str, tuple[CrossReference, ...]]:
    """Every resolvable reference to another section of ``document``, by the key of the section that makes it.

    A section's own label (第十一条 at its start) is not a reference; neither is one to the section itself.
    """
    by_key = document.by_key
    by_part = any(PART_SEPARATOR in key for key in by_key)
    last_part: str | None = None      # the part named last, for "第（六）项" after "第一部分第（一）项"
    found: dict[str, tuple[CrossReference, ...]] = {}
    for section in document.sections:
        body_start = section.start + len(section.label)
        body = document.text[body_start:section.end]
        refs: list[CrossReference] = []
        previous_end, previous_skipped = -1, False
        for match in _REFERENCE_RE.finditer(body):
            before = body[max(0, match.start() - 12):match.start()]
            chained = previous_end >= 0 and bool(_CHAINED_RE.match(body[previous_end:match.start()]))
            skipped = (previous_skipped if chained
                       else _external(before) or bool(_LOCAL_BEFORE_RE.search(before)))
            previous_end, previous_skipped = match.end(), skipped
            if skipped:
                continue
            part_token, item_token, article_token, last_token = match.groups()
            targets: list[str] = []
            if item_token:
                item = _number(item_token)
                if item is None:
                    continue
                if not by_part:
                    targets = [int_to_chinese(item)]
                else:
                    if part_token:
                        last_part = part_token
                    part = section.chapter if _THIS_PART_RE.search(before) else last_part
                    if part:
                        targets = [f"{part}{PART_SEPARATOR}{int_to_chinese(item)}"]
            elif article_token and not by_part:
                first = _number(article_token)
                last = _number(last_token) if last_token else first
                if first is None or last is None or not 0 <= last - first < _MAX_RANGE:
                    continue
                targets = [int_to_chinese(n) for n in range(first, last + 1)]
            for target in targets:
                named = by_key.get(target)
                # An item reference names an item section （六）, an article reference an article 第七条: in an
                # article-style text "第（二）项" is a sub-item of some article, never a section.
                if (named is None or named.key == section.key or named.kind != "clause"
                        or named.label.startswith("第") != bool(article_token)):
                    continue
                title = _title_words(named)
                if title:
                    refs.append(CrossReference(body_start + match.start(), body_start + match.end(), target, title))
        for match in _PART_RE.finditer(body):
            last_part = match.group(1)
        if refs:
            found[section.key] = tuple(refs)
    return found


def referred_by(references: Mapping[str, Sequence[CrossReference]]) -> dict[str, tuple[str, ...]]:
    """Keys of the sections that refer to each section, in document order (``cross_references``'s map inverted):
    三（二）分类材料 "申报第（六）项方向的：…" refers to item （六）."""
    found: dict[str, list[str]] = {}
    for source, made in references.items():
        for reference in made:
            keys = found.setdefault(reference.target, [])
            if source not in keys:
                keys.append(source)
    return {target: tuple(keys) for target, keys in found.items()}


def referring_line(text: str, source: Section, target: Section, made: Sequence[CrossReference]) -> str | None:
    """The line or sentence of ``source`` that refers to ``target`` ("4. 申报第（六）项方向的：孵化场地证明，…"), or None.

    ``text`` is the document's text and ``made`` the references ``source`` makes (``cross_references(document)``'s
    entry for it: read once per document by the caller, not once per answer)."""
    for reference in made:
        if reference.target != target.key:
            continue
        start = max(text.rfind("\n", source.start, reference.start), text.rfind("。", source.start, reference.start))
        ends = [i for i in (text.find("\n", reference.end, source.end), text.find("。", reference.end, source.end))
                if i >= 0]
        return text[start + 1 if start >= 0 else source.start:min(ends) if ends else source.end].strip()
    return None
