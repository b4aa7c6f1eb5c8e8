"""Example callers for detection examples: ``identity: sso`` in a record instead of a userIdentity.

Every detection's examples replay its records as a person's IAM Identity Center session, a role
chained from it in another account, and an EC2 instance's credentials (docs/actors.md), so each
detection shows whether it fires for who did it, not for how their credentials look. A chained
or CI identity brings the STS record that issued its credentials, as CloudTrail would hold it.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from pipeline import times
from pipeline.source.writer import DEFAULT_ACCOUNT

# `identity: <name>` in an example record stands for one of these callers (docs/actors.md):
# a person's IAM Identity Center session, a role session chained from it in another account
# (the example gains the AssumeRole record that issued its key), an EC2 instance's credentials,
# a GitHub Actions OIDC role session (with its AssumeRoleWithWebIdentity record), and a call an
# AWS service made on a principal's behalf.
_ORG_ACCOUNT = "222222222222"
_SSO_ROLE = "AWSReservedSSO_Admin_0123abcd"
_SSO_ISSUER = f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{_SSO_ROLE}"
DEFAULT_TIME = "2026-01-15T12:00:00Z"


def _issuer(account: str, role: str, arn: str | None = None) -> dict[str, str]:
    arn = arn or f"arn:aws:iam::{account}:role/{role}"
    return {"type": "Role", "arn": arn, "accountId": account, "userName": role}


IDENTITIES: dict[str, dict[str, Any]] = {
    "sso": {
        "type": "AssumedRole", "principalId": "AROAEXAMPLESSO:raj@example.com",
        "arn": f"arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/AWSReservedSSO_Admin_0123abcd/raj@example.com",
        "accountId": DEFAULT_ACCOUNT, "accessKeyId": "ASIAEXAMPLESSORAJ",
        "sessionContext": {
            "sessionIssuer": _issuer(DEFAULT_ACCOUNT, _SSO_ROLE, _SSO_ISSUER),
            "attributes": {"mfaAuthenticated": "false", "creationDate": "2026-01-15T08:00:00Z"},
        },
    },
    "chain": {
        "type": "AssumedRole", "principalId": "AROAEXAMPLEOPS:ops-handoff",
        "arn": f"arn:aws:sts::{_ORG_ACCOUNT}:assumed-role/ops-admin/ops-handoff",
        "accountId": _ORG_ACCOUNT, "accessKeyId": "ASIAEXAMPLECHAINED",
        "sessionContext": {"sessionIssuer": _issuer(_ORG_ACCOUNT, "ops-admin")},
    },
    "workload": {
        "type": "AssumedRole", "principalId": "AROAEXAMPLEAPP:i-0a1b2c3d4e5f60718",
        "arn": f"arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/app-server/i-0a1b2c3d4e5f60718",
        "accountId": DEFAULT_ACCOUNT, "accessKeyId": "ASIAEXAMPLEINSTANCE",
        "sessionContext": {"sessionIssuer": _issuer(DEFAULT_ACCOUNT, "app-server"), "ec2RoleDelivery": "2.0"},
    },
    "ci": {
        "type": "AssumedRole", "principalId": "AROAEXAMPLECI:GitHubActions",
        "arn": f"arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/github-deploy/GitHubActions",
        "accountId": DEFAULT_ACCOUNT, "accessKeyId": "ASIAEXAMPLEGITHUB",
        "sessionContext": {"sessionIssuer": _issuer(DEFAULT_ACCOUNT, "github-deploy")},
    },
    "service": {
        "type": "AssumedRole", "principalId": "AROAEXAMPLESTACK:AWSCloudFormation",
        "arn": f"arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/stack-role/AWSCloudFormation",
        "accountId": DEFAULT_ACCOUNT, "invokedBy": "cloudformation.amazonaws.com",
    },
}


def _issuing_record(identity: str, record: dict[str, Any]) -> dict[str, Any] | None:
    """The STS record that issued an example identity's credentials, a few minutes before it."""
    if identity not in ("chain", "ci"):
        return None
    issued = IDENTITIES[identity]
    when = times.iso_z(times.parse_iso(record.get("eventTime", DEFAULT_TIME)) - timedelta(minutes=5))
    base = {"eventID": f"issue-{record['eventID']}", "eventTime": when, "eventSource": "sts.amazonaws.com",
            "readOnly": True, "resources": [],
            "responseElements": {"credentials": {"accessKeyId": issued["accessKeyId"]},
                                 "assumedRoleUser": {"arn": issued["arn"]}}}
    if identity == "chain":  # raj's Identity Center session assumes a role in another account
        return {**base, "eventName": "AssumeRole", "recipientAccountId": _ORG_ACCOUNT,
                "requestParameters": {"roleArn": f"arn:aws:iam::{_ORG_ACCOUNT}:role/ops-admin",
                                      "roleSessionName": "ops-handoff"},
                "userIdentity": IDENTITIES["sso"]}
    subject = "repo:example-org/app:ref:refs/heads/main"
    return {**base, "eventName": "AssumeRoleWithWebIdentity", "sourceIPAddress": "20.1.2.3",
            "requestParameters": {"roleArn": f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/github-deploy",
                                  "roleSessionName": "GitHubActions"},
            "userIdentity": {"type": "WebIdentityUser", "userName": subject,
                             "principalId": "arn:aws:iam::111111111111:oidc-provider/"
                                            f"token.actions.githubusercontent.com:sts.amazonaws.com:{subject}"}}


def expand_identities(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with ``identity: <name>`` get that caller, plus the record issuing its credentials."""
    out = []
    for record in records:
        name = record.get("identity")
        if name is None:
            out.append(record)
            continue
        if name not in IDENTITIES:
            raise ValueError(f"example record {record.get('eventID')}: unknown identity {name!r} "
                             f"(known: {', '.join(IDENTITIES)})")
        record = {k: v for k, v in record.items() if k != "identity"}
        record["userIdentity"] = copy.deepcopy(IDENTITIES[name])
        if name == "chain":
            record.setdefault("recipientAccountId", _ORG_ACCOUNT)
        issuing = _issuing_record(name, record)
        out.extend([issuing, record] if issuing else [record])
    return out
