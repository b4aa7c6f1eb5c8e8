"""Findings and resources the response tests build (also used by tests/deploy's permission proof)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REGION = "us-east-1"


ROOT = Path(__file__).resolve().parents[2]


CORPUS = ROOT.parent / "shared" / "corpora" / "guardduty-events"


SAMPLES = CORPUS / "aws-samples-automated-response"


def sample(kind: str) -> dict[str, Any]:
    path = SAMPLES / f"guardduty_{kind}_event.json"
    if not path.is_file():
        pytest.skip(f"GuardDuty sample corpus not found at {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def make_instance(ec2: Any) -> tuple[str, list[str], str]:
    """An instance with two network interfaces in a fresh VPC: (instance id, eni ids, vpc id)."""
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    web = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    # Groups on the ENI, not SecurityGroupIds: moto adds an instance's launch groups to every ENI.
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, NetworkInterfaces=[
        {"DeviceIndex": 0, "SubnetId": subnet, "Groups": [web]}])["Instances"][0]["InstanceId"]
    extra = ec2.create_network_interface(SubnetId=subnet, Groups=[web])["NetworkInterface"]
    ec2.attach_network_interface(NetworkInterfaceId=extra["NetworkInterfaceId"], InstanceId=instance,
                                 DeviceIndex=1)
    return instance, [e["NetworkInterfaceId"] for e in describe(ec2, instance)["NetworkInterfaces"]], vpc


def ec2_finding(instance_id: str) -> dict[str, Any]:
    finding = sample("ec2")
    finding["resource"]["instanceDetails"]["instanceId"] = instance_id
    finding["service"]["resourceRole"] = "ACTOR"  # the sample's TARGET would be notify-only (issue 16)
    return finding


def key_finding(iam: Any, user: str = "alice") -> tuple[dict[str, Any], str]:
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    finding = sample("iam")
    finding["resource"]["accessKeyDetails"].update(accessKeyId=key, userName=user)
    return finding, key


def detection(detection_id: str, severity: str = "high", **context: Any) -> dict[str, Any]:
    return {"detection_id": detection_id, "finding_id": f"tg-{detection_id}", "severity": severity,
            "title": detection_id, "event_ids": ["e1"], "account_id": "123456789012", "region": REGION,
            "principal": "mallory", "context": context}


def describe(ec2: Any, instance_id: str) -> dict[str, Any]:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
