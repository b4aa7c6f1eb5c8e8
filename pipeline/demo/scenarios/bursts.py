"""Noisy-principal scenarios: an access-denied burst and the near misses of both burst detections.

Near misses test the grouping keys and windows exactly: 19 where 20 are needed, two sessions of one
role (two principals), events spread so no single window qualifies.
"""

from __future__ import annotations

from pipeline.demo.scenarios.base import Book
from pipeline.demo.sessions import BOTO3, CLI, LAMBDA_PY

EC2 = "ec2.amazonaws.com"
DENIED_CALLS: tuple[tuple[str, str, str], ...] = (
    ("s3.amazonaws.com", "ListBuckets", "AccessDenied"),
    ("iam.amazonaws.com", "ListUsers", "AccessDenied"),
    (EC2, "DescribeInstances", "Client.UnauthorizedOperation"),
    ("secretsmanager.amazonaws.com", "ListSecrets", "AccessDeniedException"),
    ("kms.amazonaws.com", "ListKeys", "AccessDeniedException"),
    ("lambda.amazonaws.com", "ListFunctions20150331", "AccessDeniedException"),
    ("rds.amazonaws.com", "DescribeDBInstances", "AccessDenied"),
    ("iam.amazonaws.com", "CreateUser", "AccessDenied"),
    (EC2, "RunInstances", "Client.UnauthorizedOperation"),
    ("dynamodb.amazonaws.com", "ListTables", "AccessDeniedException"),
)
NAMES = (
    "DescribeInstances",
    "DescribeVolumes",
    "DescribeSnapshots",
    "DescribeImages",
    "DescribeVpcs",
    "DescribeSubnets",
    "DescribeSecurityGroups",
    "DescribeNetworkInterfaces",
    "DescribeAddresses",
    "DescribeRouteTables",
    "DescribeInternetGateways",
    "DescribeNatGateways",
    "DescribeKeyPairs",
    "DescribeLaunchTemplates",
    "DescribeVpcEndpoints",
    "DescribeFlowLogs",
    "DescribeRegions",
    "DescribeAvailabilityZones",
    "DescribeTags",
    "DescribePrefixLists",
    "DescribeHosts",
    "DescribeDhcpOptions",
    "DescribeCustomerGateways",
    "DescribeVpnGateways",
    "DescribeTransitGateways",
)


def burst_scenarios(b: Book) -> None:
    org = b.org
    prod, staging, sec = org.prod.id, org.staging.id, org.security.id
    # Stolen instance-role credentials used from outside AWS: 24 refusals in 35 minutes, two regions.
    inst = org.pools[(prod, "us-east-1")].instances[1]
    t0 = b.at(9, 21, 3, 17)
    ip = b.ip(193)
    sess = b.role(prod, "prod-reports-batch-role", inst, t0, ip, BOTO3)
    denied = []
    other = [b.call(sess, t0 - 40, "sts.amazonaws.com", "GetCallerIdentity", prod, "us-east-1")]
    for i in range(24):
        src, name, code = DENIED_CALLS[i % len(DENIED_CALLS)]
        region = "us-east-1" if i % 3 else "eu-west-1"
        write = name.startswith(("Create", "Run"))
        denied.append(
            b.call(sess, t0 + i * 87, src, name, prod, region, None, error=code, read_only=not write)
        )
        if i in (5, 17):
            other.append(
                b.call(
                    sess,
                    t0 + i * 87 + 20,
                    "ssm.amazonaws.com",
                    "GetParameter",
                    prod,
                    region,
                    {"name": "/prod/reports/config", "withDecryption": True},
                    error="ThrottlingException" if i == 17 else None,
                )
            )
    b.label(
        "stolen_instance_credentials",
        "access_denied_burst",
        denied,
        "Instance-role credentials used from outside AWS: 24 AccessDenied-type errors in 35 minutes.",
    )
    b.label(
        "stolen_instance_credentials_context",
        None,
        other,
        "Successes and other errors of the same session are not part of the burst.",
    )
    b.hook(
        "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
        prod,
        "us-east-1",
        t0 + 300,
        story="stolen_instance_credentials",
        ip=ip,
        user="prod-reports-batch-role",
        access_key=sess.identity["accessKeyId"],
        principal=sess.identity["principalId"],
        api="ListBuckets",
        instance=inst,
    )

    # A Lambda function without permission to its secret: 19 refusals in 50 minutes.
    t1 = b.at(3, 8, 12, 0)
    nat = org.pools[(staging, "us-east-1")].nat_ips[0]
    lam = b.role(staging, "staging-ingest-role", "staging-ingest-handler", t1, nat, LAMBDA_PY)
    secret = {"secretId": "staging/ingest/api-key"}
    ids = [
        b.call(
            lam,
            t1 + i * 157,
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            staging,
            "us-east-1",
            secret,
            error="AccessDeniedException",
        )
        for i in range(19)
    ]
    b.label(
        "nineteen_access_denied", None, ids, "19 AccessDenied errors in 50 minutes: one short of a burst."
    )
    # Two sessions of one role, 12 refusals each in the same half hour: two principals.
    t2 = b.at(6, 2, 0, 0)
    ids = []
    for j, tag in enumerate(("export-a1f3", "export-9c2e")):
        s = b.role(prod, "data-export-role", tag, t2, org.pools[(prod, "eu-west-1")].nat_ips[0], BOTO3)
        ids += [
            b.call(
                s,
                t2 + j * 30 + i * 190,
                "s3.amazonaws.com",
                "GetBucketPolicy",
                prod,
                "eu-west-1",
                {"bucketName": org.buckets[prod][4], "policy": ""},
                error="AccessDenied",
            )
            for i in range(12)
        ]
    b.label(
        "two_sessions_of_one_role", None, ids, "Two sessions of one role, 12 refusals each: two principals."
    )
    # 25 refusals 7.5 minutes apart: at most 9 in any hour.
    t3 = b.at(10, 1, 0, 0)
    slow = b.role(sec, "security-scanner-task", "f" * 32, t3, org.pools[(sec, "us-east-1")].nat_ips[1], BOTO3)
    ids = [
        b.call(
            slow,
            t3 + i * 450,
            "kms.amazonaws.com",
            "DescribeKey",
            sec,
            "us-east-1",
            {"keyId": "alias/legacy"},
            error="AccessDeniedException",
        )
        for i in range(25)
    ]
    b.label("access_denied_spread_out", None, ids, "25 refusals 7.5 minutes apart: at most 9 in any hour.")
    discovery_near_misses(b)


def discovery_near_misses(b: Book) -> None:
    org = b.org
    prod, staging = org.prod.id, org.staging.id
    # 19 distinct names (40 calls) in 12 minutes.
    t0 = b.at(4, 3, 30, 0)
    inv = b.role(
        prod,
        "prod-inventory-role",
        "prod-inventory-collector",
        t0,
        org.pools[(prod, "us-east-1")].nat_ips[1],
        LAMBDA_PY,
    )
    ids = [b.call(inv, t0 + i * 18, EC2, NAMES[i % 19], prod, "us-east-1", {}) for i in range(40)]
    b.label("nineteen_discovery_names", None, ids, "19 distinct Describe names in 12 minutes: one short.")
    # 25 distinct names: 12, then 17 minutes later 13 more; never 20 in one 15-minute window.
    t1 = b.at(7, 16, 0, 0)
    slow = b.role(
        staging,
        "staging-cost-explorer-role",
        "cost-report",
        t1,
        org.pools[(staging, "us-east-1")].nat_ips[1],
        BOTO3,
    )
    ids = [b.call(slow, t1 + i * 25, EC2, NAMES[i], staging, "us-east-1", {}) for i in range(12)]
    later = t1 + 300 + 17 * 60
    ids += [b.call(slow, later + i * 25, EC2, NAMES[12 + i], staging, "eu-west-1", {}) for i in range(13)]
    b.label("slow_enumeration", None, ids, "25 distinct names over 27 minutes, at most 13 in any 15 minutes.")
    # Two sessions of one role share 24 names between them, 12 each.
    t2 = b.at(11, 10, 30, 0)
    ids = []
    for j, tag in enumerate(("audit-run-1", "audit-run-2")):
        s = b.role(prod, "prod-audit-helper", tag, t2, b.ip(34), CLI)
        ids += [
            b.call(s, t2 + j * 10 + i * 30, EC2, NAMES[j * 12 + i], prod, "us-east-1", {}) for i in range(12)
        ]
    b.label("discovery_split_across_sessions", None, ids, "24 names split over two sessions of one role.")
