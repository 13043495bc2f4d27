"""What counts as a question: text with letters or Chinese characters, within a length, invisible marks removed.

One check for every door that takes a question — ``ask``, /api/ask, /api/search, /api/feedback, the web chat —
so that what one door refuses (nothing but NUL, bidi or zero-width marks, emoji, punctuation) no other stores.
A text that passed the check is a :class:`CheckedQuestion`, which the check lets through as it is: a door that checks
a question before showing it (the web chat, the lookup desk) hands the checked text on, and the assistant does not
check it again, so each request's question is checked once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from assistant.language import Lang, detect_language


class BadInput(ValueError):
    """A question the assistant will not process (empty, too long, binary junk).

    The message is Chinese, or English when the question is English (``lang``, from what the asker wrote: a turn with
    no letters takes the language of the conversation before it; nothing to tell by is Chinese). ``str(exc)`` is the
    message in ``lang``; ``chinese`` and ``english`` are both wordings.
    ``turn``: which turn of a conversation (1-based) was refused, when the input was a conversation.
    """

    def __init__(self, message: str, turn: int | None = None, english: str = "", lang: Lang = "zh") -> None:
        super().__init__(message)
        self.chinese = message
        self.english = english or message
        self.turn = turn
        self.lang: Lang = lang

    def __str__(self) -> str:
        return self.english if self.lang == "en" else self.chinese


class TooManyTurns(BadInput):
    """A conversation longer than the turn limit (``count`` turns, ``limit`` allowed)."""

    def __init__(self, count: int, limit: int, lang: Lang = "zh") -> None:
        super().__init__(f"对话轮数过多（{count}），上限为 {limit} 轮。",
                         english=f"The conversation has too many turns ({count}); the limit is {limit}.", lang=lang)
        self.count = count
        self.limit = limit


# A run of this many Latin letters is no word of any language ("aaaa…" pasted 100,000 times): it tells nothing.
_NOT_A_WORD = re.compile(r"[A-Za-z]{40,}")


def language_of(turns: Sequence[object]) -> Lang:
    """The language a refusal speaks: that of the conversation's text turns (Chinese when none can tell)."""
    return detect_language([_NOT_A_WORD.sub(" ", t) for t in turns if isinstance(t, str)])


class CheckedQuestion(str):
    """A question text as :func:`clean_question` returned it: already checked and cleaned.

    Anything derived from it (``+``, ``strip()``, a join) is a plain ``str`` again and is checked when it is asked.
    """

    __slots__ = ()


_LETTER = re.compile(r"[\w\u4e00-\u9fff]")


def clean_question(text: object, max_chars: int) -> CheckedQuestion:
    """One user turn, checked and cleaned.

    Control and format characters (NUL, escape, bidi and zero-width marks, BOM) and U+FFFD are removed, and
    surrounding whitespace stripped; newlines and tabs stay.

    Args:
        text: what the user sent.
        max_chars: the longest accepted turn, counted before cleaning.

    Returns:
        The cleaned text, a :class:`CheckedQuestion` (one given is returned as it is: it was checked already).

    Raises:
        BadInput: for non-text, empty, over-long or letterless input (message in Chinese).
    """
    if isinstance(text, CheckedQuestion):
        return text
    if not isinstance(text, str):
        raise BadInput("问题必须是文本。", english="The question must be text.")
    cleaned = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\n\t")
    cleaned = cleaned.replace("\ufffd", "").strip()
    if not cleaned:
        raise BadInput("问题为空，请输入您想咨询的内容。", english="The question is empty; please type what you want to ask.")
    if len(text) > max_chars:
        raise BadInput(f"问题过长（{len(text)} 字），请控制在 {max_chars} 字以内。",
                       english=f"The question is too long ({len(text)} characters); please keep it within {max_chars}.",
                       lang=language_of([cleaned[:max_chars]]))
    if not _LETTER.search(cleaned):
        raise BadInput("没有识别到文字内容，请用文字描述您的问题。",
                       english="No words were found; please describe your question in words.")
    return CheckedQuestion(cleaned)


def check_turns(turns: Sequence[object], max_chars: int, max_turns: int) -> list[str]:
    """A conversation, checked and cleaned: at most ``max_turns`` turns, each through :func:`clean_question`.

    Args:
        turns: the user's turns, oldest first.
        max_chars: the longest accepted turn.
        max_turns: the longest accepted conversation.

    Returns:
        The cleaned turns (each a :class:`CheckedQuestion`).

    Raises:
        TooManyTurns: more than ``max_turns`` turns.
        BadInput: a turn ``clean_question`` refuses (its ``turn`` says which, from 1).
    """
    if len(turns) > max_turns:
        raise TooManyTurns(len(turns), max_turns, language_of(turns[-max_turns:]))
    cleaned: list[str] = []
    for number, text in enumerate(turns, 1):
        try:
            cleaned.append(clean_question(text, max_chars))
        except BadInput as exc:
            exc.turn = number
            # the refused turn and those before it: an empty or letterless turn takes the conversation's language
            exc.lang = language_of([t[:max_chars] if isinstance(t, str) else t for t in turns[:number]])
            raise
    return cleaned
