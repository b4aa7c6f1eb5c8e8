"""`trailguard catalog deploy` and `catalog drift` through the CLI, against moto."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app

pytestmark = pytest.mark.aws

CONFIG = """source = "s3://org-trail/logs"
org_id = "o-abcdefghij"
[catalog]
database = "security"
accounts = ["111111111111"]
regions = ["us-east-1"]
"""


def test_deploy_then_drift(aws_client, moto_endpoint, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)  # every boto3 client the CLI makes goes to moto
    (tmp_path / "trailguard.toml").write_text(CONFIG)
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="org-trail")
    for account, region in (("111111111111", "us-east-1"), ("222222222222", "eu-west-1")):
        key = f"logs/AWSLogs/o-abcdefghij/{account}/CloudTrail/{region}/2026/01/15/f.json.gz"
        s3.put_object(Bucket="org-trail", Key=key, Body=b"{}")
    result = CliRunner().invoke(app, ["catalog", "deploy"])
    assert result.exit_code == 0, result.output
    assert "security.cloudtrail" in result.output and "created" in result.output
    assert "222222222222" in result.output  # deploy warns about the account it would not scan
    table = aws_client("glue").get_table(DatabaseName="security", Name="cloudtrail")["Table"]
    assert table["Parameters"]["projection.account.values"] == "111111111111"
    result = CliRunner().invoke(app, ["catalog", "drift"])
    assert result.exit_code == 1
    assert "222222222222" in result.output and "eu-west-1" in result.output


def test_deploy_needs_an_s3_source(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["catalog", "deploy"])
    assert result.exit_code == 2 and "need source" in result.output
