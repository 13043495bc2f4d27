"""The measure's status in English: the notice under every English answer, what a 标准答复 ends with, and the answer to
"is this the final text?" — from the document's facts (``assistant.document_facts``) and the English table."""

from __future__ import annotations

from assistant.english_table import DocumentEnglish, EnglishTable, english_table
from assistant.knowledge import KnowledgeBase

# How the status of a draft for comment (征求意见稿) reads when the English table gives no status of its own.
DRAFT_STATUS_EN = "a draft for comment"


def draft_notice_en(kb: KnowledgeBase, table: EnglishTable | None = None) -> str:
    """The notice in English: the draft's blank effective date, that it is a draft, or that the official text
    prevails (an issued text)."""
    table = table or english_table()
    facts = kb.facts
    doc = table.document(facts.id)
    if not facts.is_draft:
        template = table.final_notice
    elif facts.date_left_blank:
        template = table.draft_notice
    else:
        template = table.dated_draft_notice or table.draft_notice
    english = f", “{doc.effective_clause}”" if doc.effective_clause else ""
    return template.format(title=facts.title, title_en=doc.title or facts.title, status=facts.status,
                           status_en=status_en(doc), effective=f"“{facts.effective_clause}”{english}")


def status_en(doc: DocumentEnglish) -> str:
    """The document's status in English when it is a draft (the table's words, else the usual translation)."""
    return doc.status or DRAFT_STATUS_EN


def reply_note(kb: KnowledgeBase, doc: DocumentEnglish) -> str:
    """What an English 标准答复 ends with: the status (a draft only), then what prevails."""
    if kb.facts.is_draft:
        return f" This measure is {status_en(doc)}; the official text and operating procedures prevail."
    return " The official text and operating procedures prevail."


def status_answer(kb: KnowledgeBase, doc: DocumentEnglish, title: str) -> tuple[str, str]:
    """The answer to "is this the final text?" (before its notice) and its 标准答复; ``title``: the measure as named."""
    facts = kb.facts
    quote = f"“{facts.effective_sentence}”"
    if not facts.is_draft:
        said = f"; on when it takes effect the text says {quote}" if facts.effective_sentence else ""
        return (f"The {title} is the officially issued text{said}.\n\n"
                "Applications follow the competent department's annual application guide and operating procedures.",
                "The measure is officially issued; the official text and operating procedures prevail.")
    status = status_en(doc)
    if facts.date_left_blank:
        why = f": the text leaves its effective date blank ({quote})"
        reply = f"The measure is {status}; its effective date is not set yet. The officially issued text prevails."
    else:
        why = f" ({quote})" if facts.effective_sentence else ""
        reply = f"The measure is {status}. The officially issued text prevails."
    return (f"The {title} is {status} ({facts.status}), not a measure in force{why}.\n\n"
            "A draft for comment may change when it is officially issued; applications follow the officially "
            "issued text and the competent department's annual application guide and operating procedures.", reply)
