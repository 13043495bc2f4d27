"""The shape of award a question asks for — per year, a share, one-off, a top-up, a term, a limit on the sum — and
whether a section's awards (the cap table's, read from its text) have it.

When two documents restate one award differently (the measure's "最高200万元资助，资助期限不超过3年" and the annual
notice's "每年给予最高100万元资助，连续支持不超过3年"), their words hardly differ, but the shape asked does: "孵化器
每年上限 支持几年" asks a per-year figure, which only the notice states; "补贴比例 封顶" asks a share, which only a
section with a 按比例 award states. ``assistant.document_choice`` lets the document whose section has the shapes the
question asks lead. Read off the question's last sentence (``assistant.detail.last_sentence``), as the detail asked is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from assistant.detail import last_sentence
from indexing.caps import Award

Shape = Literal["per_year", "share", "one_off", "top_up", "term", "overall"]

# Chinese and English (lower case). "一年" only as the unit of a figure asked ("一年最多", "一年能补"), not "去年一年营收".
_SHAPE_RES: tuple[tuple[Shape, re.Pattern[str]], ...] = (
    ("per_year", re.compile(r"每年|一年(?:最多|最高|上限|封顶|能|可以|给|补|多少)|年度上限|"
                            r"per year|each year|every year|a year|annual(?:ly)? (?:cap|max|limit)")),
    ("share", re.compile(r"比例|比列|百分之|百分比|几成|多少%|percent|percentage|proportion|ratio|what share")),
    ("one_off", re.compile(r"一次性|一次给|one-off|one-time|lump[- ]sum")),
    ("top_up", re.compile(r"追加|加码|top-up|top up|on top")),
    ("term", re.compile(r"几年|期限|多久|年限|连续|how many years|how long|for how long")),
    # The limit on the sum of everything one company receives in a year ("单个企业每年最多拿多少", "加起来有没有上限",
    # "累计最多能拿多少"), not a sum of named awards ("两项合计最多能拿多少") nor a count ("每年最多能报几个").
    ("overall", re.compile(r"(?:累计|总额)[^，。]{0,6}(?:最多|上限|封顶|多少钱|能拿多少)|(?:最多|上限|封顶)[^，。]{0,4}(?:累计|总额)|"
                           r"加起来[^，。]{0,6}(?:上限|封顶)|总额上限|累计上限|总上限|"
                           r"(?:一家|单个|同一|每家|一个|单家)(?:企业|单位|公司|主体|机构)[^，。]{0,12}(?:一年|每年|年度)"
                           r"[^，。]{0,8}(?:最多|上限|封顶|最高)(?![^，。]*几(?:个|项|次|家|条))")),
)


def asked_shapes(question: str) -> tuple[Shape, ...]:
    """The award shapes the last sentence of ``question`` (folded) asks for, in ``_SHAPE_RES`` order."""
    last = last_sentence(question).lower()
    return tuple(shape for shape, pattern in _SHAPE_RES if pattern.search(last))


def has_shape(award: Award, shape: Shape) -> bool:
    """Whether ``award`` is of that shape, as the cap table read it from the text."""
    if shape == "per_year":
        return award.qualifier == "每年最高"
    if shape == "share":
        return award.percent is not None
    if shape == "one_off":
        return award.qualifier == "一次性最高"
    if shape == "top_up":
        return award.qualifier == "追加"
    if shape == "overall":
        return award.overall
    return bool(award.term)


def shape_agreement(shapes: Sequence[Shape], awards: Sequence[Award]) -> float:
    """The share of ``shapes`` some award of ``awards`` has (0.0 without shapes asked)."""
    if not shapes:
        return 0.0
    return sum(any(has_shape(award, shape) for award in awards) for shape in shapes) / len(shapes)
