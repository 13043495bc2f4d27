"""``policy-assistant ask``: a cited answer to one question (or a conversation, or a JSONL batch)."""

from __future__ import annotations

import argparse
import json
import sys

from assistant.commands.session import add_retrieval_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("turns", nargs="*", help="问题；多个参数表示一段对话，回答最后一个（前面的是上文）")
    parser.add_argument("--json", action="store_true", help="输出 JSON（契约见 README）")
    parser.add_argument("--jsonl", metavar="FILE", help="批量：每行一个 {\"id\", \"turns\"} 或 {\"id\", \"question\"}；- 为标准输入")
    parser.add_argument("--match", action="store_true", help="政策匹配：把输入当作企业描述，列出所有可能适用的条款")
    add_retrieval_arguments(parser)


def _batch_lines(path: str):  # type: ignore[no-untyped-def]
    stream = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115 - closed below
    try:
        yield from enumerate(stream, start=1)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _parse_line(raw: bytes, number: int) -> tuple[str | None, object]:
    """(id, turns) of one batch line; raises ValueError with a Chinese message for a bad line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"第{number}行不是 UTF-8 文本") from None
    try:
        item = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"第{number}行不是合法 JSON：{exc.msg}") from None
    if not isinstance(item, dict):
        raise ValueError(f"第{number}行必须是 JSON 对象")
    line_id = item.get("id")
    line_id = str(line_id) if line_id is not None else f"line-{number}"
    if "turns" in item:
        return line_id, item["turns"]
    if "question" in item:
        return line_id, [item["question"]]
    raise ValueError(f"第{number}行缺少 turns 或 question 字段")


def run(args: argparse.Namespace) -> int:
    from assistant.answer import error_answer
    from assistant.cli import CliError
    from assistant.commands.session import open_assistant
    from assistant.service import BadInput

    if not args.jsonl and not args.turns:
        raise CliError("请给出问题，例如：policy-assistant ask \"孵化器最多能补多少？\"", code=2)
    assistant = open_assistant(args)
    if args.jsonl:
        failures = 0
        for number, raw in _batch_lines(args.jsonl):
            if not raw.strip():
                continue
            line_id: str | None = f"line-{number}"
            try:
                line_id, turns = _parse_line(raw, number)
                result = assistant.ask(turns, id=line_id).to_json()  # type: ignore[arg-type]
            except (ValueError, BadInput) as exc:
                failures += 1
                result = error_answer("", str(exc), line_id)
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        return 0
    try:
        answer = assistant.match(args.turns[-1]) if args.match else assistant.ask(list(args.turns))
    except BadInput as exc:
        raise CliError(str(exc), code=2) from None
    if args.json:
        sys.stdout.write(json.dumps(answer.to_json(), ensure_ascii=False, indent=2) + "\n")
        return 0
    if answer.rewritten_question and answer.rewritten_question != answer.question and len(args.turns) > 1:
        print(f"（理解为：{answer.rewritten_question}）")
    print(answer.text)
    return 0
