"""The first sentence of an answer: the conclusion to the question asked, before any quote or table.

For money, the amount with its qualifier, term and clause ("按（十六）建设数字创意孵化器，最高可获200万元资助，资助期限
不超过3年。"); for "能不能申请", yes, which clause, on what condition; for "几年/期限", the term or that the text sets none;
for a follow-up, the detail it asks. Every amount comes from an ``Award`` record with its qualifier and basis.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.detail import Detail, sets_out_conditions
from indexing.caps import THIS_MEASURE, Award
from indexing.document import Section
from indexing.numerals import format_wan
from indexing.profiles import Profile

# "能不能申请", "可以拿吗", "算不算", "符合吗": the asker wants a yes or no first.
ELIGIBILITY_RE = re.compile(
    r"能不能|能否|可不可以|可否|可以申请|能申请|能申报|可以申报|能拿|可以拿|能领|可以领|能享受|可以享受|算不算|够不够|"
    r"符合吗|符合不|有没有(资格|份|机会)|有资格|行不行|可以吗|能吗|能补吗|能给吗|有戏吗|沾得上|沾上边|适用吗"
)
# "能同时享受吗", "可以叠加吗": whether several awards combine — the text does not say.
STACKING_RE = re.compile(r"同时|叠加|一起拿|一起享受|兼得|重复(享受|申报|申请|拿)|都能拿|都可以拿|都能享受|两个都|两项都|既.{1,12}又")
STACKING_NOTE = "原文未说明能否同时享受或叠加这些资助，以正式文本和操作规程为准。"


def basis_phrase(award: Award) -> str:
    """Where the amount is set, in words: "" for this measure (the cited clause is the basis), else 按《…》相关规定."""
    return "" if award.basis == THIS_MEASURE else f"按《{award.basis}》相关规定"


def on_top_phrase(award: Award) -> str:
    """What a 追加 is added on top of, in words: 在《…》资助基础上 — the document it names, or the document stating it
    when it tops up that document's own award ("在第十七条资助基础上": never 《本措施》, which names no document)."""
    return f"在《{award.on_top_of}》资助基础上" if award.on_top_of else "在原有资助基础上"


def base_phrase(award: Award) -> str:
    """Where the base of a 追加 is set: the other document it names (whose amount the text does not state), or the
    stating document's own clauses."""
    if award.basis == THIS_MEASURE:
        name = f"《{award.doc_title}》" if award.doc_title else "原文"
        return f"基础部分按{name}相应条款的资助执行"
    return f"基础部分按《{award.basis}》相关规定执行，本措施未写明具体金额"


def share_phrase(award: Award) -> str:
    """A 按比例 award as the text grants it, its share and base before its ceiling: 按项目投入的30%给予资助，最高500万元
    (the ceiling alone, 按比例可获500万元, would read as a sum anyone gets)."""
    return f"{award.share_text}给予{award.kind}，最高{format_wan(award.amount_wan or 0.0)}"


def money_phrase(award: Award) -> str:
    """One award as a conclusion: 最高可获200万元资助 / 可获一次性最高200万元资助 / 每年最高可获100万元资助 /
    在《…》资助基础上可追加100万元资助 / 按项目投入的30%给予资助，最高500万元 / 奖励金额按《…》相关规定执行，本措施未写明具体金额."""
    if award.amount_wan is None:
        return f"{award.kind}金额按《{award.basis}》相关规定执行，本措施未写明具体金额"
    amount = format_wan(award.amount_wan)
    basis = basis_phrase(award)
    if award.qualifier == "按比例":
        return f"{basis}{share_phrase(award)}"
    if award.qualifier == "追加":
        return f"{on_top_phrase(award)}可追加{amount}{award.kind}"
    if award.qualifier == "一次性最高":
        return f"{basis}可获一次性最高{amount}{award.kind}"
    if award.qualifier == "每年最高":
        return f"{basis}每年最高可获{amount}{award.kind}"
    return f"{basis}{award.qualifier}可获{amount}{award.kind}"


def awards_phrase(awards: Sequence[Award], with_target: bool | None = None) -> str:
    """Every award of a clause in one phrase, each with its target when there are several, and its term."""
    with_target = len(awards) > 1 if with_target is None else with_target
    parts = []
    for award in awards:
        target = f"对{award.target}" if with_target and award.target else ""
        term = f"，{award.term}" if award.term else ""
        parts.append(f"{target}{'，' if target else ''}{money_phrase(award)}{term}")
    return "；".join(parts)


def clause_name(section: Section) -> str:
    """（十六）建设数字创意孵化器 / 第一部分“重点支持领域” / 序言."""
    if section.kind == "clause":
        return f"{section.label}{section.title}"
    if section.kind == "chapter":
        return f"{section.display_name}“{section.chapter_title}”" if section.chapter != "附则" else "附则"
    return "序言"


def term_sentence(section: Section, awards: Sequence[Award]) -> str:
    """The term a clause sets, or that it sets none, with the award it belongs to."""
    name = clause_name(section)
    terms = [a for a in awards if a.term]
    once = [a for a in awards if a.qualifier == "一次性最高"]
    yearly = [a for a in awards if a.qualifier == "每年最高"]
    if terms:
        award = terms[0]
        return f"按{name}，{award.term}（{money_phrase(award)}）。"
    if once:
        return f"{name}是一次性资助（{money_phrase(once[0])}），原文没有规定资助年限。"
    if yearly:
        return f"{name}写明“每年”给予（{money_phrase(yearly[0])}），原文没有写明总年限。"
    if awards:
        return f"{name}原文没有规定资助期限或年限（{awards_phrase(awards)}）。"
    return f"{name}原文没有规定资助期限，也没有写明资助金额。"


def amount_sentence(section: Section, awards: Sequence[Award], yes: bool = False) -> str:
    """The money conclusion for one clause."""
    name = clause_name(section)
    if not awards:
        return f"{name}没有写明资助金额。" if section.kind == "clause" else f"{name}没有写明资助金额。"
    return f"{'可以，' if yes else ''}按{name}，{awards_phrase(awards)}。"


def conditions_sentence(section: Section, conditions: Sequence[str], awards: Sequence[Award]) -> str:
    """The conditions the clause states, as whole phrases."""
    name = clause_name(section)
    if not conditions and sets_out_conditions(section.title, section.text):
        return f"{name}列出了申请条件，见下方原文。"
    if not conditions:
        return f"{name}原文没有写明具体申请条件，以配套操作规程为准。"
    money = f"，{awards_phrase(awards)}" if awards else ""
    return f"申请{name}的条件，原文写的是" + "、".join(f"“{c}”" for c in conditions) + f"{money}。"


def eligibility_sentence(section: Section, conditions: Sequence[str], awards: Sequence[Award]) -> str:
    """Yes, which clause, on what condition (and the cap)."""
    name = clause_name(section)
    condition = f"，条件是原文所写的“{conditions[0]}”" if conditions else ""
    money = f"，{awards_phrase(awards)}" if awards else "，本条没有写明资助金额"
    return f"可以对照{name}申请{condition}{money}。"


def basis_sentence(section: Section, awards: Sequence[Award], own: str = THIS_MEASURE) -> str:
    """Where the amount is set: the section's own document (``own``: 本措施 for the bundled measure, another
    document by its 《title》) or the fund's measures it defers to."""
    name = clause_name(section)
    outside = [a for a in awards if a.basis != THIS_MEASURE]
    if outside:
        return f"{name}的依据是{own}和《{outside[0].basis}》：{awards_phrase(awards)}。"
    if awards:
        return f"{name}的依据是{own}本条原文：{awards_phrase(awards)}。"
    return f"{name}的依据是{own}本条原文，本条没有写明资助金额。"


def who_sentence(section: Section, awards: Sequence[Award], profile: Profile | None) -> str:
    """Who applies: the award's target as the text states it."""
    name = clause_name(section)
    targets = [a.target for a in awards if a.target and a.target != section.title]
    if targets:
        return f"{name}的申请对象是" + "、".join(f"“{t}”" for t in dict.fromkeys(targets)) + "。"
    if profile and profile.for_whom:
        return f"{name}原文没有单列申请对象，条文面向" + "、".join(profile.for_whom[:4]) + "等。"
    return f"{name}原文没有单列申请对象。"


def prepare_sentence(section: Section, profile: Profile | None) -> str:
    """What to prepare (advice from the reviewed profile; the text itself lists no materials)."""
    name = clause_name(section)
    if profile and profile.prepare:
        return f"申请{name}，原文没有列出材料清单；建议准备：" + "；".join(profile.prepare[:4]) + "。"
    return f"{name}原文没有列出申请材料，以配套操作规程和年度申报指南为准。"


def detail_sentence(detail: Detail, section: Section, awards: Sequence[Award], conditions: Sequence[str],
                    profile: Profile | None, own: str = THIS_MEASURE) -> str:
    """The one sentence a follow-up asks for (``own``: how the section's document is named, for the basis)."""
    if detail == "term":
        return term_sentence(section, awards)
    if detail == "conditions":
        return conditions_sentence(section, conditions, awards)
    if detail == "basis":
        return basis_sentence(section, awards, own)
    if detail == "who":
        return who_sentence(section, awards, profile)
    if detail == "prepare":
        return prepare_sentence(section, profile)
    return amount_sentence(section, awards)
