"""Issue 17 item 2: --version, -h, completion, --quiet/--verbose, --profile/--region like the aws cli."""

from __future__ import annotations

import subprocess
import sys

import boto3

from pipeline.cli.options import hoist
from tests.helpers import invoke


def test_version_and_short_help():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.startswith("trailguard ")
    result = invoke("-h")
    assert result.exit_code == 0 and "--install-completion" in result.output and "--profile" in result.output
    result = invoke("findings", "-h")
    assert result.exit_code == 0 and "--format" in result.output


def test_help_shows_no_type_noise():
    result = invoke("query", "-h")
    assert "<bool>" not in result.output and "{sql}" not in result.output
    assert "query [OPTIONS] {SQL}" in result.output  # typer's mark of a required argument, upper case


def test_completion_script():
    result = invoke("--show-completion", "bash", prog_name="trailguard")
    assert result.exit_code == 0 and "_TRAILGUARD_COMPLETE=complete_bash" in result.output


def test_global_options_anywhere_on_the_line():
    assert hoist(["findings", "--profile", "sec", "-d", "x", "--quiet"]) == [
        "--profile", "sec", "--quiet", "findings", "-d", "x"]
    assert hoist(["query", "--", "--region"]) == ["query", "--", "--region"]
    assert hoist(["catalog", "ddl", "--region=eu-west-1"]) == ["--region=eu-west-1", "catalog", "ddl"]


def test_profile_and_region_set_the_boto3_session(tmp_path, monkeypatch):
    config = tmp_path / "aws-config"
    config.write_text("[profile sec]\nregion = eu-central-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, "placeholder")  # recorded, so the test leaves the variables as it found them
        monkeypatch.delenv(name)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    monkeypatch.chdir(tmp_path)
    result = invoke("detections", "--profile", "sec", "-f", "json")
    assert result.exit_code == 0, result.output
    assert boto3.DEFAULT_SESSION.profile_name == "sec"
    assert boto3.DEFAULT_SESSION.region_name == "eu-central-1"
    result = invoke("--region", "ap-south-1", "detections", "-f", "json")
    assert result.exit_code == 0 and boto3.DEFAULT_SESSION.region_name == "ap-south-1"
    result = invoke("detections", "--profile", "nope")
    assert result.exit_code == 2 and "no profile 'nope'" in result.output
    assert __import__("os").environ["AWS_PROFILE"] == "sec"  # a bad profile changes nothing


def test_region_replaces_the_athena_region(tmp_path, monkeypatch):
    from pipeline.cli import common, options

    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(options._aws, "region", "eu-north-1")
    assert common.settings_for(None)["athena"]["region"] == "eu-north-1"


def test_quiet_run_tick_prints_no_rows_of_zeros(demo):
    result = invoke("run", "--now", "2026-11-02T12:00:00Z", "--quiet")
    assert result.exit_code == 0, result.output
    quiet_rows = [line for line in result.output.splitlines() if line.startswith("│")]
    result = invoke("run", "--now", "2026-11-02T12:30:00Z")
    loud_rows = [line for line in result.output.splitlines() if line.startswith("│")]
    assert len(loud_rows) > len(quiet_rows)
    assert all(" 0 " not in row.split("│")[5] or " 0 " not in row.split("│")[6] for row in quiet_rows)


def test_verbose_and_quiet_are_alternatives():
    result = invoke("-q", "-v", "detections")
    assert result.exit_code == 2


def test_no_ansi_escapes_when_piped(demo):
    out = subprocess.run([sys.executable, "-m", "pipeline.cli.main", "findings", "--severity", "high"],
                         capture_output=True, text=True, check=True)
    assert "high" in out.stdout and "\x1b[" not in out.stdout and "\x1b[" not in out.stderr
