"""Findings: what a detection's rows mean (the model every sink and report reads), severities,
and the findings store (every finding of every run, local or on S3).

May import: ``source`` and the top-level shared modules.
"""
