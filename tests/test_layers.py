"""Imports flow one way: indexing ← assistant ← evals / ui (and the CLI), and modules import no circle.

Read from the source with ``ast`` (nothing is imported), counting imports inside functions too: a lazy
import that runs upward is still an upward edge. ``assistant.cli`` names subcommands of the layers above
by string (``importlib``), which is how a shell dispatches and is not an import edge.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("indexing", "assistant", "evals", "ui")

# What each layer may import from this project (besides itself).
ALLOWED: dict[str, frozenset[str]] = {
    "indexing": frozenset(),
    "assistant": frozenset({"indexing"}),
    "evals": frozenset({"indexing", "assistant"}),
    "ui": frozenset({"indexing", "assistant", "evals"}),
}


def _modules() -> dict[str, Path]:
    """Dotted module name → file, for every module of the four packages."""
    out: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _project_module(name: str) -> str | None:
    """The project module that ``import name`` loads last (``a.b.C`` → ``a.b``), or None outside the project."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> Iterable[tuple[str, int]]:
    """(imported project module, line) for every import statement of ``module``, at any depth."""
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            # ``from a import b`` loads the module a.b when there is one, else the module a.
            names = [f"{source}.{alias.name}" if _project_module(f"{source}.{alias.name}") != _project_module(source)
                     else source for alias in node.names]
        else:
            continue
        for name in names:
            target = _project_module(name)
            if target is not None and target != module:
                yield target, node.lineno


def _graph(packages: tuple[str, ...]) -> dict[str, set[str]]:
    inside = {m for m in MODULES if m.split(".")[0] in packages}
    return {m: {t for t, _ in _imports(m) if t in inside} for m in sorted(inside)}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_source_is_found():
    """Guard against a walk that finds nothing and so passes vacuously."""
    assert {"indexing.caps", "indexing.cli_support", "assistant.service", "evals.runner", "ui.server"} <= MODULES.keys()
    assert "indexing.caps" in {t for t, _ in _imports("assistant.knowledge")}
    assert "assistant.knowledge" in {t for t, _ in _imports("assistant.commands.common")}   # inside a function


def test_no_import_runs_upward():
    upward = [
        f"{MODULES[module].relative_to(ROOT)}:{line} imports {target}"
        for module in MODULES
        for target, line in _imports(module)
        if (layer := module.split(".")[0]) != (other := target.split(".")[0]) and other not in ALLOWED[layer]
    ]
    assert not upward, "imports must flow indexing ← assistant ← evals/ui:\n" + "\n".join(upward)


def test_no_import_cycles_below_ui():
    assert _cycles(_graph(("indexing", "assistant", "evals"))) == []


def test_no_import_cycles_in_ui():
    assert _cycles(_graph(PACKAGES)) == []


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
