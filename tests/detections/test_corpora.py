"""Real detonation logs and samples from public projects (../shared/corpora), replayed end to end.

Each Stratus Red Team detonation log must fire exactly the catalogue ids its ``expected.json``
lists plus the new detections listed in ``NEW_EXPECTED``; every detection fires on the
techniques its header's ``stratus`` names; at least 30 of the 35 logs raise a finding from a
detection meant for them. Each TrailDiscover sample fires the catalogue ids it lists (and the
attempt-counting new detections in ``TRAILDISCOVER_NEW``); every GuardDuty sample fires only
``guardduty_finding``, with the catalogue's severity mapping.
"""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.catalog.specs import load_specs
from pipeline.config import Settings
from pipeline.detections.run import run_detections
from pipeline.detections.spec import load_detections
from pipeline.engines.duckdb import DuckDBEngine
from pipeline.lake.ingest import ingest_table
from pipeline.paths import PROJECT_ROOT
from pipeline.source.writer import write_cloudtrail
from pipeline.times import parse_iso

CORPORA = PROJECT_ROOT.parent / "shared" / "corpora"
pytestmark = [
    pytest.mark.skipif(not CORPORA.is_dir(), reason=f"shared corpora not found at {CORPORA}"),
    pytest.mark.slow,  # every real log replayed end to end (ingest + every detection), one lake per log
]

DETECTIONS = load_detections()
SPECS = load_specs()


def catalogue_ids() -> set[str]:
    text = (CORPORA.parent / "DETECTIONS.md").read_text(encoding="utf-8")
    return {
        line.split("|")[1].strip()
        for line in text.splitlines()
        if line.startswith("| ") and line.split("|")[1].strip() not in ("id", "---")
    }


CATALOGUE = catalogue_ids() if CORPORA.is_dir() else set()


def replay(tmp_path: Path, records: list[dict], gd_files: list[Path] = ()) -> list:
    source, lake = tmp_path / "source", tmp_path / "lake"
    write_cloudtrail(source, records)
    for index, path in enumerate(gd_files):
        times = json.dumps(json.loads(path.read_text()))
        target = source / "AWSLogs" / "111111111111" / "GuardDuty" / "us-east-1" / "2026" / "01" / "15"
        target.mkdir(parents=True, exist_ok=True)
        with gzip.open(target / f"{index}.jsonl.gz", "wt", encoding="utf-8") as handle:
            handle.write(times)
    for table in ("cloudtrail", "guardduty_findings"):
        ingest_table(SPECS[table], source, lake)
    times = [parse_iso(r["eventTime"]) for r in records]
    if gd_files:  # filed under 2026/01/15 whatever their own times: a window over that folder's days
        start, end = parse_iso("2000-01-01T00:00:00Z"), parse_iso("2026-01-16T00:00:00Z")
    else:
        start, end = min(times) - timedelta(hours=1), max(times) + timedelta(hours=1)
    engine = DuckDBEngine(lake, SPECS)
    try:
        result = run_detections(engine, DETECTIONS.values(), start, end, Settings())
    finally:
        engine.close()
    assert not result.failed, [r.error for r in result.failed]
    return result.findings


STRATUS = json.loads((CORPORA / "stratus" / "expected.json").read_text()) if CORPORA.is_dir() else {}
TECHNIQUES = sorted(k for k in STRATUS if k != "_meta")

# What the detections beyond the catalogue report on each detonation log, as their definitions
# say (the catalogue's part is the corpus's own expected.json). A technique absent here fires no
# new detection. Extra ids besides the ones meant for a technique are explained inline.
NEW_EXPECTED: dict[str, set[str]] = {
    "aws.credential-access.ec2-get-password-data": {"ec2_password_data_retrieved"},
    # The detonation first runs SendCommand with the operator's IAM user key to read the instance's
    # credentials: that is ssm_remote_command's definition too.
    "aws.credential-access.ec2-steal-instance-credentials": {
        "instance_credentials_exfiltrated",
        "ssm_remote_command",
    },
    "aws.credential-access.secretsmanager-batch-retrieve-secrets": {"secrets_retrieval_burst"},
    "aws.credential-access.secretsmanager-retrieve-secrets": {"secrets_retrieval_burst"},
    "aws.credential-access.ssm-retrieve-securestring-parameters": {"secrets_retrieval_burst"},
    "aws.defense-evasion.dns-delete-logs": {"network_logging_deleted"},
    "aws.defense-evasion.organizations-leave": {"organization_leave_attempt"},
    "aws.defense-evasion.vpc-remove-flow-logs": {"network_logging_deleted"},
    "aws.discovery.ec2-download-user-data": {"ec2_user_data_read_burst"},
    "aws.execution.ec2-launch-unusual-instances": {"ec2_unusual_instance_type"},
    "aws.execution.ec2-user-data": {"ec2_user_data_modified"},
    "aws.execution.ssm-send-command": {"ssm_remote_command"},
    "aws.execution.ssm-start-session": {"ssm_remote_command"},
    "aws.exfiltration.ec2-share-ami": {"resource_shared_externally"},
    "aws.exfiltration.ec2-share-ebs-snapshot": {"resource_shared_externally"},
    "aws.exfiltration.rds-share-snapshot": {"resource_shared_externally"},
    "aws.impact.bedrock-invoke-model": {"bedrock_model_access_enabled"},
    "aws.lateral-movement.ec2-instance-connect": {"ec2_console_key_pushed"},
    "aws.lateral-movement.ec2-serial-console-send-ssh-public-key": {"ec2_console_key_pushed"},
    "aws.persistence.iam-backdoor-role": {"iam_role_trust_external"},
    "aws.persistence.iam-create-backdoor-role": {"iam_role_trust_external"},
    "aws.persistence.iam-create-user-login-profile": {"iam_login_profile_changed"},
    "aws.persistence.lambda-backdoor-function": {"lambda_permission_opened"},
    "aws.persistence.lambda-layer-extension": {"lambda_code_replaced"},
    "aws.persistence.lambda-overwrite-code": {"lambda_code_replaced"},
    "aws.persistence.rolesanywhere-create-trust-anchor": {"rolesanywhere_trust_anchor_created"},
    "aws.persistence.sts-federation-token": {"sts_federation_token_issued"},
    "aws.privilege-escalation.iam-update-user-login-profile": {"iam_login_profile_changed"},
}


@pytest.fixture(scope="module")
def stratus_fired(tmp_path_factory) -> dict[str, set[str]]:
    """Every detonation log replayed once, alone: technique -> the detection ids that fired."""
    fired = {}
    for technique in TECHNIQUES:
        records = json.loads((CORPORA / "stratus" / f"{technique}.json").read_text())
        fired[technique] = {f.detection_id for f in replay(tmp_path_factory.mktemp("stratus"), records)}
    return fired


def meant_for(technique: str) -> set[str]:
    """Detections meant for a technique: their header's `stratus` list, or the corpus's catalogue
    expectation (the catalogue files predate the header field)."""
    return {d.id for d in DETECTIONS.values() if technique in d.stratus} | set(STRATUS[technique]["expected"])


def test_catalogue_is_fully_implemented():
    assert CATALOGUE and set(DETECTIONS) >= CATALOGUE


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_stratus_detonation_fires_exactly_the_expected_ids(technique, stratus_fired):
    fired = stratus_fired[technique]
    assert fired & CATALOGUE == set(STRATUS[technique]["expected"])
    assert fired - CATALOGUE == NEW_EXPECTED.get(technique, set())


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_detections_fire_on_the_techniques_their_header_names(technique, stratus_fired):
    claimed = {d.id for d in DETECTIONS.values() if technique in d.stratus}
    assert claimed <= stratus_fired[technique]


def test_at_least_30_of_35_techniques_raise_a_finding_meant_for_them(stratus_fired):
    covered = sorted(t for t in TECHNIQUES if stratus_fired[t] & meant_for(t))
    missed = sorted(set(TECHNIQUES) - set(covered))
    assert len(TECHNIQUES) == 35
    assert len(covered) >= 30, f"not covered: {missed}"


def test_header_stratus_ids_are_corpus_techniques_or_known_without_log():
    from pipeline.detections.coverage import STRATUS_WITHOUT_LOG

    claimed = {t for d in DETECTIONS.values() for t in d.stratus}
    assert claimed <= set(TECHNIQUES) | STRATUS_WITHOUT_LOG
    assert set(STRATUS["_meta"]["aws_techniques_without_detonation_log"]) == STRATUS_WITHOUT_LOG


# Detections whose catalogue row counts failed calls ("successful or failed"). The corpus's
# expected.json assumes only cloudtrail_tampering does; DETECTIONS.md, the contract, says
# guardduty_tampering does too (with its eventSource), so those failed samples must fire it.
ATTEMPTS_COUNT = {
    "cloudtrail_tampering": "cloudtrail.amazonaws.com",
    "guardduty_tampering": "guardduty.amazonaws.com",
}


def traildiscover_expected(entry: dict) -> set[str]:
    ids = set(entry["expected"])
    for detection_id in entry.get("expected_if_failed_calls_count") or []:
        if ATTEMPTS_COUNT.get(detection_id) == entry.get("eventSource"):
            ids.add(detection_id)
    return ids


# New detections that count attempts (failed calls) fire on these TrailDiscover samples, all of
# which are refused calls; every other new detection reports successful calls only.
TRAILDISCOVER_NEW = {
    "EC2/DeleteFlowLogs.json": {"network_logging_deleted"},
    "EC2/GetPasswordData.json": {"ec2_password_data_retrieved"},
    "Organizations/LeaveOrganization.json": {"organization_leave_attempt"},
}


def test_traildiscover_samples(tmp_path):
    expected = json.loads((CORPORA / "traildiscover" / "expected.json").read_text())
    records, owner = [], {}
    base = parse_iso("2026-01-01T00:00:00Z")
    for index, name in enumerate(sorted(k for k in expected if k != "_meta")):
        for record in json.loads((CORPORA / "traildiscover" / name).read_text()):
            # Two hours apart: each sample is judged alone, as bursts cannot form from single records.
            record = dict(
                record, eventTime=(base + timedelta(hours=2 * index)).strftime("%Y-%m-%dT%H:%M:%SZ")
            )
            records.append(record)
            owner[record["eventID"]] = name
    assert len(owner) == len(records), "eventIDs must be unique to attribute findings"
    fired: dict[str, set[str]] = {name: set() for name in owner.values()}
    for finding in replay(tmp_path, records):
        for event_id in finding.event_ids:
            fired[owner[event_id]].add(finding.detection_id)
    wrong = {
        name: (sorted(fired[name] & CATALOGUE), sorted(traildiscover_expected(expected[name])))
        for name in fired
        if fired[name] & CATALOGUE != traildiscover_expected(expected[name])
    }
    assert wrong == {}
    new = {name: sorted(ids - CATALOGUE) for name, ids in fired.items() if ids - CATALOGUE}
    assert new == {name: sorted(ids) for name, ids in TRAILDISCOVER_NEW.items()}


GD_FILES = (
    sorted(p for p in (CORPORA / "guardduty-events").rglob("*.json") if p.name != "index.json")
    if CORPORA.is_dir()
    else []
)


@pytest.mark.parametrize("path", GD_FILES, ids=[p.name for p in GD_FILES])
def test_guardduty_samples_fire_guardduty_finding_only(path, tmp_path):
    document = json.loads(path.read_text())
    finding = document["Findings"][0] if "Findings" in document else document
    severity = float(finding.get("severity", finding.get("Severity")))
    findings = replay(tmp_path, [], [path])
    assert {f.detection_id for f in findings} == {"guardduty_finding"}
    expected = "high" if severity >= 7 else "medium" if severity >= 4 else "low"
    assert [f.severity for f in findings] == [expected]
    assert findings[0].event_ids == [finding.get("id", finding.get("Id"))]
