"""The three containment actions, each idempotent, dry-run aware and never raising on AWS errors.

Every action first reads the resource's current state (reads are harmless in dry-run too), so
the answer is specific: ``would_do`` / ``done`` when something changes, ``already_done`` when a
re-run finds nothing left to do, ``not_found`` when the resource is gone, ``error`` when AWS
refused. Nothing is ever deleted: quarantine swaps security groups (the old ones are recorded so
a responder can restore them), keys are deactivated, and the public access block only adds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from pipeline.response.config import ResponseConfig

log = logging.getLogger(__name__)
QUARANTINE_TAG = "trailguard:quarantined"
SNAPSHOT_TAG = "trailguard:finding"
_NOT_FOUND = ("NotFound", "NoSuchEntity", "NoSuchBucket", "Malformed")


@dataclass
class Outcome:
    """What one action did or would do; ``detail`` is for the audit log and the notification."""

    action: str
    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class Clients:
    """boto3 clients per service and region, created on first use; tests inject their own."""

    def __init__(self, region: str | None = None, endpoint_url: str | None = None,
                 overrides: dict[str, Any] | None = None) -> None:
        self.region, self.endpoint_url = region, endpoint_url
        self._made: dict[str, Any] = dict(overrides or {})

    def get(self, service: str) -> Any:
        if service not in self._made:
            self._made[service] = boto3.client(service, region_name=self.region,
                                               endpoint_url=self.endpoint_url)
        return self._made[service]


def failure(action: str, exc: Exception, detail: dict[str, Any] | None = None) -> Outcome:
    """An AWS error as an outcome: a missing resource is ``not_found``, anything else ``error``."""
    code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
    outcome = "not_found" if any(marker in code for marker in _NOT_FOUND) else "error"
    return Outcome(action, outcome, dict(detail or {}), f"{type(exc).__name__}: {exc}")


def _quarantine_group(ec2: Any, vpc_id: str, name: str, dry_run: bool, steps: list[str]) -> str | None:
    """The VPC's quarantine group id (created if missing, rules stripped); None when dry-run lacks it."""
    found = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                  {"Name": "group-name", "Values": [name]}])["SecurityGroups"]
    group = found[0] if found else None
    if group is None:
        steps.append(f"create security group {name} in {vpc_id} (no ingress, no egress)")
        if dry_run:
            return None
        group_id = ec2.create_security_group(
            GroupName=name, VpcId=vpc_id, Description="trailguard quarantine: no traffic in or out",
            TagSpecifications=[{"ResourceType": "security-group",
                                "Tags": [{"Key": "trailguard:purpose", "Value": "quarantine"}]}])["GroupId"]
        group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    # A new group comes with allow-all egress; someone may also have added rules to an old one.
    for direction, rules in (("ingress", group.get("IpPermissions")),
                             ("egress", group.get("IpPermissionsEgress"))):
        if rules:
            steps.append(f"revoke {len(rules)} {direction} rule(s) of {group['GroupId']}")
            if not dry_run:
                revoke = ec2.revoke_security_group_ingress if direction == "ingress" \
                    else ec2.revoke_security_group_egress
                revoke(GroupId=group["GroupId"], IpPermissions=rules)
    return str(group["GroupId"])


def quarantine_instance(clients: Clients, instance_id: str, finding_id: str,
                        config: ResponseConfig) -> Outcome:
    """Move every ENI of the instance into the quarantine group, tag it, optionally snapshot."""
    action, dry_run = "quarantine_instance", config.dry_run
    detail: dict[str, Any] = {"instance_id": instance_id}
    try:
        ec2 = clients.get("ec2")
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        instances = [i for r in reservations for i in r["Instances"]]
        if not instances or instances[0].get("State", {}).get("Name") == "terminated":
            return Outcome(action, "not_found", detail, "instance does not exist (or is terminated)")
        instance = instances[0]
        vpc_id = instance.get("VpcId")
        if not vpc_id:
            return Outcome(action, "error", detail, "instance has no VPC; security groups cannot be swapped")
        steps: list[str] = []
        group_id = _quarantine_group(ec2, vpc_id, config.quarantine_group_name, dry_run, steps)
        detail.update(vpc_id=vpc_id, quarantine_group=group_id or config.quarantine_group_name)
        previous = {eni["NetworkInterfaceId"]: [g["GroupId"] for g in eni.get("Groups", [])]
                    for eni in instance.get("NetworkInterfaces", [])}
        detail["previous_groups"] = previous  # what to restore once the investigation is over
        for eni_id, groups in previous.items():
            if group_id is None or groups != [group_id]:
                steps.append(f"move {eni_id} from {','.join(groups) or 'no groups'} to the quarantine group")
                if not dry_run and group_id:
                    ec2.modify_network_interface_attribute(NetworkInterfaceId=eni_id, Groups=[group_id])
        tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
        if QUARANTINE_TAG not in tags:  # the first finding that quarantined it stays on the tag
            steps.append(f"tag {instance_id} {QUARANTINE_TAG}={finding_id}")
            if not dry_run:
                ec2.create_tags(Resources=[instance_id], Tags=[{"Key": QUARANTINE_TAG, "Value": finding_id}])
        if config.snapshot_volumes:
            steps.extend(_snapshots(ec2, instance, finding_id, dry_run, detail))
    except (ClientError, BotoCoreError) as exc:
        return failure(action, exc, detail)
    detail["steps"] = steps
    return Outcome(action, ("would_do" if dry_run else "done") if steps else "already_done", detail)


def _snapshots(ec2: Any, instance: dict[str, Any], finding_id: str, dry_run: bool,
               detail: dict[str, Any]) -> list[str]:
    """Snapshot each EBS volume once per finding (a tagged snapshot from an earlier run counts)."""
    steps, made = [], []
    for mapping in instance.get("BlockDeviceMappings", []):
        volume_id = (mapping.get("Ebs") or {}).get("VolumeId")
        if not volume_id:
            continue
        existing = ec2.describe_snapshots(OwnerIds=["self"], Filters=[
            {"Name": "volume-id", "Values": [volume_id]},
            {"Name": f"tag:{SNAPSHOT_TAG}", "Values": [finding_id]}])["Snapshots"]
        if existing:
            continue
        steps.append(f"snapshot {volume_id}")
        if not dry_run:
            made.append(ec2.create_snapshot(
                VolumeId=volume_id, Description=f"trailguard evidence for GuardDuty finding {finding_id}",
                TagSpecifications=[{"ResourceType": "snapshot",
                                    "Tags": [{"Key": SNAPSHOT_TAG, "Value": finding_id}]}])["SnapshotId"])
    if made:
        detail["snapshots"] = made
    return steps


def deactivate_access_key(clients: Clients, key_id: str, user_name: str | None,
                          config: ResponseConfig) -> Outcome:
    """Set the key Inactive (never delete: deleting destroys the evidence and cannot be undone)."""
    action = "deactivate_access_key"
    detail: dict[str, Any] = {"access_key_id": key_id}
    try:
        iam = clients.get("iam")
        if not user_name:  # IAM knows whose key it is even when the finding does not say
            user_name = iam.get_access_key_last_used(AccessKeyId=key_id).get("UserName")
        if not user_name:
            return Outcome(action, "not_found", detail, "the key's owner is unknown")
        user = iam.get_user(UserName=user_name)["User"]
        detail["owner"] = {"user_name": user_name, "user_arn": user.get("Arn"), "user_id": user.get("UserId")}
        if config.allowed(user_name, user.get("Arn")):  # allow-listing a user covers its keys
            return Outcome(action, "skipped_allow_list", detail)
        keys = iam.list_access_keys(UserName=user_name)["AccessKeyMetadata"]
        key = next((k for k in keys if k["AccessKeyId"] == key_id), None)
        if key is None:
            return Outcome(action, "not_found", detail, f"user {user_name} has no key {key_id}")
        detail["previous_status"] = key["Status"]
        if key["Status"] == "Inactive":
            return Outcome(action, "already_done", detail)
        if not config.dry_run:
            iam.update_access_key(UserName=user_name, AccessKeyId=key_id, Status="Inactive")
    except (ClientError, BotoCoreError) as exc:
        return failure(action, exc, detail)
    return Outcome(action, "would_do" if config.dry_run else "done", detail)


BLOCK_ALL = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
             "RestrictPublicBuckets": True}


def block_bucket_public_access(clients: Clients, bucket: str, config: ResponseConfig) -> Outcome:
    """Turn on all four Block Public Access flags; existing ACLs and policies are left in place."""
    action = "block_public_access"
    detail: dict[str, Any] = {"bucket": bucket}
    try:
        s3 = clients.get("s3")
        try:
            current = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchPublicAccessBlockConfiguration":
                raise
            s3.head_bucket(Bucket=bucket)  # no configuration yet: make sure the bucket itself exists
            current = {}
        detail["previous"] = current
        if all(current.get(flag) is True for flag in BLOCK_ALL):
            return Outcome(action, "already_done", detail)
        if not config.dry_run:
            s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=dict(BLOCK_ALL))
    except (ClientError, BotoCoreError) as exc:
        outcome = failure(action, exc, detail)
        code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
        if code in ("404", "NoSuchBucket"):
            outcome.outcome = "not_found"
        return outcome
    return Outcome(action, "would_do" if config.dry_run else "done", detail)
