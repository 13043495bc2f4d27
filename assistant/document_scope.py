"""One document's view of the assistant: ``search --doc``, ``ask --doc`` and ``"doc"`` in the API retrieve from it only."""

from __future__ import annotations

import copy
from typing import Any, Protocol, TypeVar

from assistant.knowledge import KnowledgeBase
from assistant.settings import AssistantConfig
from indexing.lru import LRUCache


class Scoped(Protocol):
    """What a document view changes of ``PolicyAssistant`` (named here, not imported: the service imports this)."""

    knowledge: KnowledgeBase
    config: AssistantConfig
    turn_cache: LRUCache[Any, Any]
    _only_doc: str


A = TypeVar("A", bound=Scoped)


def document_view(assistant: A, doc_id: str) -> A:
    """``assistant`` with retrieval restricted to one document (``PolicyAssistant.for_document``).

    The view shares the corpus, the index and the models; only the document filter passed down to the retriever
    (``RetrievalRequest.only_doc``) and the turn cache differ: a conversation decided over every document is not the
    same conversation decided over one.

    Raises:
        UnknownDocument: no such document (the message lists the ids there are).
    """
    assistant.knowledge.document(doc_id)
    view = copy.copy(assistant)
    view._only_doc = doc_id
    view.turn_cache = LRUCache(assistant.config.turn_cache_size)
    return view
