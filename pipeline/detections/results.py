"""A detection's result rows as findings, per its metadata.

Single-record detections give one finding per row; burst detections name ``group_by`` columns,
and the rows of one key that lie within one window of each other become one finding listing all
their records.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd

from pipeline.detections.spec import REQUIRED_COLUMNS, Detection, DetectionError
from pipeline.findings.model import Finding, clean_value, finding_id
from pipeline.findings.severity import worst
from pipeline.times import parse_iso, parse_lenient

_CORE = {*REQUIRED_COLUMNS, "severity", "source_ip", "actor", "actor_type"}
# Working columns of queries/fragments/actor_records.sql, never part of a finding's context.
_HELPERS = {"direct_actor", "direct_actor_type", "session_key", "session_actor", "session_actor_type"}


def _varying(rows: list[dict[str, Any]], column: str) -> Any:
    values = list(dict.fromkeys(json.dumps(r.get(column), sort_keys=True, default=str) for r in rows))
    if len(values) == 1:
        return rows[0].get(column)
    return [json.loads(v) for v in values[:20]]


def _build(detection: Detection, rows: list[dict[str, Any]]) -> Finding:
    rows = sorted(rows, key=lambda r: (str(r["event_time"]), _event_id(r)))
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
        finding_id=finding_id(detection.id, dedup, _event_id(first)),
        severity=severity,
        title=("[sample] " if context.get("sample") in (True, "true", 1) else "") + detection.title,
        event_ids=list(dict.fromkeys(_event_id(r) for r in rows)),
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
    """Split one key's rows where consecutive records are more than one window apart.

    A time that cannot be read (an impossible ``eventTime``) starts a cluster of its own rather
    than stopping the run; the finding's context names it."""
    rows = sorted(rows, key=lambda r: str(r["event_time"]))
    if not gap_minutes:
        return [rows]
    out: list[list[dict[str, Any]]] = [[rows[0]]]
    for row in rows[1:]:
        previous, current = parse_lenient(out[-1][-1]["event_time"]), parse_lenient(row["event_time"])
        if previous is None or current is None or (current - previous).total_seconds() > gap_minutes * 60:
            out.append([])
        out[-1].append(row)
    return out


MISSING_EVENT_ID = "missing-eventID:"


def _event_id(row: dict[str, Any]) -> str:
    """The record's eventID; a record without one gets a stable stand-in that says so (never "None")."""
    value = row.get("event_id")
    if value is not None and str(value).strip():
        return str(value)
    basis = json.dumps(row, sort_keys=True, default=str)
    return MISSING_EVENT_ID + hashlib.sha256(basis.encode()).hexdigest()[:16]


def _check_times(rows: list[dict[str, Any]], finding: Finding) -> Finding:
    """Name the records whose eventTime is missing or not an ISO 8601 time in the finding."""
    bad = sorted({str(r.get("event_time")) for r in rows if _not_exact(r.get("event_time"))})
    missing = sum(_event_id(r).startswith(MISSING_EVENT_ID) for r in rows)
    if bad:
        finding.context["unparseable_event_times"] = bad[:20]
    if missing:
        finding.context["records_without_event_id"] = missing
    return finding


def _not_exact(value: Any) -> bool:
    """Whether ``value`` is not a complete ISO 8601 time (missing, junk after it, impossible)."""
    if value is None:
        return True
    try:
        parse_iso(str(value))
    except ValueError:
        return True
    return False


def rows_to_findings(detection: Detection, frame: pd.DataFrame, params: dict[str, Any]) -> list[Finding]:
    """Turn a detection's result rows into findings, per its metadata."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DetectionError(f"{detection.path}: query does not return column(s) {', '.join(missing)}")
    rows = [{k: clean_value(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    # The same record can arrive twice (duplicate delivery, a re-exported GuardDuty finding): the latest wins.
    rows.sort(key=lambda r: (str(r["event_time"]), _event_id(r)))
    if not detection.group_by:
        unique = {_event_id(r): r for r in rows}
        return [_check_times([r], _build(detection, [r])) for r in unique.values()]
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = json.dumps([row.get(c) for c in detection.group_by], default=str)
        groups.setdefault(key, []).append(row)
    findings = []
    for key_rows in groups.values():
        for cluster in _clusters(key_rows, params.get("window_minutes")):
            unique = list({_event_id(r): r for r in cluster}.values())
            findings.append(_check_times(unique, _build(detection, unique)))
    return sorted(findings, key=lambda f: (f.first_seen, f.detection_id))
