"""Issue 17 item 8: triage without Jira or PagerDuty: show a finding or a detection in full, and a
local status (acknowledged, resolved, with who and why) kept in the findings store."""

from __future__ import annotations

import json

from tests.helpers import invoke


def _finding(detection: str) -> dict:
    out = invoke("findings", "-d", detection, "-f", "json").stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows, detection
    return rows[0]


def test_findings_show_has_records_runbook_and_query(demo):
    finding = _finding("root_account_usage")
    result = invoke("findings", "show", finding["finding_id"])
    assert result.exit_code == 0, result.output
    assert "record(s) from the lake" in result.output
    for event_id in finding["event_ids"][:3]:
        assert event_id in result.output
    assert "Runbook:" in result.output and "useridentity.type = 'Root'" in result.output
    assert "status: open" in result.output
    result = invoke("findings", "show", finding["finding_id"][:10], "-f", "json")  # a unique prefix
    shown = json.loads(result.stdout)
    assert shown["finding_id"] == finding["finding_id"]
    assert {r["event_id"] for r in shown["records"]} == set(finding["event_ids"])
    assert "FROM cloudtrail" in shown["query"]
    result = invoke("findings", "show", "0000nosuch")
    assert result.exit_code == 2 and "is not in the findings store" in result.output


def test_findings_show_reads_guardduty_findings(demo):
    finding = _finding("guardduty_finding")
    shown = json.loads(invoke("findings", "show", finding["finding_id"], "-f", "json").stdout)
    assert [r["finding_id"] for r in shown["records"]] == finding["event_ids"][:1]


def test_detections_show(demo):
    (demo / "trailguard.toml").write_text("[detections.access_denied_burst]\nthreshold = 33\n")
    result = invoke("detections", "show", "access_denied_burst", "-f", "json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["parameters"]["threshold"]["configured"] == 33
    assert shown["parameters"]["threshold"]["default"] != 33
    assert ">= 33" in shown["query"] and shown["examples"] and shown["runbook"]
    result = invoke("detections", "show", "access_denied_burst")
    assert "Parameters" in result.output and "Runbook:" in result.output
    result = invoke("detections", "show", "nosuch")
    assert result.exit_code == 2 and "unknown detection id" in result.output


def test_ack_resolve_and_reopen_without_any_sink(demo):
    first, second = _finding("root_account_usage"), _finding("access_denied_burst")
    result = invoke("findings", "ack", first["finding_id"], "--by", "alice", "--reason", "looking")
    assert result.exit_code == 0, result.output
    result = invoke("resolve", second["finding_id"], "--by", "bob", "--reason", "known batch job")
    assert result.exit_code == 0, result.output
    assert "kept in the findings store only" in result.output
    rows = {r["finding_id"]: r for r in
            (json.loads(line) for line in invoke("findings", "-f", "json").stdout.splitlines())}
    acked = rows[first["finding_id"]]
    assert (acked["status"], acked["status_by"]) == ("acknowledged", "alice")
    assert rows[second["finding_id"]]["status"] == "resolved"
    assert rows[second["finding_id"]]["status_reason"] == "known batch job"
    open_only = invoke("findings", "--status", "open", "-f", "json").stdout
    assert first["finding_id"] not in open_only and second["finding_id"] not in open_only
    invoke("findings", "reopen", first["finding_id"], "--reason", "not done")
    shown = json.loads(invoke("findings", "show", first["finding_id"], "-f", "json").stdout)
    assert [h["status"] for h in shown["status_history"]] == ["acknowledged", "open"]
    result = invoke("findings", "ack", "0000nosuch")
    assert result.exit_code == 2
