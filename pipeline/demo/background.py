"""Believable, unlabelled background traffic with a diurnal and weekly rhythm.

The engine plans sessions first (who, where, when, how many calls), sorts them by start time and
then renders them one by one, so the writer can stream files out in time order and memory stays
flat at any size. Guards keep background below every catalogue threshold: repertoires cap distinct
discovery names (see ``profiles``), AccessDenied-type errors are capped at 4 per principal per
clock hour (so any 60-minute window holds at most 8), and console-login failures are rare and
isolated (at most one per user per day, a minute before that user's successful sign-in).
"""

from __future__ import annotations

import bisect
import random
import time
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

from .actions import Action, Ctx, Profile
from .identities import HOME_REGION, Org
from .profiles import PROFILES, check_profiles
from .records import ACCESS_CODE, GLOBAL_SOURCES, Ids, make_record
from .service_events import console_logins, key_rotation, service_call
from .sessions import Session, open_session

# Relative activity by local hour of day for people (a morning ramp, a lunch dip, quiet nights).
OFFICE = (
    0.02,
    0.01,
    0.01,
    0.01,
    0.01,
    0.02,
    0.08,
    0.3,
    0.8,
    1.0,
    1.0,
    0.9,
    0.6,
    0.85,
    1.0,
    0.95,
    0.8,
    0.55,
    0.3,
    0.15,
    0.1,
    0.08,
    0.05,
    0.03,
)
DENIED_PER_HOUR = 4
LOGIN, ROTATE = -1, -2  # pseudo profile indexes for the plans that are not API sessions
THROTTLE = {
    "ec2.amazonaws.com": "Client.RequestLimitExceeded",
    "iam.amazonaws.com": "Throttling",
    "sts.amazonaws.com": "Throttling",
}

Plan = tuple[int, int, int, int, int, int, int]  # start, seq, profile index, calls, actor, account, region
Rendered = list[tuple[int, dict[str, Any]]]


def hour_weights(start_ts: int, days: int, rhythm: str, tz: int) -> list[float]:
    """Cumulative weights of each hour of the period for one rhythm (office hours are local to tz)."""
    out = []
    for h in range(days * 24):
        ts = start_ts + h * 3600
        local = time.gmtime(ts + tz * 3600)
        weekend = local.tm_wday >= 5
        utc_hour = time.gmtime(ts).tm_hour
        if rhythm == "office":
            w = OFFICE[local.tm_hour] * (0.06 if weekend else 1.0)
        elif rhythm == "ci":  # pushes during the day plus the nightly build at 02:00 UTC
            w = OFFICE[local.tm_hour] * (0.1 if weekend else 1.0) + (0.6 if utc_hour == 2 else 0.0)
        elif rhythm == "nightly":
            w = 1.0 if utc_hour in (1, 2, 3) else 0.03
        else:  # flat: always on, somewhat busier while US customers are awake
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

    def plan(self, count: int) -> list[Plan]:
        """Split exactly ``count`` records into sessions, so the demo's total is honoured."""
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

    def _when(self, rhythm: str, tz: int, duration: int) -> int:
        cum = self._cum.get((rhythm, tz))
        if cum is None:
            cum = self._cum[(rhythm, tz)] = hour_weights(self.start, self.days, rhythm, tz)
        hour = min(bisect.bisect(cum, self.rng.random() * cum[-1]), len(cum) - 1)
        ts = self.start + hour * 3600 + self.rng.randrange(3600)
        return max(self.start, min(ts, self.end - duration - 1))

    def _actors(self, p: Profile) -> list[tuple[int, int]]:
        """(actor index, UTC offset) candidates for a profile; machines work in UTC."""
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
        return ai, self.rng.choices(range(len(rw)), weights=rw)[0]

    def _plan_logins(self, plans: list[Plan]) -> int:
        """IAM users sign in to the console most workdays; a rare typo precedes a sign-in."""
        n = 0
        for ui, user in enumerate(self.org.iam_users):
            for day in range(self.days):
                morning = self.start + day * 86400 - user.tz * 3600 + 8 * 3600 + 1800
                weekday = time.gmtime(morning + user.tz * 3600).tm_wday < 5
                if not weekday or self.rng.random() > 0.8:
                    continue
                ts = morning + self.rng.randrange(3600)
                if self.start + 120 <= ts < self.end - 600:
                    k = 2 if self.rng.random() < 0.08 else 1
                    plans.append((ts, len(plans), LOGIN, k, ui, 0, 0))
                    n += k
        return n

    def _plan_rotations(self, plans: list[Plan]) -> int:
        for ai in range(len(self.org.accounts)):
            ts = self.start + self.rng.randrange(self.days * 86400 - 60)
            plans.append((ts, len(plans), ROTATE, 1, 0, ai, self.rng.randrange(len(self.org.regions))))
        return len(self.org.accounts)

    # ------------------------------------------------------------------ rendering

    def records(self, plans: list[Plan]) -> Iterator[tuple[int, int, dict[str, Any]]]:
        """Yield (session start, event time, record) in session-start order."""
        for plan in plans:
            for ts, rec in self._render(plan):
                yield plan[0], ts, rec

    def _render(self, plan: Plan) -> Rendered:
        start, _, pi, n, actor, ai, ri = plan
        account, region = self.org.accounts[ai].id, self.org.regions[ri]
        if pi == LOGIN:
            return console_logins(self.org, self.ids, start, n, actor)
        if pi == ROTATE:
            return key_rotation(self.org, self.ids, start, account, region)
        p = PROFILES[pi]
        out: Rendered = []
        sess = open_session(self.org, self.ids, p.kind, actor, account, region, start, out)
        ctx = Ctx(self.rng, self.org, account, region, self.org.pools[(account, region)])
        ts = start + (5 if out else 0)
        cum = self._action_cum[pi]
        while len(out) < n:
            a = p.actions[bisect.bisect(cum, self.rng.random() * cum[-1])]
            out.append((ts, self._call(p, a, sess, ctx, ts)))
            ts += self.rng.randint(*p.gap)
        return out

    def _call(self, p: Profile, a: Action, sess: Session, c: Ctx, ts: int) -> dict[str, Any]:
        error = None
        arn = sess.arn
        if a.denied or self.rng.random() < p.error_rate:
            access = a.denied or (arn is not None and self.rng.random() < p.deny_share)
            if access and arn is not None and self._deny_ok(arn, ts):
                error = ACCESS_CODE.get(a.source, "AccessDenied")
            elif a.denied:
                a = p.actions[0]  # out of refusals for this hour: the persona does something allowed
            elif a.errors:
                error = self.rng.choice(a.errors)
            else:
                error = THROTTLE.get(a.source, "ThrottlingException")
        params = a.params(c) if a.params else None
        if p.kind == "service":
            assert params is not None
            return service_call(self.org, self.ids, a, c, ts, params)
        region = HOME_REGION if a.source in GLOBAL_SOURCES else c.region
        return make_record(
            self.ids,
            ts=ts,
            source=a.source,
            name=a.name,
            region=region,
            account=c.account,
            identity=sess.identity,
            ip=sess.ip,
            agent=sess.agent,
            read_only=a.is_read,
            params=params,
            error=error,
            console=sess.console,
            vpce=sess.vpce,
        )

    def _deny_ok(self, arn: str, ts: int) -> bool:
        """Spend one of the principal's AccessDenied-type errors for this clock hour, if any are left."""
        key = (arn, ts // 3600)
        used = self._denied.get(key, 0)
        if used >= DENIED_PER_HOUR:
            return False
        self._denied[key] = used + 1
        return True
