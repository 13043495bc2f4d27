"""Clause profiles (corpus/profiles/*.toml): founders' vocabulary for each clause, indexed beside the text.

A profile is reviewed data, not generated text: who a clause is for, industries, activities, products,
example businesses in a founder's words, the conditions it states (verbatim), and the words that tell it
apart from its neighbours. Profiles carry no amounts; amounts live only in the cap table.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from indexing.chunking import Chunk
from indexing.document import PolicyDocument, chapter_key

PROFILE_FIELDS = ("for_whom", "industries", "activities", "products", "examples", "conditions", "distinguish", "prepare")
# Fields that describe what a clause is about; "prepare" is advice and is not searched.
SEARCH_FIELDS = ("for_whom", "industries", "activities", "products", "examples", "conditions", "distinguish")


@dataclass(frozen=True)
class Profile:
    """One clause's (or chapter's) profile."""

    section_key: str
    title: str
    for_whom: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    activities: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    distinguish: tuple[str, ...] = ()
    prepare: tuple[str, ...] = ()
    path: str = ""

    def terms(self) -> list[str]:
        """Every searchable entry, examples included."""
        out: list[str] = []
        for name in SEARCH_FIELDS:
            out.extend(getattr(self, name))
        return out


def profile_dir(corpus_dir: Path) -> Path:
    return corpus_dir / "profiles"


def read_profile(path: Path) -> Profile:
    """Read one profile file; raises ValueError naming the file on a schema error."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path.name}: 无法读取画像文件：{exc}") from None
    if "clause" in data:
        key = str(data["clause"])
    elif "chapter" in data:
        key = chapter_key(str(data["chapter"]))
    else:
        raise ValueError(f"{path.name}: 缺少 clause 或 chapter 字段")
    values: dict[str, tuple[str, ...]] = {}
    for name in PROFILE_FIELDS:
        raw = data.get(name, [])
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise ValueError(f"{path.name}: 字段 {name} 必须是字符串列表")
        values[name] = tuple(v.strip() for v in raw if v.strip())
    return Profile(section_key=key, title=str(data.get("title", "")), path=str(path), **values)


def load_profiles(corpus_dir: Path) -> dict[str, Profile]:
    """All profiles of a corpus folder, by section key (empty when there is no profiles folder)."""
    folder = profile_dir(corpus_dir)
    if not folder.is_dir():
        return {}
    profiles: dict[str, Profile] = {}
    for path in sorted(folder.glob("*.toml")):
        profile = read_profile(path)
        profiles[profile.section_key] = profile
    return profiles


def profile_chunks(document: PolicyDocument, profiles: dict[str, Profile], short_title: str = "") -> list[Chunk]:
    """Profile entries as chunks that point at their clause (``source="profile"``).

    Each field becomes one chunk so that BM25 and dense scores stay comparable to text chunks in length;
    example businesses are grouped a few at a time. Offsets are those of the clause the profile describes.
    """
    chunks: list[Chunk] = []
    keys = {s.key for s in document.sections}
    for key, profile in profiles.items():
        if key not in keys:
            continue
        section = document.section(key)
        groups: list[tuple[str, list[str]]] = []
        for name in SEARCH_FIELDS:
            entries = list(getattr(profile, name))
            if name == "examples":
                groups.extend((name, entries[i:i + 3]) for i in range(0, len(entries), 3))
            elif entries:
                groups.append((name, entries))
        for index, (name, entries) in enumerate(groups):
            if not entries:
                continue
            chunks.append(
                Chunk(
                    chunk_id=f"{document.doc_id}:{key}:profile:{index}",
                    doc_id=document.doc_id,
                    doc_title=document.title,
                    doc_short_title=short_title,
                    section_key=key,
                    section_kind=section.kind,
                    chapter=section.chapter,
                    chapter_title=section.chapter_title,
                    clause_title=section.title,
                    label=section.label,
                    text="；".join(entries),
                    start=section.start,
                    end=section.end,
                    linked=section.linked,
                    source="profile",
                    extra={"field": name},
                )
            )
    return chunks
