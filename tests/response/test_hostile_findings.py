"""Automated response under hostile findings (issue 16, items 14 and 15).

No AWS call is needed to decide any case here: the clients given raise if touched, so a test that
passes proves the handler decided without acting.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import DEFAULTS, Settings
from pipeline.response.actions import Clients
from pipeline.response.handler import respond

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "guardduty-events"
SAMPLE = CORPUS / "aws-samples-automated-response" / "guardduty_ec2_event.json"


class Untouchable:
    """A boto3 client stand-in: any use is a test failure (the decision needs no AWS call)."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"AWS was called ({name}) where only a decision was expected")


def clients() -> Clients:
    return Clients(region="us-east-1", overrides={s: Untouchable() for s in ("ec2", "iam", "s3")})


def settings(tmp_path: Path, **response: Any) -> Settings:
    raw = copy.deepcopy(DEFAULTS)
    raw.update(data_dir=str(tmp_path), sinks=[], response={"dry_run": False, **response})
    return Settings(raw=raw)


def finding(kind: str = "Recon:EC2/PortProbeUnprotectedPort", role: str | None = "TARGET") -> dict:
    if not SAMPLE.is_file():
        pytest.fail(f"GuardDuty sample corpus not found at {SAMPLE}")
    event = json.loads(SAMPLE.read_text(encoding="utf-8"))
    event["type"] = kind
    event["resource"]["instanceDetails"]["instanceId"] = "i-0123456789abcdef0"
    if role is None:
        event["service"].pop("resourceRole", None)
    else:
        event["service"]["resourceRole"] = role
    return event


def decisions(event: Any, tmp_path: Path, **response: Any) -> list[dict]:
    result = respond(event, settings(tmp_path, **response), clients=clients(), environ={})
    audit = [json.loads(line) for line in (tmp_path / "response-audit.jsonl").read_text().splitlines()]
    assert len(audit) >= len(result["decisions"]) > 0  # every decision is in the audit log
    return [d for d in result["decisions"] if d["action"] not in ("notify", "configure")]


@pytest.mark.parametrize("kind, role", [
    ("Recon:EC2/PortProbeUnprotectedPort", "TARGET"),
    ("Recon:EC2/PortProbeEMRUnprotectedPort", "TARGET"),
    ("UnauthorizedAccess:EC2/SSHBruteForce", "TARGET"),
    ("UnauthorizedAccess:EC2/RDPBruteForce", "TARGET"),
    ("Recon:EC2/PortProbeUnprotectedPort", None),  # no role given: the type names a target
])
def test_a_target_is_never_quarantined(kind: str, role: str | None, tmp_path: Path) -> None:
    [decision] = decisions(finding(kind, role), tmp_path)
    assert (decision["action"], decision["outcome"]) == ("notify_only", "no_action")
    assert "target" in json.dumps(decision["detail"])


def test_an_actor_is_still_quarantined(tmp_path: Path) -> None:
    [decision] = decisions(finding("UnauthorizedAccess:EC2/SSHBruteForce", "ACTOR"), tmp_path)
    assert decision["action"] == "ec2_instance_response"  # it tried: the untouchable client said so
    assert decision["outcome"] == "error" and "AWS was called" in decision["error"]


@pytest.mark.parametrize("field, value", [
    ("instanceDetails", "i-0123456789abcdef0"), ("instanceDetails", ["i-0123456789abcdef0"]),
    ("accessKeyDetails", "AKIAEXAMPLE"), ("s3BucketDetails", "bucket"),
])
def test_malformed_details_end_in_an_audited_rejection(field: str, value: Any, tmp_path: Path) -> None:
    event = finding(role="ACTOR")
    event["resource"] = {"resourceType": {"instanceDetails": "Instance", "accessKeyDetails": "AccessKey",
                                          "s3BucketDetails": "S3Bucket"}[field], field: value}
    [decision] = decisions(event, tmp_path)
    assert decision["outcome"] == "rejected" and field in decision["error"]


def test_deep_nesting_ends_in_an_audited_rejection(tmp_path: Path) -> None:
    event: dict[str, Any] = {"Id": "x", "Type": "Backdoor:EC2/C&CActivity.B"}
    node = event
    for _ in range(5000):
        node["Nested"] = {}
        node = node["Nested"]
    [decision] = decisions(event, tmp_path)
    assert decision["outcome"] == "rejected"


def test_an_allow_listed_arn_holds_when_the_finding_has_no_region(tmp_path: Path) -> None:
    event = finding("Backdoor:EC2/C&CActivity.B", "ACTOR")
    event.pop("region", None)
    entry = f"arn:aws:ec2:us-east-1:{event['accountId']}:instance/i-0123456789abcdef0"
    [decision] = decisions(event, tmp_path, allow_list=[entry])
    assert decision["outcome"] == "skipped_allow_list" and decision["detail"]["allow_list_entry"] == entry


@pytest.mark.parametrize("region, partition", [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")])
def test_arns_use_the_partition_of_the_finding(region: str, partition: str, tmp_path: Path) -> None:
    event = finding("Backdoor:EC2/C&CActivity.B", "ACTOR")
    event["region"] = region
    event.pop("partition", None)
    entry = f"arn:{partition}:ec2:{region}:{event['accountId']}:instance/i-0123456789abcdef0"
    [decision] = decisions(event, tmp_path, allow_list=[entry])
    assert decision["outcome"] == "skipped_allow_list"
