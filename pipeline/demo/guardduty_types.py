"""Real GuardDuty finding types the demo uses, with their usual severity and wording.

Titles and descriptions paraphrase GuardDuty's own; ``{instance}``, ``{ip}``, ``{user}``, ``{api}``,
``{bucket}`` and ``{trail}`` are filled from the finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FindingType:
    """resource: ec2 | key | s3; action: dns | net | probe | api (GuardDuty's actionType)."""

    name: str
    resource: str
    action: str
    severity: float
    title: str
    description: str
    extra: dict[str, Any] = field(default_factory=dict)


T = FindingType
OUT, IN = "OUTBOUND", "INBOUND"
TYPES: dict[str, FindingType] = {
    t.name: t
    for t in (
        T(
            "CryptoCurrency:EC2/BitcoinTool.B!DNS",
            "ec2",
            "dns",
            8.0,
            "Bitcoin-related domain name queried by EC2 instance {instance}.",
            "EC2 instance {instance} is querying a domain name associated with Bitcoin-related activity.",
            {"domain": "xmr.pool.minergate.com"},
        ),
        T(
            "CryptoCurrency:EC2/BitcoinTool.B",
            "ec2",
            "net",
            8.0,
            "Bitcoin-related IP address communicated with EC2 instance {instance}.",
            "EC2 instance {instance} is communicating with {ip}, an IP address used for Bitcoin activity.",
            {"port": 3333, "direction": OUT},
        ),
        T(
            "Backdoor:EC2/C&CActivity.B!DNS",
            "ec2",
            "dns",
            8.0,
            "Command and Control server domain name queried by EC2 instance {instance}.",
            "EC2 instance {instance} is querying a domain name of a known Command & Control server.",
            {"domain": "update.cdn-sync.top"},
        ),
        T(
            "Backdoor:EC2/C&CActivity.B",
            "ec2",
            "net",
            8.0,
            "Command and Control server IP queried by EC2 instance {instance}.",
            "EC2 instance {instance} is communicating with {ip}, a known Command & Control server.",
            {"port": 443, "direction": OUT},
        ),
        T(
            "Backdoor:EC2/DenialOfService.Tcp",
            "ec2",
            "net",
            8.0,
            "Outbound TCP DoS attack from EC2 instance {instance}.",
            "EC2 instance {instance} is behaving in a manner that may indicate it is being used to perform a "
            "Denial of Service (DoS) attack using the TCP protocol.",
            {"port": 80, "direction": OUT},
        ),
        T(
            "Trojan:EC2/DNSDataExfiltration",
            "ec2",
            "dns",
            8.0,
            "Data exfiltration through DNS queries from EC2 instance {instance}.",
            "EC2 instance {instance} is attempting to query domain names that resemble exfiltrated data.",
            {"domain": "a3f9c2.d7e1.exfil-tunnel.net"},
        ),
        T(
            "Recon:EC2/PortProbeUnprotectedPort",
            "ec2",
            "probe",
            2.0,
            "Unprotected port on EC2 instance {instance} is being probed.",
            "EC2 instance has an unprotected port which is being probed by a known malicious host.",
            {"port": 22},
        ),
        T(
            "Recon:EC2/Portscan",
            "ec2",
            "net",
            5.0,
            "EC2 instance {instance} is performing outbound port scans against remote host {ip}.",
            "EC2 instance {instance} is performing port scans on a remote host.",
            {"port": 8080, "direction": OUT},
        ),
        T(
            "UnauthorizedAccess:EC2/SSHBruteForce",
            "ec2",
            "net",
            2.0,
            "{ip} is performing SSH brute force attacks against {instance}.",
            "{ip} is performing SSH brute force attacks against {instance}. Brute force attacks are used to "
            "gain unauthorized access to your instance by guessing the SSH password.",
            {"port": 22, "direction": IN},
        ),
        T(
            "UnauthorizedAccess:EC2/TorClient",
            "ec2",
            "net",
            8.0,
            "EC2 instance {instance} is communicating with Tor Entry node.",
            "EC2 instance {instance} is making connections to a Tor Entry node at {ip}.",
            {"port": 9001, "direction": OUT},
        ),
        T(
            "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
            "key",
            "api",
            8.0,
            "Credentials for instance role {user} used from external IP address.",
            "Credentials created exclusively for an EC2 instance using instance role {user} have been used "
            "from external IP address {ip}.",
        ),
        T(
            "UnauthorizedAccess:IAMUser/TorIPCaller",
            "key",
            "api",
            5.0,
            "API {api} was invoked from a Tor exit node IP address.",
            "API {api} was invoked from Tor exit node IP address {ip}.",
        ),
        T(
            "UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B",
            "key",
            "api",
            5.0,
            "Unusual console login was seen for principal {user}.",
            "Principal {user} signed in to the console from {ip}, an unusual location for this principal.",
        ),
        T(
            "Stealth:IAMUser/CloudTrailLoggingDisabled",
            "key",
            "api",
            2.0,
            "AWS CloudTrail trail {trail} was disabled.",
            "AWS CloudTrail trail {trail} was disabled by {user} calling {api}.",
        ),
        T(
            "Policy:IAMUser/RootCredentialUsage",
            "key",
            "api",
            2.0,
            "API {api} was invoked using root credentials.",
            "API {api} was invoked using root credentials from IP address {ip}.",
        ),
        T(
            "Discovery:IAMUser/AnomalousBehavior",
            "key",
            "api",
            5.0,
            "Unusual resource discovery API calls by {user}.",
            "APIs commonly used to discover resources were invoked by {user} in an unusual way.",
        ),
        T(
            "Persistence:IAMUser/AnomalousBehavior",
            "key",
            "api",
            5.0,
            "Unusual API calls to maintain access by {user}.",
            "APIs commonly used to maintain unauthorized access were invoked by {user} in an unusual way.",
        ),
        T(
            "Recon:IAMUser/MaliciousIPCaller",
            "key",
            "api",
            5.0,
            "Reconnaissance API {api} was invoked from a known malicious IP address.",
            "API {api}, commonly used in reconnaissance, was invoked from known malicious IP address {ip}.",
        ),
        T(
            "Discovery:S3/MaliciousIPCaller",
            "s3",
            "api",
            8.0,
            "S3 API {api} was invoked from a known malicious IP address.",
            "API {api} was used to discover S3 bucket {bucket} from known malicious IP address {ip}.",
        ),
        T(
            "Discovery:S3/TorIPCaller",
            "s3",
            "api",
            5.0,
            "S3 API {api} was invoked from a Tor exit node IP address.",
            "API {api} was invoked on S3 bucket {bucket} from Tor exit node IP address {ip}.",
        ),
        T(
            "Policy:S3/BucketBlockPublicAccessDisabled",
            "s3",
            "api",
            2.0,
            "Amazon S3 Block Public Access was disabled for S3 bucket {bucket}.",
            "Amazon S3 Block Public Access was disabled for S3 bucket {bucket} by {user} calling {api}.",
        ),
        T(
            "Policy:S3/BucketAnonymousAccessGranted",
            "s3",
            "api",
            8.0,
            "Amazon S3 bucket {bucket} was granted anonymous access.",
            "Amazon S3 bucket {bucket} was made publicly accessible by {user} calling {api}.",
        ),
        T(
            "Stealth:S3/ServerAccessLoggingDisabled",
            "s3",
            "api",
            2.0,
            "S3 server access logging was disabled for bucket {bucket}.",
            "S3 server access logging was disabled for bucket {bucket} by {user}.",
        ),
    )
}
