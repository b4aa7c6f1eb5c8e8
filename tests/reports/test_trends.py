"""Trends against independent computations over the raw files and the detect run's findings."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pandas as pd

from pipeline.reports import trends
from pipeline.reports.investigate import timeline
from tests.helpers import ORG_END, ORG_START, guardduty_findings, in_window

WEEK2 = ORG_END - timedelta(days=7)


def test_event_volume_matches_a_count_of_the_raw_records(demo_engine, raw_records):
    volume = trends.event_volume(demo_engine, WEEK2, ORG_END)
    expected = Counter(
        (r["recipientAccountId"], r["eventSource"])
        for r in raw_records
        if in_window(r["eventTime"], WEEK2, ORG_END)
    )
    got = volume.groupby([volume["account_id"].astype(str), volume["event_source"].astype(str)])[
        "events"
    ].sum()
    assert {k: int(v) for k, v in got.items()} == dict(expected)
    assert str(volume["event_day"].dtype) == "datetime64[us, UTC]" or volume["event_day"].dt.tz is not None
    assert volume["events"].dtype == "int64" and volume["errors"].dtype == "int64"
    assert isinstance(volume["account_id"].dtype, pd.CategoricalDtype)


def test_first_seen_actors_have_no_record_in_the_baseline(demo_engine, raw_records):
    new = trends.first_seen(demo_engine, WEEK2, ORG_END, baseline_days=28)
    # Each record's actor as the investigation timeline resolves it (docs/actors.md), grouped here
    # in pandas: an unplaced role session counts as its role, as in queries/reports/first_seen.sql.
    accounts = {r["recipientAccountId"] for r in raw_records}
    records = pd.concat([timeline(demo_engine, "account", a, ORG_START, ORG_END, limit=100_000)
                         for a in accounts])
    key = records["actor"].where(records["actor_type"] != "unknown", records["role"].fillna(records["actor"]))
    first = records.assign(key=key).groupby("key")["event_time"].min()
    expected = set(first[first >= pd.Timestamp(WEEK2)].index)
    got = set(new[new["kind"] == "actor"]["value"])
    assert got == expected and expected, "the demo's week 2 has actors never seen in week 1"
    # A person is one actor whatever sessions they used: no Identity Center session ARN is an actor.
    assert not any(":assumed-role/AWSReservedSSO_" in v for v in new[new["kind"] == "actor"]["value"])
    ips_before = {r.get("sourceIPAddress") for r in raw_records
                  if in_window(r["eventTime"], ORG_START, WEEK2)}
    assert not set(new[new["kind"] == "source_ip"]["value"]) & ips_before
    assert new["first_time"].min() >= pd.Timestamp(WEEK2)


def test_guardduty_trends_count_each_finding_once_in_its_latest_version(demo_engine, demo_detected):
    latest: dict[tuple[str, str, str], dict] = {}
    for finding in guardduty_findings(demo_detected.demo):
        if not in_window(finding["updatedAt"], WEEK2, ORG_END):
            continue
        key = (finding["accountId"], finding["region"], finding["id"])
        if key not in latest or finding["updatedAt"] > latest[key]["updatedAt"]:
            latest[key] = finding
    real = [f for f in latest.values() if not f["service"].get("additionalInfo", {}).get("sample")]
    families = Counter(f["type"].split(":")[0] for f in real)
    frame = trends.guardduty_trends(demo_engine, WEEK2, ORG_END)
    assert int(frame["findings"].sum()) == len(real) > 0
    by_family = trends.guardduty_by_family(frame)
    assert by_family.sum(axis=1).to_dict() == dict(families)
    assert list(by_family.columns) == ["low", "medium", "high", "critical"]
    assert frame["severity"].cat.ordered


def test_week_over_week_and_daily_trend_agree_with_the_findings(demo_detected):
    findings = trends.load_findings(demo_detected.settings)
    assert findings["first_seen"].dt.tz is not None and findings["event_count"].dtype == "int64"
    assert findings["severity"].cat.ordered
    produced = demo_detected.outcome.findings
    assert set(findings["finding_id"]) == {f.finding_id for f in produced}

    def week_of(f) -> str | None:
        first = pd.Timestamp(f.first_seen)
        first = first.tz_localize("UTC") if first.tzinfo is None else first
        if pd.Timestamp(WEEK2) <= first < pd.Timestamp(ORG_END):
            return "this_week"
        if pd.Timestamp(ORG_START) <= first < pd.Timestamp(WEEK2):
            return "last_week"
        return None

    expected = Counter((f.severity, week_of(f)) for f in produced)
    table = trends.week_over_week(findings, WEEK2, "severity").set_index("severity")
    for severity in ("low", "medium", "high", "critical"):
        assert table.loc[severity, "this_week"] == expected[(severity, "this_week")]
        assert table.loc[severity, "last_week"] == expected[(severity, "last_week")]
        assert (
            table.loc[severity, "change"]
            == table.loc[severity, "this_week"] - table.loc[severity, "last_week"]
        )
    daily = trends.findings_trend(findings, "D", "severity")
    assert int(daily.to_numpy().sum()) == len(findings)
    weekly = trends.findings_trend(findings, "W", "detection_id")
    assert set(weekly.index) <= {
        pd.Timestamp(ORG_START),
        pd.Timestamp(WEEK2),
        pd.Timestamp(ORG_START - timedelta(days=7)),
    }


def test_top_principals_rank_by_findings(demo_detected):
    findings = trends.load_findings(demo_detected.settings)
    top = trends.top_principals(findings, 5)
    counts = findings["principal"].dropna().value_counts()
    assert top["findings"].tolist() == sorted(top["findings"].tolist(), reverse=True)
    assert top.iloc[0]["findings"] == counts.max()
    assert top["findings"].dtype == "int64"


def test_log_coverage_matches_the_files_per_account_and_region(demo_engine, demo_detected, raw_records):
    coverage = trends.log_coverage(demo_engine, WEEK2, ORG_END)
    assert int(coverage["events"].sum()) == sum(
        1 for r in raw_records if in_window(r["eventTime"], WEEK2, ORG_END)
    )
    assert coverage["last_event"].dt.tz is not None and coverage["active_hours"].dtype == "int64"


def test_first_seen_source_ips_leave_out_private_and_service_addresses(demo_engine):
    new = trends.first_seen(demo_engine, WEEK2, ORG_END, baseline_days=28)
    everything = trends.first_seen(demo_engine, WEEK2, ORG_END, baseline_days=28, public_only=False)
    ips = new[new["kind"] == "source_ip"]["value"]
    all_ips = everything[everything["kind"] == "source_ip"]["value"]
    left_out = set(all_ips) - set(ips)
    assert left_out and new.attrs["left_out"] == len(left_out) == len(all_ips) - len(ips)
    assert all(trends.is_public_address(ip) for ip in ips)
    assert not any(trends.is_public_address(ip) for ip in left_out)
    assert not trends.is_public_address("10.1.2.3") and not trends.is_public_address("ec2.amazonaws.com")
    assert trends.is_public_address("198.51.100.7") is False  # documentation range: not routable
    assert trends.is_public_address("81.102.126.184")
    actors = new[new["kind"] == "actor"]  # most accounts, then most records, first
    keys = list(zip(-actors["accounts"], -actors["events"], strict=True))
    assert keys == sorted(keys)


def test_the_tuning_table_counts_routine_findings_and_incidents_per_actor():
    from datetime import UTC, datetime

    from pipeline.config import DEFAULTS
    from pipeline.incidents.correlate import correlate
    from pipeline.incidents.rules import load_rules
    from pipeline.incidents.score import ScoreWeights

    def found(fid: str, day: int, who: str, detection: str = "ssm_remote_command") -> dict:
        return {"finding_id": fid, "detection_id": detection, "severity": "medium", "title": fid,
                "principal": f"arn:aws:iam::111122223333:user/{who}",
                "first_seen": f"2026-11-0{day}T10:00:00Z"}

    rows = [found(f"a{d}", d, "admin") for d in (2, 3, 4, 5)] + [found("b", 5, "dev", "iam_user_created")]
    incidents = correlate(rows, load_rules(), ScoreWeights.from_config(DEFAULTS["incidents"]), routine_days=2)
    actors = trends.top_actors(pd.DataFrame([{**r, "event_count": 1} for r in rows]))
    week = (datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 10, tzinfo=UTC))
    table = trends.with_noise(actors, incidents, *week).set_index("actor")
    admin, dev = "arn:aws:iam::111122223333:user/admin", "arn:aws:iam::111122223333:user/dev"
    assert table.loc[admin, "routine"] == 2  # days 4 and 5 (two earlier days each); day 2 is outside the week
    assert table.loc[admin, "incidents"] == 3 and table.loc[dev, "routine"] == 0


# Issue 17 item 10: the report's sensitive calls, restated here over the raw records
SENSITIVE_SOURCES = {"iam", "organizations", "sso", "identitystore", "cloudtrail", "guardduty", "config",
                     "securityhub"}
SENSITIVE_NAMES = {
    "ConsoleLogin", "GetFederationToken", "GetSecretValue", "GetPasswordData", "PutBucketPolicy",
    "PutBucketAcl", "DeleteBucketPolicy", "DeletePublicAccessBlock", "PutBucketPublicAccessBlock",
    "PutKeyPolicy",
    "ScheduleKeyDeletion", "DisableKey", "CreateGrant", "AuthorizeSecurityGroupIngress",
    "ModifySnapshotAttribute", "ModifyImageAttribute", "ModifyInstanceAttribute", "AddPermission",
    "UpdateFunctionCode", "SendCommand", "StartSession",
}


def _sensitive(record: dict) -> bool:
    name = re.sub(r"[0-9]{4}_?[0-9]{2}_?[0-9]{2}(v[0-9]+)?$", "", record.get("eventName") or "")
    write = str(record.get("readOnly")).lower() == "false"
    return name in SENSITIVE_NAMES or (write and record["eventSource"].split(".")[0] in SENSITIVE_SOURCES)


def test_first_seen_source_ips_rank_by_sensitive_calls(demo_engine, raw_records):
    new = trends.first_seen(demo_engine, WEEK2, ORG_END, baseline_days=28)
    ips = new[new["kind"] == "source_ip"]
    expected = Counter(r.get("sourceIPAddress") for r in raw_records
                       if in_window(r["eventTime"], WEEK2, ORG_END) and _sensitive(r))
    assert {ip: int(n) for ip, n in zip(ips["value"], ips["sensitive_calls"], strict=True)} == {
        ip: expected.get(ip, 0) for ip in ips["value"]}
    assert ips["sensitive_calls"].dtype == "int64" and (ips["sensitive_calls"] <= ips["events"]).all()
    keys = list(zip(-ips["sensitive_calls"], -ips["accounts"], -ips["events"], strict=True))
    assert keys == sorted(keys)
    assert ips["sensitive_calls"].iloc[0] > 0 and (ips["sensitive_calls"] == 0).any(), \
        "the demo's attack IPs made sensitive calls; other new IPs did not"
