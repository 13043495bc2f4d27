"""``policy-assistant eval --lowo``: the leave-one-writer-out table, per writer and per category, and its gate."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.lowo import CATEGORIES, LowoReport

if TYPE_CHECKING:
    from evals.gate import Thresholds
    from evals.lowo_record import LowoRecord
    from evals.metrics import EvalCase

DEFAULT_LOWO_THRESHOLDS = Path(__file__).resolve().parent / "thresholds-lowo.toml"
LANGUAGE_NAMES = {"zh": "Chinese", "en": "English"}


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def render_markdown(report: LowoReport) -> str:
    """The README's evaluation tables: per writer before/after, per category pooled, and the learning curve."""
    lines = ["| writer | n | top-1 before | top-1 after | business top-1 after | caps after | not-covered recall / precision after |",
             "|---|---|---|---|---|---|---|"]
    for r in report.results:
        b, a = r.summary("before"), r.summary("after")
        business = [g for g in r.after if "business" in g.case.tags and not g.case.must_refuse]
        biz = sum(int(g.top1_correct) for g in business) / len(business) if business else None
        name = f"{r.writer} (matching)" if r.matching else r.writer
        lines.append(f"| {name} | {b.n} | {_fmt(b.top1_accuracy)} | {_fmt(a.top1_accuracy)} | {_fmt(biz)} | "
                     f"{_fmt(a.caps_accuracy)} | {_fmt(a.refusal_recall)} / {_fmt(a.refusal_precision)} |")
    unseen = report.unseen_writers()
    matching = report.matching_writers()
    for label, writers in (("all question writers", None), ("writers never seen by hand-tuned parts", unseen),
                           ("policy-matching sets, answered by match", matching)):
        if writers is not None and not writers:
            continue
        b, a = report.pooled("before", writers), report.pooled("after", writers)
        lines.append(f"| **{label} (pooled)** | {a.n} | {_fmt(b.top1_accuracy)} | {_fmt(a.top1_accuracy)} | | "
                     f"{_fmt(a.caps_accuracy)} | {_fmt(a.refusal_recall)} / {_fmt(a.refusal_precision)} |")
    for lang in report.languages():
        b, a = report.pooled_language(lang, "before"), report.pooled_language(lang)
        lines.append(f"| **questions in {LANGUAGE_NAMES.get(lang, lang)} (pooled)** | {a.n} | {_fmt(b.top1_accuracy)} | "
                     f"{_fmt(a.top1_accuracy)} | | {_fmt(a.caps_accuracy)} | {_fmt(a.refusal_recall)} / "
                     f"{_fmt(a.refusal_precision)} |")
    worst = report.worst("top1_accuracy")
    lines.append("")
    lines.append(f"Mean over writers, top-1 after: {_fmt(report.mean('top1_accuracy'))} "
                 f"(before {_fmt(report.mean('top1_accuracy', 'before'))}); worst writer {worst[0]} {_fmt(worst[1])}.")
    lines.append("")
    lines.append("| category | n | top-1 before | top-1 after | caps before | caps after | refusal recall before | after |")
    lines.append("|---|---|---|---|---|---|---|---|")
    before = report.pooled_by_category("before", unseen or None)
    after = report.pooled_by_category("after", unseen or None)
    for name in CATEGORIES:
        if name not in after:
            continue
        b, a = before[name], after[name]
        lines.append(f"| {name} | {a.n} | {_fmt(b.top1_accuracy)} | {_fmt(a.top1_accuracy)} | {_fmt(b.caps_accuracy)} | "
                     f"{_fmt(a.caps_accuracy)} | {_fmt(b.refusal_recall)} | {_fmt(a.refusal_recall)} |")
    if report.curve:
        lines.append("")
        lines.append("| training questions (mean per group) | held-out top-1 on retrieved questions | "
                     "not-covered recall / precision (writers w08 on) |")
        lines.append("|---|---|---|")
        lines.extend(f"| {p.questions} | {p.top1:.3f} | {_fmt(p.not_covered_recall)} / {_fmt(p.not_covered_precision)} |"
                     for p in report.curve)
    return "\n".join(lines) + "\n"


def to_json(report: LowoReport) -> dict[str, Any]:
    unseen = report.unseen_writers()
    return {
        "writers": [
            {"writer": r.writer, "n": r.summary("after").n, "before": r.summary("before").to_json(),
             "after": r.summary("after").to_json(), "settings": r.settings,
             "by_category": {k: v.to_json() for k, v in r.by_category("after").items()}}
            for r in report.results
        ],
        "pooled": {"before": report.pooled("before").to_json(), "after": report.pooled("after").to_json()},
        "pooled_languages": {lang: {"before": report.pooled_language(lang, "before").to_json(),
                                    "after": report.pooled_language(lang).to_json()} for lang in report.languages()},
        "unseen_writers": unseen,
        "matching_writers": report.matching_writers(),
        "pooled_matching": ({"before": report.pooled("before", report.matching_writers()).to_json(),
                             "after": report.pooled("after", report.matching_writers()).to_json()}
                            if report.matching_writers() else None),
        "pooled_unseen": ({"before": report.pooled("before", unseen).to_json(),
                           "after": report.pooled("after", unseen).to_json()} if unseen else None),
        "by_category_unseen": {k: v.to_json() for k, v in report.pooled_by_category("after", unseen or None).items()},
        "mean_top1_after": report.mean("top1_accuracy"),
        "worst_top1_after": report.worst("top1_accuracy"),
        "curve": [dataclasses.asdict(p) for p in report.curve],
    }


def gate_failures(report: LowoReport, thresholds: Thresholds) -> list[str]:
    """What fails the gate: the question writers' pooled figures, then each language's questions alone."""
    from evals.gate import check

    failures = check(report.pooled("after"), thresholds)
    for lang, bounds in thresholds.languages.items():
        failures += [f"[{lang}] {message}" for message in check(report.pooled_language(lang), bounds)]
    return failures


def run_lowo_command(args: argparse.Namespace) -> int:
    from assistant.cli import CliError
    from evals.forked import fork_is_safe
    from evals.gate import print_verdict
    from evals.questions_io import QUESTIONS_DIR, QuestionFileError, load_cases, split_files

    if args.workers > 1 and not fork_is_safe():
        # The embedder's OpenMP pool reads OMP_NUM_THREADS when the process starts: it cannot be changed from here.
        print("--workers 大于 1 需要在启动前设置 OMP_NUM_THREADS=1 与 POLICY_ASSISTANT_EMBED_THREADS=1"
              "（内置嵌入模型的多线程池在 fork 后会卡住）；本次按顺序逐个作者运行。",
              file=sys.stderr)
    record = None
    if args.record and args.check:
        raise CliError("--record 与 --check 不能同用", 2)
    if (args.record or args.check) and args.files:
        raise CliError("--record 与 --check 针对全部作者的题，不接受题目文件", 2)
    if args.check and args.sample < 1:
        raise CliError("--sample 至少为 1：核对记录要重跑至少一位作者", 2)
    if args.check:
        from evals.lowo_record import RecordError, inputs_digest, load_record

        try:
            record = load_record(args.check)
        except RecordError as exc:
            raise CliError(str(exc), 2) from None
        # Stale figures are a failure on their own: no fold is worth rerunning against them.
        current = inputs_digest()
        if record.inputs != current:
            return print_verdict([f"记录的输入摘要 {record.inputs} 不是当前的 {current}：代码、题目或语料变了，"
                                  "记下的留一作者数字已过期；请运行 policy-assistant eval --lowo --record 重新记录"],
                                 "（留一作者记录）")
    try:
        train_cases = load_cases([*split_files("train"), QUESTIONS_DIR / "offtopic-calibration.jsonl"])
        eval_files = list(args.files) or split_files("all")
        eval_cases = [c for c in load_cases(eval_files) if c.writer]
    except QuestionFileError as exc:
        raise CliError(f"题目文件格式错误：{exc}") from None
    if record is not None:
        return _check_record(args, record, train_cases, eval_cases)
    # Taken before the run: a file edited while it runs makes the record stale, not falsely current.
    from evals.lowo_record import inputs_digest

    digest = inputs_digest()
    report = _run(args, train_cases, eval_cases)
    if args.record:
        from evals.lowo_record import record_of, write_record

        write_record(record_of(report, digest, render_markdown(report)), args.record)
        print(f"已记下留一作者结果：{args.record}", file=sys.stderr)
    markdown = render_markdown(report)
    if args.report:
        Path(args.report).mkdir(parents=True, exist_ok=True)
        (Path(args.report) / "lowo.md").write_text(markdown, encoding="utf-8")
        (Path(args.report) / "lowo.json").write_text(json.dumps(to_json(report), ensure_ascii=False, indent=2),
                                                     encoding="utf-8")
    if args.json:
        sys.stdout.write(json.dumps(to_json(report), ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(markdown)
    if args.gate:
        return print_verdict(gate_failures(report, _lowo_thresholds(args)), "（留一作者）")
    return 0


def _lowo_thresholds(args: argparse.Namespace) -> Thresholds:
    """The gate's bounds: ``--thresholds``, else ``evals/thresholds-lowo.toml``; a bad file is a usage error."""
    from assistant.cli import CliError
    from evals.gate import load_thresholds

    try:
        return load_thresholds(args.thresholds or DEFAULT_LOWO_THRESHOLDS)
    except ValueError as exc:
        raise CliError(f"阈值文件错误：{exc}") from None


def _run(args: argparse.Namespace, train_cases: list[EvalCase], eval_cases: list[EvalCase]) -> LowoReport:
    """The leave-one-writer-out run of ``eval_cases``' writers, trained on ``train_cases``."""
    from assistant.cli import CliError
    from assistant.commands.session import open_assistant
    from evals.forked import ForkTimeout
    from evals.lowo import run_lowo
    from evals.runner import known_amounts_of
    from evals.train_command import question_embedder
    from evals.training import VectorCache
    from indexing.config import home_dir

    assistant = open_assistant(argparse.Namespace())
    embedder = question_embedder(assistant)
    cache = VectorCache(embedder, home_dir() / "cache" / f"question-vectors-{embedder.model_id}.npz")
    progress = None if args.quiet else (lambda writer: print(f"[lowo] {writer}", file=sys.stderr, flush=True))
    try:
        return run_lowo(assistant, train_cases, eval_cases, cache, known_amounts_of(assistant), progress,
                        curve_fractions=(0.25, 0.5, 0.75) if args.curve else (), workers=args.workers)
    except ForkTimeout as exc:
        raise CliError(f"留一作者评测未完成：{exc}；可去掉 --workers 按顺序运行") from None


def _check_record(args: argparse.Namespace, record: LowoRecord, train_cases: list[EvalCase],
                  eval_cases: list[EvalCase]) -> int:
    """``eval --lowo --check``: the recorded figures gated, and a sample of writers' folds rerun against the record
    (the inputs' digest was checked already)."""
    from evals.gate import print_verdict
    from evals.lowo_record import compare, rerun_failures, sample_writers

    failures = [f"记下的数字：{message}" for message in record.gate_failures(_lowo_thresholds(args))]
    writers = sample_writers(record, args.sample)
    chosen = [c for c in eval_cases if c.writer in writers]
    report = _run(args, train_cases, chosen)
    reruns = [compare(record.writer(result.writer), result) for result in report.results]
    failures += rerun_failures(reruns)
    pooled = record.pooled_after
    lines = [f"留一作者记录（输入 {record.inputs}）：问题作者合计 top-1 {_fmt(pooled['top1_accuracy'])}、"
             f"上限 {_fmt(pooled['caps_accuracy'])}、资料未涉及 {_fmt(pooled['refusal_recall'])} / "
             f"{_fmt(pooled['refusal_precision'])}；重跑 {len(reruns)} 位作者：",
             "| writer | n | top-1 after recorded | rerun | questions differing (allowed) |", "|---|---|---|---|---|"]
    lines += [f"| {r.writer} | {r.n} | {_fmt(r.recorded_top1)} | {_fmt(r.rerun_top1)} | "
              f"{r.questions_differing} ({r.allowed}) |" for r in reruns]
    sys.stdout.write("\n".join(lines) + "\n")
    return print_verdict(failures, "（留一作者记录）")
