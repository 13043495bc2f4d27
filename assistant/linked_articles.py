"""The article of an indexed linked document that a cited clause defers to: found within that document, and attached.

The bundled measure leaves amounts to another document ("按《深圳市文化产业专项资金资助办法》相关规定给予最高200万元资助").
When that document's text is in the index (``index --add``; ``indexing.links`` resolves the ``[[linked]]`` entry), an
answer citing such a clause also cites the article of that document which sets the award: the answer says what the
measure says, then "具体标准见《…》第X条", with that article's quote and caps. Without the document nothing changes.

The article is found by BM25 within that document over the question and the clause's text (the linked documents' titles
taken out: every article of the fund's measures says 专项资金). It is cited only when relevant enough, by two tests that do
not depend on the embedding model:

* **close to the clause**: its score is at least ``MIN_SIMILARITY`` of the clause's own score for the same text (a
  clause matches itself best; an article on its subject shares its distinctive words);
* **clear in its document**: the runner-up article scores at most ``MAX_RUNNER_UP`` of it.

On the stand-in fund measures (``evals/documents/fund-measures-standin``) the articles the five deferring clauses of the
bundled measure mean score 0.38–0.80 of the clause and lead their runner-up by 1.4× or more; the best article for a
clause that defers to nothing scores 0.20–0.30 of it and leads by less than 1.25×.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from assistant.decision import Decision, LinkedArticle
from assistant.knowledge import KnowledgeBase
from indexing.caps import deferred_names
from indexing.document import LinkedDocument
from indexing.section_ref import SectionRef

if TYPE_CHECKING:
    from indexing.retrieval.hybrid import HybridRetriever

MIN_SIMILARITY = 0.33
MAX_RUNNER_UP = 0.8
# Answers that list the measure's own caps or parts: the fund's articles are no part of them.
_LISTING_ROUTES = frozenset({"structure", "largest", "amount-list"})
_TITLE_RE = re.compile(r"《[^》]*》")


def deferrals(kb: KnowledgeBase, ref: SectionRef) -> Iterator[tuple[LinkedDocument, str]]:
    """The linked documents a clause defers to whose text is in the corpus, with the id they are indexed under.

    A clause defers to a document when a cap of it has that document as its basis, or its text says 按《…》相关规定.
    """
    ref = kb.qualified(ref)
    section = kb.section(ref)
    holder = ref.doc_id
    bases = {a.basis_doc for a in kb.awards(ref)}
    named = deferred_names(section.text)
    for link in kb.document(holder).meta.linked:
        if link.id not in section.linked:
            continue
        target = kb.linked_target(link, holder)
        if target is None:
            continue
        if link.id in bases or named & set(link.names):
            yield link, target


def find_article(kb: KnowledgeBase, retriever: HybridRetriever, question: str, clause: SectionRef,
                 link: LinkedDocument, target: str) -> LinkedArticle | None:
    """The article of document ``target`` that clause ``clause`` defers to, or None when none is relevant enough.

    Args:
        kb: the corpus.
        retriever: the index's retriever (its BM25 over the whole index).
        question: the question's search text.
        clause: the deferring clause.
        link: the ``[[linked]]`` entry naming ``target``.
        target: the id of the indexed document.
    """
    text = f"{question} {_TITLE_RE.sub(' ', kb.section(clause).text)}"
    own = max(retriever.keyword_scores(text, clause.doc_id, clause.key).values(), default=0.0)
    scores = {ref: score for ref, score in retriever.keyword_scores(text, target).items() if ref.is_clause}
    if own <= 0 or not scores:
        return None
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    best, score = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    if score < MIN_SIMILARITY * own or runner_up > MAX_RUNNER_UP * score:
        return None
    return LinkedArticle(clause, link, best, score / own)


def attach_linked_articles(kb: KnowledgeBase, retriever: HybridRetriever | None, question: str,
                           decision: Decision) -> Decision:
    """``decision`` with the linked articles of its deferring clauses attached (the same decision when there are none).

    An attached article cited on its own after its clause is cited under the clause instead; one cited before it stays
    where it is (``cited_above``). A clarifying question between a clause and the article it defers to is dropped: the
    two are one rule, not two answers.
    """
    if retriever is None or decision.refused or decision.route in _LISTING_ROUTES or not decision.sections:
        return decision
    order = [kb.qualified(ref) for ref, _ in decision.sections]
    articles: list[LinkedArticle] = []
    for position, ref in enumerate(order):
        if not ref.is_clause:
            continue
        for link, target in deferrals(kb, ref):
            article = find_article(kb, retriever, question, ref, link, target)
            if article is not None and article.ref != ref:
                # Cited before the clause: on its own, or under an earlier clause deferring to the same article.
                above = article.ref in order[:position] or article.ref in {a.ref for a in articles}
                articles.append(dataclasses.replace(article, cited_above=above))
    if not articles:
        return decision
    moved = {a.ref for a in articles if not a.cited_above}
    sections = [s for s, ref in zip(decision.sections, order, strict=True) if ref not in moved]
    pairs = {(a.clause, a.ref) for a in articles}
    clarify = decision.clarify
    if clarify is not None:
        options = {kb.qualified(o.ref) for o in clarify.options}
        if any({clause, article} <= options for clause, article in pairs):
            clarify = None
    return dataclasses.replace(decision, sections=sections, clarify=clarify, linked=tuple(articles))
