"""Evaluation: question sets, citation metrics, the runner, reports and the CI gate."""
