"""Which language a question is written in: English when it is written mainly in Latin script, else Chinese.

Founders write Chinese with English words in it ("我们做VR头显的", "AI app能补多少"): those stay Chinese. What
counts is how much of the question each script carries. A Chinese character carries about as much as an English
word, so lower-case or mixed-case Latin words are weighed against Chinese characters; words written in capitals
(VR, AI, IP, MCN, AIGC) are names used in both languages and count for neither. A question whose grammar is Chinese
— a question word, particle or pronoun such as 多少, 吗, 什么, 请问, 我们 — is Chinese however many English nouns it
holds ("VR equipment subsidy 多少", "game 出海做 overseas market 的 project，有 support 吗"): the asker writes, so
reads, Chinese. A turn with no signal of its own ("16?", "VR?") takes the language of the conversation before it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z\uff21-\uff3a\uff41-\uff5a]+(?:['’][A-Za-z]+)?")
_CHINESE_GRAMMAR_RE = re.compile(r"[吗呢吧么]|多少|什么|怎么|怎样|哪些|哪个|哪条|哪里|请问|是否|能否|可以|有没有|是不是|"
                                 r"我们|我司|你们|咱们|几年|多久")
# One Latin word weighs this many Chinese characters: "What's the cap for 孵化器?" (5 words, 3 characters) is
# English; "我们做的是一个game engine插件" (2 words, 9 characters) is Chinese.
WORD_WEIGHT = 2.0


def shown_language(text: str) -> Lang | None:
    """The language one turn shows by itself, or None when it shows none (digits, marks, capitals only)."""
    words = [w for w in _LATIN_WORD_RE.findall(text) if not w.isupper()]
    chinese = len(_CJK_RE.findall(text))
    if not words and not chinese:
        return None
    if _CHINESE_GRAMMAR_RE.search(text):
        return "zh"
    return "en" if WORD_WEIGHT * len(words) > chinese else "zh"


def detect_language(turns: str | Sequence[str]) -> Lang:
    """The language to answer in: that of the last turn, or of the nearest earlier turn when it shows none.

    Args:
        turns: a question, or a conversation whose last turn is the question answered.

    Returns:
        ``"en"`` for a question written mainly in Latin script, else ``"zh"`` (also the default).
    """
    if isinstance(turns, str):
        turns = [turns]
    for turn in reversed(list(turns)):
        lang = shown_language(turn)
        if lang is not None:
            return lang
    return "zh"
