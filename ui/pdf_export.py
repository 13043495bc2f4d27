"""The policy-match summary as a PDF, in a Chinese font found on the system (no font is downloaded)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def find_cjk_font() -> tuple[str, int] | None:
    """A system font with Chinese glyphs, from ``fc-list :lang=zh`` (path, collection index), or None."""
    if not shutil.which("fc-list"):
        return None
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file", "index", "family", "style"],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    candidates: list[tuple[int, str, int]] = []
    for line in out.splitlines():
        match = re.match(r"^(?P<file>[^:]+):\s*(?P<family>[^:]*):?(?P<rest>.*)$", line)
        if not match:
            continue
        path = match.group("file").strip()
        if not path.lower().endswith((".ttf", ".otf", ".ttc", ".otc")) or not os.path.exists(path):
            continue
        index_match = re.search(r"index=(\d+)", line)
        index = int(index_match.group(1)) if index_match else 0
        family = line
        score = 0
        score += 4 if re.search(r"\bSC\b|CN|Hans|GB", family) else 0
        score += 2 if "Sans" in family or "Hei" in family else 0
        score += 2 if re.search(r"style=Regular|style=Book|style=Normal", family) else 0
        score -= 3 if "Mono" in family or "Bold" in family.split("style=")[-1] else 0
        candidates.append((score, path, index))
    if not candidates:
        return None
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    return candidates[0][1], candidates[0][2]


def write_match_pdf(lines: list[str], path: Path, font: tuple[str, int]) -> Path:
    """A one-page-ish A4 PDF of the match summary, in a system CJK font."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_font("cjk", "", font[0], collection_font_number=font[1])
    pdf.add_page()
    pdf.set_margins(14, 12, 14)
    for number, line in enumerate(lines):
        size = 14 if number == 0 else 9.5
        pdf.set_font("cjk", size=size)
        if not line.strip():
            pdf.ln(2.5)
            continue
        pdf.multi_cell(0, 5.6 if number else 8, line, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path
