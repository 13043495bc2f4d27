"""``policy-assistant eval``: run a question set, print citation/cap/refusal metrics, write reports, gate CI."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.lowo_record import RECORD_PATH as LOWO_RECORD
from indexing.retrieval.hits import DEFAULT_RETRIEVER_MODE, RETRIEVER_MODES, RetrieverMode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE.jsonl",
                        help="题目文件（JSONL）；默认 evals/questions/dev.jsonl")
    parser.add_argument("--split", choices=("train", "dev", "all"), default=None,
                        help="使用内置题集：train、dev 或 all（不能与 FILE 同用）")
    parser.add_argument("--retriever", choices=RETRIEVER_MODES, default=DEFAULT_RETRIEVER_MODE,
                        help=f"检索方式（默认 {DEFAULT_RETRIEVER_MODE}）")
    parser.add_argument("--no-profiles", action="store_true", help="不使用条款画像")
    parser.add_argument("--no-expansion", action="store_true", help="不做查询扩展")
    parser.add_argument("--baselines", action="store_true",
                        help="对比：bm25、dense、hybrid、hybrid 无画像、hybrid 无扩展、llama-index 向量基线")
    parser.add_argument("--answers", type=Path, default=None, metavar="FILE",
                        help="不运行助手，按 id 评分已有的答案 JSONL（如 ask --jsonl 的输出）")
    parser.add_argument("--tag", action="append", default=None, metavar="TAG", help="只评带此标签的题（可重复）")
    parser.add_argument("--json", action="store_true", help="输出一个 JSON 对象")
    parser.add_argument("--report", type=Path, default=None, metavar="DIR",
                        help="写出 report.md、report.html 和图表 PNG")
    parser.add_argument("--gate", action="store_true", help="低于阈值时以退出码 1 结束并列出不达标的指标")
    parser.add_argument("--thresholds", type=Path, default=None, metavar="TOML",
                        help="阈值文件（默认 evals/thresholds.toml）")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="语料目录（用于 --answers 的资助上限表和向量基线；默认内置语料）")
    parser.add_argument("--quiet", action="store_true", help="不在 stderr 显示进度")
    parser.add_argument("--lowo", action="store_true",
                        help="留一作者评测：每位作者的题由不含该作者的训练数据学出的模型回答（前后对比、分类别、学习曲线）")
    parser.add_argument("--match", action="store_true",
                        help="政策匹配：每题最后一轮当作企业描述，用匹配（match）作答（如 evals/questions/match/ 的题集）")
    parser.add_argument("--curve", action="store_true", help="与 --lowo 同用：加算学习曲线（训练题数 vs 留出作者的 top-1 与“资料未涉及”召回/精确）")
    parser.add_argument("--record", nargs="?", type=Path, const=LOWO_RECORD, default=None, metavar="FILE",
                        help="与 --lowo 同用：把整轮结果连同输入摘要记下（默认 evals/lowo-record.json），供 --check 核对")
    parser.add_argument("--check", nargs="?", type=Path, const=LOWO_RECORD, default=None, metavar="FILE",
                        help="与 --lowo 同用：核对记下的留一作者结果——输入未变、数字过门槛、抽几位作者重跑能复现（CI 即如此）")
    parser.add_argument("--sample", type=int, default=4, metavar="N",
                        help="与 --lowo --check 同用：重跑的作者数（默认 4，每种语言至少一位）")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="与 --lowo 同用：训练题的规则回答与各作者的折在 N 个进程里并行（结果相同；默认 1）")
    parser.add_argument("--documents", action="store_true",
                        help="多文档评测：把内置措施和 evals/documents/ 的三份测试文件建进临时索引，"
                             "按文件报告各自题集（evals/questions/documents/）和 dev 的 top-1、上限、资料未涉及")
    parser.add_argument("--training-documents", action="store_true",
                        help="与 --documents 同用：改用 evals/training_documents/ 的四份训练用文件及其题集"
                             "（evals/questions/training_documents/）")
    parser.add_argument("--calibrate", action="store_true",
                        help="在题集上重算“资料未涉及”的阈值（用 --split train），打印网格与建议值")


def _question_files(args: argparse.Namespace) -> list[Path]:
    from assistant.cli import CliError
    from evals.questions_io import split_files

    if args.files and args.split:
        raise CliError("FILE 和 --split 只能二选一")
    if args.files:
        return list(args.files)
    return split_files(args.split or "dev")


def _load_cases(args: argparse.Namespace, files: list[Path]) -> list[Any]:
    from assistant.cli import CliError
    from evals.questions_io import QuestionFileError, filter_tags, load_cases

    try:
        cases = load_cases(files)
    except QuestionFileError as exc:
        raise CliError(f"题目文件格式错误：{exc}") from None
    selected = filter_tags(cases, args.tag)
    if not selected:
        what = f"带标签 {', '.join(args.tag)} 的题" if args.tag else "题目"
        raise CliError(f"没有可评的{what}（{', '.join(str(f) for f in files)}）")
    return selected


def _progress(quiet: bool, label: str) -> Callable[[int, int, Any], None] | None:
    if quiet or not sys.stderr.isatty():
        return None

    def show(index: int, total: int, case: Any) -> None:
        end = "\n" if index + 1 == total else ""
        print(f"\r[{label}] {index + 1}/{total} {case.id}\033[K", end=end, file=sys.stderr, flush=True)

    return show


def _known_amounts(args: argparse.Namespace) -> set[float]:
    from assistant.cli import CliError
    from assistant.knowledge import load_knowledge
    from indexing.config import IndexConfig
    from indexing.parser import ParseError

    corpus = args.corpus or IndexConfig().corpus_dir
    try:
        return set(load_knowledge(corpus).caps.amounts())
    except (ParseError, OSError) as exc:
        raise CliError(f"无法读取语料（资助上限表）：{exc}") from None


def _open(retriever: RetrieverMode, use_profiles: bool, expand: bool) -> Any:
    from assistant.cli import CliError
    from evals.runner import open_assistant

    try:
        return open_assistant(retriever=retriever, use_profiles=use_profiles, expand=expand)
    except ImportError as exc:
        raise CliError(f"无法加载助手（{exc}）") from None
    except Exception as exc:  # noqa: BLE001 - an index that is missing or stale is reported in one line
        raise CliError(f"无法打开助手（retriever={retriever}）：{exc}；请先运行 policy-assistant index") from None


def _runs(args: argparse.Namespace, cases: list[Any]) -> list[Any]:
    from assistant.cli import CliError
    from evals.runner import evaluate, evaluate_answers_file, known_amounts_of

    if args.answers:
        from evals.questions_io import QuestionFileError

        if args.baselines:
            raise CliError("--answers 与 --baselines 不能同用")
        try:
            run, extra = evaluate_answers_file(cases, args.answers, _known_amounts(args))
        except QuestionFileError as exc:
            raise CliError(f"答案文件格式错误：{exc}") from None
        missing = sum(1 for g in run.graded if g.answer.error == "no answer for this id")
        if missing or extra:
            print(f"注意：{missing} 题在答案文件中没有答案（计为错误），{len(extra)} 个答案 id 不在题集中（忽略）",
                  file=sys.stderr)
        return [run]
    if args.baselines:
        from evals.baselines import VectorBaseline, run_baselines

        def skip(label: str, exc: Exception) -> None:
            print(f"跳过 {label}：{type(exc).__name__}: {exc}", file=sys.stderr)

        runs = run_baselines(
            cases, variants=None,
            vector_factory=lambda: VectorBaseline.build(corpus_dir=args.corpus),
            progress=lambda label: _progress(args.quiet, label), on_skip=skip,
        )
        if not any(not r.retrieval_only for r in runs):
            raise CliError("没有一个助手配置能打开；请先运行 policy-assistant index")
        # The full configuration leads: it is what the report details and what the gate checks.
        runs.sort(key=lambda r: r.label != "hybrid")
        return runs
    use_profiles, expand = not args.no_profiles, not args.no_expansion
    assistant = _open(args.retriever, use_profiles, expand)
    label = args.retriever + ("" if use_profiles else "-no-profiles") + ("" if expand else "-no-expansion")
    if args.match:
        from evals.runner import Matching

        assistant, label = Matching(assistant), label + "-match"
    settings = {"retriever": args.retriever, "use_profiles": use_profiles, "expand": expand}
    return [evaluate(assistant, cases, known_amounts_of(assistant), label, settings=settings,
                     progress=_progress(args.quiet, label))]


def run(args: argparse.Namespace) -> int:
    from assistant.cli import CliError
    from evals.gate import check, load_thresholds

    if (args.record or args.check) and not args.lowo:
        raise CliError("--record 与 --check 只能与 --lowo 同用", 2)
    if args.lowo:
        from evals.lowo_command import run_lowo_command

        return run_lowo_command(args)
    if args.documents:
        return _run_documents(args)
    if args.training_documents:
        raise CliError("--training-documents 只能与 --documents 同用")
    files = _question_files(args)
    cases = _load_cases(args, files)
    thresholds = None
    if args.gate:
        try:
            thresholds = load_thresholds(args.thresholds) if args.thresholds else load_thresholds()
        except ValueError as exc:
            raise CliError(f"阈值文件错误：{exc}") from None
    runs = _runs(args, cases)
    main = runs[0]
    if args.calibrate:
        return _print_calibration(main)
    failures = check(main.summary, thresholds) if thresholds else None
    if args.report:
        from evals.report import write_report

        try:
            write_report(runs, args.report, title=f"policy-assistant eval — {', '.join(f.name for f in files)}",
                         gate_failures=failures)
        except OSError as exc:
            raise CliError(f"无法写出报告：{exc}") from None
    if args.json:
        data: dict[str, Any] = {
            "files": [str(f) for f in files],
            "tags": args.tag or [],
            "n": len(cases),
            **main.to_json(),
        }
        if len(runs) > 1:
            data["baselines"] = [r.to_json(cases=False) for r in runs]
        if failures is not None:
            data["gate"] = {"passed": not failures, "failures": failures}
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        from evals.report import console_tables, render_text

        print(f"评测：{', '.join(str(f) for f in files)} · {len(cases)} 题"
              + (f" · 标签 {', '.join(args.tag)}" if args.tag else "") + f" · 配置 {main.label}")
        print()
        sys.stdout.write(render_text(console_tables(runs)))
        if args.report:
            print(f"\n报告：{Path(args.report) / 'report.html'}")
    if failures is not None:
        from evals.gate import print_verdict

        return print_verdict(failures)
    return 0


def _run_documents(args: argparse.Namespace) -> int:
    """``eval --documents``: per test document (and the bundled dev split), one multi-document index."""
    from assistant.cli import CliError
    from evals.documents_eval import BUNDLED_DEV, CHIT_CHAT, load_document_sets, render_rows, run_documents
    from evals.questions_io import QuestionFileError
    from evals.second_labels import SecondLabelling

    if args.files or args.split or args.answers or args.baselines:
        raise CliError("--documents 自带题集，不能与 FILE、--split、--answers、--baselines 同用")
    from evals.document_questions import (
        DOCUMENT_QUESTIONS_DIR,
        DOCUMENTS_DIR,
        TRAINING_DOCUMENTS_DIR,
        TRAINING_QUESTIONS_DIR,
    )

    documents_dir, questions_dir = ((TRAINING_DOCUMENTS_DIR, TRAINING_QUESTIONS_DIR) if args.training_documents
                                    else (DOCUMENTS_DIR, DOCUMENT_QUESTIONS_DIR))
    try:
        sets = load_document_sets(documents_dir=documents_dir, questions_dir=questions_dir)
    except QuestionFileError as exc:
        raise CliError(f"题目文件格式错误：{exc}") from None
    sets = {name: filter_cases for name, cases in sets.items() if (filter_cases := _filter(cases, args.tag))}
    try:   # read before the runs, so that a malformed label file fails at once
        for name in sets:
            SecondLabelling.load(questions_dir, name)
    except ValueError as exc:
        raise CliError(f"第二位标注者的标注文件格式错误：{exc}") from None
    runs = run_documents(sets, progress=lambda name: _progress(args.quiet, name), documents_dir=documents_dir,
                         questions_dir=questions_dir)
    rows = [r.row() for r in runs]
    if args.json:
        data = {"sets": rows, "runs": {r.name: r.run.to_json(cases=True) for r in runs}}
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        print("多文档评测：内置措施 + " + "、".join(r.name for r in runs if r.name not in (BUNDLED_DEV, CHIT_CHAT))
              + "（同一索引）")
        sys.stdout.write(render_rows(rows))
        for r in runs:
            wrong = [g for g in r.run.graded if g.wrong and not g.top1_correct]
            if wrong:
                print(f"\n{r.name} 答错（top-1）：" + "；".join(f"{g.case.id} {g.reasons[0]}" for g in wrong[:40]))
    return 0


def _filter(cases: list[Any], tags: list[str] | None) -> list[Any]:
    from evals.questions_io import filter_tags

    return filter_tags(cases, tags)


def _print_calibration(run: Any) -> int:
    """Replay the scope-threshold rule over this run's answers and print the grid and a recommendation."""
    from assistant.scope import ScopeThresholds
    from evals.calibrate import calibrate, format_table, observe, recommend

    observations = [observe(bool(g.case.must_refuse), g.answer) for g in run.graded]
    rows = calibrate(observations)
    current = ScopeThresholds()
    best = recommend(rows)
    print(format_table(rows, (current.bm25, current.dense)))
    print()
    print(f"建议阈值 / recommended: bm25 < {best.bm25} 且 dense < {best.dense}"
          f"（误拒 {best.refused_in_scope} 题，命中范围外 {best.caught_out_of_scope}/{best.out_of_scope}）；"
          f"当前 / current: bm25 < {current.bm25}, dense < {current.dense}（assistant/scope.py ScopeThresholds）")
    return 0
