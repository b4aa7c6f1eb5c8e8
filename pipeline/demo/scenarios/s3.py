"""S3 bucket-permission scenarios: each public change is paired with a look-alike that is not public.

The pairs are where detections go wrong: a Deny for ``*``, an Allow ``*`` with a Condition, the
LogDelivery group, another account's canonical user, a canned ACL as a plain string, a policy
whose Statement is one object, a single ACL grant given as an object rather than a list.
"""

from __future__ import annotations

from typing import Any

from pipeline.demo.scenarios.base import Book, policy_doc

S3 = "s3.amazonaws.com"
XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
GROUPS = "http://acs.amazonaws.com/groups/"


#: The story of the s3 steps 0 and 1 and GuardDuty's findings about them.
SITE_STORY = "site_bucket_made_public"

def grant(kind: str, value: str, permission: str) -> dict[str, Any]:
    key = "URI" if kind == "Group" else "ID"
    return {"Grantee": {"xsi:type": kind, key: value, "xmlns:xsi": XSI}, "Permission": permission}


def acl(owner: str, grants: list[dict[str, Any]] | dict[str, Any]) -> dict[str, Any]:
    """requestParameters.AccessControlPolicy as CloudTrail renders the XML body (one grant: an object)."""
    return {
        "acl": "",
        "AccessControlPolicy": {
            "AccessControlList": {"Grant": grants},
            "xmlns": XMLNS,
            "Owner": {"ID": owner},
        },
    }


def bucket_params(bucket: str, region: str, **extra: Any) -> dict[str, Any]:
    return {"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com", **extra}


def s3_scenarios(b: Book) -> None:
    org = b.org
    prod, staging, sec = org.prod.id, org.staging.id, org.security.id
    pb, sb, kb = org.buckets[prod], org.buckets[staging], org.buckets[sec]
    owner, other_owner = b.ids.hex(64), b.ids.hex(64)
    site = pb[3]
    arn = f"arn:aws:s3:::{site}"
    public_read = {
        "Sid": "PublicRead",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"{arn}/*",
    }
    tls_only = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    logs_tls = {**tls_only, "Resource": [f"arn:aws:s3:::{kb[0]}", f"arn:aws:s3:::{kb[0]}/*"]}
    org_only = {
        "Sid": "OrgRead",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{kb[2]}/*",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": org.id}},
    }
    aws_star = {
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{sb[1]}/*",
    }
    blocks = {
        "xmlns": XMLNS,
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    owner_full = grant("CanonicalUser", owner, "FULL_CONTROL")
    log_delivery = [
        owner_full,
        grant("Group", GROUPS + "s3/LogDelivery", "WRITE"),
        grant("Group", GROUPS + "s3/LogDelivery", "READ_ACP"),
    ]
    everyone = grant("Group", GROUPS + "global/AllUsers", "READ")
    authenticated = [owner_full, grant("Group", GROUPS + "global/AuthenticatedUsers", "READ")]
    partner = [owner_full, grant("CanonicalUser", other_owner, "READ")]
    pab = "PublicAccessBlockConfiguration"
    # (day, hour, person, account, region, bucket, eventName, extra params, error, public?)
    steps: list[tuple[int, int, str, str, str, str, str, dict[str, Any], str | None, bool | None]] = [
        (
            3,
            16,
            "emily.nguyen",
            prod,
            "us-east-1",
            site,
            "DeleteBucketPublicAccessBlock",
            {"publicAccessBlock": ""},
            None,
            True,
        ),
        (
            3,
            16,
            "emily.nguyen",
            prod,
            "us-east-1",
            site,
            "PutBucketPolicy",
            {"bucketPolicy": policy_doc([tls_only, public_read]), "policy": ""},
            None,
            True,
        ),
        (
            5,
            10,
            "raj.patel",
            staging,
            "eu-west-1",
            sb[1],
            "PutBucketPolicy",
            {"bucketPolicy": policy_doc(aws_star), "policy": ""},
            None,
            True,
        ),
        (
            6,
            13,
            "chloe.martin",
            staging,
            "ap-southeast-2",
            sb[0],
            "PutBucketAcl",
            acl(owner, everyone),
            None,
            True,
        ),
        (
            8,
            9,
            "kenji.watanabe",
            prod,
            "ap-southeast-2",
            pb[0],
            "PutBucketAcl",
            {"acl": "", "x-amz-acl": ["public-read"]},
            None,
            True,
        ),
        (
            10,
            15,
            "liam.oconnor",
            staging,
            "us-east-1",
            sb[2],
            "PutBucketAcl",
            acl(owner, authenticated),
            None,
            True,
        ),
        (
            11,
            11,
            "maria.garcia",
            prod,
            "eu-west-1",
            pb[4],
            "PutBucketPublicAccessBlock",
            {"publicAccessBlock": "", pab: {**blocks, "RestrictPublicBuckets": False}},
            None,
            True,
        ),
        # Permission changes that do not expose anything.
        (
            2,
            14,
            "aisha.khan",
            sec,
            "us-east-1",
            kb[0],
            "PutBucketPolicy",
            {"bucketPolicy": policy_doc([logs_tls]), "policy": ""},
            None,
            False,
        ),
        (
            4,
            11,
            "aisha.khan",
            sec,
            "us-east-1",
            kb[2],
            "PutBucketPolicy",
            {"bucketPolicy": policy_doc([org_only]), "policy": ""},
            None,
            False,
        ),
        (
            6,
            10,
            "tom.becker",
            prod,
            "us-east-1",
            pb[2],
            "PutBucketAcl",
            acl(owner, log_delivery),
            None,
            False,
        ),
        (7, 10, "tom.becker", prod, "eu-west-1", pb[1], "PutBucketAcl", acl(owner, partner), None, False),
        (
            9,
            12,
            "raj.patel",
            staging,
            "eu-west-1",
            sb[1],
            "PutBucketAcl",
            {"acl": "", "x-amz-acl": "private"},
            None,
            False,
        ),
        (
            12,
            9,
            "maria.garcia",
            prod,
            "eu-west-1",
            pb[4],
            "PutBucketPublicAccessBlock",
            {"publicAccessBlock": "", pab: blocks},
            None,
            False,
        ),
        (12, 10, "raj.patel", staging, "eu-west-1", sb[1], "DeleteBucketPolicy", {"policy": ""}, None, False),
        # Refused: outside both S3 detections.
        (
            5,
            15,
            "david.cohen",
            prod,
            "us-east-1",
            pb[1],
            "PutBucketPolicy",
            {
                "bucketPolicy": policy_doc([{**public_read, "Resource": f"arn:aws:s3:::{pb[1]}/*"}]),
                "policy": "",
            },
            "AccessDenied",
            None,
        ),
    ]
    for i, (day, hh, person, acct, region, bucket, name, extra, error, public) in enumerate(steps):
        ts = b.at(day, hh, (i * 11) % 60, 7 + i)
        sess = b.sso(person, acct, ts, console=i % 3 != 0)
        eid = b.call(
            sess,
            ts,
            S3,
            name,
            acct,
            region,
            bucket_params(bucket, region, **extra),
            error=error,
            read_only=False,
        )
        scenario = f"s3_{name}_{i}"
        # The first two steps are one story: emily opens the public site bucket (block, then policy).
        b.story = SITE_STORY if i < 2 else ""
        if public is None:
            b.label(scenario, None, [eid], f"{name} failed with {error}: outside both S3 detections.")
            continue
        b.label(
            scenario,
            "s3_bucket_permissions_changed",
            [eid],
            f"{name} on {bucket}.",
            not_ids=() if public else ("s3_bucket_made_public",),
        )
        if public:
            b.label(scenario, "s3_bucket_made_public", [eid], f"{name} exposes {bucket}.")
    b.story = SITE_STORY  # GuardDuty's two findings about that bucket
    ts = b.at(3, 16, 20)
    who = {"user": "emily.nguyen@example.com", "bucket": site}
    b.hook(
        "Policy:S3/BucketBlockPublicAccessDisabled",
        prod,
        "us-east-1",
        ts,
        api="DeleteBucketPublicAccessBlock",
        **who,
    )
    b.hook(
        "Policy:S3/BucketAnonymousAccessGranted", prod, "us-east-1", ts + 300, api="PutBucketPolicy", **who
    )
    b.story = ""

    # Object ACL (a data event) and the account-level public access block: not bucket permissions.
    ts = b.at(8, 9, 40)
    sess = b.sso("kenji.watanabe", prod, ts, console=False)
    obj_params = bucket_params(
        pb[0], "ap-southeast-2", key="img/logo.png", acl="", **{"x-amz-acl": "public-read"}
    )
    obj = b.call(sess, ts, S3, "PutObjectAcl", prod, "ap-southeast-2", obj_params, read_only=False)
    b.records[-1][1].update(managementEvent=False, eventCategory="Data")
    account_block = {
        "Host": f"{prod}.s3-control.ap-southeast-2.amazonaws.com",
        "publicAccessBlock": "",
        pab: {**blocks, "BlockPublicPolicy": False},
    }
    account_pab = b.call(
        sess,
        ts + 200,
        S3,
        "PutAccountPublicAccessBlock",
        prod,
        "ap-southeast-2",
        account_block,
        read_only=False,
    )
    b.label(
        "s3_object_acl_public",
        None,
        [obj],
        "PutObjectAcl public-read is object-level: outside S3 detections.",
    )
    b.label(
        "s3_account_public_access_block", None, [account_pab], "Account-level public access block: outside."
    )
