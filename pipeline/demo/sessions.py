"""Who is calling: per-session identities, source addresses and user agents for each actor kind.

Background traffic and scenarios both open sessions here, so a scenario's SSO admin looks exactly
like the same admin in the background (same role name, path and principal id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .identities import HOME_REGION, IamUser, Org, Person
from .records import Ids, assumed_role_identity, iam_user_identity, iso, java_date, make_record, resource

CLI = (
    "aws-cli/2.22.35 md/awscrt#0.23.4 ua/2.0 os/macos#24.1.0 md/arch#arm64 lang/python#3.12.8 "
    "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off"
)
CLI_LINUX = (
    "aws-cli/2.22.20 md/awscrt#0.23.4 ua/2.0 os/linux#6.5.0-1025-azure md/arch#x86_64 "
    "lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off"
)
BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
BROWSER_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
LOGIN_TO = "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB"


def console_login_fields(
    account: str, ident: dict[str, Any], ip: str, ok: bool, mfa: bool, agent: str = BROWSER
) -> dict[str, Any]:
    """``make_record`` arguments of a ConsoleLogin; failures carry errorMessage but no errorCode,
    as CloudTrail writes them. Shared by background sign-ins and the sign-in scenarios."""
    additional = {"LoginTo": LOGIN_TO, "MobileVersion": "No", "MFAUsed": "Yes" if mfa else "No"}
    if mfa:
        additional["MFAIdentifier"] = (
            f"arn:aws:iam::{account}:mfa/{ident.get('userName', 'root-account-mfa-device')}"
        )
    return {
        "source": "signin.amazonaws.com",
        "name": "ConsoleLogin",
        "region": HOME_REGION,
        "account": account,
        "identity": ident,
        "ip": ip,
        "agent": agent,
        "read_only": False,
        "params": None,
        "response": {"ConsoleLogin": "Success" if ok else "Failure"},
        "error_msg": None if ok else "Failed authentication",
        "event_type": "AwsConsoleSignIn",
        "version": "1.08",
        "additional": additional,
    }


BOTO3 = (
    "Boto3/1.35.90 md/Botocore#1.35.90 ua/2.0 os/linux#5.10.230-223.885.amzn2.x86_64 md/arch#x86_64 "
    "lang/python#3.12.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.90"
)
LAMBDA_PY = (
    "Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.227-239.884.amzn2.x86_64 "
    "md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 "
    "cfg/retry-mode#legacy Botocore/1.34.145"
)
JAVA_ECS = (
    "aws-sdk-java/2.29.20 Linux/5.10.228-219.884.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/21.0.5+11-LTS "
    "Java/21.0.5 vendor/Amazon.com_Inc. md/internal exec-env/AWS_ECS_FARGATE io/sync http/Apache "
    "cfg/retry-mode/legacy"
)
GO_VENDOR = "aws-sdk-go-v2/1.32.7 os/linux lang/go#1.23.4 md/GOOS#linux md/GOARCH#amd64"
SSM_AGENT = "aws-sdk-go/1.55.5 (go1.22.6; linux; amd64) amazon-ssm-agent/3.3.1142.0"
PERMISSION_SETS = {
    "admin": "AdministratorAccess",
    "developer": "DeveloperAccess",
    "readonly": "ReadOnlyAccess",
}

_SERVICE_ROLES = {  # kind -> (role name, IAM path, session name, invokedBy)
    "cfn": ("cfn-exec-role", "/", "AWSCloudFormation", "cloudformation.amazonaws.com"),
    "config": (
        "AWSServiceRoleForConfig",
        "/aws-service-role/config.amazonaws.com/",
        "AWSConfig-Describe",
        "config.amazonaws.com",
    ),
    "autoscaling": (
        "AWSServiceRoleForAutoScaling",
        "/aws-service-role/autoscaling.amazonaws.com/",
        "AutoScaling",
        "autoscaling.amazonaws.com",
    ),
    "backup": (
        "AWSBackupDefaultServiceRole",
        "/service-role/",
        "AWSBackup-AWSBackupDefaultServiceRole",
        "backup.amazonaws.com",
    ),
}


@dataclass
class Session:
    """A caller for the length of one burst of activity."""

    identity: dict[str, Any]
    ip: str
    agent: str
    console: bool = False
    vpce: str | None = None

    @property
    def arn(self) -> str | None:
        return self.identity.get("arn")


def sso_session(org: Org, ids: Ids, person: Person, account: str, ts: int, console: bool) -> Session:
    """An IAM Identity Center user working through their AWSReservedSSO_* role."""
    role, path = org.sso_role(account, PERMISSION_SETS[person.persona])
    created = iso(ts - ids.rng.randint(60, 3000))
    ident = assumed_role_identity(
        account, role, org.role_id(account, role), person.email, ids.key_id("ASIA"), created, path=path
    )
    agent = (BROWSER if sum(map(ord, person.name)) % 3 else BROWSER_WIN) if console else CLI
    return Session(ident, person.ip, agent, console=console)


def iam_user_session(org: Org, user: IamUser) -> Session:
    """A legacy IAM user calling with its long-term access key from the office."""
    ident = iam_user_identity(org.management.id, user.name, user.principal_id, user.access_key)
    return Session(ident, user.ip, CLI)


def role_session(
    org: Org,
    ids: Ids,
    account: str,
    role: str,
    session: str,
    ts: int,
    ip: str,
    agent: str,
    *,
    path: str = "/",
    invoked_by: str | None = None,
    vpce: str | None = None,
    fresh: bool = False,
) -> Session:
    """Any assumed-role session (CI, workloads, vendors, service-linked roles).

    ``fresh`` means the session starts now (its AssumeRole record is emitted alongside), so its
    creationDate is ``ts``; otherwise the credentials were obtained a while earlier.
    """
    created = ts if fresh else ts - ids.rng.randint(5, 1800)
    ident = assumed_role_identity(
        account,
        role,
        org.role_id(account, role),
        session,
        ids.key_id("ASIA"),
        iso(created),
        path=path,
        invoked_by=invoked_by,
    )
    return Session(ident, ip, agent, vpce=vpce)


def service_role_session(org: Org, ids: Ids, kind: str, account: str, ts: int) -> Session:
    """A service-linked or service role acting for AWS (invokedBy set, address is the service)."""
    role, path, session, invoked_by = _SERVICE_ROLES[kind]
    return role_session(
        org, ids, account, role, session, ts, invoked_by, invoked_by, path=path, invoked_by=invoked_by
    )


def assume_role_record(
    org: Org,
    ids: Ids,
    *,
    ts: int,
    caller: dict[str, Any],
    account: str,
    role: str,
    session: str,
    ip: str,
    agent: str,
    path: str = "/",
    web_identity: bool = False,
    duration: int = 3600,
) -> dict[str, Any]:
    """The STS record that starts a role session, logged in the role's account (us-east-1).

    This is what makes AssumeRole chains visible: the caller of one link is the session created by
    the link before it.
    """
    role_arn = f"arn:aws:iam::{account}:role{path}{role}"
    role_id = org.role_id(account, role)
    params: dict[str, Any] = {"roleArn": role_arn, "roleSessionName": session, "durationSeconds": duration}
    creds = {
        "accessKeyId": ids.key_id("ASIA"),
        "sessionToken": "IQoJb3JpZ2luX2Vj" + ids.alnum(48),
        "expiration": java_date(ts + duration, comma=True),
    }
    user = {
        "assumedRoleId": f"{role_id}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
    }
    response: dict[str, Any] = {"credentials": creds, "assumedRoleUser": user}
    name = "AssumeRole"
    additional = None
    if web_identity:
        name = "AssumeRoleWithWebIdentity"
        response["subjectFromWebIdentityToken"] = caller["userName"]
        response["provider"] = caller["identityProvider"]
        response["audience"] = "sts.amazonaws.com"
        additional = {"identityProviderConnectionVerificationMethod": "IAMTrustStore"}
    return make_record(
        ids,
        ts=ts,
        source="sts.amazonaws.com",
        name=name,
        region=HOME_REGION,
        account=account,
        identity=caller,
        ip=ip,
        agent=agent,
        read_only=True,
        params=params,
        response=response,
        additional=additional,
        version="1.08",
        resources=[resource(account, "AWS::IAM::Role", role_arn)],
    )


def web_identity_caller(account: str, repo: str) -> dict[str, Any]:
    """userIdentity of a GitHub Actions OIDC token exchanging itself for role credentials."""
    provider = f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
    subject = f"repo:{repo}:ref:refs/heads/main"
    return {
        "type": "WebIdentityUser",
        "principalId": f"{provider}:sts.amazonaws.com:{subject}",
        "userName": subject,
        "identityProvider": provider,
    }


def foreign_account_caller(account: str, principal_id: str) -> dict[str, Any]:
    """How another account's principal appears in our trail: type AWSAccount, no arn."""
    return {"type": "AWSAccount", "principalId": principal_id, "accountId": account}


def open_session(
    org: Org,
    ids: Ids,
    kind: str,
    actor: int,
    account: str,
    region: str,
    ts: int,
    out: list[tuple[int, dict[str, Any]]],
) -> Session:
    """Start a background session of one actor kind, emitting the STS record that began it where
    that is realistic (CI's web-identity exchange, a vendor's or scanner's cross-account AssumeRole).
    """
    rng = ids.rng
    pool = org.pools[(account, region)]
    if kind == "sso":
        return sso_session(org, ids, org.people[actor], account, ts, console=rng.random() < 0.6)
    if kind == "iam_user":
        return iam_user_session(org, org.iam_users[actor])
    if kind == "ci":
        ip = rng.choice(org.ci_ips)
        caller = web_identity_caller(account, f"example-org/{rng.choice(pool.stacks).removesuffix('-stack')}")
        rec = assume_role_record(
            org,
            ids,
            ts=ts,
            caller=caller,
            account=account,
            role="github-actions-deploy",
            session="GitHubActions",
            ip=ip,
            agent=CLI_LINUX,
            web_identity=True,
        )
        out.append((ts, rec))
        return role_session(
            org, ids, account, "github-actions-deploy", "GitHubActions", ts, ip, CLI_LINUX, fresh=True
        )
    if kind == "vendor":
        ip = rng.choice(org.vendor_ips)
        if rng.random() < 0.25:
            caller = foreign_account_caller(
                org.vendor_account, org.stable("AROA", 17, "vendor") + ":dd-poller"
            )
            rec = assume_role_record(
                org,
                ids,
                ts=ts,
                caller=caller,
                account=account,
                ip=ip,
                agent=GO_VENDOR,
                role="DatadogIntegrationRole",
                session="DatadogAWSIntegration",
            )
            out.append((ts, rec))
        return role_session(
            org, ids, account, "DatadogIntegrationRole", "DatadogAWSIntegration", ts, ip, GO_VENDOR
        )
    if kind == "audit":
        sec = org.security.id
        ip = org.pools[(sec, HOME_REGION)].nat_ips[0]
        task = f"{rng.getrandbits(128):032x}"
        if account == sec:
            caller = role_session(org, ids, sec, "security-scanner-task", task, ts, ip, BOTO3).identity
        else:
            caller = foreign_account_caller(sec, f"{org.role_id(sec, 'security-scanner-task')}:{task}")
        name = f"secscan-{task[:8]}"
        rec = assume_role_record(
            org,
            ids,
            ts=ts,
            caller=caller,
            account=account,
            role="OrgSecurityAudit",
            session=name,
            ip=ip,
            agent=BOTO3,
        )
        out.append((ts, rec))
        return role_session(org, ids, account, "OrgSecurityAudit", name, ts, ip, BOTO3, fresh=True)
    if kind == "app":
        fn = rng.choice(pool.functions)
        role = fn.rsplit("-", 1)[0] + "-role"
        ip = rng.choice(pool.nat_ips)
        if rng.random() < 0.5:
            return role_session(org, ids, account, role, fn, ts, ip, LAMBDA_PY)
        task_role = role.replace("-role", "-task-role")
        return role_session(org, ids, account, task_role, f"{rng.getrandbits(128):032x}", ts, ip, JAVA_ECS)
    if kind == "ssm":
        ip = f"{pool.private_net}{rng.randint(0, 15)}.{rng.randint(4, 250)}"
        return role_session(
            org,
            ids,
            account,
            "ec2-ssm-instance-role",
            rng.choice(pool.instances),
            ts,
            ip,
            SSM_AGENT,
            vpce=pool.vpce,
        )
    if kind == "service":
        return Session({}, "", "")
    return service_role_session(org, ids, kind, account, ts)
