"""Which document answers a question that names none, when several are indexed: the hits of that document lead.

Retrieval ranks every document's sections together, but its scores are not measured alike in every document: the
bundled measure's sections are fused over four channels (its text and its reviewed profiles, by BM25 and by
embedding) and then get the learned prior, which knows that measure's sections only; another document's sections
have their text channels alone (``HybridRetriever.score`` divides those by the text channels' weight, so that a
perfect match scores 1 there too). Each channel is scaled by the query's best section, so a section that leads the
text channels with one common word ("创意", "属于") scores near 1, while the measure's section that answers the
question is split over four channels and loses. Two things put the documents on one footing:

- **Like with like.** A section is compared by the better of its retrieval score and its score on the text channels
  alone (``ClauseHit.text_score``), the channels every document has: a profiled section is never weaker than it would
  be without its profiles. The prior still orders sections within the measure, as before, but does not compare
  documents.
- **The question's own words.** Beside the scores, the share of the question's topic words the section's own text
  contains (``assistant.coverage.topic_words``), each word weighted by how few of the competing documents contain it
  (an inverse document frequency over the documents among the hits): a word that one document uses and the others do
  not ("区级初审", "首版次", "追加") says which document the question is about; a word every document uses ("资助",
  "项目") says nothing. Words none of them contains weigh in the denominator: a question mostly about something no
  document writes down moves the scores less.
- **The shape of award asked.** When two documents restate one award in different shapes (the measure's "最高200万元",
  the annual notice's "每年最高100万元"; a share "按投资额的20%" in one only), a question asking that shape ("每年上限",
  "补贴比例") is answered by the one whose awards have it (``assistant.award_shapes``). A claim's shape ("是一次性给
  100万吧") is what it asks to check, and is left out by the caller.

Measured on ``eval --documents`` (the bundled measure with the three test documents; ``evals/questions/documents/
README.md``): see ``COVERAGE_WEIGHT``. A single document's answers are unchanged: hits of one document are returned
as they are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.award_shapes import Shape, shape_agreement
from assistant.coverage import topic_words
from indexing.retrieval.hits import ClauseHit

if TYPE_CHECKING:
    from assistant.knowledge import KnowledgeBase

# How much a section's word coverage (0–1) adds to its retrieval score (0–1) when documents are compared. On the
# documents' and the dev questions answered by retrieval (196), the first citation's document was right for 151 with
# scores alone, 154 with like-with-like scores, and 162–166 with coverage weighted anywhere in 0.2–0.7 (every set
# gained or held on that plateau); 0.4 is its middle.
COVERAGE_WEIGHT = 0.4
# How much the share of the award shapes asked that a section's awards have (``assistant.award_shapes``: per year,
# a share, one-off, a top-up, a term, a limit on a company's sum) adds when documents are compared. Chosen on the
# training documents' questions (``eval --documents --training-documents``): at 0.15 one more right and none lost; at
# 0.3 one more right and three lost, answerable questions whose shape word was incidental ("配套比例和金额是多少" of a
# district's matching award).
SHAPE_WEIGHT = 0.15


def comparable_score(hit: ClauseHit) -> float:
    """A hit's retrieval score as documents compare it: its text channels' score when that is the better one."""
    text = hit.text_score if hit.text_score is not None else 0.0
    return max(hit.retrieval_score, text)


def word_weights(words: Sequence[str], texts: Sequence[str]) -> dict[str, float]:
    """Each word's weight by how few of ``texts`` (the competing documents' texts) contain it: log((D+1)/(n+½)).

    A word in every document weighs little (log((D+1)/(D+½))), one in a single document much more, one in none the
    most: it is in no section, so it only lowers every section's share alike.
    """
    count = len(texts)
    return {w: math.log((count + 1) / (sum(w in t for t in texts) + 0.5)) for w in dict.fromkeys(words)}


def weighted_coverage(weights: dict[str, float], section_text: str) -> float:
    """The weighted share of the question's topic words that ``section_text`` contains (1.0 without topic words)."""
    total = sum(weights.values())
    if total <= 0:
        return 1.0
    return sum(weight for word, weight in weights.items() if word in section_text) / total


def document_scores(hits: Sequence[ClauseHit], question: str, knowledge: KnowledgeBase | None,
                    shapes: Sequence[Shape] = ()) -> dict[str, float]:
    """Each document's best section among ``hits``: its comparable score plus its weighted word coverage and the
    share of the award shapes asked that its awards have.

    Args:
        hits: retrieval's hits of several documents.
        question: the text searched (``QueryPlan.search_text``).
        knowledge: the documents' texts and awards (None: scores alone).
        shapes: the award shapes the question asks (``assistant.award_shapes.asked_shapes``).

    Returns:
        Document id → its best section's figure.
    """
    words = topic_words(question) if knowledge is not None and question.strip() else []
    docs = list(dict.fromkeys(h.doc_id for h in hits))
    weights = word_weights(words, [knowledge.document_text(d) for d in docs]) if knowledge is not None and words else {}
    best: dict[str, float] = {}
    for hit in hits:
        value = comparable_score(hit)
        if knowledge is not None and (weights or shapes):
            ref = knowledge.qualified(hit.ref)
            known = knowledge.has_section(ref)
            if weights:
                value += COVERAGE_WEIGHT * weighted_coverage(weights, knowledge.section(ref).text if known else "")
            if shapes and known:
                value += SHAPE_WEIGHT * shape_agreement(shapes, knowledge.awards(ref.key, ref.doc_id))
        best[hit.doc_id] = max(best.get(hit.doc_id, float("-inf")), value)
    return best


def retrieval_leads(hits: list[ClauseHit], question: str = "", knowledge: KnowledgeBase | None = None,
                    shapes: Sequence[Shape] = ()) -> list[ClauseHit]:
    """Hits with the document that ``document_scores`` puts first leading: its first hit moves to the front (the
    order within each document is retrieval's and the learned prior's). Unchanged when every hit is of one document.

    Args:
        hits: retrieval's hits, best first.
        question: the text searched; knowledge: the documents (both optional: without them scores alone decide).
        shapes: the award shapes the question asks.
    """
    if len({h.doc_id for h in hits}) < 2:
        return hits
    scores = document_scores(hits, question, knowledge, shapes)
    lead_doc = max(scores, key=lambda d: scores[d])
    if hits[0].doc_id == lead_doc:
        return hits
    first = next(h for h in hits if h.doc_id == lead_doc)
    return [first, *(h for h in hits if h is not first)]
