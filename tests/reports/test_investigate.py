"""Investigation pivots and tuning, checked against the raw records and the detect run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipeline import (
    around_finding,
    investigate_actor,
    investigate_principal,
    pivot,
    suppression_impact,
    timeline,
)
from pipeline.config import ConfigError
from pipeline.reports.trends import load_findings
from pipeline.reports.tuning import hit_rates
from tests.helpers import ORG_END, ORG_START, in_window


def _busiest_user(raw_records) -> str:
    users = Counter(
        r["userIdentity"].get("arn")
        for r in raw_records
        if r.get("userIdentity", {}).get("type") == "IAMUser"
    )
    return users.most_common(1)[0][0]


def test_timeline_and_pivots_hold_every_record_of_the_principal(demo_engine, raw_records):
    principal = _busiest_user(raw_records)
    mine = [
        r
        for r in raw_records
        if r["userIdentity"].get("arn") == principal and in_window(r["eventTime"], ORG_START, ORG_END)
    ]
    events = timeline(demo_engine, "principal", principal, ORG_START, ORG_END)
    assert sorted(events["event_id"]) == sorted(r["eventID"] for r in mine)
    assert events["event_time"].is_monotonic_increasing and events["event_time"].dt.tz is not None
    by_ip = pivot(demo_engine, "principal", principal, "source_ip", ORG_START, ORG_END)
    assert by_ip.set_index("source_ip")["events"].to_dict() == dict(
        Counter(r["sourceIPAddress"] for r in mine)
    )
    case = investigate_principal(demo_engine, principal, ORG_START, ORG_END)
    assert set(case) == {"timeline", "source_ips", "access_keys", "apis", "guardduty"}
    assert int(case["apis"]["events"].sum()) == len(mine)


def test_an_actor_gathers_every_session_and_credential_of_the_person(demo_engine, demo_detected):
    # The person behind the most findings: reported under Identity Center sessions (one ARN per
    # permission set and account), investigated as one actor.
    people = Counter(f.actor for f in demo_detected.outcome.findings if f.actor_type == "human" and f.actor)
    person = people.most_common(1)[0][0]
    case = investigate_actor(demo_engine, person, ORG_START, ORG_END)
    assert set(case) == {"timeline", "principals", "source_ips", "access_keys", "apis", "guardduty"}
    events = case["timeline"]
    assert len(events) and set(events["actor"]) == {person}
    assert int(case["apis"]["events"].sum()) == int(case["principals"]["events"].sum()) == len(events)
    assert set(case["principals"]["principal"]) == set(events["principal"].dropna())
    finding = next(f for f in demo_detected.outcome.findings if f.actor == person)
    around = around_finding(demo_engine, finding.to_dict())
    assert "principals" in around and set(around["timeline"]["actor"]) == {person}
    legacy = {**finding.to_dict(), "actor": None}  # stored before actors were resolved: its principal
    assert "principals" not in around_finding(demo_engine, legacy)


def test_a_role_arn_gathers_every_session_of_the_role(demo_engine, raw_records):
    roles = Counter(
        r["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"]
        for r in raw_records
        if r["userIdentity"].get("type") == "AssumedRole" and in_window(r["eventTime"], ORG_START, ORG_END)
    )
    role, count = roles.most_common(1)[0]
    case = investigate_principal(demo_engine, role, ORG_START, ORG_END)
    assert len(case["timeline"]) == min(count, 10_000)


def test_pivot_values_are_literals_and_fields_come_from_a_closed_list(demo_engine):
    hostile = "x' OR '1'='1"
    assert timeline(demo_engine, "source_ip", hostile, ORG_START, ORG_END).empty
    with pytest.raises(ValueError, match="pivot field"):
        timeline(demo_engine, "eventname; DROP TABLE x", "y", ORG_START, ORG_END)


def test_related_guardduty_findings_name_the_principal(demo_engine, demo_detected):
    gd = [f for f in demo_detected.outcome.findings if f.detection_id == "guardduty_finding"]
    named = next(f for f in gd if f.principal and not f.principal.startswith("i-"))
    from pipeline import related_guardduty

    related = related_guardduty(demo_engine, ORG_START, ORG_END, user_names=[named.principal])
    assert named.event_ids[0] in set(related["finding_id"])


def test_suppression_impact_removes_exactly_the_matching_findings(demo_engine, demo_detected):
    findings = load_findings(demo_detected.settings)
    rates = hit_rates(findings, 14)
    assert rates["findings"].sum() == len(findings) and rates["share"].sum() == pytest.approx(1.0)
    on_arns = findings[findings["principal"].fillna("").str.startswith("arn:")]
    detection = on_arns["detection_id"].astype(str).value_counts().index[0]
    mine = findings[findings["detection_id"] == detection]
    principal = mine["principal"].value_counts().index[0]
    rule = {"principals": [principal], "reason": "test", "expires": "2099-01-01"}
    impact = suppression_impact(demo_detected.settings, demo_engine, detection, rule, ORG_START, ORG_END)
    assert len(impact["before"]) == len(mine)
    assert set(impact["removed"]["principal"]) == {principal}
    assert len(impact["removed"]) + len(impact["after"]) == len(impact["before"])
    assert len(impact["removed"]) == int((mine["principal"] == principal).sum())
    with pytest.raises(ConfigError, match="reason"):
        suppression_impact(demo_detected.settings, demo_engine, detection, {"principals": ["x"]},
                           ORG_START, ORG_END)
    with pytest.raises(ConfigError, match="do not apply to guardduty_finding"):
        suppression_impact(demo_detected.settings, demo_engine, "guardduty_finding", rule, ORG_START, ORG_END)


def test_a_suppression_that_hides_high_findings_says_so(demo_engine, demo_detected):
    """Issue 17 item 14: notebook 03's account-wide GuardDuty suggestion hid high findings silently."""
    findings = load_findings(demo_detected.settings)
    guardduty = findings[findings["detection_id"] == "guardduty_finding"]
    high = guardduty[guardduty["severity"].isin(["high", "critical"])]
    account = str(high["account_id"].value_counts().index[0])
    rule = {"accounts": [account], "reason": "test", "expires": "2099-01-01"}
    impact = suppression_impact(demo_detected.settings, demo_engine, "guardduty_finding", rule,
                                ORG_START, ORG_END)
    assert len(impact["removed_high"]) == int((high["account_id"] == account).sum()) > 0
    assert set(impact["removed_high"]["severity"]) <= {"high", "critical"}
    code = (Path(__file__).resolve().parents[2] / "notebooks" / "03_tune_detection.ipynb").read_text()
    assert "removed_high" in code and "WARNING: this rule would also hide" in code
