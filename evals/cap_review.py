"""Review the cap extractor on a test document: its cap table as JSON, and where it differs from a writer's list.

Each folder of ``evals/documents/`` holds a fictional document (``<id>.txt`` and ``<id>.toml``) and the list of
awards its writer typed by hand (``<id>.writer-caps.json``: section as printed, amount_wan, qualifier, percent,
term, basis, quote). ``tests/golden/caps-<id>.json`` is the extractor's reviewed output; ``tests/test_caps_documents.py``
holds every remaining disagreement with the writer and which side the text supports.

    python -m evals.cap_review evals/documents/application-notice-2023            # disagreements, one a line
    python -m evals.cap_review evals/documents/application-notice-2023 --golden   # the cap table as golden JSON
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from indexing.caps import THIS_MEASURE, Award, extract_awards
from indexing.corpus import CorpusDocument, load_document

REVIEWED_FIELDS = ("amount_wan", "qualifier", "percent", "term", "basis")
# The writers' word for "the awarding document itself"; the cap table's is THIS_MEASURE.
WRITER_THIS_DOCUMENT = "本文件"


@dataclass(frozen=True)
class Disagreement:
    """One award on which the writer's list and the extractor differ (``field`` "missing"/"extra" for a whole award)."""

    section: str     # as the document prints it: 第十二条, （五）
    field: str
    writer: object
    extracted: object
    quote: str

    def line(self) -> str:
        return f"{self.section} {self.field}: writer {self.writer!r}, extracted {self.extracted!r} | {self.quote}"


def load_test_document(folder: Path) -> CorpusDocument:
    """The document of a test folder, parsed with its metadata (``<id>.txt`` beside ``<id>.toml``)."""
    return load_document(folder / f"{folder.name}.txt")


def document_caps(document: CorpusDocument) -> dict[str, object]:
    """The cap table in the shape of ``caps --json``: ``{doc, status, caps}``."""
    awards = extract_awards(document.document, document.meta.linked)
    return {"doc": document.meta.id, "status": document.meta.status, "caps": [a.to_json() for a in awards]}


def _prints(document: CorpusDocument, award: Award, label: str) -> bool:
    """Whether the award's section starts with ``label`` as printed (第十二条, （五）, （七） for the notice's 一（七））."""
    return document.document.section(award.clause).text.startswith(label)


def _writer_value(field: str, value: object) -> object:
    if field == "basis" and isinstance(value, str):
        return THIS_MEASURE if value == WRITER_THIS_DOCUMENT else value.strip("《》")
    return value


def compare(document: CorpusDocument, writer: Sequence[dict[str, object]]) -> list[Disagreement]:
    """Pair each of the writer's awards with an extracted one (same section as printed, quotes overlapping, same
    amount when the section has several) and list every field that differs, then awards on one side only."""
    left = list(extract_awards(document.document, document.meta.linked))
    found: list[Disagreement] = []
    for wanted in writer:
        quote, section = str(wanted["quote"]), str(wanted["section"])
        candidates = [a for a in left if (quote in a.quote or a.quote in quote) and _prints(document, a, section)]
        same_amount = [a for a in candidates if a.amount_wan == wanted["amount_wan"]]
        if not candidates:
            found.append(Disagreement(section, "missing", wanted["amount_wan"], None, quote))
            continue
        award = (same_amount or candidates)[0]
        left.remove(award)
        for field in REVIEWED_FIELDS:
            want, got = _writer_value(field, wanted[field]), getattr(award, field)
            if want != got:
                found.append(Disagreement(section, field, want, got, award.quote))
    for award in left:
        label = document.document.section(award.clause).label
        found.append(Disagreement(label, "extra", None, award.amount_wan, award.quote))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.cap_review", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder of evals/documents/")
    parser.add_argument("--golden", action="store_true", help="print the cap table as golden JSON instead")
    args = parser.parse_args(argv)
    document = load_test_document(args.folder)
    if args.golden:
        sys.stdout.write(json.dumps(document_caps(document), ensure_ascii=False, indent=2) + "\n")
        return 0
    writer = json.loads((args.folder / f"{args.folder.name}.writer-caps.json").read_text(encoding="utf-8"))
    for disagreement in compare(document, writer):
        print(disagreement.line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
