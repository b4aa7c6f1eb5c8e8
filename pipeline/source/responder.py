"""CloudTrail as an incident responder receives it, read into records the bucket layout can hold.

Responders rarely get the organization's bucket: they get a console or Athena export (a plain
``.json`` file, ``{"Records": [...]}`` or a bare list), JSON lines from a SIEM, the output of
``aws cloudtrail lookup-events`` (``{"Events": [{"CloudTrailEvent": "<json text>"}]}``), gzip or
not, sometimes with every key lower-cased by the tool that exported it. :func:`read_file` reads
any of those; :func:`scan` walks a folder and accounts for every file: read, skipped with a stated
reason, or reported as not read. ``trailguard import`` (:mod:`pipeline.cli.importer`) writes the
records into the bucket layout with :func:`pipeline.source.writer.write_cloudtrail`.

Key case: CloudTrail's own spelling of each key (``eventName``, ``userIdentity.sessionContext``,
``resources[].ARN``) is restored from the table spec's key list (``glue/_cloudtrail_columns.yaml``,
the one place the spelling is written). Free-form objects (requestParameters, responseElements)
keep the keys they came with: a tool that lower-cased those lost information nobody can restore.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from pipeline.paths import GLUE_DIR

# Files a responder's folder often holds next to the logs, each skipped with its reason.
SKIP_REASONS: tuple[tuple[str, str], ...] = (
    ("CloudTrail-Digest", "a CloudTrail digest file (integrity hashes, not records)"),
    ("/GuardDuty/", "a GuardDuty export (read by the guardduty_findings table, not as CloudTrail)"),
    (".DS_Store", "a macOS folder index"),
    ("/_state/", "trailguard's own ingest state"),
)
READABLE_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".gz", ".log")


class UnreadableFile(ValueError):
    """A file that is not CloudTrail in any shape this module knows; the message says why."""


@cache
def _key_spelling() -> dict[str, Any]:
    """lower-case key -> (CloudTrail key, nested spelling map or None), from the table spec."""

    def level(columns: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for column in columns:
            nested = column.get("fields") or (column.get("element") or {}).get("fields")
            out[column["key"].lower()] = (column["key"], level(nested) if nested else None)
        return out

    columns = yaml.safe_load((GLUE_DIR / "_cloudtrail_columns.yaml").read_text(encoding="utf-8"))
    return level(columns)


def _respell(value: Any, spelling: dict[str, Any] | None) -> Any:
    if spelling is None:
        return value
    if isinstance(value, list):
        return [_respell(item, spelling) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        known = spelling.get(str(key).lower())
        if known is None:
            out[key] = item
        else:
            out[known[0]] = _respell(item, known[1])
    return out


def normalize_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record in CloudTrail's key spelling; lower-cased keys (``eventname``) become ``eventName``."""
    return _respell(record, _key_spelling())


def _is_record(value: Any) -> bool:
    return isinstance(value, dict) and any(str(k).lower() in ("eventname", "eventtime") for k in value)


def _records_in(document: Any, path: Path) -> Iterator[dict[str, Any]]:
    """The records of one parsed JSON value, whatever the wrapper."""
    if isinstance(document, list):
        for item in document:
            yield from _records_in(item, path)
        return
    if not isinstance(document, dict):
        raise UnreadableFile(f"{path}: a JSON {type(document).__name__}, not CloudTrail records")
    lowered = {str(k).lower(): v for k, v in document.items()}
    if "records" in lowered and isinstance(lowered["records"], list):
        for item in lowered["records"]:
            yield from _records_in(item, path)
    elif "events" in lowered and isinstance(lowered["events"], list):  # aws cloudtrail lookup-events
        for item in lowered["events"]:
            yield from _records_in(item, path)
    elif "cloudtrailevent" in lowered:  # one lookup-events Event: the record is JSON text
        text = lowered["cloudtrailevent"]
        yield from _records_in(json.loads(text) if isinstance(text, str) else text, path)
    elif _is_record(document):
        yield normalize_record(document)
    else:
        keys = ", ".join(sorted(map(str, document))[:5])
        raise UnreadableFile(f"{path}: a JSON object without Records, Events or eventName (keys: {keys})")


def _text(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise UnreadableFile(f"{path}: damaged gzip ({exc})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile(f"{path}: not UTF-8 text") from None


def read_file(path: Path) -> list[dict[str, Any]]:
    """Every CloudTrail record in one file: one JSON document, or JSON lines; raises UnreadableFile."""
    text = _text(path).strip()
    if not text:
        return []
    try:
        return list(_records_in(json.loads(text), path))
    except json.JSONDecodeError:
        pass  # not one document: JSON lines?
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.extend(_records_in(json.loads(line), path))
        except json.JSONDecodeError as exc:
            raise UnreadableFile(f"{path}: line {number} is not JSON ({exc.msg})") from None
    return records


@dataclass
class ScanReport:
    """Every file under a source: read (with its records), skipped with a reason, or not read."""

    records: list[dict[str, Any]] = field(default_factory=list)
    read: dict[str, int] = field(default_factory=dict)  # file -> records read from it
    skipped: dict[str, str] = field(default_factory=dict)  # file -> why it was skipped
    not_read: dict[str, str] = field(default_factory=dict)  # file -> why it could not be read

    @property
    def warnings(self) -> list[str]:
        return [f"{path}: not read: {why}" for path, why in self.not_read.items()]


def skip_reason(path: Path) -> str | None:
    """Why a file is deliberately not read as CloudTrail, or None."""
    text = path.as_posix()
    for marker, reason in SKIP_REASONS:
        if marker in text:
            return reason
    return None


def scan(root: Path) -> ScanReport:
    """Read every file under ``root`` (or ``root`` itself), accounting for each one."""
    report = ScanReport()
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for path in paths:
        reason = skip_reason(path)
        if reason:
            report.skipped[str(path)] = reason
            continue
        if not path.name.lower().endswith(READABLE_SUFFIXES):
            report.not_read[str(path)] = f"not a JSON or gzip file ({path.suffix or 'no suffix'})"
            continue
        try:
            found = read_file(path)
        except (UnreadableFile, OSError) as exc:
            report.not_read[str(path)] = str(exc).removeprefix(f"{path}: ")
            continue
        report.read[str(path)] = len(found)
        report.records.extend(found)
    return report
