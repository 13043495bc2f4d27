"""A question set's blind second labelling, and the figures graded against it (``eval --documents``).

Why: a test document's questions are asked of an index that holds other documents too, but their writer read only
one. A notice restates the measures it carries out, and another document may state what the writer took to be "not
in the text"; the writer's gold then calls a right answer wrong. As ``../shared/WRITERS.md`` asks, a second labeller,
seeing only the documents and the questions, listed every section of every indexed document that answers each
question (``<questions_dir>/blind-labels/<set>.jsonl``; the brief is ``BRIEF.md`` there); where the two disagree, the
disagreement is resolved from the text or the question dropped (``resolutions.jsonl``, each with its reason).

Graded against both: a question is answerable when the writer's gold section is among the second labeller's answering
(or partly answering) sections, or its disagreement was resolved so; its first citation is right when it is the
writer's gold or a section the second labeller (or the resolution) found answering the whole question. A question both call not covered must be declined.
Dropped questions, and disagreements not yet resolved, are left out and counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evals.metrics import Graded

LABELS_FOLDER = "blind-labels"
RESOLUTIONS_FILE = "resolutions.jsonl"


@dataclass(frozen=True)
class SecondLabel:
    """The second labeller's reading of one question; sections are written ``<doc>#<key>``."""

    id: str
    answered_by: tuple[str, ...]
    partial: tuple[str, ...]
    not_covered: bool


@dataclass(frozen=True)
class Resolution:
    """A disagreement resolved from the text: ``answerable`` by ``answered_by``, or ``dropped``."""

    id: str
    answerable: bool
    answered_by: tuple[str, ...]


def _objects(path: Path) -> Iterable[dict[str, Any]]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                yield json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: invalid JSON ({exc})") from None


@dataclass(frozen=True)
class SecondLabelling:
    labels: dict[str, SecondLabel]
    resolutions: dict[str, Resolution]

    @classmethod
    def load(cls, questions_dir: Path, set_name: str) -> SecondLabelling | None:
        """The set's second labelling, or None when it has none."""
        folder = questions_dir / LABELS_FOLDER
        path = folder / f"{set_name}.jsonl"
        if not path.exists():
            return None
        try:
            labels = {o["id"]: SecondLabel(o["id"], tuple(o["answered_by"]), tuple(o.get("partial", ())),
                                           bool(o["not_covered"])) for o in _objects(path)}
            resolutions = ({o["id"]: Resolution(o["id"], o["resolved"] == "answerable", tuple(o.get("answered_by", ())))
                            for o in _objects(folder / RESOLUTIONS_FILE)} if (folder / RESOLUTIONS_FILE).exists()
                           else {})
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{folder}: a label lacks {exc}") from None
        return cls(labels, resolutions)


@dataclass(frozen=True)
class SecondLabelledFigures:
    """A run's questions graded against both labellings (see the module's docstring)."""

    n: int                      # questions kept: answerable or not covered by both (or by resolution)
    answerable: int
    first_answers: int          # answerable questions whose first citation answers them
    not_covered: int
    declined: int               # not-covered questions declined
    fails_same_document: int    # answerable, first citation another section of the question's document
    fails_other_document: int
    fails_declined: int
    dropped: int                # resolved as dropped
    unresolved: int             # the labellers disagree and nothing resolves it yet (or no second label)

    @property
    def top1(self) -> float | None:
        """Right first citations and right declines over the questions kept."""
        return (self.first_answers + self.declined) / self.n if self.n else None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "top1": self.top1}


def grade_second(graded: Iterable[Graded], labelling: SecondLabelling) -> SecondLabelledFigures:
    from evals.metrics import document_qualified

    counts = dict.fromkeys(("n", "answerable", "first_answers", "not_covered", "declined", "fails_same_document",
                            "fails_other_document", "fails_declined", "dropped", "unresolved"), 0)
    for g in graded:
        doc, case = g.case.doc, g.case
        gold = {document_qualified(k, doc) for k in case.gold_clauses}
        label, resolution = labelling.labels.get(case.id), labelling.resolutions.get(case.id)
        first = document_qualified(g.answer.cited[0], doc) if g.answer.cited and not g.answer.refused else None
        if resolution is not None:
            if not resolution.answerable:
                counts["dropped"] += 1
                continue
            answering = set(resolution.answered_by)
        elif label is None:
            counts["unresolved"] += 1
            continue
        elif case.must_refuse and label.not_covered:
            counts["n"] += 1
            counts["not_covered"] += 1
            counts["declined"] += g.answer.refused
            continue
        elif not case.must_refuse and gold & set(label.answered_by + label.partial):
            # A section that answers only part of the question (the cap but not the ratio asked too) is no right
            # first citation, unless it is the writer's gold.
            answering = gold | (set(label.answered_by) - set(label.partial))
        else:
            counts["unresolved"] += 1
            continue
        counts["n"] += 1
        counts["answerable"] += 1
        if first in answering:
            counts["first_answers"] += 1
        elif first is None:
            counts["fails_declined"] += 1
        elif first.split("#", 1)[0] == doc:
            counts["fails_same_document"] += 1
        else:
            counts["fails_other_document"] += 1
    return SecondLabelledFigures(**counts)
