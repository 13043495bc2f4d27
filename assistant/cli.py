"""The ``policy-assistant`` console script: parses arguments, then imports the one module it needs.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and ``run(args) -> int``.
Those modules import nothing heavy at module level, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Defined at the leaf so that subcommands in every layer (indexing.command too) raise the one class caught below;
# ``from assistant.cli import CliError`` keeps working for the layers above.
from indexing.cli_support import CliError

__all__ = ["COMMANDS", "CliError", "build_parser", "main"]

# name → (module, one-line help). Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "clause": ("assistant.commands.clause", "show a clause: text, chapter, title, caps, linked documents"),
    "caps": ("assistant.commands.caps", "the award-cap table of the measure"),
    "index": ("indexing.command", "build or update the search index (Chroma + BM25)"),
    "search": ("assistant.commands.search", "rank clauses for a query, with scores and matched terms"),
    "ask": ("assistant.commands.ask", "answer a question with cited clauses and caps (or a JSONL batch)"),
    "serve": ("ui.command", "start the web chat, the lookup desk and the HTTP API"),
    "eval": ("evals.command", "run a question set and report citation accuracy"),
    "train": ("evals.train_command", "rebuild the learned section and answerability models from the question files"),
    "enrich": ("assistant.commands.enrich", "draft clause-profile additions with an LLM, for review"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser; only ``command``'s module is imported to define its arguments."""
    parser = argparse.ArgumentParser(
        prog="policy-assistant",
        description="深圳数字创意产业政策助手：条款检索、资助上限查询、带引用的问答。",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if name == command:
            importlib.import_module(module_name).add_arguments(sub)
            sub.set_defaults(_module=module_name)
    return parser


def _version() -> str:
    from assistant import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 2
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args) or 0)
    except CliError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("已中断", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
