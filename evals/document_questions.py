"""The question sets of the test documents (``evals/questions/documents/<id>.jsonl``): where they are, and how the
hand-written sets are converted into the question format.

Each set was written from one test document's text alone (``evals/documents/<id>/``), naming sections as printed
("第十三条", "（七）", "二（三）", "三、" for a flat document's item, "preamble"). Conversion keeps every field and the
gold as written; it only turns the printed labels into stored keys with the parser's own reading
(``indexing.references.label_key``) and maps the writers' personas onto the format's two (``hotline`` for hotline
staff, ``entrepreneur`` for everyone else; the writer's word is kept in ``persona_as_written``).

    python -m evals.document_questions /path/to/hand-written/sets    # rewrites evals/questions/documents/*.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from indexing.references import label_key

DOCUMENTS_DIR = Path(__file__).resolve().parent / "documents"
DOCUMENT_QUESTIONS_DIR = Path(__file__).resolve().parent / "questions" / "documents"
# More fictional documents of other shapes, each with a question set written from its text alone: data for
# learning what does not depend on one document (``evals/training_documents/README.md``). The three test documents
# above stay held out for measuring.
TRAINING_DOCUMENTS_DIR = Path(__file__).resolve().parent / "training_documents"
TRAINING_QUESTIONS_DIR = Path(__file__).resolve().parent / "questions" / "training_documents"


def fixture_document_ids(documents_dir: Path = DOCUMENTS_DIR) -> list[str]:
    """The ids of the test documents (a folder each, holding ``<id>.txt`` and ``<id>.toml``)."""
    return sorted(p.name for p in documents_dir.iterdir() if (p / f"{p.name}.toml").is_file())


def question_file(doc_id: str, questions_dir: Path = DOCUMENT_QUESTIONS_DIR) -> Path:
    return questions_dir / f"{doc_id}.jsonl"


def _key(label: str, where: str) -> str:
    # "三、": a top-level item of a flat document (一、…三十、 with nothing under them), stored as clause 三; a part
    # of a document with items under its parts is written "第三部分".
    key = label_key(label.removesuffix("、"))
    if key is None:
        raise ValueError(f"{where}: {label!r} names no section")
    return key


def _persona(written: str) -> str:
    return "hotline" if "hotline" in written or written == "staff" else "entrepreneur"


def convert_record(data: dict[str, Any]) -> dict[str, Any]:
    """One hand-written question in the question format (``gold_sections`` as printed → ``gold_clauses`` as keys).

    Raises:
        ValueError: a printed label names no section, or the record has no ``doc``.
    """
    where = str(data.get("id", "?"))
    if not data.get("doc"):
        raise ValueError(f"{where}: no \"doc\"")
    caps = [{"clause": _key(c["section"], where), "amount_wan": c["amount_wan"], "qualifier": c["qualifier"]}
            for c in data["gold_caps"]]
    return {
        "id": data["id"],
        "source": data.get("source", ""),
        "doc": data["doc"],
        "turns": data["turns"],
        "gold_clauses": [_key(label, where) for label in data["gold_sections"]],
        "gold_caps": caps,
        "must_refuse": data["must_refuse"],
        "persona": _persona(str(data.get("persona", ""))),
        "persona_as_written": data.get("persona", ""),
        "tags": data["tags"],
        "note": data.get("note", ""),
    }


def convert_folder(source: Path, target: Path = DOCUMENT_QUESTIONS_DIR) -> list[Path]:
    """Convert every ``<id>.jsonl`` of ``source`` into ``target`` (same names); returns the files written."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(source.glob("*.jsonl")):
        records = [convert_record(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()
                   if line.strip()]
        out = target / path.name
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        written.append(out)
    return written


if __name__ == "__main__":
    for written_file in convert_folder(Path(sys.argv[1])):
        print(written_file)
