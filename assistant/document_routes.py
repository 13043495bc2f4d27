"""Questions answered from a whole document rather than retrieval: its largest cap ("哪条补得最多"), its limit on the
sum of a company's awards ("单个企业每年最多拿多少"), the clauses paying a figure or a kind of award ("500万的有哪几条",
"一次性的是哪条"), and its parts ("第三章有哪几条", "一共几部分").

Which document: the one the question names ("资助办法里…", "南山那个措施…"; ``QueryPlan.documents``, which also holds
the one ``ask --doc`` keeps answers to), else the bundled measure. The caps come from that document's cap table only
(``KnowledgeBase.cap_table``), the parts from its parsed chapters.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence

from assistant.decision import Decision, ScoredSection
from assistant.knowledge import KnowledgeBase
from assistant.query import QueryPlan, own_topic_tokens
from assistant.structure import chapter_name, chapter_sections, find_structure_ask
from indexing.caps import Award
from indexing.document import Chapter, PolicyDocument
from indexing.retrieval.hits import ClauseHit
from indexing.section_ref import SectionRef
from indexing.tokenize_zh import domain_words, fold

# 第三章　资助项目和标准: a heading that numbers its part as a chapter.
_CHAPTER_HEADING_RE = re.compile(r"\s*(第[一二三四五六七八九十百\d]+章)")
# The sections of a document a topic ("哪一部分讲出口") leads to: (topic, document id) → ranked hits.
TopicSearch = Callable[[str, str], list[ClauseHit]]


def route_documents(kb: KnowledgeBase, plan: QueryPlan) -> tuple[str, ...]:
    """The documents a whole-document question reads: those it names (or the one answers are kept to), in order of
    mention, else the bundled measure."""
    named = tuple(d for d in dict.fromkeys(plan.documents) if d)
    return named or (kb.primary.meta.id,)


def table_awards(kb: KnowledgeBase, doc_ids: Sequence[str]) -> list[Award]:
    """The awards of these documents' cap tables, document by document, each in its text's order."""
    return [award for doc_id in doc_ids for award in kb.cap_table(doc_id).awards]


def asked_awards(plan: QueryPlan, awards: Sequence[Award]) -> list[Award]:
    """The awards with a figure the question names ("500万的…") and of the kind it names ("一次性的…"); every award
    when it names neither ("list all caps")."""
    wanted = set(plan.claimed_amounts)
    return [a for a in awards if (not wanted or a.amount_wan in wanted)
            and (not plan.cap_kind or a.qualifier == plan.cap_kind)]


def asks_own_topic(kb: KnowledgeBase, plan: QueryPlan) -> bool:
    """Whether a "最高能补多少" question is about a topic of its own, not the whole document: one of its words (two
    characters or more, not of the documents' names) is a policy-domain word or written in a title of a clause or part
    of the documents it reads ("我们公司做vr头显的研发，按这个措施最高能补多少钱" — 头显, 研发; "听说数字创意技术研发
    项目…单个项目最高能到1000万" — 技术, 研发). Such a question asks that topic's cap: retrieval answers it. "整个措施里
    单个项目最多能拿多少钱", "这个政策里哪几条补得最多" have none."""
    docs = [kb.document(d) for d in route_documents(kb, plan)]
    names = fold("".join(f"{d.meta.title}{d.meta.short_title}" for d in docs))
    domain = domain_words()
    return any(len(word) > 1 and word not in names
               and (word in domain or any(word in d.document.folded_titles for d in docs))
               for word in own_topic_tokens(plan.normalized))


def largest_decision(kb: KnowledgeBase, plan: QueryPlan) -> Decision:
    """"哪条补得最多": every clause stating the largest figure of the documents' cap tables (none when no award of
    theirs names a figure: the answer then says which caps there are)."""
    docs = route_documents(kb, plan)
    return Decision(_stating_the_top([a for a in table_awards(kb, docs) if a.single]), route="largest", documents=docs)


def _stating_the_top(awards: Sequence[Award]) -> list[ScoredSection]:
    """The clauses stating the largest figure among ``awards``, in their order (none for no award)."""
    top = max((a.amount_wan or 0.0 for a in awards), default=None)
    return [ScoredSection(ref, 1.0) for ref in dict.fromkeys(a.ref for a in awards if a.amount_wan == top)]


def overall_decision(kb: KnowledgeBase, plan: QueryPlan) -> Decision | None:
    """"单个企业每年最多拿多少", "加起来有没有上限": the clause stating the documents' limit on the sum of a company's
    awards (the largest such limit: a document's own, not one award's "同一作品每年最高…"). None when the question asks
    no such limit or the documents state none (the bundled measure: retrieval answers as before)."""
    from assistant.award_shapes import asked_shapes

    if "overall" not in asked_shapes(plan.normalized):
        return None
    docs = route_documents(kb, plan)
    limits = [a for a in table_awards(kb, docs) if a.overall and a.amount_wan is not None]
    if not limits:
        return None
    return Decision(_stating_the_top(limits), route="overall", documents=docs)


def amount_list_decision(kb: KnowledgeBase, plan: QueryPlan) -> Decision:
    """"500万的有哪几条", "一次性的是哪条": the clauses with such an award (none: the answer says so and lists the figures
    the documents do state)."""
    docs = route_documents(kb, plan)
    refs = dict.fromkeys(a.ref for a in asked_awards(plan, table_awards(kb, docs)))
    return Decision([ScoredSection(ref, 1.0) for ref in refs], route="amount-list", documents=docs)


def structure_decision(kb: KnowledgeBase, plan: QueryPlan, topic_search: TopicSearch) -> Decision | None:
    """"第八部分讲什么", "附则有几条", "哪一部分讲出口", "一共几章": the parts of the first document the question names
    (else the measure's) and their sections, from the parser. None, with the intent reset to "general", when the
    question asks no part of that document.

    A part asked by topic is the part whose title holds the topic, else the part of the topic's best section of that
    document (``topic_search``).
    """
    doc_id = route_documents(kb, plan)[0]
    document = kb.document(doc_id).document
    ask = find_structure_ask(plan.normalized, document)
    if ask is None:
        plan.intent = "general"
        return None
    chapters = list(ask.chapters)
    hits: list[ClauseHit] = []
    if ask.topic:
        titled = [c.key for c in document.chapters if ask.topic in c.title]
        if titled:
            chapters = titled[:1]
        else:
            hits = topic_search(ask.topic, doc_id)
            best = kb.qualified(hits[0].ref) if hits else None
            section = kb.section(best) if best is not None and best.doc_id == doc_id else None
            if section is None or section.chapter is None:
                plan.intent = "general"
                return None
            chapters = [section.chapter]
    parts = [ScoredSection(SectionRef.parse(key, doc_id), 1.0)
             for chapter in chapters for key in chapter_sections(document, chapter)]
    return Decision(parts, hits=hits, route="structure", structure=dataclasses.replace(ask, chapters=tuple(chapters)),
                    documents=(doc_id,))


# ---- how a document names its parts ---------------------------------------------------------------------
def written_heading(document: PolicyDocument, chapter: Chapter) -> str:
    """A part's heading as its text writes it (第三章　资助项目和标准, 三、支持技术创新)."""
    return document.text[chapter.heading_start:chapter.heading_end].strip()


def counts_chapters(document: PolicyDocument) -> bool:
    """Whether the document numbers its parts as chapters (第一章…), not as 一、… parts."""
    numbered = [c for c in document.chapters if c.number is not None]
    return bool(numbered) and all(_CHAPTER_HEADING_RE.match(written_heading(document, c)) for c in numbered)


def part_name(document: PolicyDocument, chapter: Chapter) -> str:
    """How a person names a part of a document: 第三章“资助项目和标准” in one counting chapters, else as the measure's
    (第八部分“拓展数字创意产品和服务贸易”, 附则)."""
    numbered = _CHAPTER_HEADING_RE.match(written_heading(document, chapter))
    return f"{numbered[1]}“{chapter.title}”" if numbered else chapter_name(chapter)
