"""``policy-assistant ask``: a cited answer to one question (or a conversation, or a JSONL batch)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from assistant.commands.session import add_retrieval_arguments

if TYPE_CHECKING:
    from assistant.answer import Answer
    from assistant.service import PolicyAssistant


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("turns", nargs="*", help="问题；多个参数表示一段对话，回答最后一个（前面的是上文）")
    parser.add_argument("--json", action="store_true", help="输出 JSON（契约见 README）")
    parser.add_argument("--jsonl", metavar="FILE", help="批量：每行一个 {\"id\", \"turns\"} 或 {\"id\", \"question\"}；- 为标准输入")
    parser.add_argument("--match", action="store_true", help="政策匹配：把输入当作企业描述，列出所有可能适用的条款")
    add_retrieval_arguments(parser)


MAX_LINE_BYTES = 1024 * 1024
# Lines read, embedded together and answered per step: large enough to keep both cores busy while embedding,
# small enough that answers start streaming at once (the first block is answered in about a second).
BATCH_BLOCK = 32


def _batch_lines(path: str) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) per line; ``None`` for a line over MAX_LINE_BYTES (skipped without being kept)."""
    stream = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115 - closed below
    try:
        number = 0
        while raw := stream.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass
                yield number, None
            else:
                yield number, raw
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _blocks(lines: Iterable[tuple[int, bytes | None]], size: int) -> Iterator[list[tuple[int, bytes | None]]]:
    """Non-blank batch lines, ``size`` at a time (the last block may be shorter)."""
    block = []
    for number, raw in lines:
        if raw is not None and not raw.strip():
            continue
        block.append((number, raw))
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


class LineError(ValueError):
    """A batch line that cannot be answered; ``line_id`` is its id when it had a usable one."""

    def __init__(self, message: str, line_id: str) -> None:
        super().__init__(message)
        self.line_id = line_id


def _parse_line(raw: bytes, number: int) -> tuple[str, object]:
    """(id, turns) of one batch line; raises LineError with a Chinese message for a bad line."""
    fallback = f"line-{number}"
    try:
        text = raw.decode("utf-8-sig")   # a BOM (Windows editors) is not part of the JSON
    except UnicodeDecodeError:
        raise LineError(f"第{number}行不是 UTF-8 文本", fallback) from None
    try:
        item = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LineError(f"第{number}行不是合法 JSON：{exc.msg}", fallback) from None
    except RecursionError:
        raise LineError(f"第{number}行不是合法 JSON：嵌套过深", fallback) from None
    except ValueError:   # e.g. an integer with more digits than Python converts
        raise LineError(f"第{number}行不是合法 JSON：数值过大", fallback) from None
    if not isinstance(item, dict):
        raise LineError(f"第{number}行必须是 JSON 对象", fallback)
    line_id = item.get("id")
    line_id = str(line_id) if line_id is not None else fallback
    try:
        line_id.encode("utf-8")
    except UnicodeEncodeError:   # a lone surrogate ("\ud800") cannot be written back out
        raise LineError(f"第{number}行的 id 含有无效的 Unicode 字符", fallback) from None
    if "turns" in item:
        return line_id, item["turns"]
    if "question" in item:
        return line_id, [item["question"]]
    raise LineError(f"第{number}行缺少 turns 或 question 字段", line_id)


def _answer(assistant: PolicyAssistant, args: argparse.Namespace, turns: list[str], line_id: str | None) -> Answer:
    """One line's or the command line's answer: policy matching of the last turn with ``--match`` (a batch of
    descriptions too), else the conversation asked."""
    if not args.match:
        return assistant.ask(turns, id=line_id)
    answer = assistant.match(turns[-1])
    if line_id is not None:
        answer.id = line_id
    return answer


def run(args: argparse.Namespace) -> int:
    from assistant.answer import Answer
    from assistant.cli import CliError
    from assistant.commands.session import answering_errors, open_assistant
    from assistant.service import BadInput
    from indexing.manifest import IndexProblem

    if not args.jsonl and not args.turns:
        raise CliError("请给出问题，例如：policy-assistant ask \"孵化器最多能补多少？\"", code=2)
    assistant = open_assistant(args)
    if args.jsonl:
        try:
            for block in _blocks(_batch_lines(args.jsonl), BATCH_BLOCK):
                parsed: list[tuple[str, object] | LineError] = []
                for number, raw in block:
                    try:
                        if raw is None:
                            raise LineError(f"第{number}行过长（上限 {MAX_LINE_BYTES // 1024} KB）", f"line-{number}")
                        parsed.append(_parse_line(raw, number))
                    except LineError as exc:
                        parsed.append(exc)
                # The block's questions are embedded together (all cores), then answered one by one from the cache.
                assistant.prefetch([item[1] for item in parsed if not isinstance(item, LineError)])
                for item in parsed:
                    if isinstance(item, LineError):
                        result = Answer.rejected("", str(item), item.line_id)
                    else:
                        line_id, turns = item
                        try:
                            result = _answer(assistant, args, turns, line_id)  # type: ignore[arg-type]
                        except (ValueError, BadInput) as exc:
                            result = Answer.rejected("", str(exc), line_id)
                            result.lang = getattr(exc, "lang", "zh")   # the refusal speaks the question's language
                    sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
                sys.stdout.flush()
        except IndexProblem as exc:   # the index (not the line) is broken: every further line would fail too
            raise CliError(str(exc)) from None
        except OSError as exc:
            raise CliError(f"无法读取批量文件 {args.jsonl}：{exc.strerror or exc}") from None
        return 0
    with answering_errors():
        answer = _answer(assistant, args, list(args.turns), None)
    if args.json:
        sys.stdout.write(json.dumps(answer.to_json(), ensure_ascii=False, indent=2) + "\n")
        return 0
    if answer.rewritten_question and answer.rewritten_question != answer.question and len(args.turns) > 1:
        print(f"(Understood as: {answer.rewritten_question})" if answer.lang == "en" else f"（理解为：{answer.rewritten_question}）")
    print(answer.text)
    return 0
