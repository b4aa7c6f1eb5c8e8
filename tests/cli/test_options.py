"""Issue 17 item 2: --version, -h, completion, --quiet/--verbose, --profile/--region like the aws cli."""

from __future__ import annotations

import re
import subprocess
import sys

import boto3
import typer

from pipeline.cli.main import app
from pipeline.cli.options import hoist
from tests.helpers import invoke


def test_version_and_short_help():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.startswith("trailguard ")
    result = invoke("-h")
    assert result.exit_code == 0 and "--install-completion" in result.output and "--profile" in result.output
    result = invoke("findings", "-h")
    assert result.exit_code == 0 and "--format" in result.output


def _command_paths(command, path=()):
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _command_paths(sub, (*path, name))


# the name column of an option or argument in a help screen: flags, then one plain value name
HELP_NAME = re.compile(r"^(-{1,2}[\w-]+(, | / )?)+( ([A-Z][A-Z_]*|\[[a-z0-9|-]+\]))?$"
                       r"|^[A-Z][A-Z_]*(\.\.\.)?$")


def test_every_help_screen_names_values_plainly():
    """Issue 17 item 15: no ``{SQL}`` usage marks and no ``<str>``/``<bool>`` type tags, on any command."""
    paths = list(_command_paths(typer.main.get_command(app)))
    assert len(paths) > 25 and ("query",) in paths and ("findings", "show") in paths
    for path in paths:
        result = invoke(*path, "-h", terminal_width=200)
        assert result.exit_code == 0, (path, result.output)
        usage = result.output.split("\n\n", 1)[0]
        assert "{" not in usage and "<" not in usage, usage
        names = [line.strip().split("  ")[0] for line in result.output.splitlines()
                 if line.startswith("  ") and line.strip()[:1] in "-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 and "  " in line.strip()]
        bad = [n for n in names if not HELP_NAME.match(n) and n not in ("-h, --help",)]
        assert not bad, (path, bad)
    query = invoke("query", "-h", terminal_width=200).output
    assert "query [OPTIONS] SQL\n" in query and "-f, --format [table|json|csv]" in query
    assert "--config PATH" in query and "--limit N" in query
    assert re.search(r"\n  SQL +Athena SQL", query)
    assert "findings ack [OPTIONS] [ID]..." in invoke("findings", "ack", "-h").output
    assert "test [OPTIONS] [ID]...\n" in invoke("test", "-h").output


def test_completion_script(monkeypatch):
    import shellingham

    # typer detects the shell from the process tree, which other tests' servers can leave unreadable
    monkeypatch.setattr(shellingham, "detect_shell", lambda *args, **kwargs: ("bash", "/bin/bash"))
    result = invoke("--show-completion", "bash", prog_name="trailguard")
    assert result.exit_code == 0 and "_TRAILGUARD_COMPLETE=complete_bash" in result.output, (
        result.output, result.exception)


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
