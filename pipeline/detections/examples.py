"""Detection examples: records that must and must not match, run through the real pipeline.

Each detection ``<id>`` has ``tests/detections/<id>.yaml`` with cases. A case gives CloudTrail
``records`` (or GuardDuty ``findings``), the event ids that must be reported (``fires``) and
those that must not (``silent``), optionally ``finding_count``, ``finding_events`` (the event ids of
each finding), ``params`` (threshold overrides), ``source`` (the configured source,
``s3://bucket/prefix``), ``actor_types``/``actors`` (event id -> its finding's actor) and
``window`` ([start, end], default: the records' span plus an hour each side). A record may name
an ``identity`` instead of a userIdentity (:mod:`pipeline.detections.example_identities`).
Records are written in the bucket layout, ingested and detected on DuckDB, exactly like data.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from pipeline.catalog.specs import load_specs
from pipeline.config import Settings
from pipeline.detections.example_identities import expand_identities
from pipeline.detections.run import run_detections
from pipeline.detections.spec import Detection
from pipeline.engines.duckdb import DuckDBEngine
from pipeline.lake.ingest import ingest_table
from pipeline.paths import EXAMPLES_DIR
from pipeline.source.writer import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    write_cloudtrail,
    write_guardduty,
)
from pipeline.times import parse_iso

RECORD_DEFAULTS: dict[str, Any] = {
    "eventVersion": "1.09",
    "eventTime": "2026-01-15T12:00:00Z",
    "eventType": "AwsApiCall",
    "recipientAccountId": DEFAULT_ACCOUNT,
    "awsRegion": DEFAULT_REGION,
    "sourceIPAddress": "198.51.100.7",
    "userAgent": "aws-cli/2.15.0",
    "readOnly": False,
    "managementEvent": True,
    "eventCategory": "Management",
    "userIdentity": {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEALICE",
        "arn": f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/alice",
        "accountId": DEFAULT_ACCOUNT,
        "accessKeyId": "AKIAEXAMPLEALICE",
        "userName": "alice",
    },
}


@dataclass
class CaseResult:
    detection_id: str
    case: str
    problems: list[str] = field(default_factory=list)
    reported: list[list[str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def with_defaults(record: dict[str, Any]) -> dict[str, Any]:
    full = copy.deepcopy(RECORD_DEFAULTS)
    full.update(copy.deepcopy(record))
    full.setdefault("requestID", f"req-{full['eventID']}")
    return full


def load_cases(detection_id: str, directory: Path = EXAMPLES_DIR) -> list[dict[str, Any]]:
    path = directory / f"{detection_id}.yaml"
    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return list(data.get("cases") or [])


def run_case(detection: Detection, case: dict[str, Any], workdir: Path,
             settings: Settings | None = None) -> CaseResult:
    """Write, ingest and detect one case; the result lists every expectation that failed."""
    result = CaseResult(detection.id, case.get("name", "?"))
    records = [with_defaults(r) for r in expand_identities(case.get("records") or [])]
    findings = case.get("findings") or []
    source, lake = workdir / "source", workdir / "lake"
    write_cloudtrail(source, records, org_id=case.get("org_id", "o-exampleorg"))
    write_guardduty(source, findings)
    specs = load_specs()
    for table in ("cloudtrail", "guardduty_findings"):
        ingest_table(specs[table], source, lake)
    times = [parse_iso(r["eventTime"]) for r in records] + [parse_iso(f["updatedAt"]) for f in findings]
    start, end = min(times) - timedelta(hours=1), max(times) + timedelta(hours=1)
    if case.get("window"):
        start, end = (parse_iso(t) for t in case["window"])
    settings = settings or Settings()
    if case.get("params"):
        settings.raw["detections"][detection.id] = dict(case["params"])
    if case.get("source"):  # the deployment's configured source: a template sees its bucket
        settings.raw["source"] = str(case["source"])
    engine = DuckDBEngine(lake, specs)
    try:
        outcome = run_detections(engine, [detection], start, end, settings)
    finally:
        engine.close()
    for run in outcome.failed:
        result.problems.append(f"query failed: {run.error}")
    result.reported = [f.event_ids for f in outcome.findings]
    reported = {e for ids in result.reported for e in ids}
    missing = [e for e in case.get("fires") or [] if e not in reported]
    unexpected = [e for e in case.get("silent") or [] if e in reported]
    if missing:
        result.problems.append(f"not reported: {', '.join(missing)}")
    if unexpected:
        result.problems.append(f"reported but must not be: {', '.join(unexpected)}")
    for event_id, expected_type in (case.get("actor_types") or {}).items():
        found = [f.actor_type for f in outcome.findings if event_id in f.event_ids]
        if found and found[0] != expected_type:
            result.problems.append(f"{event_id}: actor_type {found[0]}, expected {expected_type}")
    for event_id, expected_actor in (case.get("actors") or {}).items():
        found = [f.actor for f in outcome.findings if event_id in f.event_ids]
        if found and found[0] != expected_actor:
            result.problems.append(f"{event_id}: actor {found[0]}, expected {expected_actor}")
    if "finding_count" in case and len(outcome.findings) != case["finding_count"]:
        result.problems.append(f"{len(outcome.findings)} finding(s), expected {case['finding_count']}")
    if "finding_events" in case:
        expected = sorted(sorted(group) for group in case["finding_events"])
        if sorted(sorted(g) for g in result.reported) != expected:
            result.problems.append(f"findings group {result.reported}, expected {expected}")
    return result


def run_examples(detection: Detection) -> list[CaseResult]:
    results = []
    for case in load_cases(detection.id):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run_case(detection, case, Path(tmp)))
    return results
