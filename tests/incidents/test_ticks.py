"""Scheduled ticks routing incidents end where one batch run over the same period starts: the
same incidents (by their findings' records), one Jira ticket and one PagerDuty page each, with
late files (tests/test_scheduled_runs.py's bucket: one file in ten lands 30 minutes late) and a
tick killed between delivering incidents and saving what it delivered."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.config import DEFAULTS, Settings
from pipeline.findings.severity import severity_rank
from pipeline.incidents.service import incidents_from_store
from pipeline.incidents.tick_job import IncidentTickJob
from pipeline.times import parse_iso
from pipeline.workflow import detect, make_runner, record_findings
from tests.fake_services import JIRA_EMAIL, JIRA_TOKEN, PD_KEY
from tests.helpers import TICK, Bucket, SimulatedCrash, catalogue_settings

pytestmark = pytest.mark.slow  # one labelled 14-day demo, generated and detected once per session

STORY_HOURS = (-1, 6)  # around the leaked-key story: its findings and GuardDuty's first updates


def content(incident) -> frozenset:
    """An incident by what it holds: each finding's detection and records (a burst that a late
    file extended may keep the id it was first delivered under; its records are the same)."""
    return frozenset((f.detection_id, tuple(sorted(f.event_ids))) for f in incident.findings)


def tick_settings(data: Path, jira_url: str, pd_url: str) -> Settings:
    incidents = {**copy.deepcopy(DEFAULTS["incidents"]), "route": "incident"}
    sinks = [{"type": "jira", "url": jira_url, "project": "SEC", "email": JIRA_EMAIL, "backoff": 0.01},
             {"type": "pagerduty", "url": pd_url + "/v2/enqueue", "backoff": 0.01},
             {"type": "jsonl", "path": str(data / "findings.jsonl")}]
    return catalogue_settings(data).with_overrides(incidents=incidents, sinks=sinks)


def kill_after_delivery(runner) -> list[bool]:
    """Make the incident job die after a sink accepted incidents, before the state is saved."""
    [job] = [j for j in runner.jobs if isinstance(j, IncidentTickJob)]
    delivered = [False]
    for sink in job.sinks:
        original = sink.deliver

        def deliver(deliveries, original=original):
            original(deliveries)
            delivered[0] = True

        sink.deliver = deliver
    save = runner.state.save

    def dying_save(state, version):
        if state.detection_id == "incidents" and delivered[0]:
            raise SimulatedCrash("after delivering incidents, before saving")
        return save(state, version)

    runner.state.save = dying_save
    return delivered


def test_ticks_route_the_incidents_a_batch_run_finds(demo, jira, pagerduty, tmp_path,
                                                    monkeypatch):
    monkeypatch.setenv("JIRA_API_TOKEN", JIRA_TOKEN)
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", PD_KEY)
    story = min(f.first_seen for f in demo.findings if f.detection_id == "discovery_burst"
                and str(f.principal).endswith("user/legacy-ci-deployer"))
    t0 = parse_iso(story).replace(minute=0, second=0)
    first, last = t0 + timedelta(hours=STORY_HOURS[0]), t0 + timedelta(hours=STORY_HOURS[1])
    live = tmp_path / "live"
    bucket = Bucket(Path(demo.source), live)
    settings = tick_settings(tmp_path / "ticks", jira.url, pagerduty.url)
    state = str(tmp_path / "state")
    now, killed = first, False
    while now <= last:
        bucket.advance(now)
        runner = make_runner(settings, str(live), None, state)
        if not killed:
            try:
                kill_after_delivery(runner)
                runner.tick(now)
            except SimulatedCrash:
                killed = True
                runner = make_runner(settings, str(live), None, state)  # cron's next call, same tick
            else:
                now += TICK
                continue
        report = runner.tick(now)
        assert not report.errors, [t.error for t in report.errors]
        now += TICK
    assert killed

    # The first tick's window starts 75 minutes before it (lag + first-run lookback); incidents
    # active since then, from both runs, are compared.
    window = (first - timedelta(minutes=75), last - timedelta(minutes=15))
    ticked = incidents_from_store(settings, since=window[0])
    batch_settings = catalogue_settings(tmp_path / "batch")
    outcome = detect(batch_settings, str(live), *window)
    record_findings(batch_settings, outcome, *window)
    batch = incidents_from_store(batch_settings, since=window[0])
    assert {content(i) for i in ticked} == {content(i) for i in batch}
    assert any("discovery_persistence_evasion" in i.sequences for i in ticked)

    labels = [label for issue in jira.issues.values() for label in issue["fields"]["labels"]
              if label.startswith("trailguard-finding-inc-")]
    assert len(labels) == len(set(labels)) == len(jira.issues) == len(ticked)
    paged = {i.incident_id for i in ticked if severity_rank(i.severity) >= severity_rank("high")}
    assert set(pagerduty.opened) == paged and len(pagerduty.opened) == len(paged)
    findings_file = tmp_path / "ticks" / "findings.jsonl"
    lines = [json.loads(line) for line in findings_file.read_text().splitlines()]
    assert lines and all(line["detection_id"] != "incident" for line in lines)
