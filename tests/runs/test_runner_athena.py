"""Scheduled runs on Athena: the scan budget refuses a query before it runs; under budget it runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pipeline.config import Settings
from pipeline.detections.spec import load_detections
from pipeline.workflow import make_runner
from tests.helpers import FINDING_COLUMNS, RESULTS_BUCKET, athena_result

pytestmark = pytest.mark.aws

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
COLUMNS = FINDING_COLUMNS


def settings_for(tmp_path, max_scan: str) -> Settings:
    settings = Settings().with_overrides(
        engine="athena", source="s3://org-trail/logs", org_id="o-abcdefghij", data_dir=str(tmp_path / "data")
    )
    settings.raw["catalog"].update(accounts=["111111111111"], regions=["us-east-1"])
    settings.raw["athena"].update(
        output_location=f"s3://{RESULTS_BUCKET}/q/", region="us-east-1", poll_interval=0.01, max_scan=max_scan
    )
    settings.raw["detections"] = {d: {"enabled": d == "root_account_usage"} for d in load_detections()}
    settings.raw["schedule"]["first_run_lookback_minutes"] = 15
    return settings


def prepare_bucket(aws_client, moto_endpoint, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    s3 = aws_client("s3")
    for bucket in ("org-trail", RESULTS_BUCKET):
        s3.create_bucket(Bucket=bucket)
    for day in ("15", "16"):
        key = f"logs/AWSLogs/o-abcdefghij/111111111111/CloudTrail/us-east-1/2026/01/{day}/f.json.gz"
        s3.put_object(Bucket="org-trail", Key=key, Body=b"x" * 3_000_000)


def test_over_budget_is_refused_before_running(aws_client, moto_endpoint, monkeypatch, tmp_path):
    prepare_bucket(aws_client, moto_endpoint, monkeypatch)
    runner = make_runner(settings_for(tmp_path, "5MB"), "s3://org-trail/logs", tmp_path / "out.jsonl")
    report = runner.tick(NOW)
    (tick,) = report.errors
    assert "root_account_usage not run" in tick.error and "exceeds its budget of" in tick.error
    assert aws_client("athena").list_query_executions()["QueryExecutionIds"] == []


def test_under_budget_runs_and_delivers(aws_client, moto_endpoint, can_athena_results, monkeypatch, tmp_path):
    prepare_bucket(aws_client, moto_endpoint, monkeypatch)
    can_athena_results(
        athena_result(
            COLUMNS,
            [
                [
                    "r1",
                    "2026-01-15T11:40:00Z",
                    "111111111111",
                    "us-east-1",
                    "arn:aws:iam::111111111111:root",
                    "198.51.100.1",
                ]
            ],
        )
    )
    runner = make_runner(settings_for(tmp_path, "1GB"), "s3://org-trail/logs", tmp_path / "out.jsonl")
    report = runner.tick(NOW)
    assert not report.errors, [t.error for t in report.errors]
    (line,) = (tmp_path / "out.jsonl").read_text().splitlines()
    assert json.loads(line)["event_ids"] == ["r1"]
    runs = runner.store.runs()
    assert list(runs["engine"]) == ["athena"] and runs["query_id"].notna().all()
    # the guard's estimate is recorded beside what Athena billed: both day objects (3 MB each), whole
    assert runs["estimated_bytes"].tolist() == [6_000_000]


def test_lambda_handler_runs_a_tick_at_the_scheduled_time(
    aws_client, moto_endpoint, can_athena_results, monkeypatch, tmp_path
):
    from pipeline.lambda_handler import handler

    prepare_bucket(aws_client, moto_endpoint, monkeypatch)
    aws_client("s3").create_bucket(Bucket="trailguard-state")
    can_athena_results(athena_result(COLUMNS, []))
    config = tmp_path / "trailguard.toml"
    config.write_text(
        'engine = "athena"\nsource = "s3://org-trail/logs"\norg_id = "o-abcdefghij"\n'
        'state = "s3://trailguard-state/tg"\nfindings_store = "s3://trailguard-state/tg"\n'
        '[catalog]\naccounts = ["111111111111"]\nregions = ["us-east-1"]\n'
        f'[athena]\noutput_location = "s3://{RESULTS_BUCKET}/q/"\nregion = "us-east-1"\n'
        "poll_interval = 0.01\n[schedule]\nfirst_run_lookback_minutes = 15\n"
        "[detections.root_account_usage]\nenabled = true\n"
    )
    monkeypatch.setenv("TRAILGUARD_CONFIG", str(config))
    for detection_id in load_detections():
        if detection_id != "root_account_usage":
            monkeypatch.setenv(f"TRAILGUARD_DETECTIONS_{detection_id.upper()}_ENABLED", "false")
    summary = handler({"time": "2026-01-15T12:00:00Z", "detail-type": "Scheduled Event"})
    assert summary["now"] == "2026-01-15T12:00:00Z"
    assert [t["detection_id"] for t in summary["ran"]] == ["root_account_usage"]
    keys = [o["Key"] for o in aws_client("s3").list_objects_v2(Bucket="trailguard-state")["Contents"]]
    assert any(k.startswith("tg/state/root_account_usage") for k in keys)
    assert any("/runs/" in k for k in keys)
