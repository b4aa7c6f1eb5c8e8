"""From whatever Lambda was given to a list of targets: what resource, which action, and why.

Three inputs are understood: an EventBridge "GuardDuty Finding" event, a bare GuardDuty finding
(export camelCase or GetFindings PascalCase, via :func:`normalize_finding`), and a trailguard
detection finding (``Finding.to_json()``). Parsing never raises: anything else becomes a
:class:`Parsed` with ``problem`` set, which the handler logs as a decision and returns, so a bad
event cannot make Lambda retry it forever.

GuardDuty findings are dispatched on ``resource.resourceType`` only: the sample S3 finding also
carries ``accessKeyDetails`` and ``instanceDetails``, and acting on every key present would
quarantine an instance for an S3 finding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pipeline.findings.severity import guardduty_severity
from pipeline.source.guardduty import normalize_finding

EC2 = "ec2_instance"
ACCESS_KEY = "iam_access_key"
BUCKET = "s3_bucket"
NOTIFY = "notify_only"

# trailguard detections that get an automated action (only at high/critical severity).
# security_group_open_to_world is deliberately notify-only: revoking a rule can take down a
# service that is meant to be public (a load balancer), the change is visible and reversible,
# and the detection cannot tell intended from unintended exposure.
DETECTION_ACTIONS = {"iam_access_key_created": ACCESS_KEY, "s3_bucket_made_public": BUCKET}
ACTING_SEVERITIES = ("high", "critical")
# GuardDuty says whether an instance is the ACTOR (it did the suspicious thing: quarantine it) or the
# TARGET (someone did it to it: a port probe, an inbound brute force). Quarantining a target lets
# any outside scanner isolate production, so targets are notify-only. Runtime Monitoring findings
# leave the role empty; these types name a target even then.
TARGET_TYPES = ("Recon:EC2/PortProbeUnprotectedPort", "Recon:EC2/PortProbeEMRUnprotectedPort")


@dataclass(frozen=True)
class Target:
    """One resource to act on; ``extra`` carries what the action needs (owner, VPC, ...)."""

    kind: str
    resource_id: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Parsed:
    """An event reduced to what the response needs; ``problem`` says why nothing can be done."""

    event_id: str = "unknown"
    finding_type: str = "unknown"
    source: str = "unknown"
    severity: str = "high"
    title: str = ""
    account_id: str | None = None
    region: str | None = None
    targets: list[Target] = field(default_factory=list)
    problem: str | None = None
    ignored: str | None = None  # a valid event that is below the threshold: no action, no alert
    sample: bool = False
    partition: str | None = None  # aws, aws-cn, aws-us-gov: from the finding, else from the region


class Malformed(ValueError):
    """A finding whose details have the wrong shape; the message names the field."""


def _object(value: Any, where: str) -> dict[str, Any]:
    """``value`` when it is an object (absent is empty); a string or list where an object belongs
    is a malformed finding, said once, never an AttributeError out of the handler."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Malformed(f"{where} is a {type(value).__name__}, not an object")
    return value


def _texts(value: Any) -> list[str]:
    """A context value as strings; burst findings put a list where a single row has a scalar."""
    values = value if isinstance(value, list) else [value]
    return [str(v) for v in values if isinstance(v, (str, int)) and str(v).strip()]


def _guardduty(finding: dict[str, Any], min_severity: float) -> Parsed:
    parsed = Parsed(event_id=finding["id"], finding_type=finding["type"], source="guardduty",
                    severity=guardduty_severity(finding.get("severity")),
                    title=str(finding.get("title") or ""),
                    account_id=finding.get("accountId"), region=finding.get("region"))
    service = finding.get("service") if isinstance(finding.get("service"), dict) else {}
    info = service.get("additionalInfo")
    parsed.sample = bool(isinstance(info, dict) and info.get("sample"))
    try:
        if float(finding.get("severity")) < min_severity:
            parsed.ignored = f"severity {finding.get('severity')} is below {min_severity}"
            return parsed
    except (TypeError, ValueError):
        pass  # an unreadable severity is treated as serious, not dropped
    resource = finding.get("resource")
    if not isinstance(resource, dict) or not resource.get("resourceType"):
        parsed.problem = "finding has no resource.resourceType"
        return parsed
    kind = resource["resourceType"]
    parsed.partition = str(finding.get("partition") or "") or None
    role = str(service.get("resourceRole") or "").upper()
    if kind == "Instance":
        instance_id = _object(resource.get("instanceDetails"), "resource.instanceDetails").get("instanceId")
        if not isinstance(instance_id, str) or not instance_id:
            parsed.problem = "Instance finding without resource.instanceDetails.instanceId"
        elif role == "TARGET" or (not role and parsed.finding_type in TARGET_TYPES):
            reason = (f"the instance is the target of {parsed.finding_type} (resourceRole "
                      f"{role or 'TARGET by type'}), not the actor: quarantining it would let the "
                      "attacker isolate it")
            parsed.targets.append(Target(NOTIFY, instance_id, {"reason": reason}))
        else:
            parsed.targets.append(Target(EC2, instance_id))
    elif kind == "AccessKey":
        details = _object(resource.get("accessKeyDetails"), "resource.accessKeyDetails")
        key_id = details.get("accessKeyId")
        if not isinstance(key_id, str) or not key_id:
            parsed.problem = "AccessKey finding without resource.accessKeyDetails.accessKeyId"
        else:
            parsed.targets.append(Target(ACCESS_KEY, key_id, {
                "user_name": details.get("userName"), "principal_id": details.get("principalId"),
                "user_type": details.get("userType")}))
    elif kind == "S3Bucket":
        details = resource.get("s3BucketDetails") or []
        names = [b.get("name") for b in (details if isinstance(details, list) else []) if isinstance(b, dict)]
        names = [n for n in names if isinstance(n, str) and n]
        if not names:
            parsed.problem = "S3Bucket finding without resource.s3BucketDetails[].name"
        parsed.targets.extend(Target(BUCKET, name) for name in dict.fromkeys(names))
    else:
        reason = f"no automated action for {kind} findings"
        parsed.targets.append(Target(NOTIFY, str(kind), {"reason": reason}))
    return parsed


def _detection(finding: dict[str, Any]) -> Parsed:
    detection_id = str(finding["detection_id"])
    context = finding.get("context") if isinstance(finding.get("context"), dict) else {}
    parsed = Parsed(event_id=str(finding.get("finding_id") or "unknown"), finding_type=detection_id,
                    source="trailguard", severity=str(finding["severity"]).lower(),
                    title=str(finding.get("title") or detection_id), account_id=finding.get("account_id"),
                    region=finding.get("region"))
    if parsed.severity not in ACTING_SEVERITIES:
        parsed.ignored = f"severity {parsed.severity!r} is below high"
        return parsed
    kind = DETECTION_ACTIONS.get(detection_id)
    if kind == ACCESS_KEY:
        keys, users = _texts(context.get("access_key_id")), _texts(context.get("target_user"))
        user = users[0] if len(users) == 1 else None  # several users: let IAM say whose each key is
        parsed.targets.extend(Target(ACCESS_KEY, key, {"user_name": user}) for key in keys)
        if not keys:
            parsed.problem = "iam_access_key_created finding without context.access_key_id"
    elif kind == BUCKET:
        buckets = _texts(context.get("bucket_name"))
        parsed.targets.extend(Target(BUCKET, name) for name in dict.fromkeys(buckets))
        if not buckets:
            parsed.problem = "s3_bucket_made_public finding without context.bucket_name"
    else:
        parsed.targets.append(Target(NOTIFY, detection_id, {
            "reason": f"{detection_id} is notify-only (no safe automated action)"}))
    return parsed


def parse_event(event: Any, min_guardduty_severity: float = 4.0) -> list[Parsed]:
    """Every finding in ``event`` as a :class:`Parsed`; never raises."""
    if isinstance(event, (str, bytes)):
        try:
            event = json.loads(event)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return [Parsed(problem="event is not JSON")]
    if not isinstance(event, dict):
        return [Parsed(problem=f"event is a {type(event).__name__}, not a JSON object")]
    if isinstance(event.get("Findings"), list):  # a GetFindings response pasted in by hand
        out = [p for item in event["Findings"] for p in parse_event(item, min_guardduty_severity)]
        return out or [Parsed(problem="GetFindings response with no findings")]
    try:
        return _parse_one(event, min_guardduty_severity)
    except (Malformed, AttributeError, TypeError, KeyError, ValueError, RecursionError) as exc:
        return [Parsed(event_id=str(event.get("id") or event.get("finding_id") or "unknown")[:200],
                       problem=f"malformed finding: {type(exc).__name__}: {str(exc)[:300]}")]


def _parse_one(event: dict[str, Any], min_guardduty_severity: float) -> list[Parsed]:
    if isinstance(event.get("detection_id"), str) and isinstance(event.get("severity"), str):
        return [_detection(event)]
    if "detail-type" in event and event.get("detail-type") != "GuardDuty Finding":
        return [Parsed(event_id=str(event.get("id") or "unknown"), finding_type=str(event["detail-type"]),
                       problem=f"unsupported EventBridge detail-type {event['detail-type']!r}")]
    finding = normalize_finding(event)
    if finding is None:
        return [Parsed(event_id=str(event.get("id") or "unknown"),
                       problem="neither a GuardDuty finding nor a trailguard detection finding")]
    return [_guardduty(finding, min_guardduty_severity)]
