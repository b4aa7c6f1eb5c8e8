"""Pivots for an investigation: an actor's or a principal's timeline, what goes with a source IP or
access key, and what GuardDuty said about them. Each is a query in ``queries/hunts/`` run on the engine.

``field`` names are chosen from :data:`PIVOT_FIELDS` (a closed list, so a notebook cannot splice
an arbitrary expression into SQL); values always reach SQL as quoted literals.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from pipeline.engines.base import Engine
from pipeline.engines.queries import run_query, typed

PIVOT_FIELDS = {
    "principal": "useridentity.arn",
    "actor": "actor",  # who did it, across sessions and role chains (docs/actors.md)
    "role": "useridentity.sessioncontext.sessionissuer.arn",
    "access_key": "useridentity.accesskeyid",
    "source_ip": "sourceipaddress",
    "account": "recipientaccountid",
    "region": "awsregion",
    "user_agent": "useragent",
    "event_name": "eventname",
}
_NOTHING = ("",)  # an IN-list needs a value; no identity is the empty string


def _column(field: str) -> str:
    if field not in PIVOT_FIELDS:
        raise ValueError(f"pivot field {field!r}: expected one of {', '.join(PIVOT_FIELDS)}")
    return PIVOT_FIELDS[field]


def timeline(
    engine: Engine, field: str, value: str, start: datetime, end: datetime, limit: int = 10_000
) -> pd.DataFrame:
    """Every record of ``[start, end)`` whose ``field`` equals ``value``, oldest first."""
    frame = run_query(
        "timeline", engine, start, end, kind="hunts", field=_column(field), value=value, limit=limit
    )
    return typed(frame, times=["event_time"], categories=["account_id", "region", "event_source"])


def principal_timeline(
    engine: Engine, principal: str, start: datetime, end: datetime, limit: int = 10_000
) -> pd.DataFrame:
    """A principal's records: by its ARN, or every session of a role when given the role's ARN."""
    field = "role" if ":role/" in principal and ":assumed-role/" not in principal else "principal"
    return timeline(engine, field, principal, start, end, limit)


def pivot(engine: Engine, field: str, value: str, by: str, start: datetime, end: datetime) -> pd.DataFrame:
    """For records where ``field`` is ``value``: per value of ``by``, calls, failures and times."""
    frame = run_query(
        "pivot", engine, start, end, kind="hunts", field=_column(field), value=value, by=_column(by)
    )
    frame = typed(frame, times=["first_time", "last_time"], counts=["events", "errors", "distinct_apis"])
    return frame.rename(columns={"value": by})


def related_guardduty(
    engine: Engine,
    start: datetime,
    end: datetime,
    *,
    user_names: Iterable[str] = (),
    access_keys: Iterable[str] = (),
    ips: Iterable[str] = (),
) -> pd.DataFrame:
    """GuardDuty findings naming any of these IAM user names, access key ids or remote IPs."""
    lists = {
        name: tuple(v for v in values if v) or _NOTHING
        for name, values in (("user_names", user_names), ("access_keys", access_keys), ("ips", ips))
    }
    frame = run_query("guardduty_related", engine, start, end, kind="hunts", **lists)
    return typed(frame, times=["updated_at"], categories=["account_id", "region"])


def investigate_principal(
    engine: Engine, principal: str, start: datetime, end: datetime
) -> dict[str, pd.DataFrame]:
    """The usual first hour of an investigation, as DataFrames: timeline, source IPs, access keys,
    APIs, and related GuardDuty findings."""
    events = principal_timeline(engine, principal, start, end)
    field = "role" if ":role/" in principal and ":assumed-role/" not in principal else "principal"
    user_name = principal.rsplit("/", 1)[-1] if ":user/" in principal else ""
    return {
        "timeline": events,
        "source_ips": pivot(engine, field, principal, "source_ip", start, end),
        "access_keys": pivot(engine, field, principal, "access_key", start, end),
        "apis": pivot(engine, field, principal, "event_name", start, end),
        "guardduty": related_guardduty(
            engine,
            start,
            end,
            user_names=[user_name],
            access_keys=events["access_key_id"].dropna().unique().tolist() if not events.empty else [],
            ips=events["source_ip"].dropna().unique().tolist()[:500] if not events.empty else [],
        ),
    }


def investigate_actor(engine: Engine, actor: str, start: datetime, end: datetime) -> dict[str, pd.DataFrame]:
    """:func:`investigate_principal` for an actor (docs/actors.md): a person across every Identity
    Center session, IAM key and role chain they used, a workload across its sessions. ``principals``
    names the credentials they acted through; GuardDuty is asked about all of them."""
    events = timeline(engine, "actor", actor, start, end)
    principals = pivot(engine, "actor", actor, "principal", start, end)
    arns = principals["principal"].dropna().astype(str).tolist() if not principals.empty else []
    return {
        "timeline": events,
        "principals": principals,
        "source_ips": pivot(engine, "actor", actor, "source_ip", start, end),
        "access_keys": pivot(engine, "actor", actor, "access_key", start, end),
        "apis": pivot(engine, "actor", actor, "event_name", start, end),
        "guardduty": related_guardduty(
            engine,
            start,
            end,
            user_names=[arn.rsplit("/", 1)[-1] for arn in arns if ":user/" in arn],
            access_keys=events["access_key_id"].dropna().unique().tolist() if not events.empty else [],
            ips=events["source_ip"].dropna().unique().tolist()[:500] if not events.empty else [],
        ),
    }


def around_finding(engine: Engine, finding: pd.Series | dict, hours: int = 24) -> dict[str, pd.DataFrame]:
    """:func:`investigate_actor` for a finding's actor (:func:`investigate_principal` for its
    principal when it has none: stored before actors were resolved), ``hours`` either side of it."""
    row = dict(finding)
    first = pd.Timestamp(row["first_seen"])
    last = pd.Timestamp(row["last_seen"])
    first = first.tz_localize("UTC") if first.tzinfo is None else first
    last = last.tz_localize("UTC") if last.tzinfo is None else last
    start = (first - timedelta(hours=hours)).to_pydatetime()
    end = (last + timedelta(hours=hours)).to_pydatetime()
    actor = row.get("actor")
    if isinstance(actor, str) and actor:
        return investigate_actor(engine, actor, start, end)
    return investigate_principal(engine, str(row["principal"]), start, end)


# What a finding is about, as the runbooks name it, from the context columns detections return.
RESOURCE_KEYS = ("bucket_name", "trail_name", "key_id", "instance_id", "detector_id", "group_id",
                 "function_name", "secret_id", "target_role", "target_user", "policy_arn", "target_name",
                 "resource_type")


def finding_resource(context: Any) -> str:
    """The resource a finding is about (bucket, trail, key, instance, ...), or empty."""
    if isinstance(context, str):
        try:
            context = json.loads(context or "{}")
        except json.JSONDecodeError:
            return ""
    for key in RESOURCE_KEYS:
        value = (context or {}).get(key)
        if value not in (None, "", []):
            return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return ""
