"""The guard on LLM text: every amount from a cited clause's cap record, every cited clause retrieved, no markup.

Pure functions over plain data. ``check_generated`` returns the violations; an empty list means the text
may be shown. Anything it cannot vouch for counts as a violation: the caller then shows the deterministic
answer instead, so a false alarm costs only phrasing, never a wrong figure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Set
from dataclasses import dataclass
from typing import Literal

from indexing.caps import Award
from indexing.numerals import find_amounts_wan, format_wan
from indexing.references import find_clause_refs
from indexing.section_ref import SectionRef, clause_label

ViolationCode = Literal[
    "empty",
    "too_long",
    "markup",
    "url",
    "clause_not_retrieved",
    "clause_not_cited",
    "no_citation",
    "amount_not_in_caps",
    "qualifier_mismatch",
    "qualifier_missing",
]

MAX_CHARS = 1200

# Words that change what an amount means. Keys are the markers a record's qualifier implies.
_MARKERS: dict[str, tuple[str, ...]] = {
    "每年": ("每年", "每一年", "年度", "逐年", "/年", "一年最高"),
    "一次性": ("一次性", "一次给予", "一次付清"),
    "追加": ("追加", "额外", "另外再", "再加", "在此基础上", "基础上再"),
}
_RECORD_MARKERS: dict[str, frozenset[str]] = {
    "最高": frozenset(),
    "每年最高": frozenset({"每年"}),
    "一次性最高": frozenset({"一次性"}),
    "追加": frozenset({"追加"}),
    "按资助办法": frozenset(),
    "按比例": frozenset(),
    "按其他文件": frozenset(),
}
# A cap is an upper bound: saying "给予200万元" for a "最高200万元" record reads as a fixed sum.
_CEILING_WORDS = ("最高", "不超过", "上限", "至多", "最多", "封顶", "以内", "以下", "为限")
_WINDOW_BEFORE = 24
_WINDOW_AFTER = 6
_BOUNDARY_RE = re.compile(r"[。；;！!？?\n]")

_MARKUP_RE = re.compile(
    r"<\s*/?\s*[a-zA-Z][^>]*>"          # any HTML tag, <script> included
    r"|javascript\s*:|vbscript\s*:|data\s*:\s*text/html"
    r"|!\[[^\]]*\]\([^)]*\)"            # markdown image
    r"|\[[^\]]*\]\([^)]*\)"             # markdown link
    r"|\bon[a-z]+\s*=",                 # inline event handler
    re.IGNORECASE,
)
# "这一条" / "其中一条" / "每一条" are measure words, not references to clause （一）.
_NOT_A_REF_RE = re.compile(r"(?:这|那|哪|每|同|另|任|上|下|其中|有)[一两几]?条(?!款)")
_URL_RE = re.compile(r"\b(?:https?|ftp)://|\bwww\.[a-z0-9-]+\.", re.IGNORECASE)


@dataclass(frozen=True)
class Violation:
    """One reason the LLM text may not be shown. ``code`` is safe to log; ``detail`` says where."""

    code: ViolationCode
    detail: str


def has_markup(text: str) -> bool:
    """Whether text carries HTML, script URLs, markdown images/links or web addresses."""
    return bool(_MARKUP_RE.search(text) or _URL_RE.search(text))


def _window(text: str, start: int, end: int, floor: int) -> tuple[str, str]:
    """The words around an amount, within its sentence and not reaching back past the previous amount."""
    lo = max(floor, start - _WINDOW_BEFORE)
    before = text[lo:start]
    cut = None
    for match in _BOUNDARY_RE.finditer(before):
        cut = match.end()
    if cut is not None:
        before = before[cut:]
    after = text[end:end + _WINDOW_AFTER]
    stop = _BOUNDARY_RE.search(after)
    if stop:
        after = after[: stop.start()]
    return before, after


def _claimed_markers(before: str) -> frozenset[str]:
    return frozenset(marker for marker, words in _MARKERS.items() if any(w in before for w in words))


def _same(a: float, b: float) -> bool:
    return abs(a - b) < 1e-6


def check_generated(
    text: str,
    cited_sections: Set[SectionRef],
    retrieved_sections: Set[SectionRef],
    caps: Iterable[Award],
    *,
    max_chars: int = MAX_CHARS,
    max_clause: int = 999,
) -> list[Violation]:
    """Check LLM text against the answer it was asked to phrase.

    Args:
        text: the LLM's reply.
        cited_sections: the sections the deterministic answer cites, each of its own document.
        retrieved_sections: the sections retrieval returned for the question.
        caps: cap records; only those of cited clauses (of the same document) can back an amount.
        max_chars: longest acceptable reply.
        max_clause: highest clause number that exists (references beyond it are not references).

    Returns:
        The violations, in order of discovery; empty when the text may be shown.
    """
    violations: list[Violation] = []
    stripped = text.strip()
    if not stripped:
        return [Violation("empty", "empty reply")]
    if len(stripped) > max_chars:
        violations.append(Violation("too_long", f"{len(stripped)} > {max_chars} characters"))
    for match in _MARKUP_RE.finditer(stripped):
        violations.append(Violation("markup", f"{match.group(0)[:40]!r} at {match.start()}"))
        break
    url = _URL_RE.search(stripped)
    if url:
        violations.append(Violation("url", f"link at {url.start()}"))

    # The text names clauses by number only: （十六） stands for a cited clause numbered 十六 that was also retrieved,
    # of whichever document; a cited clause of one document never vouches for another's retrieval.
    refs = find_clause_refs(_NOT_A_REF_RE.sub(" ", stripped), max_clause)
    for key in refs:
        if not any(r.is_clause and r.key == key for r in retrieved_sections):
            violations.append(Violation("clause_not_retrieved", f"{clause_label(key)} was not retrieved"))
        elif not any(r.is_clause and r.key == key and r in retrieved_sections for r in cited_sections):
            violations.append(Violation("clause_not_cited", f"{clause_label(key)} is not cited by the answer"))
    if not refs and any(r.is_clause for r in cited_sections):
        violations.append(Violation("no_citation", "the text cites none of the answer's clauses"))

    backing = [a for a in caps if a.ref in cited_sections and a.amount_wan is not None]
    floor = 0
    for amount, start, end in find_amounts_wan(stripped):
        shown = f"{stripped[start:end]!r} ({format_wan(amount)})"
        records = [a for a in backing if _same(a.amount_wan or 0.0, amount)]
        before, after = _window(stripped, start, end, floor)
        floor = end
        if not records:
            violations.append(Violation("amount_not_in_caps", f"{shown} matches no cap of a cited clause"))
            continue
        claimed = _claimed_markers(before)
        consistent = [a for a in records if claimed <= _RECORD_MARKERS[a.qualifier]]
        if not consistent:
            words = "/".join(sorted(claimed))
            have = "、".join(sorted({a.amount_text for a in records}))
            violations.append(Violation("qualifier_mismatch", f"{shown} is said with {words}; the record says {have}"))
            continue
        exact = [a for a in consistent if _RECORD_MARKERS[a.qualifier] <= claimed]
        if not exact:
            have = "、".join(sorted({a.amount_text for a in consistent}))
            violations.append(Violation("qualifier_missing", f"{shown} drops the qualifier of {have}"))
            continue
        ceilings = [a for a in exact if "最高" in a.qualifier or a.qualifier == "按比例"]  # 按比例: a share up to a ceiling
        if ceilings and len(ceilings) == len(exact) and not any(w in before + after for w in _CEILING_WORDS):
            violations.append(Violation("qualifier_missing", f"{shown} is stated as a fixed sum; the record is a cap"))
    return violations
