"""Which section of which document: ``SectionRef``, with the one parser of section keys and the label formatters
(Chinese ``clause_label``, English ``clause_label_en``).

A section's key is what indexes, models, question files and answers store (``"十六"``, ``"chapter:一"``,
``"preamble"``, and ``"二/三"`` for item （三） of part 二 in a document whose items restart in every part, such as a
申报通知); it names a section only within one document. ``SectionRef`` adds the document, so that clause
（十六） of two documents are two sections wherever sections are counted, merged or scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from indexing.numerals import chinese_to_int

SectionKind = Literal["preamble", "chapter", "clause"]

PREAMBLE_KEY = "preamble"
CHAPTER_PREFIX = "chapter:"
# The final-provisions part has no number: it is named by itself, not "第附则部分".
FINAL_PROVISIONS = "附则"
# Between part and item in the key of an item numbered within its part: "二/三" is 二（三）. Not a character
# any numeral, chapter key or printed label uses, so a bare numeral key can never be read as part-qualified.
PART_SEPARATOR = "/"


@dataclass(frozen=True)
class SectionRef:
    """A section of a document: its kind and number (``"十六"``, chapter ``"一"`` or ``"附则"``, ``""`` for the preamble).

    Frozen and hashable: it is the key wherever sections of several documents are scored together.
    """

    doc_id: str
    kind: SectionKind
    number: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("preamble", "chapter", "clause"):
            raise ValueError(f"section kind must be one of preamble, chapter, clause; got {self.kind!r}")
        if (self.kind == "preamble") != (self.number == ""):
            raise ValueError(f"a preamble has no number and a {self.kind} needs one; got {self.number!r}")
        if self.kind == "clause" and PART_SEPARATOR in self.number:
            pieces = self.number.split(PART_SEPARATOR)
            if len(pieces) != 2 or not all(pieces):
                raise ValueError(f"a part-qualified clause is part{PART_SEPARATOR}item, such as 二{PART_SEPARATOR}三; "
                                 f"got {self.number!r}")

    @classmethod
    def parse(cls, key: str, doc_id: str = "") -> SectionRef:
        """The reference a stored key names in document ``doc_id`` (the one place keys are decoded).

        Raises:
            ValueError: for an empty key, a chapter key without a number, or a part-qualified key missing its part
                or its item (``"二/"``).
        """
        kind = key_kind(key)
        if kind == "preamble":
            return cls(doc_id, "preamble")
        if kind == "chapter":
            return cls(doc_id, "chapter", key.removeprefix(CHAPTER_PREFIX))
        if not key:
            raise ValueError("a section key cannot be empty")
        return cls(doc_id, "clause", key)

    @classmethod
    def chapter_of(cls, chapter: str, doc_id: str = "") -> SectionRef:
        """A chapter's own body text, by the chapter's key (``"一"``, ``"附则"``)."""
        return cls(doc_id, "chapter", chapter)

    @property
    def key(self) -> str:
        """The stored key: ``"十六"``, ``"chapter:一"``, ``"preamble"``."""
        if self.kind == "clause":
            return self.number
        if self.kind == "chapter":
            return CHAPTER_PREFIX + self.number
        return PREAMBLE_KEY

    @property
    def is_clause(self) -> bool:
        return self.kind == "clause"

    @property
    def part(self) -> str | None:
        """The part an item is numbered within (``"二"`` for 二（三）), ``None`` when numbered through the document."""
        return split_clause_number(self.number)[0] if self.kind == "clause" else None

    @property
    def item(self) -> str:
        """A clause's own number as printed in its brackets (``"三"`` for 二（三）and for （三））; ``""`` otherwise."""
        return split_clause_number(self.number)[1] if self.kind == "clause" else ""

    @property
    def label(self) -> str:
        """How answers name it: （十六）, 二（三） for an item numbered within part 二, 第一部分 (附则 for the final
        provisions), 序言."""
        if self.kind == "clause":
            return clause_label(self.number)
        if self.kind == "chapter":
            return FINAL_PROVISIONS if self.number == FINAL_PROVISIONS else f"第{self.number}部分"
        return "序言"

    def titled(self, title: str = "") -> str:
        """The label with the section's title: （十六）建设数字创意孵化器, 第一部分 重点支持领域, 序言."""
        if self.kind == "clause":
            return self.label + title
        if self.kind == "chapter":
            return f"{self.label} {title}".strip() if title else self.label
        return self.label


def chapter_heading(chapter: str | None, title: str = "") -> str:
    """A chapter's heading as the text writes it: 七、加快推进创新体系建设, 附则 ("" for a section outside chapters).

    The one place headings are built (chunk headers, answers, the clause view, the outline).
    """
    if not chapter:
        return ""
    if chapter == FINAL_PROVISIONS:
        return FINAL_PROVISIONS
    return f"{chapter}、{title}"


def clause_label(number: str) -> str:
    """A clause number as cited: 十六 → （十六）; 二/三 → 二（三）."""
    part, item = split_clause_number(number)
    return f"{part or ''}（{item}）"


def clause_label_en(number: str) -> str:
    """A clause number as English answers cite it: 十六 → (16); 二/三 → 2(3), as 二（三）. A numeral that is not a
    Chinese one stays as written."""
    part, item = split_clause_number(number)
    return f"{_arabic(part) if part else ''}({_arabic(item)})"


def _arabic(numeral: str) -> str:
    try:
        return str(chinese_to_int(numeral))
    except ValueError:
        return numeral


def part_clause_key(part: str, item: str) -> str:
    """The key of item ``item`` numbered within part ``part``: (二, 三) → ``"二/三"``."""
    return f"{part}{PART_SEPARATOR}{item}"


def split_clause_number(number: str) -> tuple[str | None, str]:
    """(part, item) of a clause number: ``"二/三"`` → (``"二"``, ``"三"``); ``"十六"`` → (``None``, ``"十六"``)."""
    part, separator, item = number.partition(PART_SEPARATOR)
    return (part, item) if separator else (None, number)


def key_kind(key: str) -> SectionKind:
    """The kind of section a stored key names: ``"preamble"``, ``"chapter:…"``, else a clause numeral."""
    if key == PREAMBLE_KEY:
        return "preamble"
    if key.startswith(CHAPTER_PREFIX):
        return "chapter"
    return "clause"


def is_clause_key(key: str) -> bool:
    """Whether a stored key names a numbered clause (not a chapter's text, the preamble, or nothing)."""
    return bool(key) and key_kind(key) == "clause"
