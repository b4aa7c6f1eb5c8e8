"""What each kind of background actor calls: weighted API repertoires with request shapes.

Each profile's repertoire holds at most 12 distinct List/Describe/Get names, and every principal
arn belongs to one profile, so no background principal can reach the discovery_burst threshold
(20 distinct names in 15 minutes) however busy it is. No repertoire contains an IAM write, an S3
permission change, security-group ingress, a NACL change or a CloudTrail/GuardDuty control-plane
write: those happen only in labelled scenarios, so every catalogue firing is explainable.
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

    def fn_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.pick(self.pool.functions)}"

    def stack_arn(self) -> str:
        name = self.pick(self.pool.stacks)
        return f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{name}/{self.pool.vpc[4:12]}-0000"


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
    share: float
    rhythm: str
    accounts: dict[str, float]  # account role or name -> weight multiplier
    session_len: tuple[int, int]
    gap: tuple[int, int]  # seconds between calls within a session
    error_rate: float
    actions: tuple[Action, ...] = field(default_factory=tuple)
    deny_share: float = 0.15  # of errors, how many are access-denied (capped per principal-hour)


def _inst(c: Ctx) -> dict[str, Any]:
    return {"instancesSet": {"items": [{"instanceId": c.pick(c.pool.instances)}]}}


def _filters(c: Ctx) -> dict[str, Any]:
    return {"instancesSet": {}, "filterSet": {"items": [{"name": "instance-state-name",
                                                         "valueSet": {"items": [{"value": "running"}]}}]}}


def _fn(c: Ctx) -> dict[str, Any]:
    return {"functionName": c.pick(c.pool.functions)}


def _stack(c: Ctx) -> dict[str, Any]:
    return {"stackName": c.pick(c.pool.stacks)}


def _svc(c: Ctx) -> dict[str, Any]:
    return {"cluster": c.pick(c.pool.clusters), "services": [c.pick(c.pool.functions).replace("-handler", "")]}


def _param(c: Ctx) -> dict[str, Any]:
    return {"name": c.pick(c.pool.params), "withDecryption": True}


def _secret(c: Ctx) -> dict[str, Any]:
    return {"secretId": c.pick(c.pool.secrets)}


def _table(c: Ctx) -> dict[str, Any]:
    return {"tableName": c.pick(c.pool.tables)}


def _decrypt(c: Ctx) -> dict[str, Any]:
    return {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "keyId": c.key_arn()}


def _datakey(c: Ctx) -> dict[str, Any]:
    return {"keyId": c.key_arn(), "keySpec": "AES_256"}


def _bucket(c: Ctx) -> dict[str, Any]:
    b = c.bucket()
    return {"bucketName": b, "Host": f"{b}.s3.{c.region}.amazonaws.com"}


def _bucket_sub(sub: str) -> Params:
    def build(c: Ctx) -> dict[str, Any]:
        b = c.bucket()
        return {sub: "", "bucketName": b, "Host": f"{b}.s3.{c.region}.amazonaws.com"}
    return build


def _tags(c: Ctx) -> dict[str, Any]:
    return {"resourcesSet": {"items": [{"resourceId": c.pick(c.pool.instances)}]},
            "tagSet": {"items": [{"key": "patch-group", "value": c.rng.choice(["a", "b"])}]}}


def _metric(c: Ctx) -> dict[str, Any]:
    return {"startTime": "", "endTime": "", "metricDataQueries": [
        {"id": "m1", "metricStat": {"metric": {"namespace": c.rng.choice(["AWS/EC2", "AWS/Lambda", "AWS/ECS"]),
                                               "metricName": "CPUUtilization"}, "period": 300, "stat": "Average"}}]}


def _logs(c: Ctx) -> dict[str, Any]:
    return {"logGroupName": c.pick(c.pool.log_groups)}


def _changeset(c: Ctx) -> dict[str, Any]:
    return {"stackName": c.pick(c.pool.stacks), "changeSetName": f"deploy-{c.rng.getrandbits(32):08x}",
            "capabilities": ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"], "changeSetType": "UPDATE"}


def _taskdef(c: Ctx) -> dict[str, Any]:
    app = c.pick(c.pool.functions).replace("-handler", "").replace("-worker", "")
    return {"family": app, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "cpu": "512", "memory": "1024",
            "containerDefinitions": [{"name": app, "image": f"{c.account}.dkr.ecr.{c.region}.amazonaws.com/"
                                      f"{app}:{c.rng.getrandbits(28):07x}", "essential": True}]}


def _ssm_info(c: Ctx) -> dict[str, Any]:
    return {"instanceId": c.pick(c.pool.instances), "agentVersion": "3.3.1142.0", "agentStatus": "Active",
            "platformType": "Linux", "platformName": "Amazon Linux", "platformVersion": "2023",
            "iPAddress": f"{c.pool.private_net}{c.rng.randint(0, 15)}.{c.rng.randint(4, 250)}"}


def _snapshot(c: Ctx) -> dict[str, Any]:
    return {"volumeId": "vol-" + c.pick(c.pool.instances)[2:], "description": "Created by AWS Backup"}


def _assume_target(c: Ctx) -> dict[str, Any]:
    return {"roleArn": f"arn:aws:iam::{c.account}:role/{c.pick(c.pool.functions)}-role",
            "roleSessionName": c.pick(c.pool.functions)}


A = Action
EC2, CW, LOGS, CFN = "ec2.amazonaws.com", "monitoring.amazonaws.com", "logs.amazonaws.com", \
    "cloudformation.amazonaws.com"
LAMBDA, ECS, SSM, KMS = "lambda.amazonaws.com", "ecs.amazonaws.com", "ssm.amazonaws.com", "kms.amazonaws.com"
S3, IAM, STS, RDS = "s3.amazonaws.com", "iam.amazonaws.com", "sts.amazonaws.com", "rds.amazonaws.com"
DDB, SM = "dynamodb.amazonaws.com", "secretsmanager.amazonaws.com"

_ALL = {"management": 1.0, "security": 1.0, "workload": 1.0}
_WORK = {"workload": 1.0}

PROFILES: tuple[Profile, ...] = (
    Profile("sso_admin", "sso", 0.06, "office", _ALL, (4, 30), (5, 120), 0.03, (
        A(EC2, "DescribeInstances", 3, _filters), A(EC2, "DescribeSecurityGroups", 1, lambda c: {"groupSet": {}}),
        A(EC2, "DescribeVpcs", 0.5, lambda c: {"vpcSet": {}}), A(CW, "DescribeAlarms", 1, lambda c: {}),
        A(CW, "GetMetricData", 2, _metric), A(LOGS, "DescribeLogGroups", 1, lambda c: {}),
        A(CFN, "DescribeStacks", 1.5, _stack), A(CFN, "ListStacks", 0.5, lambda c: {}),
        A(ECS, "DescribeServices", 1, _svc), A(ECS, "ListClusters", 0.5, lambda c: None),
        A(IAM, "ListRoles", 0.3, lambda c: {"maxItems": 100}), A(EC2, "StartInstances", 0.2, _inst),
        A(EC2, "StopInstances", 0.2, _inst, ("Client.InvalidInstanceID.NotFound",)),
        A(EC2, "RebootInstances", 0.1, _inst), A(EC2, "CreateTags", 0.4, _tags),
        A(ECS, "UpdateService", 0.3, lambda c: {**_svc(c), "forceNewDeployment": True}),
        A(SSM, "StartSession", 0.4, lambda c: {"target": c.pick(c.pool.instances)}),
        A(LOGS, "PutRetentionPolicy", 0.1, lambda c: {**_logs(c), "retentionInDays": 90}),
    ), 0.1),
    Profile("sso_developer", "sso", 0.07, "office", {"workload": 1.0}, (4, 40), (5, 90), 0.04, (
        A(LAMBDA, "ListFunctions20150331", 1, lambda c: None), A(LAMBDA, "GetFunction20150331v2", 2, _fn),
        A(LOGS, "DescribeLogStreams", 2, _logs), A(LOGS, "GetLogEvents", 3, _logs),
        A(LOGS, "FilterLogEvents", 2, _logs), A(ECS, "DescribeTasks", 1, _svc), A(ECS, "ListTasks", 1, _svc),
        A(CW, "GetMetricData", 1.5, _metric), A(SSM, "GetParameter", 1, _param, ("ParameterNotFound",)),
        A(DDB, "DescribeTable", 0.8, _table, ("ResourceNotFoundException",)),
        A(CFN, "DescribeStackEvents", 0.8, _stack, ("ValidationError",)),
        A(LAMBDA, "UpdateFunctionCode20150331v2", 0.3, _fn), A(SSM, "PutParameter", 0.2, _param),
        A(ECS, "StopTask", 0.1, _svc), A(SSM, "StartSession", 0.3, lambda c: {"target": c.pick(c.pool.instances)}),
        A(SM, "GetSecretValue", 0.15, _secret, denied=True),
    ), 0.3),
    Profile("sso_readonly", "sso", 0.02, "office", _ALL, (3, 20), (10, 150), 0.05, (
        A(EC2, "DescribeInstances", 2, _filters), A(EC2, "DescribeVolumes", 1, lambda c: {"volumeSet": {}}),
        A(S3, "ListBuckets", 1, lambda c: {"Host": "s3.amazonaws.com"}),
        A("ce.amazonaws.com", "GetCostAndUsage", 1, lambda c: {"granularity": "DAILY", "metrics": ["UnblendedCost"]}),
        A(CW, "GetMetricData", 1, _metric), A(CW, "DescribeAlarms", 1, lambda c: {}),
        A(RDS, "DescribeDBInstances", 0.5, lambda c: None),
        A("guardduty.amazonaws.com", "ListFindings", 0.6, lambda c: {"detectorId": c.pool.detector}),
        A("guardduty.amazonaws.com", "GetFindings", 0.6, lambda c: {"detectorId": c.pool.detector}),
        A("config.amazonaws.com", "DescribeComplianceByConfigRule", 0.5, lambda c: {}),
        A("cloudtrail.amazonaws.com", "LookupEvents", 0.4, lambda c: {"maxResults": 50}),
        A(EC2, "StopInstances", 0.1, _inst, denied=True),
    ), 0.4),
    Profile("iam_user", "iam_user", 0.02, "office", {"management": 1.0}, (3, 15), (10, 200), 0.03, (
        A("organizations.amazonaws.com", "ListAccounts", 1, lambda c: None),
        A("organizations.amazonaws.com", "DescribeOrganization", 0.5, lambda c: None),
        A("ce.amazonaws.com", "GetCostAndUsage", 2, lambda c: {"granularity": "MONTHLY", "metrics": ["BlendedCost"]}),
        A("ce.amazonaws.com", "GetCostForecast", 0.5, lambda c: {"granularity": "MONTHLY", "metric": "BLENDED_COST"}),
        A(S3, "ListBuckets", 1, lambda c: {"Host": "s3.amazonaws.com"}), A(S3, "GetBucketLocation", 1, _bucket),
        A(STS, "GetCallerIdentity", 0.5, lambda c: None),
        A("backup.amazonaws.com", "ListBackupJobs", 1, lambda c: {"maxResults": 100}),
        A("backup.amazonaws.com", "DescribeBackupJob", 0.5, lambda c: {"backupJobId": "%032X" % c.rng.getrandbits(128)}),
        A("backup.amazonaws.com", "StartBackupJob", 0.2, lambda c: {"backupVaultName": "Default"}),
    ), 0.2),
    Profile("ci_deploy", "ci", 0.07, "ci", {"workload": 1.0}, (10, 32), (2, 30), 0.03, (
        A(CFN, "CreateChangeSet", 1, _changeset, ("ValidationError",)), A(CFN, "DescribeChangeSet", 3, _stack),
        A(CFN, "ExecuteChangeSet", 0.8, _stack), A(CFN, "DescribeStacks", 3, _stack),
        A(CFN, "DescribeStackEvents", 3, _stack), A(CFN, "GetTemplateSummary", 0.5, _stack),
        A("ecr.amazonaws.com", "GetAuthorizationToken", 1, lambda c: {"registryIds": [c.account]}),
        A("ecr.amazonaws.com", "PutImage", 0.8, lambda c: {"repositoryName": c.pick(c.pool.clusters),
                                                          "imageTag": "%07x" % c.rng.getrandbits(28)}),
        A(LAMBDA, "UpdateFunctionCode20150331v2", 1, _fn), A(LAMBDA, "PublishVersion20150331", 0.6, _fn),
        A(LAMBDA, "UpdateAlias20150331", 0.6, lambda c: {**_fn(c), "name": "live"}),
        A(LAMBDA, "GetFunction20150331v2", 1, _fn), A(ECS, "RegisterTaskDefinition", 0.6, _taskdef),
        A(ECS, "UpdateService", 0.6, _svc), A(ECS, "DescribeServices", 1.5, _svc),
        A(SSM, "GetParameters", 0.8, lambda c: {"names": [c.pick(c.pool.params)], "withDecryption": True}),
        A(STS, "GetCallerIdentity", 0.5, lambda c: None),
    ), 0.05),
    Profile("cfn_exec", "cfn", 0.04, "ci", {"workload": 1.0}, (6, 20), (1, 20), 0.02, (
        A(LAMBDA, "UpdateFunctionConfiguration20150331v2", 1, lambda c: {**_fn(c), "timeout": 30}),
        A(LAMBDA, "GetFunction20150331v2", 2, _fn), A(IAM, "GetRole", 1, lambda c: {"roleName": "lambda-exec"}),
        A("events.amazonaws.com", "PutRule", 0.5, lambda c: {"name": f"{c.pick(c.pool.functions)}-schedule"}),
        A("events.amazonaws.com", "DescribeRule", 1, lambda c: {"name": f"{c.pick(c.pool.functions)}-schedule"}),
        A(LOGS, "DescribeLogGroups", 1, lambda c: {"logGroupNamePrefix": c.pick(c.pool.log_groups)}),
        A(LOGS, "PutRetentionPolicy", 0.5, lambda c: {**_logs(c), "retentionInDays": 30}),
        A(DDB, "DescribeTable", 1, _table), A(DDB, "UpdateContinuousBackups", 0.2, _table),
        A(EC2, "DescribeSecurityGroups", 1, lambda c: {"groupSet": {"items": [{"groupId": c.pick(c.pool.sgs)}]}}),
        A(EC2, "CreateTags", 0.5, _tags), A(ECS, "DescribeServices", 1, _svc),
    ), 0.0),
    Profile("vendor_monitor", "vendor", 0.16, "flat", _ALL, (6, 14), (0, 4), 0.01, (
        A(EC2, "DescribeInstances", 2, _filters), A(EC2, "DescribeVolumes", 1, lambda c: {"volumeSet": {}}),
        A(EC2, "DescribeInstanceStatus", 1, lambda c: {"includeAllInstances": True}),
        A(CW, "GetMetricData", 4, _metric), A(CW, "ListMetrics", 1, lambda c: {"namespace": "AWS/EC2"}),
        A(RDS, "DescribeDBInstances", 0.5, lambda c: None),
        A("elasticloadbalancing.amazonaws.com", "DescribeLoadBalancers", 0.5, lambda c: {"pageSize": 400}),
        A("elasticloadbalancing.amazonaws.com", "DescribeTargetHealth", 0.5, lambda c: None),
        A(LAMBDA, "ListFunctions20150331", 0.5, lambda c: None),
        A("tagging.amazonaws.com", "GetResources", 1, lambda c: {"resourcesPerPage": 100}),
        A(ECS, "ListClusters", 0.3, lambda c: None), A(ECS, "DescribeClusters", 0.3, lambda c: {}),
    ), 0.02),
    Profile("audit_scanner", "audit", 0.05, "flat", _ALL, (12, 40), (0, 6), 0.04, (
        A(S3, "GetBucketPublicAccessBlock", 1, _bucket_sub("publicAccessBlock"),
          ("NoSuchPublicAccessBlockConfiguration",)),
        A(S3, "GetBucketPolicyStatus", 1, _bucket_sub("policyStatus"), ("NoSuchBucketPolicy",)),
        A(S3, "GetBucketEncryption", 1, _bucket_sub("encryption"), ("ServerSideEncryptionConfigurationNotFoundError",)),
        A(EC2, "DescribeSecurityGroups", 1, lambda c: {"groupSet": {}}),
        A(EC2, "DescribeFlowLogs", 0.5, lambda c: {}),
        A("cloudtrail.amazonaws.com", "DescribeTrails", 0.5, lambda c: {"includeShadowTrails": True}),
        A("cloudtrail.amazonaws.com", "GetTrailStatus", 0.5, lambda c: {"name": "org-trail"}),
        A("guardduty.amazonaws.com", "ListDetectors", 0.5, lambda c: {}),
        A("guardduty.amazonaws.com", "GetDetector", 0.5, lambda c: {"detectorId": c.pool.detector}),
        A("config.amazonaws.com", "DescribeConfigurationRecorders", 0.5, lambda c: {}),
        A(IAM, "GetAccountPasswordPolicy", 0.3, lambda c: None), A(KMS, "ListKeys", 0.5, lambda c: None),
    ), 0.0),
    Profile("config_recorder", "config", 0.08, "flat", _ALL, (3, 12), (0, 3), 0.01, (
        A(EC2, "DescribeInstances", 2, _filters), A(EC2, "DescribeNetworkInterfaces", 1, lambda c: {}),
        A(EC2, "DescribeSecurityGroups", 1, lambda c: {"groupSet": {}}), A(EC2, "DescribeSubnets", 0.5, lambda c: {}),
        A(EC2, "DescribeVolumes", 1, lambda c: {"volumeSet": {}}), A(EC2, "DescribeVpcs", 0.5, lambda c: {}),
        A(EC2, "DescribeRouteTables", 0.5, lambda c: {}), A(S3, "GetBucketAcl", 0.5, _bucket_sub("acl")),
        A(S3, "GetBucketVersioning", 0.5, _bucket_sub("versioning")),
        A(RDS, "ListTagsForResource", 0.3, lambda c: {"resourceName": c.pick(c.pool.dbs)}),
    ), 0.0),
    Profile("aws_service", "service", 0.13, "flat", _ALL, (1, 3), (0, 2), 0.0, (
        A(STS, "AssumeRole", 6, _assume_target, read_only=True), A(KMS, "Decrypt", 3, _decrypt),
        A(KMS, "GenerateDataKey", 3, _datakey),
    ), 0.0),
    Profile("app_workload", "app", 0.14, "flat", _WORK, (2, 8), (0, 20), 0.01, (
        A(KMS, "Decrypt", 4, _decrypt), A(SSM, "GetParameter", 3, _param, ("ParameterNotFound",)),
        A(SSM, "GetParameters", 1, lambda c: {"names": [c.pick(c.pool.params)], "withDecryption": True}),
        A(SM, "GetSecretValue", 3, _secret, ("ResourceNotFoundException",)), A(DDB, "DescribeTable", 1, _table),
        A(STS, "GetCallerIdentity", 0.5, lambda c: None),
        A(LOGS, "CreateLogStream", 1, lambda c: {**_logs(c), "logStreamName": "%032x" % c.rng.getrandbits(128)}),
    ), 0.0),
    Profile("ssm_agent", "ssm", 0.12, "flat", _WORK, (1, 4), (0, 30), 0.005, (
        A(SSM, "UpdateInstanceInformation", 6, _ssm_info),
        A(SSM, "ListInstanceAssociations", 2, lambda c: {"instanceId": c.pick(c.pool.instances), "maxResults": 20}),
        A(SSM, "GetDocument", 0.5, lambda c: {"name": "AWS-RunPatchBaseline"}),
        A(SSM, "GetDeployablePatchSnapshotForInstance", 0.3, lambda c: {"instanceId": c.pick(c.pool.instances)}),
        A(SSM, "PutInventory", 1, lambda c: {"instanceId": c.pick(c.pool.instances)}),
    ), 0.0),
    Profile("autoscaling", "autoscaling", 0.02, "office", _WORK, (2, 6), (1, 10), 0.02, (
        A(EC2, "RunInstances", 1, lambda c: {"instancesSet": {"items": [{"imageId": "ami-0" + "%016x" % 7,
                                                                        "minCount": 1, "maxCount": 1}]},
                                             "instanceType": "m7g.large"}),
        A(EC2, "TerminateInstances", 1, _inst), A(EC2, "CreateTags", 1, _tags),
        A(EC2, "DescribeInstances", 0.5, _filters),
    ), 0.0),
    Profile("backup", "backup", 0.02, "nightly", _ALL, (4, 16), (5, 60), 0.02, (
        A(EC2, "CreateSnapshot", 2, _snapshot), A(EC2, "DescribeSnapshots", 2, lambda c: {"ownersSet": {}}),
        A(EC2, "DeleteSnapshot", 1, lambda c: {"snapshotId": "snap-" + c.pick(c.pool.instances)[2:]}),
        A(RDS, "CreateDBSnapshot", 0.5, lambda c: {"dBInstanceIdentifier": c.pick(c.pool.dbs)}),
        A(RDS, "DescribeDBSnapshots", 0.5, lambda c: {"dBInstanceIdentifier": c.pick(c.pool.dbs)}),
        A(DDB, "CreateBackup", 0.5, _table),
    ), 0.0),
)


def read_names(profile: Profile) -> set[str]:
    """Distinct List/Describe/Get names a profile can call (the discovery_burst guard)."""
    return {a.name for a in profile.actions if a.name.startswith(READ_PREFIXES)}


def check_profiles() -> None:
    """Fail loudly if an edit lets a background profile reach discovery-burst territory."""
    for p in PROFILES:
        n = len(read_names(p)) + (1 if p.kind in {"iam_user", "sso"} else 0)
        if n > 12:
            raise AssertionError(f"profile {p.name} has {n} List/Describe/Get names; keep it <= 12")
