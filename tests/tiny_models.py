"""Test helpers: a deterministic fake embedder and tiny Transformer models built locally (never downloaded).

* ``HashingEmbedder`` implements ``indexing.embedding.Embedder`` with hashed character n-grams: fast,
  deterministic, and similar texts get similar vectors, so searches over the real policy text make sense.
* ``build_tiny_sentence_transformer`` / ``build_tiny_cross_encoder`` write a randomly initialised BERT
  (hidden 32, 2 layers, 2 heads) with a WordPiece vocabulary made from the corpus characters into a folder,
  in the layout ``SentenceTransformer(path)`` / ``CrossEncoder(path)`` load. Nothing touches the network.

torch and transformers are imported inside the builders so that importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
ASCII = "abcdefghijklmnopqrstuvwxyz0123456789"


class HashingEmbedder:
    """A fake ``Embedder``: character 1–3-grams hashed into ``dim`` buckets, L2-normalised.

    Queries and passages get different (but close) vectors, like an e5-style model with prefixes.
    ``calls`` counts the texts embedded, so tests can check what was re-embedded.
    """

    def __init__(self, dim: int = 64, model_id: str = "fake-hashing") -> None:
        self.dim = dim
        self.model_id = model_id
        self.passages_embedded = 0
        self.queries_embedded = 0

    def _vector(self, text: str, salt: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for n in (1, 2, 3):
            for i in range(len(text) - n + 1):
                gram = text[i:i + n]
                digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dim
                sign = 1.0 if digest[4] & 1 else -1.0
                vector[bucket] += sign * n
        # A small salt component keeps query and passage vectors apart, as real prefixes do.
        salt_bucket = int.from_bytes(hashlib.blake2b(salt.encode(), digest_size=4).digest(), "little") % self.dim
        vector[salt_bucket] += 0.5
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.queries_embedded += len(texts)
        return np.stack([self._vector(t, "query") for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.passages_embedded += len(texts)
        return np.stack([self._vector(t, "passage") for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


def corpus_characters(corpus_dir: Path = CORPUS) -> list[str]:
    """Every distinct character of the corpus text and profiles, plus ASCII letters and digits."""
    chars: set[str] = set(ASCII)
    for path in sorted(corpus_dir.rglob("*")):
        if path.suffix in (".txt", ".toml") and path.is_file():
            chars.update(path.read_text(encoding="utf-8"))
    return sorted(c for c in chars if c.strip())


def write_vocab(folder: Path, corpus_dir: Path = CORPUS) -> Path:
    """A WordPiece vocabulary file: special tokens, then one token per corpus character."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    # "##x" continuations let WordPiece spell ASCII words such as "vr" or "5g" letter by letter.
    tokens = [*SPECIAL_TOKENS, *corpus_characters(corpus_dir), *(f"##{c}" for c in ASCII)]
    vocab.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return vocab


def _tiny_bert_config(vocab_size: int, **extra):  # type: ignore[no-untyped-def]
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        **extra,
    )


def _tokenizer(vocab: Path):  # type: ignore[no-untyped-def]
    import inspect

    from transformers import BertTokenizerFast

    # transformers 5 takes the vocabulary as ``vocab`` (and silently ignores ``vocab_file``); 4.x as ``vocab_file``.
    words = vocab.read_text(encoding="utf-8").splitlines()
    if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters:
        return BertTokenizerFast(vocab={w: i for i, w in enumerate(words)}, do_lower_case=True)
    return BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True)


def build_tiny_sentence_transformer(folder: Path, seed: int = 0, prompts: dict[str, str] | None = None) -> Path:
    """Save a tiny random BERT + mean pooling as a sentence-transformers model in ``folder``.

    Args:
        folder: where to write it (created).
        seed: torch seed, so two builds give the same weights.
        prompts: optional ``prompts`` saved in the model's config (e.g. ``{"query": "查询："}``).

    Returns:
        ``folder``, loadable with ``SentenceTransformer(str(folder))``.
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertModel

    torch.manual_seed(seed)
    folder = Path(folder)
    hf_dir = folder / "hf"
    vocab = write_vocab(hf_dir)
    tokenizer = _tokenizer(vocab)
    BertModel(_tiny_bert_config(len(tokenizer))).save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    transformer = Transformer(str(hf_dir), max_seq_length=128)
    pooling = Pooling(transformer.get_embedding_dimension(), "mean")
    model = SentenceTransformer(modules=[transformer, pooling], device="cpu", prompts=prompts)
    model.save(str(folder / "model"))
    return folder / "model"


def build_tiny_cross_encoder(folder: Path, seed: int = 0) -> Path:
    """Save a tiny random ``BertForSequenceClassification`` (one label) loadable with ``CrossEncoder(path)``."""
    import torch
    from transformers import BertForSequenceClassification

    torch.manual_seed(seed)
    folder = Path(folder)
    vocab = write_vocab(folder)
    tokenizer = _tokenizer(vocab)
    BertForSequenceClassification(_tiny_bert_config(len(tokenizer), num_labels=1)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
