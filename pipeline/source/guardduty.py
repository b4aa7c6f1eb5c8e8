"""Read GuardDuty finding files into export-shaped dicts.

GuardDuty's S3 export writes one finding per line (camelCase). Findings also reach users as an
EventBridge event (the finding under ``detail``), a ``GetFindings`` response (``{"Findings":
[...]}``, PascalCase keys) or a JSON array; all are accepted and brought to the export's shape,
so a finding is never lost to its wrapping.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_PANTHER_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)$")


class UnreadableFile(ValueError):
    """A file that cannot be read at all (truncated gzip, not JSON); the message says why."""


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


def read_text(path: Path) -> str:
    """The file's text, gunzipped when it is gzip; truncation and bad bytes are reported, not hidden."""
    try:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        return data.decode("utf-8")
    except (EOFError, OSError, zlib.error) as exc:
        raise UnreadableFile(f"unreadable gzip ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not UTF-8 text ({exc})") from exc


def iter_findings(path: Path) -> Iterator[tuple[dict[str, Any] | None, int]]:
    """Yield (finding or None, line number) for every JSON value in the file."""
    text = read_text(path)
    stripped = text.strip()
    if not stripped:
        return
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError:
        whole = None
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield normalize_finding(json.loads(line)), number
            except json.JSONDecodeError:
                yield None, number
        return
    for item in _unwrap(whole):
        yield normalize_finding(item), 1
