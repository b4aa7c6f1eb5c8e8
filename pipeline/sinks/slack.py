"""Slack incoming-webhook sink: one readable message per finding.

The webhook URL is a credential (anyone holding it can post to the channel), so it lives only in
a private holder: never in ``repr``, log lines or exception text, and failures are raised
``from None`` so no urllib error object (which keeps the URL) travels with them. Slack cannot
deduplicate, so this sink is not idempotent: a repeated delivery posts again.

429 and 5xx (and network failures) are retried with exponential backoff, honouring
``Retry-After``; other 4xx mean the message or the webhook is wrong and fail at once.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.sinks.base import BaseSink, Delivery, SinkError, check_severity

log = logging.getLogger(__name__)

DEFAULT_WEBHOOK_ENV = "TRAILGUARD_SLACK_WEBHOOK"
SHOWN_EVENT_IDS = 5
_EMOJI = {"low": ":large_blue_circle:", "medium": ":large_yellow_circle:", "high": ":large_orange_circle:",
          "critical": ":red_circle:"}
_URL = re.compile(r"^https?://\S+$")


class _Secret:
    """Holds a credential; prints as a placeholder so it cannot slip into logs or reprs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__


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


def _escape(text: object) -> str:
    """Slack mrkdwn needs only &, < and > escaped."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects is misconfigured; following it would turn the POST into a GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class SlackSink(BaseSink):
    """Posts each delivery to a Slack incoming webhook; not idempotent (Slack cannot dedupe)."""

    idempotent = False

    def __init__(self, webhook_url: str, name: str = "slack", min_severity: str = "low", *,
                 max_attempts: int = 5, timeout: float = 10.0, backoff: float = 1.0, max_delay: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._webhook = _Secret(webhook_url)
        self.name = name
        self.min_severity = check_severity(min_severity)
        self.max_attempts = max(1, int(max_attempts))
        self.timeout, self.backoff, self.max_delay = float(timeout), float(backoff), float(max_delay)
        self._sleep = sleep
        self._opener = urllib.request.build_opener(_NoRedirect)

    def _scrub(self, text: str) -> str:
        """Belt and braces: no message we build may carry the URL or its secret path."""
        url = self._webhook.reveal()
        path = url.split("://", 1)[-1].partition("/")[2]
        # The token is a path segment; a server may echo it back alone (segments this long are ids).
        parts = [p for p in re.split(r"[/?&=#]", path) if len(p) >= 8 and p != "services"]
        for secret in sorted({url, path, *parts}, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "<webhook>")
        return text

    def _send(self, body: bytes) -> tuple[int | None, float | None, str]:
        """One POST: (HTTP status or None on a network failure, Retry-After seconds, short detail)."""
        request = urllib.request.Request(self._webhook.reveal(), data=body, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.status, None, ""
        except urllib.error.HTTPError as exc:
            try:
                detail = exc.read(200).decode("utf-8", "replace").strip()
            except (OSError, http.client.HTTPException):
                detail = ""
            finally:
                exc.close()
            return exc.code, _retry_after(exc.headers.get("Retry-After") if exc.headers else None), detail
        except urllib.error.URLError as exc:
            return None, None, f"{type(exc.reason).__name__}: {exc.reason}"
        except (OSError, http.client.HTTPException) as exc:
            return None, None, f"{type(exc).__name__}: {exc}"

    def _post(self, body: bytes) -> None:
        for attempt in range(1, self.max_attempts + 1):
            status, retry_after, detail = self._send(body)
            if status is not None and 200 <= status < 300:
                return
            what = self._scrub(f"HTTP {status}" if status is not None else "network error")
            detail = " ".join(self._scrub(detail).split())[:200]  # one line, whatever the server sent
            if status is not None and status != 429 and status < 500:
                raise SinkError(f"slack sink {self.name!r}: webhook refused the message ({what}"
                                f"{': ' + detail if detail else ''})")
            if attempt == self.max_attempts:
                raise SinkError(f"slack sink {self.name!r}: gave up after {attempt} attempt(s) "
                                f"(last: {what}{': ' + detail if detail else ''})")
            delay = retry_after if retry_after is not None else self.backoff * 2 ** (attempt - 1)
            delay = min(delay, self.max_delay)
            log.warning("slack sink %r: %s%s, attempt %d of %d; retrying in %.1fs", self.name, what,
                        f" ({detail})" if detail and status is None else "", attempt, self.max_attempts,
                        delay)
            self._sleep(delay)

    def deliver(self, deliveries: list[Delivery]) -> None:
        """One message per delivery, in order; on failure the error lists what already went out."""
        sent: list[str] = []
        for delivery in deliveries:
            body = json.dumps(slack_message(delivery)).encode("utf-8")
            try:
                self._post(body)
            except SinkError as exc:
                raise SinkError(f"{exc} ({len(sent)} of {len(deliveries)} message(s) sent before)",
                                delivered=sent) from None
            sent.append(delivery.delivery_id)
