"""A notice's contact listing answers whom to call, not the procedure it names.

Annual notices and guides end with a part 联系方式 whose items each name a step and a number ("（三）纸质材料受理：市文化
产业服务中心受理窗口，联系电话：0755-…"). Such an item is short and repeats the words of the step it is for, so BM25
puts it first for any question on that step ("纸质材料几号之前送、能不能寄") — although what is asked is written in the
part on how to apply (四（二）: where, and 不接受邮寄). A contact listing answers a question that asks for a contact
(a number, a person, whom to ask, which office); for any other, it gives way to the next section
of its document that is not one.

A contact listing is a section of a part whose heading says 联系 and whose text gives a number. A document writing a
number inside an article on its procedure (第十三条 with a 咨询电话) has no such part: that article is not one.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import TYPE_CHECKING

from assistant.detail import ASKING_RE
from indexing.retrieval.hits import ClauseHit

if TYPE_CHECKING:
    from assistant.knowledge import KnowledgeBase

_NUMBER_RE = re.compile(r"\d{3,4}-\d{7,8}|\d{7,8}")
# A question asking for a contact: a number, a person, whom or which office to ask or to report to.
ASKS_CONTACT_RE = re.compile(
    r"电话|号码|热线|联系|咨询|找谁|问谁|打给|打哪|邮箱|举报|投诉|哪个(部门|单位|处|科|窗口)|什么(部门|单位)|谁负责|"
    r"phone|contact|\bcall\b|hotline|e-?mail|\bnumber\b|who (do|should|can) (we|i)|which (office|department|unit)|report")


def is_contact_listing(knowledge: KnowledgeBase, hit: ClauseHit) -> bool:
    """Whether a hit is an item of a document's 联系方式 part that gives a number."""
    ref = knowledge.qualified(hit.ref)
    if not knowledge.has_section(ref):
        return False
    section = knowledge.section(ref)
    return "联系" in section.chapter_title and _NUMBER_RE.search(section.text) is not None


def contacts_give_way(hits: list[ClauseHit], question: str, knowledge: KnowledgeBase) -> list[ClauseHit]:
    """``hits`` with a leading contact listing moved behind the first hit of its document that is not one, unless
    ``question`` (folded) asks for a contact. Unchanged when no contact listing leads or no other section of its
    document was found (the choice of document is ``assistant.document_choice``'s, made before)."""
    if not hits or ASKS_CONTACT_RE.search(question) or not is_contact_listing(knowledge, hits[0]):
        return hits
    lead = hits[0].doc_id
    first = next((h for h in hits if h.doc_id == lead and not is_contact_listing(knowledge, h)), None)
    if first is None:
        return hits
    return [first, *(h for h in hits if h is not first)]


# A question asking for a number itself ("联系电话", "电话是多少"), not one mentioning a call ("打电话匿名反映可以吗").
_ASKS_NUMBER_RE = re.compile(r"(电话|号码|热线)[^，。？?]{0,4}(多少|是什么|是啥|几号)|联系电话|咨询电话|举报电话|电话号码|"
                             r"热线电话|联系方式|phone number|hotline|contact (number|details)")


_PIECE_RE = re.compile(r"[，。？?！!；;、,\s]+")


def _asks_more(question: str) -> bool:
    """Whether a piece of ``question`` asks something besides a number ("共几条 主管部门 咨询电话"): a section that
    answers that part is no wrong answer for want of the number."""
    return any(ASKING_RE.search(piece) and not _ASKS_NUMBER_RE.search(piece) and "号码" not in piece
               for piece in _PIECE_RE.split(question))


def number_not_given(question: str, section_text: str, own_districts: Collection[str] = ()) -> bool:
    """Whether ``question`` (folded) asks for a number that ``section_text`` does not give.

    It gives none when it writes no number at all ("通过南山区企业服务平台在线提交申请" for "南山区主管部门的电话是多少"),
    or none of the district asked: "南山区文旅体主管部门的联系电话" answered from a notice's contact listing of the city
    bureau (六（一）) or of its discipline office (六（五）) gives another body's number, as a listing answers for the
    bodies it names. The district is what tells the bodies apart in the questions seen (a guide that lists every
    district's number, as a film guide does, names the district beside it). A district's own measure is that
    district's: its "区文化广电旅游体育局" and number answer "龙岗动漫游戏措施 咨询电话" (``own_districts``, the
    districts the document is named by, ``assistant.document_names.districts``). A question
    asking something else too is left as it is.
    """
    from assistant.document_names import DISTRICTS_EN

    if not _ASKS_NUMBER_RE.search(question) or _asks_more(question):
        return False
    if _NUMBER_RE.search(section_text) is None:
        return True
    asked = [district for district in DISTRICTS_EN if district in question and district not in own_districts]
    return bool(asked) and not any(district in section_text for district in asked)
