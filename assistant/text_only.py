"""Whether a document without models of its own answers a question: the scope rules read for text alone.

The bundled measure comes with reviewed profiles, a learned section model and an out-of-scope topic list written
for it; a document added with ``index --add`` has only its text. Two of the measure's rules read wrong on such a
document, and are read here instead whenever the best section is one of its sections:

* **How far is too far.** The measure's thresholds (``ScopeThresholds``) were calibrated on sections that have
  profiles, whose example questions are embedded as queries: in-scope questions sit at cosine 0.9 and above. A
  section with text alone is compared query-to-passage and sits lower (0.85–0.88 for a short question it answers),
  so the measure's thresholds declined one answerable question in seven of the test documents. ``TEXT_ONLY_SCOPE``
  is the pair for text alone, chosen like the measure's (the most lenient that keeps the in-scope questions and
  catches the chit-chat of ``evals/questions/offtopic-calibration.jsonl``), leave-one-document-out on the three test
  documents: each fold chose bm25 2 and dense 0.85–0.855, and every fold still caught 13–14 of the 14.
* **What the measure leaves to others.** The topic list names what the *bundled measure* does not cover
  (税收优惠, 上市奖励, 申报通知…); another document may well cover it. A topic counts as covered by the document
  when the best section speaks of it — in the topic's terms, or in the words a text writes for it (the topic list's
  ``covered_by``: 欠缴…社会保险费 for a question's 社保, 首次公开发行股票并上市 for its 创业板) — or when a term the
  question used for it is written in the document (all its words): "申报通知" asks the bundled measure for the
  annual guide it defers to, and names the notice itself. A question naming the topic only in Latin letters or
  English ("IPO", "listing bonus") has no such term: there the best section covers the topic when it writes every
  word of one of the topic's Chinese terms ("上市奖励": 上市 and 奖励). A place where the text writes the topic's term
  only inside a longer term of the topic that the question did not use is another side of it: "缴纳个人所得税" does
  not cover a question on 企业所得税. The topic is read in the sentences that ask (``assistant.detail.asked_part``):
  "钱是通过跨境电商平台结汇回来的。能申请出口资助吗？" asks of export support; its 结汇 is the asker's situation.
* **Which document a topic the measure leaves to others goes to.** When the best section is the measure's and its
  topic list declines the question ("孵化器方向除了通用材料还要交什么": 申报材料以年度申报指南为准), the nearest
  section of another document answers it if that section is about the topic (``section_about``): the annual notice's
  三（二）分类材料, under 三、申报材料.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.detail import asked_part
from assistant.scope import ScopeThresholds, ScopeTopic, out_of_scope_topic
from indexing.tokenize_zh import fold, tokenize

if TYPE_CHECKING:
    from indexing.corpus import CorpusDocument
    from indexing.document import Section

# Below both, a question is too far from every section of a document that has text alone (see the module docstring).
TEXT_ONLY_SCOPE = ScopeThresholds(bm25=2.0, dense=0.85)


def document_topic(question: str, section_text: str, document: CorpusDocument) -> ScopeTopic | None:
    """The out-of-scope topic of ``question`` (folded) that ``document`` does not cover, if any.

    Args:
        question: ``QueryPlan.normalized``.
        section_text: the text of the document's best section for the question.
        document: the document that section belongs to (one without profiles or a learned model).

    Returns:
        The topic, or None when the question has none or the document covers it.
    """
    # Only what the question asks: a description's words ("钱是通过跨境电商平台结汇回来的。能申请出口资助吗？") are
    # the asker's situation, which a document answering the ask need not speak of.
    question = asked_part(question)
    topic = out_of_scope_topic(question)
    if topic is None:
        return None
    used = [term for term in topic.terms if term in question]
    others = _other_sides(topic, used)
    if topic.stated_in(_without(fold(section_text), others)):
        return None
    text = _without(document.document.folded_text, others)
    if any(all(word in text for word in tokenize(term)) for term in used):
        return None
    # A question naming the topic only in Latin letters ("港交所IPO") or in English (the topic's ``patterns``) has no
    # word a Chinese text could write: the topic's Chinese terms stand in for it, in the best section ("上市奖励":
    # a section writing 上市 and 奖励). Only then: a Chinese term the question used says which side of a broad topic
    # it asks ("人才住房" is not the "人才补贴" a talent-award section writes).
    if all(term.isascii() for term in used):
        section = fold(section_text)
        if any(all(word in section for word in tokenize(term)) for term in topic.terms if not term.isascii()):
            return None
    return topic


def _other_sides(topic: ScopeTopic, used: list[str]) -> list[str]:
    """The topic's longer terms that contain a term the question used but that it did not use itself: another side
    of the topic. A question on 企业所得税 uses 所得税; a text writing only 个人所得税 (a talent definition's
    "缴纳个人所得税") does not speak of it."""
    return [term for term in topic.terms
            if term not in used and any(word != term and word in term for word in used)]


def _without(folded: str, others: list[str]) -> str:
    """``folded`` with every place it writes one of ``others`` blanked out, longest first."""
    for term in sorted(others, key=len, reverse=True):
        folded = folded.replace(term, "\n")
    return folded


def section_about(topic: ScopeTopic, question: str, section: Section, by_text: bool = True) -> bool:
    """Whether a section is about ``topic`` as ``question`` (folded) asks it: its heading or the heading of its part
    names the topic (三（二）分类材料 under 三、申报材料), or (``by_text``) its text writes a term the question used.

    Stricter than ``document_topic``, which also counts a topic term the question did not use (a district measure's
    申请表 for a question on its 网址): this one decides which document a question the measure leaves to others goes to.
    """
    heading = fold(f"{section.chapter_title}\n{section.title}")
    if any(term in heading for term in topic.terms):
        return True
    if not by_text:
        return False
    text = fold(section.text)
    return any(term in text for term in topic.terms if term in question)
