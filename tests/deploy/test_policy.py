"""The small policy evaluator the permission tests rely on: it must refuse what it cannot judge."""

from __future__ import annotations

import pytest

from tests.deploy.policy import Need, decide, granted, used

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Read",
            "Effect": "Allow",
            "Action": ["s3:Get*", "s3:ListBucket"],
            "Resource": "arn:aws:s3:::logs/*",
        },
        {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::logs"},
        {
            "Sid": "NoSecrets",
            "Effect": "Deny",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::logs/secret/*",
        },
    ],
}


@pytest.mark.parametrize(
    ("action", "resource", "expected"),
    [
        ("s3:GetObject", "arn:aws:s3:::logs/AWSLogs/a.json.gz", "Allow"),
        ("S3:getobject", "arn:aws:s3:::logs/x", "Allow"),  # actions are case-insensitive
        ("s3:GetObject", "arn:aws:s3:::Logs/x", "ImplicitDeny"),  # resources are not
        ("s3:GetObject", "arn:aws:s3:::logs/secret/k", "Deny"),  # an explicit Deny wins
        ("s3:PutObject", "arn:aws:s3:::logs/x", "ImplicitDeny"),
        ("s3:ListBucket", "arn:aws:s3:::logs", "Allow"),
        ("s3:ListBucket", "arn:aws:s3:::other", "ImplicitDeny"),
    ],
)
def test_decide(action: str, resource: str, expected: str) -> None:
    assert decide([POLICY], action, resource) == expected


def test_unused_grants_are_visible() -> None:
    needs = [Need("s3:GetObject", "arn:aws:s3:::logs/a", "s3:GetObject")]
    assert set(granted([POLICY])) - used([POLICY], needs) == {
        ("Read", "s3:ListBucket"),
        ("List", "s3:ListBucket"),
    }


def test_conditions_are_refused_not_ignored() -> None:
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            }
        ]
    }
    with pytest.raises(AssertionError, match="not supported"):
        decide([policy], "s3:GetObject", "arn:aws:s3:::x/y")
