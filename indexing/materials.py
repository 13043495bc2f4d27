"""Where a document lists what an application submits, and which of its lists is for a given section.

A 申报通知 or a 资助办法 lists materials in sections of their own (三（一）通用材料, "（五）纪录片方向，另须提交：",
"（二）专项材料。按申报方向分别提供：… 3. 演艺类：…"), away from the sections that set the awards. A "what do we
submit" question about an award is answered from the list for it: the section that refers to the award by number
(``indexing.cross_references``), else the list that shares the rarest words of the award's title (纪录片, 演艺), else
the document's only list. The bundled measure lists none: its answers say so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from indexing.cross_references import CrossReference, referring_line
from indexing.document import PolicyDocument, Section, han_pairs

# A section that lists what to submit: 三（一）通用材料 "申报单位须提交以下材料：", a district measure's "申请材料主要包括…",
# "（二）专项材料。按申报方向分别提供：".
_LISTS_MATERIALS_RE = re.compile(r"材料[：:]|以下材料|材料(?:主要)?包括|(?:须|应当?|需要?|分别|另行)(?:提交|提供)[^。；]{0,12}[：:]")
# Shared pairs of characters weighing as much as one pair written in under a third of a document's sections: log(3)
# — rare enough to say which list.
_RARE = math.log(3)
_HEADING_CHARS = 16


def lists_materials(section: Section) -> bool:
    """Whether a section's text lists the materials an application submits ("须提交以下材料：", "材料主要包括"); a
    heading alone does not (三（三）材料要求 under 三、申报材料 sets their format)."""
    return bool(_LISTS_MATERIALS_RE.search(section.text))


def _shared(words: set[str], text: str, rarity: Mapping[str, float]) -> float:
    return sum(rarity.get(pair, 0.0) for pair in words & han_pairs(text))


def _heads(lister: Section) -> list[str]:
    """What a list says each of its parts is for: its title, and each line's words before its colon ("3. 演艺类",
    "（五）纪录片方向，另须提交")."""
    lines = [line.strip() for line in lister.text.splitlines() if line.strip()]
    return [lister.title, *(re.split(r"[：:]", line, maxsplit=1)[0] for line in lines if re.search(r"[：:]", line))]


def _match(item: Section, text: str, rarity: Mapping[str, float]) -> float:
    return _shared(han_pairs(item.title), text, rarity)


def lister_for(document: PolicyDocument, item: Section, referring: Sequence[str] = ()) -> Section | None:
    """The section of ``document`` that lists the materials for ``item`` (which lists none itself), or None.

    The one referring to ``item`` by number; else, for an item headed by its title, the one whose title or a line's
    head (the words before its colon) shares the rarest words of that heading (the shared pairs of characters weigh
    log 3 or more, ``PolicyDocument.pair_rarity``: as much as one pair written in under a third of the document's
    sections); else the document's only list.

    Args:
        document: the item's document.
        item: the section asked about ("这个要交什么材料" after its award).
        referring: keys of the sections that refer to ``item`` (``cross_references.referred_by``), in document order.
    """
    listers = [s for s in document.sections if s.key != item.key and lists_materials(s)]
    if not listers:
        return None
    by_key = {s.key: s for s in listers}
    named = next((by_key[key] for key in referring if key in by_key), None)
    if named is not None:
        return named
    if _headed(item):
        rarity = document.pair_rarity
        scored = [(max(_match(item, head, rarity) for head in _heads(s)), -n, s) for n, s in enumerate(listers)]
        best = max(scored, key=lambda entry: entry[:2])
        if best[0] >= _RARE:
            return best[2]
    return listers[0] if len(listers) == 1 else None


def _headed(item: Section) -> bool:
    """Whether ``item``'s title is a heading: a short phrase that ends its line or its sentence ("（四）纪录片",
    "（一）电影剧本孵化。支持…"), not the opening of a sentence ("第七条　对动漫游戏企业年度营业收入首次突破…，": its
    words are the award's, not a name for it)."""
    at = item.text.find(item.title) if item.title else -1
    if at < 0 or len(item.title) > _HEADING_CHARS:
        return False
    return item.text[at + len(item.title):at + len(item.title) + 1] in ("", "\n", "。")


def line_for(document: PolicyDocument, lister: Section, item: Section, made: Sequence[CrossReference]) -> str | None:
    """The line of ``lister`` that gives the materials for ``item``: the one referring to it ("4. 申报第（六）项方向的：
    …"), else the one whose head shares the rarest words of its title ("3. 演艺类：…" for 演艺产业发展); None when
    no line's head does."""
    line = referring_line(document.text, lister, item, made)
    if line:
        return line
    rarity = document.pair_rarity
    lines = [piece.strip() for piece in lister.text.splitlines()[1:] if re.search(r"[：:]", piece)]
    scored = [(_match(item, re.split(r"[：:]", piece, maxsplit=1)[0], rarity), piece) for piece in lines]
    best = max(scored, key=lambda entry: entry[0], default=(0.0, ""))
    return best[1] if best[0] >= _RARE else None
