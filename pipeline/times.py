"""Times, in one place: every time trailguard stores, compares or prints is UTC.

CloudTrail writes ``2026-11-01T12:00:00Z``; Athena compares strings, so the windows are rendered
without the zone (``iso_utc``); state, findings and run records keep the ``Z`` (``iso_z``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from pipeline.errors import UsageError

ISO_Z = "%Y-%m-%dT%H:%M:%SZ"
_ISO_PREFIX = re.compile(r"\s*(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?)")


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


def iso_z_precise(moment: datetime) -> str:
    """``2026-11-01T12:00:00.123456Z``: for records that must keep their order within a second
    (two triage decisions on one finding seconds apart)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_utc(moment: datetime) -> str:
    """``2026-11-01T12:00:00`` in UTC: compares correctly with CloudTrail's and GuardDuty's strings."""
    if moment.tzinfo is None:
        raise NaiveTimeError("times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_format(text: str, fmt: str = ISO_Z) -> datetime:
    """A time in a fixed ``strptime`` format (digest and key names), as aware UTC."""
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


def parse_lenient(text: object) -> datetime | None:
    """A record's time as well as it can be read: the ISO 8601 time, else its leading
    ``YYYY-MM-DD[THH:MM[:SS]]`` (``2026-11-01T12:00:00Zjunk`` reads as 12:00), else None.

    Event times come from records an attacker may write; one impossible value must not stop the
    run that reads it (callers count and name what parsed only partly or not at all)."""
    if text is None:
        return None
    try:
        return parse_iso(str(text))
    except ValueError:
        pass
    match = _ISO_PREFIX.match(str(text))
    if not match:
        return None
    try:
        return parse_iso(match.group(1))
    except ValueError:
        return None
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)


def parse_relative(text: str) -> timedelta:
    """A duration like ``90m``, ``24h``, ``7d`` or ``2w`` (what ``--since``/``--last`` take).

    The units are those of ``aws logs tail --since`` and steampipe; a bare number is refused
    because nobody agrees whether it means minutes or seconds.
    """
    match = _RELATIVE.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30m, 24h, 7d or 2w")
    amount, unit = int(match.group(1)), match.group(2).lower()
    if amount <= 0:
        raise ValueError(f"{text!r}: a duration must be positive")
    return timedelta(**{_UNITS[unit]: amount})


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 time (naive is UTC), ``now``, or a duration ago (``24h`` = 24 hours before now)."""
    value = str(text).strip()
    moment = now or utcnow()
    if value.lower() == "now":
        return moment
    if _RELATIVE.match(value):
        return moment - parse_relative(value)
    try:
        return parse_iso(value)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 time (e.g. 2026-11-01T00:00:00Z) or a duration ago (24h, 7d)"
        ) from None
