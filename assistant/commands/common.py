"""Shared CLI helpers: corpus option, JSON printing, turning library errors into one-line errors."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_corpus_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--corpus", type=Path, default=None,
        help="语料目录（默认：内置语料，或环境变量 POLICY_ASSISTANT_CORPUS）",
    )


def corpus_dir(args: argparse.Namespace) -> Path:
    from indexing.config import IndexConfig

    return Path(args.corpus) if getattr(args, "corpus", None) else IndexConfig().corpus_dir


def print_json(data: Any) -> None:
    """One UTF-8 JSON object on stdout (Chinese kept as is)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def knowledge(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Load the corpus, turning a parse failure into a CLI error."""
    from assistant.cli import CliError
    from assistant.knowledge import load_knowledge
    from indexing.parser import ParseError

    try:
        return load_knowledge(corpus_dir(args))
    except ParseError as exc:
        raise CliError(f"无法解析语料文档：{exc}") from None
    except OSError as exc:
        raise CliError(f"无法读取语料目录：{exc}") from None
