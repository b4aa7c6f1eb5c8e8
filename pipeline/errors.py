"""One exception hierarchy: every error trailguard raises on purpose derives from TrailguardError.

The CLI, the scheduler and the Lambda handlers decide what to do by family, not by lists of
classes kept by hand: a ``UsageError`` is the user's to fix (bad configuration, arguments, a
detection file; the CLI exits 2), a ``RunError`` happened while running (an engine, a sink, the
state store; exit 1, and a scheduled tick records it against the detection and goes on).
"""

from __future__ import annotations


class TrailguardError(Exception):
    """Root of every error trailguard raises on purpose."""


class UsageError(TrailguardError, ValueError):
    """Input that makes no sense: a configuration key, an option, a detection file, a template value."""


class RunError(TrailguardError, RuntimeError):
    """Something failed while running: a query, a delivery, a state write."""
