"""Write records the way CloudTrail and GuardDuty deliver them to S3.

CloudTrail files are keyed by *delivery* time, not event time: each record arrives 5-15 minutes
after it happened (sometimes up to an hour), and arrivals are batched per account and region into
one file per half hour. That is why a query over one day must also read the next day's folder.
Compression runs on worker threads (zlib releases the GIL) while the main thread renders the next
records; gzip's header time is pinned to 0 so output is byte-identical for a seed.
"""

from __future__ import annotations

import calendar
import gzip
import json
import random
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from operator import itemgetter
from pathlib import Path
from typing import Any

from pipeline.source.keys import (
    CLOUDTRAIL,
    DAY_FORMAT,
    GUARDDUTY,
    LOG_TIME_FORMAT,
    cloudtrail_file_name,
    region_prefix,
)

from .records import Ids

WINDOW = 1800  # seconds of deliveries batched into one file per account and region
COMPRESSLEVEL = 6
_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _put(path: Path, data: bytes) -> None:
    path.write_bytes(gzip.compress(data, compresslevel=COMPRESSLEVEL, mtime=0))


class CloudTrailWriter:
    """Batches records by (account, region, delivery window) and writes each batch as one file."""

    def __init__(
        self,
        out: Path,
        org_id: str,
        rng: random.Random,
        total: int,
        progress: Callable[[int, int], None] | None,
        pool: ThreadPoolExecutor,
    ) -> None:
        self.out, self.org_id, self.rng, self.ids = out, org_id, rng, Ids(rng)
        self.total, self.progress, self.pool = total, progress, pool
        self.batches: dict[tuple[str, str, int], list[tuple[int, dict[str, Any]]]] = {}
        self.pending: deque[Future[None]] = deque()
        self.made_dirs: set[Path] = set()
        self.written = 0
        self.files = 0
        self.max_delivery = 0

    def add(self, ts: int, rec: dict[str, Any]) -> None:
        rng = self.rng
        delay = rng.randint(300, 900) if rng.random() < 0.97 else rng.randint(900, 3600)
        delivered = ts + delay
        key = (rec["recipientAccountId"], rec["awsRegion"], delivered // WINDOW)
        batch = self.batches.get(key)
        if batch is None:
            self.batches[key] = [(delivered, rec)]
        else:
            batch.append((delivered, rec))

    def flush_before(self, ts: int) -> None:
        """Write every batch whose window closed before ``ts``: no later record can join it."""
        ready = sorted(k for k in self.batches if (k[2] + 1) * WINDOW <= ts)
        for key in ready:
            self._write(key, self.batches.pop(key))

    def close(self) -> None:
        for key in sorted(self.batches):
            self._write(key, self.batches.pop(key))
        while self.pending:
            self.pending.popleft().result()

    def _write(self, key: tuple[str, str, int], items: list[tuple[int, dict[str, Any]]]) -> None:
        items.sort(key=itemgetter(0))  # arrival order; event times end up slightly out of order
        stamp = items[-1][0]
        self.max_delivery = max(self.max_delivery, stamp)
        account, region, _ = key
        t = time.gmtime(stamp)
        day = time.strftime(DAY_FORMAT, t)
        folder = self.out / region_prefix(CLOUDTRAIL, account, region, self.org_id) / day
        if folder not in self.made_dirs:
            folder.mkdir(parents=True, exist_ok=True)
            self.made_dirs.add(folder)
        name = cloudtrail_file_name(account, region, time.strftime(LOG_TIME_FORMAT, t), self.ids.alnum(16))
        data = _DUMPS({"Records": [rec for _, rec in items]}).encode()
        self.pending.append(self.pool.submit(_put, folder / name, data))
        while len(self.pending) > 16:
            self.pending.popleft().result()
        self.files += 1
        self.written += len(items)
        if self.progress is not None:
            self.progress(self.written, self.total)


def write_guardduty(
    out: Path, export_account: str, findings: list[dict[str, Any]], rng: random.Random
) -> int:
    """Write findings as GuardDuty's S3 export does: gzip JSON lines, filed by export time.

    The delegated administrator (the security account) exports its members' findings too, so all
    files sit under its account id while each finding keeps its own ``accountId``.
    """
    ids = Ids(rng)
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for fd in findings:
        updated = time.strptime(fd["updatedAt"][:19], "%Y-%m-%dT%H:%M:%S")
        exported = calendar.timegm(updated) + rng.randint(60, 300)
        groups.setdefault((fd["region"], exported // 300 * 300 + 299), []).append(fd)
    for (region, stamp), batch in sorted(groups.items(), key=itemgetter(0)):
        t = time.gmtime(stamp)
        folder = out / region_prefix(GUARDDUTY, export_account, region) / time.strftime(DAY_FORMAT, t)
        folder.mkdir(parents=True, exist_ok=True)
        data = "".join(_DUMPS(fd) + "\n" for fd in batch).encode()
        _put(folder / f"{ids.uuid()}.jsonl.gz", data)
    return len(groups)
