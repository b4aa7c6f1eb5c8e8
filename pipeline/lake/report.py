"""What one ingest run saw, stored and skipped: the reconciliation behind "nothing is lost".

Kept apart from ``pipeline.lake.ingest`` (which moves the bytes) so the CLI, the weekly report and
notebooks can read a report without the ingestion machinery.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("pipeline.lake.ingest")


@dataclass
class IngestReport:
    """What one ingest run saw, stored and skipped, for the run summary.

    Nothing is lost uncounted: every new file is ingested, empty (a valid log with no records) or
    skipped with its reason, and every record read from a file is stored or skipped with its
    reason, so ``records_seen == records_stored + records_skipped`` and ``files_new ==
    files_ingested + files_empty + files_skipped`` (``balanced``). Records are stored as delivered:
    a record CloudTrail delivered twice is stored twice (detections report each eventID once).
    """

    table: str
    files_seen: int = 0
    files_new: int = 0
    files_ingested: int = 0
    files_empty: int = 0
    records_seen: int = 0
    records_ingested: int = 0
    records_skipped: int = 0
    skipped_records: dict[str, int] = field(default_factory=dict)
    skipped_files: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def records_stored(self) -> int:
        return self.records_ingested

    @property
    def files_skipped(self) -> int:
        return len(self.skipped_files)

    @property
    def balanced(self) -> bool:
        records = self.records_seen == self.records_ingested + self.records_skipped
        files = self.files_new == self.files_ingested + self.files_empty + self.files_skipped
        return records and files and self.records_skipped == sum(self.skipped_records.values())

    def reconciliation(self) -> str:
        """One line: seen = stored + skipped (by reason), for records and for new files."""
        reasons = "; ".join(f"{n} {why}" for why, n in sorted(self.skipped_records.items()))
        why = f" ({reasons})" if reasons else ""
        line = (
            f"{self.table}: {self.records_seen} record(s) seen = {self.records_ingested} stored + "
            f"{self.records_skipped} skipped{why}; {self.files_new} new file(s) = "
            f"{self.files_ingested} read + {self.files_empty} empty + {self.files_skipped} skipped"
        )
        return line if self.balanced else line + " -- DOES NOT BALANCE"

    def merge(self, other: IngestReport) -> None:
        """Add what ``other`` (one partition ingested on its own) counted to this report."""
        for name in ("files_ingested", "files_empty", "records_seen", "records_ingested", "records_skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for reason, count in other.skipped_records.items():
            self.skipped_records[reason] = self.skipped_records.get(reason, 0) + count
        self.skipped_files.extend(other.skipped_files)
        self.warnings.extend(other.warnings)

    def skip(self, path: Path | str, reason: str) -> None:
        self.skipped_files.append((str(path), reason))
        log.warning("skipped %s: %s", path, reason)

    def skip_records(self, path: Path | str, reason: str, count: int) -> None:
        """Count ``count`` records of ``path`` as seen but not stored, for ``reason``."""
        if count:
            self.records_skipped += count
            self.skipped_records[reason] = self.skipped_records.get(reason, 0) + count
            self.warn(f"{path}: skipped {count} record(s): {reason}")

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning("%s", message)


class SkipLedger:
    """Every raw file ingest skipped, with its reason and day partition, kept beside the lake.

    A skipped file is not retried (its size is recorded like any other file's), so a run's own
    report names it once; the ledger keeps naming it for the weekly report's health section.
    """

    def __init__(self, lake: Path, table: str) -> None:
        self.path = lake / "_state" / f"{table}.skipped.json"
        self.files: dict[str, dict[str, str]] = {}
        if self.path.is_file():
            self.files = json.loads(self.path.read_text(encoding="utf-8"))

    def add(self, skipped: list[tuple[str, str]], day: str) -> None:
        for path, reason in skipped:
            self.files[path] = {"reason": reason, "day": day}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.files, sort_keys=True, indent=0), encoding="utf-8")
        os.replace(tmp, self.path)

    def in_days(self, days: set[str]) -> list[tuple[str, str]]:
        """(path, reason) of the files skipped in these ``YYYY/MM/DD`` partitions."""
        return sorted((path, entry["reason"]) for path, entry in self.files.items() if entry["day"] in days)
