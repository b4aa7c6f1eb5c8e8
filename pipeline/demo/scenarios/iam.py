"""IAM change scenarios: every catalogue policy-change name, user and key creation, and look-alikes."""

from __future__ import annotations

from typing import Any

from pipeline.demo.identities import HOME_REGION
from pipeline.demo.records import java_date
from pipeline.demo.scenarios.base import Book, policy_text

IAM = "iam.amazonaws.com"
AWS_POLICY = "arn:aws:iam::aws:policy/"


def snake(name: str) -> str:
    """PutRolePolicy -> put_role_policy, for scenario names."""
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def iam_response(b: Book, name: str, params: dict[str, Any], acct: str, ts: int) -> dict[str, Any] | None:
    """responseElements of a successful IAM write (IAM's own 'Nov 1, 2026 1:33:28 PM' dates)."""
    user = params.get("userName", "")
    if name == "CreateUser":
        return {
            "user": {
                "path": "/",
                "userName": user,
                "userId": b.ids.key_id("AIDA"),
                "arn": f"arn:aws:iam::{acct}:user/{user}",
                "createDate": java_date(ts),
            }
        }
    if name == "CreateAccessKey":
        return {
            "accessKey": {
                "userName": user,
                "accessKeyId": b.ids.key_id("AKIA"),
                "status": "Active",
                "createDate": java_date(ts),
            }
        }
    if name == "CreatePolicyVersion":
        return {"policyVersion": {"versionId": "v2", "isDefaultVersion": True, "createDate": java_date(ts)}}
    if name in ("CreatePolicy", "CreateRole"):
        kind = name[6:].lower()
        return {
            kind: {"arn": f"arn:aws:iam::{acct}:{kind}/{params[kind + 'Name']}", "createDate": java_date(ts)}
        }
    return None


def iam_change_scenarios(b: Book) -> None:
    org = b.org
    mgmt, sec, prod, staging = org.management.id, org.security.id, org.prod.id, org.staging.id
    reports = policy_text(
        [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::*-reports/*"}]
    )
    deny_billing = policy_text([{"Effect": "Deny", "Action": "aws-portal:*", "Resource": "*"}])
    admin_doc = policy_text([{"Effect": "Allow", "Action": "*", "Resource": "*"}])
    lambda_trust = policy_text(
        [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    )
    cross_trust = policy_text(
        [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{sec}:root"}, "Action": "sts:AssumeRole"}]
    )
    boundary = f"arn:aws:iam::{prod}:policy/deploy-boundary"
    catalog_role = "staging-catalog-role"
    new_user = {"userName": "svc-terraform-ci"}
    pol = "iam_policy_changed"
    # (day, person, account, eventName, params, error, detection)
    steps: list[tuple[int, str, str, str, dict[str, Any], str | None, str | None]] = [
        (
            1,
            "maria.garcia",
            prod,
            "PutRolePolicy",
            {"roleName": "prod-orders-task-role", "policyName": "reports-read", "policyDocument": reports},
            None,
            pol,
        ),
        (
            2,
            "lucas.silva",
            mgmt,
            "PutUserPolicy",
            {"userName": "finops.reporting", "policyName": "cur-read", "policyDocument": reports},
            None,
            pol,
        ),
        (
            3,
            "lucas.silva",
            mgmt,
            "PutGroupPolicy",
            {"groupName": "Developers", "policyName": "deny-billing", "policyDocument": deny_billing},
            None,
            pol,
        ),
        (
            4,
            "tom.becker",
            staging,
            "AttachRolePolicy",
            {"roleName": catalog_role, "policyArn": AWS_POLICY + "ReadOnlyAccess"},
            None,
            pol,
        ),
        (
            5,
            "aisha.khan",
            sec,
            "AttachGroupPolicy",
            {"groupName": "SecurityAuditors", "policyArn": AWS_POLICY + "SecurityAudit"},
            None,
            pol,
        ),
        (
            6,
            "maria.garcia",
            prod,
            "CreatePolicyVersion",
            {"policyArn": boundary, "policyDocument": admin_doc, "setAsDefault": True},
            None,
            pol,
        ),
        (
            6,
            "maria.garcia",
            prod,
            "SetDefaultPolicyVersion",
            {"policyArn": boundary, "versionId": "v2"},
            None,
            pol,
        ),
        (
            0,
            "lucas.silva",
            mgmt,
            "AttachUserPolicy",
            {"userName": "it.helpdesk", "policyArn": AWS_POLICY + "job-function/ViewOnlyAccess"},
            None,
            pol,
        ),
        (
            9,
            "lucas.silva",
            mgmt,
            "CreateUser",
            {**new_user, "tags": [{"key": "owner", "value": "platform"}]},
            None,
            "iam_user_created",
        ),
        (9, "lucas.silva", mgmt, "CreateAccessKey", new_user, None, "iam_access_key_created"),
        # Near misses: refused, or not in the catalogue's list of policy changes.
        (
            4,
            "david.cohen",
            staging,
            "AttachRolePolicy",
            {"roleName": catalog_role, "policyArn": AWS_POLICY + "AdministratorAccess"},
            "AccessDenied",
            None,
        ),
        (
            7,
            "tom.becker",
            staging,
            "DetachRolePolicy",
            {"roleName": catalog_role, "policyArn": AWS_POLICY + "ReadOnlyAccess"},
            None,
            None,
        ),
        (
            7,
            "tom.becker",
            staging,
            "DeleteRolePolicy",
            {"roleName": catalog_role, "policyName": "tmp"},
            None,
            None,
        ),
        (
            10,
            "maria.garcia",
            prod,
            "CreatePolicy",
            {"policyName": "reports-read", "policyDocument": reports},
            None,
            None,
        ),
        (
            10,
            "maria.garcia",
            prod,
            "CreateRole",
            {"roleName": "reports-export-role", "assumeRolePolicyDocument": lambda_trust},
            None,
            None,
        ),
        (
            10,
            "maria.garcia",
            prod,
            "UpdateAssumeRolePolicy",
            {"roleName": "reports-export-role", "policyDocument": cross_trust},
            None,
            None,
        ),
        (11, "lucas.silva", mgmt, "CreateUser", new_user, "EntityAlreadyExists", None),
        (11, "lucas.silva", mgmt, "CreateAccessKey", new_user, "LimitExceeded", None),
    ]
    for i, (day, person, acct, name, params, error, detection) in enumerate(steps):
        ts = b.at(day, 11 + i % 6, (i * 7) % 60, 13)
        if name == "AttachUserPolicy":
            ts = b.at(day, 23, 58, 41)  # just before midnight: filed in the next day's folder
        sess = b.sso(person, acct, ts, console=i % 2 == 0)
        response = iam_response(b, name, params, acct, ts) if error is None else None
        eid = b.call(sess, ts, IAM, name, acct, HOME_REGION, params, response, error=error, read_only=False)
        what = f"{name} by {person}" + (f" failed with {error}" if error else "")
        # A user created and given a key minutes later: one story, two labelled steps.
        b.story = "user_created_with_key" if name in ("CreateUser", "CreateAccessKey") and not error else ""
        b.label(
            "iam_" + snake(name) + ("_failed" if error else ""),
            detection,
            [eid],
            what + ("" if detection else ": not a catalogue IAM change"),
        )
    b.story = ""
