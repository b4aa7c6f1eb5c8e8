"""The runner's mirror of GuardDuty's S3 exports, so a hot tick sends Athena no GuardDuty query.

Why: GuardDuty's export keys (``AWSLogs/<account>/GuardDuty/<region>/yyyy/MM/dd/<uuid>.jsonl.gz``)
carry no time in their names and its table has no partition below the day, so the GuardDuty
detection's own Athena query read the whole day partition again every 15 minutes (49x the GuardDuty
bytes delivered in the benchmark, and four queries on a first tick). Instead the runner keeps a
local copy of the objects under the day prefixes its GuardDuty windows reach:

- each sync LISTs every account/region/day prefix once (``ListObjectsV2``; the names carry no time,
  so no ``StartAfter``) and GETs only the keys it does not hold with the same size and ETag: a warm
  runner downloads each delivered object once. A cold runner (empty data dir) downloads what it
  lacks (S3 GETs, never Athena), and says so (:attr:`MirrorSync.cold`);
- the objects become rows with the embedded ingest itself (:func:`pipeline.lake.ingest.ingest_table`
  over the mirrored day folder: ``pipeline.lake.guardduty_parts`` and
  ``pipeline.source.guardduty``, the code ``trailguard ingest`` runs), one Parquet lake per day, so
  nothing about GuardDuty's rows is written twice. The ingest is incremental (an object already in
  the day's lake is not read again) and crash-safe (a download a killed run left unread is ingested
  by the next sync, since every sync runs the ingest over the day's folder);
- an object that changed (other size or ETag) or vanished from the bucket has its day rebuilt from
  scratch (the ingest keeps a file's first version), so the rows are always those of the objects
  the bucket holds now, as an Athena read of the day would see them;
- days the windows can no longer reach are deleted (:meth:`GuardDutyMirror.prune`).

The rows of the mirrored days are exactly the rows the embedded engine reads for those day
partitions, which is what the detection's day predicate selects; see :mod:`pipeline.runs.hot_path`.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from pipeline.catalog.duckdb_views import empty_scan_sql, parquet_scan_sql
from pipeline.catalog.specs import LAKE_FOLDERS, load_specs
from pipeline.lake.hot import Storage, account_prefixes
from pipeline.lake.ingest import ingest_table
from pipeline.source.keys import GUARDDUTY
from pipeline.source.limits import Limits

INDEX = "_index.json"


@dataclass
class MirrorSync:
    """What one sync did: the prefixes it listed and the objects it downloaded."""

    days: list[str]
    listed: int = 0  # ListObjectsV2 calls on day prefixes (one per account/region/day)
    objects: int = 0  # objects downloaded (GET) this sync
    downloaded_bytes: int = 0
    cold: bool = False  # the mirror held nothing before this sync: its downloads are a catch-up
    rebuilt: list[str] = field(default_factory=list)  # days rebuilt: an object changed or vanished
    skipped: list[str] = field(default_factory=list)  # "file: reason", from the ingest
    rows_ingested: int = 0


class GuardDutyMirror:
    """A local copy of ``source``'s GuardDuty exports, day by day, under ``root`` (in the data dir)."""

    def __init__(self, source: Storage, root: Path, limits: Limits | None = None) -> None:
        self.source, self.root, self.limits = source, Path(root), limits
        specs = load_specs()
        self.raw_spec, self.spec = specs["guardduty_findings"], specs["guardduty_findings_parquet"]

    # -- layout -----------------------------------------------------------------------------------
    def day_root(self, day: str) -> Path:
        """``<root>/<yyyy-MM-dd>/``: ``raw/`` holds the objects under their keys, ``lake/`` their rows."""
        return self.root / day.replace("/", "-")

    def _index(self) -> dict[str, Any] | None:
        path = self.root / INDEX
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def _save(self, index: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f"{INDEX}.tmp"
        tmp.write_text(json.dumps(index, sort_keys=True), encoding="utf-8")
        tmp.replace(self.root / INDEX)

    def held_days(self) -> list[str]:
        index = self._index() or {"days": {}}
        return sorted(index["days"])

    # -- sync ---------------------------------------------------------------------------------------
    def sync(self, days: list[str]) -> MirrorSync:
        """Bring the mirror of ``days`` (``yyyy/MM/dd``) up to what the bucket holds now."""
        index = self._index()
        result = MirrorSync(days=list(days), cold=index is None)
        index = index or {"version": 1, "days": {}}
        prefixes = account_prefixes(self.source, GUARDDUTY) if days else []
        for day in days:
            listed: dict[str, str] = {}
            sizes: dict[str, int] = {}
            for _, _, base in prefixes:
                result.listed += 1
                for key, size, tag in self.source.list_tagged(f"{base}{day}/"):
                    if fnmatch(key.rsplit("/", 1)[-1], self.raw_spec.file_glob):
                        listed[key], sizes[key] = f"{size}:{tag}", size
            held: dict[str, str] = index["days"].get(day, {})
            if any(listed.get(key) != tag for key, tag in held.items()):
                shutil.rmtree(self.day_root(day), ignore_errors=True)  # changed or gone: rebuild the day
                held = {}
                result.rebuilt.append(day)
            raw = self.day_root(day) / "raw"
            for key in sorted(k for k in listed if k not in held):
                target = raw / key
                partial = target.with_name(target.name + ".partial")  # never matched by the ingest's glob
                self.source.fetch(key, partial)
                partial.replace(target)
                result.objects += 1
                result.downloaded_bytes += sizes[key]
            index["days"][day] = listed
            self._save(index)  # the objects are on disk; the ingest below is incremental either way
            if listed:
                report = ingest_table(self.raw_spec, raw, self.day_root(day) / "lake", days={day},
                                      limits=self.limits)
                result.rows_ingested += report.records_ingested
                result.skipped += [f"{path}: {why}" for path, why in report.skipped_files]
        return result

    def prune(self, keep_from: str) -> list[str]:
        """Delete the days before ``keep_from`` (``yyyy/MM/dd``): no window can reach them any more."""
        index = self._index()
        if index is None:
            return []
        gone = sorted(d for d in index["days"] if d < keep_from)
        for day in gone:
            shutil.rmtree(self.day_root(day), ignore_errors=True)
            del index["days"][day]
        if gone:
            self._save(index)
        return gone

    # -- reading ------------------------------------------------------------------------------------
    def scan_sql(self, days: list[str]) -> str:
        """The Parquet rows of ``days`` as the embedded engine's ``guardduty`` view reads them."""
        scans = []
        for day in days:
            folder = self.day_root(day) / "lake" / LAKE_FOLDERS["guardduty"]
            if folder.is_dir() and any(folder.rglob(self.spec.file_glob)):
                scans.append(parquet_scan_sql(self.spec, folder))
        return " UNION ALL ".join(scans) if scans else empty_scan_sql(self.spec)
