"""Open the assistant for a CLI command: build the index on first use, turn index problems into one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexing.retrieval.hits import DEFAULT_RETRIEVER_MODE, RETRIEVER_MODES

if TYPE_CHECKING:
    from assistant.service import PolicyAssistant
    from indexing.config import IndexConfig


def add_retrieval_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--retriever", choices=RETRIEVER_MODES, default=None,
                        help=f"检索方式（默认 {DEFAULT_RETRIEVER_MODE}，或环境变量 POLICY_ASSISTANT_RETRIEVER）")
    parser.add_argument("--doc", default=None, metavar="DOC_ID",
                        help="只在这一份文档中检索（id 见 policy-assistant index --list）")
    parser.add_argument("--no-profiles", action="store_true", help="不使用条款画像（对比实验用）")
    parser.add_argument("--no-expansion", action="store_true", help="不做同义词扩展（对比实验用）")
    parser.add_argument("--corpus", type=Path, default=None, help="语料目录（默认：内置语料）")
    parser.add_argument("--embed-model", default=None, help="嵌入模型（须与建索引时一致）")
    parser.add_argument("--chroma-url", default=None, help="Chroma 服务器地址，如 http://127.0.0.1:8000")
    parser.add_argument("--rerank-model", default=None,
                        help="可选：sentence-transformers 交叉编码器（名称或本地路径，须已在本机）；或 POLICY_ASSISTANT_RERANK_MODEL")


def index_config(args: argparse.Namespace) -> IndexConfig:
    from indexing.config import IndexConfig

    overrides: dict[str, Any] = {}
    if getattr(args, "corpus", None):
        overrides["corpus_dir"] = Path(args.corpus)
    if getattr(args, "embed_model", None):
        overrides["embed_model"] = args.embed_model
    if getattr(args, "chroma_url", None):
        overrides["chroma_url"] = args.chroma_url
    return IndexConfig(**overrides)


def open_assistant(args: argparse.Namespace, build_if_missing: bool = True) -> PolicyAssistant:
    """The assistant for this command (restricted to ``--doc`` when given); a missing index is built first."""
    assistant = _open_assistant(args, build_if_missing)
    doc = getattr(args, "doc", None)
    if not doc:
        return assistant
    from assistant.cli import CliError
    from assistant.knowledge import UnknownDocument

    try:
        return assistant.for_document(doc)
    except UnknownDocument as exc:
        raise CliError(f"--doc：{exc}", code=2) from None


def _open_assistant(args: argparse.Namespace, build_if_missing: bool) -> PolicyAssistant:
    """The assistant for this command; a missing index is built first (with progress on stderr)."""
    from assistant.cli import CliError
    from assistant.service import PolicyAssistant
    from indexing.manifest import IndexNotBuilt, IndexProblem
    from indexing.parser import ParseError
    from indexing.retrieval.rerank import RerankerUnavailable

    try:
        config = index_config(args)
    except ValueError as exc:
        raise CliError(f"配置错误：{exc}") from None

    def _open() -> PolicyAssistant:
        return PolicyAssistant.open(
            retriever=getattr(args, "retriever", None),
            use_profiles=not getattr(args, "no_profiles", False),
            expand=not getattr(args, "no_expansion", False),
            index_config=config,
            rerank_model=getattr(args, "rerank_model", None),
        )

    try:
        return _open()
    except IndexNotBuilt:
        if not build_if_missing:
            raise CliError("索引尚未建立，请先运行：policy-assistant index") from None
        from indexing.build import build_index

        print("首次使用：正在建立索引（约十几秒）…", file=sys.stderr)
        try:
            build_index(config)
        except (ParseError, IndexProblem, ValueError) as exc:
            raise CliError(f"建立索引失败：{exc}") from None
        try:
            return _open()
        except IndexProblem as exc:
            raise CliError(str(exc)) from None
    except IndexProblem as exc:
        raise CliError(str(exc)) from None
    except ParseError as exc:
        raise CliError(f"无法解析语料文档：{exc}") from None
    except RerankerUnavailable as exc:
        raise CliError(str(exc)) from None
    except ValueError as exc:   # a POLICY_ASSISTANT_LLM_* setting that does not parse
        raise CliError(f"配置错误：{exc}", 2) from None
    except ImportError as exc:  # the optional LLM's package is missing
        raise CliError(str(exc)) from None


@contextmanager
def answering_errors() -> Iterator[None]:
    """Turn a rejected question (exit 2) or an index problem found while answering (exit 1) into one line."""
    from assistant.cli import CliError
    from assistant.service import BadInput
    from indexing.manifest import IndexProblem

    try:
        yield
    except BadInput as exc:
        raise CliError(str(exc), code=2) from None
    except IndexProblem as exc:   # found on the first search (vector store unreadable, Chroma server down)
        raise CliError(str(exc)) from None
