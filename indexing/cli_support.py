"""What every ``policy-assistant`` subcommand shares: the one-line error type, the ``--corpus`` option, JSON output.

The subcommands live in every layer (``indexing.command``, ``assistant.commands.*``, ``evals.command``,
``ui.command``) and the dispatcher (``assistant.cli``) catches :class:`CliError` from all of them, so the
contract sits in the lowest layer that has a subcommand. It imports nothing from this project at module level
(only ``indexing.config``, inside :func:`corpus_dir`), so any module may import it without an upward edge.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


class CliError(Exception):
    """An error to print as one line on stderr, with an exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def add_corpus_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--corpus DIR`` (default: the bundled corpus, or ``POLICY_ASSISTANT_CORPUS``)."""
    parser.add_argument(
        "--corpus", type=Path, default=None,
        help="语料目录（默认：内置语料，或环境变量 POLICY_ASSISTANT_CORPUS）",
    )


def corpus_dir(args: argparse.Namespace) -> Path:
    """The corpus folder named by ``--corpus``, else the configured one."""
    from indexing.config import IndexConfig

    return Path(args.corpus) if getattr(args, "corpus", None) else IndexConfig().corpus_dir


def print_json(data: Any) -> None:
    """One UTF-8 JSON object on stdout (Chinese kept as is)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
