"""The resolved actor over records shaped like real ones: a person across sessions, chains and
accounts; workloads; services; and an investigator's timeline of the person."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline import timeline
from pipeline.catalog.specs import load_specs
from pipeline.engines.duckdb import DuckDBEngine
from pipeline.lake.ingest import ingest_table
from pipeline.source.writer import write_cloudtrail
from pipeline.times import parse_iso

A, B, C, D = "111111111111", "222222222222", "333333333333", "444444444444"
SSO = f"arn:aws:iam::{A}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_5c1d2e3f4a5b6c7d"


def session(account: str, role: str, name: str, key: str | None, **context) -> dict:
    return {"type": "AssumedRole", "principalId": f"AROA{role.upper()[:8]}:{name}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{name}", "accountId": account,
            **({"accessKeyId": key} if key else {}),
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": context.pop("issuer", None)
                                                 or f"arn:aws:iam::{account}:role/{role}",
                                                 "accountId": account, "userName": role}, **context}}


def record(event_id: str, minute: int, identity: dict, name: str = "ListBuckets", account: str = A,
           **extra) -> dict:
    return {"eventVersion": "1.10", "eventID": event_id, "eventName": name, "eventSource": "s3.amazonaws.com",
            "eventTime": (parse_iso("2026-01-15T12:00:00Z") + timedelta(minutes=minute)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"),
            "awsRegion": "us-east-1", "recipientAccountId": account, "sourceIPAddress": "198.51.100.7",
            "userAgent": "aws-cli/2.15.0", "eventType": "AwsApiCall", "userIdentity": identity, **extra}


def assume(event_id: str, minute: int, caller: dict, issued_key: str, role_arn: str, account: str,
           name: str = "AssumeRole", **extra) -> dict:
    return record(event_id, minute, caller, name=name, account=account, eventSource="sts.amazonaws.com",
                  requestParameters={"roleArn": role_arn, "roleSessionName": "s"},
                  responseElements={"credentials": {"accessKeyId": issued_key, "sessionToken": "x",
                                                    "expiration": "Jan 15, 2026, 1:00:00 PM"},
                                    "assumedRoleUser": {"arn": role_arn}}, **extra)


RAJ = session(A, "AWSReservedSSO_Admin_5c1d2e3f4a5b6c7d", "raj@example.com", "ASIARAJSSO", issuer=SSO)
HOP1 = session(B, "ops-admin", "handoff", "ASIAHOP1")
HOP2 = session(C, "db-admin", "deeper", "ASIAHOP2")
HOP3 = session(D, "audit-admin", "deepest", "ASIAHOP3")
INSTANCE = session(A, "app-server", "i-0a1b2c3d4e5f60718", "ASIAINSTANCE", ec2RoleDelivery="2.0")
LAMBDA_ROLE = session(A, "thumbnailer-role", "thumbnailer", "ASIALAMBDA")
GITHUB = session(A, "github-deploy", "GitHubActions", "ASIAGITHUB")
SOURCE_ID = session(A, "partner-access", "temp", "ASIANOISSUER", sourceIdentity="maria@example.com")
UNPLACED = session(A, "legacy", "batch", "ASIAUNKNOWN")
RECORDS = [
    record("raj-own", 0, RAJ),
    assume("raj-assumes-b", 1, RAJ, "ASIAHOP1", f"arn:aws:iam::{B}:role/ops-admin", B),
    record("raj-in-b", 2, HOP1, account=B),
    assume("b-assumes-c", 3, HOP1, "ASIAHOP2", f"arn:aws:iam::{C}:role/db-admin", C),
    record("raj-in-c", 4, HOP2, account=C),
    assume("c-assumes-d", 5, HOP2, "ASIAHOP3", f"arn:aws:iam::{D}:role/audit-admin", D),
    record("raj-in-d", 6, HOP3, account=D),
    record("instance-call", 5, INSTANCE),
    assume("lambda-service-issues", 6, {"type": "AWSService", "invokedBy": "lambda.amazonaws.com"},
           "ASIALAMBDA", f"arn:aws:iam::{A}:role/thumbnailer-role", A,
           sourceIPAddress="lambda.amazonaws.com"),
    record("lambda-call", 7, LAMBDA_ROLE),
    assume("github-oidc", 8, {"type": "WebIdentityUser", "userName": "repo:acme/app:ref:refs/heads/main",
                              "principalId": "token.actions.githubusercontent.com:repo:acme/app"},
           "ASIAGITHUB", f"arn:aws:iam::{A}:role/github-deploy", A, name="AssumeRoleWithWebIdentity"),
    record("github-call", 9, GITHUB),
    record("source-identity-call", 10, SOURCE_ID),
    record("sqs-on-behalf", 11, RAJ, sourceIPAddress="sqs.amazonaws.com", userAgent="sqs.amazonaws.com",
           eventSource="kms.amazonaws.com", eventName="Decrypt"),
    record("cfn-on-behalf", 12, {**RAJ, "invokedBy": "cloudformation.amazonaws.com"}),
    record("root-call", 13, {"type": "Root", "arn": f"arn:aws:iam::{A}:root", "accountId": A}),
    record("iam-user-call", 14, {"type": "IAMUser", "arn": f"arn:aws:iam::{A}:user/bob", "accountId": A,
                                 "userName": "bob", "accessKeyId": "AKIABOB"}),
    record("unplaced-call", 15, UNPLACED),
]
EXPECTED = {
    "raj-own": ("human", "raj@example.com"),
    "raj-in-b": ("human", "raj@example.com"),
    "raj-in-c": ("human", "raj@example.com"),
    "raj-in-d": ("human", "raj@example.com"),  # three issuing calls up: the longest chain followed
    "instance-call": ("workload", INSTANCE["arn"]),
    "lambda-call": ("workload", LAMBDA_ROLE["arn"]),
    "github-call": ("workload", "repo:acme/app:ref:refs/heads/main"),
    "source-identity-call": ("human", "maria@example.com"),
    "sqs-on-behalf": ("service", "sqs.amazonaws.com"),
    "cfn-on-behalf": ("service", "cloudformation.amazonaws.com"),
    "root-call": ("root", f"arn:aws:iam::{A}:root"),
    "iam-user-call": ("human", f"arn:aws:iam::{A}:user/bob"),
    "unplaced-call": ("unknown", UNPLACED["arn"]),
}
START, END = parse_iso("2026-01-15T11:00:00Z"), parse_iso("2026-01-15T13:00:00Z")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    root = tmp_path_factory.mktemp("actors")
    write_cloudtrail(root / "src", RECORDS)
    specs = load_specs()
    ingest_table(specs["cloudtrail"], root / "src", root / "lake")
    engine = DuckDBEngine(root / "lake", specs)
    yield engine
    engine.close()


def test_every_record_gets_its_actor(engine):
    got = {r.event_id: (r.actor_type, r.actor)
           for account in (A, B, C, D) for r in timeline(engine, "account", account, START, END).itertuples()}
    assert {k: got[k] for k in EXPECTED} == EXPECTED


def test_a_persons_timeline_spans_their_chained_sessions_across_accounts(engine):
    frame = timeline(engine, "actor", "raj@example.com", START, END)
    assert list(frame["event_id"]) == ["raj-own", "raj-assumes-b", "raj-in-b", "b-assumes-c", "raj-in-c",
                                       "c-assumes-d", "raj-in-d"]
    assert set(frame["account_id"].astype(str)) == {A, B, C, D}


def test_a_window_that_starts_after_the_chain_was_made_still_links_it(engine):
    # The chain's AssumeRole calls happened at 12:01 and 12:03: a window that starts at 12:04 still
    # reaches them (they lie within actor_session_minutes before it).
    later = timeline(engine, "actor", "raj@example.com", parse_iso("2026-01-15T12:04:00Z"), END)
    assert list(later["event_id"]) == ["raj-in-c", "c-assumes-d", "raj-in-d"]
