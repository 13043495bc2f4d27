"""``policy-assistant eval --documents``: the test documents answered beside the bundled measure.

The bundled measure and the three fictional test documents of ``evals/documents/`` are indexed together into a
temporary home (the documents go where ``index --add`` puts them, ``<home>/corpus/documents/``, with their own
``.toml``: title, short title, aliases, 文号, status); then each document's question set
(``evals/questions/documents/<id>.jsonl``, written from its text alone) and the bundled dev split are asked of that
one assistant. Gold is document-qualified: a citation of the right number in another document is wrong
(``evals.metrics``). No profile or lexicon entry exists for the test documents: they answer by retrieval alone.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.document_questions import DOCUMENT_QUESTIONS_DIR, DOCUMENTS_DIR, fixture_document_ids, question_file
from evals.metrics import EvalCase, Summary
from evals.runner import EvalRun, evaluate, known_amounts_of
from evals.second_labels import SecondLabelledFigures, SecondLabelling, grade_second

# The label of the bundled measure's dev split in the table (asked of the same multi-document assistant).
BUNDLED_DEV = "dev"
# Questions about no policy at all, asked of the same assistant (``<questions_dir>/chit-chat/*.jsonl``, when there):
# every document is in the index, so any citation is a wrong one.
CHIT_CHAT = "chit-chat"
# Sets of the same documents by writers who came later (``<questions_dir>/fresh/<doc id>-<writer>.jsonl``).
FRESH = "fresh"


@dataclass(frozen=True)
class DocumentRun:
    """One question set's run: a test document's set, or the bundled dev split or the chit-chat (``doc`` is then the
    primary id)."""

    name: str
    doc: str
    run: EvalRun
    second: SecondLabelledFigures | None = None   # graded against the set's blind second labelling, when it has one

    @property
    def summary(self) -> Summary:
        return self.run.summary

    def row(self) -> dict[str, Any]:
        """The figures the table and the JSON show: top-1, caps, and the not-covered (must-refuse) questions."""
        s = self.summary
        wrongly_refused = sum(1 for g in self.run.graded if g.answer.refused and not g.case.must_refuse)
        return {"set": self.name, "doc": self.doc, "n": s.n, "top1": s.top1_accuracy,
                "caps": s.caps_accuracy, "n_gold_caps": s.n_gold_caps,
                "not_covered": s.n_must_refuse, "not_covered_recall": s.refusal_recall,
                "not_covered_precision": s.refusal_precision, "wrongly_refused": wrongly_refused,
                "citation_f1_micro": s.citation_f1_micro,
                "top1_second_labelled": self.second.top1 if self.second else None,
                "second_labelled": self.second.to_json() if self.second else None}


def stage_documents(home: Path, doc_ids: Sequence[str], documents_dir: Path = DOCUMENTS_DIR) -> list[Path]:
    """Copy test documents (text and ``.toml``) where ``index --add`` keeps added documents, under ``home``."""
    target = home / "corpus" / "documents"
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for doc_id in doc_ids:
        for suffix in (".txt", ".toml"):
            source = documents_dir / doc_id / f"{doc_id}{suffix}"
            copied.append(Path(shutil.copy2(source, target / source.name)))
    return copied


def open_multi_document_assistant(home: Path, doc_ids: Sequence[str], documents_dir: Path = DOCUMENTS_DIR) -> Any:
    """Index the bundled corpus plus the test documents (of ``documents_dir``) into ``home`` and open the assistant."""
    from assistant.service import PolicyAssistant
    from indexing.build import build_index
    from indexing.config import IndexConfig
    from indexing.corpus import BUNDLED_CORPUS

    stage_documents(home, doc_ids, documents_dir)
    config = IndexConfig(home=home, corpus_dir=BUNDLED_CORPUS)
    build_index(config)
    return PolicyAssistant.open(index_config=config)


def run_documents(
    cases_by_set: dict[str, list[EvalCase]],
    doc_ids: Sequence[str] | None = None,
    home: Path | None = None,
    progress: Callable[[str], Any] | None = None,
    documents_dir: Path = DOCUMENTS_DIR,
    questions_dir: Path = DOCUMENT_QUESTIONS_DIR,
) -> list[DocumentRun]:
    """Ask each set of questions of one assistant that has every test document indexed beside the bundled measure.

    Args:
        cases_by_set: set name → its questions (a test document's id, or ``BUNDLED_DEV``).
        doc_ids: the test documents to index (default: all of ``evals/documents/``).
        home: where to build the index (default: a temporary directory, removed afterwards).
        progress: called with a set's name, returns the per-question progress callback (or None).
        documents_dir: where the documents are (the test documents, or ``TRAINING_DOCUMENTS_DIR``).
        questions_dir: where their question sets are; a set with a blind second labelling there
            (``evals.second_labels``) is graded against it too.

    Returns:
        One run per set, in the order given.
    """
    doc_ids = list(doc_ids if doc_ids is not None else fixture_document_ids(documents_dir))
    with tempfile.TemporaryDirectory(prefix="pa-documents-") as scratch:
        assistant = open_multi_document_assistant(Path(home or scratch), doc_ids, documents_dir)
        primary = assistant.knowledge.primary.meta.id
        known = known_amounts_of(assistant)
        runs = []
        for name, cases in cases_by_set.items():
            run = evaluate(assistant, cases, known, name, progress=progress(name) if progress else None)
            labelling = SecondLabelling.load(questions_dir, name)
            second = grade_second(run.graded, labelling) if labelling is not None else None
            doc = primary if name in (BUNDLED_DEV, CHIT_CHAT) else cases[0].doc if cases and cases[0].doc else name
            runs.append(DocumentRun(name, doc, run, second))
        return runs


def load_document_sets(doc_ids: Sequence[str] | None = None, with_dev: bool = True,
                       documents_dir: Path = DOCUMENTS_DIR, questions_dir: Path = DOCUMENT_QUESTIONS_DIR
                       ) -> dict[str, list[EvalCase]]:
    """The documents' question sets (and the bundled dev split and the chit-chat, when ``with_dev``), by set name."""
    from evals.questions_io import load_cases, split_files

    sets: dict[str, list[EvalCase]] = {}
    for doc_id in doc_ids if doc_ids is not None else fixture_document_ids(documents_dir):
        sets[doc_id] = load_cases([question_file(doc_id, questions_dir)])
        # Later writers' sets of the same document (``fresh/<id>-<writer>.jsonl``), each reported on its own row:
        # first scored when they came, never trained on.
        for path in sorted((questions_dir / FRESH).glob(f"{doc_id}-*.jsonl")):
            sets[f"{doc_id} ({path.stem.removeprefix(doc_id + '-')})"] = load_cases([path])
    if with_dev:
        sets[BUNDLED_DEV] = load_cases(split_files("dev"))
        if chit_chat := sorted((questions_dir / CHIT_CHAT).glob("*.jsonl")):
            sets[CHIT_CHAT] = load_cases(chit_chat)
    return sets


def render_rows(rows: Sequence[dict[str, Any]]) -> str:
    """The table printed by ``eval --documents`` (and kept in ``evals/questions/documents/README.md``)."""

    def fmt(value: float | None) -> str:
        return "—" if value is None else f"{value:.3f}"

    lines = ["| set | n | top-1 | caps (gold caps) | not-covered recall / precision (n) | answerable refused | F1 micro | "
             "top-1, second labelling (n) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        second = r.get("second_labelled")
        second_cell = f"{fmt(second['top1'])} ({second['n']})" if second else "—"
        lines.append(f"| {r['set']} | {r['n']} | {fmt(r['top1'])} | {fmt(r['caps'])} ({r['n_gold_caps']}) | "
                     f"{fmt(r['not_covered_recall'])} / {fmt(r['not_covered_precision'])} ({r['not_covered']}) | "
                     f"{r['wrongly_refused']} | {fmt(r['citation_f1_micro'])} | "
                     f"{second_cell} |")
    return "\n".join(lines) + "\n"
