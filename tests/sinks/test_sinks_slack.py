"""Slack sink against a local webhook: content, retries, backoff, and the URL never leaking."""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

import pytest

from pipeline.config import ConfigError, Settings
from pipeline.findings.model import Finding
from pipeline.sinks import Sink, SinkError, build_sinks, make_delivery
from pipeline.sinks.slack import SlackSink, slack_message
from tests.fake_services import SLACK_TOKEN

RUNBOOK = "1. Rotate the key.\n2. Ask."


def finding(n: int = 1, events: int = 8, severity: str = "critical", runbook: str = RUNBOOK) -> Finding:
    return Finding(
        detection_id="iam_access_key_created", finding_id=f"{n:032x}", severity=severity,
        title="Access key created for <admin> & co", event_ids=[f"event-{i}" for i in range(events)],
        account_id="222222222222", region="eu-west-1", principal="arn:aws:iam::222222222222:user/mallory",
        first_seen="2026-01-15 10:00:00", last_seen="2026-01-15 10:30:00", event_count=events,
        source_ip="203.0.113.9", attack=["T1098.001", "T1136"], runbook=runbook,
    )


def sink(url: str, **kwargs: Any) -> tuple[SlackSink, list[float]]:
    sleeps: list[float] = []
    return SlackSink(url, sleep=sleeps.append, **kwargs), sleeps


def assert_no_secret(url: str, *texts: str) -> None:
    for text in texts:
        assert url not in text and SLACK_TOKEN not in text and "/services/T000" not in text


def test_success_posts_one_readable_message_per_finding(webhook):
    slack, sleeps = sink(webhook.url)
    assert isinstance(slack, Sink) and slack.idempotent is False
    deliveries = [make_delivery(finding(1)), make_delivery(finding(2, events=2), is_update=True)]
    slack.deliver(deliveries)
    assert sleeps == [] and len(webhook.requests) == 2
    first = webhook.requests[0]
    assert first["path"] == f"/services/T000/B000/{SLACK_TOKEN}"
    assert first["headers"]["Content-Type"].startswith("application/json")
    message = first["body"]
    assert message == slack_message(deliveries[0])
    flat = json.dumps(message)
    assert message["text"].startswith("[CRITICAL] new: Access key created for &lt;admin&gt; &amp; co")
    assert message["blocks"][0]["text"]["text"].startswith(":red_circle: Access key created")
    for expected in ("arn:aws:iam::222222222222:user/mallory", "222222222222", "eu-west-1",
                     "2026-01-15 10:00:00", "2026-01-15 10:30:00", "*Records*\\n8", "203.0.113.9",
                     "`event-0`", "`event-4`",
                     "and 3 more", "<https://attack.mitre.org/techniques/T1098/001/|T1098.001>",
                     "<https://attack.mitre.org/techniques/T1136/|T1136>", "1. Rotate the key.\\n2. Ask.",
                     deliveries[0].delivery_id):
        assert expected in flat, expected
    assert "`event-5`" not in flat
    update = webhook.requests[1]["body"]
    assert update["text"].startswith("[CRITICAL] updated:")
    assert "Updated: Access key created" in update["blocks"][0]["text"]["text"]
    assert "and" not in update["blocks"][2]["text"]["text"].split("\n")[1]


def test_a_runbook_url_becomes_a_link():
    message = slack_message(make_delivery(finding(runbook="https://wiki.example.com/runbooks/keys")))
    assert "<https://wiki.example.com/runbooks/keys|Open the runbook>" in json.dumps(message)


def test_429_honours_retry_after_then_succeeds(webhook):
    webhook.responses = [(429, {"Retry-After": "7"}, b"rate_limited")]
    slack, sleeps = sink(webhook.url)
    slack.deliver([make_delivery(finding())])
    assert sleeps == [7.0] and len(webhook.requests) == 2


def test_5xx_backs_off_exponentially_then_fails_without_leaking_the_url(webhook, caplog):
    caplog.set_level(logging.DEBUG)
    webhook.responses = [(500, {}, f"boom {SLACK_TOKEN}".encode())] * 4
    slack, sleeps = sink(webhook.url, max_attempts=4, backoff=0.5)
    with pytest.raises(SinkError) as info:
        slack.deliver([make_delivery(finding())])
    assert len(webhook.requests) == 4 and sleeps == [0.5, 1.0, 2.0]
    message = str(info.value)
    assert "slack sink 'slack'" in message and "gave up after 4 attempt(s)" in message
    assert "HTTP 500" in message
    chain, exc = [], info.value
    while exc is not None:
        chain.append(f"{exc!s} {exc!r}")
        exc = exc.__cause__ or exc.__context__
    assert_no_secret(webhook.url, *chain, repr(slack), str(vars(slack)), caplog.text)
    assert "retrying" in caplog.text


def test_400_fails_at_once(webhook):
    webhook.responses = [(400, {}, b"invalid_payload")]
    slack, sleeps = sink(webhook.url)
    with pytest.raises(SinkError, match=r"refused the message \(HTTP 400: invalid_payload\)") as info:
        slack.deliver([make_delivery(finding())])
    assert sleeps == [] and len(webhook.requests) == 1
    assert_no_secret(webhook.url, str(info.value))


def test_partial_batch_reports_what_was_sent(webhook):
    webhook.responses = [(200, {}, b"ok"), (404, {}, b"no_service")]
    slack, _ = sink(webhook.url)
    first, second = make_delivery(finding(1)), make_delivery(finding(2))
    with pytest.raises(SinkError, match=r"1 of 2 message\(s\) sent before") as info:
        slack.deliver([first, second])
    assert info.value.delivered == (first.delivery_id,)


def test_redirects_are_not_followed(webhook):
    webhook.responses = [(302, {"Location": "http://127.0.0.1:9/elsewhere"}, b"")]
    slack, sleeps = sink(webhook.url)
    with pytest.raises(SinkError, match="HTTP 302"):
        slack.deliver([make_delivery(finding())])
    assert len(webhook.requests) == 1 and sleeps == []


def test_network_failure_is_retried_and_does_not_leak(caplog):
    caplog.set_level(logging.DEBUG)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/services/T000/B000/{SLACK_TOKEN}"
    slack, sleeps = sink(url, max_attempts=3, timeout=2)
    with pytest.raises(SinkError, match="gave up after 3 attempt") as info:
        slack.deliver([make_delivery(finding())])
    assert sleeps == [1.0, 2.0]
    assert_no_secret(url, str(info.value), caplog.text)


def test_build_sinks_reads_the_webhook_from_env_or_file(webhook, tmp_path):
    settings = Settings(raw={"sinks": [{"type": "slack", "min_severity": "high"}]})
    [slack] = build_sinks(settings, environ={"TRAILGUARD_SLACK_WEBHOOK": webhook.url})
    assert isinstance(slack, SlackSink) and slack.min_severity == "high"
    assert not slack.accepts(finding(severity="medium")) and slack.accepts(finding(severity="high"))
    assert_no_secret(webhook.url, repr(slack), str(slack))
    slack.deliver([make_delivery(finding())])
    assert len(webhook.requests) == 1

    secret = tmp_path / "slack-webhook"
    secret.write_text(webhook.url + "\n")
    settings = Settings(raw={"sinks": [{"type": "slack", "name": "ops", "webhook_file": str(secret)},
                                       {"type": "slack", "name": "sec", "webhook_env": "SEC_HOOK"}]})
    ops, sec = build_sinks(settings, environ={"SEC_HOOK": webhook.url})
    assert (ops.name, sec.name) == ("ops", "sec")
    ops.deliver([make_delivery(finding())])
    assert len(webhook.requests) == 2


@pytest.mark.parametrize(
    ("table", "environ", "message"),
    [
        ({"webhook_env": "NOPE"}, {}, "sinks[0] (slack): webhook_env: environment variable NOPE is not set"),
        ({}, {"TRAILGUARD_SLACK_WEBHOOK": f"not-a-url/{SLACK_TOKEN}"},
         "sinks[0] (slack): webhook_env: TRAILGUARD_SLACK_WEBHOOK does not hold an http(s) URL"),
        ({"webhook_file": "/nonexistent/hook"}, {},
         "sinks[0] (slack): webhook_file: cannot read /nonexistent/hook"),
        ({"max_attempts": 0}, {"TRAILGUARD_SLACK_WEBHOOK": "https://hooks.example/x"},
         "sinks[0] (slack): max_attempts: 0 is not a positive integer"),
    ],
)
def test_bad_slack_config(table, environ, message):
    with pytest.raises(ConfigError) as info:
        build_sinks(Settings(raw={"sinks": [{"type": "slack", **table}]}), environ=environ)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
    assert SLACK_TOKEN not in str(info.value)
