"""The assistant's settings: argument > ``POLICY_ASSISTANT_*`` variable > default, read here and nowhere else.

``AssistantConfig`` holds how questions are answered (ratios and thresholds tuned on the eval set's train split)
and where the assistant's parts come from (retriever mode, dense backend, reranker, learned models, LLM). The
index's own settings (home, corpus, embedding model, Chroma) are ``indexing.config.IndexConfig``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.limits import max_question_chars_setting, max_turns_setting
from assistant.scope import ScopeThresholds
from indexing.config import DENSE_BACKENDS, ENV_PREFIX, DenseBackend, cache_size_setting, env
from indexing.retrieval.fusion import FusionWeights
from indexing.retrieval.hits import DEFAULT_RETRIEVER_MODE, RetrieverMode, check_retriever_mode

if TYPE_CHECKING:
    from assistant.llm import LLMConfig

_OFF = ("off", "0", "false", "no")


def _llm_from_env() -> LLMConfig | None:
    from assistant.llm import LLMConfig

    return LLMConfig.from_env()


@dataclass
class AssistantConfig:
    """Answering behaviour and the assistant's parts.

    ``retriever``: ``POLICY_ASSISTANT_RETRIEVER``. ``dense_backend``: where question vectors are searched
    (``chroma``, ``memory`` or ``auto``: see ``indexing.index_files.open_index``; ``POLICY_ASSISTANT_DENSE_BACKEND``).
    ``rerank_model``: a cross-encoder over the hits (``POLICY_ASSISTANT_RERANK_MODEL``). ``learned``: the learned
    section and answerability models (``corpus/models/understanding.npz``, ``policy-assistant train``);
    ``POLICY_ASSISTANT_LEARNED=off`` answers with retrieval and the scope rules alone. ``llm``: the optional
    phrasing endpoint (``POLICY_ASSISTANT_LLM_*``; None: off). ``turn_cache_size``: conversations whose decisions
    are kept (``POLICY_ASSISTANT_CACHE_SIZE``, also the question-vector cache's size; 0 = off).
    """

    retriever: RetrieverMode = field(default_factory=lambda: env("RETRIEVER", DEFAULT_RETRIEVER_MODE))  # type: ignore[arg-type,return-value]
    use_profiles: bool = True
    expand: bool = True
    k: int = 8
    max_question_chars: int = field(default_factory=max_question_chars_setting)
    max_turns: int = field(default_factory=max_turns_setting)
    secondary_ratio: float = 0.8      # also cite sections scoring at least this share of the best
    max_citations: int = 3
    match_ratio: float = 0.9          # business descriptions: cite a second clause only when nearly as strong
    match_max: int = 2
    clarify_ratio: float = 0.85       # money question, top two this close and different caps → ask which one
    scope: ScopeThresholds = field(default_factory=ScopeThresholds)
    weights: FusionWeights = field(default_factory=FusionWeights)
    rerank_model: str | None = field(default_factory=lambda: env("RERANK_MODEL"))
    rerank_weight: float = 0.5
    learned: bool = field(default_factory=lambda: (env("LEARNED", "on") or "on").lower() not in _OFF)
    dense_backend: DenseBackend = field(default_factory=lambda: env("DENSE_BACKEND", "auto") or "auto")  # type: ignore[arg-type,return-value]
    llm: LLMConfig | None = field(default_factory=_llm_from_env)
    turn_cache_size: int = field(default_factory=cache_size_setting)

    def __post_init__(self) -> None:
        check_retriever_mode(self.retriever)
        if self.max_question_chars < 1 or self.max_turns < 1:
            raise ValueError("max_question_chars and max_turns must be positive")
        if self.turn_cache_size < 0:   # POLICY_ASSISTANT_CACHE_SIZE is clamped to 0 when read; an argument is not
            raise ValueError(f"turn_cache_size must be 0 (off) or more, not {self.turn_cache_size}")
        if self.dense_backend not in DENSE_BACKENDS:
            raise ValueError(f"{ENV_PREFIX}DENSE_BACKEND 须为 {'、'.join(DENSE_BACKENDS)} 之一，而不是 {self.dense_backend!r}")
