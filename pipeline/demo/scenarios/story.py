"""The demo's headline story: a leaked CI access key, from enumeration to persistence to evasion.

discovery burst (some calls refused, two regions) -> new admin user with an access key -> the
account's trail stopped; GuardDuty notices the Tor address, the anomalous behaviour and the trail.
"""

from __future__ import annotations

from typing import Any

from pipeline.demo.identities import HOME_REGION
from pipeline.demo.scenarios.base import Book
from pipeline.demo.scenarios.iam import iam_response
from pipeline.demo.sessions import CLI

IAM, S3, EC2 = "iam.amazonaws.com", "s3.amazonaws.com", "ec2.amazonaws.com"
USER = "legacy-ci-deployer"
AGENT = CLI.replace("os/macos#24.1.0 md/arch#arm64", "os/linux#6.11.2-amd64 md/arch#x86_64")


#: The story's name in the manifest's labels (its steps are labelled stolen_key_*).
STORY = "leaked_ci_key"


def credential_theft_story(b: Book) -> None:
    with b.telling(STORY):
        _tell(b)


def _tell(b: Book) -> None:
    org = b.org
    prod = org.prod.id
    ip = b.ip(185)
    t0 = b.at(7, 13, 2, 9)
    sess = b.user(prod, USER, ip, AGENT)
    bucket = org.buckets[prod][2]
    host = {"Host": f"{bucket}.s3.amazonaws.com", "bucketName": bucket}
    everything = {"instancesSet": {}, "filterSet": {}}
    # (eventSource, eventName, region, requestParameters, errorCode)
    plan: list[tuple[str, str, str, dict[str, Any] | None, str | None]] = [
        ("sts.amazonaws.com", "GetCallerIdentity", "us-east-1", None, None),
        (IAM, "GetUser", "us-east-1", None, None),
        (IAM, "ListAttachedUserPolicies", "us-east-1", {"userName": USER}, None),
        (IAM, "ListGroupsForUser", "us-east-1", {"userName": USER}, None),
        (IAM, "ListUsers", "us-east-1", None, None),
        (IAM, "ListRoles", "us-east-1", None, None),
        (IAM, "ListPolicies", "us-east-1", {"scope": "Local"}, None),
        (IAM, "GetAccountAuthorizationDetails", "us-east-1", None, "AccessDenied"),
        (IAM, "ListAccessKeys", "us-east-1", {"userName": USER}, None),
        (S3, "ListBuckets", "us-east-1", {"Host": "s3.amazonaws.com"}, None),
        (S3, "GetBucketPolicy", "us-east-1", {**host, "policy": ""}, "NoSuchBucketPolicy"),
        (S3, "GetBucketAcl", "us-east-1", {**host, "acl": ""}, None),
        (EC2, "DescribeRegions", "us-east-1", {"regionSet": {}}, None),
        (EC2, "DescribeInstances", "us-east-1", everything, None),
        (EC2, "DescribeInstances", "eu-west-1", everything, None),
        (EC2, "DescribeSecurityGroups", "eu-west-1", {"securityGroupSet": {}}, None),
        (EC2, "DescribeVpcs", "eu-west-1", {"vpcSet": {}}, None),
        (
            EC2,
            "DescribeSnapshots",
            "us-east-1",
            {"ownersSet": {"items": [{"owner": "self"}]}},
            "Client.UnauthorizedOperation",
        ),
        ("lambda.amazonaws.com", "ListFunctions20150331", "us-east-1", None, None),
        ("lambda.amazonaws.com", "ListFunctions20150331", "eu-west-1", None, None),
        ("secretsmanager.amazonaws.com", "ListSecrets", "us-east-1", {}, "AccessDeniedException"),
        ("rds.amazonaws.com", "DescribeDBInstances", "eu-west-1", None, "AccessDenied"),
        ("cloudtrail.amazonaws.com", "DescribeTrails", "us-east-1", {"includeShadowTrails": True}, None),
        ("cloudtrail.amazonaws.com", "GetTrailStatus", "us-east-1", {"name": "prod-account-trail"}, None),
        ("guardduty.amazonaws.com", "ListDetectors", "us-east-1", {}, "AccessDenied"),
        ("kms.amazonaws.com", "ListKeys", "eu-west-1", None, None),
    ]
    burst = [
        b.call(sess, t0 + i * 21 + i % 3, src, name, prod, region, params, error=error)
        for i, (src, name, region, params, error) in enumerate(plan)
    ]
    b.label(
        "stolen_key_discovery",
        "discovery_burst",
        burst,
        "A leaked key enumerates 24 List/Describe/Get APIs in two regions within ten minutes; some refused.",
    )
    t1 = t0 + 12 * 60
    new = {"userName": "backup-svc"}
    created = b.call(
        sess,
        t1,
        IAM,
        "CreateUser",
        prod,
        HOME_REGION,
        new,
        iam_response(b, "CreateUser", new, prod, t1),
        read_only=False,
    )
    b.label(
        "stolen_key_persistence", "iam_user_created", [created], "The intruder creates user backup-svc..."
    )
    attach = b.call(
        sess,
        t1 + 31,
        IAM,
        "AttachUserPolicy",
        prod,
        HOME_REGION,
        {**new, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        read_only=False,
    )
    b.label("stolen_key_persistence", "iam_policy_changed", [attach], "...gives it AdministratorAccess...")
    key = b.call(
        sess,
        t1 + 58,
        IAM,
        "CreateAccessKey",
        prod,
        HOME_REGION,
        new,
        iam_response(b, "CreateAccessKey", new, prod, t1 + 58),
        read_only=False,
    )
    b.label("stolen_key_persistence", "iam_access_key_created", [key], "...and an access key for it.")
    trail = f"arn:aws:cloudtrail:us-east-1:{prod}:trail/prod-account-trail"
    stop = b.call(
        sess,
        t0 + 19 * 60,
        "cloudtrail.amazonaws.com",
        "StopLogging",
        prod,
        "us-east-1",
        {"name": trail},
        read_only=False,
    )
    b.label(
        "stolen_key_defense_evasion",
        "cloudtrail_tampering",
        [stop],
        "The intruder stops the account's trail.",
    )
    who = {
        "ip": ip,
        "user": USER,
        "access_key": sess.identity["accessKeyId"],
        "principal": sess.identity["principalId"],
    }
    b.hook("UnauthorizedAccess:IAMUser/TorIPCaller", prod, "us-east-1", t0 + 60, api="ListUsers", **who)
    b.hook("Discovery:IAMUser/AnomalousBehavior", prod, "us-east-1", t0 + 600, api="ListRoles", **who)
    b.hook("Persistence:IAMUser/AnomalousBehavior", prod, "us-east-1", t0 + 900, api="CreateAccessKey", **who)
    b.hook(
        "Stealth:IAMUser/CloudTrailLoggingDisabled",
        prod,
        "us-east-1",
        t0 + 1200,
        api="StopLogging",
        service="cloudtrail.amazonaws.com",
        **who,
    )
