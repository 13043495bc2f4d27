"""Question sets (JSONL): load and validate, with errors that name ``file:line``; split files; answer files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from evals.metrics import CapRecord, EvalCase

QUESTIONS_DIR = Path(__file__).resolve().parent / "questions"
Split = Literal["train", "dev", "all"]
SPLITS: tuple[str, ...] = ("train", "dev", "all")
PERSONAS: tuple[str, ...] = ("entrepreneur", "hotline")
QUALIFIERS: tuple[str, ...] = ("最高", "一次性最高", "每年最高", "追加", "按资助办法", "按比例", "按其他文件")
# Qualifiers of an award whose amount another document sets: no figure.
DEFERRING: tuple[str, ...] = ("按资助办法", "按其他文件")
_NUMERALS = "零〇一二三四五六七八九十百"
# 十六, chapter:一, preamble, and 二/三 (item （三） of part 二 in a document whose items restart per part).
_SECTION_RE = re.compile(rf"^(?:preamble|chapter:(?:[{_NUMERALS}]+|附则)|(?:[{_NUMERALS}]+/)?[{_NUMERALS}]+)$")
_REQUIRED = ("id", "turns", "gold_clauses", "gold_caps", "must_refuse", "persona", "tags")


class QuestionFileError(ValueError):
    """A malformed question or answer file; ``str()`` is ``file:line: message``."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        super().__init__(f"{self.path}:{line}: {message}" if line else f"{self.path}: {message}")


def split_files(split: Split, questions_dir: Path = QUESTIONS_DIR) -> list[Path]:
    """The question files of a split: train (``train.jsonl`` and ``writers/*.jsonl``), ``dev.jsonl`` or both.

    Raises:
        ValueError: for an unknown split name.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    files = []
    if split in ("train", "all"):
        # Train is the first writer's train half plus every later writer's whole set (``writers/<source>.jsonl``).
        files += [questions_dir / "train.jsonl", *sorted((questions_dir / "writers").glob("*.jsonl"))]
    if split in ("dev", "all"):
        files.append(questions_dir / "dev.jsonl")
    return files


def _jsonl_objects(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; malformed JSON raises with its line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise QuestionFileError(path, None, "file not found") from None
    except UnicodeDecodeError as exc:
        raise QuestionFileError(path, None, f"not UTF-8 ({exc.reason})") from None
    except OSError as exc:
        raise QuestionFileError(path, None, exc.strerror or str(exc)) from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionFileError(path, number, f"invalid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(data, dict):
            raise QuestionFileError(path, number, f"expected a JSON object, got {type(data).__name__}")
        yield number, data


def _string_list(value: Any, name: str, fail: Any, allow_empty: bool = True) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fail(f'"{name}" must be a list of strings')
    if not allow_empty and not value:
        fail(f'"{name}" must not be empty')
    return tuple(value)


def parse_case(data: dict[str, Any], source: str = "") -> EvalCase:
    """Validate one question object.

    Args:
        data: the decoded JSON object.
        source: ``file:line`` used in error messages.

    Returns:
        The case.

    Raises:
        ValueError: naming the first problem found.
    """

    def fail(message: str) -> None:
        raise ValueError(message)

    missing = [name for name in _REQUIRED if name not in data]
    if missing:
        fail("missing field(s): " + ", ".join(missing))
    case_id = data["id"]
    if not isinstance(case_id, str) or not case_id.strip():
        fail('"id" must be a non-empty string')
    turns = _string_list(data["turns"], "turns", fail, allow_empty=False)
    if not turns[-1].strip():
        fail('the last of "turns" is empty')
    gold = _string_list(data["gold_clauses"], "gold_clauses", fail)
    for key in gold:
        if not _SECTION_RE.match(key):
            fail(f'bad clause key {key!r} in "gold_clauses" (use 十六, chapter:一 or preamble, no brackets)')
    if not isinstance(data["must_refuse"], bool):
        fail('"must_refuse" must be true or false')
    persona = data["persona"]
    if persona not in PERSONAS:
        fail(f'"persona" must be one of {", ".join(PERSONAS)}, got {persona!r}')
    tags = _string_list(data["tags"], "tags", fail)
    if not isinstance(data["gold_caps"], list):
        fail('"gold_caps" must be a list')
    caps = tuple(_parse_cap(item, i, fail) for i, item in enumerate(data["gold_caps"]))
    if data["must_refuse"] and (gold or caps):
        fail('a "must_refuse" question must have empty "gold_clauses" and "gold_caps"')
    note = data.get("note", "")
    if not isinstance(note, str):
        fail('"note" must be a string')
    writer = data.get("source", "")
    if not isinstance(writer, str):
        fail('"source" (the question\'s writer) must be a string')
    doc = data.get("doc", "")
    if not isinstance(doc, str):
        fail('"doc" (the document the gold sections are in) must be a string')
    return EvalCase(
        id=case_id,
        turns=turns,
        gold_clauses=gold,
        gold_caps=caps,
        must_refuse=data["must_refuse"],
        persona=persona,
        tags=tags,
        note=note,
        source=source,
        writer=writer,
        doc=doc,
    )


def _parse_cap(item: Any, index: int, fail: Any) -> CapRecord:
    where = f'"gold_caps"[{index}]'
    if not isinstance(item, dict):
        fail(f"{where} must be an object")
    for name in ("clause", "amount_wan", "qualifier"):
        if name not in item:
            fail(f'{where} is missing "{name}"')
    clause, amount, qualifier = item["clause"], item["amount_wan"], item["qualifier"]
    if not isinstance(clause, str) or not _SECTION_RE.match(clause):
        fail(f"{where}: bad clause key {clause!r}")
    if qualifier not in QUALIFIERS:
        fail(f'{where}: "qualifier" must be one of {", ".join(QUALIFIERS)}, got {qualifier!r}')
    if qualifier in DEFERRING:
        if amount is not None:
            fail(f'{where}: "amount_wan" must be null for {qualifier}')
    elif isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
        fail(f'{where}: "amount_wan" must be a positive number (万元) for {qualifier}')
    return CapRecord(clause, None if amount is None else float(amount), qualifier)


def load_cases(paths: Sequence[Path | str]) -> list[EvalCase]:
    """Load and validate question files, in order.

    Args:
        paths: JSONL files in the question format.

    Returns:
        All cases.

    Raises:
        QuestionFileError: ``file:line: problem`` for the first malformed line or a duplicate id.
    """
    cases: list[EvalCase] = []
    seen: dict[str, str] = {}
    for raw in paths:
        path = Path(raw)
        for number, data in _jsonl_objects(path):
            source = f"{path}:{number}"
            try:
                case = parse_case(data, source)
            except ValueError as exc:
                raise QuestionFileError(path, number, str(exc)) from None
            if case.id in seen:
                raise QuestionFileError(path, number, f"duplicate id {case.id!r} (first at {seen[case.id]})")
            seen[case.id] = source
            cases.append(case)
    return cases


def filter_tags(cases: Sequence[EvalCase], tags: Sequence[str] | None) -> list[EvalCase]:
    """Cases carrying any of ``tags`` (all cases when ``tags`` is empty)."""
    if not tags:
        return list(cases)
    wanted = set(tags)
    return [c for c in cases if wanted & set(c.tags)]


def load_answers(path: Path | str) -> dict[str, dict[str, Any]]:
    """Read an answers JSONL (``ask --jsonl`` output or any file in the answer contract), keyed by id.

    Raises:
        QuestionFileError: for malformed JSON, a missing id, or a duplicate id.
    """
    path = Path(path)
    answers: dict[str, dict[str, Any]] = {}
    where: dict[str, int] = {}
    for number, data in _jsonl_objects(path):
        answer_id = data.get("id")
        if answer_id is None or (isinstance(answer_id, str) and not answer_id.strip()):
            raise QuestionFileError(path, number, 'answer has no "id" (needed to match the question)')
        key = str(answer_id)
        if key in answers:
            raise QuestionFileError(path, number, f"duplicate id {key!r} (first at line {where[key]})")
        answers[key] = data
        where[key] = number
    return answers
