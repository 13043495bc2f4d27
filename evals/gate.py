"""The CI gate: compare a run's metrics with ``thresholds.toml`` and list what fails.

A thresholds file holds bounds on the pooled figures (``[min]``, ``[max]``) and may hold bounds on the questions of
one language alone (``[languages.zh.min]``, ``[languages.en.min]`` …): pooled figures let a large population hide a
loss in a small one, and the leave-one-writer-out gate holds Chinese and English questions each to their own level.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from assistant.language import LANGS
from evals.metrics import METRIC_LABELS, Summary

DEFAULT_THRESHOLDS = Path(__file__).resolve().parent / "thresholds.toml"
_METRICS = frozenset(f.name for f in fields(Summary) if f.name != "extra")


@dataclass(frozen=True)
class Thresholds:
    """Lower bounds (``[min]``) and upper bounds (``[max]``) on metrics of :class:`Summary`."""

    minimum: dict[str, float]
    maximum: dict[str, float]
    source: str = ""
    languages: dict[str, Thresholds] = field(default_factory=dict)   # bounds on one language's questions alone


def parse_thresholds(data: dict[str, object], source: str = "") -> Thresholds:
    """Validate the decoded TOML.

    Raises:
        ValueError: for an unknown table or metric name, or a value that is not a number.
    """
    unknown_tables = set(data) - {"min", "max", "languages"}
    if unknown_tables:
        raise ValueError(f"{source}: unknown table(s) {', '.join(sorted(unknown_tables))}; use [min], [max] and "
                         "[languages.<lang>.min]")
    languages: dict[str, Thresholds] = {}
    raw_languages = data.get("languages", {})
    if not isinstance(raw_languages, dict):
        raise ValueError(f"{source}: [languages] must be a table of languages")
    for lang, table in raw_languages.items():
        if lang not in LANGS:
            raise ValueError(f"{source}: unknown language {lang!r} in [languages]; known: {', '.join(LANGS)}")
        if not isinstance(table, dict):
            raise ValueError(f"{source}: [languages.{lang}] must be a table")
        if "languages" in table:
            raise ValueError(f"{source}: [languages.{lang}] cannot hold languages of its own")
        languages[lang] = parse_thresholds(table, f"{source} [languages.{lang}]")
    bounds: dict[str, dict[str, float]] = {}
    for table in ("min", "max"):
        raw = data.get(table, {})
        if not isinstance(raw, dict):
            raise ValueError(f"{source}: [{table}] must be a table")
        values: dict[str, float] = {}
        for name, value in raw.items():
            if name not in _METRICS:
                raise ValueError(
                    f"{source}: unknown metric {name!r} in [{table}]; known: {', '.join(sorted(_METRICS))}"
                )
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{source}: [{table}] {name} must be a number, got {value!r}")
            values[name] = float(value)
        bounds[table] = values
    return Thresholds(bounds["min"], bounds["max"], source, languages)


def load_thresholds(path: Path | str = DEFAULT_THRESHOLDS) -> Thresholds:
    """Read a thresholds file (default: ``evals/thresholds.toml``).

    Raises:
        ValueError: if the file cannot be read or is invalid, with the path in the message.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML ({exc})") from None
    return parse_thresholds(data, str(path))


def _label(name: str) -> str:
    return f"{METRIC_LABELS.get(name, name)} ({name})"


def check(summary: Summary, thresholds: Thresholds) -> list[str]:
    """The failing metrics, one message each; empty when the gate passes.

    A thresholded metric that could not be measured (``None``: e.g. no must-refuse question in the set)
    fails too, so a gate never passes on a set that does not exercise it.

    Args:
        summary: the run's metrics.
        thresholds: the bounds.

    Returns:
        Messages such as ``top-1 accuracy (top1_accuracy) 0.412 < 0.500``.
    """
    failures: list[str] = []
    for name, bound in thresholds.minimum.items():
        value = getattr(summary, name)
        if value is None:
            failures.append(f"{_label(name)} not measured (no questions of that kind); needs >= {bound:.3f}")
        elif value < bound:
            failures.append(f"{_label(name)} {value:.3f} < {bound:.3f}")
    for name, bound in thresholds.maximum.items():
        value = getattr(summary, name)
        if value is None:
            failures.append(f"{_label(name)} not measured; needs <= {bound:.3f}")
        elif value > bound:
            failures.append(f"{_label(name)} {value:.3f} > {bound:.3f}")
    return failures


def print_verdict(failures: list[str], what: str = "") -> int:
    """Say on stderr whether the gate passed (listing what failed); returns the exit code."""
    import sys

    if failures:
        print(f"门禁未通过{what}：", file=sys.stderr)
        for message in failures:
            print(f"  - {message}", file=sys.stderr)
        return 1
    print(f"门禁通过{what}", file=sys.stderr)
    return 0
