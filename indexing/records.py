"""Typed records from TOML tables: one loader over a dataclass's fields, for every table the corpus keeps.

A document's sidecar (``DocumentMeta``, its ``LinkedDocument``s) and the English table's documents and vocabulary
(``assistant.english_table``) are frozen dataclasses whose field names are the keys of their tables; ``record``
reads any of them, so a new field is one line of the dataclass, not one more line in each loader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import Any, TypeVar

T = TypeVar("T")


def record(cls: type[T], table: Mapping[str, Any], **given: Any) -> T:
    """``cls`` from a table: each field from the key of its name, else the field's default.

    Arrays become tuples where the field's default is a tuple (frozen records hold no lists). Keys without a field
    are ignored.

    Args:
        cls: a dataclass.
        table: the parsed table (or another record's ``vars``).
        given: fields built otherwise (nested records, values that are not in the table); they win over the table.

    Returns:
        The record.

    Raises:
        KeyError: when a field without a default is neither in the table nor given.
    """
    values: dict[str, Any] = {}
    for spec in fields(cls):  # type: ignore[arg-type]
        if spec.name in given:
            values[spec.name] = given[spec.name]
        elif spec.name in table:
            value = table[spec.name]
            values[spec.name] = tuple(value) if isinstance(spec.default, tuple) and isinstance(value, list) else value
        elif spec.default is MISSING and spec.default_factory is MISSING:
            raise KeyError(spec.name)
    return cls(**values)
