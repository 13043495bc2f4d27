"""The page's stylesheet and scripts: plain files under ``ui/static/``, read once when the Blocks are built."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def static_text(name: str) -> str:
    """The text of ``ui/static/<name>``, stripped (packaged with the code: ``*.css`` and ``*.js`` are package data).

    Raises:
        FileNotFoundError: no such file (an installation that lost its static files).
    """
    return resources.files("ui").joinpath("static", name).read_text(encoding="utf-8").strip()
