"""Shared CLI helpers of the assistant's subcommands: loading the corpus, with parse errors as one-line errors.

The helpers every subcommand shares (``CliError``, ``--corpus``, JSON output) are in ``indexing.cli_support``,
where ``indexing.command`` can use them too.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from indexing.cli_support import CliError, corpus_dir

if TYPE_CHECKING:
    from assistant.knowledge import KnowledgeBase


def knowledge(args: argparse.Namespace) -> KnowledgeBase:
    """Load the corpus, turning a parse failure into a CLI error."""
    from assistant.knowledge import load_knowledge
    from indexing.parser import ParseError

    try:
        return load_knowledge(corpus_dir(args))
    except ParseError as exc:
        raise CliError(f"无法解析语料文档：{exc}") from None
    except OSError as exc:
        raise CliError(f"无法读取语料目录：{exc}") from None
