"""What every tab of the page shares: the assistant holder, serve settings, feedback store and per-client limits.

A tab module receives one :class:`TabContext` and nothing else, so what it may touch is visible in its signature.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.document_facts import DocumentFacts, document_facts
from assistant.language import Lang
from assistant.question_text import BadInput
from ui import render
from ui.config import ServeConfig
from ui.holder import AssistantHolder, NotReady
from ui.messages import not_ready_message, say
from ui.ratelimit import ClientSlots, client_of

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Sequence

    import gradio as gr

    from assistant.knowledge import KnowledgeBase
    from ui.feedback import FeedbackStore
    from ui.render import Quoted

BUSY_MESSAGE = say("busy")

# What ``gr.update(...)`` returns: the properties of an output component to change (none: leave it as it is).
Update = dict[str, Any]


@dataclass(frozen=True)
class TabContext:
    """Shared state of one built page.

    Attributes:
        holder: the assistant (loading in the background, ready, or refusing while the index is damaged).
        config: serve settings (admin access, upload limit, streaming pace, per-client concurrency).
        feedback: where 👍/👎 and comments go.
        kb: the knowledge base as it was when the page was built (title and status facts, outline, cap table).
        slots: how many of one client's questions run at once (the rest are told to wait).
    """

    holder: AssistantHolder
    config: ServeConfig
    feedback: FeedbackStore
    kb: KnowledgeBase
    slots: ClientSlots = field(repr=False)

    @classmethod
    def create(cls, holder: AssistantHolder, config: ServeConfig, feedback: FeedbackStore) -> TabContext:
        return cls(holder, config, feedback, holder.knowledge, ClientSlots(config.client_concurrency))

    @property
    def title(self) -> str:
        return self.kb.primary.meta.title

    @property
    def facts(self) -> DocumentFacts:
        """The measure's title, status and effective date as the page states them (from its sidecar and text)."""
        return self.kb.facts

    def facts_of(self, doc: str | None) -> DocumentFacts:
        """The facts of a corpus document by id (the measure's for None or an unknown id)."""
        knowledge = self.holder.knowledge
        if not doc or doc == knowledge.primary.meta.id:
            return knowledge.facts
        try:
            return document_facts(knowledge.document(doc))
        except KeyError:
            return knowledge.facts

    @property
    def known_sections(self) -> list[str]:
        """Section keys of the primary document, so （十六） in an answer becomes a chip."""
        return [s.key for s in self.kb.primary.document.sections]

    def work(self, request: gr.Request | None, call: Callable[[Any], Any]) -> Any:
        """``holder.answer(call)`` for the client of ``request``.

        Raises:
            ClientBusy: the client already has ``client_concurrency`` questions in progress.
            NotReady: the assistant is loading or its index is damaged.
        """
        client = client_of(request)
        with self.slots.hold(client):
            return self.holder.answer(call, client)

    def assistant_or_warn(self, lang: Lang = "zh") -> Any | None:
        """The ready assistant, or None after showing the page a warning (in ``lang``) that says why not."""
        import gradio as gr

        try:
            return self.holder.get()
        except NotReady as exc:
            gr.Warning(not_ready_message(exc, lang))
            return None

    def clause_view(self, section: str, quotes: Sequence[Quoted], doc: str | None = None, lang: Lang = "zh") -> str:
        """One section's full text with ``quotes`` highlighted; ``doc`` picks another corpus document; ``lang`` is
        the conversation's (English labels and notice around the Chinese text for an English one)."""
        knowledge = self.holder.knowledge
        try:
            doc_id = doc if doc and doc != knowledge.primary.meta.id else None
            view = knowledge.section_view(knowledge.section(section, doc_id), doc_id)
        except KeyError:
            missing = "No such clause: " if lang == "en" else "没有找到条款："
            return f'<p class="pa-muted">{missing}{render.esc(section)}</p>'
        notice = None
        if lang == "en" and doc_id is None and knowledge.facts.is_draft:
            from assistant.document_facts_en import english_facts

            notice = english_facts(knowledge.facts).notice
        return render.clause_html(view, quotes=quotes, draft=True, facts=self.facts_of(doc_id), lang=lang,
                                  notice=notice)


def bad_input(exc: BaseException) -> bool:
    """Whether ``exc`` is the assistant's ``BadInput``: a question it will not take, with a Chinese message to show."""
    return isinstance(exc, BadInput)


def export_dir() -> Path:
    """A fresh folder in the system temp dir (Gradio serves returned files from there via its cache)."""
    return Path(tempfile.mkdtemp(prefix="policy-assistant-export-"))
