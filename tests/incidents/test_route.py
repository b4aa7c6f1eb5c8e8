"""Routing by incident: one Jira ticket and one PagerDuty page per incident, updated as findings
join, nothing new on a second run or after the state is lost; Slack one message per change.
Jira and PagerDuty are the strict fakes on 127.0.0.1 (tests/fake_services.py)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import Settings
from pipeline.findings.severity import severity_rank
from pipeline.incidents.correlate import correlate
from pipeline.incidents.route import INCIDENT_DETECTION, route_incidents, split_sinks
from pipeline.incidents.service import IncidentConfig, incidents_from_store
from pipeline.runs.state import LocalStateStore
from pipeline.sinks import build_sinks
from pipeline.sinks.jsonl import JsonlSink
from pipeline.sinks.slack import SlackSink
from tests.fake_services import JIRA_EMAIL, JIRA_TOKEN, PD_KEY, FakeJira

pytestmark = pytest.mark.slow  # one labelled 14-day demo, generated and detected once per session


def alert_sinks(jira_url: str, pd_url: str) -> list:
    tables = [{"type": "jira", "url": jira_url, "project": "SEC", "email": JIRA_EMAIL, "backoff": 0.01},
              {"type": "pagerduty", "url": pd_url + "/v2/enqueue", "backoff": 0.01}]
    return build_sinks(Settings(raw={"sinks": tables}),
                       environ={"JIRA_API_TOKEN": JIRA_TOKEN, "PAGERDUTY_ROUTING_KEY": PD_KEY})


@pytest.fixture(scope="module")
def incidents(demo):
    start, _ = demo.manifest.window()
    return incidents_from_store(demo.settings, since=start)


def created(service: FakeJira) -> int:
    return sum(r["method"] == "POST" and r["path"].endswith("/issue") for r in service.requests)


def test_one_ticket_and_one_page_per_incident_and_a_second_run_opens_nothing(
        incidents, jira, pagerduty, tmp_path: Path):
    sinks = alert_sinks(jira.url, pagerduty.url)
    state = LocalStateStore(tmp_path / "state")
    report = route_incidents(incidents, sinks, state, paging_severity="high")
    assert report.errors == {}
    paged = [i.incident_id for i in incidents if severity_rank(i.severity) >= severity_rank("high")]
    assert len(jira.issues) == len(incidents)
    labels = {label for issue in jira.issues.values() for label in issue["fields"]["labels"]}
    assert {f"trailguard-finding-{i.incident_id}" for i in incidents} <= labels
    assert f"trailguard-detection-{INCIDENT_DETECTION}" in labels
    assert sorted(pagerduty.opened) == sorted(paged)
    assert 0 < len(paged) < len(incidents)
    first = next(i for i in jira.issues.values() if f"trailguard-finding-{incidents[0].incident_id}"
                 in i["fields"]["labels"])
    assert "Timeline" in json.dumps(first["fields"]["description"])

    requests = (len(jira.requests), len(pagerduty.requests))
    again = route_incidents(incidents, sinks, state, paging_severity="high")
    assert (again.opened, again.updated) == ({}, {})
    assert (len(jira.requests), len(pagerduty.requests)) == requests  # nothing even asked

    lost = route_incidents(incidents, alert_sinks(jira.url, pagerduty.url), LocalStateStore(tmp_path / "new"),
                           paging_severity="high")
    assert lost.errors == {}
    assert len(jira.issues) == len(incidents)  # found again by label, the delivery already written
    assert created(jira) == len(incidents)
    assert sorted(pagerduty.opened) == sorted(paged)  # same dedup keys fold into the open alerts


def test_findings_joining_an_incident_update_its_ticket_and_page(
        demo, incidents, jira, pagerduty, tmp_path: Path):
    config = IncidentConfig.from_settings(demo.settings)
    attack = incidents[0]
    late = attack.finding_ids[-1]
    earlier = correlate([f for f in demo.findings if f.finding_id != late], config.rules, config.weights)
    before = next(i for i in earlier if i.incident_id == attack.incident_id)
    assert late not in before.finding_ids
    sinks = alert_sinks(jira.url, pagerduty.url)
    state = LocalStateStore(tmp_path / "state")
    route_incidents([before], sinks, state)
    assert len(jira.issues) == 1 and pagerduty.opened == [attack.incident_id]
    report = route_incidents([attack], sinks, state)
    assert report.updated == {s.name: 1 for s in sinks} and report.opened == {}
    [issue] = jira.issues.values()
    assert len(issue["comments"]) == 1 and late in json.dumps(issue["fields"]["description"])
    assert pagerduty.opened == [attack.incident_id]
    assert len(pagerduty.incidents[attack.incident_id]["alerts"]) == 2


def test_route_incident_moves_alert_sinks_off_findings_and_keeps_records_sinks(tmp_path: Path):
    table = [{"type": "jsonl", "path": str(tmp_path / "f.jsonl")},
             {"type": "slack", "webhook_env": "HOOK", "detections": ["iam_*"]}]
    sinks = build_sinks(Settings(raw={"sinks": table}), environ={"HOOK": "http://127.0.0.1:9/services/x"})
    findings_only, incident_sinks = split_sinks(sinks, "incident")
    assert [type(s) for s in findings_only] == [JsonlSink]
    assert [type(getattr(s, "inner", s)) for s in incident_sinks] == [SlackSink]
    assert split_sinks(sinks, "finding") == (sinks, [])


@pytest.fixture
def slack_hook():
    posts: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            posts.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0))))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/services/T0/B0/secret-token-123", posts
    server.shutdown()
    server.server_close()


def test_slack_gets_one_message_per_incident_change_routed_by_detection(incidents, slack_hook, tmp_path):
    url, posts = slack_hook
    table = [{"type": "slack", "webhook_env": "HOOK", "detections": ["cloudtrail_tampering"],
              "backoff": 0.01}]
    sinks = build_sinks(Settings(raw={"sinks": table}), environ={"HOOK": url})
    state = LocalStateStore(tmp_path / "state")
    route_incidents(incidents, sinks, state)
    wanted = [i for i in incidents if "cloudtrail_tampering" in i.detections]
    assert wanted and len(posts) == len(wanted)
    assert any("Timeline" in json.dumps(p["blocks"]) for p in posts)
    route_incidents(incidents, sinks, state)
    assert len(posts) == len(wanted)


def test_an_earlier_finding_arriving_late_keeps_the_routed_ticket(demo, incidents, jira, pagerduty,
                                                                 tmp_path: Path):
    config = IncidentConfig.from_settings(demo.settings)
    attack = incidents[0]
    earliest = attack.finding_ids[0]
    without = correlate([f for f in demo.findings if f.finding_id != earliest], config.rules, config.weights)
    before = next(i for i in without if set(i.finding_ids) == set(attack.finding_ids) - {earliest})
    assert before.incident_id != attack.incident_id  # the id follows the earliest finding
    sinks = alert_sinks(jira.url, pagerduty.url)
    state = LocalStateStore(tmp_path / "state")
    route_incidents([before], sinks, state)
    report = route_incidents([attack], sinks, state)
    assert report.opened == {} and report.updated == {s.name: 1 for s in sinks}
    assert len(jira.issues) == 1 and pagerduty.opened == [before.incident_id]
    assert route_incidents([attack], sinks, state).updated == {}
