"""``trailguard findings``: list stored findings, show one, and triage them without a ticket tool.

``findings`` lists (latest version of each, with its local status); ``findings show ID`` prints
the finding, its triage history, its records from the lake, its runbook and the rendered query;
``findings ack ID`` / ``findings reopen ID`` record who decided what and why in the findings
store (``trailguard resolve`` records ``resolved`` the same way, and tells the sinks that can).
"""

from __future__ import annotations

import getpass
import os
from datetime import timedelta
from typing import Annotated, Any

import pandas as pd
import typer

from pipeline.cli.common import ConfigOption, guarded, parse_when, settings_for
from pipeline.cli.console import console, info
from pipeline.cli.output import STDOUT, Format, FormatOption, OutputPathOption, emit, normalize
from pipeline.config import ConfigError, Settings
from pipeline.detections.spec import load_detections, select
from pipeline.findings.severity import SEVERITIES
from pipeline.times import iso_z, iso_z_precise, parse_iso, utcnow

FINDING_COLUMNS = ["detection_id", "severity", "first_seen", "last_seen", "account_id", "region",
                   "principal", "event_count", "finding_id"]
STATUS_CHOICES = ("open", "acknowledged", "resolved")

findings_app = typer.Typer(
    invoke_without_command=True,
    help="Stored findings: list them (no subcommand), show one, acknowledge or reopen.",
)


def store_for(settings: Settings) -> Any:  # FindingsStore
    from pipeline.findings.store import open_findings_store

    return open_findings_store(settings["findings_store"] or str(settings.data_dir))


def with_status(frame: pd.DataFrame, store: Any) -> pd.DataFrame:
    """The findings with their local triage status (``open`` when nobody decided anything)."""
    statuses = store.statuses()
    frame = frame.copy()
    if statuses.empty:
        frame["status"], frame["status_by"], frame["status_reason"] = "open", None, None
        return frame
    latest = statuses.set_index("finding_id")
    frame["status"] = frame["finding_id"].map(latest["status"]).fillna("open")
    frame["status_by"] = frame["finding_id"].map(latest["by"])
    frame["status_reason"] = frame["finding_id"].map(latest["reason"])
    return frame


def check_severities(values: list[str] | None) -> list[str]:
    out = []
    for value in values or []:
        if value.lower() not in SEVERITIES:
            raise ConfigError(f"--severity {value!r} is not one of {', '.join(SEVERITIES)}")
        out.append(value.lower())
    return out


@findings_app.callback()
@guarded
def list_findings(
    ctx: typer.Context,
    detection: Annotated[list[str] | None, typer.Option("--detection", "-d", metavar="ID",
                                                               help="Only these ids.")] = None,
    severity: Annotated[list[str] | None, typer.Option(help="Only these severities (any case).")] = None,
    account: Annotated[list[str] | None, typer.Option(help="Only these accounts.")] = None,
    status: Annotated[list[str] | None, typer.Option(help="Only these statuses: open, acknowledged, "
                                                          "resolved.")] = None,
    since: Annotated[str | None, typer.Option(metavar="WHEN", help="Last seen at or after: ISO 8601 or a "
                                                                   "duration ago (24h, 7d).")] = None,
    until: Annotated[str | None, typer.Option(metavar="WHEN", help="First seen before: ISO 8601 or a "
                                                                   "duration ago.")] = None,
    last: Annotated[str | None, typer.Option(metavar="DURATION", help="Seen in the last DURATION (7d); "
                                                                      "instead of --since.")] = None,
    fmt: FormatOption = Format.table,
    output: OutputPathOption = STDOUT,
    as_json: Annotated[bool, typer.Option("--json", hidden=True, help="Same as --format json.")] = False,
    config: ConfigOption = None,
) -> None:
    """List stored findings (latest version of each) with their local status."""
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_for(config)
    select(load_detections(), detection)  # an unknown id is exit 2, as in detect
    severities = check_severities(severity)
    for value in status or []:
        if value not in STATUS_CHOICES:
            raise ConfigError(f"--status {value!r} is not one of {', '.join(STATUS_CHOICES)}")
    if last and since:
        raise ConfigError("--last is instead of --since: give one or the other")
    now = utcnow()
    begin = parse_when(last or since, "--last" if last else "--since", now) if (last or since) else None
    finish = parse_when(until, "--until", now) if until else None
    if begin and finish and begin >= finish:
        raise ConfigError(f"--since {since or last} is not before --until {until}")
    store = store_for(settings)
    frame = store.read(detection_ids=detection, severities=severities, accounts=account,
                       since=iso_z(begin) if begin else None, until=iso_z(finish) if finish else None)
    frame = with_status(frame, store) if len(frame) else frame
    if status and len(frame):
        frame = frame[frame["status"].isin(status)]
    columns = [*FINDING_COLUMNS[:-1], "status", "finding_id"]
    emit(frame, fmt=Format.json if as_json else fmt, output=output, columns=columns,
         title=f"{len(frame)} finding(s)")


def find_one(settings: Settings, finding_id: str) -> tuple[Any, dict[str, Any]]:
    """The store and one finding (latest version), or exit 2 naming the id."""
    store = store_for(settings)
    frame = store.read()
    match = frame[frame["finding_id"] == finding_id] if len(frame) else frame
    if not len(match):
        prefix = frame[frame["finding_id"].str.startswith(finding_id)] if len(frame) and finding_id else frame
        if len(prefix) == 1:  # a unique prefix is enough, as with git
            match = prefix
        else:
            raise ConfigError(f"finding {finding_id} is not in the findings store {store.location} "
                              "(see trailguard findings)")
    return store, normalize(match.iloc[-1].to_dict())


def finding_records(settings: Settings, finding: dict[str, Any], limit: int = 50) -> pd.DataFrame:
    """The records behind a finding, read from the lake (CloudTrail) or the GuardDuty table."""
    from pipeline.engines.queries import run_query
    from pipeline.engines.templating import partition_days
    from pipeline.workflow import ingest, open_engine

    detection = load_detections().get(finding["detection_id"])
    table = detection.tables[0] if detection else "cloudtrail"
    name = "finding_guardduty" if table == "guardduty" else "finding_records"
    start = parse_iso(finding["first_seen"]) - timedelta(minutes=5)
    end = parse_iso(finding["last_seen"]) + timedelta(minutes=5)
    ids = [str(e) for e in finding.get("event_ids") or []][:limit] or [""]
    lake = None
    if settings.engine != "athena":  # the finding's days may not be in this lake yet
        lake, _ = ingest(settings, settings.source, partition_days(start, end))
    engine = open_engine(settings, lake)
    try:
        return run_query(name, engine, start, end, kind="hunts", event_ids=ids, limit=limit)
    finally:
        engine.close()


@findings_app.command("show")
@guarded
def show(
    finding_id: Annotated[str, typer.Argument(metavar="ID", help="A finding id (or a unique prefix).")],
    records: Annotated[bool, typer.Option(help="Read the finding's records from the lake.")] = True,
    fmt: FormatOption = Format.table,
    config: ConfigOption = None,
) -> None:
    """One finding: its fields, triage history, records from the lake, runbook and query."""
    from pipeline.cli.detections import rendered_sql

    settings = settings_for(config)
    store, finding = find_one(settings, finding_id)
    history = store.statuses(history=True)
    history = history[history["finding_id"] == finding["finding_id"]] if len(history) else history
    rows = None
    if records:
        try:
            rows = finding_records(settings, finding)
        except Exception as exc:  # noqa: BLE001 - the finding is still worth showing without its records
            info(f"records: not read ({exc})")
    detection = load_detections().get(finding["detection_id"])
    sql = None
    if detection:
        end = parse_iso(finding["last_seen"]) + timedelta(seconds=1)
        sql = rendered_sql(settings, detection, parse_iso(finding["first_seen"]), end)
    if fmt is not Format.table:
        finding["status_history"] = [normalize(r) for r in history.to_dict(orient="records")]
        finding["records"] = None if rows is None else [normalize(r) for r in rows.to_dict(orient="records")]
        finding["query"] = sql
        emit([finding], fmt=fmt)
        return
    fields = [(k, v) for k, v in finding.items() if k not in ("runbook",) and v not in (None, "", [], {})]
    emit([{"field": k, "value": v} for k, v in fields], columns=["field", "value"],
         title=f"Finding {finding['finding_id']}")
    if len(history):
        emit(history, columns=["at", "status", "by", "reason"], title="Status")
    else:
        console.print("status: open (nobody has acknowledged or resolved it)", markup=False, highlight=False)
    if rows is not None:
        emit(rows, columns=[str(c) for c in rows.columns], title=f"{len(rows)} record(s) from the lake")
    console.print(f"\nRunbook:\n{finding.get('runbook') or (detection.runbook if detection else '')}",
                  markup=False, highlight=False)
    if sql:
        console.print(f"\nQuery (window {finding['first_seen']} .. {finding['last_seen']}):\n{sql}",
                      markup=False, highlight=False)


def who(by: str | None) -> str:
    """Who made a triage decision: ``--by``, else the login name."""
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return os.environ.get("USER", "unknown")


def record_status(settings: Settings, finding_ids: list[str], status: str, by: str | None,
                  reason: str) -> tuple[str, list[str]]:
    """Store ``status`` for the findings (each must be known); returns the store and the full ids."""
    if not finding_ids:
        raise ConfigError("ID: give at least one finding id")
    full = [find_one(settings, i)[1]["finding_id"] for i in finding_ids]
    store = store_for(settings)
    store.set_status(full, status, who(by), reason, iso_z_precise(utcnow()))
    return store.location, full


ReasonOption = Annotated[str, typer.Option(help="Why (kept with the status).")]
ByOption = Annotated[str | None, typer.Option(metavar="NAME", help="Who decided (default: your login name).")]
IdsArgument = Annotated[list[str] | None, typer.Argument(metavar="ID", help="Finding ids.")]


@findings_app.command("ack")
@guarded
def acknowledge(finding_ids: IdsArgument = None, reason: ReasonOption = "", by: ByOption = None,
                config: ConfigOption = None) -> None:
    """Acknowledge findings: someone is looking at them."""
    location, ids = record_status(settings_for(config), finding_ids or [], "acknowledged", by, reason)
    info(f"{len(ids)} finding(s) acknowledged in {location}")


@findings_app.command("reopen")
@guarded
def reopen(finding_ids: IdsArgument = None, reason: ReasonOption = "", by: ByOption = None,
           config: ConfigOption = None) -> None:
    """Set findings back to open."""
    location, ids = record_status(settings_for(config), finding_ids or [], "open", by, reason)
    info(f"{len(ids)} finding(s) reopened in {location}")
