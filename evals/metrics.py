"""Citation, cap, refusal, retrieval and latency metrics: pure functions over plain data.

Every metric is defined here once and used by the runner, the report, the gate and the baselines.

Definitions (one case = one question; only the last turn is graded):

* **top-1 accuracy** — a ``must_refuse`` case is correct when the answer refused. A case with gold clauses
  is correct when the answer did not refuse and its first citation's section is one of the gold clauses.
  A case with *empty* gold that must not be refused (a meta question answered from the title, e.g.
  "这是征求意见稿吗") is correct when the answer did not refuse and cited nothing.
* **citation precision / recall / F1** — citations are deduplicated by section key (first occurrence
  kept) and compared as sets with ``gold_clauses``. For a case whose gold is empty (``must_refuse`` or
  not) the correct citation set is empty: precision is 1 when nothing is cited and 0 otherwise, recall
  is 1 (nothing to find), F1 is 1 when nothing is cited and 0 otherwise. Whether the answer *should*
  have refused is graded by the refusal metrics and top-1, not here. **Micro** pools true/false
  positives and false negatives over all cases (a citation on an out-of-scope question is a false
  positive); when nothing is cited at all, micro precision is 1 only if there was nothing to find, and
  micro recall is 1 when no case has gold. **Macro** averages the per-case precision, recall and F1 over
  all cases (the mean of per-case F1, not the F1 of the means).
* **exact set match** — the set of cited sections equals the gold set (empty equals empty).
* **retrieval recall@k / top-1 / MRR** — from the retriever's ranked ``retrieved`` list (deduplicated by
  section), over cases that have gold clauses, are not ``must_refuse`` and whose answer reported a
  ``retrieved`` list. recall@k = share of the gold clauses within the first k; MRR = 1 / rank of the
  first gold clause (0 when absent).
* **caps accuracy** — pooled over all gold caps: the share whose (clause, amount_wan, qualifier) appears
  in the answer's caps list (amounts compared to 4 decimals; ``None`` matches ``None``). Two pairs of qualifiers
  name the same award from two sides, and a gold cap of the first kind is matched by a record of the second, read
  from the record's own fields: a gold ``每年最高`` by a ``按比例`` record (it has a ``percent``) whose ``quote`` states
  its ceiling per year ("按实际租金的50%给予补贴，每年最高不超过300000元": a percentage with a yearly ceiling);
  a gold ``按其他文件`` by a ``按资助办法`` record (the 资助办法 is another document; the cap table names that deferral
  by its own qualifier). The converse is not accepted.
* **documents** — a case may name the document its gold sections are in (``doc``); the runner grades the
  assistant's answers against its primary document otherwise. Citations, caps and retrieved sections of any other
  document are renamed ``<doc>#<key>`` before grading (:meth:`AnswerView.relative_to`): the right number in the
  wrong document is wrong. Answers read from a file are graded by key alone unless the case names its document.
* **unsupported amount rate** — share of answers whose text (``answer`` and ``reply``) or caps state an
  amount in 万元 that is not in the cap table. Must be 0. ``None`` when no cap table was given. Strict: an
  amount echoed from the question ("不能按1000万元计") counts too. **unsupported (not from question)**
  is the same rate ignoring amounts that also occur in the question's turns, to tell an echoed false
  premise from an invented figure.
* **refusal precision / recall** — ``refused`` against ``must_refuse``; ``None`` when the denominator is 0.
* **latency p50 / p95** — linear-interpolated percentiles of ``latency_ms`` over answers without error.
* **answer quality** (``evals/answer_quality.py``) — rates of answers passing each shape rule, over the answers a
  rule applies to: the first sentence of a money answer holds the gold cap it states; no function word in 匹配依据;
  no single-word condition; a follow-up's first sentence states the detail asked.

A metric that cannot be computed on a subset (no cases of that kind) is ``None``, shown as "—".
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from evals.answer_quality import QualityChecks, check_answer
from indexing.numerals import chinese_to_int, find_amounts_wan
from indexing.section_ref import clause_label

if TYPE_CHECKING:  # pragma: no cover
    from assistant.answer import Answer, RankedSection

MISSING_ANSWER = "no answer for this id"
REFUSE_LABEL = "（应拒答）"
NO_CLAUSE_LABEL = "（无需条款）"
REFUSED_LABEL = "（拒答）"
NO_CITATION_LABEL = "（无引用）"


# ---- plain data ---------------------------------------------------------------------------------
# The quote of a 按比例 award whose ceiling is per year: "每年最高不超过300万元", "每家企业每年最高不超过…".
_YEARLY_CEILING_RE = re.compile(r"每年[^，。；]{0,4}(?:最高|不超过)")
# (gold qualifier, answer record's qualifier) pairs that name one award: see the module docstring.
_SAME_AWARD = {("按其他文件", "按资助办法")}


@dataclass(frozen=True)
class CapRecord:
    """An award as graded: clause, amount in 万元 (``None`` when another document sets it) and qualifier.

    ``doc`` is the document that states it ("" when unknown: gold caps are the case's document's);
    ``yearly_ceiling`` marks an answer's 按比例 record whose ceiling its quote states per year.
    """

    clause: str
    amount_wan: float | None
    qualifier: str
    doc: str = ""
    yearly_ceiling: bool = False

    def matches(self, other: CapRecord) -> bool:
        """Whether ``other`` (an answer's record) is this gold cap."""
        if self.clause != other.clause or not _same_amount(self.amount_wan, other.amount_wan):
            return False
        if self.qualifier == other.qualifier or (self.qualifier, other.qualifier) in _SAME_AWARD:
            return True
        return self.qualifier == "每年最高" and other.qualifier == "按比例" and other.yearly_ceiling

    def to_json(self) -> dict[str, Any]:
        return {"clause": self.clause, "amount_wan": self.amount_wan, "qualifier": self.qualifier}

    @classmethod
    def of_record(cls, clause: str, amount: float | None, qualifier: str, doc: str = "", quote: str = "",
                  percent: Any = None) -> CapRecord:
        """An answer's cap record, from the contract's fields."""
        yearly = qualifier == "按比例" and percent is not None and bool(_YEARLY_CEILING_RE.search(quote))
        return cls(clause, amount, qualifier, doc, yearly)

    @property
    def label(self) -> str:
        """（十六）最高 200万元 / （十）按资助办法."""
        if self.amount_wan is None:
            return f"{clause_label(self.clause)}{self.qualifier}"
        return f"{clause_label(self.clause)}{self.qualifier} {self.amount_wan:g}万元"


@dataclass(frozen=True)
class EvalCase:
    """One question of a question set, with its gold answer.

    ``source`` is ``file:line`` for messages; ``writer`` is who wrote the question (the JSON field ``source``:
    ``w01``…), which leave-one-writer-out evaluation groups by; ``gold_clauses`` keys are ``十六`` / ``chapter:一`` /
    ``preamble``.
    """

    id: str
    turns: tuple[str, ...]
    gold_clauses: tuple[str, ...] = ()
    gold_caps: tuple[CapRecord, ...] = ()
    must_refuse: bool = False
    persona: str = "entrepreneur"
    tags: tuple[str, ...] = ()
    note: str = ""
    source: str = ""
    writer: str = ""
    doc: str = ""      # the document of the gold sections and caps ("": the assistant's primary document)

    @property
    def question(self) -> str:
        return self.turns[-1] if self.turns else ""


@dataclass(frozen=True)
class RetrievedSection:
    """One entry of the retriever's ranked list, with the reasons it was found.

    ``bm25_score`` / ``dense_score`` are each channel's raw score and ``via`` the routes that chose the section (what
    the scope-threshold calibration replays, ``evals/calibrate.py``).
    """

    section: str
    score: float | None = None
    doc: str = ""
    bm25_rank: int | None = None
    dense_rank: int | None = None
    matched_terms: tuple[str, ...] = ()
    bm25_score: float | None = None
    dense_score: float | None = None
    via: tuple[str, ...] = ()

    @classmethod
    def of(cls, entry: RankedSection) -> RetrievedSection:
        """The grading view of an entry of a typed answer's ranked list (scores rounded as the JSON states them)."""
        hit = entry.hit
        return cls(section=hit.section_key, score=_float_or_none(round(hit.score, 4)), doc=hit.doc_id,
                   bm25_rank=hit.bm25_rank, dense_rank=hit.dense_rank, matched_terms=tuple(hit.matched_terms),
                   bm25_score=_float_or_none(round(hit.bm25_score, 4)),
                   dense_score=_float_or_none(round(hit.dense_score, 4)), via=tuple(hit.via))

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> RetrievedSection:
        """An entry of the JSON ``retrieved`` list (a record of ``RankedSection.to_json()``, or another system's)."""
        return cls(
            section=_section_of(item),
            score=_float_or_none(item.get("score")),
            doc=str(item.get("doc") or ""),
            bm25_rank=_int_or_none(item.get("bm25_rank")),
            dense_rank=_int_or_none(item.get("dense_rank")),
            matched_terms=tuple(str(t) for t in item.get("matched_terms") or ()),
            bm25_score=_float_or_none(item.get("bm25_score")),
            dense_score=_float_or_none(item.get("dense_score")),
            via=tuple(str(v) for v in item.get("via") or ()),
        )


@dataclass(frozen=True)
class AnswerView:
    """The parts of an answer that grading reads: of a typed ``Answer`` (:meth:`of`, what the runner grades), or of
    an answer in the JSON contract read from a file (:meth:`from_json`, the one place answers are read from JSON)."""

    id: str | None
    text: str = ""
    cited: tuple[str, ...] = ()                 # citation sections, deduplicated, in order
    cited_docs: tuple[str, ...] = ()            # the document of each of ``cited`` ("" when not reported)
    caps: tuple[CapRecord, ...] = ()
    refused: bool = False
    retrieved: tuple[RetrievedSection, ...] = ()  # deduplicated by section, in rank order
    retrieval_reported: bool = False             # the answer carried a "retrieved" list
    latency_ms: float | None = None
    error: str | None = None
    n_citations_raw: int = 0                     # before deduplication
    answer_text: str = ""                        # the ``answer`` field alone (``text`` adds the ``reply``)
    intent: str = ""
    refusal_reason: str = ""                     # "topic:<name>" / "too-far"; "" when not refused for a reason

    @classmethod
    def of(cls, answer: Answer) -> AnswerView:
        """The view of a typed answer (what ``AnswerView.from_json(answer.to_json())`` reads, without the JSON).

        Args:
            answer: the assistant's answer (a rejected one carries its ``error``).

        Returns:
            The view used by :func:`grade`.
        """
        cited = _cited((c.doc, str(c.section or c.clause or "")) for c in answer.citations)
        texts = [answer.text, answer.reply]
        return cls(
            id=None if answer.id is None else str(answer.id),
            text="\n".join(t for t in texts if t),
            cited=tuple(key for _, key in cited),
            cited_docs=tuple(doc for doc, _ in cited),
            caps=tuple(CapRecord.of_record(a.clause, _amount(a.amount_wan), a.qualifier, a.doc_id, a.quote, a.percent)
                       for a in answer.caps),
            refused=answer.refused,
            retrieved=_ranked_once(map(RetrievedSection.of, answer.retrieved)),
            retrieval_reported=True,
            latency_ms=round(answer.latency_ms, 1),     # as the JSON contract states it
            error=answer.error or None,
            n_citations_raw=len(answer.citations),
            answer_text=answer.text,
            intent=answer.intent,
            refusal_reason=answer.refusal_reason or "",
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AnswerView:
        """Read an answer object; missing fields take neutral defaults so external suites can be graded.

        Args:
            data: one answer in the contract's shape (``ask --json`` / ``ask --jsonl``).

        Returns:
            The view used by :func:`grade`.
        """
        citations = [c for c in (data.get("citations") or []) if isinstance(c, Mapping)]
        cited = _cited((str(c.get("doc") or ""), _section_of(c)) for c in citations)
        caps = tuple(
            CapRecord.of_record(str(c.get("clause", "")), _amount(c.get("amount_wan")), str(c.get("qualifier", "")),
                                str(c.get("doc") or ""), str(c.get("quote") or ""), c.get("percent"))
            for c in (data.get("caps") or [])
            if isinstance(c, Mapping)
        )
        texts = [str(data.get(name) or "") for name in ("answer", "reply")]
        latency = _float_or_none(data.get("latency_ms"))
        return cls(
            id=None if data.get("id") is None else str(data.get("id")),
            text="\n".join(t for t in texts if t),
            cited=tuple(key for _, key in cited),
            cited_docs=tuple(doc for doc, _ in cited),
            caps=caps,
            refused=bool(data.get("refused", False)),
            retrieved=_ranked_once(RetrievedSection.from_json(item) for item in data.get("retrieved") or []
                                   if isinstance(item, Mapping)),
            retrieval_reported="retrieved" in data,
            latency_ms=latency,
            error=None if data.get("error") in (None, "") else str(data.get("error")),
            n_citations_raw=len(citations),
            answer_text=str(data.get("answer") or ""),
            intent=str(data.get("intent") or ""),
            refusal_reason=str(data.get("refusal_reason") or ""),
        )

    @classmethod
    def missing(cls, case_id: str) -> AnswerView:
        """The stand-in for a question that has no answer (``--answers`` without that id)."""
        return cls(id=case_id, error=MISSING_ANSWER)

    @property
    def top_score(self) -> float | None:
        return self.retrieved[0].score if self.retrieved else None

    def relative_to(self, doc: str) -> AnswerView:
        """This view graded against document ``doc``: its sections keep their keys, any other document's are
        renamed ``<doc>#<key>`` (so they match no gold key); entries without a document are taken as ``doc``'s."""
        if not doc:
            return self

        def name(entry_doc: str, key: str) -> str:
            return key if not entry_doc or entry_doc == doc else f"{entry_doc}#{key}"

        return replace(
            self,
            cited=dedupe(name(d, k) for d, k in zip(self.cited_docs or ("",) * len(self.cited), self.cited,
                                                     strict=True)),
            caps=tuple(replace(c, clause=name(c.doc, c.clause)) for c in self.caps),
            retrieved=tuple(replace(r, section=name(r.doc, r.section)) for r in self.retrieved),
        )


def document_qualified(name: str, doc: str) -> str:
    """A graded entry's name (``AnswerView.relative_to``: bare for ``doc``'s sections, ``<doc>#<key>`` for any
    other's) with its document always written, as labels naming sections of several documents write it."""
    return name if "#" in name else f"{doc}#{name}"


@dataclass(frozen=True)
class Graded:
    """One case graded against one answer; ``reasons`` says in words what was wrong (empty if nothing)."""

    case: EvalCase
    answer: AnswerView
    top1_correct: bool
    true_positives: tuple[str, ...]
    false_positives: tuple[str, ...]
    false_negatives: tuple[str, ...]
    precision: float
    recall: float
    f1: float
    exact_match: bool
    gold_ranks: tuple[tuple[str, int | None], ...]   # retriever rank (1-based) of each gold clause
    caps_hit: tuple[CapRecord, ...]
    caps_missed: tuple[CapRecord, ...]
    unsupported_amounts: tuple[float, ...] | None    # None: not checked (no cap table)
    reasons: tuple[str, ...] = ()
    echoed_amounts: tuple[float, ...] = ()           # the unsupported amounts that the question states too
    quality: QualityChecks = QualityChecks()         # the answer-quality rules' verdicts

    @property
    def invented_amounts(self) -> tuple[float, ...]:
        """Unsupported amounts that do not come from the question."""
        return tuple(a for a in self.unsupported_amounts or () if a not in self.echoed_amounts)

    @property
    def wrong(self) -> bool:
        return bool(self.reasons)

    @property
    def retrieval_graded(self) -> bool:
        """Whether retrieval metrics apply: gold clauses exist, no refusal expected, a list was reported."""
        return bool(self.case.gold_clauses) and not self.case.must_refuse and self.answer.retrieval_reported

    def recall_at(self, k: int) -> float:
        gold = len(self.gold_ranks)
        return sum(1 for _, r in self.gold_ranks if r is not None and r <= k) / gold if gold else 0.0

    @property
    def reciprocal_rank(self) -> float:
        ranks = [r for _, r in self.gold_ranks if r is not None]
        return 1.0 / min(ranks) if ranks else 0.0

    @property
    def retrieval_top1_correct(self) -> bool:
        return any(r == 1 for _, r in self.gold_ranks)

    @property
    def gold_label(self) -> str:
        """How the confusion view names the expected answer."""
        if self.case.must_refuse:
            return REFUSE_LABEL
        if not self.case.gold_clauses:
            return NO_CLAUSE_LABEL
        return "+".join(sorted(self.case.gold_clauses, key=section_sort_key))

    @property
    def predicted_label(self) -> str:
        """How the confusion view names what was answered: the first citation, or a refusal."""
        if self.answer.refused:
            return REFUSED_LABEL
        if self.answer.cited:
            return self.answer.cited[0]
        return NO_CITATION_LABEL

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly record of this case (for ``eval --json``)."""
        return {
            "id": self.case.id,
            "source": self.case.source,
            "question": self.case.question,
            "persona": self.case.persona,
            "tags": list(self.case.tags),
            "gold_clauses": list(self.case.gold_clauses),
            "must_refuse": self.case.must_refuse,
            "cited": list(self.answer.cited),
            "refused": self.answer.refused,
            "top1_correct": self.top1_correct,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "exact_match": self.exact_match,
            "gold_ranks": {k: r for k, r in self.gold_ranks},
            "caps_hit": [c.to_json() for c in self.caps_hit],
            "caps_missed": [c.to_json() for c in self.caps_missed],
            "unsupported_amounts": None if self.unsupported_amounts is None else list(self.unsupported_amounts),
            "echoed_amounts": list(self.echoed_amounts),
            "retrieved": [r.section for r in self.answer.retrieved[:10]],
            "top_score": self.answer.top_score,
            "latency_ms": self.answer.latency_ms,
            "error": self.answer.error,
            "reasons": list(self.reasons),
            "quality_problems": list(self.quality.problems),
        }


# ---- helpers --------------------------------------------------------------------------------------
def _ranked_once(entries: Iterable[RetrievedSection]) -> tuple[RetrievedSection, ...]:
    """The ranked ``retrieved`` list deduplicated by section (first kept), in rank order; entries without a section
    are dropped."""
    retrieved: list[RetrievedSection] = []
    seen: set[tuple[str, str]] = set()
    for entry in entries:
        if not entry.section or (entry.doc, entry.section) in seen:
            continue
        seen.add((entry.doc, entry.section))
        retrieved.append(entry)
    return tuple(retrieved)


def _section_of(item: Mapping[str, Any]) -> str:
    value = item.get("section") or item.get("clause") or ""
    return str(value)


def _amount(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _float_or_none(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _same_amount(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return round(a, 4) == round(b, 4)


def _cited(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(document, section) of each citation, without repeats or empty sections, in order."""
    return [pair for pair in dict.fromkeys(pairs) if pair[1]]


def dedupe(items: Iterable[str]) -> tuple[str, ...]:
    """Items in order without repeats (first occurrence kept)."""
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return tuple(out)


def section_sort_key(key: str) -> tuple[int, int, str]:
    """Document order for section keys: preamble, chapter:…, 一 … 二十六, then anything else."""
    if key == "preamble":
        return (0, 0, key)
    if key.startswith("chapter:"):
        return (1, _numeral(key.removeprefix("chapter:")), key)
    number = _numeral(key)
    return (2, number, key) if number < 10_000 else (3, 0, key)


def _numeral(text: str) -> int:
    try:
        return chinese_to_int(text)
    except ValueError:
        return 10_000


def stated_amounts(text: str, caps: Iterable[CapRecord]) -> list[float]:
    """Every amount an answer states, in 万元: figures parsed from its text plus its caps' figures."""
    amounts = [amount for amount, _, _ in find_amounts_wan(text)]
    amounts.extend(c.amount_wan for c in caps if c.amount_wan is not None)
    return amounts


def unsupported(amounts: Iterable[float], known: Iterable[float]) -> tuple[float, ...]:
    """Amounts not in ``known`` (compared to 4 decimals), deduplicated, in order."""
    table = {round(k, 4) for k in known}
    out: list[float] = []
    for amount in amounts:
        if round(amount, 4) not in table and amount not in out:
            out.append(amount)
    return tuple(out)


def prf(predicted: Sequence[str], gold: Sequence[str]) -> tuple[float, float, float]:
    """Per-case precision, recall and F1 of a citation set (empty gold: see the module docstring)."""
    pred, truth = set(predicted), set(gold)
    if not truth:
        return (1.0, 1.0, 1.0) if not pred else (0.0, 1.0, 0.0)
    tp = len(pred & truth)
    precision = tp / len(pred) if pred else 0.0
    recall = tp / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def f1_of(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _micro(tp: int, fp: int, fn: int) -> tuple[float, float]:
    """Pooled precision and recall; nothing cited → precision 1 only if there was nothing to find."""
    precision = tp / (tp + fp) if tp + fp else (1.0 if fn == 0 else 0.0)
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation, like ``numpy.percentile``; ``None`` if empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


# ---- grading ------------------------------------------------------------------------------------------
def top1_correct(case: EvalCase, answer: AnswerView) -> bool:
    """Top-1 correctness as defined in the module docstring."""
    if case.must_refuse:
        return answer.refused
    if answer.refused or answer.error:
        return False
    if not case.gold_clauses:
        return not answer.cited
    return bool(answer.cited) and answer.cited[0] in case.gold_clauses


def grade(case: EvalCase, answer: AnswerView, known_amounts: Iterable[float] | None = None,
          home_doc: str = "") -> Graded:
    """Grade one answer against its case.

    Args:
        case: the question with gold clauses and caps.
        answer: the answer as read by :meth:`AnswerView.from_json`.
        known_amounts: every figure of the cap table in 万元; ``None`` skips the unsupported-amount check.
        home_doc: the document a case without ``doc`` is about (the assistant's primary); "" grades by key alone.

    Returns:
        The graded case, with the reasons it is wrong (if it is).
    """
    answer = answer.relative_to(case.doc or home_doc)
    gold = dedupe(case.gold_clauses)
    cited = answer.cited
    precision, recall, f1 = prf(cited, gold)
    tp = tuple(c for c in cited if c in gold)
    fp = tuple(c for c in cited if c not in gold)
    fn = tuple(g for g in gold if g not in cited)
    ranks = {r.section: i for i, r in enumerate(answer.retrieved, start=1)}
    gold_ranks = tuple((g, ranks.get(g)) for g in gold)
    caps_hit = tuple(g for g in case.gold_caps if any(g.matches(c) for c in answer.caps))
    caps_missed = tuple(g for g in case.gold_caps if g not in caps_hit)
    bad_amounts = None if known_amounts is None else unsupported(stated_amounts(answer.text, answer.caps), known_amounts)
    asked = {round(a, 4) for turn in case.turns for a, _, _ in find_amounts_wan(turn)}
    echoed = tuple(a for a in bad_amounts or () if round(a, 4) in asked)
    correct = top1_correct(case, answer)
    reasons = _reasons(case, answer, correct, fp, fn, gold_ranks, caps_missed, bad_amounts, echoed)
    quality = check_answer(case.turns, [(g.amount_wan, g in caps_hit) for g in case.gold_caps],
                           answer.answer_text, answer.refused or bool(answer.error))
    return Graded(
        case=case,
        answer=answer,
        top1_correct=correct,
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        precision=precision,
        recall=recall,
        f1=f1,
        exact_match=set(cited) == set(gold),
        gold_ranks=gold_ranks,
        caps_hit=caps_hit,
        caps_missed=caps_missed,
        unsupported_amounts=bad_amounts,
        reasons=reasons,
        echoed_amounts=echoed,
        quality=quality,
    )


def _reasons(
    case: EvalCase,
    answer: AnswerView,
    correct: bool,
    fp: tuple[str, ...],
    fn: tuple[str, ...],
    gold_ranks: tuple[tuple[str, int | None], ...],
    caps_missed: tuple[CapRecord, ...],
    bad_amounts: tuple[float, ...] | None,
    echoed: tuple[float, ...] = (),
) -> tuple[str, ...]:
    reasons: list[str] = []
    if answer.error:
        reasons.append(f"error: {answer.error}")
    if case.must_refuse and not answer.refused:
        reasons.append("should have refused (out of scope) but answered")
    elif not case.must_refuse and answer.refused:
        reasons.append("refused an answerable question")
    elif not correct and case.gold_clauses and answer.cited:
        reasons.append(f"first citation {answer.cited[0]} is not gold")
    elif not correct and case.gold_clauses and not answer.error:
        reasons.append("no citation")
    elif not correct and not case.gold_clauses and answer.cited:
        reasons.append("cited a clause where none is needed")
    for key, rank in gold_ranks:
        if key not in fn:
            continue
        if not answer.retrieval_reported:
            reasons.append(f"gold {key} not cited")
        elif rank is None:
            reasons.append(f"gold {key} not cited, not retrieved")
        else:
            reasons.append(f"gold {key} not cited, retrieved at rank {rank}")
    if fp and not (case.must_refuse and not answer.refused):
        reasons.append("cited non-gold " + "、".join(fp))
    for cap in caps_missed:
        reasons.append(f"cap missing or wrong: {cap.label}")
    if bad_amounts:
        reasons.append("unsupported amount " + "、".join(
            f"{a:g}万元" + (" (echoed from the question)" if a in echoed else "") for a in bad_amounts))
    return tuple(reasons)


# ---- summaries ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    """The metrics of a set of graded cases (see the module docstring for definitions)."""

    n: int
    n_must_refuse: int
    n_errors: int
    top1_accuracy: float | None
    citation_precision_micro: float | None
    citation_recall_micro: float | None
    citation_f1_micro: float | None
    citation_precision_macro: float | None
    citation_recall_macro: float | None
    citation_f1_macro: float | None
    exact_match: float | None
    n_retrieval: int
    retrieval_top1: float | None
    recall_at_1: float | None
    recall_at_3: float | None
    recall_at_5: float | None
    mrr: float | None
    n_gold_caps: int
    caps_accuracy: float | None
    n_unsupported: int
    unsupported_amount_rate: float | None
    unsupported_invented_rate: float | None
    refusal_precision: float | None
    refusal_recall: float | None
    latency_p50: float | None
    latency_p95: float | None
    quality_money_lead: float | None = None
    quality_match_terms: float | None = None
    quality_conditions: float | None = None
    quality_followup_detail: float | None = None
    n_quality_problems: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in data.items()}


# Metric name → short label, in display order. Retrieval-only runs show only the RETRIEVAL_METRICS.
METRIC_LABELS: dict[str, str] = {
    "top1_accuracy": "top-1 accuracy",
    "citation_precision_micro": "citation P (micro)",
    "citation_recall_micro": "citation R (micro)",
    "citation_f1_micro": "citation F1 (micro)",
    "citation_f1_macro": "citation F1 (macro)",
    "exact_match": "exact set match",
    "retrieval_top1": "retriever top-1",
    "recall_at_1": "recall@1",
    "recall_at_3": "recall@3",
    "recall_at_5": "recall@5",
    "mrr": "MRR",
    "caps_accuracy": "caps accuracy",
    "unsupported_amount_rate": "unsupported amount rate",
    "unsupported_invented_rate": "unsupported (not from question)",
    "refusal_precision": "refusal precision",
    "refusal_recall": "refusal recall",
    "latency_p50": "latency p50 (ms)",
    "latency_p95": "latency p95 (ms)",
    "quality_money_lead": "money answer leads with the cap",
    "quality_match_terms": "match reasons without function words",
    "quality_conditions": "conditions are whole phrases",
    "quality_followup_detail": "follow-up leads with the detail asked",
}
RETRIEVAL_METRICS: tuple[str, ...] = ("retrieval_top1", "recall_at_1", "recall_at_3", "recall_at_5", "mrr")


def summarize(graded: Sequence[Graded]) -> Summary:
    """Aggregate graded cases into the metrics of :class:`Summary`.

    Args:
        graded: the cases of one run (or of one subset, for breakdowns).

    Returns:
        The metrics; a metric with nothing to measure is ``None``.
    """
    n = len(graded)
    tp = sum(len(g.true_positives) for g in graded)
    fp = sum(len(g.false_positives) for g in graded)
    fn = sum(len(g.false_negatives) for g in graded)
    micro_p, micro_r = _micro(tp, fp, fn) if n else (None, None)
    retrieval = [g for g in graded if g.retrieval_graded]
    nr = len(retrieval)
    caps_total = sum(len(g.case.gold_caps) for g in graded)
    caps_hit = sum(len(g.caps_hit) for g in graded)
    checked = [g for g in graded if g.unsupported_amounts is not None]
    n_unsupported = sum(1 for g in checked if g.unsupported_amounts)
    refused = [g for g in graded if g.answer.refused]
    must = [g for g in graded if g.case.must_refuse]
    both = sum(1 for g in refused if g.case.must_refuse)
    latencies = [g.answer.latency_ms for g in graded if g.answer.latency_ms is not None and not g.answer.error]
    return Summary(
        n=n,
        n_must_refuse=len(must),
        n_errors=sum(1 for g in graded if g.answer.error),
        top1_accuracy=_ratio(sum(g.top1_correct for g in graded), n),
        citation_precision_micro=micro_p,
        citation_recall_micro=micro_r,
        citation_f1_micro=f1_of(micro_p, micro_r),
        citation_precision_macro=_ratio(sum(g.precision for g in graded), n),
        citation_recall_macro=_ratio(sum(g.recall for g in graded), n),
        citation_f1_macro=_ratio(sum(g.f1 for g in graded), n),
        exact_match=_ratio(sum(g.exact_match for g in graded), n),
        n_retrieval=nr,
        retrieval_top1=_ratio(sum(g.retrieval_top1_correct for g in retrieval), nr),
        recall_at_1=_ratio(sum(g.recall_at(1) for g in retrieval), nr),
        recall_at_3=_ratio(sum(g.recall_at(3) for g in retrieval), nr),
        recall_at_5=_ratio(sum(g.recall_at(5) for g in retrieval), nr),
        mrr=_ratio(sum(g.reciprocal_rank for g in retrieval), nr),
        n_gold_caps=caps_total,
        caps_accuracy=_ratio(caps_hit, caps_total),
        n_unsupported=n_unsupported,
        unsupported_amount_rate=_ratio(n_unsupported, len(checked)),
        unsupported_invented_rate=_ratio(sum(1 for g in checked if g.invented_amounts), len(checked)),
        refusal_precision=_ratio(both, len(refused)),
        refusal_recall=_ratio(both, len(must)),
        latency_p50=percentile(latencies, 50),
        latency_p95=percentile(latencies, 95),
        quality_money_lead=_rule_rate(graded, "money_lead"),
        quality_match_terms=_rule_rate(graded, "clean_match_terms"),
        quality_conditions=_rule_rate(graded, "whole_conditions"),
        quality_followup_detail=_rule_rate(graded, "followup_detail"),
        n_quality_problems=sum(1 for g in graded if g.quality.problems),
    )


def _rule_rate(graded: Sequence[Graded], rule: str) -> float | None:
    """Share of the answers an answer-quality rule applies to that pass it (None: it applies to none)."""
    verdicts = [getattr(g.quality, rule) for g in graded if getattr(g.quality, rule) is not None]
    return _ratio(sum(verdicts), len(verdicts))


def breakdown(graded: Sequence[Graded], keys: Callable[[Graded], Iterable[str]]) -> dict[str, Summary]:
    """Summaries per group; a case belongs to every group ``keys`` returns for it (e.g. each of its tags).

    Args:
        graded: the graded cases.
        keys: the group names of a case.

    Returns:
        Group name → summary, groups sorted by name.
    """
    groups: dict[str, list[Graded]] = {}
    for g in graded:
        for key in dedupe(keys(g)):
            groups.setdefault(key, []).append(g)
    return {key: summarize(groups[key]) for key in sorted(groups)}


def by_persona(graded: Sequence[Graded]) -> dict[str, Summary]:
    return breakdown(graded, lambda g: [g.case.persona])


def by_tag(graded: Sequence[Graded]) -> dict[str, Summary]:
    return breakdown(graded, lambda g: g.case.tags)


@dataclass(frozen=True)
class ClauseStats:
    """How questions whose gold includes one clause fared.

    ``top1`` counts cases answered correctly at top-1; ``cited`` counts cases that cited this clause;
    ``retrieved_at_5`` counts cases (with a reported list) where it was among the first 5 retrieved.
    """

    clause: str
    n: int
    top1: int
    cited: int
    retrieved_at_5: int
    n_retrieval: int

    @property
    def top1_accuracy(self) -> float:
        return self.top1 / self.n if self.n else 0.0

    @property
    def cited_rate(self) -> float:
        return self.cited / self.n if self.n else 0.0


def by_clause(graded: Sequence[Graded]) -> dict[str, ClauseStats]:
    """Per gold clause statistics, in document order."""
    counters: dict[str, Counter[str]] = {}
    for g in graded:
        for key, rank in g.gold_ranks:
            c = counters.setdefault(key, Counter())
            c["n"] += 1
            c["top1"] += g.top1_correct
            c["cited"] += key in g.answer.cited
            if g.retrieval_graded:
                c["n_retrieval"] += 1
                c["retrieved_at_5"] += rank is not None and rank <= 5
    return {
        key: ClauseStats(key, c["n"], c["top1"], c["cited"], c["retrieved_at_5"], c["n_retrieval"])
        for key, c in sorted(counters.items(), key=lambda kv: section_sort_key(kv[0]))
    }


def confusion(graded: Sequence[Graded]) -> Counter[tuple[str, str]]:
    """(gold label, predicted label) → count over the cases that are wrong at top-1."""
    return Counter((g.gold_label, g.predicted_label) for g in graded if not g.top1_correct)
