"""Trends as DataFrames: findings over time, week over week, noisy principals, new entities,
GuardDuty by type family, event volume and log coverage.

Findings come from the findings store (small: thousands of rows), so their trends are pandas
group-bys; anything over the event tables is a query in ``queries/reports/`` so it runs on
Athena as well as DuckDB. Every function returns typed columns: UTC datetimes, int64 counts,
categories for labels, severity as an ordered category.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from pipeline.config import Settings
from pipeline.engines.base import Engine
from pipeline.engines.queries import run_query, typed
from pipeline.findings.severity import SEVERITIES
from pipeline.findings.store import open_findings_store

SEVERITY_ORDER = list(SEVERITIES)
ENTITY_KINDS = ("actor", "source_ip", "region", "user_agent")


def findings_store_location(settings: Settings) -> str:
    return settings.findings_store


def load_findings(
    settings: Settings, since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame:
    """Each finding in its latest version whose activity overlaps ``[since, until)``, typed."""
    store = open_findings_store(findings_store_location(settings))
    frame = store.read(since=since.isoformat() if since else None, until=until.isoformat() if until else None)
    return typed_findings(frame)


def typed_findings(frame: pd.DataFrame) -> pd.DataFrame:
    """The findings store's frame with analyst dtypes (an empty store gives the same columns)."""
    if frame.empty and "first_seen" not in frame:
        from pipeline.findings.store import FINDINGS_SCHEMA

        frame = pd.DataFrame({name: pd.Series(dtype=object) for name in FINDINGS_SCHEMA.names})
    return typed(
        frame,
        times=["first_seen", "last_seen", "window_start", "window_end", "now"],
        counts=["event_count"],
        categories=["detection_id", "account_id", "region", "engine"],
        ordered={"severity": SEVERITY_ORDER},
    )


def in_period(findings: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """Findings whose first record falls in ``[start, end)``: what is new in the period."""
    first = findings["first_seen"]
    return findings[(first >= pd.Timestamp(start)) & (first < pd.Timestamp(end))]


def findings_trend(findings: pd.DataFrame, freq: str = "D", by: str = "detection_id") -> pd.DataFrame:
    """Findings counted per period (``D`` days, ``W`` ISO weeks starting Monday) and per ``by``.

    Rows are period starts (UTC), columns the values of ``by``, cells int64 counts; periods with
    no finding are absent unless another group has one.
    """
    if findings.empty:
        return pd.DataFrame(dtype="int64")
    periods = findings["first_seen"].dt.tz_localize(None).dt.to_period("W-SUN" if freq == "W" else freq)
    starts = periods.dt.start_time.dt.tz_localize("UTC").rename("period")
    table = findings.groupby([starts, findings[by]], observed=True).size().unstack(fill_value=0)
    table.columns = table.columns.astype(str)
    return table.astype("int64")


def week_over_week(findings: pd.DataFrame, week_start: datetime, by: str = "severity") -> pd.DataFrame:
    """Per value of ``by``: findings first seen this week, the week before, and the change."""
    this = in_period(findings, week_start, week_start + timedelta(days=7))
    last = in_period(findings, week_start - timedelta(days=7), week_start)
    if by == "severity":
        index = pd.Index(SEVERITY_ORDER[::-1], name=by)
    else:
        index = pd.Index(sorted(set(this[by].astype(str)) | set(last[by].astype(str))), name=by)
    frame = pd.DataFrame(index=index)
    frame["this_week"] = this[by].astype(str).value_counts().reindex(index, fill_value=0).astype("int64")
    frame["last_week"] = last[by].astype(str).value_counts().reindex(index, fill_value=0).astype("int64")
    frame["change"] = (frame["this_week"] - frame["last_week"]).astype("int64")
    return frame.reset_index()


def top_by(findings: pd.DataFrame, column: str, n: int = 10) -> pd.DataFrame:
    """The ``column`` values behind most findings: the tuning candidates and the noisiest actors."""
    rows = findings[findings[column].notna() & (findings[column].astype(str) != "")]
    if rows.empty:
        return pd.DataFrame(
            {
                column: pd.Series(dtype=str),
                "findings": pd.Series(dtype="int64"),
                "detections": pd.Series(dtype=str),
                "events": pd.Series(dtype="int64"),
            }
        )
    grouped = rows.groupby(rows[column].astype(str), observed=True)
    frame = pd.DataFrame(
        {
            "findings": grouped.size().astype("int64"),
            "detections": grouped["detection_id"].agg(lambda s: ", ".join(sorted(set(s.astype(str))))),
            "events": grouped["event_count"].sum().astype("int64"),
        }
    )
    frame = frame.sort_values(["findings", "events"], ascending=False).head(n)
    return frame.rename_axis(column).reset_index()


def top_principals(findings: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    return top_by(findings, "principal", n)


def with_actor(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings with ``actor`` always set: who did it, or the principal in findings stored before
    actors were resolved (docs/actors.md), so old and new findings group together."""
    rows = findings.copy()
    principal = rows["principal"] if "principal" in rows else pd.Series(None, index=rows.index, dtype=object)
    actor = rows["actor"] if "actor" in rows else pd.Series(None, index=rows.index, dtype=object)
    rows["actor"] = actor.where(actor.notna() & (actor.astype(str) != ""), principal)
    if "actor_type" not in rows:
        rows["actor_type"] = None
    return rows


def top_actors(findings: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The people, workloads and services behind most findings, whatever credentials they used."""
    rows = with_actor(findings)
    frame = top_by(rows, "actor", n)
    kinds = rows.dropna(subset=["actor"]).groupby(rows["actor"].astype(str))["actor_type"].first()
    frame.insert(1, "actor_type", frame["actor"].map(kinds).fillna("").astype(str))
    return frame


def top_source_ips(findings: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    return top_by(findings, "source_ip", n)


def event_volume(engine: Engine, start: datetime, end: datetime) -> pd.DataFrame:
    """CloudTrail records per account, region, service and UTC day (``event_day`` a datetime)."""
    frame = run_query("event_volume", engine, start, end)
    return typed(
        frame,
        times=["event_day"],
        counts=["events", "errors"],
        categories=["account_id", "region", "event_source"],
    )


def top_apis(engine: Engine, start: datetime, end: datetime, limit: int = 25) -> pd.DataFrame:
    frame = run_query("top_apis", engine, start, end, limit=limit)
    return typed(frame, counts=["events", "errors", "principals", "accounts"])


def is_public_address(value: object) -> bool:
    """A routable internet address: not private (10.x, 172.16/12, 192.168.x, fc00::/7), loopback or
    link-local, and not a service name CloudTrail writes instead of an address (``ec2.amazonaws.com``,
    ``AWS Internal``)."""
    import ipaddress

    try:
        return ipaddress.ip_address(str(value)).is_global
    except ValueError:
        return False


def first_seen(engine: Engine, start: datetime, end: datetime, baseline_days: int = 28,
               public_only: bool = True) -> pd.DataFrame:
    """Actors (who did it, docs/actors.md), source IPs, regions and user agents whose first record
    in the baseline plus the period falls in ``[start, end)``; one row per entity with ``kind`` and
    ``value``, those seen in most accounts, then with most records, first; source IPs with most
    sensitive calls (the query's ``sensitive_calls``: IAM and logging changes, exposed data,
    secrets read) before those.

    With ``public_only`` (the default) source IPs are internet addresses only: a new private or AWS
    service address is noise; how many were left out is ``frame.attrs["left_out"]``."""
    raw = run_query("first_seen", engine, start - timedelta(days=baseline_days), end, period_start=start)
    rows = []
    for kind in ENTITY_KINDS:
        others = [k for k in ENTITY_KINDS if k != kind]
        part = raw[raw[kind].notna() & raw[others].isna().all(axis=1)]
        rows.append(
            part.assign(kind=kind, value=part[kind])[
                ["kind", "value", "first_time", "last_time", "events", "accounts", "sensitive_calls"]
            ]
        )
    frame = pd.concat(rows, ignore_index=True) if rows else raw
    frame = typed(frame, times=["first_time", "last_time"], counts=["events", "accounts", "sensitive_calls"])
    frame["kind"] = pd.Categorical(frame["kind"], categories=list(ENTITY_KINDS))
    left_out = 0
    if public_only:
        noise = (frame["kind"] == "source_ip") & ~frame["value"].map(is_public_address).astype(bool)
        left_out, frame = int(noise.sum()), frame[~noise]
    ip_rank = frame["sensitive_calls"].where(frame["kind"] == "source_ip", 0)
    frame = frame.assign(ip_rank=ip_rank).sort_values(
        ["kind", "ip_rank", "accounts", "events", "first_time"], ascending=[True, False, False, False, True]
    ).drop(columns="ip_rank").reset_index(drop=True)
    frame.attrs["left_out"] = left_out
    return frame


def guardduty_trends(
    engine: Engine, start: datetime, end: datetime, include_samples: bool = False
) -> pd.DataFrame:
    """GuardDuty findings (latest versions) by account, region, type family, type, severity, day."""
    frame = run_query("guardduty_trends", engine, start, end)
    frame = typed(
        frame,
        times=["created_day"],
        counts=["findings"],
        categories=["account_id", "region", "type_family", "finding_type"],
        ordered={"severity": SEVERITY_ORDER},
    )
    if not include_samples and "sample" in frame:
        frame = frame[~frame["sample"].astype(bool)]
    return frame.reset_index(drop=True)


def guardduty_by_family(trends: pd.DataFrame) -> pd.DataFrame:
    """Type family x severity counts (int64), families with most findings first."""
    if trends.empty:
        return pd.DataFrame(columns=SEVERITY_ORDER, dtype="int64")
    table = trends.pivot_table(
        index="type_family",
        columns="severity",
        values="findings",
        aggfunc="sum",
        fill_value=0,
        observed=False,
    )
    table = table.reindex(columns=SEVERITY_ORDER, fill_value=0).astype("int64")
    table.columns = table.columns.astype(str)
    table = table[table.sum(axis=1) > 0]
    return table.loc[table.sum(axis=1).sort_values(ascending=False).index]


def log_coverage(engine: Engine, start: datetime, end: datetime) -> pd.DataFrame:
    """Per delivering account and region: records, first and last event, hours with events."""
    frame = run_query("log_coverage", engine, start, end)
    return typed(frame, times=["first_event", "last_event"], counts=["events", "active_hours"])


def with_noise(actors: pd.DataFrame, incidents: list, start: datetime, end: datetime) -> pd.DataFrame:
    """The tuning table with, per actor, its ``routine`` findings of the period (the detection
    reported the actor on earlier days too: its baseline, kept out of other incidents; see
    pipeline/incidents/routine.py) and the ``incidents`` its findings make up. An actor with many
    routine findings and one routine incident is a suppression candidate, not an investigation."""
    routine: dict[str, int] = {}
    stories: dict[str, set[str]] = {}
    for incident in incidents:
        for view in incident.findings:
            when = pd.Timestamp(view.first_seen)
            if not (start <= when < end):
                continue
            who = view.actor or view.principal or ""
            stories.setdefault(who, set()).add(incident.incident_id)
            if view.finding_id in incident.routine_findings:
                routine[who] = routine.get(who, 0) + 1
    frame = actors.copy()
    frame["routine"] = frame["actor"].map(lambda a: routine.get(str(a), 0)).astype("int64")
    frame["incidents"] = frame["actor"].map(lambda a: len(stories.get(str(a), ()))).astype("int64")
    return frame

