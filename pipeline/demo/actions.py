"""Building blocks of background repertoires: actions, profiles and request-parameter builders.

The repertoires themselves live in ``profiles``; this module holds the types and the small
functions that fill ``requestParameters`` with names of resources that exist in the account and
region, so a reader of the demo sees one consistent organization.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .identities import Org, RegionPool

READ_PREFIXES = ("List", "Describe", "Get")


@dataclass
class Ctx:
    """Per-session context handed to request-parameter builders."""

    rng: random.Random
    org: Org
    account: str
    region: str
    pool: RegionPool

    def pick(self, items: list[str]) -> str:
        return items[self.rng.randrange(len(items))]

    def bucket(self) -> str:
        return self.pick(self.org.buckets[self.account])

    def key_arn(self) -> str:
        return f"arn:aws:kms:{self.region}:{self.account}:key/{self.pick(self.pool.keys)}"

    def hexid(self, n: int) -> str:
        return f"{self.rng.getrandbits(4 * n):0{n}x}"


Params = Callable[[Ctx], dict[str, Any] | None]


@dataclass(frozen=True)
class Action:
    """One API call a profile makes; ``denied`` means this persona lacks the permission for it."""

    source: str
    name: str
    weight: float
    params: Params | None = None
    errors: tuple[str, ...] = ()
    read_only: bool | None = None
    denied: bool = False

    @property
    def is_read(self) -> bool:
        if self.read_only is not None:
            return self.read_only
        return self.name.startswith((*READ_PREFIXES, "Lookup", "Filter", "BatchGet", "Search"))


@dataclass(frozen=True)
class Profile:
    """A kind of actor: who it is (``kind``), when it works, where, how much, and what it calls."""

    name: str
    kind: str
    share: float  # of background events
    rhythm: str  # office | ci | flat | nightly
    accounts: dict[str, float]  # account role -> weight multiplier
    session_len: tuple[int, int]  # calls per session
    gap: tuple[int, int]  # seconds between calls within a session
    error_rate: float
    deny_share: float  # of errors, how many are access-denied (capped per principal-hour)
    actions: tuple[Action, ...] = field(default_factory=tuple)


def read_names(profile: Profile) -> set[str]:
    """Distinct List/Describe/Get names a profile can call (the discovery_burst guard)."""
    return {a.name for a in profile.actions if a.name.startswith(READ_PREFIXES)}


# --------------------------------------------------------------------------- parameter builders


def none(c: Ctx) -> None:
    return None


def empty(c: Ctx) -> dict[str, Any]:
    return {}


def inst(c: Ctx) -> dict[str, Any]:
    return {"instancesSet": {"items": [{"instanceId": c.pick(c.pool.instances)}]}}


def running(c: Ctx) -> dict[str, Any]:
    state = {"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}]}}
    return {"instancesSet": {}, "filterSet": {"items": [state]}}


def target(c: Ctx) -> dict[str, Any]:
    return {"target": c.pick(c.pool.instances)}


def fn(c: Ctx) -> dict[str, Any]:
    return {"functionName": c.pick(c.pool.functions)}


def fn_config(c: Ctx) -> dict[str, Any]:
    return {"functionName": c.pick(c.pool.functions), "timeout": 30, "memorySize": 512}


def alias(c: Ctx) -> dict[str, Any]:
    return {"functionName": c.pick(c.pool.functions), "name": "live"}


def stack(c: Ctx) -> dict[str, Any]:
    return {"stackName": c.pick(c.pool.stacks)}


def service(c: Ctx) -> dict[str, Any]:
    app = c.pick(c.pool.functions).replace("-handler", "").replace("-worker", "")
    return {"cluster": c.pick(c.pool.clusters), "services": [app]}


def redeploy(c: Ctx) -> dict[str, Any]:
    return {**service(c), "forceNewDeployment": True}


def param(c: Ctx) -> dict[str, Any]:
    return {"name": c.pick(c.pool.params), "withDecryption": True}


def params(c: Ctx) -> dict[str, Any]:
    return {"names": [c.pick(c.pool.params)], "withDecryption": True}


def secret(c: Ctx) -> dict[str, Any]:
    return {"secretId": c.pick(c.pool.secrets)}


def table(c: Ctx) -> dict[str, Any]:
    return {"tableName": c.pick(c.pool.tables)}


def decrypt(c: Ctx) -> dict[str, Any]:
    return {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "keyId": c.key_arn()}


def datakey(c: Ctx) -> dict[str, Any]:
    return {"keyId": c.key_arn(), "keySpec": "AES_256"}


def s3_host(c: Ctx) -> dict[str, Any]:
    return {"Host": "s3.amazonaws.com"}


def bucket(c: Ctx) -> dict[str, Any]:
    b = c.bucket()
    return {"bucketName": b, "Host": f"{b}.s3.{c.region}.amazonaws.com"}


def bucket_sub(sub: str) -> Params:
    """S3 sub-resource reads (``?acl``, ``?policyStatus``...) carry the sub-resource as an empty key."""

    def build(c: Ctx) -> dict[str, Any]:
        return {sub: "", **bucket(c)}

    return build


def tags(c: Ctx) -> dict[str, Any]:
    tag = {"key": "patch-group", "value": c.rng.choice(["a", "b"])}
    return {"resourcesSet": {"items": [{"resourceId": c.pick(c.pool.instances)}]}, "tagSet": {"items": [tag]}}


def metric(c: Ctx) -> dict[str, Any]:
    ns = c.rng.choice(["AWS/EC2", "AWS/Lambda", "AWS/ECS"])
    stat = {"metric": {"namespace": ns, "metricName": "CPUUtilization"}, "period": 300, "stat": "Average"}
    return {"startTime": "", "endTime": "", "metricDataQueries": [{"id": "m1", "metricStat": stat}]}


def logs(c: Ctx) -> dict[str, Any]:
    return {"logGroupName": c.pick(c.pool.log_groups)}


def retention(c: Ctx) -> dict[str, Any]:
    return {**logs(c), "retentionInDays": c.rng.choice([30, 90, 365])}


def log_stream(c: Ctx) -> dict[str, Any]:
    return {**logs(c), "logStreamName": c.hexid(32)}


def changeset(c: Ctx) -> dict[str, Any]:
    return {
        "stackName": c.pick(c.pool.stacks),
        "changeSetName": f"deploy-{c.hexid(8)}",
        "capabilities": ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        "changeSetType": "UPDATE",
    }


def taskdef(c: Ctx) -> dict[str, Any]:
    app = c.pick(c.pool.functions).replace("-handler", "").replace("-worker", "")
    image = f"{c.account}.dkr.ecr.{c.region}.amazonaws.com/{app}:{c.hexid(7)}"
    container = {"name": app, "image": image, "essential": True}
    return {
        "family": app,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "512",
        "memory": "1024",
        "containerDefinitions": [container],
    }


def image(c: Ctx) -> dict[str, Any]:
    return {"repositoryName": c.pick(c.pool.clusters), "imageTag": c.hexid(7)}


def registry(c: Ctx) -> dict[str, Any]:
    return {"registryIds": [c.account]}


def rule(c: Ctx) -> dict[str, Any]:
    return {"name": f"{c.pick(c.pool.functions)}-schedule"}


def sg_filter(c: Ctx) -> dict[str, Any]:
    return {"groupSet": {"items": [{"groupId": c.pick(c.pool.sgs)}]}}


def ssm_info(c: Ctx) -> dict[str, Any]:
    ip = f"{c.pool.private_net}{c.rng.randint(0, 15)}.{c.rng.randint(4, 250)}"
    return {
        "instanceId": c.pick(c.pool.instances),
        "agentVersion": "3.3.1142.0",
        "agentStatus": "Active",
        "platformType": "Linux",
        "platformName": "Amazon Linux",
        "platformVersion": "2023",
        "iPAddress": ip,
    }


def instance_id(c: Ctx) -> dict[str, Any]:
    return {"instanceId": c.pick(c.pool.instances)}


def associations(c: Ctx) -> dict[str, Any]:
    return {"instanceId": c.pick(c.pool.instances), "maxResults": 20}


def run(c: Ctx) -> dict[str, Any]:
    item = {"imageId": "ami-0" + c.hexid(16), "minCount": 1, "maxCount": 1}
    return {"instancesSet": {"items": [item]}, "instanceType": c.rng.choice(["m7g.large", "c7g.xlarge"])}


def snapshot(c: Ctx) -> dict[str, Any]:
    return {"volumeId": "vol-" + c.pick(c.pool.instances)[2:], "description": "Created by AWS Backup"}


def snapshot_id(c: Ctx) -> dict[str, Any]:
    return {"snapshotId": "snap-" + c.pick(c.pool.instances)[2:]}


def db(c: Ctx) -> dict[str, Any]:
    return {"dBInstanceIdentifier": c.pick(c.pool.dbs)}


def db_arn(c: Ctx) -> dict[str, Any]:
    return {"resourceName": f"arn:aws:rds:{c.region}:{c.account}:db:{c.pick(c.pool.dbs)}"}


def detector(c: Ctx) -> dict[str, Any]:
    return {"detectorId": c.pool.detector}


def trail(c: Ctx) -> dict[str, Any]:
    return {"name": f"arn:aws:cloudtrail:us-east-1:{c.org.management.id}:trail/org-trail"}


def assume_target(c: Ctx) -> dict[str, Any]:
    """The role a service assumes for a workload (a Lambda function or task's execution role)."""
    name = c.pick(c.pool.functions)
    role = name.rsplit("-", 1)[0] + "-role"
    return {"roleArn": f"arn:aws:iam::{c.account}:role/{role}", "roleSessionName": name}
