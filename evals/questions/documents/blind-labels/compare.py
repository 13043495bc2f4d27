"""Grade an ``eval --documents --json`` run against the writers' gold and this folder's blind second labels.

    policy-assistant eval --documents --json --quiet > run.json
    python evals/questions/documents/blind-labels/compare.py run.json

Per set: questions where the two labellers agree that the question is answerable (the writer's gold section is among
the second labeller's answering sections) or not covered (both say so); a disagreement is resolved from the text in
``resolutions.jsonl`` (answerable, with the sections that answer; or dropped), as ``../shared/WRITERS.md`` asks. On the agreed answerable questions it reports the first citation
against the writer's gold alone and against any section either labeller found answering (a notice restating a
measure: both answer), and why the rest fail: another section of the same document, another document, declined.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETS = ("application-notice-2023", "fund-measures-standin", "nanshan-digital-economy-measures")


def _full(key: str, doc: str) -> str:
    """A citation as the labels write it: ``doc#key`` (a run writes the set's own document's keys bare)."""
    return key if "#" in key else f"{doc}#{key}"


def compare(run: dict, name: str) -> tuple[Counter, list[str]]:
    labels = {}
    for line in (HERE / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            labels[item["id"]] = item
    resolutions = {}
    for line in (HERE / "resolutions.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            resolutions[item["id"]] = item
    counts: Counter = Counter()
    disagreements = []
    for case in run["runs"][name]["cases"]:
        label = labels[case["id"]]
        gold = {_full(k, name) for k in case["gold_clauses"]}
        answering = set(label["answered_by"])
        cited = [_full(k, name) for k in case["cited"]]
        first = cited[0] if cited and not case["refused"] else None
        counts["n"] += 1
        resolution = resolutions.get(case["id"])
        if resolution is not None:
            counts[f"disagreement, {resolution['resolved']}"] += 1
            if resolution["resolved"] == "dropped":
                continue
            gold, answering = set(resolution["answered_by"]), set(resolution["answered_by"])
        if resolution is None and case["must_refuse"] and label["not_covered"]:
            counts["not covered"] += 1
            counts["not covered, declined"] += bool(case["refused"])
        elif resolution is not None or (not case["must_refuse"]
                                        and gold & (answering | set(label.get("partial", [])))):
            counts["answerable"] += 1
            counts["first is the writer's gold"] += bool(case["top1_correct"]) and resolution is None
            if first in gold | answering:
                counts["first answers (either labeller)"] += 1
            elif first is None:
                counts["fails: declined"] += 1
            elif first.split("#")[0] == name:
                counts["fails: another section of the document"] += 1
            else:
                counts["fails: another document"] += 1
        else:
            counts["disagreement, unresolved"] += 1
            disagreements.append(f"{case['id']}: writer {sorted(gold) or 'not covered'}, second labeller "
                                 f"{label['answered_by'] or 'not covered'}")
    return counts, disagreements


def _top1(counts: Counter) -> float:
    """The first citation answers (or an agreed not-covered question is declined), over the questions kept."""
    kept = counts["n"] - counts["disagreement, dropped"]
    return (counts["first answers (either labeller)"] + counts["not covered, declined"]) / max(kept, 1)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    run = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    total: Counter = Counter()
    for name in SETS:
        counts, disagreements = compare(run, name)
        total += counts
        print(name, dict(counts))
        kept = counts["n"] - counts["disagreement, dropped"]
        print(f"   top-1 with the second labelling: {_top1(counts):.3f} of {kept} (the writer's gold alone: "
              f"{run['runs'][name]['summary']['top1_accuracy']:.3f} of {counts['n']})")
        for line in disagreements:
            print("  ", line)
    print("all", dict(total), f"top-1 with the second labelling {_top1(total):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
