"""Opening the assistant: the built index, the corpus it was built from, retrieval and the optional parts.

``PolicyAssistant.open`` calls ``open_parts``. Each part can be injected (tests and benchmarks pass a fake embedder
or their own retriever) instead of being built here; a part that is not given is built from the settings
(``AssistantConfig``), which also say whether the optional ones (reranker, LLM phraser, learned models) exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.knowledge import KnowledgeBase
from assistant.settings import AssistantConfig
from indexing.config import IndexConfig

if TYPE_CHECKING:
    from assistant.learned import Understanding
    from assistant.llm_answer import Phraser
    from indexing.embedding import Embedder
    from indexing.index_files import LoadedIndex
    from indexing.retrieval.hybrid import HybridRetriever
    from indexing.retrieval.rerank import CrossEncoderReranker


@dataclass
class AssistantParts:
    """What an assistant is made of.

    Given to ``open_parts`` (``PolicyAssistant.open(parts=...)``), a part that is set is used as is and one left
    None is built. ``embedder`` is only used to open the index (its ``model_id`` must be the index's model); without
    it the index's model is loaded on the first dense search.
    """

    embedder: Embedder | None = None
    index: LoadedIndex | None = None
    knowledge: KnowledgeBase | None = None
    retriever: HybridRetriever | None = None
    reranker: CrossEncoderReranker | None = None
    phraser: Phraser | None = None
    understanding: Understanding | None = None


@dataclass(frozen=True)
class OpenedParts:
    """The parts of an opened assistant; an optional part is None when the settings leave it out."""

    index: LoadedIndex
    knowledge: KnowledgeBase
    retriever: HybridRetriever
    reranker: CrossEncoderReranker | None
    phraser: Phraser | None
    understanding: Understanding | None


def open_parts(index_config: IndexConfig, config: AssistantConfig, given: AssistantParts | None = None) -> OpenedParts:
    """The parts of an assistant over the built index: the given ones, and the others built from the settings.

    Args:
        index_config: where the index and the corpus are.
        config: the retriever mode, dense backend, reranker model, LLM and whether the learned models are used.
        given: parts to use instead of building them.

    Raises:
        IndexProblem: the index is not built, damaged, or not the configured model's (with a rebuild hint).
        ParseError: a corpus document cannot be parsed.
    """
    given = given or AssistantParts()
    index = given.index
    if index is None:
        from indexing.index_files import open_index

        index = open_index(index_config, embedder=given.embedder, dense_backend=config.dense_backend)
    knowledge = given.knowledge or load_effective_knowledge(index_config)
    retriever = given.retriever
    if retriever is None:
        from indexing.retrieval.hybrid import HybridRetriever

        retriever = HybridRetriever(index.chunks, index.bm25, index.dense, config.retriever, config.weights,
                                    config.use_profiles)
    reranker = given.reranker
    if reranker is None and config.rerank_model:
        from indexing.retrieval.rerank import CrossEncoderReranker

        reranker = CrossEncoderReranker(config.rerank_model, weight=config.rerank_weight)
    phraser = given.phraser
    if phraser is None and config.llm is not None:
        from assistant.llm import LLMPhraser

        llm = LLMPhraser(config.llm, knowledge.facts)
        # Import llama-index and open the connection now, so the first question's timeout is not spent on it.
        llm.warm()
        phraser = llm
    understanding = given.understanding
    if understanding is None and config.learned and index.dense is not None:
        from assistant.learned import load_default

        understanding = load_default(getattr(index.manifest, "embed_model", ""))
    return OpenedParts(index, knowledge, retriever, reranker, phraser, understanding)


def load_effective_knowledge(index_config: IndexConfig) -> KnowledgeBase:
    """The corpus the index was built from: the configured folder plus documents added with ``index --add``.

    Parsed here, once per open (a reopened index may come with added or edited documents).
    """
    from indexing.corpus_folders import load_effective_corpus
    from indexing.profiles import load_profiles

    return KnowledgeBase(load_effective_corpus(index_config), load_profiles(Path(index_config.corpus_dir)))
