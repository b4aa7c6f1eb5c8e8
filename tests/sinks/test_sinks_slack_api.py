"""The Slack Web API sink: one thread per finding (its updates reply in it), nothing posted twice
after a repeat or a lost state, Slack's ``ok: false`` refusals and 429s, the token never shown."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from pipeline.config import ConfigError, Settings
from pipeline.findings.model import Finding
from pipeline.sinks import SinkError, build_sinks, make_delivery
from pipeline.sinks.http import Credential
from pipeline.sinks.slack_api import SlackApiSink
from tests.fake_services import SLACK_BOT_TOKEN, SLACK_CHANNEL


def finding(n: int, events: int = 2) -> Finding:
    return Finding(detection_id="iam_user_created", finding_id=f"f-{n}", severity="high",
                   title="IAM user created", event_ids=[f"e{n}-{i}" for i in range(events)],
                   account_id="111122223333", region="us-east-1",
                   principal="arn:aws:iam::111122223333:user/ci",
                   first_seen="2026-11-03T13:00:00Z", last_seen="2026-11-03T13:05:00Z", event_count=events)


def api_sink(url: str, token: str = SLACK_BOT_TOKEN, **kwargs: Any) -> SlackApiSink:
    return SlackApiSink(Credential("token", value=token), SLACK_CHANNEL, url + "/api", backoff=0.01,
                        sleep=lambda _: None, **kwargs)


def test_updates_reply_in_the_findings_thread_and_repeats_post_nothing(slack_api):
    sink = api_sink(slack_api.url)
    sink.deliver([make_delivery(finding(1)), make_delivery(finding(2))])
    grown = make_delivery(finding(1, events=3), is_update=True)
    sink.deliver([grown])
    threads = slack_api.threads()
    assert len(threads) == 2
    [root_ts] = [ts for ts, thread in threads.items()
                 if thread[0]["metadata"]["event_payload"]["finding_id"] == "f-1"]
    assert [m.get("thread_ts") for m in threads[root_ts]] == [None, root_ts]
    assert "Updated" in threads[root_ts][1]["blocks"][0]["text"]["text"]

    posted = len(slack_api.messages)
    again = api_sink(slack_api.url)  # a new process: nothing remembered but what is in the channel
    again.deliver([make_delivery(finding(1)), make_delivery(finding(2)), grown])
    assert len(slack_api.messages) == posted
    assert sink.idempotent


def test_history_is_read_page_by_page(slack_api):
    sink = api_sink(slack_api.url)
    sink.deliver([make_delivery(finding(n)) for n in range(450)])  # three pages of 200
    sink.deliver([make_delivery(finding(0, events=5), is_update=True)])
    first = slack_api.threads()[slack_api.messages[0]["ts"]]
    assert len(first) == 2 and len(slack_api.threads()) == 450


def test_a_refusal_names_slacks_error_and_never_the_token(slack_api, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "xoxb-WRONG-token-0000"
    with pytest.raises(SinkError) as error:
        api_sink(slack_api.url, token=wrong).deliver([make_delivery(finding(1))])
    assert "invalid_auth" in str(error.value)
    slack_api.script = [(429, {"Retry-After": "0"}, {"ok": False, "error": "ratelimited"}),
                        (500, {}, "oops")]
    sink = api_sink(slack_api.url)
    sink.deliver([make_delivery(finding(1))])
    assert len(slack_api.messages) == 1
    for text in (str(error.value), caplog.text, repr(sink)):
        assert SLACK_BOT_TOKEN not in text and wrong not in text
    assert all(SLACK_BOT_TOKEN not in str(r["path"]) for r in slack_api.requests)  # header only


def test_a_failure_midway_lists_what_was_posted(slack_api):
    sink = api_sink(slack_api.url, max_attempts=1)
    slack_api.script = [(200, {}, {"ok": True, "messages": []}),  # history
                        (200, {}, {"ok": True, "ts": "1.1"}),  # the first message
                        (200, {}, {"ok": False, "error": "channel_not_found"})]
    with pytest.raises(SinkError) as error:
        sink.deliver([make_delivery(finding(1)), make_delivery(finding(2))])
    assert error.value.delivered == (make_delivery(finding(1)).delivery_id,)
    assert "channel_not_found" in str(error.value) and "1 of 2" in str(error.value)


def test_a_channel_makes_the_slack_sink_use_the_web_api(slack_api):
    table = {"type": "slack", "channel": SLACK_CHANNEL, "url": slack_api.url + "/api", "token_env": "BOT"}
    [sink] = build_sinks(Settings(raw={"sinks": [table]}), environ={"BOT": SLACK_BOT_TOKEN})
    assert isinstance(getattr(sink, "inner", sink), SlackApiSink)
    with pytest.raises(ConfigError, match="token_env: environment variable BOT is not set"):
        build_sinks(Settings(raw={"sinks": [table]}), environ={})
    with pytest.raises(ConfigError, match="channel"):
        build_sinks(Settings(raw={"sinks": [{**table, "webhook_env": "HOOK"}]}),
                    environ={"BOT": SLACK_BOT_TOKEN, "HOOK": "http://127.0.0.1:9/x"})
