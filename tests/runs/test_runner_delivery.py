"""Ticks deliver to Slack (local webhook) and Security Hub (moto): each finding once, bursts as updates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.config import Settings
from pipeline.detections.spec import load_detections
from pipeline.source.writer import write_cloudtrail
from pipeline.workflow import make_runner
from tests.helpers import s3_read

pytestmark = pytest.mark.aws

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
ROLE = "arn:aws:sts::111111111111:assumed-role/ci/session-1"


def denied(n: int, when: datetime) -> dict:
    return s3_read(f"d{n:02d}", when, {"type": "AssumedRole", "arn": ROLE, "accountId": "111111111111"},
                   errorCode="AccessDenied", eventType="AwsApiCall")


def test_each_finding_reaches_slack_and_security_hub_once(
    webhook,
    aws_client,
    moto_endpoint,
    monkeypatch,
    tmp_path,
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("TRAILGUARD_SLACK_WEBHOOK", webhook.url)
    hub = aws_client("securityhub")
    hub.enable_security_hub()
    source = tmp_path / "bucket"
    source.mkdir()
    settings = Settings().with_overrides(data_dir=str(tmp_path / "data"))
    settings.raw["detections"] = {d: {"enabled": d == "access_denied_burst"} for d in load_detections()}
    settings.raw["sinks"] = [{"type": "slack"}, {"type": "securityhub", "region": "us-east-1"}]
    # 20 denials by one session between 11:00 and 11:38, then 10 more at 11:50-11:59: one burst that grows.
    start = T0 - timedelta(hours=1)
    records = [denied(i, start + timedelta(minutes=2 * i)) for i in range(20)]
    records += [denied(20 + i, start + timedelta(minutes=50 + i)) for i in range(10)]
    now = T0 - timedelta(minutes=30)
    written: set[str] = set()
    for _ in range(8):
        cutoff = (now - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        fresh = [r for r in records if r["eventTime"] <= cutoff and r["eventID"] not in written]
        write_cloudtrail(source, fresh)  # files land about ten minutes after their events
        written.update(r["eventID"] for r in fresh)
        runner = make_runner(settings, str(source), tmp_path / "out.jsonl", str(tmp_path / "state"))
        report = runner.tick(now)
        assert not report.errors, [t.error for t in report.errors]
        now += timedelta(minutes=15)
    deliveries = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len({d["finding_id"] for d in deliveries}) == 1
    assert [d["is_update"] for d in deliveries][0] is False
    assert sorted(deliveries[-1]["event_ids"]) == [f"d{n:02d}" for n in range(30)]
    assert len(webhook.requests) == len(deliveries)  # one Slack message per delivery, none repeated
    assert len(deliveries) >= 2 and deliveries[-1]["is_update"]  # the burst grew after it was first sent
    assert "pdated" in json.dumps(webhook.requests[-1]["body"])
    stored = hub.get_findings()["Findings"]
    assert len(stored) == 1 and stored[0]["Id"] == deliveries[0]["finding_id"]
    assert stored[0]["ProductFields"]["trailguard/event_count"] == "30"
