"""Flag "business" questions that share rare policy words with their gold clause.

The business set should be written in a user's own words; a question that reuses a word found in only
one or two clauses (e.g. 孵化器, 直播基地) tests keyword matching, not understanding. Run:

    python -m evals.flag_keywords evals/questions/dev.jsonl [--tag business] [--max-df 2]

Exit code 1 when anything is flagged (usable as a check), 0 otherwise, 2 for a malformed file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from evals.metrics import EvalCase

DEFAULT_TAG = "business"
DEFAULT_MAX_DF = 2


@dataclass(frozen=True)
class Flag:
    """A question that shares rare words (with their document frequency over sections) with its gold."""

    case_id: str
    source: str
    question: str
    gold: tuple[str, ...]
    words: tuple[tuple[str, int], ...]

    def to_json(self) -> dict[str, object]:
        return {"id": self.case_id, "source": self.source, "question": self.question, "gold": list(self.gold),
                "words": [{"word": w, "df": df} for w, df in self.words]}


def section_tokens(sections: Mapping[str, str], tokenize: Callable[[str], list[str]]) -> dict[str, set[str]]:
    """Token set of each section's text."""
    return {key: set(tokenize(text)) for key, text in sections.items()}


def document_frequency(tokens: Mapping[str, set[str]]) -> dict[str, int]:
    """In how many sections each token occurs."""
    df: dict[str, int] = {}
    for words in tokens.values():
        for word in words:
            df[word] = df.get(word, 0) + 1
    return df


def flag_cases(
    cases: Sequence[EvalCase],
    tokens: Mapping[str, set[str]],
    tokenize: Callable[[str], list[str]],
    tag: str | None = DEFAULT_TAG,
    max_df: int = DEFAULT_MAX_DF,
    min_length: int = 2,
) -> list[Flag]:
    """Questions (with ``tag``) whose turns contain a word of their gold clause found in ≤ ``max_df`` sections.

    Args:
        cases: the questions.
        tokens: section key → token set (see :func:`section_tokens`).
        tokenize: the search tokenizer (the same one the index uses).
        tag: only check cases with this tag (``None``: all cases).
        max_df: a word is rare when it occurs in at most this many sections.
        min_length: ignore shorter tokens (single characters such as 补 are not keywords).

    Returns:
        One flag per offending question, rarest words first.
    """
    df = document_frequency(tokens)
    flags = []
    for case in cases:
        if tag and tag not in case.tags:
            continue
        gold_words: set[str] = set()
        for key in case.gold_clauses:
            gold_words |= tokens.get(key, set())
        asked = {t for turn in case.turns for t in tokenize(turn)}
        shared = sorted(
            ((w, df[w]) for w in asked & gold_words if len(w) >= min_length and df.get(w, 0) <= max_df),
            key=lambda pair: (pair[1], pair[0]),
        )
        if shared:
            flags.append(Flag(case.id, case.source, case.question, case.gold_clauses, tuple(shared)))
    return flags


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.flag_keywords", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE.jsonl")
    parser.add_argument("--tag", default=DEFAULT_TAG, help="only questions with this tag ('' for all)")
    parser.add_argument("--max-df", type=int, default=DEFAULT_MAX_DF,
                        help="a word is rare if it occurs in at most this many sections (default 2)")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (default: bundled)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)

    from assistant.knowledge import load_knowledge
    from evals.questions_io import QuestionFileError, load_cases
    from indexing.corpus import BUNDLED_CORPUS
    from indexing.tokenize_zh import tokenize

    try:
        cases = load_cases(args.files)
    except QuestionFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    kb = load_knowledge(args.corpus or BUNDLED_CORPUS)
    sections = {s.key: s.text for s in kb.primary.document.sections}
    flags = flag_cases(cases, section_tokens(sections, tokenize), tokenize, args.tag or None, args.max_df)
    if args.json:
        sys.stdout.write(json.dumps([f.to_json() for f in flags], ensure_ascii=False, indent=2) + "\n")
    else:
        checked = sum(1 for c in cases if not args.tag or args.tag in c.tags)
        for f in flags:
            words = "、".join(f"{w}(df={df})" for w, df in f.words)
            print(f"{f.source}  {f.case_id}  gold={'、'.join(f.gold)}  {words}\n    {f.question}")
        print(f"{len(flags)} of {checked} questions share rare words with their gold clause (max df {args.max_df})")
    return 1 if flags else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
