"""Pinyin-input slips repaired against the indexed documents' own words: "冬漫" → 动漫, "审合" → 审核, "补帖" → 补贴.

Founders type on pinyin keyboards and by voice; the wrong character has the right sound ("原创冬漫作品能拿多少",
"新形业太那条能补多少"). The lexicon's ``[[typo]]`` list only holds slips someone wrote down; this repairs the
ones nobody listed, with a noisy-channel reading kept deliberately narrow — a wrong repair turns a question the
assistant understood into one it does not:

* the slip is two adjacent characters that jieba reads as two one-character words (a word it knows, "已经", is never
  touched) and that no indexed chunk has as a word;
* at least one of the two is rare as a word of its own (jieba's frequency under ``RARE_CHAR``): a slip puts a
  character where it does not belong ("冬", "帖", "俯"), while "里用", "钱一", "只做" are common words side by side;
* a two-character word of the documents, written there at least ``MIN_COUNT`` times, sounds the same without tones
  (``pypinyin``), is the most frequent such word, and differs from the pair in one character only ("冬漫" → 动漫;
  "逛店" is a word jieba does not know, not 广电).

Measured on every question set (12,317 turns, see ``tests/test_spelling.py`` for the kinds found): about 1 % of
turns repaired, nearly all true slips. Function words are never part of a slip ("我是" is no 我市, "又是" no 优势).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cached_property

from indexing.tokenize_zh import dictionary_words, word_frequency

MIN_COUNT = 5          # in how many indexed chunks the word a slip is repaired to must stand
RARE_CHAR = 3500       # jieba's frequency under which a character is rare as a word on its own
_CJK_PAIR_RE = re.compile(r"[\u4e00-\u9fff]{2}")
# Characters that are grammar, never half of a mistyped content word ("我是" → 我市, "区的" → 取得, "又是" → 优势).
_FUNCTION_CHARS = frozenset("的是了我你他她它在有又也就都和与及或而被把对从为以于之其这那哪个们吗呢吧啊么什怎谁多少几不没要会能可得地着过")


class Spelling:
    """Repairs slips in folded question text against the indexed documents' words.

    ``counts`` gives, when first needed, how many chunks write each token (``BM25Store.chunk_counts``: the index has
    counted already; tokenising 1,000 documents again would stall the first question with a slip for a minute).
    """

    def __init__(self, counts: Callable[[], Mapping[str, int]]) -> None:
        self._counts_of = counts

    @cached_property
    def _counts(self) -> Mapping[str, int]:
        return self._counts_of()

    @cached_property
    def _words_by_sound(self) -> dict[tuple[str, ...], str]:
        """Each toneless reading of the documents' two-character words → the most written word with it."""
        from pypinyin import lazy_pinyin

        best: dict[tuple[str, ...], tuple[int, str]] = {}
        for word, count in self._counts.items():
            if count >= MIN_COUNT and _CJK_PAIR_RE.fullmatch(word):
                sound = tuple(lazy_pinyin(word))
                if (count, word) > best.get(sound, (0, "")):
                    best[sound] = (count, word)
        return {sound: word for sound, (_, word) in best.items()}

    def repair(self, folded: str) -> str:
        """``folded`` (``tokenize_zh.fold``ed) with its slips replaced; the same string when it has none."""
        pieces = dictionary_words(folded)
        changed = False
        i = 0
        while i < len(pieces) - 1:
            pair = pieces[i] + pieces[i + 1]
            if len(pieces[i]) == 1 and len(pieces[i + 1]) == 1 and self._is_slip(pair):
                right = self._sounds_like(pair)
                if right is not None:
                    pieces[i], pieces[i + 1] = right, ""
                    changed = True
                    i += 2
                    continue
            i += 1
        return "".join(pieces) if changed else folded

    def _is_slip(self, pair: str) -> bool:
        """Whether two one-character words side by side could be a mistyped word (see the module docstring)."""
        if not _CJK_PAIR_RE.fullmatch(pair) or any(ch in _FUNCTION_CHARS for ch in pair):
            return False
        if word_frequency(pair) > 0 or pair in self._counts:
            return False
        counts = [word_frequency(ch) for ch in pair]
        return min(counts) > 0 and min(counts) < RARE_CHAR

    def _sounds_like(self, pair: str) -> str | None:
        """The documents' word that sounds like ``pair`` and differs from it in one character: a slip mistypes one
        character of a word; two new characters make another phrase ("逛店" is no 广电, "满减券" no 健全)."""
        from pypinyin import lazy_pinyin

        word = self._words_by_sound.get(tuple(lazy_pinyin(pair)))
        if word is None or sum(a != b for a, b in zip(pair, word, strict=True)) != 1:
            return None
        return word
