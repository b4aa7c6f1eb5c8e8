"""Slack through the Web API (a bot token): one thread per finding or incident, deduplicated.

Why beside the webhook sink: an incoming webhook can only post new top-level messages, so "one
thread per incident" and "a second run posts nothing" are impossible with it. With a bot token
(``chat:write`` and ``channels:history``/``groups:history`` scopes), the first delivery of an
incident (or finding) opens a thread with ``chat.postMessage``; each update replies in it
(``thread_ts``). Every message carries Slack message metadata (``event_type``
``trailguard_delivery``, payload ``finding_id`` and ``delivery_id``), and before posting the sink
reads the channel's recent top-level messages (``conversations.history``) and the thread
(``conversations.replies``) to find the thread and skip a delivery already posted: a repeat after a
killed run or a lost state posts nothing, so this sink is idempotent (within the last
``search_pages`` x 200 top-level messages of the channel).

The token comes from ``token_env`` (default ``TRAILGUARD_SLACK_TOKEN``), ``token_file`` or
``token_secret``; it is sent only in the Authorization header and scrubbed from every error
message (the HTTP client's), never logged. Slack answers HTTP 200 with ``"ok": false`` for
refusals (``invalid_auth``, ``channel_not_found`` ...): those fail at once with Slack's error code;
429 and 5xx are retried honouring ``Retry-After``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from pipeline.findings.severity import check_severity
from pipeline.sinks.base import BaseSink, Delivery, SinkError
from pipeline.sinks.http import Credential, HttpClient
from pipeline.sinks.slack import slack_message

DEFAULT_API_URL = "https://slack.com/api"
DEFAULT_TOKEN_ENV = "TRAILGUARD_SLACK_TOKEN"
EVENT_TYPE = "trailguard_delivery"
PAGE = 200


class SlackApiSink(BaseSink):
    """Posts each delivery into its finding's (or incident's) thread in ``channel``."""

    idempotent = True

    def __init__(self, token: Credential, channel: str, url: str = DEFAULT_API_URL, name: str = "slack",
                 min_severity: str = "low", *, search_pages: int = 5, max_attempts: int = 5,
                 timeout: float = 10.0, backoff: float = 1.0, max_delay: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._token, self.channel, self.url = token, channel, url.rstrip("/")
        self.name, self.min_severity, self.search_pages = name, check_severity(min_severity), search_pages
        self._http = HttpClient(f"slack sink {name!r}", secrets=lambda: [self._token.get()],
                                max_attempts=max_attempts, timeout=timeout, backoff=backoff,
                                max_delay=max_delay, sleep=sleep)

    def _call(self, method: str, payload: dict[str, Any] | None = None,
              query: dict[str, str] | None = None) -> dict[str, Any]:
        url = f"{self.url}/{method}" + (f"?{urlencode(query)}" if query else "")
        headers = {"Authorization": f"Bearer {self._token.get()}"}
        response = self._http.request("POST" if payload is not None else "GET", url, payload,
                                      headers=headers, refused=f"{method} refused")
        data = response.json()
        if not isinstance(data, dict):
            raise SinkError(f"slack sink {self.name!r}: {method} answered no JSON object")
        if not data.get("ok"):
            code = data.get("error", "no error code")
            raise SinkError(f"slack sink {self.name!r}: {method} refused ({code})")
        return data

    @staticmethod
    def _meta(message: dict[str, Any]) -> dict[str, Any]:
        meta = message.get("metadata") or {}
        payload = meta.get("event_payload") if meta.get("event_type") == EVENT_TYPE else None
        return payload if isinstance(payload, dict) else {}

    def _known_threads(self) -> dict[str, str]:
        """Thread roots this sink posted, by finding id, from the channel's recent history (read
        once per batch: another run may have posted since the last one)."""
        threads: dict[str, str] = {}
        cursor = ""
        for _ in range(self.search_pages):
            query = {"channel": self.channel, "limit": str(PAGE), "include_all_metadata": "true"}
            if cursor:
                query["cursor"] = cursor
            data = self._call("conversations.history", query=query)
            for message in data.get("messages") or []:
                finding_id = self._meta(message).get("finding_id")
                if finding_id and message.get("ts"):
                    threads[str(finding_id)] = str(message["ts"])  # newest first: the oldest stays
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        return threads

    def _posted(self, thread_ts: str) -> set[str]:
        """Delivery ids already in the thread (its root included)."""
        seen: set[str] = set()
        cursor = ""
        while True:
            query = {"channel": self.channel, "ts": thread_ts, "limit": str(PAGE),
                     "include_all_metadata": "true"}
            if cursor:
                query["cursor"] = cursor
            data = self._call("conversations.replies", query=query)
            seen |= {str(self._meta(m).get("delivery_id")) for m in data.get("messages") or []
                     if self._meta(m).get("delivery_id")}
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return seen

    def deliver(self, deliveries: list[Delivery]) -> None:
        """Each delivery once: a new thread for a new finding id, a reply in its thread otherwise."""
        sent: list[str] = []
        try:
            threads = self._known_threads()
            for delivery in deliveries:
                finding_id = delivery.finding.finding_id
                thread = threads.get(finding_id)
                if thread is not None and delivery.delivery_id in self._posted(thread):
                    sent.append(delivery.delivery_id)  # posted before a crash or a lost state
                    continue
                body = {"channel": self.channel, **slack_message(delivery), "unfurl_links": False,
                        "metadata": {"event_type": EVENT_TYPE,
                                     "event_payload": {"finding_id": finding_id,
                                                       "delivery_id": delivery.delivery_id}}}
                if thread is not None:
                    body["thread_ts"] = thread
                answer = self._call("chat.postMessage", body)
                if thread is None and answer.get("ts"):
                    threads[finding_id] = str(answer["ts"])
                sent.append(delivery.delivery_id)
        except SinkError as exc:
            raise SinkError(f"{exc} ({len(sent)} of {len(deliveries)} message(s) sent before)",
                            delivered=sent) from None
