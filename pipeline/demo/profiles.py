"""What each kind of background actor calls: weighted API repertoires.

Each profile's repertoire holds at most 12 distinct List/Describe/Get names, and every principal
arn belongs to one profile, so no background principal can reach the discovery_burst threshold
(20 distinct names in 15 minutes) however busy it is. No repertoire contains an IAM write, an S3
permission change, security-group ingress, a NACL change or a CloudTrail/GuardDuty control-plane
write: those happen only in labelled scenarios, so every catalogue firing is explainable.
People open a shell on an instance (SSM StartSession) or push Lambda code by hand now and then,
not daily: the pipeline deploys and State Manager runs commands (an administrator about once a
working day across the organization's accounts, a developer's hand deploy about once a week).
Those actions share their old weight with a neighbour that takes the same request builder
(GetConnectionStatus, a settings-only UpdateFunctionConfiguration), so the random stream, and with
it every other record of a generated organization, is what it was.
"""

from __future__ import annotations

from . import actions as p
from .actions import Action as A
from .actions import Profile, read_names

EC2, CW, LOGS = "ec2.amazonaws.com", "monitoring.amazonaws.com", "logs.amazonaws.com"
CFN, LAMBDA, ECS = "cloudformation.amazonaws.com", "lambda.amazonaws.com", "ecs.amazonaws.com"
SSM, KMS, S3 = "ssm.amazonaws.com", "kms.amazonaws.com", "s3.amazonaws.com"
IAM, STS, RDS = "iam.amazonaws.com", "sts.amazonaws.com", "rds.amazonaws.com"
DDB, SM, GD = "dynamodb.amazonaws.com", "secretsmanager.amazonaws.com", "guardduty.amazonaws.com"
CT, CE, ORG = "cloudtrail.amazonaws.com", "ce.amazonaws.com", "organizations.amazonaws.com"
ELB, BACKUP = "elasticloadbalancing.amazonaws.com", "backup.amazonaws.com"

SSO_ADMIN = (
    A(EC2, "DescribeInstances", 3, p.running),
    A(EC2, "DescribeSecurityGroups", 1, p.empty),
    A(EC2, "DescribeVpcs", 0.5, p.empty),
    A(CW, "DescribeAlarms", 1, p.empty),
    A(CW, "GetMetricData", 2, p.metric),
    A(LOGS, "DescribeLogGroups", 1, p.empty),
    A(CFN, "DescribeStacks", 1.5, p.stack),
    A(CFN, "ListStacks", 0.5, p.empty),
    A(ECS, "DescribeServices", 1, p.service),
    A(ECS, "ListClusters", 0.5, p.none),
    A(IAM, "ListRoles", 0.3, p.empty),
    A(EC2, "StartInstances", 0.2, p.inst),
    A(EC2, "StopInstances", 0.2, p.inst, ("Client.InvalidInstanceID.NotFound",)),
    A(EC2, "RebootInstances", 0.1, p.inst),
    A(EC2, "CreateTags", 0.4, p.tags),
    A(ECS, "UpdateService", 0.3, p.redeploy),
    A(SSM, "StartSession", 0.012, p.target),
    A(SSM, "GetConnectionStatus", 0.388, p.target),  # with StartSession: the 0.4 it had (see above)
    A(LOGS, "PutRetentionPolicy", 0.1, p.retention),
)
SSO_DEVELOPER = (
    A(LAMBDA, "ListFunctions20150331", 1, p.none),
    A(LAMBDA, "GetFunction20150331v2", 2, p.fn),
    A(LOGS, "DescribeLogStreams", 2, p.logs),
    A(LOGS, "GetLogEvents", 3, p.logs),
    A(LOGS, "FilterLogEvents", 2, p.logs),
    A(ECS, "DescribeTasks", 1, p.service),
    A(ECS, "ListTasks", 1, p.service),
    A(CW, "GetMetricData", 1.5, p.metric),
    A(SSM, "GetParameter", 1, p.param, ("ParameterNotFound",)),
    A(DDB, "DescribeTable", 0.8, p.table, ("ResourceNotFoundException",)),
    A(CFN, "DescribeStackEvents", 0.8, p.stack, ("ValidationError",)),
    A(LAMBDA, "UpdateFunctionCode20150331v2", 0.01, p.fn),
    A(LAMBDA, "UpdateFunctionConfiguration20150331v2", 0.29, p.fn),  # settings, no layers
    A(SSM, "PutParameter", 0.2, p.param),
    A(ECS, "StopTask", 0.1, p.service),
    A(SSM, "StartSession", 0.005, p.target),
    A(SSM, "GetConnectionStatus", 0.295, p.target),
    A(SM, "GetSecretValue", 0.15, p.secret, denied=True),
)
SSO_READONLY = (
    A(EC2, "DescribeInstances", 2, p.running),
    A(EC2, "DescribeVolumes", 1, p.empty),
    A(S3, "ListBuckets", 1, p.s3_host),
    A(CE, "GetCostAndUsage", 1, p.empty),
    A(CW, "GetMetricData", 1, p.metric),
    A(CW, "DescribeAlarms", 1, p.empty),
    A(RDS, "DescribeDBInstances", 0.5, p.none),
    A(GD, "ListFindings", 0.6, p.detector),
    A(GD, "GetFindings", 0.6, p.detector),
    A("config.amazonaws.com", "DescribeComplianceByConfigRule", 0.5, p.empty),
    A(CT, "LookupEvents", 0.4, p.empty),
    A(EC2, "StopInstances", 0.1, p.inst, denied=True),
)
IAM_USER = (
    A(ORG, "ListAccounts", 1, p.none),
    A(ORG, "DescribeOrganization", 0.5, p.none),
    A(CE, "GetCostAndUsage", 2, p.empty),
    A(CE, "GetCostForecast", 0.5, p.empty),
    A(S3, "ListBuckets", 1, p.s3_host),
    A(S3, "GetBucketLocation", 1, p.bucket_sub("location")),
    A(STS, "GetCallerIdentity", 0.5, p.none),
    A(BACKUP, "ListBackupJobs", 1, p.empty),
    A(BACKUP, "DescribeBackupJob", 0.5, p.empty),
    A(BACKUP, "StartBackupJob", 0.2, p.empty),
)
CI_DEPLOY = (
    A(CFN, "CreateChangeSet", 1, p.changeset, ("ValidationError",)),
    A(CFN, "DescribeChangeSet", 3, p.stack),
    A(CFN, "ExecuteChangeSet", 0.8, p.stack),
    A(CFN, "DescribeStacks", 3, p.stack),
    A(CFN, "DescribeStackEvents", 3, p.stack),
    A(CFN, "GetTemplateSummary", 0.5, p.stack),
    A("ecr.amazonaws.com", "GetAuthorizationToken", 1, p.registry),
    A("ecr.amazonaws.com", "PutImage", 0.8, p.image),
    A(LAMBDA, "UpdateFunctionCode20150331v2", 1, p.fn),
    A(LAMBDA, "PublishVersion20150331", 0.6, p.fn),
    A(LAMBDA, "UpdateAlias20150331", 0.6, p.alias),
    A(LAMBDA, "GetFunction20150331v2", 1, p.fn),
    A(ECS, "RegisterTaskDefinition", 0.6, p.taskdef),
    A(ECS, "UpdateService", 0.6, p.service),
    A(ECS, "DescribeServices", 1.5, p.service),
    A(SSM, "GetParameters", 0.8, p.params),
    A(STS, "GetCallerIdentity", 0.5, p.none),
)
CFN_EXEC = (
    A(LAMBDA, "UpdateFunctionConfiguration20150331v2", 1, p.fn_config),
    A(LAMBDA, "GetFunction20150331v2", 2, p.fn),
    A(IAM, "GetRole", 1, p.empty),
    A("events.amazonaws.com", "PutRule", 0.5, p.rule),
    A("events.amazonaws.com", "DescribeRule", 1, p.rule),
    A(LOGS, "DescribeLogGroups", 1, p.logs),
    A(LOGS, "PutRetentionPolicy", 0.5, p.retention),
    A(DDB, "DescribeTable", 1, p.table),
    A(DDB, "UpdateContinuousBackups", 0.2, p.table),
    A(EC2, "DescribeSecurityGroups", 1, p.sg_filter),
    A(EC2, "CreateTags", 0.5, p.tags),
    A(ECS, "DescribeServices", 1, p.service),
)
VENDOR = (
    A(EC2, "DescribeInstances", 2, p.running),
    A(EC2, "DescribeVolumes", 1, p.empty),
    A(EC2, "DescribeInstanceStatus", 1, p.empty),
    A(CW, "GetMetricData", 4, p.metric),
    A(CW, "ListMetrics", 1, p.empty),
    A(RDS, "DescribeDBInstances", 0.5, p.none),
    A(ELB, "DescribeLoadBalancers", 0.5, p.empty),
    A(ELB, "DescribeTargetHealth", 0.5, p.none),
    A(LAMBDA, "ListFunctions20150331", 0.5, p.none),
    A("tagging.amazonaws.com", "GetResources", 1, p.empty),
    A(ECS, "ListClusters", 0.3, p.none),
    A(ECS, "DescribeClusters", 0.3, p.empty),
)
AUDIT = (
    A(
        S3,
        "GetBucketPublicAccessBlock",
        1,
        p.bucket_sub("publicAccessBlock"),
        ("NoSuchPublicAccessBlockConfiguration",),
    ),
    A(S3, "GetBucketPolicyStatus", 1, p.bucket_sub("policyStatus"), ("NoSuchBucketPolicy",)),
    A(
        S3,
        "GetBucketEncryption",
        1,
        p.bucket_sub("encryption"),
        ("ServerSideEncryptionConfigurationNotFoundError",),
    ),
    A(EC2, "DescribeSecurityGroups", 1, p.empty),
    A(EC2, "DescribeFlowLogs", 0.5, p.empty),
    A(CT, "DescribeTrails", 0.5, p.empty),
    A(CT, "GetTrailStatus", 0.5, p.trail),
    A(GD, "ListDetectors", 0.5, p.empty),
    A(GD, "GetDetector", 0.5, p.detector),
    A("config.amazonaws.com", "DescribeConfigurationRecorders", 0.5, p.empty),
    A(IAM, "GetAccountPasswordPolicy", 0.3, p.none),
    A(KMS, "ListKeys", 0.5, p.none),
)
CONFIG = (
    A(EC2, "DescribeInstances", 2, p.running),
    A(EC2, "DescribeNetworkInterfaces", 1, p.empty),
    A(EC2, "DescribeSecurityGroups", 1, p.empty),
    A(EC2, "DescribeSubnets", 0.5, p.empty),
    A(EC2, "DescribeVolumes", 1, p.empty),
    A(EC2, "DescribeVpcs", 0.5, p.empty),
    A(EC2, "DescribeRouteTables", 0.5, p.empty),
    A(S3, "GetBucketAcl", 0.5, p.bucket_sub("acl")),
    A(S3, "GetBucketVersioning", 0.5, p.bucket_sub("versioning")),
    A(RDS, "ListTagsForResource", 0.3, p.db_arn),
)
SERVICE = (
    A(STS, "AssumeRole", 6, p.assume_target, read_only=True),
    A(KMS, "Decrypt", 3, p.decrypt),
    A(KMS, "GenerateDataKey", 3, p.datakey),
)
APP = (
    A(KMS, "Decrypt", 4, p.decrypt),
    A(SSM, "GetParameter", 3, p.param, ("ParameterNotFound",)),
    A(SSM, "GetParameters", 1, p.params),
    A(SM, "GetSecretValue", 3, p.secret, ("ResourceNotFoundException",)),
    A(DDB, "DescribeTable", 1, p.table),
    A(STS, "GetCallerIdentity", 0.5, p.none),
    A(LOGS, "CreateLogStream", 1, p.log_stream),
)
SSM_AGENT = (
    A(SSM, "UpdateInstanceInformation", 6, p.ssm_info),
    A(SSM, "ListInstanceAssociations", 2, p.associations),
    A(SSM, "GetDocument", 0.5, p.empty),
    A(SSM, "GetDeployablePatchSnapshotForInstance", 0.3, p.instance_id),
    A(SSM, "PutInventory", 1, p.instance_id),
)
AUTOSCALING = (
    A(EC2, "RunInstances", 1, p.run),
    A(EC2, "TerminateInstances", 1, p.inst),
    A(EC2, "CreateTags", 1, p.tags),
    A(EC2, "DescribeInstances", 0.5, p.running),
)
BACKUPS = (
    A(EC2, "CreateSnapshot", 2, p.snapshot),
    A(EC2, "DescribeSnapshots", 2, p.empty),
    A(EC2, "DeleteSnapshot", 1, p.snapshot_id),
    A(RDS, "CreateDBSnapshot", 0.5, p.db),
    A(RDS, "DescribeDBSnapshots", 0.5, p.db),
    A(DDB, "CreateBackup", 0.5, p.table),
)

ALL = {"management": 1.0, "security": 1.0, "workload": 1.0}
WORK = {"workload": 1.0}
MGMT = {"management": 1.0}
P = Profile
# name, kind, share, rhythm, accounts, calls per session, gap s, error rate, deny share, repertoire
PROFILES: tuple[Profile, ...] = (
    P("sso_admin", "sso", 0.06, "office", ALL, (4, 30), (5, 120), 0.03, 0.1, SSO_ADMIN),
    P("sso_developer", "sso", 0.07, "office", WORK, (4, 40), (5, 90), 0.04, 0.3, SSO_DEVELOPER),
    P("sso_readonly", "sso", 0.02, "office", ALL, (3, 20), (10, 150), 0.05, 0.4, SSO_READONLY),
    P("iam_user", "iam_user", 0.02, "office", MGMT, (3, 15), (10, 200), 0.03, 0.2, IAM_USER),
    P("ci_deploy", "ci", 0.07, "ci", WORK, (10, 32), (2, 30), 0.03, 0.05, CI_DEPLOY),
    P("cfn_exec", "cfn", 0.04, "ci", WORK, (6, 20), (1, 20), 0.02, 0.0, CFN_EXEC),
    P("vendor_monitor", "vendor", 0.16, "flat", ALL, (6, 14), (0, 4), 0.02, 0.02, VENDOR),
    P("audit_scanner", "audit", 0.05, "flat", ALL, (12, 40), (0, 6), 0.04, 0.0, AUDIT),
    P("config_recorder", "config", 0.08, "flat", ALL, (3, 12), (0, 3), 0.015, 0.0, CONFIG),
    P("aws_service", "service", 0.13, "flat", ALL, (1, 3), (0, 2), 0.0, 0.0, SERVICE),
    P("app_workload", "app", 0.14, "flat", WORK, (2, 8), (0, 20), 0.02, 0.0, APP),
    P("ssm_agent", "ssm", 0.12, "flat", WORK, (1, 4), (0, 30), 0.01, 0.0, SSM_AGENT),
    P("autoscaling", "autoscaling", 0.02, "office", WORK, (2, 6), (1, 10), 0.02, 0.0, AUTOSCALING),
    P("backup", "backup", 0.02, "nightly", ALL, (4, 16), (5, 60), 0.02, 0.0, BACKUPS),
)


def check_profiles() -> None:
    """Fail loudly if an edit lets a background profile reach discovery-burst territory."""
    for prof in PROFILES:
        n = len(read_names(prof))
        if n > 12:
            raise AssertionError(f"profile {prof.name} has {n} List/Describe/Get names; keep it <= 12")
