"""One document's view of the assistant: ``search --doc``, ``ask --doc`` and ``"doc"`` in the API retrieve from it only."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from indexing.lru import LRUCache

if TYPE_CHECKING:
    from assistant.service import PolicyAssistant


def document_view(assistant: PolicyAssistant, doc_id: str) -> PolicyAssistant:
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
