"""An assistant's status, for ``/api/health`` and the admin tab: readiness, the index's model and counts, problems."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.knowledge import KnowledgeBase
    from assistant.settings import AssistantConfig
    from indexing.config import IndexConfig


def assistant_health(knowledge: KnowledgeBase, config: AssistantConfig, *, ready: bool, llm: bool, index: Any,
                     index_config: IndexConfig | None, check_disk: bool = True) -> dict[str, Any]:
    """Status for /api/health and the admin tab; ``check_disk=False`` skips reading the index files (the
    server checks them itself, at most once a second, and answers refuse on what it finds)."""
    kb = knowledge
    data: dict[str, Any] = {
        "ready": ready,
        "retriever": config.retriever,
        "documents": len(kb.documents),
        "clauses": len(kb.primary.document.clauses),
        "caps": len(kb.caps.awards),
        "llm": llm,
        "rerank_model": config.rerank_model,
        "problems": [],
    }
    manifest = getattr(index, "manifest", None)
    if manifest is not None:
        counts: Any = getattr(manifest, "counts", {})
        data["model"] = getattr(manifest, "embed_model", "")
        data["built_at"] = getattr(manifest, "built_at", "")
        # Which build and which Chroma collection answer: ``serve`` processes scaled out over one Chroma server
        # report the same two (the server's address is not shown: /api/health is public).
        data["build_id"] = getattr(manifest, "build_id", "")
        chroma = getattr(manifest, "chroma", None)
        if chroma is not None:
            data["vector_store"] = {"kind": "server" if getattr(chroma, "url", None) else "embedded",
                                    "collection": getattr(chroma, "collection", "")}
        if dataclasses.is_dataclass(counts) and not isinstance(counts, type):
            data["counts"] = dataclasses.asdict(counts)
        else:
            data["counts"] = dict(counts or {})
    if index is not None and check_disk:
        from indexing.index_files import check_index

        index_dir = getattr(index, "index_dir", None)
        if index_config is not None:
            data["problems"] = check_index(index_config)
            data["ready"] = data["ready"] and not data["problems"]
        elif index_dir is None:
            data["problems"] = ["索引目录未知"]
    return data
