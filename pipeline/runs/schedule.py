"""Detection schedules: a rate (``15m``, ``1h``, ``1d``) or a cron expression (``cron(0 * * * *)``).

A schedule answers two questions for the runner: is the detection due at NOW given when it last
ran, and how long is one window (the step in which missed time is caught up after downtime).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter

from pipeline.errors import UsageError

_RATE = re.compile(r"^(\d+)([mhd])$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class ScheduleError(UsageError):
    """A schedule that is neither a rate nor a valid cron expression."""


@dataclass(frozen=True)
class Schedule:
    text: str
    rate: timedelta | None = None
    cron: str | None = None

    @classmethod
    def parse(cls, text: str) -> Schedule:
        text = text.strip()
        rate = _RATE.match(text)
        if rate:
            amount = int(rate.group(1))
            if amount <= 0:
                raise ScheduleError(f"schedule {text!r}: the rate must be positive")
            return cls(text, rate=timedelta(**{_UNITS[rate.group(2)]: amount}))
        cron = _CRON.match(text)
        if cron and croniter.is_valid(cron.group(1)):
            return cls(text, cron=cron.group(1))
        raise ScheduleError(f"schedule {text!r} is not a rate like 15m/1h/1d or cron(<5 fields>)")

    def interval(self, at: datetime) -> timedelta:
        """The length of one window: the rate, or the gap between the cron's next two fire times."""
        if self.rate is not None:
            return self.rate
        fires = croniter(self.cron, at)
        first = fires.get_next(datetime)
        return fires.get_next(datetime) - first

    def is_due(self, last_run: datetime | None, now: datetime) -> bool:
        """Due when it never ran, when a rate has elapsed, or when a cron time fell in (last_run, now]."""
        if last_run is None:
            return True
        if now <= last_run:
            return False
        if self.rate is not None:
            return now - last_run >= self.rate
        return croniter(self.cron, last_run).get_next(datetime) <= now
