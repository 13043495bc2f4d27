"""How long a question and a conversation may be: one setting each, for ``AssistantConfig`` and ``ServeConfig``."""

from __future__ import annotations

from indexing.config import int_env

DEFAULT_MAX_TURNS = 20
DEFAULT_MAX_QUESTION_CHARS = 2000


def max_turns_setting() -> int:
    """The longest conversation answered: ``POLICY_ASSISTANT_MAX_TURNS``, else 20.

    Returns:
        The configured number of turns (a non-integer value raises ``ValueError`` naming the variable).
    """
    return int_env("MAX_TURNS", DEFAULT_MAX_TURNS)


def max_question_chars_setting() -> int:
    """The longest question answered, in characters: ``POLICY_ASSISTANT_MAX_QUESTION_CHARS``, else 2000.

    Returns:
        The configured length (a non-integer value raises ``ValueError`` naming the variable).
    """
    return int_env("MAX_QUESTION_CHARS", DEFAULT_MAX_QUESTION_CHARS)
