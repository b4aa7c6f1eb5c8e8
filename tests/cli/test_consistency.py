"""Issue 17 items 5, 6 and 7: the same rules on every command, one line instead of a traceback,
progress while detections run."""

from __future__ import annotations

import pytest

from tests.helpers import invoke


def test_findings_filters_behave_like_detect(demo):
    result = invoke("findings", "--detection", "nosuch")
    assert result.exit_code == 2 and "unknown detection id" in result.output
    upper = invoke("findings", "--severity", "HIGH", "-f", "json")
    lower = invoke("findings", "--severity", "high", "-f", "json")
    assert upper.exit_code == 0 and upper.stdout == lower.stdout and upper.stdout
    result = invoke("findings", "--severity", "urgent")
    assert result.exit_code == 2 and "'urgent' is not one of" in result.output


BAD_CONFIG = "[duckdb]\nthreads = \"four\"\n"
COMMANDS = [
    ["detections"], ["findings"], ["suppressions"], ["detect"], ["ingest"], ["query", "SELECT 1"],
    ["cost"], ["run"], ["resolve", "x"], ["catalog", "ddl"], ["report", "weekly"], ["validate-logs"],
    ["compact", "--day", "2026-11-01"], ["findings", "show", "x"], ["detections", "show", "x"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_a_config_error_exits_2_on_every_command(demo, args):
    (demo / "bad.toml").write_text(BAD_CONFIG)
    result = invoke(*args, "--config", "bad.toml")
    assert result.exit_code == 2, result.output
    assert "bad.toml: [duckdb] threads: 'four' is not a whole number" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_a_single_account_in_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRAILGUARD_CATALOG_ACCOUNTS", "012345678901")
    monkeypatch.setenv("TRAILGUARD_CATALOG_REGIONS", "eu-west-1")
    result = invoke("catalog", "ddl", "--table", "cloudtrail")
    assert result.exit_code == 0, result.output
    assert "'projection.account.values'='012345678901'" in result.output


def test_findings_since_after_until(demo):
    result = invoke("findings", "--since", "2026-11-03", "--until", "2026-11-01")
    assert result.exit_code == 2 and "is not before --until" in result.output
    assert "Traceback" not in result.output


def test_report_to_an_unwritable_place(demo):
    (demo / "afile").write_text("x")
    result = invoke("report", "weekly", "--out", "afile/reports")
    assert result.exit_code == 2 and "--out afile/reports: cannot create the folder" in result.output
    result = invoke("report", "weekly", "--out", "afile")
    assert result.exit_code == 2 and "is a file" in result.output


def test_examples_show_progress():
    result = invoke("test", "root_account_usage")
    assert result.exit_code == 0, result.output
    assert "examples" in result.output and "1/1" in result.output


def test_run_tick_shows_progress(demo):
    result = invoke("run", "--now", "2026-11-02T12:00:00Z")
    assert result.exit_code == 0, result.output
    assert "detections" in result.output
    import re

    assert re.search(r"(\d+)/\1", result.output)  # the bar reached the end: done == total
