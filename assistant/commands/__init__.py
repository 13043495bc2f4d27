"""Subcommands of the policy-assistant CLI, one module each."""
