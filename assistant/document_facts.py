"""What answers say about the measure itself — title, status, validity, effective date, who interprets it — and the
Chinese phrases built from it (the notice under every answer, the 标准答复 tail, the status answer).

Every fact comes from the document's metadata sidecar (``corpus/documents/*.toml``, read into ``DocumentMeta``, which
``DocumentFacts`` extends, so that what a draft is has one definition: ``DocumentMeta.is_draft``) or from its parsed
text: the effective-date sentence is found among the document's sentences, never written here. A
document whose status is not a draft for comment (征求意见稿) gets no draft wording anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from indexing.corpus import CorpusDocument, DocumentMeta, load_corpus
from indexing.records import record

# "本措施自2023年1月1日起实施，有效期3年。", "本办法自发布之日起施行": the sentence that says when the document starts.
_TAKES_EFFECT_RE = re.compile(r"自.{0,30}?起(?:施行|实施|生效)")
# The date in that sentence, written or left blank: "2023年1月1日", "2024年 月 日".
_DATE_RE = re.compile(r"(?:\d{4}|[　 ]+)年[\d　 ]*月[\d　 ]*日")
# A date whose month or day is left blank ("2024年 月 日"), as drafts for comment do.
_BLANK_DATE_RE = re.compile(r"年[　 ]*月|月[　 ]*日")
# A whole date: in the text ("2020年4月1日"), in a sidecar ("2020-04-01").
_FULL_DATE_RE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_ISO_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
ISSUED = "正式发布的文本"
ANY_DEPARTMENT = "主管部门"


@dataclass(frozen=True)
class DocumentFacts(DocumentMeta):
    """One document's facts as answers state them: its sidecar metadata (``DocumentMeta``: id, title, short title,
    status, issuer, interpreter, validity, effective date, 文号, …), what its text says, and the phrases built of them.

    Attributes:
        effective_sentence: the text's sentence that says when it takes effect (and for how long), without the final
            stop ("" when the text has none).
        number_in_text: whether the text itself writes its 文号 (a notice's or a 办法's heading does: "深文旅体〔2023〕47号");
            else the 文号 is known from the sidecar alone.
    """

    effective_sentence: str = ""
    number_in_text: bool = False

    @property
    def name(self) -> str:
        """How an answer that cites several documents names this one: 《short title》 (else the title)."""
        return f"《{self.short_title or self.title}》"

    def badge(self) -> dict[str, str]:
        """The document as a citation's JSON names it: id, title, short title, status, 文号."""
        return {"id": self.id, "title": self.title, "short_title": self.short_title, "status": self.status,
                "doc_number": self.doc_number}

    @property
    def cited_notice(self) -> str:
        """The notice for a document an answer cites beside the primary one: its own status and 文号."""
        number = f"（{self.doc_number}）" if self.doc_number else ""
        status = f"状态：{self.status}；" if self.status else ""
        return f"《{self.title}》{number}{status}以正式文本及配套操作规程为准。"

    @property
    def date_left_blank(self) -> bool:
        """The text leaves the effective date blank ("本措施自2024年 月 日起实施") and the sidecar gives none."""
        date = _DATE_RE.search(self.effective_sentence)
        return not self.effective_date and date is not None and bool(_BLANK_DATE_RE.search(date.group()))

    @property
    def effective_clause(self) -> str:
        """The part of the effective-date sentence up to where it says the document takes effect
        ("本措施自2024年 月 日起实施"), without what follows (the validity)."""
        found = _TAKES_EFFECT_RE.search(self.effective_sentence)
        if found is None:
            return self.effective_sentence
        stop = self.effective_sentence.find("，", found.end())
        return self.effective_sentence if stop < 0 else self.effective_sentence[:stop]

    @property
    def date_text(self) -> str:
        """The date as the effective-date sentence writes it ("2024年 月 日"), or the sidecar's."""
        date = _DATE_RE.search(self.effective_sentence)
        return date.group().strip() if date else self.effective_date

    @property
    def effective_on(self) -> str:
        """The date it takes effect, ISO ("2020-04-01"): the sidecar's, else the text's when whole; "" when unknown."""
        if self.effective_date:
            return self.effective_date
        found = _TAKES_EFFECT_RE.search(self.effective_sentence)
        date = _FULL_DATE_RE.search(found.group()) if found else None
        return f"{date[1]}-{int(date[2]):02d}-{int(date[3]):02d}" if date else ""

    @property
    def takes_effect(self) -> str:
        """When it takes effect, as its text says it ("自2020年4月1日起施行"), else from the sidecar's date
        ("自2023年10月1日起施行"); "" when neither gives a whole date (a draft's blank one is none)."""
        found = _TAKES_EFFECT_RE.search(self.effective_sentence)
        if found and _FULL_DATE_RE.search(found.group()):
            return found.group()
        iso = _ISO_DATE_RE.fullmatch(self.effective_date.strip())
        return f"自{iso[1]}年{int(iso[2])}月{int(iso[3])}日起施行" if iso else ""

    @property
    def contact(self) -> str:
        """Whom to ask about what the text does not cover: the interpreting department, else the issuer."""
        return self.interpreter or self.issuer or ANY_DEPARTMENT

    # ---- Chinese phrases -----------------------------------------------------------------------------
    @property
    def notice(self) -> str:
        """The notice under every answer (its 提示 line)."""
        if not self.is_draft:
            return f"以《{self.title}》正式文本及配套操作规程为准。"
        blank = f"原文施行日期为空白（“{self.effective_clause}”），" if self.date_left_blank else ""
        return f"《{self.title}》为{self.status}，{blank}最终以正式发布的文本及配套操作规程为准。"

    @property
    def short_notice(self) -> str:
        """The notice a page shows once (under the chat, a clause, an export); empty for an issued text."""
        if not self.is_draft:
            return ""
        blank = f"施行日期在原文中为空白（“{self.date_text}”），" if self.date_left_blank else ""
        return f"本措施为{self.status}，{blank}以正式发布文本及操作规程为准。"

    @property
    def reply_note(self) -> str:
        """What a 标准答复 ends with."""
        draft = f"本措施为{self.status}，" if self.is_draft else ""
        return f"{draft}具体以正式文本和操作规程为准。"

    @property
    def reply_status(self) -> str:
        """Its status as a 标准答复 that cites it (not the primary measure alone) says it, by its name: a draft's
        ("《…》为征求意见稿"), else its status and when it takes effect ("《…》状态为试行，自2023年10月1日起施行");
        "" when its sidecar and text give neither."""
        if self.is_draft:
            return f"{self.name}为{self.status}"
        said = ([f"状态为{self.status}"] if self.status else []) + ([self.takes_effect] if self.takes_effect else [])
        return self.name + "，".join(said) if said else ""

    @property
    def hotline_note(self) -> str:
        """What a reply composed from a search hit (the lookup desk) ends with."""
        draft = f"该措施目前为{self.status}，" if self.is_draft else ""
        return f"{draft}具体以正式发布文本及操作规程为准。"

    @property
    def prevails_note(self) -> str:
        """The one-line notice the LLM must keep when an answer carries none."""
        if self.is_draft:
            return f"本措施为{self.status}，以正式发布文本为准。"
        return f"以《{self.title}》正式文本为准。"

    def status_answer(self) -> tuple[str, str]:
        """The answer to "is this the final text?": the paragraphs (before the notice) and the 标准答复."""
        quote = f"“{self.effective_sentence}”"
        if not self.is_draft:
            said = f"，原文写明：{quote}" if self.effective_sentence else ""
            text = f"《{self.title}》是{ISSUED}{said}。\n\n申报应以主管部门的年度申报指南、操作规程为准。"
            return text, f"该措施为{ISSUED}，具体以正式文本和操作规程为准。"
        if self.date_left_blank:
            text = f"《{self.title}》是{self.status}，不是正式施行的文件：原文的施行日期留空（{quote}）。"
            reply = f"该措施目前为{self.status}，施行日期尚未确定，请以正式发布文本为准。"
        else:
            said = f"（原文：{quote}）" if self.effective_sentence else ""
            text = f"《{self.title}》是{self.status}，不是正式施行的文件{said}。"
            reply = f"该措施目前为{self.status}，请以正式发布文本为准。"
        text += (f"\n\n{self.status}的内容在正式发布时可能调整，"
                 "申报应以正式发布的文本和主管部门的年度申报指南、操作规程为准。")
        return text, reply


@dataclass(frozen=True)
class IssuerAnswer:
    """What the documents asked about say of who issued them and their 文号: the paragraphs (before the notice), the
    标准答复, and whether any of it answers what was asked (a 文号 asked of documents without one is not answered)."""

    text: str
    reply: str
    answered: bool


@dataclass(frozen=True)
class IssuerFacts:
    """What one document asked about gives of its issuer and 文号: every decision of the answer, none of its words
    (``issuer_answer`` and ``document_facts_en.issuer_answer_en`` phrase the same records)."""

    facts: DocumentFacts
    number: str              # its 文号, "" when neither the text nor the sidecar gives one
    missing_number: bool     # a 文号 was asked and there is none
    answers: bool            # it gives something that was asked: a 文号, or the issuer when that was asked

    @property
    def number_in_text(self) -> bool:
        """The text itself writes the 文号 (the notice's heading); else only the registered metadata gives it."""
        return self.facts.number_in_text


def issuer_facts(documents: Sequence[DocumentFacts], asks_number: bool, asks_issuer: bool) -> list[IssuerFacts]:
    """One record per document asked about, in order."""
    records = []
    for facts in documents:
        number = facts.doc_number.strip()
        issuer = bool(facts.issuer)
        records.append(IssuerFacts(facts, number, missing_number=asks_number and not number,
                                   answers=bool(number) or (issuer and (asks_issuer or not asks_number))))
    return records


def issuer_answer(documents: Sequence[DocumentFacts], asks_number: bool, asks_issuer: bool) -> IssuerAnswer:
    """The answer to "这个通知是哪个部门发的、文号是多少", one line per document.

    Where a 文号 comes from is said: the text itself, or the document's registered metadata (its sidecar) when
    the text leaves it out — a hotline agent must know which one a caller can check.
    """
    lines: list[str] = []
    replies: list[str] = []
    records = issuer_facts(documents, asks_number, asks_issuer)
    for known in records:
        facts = known.facts
        issued = f"由{facts.issuer}印发" if facts.issuer else ""
        if known.number:
            where = "原文写明" if known.number_in_text else "据文件登记信息，原文未写明"
            said = "，".join(part for part in (issued, f"文号为{known.number}") if part)
            lines.append(f"《{facts.title}》{said}（{where}）。")
            replies.append(f"《{facts.title}》{said}。")
        elif known.missing_number:
            draft = "（征求意见稿尚未正式印发，没有正式文号）" if facts.is_draft else ""
            lines.append(f"《{facts.title}》的原文和文件登记信息都没有写明文号{draft}。"
                         + (f"发布单位（据文件登记信息）：{facts.issuer}。" if issued else ""))
            if known.answers:
                replies.append(f"《{facts.title}》{issued}，没有写明文号。")
        elif known.answers:
            lines.append(f"《{facts.title}》{issued}（据文件登记信息）。")
            replies.append(f"《{facts.title}》{issued}。")
    if not replies:
        missing = "".join(f"《{r.facts.title}》" for r in records if r.missing_number)
        return IssuerAnswer("\n".join(lines), missing + "没有写明文号，请向发布单位核实。", answered=False)
    return IssuerAnswer("\n".join(lines), "".join(replies), answered=True)


def reply_note_for(primary: DocumentFacts, cited: Sequence[DocumentFacts]) -> str:
    """What a 标准答复 citing these documents ends with: the primary measure's ``reply_note`` when it cites the primary
    alone (so those replies read as they always have), else each cited document's status once, in order, then what
    prevails.

    Args:
        primary: the primary measure's facts.
        cited: the facts of the documents the answer cites (repeats allowed).

    Returns:
        The tail, e.g. "《南山区数字经济和数字创意产业若干措施》状态为试行，自2023年10月1日起施行，具体以正式文本和操作规程为准。"
    """
    documents = list({facts.id: facts for facts in cited}.values())
    if all(facts.id == primary.id for facts in documents):
        return primary.reply_note
    said = [status for status in (facts.reply_status for facts in documents) if status]
    if not said:
        return "具体以正式文本和操作规程为准。"
    if len(said) == 1:
        return f"{said[0]}，具体以正式文本和操作规程为准。"
    return "；".join(said) + "；均以正式文本和操作规程为准。"


def effective_sentence(doc: CorpusDocument) -> str:
    """The sentence of the text that says when it takes effect (the last one, as final provisions come last)."""
    found = ""
    for section in doc.document.sections:
        for sentence in section.sentences:
            if _TAKES_EFFECT_RE.search(sentence.text):
                found = sentence.text
    return found.strip().rstrip("。；;")


def document_facts(doc: CorpusDocument) -> DocumentFacts:
    """A document's facts, from its metadata and its text.

    Args:
        doc: a parsed corpus document with its sidecar metadata.

    Returns:
        The facts answers state about it.
    """
    number = re.sub(r"\s+", "", doc.meta.doc_number)
    return record(DocumentFacts, vars(doc.meta), effective_sentence=effective_sentence(doc),
                  number_in_text=bool(number) and number in re.sub(r"\s+", "", doc.document.text))


@lru_cache(maxsize=1)
def bundled_facts() -> DocumentFacts:
    """The bundled measure's facts (from ``corpus/``): the default of renderers called without a knowledge base,
    as the bundled corpus is the default corpus. Code that has a knowledge base passes ``kb.facts``."""
    return document_facts(load_corpus()[0])
