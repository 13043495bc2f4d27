"""The award-cap table: every award sentence of a policy document as a typed record, derived from the text.

No amount in this project is typed by hand: awards are read from the clause sentences by the patterns
below, and ``tests/golden/caps.json`` (the bundled measure) and ``tests/golden/caps-<id>.json`` (the test
documents of ``evals/documents/``) hold the reviewed results so that any change shows up in a test.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Literal

from indexing.document import LinkedDocument, PolicyDocument, Section
from indexing.numerals import format_wan
from indexing.section_ref import SectionRef

Qualifier = Literal["最高", "一次性最高", "每年最高", "追加", "按资助办法", "按比例", "按其他文件"]
QUALIFIERS: tuple[str, ...] = ("最高", "一次性最高", "每年最高", "追加", "按资助办法", "按比例", "按其他文件")
# ``basis`` of an award whose amount the awarding document sets itself, whatever it calls itself (本办法, 本通知).
THIS_MEASURE = "本措施"
# A deferral to a 资助办法 (the fund's measures the bundled measure leans on) keeps its own qualifier, 按资助办法;
# a deferral to any other document is 按其他文件.
FUND_MEASURES = "资助办法"

_KIND_RE = re.compile(r"配套资助|配套支持|资助|奖励|扶持|支持|补贴|贴息|补助|补偿")
_AMOUNT_RE = re.compile(r"(?P<number>\d+(?:\.\d+)?)(?P<unit>亿元|万元|元)")
_WAN_PER_UNIT = {"亿元": 10_000.0, "万元": 1.0, "元": 0.0001}
# What grants money: 给予 (an amount, or a ceiling in the next phrase) and 追加 (on top of another award).
_TRIGGER_RE = re.compile(r"给予|追加")
# A ceiling phrase; the award word may stand between the ceiling and the amount ("单个合同最高资助50万元").
_CEILING_RE = re.compile(r"^(?P<scope>[^，,]*?)(?:最高不超过|最高|不超过)(?:" + _KIND_RE.pattern + ")?" + _AMOUNT_RE.pattern)
# 按《…》相关规定: the clause leaves the amount to another document. The one definition of a deferral in the text, read
# here for the cap records and by ``assistant.linked_articles`` for which indexed document a clause defers to. Texts
# also write it with the document's 文号 and what part of it applies: "按《…资助办法》（深府规〔2020〕2号）有关人才培养项目的
# 规定执行", "按照《…管理办法》有关规定执行".
DEFER_RE = re.compile(r"按照?《(?P<doc>[^》]+)》(?:（[^）]{1,30}）)?(?:的)?(?:相关|有关)(?:[^，,。；《》]{0,20}?的)?规定")
_DEFER_ONLY_RE = re.compile(DEFER_RE.pattern + r"(?:予以(?P<kind>" + _KIND_RE.pattern + r")|执行)")
# 按项目投入的30%: the share, and what it is a share of (the base, after the last 按 or 按照; "" in 按30%给予资助).
_PERCENT_RE = re.compile(r"按(?:[^，,]*按)?照?(?P<of>[^，,按]*?)的?(?P<percent>\d+(?:\.\d+)?)%$")
# "按照…金额的30%核定资助额，单个企业给予最高500万元资助": the share stated in the phrase before, as how the amount is
# worked out, and granted with its ceiling in the next.
_SHARE_RECKONED_RE = re.compile(r"按照?(?P<of>[^，,按]*?)的?(?P<percent>\d+(?:\.\d+)?)%(?:核定|计算|测算|确定)[^，,]{0,6}$")
_ON_TOP_RE = re.compile(r"在(?:《(?P<doc>[^》]+)》的?|[^，,]*?)基础上")
# Words between 给予 and the amount that are no part of whom the award is for.
_INNER_END_RE = re.compile(r"一次性|最高|每人|每年|每项|分别|\d|" + _KIND_RE.pattern)
_ADVERBS_RE = re.compile(r"(?:每年|一次性|分别|再)$")
_TERM_RE = re.compile(r"[^，。；]*(?:期限|连续支持)[^，。；]*")
_TARGET_RE = re.compile(r"(?:^|[，,：:])\s*(?:对于|对)(?P<target>[^，,]+)")
# "…的，给予": the condition phrase just before the award names whom it is for when no 对… phrase does.
_CONDITION_RE = re.compile(r"(?:^|[，,：:])(?P<target>[^，,：:]+的)[，,]\s*$")
_PHRASE_END = "，,"
# After a grant, phrases that state its amounts: a per-unit amount (每家10万元, 每款5万元) and a rate's basis
# (每平方米每月不超过60元: a price, not a cap — passed over to the ceiling after it).
# A unit an amount is stated for: 每家, 每款, 每人每年, 每个标准展位 (never 每平方米: that is a price's).
_UNIT = r"每[家款项人部个场件次名所][^，,\d]{0,6}?"
# A unit counted with a verb and a number: "每接待1名过夜游客奖励20元", "每引进1名博士补贴5万元".
_COUNTED_UNIT = r"每[^，,\d每]{1,4}\d+[名人家个位次批场件部款项所][^，,\d]{0,8}?"
_PER_UNIT_RE = re.compile(r"^(?P<scope>" + _UNIT + ")" + _AMOUNT_RE.pattern
                          + r"(?:的?(?:" + _KIND_RE.pattern + r"))?$")
_RATE_RE = re.compile(r"每(?:平方米|月|小时|天|日)")
# A phrase limiting a grant by something other than money, passed over to the ceiling after it: "补贴面积最高不超过2000
# 平方米", "连续支持不超过3年" (its term is read on its own).
_LIMIT_NOT_MONEY_RE = re.compile(r"^[^，,\d元]*(?:最高不超过|不超过|最长)\d+(?:平方米|年|个月|人|家|个|场)$")
_YEARLY_RE = re.compile(r"每年(?:最高)?$")
_ONCE_RE = re.compile(r"一次性(?:最高)?$")
# "按照每人每年2万元给予补助", "按每场3000元给予运营补贴": the amount per unit is stated before 给予, as its standard. The unit
# (每人每年) says what one amount is for, not a ceiling on a year's total: the record is 最高 (the yearly ceiling on the
# sum, when the text states one, follows: "每家孵化载体每年最高20万元").
# What the standard is counted by may stand between 按 and the unit ("按考核合格人数每人500元给予补贴"), and an area
# is a unit of its own there ("按改造面积每平方米200元给予补贴": a subsidy per square metre, stated before 给予).
_AREA_UNIT = r"每平方米(?:每月|每年)?"
_UNIT_STANDARD_RE = re.compile(r"按照?(?:[^，,每按]{0,10}?)(?P<scope>" + _UNIT + "|" + _AREA_UNIT + ")(?:不超过|最高)?"
                               + _AMOUNT_RE.pattern + r"(?:的标准)?$")
# Ceilings a sentence states with no 给予 of their own: a kind's ceiling ("运营补贴每年最高300万元"), what one unit gets as a
# standard ("租房补贴标准为每人每月3000元"), and the total a company may receive ("单个企业年度获得本措施扶持资金累计不超过
# 1000万元", "同一企业每年获得本措施支持的资金总额原则上不超过1000万元"). A figure with no award word before it ("营业收入不
# 超过1000万元") is a condition, and so is one a "的" or "以上/以下" follows.
_MONEY_WORD_RE = re.compile(_KIND_RE.pattern + r"|资金")
_STANDALONE_CEILING_RE = re.compile(r"(?P<scope>[^，,]*?(?:" + _MONEY_WORD_RE.pattern + r")[^，,]*?)"
                                    r"(?:最高不超过|最高|累计不超过|不超过|不得超过)" + _AMOUNT_RE.pattern + r"(?![的以])")
_STANDARD_RE = re.compile(r"(?P<kind>" + _KIND_RE.pattern + r")标准(?:为|是)?(?P<scope>" + _UNIT + ")" + _AMOUNT_RE.pattern
                          + r"(?![的以])")
# "每个标准展位（9平方米）补贴5000元", "按照实际租赁面积每平方米每月补贴30元": what one unit gets, said with the award word
# and no 给予.
_UNIT_AWARD_RE = re.compile(r"(?P<scope>" + _UNIT + "|" + _COUNTED_UNIT + "|" + _AREA_UNIT + r")(?:（[^）]{0,12}）)?(?P<kind>"
                            + _KIND_RE.pattern + ")" + _AMOUNT_RE.pattern + r"(?![的以])")
# A ceiling whose phrase names only whom it is for ("每家单位每年最高不超过30万元" after the standards per booth): the
# sum of that one's awards. Any other phrase needs an award word before the figure (a condition has none).
_SUBJECT_PREFIX = r"(?:每家|每个|单个|单家|同一)"
_SUBJECT_ONLY_RE = re.compile(r"^" + _SUBJECT_PREFIX + r"(?:企业|单位|机构|主体|项目|团队|作品|展会|活动|赛事)"
                              r"(?:每年|年度|每个年度)?$")
# A ceiling phrase that starts by naming whom it is for ("同一企业每年通过本项获得的奖励不超过150万元") limits that one's
# sum, not every award of its kind: no kind's yearly ceiling.
_SUBJECT_START_RE = re.compile(r"^" + _SUBJECT_PREFIX)
_YEARLY_SCOPE_RE = re.compile(r"每年|年度")
_CEILING_WORD_RE = re.compile(r"最高|不超过|不得超过")
_OVERALL_RE = re.compile(r"累计|总额|合计")
# Where whom such a ceiling is for ends: "单个企业|年度获得…", "同一单位|同一年度…", "市级孵化载体|运营补贴每年最高…".
_SUBJECT_END_RE = re.compile(r"同一年度|每年|年度|获得|享受|" + _MONEY_WORD_RE.pattern)
# "资助比例提高至40%，最高不超过800万元": a share stated without 给予 (raised for some applicants), then its ceiling.
_RAISED_SHARE_RE = re.compile(r"比例(?:提高至|提高到|调整为|为)(?P<percent>\d+(?:\.\d+)?)%$")
# A numbered heading line inside a clause: "1. 研发投入增长资助（对应《办法》第十三条）" (no sentence of its own; a tier
# "1.国内票房3000万元（含）至1亿元的，给予100万元奖励；" is a sentence, and no heading).
_ITEM_HEADING_RE = re.compile(r"(?m)^[ \t\u3000]*\d+[.．、][ \t\u3000]*[^，。；,\n]{1,40}$")
# "同一企业同一档次只奖励一次": the clause's awards are one-off ("同一展会每年只资助一次" is once a year, not one-off).
_ONLY_ONCE_RE = re.compile(r"(?<!每年)只(?:奖励|资助|支持|享受|给予)一次")


@dataclass(frozen=True)
class Award:
    """One award of one clause, exactly as the text states it.

    ``amount_wan`` is ``None`` when the clause defers the amount to another document (按资助办法, 按其他文件).
    ``basis`` names where the amount is set: ``本措施`` (the awarding document itself) or the linked document's
    title; for 追加, the award it is added on top of. ``percent`` is the share of a 按比例 award
    (按投资额的30%给予资助), whose ``amount_wan`` is the ceiling (最高不超过500万元); ``None`` otherwise.
    ``percent_of`` is what that share is of, as the text names it (投资额; "" when it names nothing, and for other
    awards); kept out of the JSON contract, where ``amount_text`` and ``quote`` say it. ``overall`` marks a limit on
    the sum of a company's awards (kept out of it too: ``amount_text`` says 各项合计).
    ``doc_id`` is the document whose clause states it (kept out of the JSON contract), so that two documents' clause
    （十六） back only their own figures; ``doc_title`` is that document's title (also kept out of it), so that a 追加 on
    the document's own award ("在第十七条资助基础上", ``basis`` 本措施) names the document it is added on top of.
    """

    clause: str
    amount_wan: float | None
    qualifier: Qualifier
    term: str
    target: str
    kind: str
    basis: str
    basis_doc: str | None
    quote: str
    start: int
    end: int
    percent: float | None = None
    doc_id: str = ""
    doc_title: str = ""
    percent_of: str = ""
    overall: bool = False

    @property
    def single(self) -> bool:
        """Whether this is one award's stated figure: not a deferral, and not a limit on the sum of everything a
        company receives ("单个企业年度获得本措施扶持资金累计不超过1000万元", ``overall``), which no one award reaches."""
        return self.amount_wan is not None and not self.overall

    @property
    def ref(self) -> SectionRef:
        """The clause of the document that states this award."""
        return SectionRef.parse(self.clause, self.doc_id)

    @property
    def amount_text(self) -> str:
        """The amount with its qualifier, as a person reads it: 最高200万元, 追加100万元, 按资助办法执行."""
        if self.amount_wan is None:
            return f"金额按《{self.basis}》相关规定执行（本措施未写明金额）"
        amount = format_wan(self.amount_wan)
        if self.qualifier == "追加":
            return f"追加{amount}" if self.basis == THIS_MEASURE else f"在《{self.basis}》资助基础上追加{amount}"
        if self.qualifier == "按比例":
            return f"{self.share_text}，最高{amount}"
        return f"各项合计{self.qualifier}{amount}" if self.overall else f"{self.qualifier}{amount}"

    @property
    def share_text(self) -> str:
        """A 按比例 award's share with its base, as the text says it: 按项目投资额的30% (按30%比例 when it names none)."""
        return f"按{self.percent_of}的{self.percent:g}%" if self.percent_of else f"按{self.percent:g}%比例"

    @property
    def on_top_of(self) -> str:
        """The title of the document whose award a 追加 is added on top of: the one it names ("在《资助办法》的基础上"),
        else the document stating it ("在第十七条资助基础上", "在前述资助基础上": its own award); "" when unknown."""
        return self.doc_title if self.basis == THIS_MEASURE else self.basis

    def to_json(self) -> dict[str, object]:
        """The record as ``caps --json`` prints it; ``percent`` only for 按比例 awards (older records lack it)."""
        data = asdict(self)
        del data["doc_id"]
        del data["doc_title"]
        del data["percent_of"]
        del data["overall"]
        if isinstance(self.amount_wan, float) and self.amount_wan.is_integer():
            data["amount_wan"] = int(self.amount_wan)
        percent = data.pop("percent")
        if percent is not None:
            data["percent"] = int(percent) if float(percent).is_integer() else percent
        data["amount_text"] = self.amount_text
        return data


def deferred_names(text: str) -> set[str]:
    """The documents a text leaves its amounts to, as it names them in 按《…》相关规定."""
    return {match.group("doc") for match in DEFER_RE.finditer(text)}


def _linked_by_name(name: str, linked: Sequence[LinkedDocument]) -> LinkedDocument | None:
    for doc in linked:
        if name in doc.names:
            return doc
    return None


def _target(prefix: str, inner: str, section: Section) -> str:
    """Who the award is for: the 对… phrase before 给予, else a "…的，" condition just before it, else the words
    between 给予 and the amount, else the clause's title."""
    matches = list(_TARGET_RE.finditer(prefix))
    if matches:
        return matches[-1].group("target").strip().removesuffix("分档次").strip("，, ")
    condition = _CONDITION_RE.search(prefix)
    if condition:
        return condition.group("target").strip().removeprefix("其中")
    if inner.strip():
        return inner.strip()
    return section.title


def _term(text: str, after: int) -> str:
    """How long the award runs (资助期限不超过3年, 连续支持不超过3年), stated after it in the sentence."""
    for match in _TERM_RE.finditer(text, after):
        return match.group(0).strip().lstrip("、")
    return ""


def _basis(doc_name: str | None, linked: Sequence[LinkedDocument]) -> tuple[str, str | None]:
    if not doc_name:
        return THIS_MEASURE, None
    doc = _linked_by_name(doc_name, linked)
    return (doc.title, doc.id) if doc else (doc_name, None)


def _wan(match: re.Match[str]) -> float:
    """An amount in 万元: 100万元 → 100, 100000元 → 10, 1.5亿元 → 15000."""
    return round(float(match.group("number")) * _WAN_PER_UNIT[match.group("unit")], 4)


def _phrase_bounds(text: str, at: int) -> tuple[int, int]:
    """Start and end of the comma-separated phrase of ``text`` holding position ``at``."""
    start = max(text.rfind(mark, 0, at) for mark in _PHRASE_END) + 1
    ends = [i for i in (text.find(mark, at) for mark in _PHRASE_END) if i >= 0]
    return start, min(ends, default=len(text))


@dataclass(frozen=True)
class _Grant:
    """One 给予/追加 of a sentence, read: the amounts it grants and the words around them."""

    amounts: tuple[float, ...]
    qualifier: Qualifier
    percent: float | None
    percent_of: str        # what the percentage is of (按投资额的30%: 投资额)
    kind: str
    doc: str | None        # the document named in 按《…》相关规定 / 在《…》的基础上
    on_top: bool           # 追加 on an award the text does not name (在此基础上, 在前述资助基础上)
    cut: int               # where the phrase naming the award begins: the 对… target is before it
    inner: str             # words between 给予 and the amount
    end: int               # where the award's wording ends: a term is looked for after it
    totals: tuple[tuple[float, Qualifier], ...] = ()   # ceilings on the sum of the awards (同一企业每年最高不超过30万元)


def _following_amounts(text: str, phrase_end: int) -> tuple[list[tuple[re.Match[str], str]], int]:
    """The phrases right after a grant's own that state its amounts, each as (match, "ceiling" | "unit"), and where
    the last of them ends. A rate (每平方米每月不超过60元) is passed over; any other phrase, or another grant, ends them."""
    found: list[tuple[re.Match[str], str]] = []
    end = phrase_end
    while end < len(text) and text[end] in _PHRASE_END:
        next_end = _phrase_bounds(text, end + 1)[1]
        phrase = text[end + 1:next_end]
        if _TRIGGER_RE.search(phrase):
            break
        ceiling, unit = _CEILING_RE.match(phrase), _PER_UNIT_RE.match(phrase)
        if ceiling and not _RATE_RE.search(ceiling.group("scope")):
            found.append((ceiling, "ceiling"))
        elif unit:
            found.append((unit, "unit"))
        elif not (_RATE_RE.search(phrase) and _AMOUNT_RE.search(phrase)) and not _LIMIT_NOT_MONEY_RE.search(phrase):
            break   # a phrase stating no amount of this grant; a rate (a ceiling's or not) is passed over
        end = next_end
    return found, end


def _ceiling_qualifier(ceiling: re.Match[str]) -> Qualifier:
    """A ceiling's qualifier: 每年最高 when its ``scope`` group says per year ("单个企业年度最高50万元"), else 最高."""
    return "每年最高" if _YEARLY_SCOPE_RE.search(ceiling.group("scope")) else "最高"


def _tier_amounts(ceiling: re.Match[str]) -> list[re.Match[str]]:
    """Every amount of a 分别 ceiling phrase ("分别最高不超过200万元、100万元、50万元"; matched on the phrase alone)."""
    return list(_AMOUNT_RE.finditer(ceiling.string, ceiling.start("number")))


def _read_grant(text: str, trigger: re.Match[str]) -> _Grant | None:
    """Read the award a 给予/追加 grants, or ``None`` when it grants no stated amount.

    The amounts are those after the trigger in its own phrase (给予最高200万元资助, 分别给予一次性奖励500000元、
    1000000元); when that phrase has none, the next phrase may state the ceiling (按…30%给予资助，单个项目最高
    不超过500万元). Figures before the trigger are conditions (营业收入达到5000万元以上), never awards.
    """
    phrase_start, phrase_end = _phrase_bounds(text, trigger.start())
    pre, head = text[phrase_start:trigger.start()], text[trigger.start():phrase_end]
    amounts = list(_AMOUNT_RE.finditer(head))
    defer, percent, on_top = DEFER_RE.search(pre), _PERCENT_RE.search(pre), _ON_TOP_RE.search(pre)
    percent_at = percent.start() if percent else 0   # where the share is stated, from the phrase's start
    if percent is None and phrase_start > 0:
        before_start = _phrase_bounds(text, phrase_start - 1)[0]
        percent = _SHARE_RECKONED_RE.search(text, before_start, phrase_start - 1)
        percent_at = percent.start() - phrase_start if percent else 0
    following, following_end = _following_amounts(text, phrase_end)
    totals: list[tuple[float, Qualifier]] = []
    unit_standard = None if amounts or percent else _UNIT_STANDARD_RE.search(pre)
    if unit_standard:
        # 按照每人每年2万元给予补助，每家孵化载体每年最高20万元: the standard, then the ceilings on the sum.
        amounts, before_amount, after_amount = [unit_standard], "", head[2:]
        totals = [(_wan(m), _ceiling_qualifier(m)) for m, how in following if how == "ceiling"]
        end = following_end if totals else phrase_end
        pre = pre[: unit_standard.start()]
    elif amounts:
        before_amount, after_amount, end = head[:amounts[0].start()], head[amounts[-1].end():], phrase_end
        # "每款给予5万元奖励，同一企业每年最高不超过30万元": the yearly ceiling on their sum is a cap of its own.
        totals = [(_wan(m), "每年最高") for m, how in following
                  if how == "ceiling" and _YEARLY_SCOPE_RE.search(m.group("scope"))]
        if totals:
            end = following_end
    else:
        if trigger.group(0) != "给予" or not following:
            return None
        if percent:
            # 按…30%给予资助，(补贴标准每平方米每月不超过60元，)单个项目最高不超过500万元: the ceiling of the share.
            ceilings = [m for m, how in following if how == "ceiling"]
            if not ceilings:
                return None
            amounts, before_amount = [ceilings[0]], ceilings[0].group("scope")
            if "分别" in before_amount:   # 按…40%给予资助，分别最高不超过200万元、100万元、50万元: one per tier
                amounts = _tier_amounts(ceilings[0])
            # "…，每个展会最高20万元，单个企业年度最高50万元": a further ceiling on the sum of the shares.
            totals = [(_wan(m), _ceiling_qualifier(m)) for m in ceilings[1:]]
        else:
            # 给予奖励，每家10万元，每年最高100万元: the amount per unit, then the yearly ceiling.
            amounts, before_amount = [following[0][0]], following[0][0].group("scope")
            totals = [(_wan(m), _ceiling_qualifier(m)) for m, how in following[1:] if how == "ceiling"]
        after_amount, end = "", following_end
    kind_match = _KIND_RE.match(after_amount.lstrip("的").removeprefix("一次性")) or _KIND_RE.search(head)
    # 一次性 before the amount ("一次性给予", "给予一次性奖励500000元") or after it ("分别给予300万元、200万元一次性奖励").
    once = bool(_ONCE_RE.search(pre)) or "一次性" in before_amount or after_amount.lstrip("的").startswith("一次性")
    yearly = bool(_YEARLY_RE.search(pre)) or "每年" in before_amount
    qualifier: Qualifier
    if trigger.group(0) == "追加" or pre.endswith("再"):   # "…的，再给予200000元奖励": on top of the award before it
        qualifier = "追加"
    elif percent:
        qualifier = "按比例"
    else:
        qualifier = "每年最高" if yearly else "一次性最高" if once else "最高"
    if defer:
        cut = defer.start()
    elif percent:
        cut = percent_at
    elif qualifier == "追加" and on_top:
        cut = on_top.start()
    else:
        adverb = _ADVERBS_RE.search(pre)
        cut = adverb.start() if adverb else len(pre)
    inner = head[2:]
    inner_end = _INNER_END_RE.search(inner)
    doc = defer.group("doc") if defer else (on_top.group("doc") if on_top and qualifier == "追加" else None)
    return _Grant(
        amounts=tuple(_wan(m) for m in amounts),
        qualifier=qualifier,
        percent=float(percent.group("percent")) if percent and qualifier == "按比例" else None,
        percent_of=percent.group("of") if percent and qualifier == "按比例" else "",
        kind=kind_match.group(0) if kind_match else "资助",
        doc=doc,
        on_top=qualifier == "追加" and doc is None,
        cut=phrase_start + cut,
        inner=inner[: inner_end.start()] if inner_end else inner,
        end=end,
        totals=tuple(totals),
    )


@dataclass(frozen=True)
class _Ceiling:
    """A ceiling a sentence states without a 给予 of its own (``_STANDALONE_CEILING_RE``, ``_STANDARD_RE``, a raised
    share's ceiling)."""

    at: int                # where its phrase begins: whom it is for is read before it
    subject: str           # whom the phrase names ("单个企业", "市级孵化载体"; "" when it names none)
    end: int               # where its amount ends: a term is looked for after it
    amount: float
    qualifier: Qualifier
    kind: str
    percent: float | None = None
    overall: bool = False  # a limit on the sum of a company's awards (累计, 总额)
    of_kind: bool = True   # a ceiling of a kind of award ("运营补贴每年最高…"); False: of whom a phrase names alone


def _phrases(text: str) -> list[tuple[int, int]]:
    """The comma-separated phrases of a sentence, as (start, end)."""
    bounds, start = [], 0
    for i, ch in enumerate(text):
        if ch in _PHRASE_END:
            bounds.append((start, i))
            start = i + 1
    bounds.append((start, len(text)))
    return bounds


def _read_already(start: int, end: int, covered: Sequence[tuple[int, int]]) -> bool:
    """Whether the phrase ``start``–``end`` overlaps a span a grant or a deferral read."""
    return any(start < span_end and span_start < end for span_start, span_end in covered)


def _ceilings_without_grant(text: str, covered: Sequence[tuple[int, int]]) -> list[_Ceiling]:
    """The ceilings of a sentence's phrases that no 给予/追加 or deferral read (``covered``: their spans)."""
    found: list[_Ceiling] = []
    phrases = _phrases(text)
    for index, (start, end) in enumerate(phrases):
        if _read_already(start, end, covered):
            continue
        phrase = text[start:end]
        indent = len(phrase) - len(phrase.lstrip())
        standard, ceiling = _STANDARD_RE.search(phrase), _STANDALONE_CEILING_RE.search(phrase)
        share, unit_award = _RAISED_SHARE_RE.search(phrase), _UNIT_AWARD_RE.search(phrase)
        bare = None if ceiling else _CEILING_RE.match(phrase.strip())
        # "入围…但未获奖的作品，每件作品5000元": after the phrase saying for what, the amount per unit with no verb at all.
        per_unit = _PER_UNIT_RE.match(phrase.strip().rstrip("。；;")) if index > 0 else None
        if per_unit and _CEILING_WORD_RE.search(per_unit.group("scope")):
            per_unit = None   # "每个团队最高5000元" is a ceiling (``bare`` below), not an amount per unit
        if bare and not _SUBJECT_ONLY_RE.match(bare.group("scope").strip()):
            bare = None
        if share and index + 1 < len(phrases):
            next_start, next_end = phrases[index + 1]
            share_ceiling = _CEILING_RE.match(text[next_start:next_end])
            if share_ceiling and not _read_already(next_start, next_end, covered):
                kind = _KIND_RE.search(phrase)
                found.append(_Ceiling(start, "", next_start + share_ceiling.end(), _wan(share_ceiling), "按比例",
                                      kind.group(0) if kind else "资助", float(share.group("percent"))))
        elif standard:   # its unit is a 每人/每家/每场…: 每平方米每月 (a price) is never one
            found.append(_Ceiling(start, phrase[: standard.end("kind")].strip(), start + standard.end(),
                                  _wan(standard), "最高", standard.group("kind")))
        elif unit_award:   # a standard per unit, per square metre too: with the award word it is no price
            found.append(_Ceiling(start, "", start + unit_award.end(), _wan(unit_award), "最高",
                                  unit_award.group("kind")))
        elif per_unit:
            unit_kind = _KIND_RE.search(phrase)
            condition = text[phrases[index - 1][0]:phrases[index - 1][1]].strip()
            found.append(_Ceiling(start, condition, start + indent + per_unit.end(), _wan(per_unit),
                                  _ceiling_qualifier(per_unit), unit_kind.group(0) if unit_kind else "资助"))
        elif bare:
            scope = bare.group("scope")
            subject_end = _SUBJECT_END_RE.search(scope)
            found.append(_Ceiling(start, scope[: subject_end.start() if subject_end else len(scope)].strip(),
                                  start + indent + bare.end(), _wan(bare),
                                  _ceiling_qualifier(bare), "资助", of_kind=False))
        elif ceiling and not _RATE_RE.search(ceiling.group("scope")):   # 补贴标准每平方米每月不超过60元: a price
            scope = ceiling.group("scope")
            kind, subject_end = _KIND_RE.search(scope), _SUBJECT_END_RE.search(scope)
            found.append(_Ceiling(start, scope[: subject_end.start() if subject_end else 0].strip(),
                                  start + ceiling.end(), _wan(ceiling), _ceiling_qualifier(ceiling),
                                  kind.group(0) if kind else "资助",
                                  overall=bool(_OVERALL_RE.search(ceiling.group(0))),
                                  of_kind=not _SUBJECT_START_RE.match(scope.strip())))
    return found


def _clause_wide(awards: list[Award], section: Section, kind_ceilings: Sequence[Award]) -> list[Award]:
    """What a clause says of all its awards: "同一档次只奖励一次" makes its plain ceilings one-off, and a kind's
    yearly ceiling stated on its own (``kind_ceilings``: "运营补贴每年最高300万元") makes the plain ceilings of that
    kind stated after it yearly ("孵化器…分别给予200万元、120万元、60万元运营补贴").

    A clause made of headed items ("1. 研发投入增长资助（对应《办法》第十三条）", "2. 首台（套）推广资助…": an application
    guide's directions) is read item by item: "只支持一次" of the 首台（套） item says nothing of the 标准制定 awards
    after it. A statement before the first heading (item 0) is the whole clause's."""
    heads = [section.start + m.start() for m in _ITEM_HEADING_RE.finditer(section.text)]

    def item(at: int) -> int:
        return bisect.bisect_right(heads, at)

    once_items = {item(section.start + m.start()) for m in _ONLY_ONCE_RE.finditer(section.text)}
    yearly_kinds: set[tuple[int, str]] = set()
    out = []
    for award in awards:
        where = item(award.start)
        if award.qualifier == "最高":
            if (where, award.kind) in yearly_kinds or (0, award.kind) in yearly_kinds:
                award = replace(award, qualifier="每年最高")
            elif where in once_items or 0 in once_items:
                award = replace(award, qualifier="一次性最高")
        elif award.qualifier == "每年最高" and any(award is c for c in kind_ceilings):
            yearly_kinds.add((where, award.kind))
        out.append(award)
    return out


def awards_of_section(section: Section, linked: Sequence[LinkedDocument] = (), doc_title: str = "") -> list[Award]:
    """Extract the awards stated in one clause.

    Reads each sentence's 给予 and 追加 (with amounts in 万元 or 元, 一次性, 每年/每人每年, a percentage with its
    ceiling, tiers 分别给予…50万元、100万元、200万元) and its deferrals 按《…》相关规定予以支持/执行.

    Args:
        section: a parsed clause (chapter text and the preamble state no awards, but are accepted).
        linked: linked documents, to resolve "按《…》相关规定" to a document title and id.
        doc_title: the title of the document the section is in (each award's ``doc_title``).

    Returns:
        Awards in order of appearance.
    """
    awards: list[Award] = []
    kind_ceilings: list[Award] = []
    for sentence in section.sentences:
        text = sentence.text
        found: list[tuple[int, list[Award]]] = []
        covered: list[tuple[int, int]] = []   # spans the grants and deferrals read
        for match in _DEFER_ONLY_RE.finditer(text):
            covered.append(match.span())
            basis, basis_doc = _basis(match.group("doc"), linked)
            kinds = _KIND_RE.findall(text, 0, match.start())
            kind = match.group("kind") or (kinds[-1] if kinds else "资助")
            qualifier: Qualifier = "按资助办法" if basis.endswith(FUND_MEASURES) else "按其他文件"
            found.append((match.start(), [
                Award(section.key, None, qualifier, "", _target(text[: match.start()], "", section), kind,
                      basis, basis_doc, text, sentence.start, sentence.end, doc_id=section.doc_id,
                      doc_title=doc_title)
            ]))
        for trigger in _TRIGGER_RE.finditer(text):
            grant = _read_grant(text, trigger)
            if grant is None:
                continue
            covered.append((_phrase_bounds(text, trigger.start())[0], grant.end))
            if grant.on_top:
                # 在此基础上追加: on top of the award stated just before it in this clause, else of this document's.
                earlier = awards + [a for at, batch in sorted(found, key=lambda item: item[0])
                                    if at < trigger.start() for a in batch]
                basis, basis_doc = (earlier[-1].basis, earlier[-1].basis_doc) if earlier else (THIS_MEASURE, None)
            else:
                basis, basis_doc = _basis(grant.doc, linked)
            target = _target(text[: grant.cut], grant.inner, section)
            term = _term(text, grant.end)
            found.append((trigger.start(), [
                Award(section.key, amount, grant.qualifier, term, target, grant.kind, basis, basis_doc,
                      text, sentence.start, sentence.end, grant.percent, section.doc_id, doc_title,
                      grant.percent_of)
                for amount in grant.amounts
            ] + [
                Award(section.key, amount, qualifier, term, target, grant.kind, basis, basis_doc,
                      text, sentence.start, sentence.end, None, section.doc_id, doc_title)
                for amount, qualifier in grant.totals
            ]))
        for ceiling in _ceilings_without_grant(text, covered):
            award = Award(section.key, ceiling.amount, ceiling.qualifier, _term(text, ceiling.end),
                          ceiling.subject or _target(text[: ceiling.at], "", section), ceiling.kind, THIS_MEASURE,
                          None, text, sentence.start, sentence.end, ceiling.percent, section.doc_id, doc_title,
                          overall=ceiling.overall)
            found.append((ceiling.at, [award]))
            if ceiling.qualifier == "每年最高" and not ceiling.overall and ceiling.of_kind:
                kind_ceilings.append(award)
        for _, batch in sorted(found, key=lambda item: item[0]):
            awards.extend(batch)
    return _clause_wide(awards, section, kind_ceilings)


def extract_awards(document: PolicyDocument, linked: Sequence[LinkedDocument] = ()) -> list[Award]:
    """Every award of a document, clause by clause (each knowing the document's title)."""
    awards: list[Award] = []
    for section in document.sections:
        awards.extend(awards_of_section(section, linked, document.title))
    return awards


class CapTable:
    """Deterministic look-ups over the awards of the corpus."""

    def __init__(self, awards: Iterable[Award]) -> None:
        self.awards: tuple[Award, ...] = tuple(awards)
        self._by_clause: dict[str, list[Award]] = {}
        for award in self.awards:
            self._by_clause.setdefault(award.clause, []).append(award)

    def for_clause(self, key: str) -> list[Award]:
        """Awards of one clause (empty when the clause states none)."""
        return list(self._by_clause.get(key, ()))

    def largest(self, limit: int | None = None) -> list[Award]:
        """Single awards with a figure, largest first (ties in clause order): no deferral, no limit on a sum."""
        with_figure = [a for a in self.awards if a.single]
        ranked = sorted(with_figure, key=lambda a: -(a.amount_wan or 0))
        return ranked[:limit] if limit else ranked

    def max_amount(self) -> float:
        return max((a.amount_wan for a in self.awards if a.single and a.amount_wan is not None), default=0.0)

    def by_target_words(self, words: Iterable[str]) -> list[Award]:
        """Awards whose target or quote contains any of ``words``, most words matched first."""
        words = [w for w in words if w]
        scored = []
        for award in self.awards:
            hits = sum(1 for w in words if w in award.target or w in award.quote)
            if hits:
                scored.append((hits, award))
        scored.sort(key=lambda pair: -pair[0])
        return [award for _, award in scored]

    def amounts(self) -> set[float]:
        """Every figure in the table, in 万元."""
        return {a.amount_wan for a in self.awards if a.amount_wan is not None}

    def to_json(self) -> list[dict[str, object]]:
        return [a.to_json() for a in self.awards]
