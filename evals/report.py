"""Eval reports: console tables, and a report directory with report.md, report.html and PNG plots.

Plots use ASCII labels (clause （十六） is drawn as "16") so that they render without a CJK font.
The HTML page is self-contained (plots inlined as data URIs) and every piece of text is escaped.
"""

from __future__ import annotations

import base64
import html
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.metrics import (
    METRIC_LABELS,
    NO_CITATION_LABEL,
    NO_CLAUSE_LABEL,
    REFUSE_LABEL,
    REFUSED_LABEL,
    RETRIEVAL_METRICS,
    Graded,
    Summary,
    confusion,
    section_sort_key,
)
from evals.runner import EvalRun

PLOT_FILES: dict[str, str] = {
    "clause_accuracy": "accuracy_per_clause.png",
    "confusion": "confusion.png",
    "scores": "scores_refused_vs_answered.png",
    "latency": "latency.png",
}
# Columns of the per-group tables: metric name → header.
GROUP_COLUMNS: dict[str, str] = {
    "top1_accuracy": "top-1",
    "citation_f1_micro": "F1 micro",
    "exact_match": "exact",
    "caps_accuracy": "caps",
    "recall_at_5": "R@5",
    "mrr": "MRR",
    "refusal_recall": "refusal R",
}
BUSINESS_TAG = "business"


# ---- formatting -------------------------------------------------------------------------------------
def format_value(name: str, value: float | None) -> str:
    """A metric as shown in tables: rates with 3 decimals, latencies in whole ms, missing as —."""
    if value is None:
        return "—"
    if name.startswith("latency"):
        return f"{value:.0f}"
    return f"{value:.3f}"


def run_value(run: EvalRun, summary: Summary, name: str) -> str:
    """A metric of a run; answer metrics of a retrieval-only run are not applicable (—)."""
    if run.retrieval_only and name not in RETRIEVAL_METRICS:
        return "—"
    return format_value(name, getattr(summary, name))


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table whose columns line up with Chinese text (wide characters count double)."""
    widths = [max([_width(str(h))] + [_width(str(r[i])) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = []
        for i, cell in enumerate(cells):
            pad = widths[i] - _width(str(cell))
            parts.append(str(cell) + " " * pad if i == 0 else " " * pad + str(cell))
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule] + [line(r) for r in rows])


@dataclass(frozen=True)
class Table:
    """A titled table, rendered as text, Markdown or HTML."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def overall_table(run: EvalRun) -> Table:
    summary = run.summary
    rows = [(METRIC_LABELS[name], run_value(run, summary, name)) for name in METRIC_LABELS]
    counts = (
        f"{summary.n} questions, {summary.n_must_refuse} must-refuse, {summary.n_retrieval} with retrieval gold, "
        f"{summary.n_gold_caps} gold caps, {summary.n_errors} errors"
    )
    return Table(f"Overall — {run.label} ({counts})", ("metric", "value"), tuple(rows))


def group_table(run: EvalRun, title: str, groups: dict[str, Summary]) -> Table:
    headers = ("group", "n") + tuple(GROUP_COLUMNS.values())
    rows = [
        (name, str(s.n)) + tuple(run_value(run, s, metric) for metric in GROUP_COLUMNS)
        for name, s in groups.items()
    ]
    return Table(title, headers, tuple(rows))


def comparison_table(runs: Sequence[EvalRun], title: str, tag: str | None = None) -> Table:
    """Metrics (rows) × runs (columns); ``tag`` restricts every run to the cases with that tag."""
    summaries = []
    for run in runs:
        summaries.append(run.by_tag.get(tag) if tag else run.summary)
    headers = ("metric",) + tuple(r.label for r in runs)
    rows = [("n", *(str(s.n) if s else "0" for s in summaries))]
    for name, label in METRIC_LABELS.items():
        rows.append((label, *(run_value(r, s, name) if s else "—" for r, s in zip(runs, summaries, strict=True))))
    return Table(title, headers, tuple(rows))


def console_tables(runs: Sequence[EvalRun]) -> list[Table]:
    """What ``eval`` prints: one run → overall, per persona, per tag; several → side-by-side comparisons."""
    if len(runs) == 1:
        run = runs[0]
        return [
            overall_table(run),
            group_table(run, f"Per persona — {run.label}", run.by_persona),
            group_table(run, f"Per tag — {run.label}", run.by_tag),
        ]
    return [
        comparison_table(runs, "Baselines — all questions"),
        comparison_table(runs, f"Baselines — tag '{BUSINESS_TAG}' (business wording, no policy keywords)", BUSINESS_TAG),
    ]


def render_text(tables: Sequence[Table]) -> str:
    return "\n\n".join(f"{t.title}\n{format_table(t.headers, t.rows)}" for t in tables) + "\n"


# ---- Markdown / HTML helpers -------------------------------------------------------------------------
def md_cell(text: object) -> str:
    """Text made safe for a Markdown table cell (HTML-escaped, pipes escaped, one line)."""
    return html.escape(str(text)).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def md_table(table: Table, heading: bool = True) -> str:
    lines = [f"### {md_cell(table.title)}", ""] if heading else []
    lines += ["| " + " | ".join(md_cell(h) for h in table.headers) + " |",
              "|" + "|".join("---" for _ in table.headers) + "|"]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines) + "\n"


def html_table(table: Table) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in table.headers)
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in table.rows)
    return f"<h3>{e(table.title)}</h3>\n<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>\n"


# ---- plots --------------------------------------------------------------------------------------------
def ascii_section(key: str) -> str:
    """A plot label for a section or confusion label: 十六 → 16, chapter:一 → ch1, （拒答） → refused."""
    from indexing.numerals import chinese_to_int

    special = {REFUSE_LABEL: "must-refuse", NO_CLAUSE_LABEL: "no-clause", REFUSED_LABEL: "refused",
               NO_CITATION_LABEL: "no-citation", "preamble": "preamble"}
    if key in special:
        return special[key]
    if "+" in key:
        return "+".join(ascii_section(k) for k in key.split("+"))
    try:
        if key.startswith("chapter:"):
            return f"ch{chinese_to_int(key.removeprefix('chapter:'))}"
        return str(chinese_to_int(key))
    except ValueError:
        return key.encode("ascii", "replace").decode("ascii")


def _pyplot() -> Any:   # matplotlib.pyplot, imported on first use (it costs ~0.3 s)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_clause_accuracy(run: EvalRun, path: Path) -> None:
    plt = _pyplot()
    stats = run.by_clause
    fig, ax = plt.subplots(figsize=(max(6.0, 0.38 * len(stats) + 2), 3.6))
    labels = [ascii_section(k) for k in stats]
    values = [s.top1_accuracy for s in stats.values()]
    bars = ax.bar(range(len(values)), values, color="#4c78a8")
    for bar, s in zip(bars, stats.values(), strict=True):
        ax.annotate(str(s.n), (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                    fontsize=7)
    ax.set_xticks(range(len(values)), labels, rotation=90 if len(labels) > 20 else 0, fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("top-1 accuracy")
    ax.set_title(f"Top-1 accuracy per gold clause ({run.label}; numbers = questions)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusion(run: EvalRun, path: Path) -> None:
    plt = _pyplot()
    counts = confusion(run.graded)
    golds = sorted({g for g, _ in counts}, key=section_sort_key)
    preds = sorted({p for _, p in counts}, key=section_sort_key)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * len(preds) + 2.5), max(3.0, 0.35 * len(golds) + 1.8)))
    if not counts:
        ax.text(0.5, 0.5, "no wrong top-1 answers", ha="center", va="center")
        ax.set_axis_off()
    else:
        grid = [[counts.get((g, p), 0) for p in preds] for g in golds]
        image = ax.imshow(grid, cmap="Reds", aspect="auto")
        for i, row in enumerate(grid):
            for j, value in enumerate(row):
                if value:
                    ax.text(j, i, str(value), ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(preds)), [ascii_section(p) for p in preds], rotation=90, fontsize=7)
        ax.set_yticks(range(len(golds)), [ascii_section(g) for g in golds], fontsize=7)
        ax.set_xlabel("predicted (first citation)")
        ax.set_ylabel("gold")
        fig.colorbar(image, ax=ax, fraction=0.04)
    ax.set_title(f"Wrong top-1 answers: gold -> predicted ({run.label})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_scores(run: EvalRun, path: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    groups = (
        ("by answer", [("answered", lambda g: not g.answer.refused), ("refused", lambda g: g.answer.refused)]),
        ("by gold", [("answerable", lambda g: not g.case.must_refuse), ("must refuse", lambda g: g.case.must_refuse)]),
    )
    every = [g.answer.top_score for g in run.graded if g.answer.top_score is not None]
    # Shared bin edges, so that the small group (refusals) is comparable with the large one.
    low, high = (min(every), max(every)) if every else (0.0, 1.0)
    edges = [low + (high - low) * i / 20 for i in range(21)] if high > low else 20
    for ax, (title, parts) in zip(axes, groups, strict=True):
        plotted = False
        for label, keep in parts:
            scores = [g.answer.top_score for g in run.graded if keep(g) and g.answer.top_score is not None]
            if scores:
                ax.hist(scores, bins=edges, alpha=0.6, label=f"{label} ({len(scores)})")
                plotted = True
        if plotted:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no retrieved scores", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("top retrieved score")
        ax.set_title(f"Top score {title}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(run: EvalRun, path: Path) -> None:
    plt = _pyplot()
    values = [g.answer.latency_ms for g in run.graded if g.answer.latency_ms is not None and not g.answer.error]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    if values:
        ax.hist(values, bins=30, color="#72b7b2")
        s = run.summary
        for name, value in (("p50", s.latency_p50), ("p95", s.latency_p95)):
            if value is not None:
                ax.axvline(value, color="#333", linestyle="--", linewidth=1)
                ax.annotate(f"{name} {value:.0f} ms", (value, ax.get_ylim()[1] * 0.9), fontsize=8)
    else:
        ax.text(0.5, 0.5, "no latencies", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("latency (ms)")
    ax.set_title(f"Latency ({run.label})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_plots(run: EvalRun, out_dir: Path) -> dict[str, Path]:
    """Draw the four plots of a run into ``out_dir``; returns plot name → file."""
    drawers = {
        "clause_accuracy": plot_clause_accuracy, "confusion": plot_confusion, "scores": plot_scores,
        "latency": plot_latency,
    }
    paths = {}
    for name, draw in drawers.items():
        path = out_dir / PLOT_FILES[name]
        draw(run, path)
        paths[name] = path
    return paths


# ---- wrong answers ------------------------------------------------------------------------------------
def confusion_table(run: EvalRun) -> Table:
    rows = sorted(confusion(run.graded).items(), key=lambda kv: (-kv[1], section_sort_key(kv[0][0])))
    return Table(f"Wrong top-1 answers: gold → predicted ({run.label})", ("gold", "predicted", "count"),
                 tuple((g, p, str(n)) for (g, p), n in rows))


def _retrieved_rows(g: Graded, limit: int = 5) -> tuple[tuple[str, ...], ...]:
    gold = set(g.case.gold_clauses)
    rows = []
    for rank, r in enumerate(g.answer.retrieved[:limit], start=1):
        rows.append((
            str(rank), r.section + (" ✓" if r.section in gold else ""),
            "—" if r.score is None else f"{r.score:.4f}",
            "—" if r.bm25_rank is None else str(r.bm25_rank),
            "—" if r.dense_rank is None else str(r.dense_rank),
            "、".join(r.matched_terms[:8]),
        ))
    return tuple(rows)


RETRIEVED_HEADERS = ("rank", "section", "score", "bm25 rank", "dense rank", "matched terms")


def _case_facts(g: Graded) -> list[tuple[str, str]]:
    case, answer = g.case, g.answer
    facts = []
    if len(case.turns) > 1:
        facts.append(("earlier turns", " / ".join(case.turns[:-1])))
    facts += [
        ("persona / tags", f"{case.persona} / {', '.join(case.tags)}"),
        ("gold", "must refuse" if case.must_refuse else ("、".join(case.gold_clauses) or "(no clause needed)")),
        ("gold caps", "; ".join(c.label for c in case.gold_caps) or "—"),
        ("cited", ("（refused） " if answer.refused else "") + ("、".join(answer.cited) or "—")),
        ("caps stated", "; ".join(c.label for c in answer.caps) or "—"),
        ("why", "; ".join(g.reasons)),
    ]
    if answer.text:
        facts.append(("answer", answer.text[:400] + ("…" if len(answer.text) > 400 else "")))
    if case.note:
        facts.append(("note", case.note))
    return facts


def wrong_cases(run: EvalRun) -> list[Graded]:
    """Every case with something wrong, top-1 failures first, then in question order."""
    return sorted((g for g in run.graded if g.wrong), key=lambda g: g.top1_correct)


def _md_wrong(g: Graded) -> str:
    lines = [f"#### {md_cell(g.case.id)} — {md_cell(g.case.question)}", "",
             f"<sub>{md_cell(g.case.source)}</sub>", ""]
    lines += [f"- **{md_cell(k)}**: {md_cell(v)}" for k, v in _case_facts(g)]
    rows = _retrieved_rows(g)
    if rows:
        lines += ["", md_table(Table("retrieved", RETRIEVED_HEADERS, rows), heading=False)]
    elif not g.answer.retrieval_reported:
        lines += ["", "_(no retrieved list in this answer)_"]
    return "\n".join(lines) + "\n"


def _html_wrong(g: Graded) -> str:
    e = html.escape
    facts = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in _case_facts(g))
    rows = _retrieved_rows(g)
    retrieved = html_table(Table("retrieved", RETRIEVED_HEADERS, rows)) if rows else ""
    return (f'<section class="case"><h4>{e(g.case.id)} — {e(g.case.question)}</h4>'
            f'<p class="src">{e(g.case.source)}</p><dl>{facts}</dl>{retrieved}</section>\n')


# ---- the report ---------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:2em;max-width:1100px}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}
td:first-child,th:first-child{text-align:left}img{max-width:100%}.case{border-top:1px solid #ddd;padding:.5em 0}
dt{font-weight:600;float:left;clear:left;width:9em}dd{margin-left:10em}.src{color:#777;font-size:.85em}
"""


def write_report(runs: Sequence[EvalRun], out_dir: Path | str, title: str = "policy-assistant eval",
                 gate_failures: Sequence[str] | None = None) -> list[Path]:
    """Write ``report.md``, ``report.html`` and the PNG plots of the first run into ``out_dir``.

    Args:
        runs: the main run first; further runs (baselines) appear in a comparison table.
        out_dir: created if missing.
        title: the page title.
        gate_failures: gate messages to show (``None``: the gate was not run).

    Returns:
        The files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    main = runs[0]
    plots = write_plots(main, out)
    tables = [overall_table(main)]
    if len(runs) > 1:
        tables += console_tables(runs)
    tables += [
        group_table(main, f"Per persona — {main.label}", main.by_persona),
        group_table(main, f"Per tag — {main.label}", main.by_tag),
        Table(f"Per gold clause — {main.label}", ("clause", "n", "top-1", "cited", "retrieved@5"), tuple(
            (k, str(s.n), f"{s.top1_accuracy:.3f}", f"{s.cited_rate:.3f}",
             f"{s.retrieved_at_5}/{s.n_retrieval}" if s.n_retrieval else "—")
            for k, s in main.by_clause.items()
        )),
        confusion_table(main),
    ]
    wrong = wrong_cases(main)
    gate_md = gate_html = ""
    if gate_failures is not None:
        if gate_failures:
            gate_md = "**Gate: FAILED**\n\n" + "\n".join(f"- {md_cell(m)}" for m in gate_failures) + "\n"
            gate_html = "<p><b>Gate: FAILED</b></p><ul>" + "".join(
                f"<li>{html.escape(m)}</li>" for m in gate_failures) + "</ul>"
        else:
            gate_md, gate_html = "**Gate: passed**\n", "<p><b>Gate: passed</b></p>"

    md = [f"# {md_cell(title)}", "", gate_md]
    md += [md_table(t) for t in tables]
    md += ["## Plots", ""] + [f"![{name}]({path.name})" for name, path in plots.items()]
    md += ["", f"## Wrong answers ({len(wrong)} of {len(main.graded)})", ""] + [_md_wrong(g) for g in wrong]
    md_path = out / "report.md"
    md_path.write_text("\n".join(md), encoding="utf-8")

    images = "".join(
        f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(path.read_bytes()).decode("ascii")}"></figure>\n'
        for name, path in plots.items()
    )
    body = (f"<h1>{html.escape(title)}</h1>\n{gate_html}\n" + "".join(html_table(t) for t in tables)
            + f"<h2>Plots</h2>\n{images}<h2>Wrong answers ({len(wrong)} of {len(main.graded)})</h2>\n"
            + "".join(_html_wrong(g) for g in wrong))
    page = (f'<!doctype html>\n<html lang="zh"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style></head><body>\n{body}</body></html>\n")
    html_path = out / "report.html"
    html_path.write_text(page, encoding="utf-8")
    return [md_path, html_path, *plots.values()]
