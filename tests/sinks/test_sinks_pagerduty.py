"""PagerDuty sink against a local Events API v2, and incident routing end to end.

One page per finding across re-deliveries (dedup_key = finding_id), retries on 429/5xx, the
routing key never leaked, resolve from the library and the CLI, the response function's
notifications, and the issue's done-criterion: a scheduled run over the demo data opens exactly
one Jira ticket per high finding and one PagerDuty incident per high or critical finding, a
second run opens none, and an outage of both services for a few ticks loses nothing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.config import ConfigError, Settings
from pipeline.response import respond
from pipeline.sinks import SinkError, build_sinks, make_delivery
from pipeline.sinks.factory import resolve_findings
from pipeline.sinks.pagerduty import PagerDutySink, trigger_event
from pipeline.workflow import make_runner
from tests.fake_services import JIRA_EMAIL, JIRA_TOKEN, PD_KEY, FakeJira, FakePagerDuty
from tests.helpers import grown, sink_finding


def pd_sink(service: FakePagerDuty, **table) -> PagerDutySink:
    base = {"type": "pagerduty", "url": f"{service.url}/v2/enqueue", "backoff": 0.01, "max_attempts": 3}
    settings = Settings(raw={"sinks": [{**base, **table}]})
    [sink] = build_sinks(settings, environ={"PAGERDUTY_ROUTING_KEY": PD_KEY})
    return sink


def test_one_incident_per_finding_across_redeliveries(pagerduty):
    sink = pd_sink(pagerduty)
    assert sink.min_severity == "high" and sink.idempotent
    assert not sink.accepts(sink_finding(severity="medium"))
    assert sink.accepts(sink_finding(severity="critical"))
    first = make_delivery(sink_finding(1, severity="critical"))
    sink.deliver([first, make_delivery(sink_finding(2))])
    sink.deliver([first])  # a repeat after a crash
    pd_sink(pagerduty).deliver([make_delivery(grown(sink_finding(1, severity="critical")), is_update=True)])
    assert pagerduty.opened == [f"{1:032x}", f"{2:032x}"]
    alerts = pagerduty.incidents[f"{1:032x}"]["alerts"]
    assert len(alerts) == 3 and alerts[-1]["custom_details"]["event_count"] == 5
    event = pagerduty.requests[0]["body"]
    assert event == json.loads(json.dumps(trigger_event(first, PD_KEY)))
    payload = event["payload"]
    assert event["dedup_key"] == f"{1:032x}" and event["event_action"] == "trigger"
    assert payload["severity"] == "critical" and payload["timestamp"] == "2026-01-15T10:00:00.000Z"
    assert payload["summary"].startswith("[CRITICAL] IAM access key created: arn:aws:iam::222222222222:user/")
    assert payload["source"] == "aws:222222222222:eu-west-1" and payload["class"] == "iam_access_key_created"
    assert payload["custom_details"]["event_ids"] == ["event-1-0", "event-1-1", "event-1-2"]
    assert pagerduty.requests[1]["body"]["payload"]["severity"] == "error"  # high
    attack = {"href": "https://attack.mitre.org/techniques/T1098/001/", "text": "ATT&CK T1098.001"}
    assert attack in event["links"]


def test_429_and_5xx_are_retried_and_the_key_never_leaks(pagerduty, caplog):
    caplog.set_level(logging.DEBUG)
    sink = pd_sink(pagerduty)
    sleeps: list[float] = []
    sink._http._sleep = sleeps.append
    throttled = {"status": "throttle exceeded",
                 "message": "Requests for this service are arriving too quickly. Please retry later."}
    pagerduty.script = [(429, {"Retry-After": "2"}, throttled), (502, {}, "Bad Gateway")]
    sink.deliver([make_delivery(sink_finding(1))])
    assert sleeps == [2.0, 0.02] and pagerduty.opened == [f"{1:032x}"]
    assert "retrying" in caplog.text and PD_KEY not in caplog.text

    pagerduty.down = True
    with pytest.raises(SinkError, match=r"gave up after 3 attempt\(s\) \(last: HTTP 503") as info:
        sink.deliver([make_delivery(sink_finding(2))])
    pagerduty.down = False
    for text in (str(info.value), repr(info.value), repr(sink), str(vars(sink)), caplog.text):
        assert PD_KEY not in text


def test_invalid_event_fails_at_once_with_pagerdutys_errors(pagerduty):
    [sink] = build_sinks(Settings(raw={"sinks": [{"type": "pagerduty", "url": f"{pagerduty.url}/v2/enqueue",
                                                  "routing_key_env": "PD"}]}), environ={"PD": "short-key"})
    with pytest.raises(SinkError, match=r"PagerDuty refused the event \(HTTP 400: Event object is invalid; "
                                        r"Length of 'routing_key' is incorrect") as info:
        sink.deliver([make_delivery(sink_finding(1))])
    assert len(pagerduty.requests) == 1 and "short-key" not in str(info.value)


def test_routing_key_from_secrets_manager(pagerduty, moto_endpoint, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    import boto3

    secrets = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=moto_endpoint)
    secret = json.dumps({"routing_key": PD_KEY})
    arn = secrets.create_secret(Name="trailguard/pagerduty", SecretString=secret)["ARN"]
    table = {"type": "pagerduty", "url": f"{pagerduty.url}/v2/enqueue", "routing_key_secret": arn,
             "routing_key_secret_key": "routing_key"}
    [sink] = build_sinks(Settings(raw={"sinks": [table]}), environ={}, endpoint_url=moto_endpoint)
    sink.deliver([make_delivery(sink_finding(1))])
    assert pagerduty.opened == [f"{1:032x}"] and PD_KEY not in repr(sink)

    missing = {**table, "routing_key_secret": "trailguard/nope"}
    [broken] = build_sinks(Settings(raw={"sinks": [missing]}), environ={}, endpoint_url=moto_endpoint)
    with pytest.raises(SinkError, match=r"routing_key_secret: cannot read trailguard/nope \(ResourceNotFound"
                       ):
        broken.deliver([make_delivery(sink_finding(2))])  # a failed delivery: retried on the next tick


def test_bad_pagerduty_config():
    with pytest.raises(ConfigError, match=r"^sinks\[0\] \(pagerduty\): routing_key_env: environment variable "
                                          r"PAGERDUTY_ROUTING_KEY is not set$"):
        build_sinks(Settings(raw={"sinks": [{"type": "pagerduty"}]}), environ={})


def test_resolve_from_the_library_and_the_cli(pagerduty, jira, tmp_path, monkeypatch):
    sink = pd_sink(pagerduty)
    sink.deliver([make_delivery(sink_finding(1)), make_delivery(sink_finding(2))])
    [result] = resolve_findings(Settings(), [f"{1:032x}"], "false positive", sinks=[sink])
    assert (result.outcome, result.error) == ("resolve sent", None)
    assert pagerduty.incidents[f"{1:032x}"]["status"] == "resolved"
    assert pagerduty.incidents[f"{2:032x}"]["status"] == "triggered"
    with pytest.raises(ConfigError, match="no configured sink can resolve"):
        resolve_findings(Settings(raw={"sinks": [{"type": "jsonl", "path": str(tmp_path / "x")}]}), ["a"])

    config = tmp_path / "trailguard.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[[sinks]]\ntype = "pagerduty"\n'
                      f'url = "{pagerduty.url}/v2/enqueue"\nbackoff = 0.01\n')
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", PD_KEY)
    unknown = CliRunner().invoke(app, ["resolve", f"{2:032x}", "--config", str(config)])
    assert unknown.exit_code == 2 and "is not in the findings store" in unknown.output
    done = CliRunner().invoke(app, ["resolve", f"{2:032x}", "--unchecked", "--config", str(config)])
    assert done.exit_code == 0, done.output
    assert pagerduty.incidents[f"{2:032x}"]["status"] == "resolved"
    pagerduty.down = True
    failed = CliRunner().invoke(app, ["resolve", f"{2:032x}", "--unchecked", "--config", str(config)])
    assert failed.exit_code == 1 and "HTTP 503" in failed.output and PD_KEY not in failed.output


ROLE = "arn:aws:sts::222222222222:assumed-role/SecurityAudit/scanner"
RULES = [  # one rule per case; the finding it should (or should not) cover is named in the comment
    {"detection": "iam_access_key_created", "principals": ["arn:aws:iam::222222222222:user/mal*"],
     "reason": "SEC-1 key rotation", "expires": "2099-01-01"},                       # 1
    {"detection": "*", "roles": ["arn:aws:iam::222222222222:role/audit/SecurityAudit"],
     "regions": ["eu-*"], "reason": "SEC-2 audit scans", "expires": "2099-01-01"},  # 2 (role with a path)
    {"detection": "iam_access_key_created", "user_agents": ["terraform*"],
     "reason": "SEC-3 cannot tell from a finding", "expires": "2099-01-01"},          # none
    {"detection": "*", "principals": ["arn:aws:iam::222222222222:user/bob"],
     "reason": "SEC-4 expired", "expires": "2020-01-01"},                             # none (3)
    {"detection": "guardduty_finding", "finding_types": ["Recon:*"], "accounts": ["222222222222"],
     "reason": "SEC-5 scanner", "expires": "2099-01-01"},                            # 4
]


def stored(tmp_path: Path) -> Path:
    """A findings store holding four findings, as scheduled runs would have left it."""
    from pipeline.findings.store import RunMetadata, open_findings_store

    findings = [sink_finding(1), sink_finding(2, principal=ROLE, detection="iam_policy_changed"),
                sink_finding(3, principal="arn:aws:iam::222222222222:user/bob"),
                dataclasses.replace(sink_finding(4, detection="guardduty_finding"), principal="i-0abc",
                                    context={"finding_type": "Recon:EC2/PortProbeUnprotectedPort"}),
                dataclasses.replace(sink_finding(5, detection="guardduty_finding"),
                                    context={"finding_type": "Backdoor:EC2/C&CActivity.B"})]
    store = open_findings_store(tmp_path / "data")
    for detection in dict.fromkeys(f.detection_id for f in findings):  # one run per detection
        mine = [f for f in findings if f.detection_id == detection]
        store.append(mine, RunMetadata(
            run_id=f"run-{detection}", detection_id=detection, engine="duckdb",
            window_start="2026-01-15T00:00:00Z", window_end="2026-01-16T00:00:00Z",
            now="2026-01-16T00:15:00Z", query_id=None, bytes_scanned=None,
            duration_s=0.1, rows=len(mine)))
    return tmp_path / "data"


def test_suppressed_findings_are_the_ones_every_rule_field_covers(tmp_path):
    from pipeline.detections.suppressions import suppressed_findings
    from pipeline.findings.store import open_findings_store

    frame = open_findings_store(stored(tmp_path)).read()
    covered = suppressed_findings(Settings(raw={**Settings().raw, "suppressions": RULES}), frame)
    assert covered == {f"{1:032x}": "suppressed: SEC-1 key rotation",
                       f"{2:032x}": "suppressed: SEC-2 audit scans", f"{4:032x}": "suppressed: SEC-5 scanner"}


def test_resolve_suppressed_from_the_cli(pagerduty, tmp_path, monkeypatch):
    sink = pd_sink(pagerduty)
    sink.deliver([make_delivery(sink_finding(n)) for n in (1, 2, 3)])
    data = stored(tmp_path)
    rules = "".join("[[suppressions]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in rule.items())
                    for rule in RULES)
    config = tmp_path / "trailguard.toml"
    config.write_text(f'data_dir = "{data}"\n[[sinks]]\ntype = "pagerduty"\n'
                      f'url = "{pagerduty.url}/v2/enqueue"\n' + rules)
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", PD_KEY)
    result = CliRunner().invoke(app, ["resolve", "--suppressed", "--config", str(config)])
    assert result.exit_code == 0, result.output
    status = {k[-1]: v["status"] for k, v in pagerduty.incidents.items()}
    assert status == {"1": "resolved", "2": "resolved", "3": "triggered"}
    resolves = [r["body"]["dedup_key"][-1] for r in pagerduty.requests
                if r["body"]["event_action"] == "resolve"]
    assert sorted(resolves) == ["1", "2", "4"]  # 4 never paged: PagerDuty ignores that resolve
    empty = CliRunner().invoke(app, ["resolve", "--config", str(config)])
    assert empty.exit_code == 2 and "give at least one finding id, or --suppressed" in empty.output


def test_response_function_notifies_jira_and_pagerduty_once(jira, pagerduty, tmp_path):
    settings = Settings().with_overrides(data_dir=str(tmp_path))
    settings.raw["sinks"] = [{"type": "jira", "url": jira.url, "project": "SEC", "email": JIRA_EMAIL},
                             {"type": "pagerduty", "url": f"{pagerduty.url}/v2/enqueue"}]
    environ = {"JIRA_API_TOKEN": JIRA_TOKEN, "PAGERDUTY_ROUTING_KEY": PD_KEY}
    event = {"detection_id": "security_group_open_to_world", "finding_id": "tg-sg", "severity": "high",
             "title": "Security group open to the world", "event_ids": ["e1"], "account_id": "123456789012",
             "region": "us-east-1", "principal": "mallory", "context": {"group_id": "sg-1"}}
    for _ in range(2):
        result = respond(event, settings, environ=environ)
        assert [d["outcome"] for d in result["decisions"] if d["action"] == "notify"] == ["delivered"] * 2
    assert len(jira.issues) == 1 and len(pagerduty.opened) == 1
    assert "Automated response" in jira.issues["SEC-1"]["fields"]["summary"]


# --- scheduled runs over the demo data -------------------------------------------------------------

DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def demo(small_org, tmp_path_factory):
    """A copy of the session's small_org (tests/conftest.py) as ``root / "org"``; the lake goes to
    ``root / "data"``."""
    root = tmp_path_factory.mktemp("routing-demo")
    shutil.copytree(small_org.root, root / "org")
    return root, small_org.manifest


def routed_runner(root: Path, work: Path, jira: FakeJira, pagerduty: FakePagerDuty,
                  only: set[str] | None = None):
    """A runner as ``trailguard run`` builds it, every detection on a daily schedule (3 windows: the demo)."""
    settings = Settings().with_overrides(data_dir=str(root / "data"), findings_store=str(work / "store"))
    settings.raw["schedule"] = {**settings["schedule"], "first_run_lookback_minutes": 2 * 24 * 60 + 120}
    # Ticks run a day past the demo's last digest, which log file validation rightly reports as a
    # trail that stopped (tests/integrity/test_integrity_findings.py); routing is what this test is about.
    settings.raw["integrity"] = {**settings["integrity"], "validate": False}
    settings.raw["sinks"] = [
        {"type": "jira", "url": jira.url, "project": "SEC", "email": JIRA_EMAIL, "min_severity": "high",
         "max_severity": "high", "backoff": 0.01, "max_attempts": 2},
        {"type": "pagerduty", "url": f"{pagerduty.url}/v2/enqueue", "backoff": 0.01, "max_attempts": 2},
    ]
    runner = make_runner(settings, str(root / "org"), work / "all.jsonl", str(work / "state"))
    runner.detections = {k: dataclasses.replace(d, schedule="1d") for k, d in runner.detections.items()
                         if only is None or k in only}
    return runner


def delivered(work: Path) -> dict[str, str]:
    """finding_id -> severity of everything the JSON lines sink (all severities) received."""
    lines = [json.loads(x) for x in (work / "all.jsonl").read_text().splitlines()]
    return {line["finding_id"]: line["severity"] for line in lines}


def ticket_findings(jira: FakeJira) -> list[str]:
    return [label.removeprefix("trailguard-finding-") for issue in jira.issues.values()
            for label in issue["fields"]["labels"] if label.startswith("trailguard-finding-")]


@pytest.mark.slow
def test_scheduled_run_over_the_demo_opens_one_ticket_and_one_page_per_finding(
        demo, jira, pagerduty, tmp_path, monkeypatch):
    root, manifest = demo
    monkeypatch.setenv("JIRA_API_TOKEN", JIRA_TOKEN)
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", PD_KEY)
    _, end = manifest.window()
    runner = routed_runner(root, tmp_path, jira, pagerduty)
    report = runner.tick(end + timedelta(hours=1))
    assert not report.errors, [t.error for t in report.errors]
    severities = delivered(tmp_path)
    high = {f for f, s in severities.items() if s == "high"}
    paging = {f for f, s in severities.items() if s in ("high", "critical")}
    assert len(high) >= 20 and len(severities) > len(paging)  # low and medium findings exist and do not page
    assert sorted(ticket_findings(jira)) == sorted(high)  # exactly one ticket per high finding
    assert sorted(pagerduty.opened) == sorted(paging)  # exactly one incident per high or critical finding
    tickets, incidents = dict(jira.issues), list(pagerduty.opened)

    # The second run opens none: the next day's tick, then a run that lost its state entirely.
    assert not runner.tick(end + DAY).errors
    lines = [json.loads(x) for x in (tmp_path / "all.jsonl").read_text().splitlines()]
    paging_detections = {line["detection_id"] for line in lines if line["finding_id"] in paging}
    fresh = routed_runner(root, tmp_path / "again", jira, pagerduty, only=paging_detections)
    assert not fresh.tick(end + timedelta(hours=1)).errors
    again = delivered(tmp_path / "again")
    assert paging <= set(again) and set(again) <= set(severities)  # every paging finding delivered again ...
    assert jira.issues == tickets and pagerduty.opened == incidents  # ... and nothing new was opened
    assert all(not issue["comments"] for issue in jira.issues.values())


@pytest.mark.slow
def test_nothing_is_lost_while_jira_and_pagerduty_are_down(demo, jira, pagerduty, tmp_path, monkeypatch):
    root, manifest = demo
    monkeypatch.setenv("JIRA_API_TOKEN", JIRA_TOKEN)
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", PD_KEY)
    _, end = manifest.window()
    only = {"root_account_usage", "iam_access_key_created", "console_login_failure_burst"}
    jira.down = pagerduty.down = True
    now = end + timedelta(hours=1)
    for _ in range(3):  # three ticks of outage: every detection with a high finding fails and is retried
        report = routed_runner(root, tmp_path, jira, pagerduty, only).tick(now)
        failing = {t.detection_id for t in report.errors}
        assert failing and failing <= only - {"console_login_failure_burst"}
        assert all("HTTP 503" in t.error and JIRA_TOKEN not in t.error for t in report.errors)
        now += timedelta(minutes=15)
    assert not jira.issues and not pagerduty.opened
    jira.down = False  # Jira back, PagerDuty still down: still failing, Jira tickets already open
    report = routed_runner(root, tmp_path, jira, pagerduty, only).tick(now)
    assert report.errors and jira.issues and not pagerduty.opened
    pagerduty.down = False
    report = routed_runner(root, tmp_path, jira, pagerduty, only).tick(now + timedelta(minutes=15))
    assert not report.errors, [t.error for t in report.errors]
    severities = delivered(tmp_path)
    high = {f for f, s in severities.items() if s == "high"}
    assert high and sorted(ticket_findings(jira)) == sorted(high)
    assert sorted(pagerduty.opened) == sorted(high)
    assert any(s == "medium" for s in severities.values())  # the burst detection ran and stayed off the pager
