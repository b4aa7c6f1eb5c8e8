"""Bring the days a run needs from ``s3://bucket/prefix`` into a local folder with the same key layout.

The embedded engine (DuckDB) cannot read S3 here: its ``httpfs`` extension is downloaded on first
use, and these machines are offline. So a ``--source s3://...`` run first mirrors the partitions
its window touches, and DuckDB reads the mirror exactly as it reads ``./demo``. Listing is by
prefix, one per account/region/day, never a walk of the whole bucket: an organization bucket
holds years of every account, and a detection window needs a few days of it. The mirror is
incremental (an object already present with the same size is not downloaded again), so the
scheduled runs that follow each other only fetch the files delivered since.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.source.keys import EVENT_SERVICES, LOGS_ROOT, ORG_DIR
from pipeline.source.s3 import common_prefixes, list_objects, parse_s3_uri  # noqa: F401 - parse_s3_uri re-exported

# The two trees the tables read. CloudTrail-Digest/ (integrity digests) and CloudTrail-Insight/
# sit beside CloudTrail/ under each account and are not event data.
SERVICES = EVENT_SERVICES
_DAY = re.compile(r"^(\d{4})[/-](\d{2})[/-](\d{2})$")

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class LogPrefix:
    """One account/service/region tree in the bucket, e.g. ``AWSLogs/o-x/1111/CloudTrail/eu-west-1/``."""

    account: str
    service: str
    region: str
    key_prefix: str
    org_id: str | None = None


@dataclass
class SyncReport:
    """What a sync listed and fetched, so a run can say how much came from S3 and how much was cached."""

    source: str
    dest: Path
    days: list[str]
    prefixes: int = 0
    listed: int = 0
    downloaded: int = 0
    skipped: int = 0
    bytes_listed: int = 0
    bytes_downloaded: int = 0


def normalise_day(day: str) -> str:
    """Accept ``2024/05/01`` (partition form) or ``2024-05-01``; return the key form ``2024/05/01``."""
    match = _DAY.match(day.strip())
    if not match:
        raise ValueError(f"not a day: {day!r} (expected YYYY/MM/DD or YYYY-MM-DD)")
    return "/".join(match.groups())


def discover_log_prefixes(s3_client: Any, bucket: str, prefix: str = "",
                          services: Iterable[str] = SERVICES) -> list[LogPrefix]:
    """Every account/service/region tree under ``AWSLogs/`` and ``AWSLogs/o-*/``.

    Found by listing, not configuration, so an account or region that starts delivering logs
    shows up here the day it does (``projection_drift`` relies on that to warn about it).
    """
    wanted = set(services)
    root = f"{prefix}{LOGS_ROOT}/"
    account_dirs: list[tuple[str, str | None]] = []  # (key prefix of the account, org id)
    for name in common_prefixes(s3_client, bucket, root):
        if ORG_DIR.match(name):
            account_dirs += [(f"{root}{name}/{acct}/", name)
                             for acct in common_prefixes(s3_client, bucket, f"{root}{name}/")]
        else:
            account_dirs.append((f"{root}{name}/", None))
    found: list[LogPrefix] = []
    for account_prefix, org_id in account_dirs:
        account = account_prefix.rstrip("/").rsplit("/", 1)[-1]
        for service in common_prefixes(s3_client, bucket, account_prefix):
            if service not in wanted:
                continue
            service_prefix = f"{account_prefix}{service}/"
            found += [LogPrefix(account=account, service=service, region=region,
                                key_prefix=f"{service_prefix}{region}/", org_id=org_id)
                      for region in common_prefixes(s3_client, bucket, service_prefix)]
    return sorted(found, key=lambda p: p.key_prefix)


def list_day(s3_client: Any, bucket: str, day_prefix: str) -> list[tuple[str, int]]:
    """(key, size) of every object in one account/region/day folder."""
    return [(obj.key, obj.size) for obj in list_objects(s3_client, bucket, day_prefix)]


def _local_path(dest: Path, prefix: str, key: str) -> Path:
    """Where ``key`` lands: its path relative to the source prefix, refusing keys that climb out."""
    relative = key[len(prefix):]
    target = (dest / relative).resolve()
    if not target.is_relative_to(dest.resolve()) or ".." in Path(relative).parts:
        raise ValueError(f"refusing S3 key {key!r}: it would be written outside {dest}")
    return target


def _download(s3_client: Any, bucket: str, key: str, target: Path) -> None:
    """Download to a temporary name and rename, so an interrupted sync never leaves a half file behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        s3_client.download_file(bucket, key, str(partial))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def sync_source(uri: str, dest: Path, days: list[str], s3_client: Any,
                progress: ProgressCallback | None = None, max_workers: int = 8) -> SyncReport:
    """Mirror the CloudTrail and GuardDuty objects of ``days`` from ``uri`` into ``dest``.

    ``days`` are partition days (``YYYY/MM/DD``; the caller includes the next day, since CloudTrail
    files by delivery time). ``progress(done, total)`` is called as objects are checked or
    downloaded. Objects already in ``dest`` with the same size are skipped: CloudTrail and
    GuardDuty never rewrite a delivered object, so equal size means the same file.
    """
    bucket, prefix = parse_s3_uri(uri)
    wanted_days = sorted({normalise_day(d) for d in days})
    report = SyncReport(source=uri, dest=dest, days=wanted_days)
    trees = discover_log_prefixes(s3_client, bucket, prefix)
    report.prefixes = len(trees)
    day_prefixes = [f"{tree.key_prefix}{day}/" for tree in trees for day in wanted_days]
    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        listed = [obj for objs in pool.map(lambda p: list_day(s3_client, bucket, p), day_prefixes)
                  for obj in objs]
        report.listed = len(listed)
        report.bytes_listed = sum(size for _, size in listed)
        todo: list[tuple[str, int, Path]] = []
        for key, size in listed:
            target = _local_path(dest, prefix, key)
            if target.is_file() and target.stat().st_size == size:
                report.skipped += 1
            else:
                todo.append((key, size, target))
        done = report.skipped
        if progress:
            progress(done, report.listed)
        futures = [(pool.submit(_download, s3_client, bucket, key, target), size)
                   for key, size, target in todo]
        for future, size in futures:
            future.result()
            report.downloaded += 1
            report.bytes_downloaded += size
            done += 1
            if progress:
                progress(done, report.listed)
    return report
