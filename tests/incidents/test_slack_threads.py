"""Slack gets one thread per incident through the Web API: findings joining the incident reply in
its thread, a second run or a run with lost state posts nothing (the fake Slack API on 127.0.0.1)."""

from __future__ import annotations

from pipeline.config import DEFAULTS, Settings
from pipeline.incidents.correlate import correlate
from pipeline.incidents.route import route_incidents, split_sinks
from pipeline.incidents.rules import load_rules
from pipeline.incidents.score import ScoreWeights
from pipeline.runs.state import LocalStateStore
from pipeline.sinks import build_sinks
from tests.fake_services import SLACK_BOT_TOKEN, SLACK_CHANNEL

RULES, WEIGHTS = load_rules(), ScoreWeights.from_config(DEFAULTS["incidents"])
CI = "arn:aws:iam::111122223333:user/ci"


def found(fid: str, when: str, principal: str = CI, severity: str = "high") -> dict:
    return {"finding_id": fid, "detection_id": "iam_user_created", "severity": severity,
            "title": f"finding {fid}", "principal": principal, "first_seen": when,
            "event_ids": [f"record-{fid}"]}


def slack_sinks(url: str) -> list:
    table = {"type": "slack", "channel": SLACK_CHANNEL, "url": url + "/api", "token_env": "BOT",
             "backoff": 0.01}
    sinks = build_sinks(Settings(raw={"sinks": [table]}), environ={"BOT": SLACK_BOT_TOKEN})
    return split_sinks(sinks, "incident")[1]


def test_one_thread_per_incident_updates_reply_and_repeats_post_nothing(slack_api, tmp_path):
    ops = CI.replace("ci", "ops")
    early = [found("a", "2026-11-03T13:00:00Z"), found("other", "2026-11-03T13:00:00Z", ops)]
    grown = [*early, found("b", "2026-11-03T13:20:00Z")]
    state = LocalStateStore(tmp_path / "state")
    sinks = slack_sinks(slack_api.url)

    first = route_incidents(correlate(early, RULES, WEIGHTS), sinks, state)
    assert first.opened == {"slack": 2} and len(slack_api.threads()) == 2
    second = route_incidents(correlate(grown, RULES, WEIGHTS), sinks, state)
    assert second.updated == {"slack": 1}
    threads = slack_api.threads()
    assert len(threads) == 2
    [ci_thread] = [t for t in threads.values() if len(t) == 2]
    assert "finding b" in str(ci_thread[1]["blocks"]) and "finding b" not in str(ci_thread[0]["blocks"])

    posted = len(slack_api.messages)
    assert route_incidents(correlate(grown, RULES, WEIGHTS), sinks, state).updated == {}
    lost = route_incidents(correlate(grown, RULES, WEIGHTS), slack_sinks(slack_api.url),
                           LocalStateStore(tmp_path / "lost"))
    assert lost.errors == {}
    assert len(slack_api.messages) == posted  # found in the channel by message metadata
