"""What English answers and pages say about the measure itself: the English twins of ``DocumentFacts``'s Chinese
phrases (the notice under every answer, the 标准答复 tails, the status answer).

Which wording a document gets — a draft whose effective date the text leaves blank, a dated draft, an issued text — is
decided by ``DocumentFacts`` (``is_draft``, ``date_left_blank``), as for the Chinese; the notices' words come from the
reviewed English table (``corpus/i18n/en.toml``), the rest is here. Nothing else writes these sentences in English.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.document_facts import DocumentFacts, IssuerAnswer, issuer_facts
from assistant.english_table import DocumentEnglish, EnglishTable, english_table

# How the status of a draft for comment (征求意见稿) reads when the English table gives no status of its own.
DRAFT_STATUS_EN = "a draft for comment"


@dataclass(frozen=True)
class EnglishFacts:
    """One document's facts (``facts``) with its entry of the English table (``doc``), and the English phrases built
    of them."""

    facts: DocumentFacts
    doc: DocumentEnglish
    table: EnglishTable

    @property
    def status(self) -> str:
        """The document's status in English when it is a draft (the table's words, else the usual translation)."""
        return self.doc.status or DRAFT_STATUS_EN

    @property
    def title(self) -> str:
        """The English title with the Chinese one (the Chinese alone when the table lacks it)."""
        return f"{self.doc.title} (《{self.facts.title}》)" if self.doc.title else f"《{self.facts.title}》"

    @property
    def notice(self) -> str:
        """The notice under every English answer: the draft's blank effective date, that it is a draft, or that the
        official text prevails (an issued text)."""
        facts, table = self.facts, self.table
        if not facts.is_draft:
            template = table.final_notice
        elif facts.date_left_blank:
            template = table.draft_notice
        else:
            template = table.dated_draft_notice or table.draft_notice
        english = f", “{self.doc.effective_clause}”" if self.doc.effective_clause else ""
        return template.format(title=facts.title, title_en=self.doc.title or facts.title, status=facts.status,
                               status_en=self.status, effective=f"“{facts.effective_clause}”{english}")

    @property
    def cited_notice(self) -> str:
        """The notice for a document an answer cites beside the primary one (``DocumentFacts.cited_notice``'s twin):
        its title, 文号 and status (a draft's in English, any other status as the document writes it)."""
        facts = self.facts
        number = f" ({facts.doc_number})" if facts.doc_number else ""
        if facts.is_draft:
            status = f" is {self.status} ({facts.status});"
        elif facts.status:
            status = f": status {facts.status};"
        else:
            status = ":"
        return f"{self.title}{number}{status} the official text and operating procedures prevail."

    @property
    def reply_note(self) -> str:
        """What an English 标准答复 ends with: the status (a draft only), then what prevails."""
        if self.facts.is_draft:
            return f" This measure is {self.status}; the official text and operating procedures prevail."
        return " The official text and operating procedures prevail."

    @property
    def reply_status(self) -> str:
        """Its status as an English 标准答复 that cites it (not the primary measure alone) says it
        (``DocumentFacts.reply_status``'s twin): "the 《…》 is a draft for comment", "the 《…》 has the status 试行 and
        is effective from 2023-10-01"; "" when its sidecar and text give neither."""
        facts = self.facts
        if facts.is_draft:
            return f"the {self.title} is {self.status}"
        said = ([f"has the status {facts.status}"] if facts.status else []) + (
            [f"is effective from {facts.effective_on}"] if facts.effective_on else [])
        return f"the {self.title} " + " and ".join(said) if said else ""

    @property
    def hotline_note(self) -> str:
        """What an English reply composed from a search hit (the lookup desk) ends with."""
        if self.facts.is_draft:
            return f" The measure is {self.status}; the officially issued text and operating procedures prevail."
        return " The officially issued text and operating procedures prevail."

    def status_answer(self) -> tuple[str, str]:
        """The answer to "is this the final text?" (before its notice) and its 标准答复."""
        facts = self.facts
        quote = f"“{facts.effective_sentence}”"
        if not facts.is_draft:
            said = f"; on when it takes effect the text says {quote}" if facts.effective_sentence else ""
            return (f"The {self.title} is the officially issued text{said}.\n\n"
                    "Applications follow the competent department's annual application guide and operating procedures.",
                    "The measure is officially issued; the official text and operating procedures prevail.")
        if facts.date_left_blank:
            why = f": the text leaves its effective date blank ({quote})"
            reply = f"The measure is {self.status}; its effective date is not set yet. The officially issued text prevails."
        else:
            why = f" ({quote})" if facts.effective_sentence else ""
            reply = f"The measure is {self.status}. The officially issued text prevails."
        return (f"The {self.title} is {self.status} ({facts.status}), not a measure in force{why}.\n\n"
                "A draft for comment may change when it is officially issued; applications follow the officially "
                "issued text and the competent department's annual application guide and operating procedures.", reply)


def issuer_answer_en(documents: Sequence[EnglishFacts], asks_number: bool, asks_issuer: bool) -> IssuerAnswer:
    """``document_facts.issuer_answer`` in English: the same records (``issuer_facts``) in other words — who issued
    each document and its document number (文号), saying whether the text itself writes the number or only the
    document's registered metadata."""
    lines: list[str] = []
    replies: list[str] = []
    records = issuer_facts([english.facts for english in documents], asks_number, asks_issuer)
    for english, record in zip(documents, records, strict=True):
        facts = record.facts
        issued = f"was issued by {facts.issuer}" if facts.issuer else ""
        if record.number:
            where = ("written in the text" if record.number_in_text
                     else "from the document's registered details; the text itself does not state it")
            said = (f"{issued}; its document number is {record.number}" if issued
                    else f"has the document number {record.number}")
            lines.append(f"The {english.title} {said} ({where}).")
            replies.append(f"The {english.title} {said}.")
        elif record.missing_number:
            lines.append(f"Neither the text nor the registered details of the {english.title} give a document number"
                         + (" (a draft for comment has no official number yet)" if facts.is_draft else "") + "."
                         + (f" Issuing department (registered details): {facts.issuer}." if issued else ""))
            if record.answers:
                replies.append(f"The {english.title} {issued}; no document number is given.")
        elif record.answers:
            lines.append(f"The {english.title} {issued} (registered details).")
            replies.append(f"The {english.title} {issued}.")
    if not replies:
        missing = ", ".join(english.title for english, record in zip(documents, records, strict=True)
                            if record.missing_number)
        return IssuerAnswer("\n".join(lines), f"No document number is given for the {missing}; please check "
                            "with the issuing department.", answered=False)
    return IssuerAnswer("\n".join(lines), " ".join(replies), answered=True)


def reply_note_for(primary: EnglishFacts, cited: Sequence[EnglishFacts]) -> str:
    """What an English 标准答复 citing these documents ends with (``document_facts.reply_note_for``'s twin): the primary
    measure's ``reply_note`` when it cites the primary alone, else each cited document's status once, then what
    prevails.

    Args:
        primary: the primary measure's English facts.
        cited: those of the documents the answer cites (repeats allowed).

    Returns:
        The tail, with its leading space, as ``reply_note``'s.
    """
    documents = list({english.facts.id: english for english in cited}.values())
    if all(english.facts.id == primary.facts.id for english in documents):
        return primary.reply_note
    said = [status for status in (english.reply_status for english in documents) if status]
    if not said:
        return " The official text and operating procedures prevail."
    texts = "text and operating procedures prevail" if len(said) == 1 else "texts and operating procedures prevail"
    joined = "; ".join(said)
    return f" {joined[0].upper()}{joined[1:]}; the official {texts}."


def english_facts(facts: DocumentFacts, table: EnglishTable | None = None) -> EnglishFacts:
    """A document's English facts.

    Args:
        facts: the document's facts (``KnowledgeBase.facts_of``).
        table: the English table (default: the bundled one, read once).

    Returns:
        The facts with the table's entry for the document (an empty entry when it has none: Chinese titles).
    """
    table = table or english_table()
    return EnglishFacts(facts, table.document(facts.id), table)
