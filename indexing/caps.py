"""The award-cap table: every award sentence of the measure as a typed record, derived from the text.

No amount in this project is typed by hand: awards are read from the clause sentences by the patterns
below, and ``tests/golden/caps.json`` holds the reviewed result so that any change shows up in a test.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from indexing.document import LinkedDocument, PolicyDocument, Section, Sentence
from indexing.numerals import format_wan
from indexing.section_ref import SectionRef

Qualifier = Literal["最高", "一次性最高", "每年最高", "追加", "按资助办法"]
QUALIFIERS: tuple[str, ...] = ("最高", "一次性最高", "每年最高", "追加", "按资助办法")
THIS_MEASURE = "本措施"

_KIND = r"(?P<kind>资助|奖励|扶持|支持)"
_DEFER = r"按《(?P<doc>[^》]+)》相关规定"
_FIGURE_RE = re.compile(
    r"(?P<defer>" + _DEFER + r")?[^，。；]*?(?P<yearly>每年)?给予(?P<inner>[^，。；]*?)"
    r"(?P<q>一次性最高|最高)(?P<amount>\d+(?:\.\d+)?)万元(?:的)?" + _KIND
)
_ADD_RE = re.compile(r"在《(?P<doc>[^》]+)》的基础上追加(?P<amount>\d+(?:\.\d+)?)万元(?:的)?" + _KIND)
_DEFER_ONLY_RE = re.compile(_DEFER + r"予以" + _KIND)
_TERM_RE = re.compile(r"[^，。；]*期限[^，。；]*")
_TARGET_RE = re.compile(r"(?:^|[，,])\s*(?:对于|对)(?P<target>[^，,]+)")


@dataclass(frozen=True)
class Award:
    """One award of one clause, exactly as the text states it.

    ``amount_wan`` is ``None`` when the clause defers the amount to another document.
    ``basis`` names where the amount is set: ``本措施`` or the linked document's title.
    ``doc_id`` is the document whose clause states it (kept out of the JSON contract), so that two documents' clause
    （十六） back only their own figures.
    """

    clause: str
    amount_wan: float | None
    qualifier: Qualifier
    term: str
    target: str
    kind: str
    basis: str
    basis_doc: str | None
    quote: str
    start: int
    end: int
    doc_id: str = ""

    @property
    def ref(self) -> SectionRef:
        """The clause of the document that states this award."""
        return SectionRef.parse(self.clause, self.doc_id)

    @property
    def amount_text(self) -> str:
        """The amount with its qualifier, as a person reads it: 最高200万元, 追加100万元, 按资助办法执行."""
        if self.amount_wan is None:
            return f"金额按《{self.basis}》相关规定执行（本措施未写明金额）"
        amount = format_wan(self.amount_wan)
        if self.qualifier == "追加":
            return f"在《{self.basis}》资助基础上追加{amount}"
        return f"{self.qualifier}{amount}"

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        del data["doc_id"]
        if isinstance(self.amount_wan, float) and self.amount_wan.is_integer():
            data["amount_wan"] = int(self.amount_wan)
        data["amount_text"] = self.amount_text
        return data


def _linked_by_name(name: str, linked: Sequence[LinkedDocument]) -> LinkedDocument | None:
    for doc in linked:
        if name in doc.names:
            return doc
    return None


def _target(prefix: str, inner: str, section: Section) -> str:
    """Who the award is for: the 对… phrase before 给予, else the words between 给予 and 最高."""
    matches = list(_TARGET_RE.finditer(prefix))
    if matches:
        return matches[-1].group("target").strip().removesuffix("分档次").strip("，, ")
    if inner.strip():
        return inner.strip()
    return section.title


def _term(sentence: Sentence, after: int) -> str:
    for match in _TERM_RE.finditer(sentence.text, after):
        return match.group(0).strip()
    return ""


def _basis(doc_name: str | None, linked: Sequence[LinkedDocument]) -> tuple[str, str | None]:
    if not doc_name:
        return THIS_MEASURE, None
    doc = _linked_by_name(doc_name, linked)
    return (doc.title, doc.id) if doc else (doc_name, None)


def awards_of_section(section: Section, linked: Sequence[LinkedDocument] = ()) -> list[Award]:
    """Extract the awards stated in one clause.

    Args:
        section: a parsed clause (chapter text and the preamble state no awards, but are accepted).
        linked: linked documents, to resolve "按《…》相关规定" to a document title and id.

    Returns:
        Awards in order of appearance.
    """
    awards: list[Award] = []
    for sentence in section.sentences:
        text = sentence.text

        def add(match: re.Match[str], amount: float | None, qualifier: Qualifier, target: str,
                term: str, sentence: Sentence = sentence) -> None:
            basis, basis_doc = _basis(match.group("doc") if "doc" in match.re.groupindex else None, linked)
            awards.append(Award(section.key, amount, qualifier, term, target, match.group("kind"),
                                basis, basis_doc, sentence.text, sentence.start, sentence.end, section.doc_id))

        for match in _FIGURE_RE.finditer(text):
            qualifier: Qualifier = "每年最高" if match.group("yearly") else match.group("q")  # type: ignore[assignment]
            # The 对… phrase ends where 按《…》/每年/给予 begins.
            if match.group("defer"):
                cut = match.start("defer")
            elif match.group("yearly"):
                cut = match.start("yearly")
            else:
                cut = text.rfind("给予", 0, match.start("q"))
            add(match, float(match.group("amount")), qualifier, _target(text[:cut], match.group("inner"), section),
                _term(sentence, match.end()))
        for match in _ADD_RE.finditer(text):
            # 在《资助办法》的基础上追加: the addition is this measure's, on top of the fund's award.
            add(match, float(match.group("amount")), "追加", _target(text[: match.start()], "", section),
                _term(sentence, match.end()))
        for match in _DEFER_ONLY_RE.finditer(text):
            add(match, None, "按资助办法", _target(text[: match.start()], "", section), "")
    return awards


def extract_awards(document: PolicyDocument, linked: Sequence[LinkedDocument] = ()) -> list[Award]:
    """Every award of a document, clause by clause."""
    awards: list[Award] = []
    for section in document.sections:
        awards.extend(awards_of_section(section, linked))
    return awards


class CapTable:
    """Deterministic look-ups over the awards of the corpus."""

    def __init__(self, awards: Iterable[Award]) -> None:
        self.awards: tuple[Award, ...] = tuple(awards)
        self._by_clause: dict[str, list[Award]] = {}
        for award in self.awards:
            self._by_clause.setdefault(award.clause, []).append(award)

    def for_clause(self, key: str) -> list[Award]:
        """Awards of one clause (empty when the clause states none)."""
        return list(self._by_clause.get(key, ()))

    def largest(self, limit: int | None = None) -> list[Award]:
        """Awards with a figure, largest first (ties in clause order); deferrals without figure last."""
        with_figure = [a for a in self.awards if a.amount_wan is not None]
        ranked = sorted(with_figure, key=lambda a: -(a.amount_wan or 0))
        return ranked[:limit] if limit else ranked

    def max_amount(self) -> float:
        return max((a.amount_wan for a in self.awards if a.amount_wan is not None), default=0.0)

    def by_target_words(self, words: Iterable[str]) -> list[Award]:
        """Awards whose target or quote contains any of ``words``, most words matched first."""
        words = [w for w in words if w]
        scored = []
        for award in self.awards:
            hits = sum(1 for w in words if w in award.target or w in award.quote)
            if hits:
                scored.append((hits, award))
        scored.sort(key=lambda pair: -pair[0])
        return [award for _, award in scored]

    def amounts(self) -> set[float]:
        """Every figure in the table, in 万元."""
        return {a.amount_wan for a in self.awards if a.amount_wan is not None}

    def to_json(self) -> list[dict[str, object]]:
        return [a.to_json() for a in self.awards]
