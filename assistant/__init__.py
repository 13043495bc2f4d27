"""The conversation layer: query understanding, cap look-ups, cited answers, the LLM guard."""

__version__ = "0.1.0"
