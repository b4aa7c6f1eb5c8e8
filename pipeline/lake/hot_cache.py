"""The runner's own copy of hot-tier batches, so each batch crosses Athena at most once.

Why: a tick's detections read the new batch plus the look-back (the overlap, the longest burst,
``log_delivery_gap``'s hours of baseline). Fetching all of that from Athena every tick reads each
batch again for as many ticks as the look-back spans (47x the delivered bytes in the benchmark).
A batch is immutable once its manifest entry is written, so the runner keeps the rows it has:

- the batch it just ingested (the Parquet file it wrote and uploaded, copied here: no query);
- the batches it had to fetch from Athena (a cold runner: Lambda's ``/tmp`` gone, a new host, or
  batches another runner wrote), one Parquet file per batch.

An entry is addressed by the batch and a digest of the lake files the manifest names for it, so a
file that a killed run left behind (never named by the manifest) is never read, and a batch
rewritten under another name is a different entry. Whatever is missing is fetched again: the cache
only ever saves queries, it never decides what a tick sees.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class BatchCache:
    """Parquet files of hot-tier batch rows under ``root`` (a folder of the runner's data dir)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, batch: str, files: Iterable[str]) -> Path:
        digest = hashlib.sha1("\n".join(sorted(files)).encode()).hexdigest()[:16]
        return self.root / batch / f"{digest}.parquet"

    def path_of(self, entry: dict[str, Any]) -> Path:
        """The file holding a manifest entry's rows (``batch`` and ``files`` of the entry)."""
        return self.path(entry["batch"], entry["files"])

    def has(self, entry: dict[str, Any]) -> bool:
        return self.path_of(entry).is_file()

    def put(self, batch: str, files: Iterable[str], source: Path) -> Path:
        """Copy ``source`` in as the rows of ``batch`` (write then rename: never a half file)."""
        target = self.path(batch, files)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        shutil.copyfile(source, partial)
        partial.replace(target)
        return target

    def prune(self, keep: Iterable[Path]) -> int:
        """Delete every cached file not in ``keep`` (batches past the look-back or forgotten)."""
        if not self.root.is_dir():
            return 0
        wanted = {Path(p) for p in keep}
        removed = 0
        for path in self.root.rglob("*"):
            if path.is_file() and path not in wanted:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
