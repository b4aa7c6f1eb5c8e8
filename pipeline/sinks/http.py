"""What the HTTP sinks (Slack, Jira, PagerDuty) share: credentials and one retrying JSON request.

Every one of them holds a credential (a webhook URL, an API token, a routing key) that must never
reach a log line, an exception or a ``repr``; and every one of them talks to a service that
rate-limits with 429 and fails transiently with 5xx. So both live here once:

- :class:`Secret` prints as ``<redacted>``; :class:`Credential` reads a secret from the
  environment, a mounted file or AWS Secrets Manager (fetched lazily, so an outage of Secrets
  Manager is a failed delivery that the scheduler retries, not a broken configuration).
- :class:`HttpClient` retries 429, 5xx and network failures with exponential backoff, honouring
  ``Retry-After``; any other non-2xx fails at once (retrying cannot fix a bad request or a bad
  token). Its errors are :class:`~pipeline.sinks.base.SinkError` raised ``from None`` (urllib's
  error objects keep the URL and headers), with every known secret scrubbed from the text.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.sinks.base import SinkError

log = logging.getLogger(__name__)


class Secret:
    """Holds a credential; prints as a placeholder so it cannot slip into logs or reprs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__


def _region_of(secret_id: str, environ: Mapping[str, str]) -> str | None:
    parts = secret_id.split(":")
    if secret_id.startswith("arn:") and len(parts) > 3 and parts[3]:
        return parts[3]
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")


class Credential:
    """A secret from ``<prefix>_env``, ``<prefix>_file`` or ``<prefix>_secret`` (Secrets Manager).

    Environment variables and files are read when the sink is built, so a typo stops the run
    before any detection runs. A Secrets Manager secret is fetched on first use and remembered;
    ``<prefix>_secret_key`` picks one key of a JSON secret. Error messages name the variable,
    file or secret id, never the value.
    """

    def __init__(self, key: str, *, env: str | None = None, file: str | None = None,
                 secret: str | None = None, secret_key: str | None = None,
                 environ: Mapping[str, str] | None = None, endpoint_url: str | None = None,
                 value: str | None = None) -> None:
        self.key = key
        self._secret_id, self._secret_key, self._endpoint_url = secret, secret_key, endpoint_url
        self._environ = dict(environ or {})
        self._value: Secret | None = Secret(value) if value is not None else None
        if value is not None or secret:
            return
        if file:
            try:
                text = Path(file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"{key}_file: cannot read {file} ({exc.strerror})") from None
            if not text:
                raise ValueError(f"{key}_file: {file} is empty")
        else:
            text = (self._environ.get(env or "") or "").strip()
            if not text:
                raise ValueError(f"{key}_env: environment variable {env} is not set")
        self._value = Secret(text)
        self._environ = {}

    @property
    def source(self) -> str:
        """Where the value comes from, for messages (never the value)."""
        return f"secret {self._secret_id}" if self._secret_id else f"{self.key}"

    def get(self) -> str:
        """The value; SinkError (naming the secret id) when Secrets Manager cannot give it."""
        if self._value is None:
            self._value = Secret(self._fetch())
        return self._value.reveal()

    def _fetch(self) -> str:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        secret_id = str(self._secret_id)
        try:
            client = boto3.client("secretsmanager", region_name=_region_of(secret_id, self._environ),
                                  endpoint_url=self._endpoint_url)
            answer = client.get_secret_value(SecretId=secret_id)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise SinkError(f"{self.key}_secret: cannot read {secret_id} ({code})") from None
        except BotoCoreError as exc:
            raise SinkError(f"{self.key}_secret: cannot read {secret_id} ({type(exc).__name__})") from None
        text = str(answer.get("SecretString") or "").strip()
        if self._secret_key:
            try:
                text = str(json.loads(text)[self._secret_key]).strip()
            except (ValueError, KeyError, TypeError):
                raise SinkError(f"{self.key}_secret_key: {secret_id} is not a JSON object with "
                                f"key {self._secret_key!r}") from None
        if not text:
            raise SinkError(f"{self.key}_secret: {secret_id} holds no string value")
        return text

    def __repr__(self) -> str:
        return f"Credential({self.source})"


def retry_after(value: str | None) -> float | None:
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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """An API endpoint that redirects is misconfigured; following it would turn a POST into a GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass(frozen=True)
class Response:
    """A finished request: status, headers and body (already read)."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body.strip() else None
        except (ValueError, UnicodeDecodeError):
            return None


def plain_detail(body: bytes) -> str:
    """The start of an error body, as the service sent it."""
    return body[:300].decode("utf-8", "replace")


class HttpClient:
    """JSON requests with retries; ``label`` starts every error message (e.g. ``jira sink 'sec'``)."""

    def __init__(self, label: str, *, secrets: Callable[[], Sequence[str]] = tuple, max_attempts: int = 5,
                 timeout: float = 10.0, backoff: float = 1.0, max_delay: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep,
                 detail: Callable[[bytes], str] = plain_detail) -> None:
        self.label = label
        self._secrets = secrets
        self.max_attempts = max(1, int(max_attempts))
        self.timeout, self.backoff, self.max_delay = float(timeout), float(backoff), float(max_delay)
        self._sleep, self._detail = sleep, detail
        self._opener = urllib.request.build_opener(_NoRedirect)

    def scrub(self, text: str) -> str:
        """Belt and braces: no message we build may carry a secret, whatever the server echoed."""
        for secret in sorted({s for s in self._secrets() if s}, key=len, reverse=True):
            text = text.replace(secret, "<redacted>")
        return " ".join(text.split())  # one line, whatever the server sent

    def _send(self, method: str, url: str, body: bytes | None,
              headers: Mapping[str, str]) -> tuple[Response | None, str]:
        """One attempt: the response (any status), or None and a reason on a network failure."""
        request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                return Response(answer.status, dict(answer.headers.items()), answer.read()), ""
        except urllib.error.HTTPError as exc:
            try:
                data = exc.read(64 * 1024)
            except (OSError, http.client.HTTPException):
                data = b""
            finally:
                exc.close()
            return Response(exc.code, dict(exc.headers.items()) if exc.headers else {}, data), ""
        except urllib.error.URLError as exc:
            return None, f"{type(exc.reason).__name__}: {exc.reason}"
        except (OSError, http.client.HTTPException) as exc:
            return None, f"{type(exc).__name__}: {exc}"

    def request(self, method: str, url: str, payload: Any = None, *, headers: Mapping[str, str] | None = None,
                allow: Collection[int] = (), refused: str = "request refused") -> Response:
        """Send until a 2xx (or a status in ``allow``) comes back; SinkError otherwise.

        429, 5xx and network failures are retried up to ``max_attempts`` times, waiting
        ``Retry-After`` when the server gives one and ``backoff * 2**n`` otherwise.
        """
        body = None if payload is None else json.dumps(payload).encode("utf-8")
        sent = {"Accept": "application/json", **(headers or {})}
        if body is not None:
            sent.setdefault("Content-Type", "application/json; charset=utf-8")
        for attempt in range(1, self.max_attempts + 1):
            response, reason = self._send(method, url, body, sent)
            if response is not None and (200 <= response.status < 300 or response.status in allow):
                return response
            status = response.status if response is not None else None
            what = f"HTTP {status}" if status is not None else "network error"
            detail = self.scrub(self._detail(response.body) if response is not None else reason)[:300]
            suffix = f": {detail}" if detail else ""
            if status is not None and status != 429 and status < 500:
                raise SinkError(f"{self.label}: {refused} ({what}{suffix})")
            if attempt == self.max_attempts:
                raise SinkError(f"{self.label}: gave up after {attempt} attempt(s) (last: {what}{suffix})")
            wait = retry_after(response.headers.get("Retry-After")) if response is not None else None
            delay = min(wait if wait is not None else self.backoff * 2 ** (attempt - 1), self.max_delay)
            log.warning("%s: %s%s, attempt %d of %d; retrying in %.1fs", self.label, what,
                        f" ({detail})" if status is None and detail else "", attempt, self.max_attempts,
                        delay)
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
