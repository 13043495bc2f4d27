"""Out-of-scope topics (corpus/lexicon/out_of_scope.toml) and the calibrated "not covered" decision."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from indexing.tokenize_zh import LEXICON_DIR, fold

OUT_OF_SCOPE_FILE = LEXICON_DIR / "out_of_scope.toml"


@dataclass(frozen=True)
class ScopeTopic:
    """An out-of-scope topic: its ``terms`` (substrings) or ``patterns`` (regular expressions), unless one of ``unless`` (substrings) or
    ``unless_patterns`` (regular expressions, for a term used in an in-scope sense: a *company* 落户, an office
    set up *in* 新加坡) is present too."""

    name: str
    terms: tuple[str, ...]
    unless: tuple[str, ...]
    advice: str
    unless_patterns: tuple[re.Pattern[str], ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()   # also fire on these (a place named *together with* a policy ask)
    # The words a policy text writes where it covers the topic in its own terms (社会保险 for a question's 社保, 上市
    # for its 创业板): read only of another document's best section (``assistant.text_only``), never of the question.
    covered_by: tuple[str, ...] = ()

    def matches(self, folded_text: str) -> bool:
        if not any(t in folded_text for t in self.terms) and not any(p.search(folded_text) for p in self.patterns):
            return False
        if any(u in folded_text for u in self.unless):
            return False
        return not any(p.search(folded_text) for p in self.unless_patterns)

    def stated_in(self, text: str) -> bool:
        """Whether a section's text itself speaks of the topic (a district measure's 落户奖励), in the question's
        terms or in a text's own (``covered_by``)."""
        folded = fold(text)
        return any(t in folded for t in self.terms) or any(w in folded for w in self.covered_by)


@dataclass(frozen=True)
class ScopeThresholds:
    """Below both, a question is too far from every clause to answer (calibrated on the train split).

    ``bm25``: the best section's raw BM25 score (text + profiles, expansion included);
    ``dense``: the best section's cosine similarity (profile examples are embedded as queries, so
    in-scope questions sit at 0.9 and above). Re-derive with
    ``policy-assistant eval evals/questions/train.jsonl evals/questions/offtopic-calibration.jsonl --calibrate``:
    the most lenient pair that declines no in-scope train question and catches the most off-topic ones.
    """

    bm25: float = 4.0
    dense: float = 0.89


@lru_cache(maxsize=4)
def scope_topics(path: Path = OUT_OF_SCOPE_FILE) -> tuple[ScopeTopic, ...]:
    if not path.exists():
        return ()
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return tuple(
        ScopeTopic(
            name=t["name"],
            terms=tuple(fold(x) for x in t["terms"]),
            unless=tuple(fold(x) for x in t.get("unless", ())),
            advice=t.get("advice", ""),
            unless_patterns=tuple(re.compile(fold(x)) for x in t.get("unless_patterns", ())),
            patterns=tuple(re.compile(fold(x)) for x in t.get("patterns", ())),
            covered_by=tuple(fold(x) for x in t.get("covered_by", ())),
        )
        for t in data.get("topic", ())
    )


def out_of_scope_topic(folded_text: str) -> ScopeTopic | None:
    """The first out-of-scope topic a question is about, if any."""
    for topic in scope_topics():
        if topic.matches(folded_text):
            return topic
    return None


def too_far(best_bm25: float, best_dense: float, thresholds: ScopeThresholds) -> bool:
    """True when neither channel found anything close: the question is not about these documents."""
    return best_bm25 < thresholds.bm25 and best_dense < thresholds.dense
