"""The domain lexicon (corpus/lexicon/synonyms.toml): synonym groups for query expansion and typo repair.

A group lists interchangeable ways to say one thing (补贴/资助/奖励/扶持; VR/虚拟现实/头显; MCN/网红机构).
A question that uses one term is expanded with the group's other terms so that keyword search reaches the
policy's wording and the clause profiles. Typos are repaired only where the wrong form is not a word. The English
column (``[[english]]``) gives English questions the policy's Chinese words.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from indexing.tokenize_zh import LEXICON_DIR, fold

SYNONYMS_FILE = LEXICON_DIR / "synonyms.toml"
_ASCII_RE = re.compile(r"^[a-z0-9 ./+-]+$")


@dataclass(frozen=True)
class SynonymGroup:
    canonical: str
    terms: tuple[str, ...]


@dataclass(frozen=True)
class EnglishEntry:
    """English ways of saying one thing (``terms``) and the policy's Chinese wording for it (``policy``)."""

    terms: tuple[str, ...]
    policy: tuple[str, ...]
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Lexicon:
    groups: tuple[SynonymGroup, ...]
    typos: tuple[tuple[str, str], ...]
    english: tuple[EnglishEntry, ...] = ()

    def repair(self, text: str) -> str:
        """Replace unambiguous typos (动慢 → 动漫) in already-folded text."""
        for wrong, right in self.typos:
            if wrong in text:
                text = text.replace(wrong, right)
        return text

    def expand(self, text: str, english: bool = False) -> list[str]:
        """Terms to add to a folded question: the other members of every group it mentions.

        Args:
            text: the folded question.
            english: the question is written in English (``assistant.language``): the English column's policy words
                are added too, first. A Chinese question with a few English words is expanded exactly as before.

        Returns:
            New terms (not already in the question), in group order, without duplicates.
        """
        added: list[str] = []
        for group in self.groups:
            if any(_mentions(text, term) for term in group.terms):
                for term in (group.canonical, *group.terms):
                    if term not in text and term not in added:
                        added.append(term)
        if english:
            # An English question: the policy's Chinese words for what it says come first — for keyword search they
            # are the question's only words that the text contains.
            translated = [term for entry in self.english if entry.pattern.search(text) for term in entry.policy]
            added = list(dict.fromkeys([t for t in translated if t not in text] + added))
        return added


def _mentions(text: str, term: str) -> bool:
    """Substring match for Chinese; whole-word match for Latin terms (so "ar" does not hit "park")."""
    if _ASCII_RE.match(term):
        return re.search(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])", text) is not None
    return term in text


def read_lexicon(path: Path = SYNONYMS_FILE) -> Lexicon:
    """Load and fold a synonyms file; a missing file gives an empty lexicon."""
    if not path.exists():
        return Lexicon((), ())
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    groups = tuple(
        SynonymGroup(fold(g["canonical"]), tuple(dict.fromkeys(fold(t) for t in g["terms"])))
        for g in data.get("group", ())
    )
    typos = tuple((fold(t["wrong"]), fold(t["right"])) for t in data.get("typo", ()))
    english = tuple(_english_entry([fold(t) for t in e["terms"]], [fold(p) for p in e["policy"]])
                    for e in data.get("english", ()))
    return Lexicon(groups, typos, english)


def _english_entry(terms: list[str], policy: list[str]) -> EnglishEntry:
    """Whole-word matching of the English terms, with a plural -s/-es ("incubators", "headsets")."""
    alternatives = "|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True))
    pattern = re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?:s|es)?(?![a-z0-9])")
    return EnglishEntry(tuple(terms), tuple(dict.fromkeys(policy)), pattern)


@lru_cache(maxsize=4)
def default_lexicon(path: Path = SYNONYMS_FILE) -> Lexicon:
    return read_lexicon(path)
