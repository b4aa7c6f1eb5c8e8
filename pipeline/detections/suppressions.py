"""Suppressions as data: known-good activity a deployment does not want alerts for.

Each ``[[suppressions]]`` table in trailguard.toml names the detection(s) it applies to, a
``reason``, an ``expires`` date, and what to match: ``principals`` (the caller's ARN), ``roles``
(the role behind an assumed-role session), ``accounts``, ``source_ips``, ``user_agents``,
``regions``, or, for GuardDuty, ``finding_types``. Fields of one rule must all match (AND);
values of one field are alternatives; ``*`` in a value is a wildcard (``\\*`` matches a literal
star, ``\\\\`` a literal backslash). Rules are applied inside the
SQL, so suppressed records are never scanned into findings; expired rules stop applying on
their date and are flagged by ``trailguard suppressions``. Every value reaches SQL as a literal.
:func:`suppressed_findings` applies the same rules to findings already delivered (for
``trailguard resolve --suppressed``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from pipeline.config import ConfigError
from pipeline.engines.templating import wildcard_parts

# GuardDuty sample findings (CreateSampleFindings) carry service.additionalInfo.sample = true; a rule
# ``samples = true`` matches them (the templating turns this name into that JSON test).
SAMPLE_COLUMN = "service.additionalInfo.sample"
# Which column a suppression field matches, per logical table.
FIELDS: dict[str, dict[str, str]] = {
    "cloudtrail": {
        "principals": "useridentity.arn",
        "roles": "useridentity.sessioncontext.sessionissuer.arn",
        "accounts": "recipientaccountid",
        "source_ips": "sourceipaddress",
        "user_agents": "useragent",
        "regions": "awsregion",
    },
    "guardduty": {"accounts": "accountid", "regions": "finding_region", "finding_types": "type",
                  "samples": SAMPLE_COLUMN},
}
ALL_FIELDS = sorted({name for table in FIELDS.values() for name in table})


@dataclass(frozen=True)
class Suppression:
    """One rule; ``matches`` maps a field name to the values (or ``*`` patterns) it suppresses."""

    index: int
    detections: tuple[str, ...]
    reason: str
    expires: date
    matches: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def applies_to(self, detection_id: str) -> bool:
        return "*" in self.detections or detection_id in self.detections

    def active(self, today: date) -> bool:
        return today <= self.expires

    def columns(self, table: str) -> dict[str, tuple[str, ...]] | None:
        """The rule as column -> values for ``table``; None when a field has no column there."""
        available = FIELDS.get(table, {})
        if not set(self.matches) <= set(available):
            return None
        return {available[name]: values for name, values in self.matches.items()}


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) and v for v in items):
        raise ConfigError(f"{where}: expected a non-empty string or list of strings")
    return tuple(items)


def parse_rule(index: int, raw: dict[str, Any]) -> Suppression:
    """Validate one ``[[suppressions]]`` table; errors name the rule and key."""
    where = f"suppressions[{index}]"
    unknown = sorted(set(raw) - {"detection", "detections", "reason", "expires", *ALL_FIELDS})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (fields: {', '.join(ALL_FIELDS)})")
    detections = _strings(raw.get("detections", raw.get("detection", "*")), f"{where}.detection")
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"{where}: a reason is required (who asked for it, and why)")
    expires_raw = raw.get("expires")
    try:
        expires = expires_raw if isinstance(expires_raw, date) else date.fromisoformat(str(expires_raw))
    except ValueError:
        raise ConfigError(f"{where}.expires: {expires_raw!r} is not a date like 2027-01-31") from None
    if isinstance(expires, datetime):
        expires = expires.date()
    if "samples" in raw and raw["samples"] is not True:
        raise ConfigError(f"{where}.samples: only samples = true (GuardDuty sample findings) is meaningful")
    matches = {name: ("true",) if name == "samples" else _strings(raw[name], f"{where}.{name}")
               for name in ALL_FIELDS if name in raw}
    if not matches:
        raise ConfigError(f"{where}: names nothing to match (one of {', '.join(ALL_FIELDS)})")
    return Suppression(index, detections, reason.strip(), expires, matches)


def load_suppressions(settings: Any) -> list[Suppression]:
    rules = settings["suppressions"]
    if not isinstance(rules, list):
        raise ConfigError("suppressions: expected a list of [[suppressions]] tables")
    return [parse_rule(i, dict(r)) for i, r in enumerate(rules)]


def active_rules(settings: Any, detection_id: str, today: date | None = None) -> list[Suppression]:
    """The rules that apply to one detection today."""
    today = today or datetime.now(UTC).date()
    return [r for r in load_suppressions(settings) if r.applies_to(detection_id) and r.active(today)]


# What a suppression field is compared with on a delivered finding, per logical table.
_FINDING_FIELDS = {
    "cloudtrail": {"principals": "principal", "accounts": "account_id", "regions": "region",
                   "source_ips": "source_ip", "user_agents": "user_agent", "roles": "role"},
    "guardduty": {"accounts": "account_id", "regions": "region", "finding_types": "finding_type",
                  "samples": "sample"},
}
_ASSUMED = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/")


def _pattern(value: str) -> re.Pattern[str]:
    """A suppression value as the SQL applies it: exact, ``*`` a wildcard (``\\*`` a star), case-sensitive."""
    return re.compile("".join(".*" if part is None else re.escape(part) for part in wildcard_parts(value)),
                      re.DOTALL)


def _values(finding: dict[str, Any], name: str) -> list[str] | None:
    """Every value the finding's records had for ``name`` (context lists them when they vary)."""
    context = finding.get("context") or {}
    if name == "role":
        principals = _values(finding, "principal") or []
        roles = []
        for principal in principals:
            match = _ASSUMED.match(principal)
            if not match:
                return None  # not a role session: the rule's roles field cannot match it
            roles.append(f"arn:{match[1]}:iam::{match[2]}:role/{match[3]}")
        return roles or None
    plural = context.get(f"{name}s")
    if isinstance(plural, list) and plural:
        return [str(v) for v in plural]
    value = finding.get(name) if name in finding else context.get(name)
    if isinstance(value, bool):
        return [str(value).lower()]
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else [str(value)]


def _role_matches(pattern: str, role: str) -> bool:
    """A role ARN may carry a path the session ARN does not show: compare account and name then."""
    if _pattern(pattern).fullmatch(role):
        return True
    head, _, name = pattern.rpartition("/")
    exact = None not in wildcard_parts(pattern)
    return exact and head.startswith(role.rsplit("/", 1)[0]) and role.endswith("/" + name)


def suppressed_findings(settings: Any, frame: pd.DataFrame, today: date | None = None) -> dict[str, str]:
    """finding_id -> the reason of the active suppression that covers it, for stored findings."""
    from pipeline.detections.spec import load_detections

    today = today or datetime.now(UTC).date()
    rules = [r for r in load_suppressions(settings) if r.active(today)]
    detections = load_detections()
    covered: dict[str, str] = {}
    for finding in frame.to_dict("records") if len(frame) else []:
        if isinstance(finding.get("context"), str):
            finding["context"] = json.loads(finding["context"] or "{}")
        detection = detections.get(finding["detection_id"])
        tables = detection.tables if detection else ("cloudtrail",)
        for rule in rules:
            if not rule.applies_to(finding["detection_id"]):
                continue
            logical = [t for t in ("cloudtrail", "guardduty") if any(t in x for x in tables)]
            if any(_covers(rule.matches, finding, _FINDING_FIELDS[t]) for t in logical):
                covered[finding["finding_id"]] = f"suppressed: {rule.reason}"
    return covered


def _covers(matches: dict[str, tuple[str, ...]], finding: dict[str, Any], fields: dict[str, str]) -> bool:
    """Every field of the rule is known on the finding, and every value of it matches the rule."""
    if not set(matches) <= set(fields):
        return False  # the rule names a field this table lacks: the SQL does not apply it either
    for name, patterns in matches.items():
        values = _values(finding, fields[name])
        if not values:
            return False
        test = _role_matches if name == "roles" else (lambda p, v: bool(_pattern(p).fullmatch(v)))
        if not all(any(test(p, v) for p in patterns) for v in values):
            return False
    return True
