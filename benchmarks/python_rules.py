"""The detection catalogue as per-event Python rules over the raw files: the streaming-engine way.

This is the baseline the SQL catalogue is measured against, so it is written to be fair: one
pass over every raw file (gzip + ``json.load``, the unavoidable cost of the raw format), each
record offered to every rule, state kept only for the burst rules' candidates, and the bursts
computed at the end with the same sliding-window definition as ``queries/fragments/burst_window.sql``
in O(n log n). Each rule mirrors its SQL file in ``queries/detections/`` (same predicates, same
Athena ``json_extract_scalar`` semantics), so the record ids it reports can be compared with the
SQL catalogue's: the benchmark does that and prints any difference.
"""

from __future__ import annotations

import bisect
import gzip
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.source.guardduty import UnreadableFile, iter_findings

Record = dict[str, Any]
_MISSING = object()


def scalar(value: Any, *path: str | int) -> str | None:
    """Athena's ``json_extract_scalar``: a scalar as text; NULL for objects, arrays and misses."""
    for step in path:
        if isinstance(step, int):
            value = value[step] if isinstance(value, list) and len(value) > step else None
        else:
            value = value.get(step) if isinstance(value, dict) else None
        if value is None:
            return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return None


def extract(value: Any, *path: str) -> Any:
    """Athena's ``json_extract`` (the JSON value, or None when the path is missing)."""
    for step in path:
        value = value.get(step, None) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


def as_list(value: Any) -> list[Any]:
    """``COALESCE(TRY_CAST(x AS ARRAY(JSON)), ARRAY[x])``: a list stays, anything else is wrapped."""
    return value if isinstance(value, list) else [value]


def _ui(rec: Record, key: str) -> Any:
    identity = rec.get("userIdentity")
    return identity.get(key) if isinstance(identity, dict) else None


def _ok(rec: Record) -> bool:
    return rec.get("errorCode") is None


def root_account_usage(rec: Record) -> bool:
    return (
        _ui(rec, "type") == "Root"
        and _ui(rec, "invokedBy") is None
        and rec.get("eventType") != "AwsServiceEvent"
    )


def console_login_without_mfa(rec: Record) -> bool:
    return (
        rec.get("eventName") == "ConsoleLogin"
        and _ui(rec, "type") in ("IAMUser", "Root")
        and scalar(rec.get("responseElements"), "ConsoleLogin") == "Success"
        and scalar(rec.get("additionalEventData"), "MFAUsed") == "No"
    )


def _named(names: Iterable[str], *, source: str | None = None, ok: bool = True) -> Callable[[Record], bool]:
    wanted = frozenset(names)

    def rule(rec: Record) -> bool:
        return (
            rec.get("eventName") in wanted
            and (source is None or rec.get("eventSource") == source)
            and (not ok or _ok(rec))
        )

    return rule


S3_PERMISSION_CALLS = (
    "PutBucketAcl",
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "PutBucketPublicAccessBlock",
    "DeleteBucketPublicAccessBlock",
)
_PUBLIC_GROUP = re.compile(r"/groups/global/(AllUsers|AuthenticatedUsers)$")
_PUBLIC_HEADER = re.compile(r"acs\.amazonaws\.com/groups/global/(AllUsers|AuthenticatedUsers)")
_GRANT_HEADERS = (
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
)
_BLOCK_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _public_statement(statement: Any) -> bool:
    if scalar(statement, "Effect") != "Allow" or extract(statement, "Condition") is not None:
        return False
    if scalar(statement, "Principal") == "*":
        return True
    return any(scalar(p) == "*" for p in as_list(extract(statement, "Principal", "AWS")))


def s3_bucket_made_public(rec: Record) -> bool:
    name = rec.get("eventName")
    if name not in (
        "PutBucketAcl",
        "PutBucketPolicy",
        "PutBucketPublicAccessBlock",
        "DeleteBucketPublicAccessBlock",
    ) or not _ok(rec):
        return False
    params = rec.get("requestParameters")
    if name == "DeleteBucketPublicAccessBlock":
        return True
    if name == "PutBucketPublicAccessBlock":
        flags = [scalar(params, "PublicAccessBlockConfiguration", f) for f in _BLOCK_FLAGS]
        return any(f is None or f.lower() != "true" for f in flags)
    if name == "PutBucketAcl":
        grants = as_list(extract(params, "AccessControlPolicy", "AccessControlList", "Grant"))
        if any(_PUBLIC_GROUP.search(scalar(g, "Grantee", "URI") or "") for g in grants):
            return True
        headers = " ".join(json.dumps(v) for h in _GRANT_HEADERS if (v := extract(params, h)) is not None)
        if _PUBLIC_HEADER.search(headers):
            return True
        canned = as_list(extract(params, "x-amz-acl"))
        return any(
            (scalar(a) or "").lower() in ("public-read", "public-read-write", "authenticated-read")
            for a in canned
        )
    return any(_public_statement(s) for s in as_list(extract(params, "bucketPolicy", "Statement")))


def _granted_ranges(params: Any) -> list[str | None]:
    ranges: list[str | None] = []
    for perm in as_list(extract(params, "ipPermissions", "items")):
        ranges += [scalar(r, "cidrIp") for r in as_list(extract(perm, "ipRanges", "items"))]
        ranges += [scalar(r, "cidrIpv6") for r in as_list(extract(perm, "ipv6Ranges", "items"))]
    return [*ranges, scalar(params, "cidrIp")]


_WORLD = re.compile(r"/0+$")


def security_group_open_to_world(rec: Record) -> bool:
    if rec.get("eventName") != "AuthorizeSecurityGroupIngress" or not _ok(rec):
        return False
    return any(
        c is not None and _WORLD.search(c.strip()) for c in _granted_ranges(rec.get("requestParameters"))
    )


_GD_CALLS = frozenset(
    {
        "DeleteDetector",
        "DisassociateFromMasterAccount",
        "DisassociateFromAdministratorAccount",
        "DeleteMembers",
        "DisassociateMembers",
        "StopMonitoringMembers",
        "CreateIPSet",
        "UpdateIPSet",
        "DeletePublishingDestination",
    }
)


def guardduty_tampering(rec: Record) -> bool:
    if rec.get("eventSource") != "guardduty.amazonaws.com":
        return False
    name, params = rec.get("eventName"), rec.get("requestParameters")
    return (
        name in _GD_CALLS
        or (name == "UpdateDetector" and scalar(params, "enable") == "false")
        or (name in ("CreateFilter", "UpdateFilter") and scalar(params, "action") == "ARCHIVE")
    )


SINGLE_RECORD_RULES: dict[str, Callable[[Record], bool]] = {
    "root_account_usage": root_account_usage,
    "console_login_without_mfa": console_login_without_mfa,
    "iam_user_created": _named(["CreateUser"]),
    "iam_access_key_created": _named(["CreateAccessKey"]),
    "iam_policy_changed": _named(
        [
            "PutRolePolicy",
            "PutUserPolicy",
            "PutGroupPolicy",
            "AttachRolePolicy",
            "AttachUserPolicy",
            "AttachGroupPolicy",
            "CreatePolicyVersion",
            "SetDefaultPolicyVersion",
        ]
    ),
    "s3_bucket_permissions_changed": _named(S3_PERMISSION_CALLS),
    "s3_bucket_made_public": s3_bucket_made_public,
    "security_group_ingress_changed": _named(["AuthorizeSecurityGroupIngress"]),
    "security_group_open_to_world": security_group_open_to_world,
    "network_acl_changed": _named(
        [
            "CreateNetworkAcl",
            "CreateNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "DeleteNetworkAcl",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        ]
    ),
    "cloudtrail_tampering": _named(
        ["StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"],
        source="cloudtrail.amazonaws.com",
        ok=False,
    ),
    "guardduty_tampering": guardduty_tampering,
}
BURST_RULES = ("access_denied_burst", "console_login_failure_burst", "discovery_burst")
COVERED = frozenset({*SINGLE_RECORD_RULES, *BURST_RULES, "guardduty_finding"})  # the contract catalogue
DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation"}
)


def epoch(event_time: str) -> int:
    """Whole seconds, as ``to_unixtime(from_iso8601_timestamp(eventtime))`` cast to BIGINT."""
    return round(datetime.fromisoformat(event_time.replace("Z", "+00:00")).timestamp())


def burst_members(rows: list[tuple[int, str]], threshold: int, window_s: int) -> set[str]:
    """Event ids of one key's rows (``(ts, event_id)``) that fall in a burst (burst_window.sql).

    A row at ``s`` starts a burst when ``threshold`` rows lie in ``[s, s + W]``; a row is in a burst
    when such a start lies in ``[ts - W, ts]``.
    """
    rows.sort()
    times = [t for t, _ in rows]
    starts = [
        t
        for t in times
        if bisect.bisect_right(times, t + window_s) - bisect.bisect_left(times, t) >= threshold
    ]
    return {eid for t, eid in rows if _start_within(starts, t, window_s)}


def _start_within(starts: list[int], t: int, window_s: int) -> bool:
    i = bisect.bisect_right(starts, t)
    return i > 0 and starts[i - 1] >= t - window_s


def distinct_burst_members(rows: list[tuple[int, str, str]], threshold: int, window_s: int) -> set[str]:
    """As :func:`burst_members`, counting distinct names (``(ts, name, event_id)``) in ``[s, s + W]``."""
    rows.sort()
    names: Counter[str] = Counter()
    starts: list[int] = []
    right = 0
    for left, (t, _, _) in enumerate(rows):
        while right < len(rows) and rows[right][0] <= t + window_s:
            names[rows[right][1]] += 1
            right += 1
        if len(names) >= threshold and (not starts or starts[-1] != t):
            starts.append(t)
        gone = rows[left][1]
        names[gone] -= 1
        if not names[gone]:
            del names[gone]
    return {eid for t, _, eid in rows if _start_within(starts, t, window_s)}


class PythonCatalogue:
    """Feeds records to every rule; :meth:`results` gives detection id -> matching event ids."""

    def __init__(self, start: str, end: str, params: dict[str, dict[str, Any]]) -> None:
        self.start, self.end, self.params = start, end, params
        self.matches: dict[str, set[str]] = defaultdict(set)
        self.denied: dict[str, set[tuple[int, str]]] = defaultdict(set)
        self.logins: dict[tuple[str, str], set[tuple[int, str]]] = defaultdict(set)
        self.reads: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        self.guardduty: set[str] = set()

    def feed(self, rec: Record) -> None:
        event_time = rec.get("eventTime")
        if not isinstance(event_time, str) or not self.start <= event_time < self.end:
            return
        eid = rec.get("eventID")
        for detection_id, rule in SINGLE_RECORD_RULES.items():
            if rule(rec):
                self.matches[detection_id].add(eid)
        name, arn = rec.get("eventName"), _ui(rec, "arn")
        if rec.get("errorCode") in DENIED and arn:
            self.denied[arn].add((epoch(event_time), eid))
        if isinstance(name, str) and name.startswith(("List", "Describe", "Get")) and arn:
            self.reads[arn].append((epoch(event_time), name, eid))
        if name == "ConsoleLogin" and scalar(rec.get("responseElements"), "ConsoleLogin") == "Failure":
            ip, user = rec.get("sourceIPAddress"), _ui(rec, "userName")
            if ip is not None:
                self.logins[("source_ip", ip)].add((epoch(event_time), eid))
            if user is not None and user != "HIDDEN_DUE_TO_SECURITY_REASONS":
                self.logins[("user_name", user)].add((epoch(event_time), eid))

    def feed_finding(self, finding: Record) -> None:
        updated = finding.get("updatedAt")
        if isinstance(updated, str) and self.start <= updated < self.end:
            self.guardduty.add(finding.get("id"))

    def results(self) -> dict[str, set[str]]:
        out = {k: set(v) for k, v in self.matches.items()}
        for detection_id, groups, counter in (
            ("access_denied_burst", self.denied, burst_members),
            ("console_login_failure_burst", self.logins, burst_members),
            ("discovery_burst", self.reads, distinct_burst_members),
        ):
            p = self.params[detection_id]
            found: set[str] = set()
            for rows in groups.values():
                found |= counter(list(rows), p["threshold"], p["window_minutes"] * 60)
            out[detection_id] = found
        out["guardduty_finding"] = set(self.guardduty)
        return {k: v for k, v in out.items() if v}


def evaluate_files(
    cloudtrail: Iterable[Path],
    guardduty: Iterable[Path],
    catalogue: PythonCatalogue,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Read every raw file once and feed its records; returns the number of CloudTrail records."""
    records = 0
    for n, path in enumerate(cloudtrail, start=1):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            document = json.load(handle)
        for rec in document.get("Records", ()) if isinstance(document, dict) else ():
            if isinstance(rec, dict):
                catalogue.feed(rec)
                records += 1
        if progress and n % 500 == 0:
            progress(n)
    for path in guardduty:
        try:
            for finding, _ in iter_findings(path):
                if finding is not None:
                    catalogue.feed_finding(finding)
        except UnreadableFile:
            continue
    return records
