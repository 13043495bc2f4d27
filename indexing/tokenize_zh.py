"""Chinese tokenisation for search: folding, jieba with the policy-domain dictionary, stop words.

Folding makes 孵化器補貼, ＶＲ and vr all meet the text's 孵化器补贴 / VR: full-width → half-width,
traditional → simplified (OpenCC's t2s table via opencc-python-reimplemented), lower case.
"第" is deliberately not a stop word: dropping it breaks "第五条".

Index builds tokenise every chunk, possibly in worker processes (``indexing.build_workers``): ``warm_up`` loads jieba
with the user dictionary and OpenCC exactly as the first ``tokenize`` would, and ``TOKENIZER_FINGERPRINT``
names everything that shapes the tokens, so token lists saved with an index are reused only when it matches.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

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
# Bump when tokenize() changes in a way the fingerprint's inputs do not show (stop words, folding, filters).
TOKENIZER_VERSION = 1


@lru_cache(maxsize=1)
def _converter() -> Any:   # opencc.OpenCC: the library has no type hints
    from opencc import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=1)
def domain_words() -> frozenset[str]:
    """The policy-domain dictionary's words (``corpus/lexicon/userdict.txt``: 孵化器, 示范企业, 产业链), folded."""
    if not USER_DICT.exists():
        return frozenset()
    lines = USER_DICT.read_text(encoding="utf-8").splitlines()
    return frozenset(fold(line.split()[0]) for line in lines if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1)
def _jieba() -> Any:   # jieba.Tokenizer: the library has no type hints
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


@lru_cache(maxsize=1)
def _t2s_triggers() -> tuple[frozenset[str], frozenset[str]] | None:
    """(single-character keys, first two characters of longer keys) of OpenCC's t2s dictionaries.

    A text that holds none of the single-character keys and none of the two-character prefixes cannot match
    any dictionary entry, so conversion would return it unchanged. Most simplified policy text is such a text
    (about 97 % of lines): checking is ~50× cheaper than OpenCC's pure-Python parse tree, which was a third
    of the tokenising time of an index build. None when this OpenCC's internals are not the expected ones.
    """
    converter = _converter()
    converter.convert("")                       # loads the dictionaries into dict_cache
    single: set[str] = set()
    prefixes: set[str] = set()
    try:
        tables = [entry[2] for entry in converter.dict_cache.values()]
    except (AttributeError, IndexError, TypeError):
        return None
    if not tables:
        return None
    for table in tables:
        for key in table:
            if len(key) == 1:
                single.add(key)
            elif key:
                prefixes.add(key[:2])
    return frozenset(single), frozenset(prefixes)


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (繁體 → 繁体)."""
    triggers = _t2s_triggers()
    if triggers is not None:
        single, prefixes = triggers
        if single.isdisjoint(text) and not any(text[i:i + 2] in prefixes for i in range(len(text) - 1)):
            return text
    return _converter().convert(text)


# numerals.fold_width as one str.translate table: the same mapping without a Python loop per character
# (tests/test_parallel_build.py checks every BMP character against fold_width).
_WIDTH_TABLE = {code: code - 0xFEE0 for lo, hi in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
                for code in range(lo, hi + 1)} | {0x3000: " "}


def fold(text: str) -> str:
    """Full-width → half-width, traditional → simplified, lower case."""
    return to_simplified(text.translate(_WIDTH_TABLE)).lower()


def segment(text: str) -> list[str]:
    """jieba words of ``text`` exactly as written (no folding); their concatenation is ``text``."""
    return list(_jieba().cut(text, HMM=True))


def dictionary_words(text: str) -> list[str]:
    """jieba's dictionary words of ``text`` and single characters between them (no HMM guessing of unknown words):
    what a pinyin slip looks like to jieba ("冬漫" → 冬/漫)."""
    return list(_jieba().cut(text, HMM=False))


def word_frequency(word: str) -> int:
    """How often jieba's dictionary has ``word`` (0 for a word it does not know)."""
    return int(_jieba().FREQ.get(word, 0))


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


def warm_up() -> None:
    """Load jieba (with the user dictionary) and OpenCC now, as the first ``tokenize`` call would."""
    _jieba()
    _t2s_triggers()


@lru_cache(maxsize=1)
def tokenizer_fingerprint() -> str:
    """What shapes ``tokenize``'s output: this module's version, jieba's and OpenCC's versions, the user dictionary.

    Words taught with ``add_words`` are not included: they live in one process only (index builds do not
    use them).
    """
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256(f"tokenize_zh/{TOKENIZER_VERSION}".encode())
    for package in ("jieba", "opencc-python-reimplemented"):
        try:
            digest.update(f"\0{package}={version(package)}".encode())
        except PackageNotFoundError:
            digest.update(f"\0{package}=?".encode())
    digest.update(b"\0" + (USER_DICT.read_bytes() if USER_DICT.exists() else b""))
    return digest.hexdigest()


def add_words(words: list[str], freq: int = 2000) -> None:
    """Teach jieba extra domain words at run time (e.g. from clause profiles)."""
    tokenizer = _jieba()
    with _lock:
        for word in words:
            if word and len(word) > 1:
                tokenizer.add_word(fold(word), freq=freq)
