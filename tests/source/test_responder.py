"""Responder input (plain exports, JSON lines, lookup-events output, lower-cased keys) read as records."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from pipeline.source.responder import read_file, scan

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
pytestmark = pytest.mark.skipif(not CORPORA.is_dir(), reason=f"shared corpora not found at {CORPORA}")


def stratus(technique: str) -> list[dict]:
    return json.loads((CORPORA / "stratus" / f"{technique}.json").read_text())


def lower_keys(value):
    """What some export tools do: every key lower-cased, free-form objects included."""
    if isinstance(value, dict):
        return {k.lower(): lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_keys(v) for v in value]
    return value


def test_every_export_shape_gives_the_same_records(tmp_path):
    records = stratus("aws.credential-access.ec2-get-password-data")[:6]
    (tmp_path / "console.json").write_text(json.dumps({"Records": records[:2]}))
    with gzip.open(tmp_path / "siem.jsonl.gz", "wt") as handle:
        handle.write("\n".join(json.dumps(r) for r in records[2:4]) + "\n")
    lookup = {"Events": [{"EventId": r["eventID"], "EventName": r["eventName"], "Username": "x",
                          "CloudTrailEvent": json.dumps(r)} for r in records[4:6]]}
    (tmp_path / "lookup-events.json").write_text(json.dumps(lookup))
    report = scan(tmp_path)
    assert report.not_read == {} and report.skipped == {}
    assert sorted(r["eventID"] for r in report.records) == sorted(r["eventID"] for r in records)
    by_id = {r["eventID"]: r for r in report.records}
    assert all(by_id[r["eventID"]] == r for r in records)


def test_lower_cased_keys_get_cloudtrail_spelling_back(tmp_path):
    record = stratus("aws.lateral-movement.ec2-serial-console-send-ssh-public-key")[0]
    path = tmp_path / "athena-export.json"
    path.write_text(json.dumps([lower_keys(record)]))
    [read] = read_file(path)
    assert read["eventName"] == record["eventName"] and read["eventTime"] == record["eventTime"]
    issuer = read["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"]
    assert issuer == record["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"]
    assert read["userIdentity"]["accessKeyId"] == record["userIdentity"]["accessKeyId"]
    assert read["recipientAccountId"] == record["recipientAccountId"]
    assert read["tlsDetails"]["clientProvidedHostHeader"] == record["tlsDetails"]["clientProvidedHostHeader"]


def test_every_file_is_read_skipped_with_a_reason_or_warned_about(tmp_path):
    record = stratus("aws.defense-evasion.cloudtrail-stop")[0]
    (tmp_path / "good.json").write_text(json.dumps({"Records": [record]}))
    digest = tmp_path / "AWSLogs" / "1" / "CloudTrail-Digest" / "us-east-1" / "d.json.gz"
    digest.parent.mkdir(parents=True)
    digest.write_bytes(gzip.compress(b"{}"))
    (tmp_path / "readme.txt").write_text("notes")
    (tmp_path / "other.json").write_text(json.dumps({"findings": []}))
    (tmp_path / "torn.jsonl").write_text(json.dumps(record) + "\n{\"eventName\": \n")
    report = scan(tmp_path)
    assert list(report.read) == [str(tmp_path / "good.json")]
    assert "digest" in report.skipped[str(digest)]
    assert set(report.not_read) == {str(tmp_path / n) for n in ("readme.txt", "other.json", "torn.jsonl")}
    assert "line 2" in report.not_read[str(tmp_path / "torn.jsonl")]
    assert len(report.warnings) == 3 and all("not read" in w for w in report.warnings)
