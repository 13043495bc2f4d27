"""Answer-quality rules: automatic checks of an answer's shape, over every answered question of an eval set.

Each rule applies to some answers only (``None`` = not applicable) and is reported as a rate over the answers it
applies to:

* **money lead** — a money question (gold caps) whose answer states a gold cap: the answer's first sentence holds
  that cap's amount ("200万元"; for a cap without a figure, that the amount follows the fund's measures or is not
  written). Retrieval misses are graded by caps accuracy, not here: only caps the answer lists are checked.
* **clean match reasons** — an answer with a 匹配依据 line: none of its quoted words is a function word
  (``assistant.explain.FUNCTION_WORDS``) or a single Chinese character.
* **whole conditions** — an answer listing conditions (申请条件 / 需要确认): every quoted condition is a phrase, not a
  single word (at least 4 characters and more than one token).
* **follow-up detail** — a follow-up (several turns) whose last turn asks a detail (amount, term, conditions,
  basis, who applies, what to prepare; ``assistant.detail``): the first sentence states that detail.

The first sentence ends at the first 。！？!? or line break (a quote's inner full stop ends it too), or at an English
full stop followed by a space.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.detail import asked_detail, mentions_detail
from assistant.explain import is_function_word
from indexing.tokenize_zh import tokenize

# An English full stop ends a sentence too (not the one of "etc.", "e.g.", "i.e.", "No.").
_SENTENCE_END_RE = re.compile(r"[。！？!?\n]|(?<!etc)(?<!e\.g)(?<!i\.e)(?<!No)\.(?=\s|$)")
_QUOTED_RE = re.compile(r"[“\"]([^”\"]+)[”\"]")
_MATCH_LINE = "匹配依据"
_CONDITION_LINES = ("申请条件", "需要确认")
MIN_CONDITION_CHARS = 4


@dataclass(frozen=True)
class QualityChecks:
    """The rules' verdicts on one answer (``None``: the rule does not apply) and what failed, in words."""

    money_lead: bool | None = None
    clean_match_terms: bool | None = None
    whole_conditions: bool | None = None
    followup_detail: bool | None = None
    problems: tuple[str, ...] = ()


def first_sentence(text: str) -> str:
    """The answer's first sentence (up to and including its end mark)."""
    text = text.strip()
    match = _SENTENCE_END_RE.search(text)
    return text[: match.end()] if match else text


def _quoted_on_lines(text: str, labels: Sequence[str]) -> list[str]:
    items: list[str] = []
    for line in text.splitlines():
        if any(label in line for label in labels):
            after = line.split("：", 1)[1] if "：" in line else line
            items.extend(_QUOTED_RE.findall(after) or [p.strip() for p in re.split(r"[、；]", after) if p.strip()])
    return items


def _cap_in(sentence: str, amount: float | None) -> bool:
    if amount is None:   # English answers: "set per the 《…》 (…); this measure states no amount"
        return "未写明" in sentence or "按《" in sentence or "states no amount" in sentence
    return f"{amount:g}万元" in sentence   # English answers give it too: "RMB 2 million (200万元)"


def is_single_word(condition: str) -> bool:
    """A condition that is one word ("具有", "优秀", "分档次"), not a phrase the text states."""
    return len(condition) < MIN_CONDITION_CHARS or len(tokenize(condition)) <= 1


def check_answer(turns: Sequence[str], gold_caps: Sequence[tuple[float | None, bool]], text: str,
                 refused: bool) -> QualityChecks:
    """Apply every rule to one answer.

    Args:
        turns: the conversation (the last turn is the question answered).
        gold_caps: the gold caps' amounts (``None`` for 按资助办法), each with whether the answer's caps list it.
        text: the answer text (``answer`` of the contract).
        refused: whether the answer declined.

    Returns:
        The verdicts and the problems found.
    """
    if refused or not text.strip():
        return QualityChecks()
    lead = first_sentence(text)
    problems: list[str] = []
    money = None
    stated = [amount for amount, listed in gold_caps if listed]
    if stated:
        missing = [a for a in stated if not _cap_in(lead, a)]
        money = not missing
        if missing:
            problems.append("first sentence lacks the cap " + "、".join(
                "按资助办法" if a is None else f"{a:g}万元" for a in missing))
    clean = None
    reasons = _quoted_on_lines(text, (_MATCH_LINE,))
    if reasons:
        words = [w for item in reasons for w in re.split(r"[、，,]", item) if w]
        bad = [w for w in words if is_function_word(w)]
        clean = not bad
        if bad:
            problems.append("function words in 匹配依据: " + "、".join(bad))
    whole = None
    conditions = _quoted_on_lines(text, _CONDITION_LINES)
    if conditions:
        single = [c for c in conditions if is_single_word(c)]
        whole = not single
        if single:
            problems.append("single-word conditions: " + "、".join(single))
    followup = None
    if len(turns) > 1:
        detail = asked_detail(turns[-1])
        if detail is not None:
            followup = mentions_detail(lead, detail)
            if not followup:
                problems.append(f"follow-up asks the {detail}; first sentence does not state it")
    return QualityChecks(money, clean, whole, followup, tuple(problems))
