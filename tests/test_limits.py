"""The question and conversation limits are one setting each: the assistant and the server read the same value;
the assistant's turn cache is never given a negative size."""

from __future__ import annotations

import pytest

from assistant.limits import DEFAULT_MAX_QUESTION_CHARS, DEFAULT_MAX_TURNS
from assistant.settings import AssistantConfig
from ui.config import ServeConfig


def test_assistant_and_server_default_to_the_same_limit(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("POLICY_ASSISTANT_MAX_TURNS", raising=False)
    assert AssistantConfig().max_turns == ServeConfig().max_turns == DEFAULT_MAX_TURNS == 20


def test_assistant_and_server_read_the_same_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("POLICY_ASSISTANT_MAX_TURNS", "7")
    assert AssistantConfig().max_turns == ServeConfig().max_turns == 7
    monkeypatch.setenv("POLICY_ASSISTANT_MAX_TURNS", "many")
    for config in (AssistantConfig, ServeConfig):
        with pytest.raises(ValueError, match="POLICY_ASSISTANT_MAX_TURNS"):
            config()


def test_assistant_and_server_read_the_same_question_length(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("POLICY_ASSISTANT_MAX_QUESTION_CHARS", raising=False)
    assert AssistantConfig().max_question_chars == ServeConfig().max_question_chars == DEFAULT_MAX_QUESTION_CHARS == 2000
    monkeypatch.setenv("POLICY_ASSISTANT_MAX_QUESTION_CHARS", "300")
    assert AssistantConfig().max_question_chars == ServeConfig().max_question_chars == 300
    monkeypatch.setenv("POLICY_ASSISTANT_MAX_QUESTION_CHARS", "long")
    for config in (AssistantConfig, ServeConfig):
        with pytest.raises(ValueError, match="POLICY_ASSISTANT_MAX_QUESTION_CHARS"):
            config()


def test_turn_cache_size_is_never_negative(monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(ValueError, match="turn_cache_size must be 0"):
        AssistantConfig(turn_cache_size=-1)
    assert AssistantConfig(turn_cache_size=0).turn_cache_size == 0
    monkeypatch.setenv("POLICY_ASSISTANT_CACHE_SIZE", "-5")   # the variable is clamped when read: negative is off
    assert AssistantConfig().turn_cache_size == 0
    monkeypatch.setenv("POLICY_ASSISTANT_CACHE_SIZE", "12")
    assert AssistantConfig().turn_cache_size == 12
