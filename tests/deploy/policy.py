"""A small IAM policy evaluator, and what each recorded AWS call needs from it.

Why not moto with IAM enforcement: moto's access control checks the action but hardly ever the
resource (and never for Athena, Glue or Secrets Manager), evaluates no conditions, and knows
nothing of what Athena does *as the caller* (reading Glue and S3, writing results). A policy
that granted ``s3:GetObject`` on the wrong prefix would pass there. This evaluator is the part of
IAM our role policies use: Allow/Deny statements, ``Action`` with ``*``/``?`` wildcards
(case-insensitive), ``Resource`` ARNs with wildcards (case-sensitive), explicit Deny wins, nothing
allowed unless a statement allows it. A policy using anything else (NotAction, NotResource,
Condition, NotPrincipal) fails loudly rather than being evaluated wrongly.

The calls come from the code itself (:mod:`tests.deploy.recorder`), so they cannot drift from it;
what each call needs (an IAM action on an ARN, plus what the service does with the caller's
credentials) is written down once here, from the AWS service authorization reference.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tests.deploy.recorder import Call


@dataclass(frozen=True)
class Need:
    """One permission a call needs: ``action`` on ``resource``; ``why`` names the call."""

    action: str
    resource: str
    why: str


@dataclass(frozen=True)
class Context:
    """Names the deployment gave things, to turn call parameters into ARNs."""

    account: str
    region: str
    workgroup: str
    database: str
    log_bucket: str
    kms_key_arn: str
    results_prefix: str  # where Athena writes results: <work prefix>/athena-results


_UNSUPPORTED = ("NotAction", "NotResource", "Condition", "NotPrincipal")


def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """The policy's statements, refusing any element this evaluator does not implement."""
    found = _list(policy["Statement"]) if isinstance(policy["Statement"], str) else policy["Statement"]
    found = found if isinstance(found, list) else [found]
    for statement in found:
        unsupported = [key for key in _UNSUPPORTED if key in statement]
        if unsupported:
            raise AssertionError(
                f"statement {statement.get('Sid')}: {unsupported} not supported by this evaluator"
            )
    return found


def action_matches(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def resource_matches(pattern: str, resource: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, resource) is not None


def _matches(statement: dict[str, Any], action: str, resource: str) -> bool:
    return any(action_matches(p, action) for p in _list(statement["Action"])) and any(
        resource_matches(p, resource) for p in _list(statement["Resource"])
    )


def decide(policies: Iterable[dict[str, Any]], action: str, resource: str) -> str:
    """``Allow``, ``Deny`` (explicit) or ``ImplicitDeny`` for one action on one resource."""
    allowed = False
    for policy in policies:
        for statement in statements(policy):
            if _matches(statement, action, resource):
                if statement["Effect"] == "Deny":
                    return "Deny"
                allowed = allowed or statement["Effect"] == "Allow"
    return "Allow" if allowed else "ImplicitDeny"


def granted(policies: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    """Every (statement id, action pattern) an Allow statement grants."""
    return [
        (str(s.get("Sid", "?")), pattern)
        for policy in policies
        for s in statements(policy)
        if s["Effect"] == "Allow"
        for pattern in _list(s["Action"])
    ]


def used(policies: Iterable[dict[str, Any]], needs: Iterable[Need]) -> set[tuple[str, str]]:
    """The (statement id, action pattern) pairs that allow at least one need."""
    hits = set()
    for policy in policies:
        for s in statements(policy):
            if s["Effect"] != "Allow":
                continue
            for pattern in _list(s["Action"]):
                if any(
                    action_matches(pattern, n.action)
                    and any(resource_matches(r, n.resource) for r in _list(s["Resource"]))
                    for n in needs
                ):
                    hits.add((str(s.get("Sid", "?")), pattern))
    return hits


# --- what each call needs -------------------------------------------------------------------

_S3_OBJECT = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
}
_S3_BUCKET = {
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "GetBucketLocation": "s3:GetBucketLocation",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
}
# IAM authorizes these on the user; GetAccessKeyLastUsed on the key's owner (from the response).
_IAM_USER = ("GetUser", "ListAccessKeys", "UpdateAccessKey", "GetAccessKeyLastUsed")
_NO_PERMISSION = {("sts", "GetCallerIdentity")}  # always allowed, no IAM action
_TABLE = re.compile(r'"?([A-Za-z0-9_]+)"?\s*\.\s*"?([A-Za-z0-9_]+)"?')


def _s3(call: Call, ctx: Context) -> list[Need]:
    bucket, key = call.params.get("Bucket", ""), call.params.get("Key", "")
    why = call.name
    if call.operation in _S3_OBJECT:
        needs = [Need(_S3_OBJECT[call.operation], f"arn:aws:s3:::{bucket}/{key}", why)]
        if bucket == ctx.log_bucket and call.operation != "DeleteObject":  # SSE-KMS with the log key
            kms = "kms:Decrypt" if _S3_OBJECT[call.operation] == "s3:GetObject" else "kms:GenerateDataKey"
            needs.append(Need(kms, ctx.kms_key_arn, f"{why} (SSE-KMS)"))
        return needs
    if call.operation == "DeleteObjects":
        return [
            Need("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{o['Key']}", why)
            for o in call.params.get("Delete", {}).get("Objects", [])
        ]
    if call.operation in _S3_BUCKET:
        return [Need(_S3_BUCKET[call.operation], f"arn:aws:s3:::{bucket}", why)]
    raise AssertionError(f"no IAM mapping for {why}: add it to tests/deploy/policy.py")


def _athena(call: Call, ctx: Context) -> list[Need]:
    workgroup = call.params.get("WorkGroup") or ctx.workgroup
    arn = f"arn:aws:athena:{ctx.region}:{ctx.account}:workgroup/{workgroup}"
    needs = [Need(f"athena:{call.operation}", arn, call.name)]
    if call.operation == "StartQueryExecution":
        # Athena plans and runs the query with the caller's permissions: the catalog, the tables'
        # objects (and their KMS key), and the result location.
        why = "StartQueryExecution (Athena as the caller)"
        catalog = f"arn:aws:glue:{ctx.region}:{ctx.account}:catalog"
        needs.append(
            Need("glue:GetDatabase", f"arn:aws:glue:{ctx.region}:{ctx.account}:database/{ctx.database}", why)
        )
        for database, table in _TABLE.findall(call.params.get("QueryString", "")):
            if database == ctx.database:
                needs += [
                    Need("glue:GetTable", catalog, why),
                    Need(
                        "glue:GetTable", f"arn:aws:glue:{ctx.region}:{ctx.account}:database/{database}", why
                    ),
                    Need(
                        "glue:GetTable",
                        f"arn:aws:glue:{ctx.region}:{ctx.account}:table/{database}/{table}",
                        why,
                    ),
                ]
        bucket = f"arn:aws:s3:::{ctx.log_bucket}"
        needs += [
            Need("s3:ListBucket", bucket, why),
            Need("s3:GetBucketLocation", bucket, why),
            Need("s3:GetObject", f"{bucket}/AWSLogs/o-example/111111111111/CloudTrail/x.json.gz", why),
            Need("kms:Decrypt", ctx.kms_key_arn, why),
            Need("s3:PutObject", f"{bucket}/{ctx.results_prefix}/query.csv", why),
            Need("s3:AbortMultipartUpload", f"{bucket}/{ctx.results_prefix}/query.csv", why),
            Need("kms:GenerateDataKey", ctx.kms_key_arn, why),
        ]
    return needs


def _glue(call: Call, ctx: Context) -> list[Need]:
    database = call.params.get("DatabaseName") or call.params.get("Name")
    needs = [
        Need(f"glue:{call.operation}", f"arn:aws:glue:{ctx.region}:{ctx.account}:catalog", call.name),
        Need(
            f"glue:{call.operation}",
            f"arn:aws:glue:{ctx.region}:{ctx.account}:database/{database}",
            call.name,
        ),
    ]
    if call.operation == "GetTable":
        needs.append(
            Need(
                "glue:GetTable",
                f"arn:aws:glue:{ctx.region}:{ctx.account}:table/{database}/{call.params['Name']}",
                call.name,
            )
        )
    return needs


def _iam(call: Call, ctx: Context) -> list[Need]:
    if call.operation not in _IAM_USER:
        raise AssertionError(f"no IAM mapping for {call.name}: add it to tests/deploy/policy.py")
    user = call.params.get("UserName") or (call.response or {}).get("UserName") or "unknown-owner"
    return [Need(f"iam:{call.operation}", f"arn:aws:iam::{ctx.account}:user/{user}", call.name)]


def _secret(call: Call, ctx: Context) -> list[Need]:
    secret = call.params["SecretId"]
    arn = (
        secret
        if secret.startswith("arn:")
        else f"arn:aws:secretsmanager:{call.region}:{ctx.account}:secret:{secret}-AbCdEf"
    )  # the random suffix
    return [Need("secretsmanager:GetSecretValue", arn, call.name)]


def needs_of(call: Call, ctx: Context) -> list[Need]:
    """What ``call`` needs from the caller's policies."""
    if (call.service, call.operation) in _NO_PERMISSION:
        return []
    if call.service == "s3":
        return _s3(call, ctx)
    if call.service == "athena":
        return _athena(call, ctx)
    if call.service == "glue":
        return _glue(call, ctx)
    if call.service == "iam":
        return _iam(call, ctx)
    if call.service == "secretsmanager":
        return _secret(call, ctx)
    if call.service in ("ec2", "cloudtrail"):  # no resource-level permission for what the code calls
        return [Need(f"{call.service}:{call.operation}", "*", call.name)]
    if call.service == "securityhub" and call.operation == "BatchImportFindings":
        return [
            Need(
                "securityhub:BatchImportFindings",
                f"arn:aws:securityhub:{call.region}:{ctx.account}:product/{ctx.account}/default",
                call.name,
            )
        ]
    raise AssertionError(f"no IAM mapping for {call.name}: add it to tests/deploy/policy.py")
