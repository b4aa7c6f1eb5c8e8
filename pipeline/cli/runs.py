"""``trailguard run``, ``schedule`` and ``findings``: scheduled detection runs from the command line."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from pipeline.cli.common import ConfigOption, check_writable, guarded, parse_when, settings_for
from pipeline.cli.console import console, err_console, table
from pipeline.config import ConfigError
from pipeline.findings.severity import SEVERITIES
from pipeline.times import iso_z

SourceOption = Annotated[str | None, typer.Option(help="Folder or s3:// URI (default: configured source).")]
OutputOption = Annotated[Path | None, typer.Option(help="JSON lines file findings are appended to.")]
StateOption = Annotated[str | None, typer.Option("--state", help="State folder or s3:// URI.")]


def _print_tick(report) -> None:  # noqa: ANN001 - scheduler.TickReport
    rows = [
        (
            t.detection_id,
            t.windows,
            t.window_start or "",
            t.window_end or "",
            t.new,
            t.updated,
            "behind" if t.behind else "",
            t.error or "ok",
        )
        for t in report.ran
    ]
    if rows:
        console.print(
            table(
                f"Tick {report.now}",
                ["detection", "windows", "from", "to", "new", "updated", "catch-up", "status"],
                rows,
            )
        )
    else:
        console.print(f"tick {report.now}: nothing due")
    if report.integrity is not None and report.integrity.status != "not due":
        console.print(report.integrity.line(), markup=False, highlight=False, soft_wrap=True)
    for warning in report.warnings:
        err_console.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)


def _runner(config, source, output, state):  # noqa: ANN001, ANN202
    from pipeline.workflow import make_runner

    settings = settings_for(config, source=source)
    if not settings.source.startswith("s3://") and not Path(settings.source).is_dir():
        raise ConfigError(f"--source {settings.source}: no such folder")
    check_writable(state or settings["state"] or settings.data_dir / "state", "state folder")
    check_writable(output, "--output file")
    check_writable(settings["findings_store"] or settings.data_dir, "findings store folder")
    runner = make_runner(settings, settings.source, output, state)
    runner.integrity_source = settings.source  # validate this source's digests each tick ([integrity])
    return runner


@guarded
def run(
    now: Annotated[str | None, typer.Option(help="The tick's time, ISO 8601 (default: the clock).")] = None,
    source: SourceOption = None,
    output: OutputOption = None,
    state: StateOption = None,
    config: ConfigOption = None,
) -> None:
    """One scheduled tick: every due detection over its next windows; exits 0 when nothing is due."""
    from pipeline.times import utcnow

    moment = parse_when(now, "--now") if now else utcnow()
    report = _runner(config, source, output, state).tick(moment)
    _print_tick(report)
    if report.errors:
        for tick in report.errors:
            err_console.print(
                f"[red]{tick.detection_id}[/]: {escape(tick.error or '')}", highlight=False, soft_wrap=True
            )
        raise typer.Exit(1)


@guarded
def schedule(
    source: SourceOption = None,
    output: OutputOption = None,
    state: StateOption = None,
    config: ConfigOption = None,
) -> None:
    """Run ticks until interrupted (Ctrl-C or SIGTERM stop cleanly after the current tick)."""
    from pipeline.times import utcnow

    settings = settings_for(config, source=source)
    poll = float(settings["schedule"]["poll_seconds"])
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    runner = _runner(config, source, output, state)
    while not stop.is_set():
        report = runner.tick(utcnow())
        if report.ran:
            _print_tick(report)
        stop.wait(poll)
    err_console.print("stopped")


@guarded
def findings(
    detection: Annotated[list[str] | None, typer.Option("--detection", "-d", help="Only these ids.")] = None,
    severity: Annotated[list[str] | None, typer.Option(help="Only these severities.")] = None,
    account: Annotated[list[str] | None, typer.Option(help="Only these accounts.")] = None,
    since: Annotated[str | None, typer.Option(help="Last seen at or after, ISO 8601.")] = None,
    until: Annotated[str | None, typer.Option(help="First seen before, ISO 8601.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
    config: ConfigOption = None,
) -> None:
    """List stored findings (latest version of each) from the findings store."""
    from pipeline.findings.store import open_findings_store

    settings = settings_for(config)
    for value in severity or []:
        if value not in SEVERITIES:
            raise ConfigError(f"--severity {value!r} is not one of low, medium, high, critical")
    since_iso = iso_z(parse_when(since, "--since")) if since else None
    until_iso = iso_z(parse_when(until, "--until")) if until else None
    store = open_findings_store(settings.findings_store)
    frame = store.read(
        detection_ids=detection, severities=severity, accounts=account, since=since_iso, until=until_iso
    )
    if as_json:
        sys.stdout.write(frame.to_json(orient="records", lines=True, default_handler=str))
        return
    columns = [
        "detection_id",
        "severity",
        "first_seen",
        "last_seen",
        "account_id",
        "region",
        "principal",
        "event_count",
        "finding_id",
    ]
    rows = frame[columns].astype(str).itertuples(index=False) if len(frame) else []
    console.print(table(f"{len(frame)} finding(s)", columns, rows))


@guarded
def suppressions(config: ConfigOption = None) -> None:
    """List the configured suppressions, with their reason and whether they have expired."""
    from datetime import UTC, datetime, timedelta

    from pipeline.detections.suppressions import load_suppressions

    today = datetime.now(UTC).date()
    rules = load_suppressions(settings_for(config))
    rows = []
    for rule in rules:
        status = (
            "expired"
            if not rule.active(today)
            else ("expires soon" if rule.expires - today <= timedelta(days=14) else "active")
        )
        matches = "; ".join(f"{name}={', '.join(values)}" for name, values in rule.matches.items())
        rows.append(
            (rule.index, ", ".join(rule.detections), matches, rule.expires.isoformat(), status, rule.reason)
        )
    console.print(
        table(
            f"{len(rules)} suppression(s)",
            ["#", "detections", "matches", "expires", "status", "reason"],
            rows,
        )
    )
