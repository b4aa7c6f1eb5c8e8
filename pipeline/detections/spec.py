"""The detection library: one ``queries/detections/<id>.sql`` file per detection.

A file opens with a YAML comment (id, title, severity, ATT&CK ids, the Stratus Red Team techniques
it is meant for, description, runbook, schedule, dedup key, parameters) followed by the
Jinja-templated Athena SQL. The runner turns the query's
rows into findings from that metadata, so a file holds only what is particular to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import UsageError
from pipeline.findings.severity import SEVERITIES
from pipeline.paths import DETECTIONS_DIR

ATTACK_ID = re.compile(r"^T\d{4}(\.\d{3})?$")
# Stratus Red Team technique ids (https://stratus-red.team): aws.<tactic>.<technique>.
STRATUS_ID = re.compile(r"^aws\.[a-z]+(-[a-z]+)*\.[a-z0-9]+(-[a-z0-9]+)*$")
SCHEDULE = re.compile(r"^(\d+[mhd]|cron\(.+\))$")
REQUIRED_COLUMNS = ("event_id", "event_time", "account_id", "region", "principal")
REQUIRED_KEYS = (
    "id",
    "title",
    "severity",
    "attack",
    "description",
    "runbook",
    "schedule",
    "dedup_key",
    "tables",
)
_HEADER = re.compile(r"^\s*/\*(.*?)\*/", re.DOTALL)


class DetectionError(UsageError):
    """A detection file whose metadata or query is incomplete; the message names the file."""


@dataclass(frozen=True)
class Detection:
    """A detection's metadata plus its query template."""

    id: str
    title: str
    severity: str
    attack: tuple[str, ...]
    description: str
    runbook: str
    schedule: str
    dedup_key: tuple[str, ...]
    tables: tuple[str, ...]
    sql: str
    path: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    group_by: tuple[str, ...] = ()
    lookback_minutes: int = 0
    stratus: tuple[str, ...] = ()  # Stratus Red Team techniques this detection is meant to catch

    def params(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Default parameters with per-deployment overrides; unknown names and wrong types are errors."""
        merged = dict(self.parameters)
        for name, value in (overrides or {}).items():
            if name in ("enabled", "max_scan"):  # settings about running it, not query parameters
                continue
            if name not in self.parameters:
                known = ", ".join(sorted(self.parameters)) or "none"
                raise DetectionError(f"{self.id}: unknown parameter {name!r} (known: {known})")
            default = self.parameters[name]
            is_count = isinstance(default, int) and not isinstance(default, bool)
            if is_count and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise DetectionError(
                        f"{self.id}: parameter {name} must be a positive integer, got {value!r}"
                    )
            merged[name] = value
        return merged


def _metadata_problems(meta: dict[str, Any]) -> list[str]:
    problems = [f"missing {key}" for key in REQUIRED_KEYS if not meta.get(key)]
    if meta.get("severity") not in SEVERITIES:
        problems.append(f"severity {meta.get('severity')!r} is not one of {', '.join(SEVERITIES)}")
    for technique in meta.get("attack") or []:
        if not ATTACK_ID.match(str(technique)):
            problems.append(f"ATT&CK id {technique!r} is not like T1234 or T1234.001")
    stratus = meta.get("stratus") or []
    if not isinstance(stratus, list):
        problems.append("stratus must be a list of technique ids")
        stratus = []
    for technique in stratus:
        if not STRATUS_ID.match(str(technique)):
            problems.append(f"Stratus technique {technique!r} is not like aws.persistence.iam-backdoor-role")
    if len(set(map(str, stratus))) != len(stratus):
        problems.append("stratus lists a technique twice")
    if meta.get("schedule") and not SCHEDULE.match(str(meta["schedule"])):
        problems.append(f"schedule {meta['schedule']!r} is not a rate like 15m/1h or cron(...)")
    return problems


def parse_detection(path: Path) -> Detection:
    """Read one detection file; every problem is reported with the file name."""
    text = path.read_text(encoding="utf-8")
    match = _HEADER.match(text)
    if not match:
        raise DetectionError(f"{path}: no leading /* YAML metadata */ comment")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise DetectionError(f"{path}: metadata is not valid YAML ({exc})") from exc
    if not isinstance(meta, dict):
        raise DetectionError(f"{path}: metadata must be a YAML mapping")
    problems = _metadata_problems(meta)
    if meta.get("id") != path.stem:
        problems.append(f"id {meta.get('id')!r} does not match the file name {path.stem!r}")
    if problems:
        raise DetectionError(f"{path}: " + "; ".join(problems))
    return Detection(
        id=meta["id"],
        title=meta["title"],
        severity=meta["severity"],
        attack=tuple(meta["attack"]),
        description=str(meta["description"]).strip(),
        runbook=str(meta["runbook"]).strip(),
        schedule=str(meta["schedule"]),
        dedup_key=tuple(meta["dedup_key"]),
        tables=tuple(meta["tables"]),
        parameters=dict(meta.get("parameters") or {}),
        group_by=tuple(meta.get("group_by") or ()),
        lookback_minutes=int(meta.get("lookback_minutes", 0)),
        stratus=tuple(str(t) for t in meta.get("stratus") or ()),
        sql=text[match.end() :].strip() + "\n",
        path=path,
    )


def load_detections(directory: Path = DETECTIONS_DIR) -> dict[str, Detection]:
    """All detections, by id, in file-name order."""
    return {d.id: d for d in (parse_detection(p) for p in sorted(directory.glob("*.sql")))}




def select(detections: dict[str, Detection], ids: list[str] | None) -> list[Detection]:
    """The detections named by ``ids`` (all when empty); an unknown id is an error naming it."""
    if not ids:
        return list(detections.values())
    unknown = [i for i in ids if i not in detections]
    if unknown:
        raise DetectionError(f"unknown detection id(s): {', '.join(unknown)}")
    return [detections[i] for i in ids]
