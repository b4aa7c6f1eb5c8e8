"""Suppressions: validated as data, applied in the SQL on both engines' dialect, and they expire."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.config import ConfigError, Settings
from pipeline.detections.examples import run_case
from pipeline.detections.spec import load_detections
from pipeline.detections.suppressions import load_suppressions, parse_rule

ROOT = {"type": "Root", "arn": "arn:aws:iam::111111111111:root", "accountId": "111111111111"}
CASE = {
    "name": "suppressed",
    "records": [
        {
            "eventID": "ci",
            "eventName": "ListBuckets",
            "eventSource": "s3.amazonaws.com",
            "userIdentity": ROOT,
            "userAgent": "Terraform/1.9 (+https://www.terraform.io)",
            "sourceIPAddress": "203.0.113.10",
        },
        {
            "eventID": "human",
            "eventName": "ListBuckets",
            "eventSource": "s3.amazonaws.com",
            "userIdentity": ROOT,
            "userAgent": "Mozilla/5.0",
            "sourceIPAddress": "203.0.113.10",
        },
        {
            "eventID": "other-account",
            "eventName": "ListBuckets",
            "eventSource": "s3.amazonaws.com",
            "recipientAccountId": "222222222222",
            "userAgent": "Terraform/1.9",
            "userIdentity": {**ROOT, "arn": "arn:aws:iam::222222222222:root", "accountId": "222222222222"},
        },
    ],
}


def run_with(rules, tmp_path):
    settings = Settings()
    settings.raw["suppressions"] = rules
    return run_case(load_detections()["root_account_usage"], CASE, tmp_path, settings)


def reported(result) -> set[str]:
    return {e for ids in result.reported for e in ids}


def test_rule_with_two_fields_needs_both(tmp_path):
    rules = [
        {
            "detection": "root_account_usage",
            "reason": "Terraform in the sandbox",
            "expires": "2099-12-31",
            "user_agents": ["Terraform/*"],
            "accounts": ["111111111111"],
        }
    ]
    assert reported(run_with(rules, tmp_path)) == {"human", "other-account"}


def test_expired_rule_no_longer_applies(tmp_path):
    rules = [
        {"detection": "*", "reason": "old exception", "expires": "2020-01-01", "user_agents": ["Terraform/*"]}
    ]
    assert reported(run_with(rules, tmp_path)) == {"ci", "human", "other-account"}


def test_rule_for_another_detection_does_not_apply(tmp_path):
    rules = [
        {
            "detection": "iam_user_created",
            "reason": "x",
            "expires": "2099-01-01",
            "source_ips": ["203.0.113.10"],
        }
    ]
    assert reported(run_with(rules, tmp_path)) == {"ci", "human", "other-account"}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"expires": "2099-01-01", "principals": ["a"]}, "a reason is required"),
        ({"reason": "r", "principals": ["a"]}, "expires: None is not a date"),
        ({"reason": "r", "expires": "soon", "principals": ["a"]}, "'soon' is not a date"),
        ({"reason": "r", "expires": "2099-01-01"}, "names nothing to match"),
        ({"reason": "r", "expires": "2099-01-01", "colour": ["x"]}, "unknown key(s) colour"),
        ({"reason": "r", "expires": "2099-01-01", "principals": []}, "non-empty"),
    ],
)
def test_bad_rules_name_rule_and_key(rule, message):
    with pytest.raises(ConfigError) as info:
        parse_rule(3, rule)
    assert "suppressions[3]" in str(info.value) and message in str(info.value)


def test_guardduty_rules_only_reach_guardduty_queries():
    rule = parse_rule(0, {"reason": "r", "expires": "2099-01-01", "finding_types": ["Recon:*"]})
    assert rule.columns("guardduty") == {"type": ("Recon:*",)}
    assert rule.columns("cloudtrail") is None


def test_listing_reports_activity(tmp_path):
    settings = Settings()
    settings.raw["suppressions"] = [{"reason": "r", "expires": "2026-02-01", "principals": ["a"]}]
    (rule,) = load_suppressions(settings)
    assert rule.active(date(2026, 2, 1)) and not rule.active(date(2026, 2, 2))
