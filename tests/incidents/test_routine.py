"""Routine findings: a detection that reports an actor day after day is its baseline and does not
pull the actor's other findings into one incident; high severity and GuardDuty never are."""

from __future__ import annotations

from pipeline.config import DEFAULTS
from pipeline.incidents.correlate import correlate
from pipeline.incidents.entities import FindingView
from pipeline.incidents.routine import noise_by_actor, routine_findings
from pipeline.incidents.rules import load_rules
from pipeline.incidents.score import ScoreWeights

RULES = load_rules()
WEIGHTS = ScoreWeights.from_config(DEFAULTS["incidents"])
ADMIN = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/aisha@example.com"


def finding(fid: str, when: str, detection: str = "ssm_remote_command", severity: str = "medium",
            **extra) -> dict:
    return {"finding_id": fid, "detection_id": detection, "severity": severity, "title": detection,
            "principal": ADMIN, "actor": "aisha@example.com", "source_ip": "86.1.2.3",
            "first_seen": when, **extra}


DAILY = [finding("ssm1", "2026-11-02T10:00:00Z"), finding("ssm2", "2026-11-03T10:00:00Z"),
         finding("ssm3", "2026-11-05T10:00:00Z"), finding("ssm4", "2026-11-05T10:10:00Z")]
CHANGE = finding("bucket", "2026-11-05T10:30:00Z", "s3_bucket_permissions_changed", event_ids=["e1"])


def groups(findings: list[dict], routine_days: int = 2) -> list[list[str]]:
    incidents = correlate(findings, RULES, WEIGHTS, routine_days=routine_days)
    return sorted(sorted(i.finding_ids) for i in incidents)


def test_a_detection_seen_on_two_earlier_days_is_routine_and_stays_apart():
    assert groups([*DAILY, CHANGE]) == [["bucket"], ["ssm1"], ["ssm2"], ["ssm3", "ssm4"]]
    [routine] = [i for i in correlate([*DAILY, CHANGE], RULES, WEIGHTS, routine_days=2)
                 if "ssm3" in i.finding_ids]
    assert routine.routine


def test_without_the_routine_rule_the_admins_change_joins_the_commands():
    assert ["bucket", "ssm3", "ssm4"] in groups([*DAILY, CHANGE], routine_days=0)


def test_only_earlier_days_count_so_later_findings_change_nothing():
    views = [FindingView.of(f) for f in DAILY]
    assert routine_findings(views, routine_days=2, first_seen_days=30) == {"ssm3", "ssm4"}
    assert routine_findings(views[:3], routine_days=2, first_seen_days=30) == {"ssm3"}
    assert routine_findings(views, routine_days=2, first_seen_days=2) == set()  # day 1 beyond the window
    assert routine_findings(views, routine_days=3, first_seen_days=30) == set()


def test_high_severity_and_guardduty_are_never_routine():
    high = [finding(f"t{d}", f"2026-11-0{d}T09:00:00Z", "cloudtrail_tampering", "high") for d in (2, 3, 5)]
    gd = [finding(f"g{d}", f"2026-11-0{d}T09:00:00Z", "guardduty_finding", "low") for d in (2, 3, 5)]
    views = [FindingView.of(f) for f in high + gd]
    assert routine_findings(views, routine_days=2, first_seen_days=30) == set()


def test_a_routine_finding_still_joins_a_finding_of_the_same_record():
    same_record = finding("made_public", "2026-11-05T10:00:00Z", "s3_bucket_made_public", "high",
                          event_ids=["e9"])
    routine = finding("perm", "2026-11-05T10:00:00Z", "s3_bucket_permissions_changed", event_ids=["e9"])
    earlier = [finding(f"p{d}", f"2026-11-0{d}T09:00:00Z", "s3_bucket_permissions_changed",
                       event_ids=[f"x{d}"]) for d in (2, 3)]
    assert ["made_public", "perm"] in groups([*earlier, routine, same_record])


def test_noise_by_actor_counts_routine_findings():
    views = [FindingView.of(f) for f in [*DAILY, CHANGE]]
    assert noise_by_actor(views, {"ssm3", "ssm4"}) == {"aisha@example.com": 2}
