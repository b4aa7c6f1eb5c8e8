"""`trailguard detect` end to end against AWS APIs on moto: an S3 source, and the Athena engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.source.writer import write_cloudtrail
from tests.helpers import FINDING_COLUMNS, RESULTS_BUCKET, athena_result

pytestmark = pytest.mark.aws

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
STOP_LOGGING = {
    "eventVersion": "1.10",
    "eventID": "stop-1",
    "eventTime": "2026-01-15T23:58:00Z",
    "eventName": "StopLogging",
    "eventSource": "cloudtrail.amazonaws.com",
    "awsRegion": "eu-west-1",
    "recipientAccountId": "222222222222",
    "eventType": "AwsApiCall",
    "requestParameters": {"name": "org-trail"},
    "sourceIPAddress": "203.0.113.9",
    "userIdentity": {
        "type": "IAMUser",
        "arn": "arn:aws:iam::222222222222:user/mallory",
        "accountId": "222222222222",
        "userName": "mallory",
    },
}


def detect_cli(out: Path, *extra: str):
    """`trailguard detect` over the moto bucket for 2026-01-15."""
    args = [
        "--source",
        "s3://org-trail/logs",
        "--start",
        "2026-01-15",
        "--end",
        "2026-01-16",
        "--output",
        str(out),
    ]
    return CliRunner().invoke(app, ["detect", *args, *extra])


def findings(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_detect_reads_an_s3_source(aws_client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="org-trail")
    local = tmp_path / "layout"
    for path in write_cloudtrail(local, [STOP_LOGGING], org_id="o-abc123"):
        s3.upload_file(str(path), "org-trail", "logs/" + path.relative_to(local).as_posix())
    out = tmp_path / "findings.jsonl"
    result = detect_cli(out)
    assert result.exit_code == 0, result.output
    got = findings(out)
    assert [(f["detection_id"], f["event_ids"], f["account_id"]) for f in got] == [
        ("cloudtrail_tampering", ["stop-1"], "222222222222")
    ]
    # The record sits in the next day's folder (delivery time); only the window's days were synced.
    synced = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / ".trailguard").rglob("*.json.gz"))
    assert len(synced) == 1 and "/2026/01/16/" in synced[0]


def test_detect_on_athena(aws_client, can_athena_results, moto_endpoint, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL_ATHENA", moto_endpoint)
    aws_client("s3").create_bucket(Bucket=RESULTS_BUCKET)
    monkeypatch.setenv("TRAILGUARD_ENGINE", "athena")
    monkeypatch.setenv("TRAILGUARD_ATHENA_OUTPUT_LOCATION", f"s3://{RESULTS_BUCKET}/q/")
    monkeypatch.setenv("TRAILGUARD_ATHENA_REGION", "us-east-1")
    monkeypatch.setenv("TRAILGUARD_ATHENA_POLL_INTERVAL", "0.01")
    columns = FINDING_COLUMNS
    can_athena_results(
        athena_result(
            columns,
            [
                [
                    "root-1",
                    "2026-01-15T10:00:00Z",
                    "111111111111",
                    "us-east-1",
                    "arn:aws:iam::111111111111:root",
                    "198.51.100.1",
                ]
            ],
        )
    )
    out = tmp_path / "findings.jsonl"
    result = detect_cli(out, "-d", "root_account_usage")
    assert result.exit_code == 0, result.output
    (finding,) = findings(out)
    assert finding["detection_id"] == "root_account_usage" and finding["event_ids"] == ["root-1"]
    queries = aws_client("athena").list_query_executions()["QueryExecutionIds"]
    sql = aws_client("athena").get_query_execution(QueryExecutionId=queries[0])["QueryExecution"]["Query"]
    assert '"trailguard"."cloudtrail"' in sql and "day IN ('2026/01/15', '2026/01/16')" in sql
