"""``policy-assistant search``: ranked clauses with scores and the terms that matched (hotline lookup)."""

from __future__ import annotations

import argparse
import json
import sys

from assistant.commands.session import add_retrieval_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", help="条款编号、金额问题或关键词，如 “孵化器上限”“第十六条”")
    parser.add_argument("-k", type=int, default=5, help="返回条数（默认 5）")
    parser.add_argument("--json", action="store_true", help="输出 JSON")
    add_retrieval_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from assistant.cli import CliError
    from assistant.commands.session import answering_errors, open_assistant

    if not 1 <= args.k <= 50:
        raise CliError("-k 须在 1 到 50 之间", code=2)
    assistant = open_assistant(args)
    with answering_errors():
        result = assistant.search(args.query, k=args.k)
    if args.json:
        sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n")
        return 0
    if result.expansion:
        print("扩展词：" + "、".join(result.expansion[:12]))
    for rank, hit in enumerate(result.results, start=1):
        view = hit.view
        name = view.label + view.title if view.clause else view.title
        caps = "；".join(c.amount_text for c in view.caps) or "未写明金额"
        why = "、".join(hit.matched_terms[:6]) or "/".join(hit.via)
        ranks = f"BM25第{hit.bm25_rank}" if hit.bm25_rank else ""
        if hit.dense_rank:
            ranks += f"{' ' if ranks else ''}向量第{hit.dense_rank}"
        print(f"{rank}. {name}  分数 {hit.score:.3f}  {ranks}")
        print(f"   上限：{caps}")
        print(f"   命中：{why}")
    return 0
