"""Which of a question's words explain a match (匹配依据): informative terms only, never function words.

Retrieval reports every query term a section matched, "公司", "做", "一家" included. Shown to a founder as the
reason a clause fits, those words say nothing. Two general filters remove them, neither tied to a question:

* **document frequency**: a term found in more than ``MAX_SECTION_SHARE`` of the sections (text plus profile)
  does not tell one clause from another ("公司", "做", "数字", "企业", "支持");
* **a short list of function words** (``FUNCTION_WORDS``): pronouns, measure words and words describing the asker
  rather than the business ("我们", "一家", "团队", "初创") — some are rare in the text, so frequency misses them;
  and single Chinese characters ("小", "想"), which are never a reason on their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from assistant.knowledge import KnowledgeBase
from indexing.tokenize_zh import tokenize

MAX_SECTION_SHARE = 0.5
# Words about the asker or the sentence, not the business. Reviewed by hand; keep it short and general.
FUNCTION_WORDS = frozenset(
    """我们 我司 我 你 你们 咱们 他们 自己 本人 这个 那个 这种 那种 这些 那些 一个 一家 一些 一下 一直 一起
    公司 企业 团队 小团队 初创 初创公司 创业公司 工作室 机构 单位 做 搞 干 弄 是 有 在 想 要 能 可以 可能 需要 打算 准备 计划
    目前 现在 今年 去年 明年 已经 主要 比较 非常 还有 还是 或者 以及 什么 怎么 哪些 哪个 多少 的 了 吗 呢 吧""".split()
)
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")


def is_function_word(term: str) -> bool:
    """A listed function word, or a single Chinese character."""
    term = term.strip().lower()
    return not term or term in FUNCTION_WORDS or (len(term) == 1 and bool(_CJK_RE.match(term)))


@lru_cache(maxsize=8)
def section_frequency(kb: KnowledgeBase) -> tuple[dict[str, int], int]:
    """Term → number of the primary document's sections (text and profile) containing it, and the section count."""
    counts: dict[str, int] = {}
    sections = kb.primary.document.sections
    for section in sections:
        profile = kb.profiles.get(section.key)
        text = section.text + " " + (" ".join(profile.terms()) if profile else "")
        for term in set(tokenize(text)):
            counts[term] = counts.get(term, 0) + 1
    return counts, len(sections)


def informative_terms(kb: KnowledgeBase, terms: Iterable[str]) -> list[str]:
    """The terms worth showing as a match reason, in their order, without repeats.

    Args:
        kb: the corpus (its sections and profiles give the document frequencies).
        terms: matched terms, e.g. a hit's ``matched_terms``.

    Returns:
        Terms that are neither function words nor found in more than half of the sections, nor part of another
        term kept.
    """
    counts, total = section_frequency(kb)
    out: list[str] = []
    for term in terms:
        if term in out or is_function_word(term):
            continue
        if total and counts.get(term, 0) > MAX_SECTION_SHARE * total:
            continue
        out.append(term)
    # "东南亚、东南、南亚": a piece of a longer shown term adds nothing.
    return [t for t in out if not any(t != o and t in o for o in out)]
