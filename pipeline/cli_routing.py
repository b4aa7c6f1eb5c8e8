"""``trailguard resolve``: close delivered findings in the incident tools (PagerDuty, Jira).

A thin layer over :func:`pipeline.sinks.factory.resolve_findings`. Finding ids are checked
against the findings store first, so a mistyped id is an error rather than a silent no-op
(PagerDuty accepts a resolve for any key); ``--unchecked`` skips that for findings the store
does not hold (e.g. the response function's notifications).

``--suppressed`` resolves what a suppression added after the fact covers: suppressions act
inside the SQL, so they stop *new* findings, but a page already open stays open until resolved.
:func:`suppressed_findings` decides that from what a delivered finding records (principal,
account, region, source IP, and the context columns), and only when it can decide every field of
the rule: a rule on a field the finding does not carry (a user agent, say) resolves nothing.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

import pandas as pd
import typer

from pipeline.cli_common import ConfigOption, guarded, settings_for
from pipeline.config import ConfigError
from pipeline.console import console, err_console, table

# What a suppression field is compared with on a delivered finding, per logical table.
_FINDING_FIELDS = {
    "cloudtrail": {"principals": "principal", "accounts": "account_id", "regions": "region",
                   "source_ips": "source_ip", "user_agents": "user_agent", "roles": "role"},
    "guardduty": {"accounts": "account_id", "regions": "region", "finding_types": "finding_type"},
}
_ASSUMED = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/")


def _pattern(value: str) -> re.Pattern[str]:
    """A suppression value as the SQL applies it: exact, ``*`` a wildcard, case-sensitive."""
    return re.compile(".*".join(re.escape(part) for part in value.split("*")), re.DOTALL)


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
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else [str(value)]


def _role_matches(pattern: str, role: str) -> bool:
    """A role ARN may carry a path the session ARN does not show: compare account and name then."""
    if _pattern(pattern).fullmatch(role):
        return True
    head, _, name = pattern.rpartition("/")
    return "*" not in pattern and head.startswith(role.rsplit("/", 1)[0]) and role.endswith("/" + name)


def suppressed_findings(settings: Any, frame: pd.DataFrame, today: date | None = None) -> dict[str, str]:
    """finding_id -> the reason of the active suppression that covers it, for stored findings."""
    from pipeline.detections import load_detections
    from pipeline.suppressions import load_suppressions

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


@guarded
def resolve(
    finding_ids: Annotated[list[str] | None, typer.Argument(help="Finding ids (see trailguard findings).")]
    = None,
    reason: Annotated[str, typer.Option(help="Why: recorded on the Jira ticket.")] = "",
    suppressed: Annotated[bool, typer.Option("--suppressed", help="Also every stored finding an active "
                                             "suppression covers.")] = False,
    unchecked: Annotated[bool, typer.Option("--unchecked", help="Accept ids not in the store.")] = False,
    config: ConfigOption = None,
) -> None:
    """Resolve findings: PagerDuty alerts resolved, Jira tickets commented (and transitioned)."""
    from pipeline.findings_store import open_findings_store
    from pipeline.sinks.factory import resolve_findings

    settings = settings_for(config)
    reasons = {i.strip(): reason for i in finding_ids or [] if i.strip()}
    if not reasons and not suppressed:
        raise ConfigError("FINDING_IDS: give at least one finding id, or --suppressed")
    if not unchecked or suppressed:
        location = settings["findings_store"] or str(settings.data_dir)
        frame = open_findings_store(location).read()
        known = set(frame["finding_id"]) if len(frame) else set()
        unknown = [i for i in reasons if i not in known and not unchecked]
        if unknown:
            raise ConfigError(f"finding {unknown[0]} is not in the findings store {location} "
                              "(check the id with trailguard findings, or pass --unchecked)")
        if suppressed:
            reasons |= {k: v for k, v in suppressed_findings(settings, frame).items() if k not in reasons}
    if not reasons:
        console.print("no finding to resolve: no active suppression covers a stored finding")
        return
    results = []
    for why in dict.fromkeys(reasons.values()):  # one call per reason, each recorded on its tickets
        results += resolve_findings(settings, [i for i, r in reasons.items() if r == why], why)
    console.print(table(f"Resolved {len(reasons)} finding(s)", ["sink", "finding", "outcome"],
                        [(r.sink, r.finding_id, r.outcome) for r in results]))
    failed = {r.sink: r.error for r in results if r.error}
    for sink, error in failed.items():
        err_console.print(f"{sink}: {error}", markup=False, highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)
