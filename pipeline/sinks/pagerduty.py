"""PagerDuty sink (Events API v2): a page per finding at or above ``min_severity``, never two.

The event's ``dedup_key`` is the ``finding_id``. PagerDuty folds every ``trigger`` with the key of
an open alert into that alert, so a repeat after a crash or an update with more records (a burst
that grew) refreshes the alert instead of paging again: the sink is idempotent. Its default
``min_severity`` is ``high``: high and critical findings page (the seed's SEV-1/2); route lower
ones to Jira or Slack.

A ``resolve`` event with the same key closes the alert; :meth:`PagerDutySink.resolve` is what
``trailguard resolve`` (and :func:`pipeline.sinks.factory.resolve_findings`) call when a finding
is closed or found to be benign. The routing (integration) key is a credential: it never appears
in messages (see :mod:`pipeline.sinks.http`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from pipeline.findings.severity import check_severity
from pipeline.sinks.base import BaseSink, Delivery, SinkError
from pipeline.sinks.http import Credential, HttpClient
from pipeline.sinks.securityhub import iso_z

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"  # EU accounts: https://events.eu.pagerduty.com/v2/enqueue
SEVERITY = {"critical": "critical", "high": "error", "medium": "warning", "low": "info"}
SHOWN_EVENT_IDS = 20
_URL = re.compile(r"^https?://\S+$")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def trigger_event(delivery: Delivery, routing_key: str) -> dict[str, Any]:
    """The Events API v2 ``trigger`` for one delivery."""
    f = delivery.finding
    severity = str(f.severity).lower()
    summary = (f"[{severity.upper()}] {f.title}: {f.principal or '-'} in {f.account_id or '-'}/"
               f"{f.region or '-'} ({f.event_count} record(s))")
    details = {"detection_id": f.detection_id, "finding_id": f.finding_id,
               "delivery_id": delivery.delivery_id, "is_update": delivery.is_update, "severity": severity,
               "principal": f.principal,
               "account_id": f.account_id, "region": f.region, "source_ip": f.source_ip,
               "first_seen": f.first_seen, "last_seen": f.last_seen, "event_count": f.event_count,
               "event_ids": f.event_ids[:SHOWN_EVENT_IDS], "attack": f.attack, "runbook": f.runbook,
               "context": f.context}
    links = [{"href": f"https://attack.mitre.org/techniques/{t.replace('.', '/')}/", "text": f"ATT&CK {t}"}
             for t in f.attack]
    if _URL.match(f.runbook.strip()):
        links.insert(0, {"href": f.runbook.strip(), "text": "Runbook"})
    payload: dict[str, Any] = {
        "summary": _clip(" ".join(summary.split()), 1024),
        "source": f"aws:{f.account_id or 'unknown'}:{f.region or 'global'}",
        "severity": SEVERITY.get(severity, "critical"),  # unknown severity: page rather than bury it
        "component": _clip(f.principal or "unknown principal", 255),
        "group": f.account_id or "unknown",
        "class": f.detection_id,
        "custom_details": json.loads(json.dumps(details, default=str)),
    }
    stamp = iso_z(f.first_seen)
    if stamp:
        payload["timestamp"] = stamp
    return {"routing_key": routing_key, "event_action": "trigger", "dedup_key": f.finding_id,
            "payload": payload, "client": "trailguard", "links": links}


def pagerduty_detail(body: bytes) -> str:
    """PagerDuty's error body (``message`` and ``errors``) as one line."""
    try:
        data = json.loads(body)
        parts = [str(data.get("message") or ""), *[str(e) for e in data.get("errors") or []]]
        return "; ".join(p for p in parts if p) or body[:300].decode("utf-8", "replace")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return body[:300].decode("utf-8", "replace")


class PagerDutySink(BaseSink):
    """Triggers (and resolves) PagerDuty alerts keyed by ``finding_id``."""

    idempotent = True

    def __init__(self, routing_key: Credential, name: str = "pagerduty", min_severity: str = "high", *,
                 url: str = EVENTS_URL, max_attempts: int = 5, timeout: float = 10.0, backoff: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.name = name
        self.min_severity = check_severity(min_severity)
        self.url = url
        self._key = routing_key
        self._http = HttpClient(f"pagerduty sink {name!r}", secrets=self._secrets, max_attempts=max_attempts,
                                timeout=timeout, backoff=backoff, sleep=sleep, detail=pagerduty_detail)

    def _secrets(self) -> list[str]:
        try:
            return [self._key.get()]
        except SinkError:
            return []

    def send(self, event: dict[str, Any]) -> None:
        answer = self._http.request("POST", self.url, event, refused="PagerDuty refused the event").json()
        if isinstance(answer, dict) and answer.get("status") not in (None, "success"):
            raise SinkError(f"pagerduty sink {self.name!r}: event not accepted ({answer.get('status')})")

    def deliver(self, deliveries: list[Delivery]) -> None:
        """One trigger per delivery, in order; on failure the error lists what already went out."""
        sent: list[str] = []
        for delivery in deliveries:
            try:
                self.send(trigger_event(delivery, self._key.get()))
            except SinkError as exc:
                raise SinkError(f"{exc} ({len(sent)} of {len(deliveries)} event(s) sent before)",
                                delivered=sent) from None
            sent.append(delivery.delivery_id)

    def resolve(self, finding_ids: Sequence[str], reason: str) -> dict[str, str]:
        """A ``resolve`` per finding. PagerDuty ignores one for a key with no open alert, so it is
        safe to send for findings that never paged (below ``min_severity``, or already resolved)."""
        outcome: dict[str, str] = {}
        for fid in finding_ids:
            # Resolve events carry no payload; the reason is for the sinks that can record it (Jira).
            self.send({"routing_key": self._key.get(), "event_action": "resolve", "dedup_key": fid})
            outcome[fid] = "resolve sent"
        return outcome
