"""What counts as a question: text with letters or Chinese characters, within a length, invisible marks removed.

One check for every door that takes a question — ``ask``, /api/ask, /api/search, /api/feedback, the web chat —
so that what one door refuses (nothing but NUL, bidi or zero-width marks, emoji, punctuation) no other stores.
"""

from __future__ import annotations

import re
import unicodedata


class BadInput(ValueError):
    """A question the assistant will not process (empty, too long, binary junk); message is Chinese."""


_LETTER = re.compile(r"[\w\u4e00-\u9fff]")


def clean_question(text: object, max_chars: int) -> str:
    """One user turn, checked and cleaned.

    Control and format characters (NUL, escape, bidi and zero-width marks, BOM) and U+FFFD are removed, and
    surrounding whitespace stripped; newlines and tabs stay.

    Args:
        text: what the user sent.
        max_chars: the longest accepted turn, counted before cleaning.

    Returns:
        The cleaned text.

    Raises:
        BadInput: for non-text, empty, over-long or letterless input (message in Chinese).
    """
    if not isinstance(text, str):
        raise BadInput("问题必须是文本。")
    cleaned = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\n\t")
    cleaned = cleaned.replace("\ufffd", "").strip()
    if not cleaned:
        raise BadInput("问题为空，请输入您想咨询的内容。")
    if len(text) > max_chars:
        raise BadInput(f"问题过长（{len(text)} 字），请控制在 {max_chars} 字以内。")
    if not _LETTER.search(cleaned):
        raise BadInput("没有识别到文字内容，请用文字描述您的问题。")
    return cleaned
