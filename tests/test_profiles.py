"""Lint for clause profiles (corpus/profiles/*.toml): reviewed data that must agree with the text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indexing.numerals import find_amounts_wan
from indexing.profiles import PROFILE_FIELDS, load_profiles, profile_chunks, read_profile

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
PROFILE_FILES = sorted((CORPUS / "profiles").glob("*.toml"))


def test_every_clause_and_chapter_one_has_a_profile(knowledge):
    profiles = load_profiles(CORPUS)
    wanted = {s.key for s in knowledge.primary.document.clauses} | {"chapter:一"}
    assert wanted <= set(profiles)


@pytest.mark.parametrize("path", PROFILE_FILES, ids=lambda p: p.name)
def test_profile_agrees_with_the_text(path, knowledge):
    profile = read_profile(path)
    section = knowledge.section(profile.section_key)  # the clause exists
    assert profile.title == section.title
    for condition in profile.conditions:
        assert condition in section.text, f"{path.name}: condition not verbatim in the clause: {condition}"
    for name in PROFILE_FIELDS:
        for entry in getattr(profile, name):
            assert not find_amounts_wan(entry), f"{path.name}: amount in a profile ({name}): {entry}"
            assert not re.search(r"\d+\s*万", entry), f"{path.name}: amount in a profile ({name}): {entry}"
    assert len(profile.examples) >= 5, f"{path.name}: too few founder examples"


def test_profile_chunks_point_at_their_clause_and_are_embedded_as_queries(knowledge):
    document = knowledge.primary.document
    chunks = profile_chunks(document, load_profiles(CORPUS), "数字创意若干措施")
    assert chunks and all(c.source == "profile" for c in chunks)
    for chunk in chunks:
        section = document.section(chunk.section_key)
        assert (chunk.start, chunk.end) == (section.start, section.end)
        assert chunk.embed_as_query and chunk.embed_text == chunk.text  # no repeated title header


def test_a_profile_with_a_bad_schema_is_named(tmp_path):
    bad = tmp_path / "clause-99.toml"
    bad.write_text('clause = "十六"\nexamples = "not a list"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="clause-99.toml"):
        read_profile(bad)
