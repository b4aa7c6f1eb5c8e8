"""Jira sink against a local Jira (Cloud v3 with ADF, Data Center v2 with wiki markup).

One ticket per finding across re-deliveries, updates instead of duplicates, retries on 429/5xx,
Jira's error bodies in the message, and the token never in a message, repr or log line.
"""

from __future__ import annotations

import logging

import pytest

from pipeline.config import ConfigError, Settings
from pipeline.sinks import SinkError, build_sinks, make_delivery
from pipeline.sinks.factory import RoutedSink, resolve_findings
from pipeline.sinks.jira import JiraSink, ticket_id
from tests.fake_services import JIRA_EMAIL, JIRA_TOKEN, FakeJira, adf_text
from tests.helpers import grown, sink_finding

TOKEN_ENV = {"JIRA_API_TOKEN": "t"}


def jira_sink(service: FakeJira, **table) -> JiraSink:
    """A sink built from configuration, as a deployment would, with no real sleeping."""
    base = {"type": "jira", "url": service.url, "project": "SEC",
            "flavor": service.flavor, "backoff": 0.01, "max_attempts": 3}
    if service.flavor == "cloud":
        base["email"] = JIRA_EMAIL
    [sink] = build_sinks(Settings(raw={"sinks": [{**base, **table}]}), environ={"JIRA_API_TOKEN": JIRA_TOKEN})
    return sink


def writes(service: FakeJira) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in service.requests if r["method"] != "GET"
            and not r["path"].endswith(("/search", "/search/jql"))]


def test_cloud_one_ticket_per_finding_and_updates_instead_of_duplicates(jira):
    sink = jira_sink(jira, priorities={"high": "High"}, labels=["security"])
    first = make_delivery(sink_finding(1))
    sink.deliver([first, make_delivery(sink_finding(2))])
    assert sorted(jira.issues) == ["SEC-1", "SEC-2"]
    issue = jira.issues["SEC-1"]["fields"]
    assert issue["summary"] == ("[HIGH] IAM access key created: arn:aws:iam::222222222222:user/mallory in "
                                "222222222222/eu-west-1")
    assert issue["issuetype"] == {"name": "Task"} and issue["priority"] == {"name": "High"}
    assert {"trailguard", "trailguard-detection-iam_access_key_created", "trailguard-severity-high",
            f"trailguard-finding-{1:032x}", "security"} <= set(issue["labels"])
    text = adf_text(issue["description"])
    for expected in ("arn:aws:iam::222222222222:user/mallory", "222222222222", "eu-west-1", "203.0.113.9",
                     "event-1-0", "event-1-2", "T1098.001", "Deactivate the key.", "Ask the owner.", "ci-bot",
                     first.delivery_id):
        assert expected in text, expected

    # A repeat (the scheduler retrying after a crash), from a fresh process: nothing written.
    before = len(writes(jira))
    jira_sink(jira).deliver([first])
    assert writes(jira)[before:] == [] and len(jira.issues) == 2
    asked = len(jira.requests)
    sink.deliver([first])  # the same process: it knows, and does not even ask
    assert len(jira.requests) == asked

    # The finding grew: the same ticket gets the whole evidence and one comment; a repeat adds nothing.
    update = make_delivery(grown(sink_finding(1)), is_update=True)
    for _ in range(2):
        jira_sink(jira).deliver([update])
    assert len(jira.issues) == 2
    ticket = jira.issues["SEC-1"]
    assert "event-extra-1" in adf_text(ticket["fields"]["description"])
    assert len(ticket["comments"]) == 1
    comment = adf_text(ticket["comments"][0]["body"])
    assert "Updated by trailguard: 5 record(s) now" in comment and update.delivery_id in comment
    assert "security" in ticket["fields"]["labels"]


def test_data_center_uses_v2_wiki_markup_and_a_bearer_token(jira_dc):
    sink = jira_sink(jira_dc, issue_type="Bug")
    delivery = make_delivery(sink_finding(7))
    sink.deliver([delivery])
    sink.deliver([make_delivery(grown(sink_finding(7)), is_update=True)])
    assert list(jira_dc.issues) == ["SEC-1"]
    description = jira_dc.issues["SEC-1"]["fields"]["description"]
    assert isinstance(description, str) and "h3. Records (5)" in description
    assert "*Principal:* arn:aws:iam::222222222222:user/mallory" in description
    assert "{{event-7-0}}" in description and "[T1098.001|https://attack.mitre.org/techniques/T1098/001/]" \
        in description and "{code:json}" in description
    assert all(r["path"].startswith("/rest/api/2/") for r in jira_dc.requests)
    assert isinstance(jira_dc.issues["SEC-1"]["comments"][0]["body"], str)


def test_custom_field_holds_the_id_and_is_searched_exactly(jira):
    sink = jira_sink(jira, id_field="customfield_10050")
    sink.deliver([make_delivery(sink_finding(3))])
    jira_sink(jira, id_field="customfield_10050").deliver([make_delivery(sink_finding(3))])
    assert list(jira.issues) == ["SEC-1"]
    assert jira.issues["SEC-1"]["fields"]["customfield_10050"] == f"{3:032x}"
    searches = [r["body"]["jql"] for r in jira.requests if r["path"].endswith("/search/jql")]
    assert searches[-1] == f'project = "SEC" AND cf[10050] ~ "{3:032x}" ORDER BY created ASC'


def test_dedup_group_mode_comments_further_findings_on_the_group_ticket(jira):
    sink = jira_sink(jira, group="dedup_group")
    a, b = sink_finding(1), sink_finding(2)  # same detection, account and dedup key: one group
    other = sink_finding(3, principal="arn:aws:iam::222222222222:user/bob")
    sink.deliver([make_delivery(a), make_delivery(b), make_delivery(other)])
    jira_sink(jira, group="dedup_group").deliver([make_delivery(b)])  # a repeat from a fresh process
    assert sorted(jira.issues) == ["SEC-1", "SEC-2"]
    assert ticket_id(a, "dedup_group") == ticket_id(b, "dedup_group") != ticket_id(other, "dedup_group")
    comments = jira.issues["SEC-1"]["comments"]
    assert len(comments) == 1 and "Another finding of this group" in adf_text(comments[0]["body"])
    assert "event-2-0" in adf_text(comments[0]["body"])


def test_429_honours_retry_after_and_5xx_gives_up_without_leaking_the_token(jira, caplog):
    caplog.set_level(logging.DEBUG)
    sleeps: list[float] = []
    sink = jira_sink(jira)
    sink._http._sleep = sleeps.append
    jira.script = [(429, {"Retry-After": "3"}, {"errorMessages": ["Rate limit exceeded."]})]
    sink.deliver([make_delivery(sink_finding(1))])
    assert sleeps == [3.0] and list(jira.issues) == ["SEC-1"]

    jira.script = [(500, {}, f"boom {JIRA_TOKEN}")] * 3
    with pytest.raises(SinkError) as info:
        sink.deliver([make_delivery(sink_finding(2))])
    message = str(info.value)
    assert "jira sink 'jira:SEC'" in message and "gave up after 3 attempt(s)" in message
    assert "HTTP 500" in message
    assert sleeps == [3.0, 0.01, 0.02] and list(jira.issues) == ["SEC-1"]
    chain, exc = [], info.value
    while exc is not None:
        chain.append(f"{exc!s} {exc!r}")
        exc = exc.__cause__ or exc.__context__
    for text in (*chain, repr(sink), str(vars(sink)), caplog.text):
        assert JIRA_TOKEN not in text and "amlyYS1TRUNSRVQt" not in text  # nor its base64 in Basic auth


def test_jira_error_bodies_fail_at_once_with_their_message(jira):
    sink = jira_sink(jira, issue_type="Epic-that-does-not-exist")
    refused = r"Jira refused the new issue \(HTTP 400: issuetype: Specify an issue type"
    with pytest.raises(SinkError, match=refused):
        sink.deliver([make_delivery(sink_finding(1))])
    assert sum(r["path"].endswith("/issue") for r in jira.requests) == 1  # not retried

    wrong = jira_sink(jira)
    wrong._token._value = type(wrong._token._value)("not-the-token")
    with pytest.raises(SinkError, match=r"HTTP 401: Client must be authenticated"):
        wrong.deliver([make_delivery(sink_finding(1))])


def test_partial_batch_reports_what_reached_jira(jira):
    sink = jira_sink(jira)
    jira.script = [(200, {}, {"issues": [], "isLast": True}), (201, {}, {"id": "1", "key": "SEC-9"}),
                   (400, {}, {"errorMessages": ["Field 'summary' cannot be set."], "errors": {}})]
    first, second = make_delivery(sink_finding(1)), make_delivery(sink_finding(2))
    with pytest.raises(SinkError, match=r"1 of 2 finding\(s\) written before") as info:
        sink.deliver([first, second])
    assert info.value.delivered == (first.delivery_id,)


def test_routing_by_detection_and_severity_band(jira):
    sink = jira_sink(jira, min_severity="medium", max_severity="high", detections=["iam_*"],
                     exclude_detections=["iam_user_created"])
    assert isinstance(sink, RoutedSink) and sink.name == "jira:SEC" and sink.idempotent
    assert sink.accepts(sink_finding(severity="high")) and sink.accepts(sink_finding(severity="medium"))
    assert not sink.accepts(sink_finding(severity="critical"))
    assert not sink.accepts(sink_finding(severity="low"))
    assert not sink.accepts(sink_finding(detection="root_account_usage"))
    assert not sink.accepts(sink_finding(detection="iam_user_created"))


def test_resolve_comments_and_transitions_the_ticket_once(jira):
    sink = jira_sink(jira, resolve_transition="Done")
    sink.deliver([make_delivery(sink_finding(1))])
    for _ in range(2):
        results = resolve_findings(Settings(), [f"{1:032x}", f"{9:032x}"], "benign: CI rotation",
                                   sinks=[sink])
    assert [(r.finding_id[-1], r.outcome) for r in results] == [("1", "resolved (SEC-1)"), ("9", "no ticket")]
    issue = jira.issues["SEC-1"]
    assert issue["fields"]["status"] == {"name": "Done"}
    assert len(issue["comments"]) == 1 and "benign: CI rotation" in adf_text(issue["comments"][0]["body"])


@pytest.mark.parametrize(
    ("table", "environ", "message"),
    [
        ({"project": None}, TOKEN_ENV, "project: missing"),
        ({"flavor": "server"}, TOKEN_ENV, "flavor: 'server' is not one of cloud"),
        ({"email": None}, TOKEN_ENV, "email: missing"),
        ({}, {}, "token_env: environment variable JIRA_API_TOKEN is not set"),
        ({"token_file": "/nonexistent/token"}, {}, "token_file: cannot read /nonexistent/token"),
        ({"id_field": "summary"}, TOKEN_ENV, "id_field: 'summary' is not"),
        ({"group": "account"}, TOKEN_ENV, "group: 'account' is not one of"),
        ({"url": "jira.example.com"}, TOKEN_ENV, "url: 'jira.example.com' is not"),
        ({"priorities": {"urgent": "Highest"}}, TOKEN_ENV, "priorities: 'urgent'"),
        ({"detections": ["iam_acces_key_created"]}, TOKEN_ENV,
         "detections: 'iam_acces_key_created' matches no detection id"),
        ({"min_severity": "high", "max_severity": "low"}, TOKEN_ENV,
         "max_severity: 'low' is below min_severity 'high'"),
    ],
)
def test_bad_jira_config(table, environ, message):
    base = {"type": "jira", "url": "https://example.atlassian.net", "project": "SEC", "email": JIRA_EMAIL}
    merged = {k: v for k, v in {**base, **table}.items() if v is not None}
    with pytest.raises(ConfigError) as info:
        build_sinks(Settings(raw={"sinks": [merged]}), environ=environ)
    assert str(info.value).startswith("sinks[0] (jira): " + message) and "\n" not in str(info.value)
