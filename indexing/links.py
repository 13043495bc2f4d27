"""Which corpus document a ``[[linked]]`` entry names: resolved from metadata whenever the corpus is loaded.

A document's ``.toml`` lists the documents it refers to (``[[linked]]``: id, title, aliases, 文号). When one of them is
in the corpus — added with ``index --add`` under any id — the link resolves to it, so ``index --list``, ``/api/health``
and answers treat it as indexed; when it is removed, the link falls back to "not in the corpus". Nothing is written
back into the referring document's ``.toml``: ``in_corpus`` there is never read.

A link names a document by, in this order: the same id; the same title (the link's title or one of its aliases is
the document's title, or the link's title is one of the document's aliases); the same 文号 (the link's ``doc_number``
is the document's, or one of its aliases). Two aliases alone never link: short aliases such as "资助办法" or
"若干措施" are shared by unrelated documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from indexing.corpus import CorpusDocument
from indexing.document import LinkedDocument

# 深府规〔2020〕2号 written with other brackets (深府规[2020]2号, 深府规（2020）2号) is the same 文号.
_DOC_NUMBER_RE = re.compile(r"^(?P<issuer>.*?)[〔\[［【(（](?P<year>\d{4})[〕\]］】)）](?P<serial>\d+)号")


def normalize_doc_number(text: str) -> str:
    """A 文号 in one spelling: spaces dropped, the year in 〔〕, anything after 号 (a note such as "（未核实）") dropped.
    Text that is not a 文号 comes back without spaces."""
    compact = re.sub(r"\s+", "", text)
    match = _DOC_NUMBER_RE.match(compact)
    if match is None:
        return compact
    return f"{match['issuer']}〔{match['year']}〕{int(match['serial'])}号"


class LinkResolver:
    """Look-ups from a link's names to the corpus documents: built once per loaded corpus, then dictionary reads
    (compose asks for each linked document of each cited section)."""

    def __init__(self, documents: Iterable[CorpusDocument]) -> None:
        self._ids: set[str] = set()
        self._titles: dict[str, str] = {}
        self._aliases: dict[str, str] = {}
        self._numbers: dict[str, str] = {}
        for doc in documents:
            meta = doc.meta
            self._ids.add(meta.id)
            self._titles.setdefault(meta.title, meta.id)
            for alias in meta.aliases:
                self._aliases.setdefault(alias, meta.id)
            for number in (meta.doc_number, *meta.aliases):
                key = normalize_doc_number(number)
                if key and _DOC_NUMBER_RE.match(key):
                    self._numbers.setdefault(key, meta.id)

    def target(self, link: LinkedDocument, holder: str = "") -> str | None:
        """The id of the corpus document ``link`` names (None: its text is not in the corpus).

        Args:
            link: a ``[[linked]]`` entry.
            holder: the id of the document whose entry it is: a document never links to itself.
        """
        candidates = [
            link.id if link.id in self._ids else None,
            *(self._titles.get(name) for name in link.names),
            self._aliases.get(link.title),
            self._numbers.get(normalize_doc_number(link.doc_number)) if link.doc_number else None,
        ]
        return next((c for c in candidates if c is not None and c != holder), None)
