"""The ``[response]`` settings, read defensively because a bad value must not disarm dry-run.

The response function changes production resources, so every default is the cautious one:
``dry_run`` is on unless it is literally ``false``, and a value that does not parse keeps it on.
The section comes from ``settings.raw["response"]`` when the configuration has one, and from
``TRAILGUARD_RESPONSE_<KEY>`` environment variables (the Lambda's natural way to configure),
which win over the file.

::

    [response]
    dry_run = true                        # default; decide and log, change nothing
    allow_list = ["i-0abc...", "arn:aws:s3:::public-website", "breakglass-user"]
    quarantine_group_name = "trailguard-quarantine"
    snapshot_volumes = false
    audit_log = "s3://audit-bucket/response/"   # default <data_dir>/response-audit.jsonl
    min_guardduty_severity = 4.0          # below it: logged and ignored (matches the EventBridge rule)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ENV_PREFIX = "TRAILGUARD_RESPONSE_"
DEFAULT_GROUP = "trailguard-quarantine"


@dataclass(frozen=True)
class ResponseConfig:
    """What the response may do; built by :func:`response_config`, never from raw user input."""

    dry_run: bool = True
    allow_list: frozenset[str] = field(default_factory=frozenset)
    quarantine_group_name: str = DEFAULT_GROUP
    snapshot_volumes: bool = False
    audit_log: str = ""
    min_guardduty_severity: float = 4.0

    def allowed(self, *identifiers: str | None) -> str | None:
        """The first identifier (id, name or ARN) on the allow-list, or None."""
        for identifier in identifiers:
            if identifier and identifier in self.allow_list:
                return identifier
        return None


def _flag(value: Any, default: bool) -> bool:
    """A boolean from TOML, JSON or env text; unparseable keeps ``default`` (the safe side)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"):
        return False
    return default


def _names(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = value.split(",")
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple, set, frozenset)):
        return frozenset()
    return frozenset(str(v).strip() for v in value if str(v).strip())


def response_config(settings: Any, environ: Mapping[str, str] | None = None) -> ResponseConfig:
    """The effective response settings: file section, then environment overrides."""
    environ = os.environ if environ is None else environ
    raw = getattr(settings, "raw", {}) or {}
    section = dict(raw.get("response") or {}) if isinstance(raw.get("response"), Mapping) else {}
    for name, text in environ.items():
        if name.startswith(ENV_PREFIX):
            section[name[len(ENV_PREFIX):].lower()] = text
    data_dir = str(raw.get("data_dir") or "./.trailguard")
    audit = section.get("audit_log")
    group = section.get("quarantine_group_name")
    try:
        threshold = float(section.get("min_guardduty_severity", 4.0))
    except (TypeError, ValueError):
        threshold = 4.0
    return ResponseConfig(
        dry_run=_flag(section.get("dry_run", True), True),
        allow_list=_names(section.get("allow_list", [])),
        quarantine_group_name=group.strip() if isinstance(group, str) and group.strip() else DEFAULT_GROUP,
        snapshot_volumes=_flag(section.get("snapshot_volumes", False), False),
        audit_log=audit if isinstance(audit, str) and audit.strip() else f"{data_dir}/response-audit.jsonl",
        min_guardduty_severity=threshold,
    )
