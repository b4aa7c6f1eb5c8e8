"""AWS Security Hub sink: findings imported in ASFF with ``BatchImportFindings``.

The ASFF ``Id`` is the stable ``finding_id``, so importing a finding again (a repeat after a
crash, or an update with more records) replaces it rather than adding a second one: the sink is
idempotent. Findings go in batches of at most 100 (the API's limit); every batch is sent even if
one fails, then the failed ids are raised together, because a retry of the whole lot is harmless.

With the default product ARN, Security Hub accepts a finding only when ``AwsAccountId`` is the
calling account. An organization's findings are about many member accounts, so by default
(``accounts = "caller"``) every finding is filed under the importing account and the member
account it concerns is named in ``Resources`` (``AwsAccount``) and ``ProductFields``.
``accounts = "finding"`` files each under its own account, for runners that import per account.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from pipeline.findings.severity import SEVERITIES, check_severity
from pipeline.sinks.base import BaseSink, Delivery, SinkError

BATCH_SIZE = 100
_URL = re.compile(r"^https?://\S+$")
SCHEMA_VERSION = "2018-10-08"

# ATT&CK technique -> the ASFF "TTPs" category of its main tactic. Impact and exfiltration
# techniques have no TTPs category in ASFF; they belong to the "Effects" namespace instead.
_TACTIC = {
    "T1078": "TTPs/Initial Access", "T1133": "TTPs/Initial Access", "T1190": "TTPs/Initial Access",
    "T1059": "TTPs/Execution", "T1648": "TTPs/Execution",
    "T1098": "TTPs/Persistence", "T1136": "TTPs/Persistence", "T1525": "TTPs/Persistence",
    "T1548": "TTPs/Privilege Escalation", "T1484": "TTPs/Privilege Escalation",
    "T1562": "TTPs/Defense Evasion", "T1222": "TTPs/Defense Evasion", "T1070": "TTPs/Defense Evasion",
    "T1535": "TTPs/Defense Evasion", "T1578": "TTPs/Defense Evasion",
    "T1110": "TTPs/Credential Access", "T1552": "TTPs/Credential Access", "T1528": "TTPs/Credential Access",
    "T1580": "TTPs/Discovery", "T1526": "TTPs/Discovery", "T1087": "TTPs/Discovery",
    "T1069": "TTPs/Discovery", "T1538": "TTPs/Discovery", "T1619": "TTPs/Discovery",
    "T1021": "TTPs/Lateral Movement", "T1550": "TTPs/Lateral Movement",
    "T1530": "TTPs/Collection", "T1119": "TTPs/Collection",
    "T1071": "TTPs/Command and Control", "T1090": "TTPs/Command and Control",
    "T1537": "Effects/Data Exfiltration", "T1567": "Effects/Data Exfiltration",
    "T1485": "Effects/Data Destruction", "T1490": "Effects/Data Destruction",
    "T1498": "Effects/Denial of Service", "T1499": "Effects/Denial of Service",
    "T1496": "Effects/Resource Consumption",
}
# Detections about a risky setting rather than an attacker's step also count as best-practice checks.
_BEST_PRACTICE = "Software and Configuration Checks/AWS Security Best Practices"
_BY_DETECTION = {
    "open_to_world": f"{_BEST_PRACTICE}/Network Reachability",
    "made_public": "Effects/Data Exposure",
    "without_mfa": _BEST_PRACTICE,
    "root_account": _BEST_PRACTICE,
}


def _version() -> str:
    try:
        return importlib.metadata.version("trailguard")
    except importlib.metadata.PackageNotFoundError:  # running from a checkout that is not installed
        return "unknown"


def partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def default_product_arn(region: str, account_id: str) -> str:
    """The product ARN Security Hub gives every account for its own (custom) findings."""
    return f"arn:{partition(region)}:securityhub:{region}:{account_id}:product/{account_id}/default"


def iso_z(value: str | None) -> str | None:
    """ISO 8601 in UTC with a Z, as ASFF wants; None if the text is not a timestamp."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value).strip().replace(" ", "T", 1))
    except ValueError:
        return None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def asff_types(detection_id: str, attack: list[str]) -> list[str]:
    """``namespace/category/classifier`` types: the ATT&CK technique under its tactic, plus any
    best-practice or effect type the detection itself implies; never empty (Types is required)."""
    types = [f"{_TACTIC[t.split('.')[0]]}/{t}" for t in attack if t.split(".")[0] in _TACTIC]
    types += [kind for key, kind in _BY_DETECTION.items() if key in detection_id]
    return list(dict.fromkeys(types))[:50] or [_BEST_PRACTICE]


def _resources(principal: str | None, account_id: str, region: str) -> list[dict[str, Any]]:
    """The principal (as user, role or other) and always the account, so Resources is never empty."""
    out: list[dict[str, Any]] = []
    if principal and not principal.endswith(":root"):
        kind = ("AwsIamUser" if ":user/" in principal
                else "AwsIamRole" if ":assumed-role/" in principal or ":role/" in principal else "Other")
        out.append({"Type": kind, "Id": principal[:512], "Region": region})
    out.append({"Type": "AwsAccount", "Id": f"AWS::::Account:{account_id}", "Region": region})
    return out


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def asff_finding(delivery: Delivery, *, product_arn: str, region: str, account_id: str,
                 now: datetime, file_under_caller: bool = True) -> dict[str, Any]:
    """One finding in ASFF. Timestamps that do not parse fall back to the import time."""
    f = delivery.finding
    account = str(account_id) if file_under_caller else str(f.account_id or account_id)
    subject_account = str(f.account_id or account_id)
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    first, last = iso_z(f.first_seen) or stamp, iso_z(f.last_seen) or stamp
    label = str(f.severity).upper() if str(f.severity).lower() in SEVERITIES else "MEDIUM"
    types = asff_types(f.detection_id, list(f.attack))
    description = (f"{f.title}. {f.event_count} record(s) by {f.principal or 'an unknown principal'} "
                   f"in account {f.account_id or '?'} region {f.region or '?'}"
                   f"{' from ' + f.source_ip if f.source_ip else ''}, {f.first_seen} to {f.last_seen}. "
                   f"ATT&CK: {', '.join(f.attack) or 'none'}. Records: {', '.join(f.event_ids)}")
    runbook = f.runbook.strip() or "See the trailguard detection's runbook."
    recommendation: dict[str, str] = {"Text": _clip(runbook, 512)}
    if _URL.match(runbook):
        recommendation["Url"] = runbook
    fields = {"ProviderName": "trailguard", "ProviderVersion": _version(),
              "trailguard/detection_id": f.detection_id, "trailguard/delivery_id": delivery.delivery_id,
              "trailguard/event_count": str(f.event_count),
              "trailguard/event_ids": ",".join(f.event_ids), "trailguard/attack": ",".join(f.attack),
              "trailguard/account_id": f.account_id or "",
              "trailguard/region": f.region or "", "trailguard/principal": f.principal or "",
              "trailguard/source_ip": f.source_ip or ""}
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": f.finding_id,
        "ProductArn": product_arn,
        "ProductName": "trailguard",
        "GeneratorId": f"trailguard/{f.detection_id}",
        "AwsAccountId": account,
        "Region": region,
        "Types": types,
        "CreatedAt": first,
        "UpdatedAt": max(stamp, last),
        "FirstObservedAt": first,
        "LastObservedAt": last,
        "Severity": {"Label": label, "Original": str(f.severity)},
        "FindingProviderFields": {"Severity": {"Label": label, "Original": str(f.severity)}, "Types": types},
        "Title": _clip(f.title, 256),
        "Description": _clip(description, 1024),
        "Resources": _resources(f.principal, subject_account, f.region or region),
        "Remediation": {"Recommendation": recommendation},
        "ProductFields": {k: _clip(v, 2048) for k, v in fields.items() if v},
        "RecordState": "ACTIVE",
    }


class SecurityHubSink(BaseSink):
    """Imports findings into Security Hub in ``region``; idempotent (the ASFF Id is stable)."""

    idempotent = True

    def __init__(self, region: str, account_id: str | None = None, product_arn: str | None = None,
                 name: str | None = None, min_severity: str = "low", *, endpoint_url: str | None = None,
                 max_attempts: int = 5, client: Any = None,
                 clock: Callable[[], datetime] | None = None, accounts: str = "caller") -> None:
        if accounts not in ("caller", "finding"):
            raise ValueError(f"accounts: {accounts!r} is not 'caller' or 'finding'")
        self.file_under_caller = accounts == "caller"
        self.region = region
        self.name = name or f"securityhub:{region}"
        self.min_severity = check_severity(min_severity)
        self.account_id, self._product_arn, self._endpoint_url = account_id, product_arn, endpoint_url
        config = Config(retries={"mode": "standard", "max_attempts": max_attempts})
        self._client = client or boto3.client("securityhub", region_name=region, endpoint_url=endpoint_url,
                                               config=config)
        self._clock = clock or (lambda: datetime.now(UTC))

    def _account(self) -> str:
        """The configured account, else the caller's (one STS call, remembered)."""
        if not self.account_id:
            sts = boto3.client("sts", region_name=self.region, endpoint_url=self._endpoint_url)
            self.account_id = str(sts.get_caller_identity()["Account"])
        return self.account_id

    def product_arn(self) -> str:
        return self._product_arn or default_product_arn(self.region, self._account())

    def deliver(self, deliveries: list[Delivery]) -> None:
        if not deliveries:
            return
        now = self._clock()
        # The caller's account is needed only for the default product ARN or a finding without one.
        needs_account = (self.file_under_caller or not self._product_arn
                         or any(not d.finding.account_id for d in deliveries))
        try:
            account = self._account() if needs_account else (self.account_id or "")
            product_arn = self.product_arn()
        except (BotoCoreError, ClientError) as exc:
            raise SinkError(
                f"securityhub sink {self.name!r}: cannot tell the calling account ({exc})"
            ) from None
        latest = {d.finding.finding_id: d for d in deliveries}  # one Id once per import: the last wins
        findings = [asff_finding(d, product_arn=product_arn, region=self.region, account_id=account, now=now,
                                 file_under_caller=self.file_under_caller) for d in latest.values()]
        failed: list[dict[str, Any]] = []
        errors: list[str] = []
        for start in range(0, len(findings), BATCH_SIZE):
            batch = findings[start : start + BATCH_SIZE]
            try:
                response = self._client.batch_import_findings(Findings=batch)
            except (BotoCoreError, ClientError) as exc:
                errors.append(str(exc))
                failed += [{"Id": f["Id"]} for f in batch]
                continue
            failed += response.get("FailedFindings") or []
        if failed:
            ids = [str(f.get("Id")) for f in failed]
            reasons = sorted({f"{f['ErrorCode']}: {f.get('ErrorMessage', '')}"
                              for f in failed if f.get("ErrorCode")})
            why = "; ".join([*errors[:1], *reasons[:3]])
            shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
            raise SinkError(f"securityhub sink {self.name!r}: {len(ids)} of {len(findings)} finding(s) not "
                            f"imported ({shown}){': ' + why if why else ''}")
