"""Questions about a document's structure: "第八部分讲什么", "“附则”有几条", "哪一部分讲出口", "一共几部分", "一共几章".

Answered from the parsed document (its chapters and their clauses), never from retrieval alone: "第X部分" names a
part (一…九, 附则), never clause （X）. ``looks_structural`` needs no document (query understanding uses it to set
the intent); ``find_structure_ask`` resolves the parts against a document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexing.document import Chapter, PolicyDocument
from indexing.numerals import chinese_to_int
from indexing.section_ref import SectionRef

_NUMERAL = r"[一二三四五六七八九十\d]{1,3}"
_NUMBERED_PART_RE = re.compile(rf"第\s*({_NUMERAL})\s*(?:个|大)?(?:部分|章)")
_TOC_RE = re.compile(
    r"(一共|总共|共|分成|分为|分了|包括|包含|有)(几|哪几|多少)(个|大)?(部分|章)|(几|哪几)(个|大)部分|分(成|为)?几(个|大)?(部分|章)|"
    r"(文件|措施|政策|全文|这份|整个|本)的?目录|^目录|目录[呢吗是？?]*$|整体结构|篇章结构|文件结构|有哪些部分|由哪些部分|各部分"
)
# "…部分" followed (before the sentence ends) by a question about the part as a whole.
_PART_CUE_RE = re.compile(
    r"(?:部分|章|附则)[^，。？?！!；;]{0,12}?"
    r"(哪几条|几条|哪些条|哪几项|包括|包含|有哪些|下面|讲(了)?什么|讲的(是)?什么|讲啥|说(了)?什么|说的(是)?什么|"
    r"主要内容|什么内容|哪些内容|讲哪些|讲了哪|都讲了|讲的哪|标题|大致|概括|哪几类|哪几方面|是关于什么|关于什么)"
)
_TOPIC_RES = (
    re.compile(r"(?:讲|关于|涉及|写)([^，。？?、“”\"]{2,16}?)的(?:那|这)?一?个?部分"),
    re.compile(r"哪(?:一|个)?部分(?:是)?(?:讲|关于|涉及|写|说|提到|规定)(?:了)?([^，。？?“”\"]{2,16}?)(?:的)?[？?。，]?$"),
    re.compile(r"([^，。？?、“”\"]{2,16}?)(?:在|属于|归)哪(?:一|个)?部分"),
)
_QUOTED_RE = re.compile(r"[“\"「]([^”\"」]{2,30})[”\"」]")
# The same questions in English (lower-case text): "what does part 7 cover", "how many parts", "which part covers export".
_EN_NUMBERS = {w: i for i, w in enumerate("one two three four five six seven eight nine ten".split(), start=1)}
_EN_PART_RE = re.compile(r"\bpart\s+(\d{1,2}|" + "|".join(_EN_NUMBERS) + r")\b")
_EN_TOC_RE = re.compile(r"how many parts|table of contents|(structure|outline) of (the|this) (measure|policy|document)|"
                        r"what (are the )?parts|which parts does")
_EN_PART_CUE_RE = re.compile(r"\bpart\s+\S+\s+(cover|about|include|contain|say|deal|list)|"
                             r"(clauses|what) (are )?(in|under) part\b|supplementary provisions (cover|include|contain|say)")
_EN_TOPIC_RE = re.compile(r"which part (covers|is about|deals with|talks about|mentions|concerns) ([^?.,]{2,40})")


@dataclass(frozen=True)
class StructureAsk:
    """What a structure question asks: named parts (chapter keys), the table of contents, or the part on a topic."""

    chapters: tuple[str, ...] = ()
    toc: bool = False
    topic: str = ""
    missing: tuple[str, ...] = ()   # part numbers the document does not have ("第十二部分")


def looks_structural(text: str) -> bool:
    """A question about parts of the measure (no document needed)."""
    if _TOC_RE.search(text) or _EN_TOC_RE.search(text) or _EN_PART_CUE_RE.search(text) or _EN_TOPIC_RE.search(text):
        return True
    if _PART_CUE_RE.search(text) and (_NUMBERED_PART_RE.search(text) or _QUOTED_RE.search(text)
                                     or "附则" in text or re.search(r"(那|这)一?个?部分", text)):
        return True
    return any(pattern.search(text) for pattern in _TOPIC_RES)


def _chapter_by_title(document: PolicyDocument, text: str) -> list[Chapter]:
    found: list[Chapter] = []
    quoted = [q for q in _QUOTED_RE.findall(text)]
    for chapter in document.chapters:
        title = chapter.title
        if title in text or any(len(q) >= 4 and (q in title or title in q) for q in quoted):
            found.append(chapter)
    return found


def find_structure_ask(text: str, document: PolicyDocument) -> StructureAsk | None:
    """Resolve a structure question against a document.

    Args:
        text: the normalized question.
        document: the parsed measure.

    Returns:
        The parts asked about, or None when the text is not a structure question.
    """
    if not looks_structural(text):
        return None
    chapters: list[str] = []
    missing: list[str] = []
    for match in _NUMBERED_PART_RE.finditer(text):
        numeral = match.group(1)
        try:
            number = int(numeral) if numeral.isdigit() else chinese_to_int(numeral)
        except ValueError:
            continue
        chapter = next((c for c in document.chapters if c.number == number), None)
        if chapter is None:
            missing.append(numeral)
        elif chapter.key not in chapters:
            chapters.append(chapter.key)
    for match in _EN_PART_RE.finditer(text):
        word = match.group(1)
        number = int(word) if word.isdigit() else _EN_NUMBERS[word]
        chapter = next((c for c in document.chapters if c.number == number), None)
        if chapter is None:
            missing.append(word)
        elif chapter.key not in chapters:
            chapters.append(chapter.key)
    if "supplementary provisions" in text:
        chapters += [c.key for c in document.chapters if c.key == "附则" and c.key not in chapters]
    for chapter in _chapter_by_title(document, text):
        if chapter.key not in chapters:
            chapters.append(chapter.key)
    toc = bool(_TOC_RE.search(text) or _EN_TOC_RE.search(text))
    topic = ""
    if not chapters and not toc:
        for pattern in _TOPIC_RES:
            found = pattern.search(text)
            if found:
                topic = found.group(1).strip(" 的")
                break
        english = _EN_TOPIC_RE.search(text)
        if not topic and english:
            topic = english.group(2).strip()
        if not topic and not missing:
            return None
    return StructureAsk(tuple(chapters), toc or bool(missing), topic, tuple(missing))


def chapter_sections(document: PolicyDocument, key: str) -> tuple[str, ...]:
    """The citable sections of a part: its body text (``chapter:一``) and its clauses, in order."""
    chapter = next(c for c in document.chapters if c.key == key)
    return chapter.section_keys


def chapter_name(chapter: Chapter) -> str:
    """How a person names a part: 第八部分“拓展数字创意产品和服务贸易”, 附则."""
    if chapter.key == "附则" or chapter.number is None:
        return f"“{chapter.title}”部分" if chapter.title != "附则" else "附则"
    return f"{SectionRef.chapter_of(chapter.key).label}“{chapter.title}”"
