"""Severities, in one place: the four words, their order, and GuardDuty's numbers in those words."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")


def severity_rank(severity: str) -> int:
    """Position in low < medium < high < critical; an unknown severity ranks above all.

    A finding whose severity no sink understands is still a security alert: better delivered
    everywhere than silently filtered out.
    """
    value = str(severity).lower()
    return SEVERITIES.index(value) if value in SEVERITIES else len(SEVERITIES)


def check_severity(value: object) -> str:
    """``value`` as a known severity (any case), or ValueError naming the allowed ones."""
    if not isinstance(value, str) or value.lower() not in SEVERITIES:
        raise ValueError(f"{value!r} is not one of {', '.join(SEVERITIES)}")
    return value.lower()


def worst(severities: Iterable[str], default: str) -> str:
    """The highest of ``severities`` (``default`` when there are none)."""
    present = [s for s in severities if s]
    return max(present, key=severity_rank) if present else default


def guardduty_severity(value: Any) -> str:
    """GuardDuty's 0-10 number as trailguard's words (GuardDuty: 7+ high; 9+ we call critical).

    A number that cannot be read is ``high``: an alert we cannot grade is not buried.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "high"
    return "critical" if number >= 9 else "high" if number >= 7 else "medium" if number >= 4 else "low"
