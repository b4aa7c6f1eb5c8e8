"""Least privilege, proven: the role policies exactly as `terraform apply` wrote them, against every
AWS call the code makes.

The calls are recorded from botocore (tests/deploy/recorder.py) while the real code runs against
moto with the deployed functions' own environment: the runner Lambda handler doing one tick on
Athena (S3 source, Glue tables, workgroup, state and findings store on S3, log file validation,
a Slack sink whose webhook is a Secrets Manager secret), once on the hot tier (its default: batch,
manifest, a killed tick's file to delete) and once on the plain path, and the response handler taking every
action it has (quarantine with snapshots and a pre-existing ingress rule to strip, key
deactivation with and without the owner's name, public access block on a bucket without one, the
S3 audit log, the Slack notification). Each call becomes the IAM permissions it needs
(tests/deploy/policy.py, which says why a small evaluator and not moto's IAM enforcement), then:

- every permission needed is allowed by the role's policy;
- every action the policy grants is needed by some call, or is taken by the Lambda service with
  the role (logs, the failure queue), listed below with the reason;
- removing any one needed action from the policy makes the first check fail (so it can fail).
"""

from __future__ import annotations

import gzip
import json
import os
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest

from pipeline.catalog.athena import catalog_settings
from pipeline.catalog.glue import deploy_catalog
from pipeline.catalog.specs import load_specs
from pipeline.config import load_settings
from pipeline.detections.spec import load_detections
from tests.deploy.policy import Context, Need, decide, granted, needs_of, used
from tests.deploy.recorder import Call, record_calls
from tests.deploy.support import LOG_BUCKET, SLACK_SECRET, Deployment
from tests.helpers import FINDING_COLUMNS, athena_result, root_login
from tests.response.builders import detection, ec2_finding, key_finding, make_instance, sample

pytestmark = [pytest.mark.slow, pytest.mark.aws]
REGION = "us-east-1"
ACCOUNT = "123456789012"
# Taken by the Lambda service with the function's role, never by our code: its log stream and
# events, and a failed asynchronous invocation's record on the failure queue.
SERVICE_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"}
ROW = ["r1", "2026-01-15T11:40:00Z", ACCOUNT, REGION, f"arn:aws:iam::{ACCOUNT}:root", "198.51.100.1"]
COLUMNS = FINDING_COLUMNS
_RECORDED: dict[str, list[Call]] = {}


@pytest.fixture
def webhook() -> Iterator[list[bytes]]:
    """A Slack webhook on 127.0.0.1 that records the bodies posted to it."""
    posted: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            posted.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.posted = posted  # type: ignore[attr-defined]
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hook"  # type: ignore[attr-defined]
    yield server  # type: ignore[misc]
    server.shutdown()
    server.server_close()


def _function_env(
    deployment: Deployment, name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto_endpoint: str
) -> dict[str, str]:
    """The deployed function's environment, as Lambda would set it, pointed at the test's moto."""
    env = deployment.resource(f'aws_lambda_function.this["{name}"]')["environment"][0]["variables"]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("TRAILGUARD_DATA_DIR", str(tmp_path / "lambda-tmp"))  # /tmp/trailguard in Lambda
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.delenv("TRAILGUARD_CONFIG", raising=False)
    tmp_path.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(tmp_path)  # no trailguard.toml: the environment is the whole configuration
    return env


def _common_resources(webhook_url: str) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=LOG_BUCKET)
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=SLACK_SECRET, SecretString=webhook_url
    )


def _run_tick(
    deployment: Deployment,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    moto_endpoint: str,
    can_athena_results: Any,
    webhook: Any,
    hot: bool,
) -> list[Call]:
    """One tick as deployed: on the hot tier (the deployment's default, ``auto`` with the lake set)
    or the plain path (``hot_tier = false``), each with the objects its reads need."""
    env = _function_env(deployment, "runner", monkeypatch, tmp_path, moto_endpoint)
    assert env["TRAILGUARD_SCHEDULE_HOT_TIER"] == "auto" and env["TRAILGUARD_CATALOG_LAKE_URI"].startswith("s3://")
    if not hot:
        monkeypatch.setenv("TRAILGUARD_SCHEDULE_HOT_TIER", "false")
    for detection_id in load_detections():  # one detection keeps the canned Athena answers in step
        if detection_id != "root_account_usage":
            monkeypatch.setenv(f"TRAILGUARD_DETECTIONS_{detection_id.upper()}_ENABLED", "false")
    monkeypatch.setenv("TRAILGUARD_SCHEDULE_FIRST_RUN_LOOKBACK_MINUTES", "15")
    monkeypatch.setenv("TRAILGUARD_ATHENA_POLL_INTERVAL", "0.01")
    _common_resources(webhook.url)
    settings = load_settings()
    deploy_catalog(catalog_settings(settings), load_specs(), boto3.client("glue", region_name=REGION))
    boto3.client("athena", region_name=REGION).create_work_group(
        Name="trailguard",
        Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{LOG_BUCKET}/trailguard/athena-results/"},
            "EnforceWorkGroupConfiguration": True,
            "BytesScannedCutoffPerQuery": 10 * 1024**3,
        },
    )
    s3 = boto3.client("s3", region_name=REGION)
    root = {"type": "Root", "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT}
    login = root_login("r1", "2026-01-15T11:40:00Z") | {"recipientAccountId": ACCOUNT, "userIdentity": root}
    for day in ("15", "16"):
        s3.put_object(
            Bucket=LOG_BUCKET,
            Body=gzip.compress(json.dumps({"Records": [login]}).encode()),
            Key=f"AWSLogs/{deployment.org_id}/{ACCOUNT}/CloudTrail/{REGION}/2026/01/{day}/"
            f"{ACCOUNT}_CloudTrail_{REGION}_20260115T1140Z_a.json.gz",
        )
    # What a killed tick leaves: a batch file its manifest never named (the next tick deletes it).
    lake = env["TRAILGUARD_CATALOG_LAKE_URI"].removeprefix(f"s3://{LOG_BUCKET}/")
    orphan = f"{lake}/cloudtrail_hot/2026/01/15/1130/part-orphan.parquet"
    s3.put_object(Bucket=LOG_BUCKET, Body=b"PAR1", Key=orphan)
    # A digest file: log file validation runs, and asks CloudTrail for its public keys (which moto
    # lacks: the recorder answers that call, with no keys, after recording it).
    s3.put_object(
        Bucket=LOG_BUCKET,
        Body=b"not a digest",
        Key=f"AWSLogs/{deployment.org_id}/{ACCOUNT}/CloudTrail-Digest/{REGION}/2026/01/15/"
        f"{ACCOUNT}_CloudTrail-Digest_{REGION}_trailguard-org-trail_{REGION}_20260115T100000Z.json.gz",
    )
    can_athena_results(athena_result(COLUMNS, [ROW]))
    from pipeline.lambda_handler import handler

    with record_calls({"cloudtrail:ListPublicKeys": {"PublicKeyList": []}}) as calls:
        summary = handler({"time": "2026-01-15T12:00:00Z", "detail-type": "Scheduled Event"})
    assert [t["detection_id"] for t in summary["ran"]][:1] == ["root_account_usage"], summary
    assert summary["ran"][0]["new"] == 1, summary["ran"][0]
    queried = any(c.name == "athena:StartQueryExecution" for c in calls)
    assert queried is not hot, "the hot tier's CloudTrail detection ran in the runner, not on Athena"
    assert summary["integrity"]["status"] != "no digests", summary["integrity"]
    assert webhook.posted  # findings reached Slack through the secret
    return calls


def _run_responses(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto_endpoint: str, webhook: Any
) -> list[Call]:
    env = _function_env(deployment, "response", monkeypatch, tmp_path, moto_endpoint)
    assert (
        env["TRAILGUARD_RESPONSE_DRY_RUN"] == "false"
        and env["TRAILGUARD_RESPONSE_SNAPSHOT_VOLUMES"] == "true"
    )
    _common_resources(webhook.url)
    ec2, iam = boto3.client("ec2", region_name=REGION), boto3.client("iam", region_name=REGION)
    instance, _, vpc = make_instance(ec2)
    # A quarantine group someone opened up: quarantine must strip its ingress rule.
    group = ec2.create_security_group(GroupName="trailguard-quarantine", Description="q", VpcId=vpc)[
        "GroupId"
    ]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    second, _, _ = make_instance(ec2)  # in a VPC without a quarantine group yet: it is created
    named, _ = key_finding(iam, "alice")
    iam.create_user(UserName="bob")
    unnamed = iam.create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]
    bucket = sample("s3")
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="exposed-data")
    bucket["resource"]["s3BucketDetails"][0]["name"] = "exposed-data"
    events = [
        ec2_finding(instance),
        ec2_finding(second),
        named,
        detection("iam_access_key_created", access_key_id=unnamed),
        {
            "version": "0",
            "id": "ev-1",
            "detail-type": "GuardDuty Finding",
            "source": "aws.guardduty",
            "region": REGION,
            "detail": bucket,
        },
    ]
    from pipeline.response.handler import handler

    outcomes = []
    with record_calls() as calls:
        for event in events:
            result = handler(event, type("Context", (), {"aws_request_id": "req"})())
            assert not result["audit_errors"]
            outcomes += [(d["action"], d["outcome"]) for d in result["decisions"]]
    assert [o for o in outcomes if o[0] != "notify"] == [
        ("quarantine_instance", "done"),
        ("quarantine_instance", "done"),
        ("deactivate_access_key", "done"),
        ("deactivate_access_key", "done"),
        ("block_public_access", "done"),
    ], outcomes
    assert [o for o in outcomes if o[0] == "notify"] == [("notify", "delivered")] * 5
    return calls


@pytest.fixture
def recorded(
    request: pytest.FixtureRequest,
    deployment: Deployment,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    moto_endpoint: str,
    can_athena_results: Any,
    webhook: Any,
) -> dict[str, list[Call]]:
    """Both recordings, made once per session (they are data; moto is reset for every test anyway)."""
    if not _RECORDED:
        _RECORDED["runner"] = []
        for hot in (True, False):
            _RECORDED["runner"] += _run_tick(deployment, monkeypatch, tmp_path / f"runner-hot-{hot}",
                                             moto_endpoint, can_athena_results, webhook, hot)
            _reset(monkeypatch, moto_endpoint, webhook)
        _RECORDED["response"] = _run_responses(
            deployment, monkeypatch, tmp_path / "response", moto_endpoint, webhook
        )
    return _RECORDED


def _reset(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, webhook: Any) -> None:
    """A fresh account and environment between recordings."""
    for name in [n for n in os.environ if n.startswith("TRAILGUARD_")]:
        monkeypatch.delenv(name)
    webhook.posted.clear()
    reset = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(reset, timeout=10):  # noqa: S310 - 127.0.0.1 only
        pass


def _context(deployment: Deployment) -> Context:
    return Context(
        account=ACCOUNT,
        region=REGION,
        workgroup="trailguard",
        database="trailguard",
        log_bucket=LOG_BUCKET,
        kms_key_arn=deployment.outputs["kms_key_arn"],
        results_prefix="trailguard/athena-results",
    )


def _needs(calls: list[Call], deployment: Deployment) -> list[Need]:
    ctx = _context(deployment)
    return [need for call in calls for need in needs_of(call, ctx)]


def _denied(policy: dict[str, Any], needs: list[Need]) -> list[str]:
    return sorted(
        {
            f"{n.action} on {n.resource} ({n.why})"
            for n in needs
            if decide([policy], n.action, n.resource) != "Allow"
        }
    )


@pytest.mark.parametrize("role", ["runner", "response"])
def test_every_call_the_code_makes_is_allowed(
    role: str, deployment: Deployment, recorded: dict[str, list[Call]]
) -> None:
    needs = _needs(recorded[role], deployment)
    assert needs, "nothing was recorded"
    assert _denied(deployment.policy(role), needs) == []


@pytest.mark.parametrize("role", ["runner", "response"])
def test_the_role_grants_nothing_the_code_never_takes(
    role: str, deployment: Deployment, recorded: dict[str, list[Call]]
) -> None:
    policy = deployment.policy(role)
    hits = used([policy], _needs(recorded[role], deployment))
    unused = sorted(
        f"{sid}: {action}"
        for sid, action in granted([policy])
        if (sid, action) not in hits and action not in SERVICE_ACTIONS
    )
    assert unused == []


@pytest.mark.parametrize("role", ["runner", "response"])
def test_removing_any_needed_action_is_caught(
    role: str, deployment: Deployment, recorded: dict[str, list[Call]]
) -> None:
    policy, needs = deployment.policy(role), _needs(recorded[role], deployment)
    needed = sorted({action for sid, action in used([policy], needs)})
    assert needed
    for action in needed:
        pruned = json.loads(json.dumps(policy))
        for statement in pruned["Statement"]:
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            statement["Action"] = [a for a in actions if a != action] or ["none:Nothing"]
        assert _denied(pruned, needs), (
            f"{action} removed from the {role} policy, yet every call is still allowed"
        )


def test_the_recordings_cover_what_the_issue_names(recorded: dict[str, list[Call]]) -> None:
    """The calls the review found missing from the response role are among those recorded."""
    names = {c.name for c in recorded["response"]}
    assert {
        "iam:GetUser",
        "iam:GetAccessKeyLastUsed",
        "ec2:RevokeSecurityGroupIngress",
        "s3:HeadBucket",
        "secretsmanager:GetSecretValue",
        "s3:PutObject",
    } <= names
    assert "ec2:ModifyInstanceAttribute" not in names
    runner = {c.name for c in recorded["runner"]}
    assert {
        "athena:StartQueryExecution",
        "s3:ListObjectsV2",
        "s3:PutObject",
        "s3:GetObject",
        "secretsmanager:GetSecretValue",
    } <= runner


def test_bucket_policy_names_the_guardduty_detector(deployment: Deployment) -> None:
    policy = json.loads(deployment.resource("aws_s3_bucket_policy.logs")["policy"])
    detector = deployment.outputs["guardduty_detector_id"]
    for sid in ("GuardDutyGetBucketLocation", "GuardDutyExport"):
        statement = next(s for s in policy["Statement"] if s["Sid"] == sid)
        assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT
        assert statement["Condition"]["StringLike"]["aws:SourceArn"] == (
            f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/{detector}"
        )
