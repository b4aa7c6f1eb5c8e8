"""ISO weeks (``2026-W48``): the unit of the weekly report, Monday 00:00 UTC to the next Monday."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
DELIVERY_TIME = re.compile(r"_(\d{8}T\d{4}Z)_")  # CloudTrail file names carry their delivery time


def parse_week(text: str) -> datetime:
    """The Monday 00:00 UTC that starts ISO week ``YYYY-Www``; anything else is a ValueError."""
    match = WEEK.match(text.strip())
    if not match:
        raise ValueError(f"week {text!r} is not an ISO week like 2026-W48")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError as exc:
        raise ValueError(f"week {text!r}: {exc}") from exc
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


def week_of(moment: datetime) -> datetime:
    """The Monday 00:00 UTC starting the ISO week that contains ``moment``."""
    day = moment.astimezone(UTC).date()
    monday = day - timedelta(days=day.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


def week_label(start: datetime) -> str:
    year, week, _ = start.date().isocalendar()
    return f"{year}-W{week:02d}"


def latest_log_time(root: Path, delivery_lag: timedelta = timedelta(minutes=20)) -> datetime | None:
    """About when the newest CloudTrail record under a bucket-shaped folder happened.

    Files are filed and named by delivery time, up to ~15 minutes after their records: the newest
    file's delivery time minus ``delivery_lag``, so a file delivered just after midnight on Monday
    does not open an empty week.
    """
    region_dirs = [*root.glob("AWSLogs/*/CloudTrail/*"), *root.glob("AWSLogs/o-*/*/CloudTrail/*")]
    newest_day: tuple[str, Path] | None = None
    for region_dir in region_dirs:
        for day_dir in region_dir.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]"):
            key = day_dir.relative_to(region_dir).as_posix()
            if (newest_day is None or key >= newest_day[0]) and any(day_dir.glob("*.json.gz")):
                newest_day = (key, day_dir) if newest_day is None or key > newest_day[0] else newest_day
    if newest_day is None:
        return None
    key = newest_day[0]
    stamps = [
        match.group(1)
        for region_dir in region_dirs
        for path in (region_dir / key).glob("*.json.gz")
        if (match := DELIVERY_TIME.search(path.name))
    ]
    if not stamps:
        year, month, day = (int(part) for part in key.split("/"))
        return datetime(year, month, day, tzinfo=UTC)
    newest = datetime.strptime(max(stamps), "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    return newest - delivery_lag
