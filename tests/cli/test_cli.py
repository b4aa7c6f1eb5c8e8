"""The command line: one-line errors with exit code 2, and the detect contract."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.demo.manifest import DemoManifest
from pipeline.source.writer import write_cloudtrail

RUNNER = CliRunner()
ROOT_LOGIN = {
    "eventVersion": "1.09",
    "eventID": "root-1",
    "eventTime": "2026-01-15T10:00:00Z",
    "eventName": "ConsoleLogin",
    "eventSource": "signin.amazonaws.com",
    "awsRegion": "us-east-1",
    "recipientAccountId": "111111111111",
    "eventType": "AwsConsoleSignIn",
    "sourceIPAddress": "198.51.100.1",
    "responseElements": {"ConsoleLogin": "Success"},
    "additionalEventData": {"MFAUsed": "No"},
    "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111111111111:root", "accountId": "111111111111"},
}
CONTRACT = (
    "detection_id",
    "severity",
    "title",
    "event_ids",
    "account_id",
    "region",
    "principal",
    "first_seen",
    "last_seen",
    "finding_id",
)


@pytest.fixture
def source(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_cloudtrail(tmp_path / "bucket", [ROOT_LOGIN])
    return tmp_path / "bucket"


def invoke(*args: str):
    return RUNNER.invoke(app, list(args))


def test_detect_writes_the_finding_contract(source, tmp_path):
    out = tmp_path / "out" / "findings.jsonl"
    result = invoke(
        "detect",
        "--source",
        str(source),
        "--start",
        "2026-01-15T00:00:00Z",
        "--end",
        "2026-01-16",
        "--output",
        str(out),
    )
    assert result.exit_code == 0, result.output
    findings = [json.loads(line) for line in out.read_text().splitlines()]
    by_id = {f["detection_id"]: f for f in findings}
    assert {"root_account_usage", "console_login_without_mfa"} <= set(by_id)
    root = by_id["root_account_usage"]
    for key in CONTRACT:
        assert key in root
    assert root["severity"] == "high" and root["event_ids"] == ["root-1"]
    assert root["account_id"] == "111111111111" and root["region"] == "us-east-1"
    assert root["first_seen"] == root["last_seen"] == "2026-01-15T10:00:00Z"


def test_detect_outside_the_window_finds_nothing(source, tmp_path):
    out = tmp_path / "f.jsonl"
    result = invoke(
        "detect",
        "--source",
        str(source),
        "--start",
        "2026-01-16",
        "--end",
        "2026-01-17",
        "--output",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert out.read_text() == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "yesterday", "--end", "2026-01-16"], "--since 'yesterday' is not an ISO 8601 time"),
        (["--start", "2026-01-16", "--end", "2026-01-15"], "is not before --until"),
        (["--start", "2026-01-15", "--end", "2026-01-16", "-d", "no_such_detection"], "unknown detection id"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(source, tmp_path, args, message):
    result = invoke("detect", "--source", str(source), "--output", str(tmp_path / "o.jsonl"), *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_source_and_bad_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(
        "detect",
        "--source",
        str(tmp_path / "nope"),
        "--start",
        "2026-01-15",
        "--end",
        "2026-01-16",
        "--output",
        "o.jsonl",
    )
    assert result.exit_code == 2 and "no such folder" in result.output
    (tmp_path / "bad.toml").write_text("engine = 3 = 4")
    result = invoke("query", "SELECT 1", "--config", str(tmp_path / "bad.toml"))
    assert result.exit_code == 2 and "bad.toml: not valid TOML" in result.output
    result = invoke(
        "detect", "--source", "s3://x", "--start", "2026-01-15", "--end", "2026-01-16", "--output", "o"
    )
    assert result.exit_code == 2 and "bucket name 'x' is not valid" in result.output
    result = invoke("detect", "--no-such-option")  # typer's own usage error
    assert result.exit_code == 2


def test_catalog_ddl_uses_configured_accounts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "trailguard.toml").write_text(
        'source = "s3://trail-bucket/org"\norg_id = "o-abcdefghij"\n'
        '[catalog]\naccounts = ["123456789012"]\nregions = ["eu-west-1"]\n'
    )
    result = invoke("catalog", "ddl", "--table", "cloudtrail")
    assert result.exit_code == 0, result.output
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS `trailguard`.`cloudtrail`" in result.output
    assert "'projection.account.values'='123456789012'" in result.output
    assert (
        "s3://trail-bucket/org/AWSLogs/o-abcdefghij/${account}/CloudTrail/${region}/${day}" in result.output
    )
    (tmp_path / "trailguard.toml").write_text('[catalog]\nregions = ["eu-west-1"]\n')
    result = invoke("catalog", "ddl")
    assert result.exit_code == 2 and "no accounts configured" in result.output


def test_lint_and_detections_listing():
    result = invoke("lint")
    assert result.exit_code == 0, result.output
    result = invoke("detections")
    assert result.exit_code == 0 and "root_account_usage" in result.output


def test_query_prints_a_table_and_json(source, tmp_path):
    invoke("ingest", "--source", str(source))
    result = invoke(
        "query", "SELECT eventname, count(*) AS n FROM cloudtrail GROUP BY 1", "--source", str(source)
    )
    assert result.exit_code == 0, result.output
    assert "ConsoleLogin" in result.output and "1 row(s)" in result.output
    result = invoke("query", "SELECT eventid FROM cloudtrail", "--source", str(source), "--json")
    assert json.loads(result.stdout.splitlines()[0]) == {"eventid": "root-1"}
    result = invoke("query", "SELECT nope FROM cloudtrail", "--source", str(source))
    assert result.exit_code == 1 and "query failed" in result.output


@pytest.mark.slow  # generates a demo through the CLI, then detects, validates and reports
def test_demo_then_validate_logs_report_and_cost_with_no_arguments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("demo", "--events", "5000", "--days", "2")  # into ./demo, the default source
    assert result.exit_code == 0, result.output
    fired = int(re.search(r"findings from (\d+) detections", result.output).group(1))
    covered = DemoManifest.load(tmp_path / "demo" / "manifest.json").covered()
    assert fired >= len(covered) >= 16
    assert (tmp_path / "demo" / "findings.jsonl").stat().st_size > 0
    assert (tmp_path / "demo.public-keys.json").is_file()  # beside the folder, out of the bucket's reach
    assert not (tmp_path / "demo" / "demo-public-keys.json").exists()
    assert "findings stored in" in result.output
    result = invoke(
        # to the demo's end: an hour past it has no digests, reported missing as the AWS CLI does
        "validate-logs", "--source", "demo", "--start", "2026-11-01", "--end", "2026-11-03",
        "--public-keys", "demo.public-keys.json",  # trusted keys are named, never found in the source
    )
    assert result.exit_code == 0, result.output
    assert "all valid" in result.output
    result = invoke("report", "weekly")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "reports" / "weekly-2026-W45.md").is_file()
    result = invoke("cost")
    assert result.exit_code == 0, result.output
    assert list((tmp_path / ".trailguard").rglob("cost-2026-11.csv"))
