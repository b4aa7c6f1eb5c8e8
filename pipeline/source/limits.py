"""How much one raw file may hold before it is skipped: decompression bombs cost a warning, not the run.

A 1 MB gzip file can inflate to gigabytes, or hold millions of tiny records that DuckDB expands
into gigabytes of rows. Every raw file is therefore measured first, streaming (memory per file
is one chunk, whatever the file inflates to), and skipped with a warning naming the limit when
it exceeds ``[ingest] max_file_bytes`` (uncompressed bytes) or ``max_records_per_file``.
Records are bounded before reading by counting JSON objects and nulls: every record is one of
those, so the count is an upper bound that no file within the limit can exceed.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

CHUNK = 1 << 20


class UnreadableFile(ValueError):
    """A file that cannot be read at all (truncated gzip, not JSON, too big); the message says why."""


@dataclass(frozen=True)
class Limits:
    """``[ingest]`` caps per raw file. Defaults sit far above what CloudTrail or GuardDuty deliver
    (a CloudTrail file holds minutes of one account and region: megabytes, thousands of records)."""

    max_file_bytes: int = 512 * 1024 * 1024  # uncompressed
    max_records_per_file: int = 1_000_000

    @classmethod
    def from_config(cls, section: dict[str, Any] | None) -> Limits:
        """``[ingest] max_file_bytes`` / ``max_records_per_file``; a bad value raises ValueError naming it."""
        section = section or {}
        values = {}
        for name in ("max_file_bytes", "max_records_per_file"):
            value = section.get(name, getattr(cls, name))
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"[ingest] {name} = {value!r}: expected a positive whole number")
            values[name] = value
        return cls(**values)


def open_raw(path: Path) -> IO[bytes]:
    """The file's bytes, gunzipped when it is gzip (by its magic number, not its name)."""
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def measure(path: Path, limits: Limits) -> tuple[int, int]:
    """(uncompressed bytes, JSON objects + nulls) of ``path``, streamed; stops once past a limit."""
    size = objects = 0
    with open_raw(path) as handle:
        while chunk := handle.read(CHUNK):
            size += len(chunk)
            objects += chunk.count(b"{") + chunk.count(b"null")
            if size > limits.max_file_bytes or objects > limits.max_records_per_file:
                break
    return size, objects


def check_size(path: Path, limits: Limits, count_objects: bool = True) -> None:
    """Raise UnreadableFile naming the limit when ``path`` is past one (gzip errors raise OSError).

    ``count_objects=False`` checks bytes only, for readers that count their records exactly as
    they stream (GuardDuty's one finding per line)."""
    if not count_objects:
        limits = Limits(limits.max_file_bytes, 2**62)
    size, objects = measure(path, limits)
    if size > limits.max_file_bytes:
        raise UnreadableFile(f"decompresses to more than max_file_bytes = {limits.max_file_bytes} "
                             "([ingest] in the config); not read")
    if objects > limits.max_records_per_file:
        raise UnreadableFile(f"holds more than max_records_per_file = {limits.max_records_per_file} "
                             "JSON objects ([ingest] in the config); not read")


def uncompressed_size(path: Path, stop_after: int) -> int:
    """Bytes ``path`` holds once gunzipped, counted in chunks, stopping past ``stop_after``."""
    return measure(path, Limits(max_file_bytes=stop_after, max_records_per_file=2**62))[0]
