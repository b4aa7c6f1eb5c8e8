"""The period an estimate measures: a calendar month (``2026-11``) or any window, projected to 30 days."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.config import ConfigError
from pipeline.source.keys import CLOUDTRAIL, local_region_dirs

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
PROJECTION_DAYS = 30


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC with a label; volumes seen in it are projected to 30 days."""

    label: str
    start: datetime
    end: datetime

    @property
    def days(self) -> list[str]:
        """Partition days (``yyyy/MM/dd``) that belong to the period, by delivery day."""
        first, count = self.start.date(), (self.end - self.start).days
        return [(first + timedelta(days=n)).strftime("%Y/%m/%d") for n in range(max(count, 1))]


def month_period(text: str) -> Period:
    """``2026-11`` -> the month; anything else is an error naming the value."""
    match = _MONTH.match(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise ConfigError(f"--month {text!r} is not a month like 2026-11")
    year, month = int(match.group(1)), int(match.group(2))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return Period(f"{year:04d}-{month:02d}", start, end)


def window_period(start: datetime, end: datetime) -> Period:
    """Any window (the weekly report's week), labelled by its dates."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ConfigError("cost period: times must be timezone-aware")
    if start >= end:
        raise ConfigError(f"cost period: {start.isoformat()} is not before {end.isoformat()}")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    last = end - timedelta(microseconds=1)
    return Period(f"{start:%Y-%m-%d}..{last:%Y-%m-%d}", start, end)


def months_with_data(source: str) -> list[str]:
    """``YYYY-MM`` months that have CloudTrail folders in the source, oldest first.

    Folders only (no file reads, no S3 object listing beyond one level per account and region):
    deciding which month to estimate must not cost more than the estimate.
    """
    months: set[str] = set()
    if source.startswith("s3://"):
        import boto3

        from pipeline.source.s3 import common_prefixes, parse_s3_uri
        from pipeline.source.s3sync import discover_log_prefixes

        bucket, prefix = parse_s3_uri(source)
        s3 = boto3.client("s3")
        for tree in discover_log_prefixes(s3, bucket, prefix, services=(CLOUDTRAIL,)):
            for year in common_prefixes(s3, bucket, tree.key_prefix):
                months.update(
                    f"{year}-{m}" for m in common_prefixes(s3, bucket, f"{tree.key_prefix}{year}/")
                )
    else:
        for region_dir in local_region_dirs(Path(source), CLOUDTRAIL):
            months.update(f"{p.parent.name}-{p.name}" for p in region_dir.glob("*/*") if p.is_dir())
    return sorted(m for m in months if _MONTH.match(m))
