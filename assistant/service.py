"""The assistant facade used by the CLI, the web app, the HTTP API and the eval runner.

``PolicyAssistant.open()`` loads the corpus, the cap table and the index once (the parts are wired in
``assistant.opening``, which takes injected ones; the settings are ``assistant.settings.AssistantConfig``);
``ask(turns)`` answers the last turn of a conversation, resolving follow-ups against the earlier turns
deterministically.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assistant.answer import Answer, RankedSection
from assistant.award_shapes import asked_shapes
from assistant.clarify import clarify_between
from assistant.compose import Decision, ScoredSection, compose, decision_refs, hit_ref
from assistant.contact_sections import contacts_give_way, number_not_given
from assistant.coverage import WordCoverage, word_coverage
from assistant.detail import asked_detail, last_sentence, tiers_unstated, value_unstated
from assistant.document_choice import retrieval_leads
from assistant.document_names import districts
from assistant.document_scope import document_view
from assistant.knowledge import KnowledgeBase
from assistant.meta_section import asks_document_fact, meta_section
from assistant.other_district import asks_other_district
from assistant.query import PreviousTurn, QueryPlan, claimed_amounts, plan_query
from assistant.question_text import BadInput, check_turns, clean_question
from assistant.scope import out_of_scope_topic, too_far
from assistant.section_view import SearchHit, SearchResult
from assistant.settings import AssistantConfig
from assistant.spelling import Spelling
from assistant.text_only import TEXT_ONLY_SCOPE, document_topic, section_about
from indexing.config import IndexConfig
from indexing.lru import LRUCache
from indexing.materials import lister_for, lists_materials
from indexing.retrieval.hits import ClauseHit, RetrieverMode
from indexing.retrieval.hybrid import HybridRetriever, RetrievalRequest
from indexing.section_ref import SectionRef, is_clause_key
from indexing.tokenize_zh import fold

if TYPE_CHECKING:
    from assistant.opening import AssistantParts
    from indexing.config import DenseBackend

log = logging.getLogger("policy_assistant")

# Policy matching: a description's activity counts as answered when the answerability model gives "not answered" a
# probability under this (chosen on the m02 descriptions, evals/questions/match/README.md), and at most this many
# activities are tried, each retrieved alone, only when the whole description was judged outside the measure.
MATCH_ACTIVITY_CLEAR = 0.1
MATCH_FACETS = 6
_HOW_MUCH_RE = re.compile(r"多少|最多|最高|上限|封顶|额度|金额|几万")
# "分别补多少", "各能拿多少", "这两个": a question about several awards at once.
_SEVERAL_RE = re.compile(r"分别|各自|各能|各补|各给|各是|各有|两个|两项|两者|两条|几项|这几个|哪个(多|高)|哪个更")


# How many of the nearest sections of other documents are looked at for a topic the measure leaves to others.
_LEFT_TO_ANOTHER_SECTIONS = 3


@dataclass(frozen=True)
class _Retrieved:
    """A turn retrieved and measured: what the scope and answerability judgements read (``best`` is None when
    nothing was found)."""

    vectors: Any
    hits: list[ClauseHit]
    best: SectionRef | None = None
    topic: Any = None
    best_bm25: float = 0.0
    best_dense: float = 0.0
    far: bool = True


@dataclass(frozen=True)
class _Turn:
    plan: QueryPlan
    decision: Decision


def _lacking(decision: Decision, topic: Any = None) -> Decision:
    """``decision``'s sections hold the topic but not the detail asked: "the text does not say", with up to three of
    them as its context (``topic``: the out-of-scope topic the question touches, if any)."""
    nearest = [ScoredSection(ref, 1.0) for ref in decision_refs(decision)[:3]]
    return Decision([], refused=True, scope_topic=topic, nearest=nearest, hits=decision.hits, route=decision.route,
                    refusal_reason="lacks-detail")


class PolicyAssistant:
    """Answers questions about the corpus with citations and caps from the table."""
    _only_doc = ""   # retrieval restricted to this document: set on the view of ``for_document``
    for_document = document_view   # (doc_id) → this assistant retrieving from one document only

    def __init__(
        self,
        knowledge: KnowledgeBase,
        retriever: HybridRetriever | None,
        config: AssistantConfig | None = None,
        index: Any = None,
        phraser: Any = None,
        reranker: Any = None,
        understanding: Any = None,
    ) -> None:
        self.knowledge = knowledge
        self.understanding = understanding
        self.reranker = reranker
        self.retriever = retriever
        self.config = config or AssistantConfig()
        self.index = index
        self.phraser = phraser
        self._index_config: IndexConfig | None = None   # set by open(): lets status() check the index on disk
        self._max_clause = len(knowledge.primary.document.clauses)
        # Pinyin slips are repaired against the words the index counted (none without a BM25 channel).
        self._spelling = Spelling(getattr(getattr(retriever, "bm25", None), "chunk_counts", None) or dict)
        # Conversation prefix → its last turn's plan and decision. The web chat and the API resend the whole
        # conversation each time; the earlier turns were decided by the previous request, so they are not planned
        # and retrieved again (a 2-turn question cost 1.4–1.6× a single one). Decisions depend only on the turns
        # and this assistant's fixed index and settings; a reloaded index comes with a new assistant.
        # AssistantConfig.turn_cache_size (POLICY_ASSISTANT_CACHE_SIZE; 0 = off) bounds it.
        self.turn_cache: LRUCache[tuple[str, ...], _Turn] = LRUCache(self.config.turn_cache_size)

    # ---- construction ----------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        retriever: RetrieverMode | None = None,
        use_profiles: bool | None = None,
        expand: bool | None = None,
        index_config: IndexConfig | None = None,
        config: AssistantConfig | None = None,
        dense_backend: DenseBackend | None = None,
        rerank_model: str | None = None,
        parts: AssistantParts | None = None,
    ) -> PolicyAssistant:
        """Load the corpus and the built index (raises the index's errors with a rebuild hint).

        Args:
            retriever, use_profiles, expand, dense_backend, rerank_model: override ``config``'s (None: keep them).
            index_config: where the index and the corpus are (default: flags, environment, defaults).
            config: the settings (default: ``AssistantConfig()``, from the environment); not modified.
            parts: parts to use instead of building them (a fake embedder, a retriever…): see
                ``assistant.opening.AssistantParts``.
        """
        from assistant.opening import open_parts

        overrides = {"retriever": retriever, "use_profiles": use_profiles, "expand": expand,
                     "dense_backend": dense_backend, "rerank_model": rerank_model}
        given: dict[str, Any] = {name: value for name, value in overrides.items() if value is not None and value != ""}
        config = dataclasses.replace(config, **given) if config is not None else AssistantConfig(**given)
        index_config = index_config or IndexConfig()
        built = open_parts(index_config, config, parts)
        assistant = cls(built.knowledge, built.retriever, config, index=built.index,
                        phraser=built.phraser, reranker=built.reranker, understanding=built.understanding)
        assistant._index_config = index_config
        return assistant

    # ---- input -----------------------------------------------------------------------------------
    def validate_question(self, text: object) -> str:
        """Check and clean one user turn.

        Raises:
            BadInput: for non-text, empty, over-long or junk input (message in Chinese).
        """
        return clean_question(text, self.config.max_question_chars)

    def validate_turns(self, turns: object) -> list[str]:
        if isinstance(turns, str):
            turns = [turns]
        if not isinstance(turns, list) or not turns:
            raise BadInput("turns 必须是非空的文本列表。")
        return check_turns(turns, self.config.max_question_chars, self.config.max_turns)

    # ---- answering -------------------------------------------------------------------------------
    def _retrieve(self, plan: QueryPlan, k: int | None = None, for_search: bool = False,
                  vectors: Any = None) -> list[ClauseHit]:
        if self.retriever is None:
            return []
        if vectors is None:
            vectors = self._question_vectors(plan)
        primary = self.knowledge.primary.meta.id
        # A question naming documents is answered from them: retrieval ranks every document's sections and keeps
        # only theirs.
        named = tuple(dict.fromkeys(plan.documents)) if not for_search else ()
        request = RetrievalRequest(
            text=plan.search_text,
            expansion=plan.expansion if self.config.expand else (),
            facets=plan.facets,
            # The conversation's sections of every document: a follow-up about another document's clause leans on
            # that clause as one about the measure's does (the learned prior below knows the measure's only).
            carried=[*plan.carried_keys(primary), *(r for r in plan.carried_sections if r.doc_id not in ("", primary))],
            k=k or self.config.k,
            docs=named,
            prior=self._prior(vectors, plan.carried_keys(self.knowledge.primary.meta.id)),
            doc_id=self.knowledge.primary.meta.id,   # the document the model's and the carried keys name
            only_doc=self._only_doc,
            vectors=dict(zip(vectors.texts, vectors.vectors, strict=True)) if vectors is not None else {},
        )
        hits = self.retriever.retrieve(request)
        if named:   # an injected retriever may not know ``docs``
            hits = [h for h in hits if (h.doc_id or primary) in named][: k or self.config.k]
        if self.knowledge.several_documents:   # one document: nothing to lead (the bundled measure's hot path)
            # The shapes a claim presumes ("是一次性给100万吧") are what it asks to check, not what it asks for.
            shapes = () if claimed_amounts(last_sentence(plan.normalized)) else asked_shapes(plan.normalized)
            hits = retrieval_leads(hits, plan.search_text, self.knowledge, shapes)
            hits = contacts_give_way(hits, plan.normalized, self.knowledge)
        if self.reranker is not None and hits:
            hits = self.reranker.rerank(plan.search_text, hits, lambda h: self.knowledge.section(hit_ref(h, self.knowledge)).text)
        return hits

    def _question_vectors(self, plan: QueryPlan) -> Any:
        """The question's and its facets' vectors (one embedding call) and section probabilities, as a ``QuestionReading``
        for the dense search and the learned parts alike (None without a dense channel)."""
        if self.retriever is None or self.retriever.mode == "bm25":
            return None
        embedder = getattr(getattr(self.retriever, "dense", None), "embedder", None)
        if embedder is None or not plan.search_text.strip():
            return None
        from assistant.learned import QuestionReading

        texts = [plan.search_text, *[f for f in plan.facets if f.strip()]]
        vectors = embedder.embed_queries(texts)
        if self.understanding is None:
            return QuestionReading(tuple(texts), vectors)
        return self.understanding.read(vectors, texts)

    def _prior(self, reading: Any, carried: Sequence[str] = ()) -> dict[str, float]:
        """The learned bonus per section, the conversation's sections included (empty without the model)."""
        if self.understanding is None or reading is None:
            return {}
        return self.understanding.prior_of(reading, carried)

    def _not_answered(self, plan: QueryPlan, found: _Retrieved, rule_route: bool = False) -> bool | None:
        """The answerability model's verdict (True: the documents do not answer this), or None without the model;
        the threshold is the question's language's. A section of a document without models of its own is judged by
        the document answerability model (``_document_not_answered``)."""
        if found.best is not None and not self._has_models(found.best):
            return self._document_not_answered(plan, found, rule_route)
        probability = self._not_answered_probability(plan, found, rule_route)
        if probability is None or self.understanding is None:
            return None
        return probability >= self.understanding.threshold_for(plan.lang)

    def _not_answered_probability(self, plan: QueryPlan, found: _Retrieved, rule_route: bool = False) -> float | None:
        """The answerability model's probability that the documents do not answer this (None: no model, or the best
        section is another document's)."""
        best_section = found.best
        if best_section is None or not self._measure_can_judge(found):
            return None
        if self.knowledge.qualified(best_section).doc_id != self.knowledge.primary.meta.id:
            # The model learned the bundled measure's questions and sections: another document's best section is
            # judged by the rules (topic lexicon, score thresholds).
            return None
        kb = self.knowledge
        # The best section's own text, of its own document (``coverage_in`` reads the primary measure's by key).
        section_text = kb.section(best_section).text if kb.has_section(best_section) else ""
        return self._measure_judgement(plan, found, rule_route, word_coverage(plan.search_text, section_text,
                                                                               kb.documents_text))

    def _measure_can_judge(self, found: _Retrieved) -> bool:
        """Whether the measure's answerability model can judge ``found``: the model and the question's reading exist."""
        model, reading = self.understanding, found.vectors
        return (model is not None and model.answerability is not None and reading is not None
                and reading.probabilities is not None)

    def _measure_judgement(self, plan: QueryPlan, found: _Retrieved, rule_route: bool,
                           coverage: WordCoverage) -> float | None:
        """The measure's answerability model's probability for ``found``'s best section, its words' ``coverage``
        reckoned against the text the caller judges it by (the callers have checked ``_measure_can_judge``)."""
        from assistant.learned import retrieval_figures

        model, reading = self.understanding, found.vectors
        assert model is not None and reading is not None and reading.probabilities is not None
        figures = retrieval_figures(found.best_bm25, found.best_dense, found.topic is not None, found.far,
                                    reading.probabilities[0], rule_route, coverage.figures())
        return model.not_answered(reading.vectors[0], figures, plan.search_text)

    def _document_not_answered(self, plan: QueryPlan, found: _Retrieved, rule_route: bool = False) -> bool | None:
        """For a section of a document without models of its own: True when the document answerability model
        (``assistant.document_answerability``) says the document does not answer; None leaves it to the rules for
        text alone. The measure's model judges the section too, as one of that model's figures."""
        model, reading, best = self.understanding, found.vectors, found.best
        if best is None or not self._measure_can_judge(found):
            return None
        assert model is not None and reading is not None
        from assistant.document_answerability import DocumentFeatures, document_figures, judge, load_document_model

        kb = self.knowledge
        ref = kb.qualified(best)
        coverage = word_coverage(plan.search_text, kb.section(ref).text, kb.document_text(ref.doc_id))
        measure = self._measure_judgement(plan, found, rule_route, coverage)
        if measure is None:
            return None
        features = DocumentFeatures(reading.vectors[0], document_figures(
            measure, coverage, found.best_bm25, found.best_dense, rule_route, plan.lang == "en"))
        return judge(features, load_document_model(model.embed_model), section_named=rule_route)

    def _activity_answered(self, facet: str) -> bool:
        """Whether one activity of a description ("运营数字创意孵化器"), retrieved alone, is clearly answered by the
        measure: the answerability model's probability of "not answered" under ``MATCH_ACTIVITY_CLEAR``."""
        if not facet.strip():
            return False
        from assistant.query import split_facets

        plan = self._plan(facet)
        plan.intent = "match"
        plan.facets = split_facets(plan.search_text)
        probability = self._not_answered_probability(plan, self._retrieved(plan))
        return probability is not None and probability < MATCH_ACTIVITY_CLEAR

    def _retrieved(self, plan: QueryPlan, searched: tuple[Any, list[ClauseHit]] | None = None) -> _Retrieved:
        """Retrieve a turn (without the sections it excludes) and measure its best hit for the scope judgements
        (``searched``: the turn's vectors and hits when a route already retrieved it)."""
        kb = self.knowledge
        vectors, hits = searched if searched is not None else (None, None)
        if hits is None:
            vectors = self._question_vectors(plan)
            hits = self._retrieve(plan, vectors=vectors)
        hits = [h for h in hits if hit_ref(h, kb) not in plan.excluded_sections]
        if not hits:
            return _Retrieved(vectors, hits)
        found = self._measured(plan, vectors, hits, hit_ref(hits[0], kb))
        return self._left_to_another(plan, found) or found

    def _left_to_another(self, plan: QueryPlan, found: _Retrieved) -> _Retrieved | None:
        """A topic the bundled measure leaves to others ("申报材料以年度申报指南为准") asked of an index holding such an
        other, a document that implements the measure (links to it: the annual 申报通知): answered from its section.

        Only a turn that names no document, and only a section among the three nearest of those documents that is about
        the topic (``section_about``): "孵化器方向要交什么材料" goes to 三（二）分类材料, not to the item itself. Any other
        document (a district's guide, another measure) is no such other: "宝安区有没有类似的资金？什么时候申报？" is
        not answered from a Guangming guide's 申报时间.
        """
        kb = self.knowledge
        if (found.topic is None or found.best is None or not self._has_models(found.best)
                or not kb.several_documents or plan.documents):
            return None
        others = [h for h in found.hits if kb.qualified(hit_ref(h, kb)).doc_id in kb.implementing_primary]
        # The nearest may be about it by a term the question used in its text; the next ones only by their heading (a
        # district measure's definitions write 企业所得税 without being about tax relief).
        about = next((h for n, h in enumerate(others[:_LEFT_TO_ANOTHER_SECTIONS])
                      if section_about(found.topic, plan.normalized, kb.section(kb.qualified(hit_ref(h, kb))),
                                       by_text=n == 0)), None)
        if about is None:
            return None
        others = [about] + [h for h in others if h is not about]
        other = self._measured(plan, found.vectors, others, hit_ref(about, kb))
        # The section is about the topic: the looser whole-document reading of ``_topic`` has nothing to add.
        return None if other.far else dataclasses.replace(other, topic=None)

    def _measured(self, plan: QueryPlan, vectors: Any, hits: list[ClauseHit], best: SectionRef) -> _Retrieved:
        """``hits`` measured for the scope and answerability judgements, with ``best`` the section answered from."""
        best_bm25, best_dense, far = self._scope_figures(hits, best)
        if far and plan.followup and not self._has_models(best) and self._carried(plan, best):
            # "那要是材料不齐呢？" after an answer from a document's 第三十条 finds that article again, but its few
            # words score under the thresholds for text alone: the conversation, not the words, makes it near. (The
            # bundled measure's follow-ups are judged by its learned model, whose inputs stay as they were.)
            far = False
        return _Retrieved(vectors, hits, best, self._topic(plan.normalized, best), best_bm25, best_dense, far)

    def _carried(self, plan: QueryPlan, ref: SectionRef) -> bool:
        """Whether ``ref`` is one of the sections the previous answer gave (the follow-up's context)."""
        return ref.key in plan.carried_keys(self.knowledge.qualified(ref).doc_id)

    def _scope_figures(self, hits: list[ClauseHit], best: SectionRef) -> tuple[float, float, bool]:
        """The best raw BM25 and dense scores among ``hits`` and whether both are under the scope thresholds: the
        measure's, or those for text alone when the best section is a document's without models of its own.

        A single-channel retriever has no score for the other channel: it stands in at the threshold when its own
        channel passes, so that "too far" is judged on the channel there is.
        """
        scope = self.config.scope if self._has_models(best) else TEXT_ONLY_SCOPE
        best_bm25 = max(h.bm25_score for h in hits)
        best_dense = max(h.dense_score for h in hits)
        if self.retriever is not None and self.retriever.mode == "bm25":
            best_dense = 1.0 if best_bm25 >= scope.bm25 else 0.0
        elif self.retriever is not None and self.retriever.mode == "dense":
            best_bm25 = scope.bm25 if best_dense >= scope.dense else 0.0
        return best_bm25, best_dense, too_far(best_bm25, best_dense, scope)

    def _has_models(self, ref: SectionRef) -> bool:
        """Whether a section's document has the profiles, topic list and learned model (the bundled measure's):
        another document's sections are judged by the rules for text alone (``assistant.text_only``)."""
        return self.knowledge.qualified(ref).doc_id == self.knowledge.primary.meta.id

    def _unless_lacking(self, plan: QueryPlan, decision: Decision, vectors: Any) -> Decision:
        """A section chosen by a rule (a clause number, the clause in focus, the measure itself) is the right place,
        but the question may ask a detail it does not hold ("第九条的申报截止时间", "这两条能叠加吗"): the learned
        answerability model decides, and the chosen section becomes the context of "the text does not say"."""
        if not decision.sections or not decision.hits:
            return decision
        found = self._measured(plan, vectors, decision.hits, decision.sections[0].ref)
        if not self._not_answered(plan, found, rule_route=True):
            return decision
        return _lacking(decision, found.topic)

    def _topic(self, question: str, best: SectionRef) -> Any:
        """The out-of-scope topic a question is about; when the best section is another document's, one that document
        does not cover: the topic list says what the bundled measure leaves to others, and another document may be one."""
        if self._has_models(best):
            return out_of_scope_topic(question)
        ref = self.knowledge.qualified(best)
        return document_topic(question, self.knowledge.section(ref).text, self.knowledge.document(ref.doc_id))

    def _meta_section(self, plan: QueryPlan, hits: Sequence[ClauseHit] = ()) -> SectionRef | None:
        """The section a question about a document itself answers from (``assistant.meta_section``)."""
        return meta_section(self.knowledge, plan, hits)

    def _plan(self, text: str, previous: PreviousTurn | None = None) -> QueryPlan:
        """Understand one turn, its pinyin slips repaired (``assistant.spelling``: the answer echoes the turn as typed,
        its rewritten question the repair); its clause numbers name the clauses of the document it names, else the
        primary's."""
        from assistant.document_names import plan_documents

        kb = self.knowledge
        spelled = self._spelled(text)
        plan = plan_query(spelled, previous, self._max_clause, doc_id=kb.primary.meta.id)
        if kb.several_documents:
            plan = plan_documents(plan, spelled, previous, kb.documents, kb.names, self._only_doc)
        plan.original = text
        return plan

    def _spelled(self, text: str) -> str:
        """``text`` with its pinyin slips repaired (folded, as planning reads it), or as typed when it has none."""
        folded = fold(text)
        repaired = self._spelling.repair(folded)
        return text if repaired == folded else repaired

    def _decide(self, plan: QueryPlan, describing: bool = False) -> Decision:
        """The sections a turn is answered from, or a refusal (``describing``: policy matching's description)."""
        kb = self.knowledge
        if plan.forced_sections:
            forced = [ScoredSection(ref, 1.0) for ref in plan.forced_sections if kb.has_section(ref)]
            vectors = self._question_vectors(plan)
            hits = self._retrieve(plan, vectors=vectors) if self.retriever else []
            route = "reference" if plan.clause_refs else "followup"
            forced = self._materials_where_listed(plan, forced)
            return self._unless_lacking(plan, Decision(forced, hits=hits, route=route), vectors)
        if plan.intent == "meta-issuer":
            return self._issuer_decision(plan)
        meta = self._meta_section(plan)
        searched: tuple[Any, list[ClauseHit]] | None = None   # the meta route's search, when it declines
        asks_fact = asks_document_fact(plan)
        if meta is None and asks_fact and plan.documents and plan.documents[0] != kb.primary.meta.id:
            # "这个申报通知的有效期是几年": a named document that nowhere writes 有效期 (施行, 负责解释) does not say it;
            # retrieval would answer from whatever section is nearest (the notice's deadline for submissions).
            hits = self._retrieve(plan)
            nearest = [ScoredSection(hit_ref(h, kb), h.score) for h in hits[:3]]
            return Decision([], refused=True, nearest=nearest, hits=hits, route="meta", refusal_reason="lacks-detail")
        if meta is not None:
            vectors = self._question_vectors(plan)
            hits = self._retrieve(plan, vectors=vectors)
            decision = Decision([ScoredSection(self._meta_section(plan, hits) or meta, 1.0)], hits=hits, route="meta")
            decision = self._unless_lacking(plan, decision, vectors)
            # "这个办法到期以后会延续吗" of another document: the question names its term of validity but asks what
            # the topic list leaves to others (what comes after it); unless the section itself speaks of it, the text
            # does not say. Not of the bundled measure, whose meta answers its learned model checks (its writers asked
            # such questions) and whose topic list would read "解释权归谁" as a question of ownership.
            first = decision.sections[0].ref if decision.sections and not decision.refused else None
            if first is not None and not self._has_models(first) and (
                    topic := self._topic(plan.normalized, first)) is not None:
                decision = _lacking(decision, topic)
            # "施行前已受理、没审完的按哪个规定": the measure's own 施行 clause does not say, and a question naming no
            # document may be answered by another indexed document's article (a 办法's transitional provision):
            # searched in every document, as a question of no intent is. Not one asking a term or start date
            # itself ("这份指南有效期多久"): another document's is no answer to it.
            if not (decision.refused and kb.several_documents and not plan.documents and not asks_fact):
                return decision
            searched = (vectors, hits)
        if plan.intent == "meta-status":
            return Decision([], hits=[], route="meta")
        if plan.intent in ("general", "largest") and not plan.carried_sections:
            # "单个企业每年最多拿多少" of a document that limits the sum of a company's awards: that limit. (In a
            # conversation, "单个企业每年的上限" is the award just answered's.)
            from assistant.document_routes import overall_decision

            overall = overall_decision(kb, plan)
            if overall is not None:
                plan.intent = "general"
                return overall
        if plan.intent in ("largest", "amount-list"):
            # From the cap table of the document the question names (or answers are kept to), else the measure's —
            # unless "the most" is asked of a topic of the question's own (``asks_own_topic``): that topic's cap.
            from assistant.document_routes import amount_list_decision, asks_own_topic, largest_decision

            if plan.intent == "amount-list" or not asks_own_topic(kb, plan):
                return (largest_decision if plan.intent == "largest" else amount_list_decision)(kb, plan)
            plan.intent = "general"
        found = self._retrieved(plan, searched)
        hits = found.hits
        nearest = [ScoredSection(hit_ref(h, kb), h.score) for h in hits[:3]]
        if found.best is None:
            return Decision([], refused=True, scope_topic=out_of_scope_topic(plan.normalized), nearest=[], hits=hits)
        best, best_ref = hits[0], found.best
        topic, far = found.topic, found.far
        # Learned when the model is there: the lexicon's topics and the score thresholds are two of its inputs, so a
        # topic word used in passing no longer declines a question the text answers, and a question the nearest
        # clause only mentions is declined although its words match.
        # Policy matching (``match()``) reads a description: the business is outside the measure only when the whole
        # is judged so and none of its activities alone is clearly answered. The model learned stacking questions
        # ("能同时享受吗"), and a description's "同时" only joins activities ("运营数字创意孵化器，同时建设直播基地").
        verdict = self._not_answered(plan, found)
        if verdict and describing and any(self._activity_answered(facet) for facet in plan.facets[:MATCH_FACETS]):
            verdict = False
        if verdict is None:
            verdict = topic is not None or far
        if verdict:
            # Without the model a refusal always has a topic or is too far; "lacks-detail" is the model's alone, and
            # for a description ("business-outside") it means the business, not a detail, is outside the measure.
            model_reason = "business-outside" if describing else "lacks-detail"
            reason = f"topic:{topic.name}" if topic is not None else "too-far" if far else model_reason
            return Decision([], refused=True, scope_topic=topic, nearest=nearest, hits=hits, refusal_reason=reason)
        is_match = plan.intent == "match"
        ratio = self.config.match_ratio if is_match else self.config.secondary_ratio
        limit = self.config.match_max if is_match else self.config.max_citations
        # The first section is the best by retrieval and the learned prior together; others are cited beside it when
        # retrieval alone found them nearly as strong (the prior is peaked: compared with it, every second clause
        # of a description touching two would look weak).
        top_retrieval = max(h.retrieval_score for h in hits)
        chosen = [ScoredSection(best_ref, best.score)] + [
            ScoredSection(hit_ref(h, kb), h.score) for h in hits[1:] if h.retrieval_score >= ratio * top_retrieval
        ][: limit - 1]
        clarify = None
        # Two candidates close by retrieval that pay differently: ask which one fits (the best-effort answer cites
        # both). Closeness is retrieval's alone, like second citations: the peaked prior widens every gap. So the
        # candidate beside the best is the runner-up *by retrieval*, not the second by the combined score: the
        # prior reorders the rest, and a clause retrieval found nearly as strong could sit third.
        runner_up = max(hits[1:], key=lambda h: h.retrieval_score, default=None)
        if ((plan.money or plan.claimed_amounts) and runner_up is not None
                and runner_up.retrieval_score >= self.config.clarify_ratio * max(best.retrieval_score, 1e-9)):
            second = hit_ref(runner_up, kb)
            clarify = clarify_between(kb, best_ref, second)
            if clarify is not None and all(ref != second for ref, _ in chosen):
                # The question offers both: the best-effort answer shows both, with their caps.
                chosen.append(ScoredSection(second, runner_up.score))
        chosen = self._materials_where_listed(plan, chosen)
        return Decision(chosen, hits=hits, clarify=clarify, route="match" if is_match else "retrieval")

    def _materials_where_listed(self, plan: QueryPlan, sections: list[ScoredSection]) -> list[ScoredSection]:
        """The materials for an item, asked of an item that lists none, are where its document lists them for it.

        "那申请这个要额外交什么材料？" after the notice's 一（五）: its text names no material; 三（二）分类材料 lists
        them for "申报第（二）项、第（五）项方向的". "这个方向除了通用材料还要交什么" after a guide's 纪录片 award: its
        "（五）纪录片方向，另须提交：". The list for it (``indexing.materials.lister_for``: the one referring to it, else
        the one sharing the rarest words of its title, else the only one) goes first; the item stays cited beside it.
        """
        if not sections or asked_detail(plan.normalized) != "prepare":
            return sections
        kb = self.knowledge
        ref = kb.qualified(sections[0].ref)
        focus = kb.section(ref)
        if lists_materials(focus):
            return sections
        lister = lister_for(kb.document(ref.doc_id).document, focus, kb.referred_by(ref.doc_id).get(focus.key, ()))
        if lister is None:
            return sections
        first = ScoredSection(SectionRef.parse(lister.key, ref.doc_id), sections[0].score)
        return [first] + [s for s in sections if kb.qualified(s.ref) != first.ref]

    def _issuer_decision(self, plan: QueryPlan) -> Decision:
        """Who issued a document and its 文号: from the document's sidecar, and whether its text writes the 文号; no
        section cited (the heading is not one). The documents asked: those named, else every indexed document (the
        primary alone when it is the only one); declined ("lacks-detail") when none gives what was asked."""
        from assistant.document_facts import issuer_facts
        from assistant.query import asked_issuer_facts

        kb = self.knowledge
        ids = tuple(dict.fromkeys(plan.documents)) or tuple(d.meta.id for d in kb.documents)
        records = issuer_facts([kb.facts_of(d) for d in ids], *asked_issuer_facts(plan.normalized))
        answered = any(record.answers for record in records)
        return Decision([], refused=not answered, route="meta", refusal_reason="" if answered else "lacks-detail",
                        documents=ids)

    def _route(self, plan: QueryPlan) -> Decision:
        """Deterministic routes first (the measure's structure, several awards in one question), then ``_decide``;
        then the articles of indexed documents the cited clauses defer to (none when retrieval is kept to one document)."""
        from assistant.linked_articles import attach_linked_articles

        decision = self._structure_decision(plan) or self._awards_decision(plan) or self._decide(plan)
        decision = self._unless_stated(plan, decision)
        retriever = None if self._only_doc else self.retriever
        return attach_linked_articles(self.knowledge, retriever, plan.search_text, decision)

    def _unless_stated(self, plan: QueryPlan, decision: Decision) -> Decision:
        """The detail asked is one the cited sections do not state: "the text does not say", with the sections as the
        context of that answer. Three kinds, each read on the cited sections' text:

        - tiers: "每一档分别是多少钱" of a section that names tiers and one ceiling ("分档次给予最高200万元资助")
          (``assistant.detail.tiers_unstated``, on the first section; not for the structure route, which lists parts);
        - a value the section names without a figure: "市场指导租金是多少钱一平" of "超过同区域市场指导租金的，按市场
          指导租金计算" (``assistant.detail.value_unstated``, on the first section; not for the structure route);
        - a number: "南山区主管部门的电话" answered from sections none of which gives that number (another body's, or
          none) (``assistant.contact_sections.number_not_given``, on every section);
        - another district: "福田区对新落户企业的奖励标准是多少" answered from a measure of another district
          (``assistant.other_district``, on the first section's document; only when several documents are indexed).
        """
        if decision.refused or not decision.sections:
            return decision
        kb = self.knowledge
        refs = [kb.qualified(s.ref) for s in decision.sections]
        question = plan.normalized
        first = kb.section(refs[0]).text
        if decision.route != "structure" and (tiers_unstated(question, first) or value_unstated(question, first)):
            return _lacking(decision)
        if all(number_not_given(question, kb.section(ref).text, districts(kb.document(ref.doc_id))) for ref in refs):
            return _lacking(decision)
        if kb.several_documents and asks_other_district(question, districts(kb.document(refs[0].doc_id))):
            return _lacking(decision)
        return decision

    def _structure_decision(self, plan: QueryPlan) -> Decision | None:
        """"第八部分讲什么", "附则有几条", "哪一部分讲出口", "一共几部分": the parts and their clauses of the document
        asked about, from the parser (``assistant.document_routes.structure_decision``)."""
        if plan.intent != "structure":
            return None
        from assistant.document_routes import structure_decision

        return structure_decision(self.knowledge, plan, self._topic_search)

    def _topic_search(self, topic: str, doc_id: str) -> list[ClauseHit]:
        """The sections retrieval finds for a topic ("讲出口的部分"), of one document when several are indexed."""
        plan = self._plan(topic)
        if self.knowledge.several_documents:
            plan.documents = [doc_id]
        return self._retrieve(plan)

    def _awards_decision(self, plan: QueryPlan) -> Decision | None:
        """Several awards in one question asking their caps ("孵化器和产学研平台各补多少，能叠加吗"): each award's clause.

        Retrieval decides first; when it cites fewer than two clauses (or declines on the stacking topic), the
        question is cut at conjunctions and commas and each piece with a topic of its own is retrieved alone: pieces
        that land confidently on different clauses are cited beside it, each with its cap. Whether they combine is
        not in the text: the answer says so after the caps.
        """
        from assistant.lead import STACKING_RE
        from assistant.query import own_topic_tokens

        if plan.intent != "general" or not plan.money or plan.forced_sections or plan.followup or plan.claimed_amounts:
            return None
        # Only a question that asks the caps of several ("分别最多多少", "各补多少", "两个…能同时享受吗"): a money
        # question with a comma or an "和" inside one topic ("数字创意和其他产业融合的项目") is about one award.
        if not _HOW_MUCH_RE.search(plan.normalized) or not (
                STACKING_RE.search(plan.normalized) or _SEVERAL_RE.search(plan.normalized)):
            return None
        decision = self._decide(plan)
        if not decision.refused and len(decision.sections) >= 2:
            return dataclasses.replace(decision, route="awards", clarify=None)
        chosen = [] if decision.refused else list(decision.sections)
        hits = list(decision.hits)
        text = STACKING_RE.sub("，", plan.normalized)
        pieces = [p for p in re.split(r"[，,；;。？?、]|以及|还有|另外|和|与|跟|或者|还是", text) if p.strip()]
        for piece in (p for p in pieces if own_topic_tokens(p)):
            found = self._retrieve(self._plan(piece), k=3)
            if not found or not is_clause_key(found[0].section_key):
                continue
            best_bm25 = max(h.bm25_score for h in found)
            best_dense = max(h.dense_score for h in found)
            piece_ref = hit_ref(found[0], self.knowledge)
            scope = self.config.scope if self._has_models(piece_ref) else TEXT_ONLY_SCOPE
            if too_far(best_bm25, best_dense, scope) or self._topic(piece, piece_ref) is not None:
                continue
            if all(piece_ref != ref for ref, _ in chosen):
                chosen.append(ScoredSection(piece_ref, found[0].score))
                hits.append(found[0])
        if len(chosen) < 2:
            return decision
        return Decision(chosen[: self.config.max_citations], hits=hits, route="awards")

    def _run_turns(self, turns: list[str]) -> tuple[_Turn, list[_Turn]]:
        previous: PreviousTurn | None = None
        history: list[_Turn] = []
        for end, text in enumerate(turns, start=1):
            prefix = tuple(turns[:end])
            turn = self.turn_cache.get(prefix)
            if turn is None:
                plan = self._plan(text, previous)
                turn = _Turn(plan, self._route(plan))
                self.turn_cache.put(prefix, turn)
            history.append(turn)
            decision = turn.decision
            # The focus of a follow-up: the sections answered, each in its own document (else the nearest declined).
            focus = decision.sections or decision.nearest[:1]
            refs = tuple(ref for ref, _ in focus)
            previous = PreviousTurn(turn.plan, refs, " ".join(self.knowledge.section(r).text for r in refs))
        return history[-1], history[:-1]

    def prefetch(self, conversations: Sequence[object]) -> None:
        """Prepare a block of batch-mode conversations: their questions are embedded together, in one call that
        uses every core (one question at a time uses one), and wait in the embedder's cache for ``ask``.

        Only each conversation's first turn is planned here (a follow-up's search text depends on the decision
        before it). Invalid conversations are skipped: ``ask`` reports them.
        """
        if self.retriever is None:
            return
        texts: list[str] = []
        for turns in conversations:
            try:
                first = self.validate_turns(turns)[0]
            except BadInput:
                continue
            plan = self._plan(first)
            texts += [plan.search_text, *plan.facets]
        self.retriever.prefetch(texts)

    def ask(self, turns: list[str] | str, id: str | None = None, doc: str | None = None) -> Answer:
        """Answer the last turn of a conversation (earlier turns are its history); ``doc``: from that document only.

        Raises:
            BadInput: for invalid input. UnknownDocument: ``doc`` names no document.
        """
        if doc:
            return self.for_document(doc).ask(turns, id)
        started = time.perf_counter()
        answer, _ = self.answer_turns(self.validate_turns(turns))
        answer.id = id
        answer.latency_ms = (time.perf_counter() - started) * 1000
        return answer

    def answer_turns(self, clean: list[str]) -> tuple[Answer, _Turn]:
        """``ask`` on validated turns, with the last turn's plan and decision (training reads both from one run)."""
        last, _ = self._run_turns(clean)
        answer = self._compose(clean, last.plan, last.decision)
        ranked = self._ranked(last.decision)
        answer.retrieved = [self._ranked_section(h) for h in ranked]
        # English answers stay deterministic templates: the guard reads Chinese amounts and qualifiers.
        if self.phraser is not None and not answer.refused and answer.lang == "zh":
            from assistant.llm_answer import apply_llm

            sections = [self.knowledge.section(c.ref) for c in answer.citations]
            retrieved = {hit_ref(h, self.knowledge) for h in ranked} | {c.ref for c in answer.citations}
            answer = apply_llm(answer, sections, retrieved, self.phraser, log)
        return answer, last

    def _compose(self, turns: Sequence[str], plan: QueryPlan, decision: Decision) -> Answer:
        """The answer in the question's language: Chinese, or the same decision in English templates."""
        from assistant.language import detect_language

        answer = compose(self.knowledge, plan, decision)
        if detect_language(turns) == "en":
            from assistant.compose_en import compose_english

            answer = compose_english(self.knowledge, plan, decision, answer)
        return answer

    def match(self, description: str) -> Answer:
        """Policy matching: every clause a company description could apply for."""
        started = time.perf_counter()
        text = self.validate_question(description)
        plan = self._plan(text)
        plan.intent = "match"
        from assistant.query import split_facets

        plan.facets = split_facets(plan.search_text)
        decision = self._decide(plan, describing=True)
        answer = self._compose([text], plan, decision)
        answer.retrieved = [self._ranked_section(h) for h in self._ranked(decision)]
        answer.latency_ms = (time.perf_counter() - started) * 1000
        return answer

    def search(self, query: str, k: int = 5, doc: str | None = None) -> SearchResult:
        """Ranked sections for a lookup query: references first, then retrieval, with reasons (``doc``: its only)."""
        if doc:
            return self.for_document(doc).search(query, k)
        started = time.perf_counter()
        text = self.validate_question(query)
        plan = self._plan(text)
        hits = self._retrieve(plan, k=max(k, 1) + len(plan.clause_refs), for_search=True)
        kb = self.knowledge
        meta = self._meta_section(plan, hits)
        ordered: list[tuple[SectionRef, ClauseHit | None, list[str]]] = [
            (ref, None, ["reference"]) for ref in (SectionRef.parse(r.key, self._only_doc) if self._only_doc else r
                                                   for r in plan.forced_sections)
            if plan.clause_refs and kb.has_section(ref)]
        if meta and not self._only_doc:
            ordered.append((meta, None, ["meta"]))
        seen = {ref for ref, _, _ in ordered}
        for retrieved in hits:
            identity = hit_ref(retrieved, kb)
            if identity not in seen:
                ordered.append((identity, retrieved, retrieved.via))
                seen.add(identity)
        results = []
        for ref, hit, via in ordered[:k]:
            try:
                view = kb.section_view(kb.section(ref), ref.doc_id)
            except KeyError:
                continue
            results.append(SearchHit(
                view,
                score=round(hit.score, 4) if hit else 1.0,
                matched_terms=hit.matched_terms if hit else [],
                bm25_rank=hit.bm25_rank if hit else None,
                dense_rank=hit.dense_rank if hit else None,
                via=via,
            ))
        return SearchResult(text, plan.rewritten, list(plan.expansion), results, (time.perf_counter() - started) * 1000)

    def _ranked(self, decision: Decision) -> list[ClauseHit]:
        """The retrieval list an evaluation sees: decided sections first, then the rest of the hits."""
        kb = self.knowledge
        out: list[ClauseHit] = []
        seen: set[SectionRef] = set()
        hit_by_ref = {hit_ref(h, kb): h for h in decision.hits}
        for ref, score in decision.sections:
            ref = kb.qualified(ref)
            hit = hit_by_ref.get(ref)
            if hit is None:
                hit = ClauseHit(ref.doc_id, ref.key, score, via=[decision.route])
            elif decision.route not in ("retrieval", "match") and decision.route not in hit.via:
                # Chosen by a rule (a reference, a follow-up, a meta question), not by its score: say so (a copy;
                # the hit belongs to a cached decision).
                hit = dataclasses.replace(hit, via=[*hit.via, decision.route])
            out.append(hit)
            seen.add(ref)
        out.extend(h for h in decision.hits if hit_ref(h, kb) not in seen)
        return out

    def _ranked_section(self, hit: ClauseHit) -> RankedSection:
        """A hit of the ranked list with its section's title ("" when the section is not in the corpus)."""
        try:
            title = self.knowledge.section(hit_ref(hit, self.knowledge)).title
        except KeyError:
            title = ""
        return RankedSection(hit, title)

    # ---- status ----------------------------------------------------------------------------------
    def health(self, check_disk: bool = True) -> dict[str, Any]:
        """Status for /api/health and the admin tab (``assistant/health.py``)."""
        from assistant.health import assistant_health

        return assistant_health(self.knowledge, self.config, ready=self.retriever is not None,
                                llm=self.phraser is not None, index=self.index, index_config=self._index_config,
                                check_disk=check_disk)
