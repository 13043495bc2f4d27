"""Configuration is read in one place: only ``indexing/config.py`` reads ``os.environ`` for a setting of ours.

Read from the source with ``ast``. Elsewhere a module may set variables for libraries (``setdefault``) and read
the system's own (``DISPLAY``) by literal name, but a ``POLICY_ASSISTANT_*`` value, or any variable whose name is
computed, comes through ``indexing.config`` (``env``, ``int_env`` and the ``*_setting`` functions) and from there
into the config dataclasses.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("indexing", "assistant", "evals", "ui")
READER = ROOT / "indexing" / "config.py"


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and isinstance(node.value, ast.Name) \
        and node.value.id == "os"


def _reads(tree: ast.AST) -> Iterator[tuple[int, ast.expr | None]]:
    """(line, key) of every read of the environment: ``os.environ.get(k)``, ``os.environ[k]``, ``os.getenv(k)``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            if (func.attr == "get" and _is_environ(func.value)) or (
                    func.attr == "getenv" and isinstance(func.value, ast.Name) and func.value.id == "os"):
                yield node.lineno, node.args[0] if node.args else None
        elif isinstance(node, ast.Subscript) and _is_environ(node.value) and isinstance(node.ctx, ast.Load):
            yield node.lineno, node.slice


def _ours(key: ast.expr | None) -> bool:
    """A key that is ours, or that cannot be told from the source (a computed name)."""
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return key.value.startswith("POLICY_ASSISTANT_")
    return True


def test_settings_are_read_only_by_the_config_module():
    offending = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == READER:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            offending += [f"{path.relative_to(ROOT)}:{line}" for line, key in _reads(tree) if _ours(key)]
    assert not offending, "read settings through indexing.config, not os.environ:\n" + "\n".join(offending)


def test_the_reader_is_found():
    """Guard against a walk that finds nothing and so passes vacuously."""
    reads = list(_reads(ast.parse(READER.read_text(encoding="utf-8"))))
    assert reads and all(_ours(key) for _, key in reads)
    sample = ast.parse('import os\nos.environ.get("POLICY_ASSISTANT_X")\nos.getenv("HOME")\nos.environ["DISPLAY"]\n')
    assert [_ours(key) for _, key in _reads(sample)] == [True, False, False]
