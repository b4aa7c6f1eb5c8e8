"""Automated response against moto, using the real GuardDuty sample findings with their resource ids
(which exist nowhere) rewritten to resources each test creates in moto; the rest is left as it is."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import boto3
import pytest
from botocore.stub import Stubber

from pipeline.config import DEFAULTS, Settings
from pipeline.response import handler as handler_module
from pipeline.response.actions import BLOCK_ALL, QUARANTINE_TAG, Clients
from tests.response.builders import (
    REGION,
    ROOT,
    describe,
    detection,
    ec2_finding,
    key_finding,
    make_instance,
    sample,
)

pytestmark = pytest.mark.aws





def settings(tmp_path: Path, **response: Any) -> Settings:
    raw = copy.deepcopy(DEFAULTS)
    raw.update(data_dir=str(tmp_path), sinks=[{"type": "jsonl", "path": str(tmp_path / "notify.jsonl")}],
               response=response)
    return Settings(raw=raw)


@pytest.fixture
def clients(moto_endpoint: str) -> Clients:
    return Clients(region=REGION, endpoint_url=moto_endpoint)


def run(event: Any, tmp_path: Path, clients: Clients, **response: Any) -> dict[str, Any]:
    result = handler_module.respond(event, settings(tmp_path, **response), clients=clients, environ={})
    audit = [json.loads(line) for line in (tmp_path / "response-audit.jsonl").read_text().splitlines()]
    assert audit[-len(result["decisions"]):] == json.loads(json.dumps(result["decisions"], default=str))
    return result


def acted(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in result["decisions"] if d["action"] not in ("notify", "configure")]






def ec2_state(ec2: Any, instance_id: str) -> Any:
    instance = describe(ec2, instance_id)
    groups = sorted(g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"])
    return ({e["NetworkInterfaceId"]: e["Groups"] for e in instance["NetworkInterfaces"]},
            instance.get("Tags", []), groups)






def bucket_finding(s3: Any, bucket: str = "exposed-data") -> dict[str, Any]:
    s3.create_bucket(Bucket=bucket)
    finding = sample("s3")
    finding["resource"]["s3BucketDetails"][0]["name"] = bucket
    return finding


def public_access_block(s3: Any, bucket: str) -> dict[str, Any] | None:
    try:
        return s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except s3.exceptions.ClientError:
        return None


def test_ec2_quarantine_moves_every_eni_into_a_closed_group(tmp_path: Path, clients: Clients) -> None:
    instance, enis, vpc = make_instance(ec2 := clients.get("ec2"))
    assert len(enis) == 2
    [decision] = acted(run(ec2_finding(instance), tmp_path, clients, dry_run=False))
    assert decision["outcome"] == "done" and decision["resource"] == instance and decision["error"] is None
    group = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}, {
        "Name": "group-name", "Values": ["trailguard-quarantine"]}])["SecurityGroups"][0]
    assert group["IpPermissions"] == [] and group["IpPermissionsEgress"] == []
    interfaces = describe(ec2, instance)["NetworkInterfaces"]
    assert {e["NetworkInterfaceId"]: [g["GroupId"] for g in e["Groups"]] for e in interfaces} == {
        eni: [group["GroupId"]] for eni in enis}
    tags = {t["Key"]: t["Value"] for t in describe(ec2, instance)["Tags"]}
    assert tags[QUARANTINE_TAG] == "16afba5c5c43e07c9e3e5e2e544e95df"
    assert set(decision["detail"]["previous_groups"]) == set(enis)  # what to restore later


@pytest.mark.parametrize("with_user_name", [True, False])  # without it, IAM is asked whose key it is
def test_access_key_deactivated_not_deleted_and_owner_recorded(
        with_user_name: bool, tmp_path: Path, clients: Clients) -> None:
    finding, key = key_finding(iam := clients.get("iam"))
    if not with_user_name:
        del finding["resource"]["accessKeyDetails"]["userName"]
    [decision] = acted(run(finding, tmp_path, clients, dry_run=False))
    assert decision["outcome"] == "done" and decision["detail"]["owner"]["user_name"] == "alice"
    assert decision["detail"]["owner"]["user_arn"].endswith(":user/alice")
    keys = iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in keys] == [(key, "Inactive")]


def test_s3_public_access_block_set(tmp_path: Path, clients: Clients) -> None:
    [decision] = acted(run(bucket_finding(s3 := clients.get("s3")), tmp_path, clients, dry_run=False))
    assert decision["outcome"] == "done" and public_access_block(s3, "exposed-data") == BLOCK_ALL


def test_snapshots_taken_once_per_finding(tmp_path: Path, clients: Clients) -> None:
    instance, _, _ = make_instance(ec2 := clients.get("ec2"))
    assert (volumes := [m["Ebs"]["VolumeId"] for m in describe(ec2, instance)["BlockDeviceMappings"]])
    for _ in range(2):
        run(ec2_finding(instance), tmp_path, clients, dry_run=False, snapshot_volumes=True)
    snapshots = ec2.describe_snapshots(OwnerIds=["self"], Filters=[  # moto's AMIs own snapshots too
        {"Name": "tag:trailguard:finding", "Values": ["16afba5c5c43e07c9e3e5e2e544e95df"]}])["Snapshots"]
    assert sorted(s["VolumeId"] for s in snapshots) == sorted(volumes)


@pytest.fixture
def three(clients: Clients) -> tuple[str, list[dict[str, Any]]]:
    """An instance, a key and a bucket in moto, and a real sample finding for each."""
    instance, _, _ = make_instance(clients.get("ec2"))
    key_event = key_finding(clients.get("iam"))[0]
    return instance, [ec2_finding(instance), key_event, bucket_finding(clients.get("s3"))]


def test_dry_run_is_the_default_and_changes_nothing(tmp_path: Path, clients: Clients, three: Any) -> None:
    (ec2, iam, s3), (instance, events) = (clients.get(s) for s in ("ec2", "iam", "s3")), three
    before = ec2_state(ec2, instance), iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]
    results = [run(event, tmp_path, clients) for event in events]  # no dry_run key at all
    assert ec2_state(ec2, instance) == before[0]
    assert iam.list_access_keys(UserName="alice")["AccessKeyMetadata"] == before[1]
    assert public_access_block(s3, "exposed-data") is None
    decisions = [d for r in results for d in acted(r)]
    assert [d["outcome"] for d in decisions] == ["would_do"] * 3 and all(d["dry_run"] for d in decisions)
    steps = decisions[0]["detail"]["steps"]
    assert any("create security group" in s for s in steps) and sum("move eni-" in s for s in steps) == 2


def test_allow_listed_resources_untouched(tmp_path: Path, clients: Clients, three: Any) -> None:
    (ec2, iam, s3), (instance, events) = (clients.get(s) for s in ("ec2", "iam", "s3")), three
    before = ec2_state(ec2, instance)
    allow = [instance, "alice", "arn:aws:s3:::exposed-data"]
    results = [run(e, tmp_path, clients, dry_run=False, allow_list=allow) for e in events]
    assert [d["outcome"] for r in results for d in acted(r)] == ["skipped_allow_list"] * 3
    assert ec2_state(ec2, instance) == before
    assert iam.list_access_keys(UserName="alice")["AccessKeyMetadata"][0]["Status"] == "Active"
    assert public_access_block(s3, "exposed-data") is None


def test_second_run_does_nothing_new(tmp_path: Path, clients: Clients, three: Any) -> None:
    (ec2, instance, events) = clients.get("ec2"), *three
    first = [d["outcome"] for e in events for d in acted(run(e, tmp_path, clients, dry_run=False))]
    state = ec2_state(ec2, instance)
    second = [d["outcome"] for e in events for d in acted(run(e, tmp_path, clients, dry_run=False))]
    assert first == ["done"] * 3 and second == ["already_done"] * 3
    assert ec2_state(ec2, instance) == state


MALFORMED = {
    "not json": lambda: "{not json",
    "json array": lambda: [1, 2, 3],
    "empty object": lambda: {},
    "missing resource": lambda: {k: v for k, v in sample("ec2").items() if k != "resource"},
    "unknown resource type": lambda: {**sample("ec2"), "resource": {"resourceType": "SpaceStation"}},
    "other eventbridge event": lambda: {"detail-type": "EC2 Instance State-change", "detail": {}},
    "missing instance": lambda: ec2_finding("i-0123456789abcdef0"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_events_end_in_a_decision(name: str, tmp_path: Path, clients: Clients) -> None:
    expected = {"unknown resource type": "no_action", "missing instance": "not_found"}.get(name, "rejected")
    assert {d["outcome"] for d in acted(run(MALFORMED[name](), tmp_path, clients))} == {expected}


def test_vanished_key_and_bucket_are_not_found(tmp_path: Path, clients: Clients) -> None:
    finding, key = key_finding(clients.get("iam"))
    clients.get("iam").delete_access_key(UserName="alice", AccessKeyId=key)
    bucket = sample("s3")  # "bucketName" does not exist in moto
    results = [run(e, tmp_path, clients, dry_run=False) for e in (finding, bucket)]
    assert [d["outcome"] for r in results for d in acted(r)] == ["not_found", "not_found"]


def test_api_error_is_a_logged_decision(tmp_path: Path) -> None:
    with Stubber(ec2 := boto3.client("ec2", region_name=REGION)) as stubber:
        stubber.add_client_error("describe_instances", "UnauthorizedOperation", "not allowed")
        [decision] = acted(run(ec2_finding("i-0"), tmp_path, Clients(overrides={"ec2": ec2}), dry_run=False))
    assert decision["outcome"] == "error" and "UnauthorizedOperation" in decision["error"]


def test_unexpected_exception_in_an_action_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     clients: Clients) -> None:
    monkeypatch.setattr(handler_module, "quarantine_instance", Mock(side_effect=KeyError("surprise")))
    [decision] = acted(run(ec2_finding("i-0abc"), tmp_path, clients, dry_run=False))
    assert decision["outcome"] == "error" and "surprise" in decision["error"]




def test_trailguard_detections(tmp_path: Path, clients: Clients) -> None:
    iam, s3 = clients.get("iam"), clients.get("s3")
    _, key = key_finding(iam, "carol")
    s3.create_bucket(Bucket="made-public")
    events = [detection("iam_access_key_created", access_key_id=key, target_user="carol"),
              detection("s3_bucket_made_public", "critical", bucket_name="made-public"),
              detection("security_group_open_to_world", group_id="sg-1"),
              detection("iam_access_key_created", "medium", access_key_id=key)]
    outcomes = [[d["outcome"] for d in acted(run(e, tmp_path, clients, dry_run=False))] for e in events]
    assert outcomes == [["done"], ["done"], ["no_action"], ["ignored"]]
    assert iam.list_access_keys(UserName="carol")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    assert public_access_block(s3, "made-public")["BlockPublicPolicy"] is True


def test_notification_reaches_the_jsonl_sink(tmp_path: Path, clients: Clients) -> None:
    instance, _, _ = make_instance(clients.get("ec2"))
    result = run(ec2_finding(instance), tmp_path, clients)
    assert [d["outcome"] for d in result["decisions"] if d["action"] == "notify"] == ["delivered"]
    [line] = [json.loads(x) for x in (tmp_path / "notify.jsonl").read_text().splitlines()]
    assert line["detection_id"] == "automated_response" and "DRY RUN" in line["title"]
    assert line["context"]["actions"][0]["outcome"] == "would_do" and instance in line["runbook"]


def test_lambda_handler_with_eventbridge_envelope_and_s3_audit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    (s3 := boto3.client("s3", region_name=REGION)).create_bucket(Bucket="audit")
    config = tmp_path / "trailguard.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[[sinks]]\ntype = "jsonl"\npath = "{tmp_path}/n.jsonl"\n')
    for name, value in {"TRAILGUARD_CONFIG": str(config), "TRAILGUARD_RESPONSE_DRY_RUN": "false",
                        "TRAILGUARD_RESPONSE_AUDIT_LOG": "s3://audit/response"}.items():
        monkeypatch.setenv(name, value)
    event = {"version": "0", "id": "ev-1", "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
             "region": REGION, "detail": bucket_finding(s3)}
    result = handler_module.handler(event, type("Context", (), {"aws_request_id": "req-1"})())
    assert [d["outcome"] for d in result["decisions"]] == ["done", "delivered"] and not result["audit_errors"]
    assert public_access_block(s3, "exposed-data")["RestrictPublicBuckets"] is True
    [obj] = s3.list_objects_v2(Bucket="audit", Prefix="response/")["Contents"]
    assert obj["Key"].endswith("-req-1.jsonl")
    body = s3.get_object(Bucket="audit", Key=obj["Key"])["Body"].read().decode().splitlines()
    assert [json.loads(x)["outcome"] for x in body] == ["done", "delivered"]


def test_handler_survives_a_broken_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAILGUARD_CONFIG", str(tmp_path / "missing.toml"))
    monkeypatch.chdir(tmp_path)
    result = handler_module.handler({"detail-type": "GuardDuty Finding", "detail": "nope"})
    assert result["dry_run"] is True and [d["action"] for d in result["decisions"]] == ["configure", "none"]


def test_package_script_builds_a_zip(tmp_path: Path) -> None:
    script, target = ROOT / "scripts" / "package_response.py", tmp_path / "r.zip"
    done = subprocess.run([sys.executable, str(script), "--no-deps", "--output", str(target)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    names = zipfile.ZipFile(target).namelist()
    assert "pipeline/response/handler.py" in names and not any("__pycache__" in n for n in names)
