"""Slack incoming-webhook sink: one readable message per finding.

The webhook URL is a credential (anyone holding it can post to the channel), so it lives only in
a private holder: never in ``repr``, log lines or exception text. Slack cannot deduplicate, so
this sink is not idempotent: a repeated delivery posts again.

Sending, retries (429, 5xx and network failures, with backoff honouring ``Retry-After``; other
4xx fail at once) and scrubbing the URL from errors are :mod:`pipeline.sinks.http`'s.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipeline.findings.severity import check_severity
from pipeline.sinks.base import BaseSink, Delivery, SinkError
from pipeline.sinks.http import HttpClient, Secret

DEFAULT_WEBHOOK_ENV = "TRAILGUARD_SLACK_WEBHOOK"
SHOWN_EVENT_IDS = 5
_EMOJI = {"low": ":large_blue_circle:", "medium": ":large_yellow_circle:", "high": ":large_orange_circle:",
          "critical": ":red_circle:"}
_URL = re.compile(r"^https?://\S+$")


def resolve_webhook(webhook_env: str | None, webhook_file: str | None, environ: Mapping[str, str]) -> str:
    """The webhook URL from a file (a mounted secret) if configured, else from the environment.

    ValueError messages name the key and the variable or file, never the value.
    """
    if webhook_file:
        try:
            url = Path(webhook_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"webhook_file: cannot read {webhook_file} ({exc.strerror})") from None
        where = f"webhook_file: {webhook_file}"
    else:
        variable = webhook_env or DEFAULT_WEBHOOK_ENV
        url = (environ.get(variable) or "").strip()
        if not url:
            raise ValueError(f"webhook_env: environment variable {variable} is not set")
        where = f"webhook_env: {variable}"
    if not _URL.match(url):
        raise ValueError(f"{where} does not hold an http(s) URL")
    return url


_FORMATTING = re.compile(r"([*_~`])")
ZWSP = "\u200b"


def _escape(text: object) -> str:
    """Attacker-written text as literal mrkdwn: &, < and > as entities (no links, no mentions), and
    a zero-width space before each of * _ ~ ` so a principal or user agent cannot bold, italicize,
    strike or open code (mrkdwn has no backslash escape). The characters themselves still show."""
    text = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _FORMATTING.sub(ZWSP + r"\1", text)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _attack_link(technique: str) -> str:
    return f"<https://attack.mitre.org/techniques/{technique.replace('.', '/')}/|{_escape(technique)}>"


def slack_message(delivery: Delivery) -> dict[str, Any]:
    """Block Kit message plus a plain ``text`` fallback (notifications, old clients)."""
    f = delivery.finding
    severity = str(f.severity).lower()
    verb = "updated" if delivery.is_update else "new"
    emoji = _EMOJI.get(severity, ":white_circle:")
    header = f"{'Updated: ' if delivery.is_update else ''}{f.title}"
    fields = [("Severity", severity.upper()), ("Principal", f.principal or "-"),
              ("Account", f.account_id or "-"), ("Region", f.region or "-"), ("First seen", f.first_seen),
              ("Last seen", f.last_seen), ("Records", str(f.event_count))]
    if f.source_ip:
        fields.append(("Source IP", f.source_ip))
    shown = ", ".join(f"`{_escape(e)}`" for e in f.event_ids[:SHOWN_EVENT_IDS])
    more = len(f.event_ids) - SHOWN_EVENT_IDS
    events = shown + (f" and {more} more" if more > 0 else "")
    runbook = f.runbook.strip()
    runbook_text = (f"<{runbook}|Open the runbook>" if _URL.match(runbook)
                    else _clip(_escape(runbook), 2900) if runbook else "_none_")
    blocks: list[dict[str, Any]] = [
        {"type": "header",
         "text": {"type": "plain_text", "text": _clip(f"{emoji} {header}", 150), "emoji": True}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": _clip(f"*{k}*\n{_escape(v)}", 2000)}
                                       for k, v in fields[:10]]},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(f"*Event ids*\n{events or '-'}", 3000)}},
    ]
    timeline = f.context.get("narrative")  # an incident (pipeline.incidents.route): its story
    if isinstance(timeline, list) and timeline:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(
            "*Timeline*\n" + "\n".join(_escape(line) for line in timeline), 3000)}})
    if f.attack:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(
            "*ATT&amp;CK*\n" + ", ".join(_attack_link(t) for t in f.attack), 3000)}})
    blocks += [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Runbook*\n{runbook_text}"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(
            f"{verb} finding · detection `{_escape(f.detection_id)}` · finding `{f.finding_id}` · "
            f"delivery `{delivery.delivery_id}`", 3000)}]},
    ]
    text = (f"[{severity.upper()}] {verb}: {f.title} — {f.principal or '-'} in {f.account_id or '-'}/"
            f"{f.region or '-'}, {f.event_count} record(s), {f.first_seen} to {f.last_seen}")
    return {"text": _clip(_escape(text), 3000), "blocks": blocks}


def _url_secrets(url: str) -> list[str]:
    """The URL, its path, and each long path segment: a server may echo the token back alone."""
    path = url.split("://", 1)[-1].partition("/")[2]
    parts = [p for p in re.split(r"[/?&=#]", path) if len(p) >= 8 and p != "services"]
    return [url, path, *parts]


class SlackSink(BaseSink):
    """Posts each delivery to a Slack incoming webhook; not idempotent (Slack cannot dedupe)."""

    idempotent = False

    def __init__(self, webhook_url: str, name: str = "slack", min_severity: str = "low", *,
                 max_attempts: int = 5, timeout: float = 10.0, backoff: float = 1.0, max_delay: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._webhook = Secret(webhook_url)
        self.name = name
        self.min_severity = check_severity(min_severity)
        self._http = HttpClient(f"slack sink {name!r}", secrets=lambda: _url_secrets(self._webhook.reveal()),
                                max_attempts=max_attempts, timeout=timeout, backoff=backoff,
                                max_delay=max_delay, sleep=sleep)

    def _post(self, body: dict[str, Any]) -> None:
        self._http.request("POST", self._webhook.reveal(), body, headers={"Accept": "*/*"},
                           refused="webhook refused the message")

    def deliver(self, deliveries: list[Delivery]) -> None:
        """One message per delivery, in order; on failure the error lists what already went out."""
        sent: list[str] = []
        for delivery in deliveries:
            try:
                self._post(slack_message(delivery))
            except SinkError as exc:
                raise SinkError(f"{exc} ({len(sent)} of {len(deliveries)} message(s) sent before)",
                                delivered=sent) from None
            sent.append(delivery.delivery_id)
