"""Relative times (``24h``, ``7d``) and ``now`` beside ISO 8601, in the one home of times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.times import parse_relative, parse_when

NOW = datetime(2026, 11, 8, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "delta"), [("90s", timedelta(seconds=90)), ("30m", timedelta(minutes=30)),
                                             ("24h", timedelta(hours=24)), ("7d", timedelta(days=7)),
                                             ("2w", timedelta(weeks=2)), (" 3D ", timedelta(days=3))])
def test_durations(text, delta):
    assert parse_relative(text) == delta
    assert parse_when(text, NOW) == NOW - delta


def test_iso_and_now():
    assert parse_when("now", NOW) == NOW
    assert parse_when("2026-11-01", NOW) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_when("2026-11-01T10:00:00+02:00", NOW) == datetime(2026, 11, 1, 8, tzinfo=UTC)


@pytest.mark.parametrize("text", ["yesterday", "24", "0h", "-3d", "7 days"])
def test_bad_times_say_what_is_accepted(text):
    with pytest.raises(ValueError, match="ISO 8601|duration"):
        parse_when(text, NOW)
