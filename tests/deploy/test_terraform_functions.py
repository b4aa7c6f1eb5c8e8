"""`terraform apply` creates both functions from `make package`'s zips and wires everything to them.

One apply on a private moto server (tests/deploy/conftest.py); each test reads moto or the state.
"""

from __future__ import annotations

import json

import pytest

from tests.deploy.support import LOG_BUCKET, Deployment, build_zips

pytestmark = [pytest.mark.slow, pytest.mark.aws]
HANDLERS = {"runner": "pipeline.lambda_handler.handler", "response": "pipeline.response.handler.handler"}


def test_both_functions_come_from_the_package_with_their_handlers(deployment: Deployment) -> None:
    lam = deployment.client("lambda")
    for name, handler in HANDLERS.items():
        config = lam.get_function(FunctionName=f"trailguard-{name}")["Configuration"]
        assert config["Handler"] == handler
        assert config["Runtime"] == "python3.11"
        assert config["Role"] == deployment.outputs[f"{name}_role_arn"]
        # The code is the zip `make package` built, byte for byte.
        zip_path = deployment.dist / f"trailguard-{name}.zip"
        state = deployment.resource(f'aws_lambda_function.this["{name}"]')
        assert state["source_code_hash"] == config["CodeSha256"]
        import base64
        import hashlib

        assert (
            config["CodeSha256"] == base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()
        )
    runner = lam.get_function(FunctionName="trailguard-runner")["Configuration"]
    assert (runner["MemorySize"], runner["Timeout"]) == (1024, 600)
    env = runner["Environment"]["Variables"]
    assert env["TRAILGUARD_ENGINE"] == "athena"
    assert env["TRAILGUARD_SOURCE"] == f"s3://{LOG_BUCKET}"
    assert env["TRAILGUARD_STATE"] == f"s3://{LOG_BUCKET}/trailguard/state"
    assert env["TRAILGUARD_FINDINGS_STORE"] == f"s3://{LOG_BUCKET}/trailguard/findings"
    assert env["TRAILGUARD_ATHENA_WORKGROUP"] == "trailguard"
    # The hot tier is on where the runner can run it: its lake, DuckDB in the zip, room in /tmp.
    assert (env["TRAILGUARD_SCHEDULE_HOT_TIER"], env["TRAILGUARD_CATALOG_LAKE_URI"]) == ("auto", f"s3://{LOG_BUCKET}/lake")
    assert runner.get("EphemeralStorage", {}).get("Size") == 2048
    assert json.loads(env["TRAILGUARD_SINKS"]) == [
        {"type": "slack", "webhook_secret": "trailguard/slack", "max_attempts": 1}
    ]
    response = lam.get_function(FunctionName="trailguard-response")["Configuration"]["Environment"][
        "Variables"
    ]
    assert response["TRAILGUARD_RESPONSE_DRY_RUN"] == "false"
    assert response["TRAILGUARD_RESPONSE_AUDIT_LOG"] == f"s3://{LOG_BUCKET}/trailguard/response-audit"


def test_rule_and_schedule_target_the_functions_terraform_created(deployment: Deployment) -> None:
    events = deployment.client("events")
    targets = events.list_targets_by_rule(Rule="trailguard-guardduty-findings")["Targets"]
    assert [t["Arn"] for t in targets] == [deployment.outputs["response_function_arn"]]
    assert deployment.outputs["response_function_arn"].endswith(":function:trailguard-response")
    schedule = deployment.client("scheduler").get_schedule(Name="trailguard-runner")
    assert schedule["Target"]["Arn"] == deployment.outputs["runner_function_arn"]
    assert deployment.outputs["runner_function_arn"].endswith(":function:trailguard-runner")
    policy = json.loads(deployment.client("lambda").get_policy(FunctionName="trailguard-response")["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    scheduler_policy = json.loads(deployment.resource("aws_iam_role_policy.scheduler[0]")["policy"])
    runner = deployment.outputs["runner_function_arn"]
    assert set(scheduler_policy["Statement"][0]["Resource"]) == {runner, f"{runner}:*"}


def test_log_groups_failure_queue_and_alarms(deployment: Deployment) -> None:
    groups = deployment.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/trailguard-")
    assert {g["logGroupName"]: g.get("retentionInDays") for g in groups["logGroups"]} == {
        "/aws/lambda/trailguard-runner": 90,
        "/aws/lambda/trailguard-response": 90,
    }
    queue = deployment.client("sqs").get_queue_attributes(
        QueueUrl=deployment.outputs["failures_queue_url"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    lam = deployment.client("lambda")
    for name in HANDLERS:
        config = lam.get_function_event_invoke_config(FunctionName=f"trailguard-{name}")
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == queue
    alarms = {
        a["AlarmName"]: a
        for a in deployment.client("cloudwatch").describe_alarms(AlarmNamePrefix="trailguard-")[
            "MetricAlarms"
        ]
    }
    assert set(alarms) == {
        "trailguard-runner-errors",
        "trailguard-response-errors",
        "trailguard-runner-not-succeeding",
    }
    assert alarms["trailguard-runner-errors"]["MetricName"] == "Errors"
    stalled = alarms["trailguard-runner-not-succeeding"]
    assert stalled["EvaluationPeriods"] == 4 and stalled["TreatMissingData"] == "breaching"
    expression = next(m for m in stalled["Metrics"] if m.get("ReturnData"))
    assert expression["Expression"] == "invocations - errors"


def test_replan_after_rebuilding_the_zips_shows_no_change(deployment: Deployment) -> None:
    build_zips(deployment.dist)  # `make package` again: same checkout, same bytes
    result = deployment.tf.run("plan", "-detailed-exitcode", "-input=false", ok=(0, 2), timeout=600)
    assert result.returncode == 0, f"a re-plan wants changes:\n{result.stdout[-4000:]}"


def test_the_hot_tier_expires_from_the_log_bucket(deployment: Deployment) -> None:
    """Ticks read back about a day of hot batches; the lifecycle keeps a week, then lets them go
    (with their noncurrent versions and any upload a killed tick left), and touches nothing else."""
    rules = {r["id"]: r for r in deployment.resource("aws_s3_bucket_lifecycle_configuration.logs")["rule"]}
    hot = rules["hot-tier-expiry"]
    assert hot["filter"][0]["prefix"] == "lake/cloudtrail_hot/"
    assert hot["expiration"][0]["days"] == 7
    assert hot["noncurrent_version_expiration"][0]["noncurrent_days"] == 1
    assert hot["abort_incomplete_multipart_upload"][0]["days_after_initiation"] == 1
    assert rules["logs-tiering"]["filter"][0]["prefix"] == "AWSLogs/"


def test_runner_hot_tier_false_plans_the_plain_path_and_nothing_it_does_not_need(
    deployment: Deployment,
) -> None:
    """Turning the tier off changes the runner's setting and takes away what only the tier used:
    its write permission and its lifecycle rule. A value that is not a setting stops the plan."""
    plan = deployment.tf.run("plan", "-input=false", "-var", "runner_hot_tier=false", "-out=plain.tfplan",
                             timeout=600)
    assert plan.returncode == 0
    shown = json.loads(deployment.tf.run("show", "-json", "plain.tfplan").stdout)
    after = {c["address"]: c["change"]["after"] for c in shown["resource_changes"]
             if c["change"]["actions"] != ["no-op"]}
    env = after['aws_lambda_function.this["runner"]']["environment"][0]["variables"]
    assert env["TRAILGUARD_SCHEDULE_HOT_TIER"] == "false"
    statements = json.loads(after["aws_iam_role_policy.runner"]["policy"])["Statement"]
    sids = {s.get("Sid") for s in statements}
    assert "HotTier" not in sids and "ReadLogs" in sids
    rules = {r["id"] for r in after["aws_s3_bucket_lifecycle_configuration.logs"]["rule"]}
    assert rules == {"logs-tiering"}
    wrong = deployment.tf.run("plan", "-input=false", "-var", "runner_hot_tier=sometimes", ok=(1,),
                              timeout=600)
    assert 'runner_hot_tier must be "auto", "true" or "false"' in wrong.stderr
