"""Times, in one place: every time trailguard stores, compares or prints is UTC.

CloudTrail writes ``2026-11-01T12:00:00Z``; Athena compares strings, so the windows are rendered
without the zone (``iso_utc``); state, findings and run records keep the ``Z`` (``iso_z``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.errors import UsageError

ISO_Z = "%Y-%m-%dT%H:%M:%SZ"


class NaiveTimeError(UsageError):
    """A time without a zone reached code that cannot know which one was meant."""


def utcnow() -> datetime:
    """The clock, timezone-aware (tests pass their own ``now`` instead)."""
    return datetime.now(UTC)


def parse_iso(text: str) -> datetime:
    """An ISO 8601 time (``Z`` suffix and fractions allowed) as an aware UTC datetime; naive is UTC."""
    moment = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_optional(text: str | None) -> datetime | None:
    """``parse_iso`` for stored values that may be absent."""
    return parse_iso(text) if text else None


def iso_z(moment: datetime) -> str:
    """``2026-11-01T12:00:00Z``: how state, findings and run records store a moment."""
    return moment.astimezone(UTC).strftime(ISO_Z)


def iso_utc(moment: datetime) -> str:
    """``2026-11-01T12:00:00`` in UTC: compares correctly with CloudTrail's and GuardDuty's strings."""
    if moment.tzinfo is None:
        raise NaiveTimeError("times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_format(text: str, fmt: str = ISO_Z) -> datetime:
    """A time in a fixed ``strptime`` format (digest and key names), as aware UTC."""
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)
