"""Write records the way CloudTrail and GuardDuty write them to S3, under a local folder.

Used to replay captured logs (the Stratus corpus, a detection's examples, a notebook's
what-if) through the same ingest and detections as real data: files are filed by delivery
time, so records near midnight land in the next day's folder exactly as in a real bucket.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.source.keys import (
    CLOUDTRAIL,
    GUARDDUTY,
    LOG_TIME_FORMAT,
    cloudtrail_file_name,
    day_folder,
    region_prefix,
)
from pipeline.times import parse_iso

DEFAULT_ACCOUNT = "111111111111"
DEFAULT_REGION = "us-east-1"


def _write_gzip_json(path: Path, payload: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        handle.write(payload.encode("utf-8"))


def write_cloudtrail(
    root: Path,
    records: Iterable[dict[str, Any]],
    *,
    org_id: str | None = "o-exampleorg",
    delivery_delay: timedelta = timedelta(minutes=7),
) -> list[Path]:
    """File records by account, region and delivery time (5-minute batches); returns the files."""
    batches: dict[tuple[str, str, datetime], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        account = record.get("recipientAccountId") or DEFAULT_ACCOUNT
        region = record.get("awsRegion") or DEFAULT_REGION
        delivered = parse_iso(record["eventTime"]) + delivery_delay
        batch = delivered.replace(minute=delivered.minute - delivered.minute % 5, second=0, microsecond=0)
        batches[(account, region, batch)].append(record)
    written = []
    for (account, region, batch), batch_records in sorted(batches.items(), key=lambda kv: kv[0]):
        body = json.dumps({"Records": batch_records})
        suffix = hashlib.sha1(body.encode()).hexdigest()[:16]
        folder = root / region_prefix(CLOUDTRAIL, account, region, org_id) / day_folder(batch)
        name = cloudtrail_file_name(account, region, batch.strftime(LOG_TIME_FORMAT), suffix)
        _write_gzip_json(folder / name, body)
        written.append(folder / name)
    return written


def write_guardduty(
    root: Path, findings: Iterable[dict[str, Any]], *, export_delay: timedelta = timedelta(minutes=5)
) -> list[Path]:
    """File findings as GuardDuty's S3 export does: JSON lines per account, region and export time."""
    batches: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for finding in findings:
        exported = parse_iso(finding["updatedAt"]) + export_delay
        key = (
            finding.get("accountId") or DEFAULT_ACCOUNT,
            finding.get("region") or DEFAULT_REGION,
            day_folder(exported),
        )
        batches[key].append(finding)
    written = []
    for (account, region, day), items in sorted(batches.items()):
        body = "\n".join(json.dumps(f) for f in items) + "\n"
        name = hashlib.sha1(body.encode()).hexdigest()[:32] + ".jsonl.gz"
        path = root / region_prefix(GUARDDUTY, account, region) / day / name
        _write_gzip_json(path, body)
        written.append(path)
    return written
