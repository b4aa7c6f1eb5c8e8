"""JSON lines sink: one finding a line, appended and fsynced per batch.

Appending alone is not idempotent: a run killed after the write but before the scheduler saved
its state would append the same findings again on restart. So the sink reads the delivery ids
already in the file once when it opens (and whatever other writers appended since, before each
batch) and skips those: exactly once per file, crash or not.

A line is ``Finding.to_json()`` plus ``delivery_id`` and ``is_update``. A crash in the middle of
a write can leave a last line without its newline; the next batch completes it if it parses,
or cuts it off if it does not, so the file stays one valid JSON object a line.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import IO

from pipeline.findings.severity import check_severity
from pipeline.sinks.base import BaseSink, Delivery, SinkError

try:  # Advisory lock against a second process appending to the same file; POSIX only.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)


def jsonl_line(delivery: Delivery) -> str:
    """The line for one delivery: the finding's own JSON plus the two delivery keys."""
    record = delivery.finding.to_dict()
    record["delivery_id"] = delivery.delivery_id
    record["is_update"] = delivery.is_update
    return json.dumps(record, sort_keys=True, default=str)


def _delivery_id_of(line: bytes) -> str | None:
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    value = record.get("delivery_id") if isinstance(record, dict) else None
    return str(value) if value is not None else None


class JsonlSink(BaseSink):
    """Appends findings to ``path``; skips delivery ids the file already holds."""

    idempotent = True

    def __init__(self, path: str | Path, name: str | None = None, min_severity: str = "low") -> None:
        self.path = Path(path)
        self.name = name or f"jsonl:{self.path}"
        self.min_severity = check_severity(min_severity)
        self._seen: set[str] = set()
        self._scanned = 0  # bytes of complete lines already read into _seen
        if self.path.exists():
            try:
                with open(self.path, "rb") as handle:
                    self._catch_up(handle)
            except OSError as exc:
                raise SinkError(
                    f"jsonl sink {self.name!r}: cannot read {self.path} ({exc.strerror})"
                ) from exc

    def __contains__(self, delivery_id: str) -> bool:
        return delivery_id in self._seen

    def _catch_up(self, handle: IO[bytes]) -> bytes:
        """Read complete lines past ``_scanned``; return a trailing partial line (not consumed)."""
        size = handle.seek(0, os.SEEK_END)
        if size < self._scanned:  # truncated or replaced underneath us: start over
            log.warning("jsonl sink %r: %s shrank; re-reading its delivery ids", self.name, self.path)
            self._seen.clear()
            self._scanned = 0
        handle.seek(self._scanned)
        data = handle.read(size - self._scanned)
        complete, newline, partial = data.rpartition(b"\n")
        for line in complete.split(b"\n") if newline else ():
            if line.strip() and (found := _delivery_id_of(line)) is not None:
                self._seen.add(found)
        self._scanned += len(data) - len(partial)
        return partial

    def _repair_tail(self, handle: IO[bytes], partial: bytes) -> None:
        """Finish a last line left without its newline by a crash, or cut it off if it is garbage."""
        found = _delivery_id_of(partial)
        if found is not None:
            handle.write(b"\n")
            self._seen.add(found)
        else:
            log.warning("jsonl sink %r: dropping an incomplete last line (%d bytes) of %s",
                        self.name, len(partial), self.path)
            handle.flush()
            os.ftruncate(handle.fileno(), self._scanned)
        self._scanned = handle.seek(0, os.SEEK_END)

    def deliver(self, deliveries: list[Delivery]) -> None:
        if not deliveries:
            return
        created = not self.path.exists()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a+b") as handle:
                if fcntl is not None:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                partial = self._catch_up(handle)
                if partial:
                    self._repair_tail(handle, partial)
                fresh: dict[str, Delivery] = {}
                for delivery in deliveries:
                    if delivery.delivery_id not in self._seen:
                        fresh.setdefault(delivery.delivery_id, delivery)
                if fresh:
                    handle.write("".join(jsonl_line(d) + "\n" for d in fresh.values()).encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
                self._seen.update(fresh)
                self._scanned = handle.seek(0, os.SEEK_END)
            if created:
                _fsync_dir(self.path.parent)
        except OSError as exc:
            raise SinkError(f"jsonl sink {self.name!r}: cannot write {self.path} ({exc.strerror})") from exc
        skipped = len(deliveries) - len(fresh)
        if skipped:
            log.info("jsonl sink %r: %d delivery(ies) already in %s, skipped", self.name, skipped, self.path)


def _fsync_dir(directory: Path) -> None:
    """Make a new file's directory entry durable too (POSIX; a no-op where directories can't be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
