"""Let the optional LLM phrase a deterministic answer, keeping it only if the guard finds nothing wrong.

On a guard violation, a timeout or an endpoint error the user gets the deterministic answer unchanged and
one warning event is logged (event name, violation codes, timing — never the API key or the prompt).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Set
from typing import Any, Protocol

from assistant.answer import Answer
from assistant.guard import check_generated
from indexing.document import Section
from indexing.section_ref import SectionRef

LOGGER = logging.getLogger("policy_assistant.llm")

EVENT_USED = "llm_phrased"
EVENT_REJECTED = "llm_guard_rejected"
EVENT_FAILED = "llm_call_failed"


class Phraser(Protocol):
    """What ``apply_llm`` needs: ``assistant.llm.LLMPhraser`` or a test fake."""

    def phrase(self, question: str, answer: Answer, sections: list[Section]) -> str: ...


def _log(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    payload = {"event": event, **fields}
    logger.log(level, json.dumps(payload, ensure_ascii=False), extra={"event": event, "fields": fields})


def with_notices(text: str, notices: list[str]) -> str:
    """The LLM text followed by every notice it did not already reproduce word for word."""
    missing = [n for n in notices if n and n not in text]
    return "\n\n".join([text.rstrip(), *missing]) if missing else text.rstrip()


def apply_llm(
    answer: Answer,
    sections: list[Section],
    retrieved: Set[SectionRef],
    phraser: Phraser,
    logger: logging.Logger | None = None,
) -> Answer:
    """Phrase ``answer`` with the LLM if the result passes the guard.

    Args:
        answer: the deterministic answer (its text, citations, caps and notices are the truth).
        sections: the retrieved sections (the LLM is shown the cited ones).
        retrieved: the retrieved sections (cited ones included), each of its own document.
        phraser: the LLM phraser.
        logger: where events go (``policy_assistant.llm`` by default).

    Returns:
        A copy with the LLM's text, notices appended and ``llm_used=True``; otherwise ``answer`` itself.
        Refusals, rejected inputs, clarifying questions and answers without citations are never phrased.
    """
    log = logger or LOGGER
    if answer.refused or answer.error or answer.clarify is not None or not answer.citations:
        return answer
    cited = {c.ref for c in answer.citations}
    started = time.monotonic()
    try:
        text = phraser.phrase(answer.question, answer, sections)
    except Exception as exc:  # noqa: BLE001 - any failure of the optional LLM falls back
        from assistant.llm import LLMError

        # LLMError messages are scrubbed of the API key; other exceptions are named by type only.
        reason, detail = (exc.kind, str(exc)[:200]) if isinstance(exc, LLMError) else (type(exc).__name__, "")
        _log(log, logging.WARNING, EVENT_FAILED, id=answer.id, reason=reason, detail=detail,
             elapsed_ms=round((time.monotonic() - started) * 1000))
        return answer
    elapsed_ms = round((time.monotonic() - started) * 1000)
    violations = check_generated(text, cited, set(retrieved), answer.caps)
    if violations:
        _log(log, logging.WARNING, EVENT_REJECTED, id=answer.id, codes=[v.code for v in violations],
             details=[v.detail for v in violations][:5], elapsed_ms=elapsed_ms)
        return answer
    _log(log, logging.INFO, EVENT_USED, id=answer.id, elapsed_ms=elapsed_ms)
    return dataclasses.replace(answer, text=with_notices(text, answer.notices), llm_used=True)
