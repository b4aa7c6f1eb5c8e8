"""Schedules: rates and cron expressions, due times and window lengths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.detections.spec import load_detections
from pipeline.runs.schedule import Schedule, ScheduleError

T = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def test_rate():
    s = Schedule.parse("15m")
    assert s.interval(T) == timedelta(minutes=15)
    assert s.is_due(None, T)
    assert not s.is_due(T, T + timedelta(minutes=14))
    assert s.is_due(T, T + timedelta(minutes=15))
    assert Schedule.parse("2h").interval(T) == timedelta(hours=2)
    assert Schedule.parse("1d").interval(T) == timedelta(days=1)


def test_cron():
    s = Schedule.parse("cron(0 * * * *)")
    assert s.interval(T) == timedelta(hours=1)
    assert not s.is_due(T, T + timedelta(minutes=59))
    assert s.is_due(T, T + timedelta(minutes=60))
    assert s.is_due(T - timedelta(minutes=1), T)


@pytest.mark.parametrize("text", ["15", "0m", "15x", "cron(nope)", "cron(61 * * * *)", ""])
def test_bad_schedules(text):
    with pytest.raises(ScheduleError):
        Schedule.parse(text)


def test_every_detection_schedule_parses():
    for detection in load_detections().values():
        Schedule.parse(detection.schedule)
