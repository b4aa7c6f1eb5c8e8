"""When the hot path cannot answer, the tick falls back: after a configuration change (the old
batches lack rows the new plan needs), or when GuardDuty's mirror fails (its detection alone)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

from pipeline.config import Settings
from pipeline.detections.spec import load_detections
from pipeline.lake.guardduty_mirror import GuardDutyMirror
from pipeline.lake.hot import Storage
from pipeline.runs.hot_path import HotPath
from pipeline.source.writer import write_cloudtrail, write_guardduty
from pipeline.workflow import make_runner

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def call(n: int, when: datetime, name: str) -> dict:
    return {
        "eventVersion": "1.09",
        "eventID": f"e{n:02d}",
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventName": name,
        "eventSource": "iam.amazonaws.com",
        "awsRegion": "us-east-1",
        "recipientAccountId": "111111111111",
        "eventType": "AwsApiCall",
        "userIdentity": {
            "type": "IAMUser",
            "arn": "arn:aws:iam::111111111111:user/admin",
            "accountId": "111111111111",
        },
    }


def settings_with(tmp_path, enabled: set[str]) -> Settings:
    settings = Settings().with_overrides(data_dir=str(tmp_path / "data"))
    settings.raw["detections"] = {d: {"enabled": d in enabled} for d in load_detections()}
    settings.raw["schedule"]["hot_tier"] = True
    settings.raw["integrity"]["validate"] = False
    return settings


def delivered(tmp_path) -> set[tuple[str, tuple[str, ...]]]:
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    return {(f["detection_id"], tuple(f["event_ids"])) for f in lines}


def test_a_new_detection_reads_the_day_partitions_until_the_tier_holds_its_rows(tmp_path):
    source = tmp_path / "bucket"
    write_cloudtrail(
        source,
        [
            call(1, T0 - timedelta(minutes=40), "CreateUser"),
            call(2, T0 - timedelta(minutes=35), "CreateAccessKey"),
        ],
    )
    runner = make_runner(settings_with(tmp_path, {"iam_user_created"}), str(source), tmp_path / "out.jsonl")
    report = runner.tick(T0)
    assert not report.errors and report.hot is not None and report.hot.objects == 2
    assert runner.hot.active == {"iam_user_created"} and not runner.hot.fallback
    assert delivered(tmp_path) == {("iam_user_created", ("e01",))}
    first = runner.hot.plan(runner.enabled()).fingerprint
    later = settings_with(tmp_path, {"iam_user_created", "iam_access_key_created"})
    runner = make_runner(later, str(source), tmp_path / "out.jsonl")
    report = runner.tick(T0 + timedelta(minutes=15))
    assert not report.errors, [t.error for t in report.errors]
    # The tier answers only if the batches the windows reach were kept under the same row plan. Actor
    # resolution (fragments/actor_records.sql) reads every column of every record today, so enabling a
    # detection may leave the plan as it was: then the tier holds the row and answers.
    changed = runner.hot.plan(runner.enabled()).fingerprint != first
    assert runner.hot.fallback == changed
    assert runner.hot.active == (set() if changed else {"iam_user_created", "iam_access_key_created"})
    assert delivered(tmp_path) == {("iam_user_created", ("e01",)), ("iam_access_key_created", ("e02",))}


def test_batches_kept_under_another_plan_are_not_read(tmp_path, monkeypatch):
    """Whatever the detections' SQL: a batch written under another plan sends the tick the old way."""
    source = tmp_path / "bucket"
    write_cloudtrail(source, [call(1, T0 - timedelta(minutes=40), "CreateUser")])
    settings = settings_with(tmp_path, {"iam_user_created", "iam_access_key_created"})
    runner = make_runner(settings, str(source), tmp_path / "out.jsonl")
    assert not runner.tick(T0).errors and runner.hot.active and not runner.hot.fallback
    write_cloudtrail(source, [call(2, T0 - timedelta(minutes=10), "CreateAccessKey")])
    real_plan = HotPath.plan
    monkeypatch.setattr(  # the configuration changed: the plan (and its fingerprint) with it
        HotPath, "plan", lambda self, d: dataclasses.replace(real_plan(self, d), fingerprint="another plan")
    )
    runner = make_runner(settings, str(source), tmp_path / "out.jsonl")
    report = runner.tick(T0 + timedelta(minutes=15))
    assert not report.errors, [t.error for t in report.errors]
    assert runner.hot.fallback and runner.hot.active == set()
    assert delivered(tmp_path) == {("iam_user_created", ("e01",)), ("iam_access_key_created", ("e02",))}


def finding(n: int, when: datetime) -> dict:
    return {
        "id": f"g{n:02d}", "type": "Recon:IAMUser/MaliciousIPCaller", "accountId": "111111111111",
        "region": "us-east-1", "severity": 5.0, "createdAt": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updatedAt": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resource": {"resourceType": "AccessKey", "accessKeyDetails": {"userName": "admin"}},
        "service": {"action": {"actionType": "AWS_API_CALL"}},
    }


def guardduty_runner(tmp_path, source):  # noqa: ANN001, ANN201
    """The embedded engine's runner with GuardDuty through a mirror (as on Athena) of a folder source."""
    settings = settings_with(tmp_path, {"iam_user_created", "guardduty_finding"})
    runner = make_runner(settings, str(source), tmp_path / "out.jsonl")
    runner.hot.mirror = GuardDutyMirror(Storage(str(source)), tmp_path / "data" / "mirror")
    return runner


def test_guardduty_through_the_mirror_finds_what_its_own_query_finds(tmp_path):
    source = tmp_path / "bucket"
    write_cloudtrail(source, [call(1, T0 - timedelta(minutes=40), "CreateUser")])
    write_guardduty(source, [finding(1, T0 - timedelta(minutes=50))])
    write_guardduty(source, [finding(2, T0 - timedelta(minutes=30))])  # a second export object
    runner = guardduty_runner(tmp_path, source)
    report = runner.tick(T0)
    assert not report.errors and not report.hot_error
    assert runner.hot.guardduty_active == {"guardduty_finding"} and runner.hot.guardduty_sync.objects == 2
    through_mirror = delivered(tmp_path)
    assert through_mirror == {("iam_user_created", ("e01",)), ("guardduty_finding", ("g01",)),
                              ("guardduty_finding", ("g02",))}
    # the old way (its own query over the day partitions) over a fresh state: the same findings
    old = settings_with(tmp_path / "old", {"iam_user_created", "guardduty_finding"})
    old.raw["schedule"]["hot_tier"] = False
    assert not make_runner(old, str(source), tmp_path / "old" / "out.jsonl").tick(T0).errors
    assert delivered(tmp_path / "old") == through_mirror


def test_a_failing_guardduty_mirror_sends_its_detection_the_old_way_and_says_so(tmp_path, monkeypatch):
    source = tmp_path / "bucket"
    write_cloudtrail(source, [call(1, T0 - timedelta(minutes=40), "CreateUser")])
    write_guardduty(source, [finding(1, T0 - timedelta(minutes=50))])
    runner = guardduty_runner(tmp_path, source)

    def broken(self, days):  # noqa: ANN001, ANN202
        raise OSError("the bucket said no")

    monkeypatch.setattr(GuardDutyMirror, "sync", broken)
    report = runner.tick(T0)
    assert not report.errors, [t.error for t in report.errors]
    assert "GuardDuty" in report.hot_error and "the bucket said no" in report.hot_error
    assert runner.hot.guardduty_active == set() and runner.hot.active == {"iam_user_created"}
    assert delivered(tmp_path) == {("iam_user_created", ("e01",)), ("guardduty_finding", ("g01",))}


def test_the_mirrored_days_are_those_the_day_predicate_names():
    from pipeline.runs.hot_path import _days_named

    sql = ("SELECT id FROM guardduty WHERE (day IN ('2026/01/15', '2026/01/16') AND updatedat >= "
           "'2026-01-15T10:00:00') AND NOT (COALESCE(title IN ('2020/01/01'), FALSE))")
    assert _days_named(sql) == ["2026/01/15", "2026/01/16"]  # a day-like suppression value is not a day
    assert _days_named("WHERE (g.day BETWEEN '2026/01/01' AND '2026/03/05')") == ["2026/01/01", "2026/03/05"]
