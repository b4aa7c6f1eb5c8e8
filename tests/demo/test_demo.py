"""Tests for the synthetic demo generator (pipeline.demo).

Most tests read the session's ``demo_org`` (tests/conftest.py: 40k events over two weeks).
Besides shape and layout checks, a plain-Python reading of DETECTIONS.md is run over every record
and compared with the manifest's labels: each label must hold, and every firing must be explained
by a label, which also proves that unlabelled background traffic fires nothing.
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import ipaddress
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.demo import CATALOGUE_IDS, DemoManifest, generate_demo, guardduty_severity
from tests.helpers import DEMO_ORG, ORG_START, SMALL_ORG

EVENTS = DEMO_ORG["events"]
CT_KEY = re.compile(
    r"AWSLogs/(o-[a-z0-9]{10})/(\d{12})/CloudTrail/([a-z]{2}-[a-z]+-\d)/(\d{4})/(\d{2})/(\d{2})/"
    r"\2_CloudTrail_\3_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz"
)
GD_KEY = re.compile(
    r"AWSLogs/(\d{12})/GuardDuty/([a-z]{2}-[a-z]+-\d)/(\d{4})/(\d{2})/(\d{2})/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.jsonl\.gz"
)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
TIME_MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
ACCESS = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation"}
POLICY = {
    "PutRolePolicy",
    "PutUserPolicy",
    "PutGroupPolicy",
    "AttachRolePolicy",
    "AttachUserPolicy",
    "AttachGroupPolicy",
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
}
S3_PERMS = {
    "PutBucketAcl",
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "PutBucketPublicAccessBlock",
    "DeleteBucketPublicAccessBlock",
}
NACL = {
    "CreateNetworkAcl",
    "CreateNetworkAclEntry",
    "ReplaceNetworkAclEntry",
    "DeleteNetworkAcl",
    "DeleteNetworkAclEntry",
    "ReplaceNetworkAclAssociation",
}
CT_TAMPER = {"StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"}
GD_TAMPER = {
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
PUBLIC_GROUPS = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)


class Demo:
    """A generated demo, loaded: records with the key they were filed under, findings, manifest."""

    def __init__(self, root: Path, manifest: DemoManifest) -> None:
        self.root, self.manifest = root, manifest
        self.records: list[tuple[str, dict[str, Any]]] = []
        self.findings: list[tuple[str, dict[str, Any]]] = []
        for path in sorted(root.rglob("*.gz")):
            key = path.relative_to(root).as_posix()
            if "/CloudTrail-Digest/" in key:
                continue  # digests (log file validation) are checked in tests/integrity/test_integrity.py
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                if key.endswith(".json.gz"):
                    self.records += [(key, r) for r in json.load(fh)["Records"]]
                else:
                    self.findings += [(key, json.loads(line)) for line in fh if line.strip()]
        self.labelled = {i for lb in manifest.labels if lb.source == "cloudtrail" for i in lb.event_ids}


@pytest.fixture(scope="module")
def demo(demo_org: Any) -> Demo:
    calls = demo_org.progress  # generate_demo's progress(done, total) calls, in order
    assert calls and calls[-1] == (EVENTS, EVENTS)
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:], strict=False))
    return Demo(demo_org.root, demo_org.manifest)


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow  # generates two organizations
def test_same_seed_same_bytes(small_org: Any, tmp_path: Path) -> None:
    generate_demo(tmp_path / "a", **SMALL_ORG)  # small_org (tests/conftest.py) is "b", made the same way
    generate_demo(tmp_path / "c", **{**SMALL_ORG, "seed": SMALL_ORG["seed"] + 1})
    a, b, c = _digest(tmp_path / "a"), _digest(small_org.root), _digest(tmp_path / "c")
    assert a == b
    assert a != c
    generate_demo(tmp_path / "a", **SMALL_ORG)  # regenerating in place replaces the old demo
    assert _digest(tmp_path / "a") == a


def test_refuses_bad_arguments_and_foreign_folders(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_demo(tmp_path / "x", events=500, days=3)
    with pytest.raises(ValueError):
        generate_demo(tmp_path / "x", events=20_000, days=1)
    (tmp_path / "y" / "AWSLogs").mkdir(parents=True)
    with pytest.raises(FileExistsError):
        generate_demo(tmp_path / "y", events=8_000, days=2)


def test_counts_and_manifest(demo: Demo) -> None:
    m = demo.manifest
    assert len(demo.records) == EVENTS == m.events == m.background_events + m.scenario_events
    assert len({k for k, _ in demo.records}) == m.files
    assert len(demo.findings) == m.guardduty_findings and 30 <= m.guardduty_findings <= 60
    assert len({k for k, _ in demo.findings}) == m.guardduty_files
    assert len(m.accounts) >= 4 and {a["role"] for a in m.accounts} == {"management", "security", "workload"}
    assert m.regions == ["us-east-1", "eu-west-1", "ap-southeast-2"]
    assert DemoManifest.load(demo.root / "manifest.json") == m
    assert m.total_events == EVENTS
    assert m.window() == (ORG_START, ORG_START + timedelta(days=DEMO_ORG["days"]))
    ids = [r["eventID"] for _, r in demo.records]
    assert len(set(ids)) == len(ids)
    assert demo.labelled <= set(ids)
    assert {f["id"] for _, f in demo.findings} == {
        i for lb in m.labels if lb.source == "guardduty" for i in lb.event_ids
    }


def test_key_layout(demo: Demo) -> None:
    accounts = {a["id"] for a in demo.manifest.accounts}
    for key, rec in demo.records:
        m = CT_KEY.fullmatch(key)
        assert m, key
        assert m.group(1) == demo.manifest.org_id and m.group(2) in accounts
        assert (rec["recipientAccountId"], rec["awsRegion"]) == (m.group(2), m.group(3))
        assert m.group(7).startswith(m.group(4) + m.group(5) + m.group(6))
    for key, fd in demo.findings:
        m = GD_KEY.fullmatch(key)
        assert m, key
        assert m.group(1) == demo.manifest.guardduty_export_account and fd["region"] == m.group(2)
        assert (m.group(3), m.group(4), m.group(5)) >= tuple(fd["updatedAt"][:10].split("-"))


def test_record_shapes(demo: Demo) -> None:
    accounts = {a["id"] for a in demo.manifest.accounts}
    types, sources = Counter(), Counter()
    for _, r in demo.records:
        assert isinstance(r["eventVersion"], str) and TIME.fullmatch(r["eventTime"])
        assert r["eventSource"].endswith(".amazonaws.com") and r["eventName"]
        assert r["awsRegion"] in demo.manifest.regions and r["recipientAccountId"] in accounts
        assert isinstance(r["sourceIPAddress"], str) and isinstance(r["userAgent"], str)
        assert r["requestParameters"] is None or isinstance(r["requestParameters"], dict)
        assert r["responseElements"] is None or isinstance(r["responseElements"], dict)
        assert isinstance(r["readOnly"], bool) and isinstance(r["managementEvent"], bool)
        assert UUID.fullmatch(r["eventID"])
        assert r["eventType"] in {"AwsApiCall", "AwsServiceEvent", "AwsConsoleSignIn"}
        assert r["eventCategory"] in {"Management", "Data"}
        if "tlsDetails" in r:
            assert set(r["tlsDetails"]) == {"tlsVersion", "cipherSuite", "clientProvidedHostHeader"}
        for res in r.get("resources", []):
            assert set(res) == {"ARN", "accountId", "type"}
        if "additionalEventData" in r:
            assert isinstance(r["additionalEventData"], dict)
        ui = r["userIdentity"]
        types[ui.get("type")] += 1
        sources[r["eventSource"]] += 1
        if ui.get("type") == "AssumedRole":
            issuer = ui["sessionContext"]["sessionIssuer"]
            assert issuer["type"] == "Role" and ui["arn"].startswith("arn:aws:sts::")
            assert ui["arn"].split("/")[1] == issuer["userName"] == issuer["arn"].rsplit("/", 1)[1]
        if ui.get("type") == "AWSService":
            assert ui["invokedBy"].endswith(".amazonaws.com") and "arn" not in ui
        if r["eventSource"] in {"iam.amazonaws.com", "sts.amazonaws.com", "signin.amazonaws.com"}:
            assert r["awsRegion"] == "us-east-1"
        if r["eventName"] == "ConsoleLogin":
            assert r["eventSource"] == "signin.amazonaws.com" and r["readOnly"] is False
            assert r["responseElements"]["ConsoleLogin"] in {"Success", "Failure"}
            assert r["additionalEventData"]["MFAUsed"] in {"Yes", "No"}
    assert {"AssumedRole", "IAMUser", "AWSService", "Root", "AWSAccount", "WebIdentityUser"} <= set(types)
    assert types["AssumedRole"] > types["IAMUser"]
    errors = sum(1 for _, r in demo.records if "errorCode" in r)
    assert 0.01 < errors / len(demo.records) < 0.06
    sso = [r for _, r in demo.records if "AWSReservedSSO_" in r["userIdentity"].get("arn", "")]
    assert sso and all(
        "/aws-reserved/sso.amazonaws.com/" in r["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"]
        for r in sso
    )
    assert any(r["eventType"] == "AwsServiceEvent" for _, r in demo.records)
    assert any(r["userIdentity"].get("invokedBy") for _, r in demo.records if r["userIdentity"].get("arn"))


def test_background_console_logins_use_mfa(demo: Demo) -> None:
    logins = [
        r for _, r in demo.records if r["eventName"] == "ConsoleLogin" and r["eventID"] not in demo.labelled
    ]
    assert logins
    for r in logins:
        if r["responseElements"]["ConsoleLogin"] == "Success":
            assert r["additionalEventData"]["MFAUsed"] == "Yes" and r["userIdentity"]["type"] == "IAMUser"


def test_filed_by_delivery_time(demo: Demo) -> None:
    next_day = set()
    for key, r in demo.records:
        m = CT_KEY.fullmatch(key)
        assert m
        folder = datetime(int(m.group(4)), int(m.group(5)), int(m.group(6)), tzinfo=UTC).date()
        event = datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        stamp = datetime.strptime(m.group(7), "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
        assert folder >= event.date() and (stamp - event).total_seconds() >= 240
        if folder > event.date():
            next_day.add(r["eventID"])
    assert len(next_day) > 10
    assert next_day & demo.labelled
    by_file: dict[str, list[str]] = defaultdict(list)
    for key, r in demo.records:
        by_file[key].append(r["eventTime"])
    assert len(by_file) < len(demo.records) / 5  # files batch many records...
    unsorted = sum(1 for times in by_file.values() if times != sorted(times))
    assert unsorted > 0  # ...in arrival order, which is not event order


def test_guardduty_findings(demo: Demo) -> None:
    families = set()
    for _, fd in demo.findings:
        assert {
            "schemaVersion",
            "accountId",
            "region",
            "partition",
            "id",
            "arn",
            "type",
            "resource",
            "service",
            "severity",
            "createdAt",
            "updatedAt",
            "title",
            "description",
        } <= set(fd)
        assert re.fullmatch(r"[0-9a-f]{32}", fd["id"]) and fd["arn"].endswith("/finding/" + fd["id"])
        assert fd["arn"].startswith(f"arn:aws:guardduty:{fd['region']}:{fd['accountId']}:detector/")
        assert isinstance(fd["severity"], int | float) and 2 <= fd["severity"] <= 8.9
        assert TIME_MS.fullmatch(fd["createdAt"]) and TIME_MS.fullmatch(fd["updatedAt"])
        assert fd["createdAt"] <= fd["updatedAt"]
        assert fd["resource"]["resourceType"] in {"Instance", "AccessKey", "S3Bucket"}
        assert fd["service"]["serviceName"] == "guardduty" and isinstance(fd["service"]["archived"], bool)
        assert fd["service"]["action"]["actionType"] in {
            "NETWORK_CONNECTION",
            "DNS_REQUEST",
            "PORT_PROBE",
            "AWS_API_CALL",
        }
        families.add(fd["type"].split(":")[0])
    assert {
        "Backdoor",
        "CryptoCurrency",
        "Recon",
        "UnauthorizedAccess",
        "Stealth",
        "Discovery",
        "Policy",
    } <= families
    assert any(fd["service"]["archived"] for _, fd in demo.findings)
    assert any(fd["service"]["additionalInfo"].get("sample") for _, fd in demo.findings)
    assert {guardduty_severity(fd["severity"]) for _, fd in demo.findings} == {"low", "medium", "high"}


# --------------------------------------------------------------------------- reference detections


def _window_hits(events: list[tuple[str, str, str]], seconds: int, enough: Any) -> set[str]:
    """(time, id, value) sorted by time; ids inside any window of ``seconds`` where ``enough(values)``."""
    events.sort()
    hits: set[str] = set()
    left = 0
    for right in range(len(events)):
        t = _ts(events[right][0])
        while t - _ts(events[left][0]) > seconds:
            left += 1
        if enough([e[2] for e in events[left : right + 1]]):
            hits.update(e[1] for e in events[left : right + 1])
    return hits


def _ts(s: str) -> int:
    return int(datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def _listify(x: Any) -> list[Any]:
    return x if isinstance(x, list) else [x]


def _s3_public(r: dict[str, Any]) -> bool:
    name, p = r["eventName"], r["requestParameters"] or {}
    if name == "DeleteBucketPublicAccessBlock":
        return True
    if name == "PutBucketPublicAccessBlock":
        cfg = p.get("PublicAccessBlockConfiguration") or {}
        return any(
            cfg.get(k) is False
            for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        )
    if name == "PutBucketAcl":
        canned = p.get("x-amz-acl")
        if canned is not None and _listify(canned)[0] in {
            "public-read",
            "public-read-write",
            "authenticated-read",
        }:
            return True
        grants = ((p.get("AccessControlPolicy") or {}).get("AccessControlList") or {}).get("Grant") or []
        return any(g["Grantee"].get("URI") in PUBLIC_GROUPS for g in _listify(grants))
    if name == "PutBucketPolicy":
        pol = p.get("bucketPolicy") or {}
        return any(
            s.get("Effect") == "Allow" and s.get("Principal") in ("*", {"AWS": "*"}) and "Condition" not in s
            for s in _listify(pol.get("Statement", []))
        )
    return False


def _sg_open(p: dict[str, Any]) -> bool:
    cidrs = [p.get("cidrIp"), p.get("cidrIpv6")]
    for perm in (p.get("ipPermissions") or {}).get("items", []):
        cidrs += [x.get("cidrIp") for x in (perm.get("ipRanges") or {}).get("items", [])]
        cidrs += [x.get("cidrIpv6") for x in (perm.get("ipv6Ranges") or {}).get("items", [])]
    return any(c and ipaddress.ip_network(c, strict=False).prefixlen == 0 for c in cidrs)


def _single(r: dict[str, Any]) -> set[str]:
    """Per-record catalogue conditions (everything except the three bursts)."""
    ui, name, src, p = r["userIdentity"], r["eventName"], r["eventSource"], r["requestParameters"] or {}
    ok = "errorCode" not in r
    out = set()
    if ui.get("type") == "Root" and not ui.get("invokedBy") and r["eventType"] != "AwsServiceEvent":
        out.add("root_account_usage")
    if (
        name == "ConsoleLogin"
        and (r["responseElements"] or {}).get("ConsoleLogin") == "Success"
        and (r.get("additionalEventData") or {}).get("MFAUsed") == "No"
        and ui.get("type") in {"IAMUser", "Root"}
    ):
        out.add("console_login_without_mfa")
    table = {
        "CreateUser": "iam_user_created",
        "CreateAccessKey": "iam_access_key_created",
        "AuthorizeSecurityGroupIngress": "security_group_ingress_changed",
    }
    if ok and name in table:
        out.add(table[name])
    if ok and name in POLICY:
        out.add("iam_policy_changed")
    if ok and name in S3_PERMS:
        out.add("s3_bucket_permissions_changed")
        if _s3_public(r):
            out.add("s3_bucket_made_public")
    if ok and name == "AuthorizeSecurityGroupIngress" and _sg_open(p):
        out.add("security_group_open_to_world")
    if ok and name in NACL:
        out.add("network_acl_changed")
    if src == "cloudtrail.amazonaws.com" and name in CT_TAMPER:
        out.add("cloudtrail_tampering")
    if src == "guardduty.amazonaws.com" and (
        name in GD_TAMPER
        or (name == "UpdateDetector" and p.get("enable") is False)
        or (name in {"CreateFilter", "UpdateFilter"} and p.get("action") == "ARCHIVE")
    ):
        out.add("guardduty_tampering")
    return out


def delivery_gaps(
    records: Iterable[dict[str, Any]], gap: int = 7200, baseline: int = 6 * 3600, steady: int = 2700
) -> set[str]:
    """log_delivery_gap in plain Python: the last record of an account/region before a silence over
    ``gap`` seconds, after ``baseline`` seconds with no silence over ``steady``, while another
    account/region logged after the silence passed ``gap`` and before this one resumed."""
    places: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for r in records:
        places[(r["recipientAccountId"], r["awsRegion"])].append((_ts(r["eventTime"]), r["eventID"]))
    for events in places.values():
        events.sort()
    latest = max(events[-1][0] for events in places.values())
    times = {place: [t for t, _ in events] for place, events in places.items()}
    out = set()
    for place, events in places.items():
        ts = times[place]
        for i, (t, eid) in enumerate(events):
            resumed = ts[i + 1] if i + 1 < len(ts) else latest
            if resumed - t <= gap:
                continue
            first = bisect.bisect_left(ts, t - baseline)
            if first == 0:  # no record before the baseline: the silence before it is unknown
                continue
            silences = [b - a for a, b in zip(ts[first - 1 : i], ts[first : i + 1], strict=True)]
            if max(silences) > steady:
                continue
            limit = bisect.bisect_right if i + 1 == len(ts) else bisect.bisect_left
            if any(
                limit(other, resumed) > bisect.bisect_right(other, t + gap)
                for p, other in times.items()
                if p != place
            ):
                out.add(eid)
    return out


def reference(records: Iterable[dict[str, Any]]) -> dict[str, set[str]]:
    """detection id -> eventIDs it must report, per DETECTIONS.md (and log_delivery_gap's header)."""
    fired: dict[str, set[str]] = defaultdict(set)
    records = list(records)
    fired["log_delivery_gap"] = delivery_gaps(records)
    by_ip, by_user, denied, reads = defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list)
    for r in records:
        for det in _single(r):
            fired[det].add(r["eventID"])
        t, eid, ui, arn = r["eventTime"], r["eventID"], r["userIdentity"], r["userIdentity"].get("arn")
        if (
            r["eventName"] == "ConsoleLogin"
            and (r["responseElements"] or {}).get("ConsoleLogin") == "Failure"
        ):
            by_ip[r["sourceIPAddress"]].append((t, eid, ""))
            if ui.get("userName") and ui["userName"] != "HIDDEN_DUE_TO_SECURITY_REASONS":
                by_user[ui["userName"]].append((t, eid, ""))
        if arn and r.get("errorCode") in ACCESS:
            denied[arn].append((t, eid, ""))
        if arn and r["eventName"].startswith(("List", "Describe", "Get")):
            reads[arn].append((t, eid, r["eventName"]))
    for group in (*by_ip.values(), *by_user.values()):
        fired["console_login_failure_burst"] |= _window_hits(group, 600, lambda v: len(v) >= 5)
    for group in denied.values():
        fired["access_denied_burst"] |= _window_hits(group, 3600, lambda v: len(v) >= 20)
    for group in reads.values():
        fired["discovery_burst"] |= _window_hits(group, 900, lambda v: len(set(v)) >= 20)
    return fired


def test_every_catalogue_id_is_labelled(demo: Demo) -> None:
    assert set(demo.manifest.covered()) >= {*CATALOGUE_IDS, "log_delivery_gap"}
    assert any(lb.detection_id is None for lb in demo.manifest.labels)


def test_labels_match_reference_detections(demo: Demo) -> None:
    fired = reference(r for _, r in demo.records)
    all_fired = set().union(*fired.values())
    explained: dict[str, set[str]] = defaultdict(set)
    for lb in demo.manifest.labels:
        if lb.source != "cloudtrail":
            continue
        if lb.detection_id is None:
            assert not set(lb.event_ids) & all_fired, lb.scenario
            continue
        explained[lb.detection_id] |= set(lb.event_ids)
        assert set(lb.event_ids) <= fired[lb.detection_id], lb.scenario
        for other in lb.not_detection_ids:
            assert not set(lb.event_ids) & fired[other], (lb.scenario, other)
    for det, ids in fired.items():
        assert ids <= explained[det], f"{det} fires on unlabelled records {sorted(ids - explained[det])[:3]}"


def test_background_stays_below_thresholds(demo: Demo) -> None:
    background = [r for _, r in demo.records if r["eventID"] not in demo.labelled]
    assert len(background) == demo.manifest.background_events
    assert not set().union(*(_single(r) for r in background))
    assert not any(r["userIdentity"].get("type") == "Root" for r in background)
    assert not any(
        r["eventName"]
        in POLICY
        | S3_PERMS
        | NACL
        | CT_TAMPER
        | GD_TAMPER
        | {"CreateUser", "CreateAccessKey", "AuthorizeSecurityGroupIngress", "UpdateDetector", "CreateFilter"}
        for r in background
    )
    reads, denied, ips, users = defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list)
    for r in background:
        arn, t, eid = r["userIdentity"].get("arn"), r["eventTime"], r["eventID"]
        if arn and r["eventName"].startswith(("List", "Describe", "Get")):
            reads[arn].append((t, eid, r["eventName"]))
        if arn and r.get("errorCode") in ACCESS:
            denied[arn].append((t, eid, ""))
        if r["eventName"] == "ConsoleLogin" and r["responseElements"]["ConsoleLogin"] == "Failure":
            ips[r["sourceIPAddress"]].append((t, eid, ""))
            users[r["userIdentity"]["userName"]].append((t, eid, ""))
    assert all(not _window_hits(g, 900, lambda v: len(set(v)) >= 15) for g in reads.values())
    assert all(not _window_hits(g, 3600, lambda v: len(v) >= 10) for g in denied.values())
    assert all(not _window_hits(g, 600, lambda v: len(v) >= 3) for g in (*ips.values(), *users.values()))


def test_rhythm_and_weighting(demo: Demo) -> None:
    hours = Counter(
        int(r["eventTime"][11:13])
        for _, r in demo.records
        if r["userIdentity"]
        .get("sessionContext", {})
        .get("sessionIssuer", {})
        .get("userName", "")
        .startswith("AWSReservedSSO_")
    )
    per_place = Counter((r["recipientAccountId"], r["awsRegion"]) for _, r in demo.records)
    assert max(per_place.values()) > 5 * min(per_place.values())
    assert sum(hours[h] for h in range(2, 5)) < sum(hours[h] for h in range(9, 12))
