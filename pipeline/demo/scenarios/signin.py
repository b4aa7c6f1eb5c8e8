"""Sign-in scenarios: root use, console logins without MFA, password spraying and brute force."""

from __future__ import annotations

from typing import Any

from pipeline.demo.identities import HOME_REGION
from pipeline.demo.records import iso, java_date, root_identity
from pipeline.demo.scenarios.base import Book
from pipeline.demo.sessions import BROWSER, BROWSER_WIN, Session, console_login_fields

SIGNIN = "signin.amazonaws.com"
IAM = "iam.amazonaws.com"
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
KALI = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def login(
    b: Book, ts: int, account: str, ident: dict[str, Any], ip: str, ok: bool, mfa: bool, agent: str = BROWSER
) -> str:
    """A ConsoleLogin record (see ``console_login_fields``)."""
    return b.raw(ts, **console_login_fields(account, ident, ip, ok, mfa, agent))


def failed_user(b: Book, account: str, user: str | None) -> dict[str, Any]:
    """userIdentity of a failed sign-in: no arn; names that do not exist are hidden by CloudTrail."""
    if user is None:
        return {"type": "IAMUser", "accountId": account, "accessKeyId": "", "userName": HIDDEN}
    return {
        "type": "IAMUser",
        "principalId": b.org.stable("AIDA", 17, account, user),
        "accountId": account,
        "accessKeyId": "",
        "userName": user,
    }


def ok_user(b: Book, account: str, user: str) -> dict[str, Any]:
    return {
        "type": "IAMUser",
        "principalId": b.org.stable("AIDA", 17, account, user),
        "arn": f"arn:aws:iam::{account}:user/{user}",
        "accountId": account,
        "userName": user,
    }


def root_scenarios(b: Book) -> None:
    org = b.org
    mgmt, prod, staging = org.management.id, org.prod.id, org.staging.id
    # Root signs in a few minutes before midnight: the records land in the next day's folder.
    ts = b.at(0, 23, 55, 30)
    ip = b.ip(92)
    ident = root_identity(mgmt, access_key="")
    svc = [
        b.raw(
            ts + i * 8,
            source=SIGNIN,
            name=n,
            region=HOME_REGION,
            account=mgmt,
            identity=ident,
            ip=ip,
            agent=BROWSER,
            read_only=False,
            params=None,
            event_type="AwsServiceEvent",
            version="1.09",
            service_details={"CredentialType": "PASSWORD" if i == 0 else "TOTP"},
        )
        for i, n in enumerate(("CredentialChallenge", "CredentialVerification"))
    ]
    b.label(
        "root_signin_service_events",
        None,
        svc,
        "Root sign-in's CredentialChallenge/Verification are AwsServiceEvent records: excluded.",
    )
    calls = [login(b, ts + 40, mgmt, ident, ip, ok=True, mfa=True)]
    sess = Session(
        root_identity(mgmt, b.ids.key_id("ASIA"), mfa=True, created=iso(ts + 40)), ip, BROWSER, console=True
    )
    contact = {k: HIDDEN for k in ("emailAddress", "name", "phoneNumber", "title")}
    steps = [
        (IAM, "GetAccountSummary", None),
        ("account.amazonaws.com", "GetContactInformation", {}),
        ("account.amazonaws.com", "PutAlternateContact", {"alternateContactType": "SECURITY", **contact}),
        (IAM, "ListMFADevices", None),
    ]
    for i, (src, name, params) in enumerate(steps):
        calls.append(b.call(sess, ts + 120 + i * 150, src, name, mgmt, HOME_REGION, params))
    b.label(
        "root_console_session",
        "root_account_usage",
        calls,
        "Root signs in with MFA just before midnight and updates the security contact.",
    )
    b.hook(
        "Policy:IAMUser/RootCredentialUsage",
        mgmt,
        HOME_REGION,
        ts + 420,
        story="root_console_session",
        ip=ip,
        api="PutAlternateContact",
        user="Root",
        principal=mgmt,
        service="account.amazonaws.com",
    )

    # Root sign-in without MFA, then a root access key: three detections.
    ts = b.at(3, 10, 14, 5)
    b.story = "root_signs_in_and_makes_a_key"  # one story, two labelled steps
    ip = b.ip(81)
    ok = login(
        b, ts, staging, root_identity(staging, access_key=""), ip, ok=True, mfa=False, agent=BROWSER_WIN
    )
    b.label("root_login_without_mfa", "root_account_usage", [ok], "Root console sign-in, no MFA.")
    b.label("root_login_without_mfa", "console_login_without_mfa", [ok], "Root console sign-in, no MFA.")
    sess = Session(
        root_identity(staging, b.ids.key_id("ASIA"), mfa=False, created=iso(ts)),
        ip,
        BROWSER_WIN,
        console=True,
    )
    response = {
        "accessKey": {
            "accessKeyId": b.ids.key_id("AKIA"),
            "status": "Active",
            "createDate": java_date(ts + 95),
        }
    }
    key = b.call(sess, ts + 95, IAM, "CreateAccessKey", staging, HOME_REGION, None, response, read_only=False)
    b.label("root_access_key_created", "root_account_usage", [key], "Root creates itself an access key.")
    b.label("root_access_key_created", "iam_access_key_created", [key], "Root creates itself an access key.")
    b.story = ""

    # Two failed root sign-ins: root activity (no success clause), but far from a burst.
    ts = b.at(5, 3, 12, 40)
    ip = b.ip(102)
    fails = [
        login(b, ts + i * 75, prod, root_identity(prod, access_key=""), ip, ok=False, mfa=False, agent=KALI)
        for i in range(2)
    ]
    b.label(
        "root_failed_signin",
        "root_account_usage",
        fails,
        "Failed root sign-ins still count as root use.",
        not_ids=("console_login_failure_burst", "console_login_without_mfa"),
    )

    # Root activity whose source address reads 'AWS Internal' but without invokedBy: still root use.
    ts = b.at(6, 14, 5, 12)
    internal = b.raw(
        ts,
        source="billingconsole.amazonaws.com",
        name="GetBillingPreferences",
        region=HOME_REGION,
        account=mgmt,
        identity=root_identity(mgmt, access_key=b.ids.key_id("ASIA")),
        ip="AWS Internal",
        agent="AWS Internal",
        read_only=True,
        params=None,
    )
    b.label(
        "root_aws_internal_address",
        "root_account_usage",
        [internal],
        "sourceIPAddress 'AWS Internal' is not the invokedBy exclusion.",
    )
    # Root identity with invokedBy set: a service acting for the account, not a person.
    by = b.raw(
        ts + 900,
        source="support.amazonaws.com",
        name="DescribeTrustedAdvisorCheckRefreshStatuses",
        region=HOME_REGION,
        account=mgmt,
        identity=root_identity(mgmt, invoked_by="support.amazonaws.com"),
        ip="support.amazonaws.com",
        agent="support.amazonaws.com",
        read_only=True,
        params={"checkIds": ["Qch7DwouX1", "zXCkfM1nI3"]},
    )
    b.label(
        "root_invoked_by_service", None, [by], "Root record with invokedBy set: excluded by the catalogue."
    )


def login_scenarios(b: Book) -> None:
    org = b.org
    mgmt, prod, staging = org.management.id, org.prod.id, org.staging.id
    # An IAM user (an external auditor) without an MFA device signs in.
    ok = login(b, b.at(4, 9, 41, 7), mgmt, ok_user(b, mgmt, "ext.auditor"), b.ip(88), ok=True, mfa=False)
    b.label("iam_user_login_without_mfa", "console_login_without_mfa", [ok], "IAM user signs in without MFA.")

    # One address sprays passwords at two accounts: 7 failures in 6 minutes (per-user counts stay low).
    ts = b.at(2, 2, 10, 3)
    ip = b.ip(45)
    targets = [
        (mgmt, None),
        (mgmt, None),
        (mgmt, "ext.auditor"),
        (prod, None),
        (prod, None),
        (mgmt, None),
        (prod, "legacy-ci-deployer"),
    ]
    fails = [
        login(b, ts + i * 50, acct, failed_user(b, acct, user), ip, ok=False, mfa=False, agent=KALI)
        for i, (acct, user) in enumerate(targets)
    ]
    b.label(
        "password_spray_one_ip_two_accounts",
        "console_login_failure_burst",
        fails,
        "Seven failed sign-ins from one address against two accounts within six minutes.",
    )

    # Many addresses against one user, then a success without MFA from one of them.
    ts = b.at(8, 4, 20, 11)
    b.story = "reporting_admin_brute_forced"  # the failures, the success and GuardDuty's finding
    user = "reporting.admin"
    ips = [b.ip(first) for first in (23, 37, 62, 77, 89, 141)]
    fails = [
        login(b, ts + i * 70, mgmt, failed_user(b, mgmt, user), ips[i], ok=False, mfa=False, agent=KALI)
        for i in range(6)
    ]
    b.label(
        "brute_force_one_user_many_ips",
        "console_login_failure_burst",
        fails,
        "Six failed sign-ins against reporting.admin from six addresses within eight minutes.",
    )
    ok = login(b, ts + 660, mgmt, ok_user(b, mgmt, user), ips[3], ok=True, mfa=False, agent=KALI)
    b.label(
        "brute_force_success_without_mfa",
        "console_login_without_mfa",
        [ok],
        "The brute-forced user signs in without MFA; the success is not part of the failure burst.",
        not_ids=("console_login_failure_burst",),
    )
    b.hook(
        "UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B",
        mgmt,
        HOME_REGION,
        ts + 700,
        ip=ips[3],
        api="ConsoleLogin",
        user=user,
        principal=org.stable("AIDA", 17, mgmt, user),
        service="signin.amazonaws.com",
    )
    b.story = ""

    # Near misses: four failures in a row, then (later) five failures spread over 45 minutes.
    ts = b.at(1, 9, 5, 0)
    ip = b.ip(90)
    near = [
        login(b, ts + i * 80, staging, failed_user(b, staging, "j.doe"), ip, ok=False, mfa=False)
        for i in range(4)
    ]
    b.label("four_failed_logins", None, near, "Four failures in six minutes: below the threshold of five.")
    good = login(b, ts + 400, staging, ok_user(b, staging, "j.doe"), ip, ok=True, mfa=True)
    b.label("four_failed_logins_then_success", None, [good], "The user's MFA sign-in after the typos.")
    ts = b.at(9, 15, 0, 0)
    spread = [
        login(b, ts + i * 660, staging, failed_user(b, staging, "j.doe"), ip, ok=False, mfa=False)
        for i in range(5)
    ]
    b.label(
        "failed_logins_spread_out", None, spread, "Five failures 11 minutes apart: never 5 in 10 minutes."
    )

    # A federated (IAM Identity Center) console sign-in reports MFAUsed No but is an AssumedRole.
    ts = b.at(2, 8, 47, 30)
    sso = b.sso("aisha.khan", prod, ts, console=True)
    fed = b.raw(
        ts,
        source=SIGNIN,
        name="ConsoleLogin",
        region=HOME_REGION,
        account=prod,
        identity=sso.identity,
        ip=sso.ip,
        agent=sso.agent,
        read_only=False,
        params=None,
        response={"ConsoleLogin": "Success"},
        event_type="AwsConsoleSignIn",
        version="1.08",
        additional={"MobileVersion": "No", "MFAUsed": "No"},
    )
    b.label(
        "sso_federated_console_login",
        None,
        [fed],
        "Identity Center sign-in: MFAUsed No, but userIdentity.type is AssumedRole, not IAMUser/Root.",
    )
