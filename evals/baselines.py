"""Baselines: the assistant with one retriever or feature switched off, and a plain llama-index RAG.

The plain baseline is what one gets from the llama-index quick start: ``VectorStoreIndex`` over
fixed-size ``SentenceSplitter`` chunks of the raw measure text, embedded with the same embedder as the
real index, in memory. It composes no answer, so only its retrieval metrics are graded. Each retrieved
chunk is mapped back to the sections it overlaps by character offsets (largest overlap first), so its
ranked list has the same shape as the assistant's ``retrieved`` list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.answer import Answer, RankedSection
from evals import runner
from evals.metrics import EvalCase
from evals.runner import Asker, EvalRun, Progress, evaluate, known_amounts_of
from indexing.retrieval.hits import ClauseHit

VECTOR_BASELINE = "llama-index-vector"


@dataclass(frozen=True)
class Variant:
    """One configuration of the assistant to compare."""

    name: str
    retriever: str
    use_profiles: bool = True
    expand: bool = True
    rerank: bool = False

    @property
    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {"retriever": self.retriever, "use_profiles": self.use_profiles, "expand": self.expand}
        if self.rerank or _rerank_configured():
            settings["rerank"] = self.rerank  # with a cross-encoder configured, every other variant runs without it
        return settings


def _rerank_configured() -> bool:
    """Whether the assistant's configuration names a cross-encoder (``POLICY_ASSISTANT_RERANK_MODEL``)."""
    from assistant.service import AssistantConfig

    return bool(AssistantConfig().rerank_model)


ASSISTANT_VARIANTS: tuple[Variant, ...] = (
    Variant("bm25", "bm25"),
    Variant("dense", "dense"),
    Variant("hybrid", "hybrid"),
    Variant("hybrid-no-profiles", "hybrid", use_profiles=False),
    Variant("hybrid-no-expansion", "hybrid", expand=False),
)
# Measured only when a cross-encoder is configured (POLICY_ASSISTANT_RERANK_MODEL): none ships with the project.
RERANK_VARIANT = Variant("hybrid+rerank", "hybrid", rerank=True)


def assistant_variants() -> tuple[Variant, ...]:
    """The variants to compare in this environment (adds "+rerank" when a cross-encoder is configured)."""
    if _rerank_configured():
        return (*ASSISTANT_VARIANTS, RERANK_VARIANT)
    return ASSISTANT_VARIANTS


@dataclass(frozen=True)
class SectionSpan:
    """Where a section lies in its document's text."""

    key: str
    start: int
    end: int


def section_keys_for_span(spans: Sequence[SectionSpan], start: int, end: int) -> list[str]:
    """The sections a text span overlaps, largest overlap first (ties: document order).

    Args:
        spans: the sections of one document.
        start: span start (character offset into the same text).
        end: span end (exclusive).

    Returns:
        Section keys; empty when the span lies outside every section (e.g. the title line).
    """
    overlaps = []
    for order, span in enumerate(spans):
        overlap = min(end, span.end) - max(start, span.start)
        if overlap > 0:
            overlaps.append((-overlap, order, span.key))
    return [key for _, _, key in sorted(overlaps)]


class VectorBaseline:
    """A plain llama-index ``VectorStoreIndex`` retriever whose chunks map back to section keys."""

    def __init__(self, retriever: Any, spans: dict[str, list[SectionSpan]], primary: str) -> None:
        self._retriever = retriever
        self._spans = spans
        self._primary = primary

    @classmethod
    def build(
        cls,
        corpus_dir: Path | None = None,
        embed_model: Any = None,
        chunk_size: int = 256,
        chunk_overlap: int = 20,
        top_k: int = 50,
    ) -> VectorBaseline:
        """Chunk, embed and index the corpus in memory.

        Args:
            corpus_dir: the corpus folder (default: the configured one).
            embed_model: a llama-index embedding; default ``LlamaIndexEmbedding(make_embedder(<index model>))``,
                the embedder the real index uses.
            chunk_size: characters per chunk (the splitter counts characters, see below).
            chunk_overlap: characters shared by neighbouring chunks.
            top_k: chunks retrieved per question (all of them for this small corpus).

        Returns:
            The baseline, ready to ``ask``.
        """
        from llama_index.core import Document, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter

        from indexing.config import IndexConfig
        from indexing.corpus import load_corpus

        config = IndexConfig()
        documents = load_corpus(Path(corpus_dir) if corpus_dir else config.corpus_dir)
        if embed_model is None:
            from indexing.embedding import LlamaIndexEmbedding, make_embedder

            embed_model = LlamaIndexEmbedding(make_embedder(config.embed_model))
        # tokenizer=list counts characters: the default tiktoken tokenizer may try to download its
        # vocabulary, and GPT tokens are a poor unit for Chinese anyway.
        splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap, tokenizer=list)
        docs = [Document(text=d.document.text, id_=d.meta.id) for d in documents]
        nodes = splitter.get_nodes_from_documents(docs)
        index = VectorStoreIndex(nodes, embed_model=embed_model)
        spans = {
            d.meta.id: [SectionSpan(s.key, s.start, s.end) for s in d.document.sections] for d in documents
        }
        return cls(index.as_retriever(similarity_top_k=top_k), spans, documents[0].meta.id)

    def _key(self, doc_id: str, key: str) -> str:
        # Gold keys are bare for the primary measure; other documents' sections can never match them.
        return key if doc_id == self._primary else f"{doc_id}#{key}"

    def retrieve(self, query: str) -> list[RankedSection]:
        """Ranked sections for a query, as the assistant's ``retrieved`` list (a chunk's rank is its dense rank).

        The baseline answers without a knowledge base, so it is graded by key alone: its hits name no document, and
        another document's section is keyed ``<doc>#<key>`` so that it never matches a gold key of the primary.
        """
        ranked: list[RankedSection] = []
        seen: set[str] = set()
        for chunk_rank, hit in enumerate(self._retriever.retrieve(query), start=1):
            node = hit.node
            doc_id = node.ref_doc_id or self._primary
            start, end = node.start_char_idx, node.end_char_idx
            if start is None or end is None:
                continue
            for key in section_keys_for_span(self._spans.get(doc_id, []), start, end):
                section = self._key(doc_id, key)
                if section in seen:
                    continue
                seen.add(section)
                ranked.append(RankedSection(ClauseHit("", section, float(hit.score or 0.0), dense_rank=chunk_rank)))
        return ranked

    def ask(self, turns: list[str], id: str | None = None) -> Answer:
        """Retrieve for the conversation: all turns joined, since a plain index has no query rewriting.

        Returns:
            An answer that carries only the ranked ``retrieved`` list (no text, no citations; intent
            ``retrieval-only``).
        """
        import time

        started = time.perf_counter()
        query = "\n".join(turns)
        retrieved = self.retrieve(query)
        question = turns[-1] if turns else ""
        return Answer(question=question, rewritten_question=question, text="", id=id, intent="retrieval-only",
                      retrieved=retrieved, latency_ms=(time.perf_counter() - started) * 1000)


def run_baselines(
    cases: Sequence[EvalCase],
    *,
    variants: Iterable[Variant] | None = None,
    vector: bool = True,
    opener: Callable[..., Asker] | None = None,
    vector_factory: Callable[[], Asker] | None = None,
    progress: Callable[[str], Progress | None] | None = None,
    on_skip: Callable[[str, Exception], None] | None = None,
) -> list[EvalRun]:
    """Run every assistant variant and the plain vector baseline on the same cases.

    A variant that cannot be opened (no index, missing optional dependency) is skipped and reported to
    ``on_skip`` rather than ending the comparison.

    Args:
        cases: the questions.
        variants: assistant configurations.
        vector: also run the plain llama-index baseline.
        opener: opens the assistant with ``retriever=``, ``use_profiles=``, ``expand=``
            (default :func:`evals.runner.open_assistant`).
        vector_factory: builds the plain baseline (default :meth:`VectorBaseline.build`).
        progress: given a run label, returns a per-question progress callback.
        on_skip: called with (label, exception) for a run that could not start.

    Returns:
        One run per configuration that could start, in the order given, the plain baseline last.
    """
    opener = opener or runner.open_assistant
    vector_factory = vector_factory or VectorBaseline.build
    runs: list[EvalRun] = []
    for variant in assistant_variants() if variants is None else variants:
        try:
            assistant = opener(**variant.settings)
        except Exception as exc:  # noqa: BLE001 - a comparison reports what it could not run
            if on_skip is None:
                raise
            on_skip(variant.name, exc)
            continue
        runs.append(
            evaluate(assistant, cases, known_amounts_of(assistant), variant.name, settings=variant.settings,
                     progress=progress(variant.name) if progress else None)
        )
    if vector:
        try:
            baseline = vector_factory()
        except Exception as exc:  # noqa: BLE001
            if on_skip is None:
                raise
            on_skip(VECTOR_BASELINE, exc)
        else:
            runs.append(
                evaluate(baseline, cases, None, VECTOR_BASELINE, retrieval_only=True,
                         settings={"retriever": "llama-index VectorStoreIndex", "chunk_size": 256, "chunk_overlap": 20},
                         progress=progress(VECTOR_BASELINE) if progress else None)
            )
    return runs
