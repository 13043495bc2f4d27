"""``policy-assistant clause 十六``: one clause's text, chapter, title, caps and linked documents."""

from __future__ import annotations

import argparse

from assistant.commands.common import knowledge
from indexing.cli_support import add_corpus_argument, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("reference", help="条款编号：十六 / 16 / （十六） / 第十六条；第一章；序言")
    parser.add_argument("--doc", default=None, help="文档 id（默认：内置措施）")
    parser.add_argument("--json", action="store_true", help="输出 JSON")
    add_corpus_argument(parser)


def run(args: argparse.Namespace) -> int:
    from assistant.cli import CliError
    from assistant.document_facts import document_facts
    from assistant.knowledge import UnknownSection

    kb = knowledge(args)
    try:
        section = kb.resolve(args.reference, args.doc)
    except UnknownSection as exc:
        raise CliError(str(exc)) from None
    view = kb.section_view(section, args.doc)
    if args.json:
        print_json(view.to_json())
        return 0
    doc = kb.document(args.doc)
    print(f"《{doc.meta.title}》")
    chapter = kb.chapter_of(section)
    print(f"{chapter + ' · ' if chapter else ''}{section.display_name} {section.title if section.kind == 'clause' else ''}".rstrip())
    print()
    print(section.text)
    awards = kb.awards(section.key, args.doc)
    print()
    if awards:
        print("资助上限（摘自原文）：")
        for award in awards:
            term = f"；{award.term}" if award.term else ""
            print(f"  · {award.amount_text}（{award.kind}{term}）对象：{award.target}；依据：{award.basis}")
    else:
        print("本条未写明资助金额。")
    for linked in kb.linked_documents(section, args.doc):
        state = "已收入语料" if kb.has_document(linked) else "全文不在语料中"
        number = f"，{linked.doc_number}" if linked.doc_number else ""
        print(f"关联文件：《{linked.title}》{number}（{state}）")
    notice = document_facts(doc).short_notice   # a draft's notice; an issued text has none
    if notice:
        print(f"\n注意：{notice}")
    return 0
