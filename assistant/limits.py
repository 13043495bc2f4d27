"""How long a conversation may be: one setting for the assistant (``AssistantConfig``) and the server (``ServeConfig``)."""

from __future__ import annotations

from indexing.config import int_env

DEFAULT_MAX_TURNS = 20


def max_turns_setting() -> int:
    """The longest conversation answered: ``POLICY_ASSISTANT_MAX_TURNS``, else 20.

    Returns:
        The configured number of turns (a non-integer value raises ``ValueError`` naming the variable).
    """
    return int_env("MAX_TURNS", DEFAULT_MAX_TURNS)
