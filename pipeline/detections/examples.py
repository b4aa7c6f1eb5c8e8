"""Detection examples: records that must and must not match, run through the real pipeline.

Each detection ``<id>`` has ``tests/detections/<id>.yaml`` with cases. A case gives CloudTrail
``records`` (or GuardDuty ``findings``), the event ids that must be reported (``fires``) and
those that must not (``silent``), optionally ``finding_count``, ``finding_events`` (the event ids of
each finding), ``params`` (threshold overrides) and ``window`` ([start, end], default: the records'
span plus an hour each side).
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
from pipeline import times
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


# `identity: <name>` in an example record stands for one of these callers (docs/actors.md):
# a person's IAM Identity Center session, a role session chained from it in another account
# (the example gains the AssumeRole record that issued its key), an EC2 instance's credentials,
# a GitHub Actions OIDC role session (with its AssumeRoleWithWebIdentity record), and a call an
# AWS service made on a principal's behalf.
_ORG_ACCOUNT = "222222222222"
_SSO_ISSUER = f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123abcd"
IDENTITIES: dict[str, dict[str, Any]] = {
    "sso": {
        "type": "AssumedRole", "principalId": "AROAEXAMPLESSO:raj@example.com",
        "arn": f"arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/AWSReservedSSO_Admin_0123abcd/raj@example.com",
        "accountId": DEFAULT_ACCOUNT, "accessKeyId": "ASIAEXAMPLESSORAJ",
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": _SSO_ISSUER, "accountId": DEFAULT_ACCOUNT,
                                             "userName": "AWSReservedSSO_Admin_0123abcd"},
                           "attributes": {"mfaAuthenticated": "false", "creationDate": "2026-01-15T08:00:00Z"}},
    },
    "chain": {
        "type": "AssumedRole", "principalId": "AROAEXAMPLEOPS:ops-handoff",
        "arn": f"arn:aws:sts::{_ORG_ACCOUNT}:assumed-role/ops-admin/ops-handoff",
        "accountId": _ORG_ACCOUNT, "accessKeyId": "ASIAEXAMPLECHAINED",
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{_ORG_ACCOUNT}:role/ops-admin",
                                             "accountId": _ORG_ACCOUNT, "userName": "ops-admin"}},
    },
    "workload": {
        "type": "AssumedRole", "principalId": "AROAEXAMPLEAPP:i-0a1b2c3d4e5f60718",
        "arn": f"arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/app-server/i-0a1b2c3d4e5f60718",
        "accountId": DEFAULT_ACCOUNT, "accessKeyId": "ASIAEXAMPLEINSTANCE",
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/app-server",
                                             "accountId": DEFAULT_ACCOUNT, "userName": "app-server"},
                           "ec2RoleDelivery": "2.0"},
    },
    "ci": {
        "type": "AssumedRole", "principalId": "AROAEXAMPLECI:GitHubActions",
        "arn": f"arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/github-deploy/GitHubActions",
        "accountId": DEFAULT_ACCOUNT, "accessKeyId": "ASIAEXAMPLEGITHUB",
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/github-deploy",
                                             "accountId": DEFAULT_ACCOUNT, "userName": "github-deploy"}},
    },
    "service": {
        "type": "AssumedRole", "principalId": "AROAEXAMPLESTACK:AWSCloudFormation",
        "arn": f"arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/stack-role/AWSCloudFormation",
        "accountId": DEFAULT_ACCOUNT, "invokedBy": "cloudformation.amazonaws.com",
    },
}


def _issuing_record(identity: str, record: dict[str, Any]) -> dict[str, Any] | None:
    """The STS record that issued an example identity's credentials, a few minutes before it."""
    if identity not in ("chain", "ci"):
        return None
    issued = IDENTITIES[identity]
    when = times.iso_z(parse_iso(record.get("eventTime", RECORD_DEFAULTS["eventTime"])) - timedelta(minutes=5))
    base = {"eventID": f"issue-{record['eventID']}", "eventTime": when, "eventSource": "sts.amazonaws.com",
            "readOnly": True, "resources": [],
            "responseElements": {"credentials": {"accessKeyId": issued["accessKeyId"]},
                                 "assumedRoleUser": {"arn": issued["arn"]}}}
    if identity == "chain":  # raj's Identity Center session assumes a role in another account
        return {**base, "eventName": "AssumeRole", "recipientAccountId": _ORG_ACCOUNT,
                "requestParameters": {"roleArn": f"arn:aws:iam::{_ORG_ACCOUNT}:role/ops-admin",
                                      "roleSessionName": "ops-handoff"},
                "userIdentity": IDENTITIES["sso"]}
    subject = "repo:example-org/app:ref:refs/heads/main"
    return {**base, "eventName": "AssumeRoleWithWebIdentity", "sourceIPAddress": "20.1.2.3",
            "requestParameters": {"roleArn": f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/github-deploy",
                                  "roleSessionName": "GitHubActions"},
            "userIdentity": {"type": "WebIdentityUser", "userName": subject,
                             "principalId": "arn:aws:iam::111111111111:oidc-provider/"
                                            f"token.actions.githubusercontent.com:sts.amazonaws.com:{subject}"}}


def expand_identities(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with ``identity: <name>`` get that caller, plus the record issuing its credentials."""
    out = []
    for record in records:
        name = record.get("identity")
        if name is None:
            out.append(record)
            continue
        if name not in IDENTITIES:
            raise ValueError(f"example record {record.get('eventID')}: unknown identity {name!r} "
                             f"(known: {', '.join(IDENTITIES)})")
        record = {k: v for k, v in record.items() if k != "identity"}
        record["userIdentity"] = copy.deepcopy(IDENTITIES[name])
        if name == "chain":
            record.setdefault("recipientAccountId", _ORG_ACCOUNT)
        issuing = _issuing_record(name, record)
        out.extend([issuing, record] if issuing else [record])
    return out


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
