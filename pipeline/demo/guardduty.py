"""GuardDuty findings in the S3 export format (camelCase, as GetFindings/EventBridge deliver them).

Findings come from three places: scenario hooks (so the stolen key or the public bucket also show
up in GuardDuty), a scatter of unrelated threats across accounts and regions, and the sample
findings a security engineer generates with CreateSampleFindings. Shapes follow the
aws-samples automated-response fixtures: ``resource`` by resourceType, ``service.action`` by
actionType, ``service.archived``, ``service.additionalInfo.sample``.
"""

from __future__ import annotations

import random
from typing import Any

from pipeline.demo.scenarios.base import Hook

from .guardduty_types import TYPES, FindingType
from .identities import Org, RegionPool
from .manifest import Label, guardduty_severity
from .records import Ids, iso_ms

_RANDOM_TYPES = [t for t in TYPES if not t.startswith(("Stealth:IAMUser", "Policy:S3/BucketAnon"))]
# The first scattered findings take severities at the catalogue's band edges, so mapping bugs show.
_EDGE_SEVERITIES = (3.9, 4.0, 6.9, 7.0, 8.9, 2.0)
_PLACES = (
    ("9009", "M247 Europe SRL", "Romania", "Bucharest", 44.43, 26.10),
    ("60729", "Stiftung Erneuerbare Freiheit", "Germany", "Frankfurt am Main", 50.11, 8.68),
    ("4134", "Chinanet", "China", "Shanghai", 31.22, 121.46),
    ("14061", "DigitalOcean, LLC", "Netherlands", "Amsterdam", 52.37, 4.89),
    ("16276", "OVH SAS", "France", "Roubaix", 50.69, 3.18),
)
SAMPLE_TYPES = (
    "Backdoor:EC2/C&CActivity.B!DNS",
    "Recon:IAMUser/MaliciousIPCaller",
    "Discovery:S3/MaliciousIPCaller",
    "CryptoCurrency:EC2/BitcoinTool.B",
    "UnauthorizedAccess:EC2/SSHBruteForce",
    "Policy:IAMUser/RootCredentialUsage",
)


class FindingFactory:
    """Builds findings for one demo from its own rng."""

    def __init__(self, org: Org, rng: random.Random, start_ts: int) -> None:
        self.org, self.rng, self.ids, self.start = org, rng, Ids(rng), start_ts
        self.findings: list[dict[str, Any]] = []

    def _ip(self) -> str:
        r = self.rng
        return (
            f"{r.choice((45, 89, 91, 185, 193))}.{r.randint(1, 254)}.{r.randint(1, 254)}.{r.randint(2, 250)}"
        )

    def _remote(self, ip: str) -> dict[str, Any]:
        asn, name, country, city, lat, lon = self.rng.choice(_PLACES)
        return {
            "ipAddressV4": ip,
            "organization": {"asn": asn, "asnOrg": name, "isp": name, "org": name},
            "country": {"countryName": country},
            "city": {"cityName": city},
            "geoLocation": {"lat": lat, "lon": lon},
        }

    def _instance(self, account: str, region: str, instance: str, pool: RegionPool) -> dict[str, Any]:
        ip = f"{pool.private_net}{self.rng.randint(0, 15)}.{self.rng.randint(4, 250)}"
        dns = f"ip-{ip.replace('.', '-')}.{region}.compute.internal"
        eni = {
            "ipv6Addresses": [],
            "networkInterfaceId": "eni-" + self.ids.hex(17),
            "privateDnsName": dns,
            "privateIpAddress": ip,
            "privateIpAddresses": [{"privateDnsName": dns, "privateIpAddress": ip}],
            "subnetId": pool.subnets[0],
            "vpcId": pool.vpc,
            "publicDnsName": "",
            "publicIp": None,
            "securityGroups": [{"groupName": "app", "groupId": pool.sgs[0]}],
        }
        profile = {
            "arn": f"arn:aws:iam::{account}:instance-profile/app-instance",
            "id": self.org.stable("AIPA", 17, account, "app-instance"),
        }
        return {
            "resourceType": "Instance",
            "instanceDetails": {
                "instanceId": instance,
                "instanceType": self.rng.choice(["t3.medium", "m7g.large", "c6i.xlarge"]),
                "launchTime": iso_ms(self.start - self.rng.randrange(86400 * 60)),
                "platform": None,
                "productCodes": [],
                "iamInstanceProfile": profile,
                "networkInterfaces": [eni],
                "tags": [{"key": "Name", "value": f"{pool.clusters[0]}-node"}],
                "instanceState": "running",
                "availabilityZone": f"{region}a",
                "imageId": "ami-0" + self.ids.hex(16),
                "imageDescription": "Amazon Linux 2023 AMI",
            },
        }

    def _key(self, account: str, d: dict[str, Any]) -> dict[str, Any]:
        user = d["user"]
        kind = "Root" if user == "Root" else "AssumedRole" if user.endswith("role") else "IAMUser"
        return {
            "accessKeyId": d.get("access_key") or self.ids.key_id("ASIA"),
            "principalId": d.get("principal") or self.org.stable("AIDA", 17, account, user),
            "userType": kind,
            "userName": user,
        }

    def _bucket(self, name: str, account: str, public: bool) -> dict[str, Any]:
        owner = self.org.stable("", 64, account, alphabet="0123456789abcdef")
        return {
            "arn": f"arn:aws:s3:::{name}",
            "name": name,
            "type": "Destination",
            "createdAt": iso_ms(self.start - 86400 * 200),
            "owner": {"id": owner},
            "tags": [],
            "defaultServerSideEncryption": {"encryptionType": "AES256"},
            "publicAccess": {"effectivePermission": "PUBLIC" if public else "NOT_PUBLIC"},
        }

    def _action(self, t: FindingType, d: dict[str, Any]) -> dict[str, Any]:
        if t.action == "dns":
            return {
                "actionType": "DNS_REQUEST",
                "dnsRequestAction": {"domain": t.extra["domain"], "protocol": "UDP", "blocked": False},
            }
        if t.action == "probe":
            port = {"port": t.extra["port"], "portName": "SSH"}
            detail = {"localPortDetails": port, "remoteIpDetails": self._remote(d["ip"])}
            return {
                "actionType": "PORT_PROBE",
                "portProbeAction": {"blocked": False, "portProbeDetails": [detail]},
            }
        if t.action == "net":
            return {
                "actionType": "NETWORK_CONNECTION",
                "networkConnectionAction": {
                    "connectionDirection": t.extra["direction"],
                    "remoteIpDetails": self._remote(d["ip"]),
                    "remotePortDetails": {"port": t.extra["port"], "portName": "Unknown"},
                    "localPortDetails": {"port": self.rng.randint(32768, 60999), "portName": "Unknown"},
                    "protocol": "TCP",
                    "blocked": False,
                },
            }
        service = "s3.amazonaws.com" if t.resource == "s3" else d.get("service", "iam.amazonaws.com")
        return {
            "actionType": "AWS_API_CALL",
            "awsApiCallAction": {
                "api": d["api"],
                "serviceName": service,
                "callerType": "Remote IP",
                "remoteIpDetails": self._remote(d["ip"]),
                "affectedResources": {},
            },
        }

    def build(
        self,
        type_: str,
        account: str,
        region: str,
        ts: int,
        details: dict[str, Any],
        *,
        severity: float | None = None,
        archived: bool = False,
        count: int = 1,
    ) -> dict[str, Any]:
        """One finding about activity at ``ts``; GuardDuty reports it 5-15 minutes later."""
        t = TYPES[type_]
        pool = self.org.pools[(account, region)]
        d = {
            "instance": self.rng.choice(pool.instances),
            "ip": self._ip(),
            "user": "GeneratedFindingUserName",
            "api": "ListBuckets",
            "bucket": self.rng.choice(self.org.buckets[account]),
            "trail": "prod-account-trail",
            **details,
        }
        if t.resource == "ec2":
            res = self._instance(account, region, d["instance"], pool)
        elif t.resource == "key":
            res = {"resourceType": "AccessKey", "accessKeyDetails": self._key(account, d)}
        else:
            res = {
                "resourceType": "S3Bucket",
                "accessKeyDetails": self._key(account, d),
                "s3BucketDetails": [self._bucket(d["bucket"], account, "Anonymous" in type_)],
            }
        fid = self.ids.hex(32)
        created = ts + self.rng.randint(300, 900) + self.rng.random()
        updated = created + (self.rng.randint(3600, 6 * 3600) if count > 1 else 0)
        outbound = t.extra.get("direction") == "OUTBOUND"
        service: dict[str, Any] = {
            "serviceName": "guardduty",
            "detectorId": pool.detector,
            "action": self._action(t, d),
            "resourceRole": "ACTOR" if outbound else "TARGET",
            "additionalInfo": {"value": "{}", "type": "default"},
            "eventFirstSeen": iso_ms(float(ts)),
            "eventLastSeen": iso_ms(updated - 240),
            "archived": archived,
            "count": count,
        }
        if "Malicious" in type_:
            service["evidence"] = {
                "threatIntelligenceDetails": [{"threatListName": "ProofPoint", "threatNames": []}]
            }
        finding = {
            "schemaVersion": "2.0",
            "accountId": account,
            "region": region,
            "partition": "aws",
            "id": fid,
            "arn": f"arn:aws:guardduty:{region}:{account}:detector/{pool.detector}/finding/{fid}",
            "type": type_,
            "resource": res,
            "service": service,
            "severity": t.severity if severity is None else severity,
            "createdAt": iso_ms(created),
            "updatedAt": iso_ms(updated),
            "title": t.title.format(**d),
            "description": t.description.format(**d),
        }
        self.findings.append(finding)
        return finding


def build_findings(
    org: Org, rng: random.Random, start_ts: int, days: int, hooks: list[Hook]
) -> tuple[list[dict[str, Any]], list[Label]]:
    """All findings of the demo plus labels: every finding fires guardduty_finding, banded by severity."""
    f = FindingFactory(org, rng, start_ts)
    samples = [h for h in hooks if h.type == "SAMPLE"]
    story: dict[str, list[str]] = {}  # labelled story -> GuardDuty's findings about it
    for h in hooks:
        if h.type != "SAMPLE":
            count = 2 if "Anomalous" in h.type else 1
            built = f.build(h.type, h.account, h.region, h.ts, h.details, count=count)
            story.setdefault(h.story, []).append(built["id"])
    places = [(a.id, r) for a in org.accounts for r in org.regions]
    users = [u.name for u in org.iam_users] + ["prod-orders-task-role", "ec2-ssm-instance-role"]
    for i in range(26):
        account, region = places[(i * 7) % len(places)]
        type_ = _RANDOM_TYPES[(i * 5) % len(_RANDOM_TYPES)]
        ts = start_ts + rng.randrange(days * 86400 - 8 * 3600)  # updates (up to 6 h later) stay in the period
        sev = _EDGE_SEVERITIES[i] if i < len(_EDGE_SEVERITIES) else None
        archived = type_ == "Recon:EC2/PortProbeUnprotectedPort" or rng.random() < 0.15
        f.build(
            type_,
            account,
            region,
            ts,
            {"user": rng.choice(users)},
            severity=sev,
            archived=archived,
            count=rng.choice((1, 1, 3, 12)),
        )
    # What CreateSampleFindings produces (scenario guardduty_CreateSampleFindings).
    placeholder = {
        "user": "GeneratedFindingUserName",
        "instance": "i-99999999",
        "ip": "198.51.100.0",
        "bucket": "GeneratedFindingS3Bucket",
        "api": "GeneratedFindingAPIName",
    }
    for h in samples:
        for i, type_ in enumerate(SAMPLE_TYPES):
            fd = f.build(type_, h.account, h.region, h.ts + i, placeholder, archived=i % 2 == 0)
            fd["service"]["additionalInfo"] = {"sample": True}
    labels = []
    for band in ("high", "medium", "low"):
        ids = [fd["id"] for fd in f.findings if guardduty_severity(fd["severity"]) == band]
        labels.append(
            Label(
                f"guardduty_findings_{band}",
                "guardduty_finding",
                ids,
                f"Every GuardDuty finding fires, archived and sample ones included ({band} band).",
                "guardduty",
                band,
            )
        )
    for name, ids in story.items():  # one label per story, so incidents can be checked per story
        labels.append(
            Label(
                "guardduty_story_findings",
                "guardduty_finding",
                ids,
                "Findings GuardDuty raised about the labelled CloudTrail scenarios.",
                "guardduty",
                story=name,
            )
        )
    return f.findings, labels
