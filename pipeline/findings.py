"""Findings: what a detection's rows mean, in the shape every sink and report reads.

A detection returns one row per record it matched. Single-record detections give one finding per
row; burst detections name ``group_by`` columns, and the rows of one key that lie within one
window of each other become one finding listing all their records.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from pipeline.detections import REQUIRED_COLUMNS, Detection, DetectionError

_CORE = {*REQUIRED_COLUMNS, "severity", "source_ip"}


@dataclass
class Finding:
    """One alert: a detection, the records behind it, and who/where/when."""

    detection_id: str
    finding_id: str
    severity: str
    title: str
    event_ids: list[str]
    account_id: str | None
    region: str | None
    principal: str | None
    first_seen: str
    last_seen: str
    event_count: int
    source_ip: str | None = None
    attack: list[str] = field(default_factory=list)
    runbook: str = ""
    dedup_key: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, default=str)


def _clean(value: Any) -> Any:
    """JSON-safe Python value from a pandas cell (NaN/NA become None)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            return value.item()
        except (ValueError, AttributeError):
            return str(value)
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if hasattr(value, "tolist"):
        return _clean(value.tolist())
    return value


def finding_id(detection_id: str, dedup_values: dict[str, Any], first_event_id: str) -> str:
    """Stable id: the same detection, key and first record always give the same id."""
    basis = json.dumps([detection_id, dedup_values, first_event_id], sort_keys=True, default=str)
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def _varying(rows: list[dict[str, Any]], column: str) -> Any:
    values = list(dict.fromkeys(json.dumps(r.get(column), sort_keys=True, default=str) for r in rows))
    if len(values) == 1:
        return rows[0].get(column)
    return [json.loads(v) for v in values[:20]]


def _build(detection: Detection, rows: list[dict[str, Any]]) -> Finding:
    rows = sorted(rows, key=lambda r: (str(r["event_time"]), str(r["event_id"])))
    first = rows[0]
    severities = [r.get("severity") for r in rows if r.get("severity")]
    severity = (
        max(severities, key=("low", "medium", "high", "critical").index) if severities else detection.severity
    )
    dedup = {k: first.get(k) for k in detection.dedup_key}
    extra = sorted({k for r in rows for k in r} - _CORE)
    context = {k: _varying(rows, k) for k in extra}
    for column in ("account_id", "region", "principal", "source_ip"):
        distinct = sorted({str(r.get(column)) for r in rows if r.get(column) is not None})
        if len(distinct) > 1:
            context[f"{column}s"] = distinct
    return Finding(
        detection_id=detection.id,
        finding_id=finding_id(detection.id, dedup, str(first["event_id"])),
        severity=severity,
        title=detection.title,
        event_ids=list(dict.fromkeys(str(r["event_id"]) for r in rows)),
        account_id=first.get("account_id"),
        region=first.get("region"),
        principal=first.get("principal"),
        first_seen=str(first["event_time"]),
        last_seen=str(rows[-1]["event_time"]),
        event_count=len(rows),
        source_ip=first.get("source_ip"),
        attack=list(detection.attack),
        runbook=detection.runbook,
        dedup_key=dedup,
        context=context,
    )


def _clusters(rows: list[dict[str, Any]], gap_minutes: int | None) -> list[list[dict[str, Any]]]:
    """Split one key's rows where consecutive records are more than one window apart."""
    rows = sorted(rows, key=lambda r: str(r["event_time"]))
    if not gap_minutes:
        return [rows]
    out: list[list[dict[str, Any]]] = [[rows[0]]]
    for row in rows[1:]:
        previous = pd.Timestamp(out[-1][-1]["event_time"])
        if (pd.Timestamp(row["event_time"]) - previous).total_seconds() > gap_minutes * 60:
            out.append([])
        out[-1].append(row)
    return out


def rows_to_findings(detection: Detection, frame: pd.DataFrame, params: dict[str, Any]) -> list[Finding]:
    """Turn a detection's result rows into findings, per its metadata."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DetectionError(f"{detection.path}: query does not return column(s) {', '.join(missing)}")
    rows = [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    # The same record can arrive twice (duplicate delivery, a re-exported GuardDuty finding): the latest wins.
    rows.sort(key=lambda r: (str(r["event_time"]), str(r["event_id"])))
    if not detection.group_by:
        unique = {str(r["event_id"]): r for r in rows}
        return [_build(detection, [r]) for r in unique.values()]
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = json.dumps([row.get(c) for c in detection.group_by], default=str)
        groups.setdefault(key, []).append(row)
    findings = []
    for key_rows in groups.values():
        for cluster in _clusters(key_rows, params.get("window_minutes")):
            unique = list({str(r["event_id"]): r for r in cluster}.values())
            findings.append(_build(detection, unique))
    return sorted(findings, key=lambda f: (f.first_seen, f.detection_id))
