"""Read GuardDuty finding files into export-shaped dicts.

GuardDuty's S3 export writes one finding per line (camelCase). Findings also reach users as an
EventBridge event (the finding under ``detail``), a ``GetFindings`` response (``{"Findings":
[...]}``, PascalCase keys) or a JSON array; all are accepted and brought to the export's shape,
so a finding is never lost to its wrapping.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.source.limits import CHUNK, Limits, UnreadableFile, check_size, open_raw

_PANTHER_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)$")


def _camel(key: str) -> str:
    return key[:1].lower() + key[1:] if key[:1].isupper() else key


def _camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_camel(k): _camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel_keys(v) for v in value]
    return value


def _iso_time(value: Any) -> Any:
    if isinstance(value, str):
        match = _PANTHER_TIME.match(value)
        if match:
            return f"{match.group(1)}T{match.group(2)}Z"
    return value


def normalize_finding(obj: Any) -> dict[str, Any] | None:
    """One finding in the export's shape, or None when ``obj`` is not a finding."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("detail"), dict) and "detail-type" in obj:
        obj = obj["detail"]
    if "Id" in obj and "Type" in obj:
        obj = _camel_keys(obj)
    if not isinstance(obj.get("id"), str) or not isinstance(obj.get("type"), str):
        return None
    finding = dict(obj)
    for key in ("createdAt", "updatedAt"):
        finding[key] = _iso_time(finding.get(key))
    return finding


def _unwrap(document: Any) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and isinstance(document.get("Findings"), list):
        return document["Findings"]
    if isinstance(document, dict) and isinstance(document.get("findings"), list):
        return document["findings"]
    return [document]


def read_text(path: Path, limits: Limits | None = None) -> str:
    """The file's text, gunzipped when it is gzip, after a streaming size check against ``limits``;
    truncation, bad bytes and bombs are reported, not hidden."""
    limits = limits or Limits()
    try:
        check_size(path, limits, count_objects=False)  # the caller counts the records it parses
        with open_raw(path) as handle:
            data = handle.read(limits.max_file_bytes + 1)
        return data.decode("utf-8")
    except (EOFError, OSError, zlib.error) as exc:
        raise UnreadableFile(f"unreadable gzip ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not UTF-8 text ({exc})") from exc


def _lines(path: Path) -> Iterator[bytes]:
    """The file's lines, streamed (gunzipped when it is gzip)."""
    with open_raw(path) as handle:
        yield from handle


def iter_findings(path: Path, limits: Limits | None = None) -> Iterator[tuple[dict[str, Any] | None, int]]:
    """Yield (finding or None, line number) for every JSON value in the file.

    The export's one-finding-per-line files are streamed line by line; only a file that is one
    JSON document (an array, ``GetFindings`` output) is read whole, and only once it is known to
    fit ``limits.max_file_bytes``. More than ``limits.max_records_per_file`` values is refused."""
    limits = limits or Limits()
    try:
        check_size(path, limits, count_objects=False)  # so no line can be longer than the cap
        whole = _single_document(path, limits)
        if whole is not None:
            items = _unwrap(whole[0])
            if len(items) > limits.max_records_per_file:
                raise UnreadableFile(f"more than max_records_per_file = {limits.max_records_per_file} "
                                     "findings ([ingest] in the config); not read")
            for item in items:
                yield normalize_finding(item), 1
            return
        values = 0
        for number, line in enumerate(_lines(path), start=1):
            if not line.strip():
                continue
            values += 1
            if values > limits.max_records_per_file:
                raise UnreadableFile(f"more than max_records_per_file = {limits.max_records_per_file} "
                                     "findings ([ingest] in the config); the rest not read")
            try:
                yield normalize_finding(json.loads(line)), number
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
                yield None, number
    except (EOFError, OSError, zlib.error) as exc:
        raise UnreadableFile(f"unreadable gzip ({exc})") from exc


def _single_document(path: Path, limits: Limits) -> tuple[Any] | None:
    """``(document,)`` when the whole file is one JSON value spanning lines; None for JSON lines."""
    with open_raw(path) as handle:
        head = handle.read(CHUNK)
    first = head.lstrip()[:1]
    if first not in (b"[", b"{") or (first == b"{" and b"\n" in head.strip() and _first_line_parses(head)):
        return None
    text = read_text(path, limits).strip()
    if not text:
        return None
    try:
        return (json.loads(text),)
    except json.JSONDecodeError:
        return None  # not one document: read it as lines
    except RecursionError:
        raise UnreadableFile("JSON nested too deeply to read") from None


def _first_line_parses(head: bytes) -> bool:
    """Whether the first line of ``head`` is a JSON value on its own (so the file is JSON lines)."""
    line = head.lstrip().split(b"\n", 1)[0]
    try:
        json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return False
    return True
