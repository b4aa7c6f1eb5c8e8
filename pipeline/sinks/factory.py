"""Sinks from configuration: ``[[sinks]]`` tables in trailguard.toml, plus the CLI's ``--output``.

Every problem is a :class:`~pipeline.config.ConfigError` with one line naming the sink and the
key, raised when the sinks are built, so a typo or a missing webhook stops the run before any
detection runs rather than after it found something.

::

    [[sinks]]
    type = "jsonl"            # jsonl | slack | securityhub | jira | pagerduty
    path = "findings.jsonl"
    [[sinks]]
    type = "slack"
    min_severity = "high"     # low (default) | medium | high | critical
    webhook_env = "TRAILGUARD_SLACK_WEBHOOK"   # or webhook_file, or webhook_secret (Secrets Manager)
    [[sinks]]
    type = "slack"            # with a channel: the Web API (threads, deduplicated), a bot token
    channel = "C0123456789"
    token_env = "TRAILGUARD_SLACK_TOKEN"       # or token_file, or token_secret (Secrets Manager)
    [[sinks]]
    type = "securityhub"
    region = "us-east-1"      # default: AWS_REGION / AWS_DEFAULT_REGION
    [[sinks]]
    type = "jira"             # Cloud (REST v3, ADF) or flavor = "datacenter" (REST v2, wiki markup)
    url = "https://example.atlassian.net"
    project = "SEC"
    email = "secbot@example.com"               # Cloud: Basic auth with an API token
    token_env = "JIRA_API_TOKEN"               # or token_file, or token_secret (Secrets Manager)
    max_severity = "high"                      # routing: severity band and detection ids (globs)
    detections = ["iam_*", "root_account_usage"]
    [[sinks]]
    type = "pagerduty"        # Events API v2; min_severity defaults to "high"
    routing_key_env = "PAGERDUTY_ROUTING_KEY"  # or routing_key_file / routing_key_secret

Routing keys (any sink type): ``min_severity``, ``max_severity``, ``detections`` and
``exclude_detections`` (ids or ``*`` globs). Credentials never appear in an error message.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config import ConfigError
from pipeline.findings.model import Finding
from pipeline.findings.severity import check_severity, severity_rank
from pipeline.sinks.base import Delivery, Sink, SinkError
from pipeline.sinks.http import Credential
from pipeline.sinks.jira import FLAVORS, GROUPS, JiraSink
from pipeline.sinks.jsonl import JsonlSink
from pipeline.sinks.pagerduty import EVENTS_URL, PagerDutySink
from pipeline.sinks.securityhub import SecurityHubSink
from pipeline.sinks.slack import SlackSink, resolve_webhook
from pipeline.sinks.slack_api import DEFAULT_API_URL, DEFAULT_TOKEN_ENV, SlackApiSink

_COMMON = {"type", "name", "min_severity", "max_severity", "detections", "exclude_detections", "samples"}
_HTTP = {"max_attempts", "timeout", "backoff"}
KEYS = {
    "jsonl": _COMMON | {"path"},
    "slack": _COMMON | _HTTP | {"webhook_env", "webhook_file", "webhook_secret", "webhook_secret_key",
                                "channel", "url", "token_env", "token_file", "token_secret",
                                "token_secret_key"},
    "securityhub": _COMMON | {"region", "account_id", "product_arn", "max_attempts", "accounts"},
    "jira": _COMMON | _HTTP | {"url", "flavor", "project", "issue_type", "email", "email_env",
                               "token_env", "token_file", "token_secret", "token_secret_key", "id_field",
                               "group", "labels", "priorities", "resolve_transition"},
    "pagerduty": _COMMON | _HTTP | {"url", "routing_key_env", "routing_key_file", "routing_key_secret",
                                    "routing_key_secret_key"},
}
DEFAULT_MIN_SEVERITY = {"pagerduty": "high"}  # the seed's SEV-1/2 page; everything else gets all
_ACCOUNT = re.compile(r"^\d{12}$")
_HTTP_URL = re.compile(r"^https?://[^\s/]+\S*$")
_PRODUCT_ARN = re.compile(r"^arn:aws[a-z-]*:securityhub:[a-z0-9-]+:\d{12}:product/.+$")


class _Problem(ValueError):
    """A bad value; ``key`` names it for the one-line ConfigError."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _text(table: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = table.get(key, default)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise _Problem(key, f"{value!r} is not a non-empty string")
    return value


def _positive(table: Mapping[str, Any], key: str, default: float, kind: type = float) -> Any:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or (
            kind is int and not isinstance(value, int)):
        raise _Problem(key, f"{value!r} is not a positive {'integer' if kind is int else 'number'}")
    return kind(value)


def _strings(table: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = table.get(key, ())
    value = [value] if isinstance(value, str) else value
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _Problem(key, f"{value!r} is not a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _http_options(table: Mapping[str, Any]) -> dict[str, Any]:
    """Retry settings shared by the HTTP sinks."""
    return {"max_attempts": _positive(table, "max_attempts", 5, int),
            "timeout": _positive(table, "timeout", 10.0), "backoff": _positive(table, "backoff", 1.0)}


def _credential(table: Mapping[str, Any], key: str, default_env: str, environ: Mapping[str, str],
                endpoint_url: str | None) -> Credential:
    """``<key>_secret`` (+ ``_secret_key``), ``<key>_file`` or ``<key>_env``, in that order of preference."""
    try:
        return Credential(key, env=_text(table, f"{key}_env") or default_env,
                          file=_text(table, f"{key}_file"), secret=_text(table, f"{key}_secret"),
                          secret_key=_text(table, f"{key}_secret_key"),
                          environ=environ, endpoint_url=endpoint_url)
    except ValueError as exc:
        name, _, message = str(exc).partition(": ")
        raise _Problem(name, message) from None


def _url(table: Mapping[str, Any], default: str | None = None) -> str:
    url = _text(table, "url", default)
    if url is None:
        raise _Problem("url", "missing (the service's base URL)")
    if not _HTTP_URL.match(url):
        raise _Problem("url", f"{url!r} is not an http(s) URL")
    return url


def _jira(table: Mapping[str, Any], environ: Mapping[str, str], endpoint_url: str | None, name: str | None,
          severity: str) -> JiraSink:
    url, project = _url(table), _text(table, "project")
    if project is None:
        raise _Problem("project", "missing (the Jira project key, e.g. SEC)")
    flavor = _text(table, "flavor") or "cloud"
    if flavor not in FLAVORS:
        raise _Problem("flavor", f"{flavor!r} is not one of {', '.join(FLAVORS)}")
    group = _text(table, "group") or "finding"
    if group not in GROUPS:
        raise _Problem("group", f"{group!r} is not one of {', '.join(GROUPS)}")
    email = _text(table, "email")
    if email is None and table.get("email_env"):
        variable = str(_text(table, "email_env"))
        email = (environ.get(variable) or "").strip() or None
        if email is None:
            raise _Problem("email_env", f"environment variable {variable} is not set")
    priorities = table.get("priorities", {})
    if not isinstance(priorities, Mapping) or not all(isinstance(v, str) for v in priorities.values()):
        raise _Problem("priorities", "must be a table of severity = \"Jira priority name\"")
    for level in priorities:
        try:
            check_severity(level)
        except ValueError as exc:
            raise _Problem("priorities", str(exc)) from None
    token = _credential(table, "token", "JIRA_API_TOKEN", environ, endpoint_url)
    try:
        return JiraSink(url, project, token, email=email, flavor=flavor,
                        issue_type=_text(table, "issue_type") or "Task",
                        id_field=_text(table, "id_field") or "labels", group=group,
                        labels=_strings(table, "labels"), priorities=priorities,
                        resolve_transition=_text(table, "resolve_transition"), name=name,
                        min_severity=severity, **_http_options(table))
    except ValueError as exc:
        key, _, message = str(exc).partition(": ")
        raise _Problem(key, message) from None


def _pagerduty(table: Mapping[str, Any], environ: Mapping[str, str], endpoint_url: str | None,
               name: str | None, severity: str) -> PagerDutySink:
    key = _credential(table, "routing_key", "PAGERDUTY_ROUTING_KEY", environ, endpoint_url)
    return PagerDutySink(key, name=name or "pagerduty", min_severity=severity, url=_url(table, EVENTS_URL),
                         **_http_options(table))


class RoutedSink:
    """A sink behind a routing filter: a severity ceiling and detection ids or globs to take or skip.

    Only ``accepts`` changes; everything else (``deliver``, ``resolve``, ``path``) is the wrapped
    sink's, so the scheduler and the response function need not know routing exists.
    """

    def __init__(self, inner: Sink, max_severity: str | None, detections: Sequence[str],
                 exclude: Sequence[str]) -> None:
        self.inner, self.max_severity = inner, max_severity
        self.detections, self.exclude = tuple(detections), tuple(exclude)

    name = property(lambda self: self.inner.name)
    min_severity = property(lambda self: self.inner.min_severity)
    idempotent = property(lambda self: self.inner.idempotent)

    def accepts(self, finding: Finding) -> bool:
        detection = finding.detection_id
        wanted = not self.detections or any(fnmatch.fnmatchcase(detection, p) for p in self.detections)
        unwanted = any(fnmatch.fnmatchcase(detection, p) for p in self.exclude)
        rank = severity_rank(finding.severity)
        below_cap = self.max_severity is None or rank <= severity_rank(self.max_severity)
        return wanted and not unwanted and below_cap and self.inner.accepts(finding)

    def deliver(self, deliveries: list[Delivery]) -> None:
        self.inner.deliver(deliveries)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)

    def __repr__(self) -> str:
        return f"RoutedSink({self.inner!r}, detections={self.detections!r}, exclude={self.exclude!r})"


def _route(sink: Sink, table: Mapping[str, Any]) -> Sink:
    """Wrap ``sink`` when the table routes by detection or caps the severity."""
    detections, exclude = _strings(table, "detections"), _strings(table, "exclude_detections")
    cap = table.get("max_severity")
    if cap is not None:
        try:
            cap = check_severity(cap)
        except ValueError as exc:
            raise _Problem("max_severity", str(exc)) from None
        if severity_rank(cap) < severity_rank(sink.min_severity):
            raise _Problem("max_severity", f"{cap!r} is below min_severity {sink.min_severity!r}")
    if not (detections or exclude or cap):
        return sink
    from pipeline.detections.spec import load_detections

    known = {*load_detections(), "automated_response"}
    for key, patterns in (("detections", detections), ("exclude_detections", exclude)):
        for pattern in patterns:
            if not any(fnmatch.fnmatchcase(d, pattern) for d in known):
                raise _Problem(key, f"{pattern!r} matches no detection id (see trailguard detections)")
    return RoutedSink(sink, cap, detections, exclude)


def _build_one(table: Mapping[str, Any], environ: Mapping[str, str], endpoint_url: str | None) -> Sink:
    kind = table.get("type")
    if kind not in KEYS:
        raise _Problem("type", f"{kind!r} is not one of {', '.join(KEYS)}")
    unknown = sorted(set(table) - KEYS[kind])
    if unknown:
        raise _Problem(unknown[0], f"unknown key (known: {', '.join(sorted(KEYS[kind]))})")
    try:
        severity = check_severity(table.get("min_severity", DEFAULT_MIN_SEVERITY.get(kind, "low")))
    except ValueError as exc:
        raise _Problem("min_severity", str(exc)) from None
    name = _text(table, "name")
    if kind == "jira":
        return _jira(table, environ, endpoint_url, name, severity)
    if kind == "pagerduty":
        return _pagerduty(table, environ, endpoint_url, name, severity)
    if kind == "jsonl":
        path = _text(table, "path")
        if path is None:
            raise _Problem("path", "missing (the JSON lines file to append to)")
        return JsonlSink(Path(path), name=name, min_severity=severity)
    if kind == "slack" and table.get("channel") is not None:  # the Web API: threads, deduplicated
        channel = _text(table, "channel")
        if any(table.get(k) is not None for k in ("webhook_env", "webhook_file", "webhook_secret")):
            raise _Problem("channel", "set with a webhook: a channel means the Web API (token_*)")
        token = _credential(table, "token", DEFAULT_TOKEN_ENV, environ, endpoint_url)
        return SlackApiSink(token, str(channel), _url(table, DEFAULT_API_URL), name=name or "slack",
                            min_severity=severity, **_http_options(table))
    if kind == "slack":
        if table.get("webhook_secret") is not None:  # the Lambda way: read once, when the sinks are built
            try:
                url = _credential(table, "webhook", "TRAILGUARD_SLACK_WEBHOOK", environ, endpoint_url).get()
            except SinkError as exc:
                key, _, message = str(exc).partition(": ")
                raise _Problem(key, message) from None
            if not _HTTP_URL.match(url):
                raise _Problem("webhook_secret", f"{table['webhook_secret']} does not hold an http(s) URL")
        else:
            env_name, file_name = _text(table, "webhook_env"), _text(table, "webhook_file")
            try:
                url = resolve_webhook(env_name, file_name, environ)
            except ValueError as exc:
                key, _, message = str(exc).partition(": ")
                raise _Problem(key, message) from None
        return SlackSink(url, name=name or "slack", min_severity=severity, **_http_options(table))
    region = _text(table, "region") or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise _Problem("region", "not set, and neither is AWS_REGION or AWS_DEFAULT_REGION")
    account_id, product_arn = _text(table, "account_id"), _text(table, "product_arn")
    if account_id is not None and not _ACCOUNT.match(account_id):
        raise _Problem("account_id", f"{account_id!r} is not a 12-digit AWS account id")
    if product_arn is not None and not _PRODUCT_ARN.match(product_arn):
        raise _Problem("product_arn", f"{product_arn!r} is not a Security Hub product ARN")
    accounts = _text(table, "accounts") or "caller"
    if accounts not in ("caller", "finding"):
        raise _Problem("accounts", f"{accounts!r} is not 'caller' or 'finding'")
    return SecurityHubSink(region, account_id=account_id, product_arn=product_arn, name=name,
                           min_severity=severity, endpoint_url=endpoint_url,
                           max_attempts=_positive(table, "max_attempts", 5, int), accounts=accounts)


def build_sinks(settings: Any, output: Path | None = None, environ: Mapping[str, str] | None = None,
                endpoint_url: str | None = None) -> list[Sink]:
    """The configured sinks in file order, then a JSON lines sink for ``output`` unless one has that path."""
    environ = os.environ if environ is None else environ
    tables = settings.raw.get("sinks", []) or []
    if not isinstance(tables, list):
        raise ConfigError("sinks: must be a list of [[sinks]] tables")
    sinks: list[Sink] = []
    for index, table in enumerate(tables):
        label = f"sinks[{index}]"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{label}: must be a table with a type key")
        label += f" ({table.get('type', '?')}{' ' + repr(table['name']) if table.get('name') else ''})"
        if not isinstance(table.get("samples", False), bool):
            raise ConfigError(f"{label}: samples: {table['samples']!r} is not true or false")
        try:
            built = _build_one(table, environ, endpoint_url)
            built.samples = bool(table.get("samples", False))
            sink = _route(built, table)
        except _Problem as exc:
            raise ConfigError(f"{label}: {exc.key}: {exc}") from None
        except SinkError as exc:
            raise ConfigError(f"{label}: path: {exc}") from None
        if any(s.name == sink.name for s in sinks):
            raise ConfigError(f"{label}: name: {sink.name!r} is already used by another sink")
        sinks.append(sink)
    if output is not None:
        target = Path(output).resolve()
        if not any(isinstance(getattr(s, "inner", s), JsonlSink) and s.path.resolve() == target  # type: ignore[attr-defined]
                   for s in sinks):
            try:
                sinks.append(JsonlSink(Path(output)))
            except SinkError as exc:
                raise ConfigError(f"--output: {exc}") from None
    return sinks


@dataclass(frozen=True)
class Resolution:
    """What one sink did about one finding id (``error`` set when it failed)."""

    sink: str
    finding_id: str
    outcome: str
    error: str | None = None


def resolve_findings(settings: Any, finding_ids: Sequence[str], reason: str = "",
                     environ: Mapping[str, str] | None = None, endpoint_url: str | None = None,
                     sinks: Sequence[Sink] | None = None) -> list[Resolution]:
    """Tell every configured sink that can (PagerDuty: resolve the alert; Jira: comment and, with
    ``resolve_transition``, close the ticket) that these findings are closed or benign.

    Safe to repeat. A sink that fails is reported and the others still run; ConfigError when no
    configured sink can resolve anything, so a command that does nothing never looks successful.
    """
    chosen = [s for s in (build_sinks(settings, environ=environ, endpoint_url=endpoint_url)
                          if sinks is None else sinks) if callable(getattr(s, "resolve", None))]
    if not chosen:
        raise ConfigError("sinks: no configured sink can resolve findings (types jira, pagerduty)")
    results: list[Resolution] = []
    for sink in chosen:
        try:
            outcome = sink.resolve(list(finding_ids), reason)  # type: ignore[attr-defined]
        except SinkError as exc:
            results += [Resolution(sink.name, fid, "failed", str(exc)) for fid in finding_ids]
            continue
        results += [Resolution(sink.name, fid, outcome.get(fid, "-")) for fid in finding_ids]
    return results
