"""Shared machinery for labelled scenarios: placing them in time, emitting records, labelling them.

Scenarios name a day *hint* (0-13) and a clock time; the hint is folded into the generated period
(``hint % days``), so a 3-day test demo holds the same scenarios as the 14-day default, just closer
together. Each scenario uses its own source addresses and principals wherever a burst groups by
them, so scenarios that land on the same day cannot add up to an unlabelled firing.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pipeline.demo.identities import HOME_REGION, Org
from pipeline.demo.manifest import CATALOGUE_SEVERITY, Label
from pipeline.demo.records import (
    GLOBAL_SOURCES,
    Ids,
    assumed_role_identity,
    iam_user_identity,
    iso,
    make_record,
)
from pipeline.demo.sessions import Session, sso_session

READS = ("List", "Describe", "Get", "Lookup")


@dataclass
class Hook:
    """A scenario event GuardDuty would also notice; ``guardduty`` turns these into findings."""

    type: str
    account: str
    region: str
    ts: int
    details: dict[str, Any] = field(default_factory=dict)
    story: str = ""  # the labelled story GuardDuty's finding is about


class Book:
    """Collects scenario records, labels and GuardDuty hooks."""

    def __init__(self, org: Org, rng: random.Random, start_ts: int, days: int) -> None:
        self.org, self.rng, self.ids = org, rng, Ids(rng)
        self.start, self.days, self.end = start_ts, days, start_ts + days * 86400
        self.day0 = start_ts - start_ts % 86400
        self.records: list[tuple[int, dict[str, Any]]] = []
        self.labels: list[Label] = []
        self.hooks: list[Hook] = []
        self.story = ""  # labels and hooks made now belong to this story ("": each its own)

    @contextmanager
    def telling(self, story: str) -> Iterator[None]:
        """Labels and hooks made inside belong to ``story`` (several steps, one story)."""
        before, self.story = self.story, story
        try:
            yield
        finally:
            self.story = before

    # ------------------------------------------------------------------ time and addresses

    def at(self, day_hint: int, hh: int, mm: int = 0, ss: int = 0) -> int:
        """Epoch seconds for a scenario step, folded into the generated period.

        The last day is never used, so stories that run past midnight (into the next day's
        delivery folder) still end inside the period.
        """
        day = (day_hint % (self.days - 1)) if self.days > 1 else 0
        ts = self.day0 + day * 86400 + hh * 3600 + mm * 60 + ss
        if ts < self.start:
            ts += 86400
        return ts

    def ip(self, first: int) -> str:
        """A fresh public address for an actor whose address is a burst grouping key."""
        r = self.rng
        return f"{first}.{r.randint(1, 254)}.{r.randint(1, 254)}.{r.randint(2, 250)}"

    # ------------------------------------------------------------------ sessions

    def sso(self, person: str, account: str, ts: int, console: bool = False) -> Session:
        who = next(p for p in self.org.people if p.name == person)
        return sso_session(self.org, self.ids, who, account, ts, console)

    def role(self, account: str, role: str, session: str, ts: int, ip: str, agent: str) -> Session:
        ident = assumed_role_identity(
            account, role, self.org.role_id(account, role), session, self.ids.key_id("ASIA"), iso(ts - 900)
        )
        return Session(ident, ip, agent)

    def user(self, account: str, name: str, ip: str, agent: str) -> Session:
        ident = iam_user_identity(
            account,
            name,
            self.org.stable("AIDA", 17, account, name),
            self.org.stable("AKIA", 16, account, name),
        )
        return Session(ident, ip, agent)

    # ------------------------------------------------------------------ records and labels

    def call(
        self,
        sess: Session,
        ts: int,
        source: str,
        name: str,
        account: str,
        region: str,
        params: dict[str, Any] | None = None,
        response: dict[str, Any] | None = None,
        error: str | None = None,
        read_only: bool | None = None,
        **kw: Any,
    ) -> str:
        """Emit one API call by ``sess``; returns its eventID for labelling."""
        if source in GLOBAL_SOURCES:
            region = HOME_REGION
        if read_only is None:
            read_only = name.startswith(READS)
        rec = make_record(
            self.ids,
            ts=ts,
            source=source,
            name=name,
            region=region,
            account=account,
            identity=sess.identity,
            ip=sess.ip,
            agent=sess.agent,
            read_only=read_only,
            params=params,
            response=response,
            error=error,
            console=sess.console,
            vpce=sess.vpce,
            **kw,
        )
        self.records.append((ts, rec))
        return str(rec["eventID"])

    def raw(self, ts: int, **kw: Any) -> str:
        """Emit a record whose identity is not a Session (root, failed sign-ins, service events)."""
        rec = make_record(self.ids, ts=ts, **kw)
        self.records.append((ts, rec))
        return str(rec["eventID"])

    def label(
        self,
        scenario: str,
        detection: str | None,
        ids: list[str],
        description: str,
        not_ids: tuple[str, ...] = (),
    ) -> None:
        sev = (CATALOGUE_SEVERITY[detection] or None) if detection else None
        self.labels.append(
            Label(scenario, detection, list(ids), description, "cloudtrail", sev, list(not_ids), self.story)
        )

    def hook(
        self, type_: str, account: str, region: str, ts: int, *, story: str = "", **details: Any
    ) -> None:
        """``story``: the labelled story this finding is about (default: the one being told)."""
        self.hooks.append(Hook(type_, account, region, ts, details, story or self.story))


def policy_doc(statements: list[dict[str, Any]] | dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def policy_text(statements: list[dict[str, Any]]) -> str:
    """IAM records carry policy documents as JSON text, not as nested objects."""
    return json.dumps(policy_doc(statements), separators=(",", ":"))
