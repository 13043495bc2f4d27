"""Typed structure of a parsed policy document: preamble, chapters, clauses, sentences, with offsets."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

# Section keys and kinds are defined with SectionRef, the one place they are decoded and labelled.
from indexing.section_ref import SectionKind, SectionRef

_HAN_RE = re.compile(r"[\u4e00-\u9fff]+")


def han_pairs(text: str) -> set[str]:
    """The pairs of adjacent Han characters ``text`` writes (not across punctuation)."""
    return {run[i:i + 2] for run in _HAN_RE.findall(text) for i in range(len(run) - 1)}


def chapter_key(chapter: str) -> str:
    """Citation key of a chapter's own body text, e.g. ``chapter:一``."""
    return SectionRef.chapter_of(chapter).key


@dataclass(frozen=True)
class Sentence:
    """One sentence, with character offsets into the source file's decoded text."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Section:
    """A citable unit: the preamble, a chapter's body text, or a numbered clause.

    ``key`` is what answers cite: the clause numeral without brackets (``"十六"``),
    ``"chapter:一"`` for a chapter's own body text, ``"preamble"`` for the preamble.
    ``text`` is the exact source text from ``start`` to ``end`` (label included for clauses).
    """

    key: str
    kind: SectionKind
    number: int | None
    label: str
    title: str
    text: str
    start: int
    end: int
    chapter: str | None
    chapter_title: str
    sentences: tuple[Sentence, ...]
    linked: tuple[str, ...] = ()
    doc_id: str = ""

    @property
    def ref(self) -> SectionRef:
        """Which section of which document this is."""
        return SectionRef.parse(self.key, self.doc_id)

    @property
    def clause(self) -> str | None:
        """The clause numeral for a clause, ``None`` for chapter-level and preamble text."""
        return self.key if self.kind == "clause" else None

    @property
    def display_name(self) -> str:
        """How a person names it: （十六） (a clause as its own text labels it, 第三条 in an article-style text),
        第一部分, 附则, 序言."""
        return self.label if self.kind == "clause" else self.ref.label


@dataclass(frozen=True)
class Chapter:
    """A chapter heading (一、重点支持领域) and the sections under it."""

    key: str
    number: int | None
    title: str
    heading_start: int
    heading_end: int
    number_inferred: bool
    section_keys: tuple[str, ...]


@dataclass(frozen=True)
class ParseWarning:
    """Something odd that did not stop parsing (a numbering gap, a non-UTF-8 file)."""

    code: str
    message: str
    line: int | None = None


@dataclass(frozen=True)
class LinkedDocument:
    """A document the policy refers to, by title and aliases."""

    id: str
    title: str
    aliases: tuple[str, ...] = ()
    doc_number: str = ""
    note: str = ""
    in_corpus: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return (self.title, *self.aliases)


@dataclass(frozen=True)
class PolicyDocument:
    """A parsed policy text."""

    doc_id: str
    title: str
    text: str
    sections: tuple[Section, ...]
    chapters: tuple[Chapter, ...]
    warnings: tuple[ParseWarning, ...] = field(default=())

    def section(self, key: str) -> Section:
        """Look up a section by citation key; raises KeyError if absent."""
        return self.by_key[key]

    @cached_property
    def by_key(self) -> dict[str, Section]:
        """Sections by citation key (built once: a question can look a number up in each of 1,000 documents)."""
        found: dict[str, Section] = {}
        for section in self.sections:
            found.setdefault(section.key, section)
        return found

    @cached_property
    def folded_text(self) -> str:
        """The text folded as questions are (``tokenize_zh.fold``: full-width, traditional), for word look-ups."""
        from indexing.tokenize_zh import fold

        return fold(self.text)

    @cached_property
    def pair_rarity(self) -> dict[str, float]:
        """Each pair of Han characters' weight: log(sections / sections writing it) — in a notice, 纪录片 outweighs
        产业. Built once: a materials answer matches a title against its lists' heads with it."""
        counts = Counter(pair for section in self.sections for pair in han_pairs(section.text))
        total = len(self.sections)
        return {pair: math.log(total / count) for pair, count in counts.items()}

    @cached_property
    def folded_headings(self) -> str:
        """Its chapters' (parts') headings, folded, one per line: what it is about. Not its clauses' titles, which in
        many a text are the first phrase of the clause's sentence."""
        from indexing.tokenize_zh import fold

        return fold("\n".join(dict.fromkeys(s.chapter_title for s in self.sections if s.chapter_title)))

    @cached_property
    def folded_titles(self) -> str:
        """Its clauses' titles and its chapters' headings, folded, one per line: the topics it has a section on."""
        from indexing.tokenize_zh import fold

        return "\n".join([fold(s.title) for s in self.sections if s.kind == "clause"] + [self.folded_headings])

    @property
    def clauses(self) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.kind == "clause")
