"""Chinese tokenisation for search: folding, jieba with the policy-domain dictionary, stop words.

Folding makes 孵化器補貼, ＶＲ and vr all meet the text's 孵化器补贴 / VR: full-width → half-width,
traditional → simplified (OpenCC's t2s table via opencc-python-reimplemented), lower case.
"第" is deliberately not a stop word: dropping it breaks "第五条".
"""

from __future__ import annotations

import gc
import logging
import re
import threading
from functools import lru_cache
from pathlib import Path

from indexing.numerals import fold_width

LEXICON_DIR = Path(__file__).resolve().parent.parent / "corpus" / "lexicon"
USER_DICT = LEXICON_DIR / "userdict.txt"

# Function words and question filler that carry no meaning for matching a clause.
STOP_WORDS = frozenset(
    """
    的 了 和 与 及 或 等 对 对于 在 是 有 为 把 被 以 将 从 向 由 其 之 而 并 且 也 都 就 还 又 这 那 这个 那个
    这些 那些 哪个 哪些 什么 怎么 怎样 如何 吗 呢 吧 啊 呀 嘛 哦 么 我 我们 你 你们 他 她 它 他们 咱们 自己 一下 一些
    一个 个 能 能不能 可以 可不可以 会 要 想 请问 请 问 下 给 让 啥 是否 有没有 没有 多少 多 少 么样 是不是
    里 中 上 吗 呗 嗯 哈 好 谢谢 你好 您好 您 帮 帮忙 知道 一般 大概 具体 相关 方面 情况 问题
    """.split()
)
_PUNCT_RE = re.compile(r"[\s\W_]+", re.UNICODE)
_ASCII_WORD_RE = re.compile(r"[a-z0-9]+(?:[./+-][a-z0-9]+)*")

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _converter():  # type: ignore[no-untyped-def]
    from opencc import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _lock:
        tokenizer = jieba.Tokenizer()
        # Loading the prefix dictionary creates ~500,000 objects; the cyclic GC would walk them several times
        # for nothing (none can form a cycle): about a third of jieba's start-up (benchmarks/cold_start.py).
        enabled = gc.isenabled()
        gc.disable()
        try:
            tokenizer.initialize()
            if USER_DICT.exists():
                tokenizer.load_userdict(str(USER_DICT))
        finally:
            if enabled:
                gc.enable()
    return tokenizer


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (繁體 → 繁体)."""
    return _converter().convert(text)


def fold(text: str) -> str:
    """Full-width → half-width, traditional → simplified, lower case."""
    return to_simplified(fold_width(text)).lower()


def segment(text: str) -> list[str]:
    """jieba words of ``text`` exactly as written (no folding); their concatenation is ``text``."""
    return list(_jieba().cut(text, HMM=True))


def is_content_token(token: str) -> bool:
    """True for tokens worth matching: not punctuation, not whitespace, not a stop word."""
    return bool(token.strip()) and not _PUNCT_RE.fullmatch(token) and token not in STOP_WORDS


def tokenize(text: str) -> list[str]:
    """Search tokens: folded, jieba search-mode words (long words also yield their parts), no stop words.

    Args:
        text: a question or a chunk of policy text.

    Returns:
        Tokens in order; duplicates kept (BM25 counts them).
    """
    folded = fold(text)
    tokens: list[str] = []
    for token in _jieba().cut_for_search(folded, HMM=True):
        token = token.strip()
        if not is_content_token(token):
            continue
        tokens.append(token)
    return tokens


def add_words(words: list[str], freq: int = 2000) -> None:
    """Teach jieba extra domain words at run time (e.g. from clause profiles)."""
    tokenizer = _jieba()
    with _lock:
        for word in words:
            if word and len(word) > 1:
                tokenizer.add_word(fold(word), freq=freq)
