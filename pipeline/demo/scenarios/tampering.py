"""Defense-evasion scenarios: CloudTrail and GuardDuty tampering, attempts, and look-alikes.

Look-alikes include the same eventName in another service (WAF CreateIPSet, Security Hub
DeleteMembers), UpdateDetector calls that do not disable the detector, a NOOP filter, and the
GuardDuty read/triage calls whose CloudTrail records must never be mistaken for findings.
"""

from __future__ import annotations

from typing import Any

from pipeline.demo.scenarios.base import Book

CT = "cloudtrail.amazonaws.com"
GD = "guardduty.amazonaws.com"
HUB = "securityhub.amazonaws.com"


#: GuardDuty steps that one admin takes in one sitting: (event name -> their story).
ONE_SITTING = {
    "DisassociateFromMasterAccount": "guardduty_member_accounts_unlinked",
    "DisassociateFromAdministratorAccount": "guardduty_member_accounts_unlinked",
    "DisassociateMembers": "guardduty_members_removed",
    "DeleteMembers": "guardduty_members_removed",
}


def cloudtrail_scenarios(b: Book) -> None:
    org = b.org
    mgmt, sec, staging = org.management.id, org.security.id, org.staging.id
    trail = f"arn:aws:cloudtrail:us-east-1:{mgmt}:trail/org-trail"
    prefix = org.id[2:8]
    selectors = [{"readWriteType": "WriteOnly", "includeManagementEvents": False}]
    # (day, hour, person, account, region, eventName, params, error, fires?)
    steps: list[tuple[int, int, str, str, str, str, dict[str, Any], str | None, bool]] = [
        (
            4,
            17,
            "tom.becker",
            staging,
            "eu-west-1",
            "DeleteTrail",
            {"name": f"arn:aws:cloudtrail:eu-west-1:{staging}:trail/staging-debug-trail"},
            None,
            True,
        ),
        (
            6,
            9,
            "lucas.silva",
            mgmt,
            "us-east-1",
            "UpdateTrail",
            {"name": trail, "s3BucketName": f"{prefix}-org-cloudtrail-logs-v2", "isMultiRegionTrail": True},
            None,
            True,
        ),
        (
            8,
            13,
            "noah.fischer",
            sec,
            "us-east-1",
            "PutEventSelectors",
            {"trailName": "security-data-events", "eventSelectors": selectors},
            "AccessDenied",
            True,
        ),
        (6, 9, "lucas.silva", mgmt, "us-east-1", "StartLogging", {"name": trail}, None, False),
        (
            1,
            10,
            "aisha.khan",
            sec,
            "us-east-1",
            "CreateTrail",
            {"name": "security-data-events", "s3BucketName": f"{prefix}-security-tools"},
            None,
            False,
        ),
    ]
    for i, (day, hh, person, acct, region, name, params, error, fires) in enumerate(steps):
        ts = b.at(day, hh, 5 + i * 9, 44)
        sess = b.sso(person, acct, ts, console=True)
        eid = b.call(sess, ts, CT, name, acct, region, params, error=error, read_only=False)
        what = name + (f" (refused: {error}): an attempt counts." if error else "")
        b.label(
            f"cloudtrail_{name}",
            "cloudtrail_tampering" if fires else None,
            [eid],
            what + ("" if fires else ": not tampering."),
        )


def guardduty_scenarios(b: Book) -> None:
    org = b.org
    mgmt, sec, prod, staging = org.management.id, org.security.id, org.prod.id, org.staging.id

    def det(acct: str, region: str) -> dict[str, Any]:
        return {"detectorId": org.pools[(acct, region)].detector}

    admin = det(sec, "us-east-1")
    members = {"accountIds": [staging]}
    scanner = {"criterion": {"type": {"eq": ["Recon:EC2/PortProbeUnprotectedPort"]}}}
    trusted = f"https://s3.amazonaws.com/{org.buckets[prod][2]}/trusted.txt"
    denied = "AccessDenied"
    # (day, hour, person, account, region, eventSource, eventName, params, error, fires?)
    steps: list[tuple[int, int, str, str, str, str, str, dict[str, Any], str | None, bool]] = [
        (
            5,
            22,
            "sofia.rossi",
            staging,
            "ap-southeast-2",
            GD,
            "DeleteDetector",
            det(staging, "ap-southeast-2"),
            denied,
            True,
        ),
        (
            5,
            22,
            "tom.becker",
            staging,
            "eu-west-1",
            GD,
            "UpdateDetector",
            {**det(staging, "eu-west-1"), "enable": False},
            None,
            True,
        ),
        (
            2,
            16,
            "aisha.khan",
            sec,
            "us-east-1",
            GD,
            "CreateFilter",
            {**admin, "name": "suppress-scanner", "action": "ARCHIVE", "rank": 1, "findingCriteria": scanner},
            None,
            True,
        ),
        (
            9,
            16,
            "aisha.khan",
            sec,
            "us-east-1",
            GD,
            "UpdateFilter",
            {**admin, "filterName": "suppress-scanner", "action": "ARCHIVE", "rank": 1},
            None,
            True,
        ),
        (
            3,
            13,
            "maria.garcia",
            prod,
            "us-east-1",
            GD,
            "CreateIPSet",
            {
                **det(prod, "us-east-1"),
                "name": "trusted-office",
                "format": "TXT",
                "activate": True,
                "location": trusted,
            },
            None,
            True,
        ),
        (
            7,
            9,
            "maria.garcia",
            prod,
            "us-east-1",
            GD,
            "UpdateIPSet",
            {**det(prod, "us-east-1"), "ipSetId": b.ids.hex(32), "activate": True},
            None,
            True,
        ),
        (
            11,
            20,
            "raj.patel",
            staging,
            "us-east-1",
            GD,
            "DisassociateFromMasterAccount",
            det(staging, "us-east-1"),
            denied,
            True,
        ),
        (
            11,
            20,
            "raj.patel",
            prod,
            "us-east-1",
            GD,
            "DisassociateFromAdministratorAccount",
            det(prod, "us-east-1"),
            denied,
            True,
        ),
        (
            12,
            14,
            "aisha.khan",
            sec,
            "eu-west-1",
            GD,
            "DisassociateMembers",
            {**det(sec, "eu-west-1"), **members},
            None,
            True,
        ),
        (
            12,
            14,
            "aisha.khan",
            sec,
            "eu-west-1",
            GD,
            "DeleteMembers",
            {**det(sec, "eu-west-1"), **members},
            None,
            True,
        ),
        (
            1,
            15,
            "lucas.silva",
            sec,
            "ap-southeast-2",
            GD,
            "StopMonitoringMembers",
            {**det(sec, "ap-southeast-2"), **members},
            None,
            True,
        ),
        (
            10,
            11,
            "aisha.khan",
            sec,
            "us-east-1",
            GD,
            "DeletePublishingDestination",
            {**admin, "destinationId": b.ids.hex(32)},
            None,
            True,
        ),
        # Near misses.
        (
            2,
            16,
            "aisha.khan",
            sec,
            "us-east-1",
            GD,
            "CreateFilter",
            {
                **admin,
                "name": "tag-prod",
                "action": "NOOP",
                "rank": 2,
                "findingCriteria": {"criterion": {"accountId": {"eq": [prod]}}},
            },
            None,
            False,
        ),
        (
            4,
            10,
            "aisha.khan",
            sec,
            "us-east-1",
            GD,
            "UpdateDetector",
            {**admin, "findingPublishingFrequency": "FIFTEEN_MINUTES"},
            None,
            False,
        ),
        (
            4,
            10,
            "aisha.khan",
            sec,
            "eu-west-1",
            GD,
            "UpdateDetector",
            {**det(sec, "eu-west-1"), "features": [{"name": "S3_DATA_EVENTS", "status": "DISABLED"}]},
            None,
            False,
        ),
        (
            6,
            11,
            "tom.becker",
            staging,
            "eu-west-1",
            GD,
            "UpdateDetector",
            {**det(staging, "eu-west-1"), "enable": True, "findingPublishingFrequency": "SIX_HOURS"},
            None,
            False,
        ),
        (
            3,
            14,
            "maria.garcia",
            prod,
            "us-east-1",
            "wafv2.amazonaws.com",
            "CreateIPSet",
            {
                "name": "blocked-scanners",
                "scope": "REGIONAL",
                "iPAddressVersion": "IPV4",
                "addresses": ["198.51.100.0/24"],
            },
            None,
            False,
        ),
        (12, 15, "aisha.khan", sec, "eu-west-1", HUB, "DeleteMembers", members, None, False),
        (12, 15, "aisha.khan", sec, "eu-west-1", HUB, "DisassociateMembers", members, None, False),
        (
            5,
            9,
            "noah.fischer",
            sec,
            "us-east-1",
            GD,
            "ListFindings",
            {**admin, "maxResults": 50},
            None,
            False,
        ),
        (
            5,
            9,
            "noah.fischer",
            sec,
            "us-east-1",
            GD,
            "ArchiveFindings",
            {**admin, "findingIds": [b.ids.hex(32)]},
            None,
            False,
        ),
        (
            0,
            12,
            "aisha.khan",
            mgmt,
            "us-east-1",
            GD,
            "GetFindingsStatistics",
            {**det(mgmt, "us-east-1"), "findingStatisticTypes": ["COUNT_BY_SEVERITY"]},
            None,
            False,
        ),
    ]
    for i, (day, hh, person, acct, region, src, name, params, error, fires) in enumerate(steps):
        ts = b.at(day, hh, (i * 7) % 50, 3 + i)
        sess = b.sso(person, acct, ts, console=i % 2 == 0)
        eid = b.call(
            sess, ts, src, name, acct, region, params, error=error, read_only=name.startswith(("List", "Get"))
        )
        if error:  # GuardDuty puts the refusal text in responseElements.message, not errorMessage
            rec = b.records[-1][1]
            rec["responseElements"] = {"message": rec.pop("errorMessage")}
        where = src.split(".")[0]
        scenario = f"{where}_{name}_{i}"
        # One admin's two calls minutes apart are one piece of work (one story, two steps).
        b.story = ONE_SITTING.get(name, "") if src == GD else ""
        if fires:
            b.label(
                scenario,
                "guardduty_tampering",
                [eid],
                f"{where} {name}" + (f" (refused: {error})" if error else ""),
            )
        else:
            b.label(scenario, None, [eid], f"{where} {name}: not GuardDuty tampering.")
    b.story = ""
    # A security engineer generates sample findings (they arrive in the export, flagged sample).
    ts = b.at(0, 12, 2, 5)
    sess = b.sso("aisha.khan", sec, ts, console=True)
    eid = b.call(
        sess, ts, GD, "CreateSampleFindings", sec, "us-east-1", {**admin, "findingTypes": []}, read_only=False
    )
    b.label(
        "guardduty_CreateSampleFindings", None, [eid], "A GuardDuty API call is never a GuardDuty finding."
    )
    b.hook("SAMPLE", sec, "us-east-1", ts)
