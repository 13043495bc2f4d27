"""``policy-assistant caps``: the award-cap table, derived from the text."""

from __future__ import annotations

import argparse

from assistant.commands.common import knowledge
from indexing.cli_support import add_corpus_argument, print_json
from indexing.section_ref import clause_label


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="输出 JSON")
    parser.add_argument("--sort", choices=("clause", "amount"), default="clause", help="排序：条款顺序或金额从高到低")
    add_corpus_argument(parser)


def run(args: argparse.Namespace) -> int:
    kb = knowledge(args)
    awards = list(kb.caps.awards)
    if args.sort == "amount":
        awards = kb.caps.largest() + [a for a in awards if not a.single]   # limits on a sum and deferrals last
    if args.json:
        print_json({"doc": kb.primary.meta.id, "status": kb.primary.meta.status, "caps": [a.to_json() for a in awards]})
        return 0
    print(f"《{kb.primary.meta.title}》资助上限表（共 {len(awards)} 项，均摘自原文）")
    for award in awards:
        term = f"；{award.term}" if award.term else ""
        print(f"{clause_label(award.clause)}{award.amount_text} · {award.kind}{term} · 对象：{award.target} · 依据：{award.basis}")
    return 0
