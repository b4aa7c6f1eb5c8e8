"""Low-level builders for CloudTrail records: ids, timestamps, identities, the record itself.

Everything random is drawn from an explicit ``random.Random`` so that a seed reproduces the demo
byte for byte; nothing here reads the clock or the OS entropy pool. Shapes (key names, key case,
nesting, which values are JSON booleans or null) copy real records from the Stratus Red Team and
TrailDiscover corpora, because detections are written against those shapes.
"""

from __future__ import annotations

import random
import time
from typing import Any

UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"

#: Services whose API lives on one global endpoint; the brief files their calls under us-east-1.
GLOBAL_SOURCES = frozenset(
    {
        "iam.amazonaws.com",
        "sts.amazonaws.com",
        "organizations.amazonaws.com",
        "signin.amazonaws.com",
        "ce.amazonaws.com",
    }
)

#: The errorCode a service returns when a caller lacks permission (what access_denied_burst counts).
ACCESS_CODE = {
    "ec2.amazonaws.com": "Client.UnauthorizedOperation",
    "kms.amazonaws.com": "AccessDeniedException",
    "lambda.amazonaws.com": "AccessDeniedException",
    "secretsmanager.amazonaws.com": "AccessDeniedException",
    "ssm.amazonaws.com": "AccessDeniedException",
    "ecs.amazonaws.com": "AccessDeniedException",
    "ecr.amazonaws.com": "AccessDeniedException",
    "logs.amazonaws.com": "AccessDeniedException",
    "dynamodb.amazonaws.com": "AccessDeniedException",
    "tagging.amazonaws.com": "AccessDeniedException",
    "ce.amazonaws.com": "AccessDeniedException",
}
ACCESS_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation"}
)

_ERROR_TEXT = {
    "ThrottlingException": "Rate exceeded",
    "Throttling": "Rate exceeded",
    "Client.RequestLimitExceeded": "Request limit exceeded.",
    "NoSuchEntity": "The role with name {res} cannot be found.",
    "ResourceNotFoundException": "Resource not found: {res}",
    "ValidationError": "No updates are to be performed.",
    "ParameterNotFound": "",
    "NoSuchBucketPolicy": "The bucket policy does not exist",
    "NoSuchPublicAccessBlockConfiguration": "The public access block configuration was not found",
    "ServerSideEncryptionConfigurationNotFoundError": "The server side encryption configuration is missing",
    "Client.InvalidInstanceID.NotFound": "The instance ID '{res}' does not exist",
    "InvalidParameterValueException": "The provided parameter is not valid.",
    "ClusterNotFoundException": "Cluster not found.",
    "EntityAlreadyExists": "User with name {res} already exists.",
    "LimitExceeded": "Cannot exceed quota for AccessKeysPerUser: 2",
    "NoSuchBucket": "The specified bucket does not exist",
}


def iso(ts: int) -> str:
    """CloudTrail's eventTime format (second precision, Z), from epoch seconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def iso_ms(ts: float) -> str:
    """GuardDuty's createdAt/updatedAt format: ISO 8601 with milliseconds and Z."""
    whole = int(ts)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((ts - whole) * 1000):03d}Z"


def java_date(ts: int, comma: bool = False) -> str:
    """The 'Nov 1, 2026 1:33:28 PM' style IAM and STS use in responseElements.

    IAM writes it without a comma after the year (accessKey.createDate); STS credentials'
    expiration has one ('Aug 2, 2024, 8:45:00 AM').
    """
    t = time.gmtime(ts)
    hour = t.tm_hour % 12 or 12
    sep = ", " if comma else " "
    return f"{time.strftime('%b', t)} {t.tm_mday}, {t.tm_year}{sep}{hour}:{t.tm_min:02d}:{t.tm_sec:02d} " + (
        "AM" if t.tm_hour < 12 else "PM"
    )


class Ids:
    """Random identifiers in AWS's formats, all drawn from one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def uuid(self) -> str:
        """A version-4 UUID string (eventID, requestID) built from the rng, not from os.urandom."""
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def hex(self, n: int) -> str:
        return f"{self.rng.getrandbits(4 * n):0{n}x}"

    def upper(self, n: int) -> str:
        return "".join(self.rng.choices(UPPER_ALNUM, k=n))

    def alnum(self, n: int) -> str:
        return "".join(self.rng.choices(ALNUM, k=n))

    def lower(self, n: int) -> str:
        return "".join(self.rng.choices(LOWER_ALNUM, k=n))

    def digits(self, n: int) -> str:
        return str(self.rng.randint(10 ** (n - 1), 10**n - 1))

    def key_id(self, prefix: str) -> str:
        """Access key or unique id: AKIA/ASIA/AIDA/AROA followed by 16 upper-case alphanumerics."""
        return prefix + self.upper(16)

    def s3_request_id(self) -> str:
        return self.upper(16)

    def amz_id_2(self) -> str:
        return "".join(self.rng.choices(ALNUM + "+/", k=76)) + "="


# --------------------------------------------------------------------------- identities


def iam_user_identity(
    account: str,
    user: str,
    principal_id: str,
    access_key: str | None = None,
    console_session: bool = False,
    created: str | None = None,
) -> dict[str, Any]:
    """userIdentity of an IAM user; console sessions carry temporary ASIA keys and a sessionContext."""
    ident: dict[str, Any] = {
        "type": "IAMUser",
        "principalId": principal_id,
        "arn": f"arn:aws:iam::{account}:user/{user}",
        "accountId": account,
    }
    if access_key is not None:
        ident["accessKeyId"] = access_key
    ident["userName"] = user
    if console_session:
        ident["sessionContext"] = {
            "sessionIssuer": {},
            "webIdFederationData": {},
            "attributes": {"creationDate": created, "mfaAuthenticated": "true"},
        }
    return ident


def assumed_role_identity(
    account: str,
    role: str,
    role_id: str,
    session: str,
    access_key: str,
    created: str,
    *,
    path: str = "/",
    mfa: bool = False,
    invoked_by: str | None = None,
) -> dict[str, Any]:
    """userIdentity of an assumed-role session (SSO, CI, service-linked roles, workloads)."""
    ident: dict[str, Any] = {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": access_key,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": f"arn:aws:iam::{account}:role{path}{role}",
                "accountId": account,
                "userName": role,
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": created, "mfaAuthenticated": "true" if mfa else "false"},
        },
    }
    if invoked_by:
        ident["invokedBy"] = invoked_by
    return ident


def root_identity(
    account: str,
    access_key: str | None = None,
    invoked_by: str | None = None,
    mfa: bool | None = None,
    created: str | None = None,
) -> dict[str, Any]:
    """userIdentity of the root user; invokedBy marks calls an AWS service made on root's behalf."""
    ident: dict[str, Any] = {
        "type": "Root",
        "principalId": account,
        "arn": f"arn:aws:iam::{account}:root",
        "accountId": account,
    }
    if access_key is not None:
        ident["accessKeyId"] = access_key
    if mfa is not None:
        ident["sessionContext"] = {
            "sessionIssuer": {},
            "webIdFederationData": {},
            "attributes": {"creationDate": created, "mfaAuthenticated": "true" if mfa else "false"},
        }
    if invoked_by:
        ident["invokedBy"] = invoked_by
    return ident


def service_identity(service: str) -> dict[str, Any]:
    """userIdentity of an AWS service acting in the account (no arn, so never grouped by principal)."""
    return {"type": "AWSService", "invokedBy": service}


# --------------------------------------------------------------------------- the record

_TLS_CACHE: dict[tuple[str, str, bool], dict[str, str]] = {}


def host(source: str, region: str) -> str:
    """The endpoint a client would have called, as CloudTrail reports it in clientProvidedHostHeader."""
    svc = source.split(".", 1)[0]
    if source == "signin.amazonaws.com":
        return "signin.aws.amazon.com"
    if source in GLOBAL_SOURCES:
        return source
    return f"{svc}.{region}.amazonaws.com"


def tls(source: str, region: str, modern: bool = True) -> dict[str, str]:
    """Shared (cached) tlsDetails object; identical dicts serialise identically and save memory."""
    key = (source, region, modern)
    got = _TLS_CACHE.get(key)
    if got is None:
        got = {
            "tlsVersion": "TLSv1.3" if modern else "TLSv1.2",
            "cipherSuite": "TLS_AES_128_GCM_SHA256" if modern else "ECDHE-RSA-AES128-GCM-SHA256",
            "clientProvidedHostHeader": host(source, region),
        }
        _TLS_CACHE[key] = got
    return got


def error_message(code: str, ident: dict[str, Any], source: str, name: str, resource: str = "*") -> str:
    """A believable errorMessage for an errorCode (AccessDenied messages name the caller and action)."""
    if code in ACCESS_CODES:
        who = ident.get("arn", "anonymous")
        action = f"{source.split('.', 1)[0]}:{name}"
        if code.startswith("Client."):
            return "You are not authorized to perform this operation. User: " + (
                f"{who} is not authorized to perform: {action} on resource: {resource} because no "
                f"identity-based policy allows the {action} action."
            )
        return (
            f"User: {who} is not authorized to perform: {action} on resource: {resource} because no "
            f"identity-based policy allows the {action} action"
        )
    return _ERROR_TEXT.get(code, "An error occurred").format(res=resource)


def make_record(
    ids: Ids,
    *,
    ts: int,
    source: str,
    name: str,
    region: str,
    account: str,
    identity: dict[str, Any],
    ip: str,
    agent: str,
    read_only: bool,
    params: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    error: str | None = None,
    error_msg: str | None = None,
    event_type: str = "AwsApiCall",
    additional: dict[str, Any] | None = None,
    resources: list[dict[str, str]] | None = None,
    console: bool = False,
    version: str = "1.10",
    tls_details: bool = True,
    service_details: dict[str, Any] | None = None,
    vpce: str | None = None,
    shared_id: str | None = None,
) -> dict[str, Any]:
    """One CloudTrail record with keys in CloudTrail's own order.

    S3 calls get S3-style request ids and additionalEventData; AwsServiceEvent records carry
    serviceEventDetails and no tlsDetails, as real ones do.
    """
    is_s3 = source == "s3.amazonaws.com"
    rec: dict[str, Any] = {
        "eventVersion": version,
        "userIdentity": identity,
        "eventTime": iso(ts),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": agent,
    }
    if error is not None:
        rec["errorCode"] = error
        rec["errorMessage"] = (
            error_msg if error_msg is not None else error_message(error, identity, source, name)
        )
    elif error_msg is not None:  # failed console sign-ins carry a message but no errorCode
        rec["errorMessage"] = error_msg
    rec["requestParameters"] = params
    rec["responseElements"] = response
    if is_s3 and additional is None and event_type == "AwsApiCall":
        additional = {
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": 0,
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": ids.amz_id_2(),
            "bytesTransferredOut": 0,
        }
    if additional is not None:
        rec["additionalEventData"] = additional
    if event_type != "AwsServiceEvent" or params is not None:
        rec["requestID"] = ids.s3_request_id() if is_s3 else ids.uuid()
    rec["eventID"] = ids.uuid()
    rec["readOnly"] = read_only
    if resources is not None:
        rec["resources"] = resources
    rec["eventType"] = event_type
    rec["managementEvent"] = True
    rec["recipientAccountId"] = account
    if shared_id is not None:
        rec["sharedEventID"] = shared_id
    if vpce is not None:
        rec["vpcEndpointId"] = vpce
    if service_details is not None:
        rec["serviceEventDetails"] = service_details
    rec["eventCategory"] = "Management"
    if (
        tls_details
        and event_type != "AwsServiceEvent"
        and not ip.endswith("amazonaws.com")
        and ip != "AWS Internal"
    ):
        rec["tlsDetails"] = tls(source, region, modern=not vpce)
    if console:
        rec["sessionCredentialFromConsole"] = "true"
    return rec


def resource(account: str, rtype: str, arn: str) -> dict[str, str]:
    """One entry of a record's resources array (note the upper-case ``ARN`` key)."""
    return {"accountId": account, "type": rtype, "ARN": arn}
