"""A detection's result rows as findings, per its metadata.

Single-record detections give one finding per row; burst detections name ``group_by`` columns,
and the rows of one key that lie within one window of each other become one finding listing all
their records.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from pipeline.detections.spec import REQUIRED_COLUMNS, Detection, DetectionError
from pipeline.findings.model import Finding, clean_value, finding_id
from pipeline.findings.severity import worst

_CORE = {*REQUIRED_COLUMNS, "severity", "source_ip", "actor", "actor_type"}
# Working columns of queries/fragments/actor_records.sql, never part of a finding's context.
_HELPERS = {"direct_actor", "direct_actor_type", "session_key", "session_actor", "session_actor_type"}


def _varying(rows: list[dict[str, Any]], column: str) -> Any:
    values = list(dict.fromkeys(json.dumps(r.get(column), sort_keys=True, default=str) for r in rows))
    if len(values) == 1:
        return rows[0].get(column)
    return [json.loads(v) for v in values[:20]]


def _build(detection: Detection, rows: list[dict[str, Any]]) -> Finding:
    rows = sorted(rows, key=lambda r: (str(r["event_time"]), str(r["event_id"])))
    first = rows[0]
    severity = worst((r.get("severity") for r in rows), detection.severity)
    dedup = {k: first.get(k) for k in detection.dedup_key}
    extra = sorted({k for r in rows for k in r} - _CORE - _HELPERS)
    context = {k: _varying(rows, k) for k in extra}
    for column in ("account_id", "region", "principal", "source_ip", "actor"):
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
        actor=first.get("actor"),
        actor_type=first.get("actor_type"),
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
    rows = [{k: clean_value(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
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
