"""guardduty_finding: the row-level severity, principal and context a finding gets from GuardDuty.

The example harness (tests/detections/guardduty_finding.yaml) checks which findings fire; this
checks what each finding says: severity >= 7 high, >= 4 medium, else low (boundaries included),
the resource as principal, and the archived/sample flags as context.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.catalog.specs import load_specs
from pipeline.config import Settings
from pipeline.detections.run import run_detections
from pipeline.detections.spec import load_detections
from pipeline.engines.duckdb import DuckDBEngine
from pipeline.findings.model import Finding
from pipeline.lake.ingest import ingest_table
from pipeline.source.writer import write_guardduty
from pipeline.times import parse_iso

BASE: dict[str, Any] = {
    "schemaVersion": "2.0",
    "accountId": "123456789012",
    "region": "us-east-1",
    "partition": "aws",
    "type": "Recon:IAMUser/MaliciousIPCaller.Custom",
    "title": "t",
    "description": "d",
    "createdAt": "2026-01-15T10:00:00.000Z",
    "updatedAt": "2026-01-15T12:00:00.000Z",
    "resource": {
        "resourceType": "AccessKey",
        "accessKeyDetails": {"userName": "alice", "userType": "IAMUser", "principalId": "AIDAEXAMPLEALICE"},
    },
    "service": {
        "serviceName": "guardduty",
        "archived": False,
        "count": 1,
        "action": {
            "actionType": "AWS_API_CALL",
            "awsApiCallAction": {"api": "ListUsers", "remoteIpDetails": {"ipAddressV4": "198.51.100.7"}},
        },
    },
}


def finding(finding_id: str, **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(BASE)
    out.update(changes)
    out["id"] = finding_id
    return out


def detect(
    tmp_path: Path, findings: list[dict[str, Any]], rows: list[int] | None = None
) -> dict[str, Finding]:
    """Findings by their first event id; ``rows`` receives the query's row count."""
    source, lake = tmp_path / "source", tmp_path / "lake"
    write_guardduty(source, findings)
    specs = load_specs()
    ingest_table(specs["guardduty_findings"], source, lake)
    times = [parse_iso(f["updatedAt"]) for f in findings]
    engine = DuckDBEngine(lake, specs)
    try:
        result = run_detections(
            engine,
            [load_detections()["guardduty_finding"]],
            min(times) - timedelta(hours=1),
            max(times) + timedelta(hours=1),
            Settings(),
        )
    finally:
        engine.close()
    assert not result.failed, [r.error for r in result.failed]
    if rows is not None:
        rows.append(result.runs[0].rows)
    return {f.event_ids[0]: f for f in result.findings}


SEVERITIES = [
    (0.0, "low"),
    (1, "low"),
    (3.9, "low"),
    (4, "medium"),
    (5, "medium"),
    (6.9, "medium"),
    (7, "high"),
    (8, "high"),
    (8.9, "high"),
    (9, "high"),
    (10, "high"),
]


def test_severity_follows_the_finding(tmp_path):
    findings = [finding(f"sev-{i}", severity=s) for i, (s, _) in enumerate(SEVERITIES)]
    found = detect(tmp_path, findings)
    assert {k: f.severity for k, f in found.items()} == {
        f"sev-{i}": want for i, (_, want) in enumerate(SEVERITIES)
    }
    assert found["sev-6"].context["finding_severity"] == 7


def test_archived_and_sample_findings_keep_their_severity_and_say_what_they_are(tmp_path):
    archived = finding("archived", severity=8, service={**BASE["service"], "archived": True})
    sample = finding("sample", severity=2, service={**BASE["service"], "additionalInfo": {"sample": True}})
    found = detect(tmp_path, [archived, sample])
    assert (found["archived"].severity, found["archived"].context["archived"]) == ("high", True)
    assert (found["sample"].severity, found["sample"].context["sample"]) == ("low", True)
    assert found["archived"].context["sample"] is False


@pytest.mark.parametrize(
    ("resource", "principal"),
    [
        (BASE["resource"], "alice"),
        (
            {"resourceType": "Instance", "instanceDetails": {"instanceId": "i-05746eb48123455e0"}},
            "i-05746eb48123455e0",
        ),
        (
            {"resourceType": "S3Bucket", "s3BucketDetails": [{"name": "logs-bucket", "type": "Destination"}]},
            "logs-bucket",
        ),
        ({"resourceType": "EKSCluster", "eksClusterDetails": {"name": "prod-eks"}}, "prod-eks"),
        ({"resourceType": "Lambda", "lambdaDetails": {"functionName": "resize-images"}}, "resize-images"),
        ({"resourceType": "AttackSequence"}, None),
    ],
)
def test_principal_is_the_resource(tmp_path, resource, principal):
    found = detect(tmp_path, [finding("f1", severity=5, resource=resource)])
    assert found["f1"].principal == principal


def test_finding_fields_map_to_the_required_columns(tmp_path):
    found = detect(tmp_path, [finding("f1", severity=5, accountId="222222222222", region="eu-west-1")])
    f = found["f1"]
    assert (f.account_id, f.region, f.first_seen, f.source_ip) == (
        "222222222222",
        "eu-west-1",
        "2026-01-15T12:00:00.000Z",
        "198.51.100.7",
    )
    assert f.context["finding_type"] == "Recon:IAMUser/MaliciousIPCaller.Custom"
    assert f.context["threat_purpose"] == "Recon"


def test_an_updated_finding_is_reported_once_in_its_latest_version(tmp_path):
    first = finding("f1", severity=5)
    later = finding(
        "f1", severity=8, updatedAt="2026-01-15T18:00:00.000Z", service={**BASE["service"], "count": 7}
    )
    rows: list[int] = []
    found = detect(tmp_path, [later, first], rows)
    assert list(found) == ["f1"] and rows == [1]
    assert (found["f1"].severity, found["f1"].context["occurrences"], found["f1"].first_seen) == (
        "high",
        "7",
        "2026-01-15T18:00:00.000Z",
    )
