"""Sinks from configuration: ``[[sinks]]`` tables in trailguard.toml, plus the CLI's ``--output``.

Every problem is a :class:`~pipeline.config.ConfigError` with one line naming the sink and the
key, raised when the sinks are built, so a typo or a missing webhook stops the run before any
detection runs rather than after it found something.

::

    [[sinks]]
    type = "jsonl"            # jsonl | slack | securityhub
    path = "findings.jsonl"
    [[sinks]]
    type = "slack"
    min_severity = "high"     # low (default) | medium | high | critical
    webhook_env = "TRAILGUARD_SLACK_WEBHOOK"   # or webhook_file = "/run/secrets/slack"
    [[sinks]]
    type = "securityhub"
    region = "us-east-1"      # default: AWS_REGION / AWS_DEFAULT_REGION
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.config import ConfigError
from pipeline.sinks.base import Sink, SinkError, check_severity
from pipeline.sinks.jsonl import JsonlSink
from pipeline.sinks.securityhub import SecurityHubSink
from pipeline.sinks.slack import SlackSink, resolve_webhook

_COMMON = {"type", "name", "min_severity"}
KEYS = {
    "jsonl": _COMMON | {"path"},
    "slack": _COMMON | {"webhook_env", "webhook_file", "max_attempts", "timeout", "backoff"},
    "securityhub": _COMMON | {"region", "account_id", "product_arn", "max_attempts", "accounts"},
}
_ACCOUNT = re.compile(r"^\d{12}$")
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


def _build_one(table: Mapping[str, Any], environ: Mapping[str, str], endpoint_url: str | None) -> Sink:
    kind = table.get("type")
    if kind not in KEYS:
        raise _Problem("type", f"{kind!r} is not one of {', '.join(KEYS)}")
    unknown = sorted(set(table) - KEYS[kind])
    if unknown:
        raise _Problem(unknown[0], f"unknown key (known: {', '.join(sorted(KEYS[kind]))})")
    try:
        severity = check_severity(table.get("min_severity", "low"))
    except ValueError as exc:
        raise _Problem("min_severity", str(exc)) from None
    name = _text(table, "name")
    if kind == "jsonl":
        path = _text(table, "path")
        if path is None:
            raise _Problem("path", "missing (the JSON lines file to append to)")
        return JsonlSink(Path(path), name=name, min_severity=severity)
    if kind == "slack":
        env_name, file_name = _text(table, "webhook_env"), _text(table, "webhook_file")
        try:
            url = resolve_webhook(env_name, file_name, environ)
        except ValueError as exc:
            key, _, message = str(exc).partition(": ")
            raise _Problem(key, message) from None
        return SlackSink(url, name=name or "slack", min_severity=severity,
                         max_attempts=_positive(table, "max_attempts", 5, int),
                         timeout=_positive(table, "timeout", 10.0), backoff=_positive(table, "backoff", 1.0))
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
        try:
            sink = _build_one(table, environ, endpoint_url)
        except _Problem as exc:
            raise ConfigError(f"{label}: {exc.key}: {exc}") from None
        except SinkError as exc:
            raise ConfigError(f"{label}: path: {exc}") from None
        if any(s.name == sink.name for s in sinks):
            raise ConfigError(f"{label}: name: {sink.name!r} is already used by another sink")
        sinks.append(sink)
    if output is not None:
        target = Path(output).resolve()
        if not any(isinstance(s, JsonlSink) and s.path.resolve() == target for s in sinks):
            try:
                sinks.append(JsonlSink(Path(output)))
            except SinkError as exc:
                raise ConfigError(f"--output: {exc}") from None
    return sinks
