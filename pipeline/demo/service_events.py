"""Background records that are not a principal's API session: console sign-ins, AWS services acting
(AWSService identity), and non-API service events (AwsServiceEvent)."""

from __future__ import annotations

from typing import Any

from .actions import Action, Ctx
from .identities import HOME_REGION, Org
from .records import Ids, iam_user_identity, java_date, make_record, resource
from .sessions import console_login_fields

SERVICE_CALLERS = ("lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "ec2.amazonaws.com")


def service_call(org: Org, ids: Ids, a: Action, c: Ctx, ts: int, params: dict[str, Any]) -> dict[str, Any]:
    """An AWS service acting in the account: AWSService identity, no arn (never grouped), invokedBy set.

    Services assume workload roles (Lambda, ECS tasks, EC2 instance profiles), CloudTrail asks KMS
    for data keys to encrypt log files, Secrets Manager decrypts secrets.
    """
    if a.name == "AssumeRole":
        by = SERVICE_CALLERS[ids.rng.randrange(len(SERVICE_CALLERS))]
        creds = {
            "accessKeyId": ids.key_id("ASIA"),
            "sessionToken": "IQoJb3JpZ2lu" + ids.alnum(40),
            "expiration": java_date(ts + 3600, comma=True),
        }
        return _by_service(
            ids, a, c, ts, by, HOME_REGION, params, resource(c.account, "AWS::IAM::Role", params["roleArn"]),
            response={"credentials": creds},
            version="1.08",
            shared_id=ids.uuid() if by == "ec2.amazonaws.com" else None,
        )
    by = "cloudtrail.amazonaws.com" if a.name == "GenerateDataKey" else "secretsmanager.amazonaws.com"
    if by == "cloudtrail.amazonaws.com":
        trail = f"arn:aws:cloudtrail:{HOME_REGION}:{org.management.id}:trail/org-trail"
        params = {**params, "encryptionContext": {"aws:cloudtrail:arn": trail}}
    key = resource(c.account, "AWS::KMS::Key", params["keyId"])
    return _by_service(ids, a, c, ts, by, c.region, params, key)


def _by_service(ids: Ids, a: Action, c: Ctx, ts: int, by: str, region: str, params: dict[str, Any],
                on: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A read-only call the service ``by`` made in the account: it is the caller, address and agent."""
    return make_record(
        ids,
        ts=ts,
        source=a.source,
        name=a.name,
        region=region,
        account=c.account,
        identity={"type": "AWSService", "invokedBy": by},
        ip=by,
        agent=by,
        read_only=True,
        params=params,
        resources=[on],
        **extra,
    )


def console_logins(org: Org, ids: Ids, ts: int, n: int, ui: int) -> list[tuple[int, dict[str, Any]]]:
    """An IAM user's console sign-in with MFA; with n == 2, a mistyped password a minute earlier.

    A failure has no arn and no errorCode, only errorMessage 'Failed authentication' and
    responseElements.ConsoleLogin 'Failure', as CloudTrail writes it.
    """
    user = org.iam_users[ui]
    acct = org.management.id
    out = []
    if n == 2:
        ident = {
            "type": "IAMUser",
            "principalId": user.principal_id,
            "accountId": acct,
            "accessKeyId": "",
            "userName": user.name,
        }
        failed = make_record(
            ids, ts=ts - 70, **console_login_fields(acct, ident, user.ip, ok=False, mfa=False)
        )
        out.append((ts - 70, failed))
    ident = iam_user_identity(acct, user.name, user.principal_id, access_key="")
    rec = make_record(ids, ts=ts, **console_login_fields(acct, ident, user.ip, ok=True, mfa=True))
    out.append((ts, rec))
    return out


def key_rotation(org: Org, ids: Ids, ts: int, account: str, region: str) -> list[tuple[int, dict[str, Any]]]:
    """KMS rotating a customer key: an AwsServiceEvent whose userIdentity has no type and no arn."""
    key = org.pools[(account, region)].keys[0]
    arn = f"arn:aws:kms:{region}:{account}:key/{key}"
    rec = make_record(
        ids,
        ts=ts,
        source="kms.amazonaws.com",
        name="RotateKey",
        region=region,
        account=account,
        identity={"accountId": account, "invokedBy": "AWS Internal"},
        ip="AWS Internal",
        agent="AWS Internal",
        read_only=False,
        params=None,
        event_type="AwsServiceEvent",
        version="1.08",
        resources=[resource(account, "AWS::KMS::Key", arn)],
        service_details={"rotationType": "AUTOMATIC", "keyId": key},
    )
    return [(ts, rec)]
