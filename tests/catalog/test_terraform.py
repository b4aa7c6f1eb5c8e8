"""The Terraform module in deploy/terraform: generated tables, fmt, validate, and a full lifecycle on moto.

Offline by construction: the AWS provider comes from the filesystem mirror named in DESIGN.md
(a folder ``tf-plugins``), every provider endpoint points at the moto server on 127.0.0.1, and
the keys are fake. Where terraform or the mirror is missing, the Terraform tests skip and say so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.catalog import terraform as terraform_render
from tests.deploy.support import (
    ACCOUNT,
    MIRROR,
    MIRROR_CANDIDATES,
    MODULE,
    TERRAFORM,
    Terraform,
    _copy_module,
    _lambda_arn,
    _moto_provider,
)

pytestmark = pytest.mark.aws





needs_terraform = pytest.mark.skipif(
    TERRAFORM is None or MIRROR is None,
    reason=(
        "terraform is not on PATH" if TERRAFORM is None else
        f"no AWS provider filesystem mirror (a tf-plugins folder) in {[c for c in MIRROR_CANDIDATES if c]}; "
        "set TRAILGUARD_TF_MIRROR"
    ),
)






# --- generated tables -----------------------------------------------------------------------


def test_glue_tables_file_is_a_fresh_render() -> None:
    committed = (MODULE / "glue_tables.tf.json").read_text(encoding="utf-8")
    assert committed == terraform_render.render(), (
        "deploy/terraform/glue_tables.tf.json is stale or hand-edited: "
        "run python -m pipeline.catalog.terraform"
    )


def test_rendered_tables_take_deploy_time_values_from_variables() -> None:
    doc = json.loads(terraform_render.render())
    tables = doc["resource"]["aws_glue_catalog_table"]
    assert set(tables) == {
        "cloudtrail", "cloudtrail_hot", "cloudtrail_parquet",
        "guardduty_findings", "guardduty_findings_parquet",
    }
    hot = tables["cloudtrail_hot"]["parameters"]  # the scheduled ticks' hot tier: minute batches in the lake
    assert hot["projection.batch.range"] == "${var.projection_start}/0000,NOW"
    assert hot["storage.location.template"] == "${local.lake_uri}/cloudtrail_hot/$${batch}"
    cloudtrail = tables["cloudtrail"]
    params = cloudtrail["parameters"]
    assert params["projection.account.values"] == '${join(",", var.accounts)}'
    assert params["projection.region.values"] == '${join(",", var.regions)}'
    assert params["projection.day.range"] == "${var.projection_start},NOW"
    # Athena's own ${...} placeholders are escaped so Terraform keeps them literally.
    assert params["storage.location.template"] == (
        "${local.log_bucket_uri}/AWSLogs/${local.cloudtrail_org_path}$${account}/CloudTrail/$${region}/$${day}"
    )
    storage = cloudtrail["storage_descriptor"][0]
    assert storage["location"] == "${local.log_bucket_uri}/AWSLogs/${local.cloudtrail_org_path}"
    assert storage["ser_de_info"][0]["serialization_library"] == "org.apache.hive.hcatalog.data.JsonSerDe"
    assert storage["columns"][1]["name"] == "useridentity"
    assert storage["columns"][1]["type"].startswith("struct<type:string,")
    assert [k["name"] for k in cloudtrail["partition_keys"]] == ["account", "region", "day"]
    lake = tables["cloudtrail_parquet"]["storage_descriptor"][0]["location"]
    assert lake == "${local.lake_uri}/cloudtrail/"
    gd = tables["guardduty_findings"]["storage_descriptor"][0]["ser_de_info"][0]
    assert gd["parameters"] == {"mapping.aws_partition": "partition", "mapping.finding_region": "region"}
    rendered = json.dumps(doc)
    assert "TFPLACEHOLDER" not in rendered


def test_render_check_mode_reports_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "glue_tables.tf.json"
    monkeypatch.setattr(terraform_render, "OUTPUT", target)
    assert terraform_render.main(["--check"]) == 1
    assert terraform_render.main([]) == 0
    assert terraform_render.main(["--check"]) == 0


# --- terraform ------------------------------------------------------------------------------


@needs_terraform
@pytest.mark.slow  # terraform init and validate
def test_fmt_and_validate_offline(tmp_path: Path) -> None:
    tf = Terraform(_copy_module(tmp_path), tmp_path)
    tf.run("fmt", "-check", "-recursive")
    tf.run("init", "-backend=false", "-input=false")
    result = tf.run("validate", "-json")
    assert json.loads(result.stdout)["valid"] is True






@needs_terraform
@pytest.mark.slow
def test_apply_replan_destroy_on_moto(tmp_path: Path, moto_endpoint: str,
                                      aws_client: Callable[..., Any]) -> None:
    # An organization trail needs an organization: moto makes this account its management account.
    org_id = aws_client("organizations").create_organization(FeatureSet="ALL")["Organization"]["Id"]
    response_arn = _lambda_arn(aws_client, "trailguard-response")
    runner_arn = _lambda_arn(aws_client, "trailguard-runner")

    workdir = _copy_module(tmp_path)
    (workdir / "moto_provider.tf").write_text(_moto_provider(moto_endpoint), encoding="utf-8")
    (workdir / "test.auto.tfvars.json").write_text(json.dumps({
        "org_id": org_id,
        "accounts": [ACCOUNT, "210987654321"],
        "regions": ["us-east-1", "eu-west-1"],
        "log_bucket_name": "trailguard-test-logs",
        # Functions made elsewhere, named by ARN (tests/deploy/ applies the ones the module creates).
        "create_functions": False,
        "response_function_arn": response_arn,
        "runner_function_arn": runner_arn,
        "kms_deletion_window_days": 7,
        # Not applied against moto: GuardDuty organization configuration needs a delegated
        # administrator, and moto has no CreatePublishingDestination (404).
        "enable_org_admin": False,
        "enable_guardduty_publishing": False,
    }), encoding="utf-8")
    tf = Terraform(workdir, tmp_path)
    tf.run("init", "-input=false", "-backend=false")

    tf.run("apply", "-auto-approve", "-input=false", timeout=600)
    try:
        outputs = json.loads(tf.run("output", "-json").stdout)
        assert outputs["glue_tables"]["value"] == [
            "cloudtrail", "cloudtrail_hot", "cloudtrail_parquet", "guardduty_findings",
            "guardduty_findings_parquet",
        ]

        trail = aws_client("cloudtrail").get_trail(Name="trailguard-org-trail")["Trail"]
        assert trail["IsOrganizationTrail"] and trail["IsMultiRegionTrail"]
        assert trail["LogFileValidationEnabled"] and trail["IncludeGlobalServiceEvents"]
        assert trail["KmsKeyId"] == outputs["kms_key_arn"]["value"]

        s3 = aws_client("s3")
        rules = s3.get_bucket_lifecycle_configuration(Bucket="trailguard-test-logs")["Rules"]
        assert [t["StorageClass"] for t in rules[0]["Transitions"]] == ["STANDARD_IA", "GLACIER"]
        sse = s3.get_bucket_encryption(Bucket="trailguard-test-logs")["ServerSideEncryptionConfiguration"]
        assert sse["Rules"][0]["BucketKeyEnabled"] is True
        policy = json.loads(s3.get_bucket_policy(Bucket="trailguard-test-logs")["Policy"])
        write = next(s for s in policy["Statement"] if s.get("Sid") == "CloudTrailWrite")
        assert f"arn:aws:s3:::trailguard-test-logs/AWSLogs/{org_id}/*" in write["Resource"]

        table = aws_client("glue").get_table(DatabaseName="trailguard", Name="cloudtrail")["Table"]
        assert table["Parameters"]["projection.account.values"] == f"{ACCOUNT},210987654321"
        assert table["Parameters"]["storage.location.template"] == (
            f"s3://trailguard-test-logs/AWSLogs/{org_id}/${{account}}/CloudTrail/${{region}}/${{day}}"
        )

        rule = aws_client("events").describe_rule(Name="trailguard-guardduty-findings")
        assert json.loads(rule["EventPattern"])["detail"] == {"severity": [{"numeric": [">=", 4]}]}
        targets = aws_client("events").list_targets_by_rule(Rule="trailguard-guardduty-findings")["Targets"]
        assert [t["Arn"] for t in targets] == [response_arn]

        workgroup = aws_client("athena").get_work_group(WorkGroup="trailguard")["WorkGroup"]["Configuration"]
        assert workgroup["BytesScannedCutoffPerQuery"] == 10737418240
        assert workgroup["EnforceWorkGroupConfiguration"] is True

        kms_arn = outputs["kms_key_arn"]["value"]
        assert aws_client("kms").get_key_rotation_status(KeyId=kms_arn)["KeyRotationEnabled"] is True
        schedule = aws_client("scheduler").get_schedule(Name="trailguard-runner")
        assert schedule["Target"]["Arn"] == runner_arn
        assert schedule["ScheduleExpression"] == "rate(15 minutes)"

        # A second plan against what was applied shows no changes.
        tf.run("plan", "-detailed-exitcode", "-input=false")
    finally:
        tf.run("destroy", "-auto-approve", "-input=false", timeout=600)
    assert tf.run("state", "list", ok=(0, 1)).stdout.strip() == ""
    # (moto's DeleteTrail ignores a trail ARN, which is what the provider sends, so the trail
    # itself is not checked here; the rest is gone from moto.)
    assert aws_client("glue").get_databases()["DatabaseList"] == []
    assert aws_client("events").list_rules(NamePrefix="trailguard")["Rules"] == []
    assert "trailguard-test-logs" not in [b["Name"] for b in aws_client("s3").list_buckets()["Buckets"]]
