"""ISO weeks (``2026-W48``): the unit of the weekly report, Monday 00:00 UTC to the next Monday."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipeline.source.keys import CLOUDTRAIL, local_region_dirs
from pipeline.times import parse_iso

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


def latest_log_time(root: Path, sample: int = 20) -> datetime | None:
    """The newest CloudTrail record's time under a bucket-shaped folder.

    Files are filed and named by delivery time, up to ~15 minutes after their records (later in a
    burst), so the newest folder alone would open an empty week after a Sunday: the records of
    the ``sample`` most recently delivered files of the newest day folder are read instead.
    """
    region_dirs = list(local_region_dirs(root, CLOUDTRAIL))
    days = {
        day_dir.relative_to(region_dir).as_posix()
        for region_dir in region_dirs
        for day_dir in region_dir.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]")
    }
    for day in sorted(days, reverse=True):
        files = [path for region_dir in region_dirs for path in (region_dir / day).glob("*.json.gz")]
        files.sort(key=lambda path: (m.group(1) if (m := DELIVERY_TIME.search(path.name)) else "", path.name))
        newest = max((_newest_record(path) for path in files[-sample:]), default=None)
        if newest is not None:
            return newest
    return None


def _newest_record(path: Path) -> datetime | None:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            records = json.load(handle).get("Records") or []
        times = [r.get("eventTime") for r in records if isinstance(r, dict)]
        times = [t for t in times if isinstance(t, str)]
        return parse_iso(max(times)) if times else None
    except (OSError, ValueError, EOFError, AttributeError):
        return None  # a malformed file says nothing about time; ingest reports it
