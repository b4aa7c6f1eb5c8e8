"""Believable, unlabelled background traffic with a diurnal and weekly rhythm.

The engine plans sessions first (who, where, when, how many calls), sorts them by start time and
then renders them one by one, so the writer can stream files out in time order and memory stays
flat at any size. Guards keep background below every catalogue threshold: repertoires cap distinct
discovery names (see ``actions``), AccessDenied-type errors are capped at 4 per principal per clock
hour (so any 60-minute window holds at most 8), and console-login failures are rare and isolated.
"""

from __future__ import annotations

import bisect
import random
import time
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

from .actions import PROFILES, Action, Ctx, Profile, check_profiles
from .identities import HOME_REGION, Org
from .records import ACCESS_CODE, GLOBAL_SOURCES, Ids, iam_user_identity, make_record, resource
from .sessions import (
    BOTO3,
    BROWSER,
    CLI_LINUX,
    GO_VENDOR,
    JAVA_ECS,
    LAMBDA_PY,
    SSM_AGENT,
    Session,
    assume_role_record,
    foreign_account_caller,
    iam_user_session,
    role_session,
    service_role_session,
    sso_session,
    web_identity_caller,
)

# Relative activity by local hour of day for people (a morning ramp, a lunch dip, quiet nights).
OFFICE = (0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.08, 0.3, 0.8, 1.0, 1.0, 0.9, 0.6, 0.85, 1.0, 0.95, 0.8,
          0.55, 0.3, 0.15, 0.1, 0.08, 0.05, 0.03)
DENIED_PER_HOUR = 4
SERVICE_CALLERS = ("lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "ec2.amazonaws.com")

Plan = tuple[int, int, int, int, int, int, int]  # start, seq, profile index (-1 login, -2 rotate), n, actor, acct, region


def hour_weights(start_ts: int, days: int, rhythm: str, tz: int) -> list[float]:
    """Cumulative weights of each hour of the period for one rhythm (office hours are local to tz)."""
    out = []
    for h in range(days * 24):
        ts = start_ts + h * 3600
        lt = time.gmtime(ts + tz * 3600)
        weekend = lt.tm_wday >= 5
        utc_hour = time.gmtime(ts).tm_hour
        if rhythm == "office":
            w = OFFICE[lt.tm_hour] * (0.06 if weekend else 1.0)
        elif rhythm == "ci":
            w = OFFICE[lt.tm_hour] * (0.1 if weekend else 1.0) + (0.6 if utc_hour == 2 else 0.0)
        elif rhythm == "nightly":
            w = 1.0 if utc_hour in (1, 2, 3) else 0.03
        else:  # flat: always on, somewhat busier while customers are awake
            w = 0.8 + 0.4 * OFFICE[time.gmtime(ts - 5 * 3600).tm_hour] * (0.7 if weekend else 1.0)
        out.append(w)
    return list(accumulate(out))


class Background:
    """Plans and renders background sessions from one seeded rng."""

    def __init__(self, org: Org, start_ts: int, days: int, rng: random.Random) -> None:
        check_profiles()
        self.org, self.start, self.days, self.rng = org, start_ts, days, rng
        self.end = start_ts + days * 86400
        self.ids = Ids(rng)
        self._cum: dict[tuple[str, int], list[float]] = {}
        self._denied: dict[tuple[str, int], int] = {}
        self._action_cum = [list(accumulate(a.weight for a in p.actions)) for p in PROFILES]

    # ------------------------------------------------------------------ planning

    def _when(self, rhythm: str, tz: int, duration: int) -> int:
        cum = self._cum.get((rhythm, tz))
        if cum is None:
            cum = self._cum[(rhythm, tz)] = hour_weights(self.start, self.days, rhythm, tz)
        hour = bisect.bisect(cum, self.rng.random() * cum[-1])
        ts = self.start + min(hour, len(cum) - 1) * 3600 + self.rng.randrange(3600)
        return max(self.start, min(ts, self.end - duration - 1))

    def _actors(self, p: Profile) -> list[tuple[int, int]]:
        """(actor index, tz) candidates for a profile."""
        if p.kind == "sso":
            persona = p.name.removeprefix("sso_")
            return [(i, x.tz) for i, x in enumerate(self.org.people) if x.persona == persona]
        if p.kind == "iam_user":
            return [(i, u.tz) for i, u in enumerate(self.org.iam_users)]
        return [(0, 0)]

    def _place(self, p: Profile, tz: int) -> tuple[int, int]:
        accts = self.org.accounts
        weights = [a.weight * p.accounts.get(a.role, 0.0) for a in accts]
        ai = self.rng.choices(range(len(accts)), weights=weights)[0]
        rw = list(accts[ai].region_weights)
        if tz == 11:
            rw[2] *= 4  # the Sydney team works mostly in ap-southeast-2
        ri = self.rng.choices(range(len(rw)), weights=rw)[0]
        return ai, ri

    def plan(self, count: int) -> list[Plan]:
        """Split ``count`` records into sessions; exact, so the demo's total is honoured."""
        plans: list[Plan] = []
        fixed = self._plan_logins(plans) + self._plan_rotations(plans)
        if fixed > count:
            raise ValueError("too few events for the background's sign-ins; raise `events`")
        remaining = count - fixed
        total_share = sum(p.share for p in PROFILES)
        targets = [int(remaining * p.share / total_share) for p in PROFILES]
        targets[0] += remaining - sum(targets)
        for pi, (p, target) in enumerate(zip(PROFILES, targets, strict=True)):
            actors = self._actors(p)
            while target > 0:
                n = min(target, self.rng.randint(*p.session_len))
                actor, tz = actors[self.rng.randrange(len(actors))]
                start = self._when(p.rhythm, tz, n * p.gap[1] + 60)
                ai, ri = self._place(p, tz)
                plans.append((start, len(plans), pi, n, actor, ai, ri))
                target -= n
        plans.sort()
        return plans

    def _plan_logins(self, plans: list[Plan]) -> int:
        """IAM users sign in to the console most workdays; a rare typo precedes a sign-in."""
        n = 0
        for ui, user in enumerate(self.org.iam_users):
            for day in range(self.days):
                base = self.start + day * 86400 - user.tz * 3600
                if time.gmtime(base + 12 * 3600 + user.tz * 3600).tm_wday >= 5 or self.rng.random() > 0.8:
                    continue
                ts = base + 8 * 3600 + 1800 + self.rng.randrange(3600)
                if not self.start <= ts < self.end - 600:
                    continue
                k = 2 if self.rng.random() < 0.08 else 1
                plans.append((ts, len(plans), -1, k, ui, 0, 0))
                n += k
        return n

    def _plan_rotations(self, plans: list[Plan]) -> int:
        """KMS rotates a customer key now and then: an AwsServiceEvent with no principal."""
        n = 0
        for ai in range(len(self.org.accounts)):
            ts = self.start + self.rng.randrange(self.days * 86400 - 60)
            plans.append((ts, len(plans), -2, 1, 0, ai, self.rng.randrange(len(self.org.regions))))
            n += 1
        return n

    # ------------------------------------------------------------------ rendering

    def records(self, plans: list[Plan]) -> Iterator[tuple[int, int, dict[str, Any]]]:
        """Yield (session start, event time, record) in session-start order."""
        for plan in plans:
            start = plan[0]
            for ts, rec in self._render(plan):
                yield start, ts, rec

    def _render(self, plan: Plan) -> list[tuple[int, dict[str, Any]]]:
        start, _, pi, n, actor, ai, ri = plan
        account = self.org.accounts[ai].id
        region = self.org.regions[ri]
        if pi == -1:
            return self._login(start, n, actor)
        if pi == -2:
            return self._rotate(start, account, region)
        p = PROFILES[pi]
        out: list[tuple[int, dict[str, Any]]] = []
        sess = self._open(p, actor, account, region, start, out)
        ctx = Ctx(self.rng, self.org, account, region, self.org.pools[(account, region)])
        ts = start + (5 if out else 0)
        cum = self._action_cum[pi]
        while len(out) < n:
            a = p.actions[bisect.bisect(cum, self.rng.random() * cum[-1])]
            rec = self._call(p, a, sess, ctx, ts)
            out.append((ts, rec))
            ts += self.rng.randint(*p.gap)
        return out

    def _open(self, p: Profile, actor: int, account: str, region: str, ts: int,
              out: list[tuple[int, dict[str, Any]]]) -> Session:
        """Create the session, emitting the STS record that started it where that is realistic."""
        org, ids, rng = self.org, self.ids, self.rng
        pool = org.pools[(account, region)]
        if p.kind == "sso":
            return sso_session(org, ids, org.people[actor], account, ts, console=rng.random() < 0.6)
        if p.kind == "iam_user":
            return iam_user_session(org, org.iam_users[actor])
        if p.kind == "ci":
            ip = rng.choice(org.ci_ips)
            repo = f"example-org/{rng.choice(pool.stacks).removesuffix('-stack')}"
            out.append((ts, assume_role_record(org, ids, ts=ts, caller=web_identity_caller(account, repo),
                                               account=account, role="github-actions-deploy",
                                               session="GitHubActions", ip=ip, agent=CLI_LINUX,
                                               web_identity=True)))
            return role_session(org, ids, account, "github-actions-deploy", "GitHubActions", ts, ip, CLI_LINUX)
        if p.kind == "vendor":
            ip = rng.choice(org.vendor_ips)
            if rng.random() < 0.25:
                caller = foreign_account_caller(org.vendor_account, org.stable("AROA", 17, "vendor") + ":dd")
                out.append((ts, assume_role_record(org, ids, ts=ts, caller=caller, account=account,
                                                   role="DatadogIntegrationRole", session="DatadogAWSIntegration",
                                                   ip=ip, agent=GO_VENDOR)))
            return role_session(org, ids, account, "DatadogIntegrationRole", "DatadogAWSIntegration", ts, ip,
                                GO_VENDOR)
        if p.kind == "audit":
            sec = org.security.id
            ip = org.pools[(sec, HOME_REGION)].nat_ips[0]
            task = "%032x" % rng.getrandbits(128)
            caller: dict[str, Any]
            if account == sec:
                caller = role_session(org, ids, sec, "security-scanner-task", task, ts, ip, BOTO3).identity
            else:
                caller = foreign_account_caller(sec, f"{org.role_id(sec, 'security-scanner-task')}:{task}")
            session = f"secscan-{task[:8]}"
            out.append((ts, assume_role_record(org, ids, ts=ts, caller=caller, account=account,
                                               role="OrgSecurityAudit", session=session, ip=ip, agent=BOTO3)))
            return role_session(org, ids, account, "OrgSecurityAudit", session, ts, ip, BOTO3)
        if p.kind == "app":
            fn = rng.choice(pool.functions)
            role = fn.rsplit("-", 1)[0] + "-role"
            if rng.random() < 0.5:
                return role_session(org, ids, account, role, fn, ts, rng.choice(pool.nat_ips), LAMBDA_PY)
            return role_session(org, ids, account, role.replace("-role", "-task-role"), "%032x" % rng.getrandbits(128),
                                ts, rng.choice(pool.nat_ips), JAVA_ECS)
        if p.kind == "ssm":
            inst = rng.choice(pool.instances)
            ip = f"{pool.private_net}{rng.randint(0, 15)}.{rng.randint(4, 250)}"
            return role_session(org, ids, account, "ec2-ssm-instance-role", inst, ts, ip, SSM_AGENT, vpce=pool.vpce)
        if p.kind == "service":
            return Session({}, "", "")
        return service_role_session(org, ids, p.kind, account, ts)

    def _call(self, p: Profile, a: Action, sess: Session, c: Ctx, ts: int) -> dict[str, Any]:
        region = HOME_REGION if a.source in GLOBAL_SOURCES else c.region
        error = None
        arn = sess.arn
        if a.denied or (self.rng.random() < p.error_rate):
            access = a.denied or (arn is not None and self.rng.random() < p.deny_share)
            if access and arn is not None and self._deny_ok(arn, ts):
                error = ACCESS_CODE.get(a.source, "AccessDenied")
            elif a.denied:
                a = p.actions[0]
            elif a.errors:
                error = self.rng.choice(a.errors)
            else:
                error = {"ec2.amazonaws.com": "Client.RequestLimitExceeded", "iam.amazonaws.com": "Throttling",
                         "sts.amazonaws.com": "Throttling"}.get(a.source, "ThrottlingException")
        params = a.params(c) if a.params else None
        if p.kind == "service":
            return self._service_call(a, c, ts, params)
        return make_record(self.ids, ts=ts, source=a.source, name=a.name, region=region, account=c.account,
                           identity=sess.identity, ip=sess.ip, agent=sess.agent, read_only=a.is_read,
                           params=params, error=error, console=sess.console, vpce=sess.vpce)

    def _deny_ok(self, arn: str, ts: int) -> bool:
        key = (arn, ts // 3600)
        used = self._denied.get(key, 0)
        if used >= DENIED_PER_HOUR:
            return False
        self._denied[key] = used + 1
        return True

    def _service_call(self, a: Action, c: Ctx, ts: int, params: dict[str, Any] | None) -> dict[str, Any]:
        """An AWS service acting in the account: AWSService identity, no arn, invokedBy set."""
        ids = self.ids
        if a.name == "AssumeRole":
            by = self.rng.choice(SERVICE_CALLERS)
            assert params is not None
            response = {"credentials": {"accessKeyId": ids.key_id("ASIA"), "sessionToken": "IQoJb3JpZ2lu"
                                        + ids.alnum(40), "expiration": time.strftime(
                                            "%b %-d, %Y, %-I:%M:%S %p", time.gmtime(ts + 3600))}}
            res = [resource(c.account, "AWS::IAM::Role", params["roleArn"])]
            return make_record(ids, ts=ts, source=a.source, name=a.name, region=HOME_REGION, account=c.account,
                               identity={"type": "AWSService", "invokedBy": by}, ip=by, agent=by, read_only=True,
                               params=params, response=response, resources=res, version="1.08",
                               shared_id=ids.uuid() if by == "ec2.amazonaws.com" else None)
        by = "cloudtrail.amazonaws.com" if a.name == "GenerateDataKey" else "secretsmanager.amazonaws.com"
        assert params is not None
        if by == "cloudtrail.amazonaws.com":
            params = {**params, "encryptionContext": {"aws:cloudtrail:arn": f"arn:aws:cloudtrail:{HOME_REGION}:"
                                                      f"{self.org.management.id}:trail/org-trail"}}
        return make_record(ids, ts=ts, source=a.source, name=a.name, region=c.region, account=c.account,
                           identity={"type": "AWSService", "invokedBy": by}, ip=by, agent=by, read_only=True,
                           params=params, resources=[resource(c.account, "AWS::KMS::Key", params["keyId"])])

    def _login(self, ts: int, n: int, ui: int) -> list[tuple[int, dict[str, Any]]]:
        """A console sign-in (MFA used); with n == 2 a mistyped password a minute before it."""
        user = self.org.iam_users[ui]
        acct = self.org.management.id
        out = []
        login_to = "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB"
        if n == 2:
            ident = {"type": "IAMUser", "principalId": user.principal_id, "accountId": acct, "accessKeyId": "",
                     "userName": user.name}
            out.append((ts - 70, make_record(
                self.ids, ts=ts - 70, source="signin.amazonaws.com", name="ConsoleLogin", region=HOME_REGION,
                account=acct, identity=ident, ip=user.ip, agent=BROWSER, read_only=False, params=None,
                response={"ConsoleLogin": "Failure"}, error="Failed authentication",
                error_msg="Failed authentication", event_type="AwsConsoleSignIn", version="1.08",
                additional={"LoginTo": login_to, "MobileVersion": "No", "MFAUsed": "No"})))
        ident = iam_user_identity(acct, user.name, user.principal_id, access_key="")
        out.append((ts, make_record(
            self.ids, ts=ts, source="signin.amazonaws.com", name="ConsoleLogin", region=HOME_REGION, account=acct,
            identity=ident, ip=user.ip, agent=BROWSER, read_only=False, params=None,
            response={"ConsoleLogin": "Success"}, event_type="AwsConsoleSignIn", version="1.08",
            additional={"LoginTo": login_to, "MobileVersion": "No",
                        "MFAIdentifier": f"arn:aws:iam::{acct}:mfa/{user.name}", "MFAUsed": "Yes"})))
        return out

    def _rotate(self, ts: int, account: str, region: str) -> list[tuple[int, dict[str, Any]]]:
        key = self.org.pools[(account, region)].keys[0]
        arn = f"arn:aws:kms:{region}:{account}:key/{key}"
        rec = make_record(self.ids, ts=ts, source="kms.amazonaws.com", name="RotateKey", region=region,
                          account=account, identity={"accountId": account, "invokedBy": "AWS Internal"},
                          ip="AWS Internal", agent="AWS Internal", read_only=False, params=None,
                          event_type="AwsServiceEvent", version="1.08",
                          resources=[resource(account, "AWS::KMS::Key", arn)],
                          service_details={"rotationType": "AUTOMATIC", "keyId": key})
        return [(ts, rec)]
