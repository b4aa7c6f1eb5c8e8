"""Lambda entry point for automated response: ``pipeline.response.handler.handler``.

EventBridge delivers GuardDuty findings asynchronously and retries an invocation that raised,
so this handler never raises: every outcome, including a malformed event, a vanished resource,
an AWS error or a broken configuration, is a logged decision and a normal return. Retrying would
not fix any of those, and a retry loop on a containment function only adds noise.

Flow per finding: parse (``events``), skip what the allow-list names, act or (dry-run, the
default) only decide (``actions``), append each decision to the audit log (``audit``), then
notify the configured ``[[sinks]]`` with one trailguard ``Finding`` that says what was done or
would be done, and how to undo it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from pipeline.config import ConfigError, Settings, load_settings
from pipeline.findings.model import Finding
from pipeline.findings.severity import SEVERITIES
from pipeline.response.actions import (
    Clients,
    Outcome,
    block_bucket_public_access,
    deactivate_access_key,
    quarantine_instance,
)
from pipeline.response.audit import AuditLog, decision, utc_now
from pipeline.response.config import ResponseConfig, response_config
from pipeline.response.events import ACCESS_KEY, BUCKET, EC2, NOTIFY, Parsed, Target, parse_event
from pipeline.sinks.base import Sink, make_delivery
from pipeline.sinks.factory import build_sinks

log = logging.getLogger(__name__)
UNDO = ("To undo: put each network interface back into its previous_groups and remove the "
        "trailguard:quarantined tag; reactivate a key with `aws iam update-access-key --status Active`; "
        "relax the bucket's public access block only once the bucket owner confirms it must be public.")


def partition(parsed: Parsed) -> str:
    """The ARN partition: the finding's own, else its region's (China, GovCloud), else ``aws``."""
    if parsed.partition:
        return parsed.partition
    region = parsed.region or ""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _arns(parsed: Parsed, target: Target) -> tuple[str | None, ...]:
    """The identifiers an allow-list entry may use for ``target``: id, name or ARN."""
    arn = f"arn:{partition(parsed)}"
    if target.kind == EC2:
        return (target.resource_id,
                f"{arn}:ec2:{parsed.region or ''}:{parsed.account_id or ''}:instance/{target.resource_id}")
    if target.kind == BUCKET:
        return target.resource_id, f"{arn}:s3:::{target.resource_id}"
    if target.kind == ACCESS_KEY:
        user = target.extra.get("user_name")
        return (target.resource_id, user,
                f"{arn}:iam::{parsed.account_id or ''}:user/{user}" if user else None)
    return (target.resource_id,)


def _same_resource(entry: str, arn: str) -> bool:
    """An allow-listed ARN names this resource even when the finding lacks its region or account:
    the service and the resource must match, and the account wherever both name one."""
    mine, theirs = arn.split(":", 5), entry.split(":", 5)
    if len(mine) < 6 or len(theirs) < 6 or mine[2] != theirs[2] or mine[5] != theirs[5]:
        return False
    return not (mine[4] and theirs[4] and mine[4] != theirs[4])


def allow_listed(config: ResponseConfig, parsed: Parsed, target: Target) -> str | None:
    """The allow-list entry covering ``target`` (by id, name or ARN), or None."""
    identifiers = _arns(parsed, target)
    exact = config.allowed(*identifiers)
    if exact:
        return exact
    arns = [i for i in identifiers if i and i.startswith("arn:")]
    return next((e for e in sorted(config.allow_list) if e.startswith("arn:")
                 and any(_same_resource(e, arn) for arn in arns)), None)


def _act(parsed: Parsed, target: Target, clients: Clients, config: ResponseConfig) -> Outcome:
    allowed = allow_listed(config, parsed, target)
    if target.kind == NOTIFY:
        return Outcome("notify_only", "no_action", {"reason": target.extra.get("reason")})
    if allowed:
        return Outcome(f"{target.kind}_response", "skipped_allow_list", {"allow_list_entry": allowed})
    if target.kind == EC2:
        return quarantine_instance(clients, target.resource_id, parsed.event_id, config)
    if target.kind == ACCESS_KEY:
        return deactivate_access_key(clients, target.resource_id, target.extra.get("user_name"), config)
    return block_bucket_public_access(clients, target.resource_id, config)


def _notification(parsed: Parsed, results: list[tuple[Target, Outcome]], dry_run: bool) -> Finding:
    """A Finding the sinks already know how to show; the runbook text carries the actions taken."""
    lines = []
    for target, outcome in results:
        steps = outcome.detail.get("steps") or []
        lines.append(f"- {outcome.action} {target.resource_id}: {outcome.outcome}"
                     + (f" ({outcome.error})" if outcome.error else "")
                     + "".join(f"\n    {step}" for step in steps))
    actions = [{"resource": t.resource_id, "resource_type": t.kind, "action": o.action,
                "outcome": o.outcome, "error": o.error, "detail": o.detail} for t, o in results]
    # Same event and same outcomes -> same id, so an idempotent sink drops a repeated notification.
    basis = json.dumps([parsed.event_id, dry_run, [(a["resource"], a["outcome"]) for a in actions]])
    owner = next((o.detail["owner"]["user_name"] for _, o in results if o.detail.get("owner")), None)
    now = utc_now()
    mode = "DRY RUN, nothing changed" if dry_run else "actions taken"
    return Finding(
        detection_id="automated_response",
        finding_id=hashlib.sha256(basis.encode()).hexdigest()[:32],
        severity=parsed.severity if parsed.severity in SEVERITIES else "high",
        title=f"Automated response ({mode}): {parsed.title or parsed.finding_type}",
        event_ids=[parsed.event_id], account_id=parsed.account_id, region=parsed.region,
        principal=owner, first_seen=now, last_seen=now, event_count=1,
        runbook=f"{parsed.source} finding {parsed.finding_type} ({parsed.event_id}), {mode}:\n"
                + "\n".join(lines) + "\n" + UNDO,
        dedup_key={"source_finding": parsed.event_id},
        context={"source": parsed.source, "finding_type": parsed.finding_type, "dry_run": dry_run,
                 "sample": parsed.sample, "actions": actions},
    )


def _record(audit: AuditLog, parsed: Parsed, dry_run: bool, **values: Any) -> None:
    audit.append(decision(event_id=parsed.event_id, finding_type=parsed.finding_type, source=parsed.source,
                          dry_run=dry_run, **values))


def _notify(audit: AuditLog, parsed: Parsed, finding: Finding, sinks: list[Sink], dry_run: bool) -> None:
    delivery = make_delivery(finding)
    chosen = [s for s in sinks if s.accepts(finding)]
    if not chosen:
        _record(audit, parsed, dry_run, action="notify", outcome="no_sink", resource=None,
                detail={"finding_id": finding.finding_id})
    for sink in chosen:
        try:
            sink.deliver([delivery])
            _record(audit, parsed, dry_run, action="notify", outcome="delivered", resource=sink.name,
                    resource_type="sink", detail={"finding_id": finding.finding_id})
        except Exception as exc:  # noqa: BLE001 - a failed notification must not undo the response
            _record(audit, parsed, dry_run, action="notify", outcome="error", resource=sink.name,
                    resource_type="sink", error=f"{type(exc).__name__}: {exc}")


def _handle(parsed: Parsed, config: ResponseConfig, clients: Clients | None, sinks: list[Sink],
            audit: AuditLog) -> None:
    dry_run = config.dry_run
    if parsed.problem or parsed.ignored:
        _record(audit, parsed, dry_run, action="none", outcome="rejected" if parsed.problem else "ignored",
                error=parsed.problem, detail={"reason": parsed.ignored} if parsed.ignored else None)
        return
    region_clients = clients or Clients(region=parsed.region)
    results: list[tuple[Target, Outcome]] = []
    for target in parsed.targets:
        try:
            outcome = _act(parsed, target, region_clients, config)
        except Exception as exc:  # noqa: BLE001 - a bug in one action must still end in a decision
            log.exception("response action failed")
            outcome = Outcome(f"{target.kind}_response", "error", {}, f"{type(exc).__name__}: {exc}")
        results.append((target, outcome))
        _record(audit, parsed, dry_run, resource_type=target.kind, resource=target.resource_id,
                action=outcome.action, outcome=outcome.outcome, error=outcome.error, detail=outcome.detail)
    _notify(audit, parsed, _notification(parsed, results, dry_run), sinks, dry_run)


def respond(event: Any, settings: Settings | None = None, *, clients: Clients | None = None,
            sinks: list[Sink] | None = None, environ: Mapping[str, str] | None = None,
            request_id: str | None = None) -> dict[str, Any]:
    """Handle one event end to end and return the decisions; never raises."""
    problems: list[str] = []
    if settings is None:
        try:
            settings = load_settings(environ=dict(environ) if environ is not None else None)
        except ConfigError as exc:
            problems.append(f"configuration: {exc}")
            settings = Settings()  # defaults: dry-run, no sinks, local audit log
    config = response_config(settings, environ)
    audit = AuditLog(config.audit_log, s3_client=clients.get("s3") if clients and config.audit_log.startswith(
        "s3://") else None, request_id=request_id)
    if sinks is None:
        try:
            sinks = build_sinks(settings, environ=environ)
        except ConfigError as exc:
            problems.append(f"sinks: {exc}")
            sinks = []
    for problem in problems:
        audit.append(decision(action="configure", outcome="error", error=problem, dry_run=config.dry_run))
    try:
        for parsed in parse_event(event, config.min_guardduty_severity):
            try:
                _handle(parsed, config, clients, sinks, audit)
            except Exception as exc:  # noqa: BLE001 - never let Lambda retry a bad event forever
                log.exception("response failed")
                _record(audit, parsed, config.dry_run, action="none", outcome="error",
                        error=f"{type(exc).__name__}: {exc}")
    finally:
        audit.close()
    return {"dry_run": config.dry_run, "decisions": audit.records, "audit_log": config.audit_log,
            "audit_errors": audit.errors}


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """AWS Lambda entry point; ``context.aws_request_id`` names the S3 audit object."""
    try:
        return respond(event, request_id=getattr(context, "aws_request_id", None))
    except Exception as exc:  # noqa: BLE001 - last resort: log and return rather than retry forever
        log.exception("response handler failed")
        return {"dry_run": True, "decisions": [], "error": f"{type(exc).__name__}: {exc}"}
