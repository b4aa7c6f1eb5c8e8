"""``trailguard incidents``: the table, JSON lines, ``show`` by id prefix, and one-line usage errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.demo.scenarios import story

pytestmark = pytest.mark.slow  # one labelled 14-day demo, generated and detected once per session
RUNNER = CliRunner()


@pytest.fixture
def env(demo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no trailguard.toml here: defaults plus the environment
    return {"TRAILGUARD_DATA_DIR": str(demo.settings.data_dir)}


def test_json_lines_lead_with_the_attack_and_show_prints_its_timeline(demo, env):
    since = demo.manifest.start
    result = RUNNER.invoke(app, ["incidents", "--since", since, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) > 10
    top = rows[0]
    for key in ("incident_id", "actor", "principals", "access_keys", "source_addresses", "accounts",
                "finding_ids", "first_seen", "last_seen", "tactics", "score", "severity", "narrative"):
        assert key in top
    assert top["actor"].endswith(story.USER) and top["severity"] == "critical"
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)

    shown = RUNNER.invoke(app, ["incidents", "show", top["incident_id"][:12], "--since", since], env=env)
    assert shown.exit_code == 0, shown.output
    assert "timeline:" in shown.stdout and "score:" in shown.stdout
    for finding_id in top["finding_ids"]:
        assert finding_id in shown.stdout

    table = RUNNER.invoke(app, ["incidents", "--since", since], env=env)
    assert table.exit_code == 0 and f"{len(rows)} incident(s)" in table.stdout


def test_a_relative_since_after_the_demo_finds_nothing(env):
    result = RUNNER.invoke(app, ["incidents", "--since", "1d", "--format", "json"], env=env)
    assert result.exit_code == 0 and result.stdout == ""


@pytest.mark.parametrize(("args", "message"), [
    (["incidents", "--format", "xml"], "--format 'xml' is not one of table, json"),
    (["incidents", "--since", "last week"], "--since 'last week' is neither a duration"),
    (["incidents", "show", "inc-nope", "--since", "2026-11-01"], "no incident 'inc-nope'"),
])
def test_usage_errors_are_one_line_and_exit_2(env, args, message):
    result = RUNNER.invoke(app, args, env=env)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_a_bad_incidents_setting_is_a_usage_error(env):
    result = RUNNER.invoke(app, ["incidents"], env={**env, "TRAILGUARD_INCIDENTS_ROUTE": "ticket"})
    assert result.exit_code == 2
    assert "[incidents] route: 'ticket' is not one of finding, incident" in " ".join(result.output.split())
